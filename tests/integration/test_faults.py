#!/usr/bin/env python3
"""Fault injection for `hostenc run` and `hostenc check` (issue 6): the real
binaries against the fake IMDS, the fake Kubernetes API and the fake
collector, with the faults that the core and daemon suites do not cover:

- Kubernetes API down for several cycles (connection refused), a token
  rotated to one the API server rejects (401), 409 conflicts, a 429 storm,
  slow responses;
- the collector down for many cycles, then back: every envelope delivered
  exactly once;
- the evidence directory full (a 64 KiB tmpfs) or read-only;
- SIGKILL at random moments while evidence is written: no torn file, no
  envelope that was reported written and then lost;
- odd sysfs attributes (missing, empty, garbage, 1 MB, a directory, a FIFO),
  devices that cannot be opened, a clock jump (libfaketime);
- no key material and no token in any log.

Each case asserts what matters there: the verdict is never `compliant` on
missing data, the agent keeps running (or exits with the documented code),
and nothing that was acknowledged is lost. Cases that need root (mount) or
faketime skip with the reason when those are not available.

Run with the meson test environment (HOSTENC, FAKE_IMDS, HOSTROOTS,
IMDS_FIXTURES); `HOSTENC_VALGRIND=1` (scripts/test-sanitizers.sh) stretches
the time limits."""

import base64
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import HOSTENC, HOSTROOTS, IMDS_FIXTURES, FakeImds, hostenc, validate_output
from test_daemon import NODE, Fake, free_port, http

SLOW = 4 if os.environ.get('HOSTENC_VALGRIND') else 1
FAKETIME_LIB = next(iter(glob.glob('/usr/lib/*/faketime/libfaketime.so.1')), None)


def sha256_file(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def envelopes(d):
    return sorted(n for n in os.listdir(d) if n.startswith('hostenc-') and n.endswith('.json'))


def metric(text, name, **labels):
    """The value of one sample in Prometheus text, or None."""
    want = ','.join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        m = re.match(r'^([a-z_]+)(?:\{([^}]*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        have = ','.join(sorted((m.group(2) or '').split(','))) if m.group(2) else ''
        if have == want:
            return float(m.group(3))
    return None


class TcpProxy:
    """A loopback TCP forwarder that can be switched off (connection refused,
    open connections cut) and on again on the same port: an API server that
    goes away and comes back."""

    def __init__(self, target_port):
        self.target = ('127.0.0.1', target_port)
        self.port = free_port()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.lock = threading.Lock()
        self.conns = []
        self.listener = None
        self.up()

    def up(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(('127.0.0.1', self.port))
        s.listen(16)
        self.listener = s
        threading.Thread(target=self._accept, args=(s,), daemon=True).start()

    def down(self):
        with self.lock:
            s, self.listener = self.listener, None
            conns, self.conns = self.conns, []
        if s:
            s.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener):
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                if self.listener is not listener:
                    client.close()
                    server.close()
                    return
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class FaultCase(unittest.TestCase):
    """One fake IMDS, fake Kubernetes API and fake collector per test. The
    API server's token file and the agent's are separate files, so a test
    can rotate one without the other."""

    interval = '1s'

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='hostenc-faults-')
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.compute = os.path.join(self.tmp, 'compute.json')
        self.set_eah('true')
        self.server_token = os.path.join(self.tmp, 'server-token')
        self.agent_token = os.path.join(self.tmp, 'agent-token')
        self.token = 'kube-token-%032x' % random.getrandbits(128)
        for p in (self.server_token, self.agent_token):
            self.write(p, self.token + '\n')
        self.imds = FakeImds(self.compute).__enter__()
        self.addCleanup(self.imds.__exit__, None, None, None)
        self.kube = Fake('fake_kube.py', self.tmp, '--token-file', self.server_token, '--node', NODE)
        self.addCleanup(self.kube.stop)
        self.received_dir = os.path.join(self.tmp, 'received')
        os.makedirs(self.received_dir)
        self.collector = Fake('fake_collector.py', self.tmp, '--token-file', self.server_token,
                              '--store-dir', self.received_dir)
        self.addCleanup(self.collector.stop)
        self.evidence = os.path.join(self.tmp, 'evidence')
        self.spool = os.path.join(self.tmp, 'spool')
        os.makedirs(self.evidence)
        os.makedirs(self.spool)
        self.metrics_port = free_port()
        self.procs = []
        self.addCleanup(self.kill_all)

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()

    @staticmethod
    def write(path, text):
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.replace(path + '.tmp', path)

    def set_eah(self, value, fixture='d4sv5.json'):
        with open(os.path.join(IMDS_FIXTURES, fixture)) as f:
            doc = json.load(f)
        doc['securityProfile']['encryptionAtHost'] = value
        self.write(self.compute, json.dumps(doc))

    def args(self, *extra, kube=None, push=True, hostroot=None, push_url=None):
        a = ['run', '--host-root', hostroot or os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
             '--imds-trust', self.imds.trust, '--imds-timeout', '3', '--node-name', NODE,
             '--interval', self.interval, '--start-delay', '0s', '--jitter-percent', '0', '--heartbeat', '1h',
             '--max-backoff', '4s', '--metrics-listen', '127.0.0.1:%d' % self.metrics_port,
             '--evidence-dir', self.evidence, '--evidence-keep', '100000',
             '--kube-api', kube or self.kube.url, '--kube-token-file', self.agent_token]
        if push:
            a += ['--push-url', push_url or self.collector.url + '/v1/evidence', '--push-token-file', self.agent_token,
                  '--spool-dir', self.spool]
        return a + list(extra)

    def start(self, *extra, env=None, wait=True, **kw):
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen([HOSTENC] + self.args(*extra, **kw), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=e)
        self.procs.append(self.proc)
        if wait:
            self.wait_for('the listener', self.listening, timeout=20)
        return self.proc

    def listening(self):
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/livez' % self.metrics_port, timeout=30):
                return True
        except OSError:
            return False

    def stop(self, proc=None):
        proc = proc or self.proc
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60 * SLOW)
        self.assertEqual(proc.returncode, 0, err)
        return out, err

    def alive(self):
        self.assertIsNone(self.proc.poll(), 'hostenc run exited: %s' % (self.proc.poll(),))

    def wait_for(self, what, predicate, timeout=30):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc.poll() is not None:
                self.fail('hostenc run exited (%s) while waiting for %s: %s'
                          % (self.proc.returncode, what, self.proc.stderr.read()))
            time.sleep(0.2)
        self.fail('timed out waiting for %s' % what)

    def condition(self):
        for c in self.kube.get('/_fake/node')['status']['conditions']:
            if c['type'] == 'EncryptionAtHostNonCompliant':
                return c
        return None

    def wait_status(self, status, timeout=30):
        return self.wait_for('condition %s' % status,
                             lambda: (c := self.condition()) and c['status'] == status and c, timeout)

    def scrape(self):
        status, text = http('GET', 'http://127.0.0.1:%d/metrics' % self.metrics_port)
        self.assertEqual(status, 200)
        return text

    def api_requests(self):
        return self.kube.get('/_fake/requests')

    def verify_dir(self, d):
        """Every envelope in d verifies; latest.json, if any, names one of them."""
        names = envelopes(d)
        if not names:
            return names
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--output', 'json', d)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr)
        latest = os.path.join(d, 'latest.json')
        if os.path.lexists(latest):
            self.assertTrue(os.path.exists(latest), 'latest.json dangles: %s' % os.readlink(latest))
            self.assertIn(os.readlink(latest), names)
        return names

    def cycles(self):
        return metric(self.scrape(), 'hostenc_cycles_total', result='ok') or 0, \
            metric(self.scrape(), 'hostenc_cycles_total', result='error') or 0


