/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc verify: offline verification of envelopes, one result per file. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "attested.h"
#include "fleet.h"
#include "options.h"
#include "dsse.h"
#include "fileio.h"
#include "json.h"
#include "macro.h"
#include "report.h"
#include "store_iface.h"
#include "strparse.h"
#include "verify.h"

struct verify_opts {
        struct common_opts c;
        const char *pubkey_file;
        bool json;
};

static void usage(FILE *out)
{
        fputs("Usage: hostenc verify [OPTIONS] ENVELOPE...|DIR|STORE\n"
              "Verifies DSSE envelopes written by 'hostenc check --attestation' offline\n"
              "(a DIR means every *.json file in it; a collector's STORE, file:DIR or\n"
              "azblob://ACCOUNT/CONTAINER, every envelope under its objects/, each also\n"
              "held against the digest it is stored under):\n"
              "signature, statement, key binding through the IMDS attested document (its\n"
              "chain checked at its own createdOn), subject, time window, freshness, and a\n"
              "re-appraisal of the facts. Exit 0 only if every envelope is valid.\n\n"
              "  --imds-trust FILE    PEM bundle replacing the built-in Microsoft roots\n"
              "  --metadata-domain NAME  allowed attested-document signer domain (repeatable;\n"
              "                       default " ATTESTED_DEFAULT_DOMAIN "; metadata.azure.us, metadata.azure.cn)\n"
              "  --attested-max-lifetime DURATION  longest expiresOn - createdOn accepted (default 6h15m)\n"
              "  --pubkey FILE        require this PEM P-256 public key as the signer\n"
              "  --max-age DURATION   reject envelopes observed longer ago (e.g. 90s, 30m, 6h, 7d)\n"
              "  --output text|json   per-file results (default text)\n"
              "  -h, --help           this text\n", out);
}

