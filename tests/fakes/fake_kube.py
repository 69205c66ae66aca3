#!/usr/bin/env python3
"""TEST-ONLY fake of the Kubernetes API server, for hostenc's integration tests.

It answers, with kube-apiserver's semantics, the few calls `hostenc run`
makes on its own Node (docs/daemon-interface.md): read the Node, patch its
status conditions, patch its labels and annotations, create and patch Events.
It is stricter than a real API server (it rejects fields a real server would
silently drop) so that agent bugs fail loudly. It holds one Node, speaks
plain HTTP on 127.0.0.1 only, and has no RBAC, watch or persistence: never
use it outside tests. Python 3 standard library only; tests/fakes/README.md
documents the command line and the /_fake/ control endpoints.

The first part of this file is HTTP plumbing that fake_collector.py imports,
so each fake stays a single file.
"""

import argparse
import copy
import hmac
import json
import os
import random
import re
import signal
import string
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

LIFETIME_SECONDS = 900
MAX_DELAY_SECONDS = 600
IDLE_TIMEOUT_SECONDS = 60
MAX_BODY_BYTES = 3 * 1024 * 1024  # kube-apiserver's default request size limit

JSON = 'application/json'
MERGE_PATCH = 'application/merge-patch+json'
STRATEGIC_MERGE_PATCH = 'application/strategic-merge-patch+json'

REASONS = {
    400: 'BadRequest', 401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound',
    405: 'MethodNotAllowed', 409: 'Conflict', 410: 'Expired', 413: 'RequestEntityTooLarge',
    415: 'UnsupportedMediaType', 422: 'Invalid', 429: 'TooManyRequests',
    500: 'InternalError', 503: 'ServiceUnavailable', 504: 'Timeout',
}


# ---------------------------------------------------------------------------
# HTTP plumbing (shared with fake_collector.py)
# ---------------------------------------------------------------------------