class KubeFaults(FaultCase):

    def test_api_down_for_several_cycles(self):
        proxy = TcpProxy(int(self.kube.url.rsplit(':', 1)[1]))
        self.addCleanup(proxy.down)
        self.start(kube=proxy.url)
        self.wait_status('False')
        n0 = len(envelopes(self.evidence))
        proxy.down()
        self.set_eah('false')
        time.sleep(8 * SLOW)      # several cycles with the API refusing connections
        self.alive()
        text = self.scrape()
        self.assertGreater(metric(text, 'hostenc_kube_requests_total', kind='condition', result='error'), 0)
        self.assertGreater(metric(text, 'hostenc_cycles_total', result='error'), 0)
        # Evidence keeps coming while the API is away, and says noncompliant.
        self.assertGreaterEqual(len(envelopes(self.evidence)) - n0, 3)
        self.assertEqual(metric(text, 'hostenc_verdict', state='noncompliant'), 1)
        self.assertEqual(self.condition()['status'], 'False')       # not written while down
        proxy.up()
        t0 = time.monotonic()
        self.wait_status('True', timeout=90)
        print('\nAPI down 8 s: %d envelopes meanwhile; Node written %.1f s after it came back'
              % (len(envelopes(self.evidence)) - n0, time.monotonic() - t0), file=sys.stderr)
        self.alive()
        out, err = self.stop()
        self.assertIn('Node update failed', out)
        self.verify_dir(self.evidence)

    def test_token_rotated_to_one_the_api_rejects(self):
        self.start()
        self.wait_status('False')
        rotated = 'rotated-token-%032x' % random.getrandbits(128)
        self.write(self.agent_token, rotated + '\n')       # the API server does not know it yet
        self.set_eah('false')
        self.wait_for('401s', lambda: len([r for r in self.api_requests() if r['status'] == 401]) >= 2)
        time.sleep(3 * SLOW)
        self.alive()
        self.assertEqual(self.condition()['status'], 'False')
        self.assertGreater(metric(self.scrape(), 'hostenc_kube_requests_total', kind='condition', result='error'), 0)
        self.assertGreater(metric(self.scrape(), 'hostenc_verdict', state='noncompliant'), 0)
        # The API server learns the new token: the agent recovers by itself.
        self.write(self.server_token, rotated + '\n')
        t0 = time.monotonic()
        self.wait_status('True', timeout=60)
        unauthorized = [r for r in self.api_requests() if r['status'] == 401]
        print('\ntoken rotation: %d requests answered 401; Node written %.1f s after the API accepted the token'
              % (len(unauthorized), time.monotonic() - t0), file=sys.stderr)
        self.assertLess(len(unauthorized), 30, 'the agent hammered the API with a rejected token')
        out, err = self.stop()
        for secret in (self.token, rotated):
            self.assertNotIn(secret, out + err)

    def test_conflicts(self):
        status_path = '/api/v1/nodes/%s/status' % NODE
        self.kube.post('/_fake/fail', {'path_prefix': status_path, 'status': 409, 'count': 2})
        self.start()
        self.wait_status('False')
        self.assertEqual([r['status'] for r in self.api_requests() if r['path'] == status_path][:2], [409, 409])
        # A 409 on the event (AlreadyExists): the condition still follows.
        self.kube.post('/_fake/fail', {'path_prefix': '/api/v1/namespaces/', 'status': 409, 'count': 1})
        self.set_eah('false')
        self.wait_status('True')
        self.wait_for('label noncompliant', lambda: self.kube.get('/_fake/node')['metadata']['labels']
                      .get('hostenc.dev/encryption-at-host') == 'noncompliant')
        self.alive()
        events = self.wait_for('the event POST', lambda: [r for r in self.api_requests()
                                                          if r['path'].endswith('/events')])
        self.assertEqual([r['status'] for r in events][:1], [409])
        self.stop()

    def test_429_storm(self):
        self.kube.post('/_fake/fail', {'path_prefix': '/api/', 'status': 429, 'count': 10000, 'retry_after': 2})
        self.start()
        time.sleep(15 * SLOW)
        self.alive()
        storm = self.api_requests()
        self.assertTrue(storm and all(r['status'] == 429 for r in storm))
        # Backing off: a handful of requests in 15 s, never two within Retry-After.
        self.assertLessEqual(len(storm), 6, [round(r['t'], 1) for r in storm])
        gaps = [b['t'] - a['t'] for a, b in zip(storm, storm[1:])]
        self.assertTrue(all(g >= 1.9 for g in gaps), gaps)
        self.kube.post('/_fake/reset_log')
        http('DELETE', self.kube.url + '/_fake/fail')
        t0 = time.monotonic()
        self.wait_status('False', timeout=90)
        print('\n429 storm: %d requests in 15 s, shortest gap %.1f s; Node written %.1f s after it ended'
              % (len(storm), min(gaps) if gaps else 0, time.monotonic() - t0), file=sys.stderr)
        self.alive()
        self.stop()
        self.verify_dir(self.evidence)

    def test_slow_api(self):
        # Slower than usual but within the agent's 15 s per-request limit.
        self.kube.post('/_fake/fail', {'path_prefix': '/api/', 'delay': 3, 'count': 3})
        self.start()
        self.wait_status('False', timeout=60)
        # Slower than the limit: the request is abandoned, counted, retried later.
        self.kube.post('/_fake/fail', {'path_prefix': '/api/v1/nodes/%s/status' % NODE, 'delay': 20, 'count': 1})
        self.set_eah('false')
        # The loop is single-threaded: while a request hangs, /livez waits for
        # it, but never longer than the 15 s request limit.
        worst, end = 0.0, time.monotonic() + 22 * SLOW
        while time.monotonic() < end:
            t0 = time.monotonic()
            with urllib.request.urlopen('http://127.0.0.1:%d/livez' % self.metrics_port, timeout=60) as r:
                self.assertEqual(r.status, 200)
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.2)
        self.assertGreater(worst, 5, 'the 20 s delay rule did not hold up a request')
        self.assertLess(worst, 17 * SLOW)
        self.wait_status('True', timeout=120)
        self.alive()
        text = self.scrape()
        self.assertGreater(metric(text, 'hostenc_kube_requests_total', kind='condition', result='error'), 0)
        print('\n/livez: worst answer %.1f s while a Node PATCH hung' % worst, file=sys.stderr)
        self.stop()