static int parse_opts(int argc, char **argv, struct verify_opts *o)
{
        enum { O_PUBKEY = 256 };
        static const struct option own[] = {
                { "pubkey", required_argument, NULL, O_PUBKEY },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        struct option longopts[16];
        int c;

        common_options(own, COPT_IMDS_TRUST | COPT_METADATA_DOMAIN | COPT_MAX_AGE | COPT_OUTPUT |
                       COPT_ATTESTED_LIFETIME, longopts, sizeof(longopts) / sizeof(longopts[0]));
        while ((c = common_getopt("verify", argc, argv, longopts, &o->c)) > 0) {
                switch (c) {
                case O_PUBKEY: o->pubkey_file = optarg; break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (c < 0)
                return c;
        if (o->c.output && parse_output_format("verify", o->c.output, &o->json) < 0)
                return -EINVAL;
        if (optind >= argc) {
                log_error("verify: no envelope or directory given");
                return -EINVAL;
        }
        common_options_done(&o->c);
        return 0;
}

static int load_pubkey(const char *file, struct public_key **ret)
{
        _cleanup_free_ char *pem = NULL;
        size_t len;
        int r;

        r = read_file_bounded(file, 64 * 1024, &pem, &len);
        if (r < 0) {
                log_error("--pubkey %s: %s", file, strerror(-r));
                return r;
        }
        r = public_key_from_pem(pem, len, ret);
        if (r < 0)
                log_error("--pubkey %s: not a PEM SubjectPublicKeyInfo of a P-256 key", file);
        return r;
}

struct output {
        bool json;
        cJSON *results;
        unsigned total, valid;
};

static void emit(struct output *out, const char *file, const struct verify_result *r)
{
        bool ok = verify_result_valid(r);
        cJSON *o;

        out->total++;
        out->valid += ok;
        if (!out->json) {
                /* Every string here may come from the envelope or a file name. */
                char f[PATH_MAX * 2], d[sizeof(r->detail) * 4], vm[sizeof(r->vm_id) * 4];

                escape_control(file, f, sizeof(f));
                escape_control(r->detail, d, sizeof(d));
                if (r->reason == VERIFY_VALID)
                        printf("%s: valid: verdict %s, vmId %s, observedAt %s, sequence %llu, key %s\n", f,
                               r->verdict, escape_control(r->vm_id, vm, sizeof(vm)), r->observed_at,
                               (unsigned long long) r->sequence, r->key_id);
                else if (ok)
                        printf("%s: valid signature only: %s\n", f, d);
                else
                        printf("%s: invalid: %s: %s\n", f, verify_reason_names[r->reason], d);
                return;
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddBoolToObject(o, "valid", ok);
        cJSON_AddStringToObject(o, "reason", verify_reason_names[r->reason]);
        cJSON_AddStringToObject(o, "detail", r->detail);
        cJSON_AddStringToObject(o, "verdict", r->verdict);
        cJSON_AddStringToObject(o, "vmId", r->vm_id);
        cJSON_AddStringToObject(o, "observedAt", r->observed_at);
        cJSON_AddStringToObject(o, "keyId", r->key_id);
        cJSON_AddNumberToObject(o, "sequence", (double) r->sequence);
        json_append(out->results, o);
}

static void verify_file(struct verifier *v, struct output *out, const char *path)
{
        _cleanup_free_ char *data = NULL;
        struct verify_result r = { .reason = VERIFY_VALID };
        size_t len;
        int k;

        k = read_file_bounded(path, DSSE_MAX_ENVELOPE, &data, &len);
        if (k == -E2BIG)
                snprintf(r.detail, sizeof(r.detail), "larger than %d bytes", DSSE_MAX_ENVELOPE);
        else if (k < 0)
                snprintf(r.detail, sizeof(r.detail), "%s", strerror(-k));
        if (k < 0)
                r.reason = k == -E2BIG ? VERIFY_TOO_LARGE : VERIFY_UNREADABLE;
        else
                verify_envelope(v, data, len, &r);
        emit(out, path, &r);
}

static bool is_json_name(const char *name)
{
        size_t n = strlen(name);

        return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".json");
}

/* Every regular *.json file in the directory, in name order, not recursing;
 * symlinks (an evidence directory's latest.json) are not counted twice. */
static void verify_dir(struct verifier *v, struct output *out, const char *dir)
{
        struct dirent **list = NULL;
        char path[PATH_MAX];
        int n = scandir(dir, &list, NULL, alphasort);

        if (n < 0) {
                struct verify_result r = { .reason = VERIFY_UNREADABLE };

                snprintf(r.detail, sizeof(r.detail), "%s", strerror(errno));
                emit(out, dir, &r);
                return;
        }
        for (int i = 0; i < n; i++) {
                struct stat st;

                snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
                if (is_json_name(list[i]->d_name) && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
                        verify_file(v, out, path);
                free(list[i]);
        }
        free(list);
}

struct blob_run {
        struct verifier *v;
        struct output *out;
};

static bool verify_blob(void *userdata, const struct store_listing *l, const char *data, size_t len)
{
        struct blob_run *b = userdata;
        struct verify_result r = { .reason = VERIFY_VALID };

        store_verify(b->v, l, data, len, &r);
        emit(b->out, l->name, &r);
        return r.reason == VERIFY_VALID;
}

/* Every envelope a collector's store holds (objects/), a container or a directory. */
static void verify_store(struct verifier *v, struct output *out, const char *url)
{
        struct http_transport *http = NULL;
        struct blob_run b = { .v = v, .out = out };
        struct verify_result r = { .reason = VERIFY_UNREADABLE };

        snprintf(r.detail, sizeof(r.detail), "out of memory");
        if ((store_url_is_azblob(url) && http_curl_new(&http) < 0) ||
            store_read_all(url, http, verify_blob, &b, r.detail, sizeof(r.detail)) < 0)
                emit(out, url, &r);
        http_curl_free(http);
}

static int run(const struct verify_opts *o, char **paths, int n)
{
        struct trust_store *trust = NULL;
        struct public_key *pub = NULL;
        struct output out = { .json = o->json };
        struct verifier v = { .domains = o->c.domains, .max_age_s = o->c.max_age_s,
                              .max_doc_lifetime_s = o->c.attested_lifetime_s, .now = time(NULL) };
        struct stat st;
        int rc = EXIT_CONFIG;

        if (trust_load(o->c.trust_file, &trust) < 0 || (o->pubkey_file && load_pubkey(o->pubkey_file, &pub) < 0))
                goto out;
        v.trust = trust;
        v.pubkey = pub;
        rc = EXIT_SOFTWARE;
        if (verifier_init(&v) < 0 || (o->json && !(out.results = cJSON_CreateArray())))
                goto out;
        for (int i = 0; i < n; i++) {
                const char *p = store_url_dir(paths[i]);
                bool dir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);

                if (store_url_is_azblob(p) || (dir && store_dir_is_store(p)))
                        verify_store(&v, &out, paths[i]);
                else if (dir)
                        verify_dir(&v, &out, p);
                else
                        verify_file(&v, &out, p);
        }
        if (o->json) {
                cJSON *doc = cJSON_CreateObject();
                _cleanup_free_ char *text = NULL;

                /* The document owns the results from here on. */
                if (doc && cJSON_AddStringToObject(doc, "schema", VERIFY_SCHEMA) &&
                    json_add_item(doc, "results", out.results)) {
                        out.results = NULL;
                        text = json_print(doc, false);
                }
                if (text)
                        puts(text);
                cJSON_Delete(doc);
        } else
                fprintf(stderr, "hostenc: verify: %u of %u envelopes valid\n", out.valid, out.total);
        rc = out.total > 0 && out.valid == out.total ? 0 : 1;
out:
        cJSON_Delete(out.results);
        verifier_done(&v);
        public_key_free(pub);
        trust_store_free(trust);
        return rc;
}

int cmd_verify(int argc, char **argv)
{
        struct verify_opts o = { .json = false };
        int r = parse_opts(argc, argv, &o);

        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        return run(&o, argv + optind, argc - optind);
}
