// Pulls one piece out of a rendering for the command-line tools:
//   node extract.mjs config RENDERED   config.json of the hostenc-config-* ConfigMap
//   node extract.mjs rules RENDERED    the PrometheusRule's groups as a rule file
import { stringify } from "yaml";
import { loadYamlDocs } from "./common.mjs";

const [what, file] = process.argv.slice(2);
const objs = loadYamlDocs(file);
if (what === "config") {
  const cm = objs.find((o) => o.kind === "ConfigMap" && /^hostenc-config-/.test(o.metadata?.name || ""));
  if (!cm?.data?.["config.json"]) {
    console.error(`${file}: no hostenc-config ConfigMap with config.json`);
    process.exit(1);
  }
  process.stdout.write(cm.data["config.json"]);
} else if (what === "rules") {
  const pr = objs.find((o) => o.kind === "PrometheusRule");
  if (!pr) {
    console.error(`${file}: no PrometheusRule`);
    process.exit(1);
  }
  process.stdout.write(stringify({ groups: pr.spec.groups }));
} else {
  console.error("usage: extract.mjs config|rules RENDERED");
  process.exit(64);
}
