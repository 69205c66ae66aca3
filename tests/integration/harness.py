"""Shared by the integration tests: the built binaries, the fixture host
roots, and a context manager that runs the fake IMDS on 127.0.0.1."""

import os
import signal
import subprocess
import tempfile
import time

HOSTENC = os.environ['HOSTENC']
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
FAKE_IMDS = os.environ['FAKE_IMDS']
HOSTROOTS = os.environ['HOSTROOTS']
IMDS_FIXTURES = os.environ['IMDS_FIXTURES']


class FakeImds:
    """Starts fake-imds on an ephemeral loopback port; stops it on exit."""

    def __init__(self, compute, scenario='ok'):
        self.compute = compute
        self.scenario = scenario

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory(prefix='hostenc-it-')
        d = self.dir.name
        self.trust = os.path.join(d, 'trust.pem')
        self.log = os.path.join(d, 'requests.log')
        port_file = os.path.join(d, 'port')
        self.proc = subprocess.Popen(
            [FAKE_IMDS, '--compute', os.path.join(IMDS_FIXTURES, self.compute),
             '--trust-out', self.trust, '--port-file', port_file,
             '--scenario', self.scenario, '--log', self.log],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError('fake-imds did not start: %s' % self.proc.stderr.read())
            time.sleep(0.02)
        with open(port_file) as f:
            self.url = 'http://127.0.0.1:%d' % int(f.read())
        return self

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()
        self.dir.cleanup()

    def requests(self):
        """[(ms, method, target, status, headers)] from the request log."""
        out = []
        with open(self.log) as f:
            for line in f:
                parts = line.split()
                out.append((int(parts[0]), parts[1], parts[2], int(parts[3]), parts[4:]))
        return out


def hostenc(*args, env=None):
    e = dict(os.environ)
    e.pop('NO_COLOR', None)
    if env:
        e.update(env)
    return subprocess.run([HOSTENC] + list(args), capture_output=True, text=True, env=e, timeout=300)




def low_s(der):
    """The one form of a DER ECDSA P-256 signature hostenc accepts: s <= n/2
    (python3-cryptography signs with either half)."""
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
    r, s = decode_dss_signature(der)
    return encode_dss_signature(r, min(s, P256_N - s))


SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'docs')


def validate_output(doc):
    """Validates a JSON output against the schema its `schema` member names
    (docs/schemas/*.schema.json, whose $id is that URI; the statement schema
    resolves the shared definitions). Raises jsonschema.ValidationError.
    Debian 12's jsonschema 4.10 resolves $ref through RefResolver's store."""
    import glob
    import json
    import jsonschema
    store = {}
    for path in [os.path.join(SCHEMAS, 'statement.schema.json')] + glob.glob(os.path.join(SCHEMAS, 'schemas', '*.json')):
        with open(path) as f:
            schema = json.load(f)
        store[schema['$id']] = schema
    schema = store[doc['schema']]
    resolver = jsonschema.RefResolver.from_schema(schema, store=store)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema, resolver=resolver,
                                    format_checker=jsonschema.FormatChecker()).validate(doc)


def served_metric_types(text):
    """{name: type} from the `# TYPE` lines of a /metrics answer."""
    return {parts[2]: parts[3] for parts in (line.split() for line in text.splitlines())
            if len(parts) == 4 and parts[:2] == ['#', 'TYPE']}


def documented_metric_types(doc):
    """{name: type} from the table rows "| `name{labels}` | type | ..." of a
    doc under docs/ (the metric tables of daemon-interface.md, collector.md)."""
    import re
    with open(os.path.join(SCHEMAS, doc)) as f:
        return {m.group(1): m.group(2) for m in
                re.finditer(r'^\| `(hostenc_[a-z_]+)(?:\{[^}`]*\})?` \| (counter|gauge|histogram) \|', f.read(), re.M)}


INTEROP = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'interop')


def sigstore_verify(pubkey_pem, *envelopes):
    """Verifies DSSE envelopes with sigstore-js (tests/interop/verify-dsse.mjs,
    @sigstore/verify pinned in tests/interop/package-lock.json, installed by
    tests/interop/npm-ci.sh). Returns (exit code, {file: 'ok' or the error})."""
    subprocess.run([os.path.join(INTEROP, 'npm-ci.sh')], check=True, capture_output=True, timeout=600)
    p = subprocess.run(['node', os.path.join(INTEROP, 'verify-dsse.mjs'), pubkey_pem, *envelopes],
                       capture_output=True, text=True, timeout=120)
    results = {}
    for line in p.stdout.splitlines():
        if line.startswith('ok '):
            results[line[3:]] = 'ok'
        elif line.startswith('not ok '):
            name, _, why = line[7:].partition(': ')
            results[name] = why
    return p.returncode, results