class CollectorFaults(FaultCase):

    def test_down_for_many_cycles_then_every_envelope_once(self):
        self.collector.post('/_fake/down', {'status': 503})
        self.start()
        self.wait_for('10 spooled', lambda: len(envelopes(self.spool)) >= 10, timeout=60)
        self.alive()
        self.assertEqual(self.collector.get('/_fake/received'), [])
        self.collector.post('/_fake/up')
        self.wait_for('spool drained', lambda: not envelopes(self.spool), timeout=60)
        time.sleep(2 * SLOW)
        self.stop()
        written = {sha256_file(os.path.join(self.evidence, n)) for n in envelopes(self.evidence)}
        spooled = {sha256_file(os.path.join(self.spool, n)) for n in envelopes(self.spool)}
        received = [r['sha256'] for r in self.collector.get('/_fake/received')]
        self.assertEqual(len(received), len(set(received)))
        # Every envelope the agent wrote reached the collector or is still spooled.
        self.assertEqual(written, set(received) | spooled)
        self.assertFalse(set(received) & spooled)
        # Exactly once: one successful POST per envelope, no re-delivery.
        ok = [r['sha256'] for r in self.collector.get('/_fake/requests') if r['status'] in (200, 201)]
        self.assertEqual(sorted(ok), sorted(set(ok)))
        self.assertEqual(set(ok), set(received))
        self.assertGreaterEqual(len(received), 10)
        self.verify_dir(self.evidence)
        print('\ncollector outage: %d envelopes written, %d delivered once each, %d still spooled'
              % (len(written), len(received), len(spooled)), file=sys.stderr)


