#!/usr/bin/env python3
"""TEST-ONLY fake evidence collector, for hostenc's integration tests.

It accepts the agent's evidence push (`POST /v1/evidence` with a DSSE
envelope), checks the envelope's shape and an optional bearer token, and
stores each distinct body under its SHA-256. It never verifies signatures,
speaks plain HTTP on 127.0.0.1 only, and keeps its index in memory: never use
it outside tests. Python 3 standard library only; tests/fakes/README.md
documents the command line and the /_fake/ control endpoints.

The HTTP plumbing is shared with fake_kube.py (same directory).
"""

import argparse
import base64
import binascii
import copy
import hashlib
import os
import re
import sys
import threading
from http.server import ThreadingHTTPServer

from fake_kube import (JSON, LIFETIME_SECONDS, HttpError, JsonHandler, Reply, RequestLog,
                       bearer_token_matches, guarded, is_int, require_content_type, require_object,
                       route, serve_until_stopped)

DSSE_JSON = 'application/vnd.in-toto+dsse+json'
EVIDENCE_CONTENT_TYPES = (DSSE_JSON, JSON)


# ---------------------------------------------------------------------------
# DSSE envelope shape
# ---------------------------------------------------------------------------

def is_base64(text):
    """Standard or URL-safe base64, padding optional (as DSSE allows)."""
    if not isinstance(text, str):
        return False
    standard = text.replace('-', '+').replace('_', '/')
    try:
        base64.b64decode(standard + '=' * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def signature_problem(signature, index):
    where = 'signatures[%d]' % index
    if not isinstance(signature, dict):
        return '%s: must be an object' % where
    if not isinstance(signature.get('sig'), str) or not signature['sig']:
        return '%s.sig: required, a non-empty base64 string' % where
    if not is_base64(signature['sig']):
        return '%s.sig: not base64' % where
    if 'keyid' in signature and not isinstance(signature['keyid'], str):
        return '%s.keyid: must be a string' % where
    return None


def dsse_problem(envelope):
    """Why `envelope` is not a DSSE JSON envelope, or None. Shape only."""
    if not isinstance(envelope, dict):
        return 'body must be a JSON object (a DSSE envelope)'
    if not isinstance(envelope.get('payloadType'), str) or not envelope['payloadType']:
        return 'payloadType: required, a non-empty string'
    if not isinstance(envelope.get('payload'), str):
        return 'payload: required, a base64 string'
    if not is_base64(envelope['payload']):
        return 'payload: not base64'
    signatures = envelope.get('signatures')
    if not isinstance(signatures, list) or not signatures:
        return 'signatures: required, a non-empty list'
    for index, signature in enumerate(signatures):
        problem = signature_problem(signature, index)
        if problem:
            return problem
    return None


# ---------------------------------------------------------------------------
# Server state
# ---------------------------------------------------------------------------

class CollectorState:
    """Everything mutable in the fake (stored envelopes, the injected
    outage, the request log), guarded by one lock."""

    def __init__(self, token_file, store_dir, log_path):
        self.lock = threading.Lock()
        self.token_file = token_file
        self.store_dir = store_dir
        self.outage = None  # {'status': int, 'retry_after': int or None} while down
        self.received = []  # [{'sha256', 't'}], first arrival of each body
        self.bodies = {}    # sha256 -> bytes
        self.log = RequestLog(log_path, self.lock)

    def handle(self, request):
        if request.path.startswith('/_fake/'):
            return guarded(lambda: self.serve_control(request), error_reply)
        request.auth_ok = self.token_file is None or bearer_token_matches(
            request.headers.get('Authorization'), self.token_file)
        reply = guarded(lambda: self.serve_api(request), error_reply)
        entry = RequestLog.entry(request, reply.code)
        entry['sha256'] = hashlib.sha256(request.raw_body).hexdigest() if request.raw_body else None
        self.log.append(entry)
        return reply

    def serve_control(self, request):
        if request.framing_error is not None:
            raise request.framing_error
        return route(CONTROL_ROUTES, self, request)

    def serve_api(self, request):
        if request.framing_error is not None:
            raise request.framing_error
        return route(API_ROUTES, self, request)

    def set_outage(self, outage):
        with self.lock:
            self.outage = outage

    def take_outage(self):
        """The injected failure for this request, if any; one with a count
        ends by itself after that many answers."""
        with self.lock:
            if not self.outage:
                return None
            outage = dict(self.outage)
            if outage['count'] is not None:
                self.outage['count'] -= 1
                if self.outage['count'] <= 0:
                    self.outage = None
            return outage

    def _stored_on_disk(self, digest):
        return self.store_dir is not None and os.path.exists(self.path_for(digest))

    def path_for(self, digest):
        return os.path.join(self.store_dir, digest + '.json')

    def store(self, digest, body, arrived):
        """Stores body once; True if it was new, False for a duplicate."""
        with self.lock:
            if digest in self.bodies or self._stored_on_disk(digest):
                return False
            if self.store_dir is not None:
                write_atomically(self.path_for(digest), body)
            self.bodies[digest] = body
            self.received.append({'sha256': digest, 't': arrived})
            return True

    def received_snapshot(self):
        with self.lock:
            return copy.deepcopy(self.received)

    def body(self, digest):
        with self.lock:
            return self.bodies.get(digest)


def write_atomically(path, data):
    tmp = '%s.tmp.%d.%d' % (path, os.getpid(), threading.get_ident())
    with open(tmp, 'wb') as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def error_reply(error):
    return Reply(error.code, {'error': error.message, 'code': error.code}, error.headers)


def retry_after_headers(retry_after):
    return {} if retry_after is None else {'Retry-After': str(retry_after)}


# ---------------------------------------------------------------------------
# API endpoint
# ---------------------------------------------------------------------------

def api_post_evidence(state, request):
    outage = state.take_outage()
    if outage is not None:
        raise HttpError(outage['status'], 'collector is down (injected by /_fake/down)',
                        headers=retry_after_headers(outage['retry_after']))
    if not request.auth_ok:
        raise HttpError(401, 'missing or wrong bearer token',
                        headers={'WWW-Authenticate': 'Bearer realm="fake-collector"'})
    require_content_type(request, EVIDENCE_CONTENT_TYPES)
    problem = dsse_problem(request.json())
    if problem:
        raise HttpError(400, 'not a DSSE envelope: ' + problem)
    digest = hashlib.sha256(request.raw_body).hexdigest()
    created = state.store(digest, request.raw_body, request.arrived)
    return Reply(201 if created else 200, {'sha256': digest})


API_ROUTES = (
    (re.compile(r'/v1/evidence'), {'POST': api_post_evidence}),
)


# ---------------------------------------------------------------------------
# Control endpoints (/_fake/, no auth, not logged)
# ---------------------------------------------------------------------------

def parse_outage(request):
    body = {} if not request.raw_body else require_object(request.json(), 'body')
    unknown = sorted(k for k in body if k not in ('status', 'retry_after', 'count'))
    if unknown:
        raise HttpError(400, 'unknown field(s) %s; allowed: status, retry_after, count' % ', '.join(unknown))
    outage = {'status': body.get('status', 503), 'retry_after': body.get('retry_after'),
              'count': body.get('count')}
    if outage['count'] is not None and (not is_int(outage['count']) or outage['count'] < 1):
        raise HttpError(400, 'count: an integer >= 1 (answers before the fake is up again)')
    if not is_int(outage['status']) or not 400 <= outage['status'] <= 599:
        raise HttpError(400, 'status: an integer 400..599')
    if outage['retry_after'] is not None and (not is_int(outage['retry_after']) or outage['retry_after'] < 0):
        raise HttpError(400, 'retry_after: an integer >= 0 (seconds)')
    return outage


def control_down(state, request):
    outage = parse_outage(request)
    state.set_outage(outage)
    return Reply(200, {'down': outage})


def control_up(state, request):
    state.set_outage(None)
    return Reply(200, {'down': None})


def control_received(state, request):
    return Reply(200, state.received_snapshot())


def control_received_body(state, request, digest):
    body = state.body(digest)
    if body is None:
        raise HttpError(404, 'no evidence with sha256 %s' % digest)
    return Reply(200, body)  # the stored envelope, byte for byte


def control_requests(state, request):
    return Reply(200, state.log.snapshot())


def control_reset_log(state, request):
    state.log.clear()
    return Reply(200, {'cleared': True})


CONTROL_ROUTES = (
    (re.compile(r'/_fake/down'), {'POST': control_down}),
    (re.compile(r'/_fake/up'), {'POST': control_up}),
    (re.compile(r'/_fake/received'), {'GET': control_received}),
    (re.compile(r'/_fake/received/([0-9a-f]{64})'), {'GET': control_received_body}),
    (re.compile(r'/_fake/requests'), {'GET': control_requests}),
    (re.compile(r'/_fake/reset_log'), {'POST': control_reset_log}),
)


# ---------------------------------------------------------------------------

class CollectorHandler(JsonHandler):
    server_version = 'fake-collector/1'


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Test-only fake evidence collector (plain HTTP, 127.0.0.1).')
    parser.add_argument('--port-file', required=True, help='written with the port number once listening')
    parser.add_argument('--token-file', help='require this bearer token (re-read on every request)')
    parser.add_argument('--store-dir', help='write each new envelope to DIR/<sha256>.json')
    parser.add_argument('--log', help='append one JSON line per API request')
    parser.add_argument('--lifetime', type=int, default=LIFETIME_SECONDS,
                        help='exit by itself after this many seconds (default %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.store_dir is not None and not os.path.isdir(args.store_dir):
        print('fake_collector: --store-dir %s is not a directory' % args.store_dir, file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(('127.0.0.1', 0), CollectorHandler)
    server.state = CollectorState(args.token_file, args.store_dir, args.log)
    try:
        return serve_until_stopped(server, args.port_file, 'fake_collector', lifetime=args.lifetime)
    finally:
        server.state.log.close()


if __name__ == '__main__':
    sys.exit(main())
