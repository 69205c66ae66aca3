#!/usr/bin/python3
"""Integration tests for `hostenc collect`: the real collector on 127.0.0.1,
fed real envelopes (from `hostenc check --attestation` and from `hostenc run`
pushing to it) and envelopes re-signed with Debian's python3-cryptography to
craft sequences and tampering. Checks the HTTP answers, the store layout, the
index, chain tracking, restart, summaries (verified with openssl and
`hostenc verify`), TLS, and a bounded burst. Runs with /usr/bin/python3."""

import base64
import concurrent.futures
import hashlib
import http.client
import json
import os
import random
import shutil
import signal
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
import warnings

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import FakeImds, HOSTENC, HOSTROOTS, documented_metric_types, hostenc, low_s, served_metric_types, sigstore_verify

PAYLOAD_TYPE = 'application/vnd.in-toto+json'
DSSE_JSON = 'application/vnd.in-toto+dsse+json'
VSA = 'https://slsa.dev/verification_summary/v1'
OUR_PREDICATE = 'https://hostenc.dev/attestation/node-encryption/v1'
TOKEN = 'collector-token-1'
VM = '1d4e7a2b-6c3f-4e9d-8b0a-2f3e4d5c6b72'            # tests/data/imds/d4sv5.json
SUB = '3f2c6a1e-8b4d-4e7a-9c21-5d0e7f8a9b10'
NODE = 'aks-nodepool1-12345678-vmss000000'
BINDING_FIELD = 'https://hostenc.dev/vsa/node-binding/v1'
PROMTOOL = shutil.which('promtool')
BURST_DISTINCT = int(os.environ.get('COLLECT_BURST_DISTINCT', '5000'))
BURST_DUPLICATES = int(os.environ.get('COLLECT_BURST_DUPLICATES', '500'))
BURST_THREADS = 32


def pae(payload_type, payload):
    t = payload_type.encode()
    return b'DSSEv1 %d %s %d ' % (len(t), t, len(payload)) + payload


def sha(data):
    return hashlib.sha256(data).hexdigest()


def statement(env_bytes):
    return json.loads(base64.b64decode(json.loads(env_bytes)['payload']))


