#!/usr/bin/python3
"""Makes N distinct, valid hostenc envelopes for the verify benchmark.

    mkenvelopes.py BASE_ENVELOPE KEY_PEM OUT_DIR N

BASE_ENVELOPE is one envelope written by `hostenc check --key KEY_PEM
--attestation FILE` against the fake IMDS. Each copy is the same statement
with predicate.sequence set to 1..N (and predicate.previous dropped), signed
again with the same key as DSSE requires (tests/integration/test_evidence.py
resign() does the same), so every file is distinct, carries the same
attested document (the cache case `hostenc verify DIR` is built for) and
verifies. Needs Debian's python3-cryptography (/usr/bin/python3).
"""

import base64
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def pae(payload_type, payload):
    t = payload_type.encode()
    return b'DSSEv1 %d %s %d ' % (len(t), t, len(payload)) + payload


def make(base_path, key_path, out_dir, n):
    with open(base_path) as f:
        env = json.load(f)
    with open(key_path, 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    statement = json.loads(base64.b64decode(env['payload']))
    keyid = env['signatures'][0].get('keyid', '')
    os.makedirs(out_dir, exist_ok=True)
    width = len(str(n))
    for i in range(1, n + 1):
        statement['predicate']['sequence'] = i
        statement['predicate'].pop('previous', None)
        payload = json.dumps(statement, separators=(',', ':')).encode()
        r, s = decode_dss_signature(key.sign(pae(env['payloadType'], payload), ec.ECDSA(hashes.SHA256())))
        # hostenc accepts only the low-S form (docs/SECURITY.md, canonical form).
        sig = encode_dss_signature(r, min(s, P256_N - s))
        out = {'payloadType': env['payloadType'], 'payload': base64.b64encode(payload).decode(),
               'signatures': [{'keyid': keyid, 'sig': base64.b64encode(sig).decode()}]}
        with open(os.path.join(out_dir, 'env-%0*d.json' % (width, i)), 'w') as f:
            json.dump(out, f, separators=(',', ':'))


if __name__ == '__main__':
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    make(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
