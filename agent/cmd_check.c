/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc check: one collection, one evaluation, one report. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attested.h"
#include "agent.h"
#include "options.h"
#include "crypto.h"
#include "cycle.h"
#include "durable.h"
#include "evidence.h"
#include "fileio.h"
#include "http.h"
#include "imds.h"
#include "imds_cycle.h"
#include "keyfile.h"
#include "macro.h"
#include "policy.h"
#include "report.h"
#include "strparse.h"
#include "sysroot.h"


struct check_opts {
        const char *host_root;
        const char *imds_url;
        const char *api_version;
        struct common_opts c;
        const char *attestation;
        const char *key_file;
        const char *node_name;
        const char *provider_id;
        uint64_t imds_timeout_ms;
        uint64_t deadline_ms;
        uint64_t tolerance_mib;
        bool json;
};

static void usage(FILE *out)
{
        fputs("Usage: hostenc check [OPTIONS]\n"
              "Collects IMDS metadata, the attested document and the node's disks, and\n"
              "judges encryption at host. Exit: 0 compliant, 1 noncompliant, 2 unknown.\n\n"
              "  --host-root DIR           read sys/, dev/, run/udev/, proc/1/ under DIR (default /)\n"
              "  --imds-url URL            IMDS base URL (default " IMDS_DEFAULT_URL ")\n"
              "  --imds-api-version V      compute/attested api-version, >= " IMDS_MIN_API_VERSION
              " (default " IMDS_DEFAULT_API_VERSION ")\n"
              "  --imds-timeout SECONDS    bound on each IMDS call, retries included (default 70)\n"
              "  --deadline SECONDS        bound on all IMDS calls of the check together (default 75)\n"
              "  --imds-trust FILE         PEM bundle replacing the built-in Microsoft roots\n"
              "  --metadata-domain NAME    signer SAN domain, repeatable (default " ATTESTED_DEFAULT_DOMAIN ")\n"
              "  --resource-tolerance-mib N  temp disk size tolerance (default 1024)\n"
              "  --output text|json        report format (default text)\n"
              "  --attestation FILE        also write the signed DSSE envelope to FILE (atomically)\n"
              "  --key FILE                sign with this PEM PKCS#8 P-256 key (mode 0600 or\n"
              "                            stricter) instead of a fresh in-memory key\n"
              "  --node-name NAME          Kubernetes node name for the evidence (default: hostname)\n"
              "  --provider-id ID          the Node's spec.providerID, the evidence subject's uri\n"
              "  -h, --help                this text\n", out);
}

static int parse_seconds(const char *s, uint64_t *ret_ms)
{
        uint64_t v;

        if (parse_u64(s, &v) < 0 || v == 0 || v > 3600)
                return -EINVAL;
        *ret_ms = v * 1000;
        return 0;
}

static int bad_value(const char *opt, const char *value)
{
        log_error("check: invalid value \"%s\" for %s", value, opt);
        return -EINVAL;
}

