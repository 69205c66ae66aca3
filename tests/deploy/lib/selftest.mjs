// Proves the checks bite: applies known regressions to the real renderings
// and expects each one to be reported by the hardening assertions, the
// admission-policy cases or the schema validation. A mutation that slips
// through means a check is too weak.
// Usage: node selftest.mjs MONITORING.yaml PUSH.yaml CLEANUP.yaml
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { loadYamlDocs, Reporter } from "./common.mjs";
import { hardeningFailures } from "./hardening.mjs";
import { policyFailures } from "./policy.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const [monitoringFile, pushFile, cleanupFile] = process.argv.slice(2);

const find = (objs, kind, name) => objs.find((o) => o.kind === kind && (!name || o.metadata.name === name));
const ds = (objs) => find(objs, "DaemonSet", "hostenc").spec.template.spec;
const agent = (objs) => ds(objs).containers[0];
const vap = (objs) => find(objs, "ValidatingAdmissionPolicy");
const cfgMap = (objs) => find(objs, "ConfigMap");
const setCfg = (objs, fn) => {
  const cm = cfgMap(objs);
  const c = JSON.parse(cm.data["config.json"]);
  fn(c);
  cm.data["config.json"] = JSON.stringify(c);
};
const dropValidation = (objs, needle) => {
  const p = vap(objs).spec;
  p.validations = p.validations.filter((v) => !v.expression.includes(needle));
};

