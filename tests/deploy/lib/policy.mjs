// Evaluates the rendered ValidatingAdmissionPolicy against admission requests
// the API server would send, with the CEL evaluator @bufbuild/cel (a
// conformance-tested CEL implementation; not the API server's own, see
// docs/operations.md): the agent's real writes on its own Node are admitted,
// and every other change is denied.
//
// The API server's semantics reproduced here: matchConditions decide whether
// the policy applies; variables are evaluated on use (a failing one fails
// the validations that use it); a validation that is false or fails to
// evaluate denies the request (failurePolicy Fail); objects are plain JSON
// maps with integers as CEL ints.
// Usage: node policy.mjs RENDERED.yaml
import { pathToFileURL } from "node:url";
import { run } from "@bufbuild/cel";
import { loadYamlDocs, Reporter } from "./common.mjs";

const SA = "system:serviceaccount:hostenc-system:hostenc";
const CLAIM = "authentication.kubernetes.io/node-name";
const ME = "aks-nodepool1-12345678-vmss000000";
const OTHER = "aks-nodepool1-12345678-vmss000001";

function toCel(v) {
  if (Array.isArray(v)) return v.map(toCel);
  if (v && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return v;
}

function evaluate(expr, bindings) {
  try {
    const r = run(expr, bindings);
    return r instanceof Error ? { error: r.message } : { value: r };
  } catch (e) {
    return { error: e.message };
  }
}

// Returns "allowed (not matched)", "allowed" or "denied: <message>".
function admit(policy, req) {
  const spec = policy.spec;
  const rules = spec.matchConstraints.resourceRules;
  const resource = req.request.subResource ? `${req.request.resource.resource}/${req.request.subResource}` : req.request.resource.resource;
  const matched = rules.some((r) =>
    r.apiGroups.some((g) => g === "*" || g === req.request.resource.group) &&
    r.resources.some((x) => x === "*" || x === resource) &&
    r.operations.some((o) => o === "*" || o === req.request.operation));
  if (!matched) return "allowed (not matched)";
  const base = {
    request: toCel(req.request),
    object: toCel(req.object ?? null),
    oldObject: toCel(req.oldObject ?? null),
  };
  for (const mc of spec.matchConditions || []) {
    const r = evaluate(mc.expression, base);
    if (r.error) return `denied: matchCondition ${mc.name}: ${r.error}`;
    if (r.value !== true) return "allowed (not matched)";
  }
  // Variables on use: a failed one is left out, so using it is an error.
  const variables = new Map();
  for (const v of spec.variables || []) {
    const r = evaluate(v.expression, { ...base, variables: variables });
    if (!r.error) variables.set(v.name, r.value);
  }
  for (const val of spec.validations) {
    const r = evaluate(val.expression, { ...base, variables });
    if (r.error) return `denied: evaluation error: ${r.error}`;
    if (r.value !== true) return `denied: ${val.message}`;
  }
  return "allowed";
}

// --- fixtures -------------------------------------------------------------------

function node(name = ME) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      uid: "0b5d3a1e-2f7c-4c55-9a57-0d0c1f0e0a01",
      resourceVersion: "123456",
      creationTimestamp: "2026-11-01T08:00:00Z",
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.azure.com/agentpool": "nodepool1",
        "node.kubernetes.io/instance-type": "Standard_D4s_v5",
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
      managedFields: [{ manager: "kubelet", operation: "Update", apiVersion: "v1" }],
    },
    spec: {
      podCIDR: "10.244.0.0/24",
      providerID: `azure:///subscriptions/s/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0`,
    },
    status: {
      capacity: { cpu: "4", memory: "16365052Ki", pods: "110" },
      allocatable: { cpu: "3860m", memory: "12880892Ki", pods: "110" },
      conditions: [
        { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
        { type: "Ready", status: "True", reason: "KubeletReady" },
      ],
      addresses: [
        { type: "InternalIP", address: "10.224.0.4" },
        { type: "Hostname", address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: "v1.32.4", osImage: "Ubuntu 22.04.5 LTS" },
    },
  };
}

const ourCondition = (status) => ({
  type: "EncryptionAtHostNonCompliant",
  status,
  reason: status === "True" ? "EncryptionAtHostDisabled" : "EncryptionAtHostEnabled",
  message: "hostenc",
  lastHeartbeatTime: "2026-11-27T19:40:15Z",
  lastTransitionTime: "2026-11-27T19:40:15Z",
});

