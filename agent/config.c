/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "options.h"
#include "fileio.h"
#include "http.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"

enum kind { K_STR, K_DURATION, K_UINT, K_DOMAINS };

struct key {
        const char *json;       /* config file key; the flag is derived from it */
        const char *flag;
        enum kind kind;
        size_t offset;
        uint64_t min, max;      /* K_UINT and K_DURATION bounds, in units or seconds */
        const char *def;        /* default, as it would be written in the file */
};

#define S(j, f, m, d) { j, f, K_STR, offsetof(struct run_config, m), 0, 0, d }
#define L(j, f, m, d) { j, f, K_DOMAINS, offsetof(struct run_config, m), 0, 0, d }
#define D(j, f, m, lo, hi, d) { j, f, K_DURATION, offsetof(struct run_config, m), lo, hi, d }
#define U(j, f, m, lo, hi, d) { j, f, K_UINT, offsetof(struct run_config, m), lo, hi, d }
static const struct key keys[] = {
        S("hostRoot", "host-root", host_root, "/"),
        S("imdsUrl", "imds-url", imds_url, "http://169.254.169.254"),
        S("imdsApiVersion", "imds-api-version", imds_api_version, "2023-07-01"),
        D("imdsTimeout", "imds-timeout", imds_timeout_s, 1, 3600, "70s"),
        S("imdsTrust", "imds-trust", imds_trust, ""),
        L("metadataDomain", "metadata-domain", metadata_domain, "metadata.azure.com"),
        U("resourceToleranceMiB", "resource-tolerance-mib", resource_tolerance_mib, 0, 1 << 20, "1024"),
        D("dataDiskGrace", "data-disk-grace", data_disk_grace_s, 0, 86400, "2m"),
        D("interval", "interval", interval_s, 1, 7 * 86400, "10m"),
        D("startDelay", "start-delay", start_delay_s, 0, 86400, "30s"),
        U("jitterPercent", "jitter-percent", jitter_percent, 0, 50, "10"),
        D("maxBackoff", "max-backoff", max_backoff_s, 1, 7 * 86400, "1h"),
        S("nodeName", "node-name", node_name, ""),
        S("key", "key", key, ""),
        S("kubeApi", "kube-api", kube_api, ""),
        S("kubeTokenFile", "kube-token-file", kube_token_file, "/var/run/secrets/kubernetes.io/serviceaccount/token"),
        S("kubeCaFile", "kube-ca-file", kube_ca_file, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"),
        S("eventNamespace", "event-namespace", event_namespace, "default"),
        D("heartbeat", "heartbeat", heartbeat_s, 1, 7 * 86400, "45m"),
        S("metricsListen", "metrics-listen", metrics_listen, "0.0.0.0:9810"),
        S("textfile", "textfile", textfile, ""),
        S("evidenceDir", "evidence-dir", evidence_dir, ""),
        U("evidenceKeep", "evidence-keep", evidence_keep, 1, 1000000, "144"),
        D("evidenceMaxAge", "evidence-max-age", evidence_max_age_s, 60, 366 * 86400, "7d"),
        S("pushUrl", "push-url", push_url, ""),
        S("pushTokenFile", "push-token-file", push_token_file, ""),
        S("pushCert", "push-cert", push_cert, ""),
        S("pushKeyFile", "push-key-file", push_key_file, ""),
        S("pushCaFile", "push-ca-file", push_ca_file, ""),
        S("spoolDir", "spool-dir", spool_dir, ""),
        U("spoolMax", "spool-max", spool_max, 1, 1000000, "500"),
};
#undef S
#undef L
#undef D
#undef U
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* "a,b": the same domains as check's repeated --metadata-domain, the same rule. */
static bool domain_list_valid(const char *v)
{
        char one[CONFIG_STR];
        unsigned n = 0;

        for (const char *p = v;; n++) {
                size_t len = strcspn(p, ",");

                if (len >= sizeof(one) || n == CLI_MAX_DOMAINS)
                        return false;
                memcpy(one, p, len);
                one[len] = '\0';
                if (!metadata_domain_valid(one))
                        return false;
                if (!p[len])
                        return true;
                p += len + 1;
        }
}

/* Sets one key from its textual form; `source` names where it came from. */
static int set_value(struct run_config *c, const struct key *k, const char *v, const char *source)
{
        void *field = (char *) c + k->offset;
        uint64_t n = 0;
        int r = 0;

        switch (k->kind) {
        case K_DOMAINS:
                if (!domain_list_valid(v)) {
                        log_error("config: %s %s: invalid value \"%s\" (comma-separated lowercase DNS names, "
                                  "at most %d, like metadata.azure.us)", source, k->json, v, CLI_MAX_DOMAINS);
                        return -EINVAL;
                }
                /* fall through */
        case K_STR:
                r = strcpy_bounded(field, CONFIG_STR, v);
                if (r < 0)
                        log_error("config: %s %s: longer than %d bytes", source, k->json, CONFIG_STR - 1);
                return r;
        case K_DURATION:
                r = parse_duration(v, k->min == 0, &n);
                break;
        case K_UINT:
                r = parse_u64(v, &n);
                break;
        }
        if (r < 0 || n < k->min || n > k->max) {
                log_error("config: %s %s: invalid value \"%s\" (%s %llu..%llu)", source, k->json, v,
                          k->kind == K_DURATION ? "a duration like 90s, 10m, 6h, 7d, within seconds" : "an integer",
                          (unsigned long long) k->min, (unsigned long long) k->max);
                return -EINVAL;
        }
        *(uint64_t *) field = n;
        return 0;
}

static void env_name(const struct key *k, char out[64])
{
        size_t o = snprintf(out, 64, "HOSTENC_");

        for (const char *p = k->flag; *p && o < 63; p++)
                out[o++] = (char) (*p == '-' ? '_' : toupper((unsigned char) *p));
        out[o] = '\0';
}

static int apply_json_item(struct run_config *c, const cJSON *item, const char *file)
{
        char source[CONFIG_STR + 16], num[32];

        snprintf(source, sizeof(source), "file %s", file);
        for (size_t i = 0; i < N_KEYS; i++) {
                if (strcmp(keys[i].json, item->string) != 0)
                        continue;
                if (keys[i].kind == K_UINT && cJSON_IsNumber(item) && item->valuedouble >= 0 &&
                    item->valuedouble < 1e15 && item->valuedouble == (double) (uint64_t) item->valuedouble) {
                        snprintf(num, sizeof(num), "%llu", (unsigned long long) item->valuedouble);
                        return set_value(c, &keys[i], num, source);
                }
                if (!cJSON_IsString(item)) {
                        log_error("config: %s %s: expected %s", source, item->string,
                                  keys[i].kind == K_UINT ? "a number" : "a string");
                        return -EINVAL;
                }
                return set_value(c, &keys[i], item->valuestring, source);
        }
        log_error("config: %s %s: unknown key", source, item->string);
        return -EINVAL;
}

static int apply_file(struct run_config *c, const char *file)
{
        _cleanup_free_ char *text = NULL;
        _cleanup_(cjson_deletep) cJSON *root = NULL;
        const cJSON *item;
        size_t len;
        int r;

        r = read_file_bounded(file, CONFIG_FILE_MAX, &text, &len);
        if (r < 0) {
                log_error("config: file %s: %s", file, strerror(-r));
                return r;
        }
        root = cJSON_ParseWithLength(text, len);
        if (!cJSON_IsObject(root)) {
                log_error("config: file %s: not a JSON object", file);
                return -EINVAL;
        }
        cJSON_ArrayForEach(item, root) {
                r = apply_json_item(c, item, file);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int apply_env(struct run_config *c, char *const *envp)
{
        char name[64], source[80];
        const char *v;
        int r;

        for (size_t i = 0; i < N_KEYS; i++) {
                env_name(&keys[i], name);
                v = envp_get(envp, name);
                if (!v)
                        continue;
                snprintf(source, sizeof(source), "environment %s", name);
                r = set_value(c, &keys[i], v, source);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void set_defaults(struct run_config *c)
{
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < N_KEYS; i++)
                (void) set_value(c, &keys[i], keys[i].def, "default");
}

enum { O_CONFIG = 1, O_ONCE, O_DRY_RUN, O_PRINT, O_CLEANUP, O_HELP, O_KEY_BASE = 1000 };

static struct option *build_options(void)
{
        static const struct option fixed[] = {
                { "config", required_argument, NULL, O_CONFIG },
                { "once", no_argument, NULL, O_ONCE },
                { "dry-run", no_argument, NULL, O_DRY_RUN },
                { "print-config", no_argument, NULL, O_PRINT },
                { "cleanup", no_argument, NULL, O_CLEANUP },
                { "help", no_argument, NULL, O_HELP },
        };
        size_t nf = sizeof(fixed) / sizeof(fixed[0]);
        struct option *o = calloc(nf + N_KEYS + 1, sizeof(*o));

        if (!o)
                return NULL;
        memcpy(o, fixed, sizeof(fixed));
        for (size_t i = 0; i < N_KEYS; i++)
                o[nf + i] = (struct option){ keys[i].flag, required_argument, NULL, (int) (O_KEY_BASE + i) };
        return o;
}

static void usage(void)
{
        char env[64];

        puts("Usage: hostenc run [--config FILE] [--once] [--dry-run] [--print-config] [--cleanup] [OPTIONS]\n"
             "Runs the agent: a cycle every interval, evidence signed and kept fresh on the\n"
             "Node (condition, label, annotations, events), metrics, health and evidence sinks.\n"
             "Precedence: flags > HOSTENC_* environment > config file > defaults.\n\n"
             "  --config FILE        JSON config file (also HOSTENC_CONFIG)\n"
             "  --once               one cycle with every sink, then exit 0/1/2 like check\n"
             "  --dry-run            write nothing to the Kubernetes API\n"
             "  --print-config       print the effective configuration and exit\n"
             "  --cleanup            remove our condition, label and annotations, then exit\n");
        for (size_t i = 0; i < N_KEYS; i++) {
                env_name(&keys[i], env);
                printf("  --%-24s %-34s default %s\n", keys[i].flag, env, *keys[i].def ? keys[i].def : "\"\"");
        }
}

/* Pass 1 reads only --config and the modes; pass 2 applies every flag over
 * file and environment. */
static int parse_flags(int argc, char **argv, const struct option *opts, bool apply,
                       struct run_config *c, struct run_flags *f)
{
        char source[64];
        unsigned domains_flagged = 0;
        int ch;

        optind = 0;
        opterr = apply ? 0 : 1;
        while ((ch = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
                if (ch == '?' || ch == ':')
                        return apply ? 0 : -EINVAL;
                if (ch == O_HELP) {
                        usage();
                        return 1;
                }
                if (!apply) {
                        f->config_file = ch == O_CONFIG ? optarg : f->config_file;
                        f->once |= ch == O_ONCE;
                        f->dry_run |= ch == O_DRY_RUN;
                        f->print_config |= ch == O_PRINT;
                        f->cleanup |= ch == O_CLEANUP;
                } else if (ch >= O_KEY_BASE) {
                        const struct key *k = &keys[ch - O_KEY_BASE];
                        char list[CONFIG_STR];
                        const char *v = optarg;

                        /* A repeated --metadata-domain adds, as in check, verify, collect and audit. */
                        if (k->kind == K_DOMAINS && domains_flagged++ > 0) {
                                int n = snprintf(list, sizeof(list), "%s,%s", (char *) c + k->offset, optarg);

                                if (n < 0 || (size_t) n >= sizeof(list))
                                        return -EINVAL;
                                v = list;
                        }
                        snprintf(source, sizeof(source), "flag --%s", k->flag);
                        if (set_value(c, k, v, source) < 0)
                                return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("run: unexpected argument \"%s\"", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

static bool is_http_url(const char *u)
{
        return startswith(u, "https://") || startswith(u, "http://");
}

/* Loopback hosts, compared exactly on the host libcurl will connect to:
 * "localhost", an IPv4 literal in 127.0.0.0/8, or [::1]. Not
 * 127.0.0.1.example.com, which is anywhere. */
static bool loopback_host(const char *h)
{
        struct in_addr a4;

        if (!strcasecmp(h, "localhost") || !strcmp(h, "[::1]"))
                return true;
        return inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

/* A URL that may carry a bearer token: https anywhere, plain http only to
 * loopback, and never user-info, which hides the real host from a prefix
 * check (http://127.0.0.1:x@elsewhere/ goes to elsewhere). */
static const char *token_url_problem(const char *u)
{
        struct http_url p;

        /* A URL is visible ASCII (RFC 3986); anything else would not even
         * survive --print-config (fuzz finding F3). */
        for (const char *q = u; *q; q++)
                if (*q < 0x21 || *q > 0x7e)
                        return "has a byte that is not visible ASCII";
        if (http_url_parse(u, &p) < 0)
                return "is not an http:// or https:// URL";
        if (p.userinfo)
                return "must not contain user-info (user:password@)";
        if (strcmp(p.scheme, "https") != 0 && !loopback_host(p.host))
                return "must be https:// (plain http only to localhost, 127.0.0.0/8 or [::1])";
        return NULL;
}

static int invalid(const char *key, const char *why)
{
        log_error("config: %s: %s", key, why);
        return -EINVAL;
}

static int validate(struct run_config *c)
{
        const char *why;

        if (!is_http_url(c->imds_url))
                return invalid("imdsUrl", "must be an http:// or https:// URL");
        /* The bearer token goes with every request: never in clear text
         * beyond this host. */
        if (*c->kube_api && strcmp(c->kube_api, "none") && (why = token_url_problem(c->kube_api)))
                return invalid("kubeApi", why);
        if (*c->push_url && (why = token_url_problem(c->push_url)))
                return invalid("pushUrl", why);
        /* A Node is cluster-scoped: the API server takes its Events only in
         * "default", or in "kube-system" when eventTime is set (as ours is). */
        if (strcmp(c->event_namespace, "default") != 0 && strcmp(c->event_namespace, "kube-system") != 0)
                return invalid("eventNamespace", "must be \"default\" or \"kube-system\" (the only namespaces "
                                                 "the API server accepts Events about a Node in)");
        if (*c->push_url && !*c->spool_dir)
                return invalid("spoolDir", "is required with pushUrl, so nothing is lost while the collector is down");
        if (!!*c->push_cert != !!*c->push_key_file)
                return invalid("pushCert", "and pushKeyFile go together");
        if (*c->metrics_listen && !strrchr(c->metrics_listen, ':'))
                return invalid("metricsListen", "must be HOST:PORT, or empty to disable");
        if (!*c->node_name && gethostname(c->node_name, sizeof(c->node_name) - 1) < 0)
                return invalid("nodeName", "is empty and the hostname is unavailable");
        return 0;
}

int config_load(int argc, char **argv, char *const *envp, struct run_config *ret, struct run_flags *ret_flags)
{
        _cleanup_free_ struct option *opts = build_options();
        struct run_flags f = { .config_file = NULL };
        struct run_config *c = calloc(1, sizeof(*c));
        int r;

        if (!opts || !c) {
                free(c);
                return -ENOMEM;
        }
        set_defaults(c);
        r = parse_flags(argc, argv, opts, false, c, &f);
        if (r == 0 && !f.config_file)
                f.config_file = envp_get(envp, "HOSTENC_CONFIG");
        if (r == 0 && f.config_file)
                r = apply_file(c, f.config_file);
        if (r == 0)
                r = apply_env(c, envp);
        if (r == 0)
                r = parse_flags(argc, argv, opts, true, c, &f);
        if (r == 0)
                r = validate(c);
        if (r == 0) {
                *ret = *c;
                *ret_flags = f;
        }
        free(c);
        return r;
}

char *config_to_json(const struct run_config *c)
{
        _cleanup_(cjson_deletep) cJSON *o = cJSON_CreateObject();
        char d[24];

        if (!o)
                return NULL;
        for (size_t i = 0; i < N_KEYS; i++) {
                const void *field = (const char *) c + keys[i].offset;

                if (keys[i].kind == K_STR || keys[i].kind == K_DOMAINS)
                        cJSON_AddStringToObject(o, keys[i].json, field);
                else if (keys[i].kind == K_UINT)
                        cJSON_AddNumberToObject(o, keys[i].json, (double) *(const uint64_t *) field);
                else {
                        format_duration(*(const uint64_t *) field, d);
                        cJSON_AddStringToObject(o, keys[i].json, d);
                }
        }
        return json_print(o, false);
}
