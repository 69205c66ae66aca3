#!/usr/bin/env python3
"""Soak: `hostenc run` for CYCLES one-second cycles against the fake IMDS,
Kubernetes API and collector, with every sink on (Node, events, metrics
listener, textfile, evidence directory with retention, push spool), and
recurring disturbances: the collector goes down and comes back, encryption
at host flips (condition transitions, events), the configuration is
reloaded (SIGHUP). Samples the daemon's RSS (VmRSS) and open descriptors
every SAMPLE cycles and fails if either grew between the 10 % mark and the
end beyond a small slack.

usage: soak.py [CYCLES] [--csv FILE]      (environment as for the
integration tests: HOSTENC, FAKE_IMDS, HOSTROOTS, IMDS_FIXTURES; runs
longer than ~9 minutes need FAKE_IMDS_LONG, a fake IMDS without its
600-second lifetime)"""

import argparse
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
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))

import harness  # noqa: E402
from harness import HOSTENC, HOSTROOTS, IMDS_FIXTURES, FakeImds  # noqa: E402
from test_daemon import NODE, Fake, free_port  # noqa: E402

RSS_SLACK_KIB = 1024            # allocator noise: one MiB
FD_SLACK = 2                    # curl may keep one more connection alive


def sanitized(binary):
    """True for an ASan build: its quarantine holds freed memory back on
    purpose, so RSS grows and means nothing (LeakSanitizer checks leaks at
    exit instead)."""
    try:
        return 'libasan' in subprocess.run(['ldd', binary], capture_output=True, text=True).stdout
    except OSError:
        return False


def status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir('/proc/%d/fd' % pid))


def cycles_done(port):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=30) as r:
            text = r.read().decode()
    except OSError:
        return None
    n = 0
    for line in text.splitlines():
        if line.startswith('hostenc_cycles_total{'):
            n += int(float(line.split()[-1]))
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('cycles', nargs='?', type=int, default=2000)
    ap.add_argument('--csv')
    args = ap.parse_args()
    cycles = args.cycles
    sample = 50 if cycles >= 500 else max(5, cycles // 10)
    disturb = 100 if cycles >= 600 else max(10, cycles // 6)
    lifetime = int(cycles * 1.5) + 300
    if lifetime > 590:
        if not os.environ.get('FAKE_IMDS_LONG'):
            sys.exit('soak: %d cycles outlive fake-imds (600 s); set FAKE_IMDS_LONG' % cycles)
        harness.FAKE_IMDS = os.environ['FAKE_IMDS_LONG']

    tmp = tempfile.mkdtemp(prefix='hostenc-soak-')
    compute = os.path.join(tmp, 'compute.json')
    with open(os.path.join(IMDS_FIXTURES, 'd4sv5.json')) as f:
        doc = json.load(f)

    def set_eah(value):
        doc['securityProfile']['encryptionAtHost'] = value
        with open(compute + '.tmp', 'w') as f:
            json.dump(doc, f)
        os.replace(compute + '.tmp', compute)

    set_eah('true')
    token = os.path.join(tmp, 'token')
    with open(token, 'w') as f:
        f.write('soak-token\n')
    cfg = os.path.join(tmp, 'config.json')
    with open(cfg, 'w') as f:
        json.dump({'evidenceKeep': 50, 'heartbeat': '5s'}, f)
    for d in ('evidence', 'spool', 'received'):
        os.makedirs(os.path.join(tmp, d))
    port = free_port()
    imds = FakeImds(compute).__enter__()
    kube = Fake('fake_kube.py', tmp, '--token-file', token, '--node', NODE, '--lifetime', str(lifetime))
    collector = Fake('fake_collector.py', tmp, '--token-file', token, '--store-dir',
                     os.path.join(tmp, 'received'), '--lifetime', str(lifetime))
    log = open(os.path.join(tmp, 'hostenc.log'), 'w')
    proc = subprocess.Popen(
        [HOSTENC, 'run', '--config', cfg, '--host-root', os.path.join(HOSTROOTS, 'd4sv5'),
         '--imds-url', imds.url, '--imds-trust', imds.trust, '--imds-timeout', '3', '--kube-api', kube.url,
         '--kube-token-file', token, '--node-name', NODE, '--interval', '1s', '--start-delay', '0s',
         '--jitter-percent', '0', '--max-backoff', '2s', '--metrics-listen', '127.0.0.1:%d' % port,
         '--textfile', os.path.join(tmp, 'hostenc.prom'), '--evidence-dir', os.path.join(tmp, 'evidence'),
         '--push-url', collector.url + '/v1/evidence', '--push-token-file', token,
         '--spool-dir', os.path.join(tmp, 'spool')], stdout=log, stderr=subprocess.STDOUT)
    samples, rc = [], 0
    next_sample, next_disturb, down, flipped = sample, disturb, False, False
    t0 = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError('hostenc run exited with %d' % proc.returncode)
            n = cycles_done(port)
            if n is None:
                time.sleep(0.2)
                continue
            if n >= next_disturb:
                # Every `disturb` cycles one more thing changes, in turn.
                step = (next_disturb // disturb) % 4
                if step == 1:
                    collector.post('/_fake/down' if not down else '/_fake/up', {'status': 503})
                    down = not down
                elif step == 2:
                    flipped = not flipped
                    set_eah('false' if flipped else 'true')
                elif step == 3:
                    proc.send_signal(signal.SIGHUP)
                else:
                    if down:
                        collector.post('/_fake/up')
                        down = False
                next_disturb += disturb
            if n >= next_sample or n >= cycles:
                samples.append((n, status_kib(proc.pid, 'VmRSS'), status_kib(proc.pid, 'VmHWM'),
                                fd_count(proc.pid), round(time.monotonic() - t0)))
                print('cycle %5d  rss %6d KiB  hwm %6d KiB  fds %3d  t %5ds' % samples[-1], flush=True)
                next_sample += sample
            if n >= cycles:
                break
            time.sleep(0.25)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        for fake in (kube, collector):
            fake.stop()
        imds.__exit__(None, None, None)

    if proc.returncode != 0:
        print('soak: hostenc run exited %d on SIGTERM' % proc.returncode)
        rc = 1
    base = next(s for s in samples if s[0] >= cycles // 10)
    last = samples[-1]
    print('soak: %d cycles in %d s; from cycle %d to %d: rss %d -> %d KiB (slack %d), fds %d -> %d (slack %d)'
          % (last[0], last[4], base[0], last[0], base[1], last[1], RSS_SLACK_KIB, base[3], last[3], FD_SLACK))
    if sanitized(HOSTENC):
        print('soak: ASan build: RSS not judged (quarantine); descriptors are')
    elif last[1] > base[1] + RSS_SLACK_KIB:
        print('soak: RSS grew')
        rc = 1
    if last[3] > base[3] + FD_SLACK:
        print('soak: file descriptors grew')
        rc = 1
    if args.csv:
        with open(args.csv, 'w') as f:
            f.write('cycle,rss_kib,hwm_kib,fds,seconds\n')
            for s in samples:
                f.write('%d,%d,%d,%d,%d\n' % s)
    if rc == 0:
        shutil.rmtree(tmp)
    else:
        print('soak: kept %s (hostenc.log, evidence, spool)' % tmp)
    print('soak: %s' % ('ok' if rc == 0 else 'FAILED'))
    return rc


if __name__ == '__main__':
    sys.exit(main())
