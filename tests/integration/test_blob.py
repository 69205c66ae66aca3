#!/usr/bin/python3
"""`hostenc collect --store azblob://...` against Azurite (tests/blob,
started on 127.0.0.1 with a temporary directory and stopped at the end):
the store contract, Shared Key and SAS, several collectors on one
container, restart, audit and verify reading the container, and faults
(throttling, outage, an immutability policy refusing a write) injected by
tests/blob/blobenv.FaultProxy in front of Azurite."""

import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'blob'))

import blobenv  # noqa: E402
import test_collect as tc  # noqa: E402
from harness import HOSTENC  # noqa: E402

KEY_ENV = {'AZURE_STORAGE_KEY': blobenv.KEY}


class Blob(tc.Collect):
    """Reuses test_collect's fixtures (keys, fake IMDS, real envelopes)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.azurite = blobenv.Azurite().__enter__()
        cls.n_containers = 0

    @classmethod
    def tearDownClass(cls):
        cls.azurite.__exit__(None, None, None)
        super().tearDownClass()

    def container(self):
        type(self).n_containers += 1
        return 'evidence-%d' % self.n_containers

    def blob_collector(self, url, *args, env=None, name='collect'):
        c = tc.Collector(self.tmp, url, '--imds-trust', self.trust, *args, token_file=self.token, name=name)
        old = dict(os.environ)
        os.environ.update(env if env is not None else KEY_ENV)
        try:
            c.start()
        finally:
            os.environ.clear()
            os.environ.update(old)
        self.addCleanup(c.stop)
        return c

    def names(self, container, prefix=''):
        return blobenv.list_blobs(self.azurite.port, container, prefix)

    def run_hostenc(self, *args, env=None):
        e = dict(os.environ)
        e.update(env if env is not None else KEY_ENV)
        return subprocess.run([HOSTENC] + list(args), capture_output=True, text=True, env=e, timeout=120)

    # --- the contract ------------------------------------------------------------------

    def test_store_contract_and_restart(self):
        name = self.container()
        url = self.azurite.url(name)
        c = self.blob_collector(url)
        e1 = self.a1
        e2 = self.with_seq(self.a1, 2, tc.sha(e1))
        e4 = self.with_seq(self.a1, 4, tc.sha(e2))
        for env, want in [(e1, (201, 'first')), (e2, (201, 'ok')), (e4, (201, 'gap')), (e1, (200, 'first'))]:
            status, body, _ = c.post(env)
            self.assertEqual((status, body['chain']), want, body)
        vm = tc.statement(e1)['predicate']['vm']['vmId'] if 'vm' in tc.statement(e1)['predicate'] else None
        objects = self.names(name, 'objects/')
        self.assertEqual(sorted(objects), sorted('objects/%s/%s.json' % (tc.sha(e)[:2], tc.sha(e))
                                                 for e in (e1, e2, e4)))
        self.assertEqual(blobenv.get_blob(self.azurite.port, name, objects[0]),
                         {tc.sha(e): e for e in (e1, e2, e4)}[objects[0][11:75]])
        vms = self.names(name, 'vm/')
        self.assertEqual(len(vms), 3)
        self.assertTrue(all(re.fullmatch(r'vm/[A-Za-z0-9._-]+/\d{8}T\d{6}Z-\d{6}-[0-9a-f]{64}\.json', v)
                            for v in vms), vms)
        if vm:
            self.assertTrue(all(v.startswith('vm/%s/' % vm) for v in vms))
        keys = self.names(name, 'keys/')
        self.assertEqual(len(keys), 3)
        # The inverted sequence puts a key's head first.
        self.assertIn(tc.sha(e4), keys[0])
        _, m = c.metrics()
        self.assertEqual(m['hostenc_collect_store_envelopes'], 3)
        self.assertEqual(m['hostenc_collect_envelopes_duplicate_total'], 1)

        # Restart: the state comes back from the keys/ listing.
        self.assertEqual(c.stop(), 0)
        c2 = self.blob_collector(url, name='restarted')
        status, body, _ = c2.post(e2)
        self.assertEqual((status, body['chain'], body['sequence']), (200, 'ok', 2))
        e5 = self.with_seq(self.a1, 5, tc.sha(e4))
        self.assertEqual(c2.post(e5)[1]['chain'], 'ok')
        self.assertEqual(len(self.names(name, 'objects/')), 4)

        # audit reads each VM's freshest envelope only; verify reads them all.
        p = self.run_hostenc('audit', '--output', 'json', '--imds-trust', self.trust, '--max-age', '1000d', url)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual(report['summary']['envelopes'], 1)
        self.assertEqual([(n['sequence'], n['state']) for n in report['nodes']], [(5, 'compliant')])
        p = self.run_hostenc('verify', '--output', 'json', '--imds-trust', self.trust, url)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual([r["valid"] for r in json.loads(p.stdout)["results"]], [True] * 4, p.stdout)
        # Secrets never reach the logs.
        for text in (c.stderr(), c2.stderr(), p.stderr) + tuple(open(x.log).read() for x in (c, c2)):
            self.assertNotIn(blobenv.KEY, text)
            self.assertNotIn(blobenv.KEY[:20], text)

    def test_sas_and_bad_credentials(self):
        name = self.container()
        url = self.azurite.url(name)
        sas = blobenv.account_sas()
        c = self.blob_collector(url, env={'AZURE_STORAGE_SAS_TOKEN': sas})
        self.assertEqual(c.post(self.b1)[0], 201)
        self.assertEqual(len(self.names(name, 'objects/')), 1)
        sig = re.search(r'sig=([^&]+)', sas).group(1)
        with open(c.log) as f:
            self.assertNotIn(sig, f.read() + c.stderr())
        # A wrong key: the collector does not start, and says why in one line.
        wrong = blobenv.KEY[:-8] + 'AAAAAAA='
        bad = tc.Collector(self.tmp, url, '--imds-trust', self.trust, token_file=self.token, name='badkey')
        env = dict(os.environ, AZURE_STORAGE_KEY=wrong)
        p = subprocess.run([HOSTENC] + bad.args, capture_output=True, text=True, env=env, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r'--store .*HTTP 403')
        self.assertNotIn(wrong, p.stderr)
        # No credentials and no identity (IMDS refuses): refused at start, in one line.
        env = {k: v for k, v in os.environ.items() if not k.startswith('AZURE_')}
        env['HOSTENC_IMDS_URL'] = 'http://127.0.0.1:%d' % blobenv.free_port()
        p = subprocess.run([HOSTENC] + bad.args, capture_output=True, text=True, timeout=120, env=env)
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr, r'--store azblob://\S+: (no credentials|no access token for Blob Storage)')

    # --- several collectors ---------------------------------------------------------------

    def test_two_collectors_share_a_container(self):
        name = self.container()
        url = self.azurite.url(name)
        c1 = self.blob_collector(url, name='replica1')
        c2 = self.blob_collector(url, name='replica2')
        chain, prev = [], None
        for seq in range(1, 31):
            env = self.a1 if seq == 1 else self.with_seq(self.a1, seq, prev)
            chain.append(env)
            prev = tc.sha(env)
        # Each envelope goes to both replicas at once: one stores it, the
        # other finds the name taken; both acknowledge, nothing doubles.
        jobs = [(c, e) for e in chain for c in (c1, c2)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda j: j[0].post(j[1]), jobs))
        self.assertTrue(all(a[0] in (200, 201) for a in answers), [a[:2] for a in answers if a[0] not in (200, 201)])
        self.assertEqual(len(self.names(name, 'objects/')), len(chain))
        self.assertEqual(len(self.names(name, 'vm/')), len(chain))
        # Alternating replicas, in order: each replica reads the other's head
        # from the container, so the chain stays "ok".
        b_prev, b_chain = tc.sha(self.b1), []
        self.assertEqual(c1.post(self.b1)[0], 201)
        for seq in range(2, 8):
            env = self.with_seq(self.b1, seq, b_prev, key='b')
            status, body, _ = (c1, c2)[seq % 2].post(env)
            b_chain.append((status, body['chain']))
            b_prev = tc.sha(env)
        self.assertEqual(b_chain, [(201, 'ok')] * 6)
        # A third replica started now knows everything.
        c3 = self.blob_collector(url, name='replica3')
        _, m = c3.metrics()
        self.assertEqual(m['hostenc_collect_store_envelopes'], len(chain) + 7)

    def test_kill_loses_nothing_acknowledged(self):
        """SIGKILL in the middle of a burst: every envelope answered 200/201
        has its commit point (keys/ marker) in the container; the retries
        through another replica fill in the rest, each stored once."""
        name = self.container()
        url = self.azurite.url(name)
        envs = self.signed_run(48)
        c = self.blob_collector(url, name='killed')
        acked, others = self.push_until_killed(c, envs, tc.signal.SIGKILL)
        self.assertEqual(c.proc.returncode, -tc.signal.SIGKILL)
        committed = {n.split('/')[2][21:85] for n in self.names(name, 'keys/')}
        self.assertLessEqual(acked, committed, 'an acknowledged envelope was lost')
        self.assertLessEqual(acked, {n[-69:-5] for n in self.names(name, 'objects/')})
        c2 = self.blob_collector(url, name='after-kill')
        for env in envs:
            self.assertIn(c2.post(env)[0], (200, 201))
        keys = self.names(name, 'keys/')
        self.assertEqual(sorted(n.split('/')[2][21:85] for n in keys), sorted(tc.sha(e) for e in envs))
        self.assertEqual(len(self.names(name, 'objects/')), len(envs))

    # --- faults ---------------------------------------------------------------------------

    def fault_collector(self, name, *args):
        proxy = blobenv.FaultProxy(self.azurite.port).__enter__()
        self.addCleanup(proxy.__exit__, None, None, None)
        return proxy, self.blob_collector(self.azurite.url(name, proxy.endpoint), *args, name='faults')

    def test_throttling_and_outage(self):
        name = self.container()
        proxy, c = self.fault_collector(name)
        # Throttled twice with Retry-After: the collector waits and succeeds.
        proxy.add('PUT', '/objects/', 429, 'ServerBusy', {'Retry-After': '1'}, count=2)
        self.assertEqual(c.post(self.a1)[0], 201)
        self.assertEqual(sum('/objects/' in s for s in proxy.seen if s.startswith('PUT')), 3)
        # An outage longer than the retries: 503 to the agent, which keeps
        # its spool; nothing stored under the object's name; the collector
        # stays live and takes the envelope once storage is back.
        proxy.add('PUT', '/', 503, 'ServerBusy', {'Retry-After': '0'})
        e2 = self.with_seq(self.a1, 2, tc.sha(self.a1))
        status, body, _ = c.post(e2)
        self.assertEqual(status, 503, body)
        self.assertNotIn('objects/%s/%s.json' % (tc.sha(e2)[:2], tc.sha(e2)), self.names(name, 'objects/'))
        self.assertEqual(c.get('/livez')[0], 200)
        proxy.clear()
        status, body, _ = c.post(e2)
        self.assertEqual((status, body['chain']), (201, 'ok'), body)
        errors = [l for l in c.lines() if l['msg'].startswith('store write failed')]
        self.assertEqual(len(errors), 1)
        self.assertIn('HTTP 503 ServerBusy', errors[0]['error'])

    def test_storage_that_stops_answering(self):
        # Blob Storage accepts the connection and answers nothing in time:
        # each try ends at --store-timeout, the write is given up after five,
        # the agent gets 503 and keeps its envelope. A timed-out write may
        # still land (the proxy forwards it late); the resend then finds the
        # name holding the same bytes and completes.
        name = self.container()
        proxy, c = self.fault_collector(name, '--store-timeout', '1s')
        started = len(proxy.seen)
        proxy.delay = 2.5
        status, body, _ = c.post(self.b1)
        self.assertEqual(status, 503, body)
        # One look at the key's chain (one try: it only refines the chain
        # status), then five tries of the object.
        self.assertEqual([s.split('?')[0].split('/')[-3] if '/objects/' in s else s.split(' ')[0]
                          for s in proxy.seen[started:]], ['GET'] + ['objects'] * 5)
        err = [l for l in c.lines() if l['msg'].startswith('store write failed')][-1]['error']
        self.assertIn('timed out', err.lower())
        self.assertEqual(self.names(name, 'keys/'), [])
        proxy.delay = 0
        status, body, _ = c.post(self.b1)
        self.assertEqual((status, body['chain']), (201, 'first'), body)
        self.assertEqual(len(self.names(name, 'keys/')), 1)

    def test_immutability_policy_refusal(self):
        # Azurite does not emulate immutability policies: the proxy answers
        # as Blob Storage does (409, x-ms-error-code BlobImmutableDueToPolicy).
        name = self.container()
        proxy, c = self.fault_collector(name)
        proxy.add('PUT', '/objects/', 409, 'BlobImmutableDueToPolicy')
        status, body, _ = c.post(self.b1)
        self.assertEqual(status, 503, body)
        self.assertEqual(self.names(name, 'keys/'), [])
        err = [l for l in c.lines() if l['msg'].startswith('store write failed')][-1]['error']
        self.assertIn('HTTP 409 BlobImmutableDueToPolicy', err)
        proxy.clear()
        self.assertEqual(c.post(self.b1)[0], 201)

    def test_partial_commit_with_a_summary_then_resend(self):
        # The object and its summary were written, the vm/ entry was not. The
        # resend signs a new summary (timeVerified differs): the one already
        # stored stands, and the rest of the commit completes.
        name = self.container()
        proxy, c = self.fault_collector(name, '--summary-key', self.keys['summary'][0])
        proxy.add('PUT', '/vm/', 500, 'InternalError')
        self.assertEqual(c.post(self.b1)[0], 503)
        sha = tc.sha(self.b1)
        first = blobenv.get_blob(self.azurite.port, name, 'summaries/%s.json' % sha)
        proxy.clear()
        time.sleep(1.1)
        status, body, _ = c.post(self.b1)
        self.assertEqual((status, body['chain']), (201, 'first'), body)
        self.assertEqual(blobenv.get_blob(self.azurite.port, name, 'summaries/%s.json' % sha), first)
        self.assertEqual(len(self.names(name, 'vm/')), 1)
        self.assertEqual(len(self.names(name, 'keys/')), 1)

    def test_refused_commit_point_then_resend(self):
        name = self.container()
        proxy, c = self.fault_collector(name)
        proxy.add('PUT', '/keys/', 500, 'InternalError')
        status, _, _ = c.post(self.a2)
        self.assertEqual(status, 503)
        # The object was written before the refused commit point: a resend
        # finds its name taken and completes the rest, exactly once.
        proxy.clear()
        self.assertEqual(c.post(self.a2)[0], 201)
        self.assertEqual(len([n for n in self.names(name, 'keys/') if tc.sha(self.a2) in n]), 1)


    # --- names are not signed: a writer to the container forging them ----------------------

    def put_raw(self, container, name, body=b''):
        self.assertEqual(blobenv.put_blob(self.azurite.port, container, name, body), 201, name)

    def test_forged_listing_is_not_believed(self):
        name = self.container()
        url = self.azurite.url(name)
        c = self.blob_collector(url)
        e1 = self.a1
        e2 = self.with_seq(self.a1, 2, tc.sha(e1))
        for e in (e1, e2):
            self.assertEqual(c.post(e)[0], 201)
        real = self.names(name, 'vm/')
        self.assertEqual(len(real), 2)
        vm_dir = real[0][:real[0].rindex('/') + 1]
        # 1. An entry dated a year later and claiming sequence 9 names the
        #    older envelope: without the check the audit would take e1 as the
        #    VM's newest. 2. A later entry names a digest whose object holds
        #    other bytes (e1's). Both are ListingMismatch; the audit falls
        #    back to the real newest, e2.
        self.put_raw(name, '%s20271231T235959Z-000009-%s.json' % (vm_dir, tc.sha(e1)))
        planted = 'f' * 64
        self.put_raw(name, 'objects/ff/%s.json' % planted, e1)
        self.put_raw(name, '%s20281231T235959Z-000010-%s.json' % (vm_dir, planted))
        p = self.run_hostenc('audit', '--output', 'json', '--imds-trust', self.trust, '--max-age', '1000d', url)
        self.assertIn(p.returncode, (0, 1), p.stderr)
        report = json.loads(p.stdout)
        self.assertEqual([(n['sequence'], n['state']) for n in report['nodes']], [(2, 'compliant')], report)
        self.assertEqual(report['summary']['envelopes'], 3, report['summary'])
        bad = sorted((i['file'], i['reason']) for i in report['invalidEnvelopes'])
        self.assertEqual([r for _, r in bad], ['ListingMismatch', 'ListingMismatch'], bad)
        self.assertEqual([f[len(vm_dir):len(vm_dir) + 16] for f, _ in bad], ['20271231T235959Z', '20281231T235959Z'])
        # verify reads every object: the planted one is refused by its digest.
        p = self.run_hostenc('verify', '--output', 'json', '--imds-trust', self.trust, url)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        got = {r['file']: (r['valid'], r['reason']) for r in json.loads(p.stdout)['results']}
        self.assertEqual(got['objects/ff/%s.json' % planted], (False, 'ListingMismatch'), got)
        self.assertEqual(sorted(v for k, v in got.items() if k != 'objects/ff/%s.json' % planted),
                         [(True, 'Valid')] * 2, got)

    def test_forged_commit_point_is_not_an_acknowledgement(self):
        # A partial commit left the object; someone who can write to the
        # container plants its keys/ marker (the commit point) so that a
        # replica would take the envelope for stored. The replica learns the
        # digest from the listing but still commits: the vm/ entry is written
        # before the agent hears 201.
        name = self.container()
        c = self.blob_collector(self.azurite.url(name))
        sha = tc.sha(self.b1)
        st = tc.statement(self.b1)
        kh = hashlib.sha256(st['predicate']['signer']['keyId'].encode()).hexdigest()
        vm = st['predicate']['vm']['vmId']
        self.put_raw(name, 'objects/%s/%s.json' % (sha[:2], sha), self.b1)
        self.put_raw(name, 'keys/%s/%020d-%s-first-%s' % (kh, 2 ** 64 - 2, sha, vm))
        self.assertEqual(self.names(name, 'vm/'), [])
        status, body, _ = c.post(self.b1)
        self.assertEqual((status, body['chain']), (201, 'first'), body)
        self.assertEqual(len(self.names(name, 'vm/')), 1)
        self.assertEqual(len(self.names(name, 'keys/')), 1)

    def test_taken_name_holding_other_bytes_is_refused(self):
        # Bytes planted under an envelope's digest before it arrives: the
        # collector reads the name back, refuses, and acknowledges nothing.
        name = self.container()
        c = self.blob_collector(self.azurite.url(name))
        sha = tc.sha(self.a2)
        self.put_raw(name, 'objects/%s/%s.json' % (sha[:2], sha), self.a1)
        status, body, _ = c.post(self.a2)
        self.assertEqual(status, 503, body)
        self.assertEqual(self.names(name, 'keys/'), [])
        err = [l for l in c.lines() if l['msg'].startswith('store write failed')][-1]['error']
        self.assertIn('already holds other bytes', err)

    def test_policy_refusal_on_a_name_already_holding_the_bytes(self):
        # A writer that crashed after the object left it behind. Whether Blob
        # Storage answers a create of that name under a policy with the
        # precondition or with the policy is undocumented: a policy refusal
        # over the same bytes is the duplicate it is, and the rest is written.
        name = self.container()
        proxy, c = self.fault_collector(name)
        sha = tc.sha(self.b1)
        self.put_raw(name, 'objects/%s/%s.json' % (sha[:2], sha), self.b1)
        proxy.add('PUT', '/objects/', 409, 'BlobImmutableDueToPolicy')
        status, body, _ = c.post(self.b1)
        self.assertEqual(status, 201, body)
        self.assertEqual([s for s in proxy.seen if s.startswith('GET') and '/objects/' in s],
                         ['GET /%s/%s/objects/%s/%s.json' % (blobenv.ACCOUNT, name, sha[:2], sha)])
        self.assertEqual(len([n for n in self.names(name, 'keys/') if sha in n]), 1)

    def test_replica_duplicate_is_one_envelope(self):
        # Another replica stored the envelopes; this one learns them when it
        # looks at the chain (the key's head for the newest, the markers of
        # that sequence for an older one) and files them again under the same
        # names: no second keys/ entry (a "replay" of itself), and the answer
        # still rests on a commit, not on a listing anyone could write to.
        name = self.container()
        c = self.blob_collector(self.azurite.url(name))
        other = self.blob_collector(self.azurite.url(name), name='replica')
        e2 = self.with_seq(self.a1, 2, tc.sha(self.a1))
        for e in (self.a1, e2):
            self.assertEqual(other.post(e)[0], 201)
        for e, seq, chain in ((e2, 2, 'ok'), (self.a1, 1, 'first')):
            status, body, _ = c.post(e)
            self.assertEqual((status, body['sequence'], body['chain']), (201, seq, chain), body)
            self.assertEqual(len([n for n in self.names(name, 'keys/') if tc.sha(e) in n]), 1)
        self.assertEqual(len(self.names(name, 'keys/')), 2)


# test_collect's own tests are not run again here.
for _n in [n for n in dir(tc.Collect) if n.startswith('test_')]:
    setattr(Blob, _n, None)

if __name__ == '__main__':
    unittest.main(verbosity=2)