class CollectorRejects(FaultCase):
    """Issue 16 item 7: an envelope the collector rejects for good does not
    block the ones after it; retryable answers keep everything spooled."""

    def test_one_rejected_envelope_does_not_block_the_rest(self):
        self.collector.post('/_fake/down', {'status': 429, 'retry_after': 1})
        self.start()
        self.wait_for('4 spooled', lambda: len(envelopes(self.spool)) >= 4, timeout=60)
        rejected_dir = os.path.join(self.spool, 'rejected')
        self.assertFalse(os.path.exists(rejected_dir))         # 429 drops nothing
        self.collector.post('/_fake/down', {'status': 422, 'count': 1})
        self.wait_for('one moved aside', lambda: os.path.isdir(rejected_dir) and envelopes(rejected_dir))
        self.wait_for('spool drained', lambda: not envelopes(self.spool), timeout=60)
        self.wait_for('moved-aside metric',
                      lambda: metric(self.scrape(), 'hostenc_push_rejected_total') == 1)
        self.assertEqual(metric(self.scrape(), 'hostenc_push_rejected_envelopes'), 1)
        out, _ = self.stop()
        written = {sha256_file(os.path.join(self.evidence, n)) for n in envelopes(self.evidence)}
        spooled = {sha256_file(os.path.join(self.spool, n)) for n in envelopes(self.spool)}
        aside = {sha256_file(os.path.join(rejected_dir, n)) for n in envelopes(rejected_dir)}
        received = {r['sha256'] for r in self.collector.get('/_fake/received')}
        # Nothing acknowledged is lost: every envelope written was received,
        # is still spooled, or was moved aside (and kept) after its 422.
        self.assertEqual(written, received | spooled | aside)
        self.assertEqual(len(aside), 1)
        self.assertFalse(aside & received)
        # After its 422 the agent never sent the rejected envelope again.
        answers = [(r['sha256'], r['status']) for r in self.collector.get('/_fake/requests')]
        rejected_sha = next(iter(aside))
        self.assertEqual([st for sha, st in answers if sha == rejected_sha and st != 429], [422])
        logged = [json.loads(l) for l in out.splitlines() if 'rejected an envelope for good' in l]
        self.assertEqual(len(logged), 1)
        self.assertIn('HTTP 422', logged[0]['error'])
        print('\ncollector 422 on one envelope: %d written, %d received, %d moved aside'
              % (len(written), len(received), len(aside)), file=sys.stderr)


class StoreDirs(FaultCase):
    """Issue 16 item 8: a missing or unusable spoolDir/evidenceDir is an
    error at start-up, not a silent loss later."""

    def test_missing_or_not_a_directory(self):
        not_dir = os.path.join(self.tmp, 'file')
        self.write(not_dir, 'x')
        for flag, path, key, why in (
                ('--spool-dir', os.path.join(self.tmp, 'nope'), 'spoolDir', 'No such file or directory'),
                ('--evidence-dir', os.path.join(self.tmp, 'nope'), 'evidenceDir', 'No such file or directory'),
                ('--evidence-dir', not_dir, 'evidenceDir', 'Not a directory')):
            with self.subTest(key=key, why=why):
                p = subprocess.run([HOSTENC] + self.args(flag, path, '--once', '--metrics-listen', ''),
                                   capture_output=True, text=True, timeout=60 * SLOW)
                self.assertEqual(p.returncode, 78, p.stderr)
                self.assertIn('config: %s %s: %s' % (key, path, why), p.stderr)
        self.assertEqual(self.collector.get('/_fake/requests'), [])


class Slowloris:
    """A bounded attacker on 127.0.0.x only: keeps up to `n` connections
    from the given source addresses to 127.0.0.1:port, each sending a
    request's headers one byte every `drip` seconds and never finishing them;
    opens a new one when one is cut. Stops at stop(), or by itself after
    `lifetime` seconds."""

    def __init__(self, port, sources, n, drip=0.3, lifetime=90):
        self.port, self.sources, self.n, self.drip = port, sources, n, drip
        self.deadline = time.monotonic() + lifetime * SLOW
        self.stopping = threading.Event()
        self.held_then_cut = 0      # connections that took bytes for a while, then the server cut them
        self.opened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def connect(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.bind((source, 0))
            s.connect(('127.0.0.1', self.port))
            s.sendall(b'POST /v1/evidence HTTP/1.1\r\nHost: x\r\nX-Slow: ')
        except OSError:
            s.close()
            return None
        self.opened += 1
        return [s, 0]

    def run(self):
        conns, k = [], 0
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            while len(conns) < self.n:
                c = self.connect(self.sources[k % len(self.sources)])
                k += 1
                if c is None:
                    break
                conns.append(c)
            for c in list(conns):
                try:
                    c[0].sendall(b'a')
                    c[1] += 1
                except OSError:
                    if c[1] >= 3:
                        self.held_then_cut += 1
                    c[0].close()
                    conns.remove(c)
            self.stopping.wait(self.drip)
        for c in conns:
            c[0].close()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)


