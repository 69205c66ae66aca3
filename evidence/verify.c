/* SPDX-License-Identifier: Apache-2.0 */
#include "verify.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attested.h"
#include "binding.h"
#include "canonical.h"
#include "dsse.h"
#include "facts_json.h"
#include "jread.h"
#include "json.h"
#include "macro.h"
#include "policy.h"
#include "statement.h"
#include "strparse.h"
#include "verify_cache.h"
#include "verify_keys.h"

const char *const verify_reason_names[VERIFY_REASON_COUNT] = {
        "Valid", "ValidSignatureOnly", "EnvelopeUnreadable", "EnvelopeTooLarge", "EnvelopeMalformed",
        "PayloadTypeMismatch", "SignerKeyMissing", "SignatureInvalid", "StatementMalformed",
        "PredicateTypeUnsupported", "SignerKeyMismatch", "AttestedDocumentInvalid",
        "BindingNonceMismatch", "SubjectMismatch", "ObservedAtOutsideWindow", "EnvelopeStale",
        "VerdictMismatch", "TrailingData", "DuplicateKey", "NulCharacter", "Base64NonCanonical",
        "SignatureCountInvalid", "SignatureEncodingNonCanonical", "SignatureHighS", "SubjectCountInvalid",
        "ObservedAtInFuture", "AttestedLifetimeTooLong", "AttestedSignerNotValidWhenUsed", "ListingMismatch",
};

/* One envelope's working state, released in one place. */
struct work {
        struct dsse_envelope env;
        cJSON *statement;
        enum canon_fault statement_fault;
        char statement_err[160];
        const cJSON *predicate;
        const struct signer_key *own_key;       /* the statement's key when no --pubkey */
        const struct public_key *key;
        struct attested_summary doc;
        char nonce[33];
        char subject_vm[64];
        time_t observed;
        struct node_facts *facts;       /* the verifier's, reused per envelope */
};

static void work_done(struct work *w)
{
        dsse_envelope_done(&w->env);
        cJSON_Delete(w->statement);
}

int verifier_init(struct verifier *v)
{
        v->cache = attested_cache_new();
        v->keys = key_cache_new();
        v->facts = malloc(sizeof(*v->facts));
        if (!v->cache || !v->keys || !v->facts) {
                verifier_done(v);
                return -ENOMEM;
        }
        return 0;
}

void verifier_done(struct verifier *v)
{
        v->cache = attested_cache_free(v->cache);
        v->keys = key_cache_free(v->keys);
        free(v->facts);
        v->facts = NULL;
}

bool verify_result_valid(const struct verify_result *r)
{
        return r->reason == VERIFY_VALID || r->reason == VERIFY_VALID_SIGNATURE_ONLY;
}

