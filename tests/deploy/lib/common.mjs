// Helpers shared by the deployment checks: YAML loading, object lookup,
// and a reporter that prints one line per assertion.
import fs from "node:fs";
import { parseAllDocuments } from "yaml";

// Every document of a (multi-document) YAML file, as plain objects; empty
// documents are dropped. A YAML error is thrown with the file name.
export function loadYamlDocs(file) {
  const text = fs.readFileSync(file, "utf8");
  const docs = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS({ maxAliasCount: -1 });
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

export const idOf = (o) =>
  `${o.kind}/${o.metadata?.namespace ? o.metadata.namespace + "/" : ""}${o.metadata?.name}`;

export function findAll(objs, kind, pred = () => true) {
  return objs.filter((o) => o.kind === kind && pred(o));
}

// Collects pass/fail lines; `done()` prints the summary and sets the exit code.
export class Reporter {
  constructor(title) {
    this.title = title;
    this.failed = 0;
    this.passed = 0;
  }
  check(ok, what, detail = "") {
    if (ok) {
      this.passed++;
      if (process.env.VERBOSE) console.log(`  ok   ${what}`);
    } else {
      this.failed++;
      console.log(`  FAIL ${what}${detail ? ": " + detail : ""}`);
    }
    return ok;
  }
  eq(actual, expected, what) {
    const a = JSON.stringify(actual);
    const e = JSON.stringify(expected);
    return this.check(a === e, what, a === e ? "" : `got ${a}, want ${e}`);
  }
  done() {
    console.log(`${this.title}: ${this.passed} assertions passed, ${this.failed} failed`);
    process.exitCode = this.failed ? 1 : 0;
  }
}
