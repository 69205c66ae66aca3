"""Tests of fake_entra.py (run as a subprocess, driven with urllib)."""

import os
import sys
import unittest
from urllib.parse import urlencode

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_fakes import FakeProcess, TempDirTest, call, write_file  # noqa: E402

TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee'
CLIENT = '11111111-2222-3333-4444-555555555555'
FORM = 'application/x-www-form-urlencoded'
JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'


class FakeEntraTest(TempDirTest):

    def setUp(self):
        super().setUp()
        write_file(self.path('assertion'), 'eyJ.assertion-one.sig\n')
        write_file(self.path('access'), 'issued-token-1\n')
        self.fake = FakeProcess('fake_entra.py', [
            '--tenant', TENANT, '--client-id', CLIENT, '--assertion-file', self.path('assertion'),
            '--access-token-file', self.path('access'), '--expires-in', '600',
            '--log', self.path('log')], self.dir)
        self.addCleanup(self.fake.stop)

    def post_token(self, tenant=TENANT, content_type=FORM, **overrides):
        form = {'client_id': CLIENT, 'scope': 'https://storage.azure.com/.default',
                'grant_type': 'client_credentials', 'client_assertion_type': JWT_BEARER,
                'client_assertion': 'eyJ.assertion-one.sig'}
        form.update(overrides)
        form = {k: v for k, v in form.items() if v is not None}
        return call(self.fake.url('/%s/oauth2/v2.0/token' % tenant), 'POST', urlencode(form).encode(),
                    content_type)

    def test_workload_identity_exchange(self):
        status, _, body = self.post_token()
        self.assertEqual(status, 200)
        self.assertEqual(body, {'token_type': 'Bearer', 'access_token': 'issued-token-1',
                                'expires_in': 600, 'ext_expires_in': 600})
        # The kubelet rotates the assertion: the old one is refused.
        write_file(self.path('assertion'), 'eyJ.assertion-two.sig')
        status, _, body = self.post_token()
        self.assertEqual((status, body['error']), (401, 'invalid_client'))
        self.assertEqual(self.post_token(client_assertion='eyJ.assertion-two.sig')[0], 200)

    def test_workload_identity_refusals(self):
        cases = [
            ({'tenant': 'other'}, 'invalid_request'),
            ({'content_type': 'application/json'}, 'invalid_request'),
            ({'grant_type': 'password'}, 'unsupported_grant_type'),
            ({'client_assertion_type': 'x'}, 'invalid_request'),
            ({'scope': 'https://storage.azure.com'}, 'invalid_scope'),
            ({'client_assertion': None}, 'invalid_request'),
            ({'client_id': 'someone-else'}, 'invalid_client'),
        ]
        for kwargs, error in cases:
            status, _, body = self.post_token(**kwargs)
            self.assertIn(status, (400, 401), kwargs)
            self.assertEqual(body['error'], error, kwargs)
        # Nothing the client sent is in the log.
        with open(self.path('log')) as f:
            log = f.read()
        self.assertNotIn('assertion-one', log)
        self.assertEqual(len(log.splitlines()), len(cases))

    def test_managed_identity(self):
        url = self.fake.url('/metadata/identity/oauth2/token?api-version=2018-02-01'
                            '&resource=https%3A%2F%2Fstorage.azure.com&client_id=' + CLIENT)
        status, _, body = call(url, headers={'Metadata': 'true'})
        self.assertEqual(status, 200)
        self.assertEqual(body['access_token'], 'issued-token-1')
        self.assertEqual(body['expires_in'], '600')
        self.assertEqual(int(body['expires_on']) - int(body['not_before']), 600)
        self.assertEqual(call(url)[0], 400)                      # no Metadata header
        self.assertEqual(call(url.replace(CLIENT, 'x'), headers={'Metadata': 'true'})[0], 400)
        self.assertEqual(call(url.replace('2018-02-01', '2023-07-01'), headers={'Metadata': 'true'})[0], 400)

    def test_outage(self):
        self.assertEqual(call(self.fake.url('/_fake/down'), 'POST', {'status': 429, 'retry_after': 1},
                              'application/json')[0], 200)
        status, headers, body = self.post_token()
        self.assertEqual((status, headers['Retry-After']), (429, '1'))
        call(self.fake.url('/_fake/up'), 'POST')
        self.assertEqual(self.post_token()[0], 200)
        requests = call(self.fake.url('/_fake/requests'))[2]
        self.assertEqual([r['status'] for r in requests], [429, 200])
        self.assertTrue(all(r['body'] is None for r in requests))


if __name__ == '__main__':
    unittest.main(verbosity=2)
