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
3. Audit at scale: a container whose vm/ listing holds --entries envelopes
   of --vms VMs, written directly as a fleet's collectors would leave it,
   audited through a counting proxy: seconds, max RSS, List and Get
   requests. Each VM is a real `hostenc check` (the fake IMDS playing that
   VM, its own key), and each entry names a genuine envelope of that VM:
   its own vmId, observedAt (one second apart), sequence and digest, so
   the audit's listing check holds. Only each VM's newest object is
   written: the audit never reads the others (the proxy's log shows it),
   and Azurite's in-memory metadata makes every write cost O(blobs).

Needs the build (hostenc, fake-imds, host roots), Azurite in tests/blob
(scripts/install-deps.sh) and Debian's python3-cryptography."""

import argparse
import base64
import calendar
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


# Forks and execs argv from a fresh, small interpreter and reports the
# child's max RSS: a child forked from this process (large once the fleet
# is signed) would carry this process's pages into its own high-water mark.
RSS_HELPER = """
import os, sys
fd = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(fd)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
os.write(fd, b'%d' % ru.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed_child(argv, env, stdout=subprocess.DEVNULL):
    """(seconds, max RSS in MiB, returncode) of one child."""
    r, w = os.pipe()
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, '-c', RSS_HELPER, str(w)] + argv, stdout=stdout,
                         stderr=subprocess.DEVNULL, env=env, pass_fds=(w,))
    os.close(w)
    p.wait()
    dt = time.monotonic() - t0
    with os.fdopen(r, 'rb') as f:
        rss = int(f.read() or b'0')
    return dt, rss / 1024, p.returncode


def floor(port, container, fleet):
    """Seconds for the same requests the audit makes, by a bare client: every
    vm/ List page and each VM's newest object, nothing verified."""
    t0 = time.monotonic()
    names = blobenv.list_blobs(port, container, 'vm/')
    for _, items in fleet:
        s = tc.sha(items[-1][1])
        blobenv.get_blob(port, container, 'objects/%s/%s.json' % (s[:2], s))
    return time.monotonic() - t0, len(names)


def keep_trust(imds, path):
    with open(imds.trust, 'rb') as f, open(path, 'wb') as g:
        g.write(f.read())
    return path


def vm_check(tmp, imds, key, node):
    """The statement of one `hostenc check` with key, against the fake IMDS."""
    key_path = os.path.join(tmp, 'vm.key')
    with open(key_path, 'wb') as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    out = os.path.join(tmp, 'vm.json')
    p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                '--imds-trust', imds.trust, '--imds-timeout', '5', '--key', key_path, '--attestation', out,
                '--node-name', node)
    assert p.returncode == 0, p.stderr
    with open(out, 'rb') as f:
        return tc.statement(f.read())


def chain(base, key, n, step_s):
    """n envelopes re-signed from base with sequence 1..n, each `previous`
    the one before and observedAt step_s seconds after it: [(time, seq, envelope)]."""
    t0 = calendar.timegm(time.strptime(base['predicate']['observedAt'], '%Y-%m-%dT%H:%M:%SZ'))
    out, prev = [], None
    for seq in range(1, n + 1):
        at = time.gmtime(t0 + (seq - 1) * step_s)
        base['predicate']['observedAt'] = time.strftime('%Y-%m-%dT%H:%M:%SZ', at)
        base['predicate']['sequence'] = seq
        if prev:
            base['predicate']['previous'] = {'sha256': prev}
        else:
            base['predicate'].pop('previous', None)
        payload = json.dumps(base, separators=(',', ':')).encode()
        sig = low_s(key.sign(tc.pae(tc.PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256())))
        env = json.dumps({'payloadType': tc.PAYLOAD_TYPE, 'payload': base64.b64encode(payload).decode(),
                          'signatures': [{'keyid': '', 'sig': base64.b64encode(sig).decode()}]}).encode() + b'\n'
        prev = tc.sha(env)
        out.append((time.strftime('%Y%m%dT%H%M%SZ', at), seq, env))
    return out


def make_envelopes(tmp, n):
    """n envelopes of one VM and one key, for the ingest figures."""
    with FakeImds('d4sv5.json') as imds:
        key = ec.generate_private_key(ec.SECP256R1())
        base = vm_check(tmp, imds, key, 'aks-nodepool1-12345678-vmss000000')
        return [env for _, _, env in chain(base, key, n, 0)], keep_trust(imds, os.path.join(tmp, 'trust.pem'))


def make_fleet(tmp, vms, per_vm):
    """[(vmId, [(vm/ entry, envelope)] oldest first)] for `vms` VMs: the
    fake IMDS plays each VM in turn (it reads its compute file anew)."""
    with open(os.path.join(ROOT, 'tests', 'data', 'imds', 'd4sv5.json')) as f:
        compute = json.load(f)
    compute_path = os.path.join(tmp, 'fleet-compute.json')
    with open(compute_path, 'w') as f:
        json.dump(compute, f)
    fleet = []
    with FakeImds(compute_path) as imds:
        for v in range(vms):
            vm = '%08x-0000-4000-8000-%012x' % (0xbe000000 + v, v)
            compute['vmId'] = vm
            with open(compute_path + '.new', 'w') as f:
                json.dump(compute, f)
            os.replace(compute_path + '.new', compute_path)
            key = ec.generate_private_key(ec.SECP256R1())
            base = vm_check(tmp, imds, key, 'aks-nodepool1-12345678-vmss%06d' % v)
            assert vm in json.dumps(base), 'the fake did not play ' + vm
            fleet.append((vm, [('vm/%s/%s-%06d-%s.json' % (vm, at, seq, tc.sha(env)), env)
                               for at, seq, env in chain(base, key, per_vm, 1)]))
        return fleet, keep_trust(imds, os.path.join(tmp, 'fleet-trust.pem'))


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


