#!/usr/bin/env python3
"""TEST-ONLY fake of the two Microsoft Entra token sources fleet/aztoken.c
uses, for hostenc's integration tests:

- the token endpoint for workload identity,
  POST /<tenant>/oauth2/v2.0/token with a client_credentials form whose
  client_assertion must equal the federated token file's current contents;
- the IMDS managed identity endpoint,
  GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...
  with `Metadata: true`.

Both answer with the current contents of --access-token-file, so a fake
storage server reading the same file accepts exactly the issued token. Plain
HTTP on 127.0.0.1, no signatures checked: never use it outside tests. Python 3
standard library only; the HTTP plumbing is fake_kube.py's.
"""

import argparse
import hmac
import re
import sys
import time
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs

from fake_collector import (CollectorState, control_down, control_requests, control_up,
                            retry_after_headers)
from fake_kube import (LIFETIME_SECONDS, HttpError, JsonHandler, Reply, RequestLog, guarded,
                       read_token, route, serve_until_stopped)

FORM = 'application/x-www-form-urlencoded'
JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'
TOKEN_FIELDS = ('client_id', 'scope', 'grant_type', 'client_assertion_type', 'client_assertion')


def oauth_error(code, error, description):
    """Entra's error shape; the description names the problem, never a value."""
    return HttpError(code, description, reason=error)


def error_reply(error):
    return Reply(error.code, {'error': error.reason or 'server_error', 'error_description': error.message},
                 error.headers)


def single_values(text, allowed, where):
    """A form or query string as {name: value}: every name at most once."""
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors='strict')
    except (ValueError, UnicodeDecodeError) as e:
        raise oauth_error(400, 'invalid_request', '%s is not URL-encoded: %s' % (where, e))
    for name, values in fields.items():
        if name not in allowed:
            raise oauth_error(400, 'invalid_request', '%s: unknown parameter %s' % (where, name))
        if len(values) != 1:
            raise oauth_error(400, 'invalid_request', '%s: %s given more than once' % (where, name))
    return {name: values[0] for name, values in fields.items()}


class EntraState(CollectorState):
    """The collector's outage switch and request log (and their control
    endpoints); the files are re-read on every request so a test rotates
    them by rewriting."""

    def __init__(self, args):
        super().__init__(None, None, args.log)
        self.args = args

    def handle(self, request):
        if request.path.startswith('/_fake/'):
            return guarded(lambda: route(CONTROL_ROUTES, self, request), error_reply)
        reply = guarded(lambda: self.serve_api(request), error_reply)
        entry = RequestLog.entry(request, reply.code)
        entry['body'] = None  # the form carries the assertion: never logged
        entry['metadata_header'] = request.headers.get('Metadata')
        self.log.append(entry)
        return reply

    def serve_api(self, request):
        if request.framing_error is not None:
            raise request.framing_error
        outage = self.take_outage()
        if outage:
            raise HttpError(outage['status'], 'injected outage', reason='temporarily_unavailable',
                            headers=retry_after_headers(outage['retry_after']))
        return route(API_ROUTES, self, request)

    def issue(self, extra):
        token = read_token(self.args.access_token_file)
        if not token:
            raise oauth_error(500, 'server_error', 'the fake has no access token to issue')
        body = {'token_type': 'Bearer', 'access_token': token}
        body.update(extra)
        return Reply(200, body)


def api_token(state, request, tenant):
    if tenant != state.args.tenant:
        raise oauth_error(400, 'invalid_request', 'unknown tenant')
    if request.content_type != FORM:
        raise oauth_error(400, 'invalid_request', 'Content-Type must be %s' % FORM)
    form = single_values(request.raw_body.decode('ascii', 'replace'), TOKEN_FIELDS, 'body')
    missing = [f for f in TOKEN_FIELDS if not form.get(f)]
    if missing:
        raise oauth_error(400, 'invalid_request', 'missing %s' % ', '.join(missing))
    if form['grant_type'] != 'client_credentials':
        raise oauth_error(400, 'unsupported_grant_type', 'grant_type must be client_credentials')
    if form['client_assertion_type'] != JWT_BEARER:
        raise oauth_error(400, 'invalid_request', 'client_assertion_type must be the jwt-bearer URN')
    if not form['scope'].endswith('/.default'):
        raise oauth_error(400, 'invalid_scope', 'client credentials need a /.default scope')
    expected = read_token(state.args.assertion_file)
    if form['client_id'] != state.args.client_id or not expected or \
            not hmac.compare_digest(form['client_assertion'].encode(), expected.encode()):
        raise oauth_error(401, 'invalid_client', 'unknown client or assertion')
    return state.issue({'expires_in': state.args.expires_in, 'ext_expires_in': state.args.expires_in})


def api_imds_token(state, request):
    if request.headers.get('Metadata') != 'true':
        raise oauth_error(400, 'invalid_request', 'Required metadata header not specified')
    query = single_values(request.query, ('api-version', 'resource', 'client_id'), 'query')
    if query.get('api-version') != '2018-02-01' or not query.get('resource'):
        raise oauth_error(400, 'invalid_request', 'api-version 2018-02-01 and resource are required')
    if query['resource'].endswith('/.default'):
        raise oauth_error(400, 'invalid_resource', 'IMDS takes a resource, not a scope')
    if 'client_id' in query and query['client_id'] != state.args.client_id:
        raise oauth_error(400, 'invalid_request', 'Identity not found')
    now = int(time.time())
    return state.issue({'expires_in': str(state.args.expires_in),
                        'expires_on': str(now + state.args.expires_in),
                        'not_before': str(now), 'resource': query['resource']})


API_ROUTES = (
    (re.compile(r'/([^/]+)/oauth2/v2\.0/token'), {'POST': api_token}),
    (re.compile(r'/metadata/identity/oauth2/token'), {'GET': api_imds_token}),
)


CONTROL_ROUTES = (
    (re.compile(r'/_fake/down'), {'POST': control_down}),
    (re.compile(r'/_fake/up'), {'POST': control_up}),
    (re.compile(r'/_fake/requests'), {'GET': control_requests}),
)


class EntraHandler(JsonHandler):
    server_version = 'fake-entra/1'


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Test-only fake Entra token endpoint and IMDS identity endpoint.')
    parser.add_argument('--port-file', required=True, help='written with the port number once listening')
    parser.add_argument('--tenant', required=True)
    parser.add_argument('--client-id', required=True)
    parser.add_argument('--assertion-file', required=True,
                        help='the federated token the client must present (re-read on every request)')
    parser.add_argument('--access-token-file', required=True,
                        help='the access token to issue (re-read on every request)')
    parser.add_argument('--expires-in', type=int, default=3600)
    parser.add_argument('--log', help='append one JSON line per API request')
    parser.add_argument('--lifetime', type=int, default=LIFETIME_SECONDS,
                        help='exit by itself after this many seconds (default %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    server = ThreadingHTTPServer(('127.0.0.1', 0), EntraHandler)
    server.state = EntraState(args)
    try:
        return serve_until_stopped(server, args.port_file, 'fake_entra', lifetime=args.lifetime)
    finally:
        server.state.log.close()


if __name__ == '__main__':
    sys.exit(main())
