#!/usr/bin/env python3
"""Integration tests: the built `hostenc check` against the fake IMDS
(tests/fake-imds) on 127.0.0.1 and the fixture host roots
(tests/fixtures/mkhostroot.py). Standard library only."""

import json
import os
import tempfile
import time
import unittest

from harness import HOSTENC, HOSTROOTS, IMDS_FIXTURES, FakeImds, hostenc


class Check(unittest.TestCase):

    def run_check(self, hostroot, compute, scenario='ok', timeout=3, extra=(), env=None):
        with FakeImds(compute, scenario) as imds:
            t0 = time.monotonic()
            p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, hostroot),
                        '--imds-url', imds.url, '--imds-trust', imds.trust,
                        '--imds-timeout', str(timeout), '--output', 'json', *extra, env=env)
            self.elapsed = time.monotonic() - t0
            self.requests = imds.requests()
        self.assertEqual(p.stdout.count('\n') > 0, True, p.stderr)
        self.report = json.loads(p.stdout)
        self.proc = p
        return p

    def checks(self, status):
        return sorted(c['id'] for c in self.report['checks']
                      if c['status'] == status and c['severity'] == 'fail')

    def reason(self, check_id):
        return next(c['reason'] for c in self.report['checks'] if c['id'] == check_id)

    def assertVerdict(self, verdict, code, failing=(), unknown=None):
        self.assertEqual(self.report['verdict'], verdict, self.proc.stdout)
        self.assertEqual(self.proc.returncode, code, self.proc.stderr)
        self.assertEqual(self.checks('fail'), sorted(failing), self.proc.stdout)
        if unknown is not None:
            self.assertEqual(self.checks('unknown'), sorted(unknown), self.proc.stdout)

    # --- compliant layouts -------------------------------------------------

    def test_gen1_temp_disk_is_sda(self):
        self.run_check('ds2v2-gen1', 'ds2v2-gen1.json')
        self.assertVerdict('compliant', 0, unknown=[])
        roles = {d['device']: (d['role'], d['lun']) for d in self.report['disks']}
        self.assertEqual(roles, {'sda': ('resource', None), 'sdb': ('os', None), 'sdc': ('data', 0)})
        sda = next(d for d in self.report['disks'] if d['device'] == 'sda')
        self.assertIn('/mnt', sda['mountpoints'])
        self.assertEqual(self.reason('attested-identity'), 'AttestedIdentityVerified')

    def test_no_temp_disk(self):
        self.run_check('d4sv5', 'd4sv5.json')
        self.assertVerdict('compliant', 0, unknown=[])
        self.assertEqual(self.reason('resource-disk'), 'NoResourceDisk')

    def test_ephemeral_os_on_resource_disk(self):
        self.run_check('d4dsv5-ephemeral', 'd4dsv5-ephemeral.json')
        self.assertVerdict('compliant', 0, unknown=[])
        self.assertEqual(self.reason('resource-disk'), 'ResourceDiskShrunkByEphemeralOs')

    def test_ephemeral_os_took_whole_resource_disk(self):
        self.run_check('d4dsv5-ephemeral-full', 'd4dsv5-ephemeral-full.json')
        self.assertVerdict('compliant', 0, unknown=[])
        self.assertEqual(self.reason('resource-disk'), 'ResourceDiskConsumedByEphemeralOs')

    def test_v6_nvme_temp_disk(self):
        self.run_check('d4dsv6-nvme', 'd4dsv6-nvme.json')
        self.assertVerdict('compliant', 0, unknown=[])
        self.assertEqual(self.reason('local-nvme'), 'LocalNvmePlausible')
        local = next(d for d in self.report['disks'] if d['role'] == 'local-nvme')
        self.assertEqual(local['sizeBytes'], 220 * 2**30)

    def test_gen1_floppy_and_dvd_are_not_disks(self):
        self.run_check('gen1-floppy', 'ds2v2-gen1.json')
        self.assertVerdict('compliant', 0, unknown=[])
        self.assertEqual(sorted(d['device'] for d in self.report['disks']), ['sda', 'sdb', 'sdc'])

    def test_disk_detached_mid_scan(self):
        # Only the vanished disk is unknown; the rest is judged and passes.
        self.run_check('csi-detach', 'ds2v2-gen1.json')
        self.assertVerdict('unknown', 2, [], ['disk-inventory'])
        self.assertEqual(self.reason('disk-inventory'), 'DiskUnreadable')
        sdd = next(d for d in self.report['disks'] if d['device'] == 'sdd')
        self.assertEqual(sdd['role'], 'unknown')
        self.assertIn('No such file or directory', sdd['error'])
        sdc = next(d for d in self.report['disks'] if d['device'] == 'sdc')
        self.assertEqual(len(sdc['mountpoints']), 3)
        self.assertGreaterEqual(max(len(m) for m in sdc['mountpoints']), 200)
        self.assertNotIn('mountpointsOmitted', sdc)

    def test_root_on_lvm(self):
        self.run_check('root-on-dm', 'd4sv5.json')
        self.assertVerdict('compliant', 0, unknown=[])

    # --- non-compliant -----------------------------------------------------

    def test_encryption_at_host_off(self):
        self.run_check('d4sv5', 'eah-off.json')
        self.assertVerdict('noncompliant', 1, ['encryption-at-host'])
        self.assertEqual(self.reason('encryption-at-host'), 'EncryptionAtHostDisabled')

    def test_encryption_at_host_empty(self):
        self.run_check('d4sv5', 'eah-empty.json')
        self.assertVerdict('noncompliant', 1, ['encryption-at-host'])

    def test_encryption_at_host_missing(self):
        self.run_check('d4sv5', 'eah-missing.json')
        self.assertVerdict('unknown', 2, [], ['encryption-at-host'])
        self.assertEqual(self.reason('encryption-at-host'), 'EncryptionAtHostNotReported')

    def test_unknown_extra_disk(self):
        self.run_check('extra-disk', 'd4sv5.json')
        self.assertVerdict('noncompliant', 1, ['disk-inventory'])
        self.assertEqual(self.reason('disk-inventory'), 'UnrecognisedDisk')

    def test_data_disk_lun_mismatch(self):
        self.run_check('lun-mismatch', 'ds2v2-gen1.json')
        self.assertVerdict('noncompliant', 1, ['data-disks'])
        self.assertEqual(self.reason('data-disks'), 'DataDiskLunMismatch')

    def test_root_not_on_os_disk(self):
        self.run_check('root-not-os', 'root-not-os.json')
        self.assertVerdict('noncompliant', 1, ['os-disk'])
        self.assertEqual(self.reason('os-disk'), 'RootNotOnOsDisk')

    def test_azure_disk_encryption(self):
        self.run_check('ade', 'ade.json')
        self.assertVerdict('noncompliant', 1, ['ade-conflict'])
        self.assertIn(self.reason('ade-conflict'), ('BekVolumePresent', 'AzureDiskEncryptionEnabled'))

    # --- IMDS behaviour ----------------------------------------------------

    def test_429_twice_then_200(self):
        self.run_check('d4sv5', 'd4sv5.json', 'throttle', timeout=20)
        self.assertVerdict('compliant', 0, unknown=[])
        compute = [r for r in self.requests if r[2].startswith('/metadata/instance/compute')]
        self.assertEqual([r[3] for r in compute], [429, 429, 200])
        times = sorted(r[0] for r in self.requests)
        for i, t in enumerate(times):
            window = [u for u in times[i:] if u - t < 1000]
            self.assertLessEqual(len(window), 5, 'more than 5 requests in one second: %s' % times)

    def test_410_then_200(self):
        self.run_check('d4sv5', 'd4sv5.json', 'gone410', timeout=20)
        self.assertVerdict('compliant', 0, unknown=[])

    def test_500_forever_is_unknown_within_bound(self):
        # The per-call bound alone (60 s) would allow five or more compute
        # attempts and then an attested call; the 2 s deadline for the whole
        # check allows at most three (backoff 0.5-1 s, then 1-2 s), and the
        # attested document is never asked for once compute failed for good.
        self.run_check('d4sv5', 'd4sv5.json', 'error500', timeout=60, extra=('--deadline', '2'))
        self.assertVerdict('unknown', 2, [], ['data-disks', 'encryption-at-host', 'resource-disk',
                                              'ade-conflict', 'attested-identity'])
        self.assertEqual(self.reason('encryption-at-host'), 'ImdsUnavailable')
        paths = [r[2].split('?')[0] for r in self.requests]
        self.assertEqual(set(paths), {'/metadata/instance/compute'}, self.requests)
        self.assertGreaterEqual(len(paths), 1)
        self.assertLessEqual(len(paths), 3, self.requests)
        self.assertRegex(self.proc.stderr, r'hostenc: imds: GET http://127\.0\.0\.1:\d+/metadata/instance/compute'
                                           r'\?api-version=2023-07-01: HTTP 500 after \d+ attempts')
        self.assertIn('not requested: the compute call already failed for good', self.proc.stderr)

    def test_garbage_json(self):
        self.run_check('d4sv5', 'd4sv5.json', 'garbage')
        self.assertVerdict('unknown', 2)
        self.assertEqual(self.reason('encryption-at-host'), 'ImdsMalformed')
        self.assertIn('not a JSON object', self.proc.stderr)

    def test_oversized_body(self):
        self.run_check('d4sv5', 'd4sv5.json', 'oversize')
        self.assertVerdict('unknown', 2)
        self.assertEqual(self.reason('encryption-at-host'), 'ImdsResponseTooLarge')
        compute = [r for r in self.requests if r[2].startswith('/metadata/instance/compute')]
        self.assertEqual(len(compute), 1)

    def test_redirect_not_followed(self):
        self.run_check('d4sv5', 'd4sv5.json', 'redirect')
        self.assertVerdict('unknown', 2)
        self.assertIn('redirect refused', self.proc.stderr)
        self.assertEqual(len([r for r in self.requests if 'compute' in r[2]]), 1)

    def test_untrusted_ca(self):
        self.run_check('d4sv5', 'd4sv5.json', 'untrusted-ca')
        self.assertVerdict('noncompliant', 1, ['attested-identity'])
        self.assertEqual(self.reason('attested-identity'), 'AttestedDocumentUntrusted')

    def test_wrong_san(self):
        self.run_check('d4sv5', 'd4sv5.json', 'wrong-san')
        self.assertVerdict('noncompliant', 1, ['attested-identity'])
        self.assertEqual(self.reason('attested-identity'), 'AttestedSignerNotAzure')

    def test_vmid_mismatch(self):
        self.run_check('d4sv5', 'd4sv5.json', 'vmid-mismatch')
        self.assertVerdict('noncompliant', 1, ['attested-identity'])
        self.assertEqual(self.reason('attested-identity'), 'AttestedVmIdMismatch')

    def test_stale_nonce_retried_then_rejected(self):
        self.run_check('d4sv5', 'd4sv5.json', 'stale-nonce')
        self.assertVerdict('noncompliant', 1, ['attested-identity'])
        self.assertEqual(self.reason('attested-identity'), 'AttestedNonceMismatch')
        self.assertEqual(len([r for r in self.requests if 'attested' in r[2]]), 3)

    def test_attested_document_down(self):
        self.run_check('d4sv5', 'd4sv5.json', 'attested-down')
        self.assertVerdict('unknown', 2, [], ['attested-identity'])

    def test_metadata_header_and_no_proxy(self):
        env = {'http_proxy': 'http://127.0.0.1:9', 'HTTP_PROXY': 'http://127.0.0.1:9',
               'all_proxy': 'http://127.0.0.1:9', 'no_proxy': ''}
        self.run_check('d4sv5', 'd4sv5.json', env=env)
        self.assertVerdict('compliant', 0, unknown=[])
        for r in self.requests:
            self.assertIn('metadata=true', r[4])
            self.assertIn('proxy=-', r[4])
        nonce = self.report['attestedDocument']['nonceRequested']
        self.assertRegex(nonce, r'^[0-9a-f]{32}$')
        self.assertTrue(any('nonce=' + nonce in r[2] for r in self.requests))

    def test_imds_unreachable(self):
        t0 = time.monotonic()
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'),
                    '--imds-url', 'http://127.0.0.1:9', '--imds-timeout', '2')
        self.assertEqual(p.returncode, 2, p.stdout)
        self.assertIn('verdict: unknown', p.stdout)
        self.assertLess(time.monotonic() - t0, 2 * 2 + 5)
        self.assertIn('Connection refused', p.stderr)

    # --- report formats and command line ------------------------------------

    def test_json_report_shape(self):
        self.run_check('ds2v2-gen1', 'ds2v2-gen1.json')
        r = self.report
        for key in ('schema', 'verdict', 'checks', 'vm', 'disks', 'attestedDocument', 'observedAt'):
            self.assertIn(key, r)
        self.assertEqual(len(r['checks']), 10)
        for c in r['checks']:
            self.assertEqual(set(c), {'id', 'status', 'severity', 'reason', 'message'})
            self.assertRegex(c['reason'], r'^[A-Z][A-Za-z]+$')
        self.assertEqual(r['vm']['vmSize'], 'Standard_DS2_v2')
        self.assertEqual(r['vm']['encryptionAtHost'], 'true')
        self.assertRegex(r['vm']['computeSha256'], r'^[0-9a-f]{64}$')
        with open(os.path.join(IMDS_FIXTURES, 'ds2v2-gen1.json'), 'rb') as f:
            import hashlib
            self.assertEqual(r['vm']['computeSha256'], hashlib.sha256(f.read()).hexdigest())
        sdb = next(d for d in r['disks'] if d['device'] == 'sdb')
        root = next(p for p in sdb['partitions'] if p['device'] == 'sdb1')
        self.assertEqual((root['fsType'], root['label'], root['fsSource']), ('ext4', 'cloudimg-rootfs', 'blkid'))
        self.assertTrue(sdb['holdsRoot'])
        self.assertRegex(r['observedAt'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')

    def test_text_output_has_no_colour_when_piped(self):
        with FakeImds('d4sv5.json') as imds:
            p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                        '--imds-trust', imds.trust)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn('\033[', p.stdout)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[-1], 'verdict: compliant')
        self.assertEqual(len([l for l in lines if l.split()[0] in (
            'encryption-at-host', 'attested-identity', 'disk-inventory', 'os-disk', 'data-disks',
            'resource-disk', 'ade-conflict', 'local-nvme', 'cache-settings', 'temp-disk-usage')]), 10)
        self.assertEqual(p.stderr, '')

    def test_builtin_trust_rejects_test_ca(self):
        with FakeImds('d4sv5.json') as imds:
            p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                        '--output', 'json')
        self.assertEqual(p.returncode, 1)
        r = json.loads(p.stdout)
        self.assertEqual(next(c['reason'] for c in r['checks'] if c['id'] == 'attested-identity'),
                         'AttestedDocumentUntrusted')

    def test_usage_and_config_errors(self):
        self.assertEqual(hostenc('--version').stdout.strip(), 'hostenc 0.1.0')
        self.assertEqual(hostenc('--help').returncode, 0)
        self.assertEqual(hostenc('check', '--help').returncode, 0)
        self.assertEqual(hostenc().returncode, 64)
        self.assertEqual(hostenc('frobnicate').returncode, 64)
        p = hostenc('check', '--output', 'yaml')
        self.assertEqual(p.returncode, 64)
        self.assertEqual(p.stderr.strip(), 'hostenc: check: invalid value "yaml" for --output')
        self.assertEqual(hostenc('check', '--imds-timeout', '0').returncode, 64)
        self.assertEqual(hostenc('check', '--imds-url', 'ftp://x').returncode, 64)
        self.assertEqual(hostenc('check', '--imds-api-version', '2021-11-01').returncode, 64)
        p = hostenc('check', '--imds-trust', '/nonexistent/trust.pem')
        self.assertEqual(p.returncode, 78)
        self.assertEqual(p.stderr.strip(), 'hostenc: --imds-trust /nonexistent/trust.pem: No such file or directory')
        with tempfile.NamedTemporaryFile('w', suffix='.pem') as f:
            f.write('not a certificate\n')
            f.flush()
            self.assertEqual(hostenc('check', '--imds-trust', f.name).returncode, 78)
        p = hostenc('check', '--host-root', '/nonexistent/root')
        self.assertEqual(p.returncode, 78)
        self.assertEqual(p.stderr.count('\n'), 1)


if __name__ == '__main__':
    unittest.main(verbosity=2)
