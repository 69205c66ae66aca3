#!/usr/bin/python3
"""Integration tests for `hostenc audit`: a fleet of generated evidence
(100 VMs, 500 envelopes) from one fake IMDS that plays each VM in turn, a
kubectl node list and an ARM export; text, JSON, JUnit and an HTML report
checked in headless Chromium. Runs with Debian's /usr/bin/python3."""

import base64
import copy
import html as htmlmod
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import uuid
import xml.etree.ElementTree as ET

import jsonschema
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from harness import FakeImds, HOSTROOTS, IMDS_FIXTURES, hostenc, low_s, validate_output

CHROMIUM = shutil.which('chromium')
XMLLINT = shutil.which('xmllint')
HERE = os.path.dirname(os.path.abspath(__file__))
JUNIT_XSD = os.path.join(HERE, '..', 'data', 'junit', 'JUnit.xsd')
# Run inside a copy of the report (the report itself allows no scripts): for
# every element with its own text, the WCAG 2.x contrast of its computed
# colour against the first opaque background behind it; and the tables'
# structure. Writes JSON into <pre id="a11y">.
A11Y_SCRIPT = r"""<script>
function lin(c) { c /= 255; return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
function lum(rgb) { return 0.2126 * lin(rgb[0]) + 0.7152 * lin(rgb[1]) + 0.0722 * lin(rgb[2]); }
function rgba(s) { const m = s.match(/[\d.]+/g).map(Number); return m.length > 3 ? m : m.concat([1]); }
function bg(el) {
  for (; el; el = el.parentElement) { const c = rgba(getComputedStyle(el).backgroundColor); if (c[3] === 1) return c; }
  return [255, 255, 255, 1];
}
const out = {contrast: [], tables: [], nodeStates: {}};
for (const el of document.body.querySelectorAll('*')) {
  const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
  if (!own) continue;
  const fg = rgba(getComputedStyle(el).color), b = bg(el);
  const l1 = lum(fg), l2 = lum(b);
  out.contrast.push({tag: el.tagName, text: el.textContent.trim().slice(0, 40),
                     ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)});
}
for (const dot of document.querySelectorAll('.dot')) {
  const fg = rgba(getComputedStyle(dot).backgroundColor), l1 = lum(fg), l2 = lum(bg(dot.parentElement));
  out.contrast.push({tag: 'dot', text: dot.parentElement.textContent.trim().slice(0, 40),
                     ratio: (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05)});
}
for (const t of document.querySelectorAll('table')) {
  const ths = Array.from(t.querySelectorAll('th'));
  out.tables.push({id: t.id, caption: !!(t.caption && t.caption.textContent.trim()), thead: !!t.tHead,
                   headerCells: t.tHead ? t.tHead.querySelectorAll('th').length : 0,
                   unscoped: ths.filter(th => !['col', 'row'].includes(th.getAttribute('scope'))).length});
}
for (const tr of document.querySelectorAll('#nodes tbody tr'))
  out.nodeStates[tr.querySelector('th').textContent] = tr.querySelector('td.s').dataset.state + ' ' +
    getComputedStyle(tr.querySelector('td.s')).color;
const pre = document.createElement('pre'); pre.id = 'a11y'; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""
ARTIFACTS = os.environ.get('AUDIT_ARTIFACTS', tempfile.gettempdir())
PAYLOAD_TYPE = 'application/vnd.in-toto+json'
N_VMS, PER_VM = 100, 5
NONCOMPLIANT = range(0, 20)             # encryption at host off
ARM_DISAGREES = (50, 51, 52)            # node says true, ARM says false
MISSING = 5                             # cluster nodes with no evidence
SUB = '3f2c6a1e-8b4d-4e7a-9c21-5d0e7f8a9b10'    # tests/data/imds/d4sv5.json
OTHER_SUB = '0badc0de-0000-4000-8000-000000000001'
RG = 'MC_rg_cluster_eastus'
BY_PROVIDER_ID = range(90, 95)          # Nodes without systemUUID: bound through providerID and ARM


def pae(payload):
    t = PAYLOAD_TYPE.encode()
    return b'DSSEv1 %d %s %d ' % (len(t), t, len(payload)) + payload


def node_name(i):
    pool = 'sys' if i < 40 else 'user'
    return 'aks-%s-%08d-vmss%06d' % (pool, 31415926 if pool == 'sys' else 27182818, i)


def vm_id(i):
    return '%08x-%04x-4000-8000-%012x' % (0xa0000000 + i, 0x1200 + i, i)


def swapped(u):
    """The vmId as SMBIOS < 2.6 readers and Gen1 VMs show it: the first three
    groups byte-reversed (Azure/WALinuxAgent#830, canonical/cloud-init#2116)."""
    return str(uuid.UUID(bytes=uuid.UUID(u).bytes_le))


def system_uuid(i):
    """Every form a Node may carry: lower case, upper case, byte-swapped."""
    return (vm_id(i), vm_id(i).upper(), swapped(vm_id(i)).upper())[i % 3]


def vmss(i):
    pool = 'sys' if i < 40 else 'user'
    return 'aks-%s-%08d-vmss' % (pool, 31415926 if pool == 'sys' else 27182818)


def resource_id(i, rg=RG, sub=SUB):
    return ('/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/'
            'virtualMachines/%d' % (sub, rg, vmss(i), i))


class Fleet(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='hostenc-audit-')
        cls.key_path = os.path.join(cls.tmp, 'agent.key')
        subprocess.run(['openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                        '-out', cls.key_path], check=True, capture_output=True)
        os.chmod(cls.key_path, 0o600)
        with open(cls.key_path, 'rb') as f:
            cls.key = serialization.load_pem_private_key(f.read(), None)
        cls.store = os.path.join(cls.tmp, 'evidence')
        os.makedirs(cls.store)
        compute = os.path.join(cls.tmp, 'compute.json')
        with open(os.path.join(IMDS_FIXTURES, 'd4sv5.json')) as f:
            base = json.load(f)
        cls.write_compute(compute, base, 0)
        with FakeImds(compute) as imds:
            cls.trust = os.path.join(cls.tmp, 'trust.pem')
            shutil.copy(imds.trust, cls.trust)
            for i in range(N_VMS):
                cls.write_compute(compute, base, i)
                cls.make_vm_evidence(imds, i)
            cls.make_forgeries(imds, compute, base)
        cls.write_exports()

    @classmethod
    def forge(cls, imds, compute, base, vm, claimed_name, sub=SUB, provider_id=None):
        """A genuine envelope (Microsoft-signed document of VM `vm`) whose
        statement claims another node's name, written to its own directory."""
        cls.write_compute(compute, base, vm, sub)
        d = tempfile.mkdtemp(dir=cls.tmp, prefix='forged-')
        args = ['--provider-id', provider_id] if provider_id else []
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                    '--imds-trust', imds.trust, '--attestation', os.path.join(d, 'forged.json'),
                    '--node-name', claimed_name, *args)
        assert p.returncode == 0, p.stderr
        return d

    @classmethod
    def make_forgeries(cls, imds, compute, base):
        # A VM outside the cluster claims a Node that has no evidence.
        cls.outsider = cls.forge(imds, compute, base, 200, node_name(N_VMS + 1))
        # The VM of node 30 claims node 31's name (and, separately, 31's providerID).
        cls.renamed = cls.forge(imds, compute, base, 30, node_name(31))
        cls.reprovided = cls.forge(imds, compute, base, 30, node_name(30), provider_id='azure://' + resource_id(31))
        # A vmId neither the cluster nor ARM knows; a listed vmId signed for another subscription.
        cls.unknown_vm = cls.forge(imds, compute, base, 300, 'aks-user-27182818-vmss000300')
        cls.unknown_sub = cls.forge(imds, compute, base, 40, node_name(40), sub=OTHER_SUB)

    @classmethod
    def write_compute(cls, path, base, i, sub=SUB):
        doc = copy.deepcopy(base)
        doc['vmId'] = vm_id(i)
        doc['subscriptionId'] = sub
        doc['name'] = node_name(i)
        doc['securityProfile']['encryptionAtHost'] = 'false' if i in NONCOMPLIANT else 'true'
        doc['vmSize'] = 'Standard_D4s_v5' if i % 2 else 'Standard_D8s_v5'
        with open(path + '.tmp', 'w') as f:
            json.dump(doc, f)
        os.replace(path + '.tmp', path)

    @classmethod
    def make_vm_evidence(cls, imds, i):
        first = os.path.join(cls.store, '%s-1.json' % node_name(i))
        p = hostenc('check', '--host-root', os.path.join(HOSTROOTS, 'd4sv5'), '--imds-url', imds.url,
                    '--imds-trust', imds.trust, '--key', cls.key_path, '--attestation', first,
                    '--node-name', node_name(i))
        assert p.returncode in (0, 1), p.stderr
        with open(first) as f:
            st = json.loads(base64.b64decode(json.load(f)['payload']))
        # Later cycles: the same facts, the next sequence numbers, re-signed by the same key.
        for seq in range(2, PER_VM + 1):
            st['predicate']['sequence'] = seq
            payload = json.dumps(st, separators=(',', ':')).encode()
            sig = low_s(cls.key.sign(pae(payload), ec.ECDSA(hashes.SHA256())))
            env = {'payloadType': PAYLOAD_TYPE, 'payload': base64.b64encode(payload).decode(),
                   'signatures': [{'keyid': '', 'sig': base64.b64encode(sig).decode()}]}
            with open(os.path.join(cls.store, '%s-%d.json' % (node_name(i), seq)), 'w') as f:
                json.dump(env, f)

    @classmethod
    def write_exports(cls):
        # Nodes carry their identity: systemUUID in its every form, and an
        # AKS providerID (resource group lower-cased, as AKS writes it).
        items = []
        for i in range(N_VMS + MISSING):
            node = {'metadata': {'name': node_name(i), 'labels': {
                'kubernetes.azure.com/agentpool': 'sys' if i < 40 else 'user',
                'node.kubernetes.io/instance-type': 'Standard_D4s_v5'}},
                'spec': {'providerID': 'azure://' + resource_id(i, rg=RG.lower())},
                'status': {'nodeInfo': {'systemUUID': system_uuid(i)}}}
            if i in BY_PROVIDER_ID:
                del node['status']
            items.append(node)
        cls.nodes = os.path.join(cls.tmp, 'nodes.json')
        with open(cls.nodes, 'w') as f:
            json.dump({'apiVersion': 'v1', 'kind': 'List', 'items': items}, f)
        # az vmss list-instances: ARM booleans; three VMs disagree with their nodes.
        arm = [{'name': 'vmss_%d' % i, 'vmId': vm_id(i), 'id': resource_id(i),
                'securityProfile': {'encryptionAtHost': i not in NONCOMPLIANT and i not in ARM_DISAGREES}}
               for i in range(N_VMS + MISSING)]
        cls.arm = os.path.join(cls.tmp, 'arm.json')
        with open(cls.arm, 'w') as f:
            json.dump(arm, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def audit(self, *args):
        return hostenc('audit', '--imds-trust', self.trust, '--nodes', self.nodes, '--arm', self.arm, *args,
                       self.store)

    def test_json_summary(self):
        p = self.audit('--output', 'json')
        self.assertEqual(p.returncode, 1, p.stderr)
        r = json.loads(p.stdout)
        self.assertEqual(r['schema'], 'https://hostenc.dev/audit/v1')
        validate_output(r)                              # docs/schemas/audit-v1.schema.json
        for broken in ({**r, 'extra': 1}, {**r, 'summary': {**r['summary'], 'nodes': -1}},
                       {**r, 'nodes': [{**r['nodes'][0], 'arm': 'maybe'}]}):
            with self.assertRaises(jsonschema.ValidationError):
                validate_output(broken)
        self.assertEqual(r['summary'], {
            'nodes': N_VMS + MISSING, 'envelopes': N_VMS * PER_VM, 'compliant': N_VMS - len(NONCOMPLIANT),
            'noncompliant': len(NONCOMPLIANT), 'unknown': 0, 'stale': 0, 'missing': MISSING,
            'misattributed': 0, 'foreign': 0, 'armMismatch': len(ARM_DISAGREES), 'invalidFiles': 0})
        by_name = {n['node']: n for n in r['nodes']}
        self.assertEqual(by_name[node_name(3)]['findings'], ['noncompliant'])
        self.assertEqual(by_name[node_name(3)]['reason'], 'EncryptionAtHostDisabled')
        self.assertEqual(by_name[node_name(3)]['sequence'], PER_VM)       # the freshest envelope counts
        self.assertEqual(by_name[node_name(50)]['findings'], ['armMismatch'])
        self.assertEqual(by_name[node_name(N_VMS + 1)]['state'], 'missing')
        self.assertEqual(by_name[node_name(60)]['pool'], 'user')
        # Every identity form binds: exact, upper case, byte-swapped, providerID through ARM.
        self.assertEqual(by_name[node_name(60)]['boundBy'], 'systemUUID')
        self.assertEqual(by_name[node_name(61)]['boundBy'], 'systemUUID')
        self.assertEqual(by_name[node_name(62)]['boundBy'], 'systemUUID-byte-swapped')
        self.assertEqual(by_name[node_name(91)]['boundBy'], 'providerID')
        self.assertEqual(by_name[node_name(91)]['state'], 'compliant')
        groups = {(g['pool'], g['vmSize']): g for g in r['groups']}
        self.assertEqual(groups[('sys', 'Standard_D8s_v5')]['noncompliant'], 10)
        self.assertEqual(groups[('sys', 'Standard_D4s_v5')]['noncompliant'], 10)
        self.assertEqual(groups[('user', 'Standard_D4s_v5')]['missing'], MISSING)

    def test_junit(self):
        out = os.path.join(self.tmp, 'audit.xml')
        p = self.audit('--output', 'junit', '--out', out)
        self.assertEqual(p.returncode, 1, p.stderr)
        suite = ET.parse(out).getroot().find('testsuite')
        self.assertEqual(int(suite.get('tests')), N_VMS + MISSING)
        self.assertEqual(int(suite.get('failures')), len(NONCOMPLIANT) + MISSING + len(ARM_DISAGREES))
        failed = {tc.get('name'): tc.find('failure').get('type') for tc in suite.iter('testcase')
                  if tc.find('failure') is not None}
        self.assertIn(node_name(0), failed)
        self.assertNotIn(node_name(30), failed)
        # The failure type names the finding, not the node's state.
        self.assertEqual(failed[node_name(0)], 'noncompliant')
        self.assertEqual(failed[node_name(50)], 'mismatch')
        self.assertEqual(failed[node_name(N_VMS + 1)], 'missing')
        for attr in ('package', 'id', 'timestamp', 'hostname', 'time'):
            self.assertTrue(suite.get(attr), attr)
        self.assertIsNotNone(suite.find('properties'))
        self.assert_ant_junit(out)

    def assert_ant_junit(self, path):
        """Valid against the strict Ant schema (windyroad/JUnit-Schema)."""
        self.assertIsNotNone(XMLLINT, 'xmllint (Debian libxml2-utils) is needed')
        p = subprocess.run([XMLLINT, '--noout', '--schema', JUNIT_XSD, path], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])

    def test_junit_strict_with_hostile_file_names(self):
        """Invalid evidence under file names that are not UTF-8 and carry
        markup and control bytes: the JUnit is still valid UTF-8 and valid
        against the Ant schema, each file a failure of type `invalid`."""
        bad = os.path.join(self.tmp, 'hostile').encode()
        os.makedirs(bad, exist_ok=True)
        names = [b'caf\xe9-latin1.json', b'<x a="1">&amp;\x01.json', b'trunc-\xe2\x82.json', b'ok-\xe2\x82\xac.json']
        for name in names:
            with open(os.path.join(bad, name), 'w') as f:
                f.write('{"payloadType": "application/json"}')
        out = os.path.join(self.tmp, 'hostile.xml')
        p = hostenc('audit', '--imds-trust', self.trust, '--output', 'junit', '--out', out, bad.decode('utf-8', 'surrogateescape'))
        self.assertEqual(p.returncode, 1, p.stderr)
        with open(out, 'rb') as f:
            raw = f.read()
        text = raw.decode('utf-8')                      # raises if not valid UTF-8
        self.assertIn('ok-\u20ac.json', text)
        self.assertIn('caf\ufffd-latin1.json', text)
        self.assertNotIn('\x01', text)
        suite = ET.fromstring(raw).find('testsuite')
        types = [tc.find('failure').get('type') for tc in suite.iter('testcase')]
        self.assertEqual(types, ['invalid'] * len(names))
        self.assert_ant_junit(out)

    def test_text_and_exit_codes(self):
        p = self.audit()
        self.assertEqual(p.returncode, 1)
        self.assertIn('compliant 80, noncompliant 20, unknown 0, stale 0, missing evidence 5, ARM mismatch 3, '
                      'misattributed 0, foreign 0', p.stdout)
        # Only compliant evidence and no cluster/ARM view: exit 0.
        clean = os.path.join(self.tmp, 'clean')
        os.makedirs(clean, exist_ok=True)
        for name in os.listdir(self.store):
            if name.startswith(node_name(30)):
                shutil.copy(os.path.join(self.store, name), clean)
        p = hostenc('audit', '--imds-trust', self.trust, clean)
        self.assertEqual(p.returncode, 0, p.stdout)
        # An unreadable export is an error, told apart from findings.
        p = hostenc('audit', '--imds-trust', self.trust, '--nodes', os.path.join(self.tmp, 'nope.json'), clean)
        self.assertEqual(p.returncode, 2)
        self.assertIn('--nodes', p.stderr)
        # Stale under a tight --max-age is a finding too.
        p = hostenc('audit', '--imds-trust', self.trust, '--max-age', '1s', '--output', 'json', clean)
        if json.loads(p.stdout)['summary']['stale'] == 0:
            self.skipTest('evidence younger than 1 s: machine too fast to observe staleness')
        self.assertEqual(p.returncode, 1)

    def test_invalid_evidence_is_reported(self):
        bad = os.path.join(self.tmp, 'bad')
        os.makedirs(bad, exist_ok=True)
        src = os.path.join(self.store, '%s-1.json' % node_name(70))
        with open(src) as f:
            env = json.load(f)
        env['payloadType'] = 'application/json'
        with open(os.path.join(bad, 'tampered.json'), 'w') as f:
            json.dump(env, f)
        p = hostenc('audit', '--imds-trust', self.trust, '--output', 'json', bad)
        self.assertEqual(p.returncode, 1)
        r = json.loads(p.stdout)
        self.assertEqual(r['invalidEnvelopes'][0]['reason'], 'PayloadTypeMismatch')

    def audit_json(self, *paths, nodes=True, arm=True):
        args = (['--nodes', self.nodes] if nodes else []) + (['--arm', self.arm] if arm else [])
        p = hostenc('audit', '--imds-trust', self.trust, *args, '--output', 'json', *paths)
        r = json.loads(p.stdout)
        evidence = {n['vmId']: n for n in r['nodes'] if n['envelopes']}
        return p, r, evidence, {n['node']: n for n in r['nodes'] if n['node']}

    def test_another_vm_cannot_fill_a_missing_node(self):
        p, r, by_vm, by_name = self.audit_json(self.store, self.outsider)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(r['summary']['missing'], MISSING)          # node 101 stays missing
        self.assertEqual(r['summary']['compliant'], N_VMS - len(NONCOMPLIANT))
        self.assertEqual(r['summary']['misattributed'], 1)
        self.assertEqual(by_name[node_name(N_VMS + 1)]['state'], 'missing')
        forged = by_vm[vm_id(200)]
        self.assertEqual((forged['state'], forged['findings'], forged['claimedNode'], forged['node']),
                         ('misattributed', ['misattributed'], node_name(N_VMS + 1), ''))
        self.assertIn('whose identity is ' + system_uuid(N_VMS + 1).lower(), forged['description'])
        # Every output format shows it as a failure, never as compliant.
        out = os.path.join(self.tmp, 'forged.xml')
        p = hostenc('audit', '--imds-trust', self.trust, '--nodes', self.nodes, '--arm', self.arm, '--output',
                    'junit', '--out', out, self.outsider)
        self.assertEqual(p.returncode, 1)
        cases = {tc.get('name'): tc for tc in ET.parse(out).getroot().iter('testcase')}
        self.assertEqual(cases[vm_id(200)].find('failure').get('type'), 'misattributed')
        self.assertEqual(cases[node_name(N_VMS + 1)].find('failure').get('type'), 'missing')
        p = hostenc('audit', '--imds-trust', self.trust, '--nodes', self.nodes, self.outsider)
        self.assertEqual(p.returncode, 1)
        self.assertIn('compliant 0,', p.stdout)
        self.assertIn('misattributed 1, foreign 0', p.stdout)
        self.assertRegex(p.stdout, r'\n\S+\s+%s\s+\S+\s+misattributed ' % vm_id(200))
        html = os.path.join(self.tmp, 'forged.html')
        p = hostenc('audit', '--imds-trust', self.trust, '--nodes', self.nodes, '--output', 'html', '--out', html,
                    self.outsider)
        self.assertEqual(p.returncode, 1)
        with open(html) as f:
            text = f.read()
        self.assertRegex(text, r'id="count-misattributed">.*?<b>1</b>')
        self.assertRegex(text, r'id="count-compliant">.*?<b>0</b>')
        self.assertRegex(text, r'<td class="s" data-state="misattributed" style="color:#bf360c">misattributed</td>')
        # Without a node list or ARM export there is nothing to bind to: the claim is shown as such.
        p, r, by_vm, _ = self.audit_json(self.outsider, nodes=False, arm=False)
        self.assertEqual(by_vm[vm_id(200)]['binding'], 'unchecked')

    def test_own_vm_under_another_name(self):
        for forged, what in ((self.renamed, 'claims node "%s"' % node_name(31)),
                             (self.reprovided, 'claims providerID')):
            p, r, by_vm, by_name = self.audit_json(forged)
            self.assertEqual(p.returncode, 1)
            n = by_name[node_name(30)]
            self.assertEqual((n['vmId'], n['state'], n['findings']), (vm_id(30), 'misattributed', ['misattributed']))
            self.assertIn(what, n['description'])
            self.assertEqual(r['summary']['compliant'], 0)
            self.assertEqual(by_name[node_name(31)]['state'], 'missing')

    def test_foreign_vm_or_subscription(self):
        p, r, by_vm, by_name = self.audit_json(self.unknown_vm, self.unknown_sub)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(by_vm[vm_id(300)]['state'], 'foreign')
        self.assertIn('in neither the cluster nor the ARM export', by_vm[vm_id(300)]['description'])
        self.assertEqual(by_vm[vm_id(40)]['state'], 'foreign')
        self.assertIn('subscription %s' % OTHER_SUB, by_vm[vm_id(40)]['description'])
        self.assertEqual((r['summary']['foreign'], r['summary']['compliant']), (2, 0))
        self.assertEqual(by_name[node_name(40)]['state'], 'missing')     # its Node got no evidence from it
        # An ARM export alone is enough to tell a foreign VM.
        p, r, by_vm, _ = self.audit_json(self.unknown_vm, nodes=False)
        self.assertEqual((p.returncode, by_vm[vm_id(300)]['state']), (1, 'foreign'))

    def test_html_in_a_browser(self):
        html = os.path.join(ARTIFACTS, 'hostenc-audit-report.html')
        png = os.path.join(ARTIFACTS, 'hostenc-audit-report.png')
        p = self.audit('--output', 'html', '--out', html)
        self.assertEqual(p.returncode, 1, p.stderr)
        with open(html) as f:
            text = f.read()
        self.assertNotIn('<script', text)
        self.assertNotRegex(text, r'(src|href)="https?:')       # self-contained
        self.assertIsNotNone(CHROMIUM, 'Debian chromium is needed for the browser test')
        flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--user-data-dir=' + os.path.join(self.tmp, 'chrome-profile')]
        dom = subprocess.run([CHROMIUM] + flags + ['--dump-dom', 'file://' + html], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        # Nodes that ARM contradicts are not counted (nor drawn) as compliant.
        for ident, value in (('total-nodes', N_VMS + MISSING), ('count-noncompliant', len(NONCOMPLIANT)),
                             ('count-missing', MISSING), ('count-arm-mismatch', len(ARM_DISAGREES)),
                             ('count-compliant', N_VMS - len(NONCOMPLIANT) - len(ARM_DISAGREES))):
            self.assertRegex(dom.stdout, r'id="%s">[^<]*(<span[^>]*></span>[^<]*)?<b>%d</b>' % (ident, value))
        self.assertIn('id="fleet-donut"', dom.stdout)
        self.assertIn('id="pool-bars"', dom.stdout)
        nodes_table = dom.stdout[dom.stdout.index('id="nodes"'):]
        self.assertEqual(nodes_table.count('<tr>'), N_VMS + MISSING + 1)
        self.assertIn('id="groups"', dom.stdout)
        self.check_accessibility(html, flags)
        shot = subprocess.run([CHROMIUM] + flags + ['--window-size=1280,1600', '--screenshot=' + png,
                                                    'file://' + html], capture_output=True, timeout=120)
        self.assertEqual(shot.returncode, 0)
        with open(png, 'rb') as f:
            self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')
        self.assertGreater(os.path.getsize(png), 10000)

    def check_accessibility(self, html, flags):
        """WCAG AA contrast (4.5:1) of every text from computed styles, and
        table structure, in a scripted copy of the report."""
        with open(html) as f:
            text = f.read()
        probe = os.path.join(self.tmp, 'a11y.html')
        text = text.replace('<meta http-equiv="Content-Security-Policy"', '<meta name="csp-removed-for-probe"')
        with open(probe, 'w') as f:
            f.write(text.replace('</body>', A11Y_SCRIPT + '</body>'))
        dom = subprocess.run([CHROMIUM] + flags + ['--dump-dom', 'file://' + probe], capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(dom.returncode, 0, dom.stderr[-2000:])
        start = dom.stdout.index('<pre id="a11y">') + len('<pre id="a11y">')
        r = json.loads(htmlmod.unescape(dom.stdout[start:dom.stdout.index('</pre>', start)]))
        self.assertGreater(len(r['contrast']), N_VMS)
        low = [c for c in r['contrast'] if c['ratio'] < 4.5]
        self.assertEqual(low, [], 'text below WCAG AA contrast 4.5:1')
        self.assertEqual({t['id'] for t in r['tables']}, {'groups', 'nodes'})
        for t in r['tables']:
            self.assertTrue(t['caption'] and t['thead'] and t['headerCells'] > 0, t)
            self.assertEqual(t['unscoped'], 0, t)
        compliant = r['nodeStates'][node_name(30)]
        for i in ARM_DISAGREES:
            state = r['nodeStates'][node_name(i)]
            self.assertTrue(state.startswith('arm-mismatch '), state)
            self.assertNotEqual(state.split(' ', 1)[1], compliant.split(' ', 1)[1])


if __name__ == '__main__':
    unittest.main(verbosity=2)