function withOurs(n, label = "compliant", cond = "False") {
  n.metadata.labels["hostenc.dev/encryption-at-host"] = label;
  n.metadata.annotations["hostenc.dev/evidence-sha256"] = "ab".repeat(32);
  n.metadata.annotations["hostenc.dev/evidence-time"] = "2026-11-27T19:40:15Z";
  n.status.conditions.push(ourCondition(cond));
  return n;
}

function userInfo({ user = SA, nodeName = ME } = {}) {
  const extra = {};
  if (nodeName !== null) extra[CLAIM] = [nodeName];
  extra["authentication.kubernetes.io/pod-name"] = ["hostenc-abcde"];
  return { username: user, uid: "u-1", groups: ["system:serviceaccounts", "system:serviceaccounts:hostenc-system"], extra };
}

function nodeUpdate(oldObject, object, { sub = "", user } = {}) {
  return {
    request: {
      kind: { group: "", version: "v1", kind: "Node" },
      resource: { group: "", version: "v1", resource: "nodes" },
      subResource: sub,
      name: object ? object.metadata.name : oldObject.metadata.name,
      namespace: "",
      operation: "UPDATE",
      userInfo: userInfo(user),
    },
    object,
    oldObject,
  };
}

function mutate(fn, start = node()) {
  const n = structuredClone(start);
  fn(n);
  return n;
}

function event(about, { operation = "CREATE", kind = "Node", user, old } = {}) {
  const ev = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: `${about}.hostenc.18a2b`, namespace: "default" },
    involvedObject: { apiVersion: "v1", kind, name: about, uid: about },
    reason: "EncryptionAtHostNonCompliant",
    message: "encryption at host is disabled",
    type: "Warning",
    source: { component: "hostenc", host: ME },
    count: 1,
  };
  return {
    request: {
      kind: { group: "", version: "v1", kind: "Event" },
      resource: { group: "", version: "v1", resource: "events" },
      subResource: "",
      name: ev.metadata.name,
      namespace: "default",
      operation,
      userInfo: userInfo(user),
    },
    object: operation === "DELETE" ? null : ev,
    oldObject: old ?? (operation === "CREATE" ? null : ev),
  };
}

// --- cases -----------------------------------------------------------------------