// [name, rendering, features, mutate]
const hardening = [
  ["privileged container", "m", (o) => { agent(o).securityContext.privileged = true; }],
  ["readOnlyRootFilesystem removed", "m", (o) => { delete agent(o).securityContext.readOnlyRootFilesystem; }],
  ["allowPrivilegeEscalation true", "m", (o) => { agent(o).securityContext.allowPrivilegeEscalation = true; }],
  ["capability added", "m", (o) => { agent(o).securityContext.capabilities.add = ["SYS_ADMIN"]; }],
  ["ALL no longer dropped", "m", (o) => { agent(o).securityContext.capabilities.drop = ["NET_RAW"]; }],
  ["runs as root", "m", (o) => { agent(o).securityContext.runAsUser = 0; }],
  ["runAsNonRoot false", "m", (o) => { agent(o).securityContext.runAsNonRoot = false; }],
  ["seccomp Unconfined", "m", (o) => { agent(o).securityContext.seccompProfile.type = "Unconfined"; ds(o).securityContext.seccompProfile.type = "Unconfined"; }],
  ["disk group added", "m", (o) => { ds(o).securityContext.supplementalGroups = [6]; }],
  ["hostPID", "m", (o) => { ds(o).hostPID = true; }],
  ["no hostNetwork", "m", (o) => { ds(o).hostNetwork = false; }],
  ["host / writable", "m", (o) => { agent(o).volumeMounts.find((m) => m.name === "host-root").readOnly = false; }],
  ["host / without HostToContainer", "m", (o) => { delete agent(o).volumeMounts.find((m) => m.name === "host-root").mountPropagation; }],
  ["extra hostPath", "m", (o) => { ds(o).volumes.push({ name: "logs", hostPath: { path: "/var/log" } }); agent(o).volumeMounts.push({ name: "logs", mountPath: "/logs", readOnly: true }); }],
  ["evidence on hostPath", "m", (o) => { ds(o).volumes.find((v) => v.name === "evidence").hostPath = { path: "/var/lib/hostenc" }; delete ds(o).volumes.find((v) => v.name === "evidence").emptyDir; }],
  ["memory limit above request", "m", (o) => { agent(o).resources.limits.memory = "1Gi"; }],
  ["no requests", "m", (o) => { delete agent(o).resources.requests; }],
  ["taints no longer tolerated", "m", (o) => { ds(o).tolerations = [{ key: "CriticalAddonsOnly", operator: "Exists" }]; }],
  ["no priorityClassName", "m", (o) => { delete ds(o).priorityClassName; }],
  ["Windows nodes selected", "m", (o) => { ds(o).nodeSelector = {}; }],
  ["maxUnavailable 1", "m", (o) => { find(o, "DaemonSet", "hostenc").spec.updateStrategy.rollingUpdate.maxUnavailable = 1; }],
  ["automounted token", "m", (o) => { ds(o).automountServiceAccountToken = true; }],
  ["token lives a day", "m", (o) => { ds(o).volumes.find((v) => v.name === "kube-api-access").projected.sources[0].serviceAccountToken.expirationSeconds = 86400; }],
  ["image :latest", "m", (o) => { agent(o).image = "localhost/hostenc:latest"; }],
  ["node name not from the downward API", "m", (o) => { agent(o).args = agent(o).args.filter((a) => !a.startsWith("--node-name")); }],
  ["liveness on the wrong path", "m", (o) => { agent(o).livenessProbe.httpGet.path = "/metrics"; }],
  ["metrics port renamed", "m", (o) => { agent(o).ports[0].name = "http"; }],
  ["config without hash suffix", "m", (o) => { ds(o).volumes.find((v) => v.name === "config").configMap.name = "hostenc-config"; }],
  ["config hostRoot /", "m", (o) => setCfg(o, (c) => { c.hostRoot = "/"; })],
  ["config evidenceDir elsewhere", "m", (o) => setCfg(o, (c) => { c.evidenceDir = "/tmp/evidence"; })],
  ["RBAC: delete nodes", "m", (o) => { find(o, "ClusterRole").rules[0].verbs.push("delete"); }],
  ["RBAC: pods", "m", (o) => { find(o, "ClusterRole").rules.push({ apiGroups: [""], resources: ["pods"], verbs: ["get"] }); }],
  ["RBAC: wildcard", "m", (o) => { find(o, "ClusterRole").rules[0].resources = ["*"]; }],
  ["RBAC: events cluster-wide", "m", (o) => { find(o, "ClusterRole").rules.push({ apiGroups: [""], resources: ["events"], verbs: ["create", "patch"] }); }],
  ["RBAC: another binding", "m", (o) => { o.push({ apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "x" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" }, subjects: [{ kind: "ServiceAccount", name: "hostenc", namespace: "hostenc-system" }] }); }],
  ["VAP failurePolicy Ignore", "m", (o) => { vap(o).spec.failurePolicy = "Ignore"; }],
  ["VAP for another ServiceAccount", "m", (o) => { vap(o).spec.matchConditions[0].expression = "request.userInfo.username == 'system:serviceaccount:other:hostenc'"; }],
  ["VAP binding audit only", "m", (o) => { find(o, "ValidatingAdmissionPolicyBinding").spec.validationActions = ["Audit"]; }],
  ["VAP without events", "m", (o) => { vap(o).spec.matchConstraints.resourceRules[0].resources = ["nodes", "nodes/status"]; }],
  ["PodMonitor on another port", "m", (o) => { find(o, "PodMonitor").spec.podMetricsEndpoints[0].port = "http"; }],
  ["PodMonitor without node label", "m", (o) => { find(o, "PodMonitor").spec.podMetricsEndpoints[0].relabelings = []; }],
  ["alert dropped", "m", (o) => { find(o, "PrometheusRule").spec.groups[0].rules.pop(); }],
  ["runbook_url without anchor", "m", (o) => { find(o, "PrometheusRule").spec.groups[0].rules[0].annotations.runbook_url = "https://hostenc.dev/"; }],
  ["push: collector token for the API audience", "p", (o) => { delete ds(o).volumes.find((v) => v.name === "collector-token").projected.sources[0].serviceAccountToken.audience; }],
  ["push: spool not mounted", "p", (o) => { agent(o).volumeMounts = agent(o).volumeMounts.filter((m) => m.name !== "spool"); }],
  ["push: plain http", "p", (o) => setCfg(o, (c) => { c.pushUrl = "http://collector.example.com/v1/evidence"; })],
  ["cleanup on the host network", "c", (o) => { find(o, "DaemonSet").spec.template.spec.hostNetwork = true; }],
  ["cleanup privileged", "c", (o) => { find(o, "DaemonSet").spec.template.spec.initContainers[0].securityContext.privileged = true; }],
  ["cleanup without --cleanup", "c", (o) => { find(o, "DaemonSet").spec.template.spec.initContainers[0].args.shift(); }],
];
const features = { m: "agent,monitoring", p: "agent,push", c: "cleanup" };
const files = { m: monitoringFile, p: pushFile, c: cleanupFile };

const policy = [
  ["VAP: spec no longer compared", (o) => dropValidation(o, "k == 'metadata' || k == 'status'")],
  ["VAP: status no longer compared", (o) => dropValidation(o, "k == 'conditions'")],
  ["VAP: other labels no longer compared", (o) => dropValidation(o, "variables.ourLabels ||")],
  ["VAP: other conditions no longer compared", (o) => dropValidation(o, "c.type != variables.ourCondition")],
  ["VAP: node name not checked", (o) => { for (const v of vap(o).spec.validations) v.expression = v.expression.replace(/request\.name == variables\.nodeName/g, "true"); }],
  ["VAP: events about any node", (o) => dropValidation(o, "involvedObject")],
  ["VAP: claim optional", (o) => { vap(o).spec.variables.find((v) => v.name === "nodeName").expression = "request.name"; dropValidation(o, "variables.nodeName != ''"); }],
];

const schema = [
  ["misspelt readOnlyRootFileSystem", (o) => { const sc = agent(o).securityContext; delete sc.readOnlyRootFilesystem; sc.readOnlyRootFileSystem = true; }],
  ["misspelt metadata.lables", (o) => { const m = find(o, "DaemonSet", "hostenc").metadata; m.lables = m.labels; }],
  ["privileged as a string", (o) => { agent(o).securityContext.privileged = "false"; }],
  ["unknown alert field", (o) => { find(o, "PrometheusRule").spec.groups[0].rules[0].forr = "10m"; }],
  ["VAP binding without validationActions", (o) => { delete find(o, "ValidatingAdmissionPolicyBinding").spec.validationActions; }],
];

const rep = new Reporter("self-test");
const base = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, loadYamlDocs(f)]));
for (const [k, f] of Object.entries(features))
  rep.check(hardeningFailures(structuredClone(base[k]), new Set(f.split(","))).failures.length === 0, `unmutated ${k} rendering passes`);
for (const [name, which, mutate] of hardening) {
  const objs = structuredClone(base[which]);
  mutate(objs);
  const { failures } = hardeningFailures(objs, new Set(features[which].split(",")));
  rep.check(failures.length > 0, `hardening catches: ${name}`, "not reported");
  if (process.env.VERBOSE && failures.length) console.log(`       -> ${failures[0]}`);
}
rep.check(policyFailures(structuredClone(base.m)).length === 0, "unmutated admission policy passes its cases");
for (const [name, mutate] of policy) {
  const objs = structuredClone(base.m);
  mutate(objs);
  rep.check(policyFailures(objs).length > 0, `policy cases catch: ${name}`, "not reported");
}
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostenc-selftest-"));
try {
  for (const [i, [name, mutate]] of schema.entries()) {
    const objs = structuredClone(base.m);
    mutate(objs);
    const f = path.join(tmp, `schema-${i}.yaml`);
    fs.writeFileSync(f, objs.map((o) => "---\n" + stringify(o)).join(""));
    let caught = false;
    try {
      execFileSync(process.execPath, [path.join(here, "schema.mjs"), f], { stdio: "pipe" });
    } catch {
      caught = true;
    }
    rep.check(caught, `schema validation catches: ${name}`, "not reported");
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
rep.done();
