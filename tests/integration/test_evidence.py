#!/usr/bin/python3
"""Integration tests for signed evidence: `hostenc check --attestation`
against the fake IMDS, `hostenc verify`, and two independent verifiers
(the openssl CLI and Debian's python3-cryptography). Runs with Debian's
/usr/bin/python3 for python3-cryptography and python3-jsonschema."""

import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

import jsonschema
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import FakeImds, HOSTROOTS, hostenc, low_s, sigstore_verify, validate_output

SCHEMA = json.load(open(os.environ['STATEMENT_SCHEMA']))
DSSE = os.environ['DSSE_TESTDATA']
PAYLOAD_TYPE = 'application/vnd.in-toto+json'


def pae(payload_type, payload):
    t = payload_type.encode()
    return b'DSSEv1 %d %s %d ' % (len(t), t, len(payload)) + payload


def load(path):
    with open(path) as f:
        env = json.load(f)
    return env, json.loads(base64.b64decode(env['payload']))


class Evidence(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='hostenc-ev-')
        cls.keys = {}
        for name in ('a', 'b'):
            path = os.path.join(cls.tmp, name + '.key')
            subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                            '-out', path], check=True, capture_output=True)
            os.chmod(path, 0o600)
            with open(path, 'rb') as f:
                cls.keys[name] = (path, serialization.load_pem_private_key(f.read(), None))
        cls.trust = os.path.join(cls.tmp, 'trust.pem')
        # One fake IMDS (one test PKI) for every envelope, so they can be mixed.
        cls.imds = FakeImds('d4sv5.json').__enter__()
        shutil.copy(cls.imds.trust, cls.trust)
        cls.imds_off = FakeImds('eah-off.json').__enter__()
        cls.trust_off = os.path.join(cls.tmp, 'trust-off.pem')
        shutil.copy(cls.imds_off.trust, cls.trust_off)

    @classmethod
    def tearDownClass(cls):
        cls.imds.__exit__(None, None, None)
        cls.imds_off.__exit__(None, None, None)
        shutil.rmtree(cls.tmp)

    def check(self, out, key='a', imds=None, hostroot='d4sv5', expect=0):
        imds = imds or self.imds
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, hostroot), '--imds-url', imds.url,
                    '--imds-trust', imds.trust, '--imds-timeout', '5', '--key', self.keys[key][0],
                    '--attestation', out, '--node-name', 'aks-nodepool1-12345678-vmss000000',
                    '--provider-id', 'azure:///subscriptions/3f2c6a1e/resourceGroups/mc/providers/'
                    'Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0')
        self.assertEqual(p.returncode, expect, p.stderr)
        return out

    def verify(self, *paths, trust=None, extra=()):
        p = hostenc('verify', '--imds-trust', trust or self.trust, '--output', 'json', *extra, *paths)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc['schema'], 'https://hostenc.dev/verify/v1')
        validate_output(doc)                            # docs/schemas/verify-v1.schema.json
        return p.returncode, doc['results']

    def reason(self, path, **kw):
        rc, results = self.verify(path, **kw)
        self.assertEqual(len(results), 1)
        self.assertEqual(rc, 0 if results[0]['valid'] else 1)
        return results[0]['reason']

    def resign(self, statement, key='a', payload_type=PAYLOAD_TYPE, name='resigned.json'):
        payload = json.dumps(statement, separators=(',', ':')).encode()
        sig = low_s(self.keys[key][1].sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256())))
        env = {'payloadType': payload_type, 'payload': base64.b64encode(payload).decode(),
               'signatures': [{'keyid': '', 'sig': base64.b64encode(sig).decode()}]}
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            json.dump(env, f)
        return path

    def path(self, name):
        return os.path.join(self.tmp, name)

    # --- the good path ------------------------------------------------------

    def test_envelope_verifies_with_hostenc_openssl_and_python(self):
        env_path = self.check(self.path('good.json'))
        rc, results = self.verify(env_path)
        self.assertEqual((rc, results[0]['reason'], results[0]['verdict']), (0, 'Valid', 'compliant'))
        env, st = load(env_path)
        jsonschema.Draft202012Validator(SCHEMA).validate(st)
        self.assertEqual(env['payloadType'], PAYLOAD_TYPE)
        self.assertEqual(st['predicate']['sequence'], 1)
        vm_id = st['predicate']['vm']['vmId'].lower()
        self.assertEqual(st['subject'][0]['name'], 'azure-vmid:' + vm_id)
        self.assertEqual(st['subject'][0]['digest']['sha256'], hashlib.sha256(vm_id.encode()).hexdigest())
        self.assertTrue(st['subject'][0]['uri'].startswith('azure:///subscriptions/'))
        # The statement names key a, in every form.
        pub = self.keys['a'][1].public_key()
        pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.assertEqual(st['predicate']['signer']['publicKey'], pem.decode())
        self.assertEqual(st['predicate']['signer']['spkiSha256'], hashlib.sha256(der).hexdigest())
        nonce = hashlib.sha256(b'hostenc/key-binding/v1' + der).hexdigest()[:32]
        self.assertEqual(st['predicate']['attested']['nonce'], nonce)
        payload = base64.b64decode(env['payload'])
        sig = base64.b64decode(env['signatures'][0]['sig'])
        # Independent verifier 1: python3-cryptography.
        pub.verify(sig, pae(env['payloadType'], payload), ec.ECDSA(hashes.SHA256()))
        # Independent verifier 2: the openssl CLI over the PAE bytes.
        for name, data in (('pub.pem', pem), ('sig.der', sig), ('pae.bin', pae(env['payloadType'], payload))):
            with open(self.path(name), 'wb') as f:
                f.write(data)
        p = subprocess.run(['openssl', 'dgst', '-sha256', '-verify', self.path('pub.pem'), '-signature',
                            self.path('sig.der'), self.path('pae.bin')], capture_output=True, text=True)
        self.assertEqual(p.stdout.strip(), 'Verified OK', p.stderr)
        # Independent verifier 3: sigstore-js (@sigstore/verify), on the envelope as written, and
        # on a copy whose payload lost one byte, and against another key.
        with open(env_path) as f:
            env_doc = json.load(f)
        env_doc['payload'] = base64.b64encode(payload[:-1]).decode()
        with open(self.path('truncated.json'), 'w') as f:
            json.dump(env_doc, f)
        rc, res = sigstore_verify(self.path('pub.pem'), env_path, self.path('truncated.json'))
        self.assertEqual((rc, res[env_path]), (1, 'ok'), res)
        self.assertIn('SIGNATURE_ERROR', res[self.path('truncated.json')])
        with open(self.path('pub-b.pem'), 'wb') as f:
            f.write(self.keys['b'][1].public_key().public_bytes(serialization.Encoding.PEM,
                                                                serialization.PublicFormat.SubjectPublicKeyInfo))
        rc, res = sigstore_verify(self.path('pub-b.pem'), env_path)
        self.assertEqual(rc, 1, res)
        self.assertIn('SIGNATURE_ERROR', res[env_path])
        # The envelope file is private to nobody but not world-writable, and complete.
        self.assertEqual(stat.S_IMODE(os.stat(env_path).st_mode), 0o644)
        self.assertFalse([n for n in os.listdir(self.tmp) if '.tmp.' in n])

    def test_sequence_and_previous_chain_per_key(self):
        first = self.check(self.path('chain.json'))
        with open(first, 'rb') as f:
            first_digest = hashlib.sha256(f.read()).hexdigest()
        self.check(self.path('chain.json'))
        _, st = load(self.path('chain.json'))
        self.assertEqual(st['predicate']['sequence'], 2)
        self.assertEqual(st['predicate']['previous']['sha256'], first_digest)
        self.assertEqual(self.reason(self.path('chain.json')), 'Valid')
        # Another key starts its own chain.
        self.check(self.path('chain.json'), key='b')
        _, st = load(self.path('chain.json'))
        self.assertEqual(st['predicate']['sequence'], 1)
        self.assertNotIn('previous', st['predicate'])

    def test_noncompliant_evidence_is_still_valid_evidence(self):
        path = self.check(self.path('off.json'), imds=self.imds_off, expect=1)
        rc, results = self.verify(path, trust=self.trust_off)
        self.assertEqual((rc, results[0]['verdict']), (0, 'noncompliant'))

    def test_policy_inputs_travel_with_the_evidence(self):
        path = self.path('tolerance.json')
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
                    '--imds-trust', self.imds.trust, '--resource-tolerance-mib', '5000', '--attestation', path)
        self.assertEqual(p.returncode, 0, p.stderr)
        _, st = load(path)
        self.assertEqual(st['predicate']['policy'], {'resourceToleranceMiB': 5000, 'dataDiskGraceSeconds': 0,
                                                      'dataDiskMismatchSince': None})
        self.assertEqual(self.reason(path), 'Valid')

    def test_directory_of_envelopes(self):
        d = self.path('archive')
        os.makedirs(d, exist_ok=True)
        src = self.check(self.path('one.json'))
        for i in range(40):
            shutil.copy(src, os.path.join(d, 'node-%02d.json' % i))
        with open(os.path.join(d, 'README.txt'), 'w') as f:
            f.write('not an envelope, not a .json file: skipped\n')
        rc, results = self.verify(d)
        self.assertEqual(rc, 0)
        self.assertEqual(len(results), 40)
        self.assertTrue(all(r['valid'] for r in results))

    # --- tampering: each rejected with its own reason ------------------------

    def flipped(self, env, offset, name):
        payload = bytearray(base64.b64decode(env['payload']))
        payload[offset] ^= 0x01
        path = self.path(name)
        with open(path, 'w') as f:
            json.dump(dict(env, payload=base64.b64encode(bytes(payload)).decode()), f)
        return path

    def test_payload_byte_flip(self):
        env, _ = load(self.check(self.path('flip.json')))
        payload = base64.b64decode(env['payload'])
        # A flip that keeps the statement well-formed: only the signature can catch it.
        at = payload.index(b'"observedAt":"') + len('"observedAt":"') + 3
        self.assertEqual(self.reason(self.flipped(env, at, 'flip-1.json')), 'SignatureInvalid')
        # A flip anywhere is rejected, whatever it breaks first.
        for offset in range(0, len(payload), max(1, len(payload) // 97)):
            rc, results = self.verify(self.flipped(env, offset, 'flip-n.json'))
            self.assertEqual(rc, 1, 'payload byte %d flipped and still valid' % offset)
            self.assertIn(results[0]['reason'], ('SignatureInvalid', 'SignerKeyMissing', 'EnvelopeMalformed'))

    def test_payload_type_changed(self):
        env, _ = load(self.check(self.path('ptype.json')))
        env['payloadType'] = 'application/vnd.in-toto.provenance+json'
        with open(self.path('ptype.json'), 'w') as f:
            json.dump(env, f)
        self.assertEqual(self.reason(self.path('ptype.json')), 'PayloadTypeMismatch')

    def test_swapped_attested_document(self):
        _, st_a = load(self.check(self.path('swap-a.json'), key='a'))
        _, st_b = load(self.check(self.path('swap-b.json'), key='b'))
        st_a['predicate']['imdsAttestedDocument'] = st_b['predicate']['imdsAttestedDocument']
        self.assertEqual(self.reason(self.resign(st_a)), 'BindingNonceMismatch')

    def test_vmid_mismatch(self):
        _, st = load(self.check(self.path('vm.json')))
        other = '00000000-dead-beef-0000-000000000000'
        st['subject'][0]['name'] = 'azure-vmid:' + other
        st['subject'][0]['digest']['sha256'] = hashlib.sha256(other.encode()).hexdigest()
        self.assertEqual(self.reason(self.resign(st)), 'SubjectMismatch')

    def test_stale_under_max_age(self):
        path = self.check(self.path('stale.json'))
        self.assertEqual(self.reason(path, extra=('--max-age', '1h')), 'Valid')
        time.sleep(2.2)
        self.assertEqual(self.reason(path, extra=('--max-age', '1s')), 'EnvelopeStale')

    def test_verdict_contradicts_facts(self):
        _, st = load(self.check(self.path('lie.json'), imds=self.imds_off, expect=1))
        st['predicate']['verdict'] = 'compliant'
        for c in st['predicate']['checks']:
            if c['id'] == 'encryption-at-host':
                c['status'], c['reason'] = 'pass', 'EncryptionAtHostEnabled'
        path = self.resign(st)
        rc, results = self.verify(path, trust=self.trust_off)
        self.assertEqual(results[0]['reason'], 'VerdictMismatch')
        self.assertIn('encryption-at-host', results[0]['detail'])
        # Changing a fact instead of the claim is caught the same way.
        _, st = load(self.check(self.path('lie2.json')))
        st['predicate']['vm']['encryptionAtHost'] = 'false'
        self.assertEqual(self.reason(self.resign(st)), 'VerdictMismatch')

    def test_signer_key_mismatch_with_pubkey(self):
        _, st = load(self.check(self.path('signer.json')))
        pub_b = self.keys['b'][1].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        st['predicate']['signer']['publicKey'] = pub_b
        path = self.resign(st, key='a')
        pub_a = self.path('a.pub.pem')
        with open(pub_a, 'wb') as f:
            f.write(self.keys['a'][1].public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        self.assertEqual(self.reason(path, extra=('--pubkey', pub_a)), 'SignerKeyMismatch')
        # Without --pubkey the statement's key (b) is tried, and it did not sign.
        self.assertEqual(self.reason(path), 'SignatureInvalid')

    def test_observed_outside_document_window(self):
        _, st = load(self.check(self.path('window.json')))
        st['predicate']['observedAt'] = '2020-01-01T00:00:00Z'
        self.assertEqual(self.reason(self.resign(st)), 'ObservedAtOutsideWindow')

    def test_untrusted_document_chain(self):
        path = self.check(self.path('untrusted.json'))
        rc, results = self.verify(path, trust=os.path.join(DSSE, '..', 'imds', 'ca',
                                                           'microsoft_rsa_root_certificate_authority_2017.pem'))
        self.assertEqual(results[0]['reason'], 'AttestedDocumentInvalid')

    # --- bad input: a clear per-file error, never a crash --------------------

    def test_bad_files(self):
        good = self.check(self.path('base.json'))
        env, _ = load(good)
        cases = {
            'not-json.json': (b'this is not json', 'EnvelopeMalformed'),
            'bad-b64.json': (json.dumps(dict(env, payload='@@@@')).encode(), 'EnvelopeMalformed'),
            'no-sigs.json': (json.dumps({k: v for k, v in env.items() if k != 'signatures'}).encode(),
                             'EnvelopeMalformed'),
            'wrong-type.json': (json.dumps(dict(env, signatures='x')).encode(), 'EnvelopeMalformed'),
            'huge.json': (b'{"payload":"' + b'A' * (5 << 20) + b'"}', 'EnvelopeTooLarge'),
            'payload-array.json': (json.dumps(dict(env, payload=base64.b64encode(b'[1,2]').decode())).encode(),
                                   'SignerKeyMissing'),
        }
        d = self.path('bad')
        os.makedirs(d, exist_ok=True)
        for name, (data, _) in cases.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(data)
        rc, results = self.verify(d, os.path.join(d, 'missing.json'))
        self.assertEqual(rc, 1)
        got = {os.path.basename(r['file']): r['reason'] for r in results}
        want = {name: reason for name, (_, reason) in cases.items()}
        want['missing.json'] = 'EnvelopeUnreadable'
        self.assertEqual(got, want)

    def test_statement_missing_field(self):
        _, st = load(self.check(self.path('field.json')))
        del st['predicate']['sequence']
        self.assertEqual(self.reason(self.resign(st)), 'StatementMalformed')
        _, st = load(self.path('field.json'))
        st['predicate']['disks'][0]['sizeBytes'] = 'big'
        self.assertEqual(self.reason(self.resign(st)), 'StatementMalformed')

    # --- keys and the written file ---------------------------------------------

    def test_key_file_permissions(self):
        loose = self.path('loose.key')
        shutil.copy(self.keys['a'][0], loose)
        os.chmod(loose, 0o644)
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', self.imds.url,
                    '--key', loose, '--attestation', self.path('never.json'))
        self.assertEqual(p.returncode, 78)
        self.assertEqual(p.stderr.strip(), 'hostenc: --key %s: readable by group or other (mode 0644); '
                                            'run chmod 600 on it' % loose)
        self.assertFalse(os.path.exists(self.path('never.json')))

    def test_no_identity_keeps_earlier_evidence(self):
        path = self.check(self.path('keep.json'))
        with open(path, 'rb') as f:
            before = f.read()
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', 'http://127.0.0.1:9',
                    '--imds-timeout', '1', '--key', self.keys['a'][0], '--attestation', path)
        self.assertEqual(p.returncode, 2)
        self.assertIn('not written: no VM identity', p.stderr)
        with open(path, 'rb') as f:
            self.assertEqual(f.read(), before)

    # --- the shared DSSE example -------------------------------------------------

    def test_intoto_example_with_pubkey(self):
        ex = os.path.join(DSSE, 'intoto-node-example')
        p = hostenc('verify', '--pubkey', os.path.join(ex, 'p256.pub.pem'), os.path.join(ex, 'envelope.p256.json'))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('valid signature only', p.stdout)
        for name, reason in (('negative.p256.raw-rs.json', 'SignatureInvalid'),
                             ('negative.p256.wrong-payloadtype.json', 'PayloadTypeMismatch')):
            p = hostenc('verify', '--pubkey', os.path.join(ex, 'p256.pub.pem'), os.path.join(ex, name))
            self.assertEqual(p.returncode, 1)
            self.assertIn('invalid: ' + reason, p.stdout)
        # Without --pubkey, a foreign statement carries no key we could trust.
        p = hostenc('verify', os.path.join(ex, 'envelope.p256.json'))
        self.assertEqual(p.returncode, 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
