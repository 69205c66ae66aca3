/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc audit: fleet appraisal for auditors. */
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
#include "audit.h"
#include "audit_report.h"
#include "fleet.h"
#include "options.h"
#include "dsse.h"
#include "fileio.h"
#include "macro.h"
#include "store_iface.h"
#include "strparse.h"
#include "verify.h"

#define EXPORT_MAX (256 * 1024 * 1024)
#define MAX_DEPTH 6

enum { AUDIT_CLEAN = 0, AUDIT_FINDINGS = 1, AUDIT_ERRORS = 2 };
enum format { FMT_TEXT, FMT_JSON, FMT_JUNIT, FMT_HTML };

struct audit_opts {
        struct common_opts c;
        const char *nodes_file, *arm_file, *out_file;
        enum format format;
};

static void usage(void)
{
        puts("Usage: hostenc audit [OPTIONS] ENVELOPE...|DIR|COLLECTOR-STORE|azblob://ACCOUNT/CONTAINER\n"
             "Verifies every envelope (as hostenc verify does), keeps each VM's freshest valid\n"
             "one, binds it to a Node by identity (systemUUID, or providerID through --arm;\n"
             "never by the name it claims), and reports the fleet: nodes without evidence,\n"
             "misattributed or foreign evidence, stale or invalid evidence, claims that\n"
             "disagree with ARM, noncompliant nodes by pool and VM size.\n"
             "Exit: 0 all compliant, 1 findings, 2 an input could not be read.\n\n"
             "  --nodes FILE          kubectl get nodes -o json (finds nodes without evidence)\n"
             "  --arm FILE            az vmss list-instances / az vm show / Resource Graph JSON\n"
             "  --max-age DURATION    evidence older than this is stale (default 30m)\n"
             "  --imds-trust FILE     PEM bundle replacing the built-in Microsoft roots\n"
             "  --metadata-domain NAME  allowed attested-document signer domain (repeatable;\n"
             "                        default " ATTESTED_DEFAULT_DOMAIN ")\n"
             "  --attested-max-lifetime DURATION  longest expiresOn - createdOn accepted (default 6h15m)\n"
             "  --output FORMAT       text (default), json, junit or html\n"
             "  --out FILE            write the report there instead of stdout\n"
             "  -h, --help            this text");
}

