"""Azurite (the Azure Storage emulator, pinned in package.json) on 127.0.0.1
with a temporary directory, a Shared Key client for the tests' own looks at
the container, and FaultProxy: a small fake in front of Azurite that answers
like Blob Storage does when it throttles, is down, or refuses a write under
an immutability policy (Azurite does not emulate immutability policies).

Sources for the wire details: "Authorize with Shared Key", "Put Blob",
"List Blobs" and "Blob service error codes" in the Azure Storage REST API
reference, https://learn.microsoft.com/rest/api/storageservices/."""

import base64
import datetime
import hashlib
import hmac
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
AZURITE = os.path.join(HERE, 'node_modules', '.bin', 'azurite-blob')
# Azurite's well-known development account (public, in Azurite's README).
ACCOUNT = 'devstoreaccount1'
KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
VERSION = '2021-12-02'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Azurite:
    def __init__(self, in_memory=False):
        self.in_memory = in_memory

    def __enter__(self):
        if not os.path.exists(AZURITE):
            raise RuntimeError('Azurite is not installed: run npm ci in tests/blob (scripts/install-deps.sh does)')
        self.dir = tempfile.mkdtemp(prefix='azurite-')
        self.port = free_port()
        self.log = open(os.path.join(self.dir, 'azurite.log'), 'wb')
        self.proc = subprocess.Popen([AZURITE, '--blobHost', '127.0.0.1', '--blobPort', str(self.port),
                                      '--skipApiVersionCheck', '--loose', '--silent', '--disableTelemetry'] +
                                     (['--inMemoryPersistence'] if self.in_memory else ['--location', self.dir]),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(('127.0.0.1', self.port), timeout=1):
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError('azurite exited %d' % self.proc.returncode)
                time.sleep(0.2)
        raise RuntimeError('azurite did not start')

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d/%s' % (self.port, ACCOUNT)

    def url(self, container, endpoint=None):
        return 'azblob://%s/%s?endpoint=%s' % (ACCOUNT, container, endpoint or self.endpoint)


def _date():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%a, %d %b %Y %H:%M:%S GMT')


def shared_key_request(port, method, path, query=None, body=b'', headers=None, timeout=30):
    """A signed request to Azurite; path without the account, e.g. /c/blob."""
    query = query or {}
    headers = dict(headers or {})
    headers['x-ms-date'] = _date()
    headers['x-ms-version'] = VERSION
    full = '/%s%s' % (ACCOUNT, path)
    canon_headers = ''.join('%s:%s\n' % (k.lower(), v) for k, v in sorted(headers.items())
                            if k.lower().startswith('x-ms-'))
    canon_res = '/%s%s' % (ACCOUNT, full) + ''.join('\n%s:%s' % (k, v) for k, v in sorted(query.items()))
    sts = '\n'.join([method, '', '', str(len(body)) if body else '', '', headers.get('Content-Type', ''), '', '',
                     '', headers.get('If-None-Match', ''), '', '']) + '\n' + canon_headers + canon_res
    sig = base64.b64encode(hmac.new(base64.b64decode(KEY), sts.encode(), hashlib.sha256).digest()).decode()
    headers['Authorization'] = 'SharedKey %s:%s' % (ACCOUNT, sig)
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        url = full + ('?' + urllib.parse.urlencode(query) if query else '')
        conn.request(method, url, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def put_blob(port, container, name, body=b'', timeout=30):
    """Puts a block blob as any writer to the container could; its status."""
    status, _, _ = shared_key_request(port, 'PUT', '/%s/%s' % (container, name), body=body,
                                      headers={'Content-Type': 'application/octet-stream',
                                               'x-ms-blob-type': 'BlockBlob'}, timeout=timeout)
    return status


def list_blobs(port, container, prefix=''):
    names, marker = [], ''
    while True:
        q = {'restype': 'container', 'comp': 'list', 'prefix': prefix}
        if marker:
            q['marker'] = marker
        status, _, body = shared_key_request(port, 'GET', '/' + container, q)
        if status == 404:
            return []
        assert status == 200, (status, body)
        root = ET.fromstring(body)
        names += [b.findtext('Name') for b in root.iter('Blob')]
        marker = root.findtext('NextMarker') or ''
        if not marker:
            return names


def get_blob(port, container, name):
    status, _, body = shared_key_request(port, 'GET', '/%s/%s' % (container, name))
    assert status == 200, (status, name)
    return body


def account_sas(hours=1, permissions='rwdlacup'):
    """An account SAS (signed version 2019-12-12, whose string-to-sign has no
    encryption-scope line), for the SAS authentication test."""
    now = datetime.datetime.now(datetime.timezone.utc)
    st = (now - datetime.timedelta(minutes=5)).strftime('%Y-%m-%dT%H:%M:%SZ')
    se = (now + datetime.timedelta(hours=hours)).strftime('%Y-%m-%dT%H:%M:%SZ')
    sv, ss, srt = '2019-12-12', 'b', 'sco'
    sts = '\n'.join([ACCOUNT, permissions, ss, srt, st, se, '', '', sv, ''])
    sig = base64.b64encode(hmac.new(base64.b64decode(KEY), sts.encode(), hashlib.sha256).digest()).decode()
    return urllib.parse.urlencode({'sv': sv, 'ss': ss, 'srt': srt, 'sp': permissions, 'st': st, 'se': se,
                                   'sig': sig})


def error_xml(code, message):
    return ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>'
            % (code, message)).encode()


class FaultProxy:
    """Forwards to Azurite unless a rule answers first. A rule is
    (method, path substring, status, x-ms-error-code, extra headers, count);
    count None = every time. Records every request line it saw."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.rules = []
        self.seen = []
        self.lock = threading.Lock()
        self.delay = 0.0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n) if n else b''
                rule = proxy.match(self.command, self.path)
                if proxy.delay:
                    time.sleep(proxy.delay)
                if rule:
                    status, code, extra = rule
                    data = error_xml(code, 'injected by the test') if code else b''
                    self.send_response(status)
                    if code:
                        self.send_header('x-ms-error-code', code)
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.send_header('Content-Type', 'application/xml')
                    self.send_header('Content-Length', str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                conn = http.client.HTTPConnection('127.0.0.1', proxy.upstream, timeout=60)
                hdrs = {k: v for k, v in self.headers.items() if k.lower() not in ('host', 'connection')}
                conn.request(self.command, self.path, body=body if n or self.command == 'PUT' else None,
                             headers=hdrs)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ('transfer-encoding', 'connection', 'content-length'):
                        self.send_header(k, v)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                if self.command != 'HEAD':
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = handle_any

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A client that gave up (a timeout test) closed its end first.
                if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                    super().handle_error(request, client_address)

        self.server = Server(('127.0.0.1', 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def match(self, method, path):
        with self.lock:
            self.seen.append('%s %s' % (method, path))
            for i, (m, sub, status, code, extra, count) in enumerate(self.rules):
                if m == method and sub in path and (count is None or count > 0):
                    if count is not None:
                        self.rules[i] = (m, sub, status, code, extra, count - 1)
                    return status, code, extra
        return None

    def add(self, method, sub, status, code, extra=None, count=None):
        with self.lock:
            self.rules.append((method, sub, status, code, extra or {}, count))

    def clear(self):
        with self.lock:
            self.rules = []

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @property
    def endpoint(self):
        return 'http://127.0.0.1:%d/%s' % (self.port, ACCOUNT)
