#!/usr/bin/env python3
"""Integration tests for `hostenc run`: the real daemon against the fake
IMDS, the fake Kubernetes API and the fake collector, all on 127.0.0.1.
The cycles are a few seconds apart; the test flips encryptionAtHost in the
compute file the fake IMDS serves, and watches every view follow."""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from harness import HOSTENC, HOSTROOTS, IMDS_FIXTURES, FakeImds, hostenc, documented_metric_types, served_metric_types

FAKES = os.path.join(os.path.dirname(__file__), '..', 'fakes')
NODE = 'aks-nodepool1-12345678-vmss000000'
PROMTOOL = shutil.which('promtool')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def http(method, url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Fake:
    """A Python fake from tests/fakes, on an ephemeral loopback port."""

    def __init__(self, script, tmp, *args):
        self.port_file = os.path.join(tmp, script + '.port')
        self.proc = subprocess.Popen([sys.executable, os.path.join(FAKES, script), '--port-file', self.port_file]
                                     + list(args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError('%s did not start: %s' % (script, self.proc.stderr.read()))
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.url = 'http://127.0.0.1:%d' % int(f.read())

    def get(self, path):
        status, body = http('GET', self.url + path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def post(self, path, body=None):
        return http('POST', self.url + path, body if body is not None else {})

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        self.proc.stderr.close()


class Daemon(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='hostenc-run-')
        self.compute = os.path.join(self.tmp, 'compute.json')
        self.set_eah('true')
        self.token = os.path.join(self.tmp, 'token')
        with open(self.token, 'w') as f:
            f.write('token-one\n')
        # Cleanups run even when setUp fails half-way: no fake outlives its test.
        self.addCleanup(shutil.rmtree, self.tmp)
        self.imds = FakeImds(self.compute).__enter__()
        self.addCleanup(self.imds.__exit__, None, None, None)
        self.kube = Fake('fake_kube.py', self.tmp, '--token-file', self.token, '--node', NODE)
        self.addCleanup(self.kube.stop)
        os.makedirs(os.path.join(self.tmp, 'received'))
        self.collector = Fake('fake_collector.py', self.tmp, '--token-file', self.token,
                              '--store-dir', os.path.join(self.tmp, 'received'))
        self.addCleanup(self.collector.stop)
        self.evidence = os.path.join(self.tmp, 'evidence')
        self.spool = os.path.join(self.tmp, 'spool')
        os.makedirs(self.evidence)
        os.makedirs(self.spool)
        self.metrics_port = free_port()
        self.proc = None

    def tearDown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def set_eah(self, value):
        with open(os.path.join(IMDS_FIXTURES, 'd4sv5.json')) as f:
            doc = json.load(f)
        doc['securityProfile']['encryptionAtHost'] = value
        with open(self.compute + '.tmp', 'w') as f:
            json.dump(doc, f)
        os.replace(self.compute + '.tmp', self.compute)

    def args(self, *extra, heartbeat='1h'):
        hb = ['--heartbeat', heartbeat] if heartbeat else []
        return ['run', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
                '--imds-trust', self.imds.trust, '--imds-timeout', '3', '--kube-api', self.kube.url,
                '--kube-token-file', self.token, '--node-name', NODE, '--interval', '2s',
                '--start-delay', '0s', '--jitter-percent', '0'] + hb + [
                '--metrics-listen', '127.0.0.1:%d' % self.metrics_port, '--evidence-dir', self.evidence,
                '--push-url', self.collector.url + '/v1/evidence', '--push-token-file', self.token,
                '--spool-dir', self.spool, '--textfile', os.path.join(self.tmp, 'hostenc.prom')] + list(extra)

    def start(self, *extra, heartbeat='1h'):
        self.proc = subprocess.Popen([HOSTENC] + self.args(*extra, heartbeat=heartbeat), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def condition(self):
        node = self.kube.get('/_fake/node')
        for c in node['status']['conditions']:
            if c['type'] == 'EncryptionAtHostNonCompliant':
                return c
        return None

    def wait_for(self, what, predicate, timeout=25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc and self.proc.poll() is not None:
                self.fail('hostenc run exited (%s) while waiting for %s: %s' % (self.proc.returncode, what,
                                                                               self.proc.stderr.read()))
            time.sleep(0.2)
        self.fail('timed out waiting for %s' % what)

    def wait_status(self, status):
        return self.wait_for('condition %s' % status, lambda: (c := self.condition()) and c['status'] == status and c)

    def api_writes(self):
        return [r for r in self.kube.get('/_fake/requests') if r['method'] in ('PATCH', 'POST')]

    def scrape(self, path='/metrics'):
        return http('GET', 'http://127.0.0.1:%d%s' % (self.metrics_port, path))

    def stop_daemon(self):
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, time.monotonic() - t0, out, err

    # ------------------------------------------------------------------------

    def test_views_follow_the_evidence(self):
        self.start()
        cond = self.wait_status('False')
        self.assertEqual(cond['reason'], 'EncryptionAtHostEnabled')
        for key in ('message', 'lastHeartbeatTime', 'lastTransitionTime'):
            self.assertTrue(cond[key])
        node = self.kube.get('/_fake/node')
        self.assertEqual(node['metadata']['labels']['hostenc.dev/encryption-at-host'], 'compliant')
        self.assertRegex(node['metadata']['annotations']['hostenc.dev/evidence-sha256'], r'^[0-9a-f]{64}$')
        writes = self.api_writes()
        self.assertTrue(writes)
        for w in writes:
            self.assertTrue(w['auth_ok'])
        status_patches = [w for w in writes if w['path'].endswith('/status')]
        self.assertEqual(status_patches[0]['content_type'], 'application/strategic-merge-patch+json')
        self.assertEqual([w for w in writes if w['path'] == '/api/v1/nodes/' + NODE][0]['content_type'],
                         'application/merge-patch+json')
        self.assertEqual(self.kube.get('/_fake/events'), [])

        # Nothing changes for three cycles: nothing is written.
        before = len(self.api_writes())
        time.sleep(6.5)
        self.assertEqual(len(self.api_writes()), before, 'wrote to the API although nothing changed')

        # Encryption at host goes off: condition True, label, one Warning event.
        self.set_eah('false')
        cond = self.wait_status('True')
        self.assertEqual(cond['reason'], 'EncryptionAtHostDisabled')
        self.wait_for('label noncompliant', lambda: self.kube.get('/_fake/node')['metadata']['labels']
                      ['hostenc.dev/encryption-at-host'] == 'noncompliant')
        events = self.wait_for('warning event', lambda: self.kube.get('/_fake/events'))
        self.assertEqual([(e['type'], e['reason']) for e in events], [('Warning', 'EncryptionAtHostNonCompliant')])
        self.assertEqual(events[0]['involvedObject']['name'], NODE)
        time.sleep(4.5)
        self.assertEqual(len(self.kube.get('/_fake/events')), 1, 'the event was repeated')

        # The token rotates: the next write uses the new one.
        with open(self.token, 'w') as f:
            f.write('token-two\n')
        self.set_eah('true')
        self.wait_status('False')
        events = self.wait_for('recovery event', lambda: len(e := self.kube.get('/_fake/events')) == 2 and e)
        self.assertEqual((events[1]['type'], events[1]['reason']), ('Normal', 'EncryptionAtHostCompliant'))
        self.assertTrue(all(r['auth_ok'] for r in self.kube.get('/_fake/requests')))

        # Metrics, health, evidence, IMDS budget, then a clean stop.
        self.check_metrics()
        self.check_evidence_and_push()
        self.check_imds_budget()
        rc, took, out, err = self.stop_daemon()
        self.assertEqual(rc, 0, err)
        self.assertLess(took, 5)
        lines = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(lines[-1]['msg'], 'stopped')
        self.assertTrue(any(l['msg'] == 'cycle' and l['verdict'] == 'noncompliant' for l in lines))
        self.assertNotIn('token-', out + err)

    def check_metrics(self):
        status, text = self.scrape()
        self.assertEqual(status, 200)
        self.assertIn('hostenc_verdict{state="compliant"} 1', text)
        self.assertIn('hostenc_check_status{check="encryption-at-host",severity="fail",status="pass"} 1', text)
        self.assertRegex(text, r'hostenc_imds_requests_total\{endpoint="compute",code_class="2xx"\} [1-9]')
        self.assertRegex(text, r'hostenc_kube_requests_total\{kind="condition",result="ok"\} [3-9]')
        self.assertRegex(text, r'hostenc_last_success_timestamp_seconds 1\d{9}')
        self.assertIsNotNone(PROMTOOL, 'promtool (Debian package prometheus) is needed to lint the metrics')
        p = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.scrape('/livez')[0], 200)
        self.assertEqual(self.scrape('/readyz')[0], 200)
        self.assertEqual(self.scrape('/nope')[0], 404)
        with open(os.path.join(self.tmp, 'hostenc.prom')) as f:
            self.assertIn('hostenc_build_info', f.read())

    def check_evidence_and_push(self):
        p = hostenc('verify', '--imds-trust', self.imds.trust, self.evidence)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        files = sorted(n for n in os.listdir(self.evidence) if n.startswith('hostenc-'))
        self.assertGreaterEqual(len(files), 5)
        self.assertEqual(os.readlink(os.path.join(self.evidence, 'latest.json')), files[-1])
        received = self.collector.get('/_fake/received')
        self.assertGreaterEqual(len(received), len(files) - 1)

    def check_imds_budget(self):
        times = [r[0] for r in self.imds.requests()]
        for i in range(len(times)):
            window = [t for t in times[i:] if t - times[i] < 1000]
            self.assertLessEqual(len(window), 5, 'more than 5 IMDS requests in one second')
        attested = [r for r in self.imds.requests() if 'attested' in r[2]]
        self.assertEqual(len(attested), 1, 'the binding document should be fetched once, not per cycle')

    def test_events_in_kube_system(self):
        """A Node's Events carry eventTime, action and the reporting fields,
        so the API server takes them in kube-system too (the fake applies
        legacyValidateEvent from kubernetes pkg/apis/core/validation/events.go)."""
        self.set_eah('false')
        self.start('--event-namespace', 'kube-system')
        events = self.wait_for('warning event', lambda: self.kube.get('/_fake/events'))
        self.assertEqual(events[0]['metadata']['namespace'], 'kube-system')
        self.assertRegex(events[0]['eventTime'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$')
        self.assertEqual((events[0]['action'], events[0]['reportingComponent'], events[0]['reportingInstance']),
                         ('Check', 'hostenc', NODE))
        posts = [r for r in self.kube.get('/_fake/requests') if r['path'].endswith('/events')]
        self.assertTrue(posts and all(r['status'] == 201 for r in posts), posts)

    def test_api_throttling_and_errors(self):
        self.kube.post('/_fake/fail', {'path_prefix': '/api/v1/nodes/%s/status' % NODE, 'status': 429,
                                       'count': 1, 'retry_after': 3})
        self.start()
        self.wait_status('False')
        reqs = [r for r in self.kube.get('/_fake/requests') if r['path'].endswith('/status')]
        self.assertEqual(reqs[0]['status'], 429)
        self.assertGreaterEqual(reqs[1]['t'] - reqs[0]['t'], 2.9, 'Retry-After not honoured')
        self.kube.post('/_fake/fail', {'path_prefix': '/api/v1/nodes/%s/status' % NODE, 'status': 500,
                                       'count': 1})
        self.set_eah('false')
        self.wait_status('True')
        statuses = [r['status'] for r in self.kube.get('/_fake/requests') if r['path'].endswith('/status')]
        self.assertIn(500, statuses)
        self.assertEqual(self.proc.poll(), None, 'the daemon died on API errors')
        self.stop_daemon()

    def test_spool_delivers_after_collector_outage(self):
        self.collector.post('/_fake/down', {'status': 503})
        self.start()
        self.wait_for('three spooled', lambda: len([n for n in os.listdir(self.spool) if n.endswith('.json')]) >= 3)
        status, text = self.scrape()
        self.assertRegex(text, r'hostenc_push_spool_envelopes [3-9]')
        # docs/daemon-interface.md lists exactly the metrics served, with their types.
        self.assertEqual(documented_metric_types('daemon-interface.md'), served_metric_types(text))
        self.assertEqual(self.collector.get('/_fake/received'), [])
        self.collector.post('/_fake/up')
        self.wait_for('spool drained', lambda: not [n for n in os.listdir(self.spool) if n.endswith('.json')])
        received = self.collector.get('/_fake/received')
        self.assertGreaterEqual(len(received), 3)
        # Delivered oldest first: sequence numbers arrive in order.
        seqs = []
        for r in received:
            env = self.collector.get('/_fake/received/' + r['sha256'])
            seqs.append(json.loads(base64.b64decode(env['payload']))['predicate']['sequence'])
        self.assertEqual(seqs, sorted(seqs))
        self.stop_daemon()

    def test_once_dry_run_and_cleanup(self):
        p = subprocess.run([HOSTENC] + self.args('--once', '--dry-run'), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.api_writes(), [])
        self.assertEqual(len([n for n in os.listdir(self.evidence) if n.startswith('hostenc-')]), 1)
        self.set_eah('false')
        p = subprocess.run([HOSTENC] + self.args('--once'), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(self.condition()['status'], 'True')
        p = subprocess.run([HOSTENC] + self.args('--cleanup'), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        node = self.kube.get('/_fake/node')
        self.assertIsNone(self.condition())
        self.assertNotIn('hostenc.dev/encryption-at-host', node['metadata']['labels'])
        self.assertNotIn('hostenc.dev/evidence-sha256', node['metadata']['annotations'])
        self.assertIn('kubernetes.io/os', node['metadata']['labels'])

    def test_heartbeat_retention_and_reload(self):
        cfg = os.path.join(self.tmp, 'config.json')
        with open(cfg, 'w') as f:
            json.dump({'heartbeat': '3s', 'evidenceKeep': 3}, f)
        self.start('--config', cfg, heartbeat=None)      # the file sets it
        self.wait_status('False')
        # With nothing changing, the condition is still rewritten on the heartbeat.
        self.wait_for('three heartbeats', lambda: len([w for w in self.api_writes()
                                                       if w['path'].endswith('/status')]) >= 3, timeout=20)
        first, last = [w for w in self.api_writes() if w['path'].endswith('/status')][::2][:2]
        self.assertGreaterEqual(last['t'] - first['t'], 2.5, 'heartbeat faster than configured')
        self.assertEqual(self.kube.get('/_fake/events'), [])
        # Retention keeps the newest evidenceKeep envelopes.
        self.wait_for('retention', lambda: len([n for n in os.listdir(self.evidence) if n.startswith('hostenc-')]) == 3
                      and len(os.listdir(self.spool)) == 0)
        time.sleep(2.5)
        self.assertEqual(len([n for n in os.listdir(self.evidence) if n.startswith('hostenc-')]), 3)
        # SIGHUP reloads; a broken file is refused and the running config kept.
        with open(cfg, 'w') as f:
            json.dump({'heartbeat': '3s', 'evidenceKeep': 2}, f)
        self.proc.send_signal(signal.SIGHUP)
        self.wait_for('reloaded keep', lambda: len([n for n in os.listdir(self.evidence) if n.startswith('hostenc-')]) == 2)
        with open(cfg, 'w') as f:
            f.write('{not json')
        self.proc.send_signal(signal.SIGHUP)
        time.sleep(2.5)
        self.assertIsNone(self.proc.poll())
        rc, took, out, err = self.stop_daemon()
        self.assertEqual(rc, 0)
        msgs = [json.loads(l)['msg'] for l in out.splitlines()]
        self.assertIn('configuration reloaded', msgs)
        self.assertIn('reload failed; keeping the running configuration', msgs)
        self.assertIn('config: file %s: not a JSON object' % cfg, err)

    def test_persistent_key_continues_its_chain(self):
        key = os.path.join(self.tmp, 'agent.key')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key],
                       check=True, capture_output=True)
        os.chmod(key, 0o600)
        for _ in range(2):
            p = subprocess.run([HOSTENC] + self.args('--once', '--dry-run', '--key', key), capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
        first, second = sorted(n for n in os.listdir(self.evidence) if n.startswith('hostenc-'))
        with open(os.path.join(self.evidence, first), 'rb') as f:
            first_digest = __import__('hashlib').sha256(f.read()).hexdigest()
        with open(os.path.join(self.evidence, second)) as f:
            st = json.loads(base64.b64decode(json.load(f)['payload']))
        self.assertEqual(st['predicate']['sequence'], 2)
        self.assertEqual(st['predicate']['previous']['sha256'], first_digest)

    def test_config_file_env_and_print(self):
        cfg = os.path.join(self.tmp, 'config.json')
        with open(cfg, 'w') as f:
            json.dump({'interval': '5m', 'evidenceKeep': 3, 'kubeApi': 'none'}, f)
        p = hostenc('run', '--config', cfg, '--print-config', '--evidence-keep', '9',
                    env={'HOSTENC_INTERVAL': '7m', 'HOSTENC_HEARTBEAT': '2h'})
        self.assertEqual(p.returncode, 0, p.stderr)
        eff = json.loads(p.stdout)
        self.assertEqual((eff['interval'], eff['heartbeat'], eff['evidenceKeep'], eff['kubeApi']),
                         ('7m', '2h', 9, 'none'))
        with open(cfg, 'w') as f:
            json.dump({'interval': 600}, f)
        p = hostenc('run', '--config', cfg, '--print-config')
        self.assertEqual(p.returncode, 78)
        self.assertEqual(p.stderr.strip(), 'hostenc: config: file %s interval: expected a string' % cfg)


if __name__ == '__main__':
    unittest.main(verbosity=2)
