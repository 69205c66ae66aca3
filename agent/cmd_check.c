/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc check: one collection, one evaluation, one report. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "attested.h"
#include "blockdev.h"
#include "cli.h"
#include "crypto.h"
#include "fileio.h"
#include "http.h"
#include "imds.h"
#include "macro.h"
#include "policy.h"
#include "report.h"
#include "strparse.h"
#include "sysroot.h"

#define MAX_DOMAINS 4
#define TRUST_FILE_MAX (1024 * 1024)

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;

struct check_opts {
        const char *host_root;
        const char *imds_url;
        const char *api_version;
        const char *trust_file;
        uint64_t imds_timeout_ms;
        uint64_t tolerance_mib;
        const char *domains[MAX_DOMAINS + 1];
        unsigned n_domains;
        bool json;
};

void log_error(const char *fmt, ...)
{
        va_list ap;

        fputs("hostenc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

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
              "  --imds-trust FILE         PEM bundle replacing the built-in Microsoft roots\n"
              "  --metadata-domain NAME    signer SAN domain, repeatable (default " ATTESTED_DEFAULT_DOMAIN ")\n"
              "  --resource-tolerance-mib N  temp disk size tolerance (default 1024)\n"
              "  --output text|json        report format (default text)\n"
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
        enum { O_ROOT = 256, O_URL, O_API, O_TRUST, O_TIMEOUT, O_DOMAIN, O_TOL, O_OUTPUT };
        static const struct option longopts[] = {
                { "host-root", required_argument, NULL, O_ROOT },
                { "imds-url", required_argument, NULL, O_URL },
                { "imds-api-version", required_argument, NULL, O_API },
                { "imds-trust", required_argument, NULL, O_TRUST },
                { "imds-timeout", required_argument, NULL, O_TIMEOUT },
                { "metadata-domain", required_argument, NULL, O_DOMAIN },
                { "resource-tolerance-mib", required_argument, NULL, O_TOL },
                { "output", required_argument, NULL, O_OUTPUT },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case O_ROOT: o->host_root = optarg; break;
                case O_URL: o->imds_url = optarg; break;
                case O_API: o->api_version = optarg; break;
                case O_TRUST: o->trust_file = optarg; break;
                case O_TIMEOUT:
                        if (parse_seconds(optarg, &o->imds_timeout_ms) < 0)
                                return bad_value("--imds-timeout", optarg);
                        break;
                case O_DOMAIN:
                        if (o->n_domains >= MAX_DOMAINS || !*optarg || strchr(optarg, '/'))
                                return bad_value("--metadata-domain", optarg);
                        o->domains[o->n_domains++] = optarg;
                        break;
                case O_TOL:
                        if (parse_u64(optarg, &o->tolerance_mib) < 0)
                                return bad_value("--resource-tolerance-mib", optarg);
                        break;
                case O_OUTPUT:
                        if (strcmp(optarg, "json") && strcmp(optarg, "text"))
                                return bad_value("--output", optarg);
                        o->json = !strcmp(optarg, "json");
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("check: unexpected argument \"%s\"", argv[optind]);
                return -EINVAL;
        }
        if (o->n_domains == 0)
                o->domains[o->n_domains++] = ATTESTED_DEFAULT_DOMAIN;
        return 0;
}

static int load_trust(const char *file, struct trust_store **ret)
{
        _cleanup_free_ char *pem = NULL;
        size_t len;
        int r;

        if (!file)
                return trust_store_from_pem(hostenc_trust_bundle, hostenc_trust_bundle_len, ret);
        r = read_file_bounded(file, TRUST_FILE_MAX, &pem, &len);
        if (r < 0) {
                log_error("--imds-trust %s: %s", file, strerror(-r));
                return r;
        }
        r = trust_store_from_pem(pem, len, ret);
        if (r < 0)
                log_error("--imds-trust %s: no self-signed trust anchor in the PEM bundle", file);
        return r;
}

static int make_nonce(char out[33])
{
        uint8_t raw[16];

        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
                return negative_errno();
        hex_encode(raw, sizeof(raw), out);
        return 0;
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

static int collect(const struct check_opts *o, const struct sysroot *sr, const struct trust_store *trust,
                   struct node_facts *f)
{
        struct http_transport *http = NULL;
        struct imds_client client;
        char nonce[33];
        int r;

        r = make_nonce(nonce);
        if (r < 0)
                return r;
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
        imds_collect_compute(&client, &f->imds);
        attested_collect(&client, trust, o->domains, nonce, &f->attested);
        http_curl_free(http);
        blockdev_collect(sr, &f->host);
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

static int run(const struct check_opts *o)
{
        _cleanup_free_ struct node_facts *f = NULL;
        struct trust_store *trust = NULL;
        struct sysroot sr;
        struct report rep;
        time_t now;
        int r;

        if (load_trust(o->trust_file, &trust) < 0)
                return EXIT_CONFIG;
        r = sysroot_open(o->host_root, &sr);
        if (r < 0) {
                log_error("--host-root %s: %s", o->host_root, strerror(-r));
                trust_store_free(trust);
                return EXIT_CONFIG;
        }
        f = calloc(1, sizeof(*f));
        r = f ? collect(o, &sr, trust, f) : -ENOMEM;
        sysroot_close(&sr);
        trust_store_free(trust);
        if (r < 0)
                return r == -EINVAL ? EXIT_USAGE : EXIT_SOFTWARE;
        report_input_errors(f);
        now = time(NULL);
        policy_evaluate(f, &(struct policy_opts){ .now = now, .resource_tolerance_mib = o->tolerance_mib }, &rep);
        if (emit(o, f, &rep, now) < 0 || fflush(stdout) != 0) {
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
                .tolerance_mib = POLICY_DEFAULT_RESOURCE_TOLERANCE_MIB,
        };
        int r;

        r = parse_opts(argc, argv, &o);
        if (r != 0)
                return r > 0 ? EXIT_COMPLIANT : EXIT_USAGE;
        return run(&o);
}