static int parse_opts(int argc, char **argv, struct check_opts *o)
{
        enum { O_ROOT = 256, O_URL, O_API, O_TIMEOUT, O_TOL, O_ATTESTATION, O_KEY, O_NODE, O_PROVIDER, O_DEADLINE };
        static const struct option own[] = {
                { "host-root", required_argument, NULL, O_ROOT },
                { "imds-url", required_argument, NULL, O_URL },
                { "imds-api-version", required_argument, NULL, O_API },
                { "imds-timeout", required_argument, NULL, O_TIMEOUT },
                { "deadline", required_argument, NULL, O_DEADLINE },
                { "resource-tolerance-mib", required_argument, NULL, O_TOL },
                { "attestation", required_argument, NULL, O_ATTESTATION },
                { "key", required_argument, NULL, O_KEY },
                { "node-name", required_argument, NULL, O_NODE },
                { "provider-id", required_argument, NULL, O_PROVIDER },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        struct option longopts[24];
        int c;

        common_options(own, COPT_IMDS_TRUST | COPT_METADATA_DOMAIN | COPT_OUTPUT, longopts,
                       sizeof(longopts) / sizeof(longopts[0]));
        while ((c = common_getopt("check", argc, argv, longopts, &o->c)) > 0) {
                switch (c) {
                case O_ROOT: o->host_root = optarg; break;
                case O_URL: o->imds_url = optarg; break;
                case O_API: o->api_version = optarg; break;
                case O_ATTESTATION: o->attestation = optarg; break;
                case O_KEY: o->key_file = optarg; break;
                case O_NODE: o->node_name = optarg; break;
                case O_PROVIDER: o->provider_id = optarg; break;
                case O_TIMEOUT:
                        if (parse_seconds(optarg, &o->imds_timeout_ms) < 0)
                                return bad_value("--imds-timeout", optarg);
                        break;
                case O_DEADLINE:
                        if (parse_seconds(optarg, &o->deadline_ms) < 0)
                                return bad_value("--deadline", optarg);
                        break;
                case O_TOL:
                        if (parse_u64(optarg, &o->tolerance_mib) < 0)
                                return bad_value("--resource-tolerance-mib", optarg);
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (c < 0)
                return c;
        if (o->c.output && parse_output_format("check", o->c.output, &o->json) < 0)
                return -EINVAL;
        return common_options_end("check", argc, argv, &o->c);
}

static void report_input_errors(const struct node_facts *f)
{
        if (f->imds.state != IMDS_OK)
                log_error("imds: %s", f->imds.error);
        if (f->attested.state != ATTESTED_OK)
                log_error("imds: %s", f->attested.error);
        if (f->host.state != HOST_OK)
                log_error("host: %s", f->host.error);
        else if (!f->host.root_resolved)
                log_error("host: %s", f->host.root_error);
}

/* The IMDS client for this one check, then one collect of the cycle. */
static int collect(const struct check_opts *o, struct cycle_env *e, struct node_facts *f)
{
        struct http_transport *http = NULL;
        struct imds_client client;
        int r;

        r = http_curl_new(&http);
        if (r < 0)
                return r;
        r = imds_client_init(&client, http, imds_clock_system(), o->imds_url, o->api_version,
                             o->imds_timeout_ms);
        if (r < 0) {
                log_error("check: invalid --imds-url \"%s\" or --imds-api-version \"%s\"", o->imds_url,
                          o->api_version);
                http_curl_free(http);
                return -EINVAL;
        }
        e->imds = &client;
        cycle_collect(e, &f->attested, true, f);
        e->imds = NULL;
        http_curl_free(http);
        return 0;
}

static int emit(const struct check_opts *o, const struct node_facts *f, const struct report *rep, time_t now)
{
        _cleanup_free_ char *json = NULL;
        bool color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");

        if (!o->json) {
                report_print_text(stdout, f, rep, color);
                return 0;
        }
        json = report_to_json(f, rep, now);
        if (!json)
                return -ENOMEM;
        puts(json);
        return 0;
}

static int exit_for(enum verdict v)
{
        return v == VERDICT_COMPLIANT ? EXIT_COMPLIANT : v == VERDICT_NONCOMPLIANT ? EXIT_NONCOMPLIANT : EXIT_UNKNOWN;
}

static int load_key(const struct check_opts *o, struct signing_key **ret)
{
        int r;

        if (o->key_file)
                return keyfile_load(o->key_file, ret);
        r = signing_key_generate(ret);
        if (r < 0)
                log_error("cannot generate a signing key: %s", strerror(-r));
        return r;
}

static int write_attestation(const struct check_opts *o, const struct cycle_env *e, const struct node_facts *f,
                             const struct policy_opts *po, struct report *rep)
{
        char host[256] = "", prev[65];
        _cleanup_free_ char *env = NULL;
        uint64_t seq = 0;
        size_t len;
        int r;

        if (!o->node_name && gethostname(host, sizeof(host) - 1) < 0)
                host[0] = '\0';
        struct statement_input in = {
                .node_name = o->node_name ? o->node_name : host, .provider_id = o->provider_id, .sequence = 1,
        };
        /* Continue this key's chain when the file holds its last envelope. */
        if (evidence_previous(o->attestation, e->si->key_id, &seq, prev) == 0) {
                in.sequence = seq + 1;
                in.previous_sha256 = prev;
        }
        r = cycle_judge_sign(e, f, po, &in, rep, &env, &len);
        if (r == -ENOENT) {
                log_error("--attestation %s: not written: no VM identity from IMDS or the attested document",
                          o->attestation);
                return 0;
        }
        if (r == 0)
                r = durable_write(o->attestation, env, len, true);
        if (r < 0)
                log_error("--attestation %s: %s", o->attestation, strerror(-r));
        return r;
}

struct check_ctx {
        struct trust_store *trust;
        struct signing_key *key;
        struct signer_info si;
        struct node_facts *facts;
        struct sysroot sr;
};

static void check_ctx_done(struct check_ctx *c)
{
        trust_store_free(c->trust);
        signing_key_free(c->key);
        signer_info_done(&c->si);
        free(c->facts);
        sysroot_close(&c->sr);
}

static int setup(const struct check_opts *o, struct check_ctx *c)
{
        int r;

        if (trust_load(o->c.trust_file, &c->trust) < 0 || load_key(o, &c->key) < 0)
                return EXIT_CONFIG;
        if (signer_info_init(c->key, &c->si) < 0)
                return EXIT_SOFTWARE;
        r = sysroot_open(o->host_root, &c->sr);
        if (r < 0) {
                log_error("--host-root %s: %s", o->host_root, strerror(-r));
                return EXIT_CONFIG;
        }
        c->facts = calloc(1, sizeof(*c->facts));
        return c->facts ? 0 : EXIT_SOFTWARE;
}

static int run(const struct check_opts *o)
{
        _cleanup_(check_ctx_done) struct check_ctx c = { .sr.dirfd = -EBADF };
        struct policy_opts po = { .resource_tolerance_mib = o->tolerance_mib };
        struct report rep;
        int r;

        r = setup(o, &c);
        if (r != 0)
                return r;
        struct cycle_env e = { .budget_ms = o->deadline_ms, .trust = c.trust, .domains = o->c.domains,
                               .sr = &c.sr, .key = c.key, .si = &c.si };
        r = collect(o, &e, c.facts);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : EXIT_SOFTWARE;
        report_input_errors(c.facts);
        po.now = time(NULL);
        if (o->attestation) {
                if (write_attestation(o, &e, c.facts, &po, &rep) < 0)
                        return EXIT_SOFTWARE;
        } else
                (void) cycle_judge_sign(&e, c.facts, &po, NULL, &rep, NULL, NULL);
        if (emit(o, c.facts, &rep, po.now) < 0 || fflush(stdout) != 0) {
                log_error("stdout: %s", strerror(errno));
                return EXIT_SOFTWARE;
        }
        return exit_for(rep.verdict);
}

int cmd_check(int argc, char **argv)
{
        struct check_opts o = {
                .host_root = "/",
                .imds_url = IMDS_DEFAULT_URL,
                .api_version = IMDS_DEFAULT_API_VERSION,
                .imds_timeout_ms = 70000,
                .deadline_ms = IMDS_CYCLE_DEFAULT_MS,
                .tolerance_mib = POLICY_DEFAULT_RESOURCE_TOLERANCE_MIB,
        };
        int r;

        r = parse_opts(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_COMPLIANT : EXIT_USAGE;
        return run(&o);
}