const n0 = node();
const n1 = withOurs(node());
const cases = [
  // The agent's own writes (agent/kube.c): condition, label, annotations, events, cleanup.
  ["allow", "add our condition (status subresource)", nodeUpdate(n0, mutate((n) => n.status.conditions.push(ourCondition("True"))), { sub: "status" })],
  ["allow", "flip our condition and its times", nodeUpdate(n1, mutate((n) => { n.status.conditions[2] = ourCondition("True"); }, n1), { sub: "status" })],
  ["allow", "set our label and annotations", nodeUpdate(n0, withOurs(node()))],
  ["allow", "change our label value", nodeUpdate(n1, mutate((n) => { n.metadata.labels["hostenc.dev/encryption-at-host"] = "noncompliant"; }, n1))],
  ["allow", "cleanup: remove our condition", nodeUpdate(n1, mutate((n) => n.status.conditions.pop(), n1), { sub: "status" })],
  ["allow", "cleanup: remove our label and annotations", nodeUpdate(n1, mutate((n) => {
    delete n.metadata.labels["hostenc.dev/encryption-at-host"];
    delete n.metadata.annotations["hostenc.dev/evidence-sha256"];
    delete n.metadata.annotations["hostenc.dev/evidence-time"];
  }, n1))],
  ["allow", "server-maintained metadata changes (resourceVersion, managedFields)", nodeUpdate(n0, mutate((n) => {
    withOurs(n);
    n.metadata.resourceVersion = "123457";
    n.metadata.managedFields.push({ manager: "hostenc", operation: "Update", apiVersion: "v1" });
  }))],
  ["allow", "create an Event about our Node", event(ME)],
  ["allow", "another user is not restricted by this policy", nodeUpdate(n0, mutate((n) => { n.spec.unschedulable = true; }), { user: { user: "system:serviceaccount:kube-system:cluster-autoscaler", nodeName: null } })],
  // Another node, or no proof of which node.
  ["deny", "our label on another Node", nodeUpdate(node(OTHER), withOurs(node(OTHER)))],
  ["deny", "our condition on another Node", nodeUpdate(node(OTHER), mutate((n) => n.status.conditions.push(ourCondition("True")), node(OTHER)), { sub: "status" })],
  ["deny", "token without the node-name claim", nodeUpdate(n0, withOurs(node()), { user: { nodeName: null } })],
  ["deny", "create a Node", { ...nodeUpdate(null, node("fake")), request: { ...nodeUpdate(null, node("fake")).request, operation: "CREATE" } }],
  ["deny", "delete our Node", { ...nodeUpdate(n0, null), request: { ...nodeUpdate(n0, null).request, operation: "DELETE", name: ME } }],
  // Our Node, but not our keys.
  ["deny", "add a taint", nodeUpdate(n0, mutate((n) => { n.spec.taints = [{ key: "x", effect: "NoExecute" }]; }))],
  ["deny", "cordon (unschedulable)", nodeUpdate(n0, mutate((n) => { n.spec.unschedulable = true; }))],
  ["deny", "change providerID", nodeUpdate(n0, mutate((n) => { n.spec.providerID = "azure:///x"; }))],
  ["deny", "change another label", nodeUpdate(n0, mutate((n) => { n.metadata.labels["kubernetes.azure.com/agentpool"] = "x"; }))],
  ["deny", "add another label", nodeUpdate(n0, mutate((n) => { n.metadata.labels["node-role.kubernetes.io/control-plane"] = ""; }))],
  ["deny", "remove another label", nodeUpdate(n0, mutate((n) => { delete n.metadata.labels["kubernetes.io/os"]; }))],
  ["deny", "our label with a value outside the verdicts", nodeUpdate(n0, mutate((n) => { withOurs(n, "pwned"); }))],
  ["deny", "add another annotation", nodeUpdate(n0, mutate((n) => { n.metadata.annotations["x.example/y"] = "z"; }))],
  ["deny", "add a finalizer", nodeUpdate(n0, mutate((n) => { n.metadata.finalizers = ["x.example/hold"]; }))],
  ["deny", "add an ownerReference", nodeUpdate(n0, mutate((n) => { n.metadata.ownerReferences = [{ apiVersion: "v1", kind: "Pod", name: "p", uid: "u" }]; }))],
  ["deny", "change the kubelet's Ready condition", nodeUpdate(n0, mutate((n) => { n.status.conditions[1].status = "False"; }), { sub: "status" })],
  ["deny", "remove the kubelet's Ready condition", nodeUpdate(n0, mutate((n) => { n.status.conditions.splice(1, 1); }), { sub: "status" })],
  ["deny", "add a foreign condition", nodeUpdate(n0, mutate((n) => { n.status.conditions.push({ type: "KernelDeadlock", status: "False" }); }), { sub: "status" })],
  ["deny", "change node addresses", nodeUpdate(n0, mutate((n) => { n.status.addresses[0].address = "10.0.0.66"; }), { sub: "status" })],
  ["deny", "change capacity", nodeUpdate(n0, mutate((n) => { n.status.capacity.pods = "500"; }), { sub: "status" })],
  ["deny", "change the kubelet port", nodeUpdate(n0, mutate((n) => { n.status.daemonEndpoints.kubeletEndpoint.Port = 1; }), { sub: "status" })],
  ["deny", "Event about another Node", event(OTHER)],
  ["deny", "Event about a Pod", event(ME, { kind: "Pod" })],
  ["deny", "delete an Event", event(ME, { operation: "DELETE" })],
  ["deny", "patch another Node's Event to point at ours", event(ME, { operation: "UPDATE", old: event(OTHER).object })],
];

// Runs every case against the policy in `objs`; returns the failures.
export function policyFailures(objs) {
  const policy = objs.find((d) => d.kind === "ValidatingAdmissionPolicy" && d.metadata?.name === "hostenc-own-node");
  if (!policy) return ["ValidatingAdmissionPolicy hostenc-own-node is not in the rendering"];
  const failures = [];
  for (const [want, name, req] of cases) {
    const got = admit(policy, req);
    const ok = want === "allow" ? got.startsWith("allowed") : got.startsWith("denied");
    if (!ok) failures.push(`${want}: ${name}: ${got}`);
    else if (process.env.VERBOSE) console.log(`  ok   ${want}: ${name} -> ${got}`);
  }
  return failures;
}

export const policyCaseCount = cases.length;

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rep = new Reporter("admission policy");
  const failures = policyFailures(loadYamlDocs(process.argv[2]));
  for (const f of failures) rep.check(false, f);
  rep.passed = policyCaseCount - failures.length;
  rep.done();
}
