// Validates every object of rendered manifests against the Kubernetes and
// prometheus-operator schemas of the pinned npm packages `kubernetes-models`
// and `@kubernetes-models/prometheus-operator`:
//   1. the package's JSON-schema validator (types, enums, required fields);
//   2. unknown fields: the OpenAPI schemas allow extra properties (the API
//      server drops or rejects them), so a misspelt field such as
//      `readOnlyRootFileSystem` would pass (1). The packages' TypeScript
//      declarations list every field of every type; walking the object along
//      them catches such typos.
// An object whose apiVersion/kind has no model fails. The AKS metrics add-on's
// azmonitoring.coreos.com/v1 PodMonitor and ServiceMonitor are the
// prometheus-operator types under another group (docs/operations.md); they
// are validated against the monitoring.coreos.com/v1 models.
// Usage: node schema.mjs RENDERED.yaml...
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadYamlDocs, idOf, Reporter } from "./common.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.join(here, "..", "node_modules");

function packageFor(apiVersion) {
  return apiVersion.startsWith("monitoring.coreos.com/")
    ? "@kubernetes-models/prometheus-operator"
    : "kubernetes-models";
}

// The packages are ES modules whose `exports` list no package.json, so their
// files are found in node_modules directly (npm ci installs them flat).
function packageDir(pkg) {
  return path.join(nodeModules, pkg);
}

// --- TypeScript declaration walker ------------------------------------------

const fileCache = new Map();

function stripComments(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

// Parses one .d.ts file: its imports (name -> resolved .d.ts path), its
// interfaces (name -> { bases, props: name -> type text }) and type aliases.
function parseDts(file) {
  if (fileCache.has(file)) return fileCache.get(file);
  const text = stripComments(fs.readFileSync(file, "utf8"));
  const imports = new Map();
  for (const m of text.matchAll(/^import\s*\{([^}]*)\}\s*from\s*"([^"]+)";/gm)) {
    let spec = m[2];
    let target;
    if (spec.startsWith(".")) {
      target = path.resolve(path.dirname(file), spec.replace(/\.js$/, "") + ".d.ts");
    } else {
      const parts = spec.split("/");
      const pkgName = spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
      const rest = parts.slice(pkgName.split("/").length).join("/");
      target = path.join(packageDir(pkgName), rest.replace(/\.js$/, "") + ".d.ts");
    }
    for (const name of m[1].split(",").map((s) => s.trim()).filter(Boolean)) {
      imports.set(name.split(/\s+as\s+/).pop(), target);
    }
  }
  const interfaces = new Map();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = lines[i].match(/^export interface (\w+)(?: extends ([^{]+))?\s*\{\s*$/);
    if (!m) continue;
    const bases = m[2] ? m[2].split(",").map((s) => s.trim()).filter((b) => b !== "TypeMeta") : [];
    const props = new Map();
    for (i++; i < lines.length && lines[i] !== "}"; i++) {
      const p = lines[i].match(/^ {4}"([^"]+)"\??: (.*?);?$/);
      if (p) props.set(p[1], p[2]);
    }
    interfaces.set(m[1], { bases, props });
  }
  // `export type { IDaemonSetSpec as IIoK8sApiAppsV1DaemonSetSpec, ... }`:
  // the long names other files import.
  for (const m of text.matchAll(/^export type \{([^}]*)\}/gm)) {
    for (const pair of m[1].split(",")) {
      const [from, to] = pair.split(/\s+as\s+/).map((x) => x.trim());
      if (to && interfaces.has(from)) interfaces.set(to, interfaces.get(from));
    }
  }
  const aliases = new Set();
  for (const m of text.matchAll(/^export type (\w+)\s*=/gm)) aliases.add(m[1]);
  const parsed = { file, imports, interfaces, aliases };
  fileCache.set(file, parsed);
  return parsed;
}

// Finds interface `name` as seen from file `from`: { file, iface } or null
// for type aliases, unknown names and primitives (not walked further).
function resolveType(name, from) {
  const here = parseDts(from);
  if (here.interfaces.has(name)) return { file: from, iface: here.interfaces.get(name) };
  if (here.aliases.has(name)) return null;
  const target = here.imports.get(name);
  if (!target || !fs.existsSync(target)) return null;
  const there = parseDts(target);
  if (there.interfaces.has(name)) return { file: target, iface: there.interfaces.get(name) };
  return null;
}

function allProps(name, from, seen = new Set()) {
  const r = resolveType(name, from);
  if (!r || seen.has(r.file + name)) return null;
  seen.add(r.file + name);
  const props = new Map();
  for (const base of r.iface.bases) {
    const bp = allProps(base, r.file, seen);
    if (bp) for (const [k, v] of bp) props.set(k, v);
  }
  for (const [k, t] of r.iface.props) props.set(k, { type: t, file: r.file });
  return props;
}

// Walks `value` along type text `type` (declared in `file`), reporting
// fields that the type does not declare.
function walk(value, type, file, where, errors) {
  if (value === null || value === undefined) return;
  type = type.trim();
  const arr = type.match(/^Array<(.+)>$/);
  if (arr) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, arr[1], file, `${where}[${i}]`, errors));
    return;
  }
  if (!/^I\w+$/.test(type) || typeof value !== "object" || Array.isArray(value)) return;
  const props = allProps(type, file);
  if (!props) return;
  for (const [k, v] of Object.entries(value)) {
    const p = props.get(k);
    if (!p) {
      errors.push(`${where}.${k}: unknown field`);
      continue;
    }
    walk(v, p.type, p.file, `${where}.${k}`, errors);
  }
}

// --- main --------------------------------------------------------------------

const modules = new Map();
async function modelClass(apiVersion, kind) {
  const pkg = packageFor(apiVersion);
  const spec = `${pkg}/${apiVersion}`;
  if (!modules.has(spec)) {
    try {
      modules.set(spec, await import(spec));
    } catch {
      modules.set(spec, null);
    }
  }
  const mod = modules.get(spec);
  return { cls: mod ? mod[kind] : undefined, dts: path.join(packageDir(pkg), apiVersion, `${kind}.d.ts`) };
}

const rep = new Reporter("schema");
for (const file of process.argv.slice(2)) {
  const objs = loadYamlDocs(file);
  rep.check(objs.length > 0, `${path.basename(file)}: has objects`);
  for (const original of objs) {
    const id = `${path.basename(file)}: ${original.apiVersion} ${idOf(original)}`;
    const obj = original.apiVersion === "azmonitoring.coreos.com/v1" && ["PodMonitor", "ServiceMonitor"].includes(original.kind)
      ? { ...original, apiVersion: "monitoring.coreos.com/v1" }
      : original;
    const { cls, dts } = await modelClass(String(obj.apiVersion), String(obj.kind));
    if (!rep.check(typeof cls === "function", `${id}: model exists`, "no model for this apiVersion/kind")) continue;
    let err = "";
    try {
      new cls(structuredClone(obj)).validate();
    } catch (e) {
      err = (e.errors || [])
        .map((x) => `${x.instancePath || "/"} ${x.message}`)
        .join("; ") || e.message;
    }
    rep.check(err === "", `${id}: schema`, err);
    const unknown = [];
    walk(obj, `I${obj.kind}`, dts, "", unknown);
    rep.check(fs.existsSync(dts) && unknown.length === 0, `${id}: no unknown fields`,
      fs.existsSync(dts) ? unknown.join("; ") : `no declarations at ${dts}`);
  }
}
rep.done();