static enum verify_reason reject(struct verify_result *r, enum verify_reason why, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static enum verify_reason reject(struct verify_result *r, enum verify_reason why, const char *fmt, ...)
{
        va_list ap;

        r->reason = why;
        va_start(ap, fmt);
        vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
        va_end(ap);
        return why;
}

static const cJSON *get(const cJSON *o, const char *key)
{
        return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* Before the signature is checked, the key is only a candidate. The parsed
 * payload is kept: it is a tree of exactly the bytes the signature covers,
 * and nothing in it is believed until that signature has verified. */
static enum verify_reason find_key(struct verifier *v, struct work *w, struct verify_result *r)
{
        const struct signer_key *named;
        const cJSON *pem;

        if (v->pubkey) {
                w->key = v->pubkey;
                return VERIFY_VALID;
        }
        pem = get(get(get(w->statement, "predicate"), "signer"), "publicKey");
        if (!cJSON_IsString(pem) || key_cache_get(v->keys, pem->valuestring, strlen(pem->valuestring), &named) < 0)
                return reject(r, VERIFY_NO_KEY, "no --pubkey and no P-256 predicate.signer.publicKey in the payload");
        w->key = named->key;
        w->own_key = named;
        return VERIFY_VALID;
}

static enum verify_reason check_signature(struct verifier *v, struct work *w, struct verify_result *r)
{
        _cleanup_(buf_done) struct buf pae = BUF_INIT(2 * DSSE_MAX_ENVELOPE);

        if (dsse_pae(w->env.payload_type, w->env.payload, w->env.payload_len, &pae) < 0)
                return reject(r, VERIFY_MALFORMED, "out of memory building the PAE");
        for (unsigned i = 0; i < w->env.n_sigs; i++)
                if (public_key_verify(w->key, pae.data, pae.len, w->env.sigs[i].sig, w->env.sigs[i].len) == 0)
                        return VERIFY_VALID;
        return reject(r, VERIFY_SIGNATURE, "no signature verifies over the PAE with the %s key",
                      w->own_key ? "statement's" : "--pubkey");
}

/* The statement envelope: _type, subject, predicateType. */
static enum verify_reason check_statement(struct verifier *v, struct work *w, struct verify_result *r)
{
        struct jread j = { 0 };
        const cJSON *subj, *s0;
        char type[64], name[96], digest[72], ptype[128];

        if (!cJSON_IsObject(w->statement))
                return reject(r, VERIFY_STATEMENT, "payload is not a JSON object");
        jr_str(&j, w->statement, "", "_type", type, sizeof(type));
        subj = jr_arr(&j, w->statement, "", "subject", 16, false);
        s0 = cJSON_GetArrayItem(subj, 0);
        jr_str(&j, s0, "subject[0]", "name", name, sizeof(name));
        jr_str(&j, jr_obj(&j, s0, "subject[0]", "digest"), "subject[0].digest", "sha256", digest, sizeof(digest));
        jr_str(&j, w->statement, "", "predicateType", ptype, sizeof(ptype));
        if (jr_ok(&j) && (!s0 || strcmp(type, STATEMENT_TYPE)))
                jr_fail(&j, "", "_type/subject", "is not an in-toto Statement v1 with a subject");
        if (!jr_ok(&j))
                return reject(r, VERIFY_STATEMENT, "%s", j.err);
        if (strcmp(ptype, PREDICATE_TYPE) != 0) {
                if (v->pubkey)
                        return reject(r, VERIFY_VALID_SIGNATURE_ONLY,
                                      "signature valid for --pubkey; predicateType %s is not appraised", ptype);
                return reject(r, VERIFY_PREDICATE_TYPE, "predicateType %s is not %s", ptype, PREDICATE_TYPE);
        }
        /* One subject: a consumer reading "the" subject must not have a choice. */
        if (cJSON_GetArraySize(subj) != 1)
                return reject(r, VERIFY_SUBJECT_COUNT, "%d subjects; a hostenc statement names exactly one",
                              cJSON_GetArraySize(subj));
        if (!startswith(name, "azure-vmid:") ||
            strcpy_bounded(w->subject_vm, sizeof(w->subject_vm), name + strlen("azure-vmid:")) < 0)
                return reject(r, VERIFY_STATEMENT, "subject[0].name is not azure-vmid:<vmId>");
        (void) strcpy_bounded(r->vm_id, sizeof(r->vm_id), w->subject_vm);
        w->predicate = get(w->statement, "predicate");
        return cJSON_IsObject(w->predicate) ? VERIFY_VALID
                                            : reject(r, VERIFY_STATEMENT, "predicate is not an object");
}

static enum verify_reason check_predicate_shape(struct verifier *v, struct work *w, struct verify_result *r)
{
        const cJSON *p = w->predicate;
        struct jread j = { 0 };
        char binding[64];

        jr_enum(&j, p, "predicate", "verdict", verdict_names, N_VERDICTS);
        jr_str(&j, p, "predicate", "verdict", r->verdict, sizeof(r->verdict));
        jr_arr(&j, p, "predicate", "checks", POLICY_N_CHECKS, false);
        jr_str(&j, p, "predicate", "observedAt", r->observed_at, sizeof(r->observed_at));
        r->sequence = jr_u64(&j, p, "predicate", "sequence");
        jr_str(&j, jr_obj(&j, p, "predicate", "signer"), "predicate.signer", "binding", binding, sizeof(binding));
        jr_obj(&j, p, "predicate", "node");
        jr_obj(&j, p, "predicate", "agent");
        jr_obj(&j, p, "predicate", "attested");
        if (jr_ok(&j) && !cJSON_IsString(get(p, "imdsAttestedDocument")))
                jr_fail(&j, "predicate", "imdsAttestedDocument", "is not a string");
        if (jr_ok(&j) && parse_rfc3339_utc(r->observed_at, &w->observed) < 0)
                jr_fail(&j, "predicate", "observedAt", "is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SSZ)");
        if (jr_ok(&j) && strcmp(binding, BINDING_METHOD) != 0)
                jr_fail(&j, "predicate.signer", "binding", "is not " BINDING_METHOD);
        if (jr_ok(&j) && r->sequence == 0)
                jr_fail(&j, "predicate", "sequence", "is not at least 1");
        return jr_ok(&j) ? VERIFY_VALID : reject(r, VERIFY_STATEMENT, "%s", j.err);
}

/* The key that signed must be the key the statement names, in all three forms. */
static enum verify_reason check_signer(struct verifier *v, struct work *w, struct verify_result *r)
{
        const cJSON *s = get(w->predicate, "signer");
        const cJSON *pem = get(s, "publicKey"), *kid = get(s, "keyId"), *hash = get(s, "spkiSha256");
        const struct signer_key *named = w->own_key;    /* find_key read the same node */

        if (!cJSON_IsString(pem) || !cJSON_IsString(kid) || !cJSON_IsString(hash) ||
            (!named && key_cache_get(v->keys, pem->valuestring, strlen(pem->valuestring), &named) < 0))
                return reject(r, VERIFY_STATEMENT, "predicate.signer lacks a P-256 publicKey, keyId or spkiSha256");
        if (named->key != w->key && !public_key_equal(named->key, w->key))
                return reject(r, VERIFY_SIGNER_KEY, "predicate.signer.publicKey is not the key that signed");
        if (strcmp(named->names.spki_sha256, hash->valuestring) || strcmp(named->names.key_id, kid->valuestring))
                return reject(r, VERIFY_SIGNER_KEY, "predicate.signer keyId/spkiSha256 do not describe the signing key");
        memcpy(w->nonce, named->names.nonce, sizeof(w->nonce));
        (void) strcpy_bounded(r->key_id, sizeof(r->key_id), named->names.key_id);
        return VERIFY_VALID;
}

static void summarise(const struct attested_facts *f, struct attested_summary *s)
{
        *s = (struct attested_summary){ .state = f->state, .created_at = f->created_at,
                                        .expires_at = f->expires_at, .signer_not_before = f->signer_not_before,
                                        .signer_not_after = f->signer_not_after };
        (void) strcpy_bounded(s->error, sizeof(s->error), f->error);
        (void) strcpy_bounded(s->nonce, sizeof(s->nonce), f->nonce);
        (void) strcpy_bounded(s->vm_id, sizeof(s->vm_id), f->vm_id);
        (void) strcpy_bounded(s->subscription_id, sizeof(s->subscription_id), f->subscription_id);
        (void) strcpy_bounded(s->created_on, sizeof(s->created_on), f->created_on);
        (void) strcpy_bounded(s->expires_on, sizeof(s->expires_on), f->expires_on);
        /* Shown, not compared: a longer name is cut, visibly bounded. */
        snprintf(s->signer_dns, sizeof(s->signer_dns), "%.*s", (int) sizeof(s->signer_dns) - 1, f->signer_dns);
        snprintf(s->signer_issuer, sizeof(s->signer_issuer), "%.*s", (int) sizeof(s->signer_issuer) - 1,
                 f->signer_issuer);
}

static uint64_t lifetime_cap(const struct verifier *v)
{
        return v->max_doc_lifetime_s ? v->max_doc_lifetime_s : ATTESTED_MAX_LIFETIME_S;
}

/* Microsoft's signature, SAN and chain, at the document's own createdOn. */
static enum verify_reason check_attested(struct verifier *v, struct work *w, struct verify_result *r)
{
        const char *doc = get(w->predicate, "imdsAttestedDocument")->valuestring;
        const struct attested_summary *hit;
        struct attested_facts *f;
        uint8_t key[32];

        sha256(doc, strlen(doc), key);
        hit = attested_cache_get(v->cache, key);
        if (hit) {
                v->cache_hits++;
                w->doc = *hit;
        } else {
                f = calloc(1, sizeof(*f));
                if (!f)
                        return reject(r, VERIFY_ATTESTED, "out of memory");
                attested_verify_response(doc, strlen(doc), v->trust, v->domains, ATTESTED_AT_CREATED_ON, f);
                summarise(f, &w->doc);
                free(f);
                attested_cache_put(v->cache, key, &w->doc);
        }
        if (w->doc.state != ATTESTED_OK)
                return reject(r, VERIFY_ATTESTED, "%s (%s)", w->doc.error, attested_state_names[w->doc.state]);
        if (w->doc.expires_at < w->doc.created_at ||
            (uint64_t) (w->doc.expires_at - w->doc.created_at) > lifetime_cap(v))
                return reject(r, VERIFY_ATTESTED_LIFETIME, "attested document lives %s .. %s, longer than %llus",
                              w->doc.created_on, w->doc.expires_on, (unsigned long long) lifetime_cap(v));
        if (strcmp(w->doc.nonce, w->nonce) != 0)
                return reject(r, VERIFY_BINDING, "attested nonce %s is not the key's binding nonce %s",
                              w->doc.nonce, w->nonce);
        return VERIFY_VALID;
}

static void lower(char *s)
{
        for (; *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

static enum verify_reason check_subject(struct verifier *v, struct work *w, struct verify_result *r)
{
        const cJSON *digest = get(get(cJSON_GetArrayItem(get(w->statement, "subject"), 0), "digest"), "sha256");
        const cJSON *vm = get(get(w->predicate, "vm"), "vmId");
        char signed_vm[64], hex[65];
        uint8_t d[32];

        snprintf(signed_vm, sizeof(signed_vm), "%s", w->doc.vm_id);
        lower(signed_vm);
        if (strcmp(w->subject_vm, signed_vm) != 0)
                return reject(r, VERIFY_SUBJECT, "subject vmId %s is not the Microsoft-signed vmId %s",
                              w->subject_vm, signed_vm);
        sha256(signed_vm, strlen(signed_vm), d);
        hex_encode(d, sizeof(d), hex);
        if (strcmp(hex, digest->valuestring) != 0)
                return reject(r, VERIFY_SUBJECT, "subject digest is not SHA-256 of the vmId");
        if (cJSON_IsString(vm) && strcasecmp(vm->valuestring, signed_vm) != 0)
                return reject(r, VERIFY_SUBJECT, "predicate.vm.vmId %s is not the signed vmId %s",
                              vm->valuestring, signed_vm);
        return VERIFY_VALID;
}

static enum verify_reason check_times(struct verifier *v, struct work *w, struct verify_result *r)
{
        if (w->observed < w->doc.created_at - VERIFY_CLOCK_SKEW_S ||
            w->observed > w->doc.expires_at + VERIFY_CLOCK_SKEW_S)
                return reject(r, VERIFY_WINDOW, "observedAt %s is outside the attested document's %s .. %s",
                              r->observed_at, w->doc.created_on, w->doc.expires_on);
        /* The chain was checked at createdOn; the leaf must also have been
         * valid when the statement says it was made and signed. */
        if (!w->doc.signer_not_before || !w->doc.signer_not_after || w->observed < w->doc.signer_not_before ||
            w->observed > w->doc.signer_not_after)
                return reject(r, VERIFY_ATTESTED_LEAF_TIME,
                              "observedAt %s is outside the attested document signer's validity", r->observed_at);
        if (w->observed > v->now + VERIFY_CLOCK_SKEW_S)
                return reject(r, VERIFY_FUTURE, "observedAt %s is more than %ds ahead of this clock", r->observed_at,
                              VERIFY_CLOCK_SKEW_S);
        if (evidence_age_exceeds(v->now, w->observed, v->max_age_s))
                return reject(r, VERIFY_STALE, "observedAt %s is older than --max-age %llus", r->observed_at,
                              (unsigned long long) v->max_age_s);
        return VERIFY_VALID;
}

/* The facts the statement carries, with our own view of the attested document. */
static int facts_from_predicate(struct verifier *v, struct work *w, char *err, size_t errsz)
{
        const cJSON *p = w->predicate;
        struct attested_facts *a;
        int k;

        /* Reused: the readers reset what they fill (facts.h), and the
         * attested part is reset here up to its raw bytes, unused by policy. */
        w->facts = v->facts;
        k = imds_facts_from_json(get(p, "vm"), &w->facts->imds, err, errsz);
        if (k == 0)
                k = host_facts_from_json(get(p, "host"), get(p, "disks"), &w->facts->host, err, errsz);
        if (k < 0)
                return k;
        a = &w->facts->attested;
        memset(a, 0, offsetof(struct attested_facts, raw) + 1);
        a->state = w->doc.state;
        a->created_at = w->doc.created_at;
        a->expires_at = w->doc.expires_at;
        (void) strcpy_bounded(a->nonce, sizeof(a->nonce), w->doc.nonce);
        (void) strcpy_bounded(a->nonce_requested, sizeof(a->nonce_requested), w->nonce);
        (void) strcpy_bounded(a->vm_id, sizeof(a->vm_id), w->doc.vm_id);
        return 0;
}

static const cJSON *claimed_check(const cJSON *checks, const char *id)
{
        const cJSON *c;

        cJSON_ArrayForEach(c, checks) {
                const cJSON *cid = get(c, "id");

                if (cJSON_IsString(cid) && !strcmp(cid->valuestring, id))
                        return c;
        }
        return NULL;
}

static bool str_is(const cJSON *o, const char *key, const char *want)
{
        const cJSON *v = get(o, key);

        return cJSON_IsString(v) && !strcmp(v->valuestring, want);
}

/* The policy inputs the agent used, so the same policy gives the same answer. */
static int policy_from_predicate(const cJSON *p, time_t now, struct policy_opts *ret, char *err, size_t errsz)
{
        const cJSON *o = get(p, "policy"), *since = get(o, "dataDiskMismatchSince");
        struct jread j = { 0 };

        *ret = (struct policy_opts){ .now = now };
        ret->resource_tolerance_mib = jr_u64(&j, o, "predicate.policy", "resourceToleranceMiB");
        ret->data_disk_grace_s = jr_u64(&j, o, "predicate.policy", "dataDiskGraceSeconds");
        if (!o)
                jr_fail(&j, "predicate", "policy", "is missing");
        else if (!since || (!cJSON_IsNull(since) &&
                            (!cJSON_IsString(since) || parse_rfc3339_utc(since->valuestring, &ret->data_disk_mismatch_since) < 0)))
                jr_fail(&j, "predicate.policy", "dataDiskMismatchSince", "is not null or RFC 3339 UTC");
        snprintf(err, errsz, "%s", j.err);
        return j.r;
}

/* The stated verdict and checks must follow from the stated facts. */
static enum verify_reason reappraise(struct verifier *v, struct work *w, struct verify_result *r)
{
        const cJSON *checks = get(w->predicate, "checks");
        struct policy_opts po;
        struct report rep;
        char err[256];

        if (policy_from_predicate(w->predicate, w->observed, &po, err, sizeof(err)) < 0)
                return reject(r, VERIFY_STATEMENT, "%s", err);
        if (facts_from_predicate(v, w, err, sizeof(err)) < 0)
                return reject(r, VERIFY_STATEMENT, "facts: %s", err);
        policy_evaluate(w->facts, &po, &rep);
        for (unsigned i = 0; i < rep.n_checks; i++) {
                const struct check_result *c = &rep.checks[i];
                const cJSON *claim = claimed_check(checks, c->id);

                if (!claim || !str_is(claim, "status", check_status_to_string(c->status)) ||
                    !str_is(claim, "reason", c->reason))
                        return reject(r, VERIFY_VERDICT, "check %s: the facts give %s/%s, the statement claims otherwise",
                                      c->id, check_status_to_string(c->status), c->reason);
        }
        if (strcmp(r->verdict, verdict_to_string(rep.verdict)) != 0)
                return reject(r, VERIFY_VERDICT, "the facts give verdict %s, the statement claims %s",
                              verdict_to_string(rep.verdict), r->verdict);
        return VERIFY_VALID;
}

static void copy_string(const cJSON *v, char *dst, size_t sz)
{
        if (cJSON_IsString(v))
                (void) strcpy_bounded(dst, sz, v->valuestring);
}

/* Facts an auditor groups and reports by; only read after every check passed. */
static void describe(struct work *w, struct verify_result *r)
{
        const cJSON *p = w->predicate, *node = get(p, "node"), *vm = get(p, "vm"), *c;

        copy_string(get(node, "name"), r->node_name, sizeof(r->node_name));
        copy_string(get(node, "providerID"), r->provider_id, sizeof(r->provider_id));
        (void) strcpy_bounded(r->subscription_id, sizeof(r->subscription_id), w->doc.subscription_id);
        copy_string(get(vm, "vmSize"), r->vm_size, sizeof(r->vm_size));
        copy_string(get(vm, "encryptionAtHost"), r->eah_claim, sizeof(r->eah_claim));
        r->observed = w->observed;
        cJSON_ArrayForEach(c, get(p, "checks"))
                if (!*r->deciding_reason && str_is(c, "severity", "fail") && !str_is(c, "status", "pass") &&
                    !str_is(c, "status", "not-applicable"))
                        copy_string(get(c, "reason"), r->deciding_reason, sizeof(r->deciding_reason));
}

static enum verify_reason fault_reason(enum canon_fault f)
{
        static const enum verify_reason map[] = {
                [CANON_OK] = VERIFY_VALID, [CANON_MALFORMED] = VERIFY_MALFORMED,
                [CANON_TRAILING] = VERIFY_TRAILING, [CANON_DUPLICATE_KEY] = VERIFY_DUPLICATE_KEY,
                [CANON_NUL] = VERIFY_NUL, [CANON_BASE64] = VERIFY_BASE64,
                [CANON_SIGNATURES] = VERIFY_SIGNATURE_COUNT, [CANON_SIG_ENCODING] = VERIFY_SIGNATURE_ENCODING,
                [CANON_HIGH_S] = VERIFY_HIGH_S, [CANON_NO_MEMORY] = VERIFY_UNREADABLE,
        };

        return map[f];
}

/* The envelope and the statement in their one canonical form
 * (canonical.h), before anything is read from either. A statement that is
 * not canonical JSON is refused whatever its signature says. */
static enum verify_reason canonical(struct work *w, const char *data, size_t len, struct verify_result *r)
{
        enum canon_fault f;
        char err[256];

        f = canon_envelope_parse(data, len, &w->env, err, sizeof(err));
        if (f != CANON_OK)
                return reject(r, fault_reason(f), "envelope: %s", f == CANON_NO_MEMORY ? "out of memory" : err);
        /* The statement's own fault is reported after its signature verified
         * (check_statement_form): a flipped byte stays SignatureInvalid. */
        w->statement_fault = canon_json_parse((const char *) w->env.payload, w->env.payload_len, &w->statement,
                                              w->statement_err, sizeof(w->statement_err));
        if (w->statement_fault == CANON_NO_MEMORY)
                return reject(r, VERIFY_UNREADABLE, "statement: out of memory");
        return VERIFY_VALID;
}

static enum verify_reason check_statement_form(struct verifier *v, struct work *w, struct verify_result *r)
{
        enum canon_fault f = w->statement_fault;

        if (f == CANON_OK || f == CANON_MALFORMED)      /* not JSON: check_statement says so */
                return VERIFY_VALID;
        return reject(r, fault_reason(f), "statement: %s", w->statement_err);
}

typedef enum verify_reason (*step_fn)(struct verifier *, struct work *, struct verify_result *);

void verify_envelope(struct verifier *v, const char *data, size_t len, struct verify_result *ret)
{
        /* In the order of attestation.md §5.9: nothing from the payload is
         * believed before the signature over it has been checked. */
        static const step_fn steps[] = {
                find_key, check_signature, check_statement_form, check_statement, check_predicate_shape, check_signer,
                check_attested, check_subject, check_times, reappraise,
        };
        _cleanup_(work_done) struct work w = { .statement = NULL };
        struct verify_result r = { .reason = VERIFY_VALID };

        if (!v->keys || !v->facts) {
                reject(&r, VERIFY_UNREADABLE, "verifier not initialised (out of memory)");
        } else if (canonical(&w, data, len, &r) != VERIFY_VALID) {
                /* rejected with the rule's own reason */
        } else if (strcmp(w.env.payload_type, DSSE_PAYLOAD_TYPE) != 0) {
                reject(&r, VERIFY_PAYLOAD_TYPE, "payloadType %s is not " DSSE_PAYLOAD_TYPE, w.env.payload_type);
        } else {
                size_t i;

                for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
                        if (steps[i](v, &w, &r) != VERIFY_VALID)
                                break;
                if (i == sizeof(steps) / sizeof(steps[0]))
                        describe(&w, &r);
        }
        *ret = r;
}