class CollectorUnderAbuse(FaultCase):
    """Issue 16 item 9: one client holding connections (slowloris) neither
    stops the agents' pushes nor the health probes of `hostenc collect`."""

    def collect(self):
        self.store = os.path.join(self.tmp, 'store')
        self.health_port = free_port()
        log = open(os.path.join(self.tmp, 'collect.log'), 'wb')
        self.addCleanup(log.close)
        p = subprocess.Popen([HOSTENC, 'collect', '--listen', '127.0.0.1:0', '--store', self.store,
                              '--token-file', self.server_token, '--imds-trust', self.imds.trust,
                              '--max-connections', '24', '--per-ip-connections', '4', '--request-deadline', '2s',
                              '--health-listen', '127.0.0.1:%d' % self.health_port],
                             stdout=log, stderr=subprocess.PIPE, text=True)
        self.procs.append(p)
        deadline = time.monotonic() + 20 * SLOW
        while time.monotonic() < deadline:
            with open(log.name) as f:
                for line in f:
                    if json.loads(line)['msg'] == 'listening':
                        return p, int(json.loads(line)['address'].rsplit(':', 1)[1])
            self.assertIsNone(p.poll(), 'hostenc collect exited')
            time.sleep(0.05)
        self.fail('hostenc collect did not start')

    def stored(self):
        path = os.path.join(self.store, 'index.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(l)['sha256'] for l in f]

    def probes_ok(self):
        base = 'http://127.0.0.1:%d' % self.health_port
        return all(http('GET', base + p)[0] == 200 for p in ('/livez', '/readyz'))

    def test_slowloris_does_not_stop_pushes_or_probes(self):
        collect, port = self.collect()
        # One client, 40 connections: the per-address limit leaves it 4.
        attacker = Slowloris(port, ['127.0.0.2'], 40)
        self.addCleanup(attacker.stop)
        self.start(kube='none', push_url='http://127.0.0.1:%d/v1/evidence' % port)
        self.wait_for('3 stored during the attack', lambda: len(self.stored()) >= 3, timeout=60)
        self.assertTrue(self.probes_ok())
        self.assertEqual(http('GET', 'http://127.0.0.1:%d/livez' % port)[0], 200)
        # Trickled headers are cut at the request deadline, however steady.
        self.wait_for('connections cut at the deadline', lambda: attacker.held_then_cut >= 4, timeout=60)
        attacker.stop()
        # Many clients fill every connection: the health listener still answers.
        flood = Slowloris(port, ['127.0.0.%d' % i for i in range(2, 10)], 40)
        self.addCleanup(flood.stop)
        self.wait_for('the flood holds connections', lambda: flood.opened >= 24, timeout=30)
        for _ in range(5):
            self.assertTrue(self.probes_ok())
        n = len(self.stored())
        flood.stop()
        self.wait_for('pushes resume', lambda: len(self.stored()) > n + 1, timeout=60)
        self.wait_for('spool drained', lambda: not envelopes(self.spool), timeout=60)
        self.stop()
        written = {sha256_file(os.path.join(self.evidence, f)) for f in envelopes(self.evidence)}
        spooled = {sha256_file(os.path.join(self.spool, f)) for f in envelopes(self.spool)}
        stored = self.stored()
        # Nothing acknowledged is lost, nothing stored twice.
        self.assertEqual(len(stored), len(set(stored)))
        self.assertEqual(written, set(stored) | spooled)
        collect.send_signal(signal.SIGTERM)
        self.assertEqual(collect.wait(timeout=30), 0)
        print('\nslowloris: %d + %d attacker connections opened, %d cut at the deadline; %d envelopes '
              'written, %d stored' % (attacker.opened, flood.opened, attacker.held_then_cut, len(written),
                                      len(stored)), file=sys.stderr)


def can_mount():
    if os.geteuid() != 0:
        return False
    d = tempfile.mkdtemp(prefix='hostenc-mount-')
    try:
        ok = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', d],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(['umount', d], capture_output=True)
        return ok
    finally:
        os.rmdir(d)


MOUNT_OK = can_mount()


@unittest.skipUnless(MOUNT_OK, 'needs root and permission to mount a tmpfs (mount -t tmpfs)')
class EvidenceDirFaults(FaultCase):

    def mount(self, opts):
        subprocess.run(['mount', '-t', 'tmpfs', '-o', opts, 'tmpfs', self.evidence], check=True)
        self.addCleanup(subprocess.run, ['umount', '-l', self.evidence], capture_output=True)

    def remount(self, opts):
        subprocess.run(['mount', '-o', 'remount,' + opts, self.evidence], check=True)

    def errors_logged(self, out):
        return [json.loads(l) for l in out.splitlines() if '"evidence directory write failed"' in l]

    def test_full(self):
        self.mount('size=64k,mode=0755')
        self.start()
        self.wait_for('directory full', lambda: metric(self.scrape(), 'hostenc_cycles_total', result='error'))
        before = {n: sha256_file(os.path.join(self.evidence, n)) for n in envelopes(self.evidence)}
        pushed_before = len(self.collector.get('/_fake/received'))
        time.sleep(4 * SLOW)
        self.alive()
        # Still signing, still pushing: the collector keeps getting evidence.
        self.assertGreater(len(self.collector.get('/_fake/received')), pushed_before)
        # Earlier evidence is intact; nothing half-written is left behind.
        after = {n: sha256_file(os.path.join(self.evidence, n)) for n in before}
        self.assertEqual(before, after)
        self.assertEqual([n for n in os.listdir(self.evidence) if '.tmp' in n], [])
        self.verify_dir(self.evidence)
        # Space comes back: writing resumes.
        self.remount('size=4m')
        n = len(envelopes(self.evidence))
        self.wait_for('writes resume', lambda: len(envelopes(self.evidence)) > n + 1)
        out, err = self.stop()
        errors = self.errors_logged(out)
        self.assertTrue(errors and all(e['error'] == 'No space left on device' for e in errors), errors[:3])
        self.verify_dir(self.evidence)

    def test_read_only(self):
        self.mount('size=4m,mode=0755')
        self.start()
        self.wait_for('two envelopes', lambda: len(envelopes(self.evidence)) >= 2)
        self.remount('ro')
        before = {n: sha256_file(os.path.join(self.evidence, n)) for n in envelopes(self.evidence)}
        self.wait_for('write errors', lambda: metric(self.scrape(), 'hostenc_cycles_total', result='error'))
        time.sleep(3 * SLOW)
        self.alive()
        self.assertEqual(before, {n: sha256_file(os.path.join(self.evidence, n)) for n in envelopes(self.evidence)})
        # Signed but not stored is not a success: /readyz goes 503.
        self.wait_for('not ready', lambda: http('GET', 'http://127.0.0.1:%d/readyz' % self.metrics_port)[0] == 503)
        self.remount('rw')
        self.wait_for('writes resume', lambda: len(envelopes(self.evidence)) > len(before))
        self.wait_for('ready again', lambda: http('GET', 'http://127.0.0.1:%d/readyz' % self.metrics_port)[0] == 200)
        out, err = self.stop()
        self.assertTrue(any(e['error'] == 'Read-only file system' for e in self.errors_logged(out)))
        self.verify_dir(self.evidence)

    def test_read_only_at_start_and_once(self):
        self.mount('size=4m,mode=0755,ro')
        p = subprocess.run([HOSTENC] + self.args('--once', '--metrics-listen', ''),
                           capture_output=True, text=True, timeout=60 * SLOW)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn('config: evidenceDir %s: Read-only file system' % self.evidence, p.stderr)
        # Usable at start (the probe file is empty) but full when the cycle
        # writes its envelope: --once exits 70, not the verdict's 0.
        self.remount('rw')
        with open(os.path.join(self.evidence, 'filler'), 'wb', buffering=0) as f:
            try:
                while True:
                    f.write(b'\0' * 4096)
                    f.flush()
            except OSError:
                pass
        p = subprocess.run([HOSTENC] + self.args('--once', '--metrics-listen', '', push=False, kube='none'),
                           capture_output=True, text=True, timeout=60 * SLOW)
        self.assertEqual(p.returncode, 70, p.stderr)
        self.assertIn('"evidence directory write failed"', p.stdout)


class Crashes(FaultCase):

    def test_sigkill_during_evidence_writes(self):
        """kill -9 at random moments, many times: no torn envelope, latest.json
        never dangles, and no envelope that a cycle reported as written is
        missing afterwards."""
        rng = random.Random(os.environ.get('FAULTS_SEED', '6'))
        self.collector.post('/_fake/down', {'status': 503})      # the spool is written too
        reported = set()
        runs = 30
        for i in range(runs):
            proc = self.start('--kube-api', 'none', wait=False)
            time.sleep(rng.uniform(0.05, 2.5) * SLOW)
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate(timeout=30)
            for line in out.splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue                    # a line cut by the kill
                if entry.get('msg') == 'cycle' and entry.get('evidenceSha256'):
                    reported.add(entry['evidenceSha256'])
        names = self.verify_dir(self.evidence)
        self.assertGreater(len(names), runs // 2)
        on_disk = {sha256_file(os.path.join(self.evidence, n)) for n in names}
        self.assertEqual(reported - on_disk, set(), 'envelopes reported written but gone')
        spooled = envelopes(self.spool)
        for n in spooled:
            with open(os.path.join(self.spool, n)) as f:
                json.load(f)
        self.assertLessEqual({sha256_file(os.path.join(self.spool, n)) for n in spooled}, on_disk)
        print('\n%d kills, %d envelopes, %d spooled, %d temp files left' % (
            runs, len(names), len(spooled),
            len([n for d in (self.evidence, self.spool) for n in os.listdir(d) if '.tmp' in n])), file=sys.stderr)


class HostFaults(FaultCase):
    """`hostenc check` on a copy of a fixture host root with one attribute
    broken at a time. Missing or unusable facts must never pass."""

    SDA = ('sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/f8b3781a-1e82-4818-a1c3-63d806ec15bb/'
           'host0/target0:0:0/0:0:0:0')

    def copy_root(self, name='d4sv5'):
        root = os.path.join(self.tmp, 'root-' + name)
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(os.path.join(HOSTROOTS, name), root, symlinks=True)
        return root

    def check(self, root, timeout=60):
        t0 = time.monotonic()
        p = subprocess.run([HOSTENC, 'check', '--host-root', root, '--imds-url', self.imds.url, '--imds-trust',
                            self.imds.trust, '--imds-timeout', '5', '--output', 'json'],
                           capture_output=True, text=True, timeout=timeout * SLOW)
        self.assertIn(p.returncode, (0, 1, 2), 'exit %d (killed by a signal?): %s' % (p.returncode, p.stderr))
        self.assertLess(time.monotonic() - t0, timeout * SLOW)
        rep = json.loads(p.stdout)
        validate_output(rep)                            # docs/schemas/report-v1.schema.json
        return p, rep

    def test_baseline_is_compliant(self):
        p, rep = self.check(self.copy_root())
        self.assertEqual((p.returncode, rep['verdict']), (0, 'compliant'), p.stdout)

    def test_odd_attributes(self):
        big = 'A' * (1 << 20)
        values = {'empty': '', 'garbage': 'x\x01\xff?\n', 'huge': big, 'negative': '-1\n',
                  'overflow': '99999999999999999999999\n', 'spaces': '   \n'}
        attrs = {'size': self.SDA + '/block/sda/size', 'dev': self.SDA + '/block/sda/dev',
                 'model': self.SDA + '/model', 'vendor': self.SDA + '/vendor',
                 'part-size': self.SDA + '/block/sda/sda1/size', 'part-dev': self.SDA + '/block/sda/sda1/dev'}
        results = []
        for attr, rel in attrs.items():
            for kind in list(values) + ['missing', 'directory', 'fifo']:
                with self.subTest(attr=attr, kind=kind):
                    root = self.copy_root()
                    path = os.path.join(root, rel)
                    os.unlink(path)
                    if kind == 'directory':
                        os.mkdir(path)
                    elif kind == 'fifo':
                        os.mkfifo(path)
                    elif kind != 'missing':
                        with open(path, 'w', encoding='latin-1') as f:
                            f.write(values[kind])
                    p, rep = self.check(root, timeout=30)
                    results.append((attr, kind, rep['verdict']))
                    if attr.startswith('part-') and kind == 'spaces':
                        continue
                    self.assertNotEqual(rep['verdict'], 'compliant', '%s=%s: %s' % (attr, kind, p.stdout))
                    self.assertNotEqual(p.returncode, 0)
        print('\n' + ' '.join('%s/%s:%s' % r for r in results), file=sys.stderr)

    def test_odd_udev_entries_when_devices_cannot_be_opened(self):
        root = self.copy_root()
        shutil.rmtree(os.path.join(root, 'dev'))
        os.mkdir(os.path.join(root, 'dev'))
        p, rep = self.check(root)
        sources = {d['device']: d['fsSource'] for d in rep['disks']}
        self.assertEqual(set(sources.values()), {'udev'}, rep['disks'])
        self.assertEqual(rep['verdict'], 'compliant', 'the udev database has the same facts')
        udev = os.path.join(root, 'run', 'udev', 'data')
        for kind in ('fifo', 'huge', 'garbage', 'missing'):
            with self.subTest(kind=kind):
                for n in os.listdir(udev):
                    path = os.path.join(udev, n)
                    os.unlink(path)
                    if kind == 'fifo':
                        os.mkfifo(path)
                    elif kind == 'huge':
                        with open(path, 'w') as f:
                            f.write('E:ID_FS_TYPE=' + 'x' * (1 << 20) + '\n')
                    elif kind == 'garbage':
                        with open(path, 'wb') as f:
                            f.write(bytes(range(256)) * 8)
                p, rep = self.check(root, timeout=30)
                self.assertTrue(all(d['fsSource'] in ('udev', 'none') for d in rep['disks']), rep['disks'])
                if kind == 'missing':
                    self.assertTrue(all(d['fsSource'] == 'none' for d in rep['disks']), rep['disks'])
                if kind == 'fifo':
                    self.assertTrue(all(d['fsType'] == '' for d in rep['disks']), rep['disks'])

    def test_devices_cannot_be_opened(self):
        root = self.copy_root()
        shutil.rmtree(os.path.join(root, 'dev'))
        shutil.rmtree(os.path.join(root, 'run', 'udev'))
        p, rep = self.check(root)
        self.assertTrue(all(d['fsSource'] == 'none' for d in rep['disks']), rep['disks'])
        for d in rep['disks']:
            self.assertTrue(all(part['fsSource'] == 'none' for part in d['partitions']), d)
        self.report = rep
        # No filesystem facts at all: the BEK-volume check cannot have proved
        # anything; the decision rests on IMDS and the bus addresses alone.
        self.assertIn(rep['verdict'], ('compliant', 'unknown'))
        print('\nno dev/ and no udev database: verdict %s, ade-conflict %s' % (
            rep['verdict'], next(c['reason'] for c in rep['checks'] if c['id'] == 'ade-conflict')),
            file=sys.stderr)


@unittest.skipUnless(FAKETIME_LIB, 'needs libfaketime (Debian package faketime)')
@unittest.skipIf(os.environ.get('HOSTENC_VALGRIND'), 'libfaketime and valgrind do not mix')
class ClockJump(FaultCase):
    """The wall clock steps (an NTP step, a bad RTC) while the daemon runs;
    the monotonic clock does not."""

    def start_faked(self, *extra):
        self.offset = os.path.join(self.tmp, 'faketime')
        self.write(self.offset, '+0\n')
        # Under ASan (scripts/test-sanitizers.sh) libfaketime is preloaded
        # before the ASan runtime, which ASan refuses unless told otherwise.
        asan = os.environ.get('ASAN_OPTIONS', '')
        return self.start('--evidence-keep', '5', *extra, env={
            'LD_PRELOAD': FAKETIME_LIB, 'FAKETIME_TIMESTAMP_FILE': self.offset, 'FAKETIME_NO_CACHE': '1',
            'FAKETIME_DONT_FAKE_MONOTONIC': '1',
            'ASAN_OPTIONS': (asan + ':' if asan else '') + 'verify_asan_link_order=0'})

    def verdict(self):
        text = self.scrape()
        for v in ('compliant', 'noncompliant', 'unknown'):
            if metric(text, 'hostenc_verdict', state=v) == 1:
                return v
        return None

    def test_forward_jump_past_the_attested_document(self):
        self.start_faked()
        self.wait_status('False')
        self.write(self.offset, '+7h\n')        # past the 6 h attested document
        self.wait_for('verdict unknown', lambda: self.verdict() == 'unknown', timeout=30)
        self.wait_status('Unknown', timeout=30)
        self.alive()
        self.write(self.offset, '+0\n')
        self.wait_for('compliant again', lambda: self.verdict() == 'compliant', timeout=30)
        self.wait_status('False', timeout=30)
        self.stop()
        names = envelopes(self.evidence)
        self.assertTrue(os.path.exists(os.path.join(self.evidence, 'latest.json')))
        self.assertIn(os.readlink(os.path.join(self.evidence, 'latest.json')), names)

    def test_backward_jump(self):
        self.start_faked()
        self.wait_for('five envelopes', lambda: len(envelopes(self.evidence)) >= 5)
        self.write(self.offset, '-2d\n')        # before the attested document was signed
        time.sleep(4 * SLOW)
        self.alive()
        # The node's clock is now before Microsoft's signature: that is not
        # evidence of compliance (verify would reject it as outside the window).
        self.assertNotEqual(self.verdict(), 'compliant')
        latest = os.path.join(self.evidence, 'latest.json')
        self.assertTrue(os.path.exists(latest), 'latest.json dangles after the clock went back')
        self.write(self.offset, '+0\n')
        self.wait_for('compliant again', lambda: self.verdict() == 'compliant', timeout=30)
        self.stop()
        self.assertTrue(os.path.exists(latest))


class Secrets(FaultCase):

    def test_logs_hold_no_key_material_or_token(self):
        key = os.path.join(self.tmp, 'signing.key')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-out', key], check=True, capture_output=True)
        os.chmod(key, 0o600)
        with open(key) as f:
            pem = f.read()
        body = [l for l in pem.splitlines() if l and not l.startswith('-----')]
        der = base64.b64decode(''.join(body))
        secrets = [self.token, ''.join(body)] + [l for l in body if len(l) >= 16] + \
            [der.hex(), base64.b64encode(der).decode()]
        # The private scalar alone, as openssl prints it.
        scalar = subprocess.run(['openssl', 'pkey', '-in', key, '-noout', '-text'], capture_output=True,
                                text=True, check=True).stdout
        m = re.search(r'priv:\s*\n((?:\s+[0-9a-f:]+\n)+)', scalar)
        priv = re.sub(r'[\s:]', '', m.group(1))
        secrets += [priv.lstrip('0') or priv, base64.b64encode(bytes.fromhex(priv[-64:])).decode()]

        outputs = []
        self.start('--key', key, '--textfile', os.path.join(self.tmp, 'hostenc.prom'))
        self.wait_status('False')
        self.write(self.agent_token, 'another-token-%032x\n' % random.getrandbits(128))
        self.set_eah('false')       # a write with a token the API rejects: error paths log
        self.wait_for('a 401', lambda: any(r['status'] == 401 for r in self.api_requests()))
        self.collector.post('/_fake/down', {'status': 503})
        time.sleep(2 * SLOW)
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(2 * SLOW)
        outputs.append(self.scrape())
        outputs += list(self.stop())
        # Error paths that name the key file must not echo it.
        os.chmod(key, 0o644)
        p = hostenc(*self.args('--once', '--key', key))
        self.assertEqual(p.returncode, 78)
        outputs += [p.stdout, p.stderr]
        os.chmod(key, 0o600)
        bad = os.path.join(self.tmp, 'not-a-key.pem')
        with open(bad, 'w') as f:
            f.write('-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' % body[0][::-1])
        os.chmod(bad, 0o600)
        p = hostenc(*self.args('--once', '--key', bad))
        self.assertEqual(p.returncode, 78)
        outputs += [p.stdout, p.stderr]
        secrets.append(body[0][::-1])
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
                    '--imds-trust', self.imds.trust, '--key', key, '--attestation',
                    os.path.join(self.tmp, 'check.json'))
        outputs += [p.stdout, p.stderr]
        # Everything the agent wrote: logs, evidence, spool, textfile.
        for d in (self.evidence, self.spool):
            for n in envelopes(d):
                with open(os.path.join(d, n)) as f:
                    outputs.append(f.read())
        for extra in ('hostenc.prom', 'check.json'):
            with open(os.path.join(self.tmp, extra)) as f:
                outputs.append(f.read())
        text = '\n'.join(outputs)
        self.assertGreater(len(text), 1000)
        for s in secrets:
            self.assertNotIn(s, text)


if __name__ == '__main__':
    unittest.main(verbosity=2)
