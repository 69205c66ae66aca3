"""Plumbing for the hostenc benchmarks (bench/run.py): processes that are
always stopped, timed runs with their CPU time, /proc readings, the fakes,
and small statistics. Python standard library only."""

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LONGFAKE = os.path.join(ROOT, 'bench', 'longfake.py')
CLK_TCK = os.sysconf('SC_CLK_TCK')


class BenchError(Exception):
    """A benchmark could not run (not a budget miss)."""


# ---------------------------------------------------------------- processes

_started = []


def start(argv, stdout=None, stderr=None, env=None):
    """Popen that is remembered, so stop_all() ends it whatever happens."""
    out = open(stdout, 'w') if isinstance(stdout, str) else (stdout or subprocess.DEVNULL)
    err = open(stderr, 'w') if isinstance(stderr, str) else (stderr or subprocess.DEVNULL)
    try:
        p = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
    finally:
        for f in (out, err):
            if hasattr(f, 'close') and f not in (subprocess.DEVNULL, None):
                f.close()
    _started.append(p)
    return p


def stop(p, timeout=10):
    """SIGTERM, then SIGKILL; returns the exit status."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if p in _started:
        _started.remove(p)
    return p.returncode


def stop_all():
    for p in list(_started):
        stop(p, timeout=5)


def timed(argv, stdout=os.devnull, stderr=os.devnull, env=None):
    """Runs argv to completion; (wall seconds, CPU seconds user+sys, exit code)."""
    out = os.open(stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    err = os.open(stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) if stderr != stdout else out
    try:
        actions = [(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, err, 2)]
        t0 = time.perf_counter()
        pid = os.posix_spawnp(argv[0], argv, env if env is not None else os.environ, file_actions=actions)
        _, status, ru = os.wait4(pid, 0)
        wall = time.perf_counter() - t0
    finally:
        os.close(out)
        if err != out:
            os.close(err)
    return wall, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(status)


def run(argv, timeout=600, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_file(path, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError('%s did not start (exit %s)' % (what, proc.poll()))
        time.sleep(0.02)


def http_get(url, timeout=10):
    with urllib.request.urlopen(urllib.request.Request(url), timeout=timeout) as r:
        return r.status, r.read()


def wait_http(url, proc, what, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return http_get(url, timeout=2)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError('%s is not answering on %s' % (what, url))
            time.sleep(0.05)


# ---------------------------------------------------------------- /proc

def smaps_rollup(pid):
    """{'Rss': kB, 'Private_Dirty': kB, 'Anonymous': kB, ...}"""
    out = {}
    with open('/proc/%d/smaps_rollup' % pid) as f:
        for line in f:
            key, _, value = line.partition(':')
            parts = value.split()
            if len(parts) == 2 and parts[1] == 'kB':
                out[key] = int(parts[0])
    return out


def smaps_breakdown(pid, top=8):
    """[(mapping name, Private_Dirty kB, Rss kB)], largest Private_Dirty first."""
    agg, name = {}, None
    with open('/proc/%d/smaps' % pid) as f:
        for line in f:
            first = line.split(None, 1)[0]
            if '-' in first and not first.endswith(':'):
                parts = line.split()
                name = os.path.basename(parts[5]) if len(parts) > 5 else '[anonymous mmap]'
                agg.setdefault(name, [0, 0])
            elif first == 'Private_Dirty:':
                agg[name][0] += int(line.split()[1])
            elif first == 'Rss:':
                agg[name][1] += int(line.split()[1])
    rows = sorted(((n, v[0], v[1]) for n, v in agg.items()), key=lambda r: -r[1])
    return rows[:top]


def cpu_times(pid):
    """(utime, stime) of the whole process (dead threads included), seconds."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


# ---------------------------------------------------------------- fakes

class FakeImds:
    """The fake IMDS (a copy built with a long safety lifetime) on 127.0.0.1."""

    def __init__(self, binary, compute, workdir, name, scenario='ok'):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.trust = os.path.join(self.dir, 'trust.pem')
        self.log = os.path.join(self.dir, 'requests.log')
        port_file = os.path.join(self.dir, 'port')
        self.proc = start([binary, '--compute', compute, '--trust-out', self.trust, '--port-file', port_file,
                           '--scenario', scenario, '--log', self.log],
                          stderr=os.path.join(self.dir, 'stderr'))
        wait_file(port_file, self.proc, 'fake-imds')
        with open(port_file) as f:
            self.url = 'http://127.0.0.1:%d' % int(f.read())

    def requests(self):
        """[(ms, target)] in arrival order."""
        out = []
        if os.path.exists(self.log):
            with open(self.log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 4:
                        out.append((int(parts[0]), parts[2]))
        return sorted(out, key=lambda r: r[0])  # stable: same-millisecond requests keep log order

    def stop(self):
        stop(self.proc)


class PyFake:
    """tests/fakes/fake_kube.py or fake_collector.py through bench/longfake.py."""

    def __init__(self, python, script, workdir, name, args, lifetime=7200):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        port_file = os.path.join(self.dir, 'port')
        self.proc = start([python, LONGFAKE, str(lifetime), script, '--port-file', port_file] + list(args),
                          stderr=os.path.join(self.dir, 'stderr'))
        wait_file(port_file, self.proc, script)
        with open(port_file) as f:
            self.url = 'http://127.0.0.1:%d' % int(f.read())

    def get(self, path):
        status, body = http_get(self.url + path)
        if status != 200:
            raise BenchError('%s%s: HTTP %d' % (self.url, path, status))
        return json.loads(body)

    def stop(self):
        stop(self.proc)


# ---------------------------------------------------------------- numbers

class Stat:
    """Median of several runs, with the min and max."""

    def __init__(self, values):
        values = [v for v in values if v is not None]
        if not values:
            raise BenchError('no measurements')
        self.values = values
        self.median = statistics.median(values)
        self.min = min(values)
        self.max = max(values)
        self.n = len(values)

    def fmt(self, unit='', digits=None, scale=1.0):
        def f(v):
            v *= scale
            d = digits if digits is not None else (0 if abs(v) >= 100 else 1 if abs(v) >= 10 else 2)
            return '%.*f' % (d, v)
        if self.n == 1:
            return '%s%s' % (f(self.median), unit)
        return '%s%s (%s–%s, n=%d)' % (f(self.median), unit, f(self.min), f(self.max), self.n)


def max_in_window(times_ms, window_ms=1000):
    """Largest number of events in any half-open window of window_ms."""
    best, j = 0, 0
    for i, t in enumerate(times_ms):
        while times_ms[j] <= t - window_ms:
            j += 1
        best = max(best, i - j + 1)
    return best


def clusters(times_ms, gap_ms=500):
    """Groups sorted times separated by more than gap_ms: one group per cycle."""
    groups = []
    for t in times_ms:
        if groups and t - groups[-1][-1] <= gap_ms:
            groups[-1].append(t)
        else:
            groups.append([t])
    return groups


def log(msg):
    print('bench: %s' % msg, file=sys.stderr, flush=True)