class HttpError(Exception):
    """An error answer: status code, message, optional Kubernetes reason and
    details, optional extra response headers."""

    def __init__(self, code, message, reason=None, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.details = details
        self.headers = dict(headers or {})


class Reply:
    """An answer: status code, a JSON-serialisable body (or bytes that are
    already JSON, sent as they are), extra headers."""

    def __init__(self, code, body, headers=None):
        self.code = code
        self.body = body
        self.headers = dict(headers or {})


class Request:
    """One HTTP request as the fakes see it. `body` is the parsed JSON body or
    None; `body_error` says why it could not be parsed; `framing_error` is an
    HttpError when the body itself could not be read."""

    def __init__(self, method, target, headers, raw_body, arrived, framing_error=None):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = parts.query
        self.headers = headers
        self.content_type_header = headers.get('Content-Type')
        self.content_type = media_type(self.content_type_header)
        self.raw_body = raw_body
        self.arrived = arrived
        self.framing_error = framing_error
        self.auth_ok = False
        self.body, self.body_error = parse_json(raw_body)

    def json(self):
        """The parsed body; a 400 if it is not JSON."""
        if self.body_error is not None:
            raise HttpError(400, 'request body is not valid JSON: %s' % self.body_error)
        return self.body


def media_type(header):
    """'application/json; charset=utf-8' -> 'application/json'."""
    if not header:
        return ''
    return header.split(';', 1)[0].strip().lower()


def _reject_constant(name):
    raise ValueError('%s is not JSON' % name)


def parse_json(raw):
    """(value, None) or (None, reason)."""
    if not raw:
        return None, 'empty body'
    try:
        return json.loads(raw.decode('utf-8'), parse_constant=_reject_constant), None
    except (ValueError, RecursionError) as e:
        return None, str(e)


def _read_chunked(rfile):
    chunks = []
    total = 0
    while True:
        line = rfile.readline(1024)
        try:
            size = int(line.split(b';', 1)[0].strip(), 16)
        except ValueError:
            raise HttpError(400, 'malformed chunked body')
        if size == 0:
            while rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                pass
            return b''.join(chunks)
        total += size
        if total > MAX_BODY_BYTES:
            raise HttpError(413, 'request body larger than %d bytes' % MAX_BODY_BYTES)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise HttpError(400, 'truncated chunked body')
        chunks.append(chunk)
        rfile.readline(1024)


def _read_body(handler):
    if handler.headers.get('Transfer-Encoding', '').strip().lower() == 'chunked':
        return _read_chunked(handler.rfile)
    length = handler.headers.get('Content-Length')
    if length is None:
        return b''
    try:
        size = int(length)
    except ValueError:
        size = -1
    if size < 0:
        raise HttpError(400, 'invalid Content-Length %r' % length)
    if size > MAX_BODY_BYTES:
        raise HttpError(413, 'request body larger than %d bytes' % MAX_BODY_BYTES)
    body = handler.rfile.read(size)
    if len(body) != size:
        raise HttpError(400, 'truncated body')
    return body


def read_request(handler):
    """Reads the body of the request `handler` is serving; never raises."""
    arrived = time.monotonic()
    try:
        raw, error = _read_body(handler), None
    except HttpError as e:
        raw, error = b'', e
    except OSError as e:
        raw, error = b'', HttpError(400, 'cannot read body: %s' % e)
    return Request(handler.command, handler.path, handler.headers, raw, arrived, error)


def send_reply(handler, reply):
    data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode('utf-8')
    try:
        handler.send_response(reply.code)
        handler.send_header('Content-Type', JSON)
        handler.send_header('Content-Length', str(len(data)))
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if handler.close_connection:
            handler.send_header('Connection', 'close')
        handler.end_headers()
        handler.wfile.write(data)
    except OSError:
        handler.close_connection = True  # the client went away


class JsonHandler(BaseHTTPRequestHandler):
    """Reads each request and hands it to `server.state.handle(request)`,
    which returns a Reply. HTTP/1.1 with keep-alive."""

    protocol_version = 'HTTP/1.1'
    timeout = IDLE_TIMEOUT_SECONDS

    def log_message(self, format, *args):
        pass  # the fakes keep their own request log

    def serve_one(self):
        request = read_request(self)
        if request.framing_error is not None:
            self.close_connection = True
        send_reply(self, self.server.state.handle(request))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = serve_one


def guarded(action, error_reply):
    """Runs action() -> Reply; HttpError becomes error_reply(err), anything
    else a 500 carrying the exception text (and a traceback on stderr)."""
    try:
        return action()
    except HttpError as e:
        return error_reply(e)
    except Exception as e:  # a bug in the fake must not kill the connection
        traceback.print_exc(file=sys.stderr)
        return error_reply(HttpError(500, 'fake internal error: %s: %s' % (type(e).__name__, e)))


def route(routes, state, request):
    """routes: ((compiled regex, {METHOD: handler(state, request, *groups)}), ...)."""
    for pattern, methods in routes:
        match = pattern.fullmatch(request.path)
        if match is None:
            continue
        handler = methods.get(request.method)
        if handler is None:
            raise HttpError(405, 'the server does not allow this method on the requested resource',
                            headers={'Allow': ', '.join(sorted(methods))})
        return handler(state, request, *[unquote(g) for g in match.groups()])
    raise HttpError(404, 'the server could not find the requested resource')


def require_content_type(request, allowed):
    if request.content_type not in allowed:
        raise HttpError(415, 'Content-Type %r is not supported here; use one of: %s'
                        % (request.content_type_header, ', '.join(allowed)))


def require_object(value, where):
    if not isinstance(value, dict):
        raise HttpError(400, '%s: must be a JSON object' % where)
    return value


def read_token(path):
    """The current token in `path`, whitespace stripped; '' if unreadable."""
    try:
        with open(path, 'rb') as f:
            return f.read().strip().decode('utf-8', 'replace')
    except OSError:
        return ''


def bearer_token_matches(authorization, token_path):
    """True when the Authorization header is `Bearer <current token>`."""
    expected = read_token(token_path)
    scheme, _, presented = (authorization or '').strip().partition(' ')
    if not expected or scheme.lower() != 'bearer':
        return False
    return hmac.compare_digest(presented.strip().encode('utf-8'), expected.encode('utf-8'))


class RequestLog:
    """Every request seen, in memory and (optionally) as JSON lines in a
    file. Uses the owning state's lock."""

    def __init__(self, path, lock):
        self.lock = lock
        self.entries = []
        self.file = open(path, 'a', encoding='utf-8') if path else None

    @staticmethod
    def entry(request, status):
        return {'t': request.arrived, 'method': request.method, 'path': request.path,
                'query': request.query, 'content_type': request.content_type_header,
                'auth_ok': request.auth_ok, 'status': status, 'body': request.body}

    def append(self, entry):
        with self.lock:
            self.entries.append(entry)
            if self.file:
                self.file.write(json.dumps(entry, sort_keys=True) + '\n')
                self.file.flush()

    def snapshot(self):
        with self.lock:
            return copy.deepcopy(self.entries)

    def clear(self):
        with self.lock:
            self.entries = []

    def close(self):
        if self.file:
            self.file.close()


def write_port_file(path, port):
    """Writes 'PORT\\n' to path atomically (temporary file, then rename)."""
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        f.write('%d\n' % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def serve_until_stopped(server, port_file, name, lifetime=LIFETIME_SECONDS):
    """Serves until SIGTERM/SIGINT or `lifetime` seconds; returns exit code 0.
    The signals are blocked in every thread and collected with sigtimedwait,
    so no handler ever runs in the middle of a request."""
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    thread = threading.Thread(target=server.serve_forever, kwargs={'poll_interval': 0.2},
                              daemon=True)
    thread.start()
    write_port_file(port_file, server.server_address[1])
    if signal.sigtimedwait(stop_signals, lifetime) is None:
        print('%s: exiting after %d s' % (name, lifetime), file=sys.stderr)
    server.shutdown()
    server.server_close()
    return 0


# ---------------------------------------------------------------------------
# Kubernetes objects and validation
# ---------------------------------------------------------------------------

DEFAULT_PROVIDER_ID = ('azure:///subscriptions/00000000-0000-0000-0000-000000000000'
                       '/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute'
                       '/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0')
PROTECTED_DOMAINS = ('kubernetes.io', 'k8s.io', 'kubernetes.azure.com')
CONDITION_FIELDS = ('type', 'status', 'lastHeartbeatTime', 'lastTransitionTime', 'reason', 'message')
CONDITION_TIME_FIELDS = ('lastHeartbeatTime', 'lastTransitionTime')
CONDITION_STATUSES = ('True', 'False', 'Unknown')
EVENT_FIELDS = ('apiVersion', 'kind', 'metadata', 'involvedObject', 'reason', 'message', 'source',
                'firstTimestamp', 'lastTimestamp', 'count', 'type', 'eventTime', 'series',
                'action', 'related', 'reportingComponent', 'reportingInstance')
EVENT_PATCHABLE_FIELDS = ('count', 'lastTimestamp', 'message')
EVENT_TYPES = ('Normal', 'Warning')
MAX_ANNOTATIONS_BYTES = 256 * 1024

QUALIFIED_NAME_RE = re.compile(r'[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?')
LABEL_VALUE_RE = re.compile(r'([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?')
DNS_SUBDOMAIN_RE = re.compile(r'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')
RFC3339_RE = re.compile(r'(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?'
                        r'([Zz]|[+-]\d{2}:\d{2})')


def now_rfc3339():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def normalize_time(value):
    """An RFC 3339 string as the API server stores it (UTC, whole seconds),
    or None when `value` is not RFC 3339."""
    match = RFC3339_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    zone = match.group(8)
    if zone in ('Z', 'z'):
        offset = timedelta(0)
    else:
        sign = -1 if zone[0] == '-' else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    try:
        stamp = datetime(*[int(g) for g in match.groups()[:6]], tzinfo=timezone(offset))
    except ValueError:
        return None
    return stamp.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def is_dns_subdomain(name):
    return isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN_RE.fullmatch(name) is not None


def qualified_name_problem(key):
    """Why `key` is not a valid label/annotation key, or None."""
    parts = key.split('/')
    if len(parts) > 2:
        return 'a qualified name must have at most one "/"'
    name = parts[-1]
    if len(parts) == 2 and not is_dns_subdomain(parts[0]):
        return 'prefix part must be a lowercase RFC 1123 subdomain'
    if not name or len(name) > 63 or QUALIFIED_NAME_RE.fullmatch(name) is None:
        return 'name part must be 1-63 alphanumerics, "-", "_" or ".", starting and ending alphanumeric'
    return None


def label_value_problem(value):
    if len(value) > 63 or LABEL_VALUE_RE.fullmatch(value) is None:
        return 'a label value must be at most 63 alphanumerics, "-", "_" or ".", starting and ending alphanumeric'
    return None


def is_protected_key(key):
    """kubernetes.io/, k8s.io/, kubernetes.azure.com/ and their subdomains
    (node.kubernetes.io/...) belong to Kubernetes and AKS, never to the agent."""
    if '/' not in key:
        return False
    prefix = key.split('/', 1)[0].lower()
    return any(prefix == d or prefix.endswith('.' + d) for d in PROTECTED_DOMAINS)


def check_known_fields(obj, allowed, where):
    unknown = sorted(k for k in obj if k not in allowed)
    if unknown:
        raise HttpError(422, '%s: unknown or unsupported field(s) %s (this fake accepts only %s)'
                        % (where or 'body', ', '.join(unknown), ', '.join(allowed)))


def check_type_meta(obj, kind):
    if 'apiVersion' in obj and obj['apiVersion'] != 'v1':
        raise HttpError(400, 'apiVersion %r does not match "v1"' % obj['apiVersion'])
    if 'kind' in obj and obj['kind'] != kind:
        raise HttpError(400, 'kind %r does not match %r' % (obj['kind'], kind))


def conflict(node):
    name = node['metadata']['name']
    return HttpError(409, 'Operation cannot be fulfilled on nodes "%s": the object has been modified; '
                     'please apply your changes to the latest version and try again' % name,
                     reason='Conflict', details={'name': name, 'kind': 'nodes'})


def check_patch_metadata(node, patch, extra_fields):
    """metadata in a Node patch: name must match, resourceVersion is a precondition."""
    if 'metadata' not in patch:
        return {}
    meta = require_object(patch['metadata'], 'metadata')
    check_known_fields(meta, ('name', 'resourceVersion') + extra_fields, 'metadata')
    if 'name' in meta and meta['name'] != node['metadata']['name']:
        raise HttpError(400, 'metadata.name %r does not match the name in the URL' % meta['name'])
    if 'resourceVersion' in meta and meta['resourceVersion'] != node['metadata']['resourceVersion']:
        raise conflict(node)
    return meta


def initial_node(name, provider_id):
    now = now_rfc3339()

    def condition(ctype, status, reason, message):
        return {'type': ctype, 'status': status, 'lastHeartbeatTime': now,
                'lastTransitionTime': now, 'reason': reason, 'message': message}

    return {
        'apiVersion': 'v1',
        'kind': 'Node',
        'metadata': {
            'name': name,
            'uid': str(uuid.uuid4()),
            'resourceVersion': '1',
            'creationTimestamp': now,
            'labels': {'kubernetes.io/os': 'linux', 'kubernetes.azure.com/agentpool': 'nodepool1'},
            'annotations': {},
        },
        'spec': {'providerID': provider_id} if provider_id else {},
        'status': {'conditions': [
            condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory',
                      'kubelet has sufficient memory available'),
            condition('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
        ]},
    }


# --- PATCH /api/v1/nodes/NAME/status: strategic merge of status.conditions --

def condition_patch_fields(item, where):
    """The fields of one condition patch item, type-checked, times normalised."""
    require_object(item, where)
    ctype = item.get('type')
    if not isinstance(ctype, str) or not ctype:
        raise HttpError(422, '%s.type: Required value (the merge key of status.conditions)' % where)
    fields = {}
    for key, value in item.items():
        if key == '$patch':
            continue
        if key not in CONDITION_FIELDS:
            raise HttpError(422, '%s: unknown field %r (a NodeCondition has %s)'
                            % (where, key, ', '.join(CONDITION_FIELDS)))
        if value is not None and not isinstance(value, str):
            raise HttpError(400, '%s.%s: must be a string' % (where, key))
        if value is not None and key in CONDITION_TIME_FIELDS:
            value = normalize_time(value)
            if value is None:
                raise HttpError(400, '%s.%s: %r is not an RFC 3339 time' % (where, key, item[key]))
        if key == 'status' and value is not None and value not in CONDITION_STATUSES:
            raise HttpError(422, '%s.status: Unsupported value %r: supported values: %s'
                            % (where, value, ', '.join(CONDITION_STATUSES)))
        fields[key] = value
    return fields


def find_condition(conditions, ctype):
    for index, condition in enumerate(conditions):
        if condition.get('type') == ctype:
            return index
    return None


def merge_conditions(current, patch_list):
    """Strategic merge of a conditions list (merge key `type`); None when
    the patch deletes the whole list."""
    if patch_list is None:
        return None
    if not isinstance(patch_list, list):
        raise HttpError(400, 'status.conditions: must be a list')
    merged = copy.deepcopy(current)
    for index, item in enumerate(patch_list):
        where = 'status.conditions[%d]' % index
        fields = condition_patch_fields(item, where)
        position = find_condition(merged, fields['type'])
        directive = item.get('$patch')
        if directive == 'delete':
            if position is not None:
                del merged[position]
        elif directive is not None:
            raise HttpError(400, '%s: $patch %r is not supported by this fake (only "delete")'
                            % (where, directive))
        elif position is None:
            merged.append({k: v for k, v in fields.items() if v is not None})
        else:
            merge_map(merged[position], fields)
    for condition in merged:
        if 'status' not in condition:
            raise HttpError(422, 'status.conditions[type=%s].status: Required value' % condition['type'])
    return merged


def merge_map(target, patch):
    """Shallow merge where None deletes the key (RFC 7386 on flat maps)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def apply_status_patch(node, patch):
    require_object(patch, 'body')
    check_type_meta(patch, 'Node')
    check_known_fields(patch, ('apiVersion', 'kind', 'metadata', 'status'), '')
    check_patch_metadata(node, patch, ())
    if 'status' not in patch:
        return
    status = require_object(patch['status'], 'status')
    check_known_fields(status, ('conditions', '$setElementOrder/conditions'), 'status')
    if 'conditions' not in status:
        return
    conditions = merge_conditions(node['status'].get('conditions', []), status['conditions'])
    if conditions is None:
        node['status'].pop('conditions', None)
    else:
        node['status']['conditions'] = conditions


# --- PATCH /api/v1/nodes/NAME: labels and annotations ----------------------

def check_map_patch_keys(field, current, patch):
    """Protected keys may not be touched; keys being set must be valid."""
    touched = list(current) if patch is None else list(patch)
    protected = sorted(k for k in touched if is_protected_key(k))
    if protected:
        raise HttpError(422, 'metadata.%s: Forbidden: keys reserved for Kubernetes/AKS may not be '
                        'changed by hostenc: %s' % (field, ', '.join(protected)))
    for key, value in (patch or {}).items():
        if value is None:
            continue
        problem = qualified_name_problem(key if field == 'labels' else key.lower())
        if problem is None and field == 'labels':
            problem = label_value_problem(value)
        if problem:
            raise HttpError(422, 'metadata.%s: Invalid value: %r: %s' % (field, key, problem))


def patch_string_map(field, current, patch, strategic):
    """RFC 7386 merge of a map of strings (strategic merge is the same for
    labels and annotations, minus $-directives, which the fake refuses)."""
    if patch is not None:
        require_object(patch, 'metadata.' + field)
        for key, value in patch.items():
            if strategic and key.startswith('$'):
                raise HttpError(400, 'metadata.%s: directive %r is not supported by this fake'
                                % (field, key))
            if value is not None and not isinstance(value, str):
                raise HttpError(400, 'metadata.%s[%s]: must be a string or null' % (field, key))
    check_map_patch_keys(field, current, patch)
    merged = {} if patch is None else dict(current)
    merge_map(merged, patch or {})
    return merged


def apply_metadata_patch(node, patch, strategic):
    require_object(patch, 'body')
    check_type_meta(patch, 'Node')
    check_known_fields(patch, ('apiVersion', 'kind', 'metadata'), '')
    meta = check_patch_metadata(node, patch, ('labels', 'annotations'))
    for field in ('labels', 'annotations'):
        if field in meta:
            node['metadata'][field] = patch_string_map(
                field, node['metadata'].get(field, {}), meta[field], strategic)
    size = sum(len(k) + len(v) for k, v in node['metadata'].get('annotations', {}).items())
    if size > MAX_ANNOTATIONS_BYTES:
        raise HttpError(422, 'metadata.annotations: Too long: must have at most %d bytes'
                        % MAX_ANNOTATIONS_BYTES)


# --- Events ----------------------------------------------------------------

def event_metadata_problems(meta, namespace):
    if not isinstance(meta, dict):
        return ['metadata: Required value']
    problems = []
    name, generate = meta.get('name'), meta.get('generateName')
    if not name and not generate:
        problems.append('metadata.name: Required value: name or generateName is required')
    if name and not is_dns_subdomain(name):
        problems.append('metadata.name: Invalid value: %r: must be a lowercase RFC 1123 subdomain' % (name,))
    if generate and not is_dns_subdomain(generate.rstrip('.-') if isinstance(generate, str) else None):
        problems.append('metadata.generateName: Invalid value: %r' % (generate,))
    if meta.get('namespace') not in (None, '', namespace):
        raise HttpError(400, 'the namespace of the provided object does not match the namespace '
                        'sent on the request')
    return problems


def involved_object_problems(involved, namespace, node_name):
    if not isinstance(involved, dict):
        return ['involvedObject: Required value']
    problems = []
    if involved.get('kind') != 'Node':
        problems.append('involvedObject.kind: Invalid value: %r: must be "Node"' % (involved.get('kind'),))
    if involved.get('name') != node_name:
        problems.append('involvedObject.name: Invalid value: %r: must be this node (%r)'
                        % (involved.get('name'), node_name))
    return problems


# The API server's own rules for an Event created through core/v1, from
# kubernetes pkg/apis/core/validation/events.go (ValidateEventCreate: a
# core/v1 or events.k8s.io/v1beta1 create gets legacyValidateEvent only).
EVENT_REPORTING_INSTANCE_MAX = 128   # ReportingInstanceLengthLimit
EVENT_ACTION_MAX = 128               # ActionLengthLimit
EVENT_REASON_MAX = 128               # ReasonLengthLimit
EVENT_NOTE_MAX = 1024                # NoteLengthLimit
MICROTIME_RE = re.compile(r'\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})')


def legacy_event_problems(event, namespace):
    """legacyValidateEvent: without eventTime, an Event about an object with
    no namespace (a Node) lives in "" or "default"; with eventTime, in
    "default" or "kube-system", and reportingController (JSON
    reportingComponent), reportingInstance, action and reason are required
    and bounded."""
    problems = []
    involved = event.get('involvedObject') if isinstance(event.get('involvedObject'), dict) else {}
    object_namespace = involved.get('namespace') or ''
    event_time = event.get('eventTime')
    mismatch = 'involvedObject.namespace: Invalid value: %r: does not match event.namespace' % object_namespace
    if not event_time:
        if object_namespace == '' and namespace not in ('', 'default'):
            problems.append(mismatch)
        elif object_namespace and namespace != object_namespace:
            problems.append(mismatch)
        return problems
    if not isinstance(event_time, str) or MICROTIME_RE.fullmatch(event_time) is None:
        # metav1.MicroTime parses exactly RFC3339Micro; anything else fails decoding.
        raise HttpError(400, 'eventTime: cannot parse %r as "2006-01-02T15:04:05.000000Z07:00"' % (event_time,))
    if object_namespace == '' and namespace not in ('default', 'kube-system'):
        problems.append(mismatch)
    controller = event.get('reportingComponent') or ''
    if not controller:
        problems.append('reportingController: Required value')
    elif qualified_name_problem(controller):
        problems.append('reportingController: Invalid value: %r: %s' % (controller, qualified_name_problem(controller)))
    for key, json_key, limit in (('reportingInstance', 'reportingInstance', EVENT_REPORTING_INSTANCE_MAX),
                                 ('action', 'action', EVENT_ACTION_MAX), ('reason', 'reason', EVENT_REASON_MAX)):
        value = event.get(json_key) or ''
        if not value:
            problems.append('%s: Required value' % key)
        elif len(value) > limit:
            problems.append('%s: Invalid value: can have at most %d characters' % (key, limit))
    if isinstance(event.get('message'), str) and len(event['message']) > EVENT_NOTE_MAX:
        problems.append('message: Invalid value: can have at most %d characters' % EVENT_NOTE_MAX)
    return problems


def event_body_problems(event):
    problems = []
    if event.get('type') not in EVENT_TYPES:
        problems.append('type: Unsupported value: %r: supported values: Normal, Warning' % (event.get('type'),))
    if not isinstance(event.get('reason'), str) or not event['reason']:
        problems.append('reason: Required value')
    if not isinstance(event.get('message'), str):
        problems.append('message: Required value: must be a string')
    source = event.get('source')
    if not isinstance(source, dict) or not isinstance(source.get('component'), str) or not source['component']:
        problems.append('source.component: Required value')
    count = event.get('count')
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 0):
        problems.append('count: Invalid value: %r: must be a non-negative integer' % (count,))
    for key in ('firstTimestamp', 'lastTimestamp'):
        if event.get(key) is not None and normalize_time(event[key]) is None:
            problems.append('%s: Invalid value: %r: not an RFC 3339 time' % (key, event[key]))
    return problems


def validate_new_event(event, namespace, node_name):
    require_object(event, 'body')
    if event.get('kind') != 'Event':
        raise HttpError(400, 'kind: must be "Event", got %r' % (event.get('kind'),))
    check_type_meta(event, 'Event')
    check_known_fields(event, EVENT_FIELDS, '')
    problems = (event_metadata_problems(event.get('metadata'), namespace)
                + involved_object_problems(event.get('involvedObject'), namespace, node_name)
                + legacy_event_problems(event, namespace)
                + event_body_problems(event))
    if not is_dns_subdomain(namespace):
        problems.append('namespace: Invalid value: %r: a lowercase RFC 1123 subdomain' % (namespace,))
    if problems:
        meta = event.get('metadata')
        name = meta.get('name') if isinstance(meta, dict) else None
        raise HttpError(422, 'Event %r is invalid: %s' % (name, '; '.join(problems)),
                        details={'name': name, 'kind': 'events'})
    for key in ('firstTimestamp', 'lastTimestamp'):
        if event.get(key) is not None:
            event[key] = normalize_time(event[key])


def apply_event_patch(event, patch):
    require_object(patch, 'body')
    check_known_fields(patch, EVENT_PATCHABLE_FIELDS, '')
    for key, value in patch.items():
        if value is None:
            event.pop(key, None)
            continue
        if key == 'count' and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise HttpError(422, 'count: Invalid value: %r: must be a non-negative integer' % (value,))
        if key == 'lastTimestamp':
            value = normalize_time(value)
            if value is None:
                raise HttpError(422, 'lastTimestamp: Invalid value: %r: not an RFC 3339 time' % (patch[key],))
        if key == 'message' and not isinstance(value, str):
            raise HttpError(422, 'message: must be a string')
        event[key] = value


def random_suffix():
    return ''.join(random.choice(string.ascii_lowercase + string.digits) for _ in range(5))


# ---------------------------------------------------------------------------
# Server state
# ---------------------------------------------------------------------------

class KubeState:
    """Everything mutable in the fake (the Node, Events, failure rules, the
    request log), guarded by one lock."""

    def __init__(self, node_name, provider_id, token_file, log_path):
        self.lock = threading.Lock()
        self.node_name = node_name
        self.token_file = token_file
        self.node = initial_node(node_name, provider_id)
        self.events = []
        self.event_resource_version = 0
        self.failure_rules = []
        self.log = RequestLog(log_path, self.lock)

    # -- request entry point --------------------------------------------------

    def handle(self, request):
        if request.path.startswith('/_fake/'):
            return guarded(lambda: self.serve_control(request), status_reply)
        request.auth_ok = bearer_token_matches(request.headers.get('Authorization'), self.token_file)
        reply = guarded(lambda: self.serve_api(request), status_reply)
        self.log.append(RequestLog.entry(request, reply.code))
        return reply

    def serve_control(self, request):
        if request.framing_error is not None:
            raise request.framing_error
        return route(CONTROL_ROUTES, self, request)

    def serve_api(self, request):
        if not request.auth_ok:
            raise HttpError(401, 'Unauthorized')
        if request.framing_error is not None:
            raise request.framing_error
        rule = self.take_failure(request.method, request.path)
        if rule is not None and rule.get('delay'):
            time.sleep(rule['delay'])  # outside the lock: other requests go on
        if rule is not None and rule.get('status') is not None:
            return injected_failure_reply(rule)
        return route(API_ROUTES, self, request)

    # -- failure rules --------------------------------------------------------

    def add_failure(self, rule):
        with self.lock:
            self.failure_rules.append(rule)

    def failures(self):
        with self.lock:
            return copy.deepcopy(self.failure_rules)

    def clear_failures(self):
        with self.lock:
            self.failure_rules = []

    def take_failure(self, method, path):
        """Consumes one use of the first queued rule matching this request."""
        with self.lock:
            for rule in self.failure_rules:
                if path.startswith(rule['path_prefix']) and rule.get('method') in (None, method):
                    rule['count'] -= 1
                    if rule['count'] == 0:
                        self.failure_rules.remove(rule)
                    return dict(rule)
        return None

    # -- the Node -------------------------------------------------------------

    def _require_node(self, name):
        if name != self.node_name:
            raise HttpError(404, 'nodes "%s" not found' % name, details={'name': name, 'kind': 'nodes'})

    def get_node(self, name):
        with self.lock:
            self._require_node(name)
            return copy.deepcopy(self.node)

    def update_node(self, name, apply_patch):
        """Runs apply_patch on a copy of the Node; commits it and bumps
        resourceVersion only if something changed (a no-op patch does not)."""
        with self.lock:
            self._require_node(name)
            candidate = copy.deepcopy(self.node)
            apply_patch(candidate)
            if candidate != self.node:
                version = int(self.node['metadata']['resourceVersion']) + 1
                candidate['metadata']['resourceVersion'] = str(version)
                self.node = candidate
            return copy.deepcopy(self.node)

    # -- Events ---------------------------------------------------------------

    def _find_event(self, namespace, name):
        """Index of the event in self.events, or None."""
        for index, event in enumerate(self.events):
            if event['metadata']['namespace'] == namespace and event['metadata']['name'] == name:
                return index
        return None

    def _next_event_version(self):
        self.event_resource_version += 1
        return str(self.event_resource_version)

    def add_event(self, namespace, event):
        with self.lock:
            meta = event['metadata']
            if not meta.get('name'):
                meta['name'] = meta['generateName'] + random_suffix()
                while self._find_event(namespace, meta['name']) is not None:
                    meta['name'] = meta['generateName'] + random_suffix()
            if self._find_event(namespace, meta['name']) is not None:
                raise HttpError(409, 'events "%s" already exists' % meta['name'], reason='AlreadyExists',
                                details={'name': meta['name'], 'kind': 'events'})
            meta.update({'namespace': namespace, 'uid': str(uuid.uuid4()),
                         'resourceVersion': self._next_event_version(),
                         'creationTimestamp': now_rfc3339()})
            self.events.append(event)
            return copy.deepcopy(event)

    def update_event(self, namespace, name, patch):
        with self.lock:
            index = self._find_event(namespace, name)
            if index is None:
                raise HttpError(404, 'events "%s" not found' % name, details={'name': name, 'kind': 'events'})
            candidate = copy.deepcopy(self.events[index])
            apply_event_patch(candidate, patch)
            if candidate != self.events[index]:
                candidate['metadata']['resourceVersion'] = self._next_event_version()
                self.events[index] = candidate
            return copy.deepcopy(candidate)

    def events_snapshot(self):
        with self.lock:
            return copy.deepcopy(self.events)


def status_reply(error):
    """A Kubernetes Status object for an HttpError."""
    body = {'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure',
            'message': error.message, 'reason': error.reason or REASONS.get(error.code, 'Unknown'),
            'code': error.code}
    if error.details:
        body['details'] = error.details
    return Reply(error.code, body, error.headers)


def injected_failure_reply(rule):
    headers, details = {}, None
    if rule.get('retry_after') is not None:
        headers['Retry-After'] = str(rule['retry_after'])
        details = {'retryAfterSeconds': rule['retry_after']}
    return status_reply(HttpError(rule['status'], 'injected failure (fake_kube /_fake/fail)',
                                  details=details, headers=headers))


# ---------------------------------------------------------------------------
# API endpoints
# ---------------------------------------------------------------------------

def api_get_node(state, request, name):
    return Reply(200, state.get_node(name))


def api_patch_node_status(state, request, name):
    require_content_type(request, (STRATEGIC_MERGE_PATCH,))
    patch = request.json()
    return Reply(200, state.update_node(name, lambda node: apply_status_patch(node, patch)))


def api_patch_node(state, request, name):
    require_content_type(request, (MERGE_PATCH, STRATEGIC_MERGE_PATCH))
    patch = request.json()
    strategic = request.content_type == STRATEGIC_MERGE_PATCH
    return Reply(200, state.update_node(name, lambda node: apply_metadata_patch(node, patch, strategic)))


def api_create_event(state, request, namespace):
    require_content_type(request, (JSON,))
    event = copy.deepcopy(request.json())  # validation normalises times; the log keeps what was sent
    validate_new_event(event, namespace, state.node_name)
    return Reply(201, state.add_event(namespace, event))


def api_patch_event(state, request, namespace, name):
    require_content_type(request, (STRATEGIC_MERGE_PATCH, MERGE_PATCH))
    return Reply(200, state.update_event(namespace, name, request.json()))


API_ROUTES = (
    (re.compile(r'/api/v1/nodes/([^/]+)'), {'GET': api_get_node, 'PATCH': api_patch_node}),
    (re.compile(r'/api/v1/nodes/([^/]+)/status'), {'PATCH': api_patch_node_status}),
    (re.compile(r'/api/v1/namespaces/([^/]+)/events'), {'POST': api_create_event}),
    (re.compile(r'/api/v1/namespaces/([^/]+)/events/([^/]+)'), {'PATCH': api_patch_event}),
)


# ---------------------------------------------------------------------------
# Control endpoints (/_fake/, no auth, not logged)
# ---------------------------------------------------------------------------

def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def parse_failure_rule(body):
    require_object(body, 'body')
    allowed = ('path_prefix', 'status', 'count', 'retry_after', 'method', 'delay')
    unknown = sorted(k for k in body if k not in allowed)
    if unknown:
        raise HttpError(400, 'unknown field(s) %s; allowed: %s' % (', '.join(unknown), ', '.join(allowed)))
    rule = {'path_prefix': body.get('path_prefix'), 'status': body.get('status'),
            'count': body.get('count', 1), 'retry_after': body.get('retry_after'),
            'method': body.get('method'), 'delay': body.get('delay')}
    if not isinstance(rule['path_prefix'], str) or not rule['path_prefix'].startswith('/'):
        raise HttpError(400, 'path_prefix: required, a string starting with "/"')
    delay = rule['delay']
    if delay is not None and (isinstance(delay, bool) or not isinstance(delay, (int, float))
                              or not 0 <= delay <= MAX_DELAY_SECONDS):
        raise HttpError(400, 'delay: a number of seconds 0..%d' % MAX_DELAY_SECONDS)
    # A delay-only rule slows the request down, then the API answers it.
    if not (rule['status'] is None and delay is not None) and (
            not is_int(rule['status']) or not 400 <= rule['status'] <= 599):
        raise HttpError(400, 'status: required (unless delay is given), an integer 400..599')
    if not is_int(rule['count']) or rule['count'] < 1:
        raise HttpError(400, 'count: an integer >= 1')
    if rule['retry_after'] is not None and (not is_int(rule['retry_after']) or rule['retry_after'] < 0):
        raise HttpError(400, 'retry_after: an integer >= 0 (seconds)')
    if rule['method'] is not None:
        if not isinstance(rule['method'], str):
            raise HttpError(400, 'method: a string such as "PATCH"')
        rule['method'] = rule['method'].upper()
    return rule


def control_add_failure(state, request):
    rule = parse_failure_rule(request.json())
    state.add_failure(rule)
    return Reply(200, {'queued': rule, 'rules': state.failures()})


def control_list_failures(state, request):
    return Reply(200, state.failures())


def control_clear_failures(state, request):
    state.clear_failures()
    return Reply(200, [])


def control_requests(state, request):
    return Reply(200, state.log.snapshot())


def control_reset_log(state, request):
    state.log.clear()
    return Reply(200, {'cleared': True})


def control_node(state, request):
    return Reply(200, state.get_node(state.node_name))


def control_events(state, request):
    return Reply(200, state.events_snapshot())


CONTROL_ROUTES = (
    (re.compile(r'/_fake/fail'), {'POST': control_add_failure, 'GET': control_list_failures,
                                  'DELETE': control_clear_failures}),
    (re.compile(r'/_fake/requests'), {'GET': control_requests}),
    (re.compile(r'/_fake/reset_log'), {'POST': control_reset_log}),
    (re.compile(r'/_fake/node'), {'GET': control_node}),
    (re.compile(r'/_fake/events'), {'GET': control_events}),
)


# ---------------------------------------------------------------------------

class KubeHandler(JsonHandler):
    server_version = 'fake-kube/1'


def parse_args(argv):
    parser = argparse.ArgumentParser(description='Test-only fake Kubernetes API server (plain HTTP, 127.0.0.1).')
    parser.add_argument('--port-file', required=True, help='written with the port number once listening')
    parser.add_argument('--token-file', required=True, help='bearer token, re-read on every request')
    parser.add_argument('--node', required=True, help='name of the one Node')
    parser.add_argument('--provider-id', default=DEFAULT_PROVIDER_ID,
                        help='spec.providerID ("" leaves it out)')
    parser.add_argument('--log', help='append one JSON line per API request')
    parser.add_argument('--lifetime', type=int, default=LIFETIME_SECONDS,
                        help='exit by itself after this many seconds (default %(default)s)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    server = ThreadingHTTPServer(('127.0.0.1', 0), KubeHandler)
    server.state = KubeState(args.node, args.provider_id, args.token_file, args.log)
    try:
        return serve_until_stopped(server, args.port_file, 'fake_kube', lifetime=args.lifetime)
    finally:
        server.state.log.close()


if __name__ == '__main__':
    sys.exit(main())
