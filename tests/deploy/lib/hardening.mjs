// Asserts the hardening and wiring of a rendered kustomization, so a
// regression of any field in docs/operations.md ("What each privilege and
// mount is for") fails CI. Features say what the rendering must contain:
//   agent       the agent DaemonSet, its RBAC, admission policy and config
//   monitoring  PodMonitor and PrometheusRule
//   scrape      prometheus.io/* pod annotations, no monitoring CRs
//   push        evidence push: collector token, spool, push config
//   cleanup     the uninstall DaemonSet only
// Usage: node hardening.mjs FEATURES RENDERED.yaml   (FEATURES: comma list)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadYamlDocs, idOf, Reporter } from "./common.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");

export const NS = "hostenc-system";
export const SA = "hostenc";
export const UID = 65532;
const TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const ALERTS = {
  HostencNodeNonCompliant: { for: "10m", expr: 'hostenc_verdict{state="noncompliant"}' },
  HostencNodeVerdictUnknown: { for: "30m", expr: 'hostenc_verdict{state="unknown"}' },
  HostencAgentSilent: { expr: "time() - max by (node) (hostenc_last_success_timestamp_seconds) > 3 * 600" },
  HostencAgentMissing: { expr: "hostenc_build_info" },
  HostencEvidenceRejected: { expr: "increase(hostenc_push_rejected_total[1h])" },
  HostencNodeConditionNonCompliant: {
    for: "10m",
    expr: 'kube_node_status_condition{condition="EncryptionAtHostNonCompliant", status="true"}',
  },
  // The evidence pipeline (group hostenc-evidence-pipeline).
  HostencCollectorNotReceiving: { for: "15m", expr: "increase(hostenc_collect_envelopes_received_total[30m])) == 0" },
  HostencAgentSpoolGrowing: { for: "30m", expr: "delta(hostenc_push_spool_envelopes[1h])) > 0" },
  HostencAgentSpoolDropping: { expr: "increase(hostenc_push_spool_dropped_total[1h])) > 0" },
  HostencCollectorRejecting: { expr: "sum by (reason) (increase(hostenc_collect_envelopes_rejected_total[15m]))" },
};

export function mesonVersion() {
  const m = fs.readFileSync(path.join(repo, "meson.build"), "utf8").match(/\bversion\s*:\s*'([^']+)'/);
  return m ? m[1] : null;
}

const byKind = (objs, kind) => objs.filter((o) => o.kind === kind);
const one = (objs, kind, name) => objs.find((o) => o.kind === kind && o.metadata?.name === name);

// Flattens RBAC rules into sorted "group|resource|verb" strings.
function ruleSet(rules = []) {
  const out = [];
  for (const r of rules) {
    for (const g of r.apiGroups || [""])
      for (const res of r.resources || [])
        for (const v of r.verbs || []) out.push(`${g}|${res}|${v}${r.resourceNames ? "|names" : ""}`);
    if (r.nonResourceURLs) out.push(`nonResourceURLs|${r.nonResourceURLs.join(",")}`);
  }
  return [...new Set(out)].sort();
}

