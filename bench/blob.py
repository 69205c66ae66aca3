#!/usr/bin/python3
"""The collector's Azure Blob store against Azurite, side by side with the
local store in the same run (BENCHMARKS.md, "Blob store").

    bench/blob.py [--build-dir build] [--envelopes 500] [--entries 2000] [--vms 20]

1. Ingest: N distinct valid envelopes (one real envelope from `hostenc
   check` against the fake IMDS, re-signed with sequence 1..N) POSTed by 16
   threads to `hostenc collect --store file:DIR`, then to `--store
   azblob://` on Azurite: envelopes/s each.
2. Audit of those stores: `hostenc audit DIR` (reads every envelope) and
   `hostenc audit azblob://...` (reads each VM's newest): seconds, max RSS.
3. Audit at scale: a container whose vm/ listing holds --entries entries
   over --vms VMs (each entry names one of the stored envelopes; written
   directly, as a fleet's collectors would leave it), audited through a
   counting proxy: seconds, max RSS, List and Get requests.

Needs the build (hostenc, fake-imds, host roots), Azurite in tests/blob
(scripts/install-deps.sh) and Debian's python3-cryptography."""

import argparse
import base64
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--envelopes', type=int, default=500)
    ap.add_argument('--entries', type=int, default=2000)
    ap.add_argument('--vms', type=int, default=20)
    return ap.parse_args()


ARGS = parse()
B = os.path.abspath(ARGS.build_dir)
os.environ.setdefault('HOSTENC', os.path.join(B, 'hostenc'))
os.environ.setdefault('FAKE_IMDS', os.path.join(B, 'tests', 'fake-imds', 'fake-imds'))
os.environ.setdefault('HOSTROOTS', os.path.join(B, 'tests', 'hostroots'))
os.environ.setdefault('IMDS_FIXTURES', os.path.join(ROOT, 'tests', 'data', 'imds'))
sys.path[:0] = [os.path.join(ROOT, 'tests', 'integration'), os.path.join(ROOT, 'tests', 'blob')]

import blobenv  # noqa: E402
import test_collect as tc  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from harness import HOSTENC, HOSTROOTS, FakeImds, hostenc, low_s  # noqa: E402


