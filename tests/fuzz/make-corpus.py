#!/usr/bin/env python3
"""Regenerates the seed corpora in tests/fuzz/corpus/<target>/ (checked in;
run this only to refresh them). Seeds are copies of real inputs: the IMDS
fixtures, the Microsoft-signed attested documents and DSSE vectors from
tests/data/vectors (copied, never edited), the fixture host roots that
tests/fixtures/mkhostroot.py builds, and envelopes that `hostenc check`
signs against one fake IMDS run, whose test-PKI root becomes
tests/fuzz/dsse-fake-imds-trust.pem. Crash reproducers (crash-*) are kept.

usage: tests/fuzz/make-corpus.py BUILD_DIR    (e.g. build)
"""

import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(SRC, 'tests', 'data', 'vectors')
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build'))
HOSTENC = os.path.join(BUILD, 'hostenc')
FAKE_IMDS = os.path.join(BUILD, 'tests', 'fake-imds', 'fake-imds')
HOSTROOTS = os.path.join(BUILD, 'tests', 'hostroots')
FIXTURES = os.path.join(SRC, 'tests', 'data', 'imds')
CORPUS = os.path.join(HERE, 'corpus')


def reset(target):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        if not n.startswith('crash-'):
            os.unlink(os.path.join(d, n))
    return d


def put(d, name, data):
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def unique(d, prefix, data):
    put(d, '%s-%s' % (prefix, hashlib.sha256(data).hexdigest()[:12]), data)


def attested_body(b64):
    return json.dumps({'encoding': 'pkcs7', 'signature': ''.join(b64.split())})


def main():
    d = reset('imds-compute')
    for p in sorted(glob.glob(os.path.join(FIXTURES, '*.json'))):
        shutil.copy(p, os.path.join(d, os.path.basename(p)))

    d = reset('attested')
    for p in sorted(glob.glob(os.path.join(SHARED, 'imds', 'attested', '*'))):
        raw = open(p).read()
        name = os.path.basename(p).rsplit('.', 1)[0]
        if p.endswith('.json'):
            b64 = json.loads(raw)[0]['document']
        elif '-----BEGIN PKCS7-----' in raw:
            b64 = raw.split('-----BEGIN PKCS7-----')[1].split('-----END')[0]
        else:
            b64 = raw
        put(d, name + '.json', attested_body(b64))

    d = reset('mountinfo')
    for p in sorted(glob.glob(os.path.join(HOSTROOTS, '*', 'proc', '1', 'mountinfo'))):
        unique(d, 'mountinfo', open(p, 'rb').read())

    d = reset('udevdb')
    for p in sorted(glob.glob(os.path.join(HOSTROOTS, '*', 'run', 'udev', 'data', '*'))):
        unique(d, 'udev', open(p, 'rb').read())

    d = reset('sysfs')
    seeds = {
        'parse-size': b'\x00268435456\n', 'parse-devnum': b'\x008:16\n', 'parse-duration': b'\x0010m',
        'parse-hex': b'\x00' + b'ab' * 32, 'parse-guid': b'\x00f8b3781a-1e82-4818-a1c3-63d806ec15bb',
        'attr-model': b'\x01\x30Virtual Disk    \n', 'attr-long': b'\x01\x05' + b'9' * 40,
        'attr-empty': b'\x01\x10', 'resolve-up': b'\x02tree/up/etc/passwd',
        'resolve-abs': b'\x02tree/abs/b/back/b/file', 'resolve-escape': b'\x02tree/escape',
        'resolve-loop': b'\x02tree/loop/x', 'resolve-chain': b'\x02tree/chain1',
        'host-unchanged': b'\x03', 'host-size-garbage': b'\x03x1y|',
        'host-size-zero': b'\x030\n|', 'host-dev-missing': b'\x03268435456\n|-|',
        'host-model': b'\x03268435456\n|8:0\n|Virtual Disk 2\n|Msft\n|1024\n|{f8b3781a-1e82-4818-a1c3-63d806ec15bb}\n',
        'host-guid': b'\x03|||||{00000000-0000-8899-0000-000000000000}',
    }
    for name, data in seeds.items():
        put(d, name, data)

    d = reset('config')
    put(d, 'empty', '{}')
    put(d, 'daemon-test', json.dumps({'heartbeat': '3s', 'evidenceKeep': 3}))
    put(d, 'numbers', json.dumps({'interval': '5m', 'evidenceKeep': 3, 'kubeApi': 'none', 'jitterPercent': 50}))
    p = subprocess.run([HOSTENC, 'run', '--print-config', '--node-name', 'aks-nodepool1-12345678-vmss000000',
                        '--push-url', 'https://collector.example/v1/evidence', '--spool-dir', '/var/spool/hostenc'],
                       capture_output=True, text=True, check=True)
    put(d, 'print-config', p.stdout)

    d = reset('kube-node')
    sys.path.insert(0, os.path.join(SRC, 'tests', 'fakes'))
    import fake_kube
    node = fake_kube.initial_node('aks-nodepool1-12345678-vmss000000', fake_kube.DEFAULT_PROVIDER_ID)
    put(d, 'node-fresh', json.dumps(node))
    for status, reason in (('False', 'EncryptionAtHostEnabled'), ('True', 'EncryptionAtHostDisabled'),
                           ('Unknown', 'EvidenceStale')):
        node['status']['conditions'].append({
            'type': 'EncryptionAtHostNonCompliant', 'status': status, 'reason': reason, 'message': 'm',
            'lastHeartbeatTime': '2026-11-27T20:00:00Z', 'lastTransitionTime': '2026-11-27T19:00:00Z'})
        put(d, 'node-%s' % status.lower(), json.dumps(node))
        node['status']['conditions'].pop()

    d = reset('dsse')
    for p in sorted(glob.glob(os.path.join(SHARED, 'dsse', '*', '*.json'))):
        if 'envelope' in os.path.basename(p) or 'negative' in os.path.basename(p) or 'keyid' in os.path.basename(p):
            put(d, 'shared-' + os.path.basename(p), open(p, 'rb').read())
    envelopes(d)


