#!/usr/bin/python3
"""Offline checks of deploy/overlays/azure-monitor (run by validate.sh):
  1. the checked-in files equal what scripts/gen-azure-monitor.py generates
     from deploy/components/monitoring (so they cannot drift);
  2. each prometheusRuleGroups resource's properties validate against the
     resource's published schema (azure/prometheusRuleGroups-2023-03-01.schema.json,
     transcribed from Azure/azure-rest-api-specs), and the ARM template has
     the members a deployment needs;
  3. the rule groups, turned back into a Prometheus rule file, hold exactly
     the PrometheusRule's alerts and pass `promtool check rules`;
  4. a self-test: a broken copy fails the schema.
Prints one line per failure; exits 1 if any."""

import copy
import json
import os
import subprocess
import sys
import tempfile

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)


def main():
    gen = subprocess.run([sys.executable, os.path.join(REPO, 'scripts', 'gen-azure-monitor.py'), '--check'],
                         capture_output=True, text=True)
    check(gen.returncode == 0, 'generated files are current: ' + gen.stderr.strip())
    with open(os.path.join(HERE, 'azure', 'prometheusRuleGroups-2023-03-01.schema.json')) as f:
        schema = json.load(f)
    validator = jsonschema.Draft202012Validator(schema)
    with open(os.path.join(REPO, 'deploy', 'overlays', 'azure-monitor', 'prometheus-rule-groups.json')) as f:
        tpl = json.load(f)
    check(tpl.get('$schema', '').startswith('https://schema.management.azure.com/schemas/')
          and tpl.get('contentVersion') == '1.0.0.0', 'ARM template: $schema and contentVersion')
    with open(os.path.join(REPO, 'deploy', 'components', 'monitoring', 'prometheusrule.yaml')) as f:
        source = yaml.safe_load(f)
    groups = []
    for res in tpl.get('resources', []):
        check(res.get('type') == 'Microsoft.AlertsManagement/prometheusRuleGroups', 'resource type')
        check(res.get('apiVersion') == '2023-03-01', 'resource apiVersion 2023-03-01')
        check(isinstance(res.get('location'), str) and res.get('name'), 'resource name and location (TrackedResource)')
        for err in validator.iter_errors(res.get('properties')):
            failures.append('schema: %s: %s' % ('/'.join(map(str, err.absolute_path)), err.message))
        rules = []
        for r in res['properties']['rules']:
            rule = {'alert': r['alert'], 'expr': r['expression'], 'labels': r['labels'],
                    'annotations': r['annotations']}
            if 'for' in r:
                rule['for'] = r['for'][2:].lower()
            rules.append(rule)
        groups.append({'name': res['name'].split("'{0}-", 1)[1].split("'", 1)[0], 'rules': rules})
    want = [{'name': g['name'], 'rules': [{k: (v.strip() if k == 'expr' else v) for k, v in r.items()}
                                           for r in g['rules']]} for g in source['spec']['groups']]
    check(groups == want, 'rule groups equal the PrometheusRule groups')
    with tempfile.NamedTemporaryFile('w', suffix='.yaml') as f:
        yaml.safe_dump({'groups': groups}, f)
        f.flush()
        p = subprocess.run(['promtool', 'check', 'rules', f.name], capture_output=True, text=True)
        check(p.returncode == 0, 'promtool check rules on the Azure expressions: ' + p.stdout + p.stderr)
    broken = copy.deepcopy(tpl['resources'][0]['properties'])
    broken['rules'][0]['severity'] = 0
    broken['rules'][0]['expresion'] = broken['rules'][0].pop('expression')
    broken['scopes'] = []
    check(len(list(validator.iter_errors(broken))) >= 3, 'self-test: a broken rule group fails the schema')
    for f in failures:
        print('azure-monitor: ' + f)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