def timed_child(argv, env):
    """(seconds, max RSS in MiB, returncode) of one child."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, ru.ru_maxrss / 1024, p.returncode


def make_envelopes(tmp, n):
    imds = FakeImds('d4sv5.json').__enter__()
    key_path = os.path.join(tmp, 'a.key')
    subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out',
                    key_path], check=True, capture_output=True)
    os.chmod(key_path, 0o600)
    out = os.path.join(tmp, 'base.json')
    p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                '--imds-trust', imds.trust, '--imds-timeout', '5', '--key', key_path, '--attestation', out,
                '--node-name', 'aks-nodepool1-12345678-vmss000000')
    assert p.returncode == 0, p.stderr
    trust = os.path.join(tmp, 'trust.pem')
    with open(imds.trust, 'rb') as f, open(trust, 'wb') as g:
        g.write(f.read())
    with open(key_path, 'rb') as f:
        key = serialization.load_pem_private_key(f.read(), None)
    with open(out, 'rb') as f:
        base = tc.statement(f.read())
    envs, prev = [], None
    for seq in range(1, n + 1):
        base['predicate']['sequence'] = seq
        if prev:
            base['predicate']['previous'] = {'sha256': prev}
        else:
            base['predicate'].pop('previous', None)
        payload = json.dumps(base, separators=(',', ':')).encode()
        sig = low_s(key.sign(tc.pae(tc.PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256())))
        env = json.dumps({'payloadType': tc.PAYLOAD_TYPE, 'payload': base64.b64encode(payload).decode(),
                          'signatures': [{'keyid': '', 'sig': base64.b64encode(sig).decode()}]}).encode() + b'\n'
        envs.append(env)
        prev = tc.sha(env)
    imds.__exit__(None, None, None)
    return envs, trust


def ingest(tmp, store, envs, trust, env):
    token = os.path.join(tmp, 'token')
    with open(token, 'w') as f:
        f.write(tc.TOKEN + '\n')
    # 16 senders share 127.0.0.1: above the default 16 connections per address.
    c = tc.Collector(tmp, store, '--imds-trust', trust, '--per-ip-connections', '64', token_file=token)
    old = dict(os.environ)
    os.environ.update(env)
    try:
        c.start()
    finally:
        os.environ.clear()
        os.environ.update(old)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda e: c.post(e)[0], envs))
    dt = time.monotonic() - t0
    c.stop()
    assert codes.count(201) == len(envs), {x: codes.count(x) for x in set(codes)}
    return len(envs) / dt


def populate(port, container, envs, entries, vms):
    """Objects for the envelopes, and `entries` vm/ entries over `vms` VMs."""
    blobenv.shared_key_request(port, 'PUT', '/' + container, {'restype': 'container'})
    names = []
    for e in envs:
        s = tc.sha(e)
        names.append(('objects/%s/%s.json' % (s[:2], s), e))
    per_vm = max(1, entries // vms)
    for v in range(vms):
        vm = '00000000-0000-4000-8000-%012d' % v
        for i in range(per_vm):
            s = tc.sha(envs[(v * per_vm + i) % len(envs)])
            names.append(('vm/%s/20261204T%06dZ-%06d-%s.json' % (vm, i, i + 1, s), b''))
    def put(item):
        name, body = item
        status = None
        for _ in range(5):
            try:
                status, _, _ = blobenv.shared_key_request(port, 'PUT', '/%s/%s' % (container, name), body=body,
                                                          headers={'Content-Type': 'application/octet-stream',
                                                                   'x-ms-blob-type': 'BlockBlob'}, timeout=120)
            except OSError as e:
                status = type(e).__name__
            if status in (201, 409):
                return
        raise RuntimeError('PUT %s: %s' % (name, status))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, names))
    return per_vm * vms


def main():
    tmp = tempfile.mkdtemp(prefix='hostenc-bench-blob-')
    envs, trust = make_envelopes(tmp, ARGS.envelopes)
    key_env = {'AZURE_STORAGE_KEY': blobenv.KEY}
    rows = []
    # In memory: the figure is the collector's and audit's, not Azurite's disk persistence.
    with blobenv.Azurite(in_memory=True) as az:
        store_dir = os.path.join(tmp, 'store')
        file_rate = ingest(tmp, 'file:' + store_dir, envs, trust, {})
        url = az.url('bench')
        blob_rate = ingest(tmp, url, envs, trust, key_env)
        rows.append(('ingest, envelopes/s (16 senders)', '%.0f' % file_rate, '%.0f' % blob_rate))
        env = dict(os.environ, **key_env)
        a_file = timed_child([HOSTENC, 'audit', '--imds-trust', trust, '--max-age', '1000d', store_dir], env)
        a_blob = timed_child([HOSTENC, 'audit', '--imds-trust', trust, '--max-age', '1000d', url], env)
        rows.append(('audit of those %d envelopes, s (max RSS MiB)' % len(envs),
                     '%.2f (%.0f), reads all' % a_file[:2], '%.2f (%.0f), reads the newest' % a_blob[:2]))
        t0 = time.monotonic()
        n = populate(az.port, 'fleet', envs, ARGS.entries, ARGS.vms)
        fill = time.monotonic() - t0
        with blobenv.FaultProxy(az.port) as proxy:
            a_big = timed_child([HOSTENC, 'audit', '--imds-trust', trust, '--max-age', '1000d',
                                 az.url('fleet', proxy.endpoint)], env)
            lists = sum('comp=list' in s for s in proxy.seen)
            gets = sum(s.startswith('GET') and '/objects/' in s for s in proxy.seen)
    print('| Blob store (Azurite, this machine) | file:DIR | azblob:// |')
    print('|---|---|---|')
    for r in rows:
        print('| %s | %s | %s |' % r)
    print()
    print('audit azblob:// over %d vm/ entries of %d VMs (filled in %.0f s): %.2f s, max RSS %.0f MiB, '
          '%d List Blobs pages, %d envelope GETs (exit %d)' % (n, ARGS.vms, fill, a_big[0], a_big[1], lists, gets,
                                                                a_big[2]))
    # Invariants (the smoke run in the bench suite fails on these, never on timing):
    # the audit reads one envelope per VM and one List page per 2,000 entries.
    bad = []
    if a_big[2] not in (0, 1) or a_file[2] not in (0, 1) or a_blob[2] not in (0, 1):
        bad.append('an audit failed: exits %d %d %d' % (a_file[2], a_blob[2], a_big[2]))
    if gets != ARGS.vms:
        bad.append('audit fetched %d envelopes for %d VMs' % (gets, ARGS.vms))
    if lists != (n + 1999) // 2000:
        bad.append('audit listed %d pages for %d entries' % (lists, n))
    if bad:
        sys.exit('bench/blob.py: ' + '; '.join(bad))


if __name__ == '__main__':
    main()
