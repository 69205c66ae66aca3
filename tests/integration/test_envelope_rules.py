#!/usr/bin/python3
"""The canonical form of an envelope (docs/SECURITY.md, issue 12): every
variant an adversary can make of a genuine envelope that other tools would
read differently is rejected, with its own reason, by `hostenc verify`,
`hostenc audit` and `hostenc collect` (HTTP push, and nothing stored).
Also the time rules (future within skew, far future, stale) and the
--metadata-domain option. The variants are made here from an envelope
`hostenc check` signs against the fake IMDS. Debian's python3-cryptography
verifies every envelope hostenc accepts, independently."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

from harness import HOSTROOTS, P256_N, FakeImds, hostenc, low_s
from test_collect import Collector

PAYLOAD_TYPE = 'application/vnd.in-toto+json'
N = P256_N


def pae(payload):
    t = PAYLOAD_TYPE.encode()
    return b'DSSEv1 %d %s %d ' % (len(t), t, len(payload)) + payload


def b64(data):
    return base64.b64encode(data).decode()


def rfc3339(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


class EnvelopeRules(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='hostenc-rules-')
        cls.keyfile = os.path.join(cls.tmp, 'a.key')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-out', cls.keyfile], check=True, capture_output=True)
        os.chmod(cls.keyfile, 0o600)
        with open(cls.keyfile, 'rb') as f:
            cls.key = serialization.load_pem_private_key(f.read(), None)
        cls.imds = FakeImds('d4sv5.json').__enter__()
        cls.genuine = os.path.join(cls.tmp, 'genuine.json')
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', cls.imds.url,
                    '--imds-trust', cls.imds.trust, '--imds-timeout', '5', '--key', cls.keyfile,
                    '--attestation', cls.genuine, '--node-name', 'aks-nodepool1-12345678-vmss000000')
        assert p.returncode == 0, p.stderr
        with open(cls.genuine, 'rb') as f:
            cls.text = f.read()
        cls.env = json.loads(cls.text)
        cls.payload = base64.b64decode(cls.env['payload'])
        cls.statement = json.loads(cls.payload)

    @classmethod
    def tearDownClass(cls):
        cls.imds.__exit__(None, None, None)
        shutil.rmtree(cls.tmp)

    # --- making envelopes ----------------------------------------------------

    def sign(self, payload):
        return low_s(self.key.sign(pae(payload), ec.ECDSA(hashes.SHA256())))

    def envelope(self, payload, sig=None):
        sig = self.sign(payload) if sig is None else sig
        return json.dumps({'payloadType': PAYLOAD_TYPE, 'payload': b64(payload),
                           'signatures': [{'keyid': '', 'sig': b64(sig)}]}).encode()

    def resigned(self, statement):
        return self.envelope(json.dumps(statement, separators=(',', ':')).encode())

    def variants(self):
        """name -> (envelope bytes, the reason each consumer must give)."""
        env, payload, st = self.env, self.payload, self.statement
        sig = base64.b64decode(env['signatures'][0]['sig'])
        r, s = decode_dss_signature(sig)
        self.assertLessEqual(s, N // 2, 'hostenc signs low-S')
        text = lambda e: json.dumps(e).encode()
        v = {}
        v['two-signatures'] = (text(dict(env, signatures=env['signatures'] * 2)), 'SignatureCountInvalid')
        v['high-s'] = (text(dict(env, signatures=[{'keyid': '', 'sig': b64(encode_dss_signature(r, N - s))}])),
                       'SignatureHighS')
        p64 = env['payload']
        # Five '?' hold one aligned 3-byte group whatever comes before: "Pz8/".
        q = json.loads(self.envelope(json.dumps(dict(st, comment='?????'), separators=(',', ':')).encode()))
        self.assertIn('/', q['payload'])
        v['b64-urlsafe'] = (text(dict(q, payload=q['payload'].replace('+', '-').replace('/', '_'))),
                            'Base64NonCanonical')
        v['b64-whitespace'] = (text(dict(env, payload=p64[:40] + '\n' + p64[40:])), 'Base64NonCanonical')
        # Unpadded: a payload whose length is not a multiple of 3 has padding to drop.
        padded = json.dumps(st, separators=(',', ':')).encode()
        padded += b' ' * ((3 - len(padded) % 3) % 3 + 1)
        e = json.loads(self.envelope(padded))
        self.assertTrue(e['payload'].endswith('='))
        v['b64-unpadded'] = (text(dict(e, payload=e['payload'].rstrip('='))), 'Base64NonCanonical')
        v['b64-sig-unpadded'] = (text(dict(env, signatures=[{'keyid': '', 'sig': env['signatures'][0]['sig']
                                                               .rstrip('=') + ('' if '=' in env['signatures'][0]['sig']
                                                                               else '=')}])),
                                 'Base64NonCanonical')
        # Duplicate members: cJSON reads the first, Python and jq the last.
        v['dup-envelope'] = (b'{"payloadType":"%s","payloadType":"text/plain",' % PAYLOAD_TYPE.encode() +
                             self.text.strip()[1:], 'DuplicateKey')
        st_text = json.dumps(st, separators=(',', ':')).encode()
        self.assertIn(b'"encryptionAtHost":"true"', st_text)
        deep = st_text.replace(b'"encryptionAtHost":"true"', b'"encryptionAtHost":"true","encryptionAtHost":"false"', 1)
        v['dup-deep'] = (self.envelope(deep), 'DuplicateKey')
        top = b'{"_type":"https://example.com/other/v1",' + st_text[1:]
        v['dup-statement'] = (self.envelope(top), 'DuplicateKey')
        # Trailing bytes after the JSON, outside and inside.
        v['trailing-envelope'] = (self.text.rstrip() + b'{}', 'TrailingData')
        v['trailing-statement'] = (self.envelope(st_text + b'{"predicate":{}}'), 'TrailingData')
        # \u0000: cJSON ends the string there, Python keeps the rest.
        nul = json.loads(json.dumps(st))
        nul['predicate']['node']['name'] += '\u0000-evil'
        v['nul-statement'] = (self.resigned(nul), 'NulCharacter')
        v['nul-envelope'] = (text(dict(env, signatures=[dict(env['signatures'][0], keyid='\u0000x')])), 'NulCharacter')
        two = json.loads(json.dumps(st))
        two['subject'].append(dict(two['subject'][0], name='azure-vmid:00000000-0000-0000-0000-000000000000'))
        v['two-subjects'] = (self.resigned(two), 'SubjectCountInvalid')
        return v

    def write(self, d, name, data):
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name + '.json')
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def verify_reasons(self, d, *extra):
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--output', 'json', *extra, d)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        return {os.path.basename(r['file'])[:-5]: r['reason'] for r in json.loads(p.stdout)['results']}

    def independent_verify(self, data):
        """python3-cryptography: DER ECDSA over the PAE with the statement's key."""
        env = json.loads(data)
        payload = base64.b64decode(env['payload'])
        pem = json.loads(payload)['predicate']['signer']['publicKey'].encode()
        key = serialization.load_pem_public_key(pem)
        for s in env['signatures']:
            key.verify(base64.b64decode(s['sig']), pae(payload), ec.ECDSA(hashes.SHA256()))

    # --- the rules -------------------------------------------------------------

    def test_every_variant_rejected_by_verify_audit_and_collect(self):
        variants = self.variants()
        d = os.path.join(self.tmp, 'variants')
        for name, (data, _) in variants.items():
            self.write(d, name, data)
        self.write(d, 'genuine', self.text)
        want = {name: reason for name, (_, reason) in variants.items()}
        want['genuine'] = 'Valid'
        self.assertEqual(self.verify_reasons(d), want)
        self.independent_verify(self.text)

        p = hostenc('audit', '--imds-trust', self.imds.trust, '--output', 'json', '--max-age', '1h', d)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        report = json.loads(p.stdout)
        got = {os.path.basename(e['file'])[:-5]: e['reason'] for e in report['invalidEnvelopes']}
        self.assertEqual(got, {n: r for n, r in want.items() if r != 'Valid'})
        self.assertEqual(report['summary']['nodes'], 1)

        store = os.path.join(self.tmp, 'store')
        c = Collector(self.tmp, store, '--no-auth', '--imds-trust', self.imds.trust).start()
        try:
            status, body, _ = c.post(self.text, token=None)
            self.assertIn(status, (200, 201), body)
            for name, (data, reason) in variants.items():
                status, body, _ = c.post(data, token=None)
                self.assertEqual((name, status, body['reason']), (name, 422, reason))
        finally:
            c.stop()
        objects = [f for _, _, files in os.walk(os.path.join(store, 'objects')) for f in files]
        self.assertEqual(len(objects), 1, 'only the genuine envelope is stored: %s' % objects)

    def test_time_rules(self):
        st = json.loads(json.dumps(self.statement))
        d = os.path.join(self.tmp, 'times')
        now = time.time()
        cases = {'ahead-within-skew': (now + 120, 'Valid'), 'far-ahead': (now + 3600, 'ObservedAtInFuture'),
                 'old': (now - 7200, None)}
        for name, (t, _) in cases.items():
            st['predicate']['observedAt'] = rfc3339(t)
            self.write(d, name, self.resigned(st))
        got = self.verify_reasons(d, '--max-age', '30m')
        self.assertEqual(got['ahead-within-skew'], 'Valid')
        self.assertEqual(got['far-ahead'], 'ObservedAtInFuture')
        # Before the fake's document was created: outside its window, or
        # (with the window stretched by nothing) stale; never valid.
        self.assertIn(got['old'], ('ObservedAtOutsideWindow', 'EnvelopeStale'))
        with open(os.path.join(d, 'ahead-within-skew.json'), 'rb') as f:
            self.independent_verify(f.read())
        # audit: a little ahead is fresh, not stale.
        p = hostenc('audit', '--imds-trust', self.imds.trust, '--output', 'json', '--max-age', '30m',
                    os.path.join(d, 'ahead-within-skew.json'))
        node = json.loads(p.stdout)['nodes'][0]
        self.assertNotIn('stale', json.dumps(node).lower(), node)

    def test_metadata_domain_shared_and_validated(self):
        for cmd in (['verify', self.genuine], ['audit', self.genuine], ['collect', '--listen', '127.0.0.1:0',
                                                                        '--store', self.tmp, '--no-auth'],
                    ['check'], ['run', '--print-config']):
            for bad in ('', 'Metadata.azure.com', 'metadata.azure.com.', 'a/b', '-x.azure.com', 'com',
                        'metadata..azure.com', 'x' * 64 + '.com'):
                p = hostenc(*cmd[:1], '--metadata-domain', bad, *cmd[1:])
                # run reports every configuration error as EX_CONFIG, from flag, file or environment.
                self.assertEqual(p.returncode, 78 if cmd[0] == 'run' else 64, (cmd, bad, p.stderr))
                self.assertIn('metadata-domain', p.stderr.lower().replace('metadatadomain', 'metadata-domain'))
        # The domain given is the one enforced: the fake's leaf is metadata.azure.com.
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--metadata-domain', 'metadata.azure.us',
                    '--output', 'json', self.genuine)
        self.assertEqual(json.loads(p.stdout)['results'][0]['reason'], 'AttestedDocumentInvalid')
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--metadata-domain', 'metadata.azure.us',
                    '--metadata-domain', 'metadata.azure.com', '--output', 'json', self.genuine)
        self.assertEqual(json.loads(p.stdout)['results'][0]['reason'], 'Valid')
        p = hostenc('audit', '--imds-trust', self.imds.trust, '--metadata-domain', 'metadata.azure.cn',
                    '--output', 'json', self.genuine)
        self.assertEqual(json.loads(p.stdout)['invalidEnvelopes'][0]['reason'], 'AttestedDocumentInvalid')

    def test_attested_lifetime_cap(self):
        # The fake's documents live exactly 6 h: inside the default cap, over a 1 h one.
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--output', 'json', self.genuine)
        self.assertEqual(json.loads(p.stdout)['results'][0]['reason'], 'Valid')
        p = hostenc('verify', '--imds-trust', self.imds.trust, '--attested-max-lifetime', '1h', '--output', 'json',
                    self.genuine)
        self.assertEqual(json.loads(p.stdout)['results'][0]['reason'], 'AttestedLifetimeTooLong')

    def test_text_output_escapes_control_characters(self):
        d = os.path.join(self.tmp, 'ctl')
        path = self.write(d, 'evil\x1b[2J\nline', b'not json')
        p = hostenc('verify', '--imds-trust', self.imds.trust, path)
        self.assertEqual(p.returncode, 1)
        self.assertNotIn('\x1b', p.stdout)
        self.assertEqual(len(p.stdout.splitlines()), 1, p.stdout)
        self.assertIn('\\x1b[2J\\x0aline', p.stdout)
        p = hostenc('audit', '--imds-trust', self.imds.trust, path)
        self.assertNotIn('\x1b', p.stdout)
        self.assertIn('\\x1b[2J\\x0aline', p.stdout)


if __name__ == '__main__':
    unittest.main(verbosity=2)