def populate(port, container, fleet):
    """Every VM's entries, and the object of each VM's newest envelope."""
    blobenv.shared_key_request(port, 'PUT', '/' + container, {'restype': 'container'})
    names = []
    for _, items in fleet:
        names += [(name, b'') for name, _ in items]
        env = items[-1][1]
        s = tc.sha(env)
        names.append(('objects/%s/%s.json' % (s[:2], s), env))
    done = []

    def put(item):
        name, body = item
        status = None
        for _ in range(5):
            try:
                status = blobenv.put_blob(port, container, name, body, timeout=120)
            except OSError as e:
                status = type(e).__name__
            if status in (201, 409):
                done.append(1)
                if len(done) % 10000 == 0:
                    print('populate: %d of %d' % (len(done), len(names)), file=sys.stderr, flush=True)
                return
        raise RuntimeError('PUT %s: %s' % (name, status))
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(put, names))
    return sum(len(items) for _, items in fleet)


def main():
    tmp = tempfile.mkdtemp(prefix='hostenc-bench-blob-')
    envs, trust = make_envelopes(tmp, ARGS.envelopes)
    per_vm = max(1, ARGS.entries // ARGS.vms)
    t0 = time.monotonic()
    fleet, fleet_trust = make_fleet(tmp, ARGS.vms, per_vm)
    made = time.monotonic() - t0
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
        n = populate(az.port, 'fleet', fleet)
        fill = time.monotonic() - t0
        report_path = os.path.join(tmp, 'fleet-audit.json')
        with blobenv.FaultProxy(az.port) as proxy, open(report_path, 'wb') as out:
            a_big = timed_child([HOSTENC, 'audit', '--output', 'json', '--imds-trust', fleet_trust, '--max-age',
                                 '1000d', az.url('fleet', proxy.endpoint)], env, stdout=out)
            lists = sum('comp=list' in s for s in proxy.seen)
            gets = [s for s in proxy.seen if s.startswith('GET') and '/objects/' in s]
        base = timed_child(['/bin/true'], env)
        direct = timed_child([HOSTENC, 'audit', '--output', 'json', '--imds-trust', fleet_trust, '--max-age',
                              '1000d', az.url('fleet')], env)
        bare, listed = floor(az.port, 'fleet', fleet)
    with open(report_path) as f:
        report = json.load(f)
    newest = {'/objects/%s/%s.json' % (tc.sha(items[-1][1])[:2], tc.sha(items[-1][1])) for _, items in fleet}
    print('| Blob store (Azurite, this machine) | file:DIR | azblob:// |')
    print('|---|---|---|')
    for r in rows:
        print('| %s | %s | %s |' % r)
    print()
    states = {}
    for node in report['nodes']:
        states[node['state']] = states.get(node['state'], 0) + 1
    print('audit azblob:// over %d envelopes of %d VMs in vm/ (%d checks and signatures in %.0f s; filled in %.0f s): '
          '%.2f s through the counting proxy, %.2f s direct; max RSS %.0f MiB (the measuring helper alone: %.0f MiB); '
          '%d List Blobs pages, %d envelope GETs, nodes %s (exit %d)'
          % (n, ARGS.vms, ARGS.vms, made, fill, a_big[0], direct[0], direct[1], base[1], lists, len(gets), states,
             a_big[2]))
    print('floor: the same %d List pages and %d GETs by a bare Python client, nothing verified: %.2f s; '
          'audit / floor = %.2f' % (lists, len(gets), bare, direct[0] / bare))
    # Invariants (the smoke run in the bench suite fails on these, never on timing):
    # the audit reads each VM's newest envelope and nothing else, one List
    # page per 2,000 entries, and finds every VM compliant at its newest sequence.
    bad = []
    if a_big[2] != 0 or direct[2] != 0 or a_file[2] not in (0, 1) or a_blob[2] not in (0, 1):
        bad.append('an audit failed: exits %d %d %d %d' % (a_file[2], a_blob[2], a_big[2], direct[2]))
    if listed != n:
        bad.append('the floor listed %d entries of %d' % (listed, n))
    if len(gets) != ARGS.vms or {g[g.index('/objects/'):] for g in gets} != newest:
        bad.append('audit fetched %d envelopes for %d VMs, or not the newest' % (len(gets), ARGS.vms))
    if report['invalidEnvelopes'] or sorted((n['sequence'], n['state']) for n in report['nodes']) != \
            [(per_vm, 'compliant')] * ARGS.vms:
        bad.append('audit did not find every VM compliant at sequence %d: %s' % (per_vm, states))
    if lists != (n + 1999) // 2000:
        bad.append('audit listed %d pages for %d entries' % (lists, n))
    if bad:
        sys.exit('bench/blob.py: ' + '; '.join(bad))


if __name__ == '__main__':
    main()
