// Verifies hostenc DSSE envelopes (agent evidence, collector verification
// summaries) with sigstore-js, independently of hostenc's own code:
//   node verify-dsse.mjs PUBKEY.pem ENVELOPE.json...
// Prints one line per envelope, "ok FILE" or "not ok FILE: why"; exits 1 if
// any failed.
//
// How: each bare DSSE envelope becomes a Sigstore bundle (v0.3) whose
// verification material is a public-key hint, with no transparency-log
// entries and no timestamps; @sigstore/verify's Verifier runs on it with the
// trust material "this one public key" and the thresholds for tlog, CT log
// and timestamps set to 0 (offline, no Fulcio, no Rekor). What it then
// checks is the DSSE signature: ECDSA over the DSSE pre-authentication
// encoding PAE(payloadType, payload) with the given key (@sigstore/core
// crypto.verify, SHA-256 for a P-256 key). It does not look into the
// payload: the in-toto statement, the attested document and the policy are
// hostenc verify's work (docs/evidence.md).
import fs from "node:fs";
import crypto from "node:crypto";
import { bundleFromJSON } from "@sigstore/bundle";
import { Verifier, toSignedEntity, toTrustMaterial } from "@sigstore/verify";

const HINT = "hostenc-key";
const [pubFile, ...files] = process.argv.slice(2);
if (!pubFile || files.length === 0) {
  console.error("usage: node verify-dsse.mjs PUBKEY.pem ENVELOPE.json...");
  process.exit(2);
}
const publicKey = crypto.createPublicKey(fs.readFileSync(pubFile));
const emptyRoot = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const trust = toTrustMaterial(emptyRoot, (hint) => {
  if (hint !== HINT) throw new Error(`unknown key hint ${hint}`);
  return { publicKey, validFor: () => true };
});
const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });

let failed = 0;
for (const file of files) {
  try {
    const env = JSON.parse(fs.readFileSync(file, "utf8"));
    const bundle = bundleFromJSON({
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      verificationMaterial: { publicKey: { hint: HINT }, tlogEntries: [], timestampVerificationData: { rfc3161Timestamps: [] } },
      dsseEnvelope: { payload: env.payload, payloadType: env.payloadType, signatures: env.signatures },
    });
    verifier.verify(toSignedEntity(bundle));
    console.log(`ok ${file}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${file}: ${e.code || ""} ${e.message}`);
  }
}
process.exit(failed ? 1 : 0);