static int parse_format(const char *v, enum format *ret)
{
        static const char *const names[] = { "text", "json", "junit", "html" };

        for (unsigned i = 0; i < 4; i++)
                if (!strcmp(v, names[i])) {
                        *ret = (enum format) i;
                        return 0;
                }
        log_error("audit: invalid value \"%s\" for --output (text, json, junit, html)", v);
        return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct audit_opts *o)
{
        enum { O_NODES = 256, O_ARM, O_OUT };
        static const struct option own[] = {
                { "nodes", required_argument, NULL, O_NODES }, { "arm", required_argument, NULL, O_ARM },
                { "out", required_argument, NULL, O_OUT }, { "help", no_argument, NULL, 'h' }, { 0 },
        };
        struct option longopts[16];
        int c;

        common_options(own, COPT_IMDS_TRUST | COPT_METADATA_DOMAIN | COPT_MAX_AGE | COPT_OUTPUT |
                       COPT_ATTESTED_LIFETIME, longopts, sizeof(longopts) / sizeof(longopts[0]));
        while ((c = common_getopt("audit", argc, argv, longopts, &o->c)) > 0) {
                switch (c) {
                case O_NODES: o->nodes_file = optarg; break;
                case O_ARM: o->arm_file = optarg; break;
                case O_OUT: o->out_file = optarg; break;
                case 'h':
                        usage();
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (c < 0)
                return c;
        if (o->c.output && parse_format(o->c.output, &o->format) < 0)
                return -EINVAL;
        if (optind >= argc) {
                log_error("audit: no envelope, directory or collector store given");
                return -EINVAL;
        }
        common_options_done(&o->c);
        return 0;
}

struct run {
        struct verifier v;
        struct audit a;
        bool errors;
};

static void audit_file(struct run *r, const char *path)
{
        _cleanup_free_ char *data = NULL;
        struct verify_result res = { .reason = VERIFY_VALID };
        size_t len;
        int k = read_file_bounded(path, DSSE_MAX_ENVELOPE, &data, &len);

        if (k < 0) {
                res.reason = k == -E2BIG ? VERIFY_TOO_LARGE : VERIFY_UNREADABLE;
                snprintf(res.detail, sizeof(res.detail), "%s", strerror(-k));
        } else
                verify_envelope(&r->v, data, len, &res);
        if (audit_add_result(&r->a, path, &res) < 0)
                r->errors = true;
}

static bool json_name(const char *n)
{
        size_t l = strlen(n);

        return n[0] != '.' && l > 5 && !strcmp(n + l - 5, ".json");
}

/* Recursive, in name order; symlinks skipped (a collector's per-VM links
 * and latest.json would count envelopes twice). */
static void audit_dir(struct run *r, const char *dir, unsigned depth)
{
        struct dirent **list = NULL;
        char path[PATH_MAX];
        struct stat st;
        int n = scandir(dir, &list, NULL, alphasort);

        if (n < 0) {
                log_error("audit: %s: %s", dir, strerror(errno));
                r->errors = true;
                return;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;

                snprintf(path, sizeof(path), "%s/%s", dir, name);
                if (name[0] != '.' && lstat(path, &st) == 0) {
                        if (S_ISDIR(st.st_mode) && depth < MAX_DEPTH)
                                audit_dir(r, path, depth + 1);
                        else if (S_ISREG(st.st_mode) && json_name(name))
                                audit_file(r, path);
                }
                free(list[i]);
        }
        free(list);
}

static bool audit_blob(void *userdata, const struct store_listing *l, const char *data, size_t len)
{
        struct run *r = userdata;
        struct verify_result res = { .reason = VERIFY_VALID };

        store_verify(&r->v, l, data, len, &res);
        if (audit_add_result(&r->a, l->entry ? l->entry : l->name, &res) < 0)
                r->errors = true;
        return res.reason == VERIFY_VALID;
}

/* A container: each VM's newest envelope only (and older ones while those are not valid). */
static void audit_azblob(struct run *r, const char *url)
{
        struct http_transport *http = NULL;
        char err[320] = "out of memory";

        if (http_curl_new(&http) < 0 || store_read_freshest(url, http, audit_blob, r, err, sizeof(err)) < 0) {
                log_error("audit: %s: %s", url, err);
                r->errors = true;
        }
        http_curl_free(http);
}

static void audit_path(struct run *r, const char *p)
{
        char objects[PATH_MAX];
        struct stat st;

        if (store_url_is_azblob(p)) {
                audit_azblob(r, p);
                return;
        }
        p = store_url_dir(p);
        if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
                audit_file(r, p);
                return;
        }
        /* A collector store keeps each envelope once, under objects/. */
        snprintf(objects, sizeof(objects), "%s/objects", p);
        audit_dir(r, stat(objects, &st) == 0 && S_ISDIR(st.st_mode) ? objects : p, 0);
}

static int load_export(struct run *r, const char *file, const char *what,
                       int (*load)(struct audit *, const char *, size_t, char *, size_t))
{
        _cleanup_free_ char *data = NULL;
        char err[256];
        size_t len;
        int k = read_file_bounded(file, EXPORT_MAX, &data, &len);

        if (k == 0)
                k = load(&r->a, data, len, err, sizeof(err));
        else
                snprintf(err, sizeof(err), "%s", strerror(-k));
        if (k < 0) {
                log_error("audit: %s %s: %s", what, file, err);
                r->errors = true;
        }
        return k;
}

static int write_report(const struct audit_opts *o, const struct audit *a)
{
        FILE *out = o->out_file ? fopen(o->out_file, "we") : stdout;
        int r = 0, closed;

        if (!out) {
                log_error("audit: --out %s: %s", o->out_file, strerror(errno));
                return -errno;
        }
        switch (o->format) {
        case FMT_JSON: r = audit_write_json(out, a); break;
        case FMT_JUNIT: audit_write_junit(out, a); break;
        case FMT_HTML: audit_write_html(out, a); break;
        case FMT_TEXT: default: audit_write_text(out, a); break;
        }
        if (o->out_file)
                closed = fclose(out);
        else
                closed = fflush(out);
        if (closed != 0 || r < 0) {
                log_error("audit: cannot write the report");
                return -EIO;
        }
        return 0;
}

static int exit_code(const struct run *r)
{
        struct audit_totals t;

        if (r->errors)
                return AUDIT_ERRORS;
        audit_totals(&r->a, &t);
        for (size_t i = 0; i < r->a.n_nodes; i++)
                if (r->a.nodes[i].findings)
                        return AUDIT_FINDINGS;
        return t.invalid_files || t.nodes == 0 ? AUDIT_FINDINGS : AUDIT_CLEAN;
}

int cmd_audit(int argc, char **argv)
{
        struct audit_opts o = { .c = { .max_age_s = 30 * 60 } };
        struct trust_store *trust = NULL;
        struct run r = { .errors = false };
        int k = parse_opts(argc, argv, &o), rc;

        if (k != 0)
                return k > 0 ? 0 : EXIT_USAGE;
        if (trust_load(o.c.trust_file, &trust) < 0)
                return EXIT_CONFIG;
        r.v.domains = o.c.domains;
        r.v.max_doc_lifetime_s = o.c.attested_lifetime_s;
        r.v.trust = trust;
        r.v.now = r.a.now = time(NULL);
        r.a.max_age_s = o.c.max_age_s;
        if (verifier_init(&r.v) < 0) {
                trust_store_free(trust);
                return EXIT_SOFTWARE;
        }
        for (int i = optind; i < argc; i++)
                audit_path(&r, argv[i]);
        if (o.nodes_file)
                (void) load_export(&r, o.nodes_file, "--nodes", audit_load_nodes);
        if (o.arm_file)
                (void) load_export(&r, o.arm_file, "--arm", audit_load_arm);
        if (audit_finish(&r.a) < 0) {
                log_error("audit: out of memory");
                rc = EXIT_SOFTWARE;
        } else
                rc = write_report(&o, &r.a) < 0 ? AUDIT_ERRORS : exit_code(&r);
        audit_done(&r.a);
        verifier_done(&r.v);
        trust_store_free(trust);
        return rc;
}