def envelopes(d):
    tmp = tempfile.mkdtemp(prefix='hostenc-corpus-')
    compute = os.path.join(tmp, 'compute.json')
    shutil.copy(os.path.join(FIXTURES, 'd4sv5.json'), compute)
    proc = subprocess.Popen([FAKE_IMDS, '--compute', compute, '--trust-out', os.path.join(tmp, 'trust.pem'),
                             '--port-file', os.path.join(tmp, 'port')], stdout=subprocess.DEVNULL)
    try:
        while not os.path.exists(os.path.join(tmp, 'port')):
            time.sleep(0.05)
        url = 'http://127.0.0.1:%s' % open(os.path.join(tmp, 'port')).read().strip()
        shutil.copy(os.path.join(tmp, 'trust.pem'), os.path.join(HERE, 'dsse-fake-imds-trust.pem'))
        key = os.path.join(tmp, 'k.pem')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-out', key], check=True, capture_output=True)
        os.chmod(key, 0o600)
        cases = [('d4sv5', 'd4sv5.json'), ('d4sv5', 'eah-off.json'), ('d4dsv6-nvme', 'd4dsv6-nvme.json'),
                 ('ds2v2-gen1', 'ds2v2-gen1.json'), ('ade', 'ade.json'), ('root-on-dm', 'd4sv5.json'),
                 ('lun-mismatch', 'd4sv5.json'), ('d4sv5', 'eah-missing.json')]
        out = os.path.join(tmp, 'env.json')
        for i, (root, comp) in enumerate(cases):
            shutil.copy(os.path.join(FIXTURES, comp), compute + '.tmp')
            os.replace(compute + '.tmp', compute)
            # The chain continues with the same key: sequence and previous.
            subprocess.run([HOSTENC, 'check', '--host-root', os.path.join(HOSTROOTS, root), '--imds-url', url,
                            '--imds-trust', os.path.join(tmp, 'trust.pem'), '--imds-timeout', '5',
                            '--key', key, '--attestation', out, '--node-name', 'aks-nodepool1-12345678-vmss000000',
                            '--provider-id', 'azure:///subscriptions/0/resourceGroups/mc/providers/'
                            'Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1/virtualMachines/%d' % i],
                           capture_output=True)
            put(d, 'hostenc-%s-%s' % (root, comp), open(out, 'rb').read())
        # The attested document the fake signed, as a seed for that target too.
        with urllib.request.urlopen(urllib.request.Request(
                url + '/metadata/attested/document?api-version=2023-07-01&nonce=0123456789abcdef0123456789abcdef',
                headers={'Metadata': 'true'})) as r:
            put(os.path.join(CORPUS, 'attested'), 'fake-imds.json', r.read())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        shutil.rmtree(tmp)


if __name__ == '__main__':
    main()