def check_vsa_v1(test, pred):
    """The required fields and rules of SLSA VSA v1
    (https://slsa.dev/spec/v1.0/verification_summary, "Fields")."""
    def is_uri(u):
        return isinstance(u, str) and urllib.parse.urlparse(u).scheme != ''
    test.assertTrue(is_uri(pred['verifier']['id']), 'verifier.id must be a URI (TypeURI)')
    test.assertRegex(pred['timeVerified'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$')
    test.assertTrue(is_uri(pred['resourceUri']))
    test.assertTrue(is_uri(pred['policy']['uri']), 'policy MUST contain a uri')
    test.assertRegex(pred['policy']['digest']['sha256'], r'^[0-9a-f]{64}$')
    for att in pred.get('inputAttestations', []):
        test.assertTrue(att['digest'], 'each input attestation MUST contain a digest')
        if 'uri' in att:            # SHOULD be fetchable: then an absolute URI, never a bare digest
            test.assertIn(urllib.parse.urlparse(att['uri']).scheme, ('http', 'https', 'file'))
    test.assertIn(pred['verificationResult'], ('PASSED', 'FAILED'))
    levels = pred['verifiedLevels']
    test.assertIsInstance(levels, list)
    test.assertTrue(levels)
    if pred['verificationResult'] == 'FAILED':
        test.assertEqual(levels, ['FAILED'])
    test.assertFalse([lv for lv in levels if lv.startswith('SLSA_')], 'custom levels must not start with SLSA_')
    if 'slsaVersion' in pred:
        test.assertRegex(pred['slsaVersion'], r'^\d+\.\d+$')
    for k in pred:                  # extension fields are named by URIs
        if k not in ('verifier', 'timeVerified', 'resourceUri', 'policy', 'inputAttestations',
                     'verificationResult', 'verifiedLevels', 'dependencyLevels', 'slsaVersion'):
            test.assertTrue(is_uri(k), 'extension field %s is not a URI' % k)


def swapped(u):
    return str(uuid.UUID(bytes=uuid.UUID(u).bytes_le))


def compact(rfc3339):
    return rfc3339.replace('-', '').replace(':', '')


def request(url, method='POST', body=None, headers=None, context=None, timeout=30, chunked=False):
    """(status, headers, body bytes); never raises on HTTP errors."""
    scheme, rest = url.split('://', 1)
    hostport, path = rest.split('/', 1)
    host, port = hostport.rsplit(':', 1)
    if scheme == 'https':
        conn = http.client.HTTPSConnection(host, int(port), timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        if chunked:
            conn.request(method, '/' + path, body=body, headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, '/' + path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


class Collector:
    """`hostenc collect` on an ephemeral loopback port, logs to files."""

    def __init__(self, tmp, store, *args, token_file=None, scheme='http', name='collect'):
        self.tmp, self.store, self.scheme = tmp, store, scheme
        base = tempfile.mktemp(prefix=name + '-', dir=tmp)
        self.log, self.err = base + '.log', base + '.err'
        self.args = ['collect', '--listen', '127.0.0.1:0', '--store', store] + list(args)
        if token_file:
            self.args += ['--token-file', token_file]
        self.proc = None

    def start(self):
        # Append: a restarted collector keeps the earlier lines for the test to read.
        self.log_f = open(self.log, 'ab')
        self.err_f = open(self.err, 'ab')
        start_at = os.path.getsize(self.log)
        self.proc = subprocess.Popen([HOSTENC] + self.args, stdout=self.log_f, stderr=self.err_f)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for line in self.lines(start_at):
                if line['msg'] == 'listening':
                    self.url = '%s://%s' % (self.scheme, line['address'])
                    return self
            if self.proc.poll() is not None:
                raise RuntimeError('hostenc collect exited %d: %s' % (self.proc.returncode, self.stderr()))
            time.sleep(0.02)
        raise RuntimeError('hostenc collect did not start')

    def lines(self, start_at=0):
        with open(self.log, 'rb') as f:
            f.seek(start_at)
            return [json.loads(l) for l in f.read().decode().splitlines() if l.strip()]

    def stderr(self):
        with open(self.err) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            t0 = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('hostenc collect ignored SIGTERM')
            self.stop_seconds = time.monotonic() - t0
        for f in (getattr(self, 'log_f', None), getattr(self, 'err_f', None)):
            if f:
                f.close()
        return self.proc.returncode if self.proc else None

    def post(self, body, token=TOKEN, content_type=DSSE_JSON, path='/v1/evidence', **kw):
        headers = {'Content-Type': content_type} if content_type else {}
        if token is not None:
            headers['Authorization'] = 'Bearer ' + token
        status, hdrs, data = request(self.url + path, 'POST', body, headers, **kw)
        try:
            return status, json.loads(data), hdrs
        except ValueError:
            return status, data.decode(errors='replace'), hdrs

    def get(self, path, **kw):
        status, _, data = request(self.url + path, 'GET', **kw)
        return status, data.decode()

    def metrics(self):
        status, text = self.get('/metrics')
        assert status == 200, status
        values = {}
        for line in text.splitlines():
            if line and not line.startswith('#'):
                name, value = line.rsplit(' ', 1)
                values[name] = float(value)
        return text, values


class Collect(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='hostenc-collect-')
        cls.keys = {}
        for name in ('a', 'b', 'summary'):
            path = os.path.join(cls.tmp, name + '.key')
            subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                            '-out', path], check=True, capture_output=True)
            os.chmod(path, 0o600)
            with open(path, 'rb') as f:
                cls.keys[name] = (path, serialization.load_pem_private_key(f.read(), None))
        cls.token = os.path.join(cls.tmp, 'token')
        with open(cls.token, 'w') as f:
            f.write(TOKEN + '\n')
        cls.imds = FakeImds('d4sv5.json').__enter__()
        cls.trust = os.path.join(cls.tmp, 'trust.pem')
        shutil.copy(cls.imds.trust, cls.trust)
        # Key a: a chain of two real envelopes; key b: one.
        cls.a1 = cls.check('a')
        cls.a2 = cls.check('a')
        cls.b1 = cls.check('b')
        cls.made_at = time.time()

    @classmethod
    def tearDownClass(cls):
        cls.imds.__exit__(None, None, None)
        shutil.rmtree(cls.tmp)

    @classmethod
    def check(cls, key):
        out = os.path.join(cls.tmp, 'chain-%s.json' % key)
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', cls.imds.url,
                    '--imds-trust', cls.imds.trust, '--imds-timeout', '5', '--key', cls.keys[key][0],
                    '--attestation', out, '--node-name', 'aks-nodepool1-12345678-vmss000000')
        assert p.returncode == 0, p.stderr
        with open(out, 'rb') as f:
            return f.read()

    def resign(self, st, key='a'):
        payload = json.dumps(st, separators=(',', ':')).encode()
        sig = low_s(self.keys[key][1].sign(pae(PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256())))
        return json.dumps({'payloadType': PAYLOAD_TYPE, 'payload': base64.b64encode(payload).decode(),
                           'signatures': [{'keyid': '', 'sig': base64.b64encode(sig).decode()}]}).encode() + b'\n'

    def with_seq(self, base, seq, previous, key='a'):
        st = statement(base)
        st['predicate']['sequence'] = seq
        if previous is None:
            st['predicate'].pop('previous', None)
        else:
            st['predicate']['previous'] = {'sha256': previous}
        return self.resign(st, key)

    def collector(self, *args, token=True, store=None, name='collect', scheme='http'):
        store = store or tempfile.mkdtemp(prefix='store-', dir=self.tmp)
        c = Collector(self.tmp, store, '--imds-trust', self.trust, *args,
                      token_file=self.token if token else None, scheme=scheme, name=name)
        c.start()
        self.addCleanup(c.stop)
        return c

    def index(self, store):
        path = os.path.join(store, 'index.jsonl')
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(l) for l in f]

    def objects(self, store):
        out = []
        for root, _, files in os.walk(os.path.join(store, 'objects')):
            out += [os.path.join(root, n) for n in files]
        return out

    def temp_files(self, store):
        return [os.path.join(r, n) for r, _, files in os.walk(store) for n in files if '.tmp.' in n]

    def lint(self, text):
        self.assertIsNotNone(PROMTOOL, 'promtool (Debian package prometheus) is needed to lint the metrics')
        p = subprocess.run([PROMTOOL, 'check', 'metrics'], input=text, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    # --- the good path ---------------------------------------------------------------

    def test_accept_store_index_duplicate(self):
        c = self.collector()
        st1, st2 = statement(self.a1), statement(self.a2)
        vm = st1['subject'][0]['name'].split(':', 1)[1]
        status, body, _ = c.post(self.a1)
        self.assertEqual(status, 201, body)
        self.assertEqual(body, {'sha256': sha(self.a1), 'vmId': vm, 'sequence': 1, 'chain': 'first',
                                'binding': 'unchecked'})
        status, body, _ = c.post(self.a2, content_type='application/json; charset=utf-8')
        self.assertEqual((status, body['chain'], body['sequence']), (201, 'ok', 2), body)
        # The same bytes again: 200, the same answer, nothing stored twice.
        for _ in range(3):
            status, body, _ = c.post(self.a1)
            self.assertEqual(status, 200)
            # (binding is decided on receipt of new bytes; a duplicate's answer leaves it out)
            self.assertEqual(body, {'sha256': sha(self.a1), 'vmId': vm, 'sequence': 1, 'chain': 'first'})

        store = c.store
        for env, st in ((self.a1, st1), (self.a2, st2)):
            digest = sha(env)
            obj = os.path.join(store, 'objects', digest[:2], digest + '.json')
            with open(obj, 'rb') as f:
                self.assertEqual(f.read(), env)
            link = os.path.join(store, 'vm', vm, '%s-%06d-%s.json' % (compact(st['predicate']['observedAt']),
                                                                     st['predicate']['sequence'], digest))
            self.assertEqual(os.stat(link).st_ino, os.stat(obj).st_ino, 'vm entry is not a hard link')
            self.assertEqual(stat.S_IMODE(os.stat(obj).st_mode), 0o644)
        self.assertEqual(len(self.objects(store)), 2)
        self.assertEqual(self.temp_files(store), [])
        lines = self.index(store)
        self.assertEqual(len(lines), 2)
        key_id = st1['predicate']['signer']['keyId']
        self.assertEqual(lines[0], {
            'sha256': sha(self.a1), 'vmId': vm, 'keyId': key_id, 'sequence': 1, 'previous': None,
            'observedAt': st1['predicate']['observedAt'], 'verdict': 'compliant',
            'receivedAt': lines[0]['receivedAt'], 'chain': 'first', 'bytes': len(self.a1)})
        self.assertEqual((lines[1]['previous'], lines[1]['chain'], lines[1]['sequence']), (sha(self.a1), 'ok', 2))
        self.assertRegex(lines[1]['receivedAt'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        # What hostenc verify says about the stored objects.
        p = hostenc('verify', '--imds-trust', self.trust, os.path.join(store, 'vm', vm))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # An auditor points hostenc audit at the store: each envelope counted once
        # (objects/, not the per-VM links or the summaries), the freshest one per VM.
        p = hostenc('audit', '--imds-trust', self.trust, '--output', 'json', store)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual((report['summary']['envelopes'], report['summary']['nodes'],
                          report['summary']['compliant'], report['summary']['invalidFiles']), (2, 1, 1, 0))
        self.assertEqual(report['nodes'][0]['sequence'], 2)
        # hostenc verify on the store itself (a plain DIR or file:DIR) reads every
        # object under objects/ and holds its bytes against the digest it is
        # stored under: a file planted under another digest is ListingMismatch.
        copy = os.path.join(self.tmp, 'store-copy-%d' % os.getpid())
        shutil.copytree(store, copy)
        self.addCleanup(shutil.rmtree, copy, True)
        for arg in (store, 'file:' + store):
            p = hostenc('verify', '--imds-trust', self.trust, '--output', 'json', arg)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(sorted((os.path.basename(r['file']), r['reason'])
                                    for r in json.loads(p.stdout)['results']),
                             sorted((sha(e) + '.json', 'Valid') for e in (self.a1, self.a2)))
        os.makedirs(os.path.join(copy, 'objects', 'ff'), exist_ok=True)
        with open(os.path.join(copy, 'objects', 'ff', 'f' * 64 + '.json'), 'wb') as f:
            f.write(self.a1)
        p = hostenc('verify', '--imds-trust', self.trust, '--output', 'json', 'file:' + copy)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        got = {os.path.basename(r['file']): r['reason'] for r in json.loads(p.stdout)['results']}
        self.assertEqual(got, {sha(self.a1) + '.json': 'Valid', sha(self.a2) + '.json': 'Valid',
                               'f' * 64 + '.json': 'ListingMismatch'})

        text, m = c.metrics()
        self.lint(text)
        self.assertEqual(m['hostenc_collect_envelopes_accepted_total'], 2)
        self.assertEqual(m['hostenc_collect_envelopes_duplicate_total'], 3)
        self.assertEqual(m['hostenc_collect_envelopes_received_total'], 5)
        self.assertEqual(m['hostenc_collect_chain_total{status="first"}'], 1)
        self.assertEqual(m['hostenc_collect_chain_total{status="ok"}'], 1)
        self.assertEqual(m['hostenc_collect_store_envelopes'], 2)
        self.assertEqual(m['hostenc_collect_store_bytes'], len(self.a1) + len(self.a2))
        self.assertEqual(m['hostenc_collect_responses_total{code="201"}'], 2)
        self.assertEqual(m['hostenc_collect_responses_total{code="200"}'], 3)
        self.assertEqual(c.get('/livez')[0], 200)
        self.assertEqual(c.get('/readyz')[0], 200)
        accepted = [l for l in c.lines() if l['msg'] == 'envelope accepted']
        self.assertEqual([(l['sequence'], l['chain']) for l in accepted], [('1', 'first'), ('2', 'ok')])
        self.assertEqual(c.stop(), 0)
        self.assertLess(c.stop_seconds, 8)
        self.assertEqual(c.lines()[-1]['msg'], 'stopped')

    # --- rejections --------------------------------------------------------------------

    def test_invalid_envelopes_rejected_with_reason(self):
        c = self.collector()
        env = json.loads(self.a1)
        payload = bytearray(base64.b64decode(env['payload']))
        at = payload.index(b'"observedAt":"') + len(b'"observedAt":"') + 3
        payload[at] ^= 0x01
        flipped = json.dumps(dict(env, payload=base64.b64encode(bytes(payload)).decode())).encode()
        swapped = statement(self.a1)
        swapped['predicate']['imdsAttestedDocument'] = statement(self.b1)['predicate']['imdsAttestedDocument']
        cases = [
            (flipped, 'SignatureInvalid'),
            (self.resign(swapped), 'BindingNonceMismatch'),
            (b'this is not json', 'EnvelopeMalformed'),
            (json.dumps(dict(env, payloadType='text/plain')).encode(), 'PayloadTypeMismatch'),
        ]
        for body, reason in cases:
            status, answer, _ = c.post(body)
            self.assertEqual(status, 422, answer)
            self.assertEqual(answer['reason'], reason, answer)
            self.assertTrue(answer['detail'])
        self.assertEqual(self.index(c.store), [])
        self.assertEqual(self.objects(c.store), [])
        text, m = c.metrics()
        self.lint(text)
        # docs/collector.md lists exactly the metrics served, with their types.
        self.assertEqual(documented_metric_types('collector.md'), served_metric_types(text))
        for _, reason in cases:
            self.assertEqual(m['hostenc_collect_envelopes_rejected_total{reason="%s"}' % reason], 1)
        self.assertEqual(m['hostenc_collect_responses_total{code="422"}'], len(cases))
        rejected = [l for l in c.lines() if l['msg'] == 'envelope rejected']
        self.assertEqual([l['reason'] for l in rejected], [r for _, r in cases])
        self.assertEqual(rejected[0]['peer'], '127.0.0.1')

        # Stale under --max-age: a second collector that wants fresher evidence.
        time.sleep(max(0, self.made_at + 2.2 - time.time()))
        strict = self.collector('--max-age', '1s', name='strict')
        status, answer, _ = strict.post(self.b1)
        self.assertEqual((status, answer['reason']), (422, 'EnvelopeStale'), answer)
        self.assertEqual(self.index(strict.store), [])

    def test_authentication(self):
        c = self.collector()
        status, body, headers = c.post(self.a1, token=None)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get('WWW-Authenticate'), 'Bearer')
        self.assertEqual(c.post(self.a1, token='wrong')[0], 401)
        self.assertEqual(c.post(self.a1, token=TOKEN + 'x')[0], 401)
        self.assertEqual(c.post(self.a1, token='')[0], 401)
        self.assertEqual(self.index(c.store), [])
        # The token file is read for every request: rotation needs no restart.
        rotated = os.path.join(self.tmp, 'token-rotating')
        shutil.copy(self.token, rotated)
        c2 = Collector(self.tmp, tempfile.mkdtemp(prefix='store-', dir=self.tmp), '--imds-trust', self.trust,
                       token_file=rotated, name='rotating').start()
        self.addCleanup(c2.stop)
        self.assertEqual(c2.post(self.a1)[0], 201)
        with open(rotated, 'w') as f:
            f.write('  second-token\n')
        self.assertEqual(c2.post(self.a2)[0], 401)
        self.assertEqual(c2.post(self.a2, token='second-token')[0], 201)
        # A token file that disappears: the collector cannot tell who is who.
        os.unlink(rotated)
        self.assertEqual(c2.post(self.b1, token='second-token')[0], 503)
        self.assertEqual(c2.get('/readyz')[0], 503)
        with open(rotated, 'w') as f:
            f.write('third\n')
        self.assertEqual(c2.get('/readyz')[0], 200)
        # Nothing secret in the logs.
        with open(c2.log) as f:
            logs = f.read()
        for secret in (TOKEN, 'second-token', 'third'):
            self.assertNotIn(secret, logs)
        _, m = c2.metrics()
        self.assertEqual(m['hostenc_collect_responses_total{code="401"}'], 1)
        self.assertEqual(m['hostenc_collect_responses_total{code="503"}'], 1)

    def test_limits_methods_and_paths(self):
        c = self.collector()
        big = b'{"payload":"' + b'A' * (4 * 1024 * 1024) + b'"}'
        status, body, _ = c.post(big)
        self.assertEqual(status, 413, body)
        # Chunked, so the size is only known while reading.
        status, body, _ = c.post(iter([big[i:i + 65536] for i in range(0, len(big), 65536)]), chunked=True)
        self.assertEqual(status, 413, body)
        # A client that waits for "100 Continue" (curl, libcurl) is answered before it sends the body.
        big_file = os.path.join(self.tmp, 'big.json')
        with open(big_file, 'wb') as f:
            f.write(big * 3)
        p = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}',
                            '-H', 'Authorization: Bearer ' + TOKEN, '-H', 'Content-Type: ' + DSSE_JSON,
                            '-H', 'Expect: 100-continue', '--data-binary', '@' + big_file, c.url + '/v1/evidence'],
                           capture_output=True, text=True, timeout=30)
        code, uploaded = p.stdout.split()
        self.assertEqual(code, '413', p.stderr)
        self.assertLess(int(uploaded), len(big), 'the body was sent although the answer was known')
        # Unauthenticated: 401 before the size matters, and before the body is read.
        p = subprocess.run(['curl', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_upload}',
                            '-H', 'Content-Type: ' + DSSE_JSON, '-H', 'Expect: 100-continue',
                            '--data-binary', '@' + big_file, c.url + '/v1/evidence'],
                           capture_output=True, text=True, timeout=30)
        code, uploaded = p.stdout.split()
        self.assertEqual(code, '401', p.stderr)
        self.assertLess(int(uploaded), len(big))
        self.assertEqual(c.post(self.a1, content_type='text/plain')[0], 415)
        self.assertEqual(c.post(self.a1, content_type=None)[0], 415)
        status, headers, _ = request(c.url + '/v1/evidence', 'GET')
        self.assertEqual((status, headers.get('Allow')), (405, 'POST'))
        self.assertEqual(request(c.url + '/v1/evidence', 'PUT', self.a1)[0], 405)
        self.assertEqual(c.post(self.a1, path='/v2/evidence')[0], 404)
        self.assertEqual(c.get('/nope')[0], 404)
        self.assertEqual(request(c.url + '/metrics', 'POST', b'x')[0], 405)
        self.assertEqual(self.index(c.store), [])
        _, m = c.metrics()
        self.assertEqual(m['hostenc_collect_responses_total{code="413"}'], 3)
        self.assertEqual(m['hostenc_collect_responses_total{code="415"}'], 2)
        self.assertEqual(m['hostenc_collect_responses_total{code="405"}'], 2)
        # A smaller cap.
        small = self.collector('--max-body', '2048', name='small')
        self.assertEqual(small.post(self.a1)[0], 413)
        # The collector is still fine after all that.
        self.assertEqual(c.post(self.a1)[0], 201)

    # --- chains -------------------------------------------------------------------------

    def test_gap_replay_and_restart(self):
        c = self.collector()
        e1 = self.a1                                    # sequence 1, real
        e2 = self.with_seq(self.a1, 2, sha(e1))         # continues
        e4 = self.with_seq(self.a1, 4, sha(e2))         # 3 is missing
        e3 = self.with_seq(self.a1, 3, sha(e2))         # arrives late: not after the head
        e5 = self.with_seq(self.a1, 5, '0' * 64)        # the right number, the wrong previous
        e2b = self.with_seq(self.a1, 2, sha(e1) + '')   # same numbers, other bytes (re-signed)
        self.assertNotEqual(e2, e2b)
        expect = [(e1, 'first'), (e2, 'ok'), (e4, 'gap'), (e3, 'replay'), (e5, 'gap'), (e2b, 'replay')]
        for env, chain in expect:
            status, body, _ = c.post(env)
            self.assertEqual((status, body['chain']), (201, chain), body)
        self.assertEqual([(l['sequence'], l['chain']) for l in self.index(c.store)],
                         [(1, 'first'), (2, 'ok'), (4, 'gap'), (3, 'replay'), (5, 'gap'), (2, 'replay')])
        # Another key has its own chain.
        status, body, _ = c.post(self.b1)
        self.assertEqual(body['chain'], 'first')
        _, m = c.metrics()
        self.assertEqual(m['hostenc_collect_chain_total{status="gap"}'], 2)
        self.assertEqual(m['hostenc_collect_chain_total{status="replay"}'], 2)
        self.assertEqual(m['hostenc_collect_keys'], 2)
        warnings = [l for l in c.lines() if l['msg'] == 'envelope accepted' and l['level'] == 'warning']
        self.assertEqual([l['chain'] for l in warnings], ['gap', 'replay', 'gap', 'replay'])

        # Restart: the state comes back from the index.
        self.assertEqual(c.stop(), 0)
        c2 = self.collector(store=c.store, name='restarted')
        status, body, _ = c2.post(e4)
        self.assertEqual((status, body['chain'], body['sequence']), (200, 'gap', 4))
        status, body, _ = c2.post(e1)
        self.assertEqual((status, body['chain']), (200, 'first'))
        e6 = self.with_seq(self.a1, 6, sha(e5))
        status, body, _ = c2.post(e6)
        self.assertEqual((status, body['chain']), (201, 'ok'), body)
        status, body, _ = c2.post(self.with_seq(self.a1, 5, sha(e4)))
        self.assertEqual((status, body['chain']), (201, 'replay'))
        b2 = self.with_seq(self.b1, 2, sha(self.b1), key='b')
        self.assertEqual(c2.post(b2)[1]['chain'], 'ok')
        self.assertEqual(len(self.index(c2.store)), 10)
        self.assertEqual(len(self.objects(c2.store)), 10)
        _, m = c2.metrics()
        self.assertEqual(m['hostenc_collect_store_envelopes'], 10)
        self.assertEqual(m['hostenc_collect_envelopes_duplicate_total'], 2)

    def test_crash_leftovers_are_cleaned_at_start(self):
        c = self.collector()
        self.assertEqual(c.post(self.a1)[0], 201)
        self.assertEqual(c.stop(), 0)
        # What a crash can leave: a torn index line (never acknowledged), a
        # temporary file, and an object whose index line never got written.
        with open(os.path.join(c.store, 'index.jsonl'), 'ab') as f:
            f.write(b'{"sha256":"abc')
        d = sha(self.a2)
        os.makedirs(os.path.join(c.store, 'objects', d[:2]), exist_ok=True)
        with open(os.path.join(c.store, 'objects', d[:2], d + '.json.tmp.Ab12Cd'), 'wb') as f:
            f.write(self.a2[:100])
        with open(os.path.join(c.store, 'objects', d[:2], d + '.json'), 'wb') as f:
            f.write(self.a2)
        c2 = self.collector(store=c.store, name='after-crash')
        self.assertEqual(self.temp_files(c.store), [])
        with open(os.path.join(c.store, 'index.jsonl'), 'rb') as f:
            self.assertTrue(f.read().endswith(b'}\n'))
        self.assertEqual(len(self.index(c.store)), 1)
        # The unacknowledged object is taken in properly when the agent sends it again.
        status, body, _ = c2.post(self.a2)
        self.assertEqual((status, body['chain']), (201, 'ok'))
        self.assertEqual(len(self.index(c.store)), 2)
        # One collector per store.
        p = hostenc('collect', '--listen', '127.0.0.1:0', '--store', c.store, '--token-file', self.token)
        self.assertEqual(p.returncode, 78)
        self.assertIn('in use by another collector', p.stderr)
        # A corrupt line in the middle is not guessed around.
        self.assertEqual(c2.stop(), 0)
        with open(os.path.join(c.store, 'index.jsonl'), 'r+b') as f:
            f.write(b'X')
        p = hostenc('collect', '--listen', '127.0.0.1:0', '--store', c.store, '--token-file', self.token)
        self.assertEqual(p.returncode, 78)
        self.assertIn('index.jsonl line 1', p.stderr)

    def signed_run(self, n, key='a'):
        """n distinct envelopes of one key, chained, re-signed from a real one."""
        base = statement(self.a1 if key == 'a' else self.b1)
        envs, previous = [], None
        for seq in range(1, n + 1):
            base['predicate']['sequence'] = seq
            if previous:
                base['predicate']['previous'] = {'sha256': previous}
            else:
                base['predicate'].pop('previous', None)
            envs.append(self.resign(base, key))
            previous = sha(envs[-1])
        return envs

    def push_until_killed(self, c, envs, sig):
        """Pushes from 16 threads; sends sig to the collector mid-way; returns
        the digests it acknowledged (200/201) and the other outcomes."""
        acked, others, lock = set(), [], threading.Lock()

        def push(env):
            try:
                status, body, _ = c.post(env, timeout=30)
            except (OSError, http.client.HTTPException) as e:
                status, body = type(e).__name__, None
            with lock:
                if status in (200, 201):
                    acked.add(body['sha256'])
                else:
                    others.append(status)

        def killer():
            while len(acked) < len(envs) // 4:
                time.sleep(0.01)
            c.proc.send_signal(sig)
        t = threading.Thread(target=killer)
        t.start()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(push, envs))
        t.join()
        c.proc.wait(timeout=15)
        return acked, others

    def test_nothing_acknowledged_is_lost(self):
        """SIGKILL in the middle of a burst, then SIGTERM in the middle of
        another: every envelope answered 200/201 is in the index after the
        restart, exactly once; the agents' retries fill in the rest."""
        envs = self.signed_run(600)
        c = self.collector()
        acked, others = self.push_until_killed(c, envs, signal.SIGKILL)
        self.assertEqual(c.proc.returncode, -signal.SIGKILL)
        self.assertTrue(others, 'the collector was killed after everything was answered')
        c2 = self.collector(store=c.store, name='after-kill')
        self.assertEqual(self.temp_files(c.store), [])
        indexed = [l['sha256'] for l in self.index(c.store)]
        self.assertEqual(len(indexed), len(set(indexed)))
        self.assertLessEqual(acked, set(indexed), 'an acknowledged envelope was lost')
        # SIGTERM: stops accepting, answers what it staged, exits 0.
        acked2, others2 = self.push_until_killed(c2, envs, signal.SIGTERM)
        self.assertEqual(c2.proc.returncode, 0, c2.stderr())
        self.assertTrue(set(o for o in others2) <= {503, 'ConnectionRefusedError', 'ConnectionResetError',
                                                    'RemoteDisconnected', 'BrokenPipeError'}, others2)
        c3 = self.collector(store=c.store, name='after-term')
        indexed = [l['sha256'] for l in self.index(c.store)]
        self.assertLessEqual(acked | acked2, set(indexed))
        # The retries: all of them are there, once.
        for env in envs:
            self.assertIn(c3.post(env)[0], (200, 201))
        indexed = [l['sha256'] for l in self.index(c.store)]
        self.assertEqual(sorted(indexed), sorted(sha(e) for e in envs))
        self.assertEqual(len(self.objects(c.store)), len(envs))

    # --- summaries ------------------------------------------------------------------------

    def test_verification_summaries(self):
        c = self.collector('--summary-key', self.keys['summary'][0])
        for env in (self.a1, self.a2):
            self.assertEqual(c.post(env)[0], 201)
        self.assertEqual(c.post(self.a1)[0], 200)
        pub = self.keys['summary'][1].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        pub_path = os.path.join(self.tmp, 'summary.pub.pem')
        with open(pub_path, 'wb') as f:
            f.write(pub)
        names = sorted(os.listdir(os.path.join(c.store, 'summaries')))
        self.assertEqual(names, sorted([sha(self.a1) + '.json', sha(self.a2) + '.json']))
        for env in (self.a1, self.a2):
            digest = sha(env)
            path = os.path.join(c.store, 'summaries', digest + '.json')
            with open(path, 'rb') as f:
                raw = f.read()
            self.assertTrue(raw.endswith(b'}\n'))
            summary = json.loads(raw)
            self.assertEqual(summary['payloadType'], PAYLOAD_TYPE)
            payload = base64.b64decode(summary['payload'])
            sig = base64.b64decode(summary['signatures'][0]['sig'])
            # openssl over the PAE, as docs/evidence.md shows for the node's envelopes.
            for name, data in (('sum.pae', pae(PAYLOAD_TYPE, payload)), ('sum.sig', sig)):
                with open(os.path.join(self.tmp, name), 'wb') as f:
                    f.write(data)
            p = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', pub_path, '-signature',
                                os.path.join(self.tmp, 'sum.sig'), os.path.join(self.tmp, 'sum.pae')],
                               capture_output=True, text=True)
            self.assertEqual(p.stdout.strip(), 'Verified OK', p.stderr)
            p = hostenc('verify', '--pubkey', pub_path, '--output', 'json', path)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(json.loads(p.stdout)['results'][0]['reason'], 'ValidSignatureOnly')
            st = json.loads(payload)
            vm = statement(env)['subject'][0]['name'].split(':', 1)[1]
            self.assertEqual(st['_type'], 'https://in-toto.io/Statement/v1')
            self.assertEqual(st['predicateType'], VSA)
            self.assertEqual(st['subject'], [{'name': 'azure-vmid:' + vm,
                                              'digest': {'sha256': sha(vm.encode())}}])
            pred = st['predicate']
            check_vsa_v1(self, pred)
            self.assertEqual(pred['verifier']['id'], 'https://hostenc.dev/verifier/collect/v1')
            self.assertRegex(pred['timeVerified'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
            self.assertEqual(pred['resourceUri'], 'azure-vmid:' + vm)
            self.assertEqual(pred['policy']['uri'], 'https://hostenc.dev/policy/evidence-appraisal/v1')
            # The policy digest names the description the collector wrote into the store.
            policy_path = os.path.join(c.store, 'policies', pred['policy']['digest']['sha256'] + '.json')
            with open(policy_path, 'rb') as f:
                self.assertEqual(sha(f.read()), pred['policy']['digest']['sha256'])
            self.assertEqual(pred['inputAttestations'], [{'digest': {'sha256': digest}}])
            self.assertEqual(pred['verificationResult'], 'PASSED')
            self.assertEqual(pred['verifiedLevels'], ['HOSTENC_EVIDENCE_VALID'])
            self.assertEqual(pred['slsaVersion'], '1.0')
            self.assertEqual(pred[BINDING_FIELD], {'state': 'unchecked', 'node': ''})
        # sigstore-js verifies both summaries with the collector's key.
        paths = [os.path.join(c.store, 'summaries', sha(env) + '.json') for env in (self.a1, self.a2)]
        rc, res = sigstore_verify(pub_path, *paths)
        self.assertEqual((rc, res), (0, {p: 'ok' for p in paths}))
        _, m = c.metrics()
        self.assertEqual(m['hostenc_collect_summaries_total'], 2)
        # A summary key anyone may read is refused, as the agent's --key is.
        loose = os.path.join(self.tmp, 'loose.key')
        shutil.copy(self.keys['summary'][0], loose)
        os.chmod(loose, 0o644)
        p = hostenc('collect', '--listen', '127.0.0.1:0', '--store', os.path.join(self.tmp, 'never'),
                    '--token-file', self.token, '--summary-key', loose)
        self.assertEqual(p.returncode, 78)
        self.assertIn('--summary-key %s: readable by group or other' % loose, p.stderr)

    def summary_of(self, c, env):
        with open(os.path.join(c.store, 'summaries', sha(env) + '.json'), 'rb') as f:
            return json.loads(base64.b64decode(json.load(f)['payload']))['predicate']

    def write_nodes(self, path, nodes):
        items = [{'metadata': {'name': name}, 'spec': {'providerID': pid} if pid else {},
                  'status': {'nodeInfo': {'systemUUID': su}}} for name, su, pid in nodes]
        with open(path + '.tmp', 'w') as f:
            json.dump({'apiVersion': 'v1', 'kind': 'List', 'items': items}, f)
        os.replace(path + '.tmp', path)

    def test_summaries_bind_by_identity(self):
        nodes = os.path.join(self.tmp, 'bind-nodes.json')
        arm = os.path.join(self.tmp, 'bind-arm.json')
        pid = ('azure:///subscriptions/%s/resourcegroups/mc_rg_cluster_eastus/providers/Microsoft.Compute/'
               'virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0' % SUB)
        # The Node carries the vmId byte-swapped and upper case, as a Gen1 VM reports it.
        self.write_nodes(nodes, [(NODE, swapped(VM).upper(), pid), ('aks-other-1', str(uuid.uuid4()), None)])
        with open(arm, 'w') as f:
            json.dump([{'vmId': VM, 'id': pid.replace('azure://', '').upper(),
                        'securityProfile': {'encryptionAtHost': True}}], f)
        c = self.collector('--summary-key', self.keys['summary'][0], '--nodes', nodes, '--arm', arm)
        status, body, _ = c.post(self.a1)
        self.assertEqual((status, body['binding']), (201, 'bound'))
        pred = self.summary_of(c, self.a1)
        check_vsa_v1(self, pred)
        self.assertEqual((pred['verificationResult'], pred['verifiedLevels']),
                         ('PASSED', ['HOSTENC_EVIDENCE_VALID', 'HOSTENC_NODE_BOUND']))
        self.assertEqual(pred[BINDING_FIELD], {'state': 'bound', 'node': NODE})
        first_policy = pred['policy']['digest']['sha256']
        # A genuine envelope of this VM, re-signed by its own key, claiming another Node's name.
        st = statement(self.a1)
        st['predicate']['node']['name'] = 'aks-other-1'
        renamed = self.resign(st)
        status, body, _ = c.post(renamed)
        self.assertEqual((status, body['binding']), (201, 'misattributed'))
        pred = self.summary_of(c, renamed)
        check_vsa_v1(self, pred)
        self.assertEqual((pred['verificationResult'], pred['verifiedLevels']), ('FAILED', ['FAILED']))
        self.assertEqual(pred[BINDING_FIELD]['state'], 'misattributed')
        self.assertIn('claims node "aks-other-1"', pred[BINDING_FIELD]['detail'])
        accepted = [l for l in c.lines() if l['msg'] == 'envelope accepted']
        self.assertEqual((accepted[-1]['level'], accepted[-1]['binding'], accepted[-1]['node']),
                         ('warning', 'misattributed', NODE))       # the Node its identity names
        # The node list changes: this VM is no longer in it, and its name now
        # belongs to another VM. Re-read without a restart; a new policy digest.
        self.write_nodes(nodes, [(NODE, str(uuid.uuid4()), None)])
        st['predicate']['node']['name'] = NODE
        st['predicate']['sequence'] += 1
        claims_node = self.resign(st)
        status, body, _ = c.post(claims_node)
        self.assertEqual((status, body['binding']), (201, 'misattributed'))
        pred = self.summary_of(c, claims_node)
        self.assertEqual(pred['verificationResult'], 'FAILED')
        self.assertNotEqual(pred['policy']['digest']['sha256'], first_policy)
        # Neither the cluster nor ARM knows the VM: foreign.
        with open(arm, 'w') as f:
            json.dump([{'vmId': str(uuid.uuid4()), 'id': '/subscriptions/%s/x' % SUB}], f)
        st['predicate']['node']['name'] = 'aks-elsewhere-0'
        st['predicate']['sequence'] += 1
        elsewhere = self.resign(st)
        status, body, _ = c.post(elsewhere)
        self.assertEqual((status, body['binding']), (201, 'foreign'))
        pred = self.summary_of(c, elsewhere)
        check_vsa_v1(self, pred)
        self.assertEqual(pred['verificationResult'], 'FAILED')
        self.assertIn('in neither the cluster nor the ARM export', pred[BINDING_FIELD]['detail'])

    def test_policy_digest_follows_the_policy(self):
        digests = set()
        for args in ((), ('--max-age', '1h'), ('--metadata-domain', 'metadata.azure.com', '--metadata-domain', 'metadata.azure.us')):
            c = self.collector('--summary-key', self.keys['summary'][0], *args)
            self.assertEqual(c.post(self.b1)[0], 201)
            pred = self.summary_of(c, self.b1)
            digests.add(pred['policy']['digest']['sha256'])
            with open(os.path.join(c.store, 'policies', pred['policy']['digest']['sha256'] + '.json')) as f:
                policy = json.load(f)
            self.assertEqual([ch['id'] for ch in policy['checks']][:2], ['encryption-at-host', 'attested-identity'])
            self.assertEqual(policy['checks'][0]['severity'], 'fail')
        self.assertEqual(len(digests), 3)
        # The same policy again: the same digest (the description is deterministic).
        c = self.collector('--summary-key', self.keys['summary'][0], '--max-age', '1h')
        self.assertEqual(c.post(self.b1)[0], 201)
        self.assertIn(self.summary_of(c, self.b1)['policy']['digest']['sha256'], digests)
        # An unreadable node list stops the collector at start, naming it.
        p = hostenc('collect', '--listen', '127.0.0.1:0', '--store', os.path.join(self.tmp, 'never2'),
                    '--token-file', self.token, '--nodes', os.path.join(self.tmp, 'no-such-nodes.json'))
        self.assertEqual(p.returncode, 78)
        self.assertIn('no-such-nodes.json', p.stderr)

    # --- the agent pushing ------------------------------------------------------------------

    def run_agent(self, push_url, *extra):
        work = tempfile.mkdtemp(prefix='agent-', dir=self.tmp)
        evidence, spool = os.path.join(work, 'evidence'), os.path.join(work, 'spool')
        os.makedirs(evidence)
        os.makedirs(spool)
        proc = subprocess.Popen(
            [HOSTENC, 'run', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
             '--imds-trust', self.imds.trust, '--imds-timeout', '3', '--kube-api', 'none',
             '--node-name', 'aks-nodepool1-12345678-vmss000003', '--interval', '2s', '--start-delay', '0s',
             '--jitter-percent', '0', '--metrics-listen', '', '--evidence-dir', evidence,
             '--push-url', push_url, '--push-token-file', self.token, '--spool-dir', spool] + list(extra),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

        def stop():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)
            proc.stderr.close()
        self.addCleanup(stop)
        return proc, evidence, spool, stop

    def wait_index(self, store, n, proc, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.index(store)
            if len(lines) >= n:
                return lines
            if proc.poll() is not None:
                self.fail('hostenc run exited %s: %s' % (proc.returncode, proc.stderr.read()))
            time.sleep(0.2)
        self.fail('collector got %d of %d envelopes' % (len(self.index(store)), n))

    def test_hostenc_run_pushes_to_collector(self):
        c = self.collector()
        proc, evidence, spool, stop = self.run_agent(c.url + '/v1/evidence')
        lines = self.wait_index(c.store, 3, proc)
        stop()
        self.assertEqual([(l['sequence'], l['chain']) for l in lines[:3]], [(1, 'first'), (2, 'ok'), (3, 'ok')])
        self.assertEqual(lines[1]['previous'], lines[0]['sha256'])
        # The collector stored the very bytes the agent wrote to its evidence directory.
        local = {}
        for name in os.listdir(evidence):
            if name.startswith('hostenc-'):
                with open(os.path.join(evidence, name), 'rb') as f:
                    local[sha(f.read())] = name
        for l in lines:
            self.assertIn(l['sha256'], local)
        self.assertEqual([n for n in os.listdir(spool) if n.endswith('.json')], [])

    # --- TLS --------------------------------------------------------------------------------

    def test_tls(self):
        cert, key = os.path.join(self.tmp, 'tls.crt'), os.path.join(self.tmp, 'tls.key')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=hostenc-collect-test',
                        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], check=True, capture_output=True)
        os.chmod(key, 0o600)
        c = self.collector('--tls-cert', cert, '--tls-key', key, scheme='https')
        self.assertTrue(c.url.startswith('https://127.0.0.1:'))
        # curl, verifying the server against the self-signed certificate.
        p = subprocess.run(['curl', '-sS', '--cacert', cert, '-o', '-', '-w', '\n%{http_code}',
                            '-H', 'Authorization: Bearer ' + TOKEN, '-H', 'Content-Type: ' + DSSE_JSON,
                            '--data-binary', '@' + os.path.join(self.tmp, 'chain-b.json'),
                            c.url + '/v1/evidence'], capture_output=True, text=True, timeout=30)
        body, code = p.stdout.rsplit('\n', 1)
        self.assertEqual(code, '201', p.stdout + p.stderr)
        self.assertEqual(json.loads(body)['sha256'], sha(self.b1))
        # Python's ssl, TLS 1.3, also verifying.
        ctx = ssl.create_default_context(cafile=cert)
        status, body, _ = c.post(self.b1, context=ctx)
        self.assertEqual((status, body['chain']), (200, 'first'))
        ctx12 = ssl.create_default_context(cafile=cert)
        ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
        self.assertEqual(c.post(self.b1, context=ctx12)[0], 200)
        ctx11 = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx11.check_hostname = False
        ctx11.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ctx11.minimum_version = ctx11.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises((ssl.SSLError, OSError)):
            c.post(self.b1, context=ctx11)
        # The collector refuses plain HTTP on its TLS port.
        with self.assertRaises((http.client.HTTPException, OSError)):
            request(c.url.replace('https://', 'http://') + '/livez', 'GET', timeout=5)
        self.assertEqual(c.get('/livez', context=ctx)[0], 200)
        # The agent pushing over HTTPS with --push-ca-file.
        proc, evidence, spool, stop = self.run_agent(c.url + '/v1/evidence', '--push-ca-file', cert)
        lines = self.wait_index(c.store, 3, proc)
        stop()
        self.assertEqual([l['chain'] for l in lines[1:3]], ['first', 'ok'])
        # A TLS key anyone may read is refused.
        os.chmod(key, 0o640)
        p = hostenc('collect', '--listen', '127.0.0.1:0', '--store', os.path.join(self.tmp, 'never'),
                    '--token-file', self.token, '--tls-cert', cert, '--tls-key', key)
        self.assertEqual(p.returncode, 78)
        self.assertIn('--tls-key %s: readable by group or other' % key, p.stderr)

    def test_command_line_refusals(self):
        store = os.path.join(self.tmp, 'never')
        cases = [
            (['--listen', '0.0.0.0:0', '--token-file', self.token], 'plain HTTP on a non-loopback address'),
            (['--listen', '[::]:0', '--token-file', self.token], 'plain HTTP on a non-loopback address'),
            (['--listen', '127.0.0.1:0'], 'no authentication'),
            (['--listen', '0.0.0.0:0', '--insecure-listen', '--no-auth'], 'loopback addresses only'),
            (['--listen', '127.0.0.1:0', '--no-auth', '--token-file', self.token], 'contradict'),
            (['--listen', '127.0.0.1:0', '--token-file', self.token, '--client-ca', self.trust],
             'mutual TLS is not supported'),
            (['--listen', '127.0.0.1:0', '--token-file', self.token, '--tls-cert', self.trust], 'go together'),
            (['--listen', 'localhost', '--token-file', self.token], 'invalid value'),
            (['--listen', '127.0.0.1:0', '--token-file', self.token, '--max-body', '99999999'], '--max-body'),
            (['--listen', '127.0.0.1:0', '--token-file', self.token, '--max-age', 'soon'], '--max-age'),
        ]
        for args, message in cases:
            p = hostenc('collect', '--store', store, *args)
            self.assertEqual(p.returncode, 64, (args, p.stderr))
            self.assertIn(message, p.stderr)
            self.assertEqual(p.stderr.count('\n'), 1, p.stderr)
        p = hostenc('collect', '--store', store, '--listen', '127.0.0.1:0', '--token-file',
                    os.path.join(self.tmp, 'missing-token'))
        self.assertEqual(p.returncode, 78)
        self.assertFalse(os.path.exists(store))
        p = hostenc('collect', '--help')
        self.assertEqual(p.returncode, 0)
        self.assertIn('--summary-key', p.stdout)
        p = hostenc('--help')
        self.assertIn('collect', p.stdout)

    # --- burst -----------------------------------------------------------------------------------

    def test_burst(self):
        """5,000 distinct envelopes (one agent's statement, re-signed with its
        key at distinct sequence numbers) and 500 duplicates mixed in, from 32
        threads with a fresh connection each: every distinct envelope stored
        exactly once, no 5xx."""
        t0 = time.monotonic()
        envs = self.signed_run(BURST_DISTINCT)
        prepare_s = time.monotonic() - t0
        rng = random.Random(7)
        sends = envs + [rng.choice(envs) for _ in range(BURST_DUPLICATES)]
        rng.shuffle(sends)
        # 32 threads stand for 32 agents, but all come from 127.0.0.1.
        c = self.collector('--per-ip-connections', '64')
        results = []
        lock = threading.Lock()

        def push(env):
            for attempt in range(5):
                try:
                    status, body, _ = c.post(env, timeout=60)
                    break
                except (ConnectionError, http.client.HTTPException) as e:  # counted, retried like an agent
                    status, body = 'error: %s' % e, None
                    time.sleep(0.1 * (attempt + 1))
            with lock:
                results.append((sha(env), status, body))

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(BURST_THREADS) as pool:
            list(pool.map(push, sends))
        burst_s = time.monotonic() - t0
        by_status = {}
        for _, status, _ in results:
            by_status[status] = by_status.get(status, 0) + 1
        self.assertEqual(by_status, {201: BURST_DISTINCT, 200: BURST_DUPLICATES}, by_status)
        created = [d for d, status, _ in results if status == 201]
        self.assertEqual(len(set(created)), BURST_DISTINCT, 'an envelope was stored twice')
        for d, status, body in results:
            self.assertEqual(body['sha256'], d)
        lines = self.index(c.store)
        self.assertEqual(len(lines), BURST_DISTINCT)
        self.assertEqual({l['sha256'] for l in lines}, {sha(e) for e in envs})
        self.assertEqual(len(self.objects(c.store)), BURST_DISTINCT)
        vm_dirs = os.listdir(os.path.join(c.store, 'vm'))
        self.assertEqual(len(vm_dirs), 1)
        self.assertEqual(len(os.listdir(os.path.join(c.store, 'vm', vm_dirs[0]))), BURST_DISTINCT)
        self.assertEqual(self.temp_files(c.store), [])
        chains = {}
        for l in lines:
            chains[l['chain']] = chains.get(l['chain'], 0) + 1
        self.assertEqual(chains.get('first'), 1)
        self.assertEqual(sum(chains.values()), BURST_DISTINCT)
        _, m = c.metrics()
        self.assertEqual(m['hostenc_collect_envelopes_accepted_total'], BURST_DISTINCT)
        self.assertEqual(m['hostenc_collect_envelopes_duplicate_total'], BURST_DUPLICATES)
        self.assertEqual(m.get('hostenc_collect_responses_total{code="500"}', 0), 0)
        self.assertEqual(m['hostenc_collect_store_errors_total'], 0)
        ingest_ms = 1000 * m['hostenc_collect_ingest_duration_seconds_sum'] / \
            m['hostenc_collect_ingest_duration_seconds_count']
        commits = m['hostenc_collect_commits_total']
        commit_ms = 1000 * m['hostenc_collect_commit_duration_seconds_sum'] / commits
        sys.stderr.write('\nburst: %d requests (%d distinct, %d duplicates) from %d threads in %.1f s = %.0f '
                         'requests/s; verify+stage mean %.2f ms; %d group commits, mean %.1f ms, %.1f envelopes '
                         'each; chains %s; preparing took %.1f s\n'
                         % (len(sends), BURST_DISTINCT, BURST_DUPLICATES, BURST_THREADS, burst_s,
                            len(sends) / burst_s, ingest_ms, commits, commit_ms, BURST_DISTINCT / commits,
                            chains, prepare_s))
        # And the whole burst survives a restart.
        self.assertEqual(c.stop(), 0)
        c2 = self.collector(store=c.store, name='after-burst')
        _, m = c2.metrics()
        self.assertEqual(m['hostenc_collect_store_envelopes'], BURST_DISTINCT)
        self.assertEqual(c2.post(envs[-1])[0], 200)


if __name__ == '__main__':
    unittest.main(verbosity=2)
