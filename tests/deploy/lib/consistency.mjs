// Cross-file consistency that no schema sees:
//   - the plain rule file equals the PrometheusRule's groups;
//   - every runbook_url anchor is a heading of docs/runbooks.md, and every
//     alert has its own section;
//   - the evidence-push config keeps every base setting;
//   - the Containerfile's VERSION and the manifests' image tag are the
//     project version from meson.build.
// Usage: node consistency.mjs MONITORING.yaml
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import { loadYamlDocs, Reporter } from "./common.mjs";
import { mesonVersion } from "./hardening.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "..", "..", "..");
const read = (p) => fs.readFileSync(path.join(repo, p), "utf8");
const rep = new Reporter("consistency");

const rendered = loadYamlDocs(process.argv[2]);
const rule = rendered.find((o) => o.kind === "PrometheusRule");
const plain = loadYamlDocs(path.join(repo, "deploy/overlays/no-prometheus-operator/hostenc-rules.yaml"))[0];
rep.check(isDeepStrictEqual(rule?.spec?.groups, plain?.groups),
  "deploy/overlays/no-prometheus-operator/hostenc-rules.yaml has exactly the PrometheusRule's groups");

// GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes.
function anchorsOf(doc) {
  const set = new Set();
  const text = read(doc).replace(/^```[\s\S]*?^```/gm, "");
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    set.add(m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").trim().replace(/\s/g, "-"));
  }
  return set;
}
const anchors = anchorsOf("docs/runbooks.md");

// Links between the operator docs resolve to existing headings.
for (const doc of ["docs/operations.md", "docs/runbooks.md"]) {
  for (const m of read(doc).matchAll(/\]\(((?:operations|runbooks)\.md)?#([^)]+)\)/g)) {
    const target = m[1] ? `docs/${m[1]}` : doc;
    rep.check(anchorsOf(target).has(m[2]), `${doc}: link to ${m[1] || ""}#${m[2]} resolves`);
  }
}
const alerts = (rule?.spec?.groups || []).flatMap((g) => g.rules).filter((r) => r.alert);
rep.check(alerts.length > 0, "the PrometheusRule has alerts");
for (const a of alerts) {
  const url = a.annotations?.runbook_url || "";
  const anchor = url.split("#")[1] || "";
  rep.check(url.startsWith("https://hostenc.dev/docs/runbooks.md#"), `${a.alert}: runbook_url points into docs/runbooks.md`, url);
  rep.check(anchors.has(anchor), `${a.alert}: docs/runbooks.md has the section #${anchor}`);
  rep.check(anchor === a.alert.toLowerCase(), `${a.alert}: its section is named after the alert`, anchor);
}

const baseCfg = JSON.parse(read("deploy/daemonset/config.json"));
const pushCfg = JSON.parse(read("deploy/components/evidence-push/config.json"));
for (const [k, v] of Object.entries(baseCfg))
  rep.check(isDeepStrictEqual(pushCfg[k], v), `evidence-push config.json keeps ${k} = ${JSON.stringify(v)}`, JSON.stringify(pushCfg[k]));

const version = mesonVersion();
rep.check(Boolean(version), "meson.build declares the project version");
const cf = read("Containerfile");
rep.check(new RegExp(`^ARG VERSION=${version.replace(/\./g, "\\.")}$`, "m").test(cf), `Containerfile ARG VERSION=${version}`);
for (const f of ["deploy/daemonset/daemonset.yaml", "deploy/cleanup/daemonset.yaml"]) {
  const images = [...read(f).matchAll(/image:\s*(\S+)/g)].map((m) => m[1]);
  rep.check(images.length > 0 && images.every((i) => i.endsWith(`:${version}`)), `${f}: images tagged ${version}`, images.join(" "));
}
rep.check(/^USER 65532:65532$/m.test(cf), "Containerfile: USER 65532:65532, the DaemonSet's uid/gid");
// The image's entrypoint is the binary alone (so `IMAGE --version` works) and
// its default command the daemon; the DaemonSet names `hostenc run` itself.
rep.check(/^ENTRYPOINT \["\/usr\/local\/bin\/hostenc"\]$/m.test(cf), "Containerfile: ENTRYPOINT hostenc");
rep.check(/^CMD \["run"\]$/m.test(cf), "Containerfile: CMD run");
rep.check(/command: \["\/usr\/local\/bin\/hostenc", "run"\]/.test(read("deploy/daemonset/daemonset.yaml")),
  "deploy/daemonset/daemonset.yaml: command hostenc run");
rep.done();