function containerSecurity(t, c, pod, where) {
  const sc = c.securityContext || {};
  const psc = pod.securityContext || {};
  t.check(sc.privileged !== true, `${where}: not privileged`);
  t.eq(sc.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation false`);
  t.eq(sc.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
  t.check((sc.capabilities?.drop || []).includes("ALL"), `${where}: drops ALL capabilities`);
  t.check(!(sc.capabilities?.add || []).length, `${where}: adds no capability`, JSON.stringify(sc.capabilities?.add));
  t.eq(sc.runAsNonRoot ?? psc.runAsNonRoot, true, `${where}: runAsNonRoot`);
  t.eq(sc.runAsUser ?? psc.runAsUser, UID, `${where}: runAsUser ${UID}`);
  t.eq(sc.runAsGroup ?? psc.runAsGroup, UID, `${where}: runAsGroup ${UID}`);
  t.eq((sc.seccompProfile ?? psc.seccompProfile)?.type, "RuntimeDefault", `${where}: seccomp RuntimeDefault`);
  t.check(sc.procMount === undefined || sc.procMount === "Default", `${where}: default procMount`);
  const req = c.resources?.requests || {};
  const lim = c.resources?.limits || {};
  t.check(Boolean(req.cpu) && Boolean(req.memory), `${where}: cpu and memory requests`, JSON.stringify(req));
  t.check(Boolean(lim.memory) && lim.memory === req.memory, `${where}: memory limit equals request`, `${lim.memory} vs ${req.memory}`);
  t.check(!/:latest$/.test(c.image) && /(:[\w.-]+|@sha256:[0-9a-f]{64})$/.test(c.image), `${where}: image pinned by tag or digest`, c.image);
  const v = mesonVersion();
  t.check(!/:[\w.-]+$/.test(c.image) || c.image.endsWith(`:${v}`), `${where}: image tag is the project version ${v}`, c.image);
  for (const p of c.ports || [])
    t.check(p.hostPort === undefined || p.hostPort === p.containerPort, `${where}: no extra hostPort`, JSON.stringify(p));
}

function podSecurity(t, pod, where, { hostNetwork }) {
  const psc = pod.securityContext || {};
  t.eq(pod.hostNetwork === true, hostNetwork, `${where}: hostNetwork ${hostNetwork}`);
  t.check(pod.hostPID !== true, `${where}: hostPID false`);
  t.check(pod.hostIPC !== true, `${where}: hostIPC false`);
  t.check(pod.shareProcessNamespace !== true, `${where}: no shared process namespace`);
  t.eq(pod.serviceAccountName, SA, `${where}: serviceAccountName`);
  t.eq(pod.automountServiceAccountToken, false, `${where}: automountServiceAccountToken false (own projected token)`);
  t.eq(psc.runAsNonRoot, true, `${where}: pod runAsNonRoot`);
  t.eq(psc.runAsUser, UID, `${where}: pod runAsUser`);
  t.eq(psc.runAsGroup, UID, `${where}: pod runAsGroup`);
  t.eq(psc.seccompProfile?.type, "RuntimeDefault", `${where}: pod seccomp RuntimeDefault`);
  // No `disk` group (or any other): block devices stay closed (docs/operations.md).
  t.check(!psc.supplementalGroups?.length && psc.fsGroup === undefined, `${where}: no supplementalGroups or fsGroup`,
    JSON.stringify({ supplementalGroups: psc.supplementalGroups, fsGroup: psc.fsGroup }));
  t.eq(pod.priorityClassName, "system-node-critical", `${where}: priorityClassName`);
  t.eq(pod.nodeSelector, { "kubernetes.io/os": "linux" }, `${where}: nodeSelector linux`);
  t.check((pod.tolerations || []).some((x) => x.operator === "Exists" && !x.key && !x.effect), `${where}: tolerates all taints`);
  const terms = pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms || [];
  t.check(terms.length > 0 && terms.every((term) => (term.matchExpressions || []).some((e) =>
    e.key === "type" && e.operator === "NotIn" && e.values.includes("virtual-kubelet"))), `${where}: skips virtual-kubelet nodes`);
  for (const c of [...(pod.initContainers || []), ...pod.containers]) {
    containerSecurity(t, c, pod, `${where} container ${c.name}`);
    if (c.command?.[0] !== "/usr/local/bin/hostenc") continue;
    const env = (c.env || []).find((e) => e.name === "NODE_NAME");
    t.eq(env?.valueFrom?.fieldRef?.fieldPath, "spec.nodeName", `${where} container ${c.name}: NODE_NAME from the downward API`);
  }
  // The API token: projected, pod-bound, one hour, at the usual path, read-only.
  const api = (pod.volumes || []).find((v) => v.name === "kube-api-access");
  const tok = api?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  t.check(Boolean(tok) && tok.audience === undefined && tok.path === "token" && tok.expirationSeconds === 3600,
    `${where}: projected API token, default audience, expirationSeconds 3600`, JSON.stringify(tok));
  t.check(Boolean(api?.projected?.sources?.find((s) => s.configMap?.name === "kube-root-ca.crt")), `${where}: API CA from kube-root-ca.crt`);
  for (const c of [...(pod.initContainers || []), ...pod.containers].filter((c) => c.command?.[0] === "/usr/local/bin/hostenc")) {
    const m = (c.volumeMounts || []).find((x) => x.name === "kube-api-access");
    t.check(m?.mountPath === TOKEN_DIR && m.readOnly === true, `${where} container ${c.name}: token mounted read-only at ${TOKEN_DIR}`);
  }
  // Writable mounts only on emptyDirs with a size limit.
  const vols = new Map((pod.volumes || []).map((v) => [v.name, v]));
  for (const c of [...(pod.initContainers || []), ...pod.containers]) {
    for (const m of c.volumeMounts || []) {
      const v = vols.get(m.name);
      if (m.readOnly === true) continue;
      t.check(Boolean(v?.emptyDir) && Boolean(v.emptyDir.sizeLimit), `${where} container ${c.name}: writable mount ${m.mountPath} is a size-limited emptyDir`);
    }
  }
}

function agentChecks(t, objs, features) {
  const ds = one(objs, "DaemonSet", "hostenc");
  if (!t.check(Boolean(ds) && ds.metadata.namespace === NS, "agent DaemonSet hostenc in hostenc-system")) return;
  const pod = ds.spec.template.spec;
  const w = "DaemonSet hostenc";
  t.eq(ds.spec.updateStrategy?.type, "RollingUpdate", `${w}: RollingUpdate`);
  t.eq(ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable, "10%", `${w}: maxUnavailable 10%`);
  t.eq(pod.dnsPolicy, "ClusterFirstWithHostNet", `${w}: dnsPolicy ClusterFirstWithHostNet`);
  podSecurity(t, pod, w, { hostNetwork: true });
  t.eq(pod.containers.map((c) => c.name), ["agent"], `${w}: one container, agent`);
  t.check(!(pod.initContainers || []).length, `${w}: no init containers`);
  const c = pod.containers.find((x) => x.name === "agent");
  if (!c) return;
  t.eq(c.command, ["/usr/local/bin/hostenc", "run"], `${w}: runs hostenc run`);
  t.check((c.args || []).includes("--node-name=$(NODE_NAME)"), `${w}: --node-name=$(NODE_NAME)`);
  const port = (c.ports || []).find((p) => p.name === "metrics");
  t.check(port?.containerPort === 9810 && (port.protocol ?? "TCP") === "TCP", `${w}: port metrics 9810/TCP`, JSON.stringify(c.ports));
  t.eq((c.ports || []).length, 1, `${w}: only the metrics port`);
  t.eq([c.livenessProbe?.httpGet?.path, c.livenessProbe?.httpGet?.port], ["/livez", "metrics"], `${w}: liveness /livez on metrics`);
  t.eq([c.readinessProbe?.httpGet?.path, c.readinessProbe?.httpGet?.port], ["/readyz", "metrics"], `${w}: readiness /readyz on metrics`);

  // Host access: exactly the host's / read-only at /host, HostToContainer.
  const hostVols = (pod.volumes || []).filter((v) => v.hostPath);
  t.eq(hostVols.map((v) => [v.name, v.hostPath.path, v.hostPath.type]), [["host-root", "/", "Directory"]], `${w}: only hostPath is / (Directory)`);
  const hm = (c.volumeMounts || []).find((m) => m.name === "host-root");
  t.eq(hm && [hm.mountPath, hm.readOnly, hm.mountPropagation], ["/host", true, "HostToContainer"], `${w}: host / read-only at /host, HostToContainer`);

  // The config: a hash-suffixed generated ConfigMap that exists here.
  const cfgVol = (pod.volumes || []).find((v) => v.name === "config");
  const cmName = cfgVol?.configMap?.name;
  t.check(/^hostenc-config-[a-z0-9]{10}$/.test(cmName || ""), `${w}: config from a hash-suffixed ConfigMap (config checksum)`, cmName);
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === cmName && o.metadata.namespace === NS);
  t.check(Boolean(cm), `${w}: ConfigMap ${cmName} is in the rendering`);
  t.check((c.args || []).includes("--config=/etc/hostenc/config.json") &&
    (c.volumeMounts || []).some((m) => m.name === "config" && m.mountPath === "/etc/hostenc" && m.readOnly === true),
    `${w}: --config=/etc/hostenc/config.json from the ConfigMap, read-only`);
  let cfg = {};
  try {
    cfg = JSON.parse(cm?.data?.["config.json"] ?? "");
  } catch (e) {
    t.check(false, `${w}: config.json is JSON`, e.message);
  }
  const mountOf = (name) => (c.volumeMounts || []).find((m) => m.name === name);
  t.eq(cfg.hostRoot, "/host", "config: hostRoot is the host mount");
  t.eq(cfg.interval, "10m", "config: interval 10m (the alert thresholds assume it)");
  t.eq(cfg.metricsListen, `0.0.0.0:${port?.containerPort}`, "config: metricsListen on the metrics port");
  t.check(!("nodeName" in cfg) && !("kubeApi" in cfg) && !("key" in cfg), "config: no nodeName/kubeApi/key (downward API, in cluster, fresh key)");
  const ev = mountOf("evidence");
  t.check(Boolean(ev) && cfg.evidenceDir === ev.mountPath, "config: evidenceDir is the evidence emptyDir", `${cfg.evidenceDir} vs ${ev?.mountPath}`);
  t.check(Boolean((pod.volumes || []).find((v) => v.name === "evidence")?.emptyDir), `${w}: evidence volume is an emptyDir`);

  if (features.has("push")) {
    t.check(/^https:\/\//.test(cfg.pushUrl || ""), "push config: pushUrl is https", cfg.pushUrl);
    const sp = mountOf("spool");
    t.check(Boolean(sp) && cfg.spoolDir === sp.mountPath && Boolean((pod.volumes || []).find((v) => v.name === "spool")?.emptyDir),
      "push config: spoolDir is the spool emptyDir");
    const ct = mountOf("collector-token");
    const ctv = (pod.volumes || []).find((v) => v.name === "collector-token");
    const ctok = ctv?.projected?.sources?.find((s) => s.serviceAccountToken)?.serviceAccountToken;
    t.check(Boolean(ctok) && ctok.audience === "hostenc-collector" && ctok.expirationSeconds <= 3600,
      "push: collector token has audience hostenc-collector and expires within an hour", JSON.stringify(ctok));
    t.check(Boolean(ct) && ct.readOnly === true && cfg.pushTokenFile === `${ct.mountPath}/${ctok?.path}`,
      "push config: pushTokenFile is the projected collector token, read-only", cfg.pushTokenFile);
  } else {
    t.check(!cfg.pushUrl && !cfg.spoolDir, "config: no push without the push component");
    t.check(!(pod.volumes || []).some((v) => v.name === "collector-token" || v.name === "spool"), `${w}: no push volumes`);
  }
  const ann = ds.spec.template.metadata?.annotations || {};
  if (features.has("scrape"))
    t.eq([ann["prometheus.io/scrape"], ann["prometheus.io/port"], ann["prometheus.io/path"]], ["true", String(port?.containerPort), "/metrics"],
      `${w}: prometheus.io scrape annotations`);
  else
    t.check(!ann["prometheus.io/scrape"], `${w}: no prometheus.io annotations`);
}

function rbacChecks(t, objs) {
  const roles = [...byKind(objs, "ClusterRole"), ...byKind(objs, "Role")];
  t.eq(roles.map(idOf).sort(), ["ClusterRole/hostenc", "Role/default/hostenc-events"], "RBAC: exactly the ClusterRole hostenc and Role default/hostenc-events");
  t.eq(ruleSet(one(objs, "ClusterRole", "hostenc")?.rules), ["|nodes/status|patch", "|nodes|get", "|nodes|patch"],
    "RBAC: ClusterRole hostenc = get nodes; patch nodes, nodes/status");
  t.eq(ruleSet(one(objs, "Role", "hostenc-events")?.rules), ["|events|create", "|events|patch"],
    "RBAC: Role hostenc-events = create, patch events");
  const crb = one(objs, "ClusterRoleBinding", "hostenc");
  const rb = one(objs, "RoleBinding", "hostenc-events");
  const subj = [{ kind: "ServiceAccount", name: SA, namespace: NS }];
  t.check(crb?.roleRef?.kind === "ClusterRole" && crb.roleRef.name === "hostenc", "RBAC: ClusterRoleBinding binds ClusterRole hostenc");
  t.eq(crb?.subjects, subj, "RBAC: ClusterRoleBinding subject is the hostenc ServiceAccount only");
  t.check(rb?.roleRef?.kind === "Role" && rb.roleRef.name === "hostenc-events" && rb.metadata.namespace === "default", "RBAC: RoleBinding default/hostenc-events binds the Role");
  t.eq(rb?.subjects, subj, "RBAC: RoleBinding subject is the hostenc ServiceAccount only");
  t.eq([...byKind(objs, "ClusterRoleBinding"), ...byKind(objs, "RoleBinding")].length, 2, "RBAC: no other bindings");
  const sa = one(objs, "ServiceAccount", SA);
  t.check(sa?.metadata?.namespace === NS && sa.automountServiceAccountToken === false, "ServiceAccount hostenc: no automounted token");
  const ns = one(objs, "Namespace", NS);
  t.eq(ns?.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "privileged", "Namespace: Pod Security enforce privileged (host network and mount)");
  const cfg = one(objs, "DaemonSet", "hostenc");
  let evNs = "default";
  const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === cfg?.spec.template.spec.volumes.find((v) => v.name === "config")?.configMap?.name);
  try { evNs = JSON.parse(cm.data["config.json"]).eventNamespace ?? "default"; } catch { /* reported elsewhere */ }
  t.eq(one(objs, "Role", "hostenc-events")?.metadata?.namespace, evNs, "RBAC: the events Role is in the agent's eventNamespace");

  // The admission policy pins the same ServiceAccount and covers every write.
  const vap = one(objs, "ValidatingAdmissionPolicy", "hostenc-own-node");
  const vapb = one(objs, "ValidatingAdmissionPolicyBinding", "hostenc-own-node");
  t.check(vap?.apiVersion === "admissionregistration.k8s.io/v1", "VAP: admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy present");
  t.eq(vap?.spec?.failurePolicy, "Fail", "VAP: failurePolicy Fail");
  const mc = (vap?.spec?.matchConditions || []).map((m) => m.expression.trim());
  t.eq(mc, [`request.userInfo.username == 'system:serviceaccount:${NS}:${SA}'`], "VAP: applies to the hostenc ServiceAccount (same name as deployed)");
  const covered = new Set();
  for (const r of vap?.spec?.matchConstraints?.resourceRules || [])
    if ((r.apiGroups || []).includes("") && (r.operations || []).includes("*")) for (const x of r.resources) covered.add(x);
  t.check(["nodes", "nodes/status", "events"].every((x) => covered.has(x)), "VAP: matches every operation on nodes, nodes/status and events", [...covered].join(","));
  t.check((vap?.spec?.validations || []).some((v) => v.expression.includes("authentication.kubernetes.io/node-name")) ||
    (vap?.spec?.variables || []).some((v) => v.expression.includes("authentication.kubernetes.io/node-name")), "VAP: uses the token's node-name claim");
  t.check(vapb?.spec?.policyName === "hostenc-own-node" && (vapb.spec.validationActions || []).includes("Deny") && !vapb.spec.matchResources,
    "VAP binding: Deny, for all objects");
}

function monitoringChecks(t, objs, features) {
  const monitoring = objs.filter((o) => String(o.apiVersion).startsWith("monitoring.coreos.com/"));
  if (!features.has("monitoring")) {
    t.eq(monitoring.map(idOf), [], "no prometheus-operator objects without the monitoring component");
    return;
  }
  const pm = one(objs, "PodMonitor", "hostenc");
  const ds = one(objs, "DaemonSet", "hostenc");
  const podLabels = ds?.spec?.template?.metadata?.labels || {};
  const sel = pm?.spec?.selector?.matchLabels || {};
  t.check(Boolean(pm) && pm.metadata.namespace === NS && Object.keys(sel).length > 0 &&
    Object.entries(sel).every(([k, v]) => podLabels[k] === v), "PodMonitor selects the agent pods");
  const ep = pm?.spec?.podMetricsEndpoints?.[0] || {};
  t.eq([ep.port, ep.path], ["metrics", "/metrics"], "PodMonitor scrapes port metrics, /metrics");
  t.check((ep.relabelings || []).some((r) => (r.sourceLabels || []).includes("__meta_kubernetes_pod_node_name") && r.targetLabel === "node"),
    "PodMonitor sets the node label from the pod's node (alert joins)");
  const pr = one(objs, "PrometheusRule", "hostenc");
  const rules = (pr?.spec?.groups || []).flatMap((g) => g.rules);
  t.eq(rules.map((r) => r.alert).sort(), Object.keys(ALERTS).sort(), "PrometheusRule: the hostenc alerts, node verdicts and evidence pipeline");
  for (const [name, want] of Object.entries(ALERTS)) {
    const r = rules.find((x) => x.alert === name);
    if (!r) continue;
    t.check(String(r.expr).replace(/\s+/g, " ").includes(want.expr), `alert ${name}: expression uses ${want.expr}`);
    if (want.for) t.eq(r.for, want.for, `alert ${name}: for ${want.for}`);
    t.check(/^https:\/\/\S+#[a-z0-9-]+$/.test(r.annotations?.runbook_url || ""), `alert ${name}: runbook_url with an anchor`);
    t.check(Boolean(r.labels?.severity) && Boolean(r.annotations?.summary), `alert ${name}: severity and summary`);
  }
}

function cleanupChecks(t, objs) {
  const ds = one(objs, "DaemonSet", "hostenc-cleanup");
  if (!t.check(Boolean(ds) && ds.metadata.namespace === NS, "cleanup DaemonSet hostenc-cleanup in hostenc-system")) return;
  t.eq(objs.map(idOf), ["DaemonSet/hostenc-system/hostenc-cleanup"], "cleanup: only the cleanup DaemonSet (it borrows the agent's RBAC)");
  const pod = ds.spec.template.spec;
  podSecurity(t, pod, "DaemonSet hostenc-cleanup", { hostNetwork: false });
  t.check(!(pod.volumes || []).some((v) => v.hostPath), "cleanup: no hostPath");
  const init = (pod.initContainers || []).find((c) => c.name === "cleanup");
  t.check(Boolean(init) && init.command.join(" ") === "/usr/local/bin/hostenc run" && init.args.includes("--cleanup") &&
    init.args.includes("--node-name=$(NODE_NAME)"), "cleanup: init container runs hostenc run --cleanup --node-name=$(NODE_NAME)");
}

// All failures of one rendering, as strings (also used by the self-test).
export function hardeningFailures(objs, features) {
  const failures = [];
  const t = new Reporter("");
  t.check = (ok, what, detail = "") => {
    if (!ok) failures.push(`${what}${detail ? ": " + detail : ""}`);
    else t.passed++;
    return ok;
  };
  if (features.has("cleanup")) cleanupChecks(t, objs);
  if (features.has("agent")) {
    agentChecks(t, objs, features);
    rbacChecks(t, objs);
    monitoringChecks(t, objs, features);
  }
  return { failures, passed: t.passed };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const features = new Set(process.argv[2].split(","));
  const objs = loadYamlDocs(process.argv[3]);
  const { failures, passed } = hardeningFailures(objs, features);
  const rep = new Reporter(`hardening (${process.argv[2]})`);
  rep.passed = passed;
  for (const f of failures) rep.check(false, f);
  rep.done();
}
