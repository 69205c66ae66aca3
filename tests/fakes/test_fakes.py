#!/usr/bin/env python3
"""Tests of the test-only fakes (fake_kube.py, fake_collector.py), so they
are known to behave before the agent's integration tests rely on them.
Each fake runs as a subprocess of the interpreter running these tests and is
driven with urllib.request. Standard library only.

    python3 -m unittest tests/fakes/test_fakes.py
"""

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_kube  # noqa: E402

NODE = 'aks-node-0'
SMP = 'application/strategic-merge-patch+json'
MERGE = 'application/merge-patch+json'
JSON = 'application/json'
DSSE = 'application/vnd.in-toto+dsse+json'

# Never send loopback requests through a proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(url, method='GET', body=None, content_type=None, token=None, headers=None):
    """(status, headers, parsed JSON body); 4xx/5xx do not raise."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if content_type:
        request.add_header('Content-Type', content_type)
    if token is not None:
        request.add_header('Authorization', 'Bearer ' + token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b'null')
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.headers, json.loads(e.read() or b'null')


def write_file(path, text):
    with open(path, 'w') as f:
        f.write(text)


class FakeProcess:
    """Runs one fake with this interpreter; stop() returns its exit code."""

    def __init__(self, script, args, workdir):
        self.port_file = os.path.join(workdir, script + '.port')
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, script), '--port-file', self.port_file] + list(args),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError('%s did not start: %s' % (script, self.proc.communicate()[1]))
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port_text = f.read()
        self.base = 'http://127.0.0.1:%d' % int(self.port_text)

    def url(self, path):
        return self.base + path

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            _, self.stderr = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return None
        return self.proc.returncode


class TempDirTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='hostenc-fakes-')
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)


# ---------------------------------------------------------------------------

class FakeKubeTest(TempDirTest):

    def setUp(self):
        super().setUp()
        write_file(self.path('token'), '  token-1\n')
        self.token = 'token-1'
        self.kube = FakeProcess('fake_kube.py', ['--token-file', self.path('token'), '--node', NODE,
                                                 '--provider-id', 'azure:///x/vm/0',
                                                 '--log', self.path('kube.log')], self.dir)
        self.addCleanup(self.stop_cleanly)

    def stop_cleanly(self):
        self.assertEqual(self.kube.stop(), 0)

    def api(self, method, path, body=None, content_type=None, token='default'):
        return call(self.kube.url(path), method, body, content_type,
                    self.token if token == 'default' else token)

    def node(self):
        return call(self.kube.url('/_fake/node'))[2]

    def rv(self):
        return int(self.node()['metadata']['resourceVersion'])

    def patch_status(self, *conditions):
        return self.api('PATCH', '/api/v1/nodes/%s/status' % NODE,
                        {'status': {'conditions': list(conditions)}}, SMP)

    def patch_metadata(self, metadata, content_type=MERGE):
        return self.api('PATCH', '/api/v1/nodes/' + NODE, {'metadata': metadata}, content_type)

    def condition(self, ctype):
        return next((c for c in self.node()['status']['conditions'] if c['type'] == ctype), None)

    # -- reads and auth -------------------------------------------------------

    def test_port_file_is_port_and_newline(self):
        self.assertRegex(self.kube.port_text, r'^[0-9]+\n$')

    def test_get_node(self):
        code, headers, node = self.api('GET', '/api/v1/nodes/%s?resourceVersion=0' % NODE)
        self.assertEqual(code, 200)
        self.assertEqual(headers['Content-Type'], 'application/json')
        self.assertEqual((node['apiVersion'], node['kind']), ('v1', 'Node'))
        self.assertEqual(node['metadata']['name'], NODE)
        self.assertTrue(node['metadata']['uid'])
        self.assertEqual(node['metadata']['resourceVersion'], '1')
        self.assertEqual(node['metadata']['labels'], {'kubernetes.io/os': 'linux',
                                                      'kubernetes.azure.com/agentpool': 'nodepool1'})
        self.assertEqual(node['metadata']['annotations'], {})
        self.assertEqual(node['spec'], {'providerID': 'azure:///x/vm/0'})
        self.assertEqual(sorted(c['type'] for c in node['status']['conditions']), ['MemoryPressure', 'Ready'])

    def test_unauthorized_without_or_with_wrong_token(self):
        for token in (None, 'wrong', ''):
            with self.subTest(token=token):
                code, _, body = self.api('GET', '/api/v1/nodes/' + NODE, token=token)
                self.assertEqual(code, 401)
                self.assertEqual({k: body[k] for k in ('kind', 'apiVersion', 'status', 'reason', 'code')},
                                 {'kind': 'Status', 'apiVersion': 'v1', 'status': 'Failure',
                                  'reason': 'Unauthorized', 'code': 401})

    def test_token_rotation(self):
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)
        write_file(self.path('token'), 'token-2\n')
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 401)
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE, token='token-2')[0], 200)
        os.remove(self.path('token'))
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE, token='token-2')[0], 401)

    def test_not_found_and_method_not_allowed(self):
        code, _, body = self.api('GET', '/api/v1/nodes/other-node')
        self.assertEqual((code, body['reason']), (404, 'NotFound'))
        self.assertEqual(self.api('GET', '/apis/apps/v1/deployments')[0], 404)
        code, headers, body = self.api('DELETE', '/api/v1/nodes/' + NODE)
        self.assertEqual((code, body['reason'], headers['Allow']), (405, 'MethodNotAllowed', 'GET, PATCH'))
        self.assertEqual(self.api('GET', '/api/v1/namespaces/default/events')[0], 405)

    # -- status conditions ----------------------------------------------------

    def test_status_strategic_merge(self):
        code, _, node = self.patch_status({'type': 'EncryptionAtHostNonCompliant', 'status': 'False',
                                           'reason': 'EncryptionAtHostEnabled', 'message': 'ok',
                                           'lastTransitionTime': '2024-05-01T12:00:00.5+02:00'})
        self.assertEqual((code, node['metadata']['resourceVersion']), (200, '2'))
        self.assertEqual([c['type'] for c in node['status']['conditions']],
                         ['MemoryPressure', 'Ready', 'EncryptionAtHostNonCompliant'])
        ours = self.condition('EncryptionAtHostNonCompliant')
        self.assertEqual(ours['lastTransitionTime'], '2024-05-01T10:00:00Z')  # stored as the API does

        # An existing type: only the given fields change; null deletes a field.
        self.patch_status({'type': 'EncryptionAtHostNonCompliant', 'status': 'True', 'message': None})
        ours = self.condition('EncryptionAtHostNonCompliant')
        self.assertEqual(ours, {'type': 'EncryptionAtHostNonCompliant', 'status': 'True',
                                'reason': 'EncryptionAtHostEnabled',
                                'lastTransitionTime': '2024-05-01T10:00:00Z'})
        self.assertEqual(self.rv(), 3)
        self.assertEqual(self.condition('Ready')['status'], 'True')

        # A patch that changes nothing does not bump resourceVersion.
        self.patch_status({'type': 'EncryptionAtHostNonCompliant', 'status': 'True'})
        self.assertEqual(self.rv(), 3)

        code, _, node = self.patch_status({'type': 'EncryptionAtHostNonCompliant', '$patch': 'delete'})
        self.assertEqual(code, 200)
        self.assertEqual([c['type'] for c in node['status']['conditions']], ['MemoryPressure', 'Ready'])
        self.assertEqual(self.rv(), 4)
        self.assertEqual(self.patch_status({'type': 'Absent', '$patch': 'delete'})[0], 200)
        self.assertEqual(self.rv(), 4)

    def test_status_patch_errors(self):
        path = '/api/v1/nodes/%s/status' % NODE
        good = {'status': {'conditions': [{'type': 'X', 'status': 'True'}]}}
        for content_type in (MERGE, JSON, 'application/json-patch+json'):
            with self.subTest(content_type=content_type):
                self.assertEqual(self.api('PATCH', path, good, content_type)[0], 415)
        self.assertEqual(self.api('PATCH', path, b'{not json', SMP)[0], 400)
        self.assertEqual(self.api('PATCH', path, b'', SMP)[0], 400)
        self.assertEqual(self.api('PATCH', path, [1], SMP)[0], 400)
        cases = [
            ({'spec': {'unschedulable': True}}, 422),
            ({'status': {'addresses': []}}, 422),
            ({'status': {'conditions': {'type': 'X'}}}, 400),
            ({'status': {'conditions': [{'status': 'True'}]}}, 422),
            ({'status': {'conditions': [{'type': 'X', 'status': 'true'}]}}, 422),
            ({'status': {'conditions': [{'type': 'X'}]}}, 422),
            ({'status': {'conditions': [{'type': 'X', 'status': 'True', 'lastTransitonTime': 'x'}]}}, 422),
            ({'status': {'conditions': [{'type': 'X', 'status': 'True', 'lastTransitionTime': 'now'}]}}, 400),
            ({'status': {'conditions': [{'type': 'X', 'status': 'True', 'reason': 5}]}}, 400),
            ({'status': {'conditions': [{'type': 'X', '$patch': 'replace'}]}}, 400),
            ({'metadata': {'resourceVersion': '0'}, 'status': {}}, 409),
            ({'kind': 'Pod'}, 400),
        ]
        for patch, expected in cases:
            with self.subTest(patch=patch):
                code, _, body = self.api('PATCH', path, patch, SMP)
                self.assertEqual(code, expected, body)
                self.assertEqual(body['kind'], 'Status')
        self.assertEqual(self.rv(), 1)
        self.assertEqual(self.api('PATCH', '/api/v1/nodes/other/status', good, SMP)[0], 404)

    # -- labels and annotations -----------------------------------------------

    def test_merge_patch_sets_and_null_deletes(self):
        code, _, node = self.patch_metadata({
            'labels': {'hostenc.dev/encryption-at-host': 'compliant'},
            'annotations': {'hostenc.dev/evidence-sha256': 'ab' * 32,
                            'hostenc.dev/evidence-time': '2024-05-01T10:00:00Z'}})
        self.assertEqual(code, 200)
        self.assertEqual(node['metadata']['labels']['hostenc.dev/encryption-at-host'], 'compliant')
        self.assertEqual(node['metadata']['labels']['kubernetes.io/os'], 'linux')
        self.assertEqual(len(node['metadata']['annotations']), 2)
        self.assertEqual(node['metadata']['resourceVersion'], '2')

        code, _, node = self.patch_metadata({'labels': {'hostenc.dev/encryption-at-host': None},
                                             'annotations': {'hostenc.dev/evidence-time': None}})
        self.assertEqual(code, 200)
        self.assertNotIn('hostenc.dev/encryption-at-host', node['metadata']['labels'])
        self.assertEqual(list(node['metadata']['annotations']), ['hostenc.dev/evidence-sha256'])
        self.assertEqual(node['metadata']['resourceVersion'], '3')

    def test_strategic_merge_patch_on_metadata(self):
        code, _, node = self.patch_metadata({'labels': {'hostenc.dev/encryption-at-host': 'unknown'}}, SMP)
        self.assertEqual((code, node['metadata']['labels']['hostenc.dev/encryption-at-host']), (200, 'unknown'))
        code, _, node = self.patch_metadata({'labels': {'hostenc.dev/encryption-at-host': None}}, SMP)
        self.assertNotIn('hostenc.dev/encryption-at-host', node['metadata']['labels'])
        self.assertEqual(self.patch_metadata({'labels': {'$patch': 'replace'}}, SMP)[0], 400)

    def test_protected_keys_are_rejected(self):
        attempts = [
            {'labels': {'kubernetes.io/os': None}},
            {'labels': {'kubernetes.io/os': 'linux'}},
            {'labels': {'k8s.io/anything': 'x'}},
            {'labels': {'kubernetes.azure.com/agentpool': 'other'}},
            {'labels': {'node.kubernetes.io/exclude-from-external-load-balancers': 'true'}},
            {'annotations': {'kubernetes.io/description': 'x'}},
            {'annotations': {'kubernetes.azure.com/x': None}},
            {'labels': None},
            {'labels': {'hostenc.dev/ok': 'yes', 'kubernetes.io/hostname': NODE}},
        ]
        for metadata in attempts:
            for content_type in (MERGE, SMP):
                with self.subTest(metadata=metadata, content_type=content_type):
                    code, _, body = self.patch_metadata(metadata, content_type)
                    self.assertEqual((code, body['reason']), (422, 'Invalid'), body)
        node = self.node()
        self.assertEqual(node['metadata']['resourceVersion'], '1')
        self.assertNotIn('hostenc.dev/ok', node['metadata']['labels'])

    def test_metadata_patch_errors(self):
        path = '/api/v1/nodes/' + NODE
        self.assertEqual(self.api('PATCH', path, {'metadata': {}}, 'application/json-patch+json')[0], 415)
        self.assertEqual(self.api('PATCH', path, b'nope', MERGE)[0], 400)
        cases = [
            ({'metadata': {'labels': {'hostenc.dev/x': 'has space'}}}, 422),
            ({'metadata': {'labels': {'hostenc.dev/x': 'x' * 64}}}, 422),
            ({'metadata': {'labels': {'Bad_Prefix.dev/x': 'v'}}}, 422),
            ({'metadata': {'labels': {'hostenc.dev/x': 1}}}, 400),
            ({'metadata': {'annotations': ['x']}}, 400),
            ({'metadata': {'finalizers': ['x']}}, 422),
            ({'spec': {'providerID': 'x'}}, 422),
            ({'metadata': {'name': 'other'}}, 400),
            ({'metadata': {'resourceVersion': '7', 'labels': {'hostenc.dev/x': 'v'}}}, 409),
        ]
        for patch, expected in cases:
            with self.subTest(patch=patch):
                self.assertEqual(self.api('PATCH', path, patch, MERGE)[0], expected)
        self.assertEqual(self.rv(), 1)
        code, _, _ = self.api('PATCH', path, {'metadata': {'resourceVersion': '1', 'labels': {'hostenc.dev/x': 'v'}}},
                              MERGE)
        self.assertEqual(code, 200)

    # -- events -----------------------------------------------------------------

    def event(self, **overrides):
        event = {'apiVersion': 'v1', 'kind': 'Event',
                 'metadata': {'name': NODE + '.17a1b2c3d4e5f601', 'namespace': 'default'},
                 'involvedObject': {'kind': 'Node', 'name': NODE, 'uid': NODE, 'apiVersion': 'v1'},
                 'type': 'Warning', 'reason': 'EncryptionAtHostNonCompliant', 'message': 'disabled',
                 'source': {'component': 'hostenc', 'host': NODE}, 'count': 1,
                 'firstTimestamp': '2024-05-01T10:00:00Z', 'lastTimestamp': '2024-05-01T10:00:00Z'}
        event.update(overrides)
        return event

    def test_event_create_and_patch(self):
        code, _, created = self.api('POST', '/api/v1/namespaces/default/events', self.event(), JSON)
        self.assertEqual(code, 201)
        self.assertEqual(created['metadata']['namespace'], 'default')
        self.assertTrue(created['metadata']['uid'])
        self.assertEqual(self.api('POST', '/api/v1/namespaces/default/events', self.event(), JSON)[0], 409)

        name = created['metadata']['name']
        code, _, patched = self.api('PATCH', '/api/v1/namespaces/default/events/' + name,
                                    {'count': 2, 'lastTimestamp': '2024-05-01T10:10:00Z'}, SMP)
        self.assertEqual((code, patched['count'], patched['lastTimestamp']), (200, 2, '2024-05-01T10:10:00Z'))
        self.assertEqual(patched['firstTimestamp'], '2024-05-01T10:00:00Z')
        self.assertEqual(self.api('PATCH', '/api/v1/namespaces/default/events/unknown', {'count': 2}, SMP)[0], 404)
        self.assertEqual(self.api('PATCH', '/api/v1/namespaces/default/events/' + name, {'count': 2}, JSON)[0], 415)
        self.assertEqual(self.api('PATCH', '/api/v1/namespaces/default/events/' + name, {'reason': 'X'}, SMP)[0], 422)
        self.assertEqual(self.api('PATCH', '/api/v1/namespaces/default/events/' + name, {'count': -1}, SMP)[0], 422)

        recovered = self.event(metadata={'generateName': NODE + '.'}, type='Normal',
                               reason='EncryptionAtHostCompliant')
        code, _, second = self.api('POST', '/api/v1/namespaces/default/events', recovered, JSON)
        self.assertEqual(code, 201)
        self.assertTrue(second['metadata']['name'].startswith(NODE + '.'))

        events = call(self.kube.url('/_fake/events'))[2]
        self.assertEqual([(e['type'], e['reason'], e.get('count')) for e in events],
                         [('Warning', 'EncryptionAtHostNonCompliant', 2), ('Normal', 'EncryptionAtHostCompliant', 1)])

    def test_event_validation(self):
        path = '/api/v1/namespaces/default/events'
        cases = [
            (self.event(kind='Pod'), 400),
            ({k: v for k, v in self.event().items() if k != 'kind'}, 400),
            (self.event(involvedObject={'kind': 'Pod', 'name': NODE}), 422),
            (self.event(involvedObject={'kind': 'Node', 'name': 'other-node'}), 422),
            (self.event(type='Error'), 422),
            (self.event(reason=''), 422),
            ({k: v for k, v in self.event().items() if k != 'message'}, 422),
            (self.event(source={'host': NODE}), 422),
            (self.event(metadata={}), 422),
            (self.event(metadata={'name': 'Not_A_DNS_Name'}), 422),
            (self.event(metadata={'name': 'x', 'namespace': 'kube-system'}), 400),
            (self.event(lastTimestamp='yesterday'), 422),
            (self.event(bogus=1), 422),
        ]
        for event, expected in cases:
            with self.subTest(event=event):
                self.assertEqual(self.api('POST', path, event, JSON)[0], expected)
        self.assertEqual(self.api('POST', path, self.event(), SMP)[0], 415)
        # A Node (cluster-scoped) event must live in "default", as in a real cluster.
        code, _, body = self.api('POST', '/api/v1/namespaces/kube-system/events',
                                 self.event(metadata={'name': 'x'}), JSON)
        self.assertEqual(code, 422, body)
        self.assertEqual(call(self.kube.url('/_fake/events'))[2], [])

    def test_event_validation_with_event_time(self):
        """legacyValidateEvent (kubernetes pkg/apis/core/validation/events.go):
        with eventTime a Node event may also live in kube-system, never in any
        other namespace, and needs reportingComponent, reportingInstance,
        action and reason."""
        timed = dict(eventTime='2024-05-01T10:00:00.000000Z', action='Check', reportingComponent='hostenc',
                     reportingInstance=NODE)

        def post(ns, event):
            return self.api('POST', '/api/v1/namespaces/%s/events' % ns, event, JSON)[0]

        self.assertEqual(post('kube-system', self.event(metadata={'name': 'a'}, **timed)), 201)
        self.assertEqual(post('default', self.event(metadata={'name': 'b'}, **timed)), 201)
        self.assertEqual(post('monitoring', self.event(metadata={'name': 'c'}, **timed)), 422)
        self.assertEqual(post('monitoring', self.event(metadata={'name': 'd'})), 422)
        for key in ('action', 'reportingComponent', 'reportingInstance'):
            with self.subTest(missing=key):
                event = self.event(metadata={'name': 'e'}, **dict(timed, **{key: ''}))
                self.assertEqual(post('default', event), 422)
        self.assertEqual(post('default', self.event(metadata={'name': 'f'}, **dict(timed, reportingInstance='x' * 129))),
                         422)
        self.assertEqual(post('default', self.event(metadata={'name': 'g'}, **dict(timed, action='a' * 129))), 422)
        self.assertEqual(post('default', self.event(metadata={'name': 'h'},
                                                    **dict(timed, reportingComponent='not a name'))), 422)
        # MicroTime has exactly six fractional digits; whole seconds do not decode.
        self.assertEqual(post('default', self.event(metadata={'name': 'i'},
                                                    **dict(timed, eventTime='2024-05-01T10:00:00Z'))), 400)
        self.assertEqual(len(call(self.kube.url('/_fake/events'))[2]), 2)

    # -- failure injection and the request log -----------------------------------

    def test_failure_injection(self):
        status_path = '/api/v1/nodes/%s/status' % NODE
        fail = self.kube.url('/_fake/fail')
        self.assertEqual(call(fail, 'POST', {'path_prefix': status_path, 'status': 429,
                                             'count': 2, 'retry_after': 1})[0], 200)
        self.assertEqual(call(fail, 'POST', {'path_prefix': status_path, 'status': 503})[0], 200)
        self.assertEqual(len(call(fail)[2]), 2)

        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)  # other path: untouched
        self.assertEqual(self.api('PATCH', status_path, {}, SMP, token='wrong')[0], 401)  # auth first
        for _ in range(2):
            code, headers, body = self.api('PATCH', status_path, {}, SMP)
            self.assertEqual((code, headers['Retry-After'], body['reason']), (429, '1', 'TooManyRequests'))
            self.assertEqual(body['details']['retryAfterSeconds'], 1)
        code, headers, body = self.api('PATCH', status_path, {}, SMP)
        self.assertEqual((code, headers['Retry-After'], body['code']), (503, None, 503))
        self.assertEqual(self.api('PATCH', status_path, {}, SMP)[0], 200)
        self.assertEqual(call(fail)[2], [])

        call(fail, 'POST', {'path_prefix': '/api/', 'status': 500, 'method': 'post'})
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)
        self.assertEqual(self.api('POST', '/api/v1/namespaces/default/events', self.event(), JSON)[0], 500)
        call(fail, 'POST', {'path_prefix': '/api/', 'status': 500, 'count': 5})
        self.assertEqual(call(fail, 'DELETE')[0], 200)
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)

    def test_delay_rules(self):
        status_path = '/api/v1/nodes/%s/status' % NODE
        fail = self.kube.url('/_fake/fail')
        # A delay alone slows the request down, then the API answers it.
        self.assertEqual(call(fail, 'POST', {'path_prefix': '/api/v1/nodes/', 'delay': 0.5, 'method': 'GET'})[0], 200)
        t0 = time.monotonic()
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.45)
        t0 = time.monotonic()
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)  # the rule is used up
        self.assertLess(time.monotonic() - t0, 0.45)
        # With a status: the delay, then the injected answer.
        call(fail, 'POST', {'path_prefix': status_path, 'status': 503, 'delay': 0.3})
        t0 = time.monotonic()
        self.assertEqual(self.api('PATCH', status_path, {}, SMP)[0], 503)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        # A slow request does not hold up the others.
        call(fail, 'POST', {'path_prefix': status_path, 'delay': 2})
        slow = threading.Thread(target=self.api, args=('PATCH', status_path, {}, SMP))
        slow.start()
        time.sleep(0.2)
        t0 = time.monotonic()
        self.assertEqual(self.api('GET', '/api/v1/nodes/' + NODE)[0], 200)
        self.assertLess(time.monotonic() - t0, 1.5)
        slow.join()
        statuses = [r['status'] for r in call(self.kube.url('/_fake/requests'))[2]]
        self.assertEqual(statuses, [200, 200, 503, 200, 200])

    def test_failure_rule_validation(self):
        fail = self.kube.url('/_fake/fail')
        for rule in ({'status': 429}, {'path_prefix': 'api', 'status': 429},
                     {'path_prefix': '/'}, {'path_prefix': '/', 'delay': -1},
                     {'path_prefix': '/', 'delay': '1'}, {'path_prefix': '/', 'delay': True},
                     {'path_prefix': '/', 'delay': 601}, {'path_prefix': '/', 'delay': 1, 'status': 200},
                     {'path_prefix': '/', 'status': 200}, {'path_prefix': '/', 'status': '429'},
                     {'path_prefix': '/', 'status': 429, 'count': 0},
                     {'path_prefix': '/', 'status': 429, 'retry_after': 1.5},
                     {'path_prefix': '/', 'status': 429, 'extra': 1}, []):
            with self.subTest(rule=rule):
                self.assertEqual(call(fail, 'POST', rule)[0], 400)
        self.assertEqual(call(fail, 'POST', b'nope')[0], 400)
        self.assertEqual(call(self.kube.url('/_fake/unknown'))[0], 404)

    def test_request_log(self):
        self.api('GET', '/api/v1/nodes/%s?resourceVersion=0' % NODE)
        self.api('GET', '/api/v1/nodes/' + NODE, token='wrong')
        self.patch_status({'type': 'X', 'status': 'True'})
        call(self.kube.url('/_fake/node'))  # control requests are not logged
        before = time.monotonic()
        log = call(self.kube.url('/_fake/requests'))[2]
        self.assertEqual([(r['method'], r['path'], r['query'], r['auth_ok'], r['status']) for r in log], [
            ('GET', '/api/v1/nodes/' + NODE, 'resourceVersion=0', True, 200),
            ('GET', '/api/v1/nodes/' + NODE, '', False, 401),
            ('PATCH', '/api/v1/nodes/%s/status' % NODE, '', True, 200)])
        self.assertEqual(log[2]['content_type'], SMP)
        self.assertEqual(log[2]['body'], {'status': {'conditions': [{'type': 'X', 'status': 'True'}]}})
        self.assertIsNone(log[0]['body'])
        self.assertTrue(all(isinstance(r['t'], float) and r['t'] <= before for r in log))
        self.assertEqual(sorted(log[0]), ['auth_ok', 'body', 'content_type', 'method', 'path', 'query',
                                          'status', 't'])
        with open(self.path('kube.log')) as f:
            self.assertEqual([json.loads(line) for line in f], log)

        self.assertEqual(call(self.kube.url('/_fake/reset_log'), 'POST')[0], 200)
        self.assertEqual(call(self.kube.url('/_fake/requests'))[2], [])


# ---------------------------------------------------------------------------

def envelope(payload=b'{"a":1}', sig='MEUCIQDx_-ab'):
    return {'payloadType': 'application/vnd.in-toto+json',
            'payload': base64.b64encode(payload).decode(),
            'signatures': [{'keyid': 'k1', 'sig': sig}]}


class FakeCollectorTest(TempDirTest):

    def start(self, *args):
        self.collector = FakeProcess('fake_collector.py', list(args), self.dir)
        self.addCleanup(self.stop_cleanly)

    def stop_cleanly(self):
        self.assertEqual(self.collector.stop(), 0)

    def start_with_token_and_store(self):
        write_file(self.path('token'), 'push-token-1\n')
        os.mkdir(self.path('store'))
        self.start('--token-file', self.path('token'), '--store-dir', self.path('store'),
                   '--log', self.path('collector.log'))

    def post(self, body, content_type=DSSE, token='push-token-1'):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return call(self.collector.url('/v1/evidence'), 'POST', data, content_type, token)

    def test_store_is_byte_for_byte_and_idempotent(self):
        self.start_with_token_and_store()
        body = b'{"payloadType": "application/vnd.in-toto+json",\n "payload": "eyJhIjoxfQ",' \
               b' "signatures": [{"sig": "AAAA"}]}'
        digest = hashlib.sha256(body).hexdigest()
        code, _, answer = self.post(body)
        self.assertEqual((code, answer), (201, {'sha256': digest}))
        with open(os.path.join(self.path('store'), digest + '.json'), 'rb') as f:
            self.assertEqual(f.read(), body)
        code, _, answer = self.post(body, JSON + '; charset=utf-8')
        self.assertEqual((code, answer), (200, {'sha256': digest}))
        other = json.dumps(envelope(b'{"a":2}')).encode()
        self.assertEqual(self.post(other)[0], 201)
        received = call(self.collector.url('/_fake/received'))[2]
        self.assertEqual([r['sha256'] for r in received], [digest, hashlib.sha256(other).hexdigest()])
        self.assertLess(received[0]['t'], received[1]['t'])
        self.assertEqual(sorted(os.listdir(self.path('store'))), sorted(r['sha256'] + '.json' for r in received))
        request = urllib.request.Request(self.collector.url('/_fake/received/' + digest))
        with OPENER.open(request, timeout=10) as response:
            self.assertEqual(response.read(), body)
        self.assertEqual(call(self.collector.url('/_fake/received/' + '0' * 64))[0], 404)

    def test_bearer_token_and_rotation(self):
        self.start_with_token_and_store()
        self.assertEqual(self.post(envelope(), token=None)[0], 401)
        self.assertEqual(self.post(envelope(), token='wrong')[0], 401)
        self.assertEqual(self.post(envelope())[0], 201)
        write_file(self.path('token'), 'push-token-2')
        self.assertEqual(self.post(envelope(b'2'))[0], 401)
        self.assertEqual(self.post(envelope(b'2'), token='push-token-2')[0], 201)

    def test_rejects_what_is_not_a_dsse_envelope(self):
        self.start_with_token_and_store()
        bad = [b'not json', b'', b'[1]', b'"x"', {},
               {k: v for k, v in envelope().items() if k != 'payloadType'},
               {k: v for k, v in envelope().items() if k != 'payload'},
               {k: v for k, v in envelope().items() if k != 'signatures'},
               dict(envelope(), payload='%%%'), dict(envelope(), payloadType=''),
               dict(envelope(), signatures=[]), dict(envelope(), signatures=['x']),
               dict(envelope(), signatures=[{'keyid': 'k'}]), envelope(sig='A'),
               dict(envelope(), signatures=[{'sig': 'AAAA', 'keyid': 1}])]
        for body in bad:
            with self.subTest(body=body):
                self.assertEqual(self.post(body)[0], 400)
        self.assertEqual(self.post(envelope(), 'text/plain')[0], 415)
        self.assertEqual(call(self.collector.url('/v1/evidence'), token='push-token-1')[0], 405)
        self.assertEqual(call(self.collector.url('/v1/other'), 'POST', b'{}', JSON)[0], 404)
        self.assertEqual(call(self.collector.url('/_fake/received'))[2], [])
        self.assertEqual(os.listdir(self.path('store')), [])

    def test_down_and_up(self):
        self.start_with_token_and_store()
        self.assertEqual(call(self.collector.url('/_fake/down'), 'POST', {'status': 503, 'retry_after': 4})[0], 200)
        for _ in range(3):
            code, headers, _ = self.post(envelope())
            self.assertEqual((code, headers['Retry-After']), (503, '4'))
        call(self.collector.url('/_fake/down'), 'POST', {'status': 500})
        code, headers, _ = self.post(envelope())
        self.assertEqual((code, headers['Retry-After']), (500, None))
        self.assertEqual(call(self.collector.url('/_fake/down'), 'POST', {'status': 200})[0], 400)
        self.assertEqual(call(self.collector.url('/_fake/up'), 'POST')[0], 200)
        self.assertEqual(self.post(envelope())[0], 201)
        self.assertEqual(len(call(self.collector.url('/_fake/received'))[2]), 1)

    def test_down_for_a_count(self):
        self.start_with_token_and_store()
        self.assertEqual(call(self.collector.url('/_fake/down'), 'POST', {'status': 422, 'count': 2})[0], 200)
        self.assertEqual([self.post(envelope(sig=s))[0] for s in ('AAAA', 'BBBB', 'CCCC')], [422, 422, 201])
        self.assertEqual(call(self.collector.url('/_fake/down'), 'POST', {'count': 0})[0], 400)

    def test_request_log(self):
        self.start_with_token_and_store()
        self.post(envelope(), token='wrong')
        self.post(envelope())
        log = call(self.collector.url('/_fake/requests'))[2]
        self.assertEqual([(r['method'], r['path'], r['auth_ok'], r['status']) for r in log],
                         [('POST', '/v1/evidence', False, 401), ('POST', '/v1/evidence', True, 201)])
        self.assertEqual(log[1]['body'], envelope())
        self.assertEqual(log[1]['content_type'], DSSE)
        self.assertEqual(log[1]['sha256'], hashlib.sha256(json.dumps(envelope()).encode()).hexdigest())
        with open(self.path('collector.log')) as f:
            self.assertEqual([json.loads(line) for line in f], log)
        call(self.collector.url('/_fake/reset_log'), 'POST')
        self.assertEqual(call(self.collector.url('/_fake/requests'))[2], [])

    def test_without_token_or_store(self):
        self.start()
        self.assertEqual(self.post(envelope(), token=None)[0], 201)
        self.assertEqual(self.post(envelope(), token=None)[0], 200)


# ---------------------------------------------------------------------------

class PlumbingTest(TempDirTest):

    def test_sigint_exits_cleanly(self):
        write_file(self.path('token'), 't')
        kube = FakeProcess('fake_kube.py', ['--token-file', self.path('token'), '--node', NODE], self.dir)
        self.assertEqual(kube.stop(signal.SIGINT), 0)

    def test_exits_by_itself_after_its_lifetime(self):
        script = ('import sys; sys.path.insert(0, %r); import fake_kube as k; from http.server import '
                  'ThreadingHTTPServer as S; s = S(("127.0.0.1", 0), k.KubeHandler); '
                  's.state = k.KubeState("n", "", "/nonexistent", None); '
                  'sys.exit(k.serve_until_stopped(s, %r, "fake_kube", lifetime=1))'
                  % (HERE, self.path('port')))
        started = time.monotonic()
        done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn('exiting after 1 s', done.stderr)
        self.assertLess(time.monotonic() - started, 20)

    def test_lifetime_flag(self):
        write_file(self.path('token'), 't')
        for script, args in (('fake_kube.py', ['--token-file', self.path('token'), '--node', NODE]),
                             ('fake_collector.py', [])):
            with self.subTest(script=script):
                port = self.path(script + '.port')
                done = subprocess.run([sys.executable, os.path.join(HERE, script), '--port-file', port,
                                       '--lifetime', '1'] + args, capture_output=True, text=True, timeout=30)
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertIn('exiting after 1 s', done.stderr)

    def test_bug_in_a_handler_is_a_500_and_logged(self):
        write_file(self.path('token'), 't')
        server = ThreadingHTTPServer(('127.0.0.1', 0), fake_kube.KubeHandler)
        server.state = fake_kube.KubeState(NODE, '', self.path('token'), None)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)

        def broken(name):
            raise RuntimeError('boom')
        server.state.get_node = broken
        base = 'http://127.0.0.1:%d' % server.server_address[1]
        with contextlib.redirect_stderr(io.StringIO()) as stderr:
            code, _, body = call(base + '/api/v1/nodes/' + NODE, token='t')
        self.assertEqual((code, body['reason']), (500, 'InternalError'))
        self.assertIn('RuntimeError: boom', body['message'])
        self.assertIn('Traceback', stderr.getvalue())
        self.assertEqual(server.state.log.snapshot()[-1]['status'], 500)


if __name__ == '__main__':
    unittest.main()
