/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc collect: command line, start-up checks, signals. The work itself
 * happens on the listener's thread (collect.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attested.h"
#include "cli.h"
#include "keyfile.h"
#include "collect.h"
#include "http.h"
#include "dsse.h"
#include "fileio.h"
#include "jlog.h"
#include "macro.h"
#include "strparse.h"

#define MAX_DOMAINS 8
#define PEM_MAX (1024 * 1024)
#define DRAIN_S 5

struct collect_opts {
        const char *listen, *store;
        const char *tls_cert, *tls_key, *client_ca;
        const char *token_file, *trust_file, *summary_key;
        const char *domains[MAX_DOMAINS + 1];
        unsigned n_domains;
        uint64_t max_age_s;
        uint64_t max_body;
        bool no_auth, insecure_listen;
};

static void usage(FILE *out)
{
        fputs("Usage: hostenc collect --listen HOST:PORT --store URL [OPTIONS]\n"
              "Receives the agents' evidence (POST /v1/evidence), verifies each envelope on\n"
              "receipt with the same checks as 'hostenc verify', stores the valid ones in an\n"
              "append-only, content-addressed store, and detects gaps and replays per key.\n"
              "Serves /metrics, /livez and /readyz. Stops on SIGTERM. See docs/collector.md.\n\n"
              "  --listen HOST:PORT     address to serve on (IPv4, or [IPv6]; port 0 = any free)\n"
              "  --store URL            file:DIR (or DIR): a local store, created if missing, one\n"
              "                         collector per store; azblob://ACCOUNT/CONTAINER[?endpoint=URL]:\n"
              "                         Azure Blob Storage, shared by any number of collectors\n"
              "                         (credentials: AZURE_STORAGE_KEY[_FILE], AZURE_STORAGE_SAS_TOKEN\n"
              "                         [_FILE], else workload or managed identity)\n"
              "  --tls-cert FILE        PEM certificate (chain) to serve HTTPS with\n"
              "  --tls-key FILE         its PEM private key (not readable by group or other)\n"
              "  --token-file FILE      require 'Authorization: Bearer <token in FILE>' (re-read\n"
              "                         for every request)\n"
              "  --no-auth              accept pushes without a token (loopback addresses only)\n"
              "  --insecure-listen      allow plain HTTP on a non-loopback address (behind a\n"
              "                         TLS-terminating sidecar or ingress)\n"
              "  --imds-trust FILE      PEM bundle replacing the built-in Microsoft roots\n"
              "  --metadata-domain NAME allowed attested-document signer domain (repeatable;\n"
              "                         default metadata.azure.com)\n"
              "  --max-age DURATION     reject envelopes observed longer ago (default: no limit)\n"
              "  --summary-key FILE     PEM PKCS#8 P-256 key: sign a verification summary for\n"
              "                         each accepted envelope (not readable by group or other)\n"
              "  --max-body BYTES       largest accepted body, 1024..4194304 (default 4194304)\n"
              "  --client-ca FILE       not supported: terminate mTLS in a sidecar or ingress\n"
              "  -h, --help             this text\n", out);
}

static int parse_opts(int argc, char **argv, struct collect_opts *o)
{
        enum { O_LISTEN = 256, O_STORE, O_CERT, O_KEY, O_CA, O_TOKEN, O_NOAUTH, O_INSECURE, O_TRUST, O_DOMAIN,
               O_MAXAGE, O_SUMMARY, O_MAXBODY };
        static const struct option longopts[] = {
                { "listen", required_argument, NULL, O_LISTEN },
                { "store", required_argument, NULL, O_STORE },
                { "tls-cert", required_argument, NULL, O_CERT },
                { "tls-key", required_argument, NULL, O_KEY },
                { "client-ca", required_argument, NULL, O_CA },
                { "token-file", required_argument, NULL, O_TOKEN },
                { "no-auth", no_argument, NULL, O_NOAUTH },
                { "insecure-listen", no_argument, NULL, O_INSECURE },
                { "imds-trust", required_argument, NULL, O_TRUST },
                { "metadata-domain", required_argument, NULL, O_DOMAIN },
                { "max-age", required_argument, NULL, O_MAXAGE },
                { "summary-key", required_argument, NULL, O_SUMMARY },
                { "max-body", required_argument, NULL, O_MAXBODY },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                switch (c) {
                case O_LISTEN: o->listen = optarg; break;
                case O_STORE: o->store = optarg; break;
                case O_CERT: o->tls_cert = optarg; break;
                case O_KEY: o->tls_key = optarg; break;
                case O_CA: o->client_ca = optarg; break;
                case O_TOKEN: o->token_file = optarg; break;
                case O_NOAUTH: o->no_auth = true; break;
                case O_INSECURE: o->insecure_listen = true; break;
                case O_TRUST: o->trust_file = optarg; break;
                case O_SUMMARY: o->summary_key = optarg; break;
                case O_DOMAIN:
                        if (o->n_domains == MAX_DOMAINS) {
                                log_error("collect: at most %d --metadata-domain", MAX_DOMAINS);
                                return -EINVAL;
                        }
                        o->domains[o->n_domains++] = optarg;
                        break;
                case O_MAXAGE:
                        if (parse_duration(optarg, false, &o->max_age_s) < 0) {
                                log_error("collect: invalid value \"%s\" for --max-age", optarg);
                                return -EINVAL;
                        }
                        break;
                case O_MAXBODY:
                        if (parse_u64(optarg, &o->max_body) < 0 || o->max_body < 1024 ||
                            o->max_body > DSSE_MAX_ENVELOPE) {
                                log_error("collect: invalid value \"%s\" for --max-body (1024..%d)", optarg,
                                          DSSE_MAX_ENVELOPE);
                                return -EINVAL;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 1;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                log_error("collect: unexpected argument \"%s\"", argv[optind]);
                return -EINVAL;
        }
        return 0;
}

/* The rules that keep a collector from listening openly by mistake. */
static int check_opts(const struct collect_opts *o)
{
        bool loopback;

        if (!o->listen || !o->store) {
                log_error("collect: --listen and --store are required");
                return -EINVAL;
        }
        if (httpd_listen_is_loopback(o->listen, &loopback) < 0) {
                log_error("collect: invalid value \"%s\" for --listen (HOST:PORT, IPv4 or [IPv6])", o->listen);
                return -EINVAL;
        }
        if (o->client_ca) {
                log_error("collect: --client-ca: mutual TLS is not supported by hostenc collect; terminate it "
                          "in a sidecar or ingress and use --token-file (docs/collector.md)");
                return -EINVAL;
        }
        if (!!o->tls_cert != !!o->tls_key) {
                log_error("collect: --tls-cert and --tls-key go together");
                return -EINVAL;
        }
        if (!o->tls_cert && !loopback && !o->insecure_listen) {
                log_error("collect: --listen %s: plain HTTP on a non-loopback address; give --tls-cert and "
                          "--tls-key, or --insecure-listen behind a TLS-terminating proxy", o->listen);
                return -EINVAL;
        }
        if (o->no_auth && o->token_file) {
                log_error("collect: --no-auth and --token-file contradict each other");
                return -EINVAL;
        }
        if (o->no_auth && !loopback) {
                log_error("collect: --no-auth is allowed on loopback addresses only");
                return -EINVAL;
        }
        if (!o->no_auth && !o->token_file) {
                log_error("collect: no authentication: give --token-file (or --no-auth on loopback)");
                return -EINVAL;
        }
        return 0;
}

struct resources {
        struct trust_store *trust;
        struct signing_key *summary_key;
        char *tls_cert, *tls_key;
        struct http_transport *http;    /* for an azblob:// store */
        struct store *store;
        struct collector *collector;
        struct httpd *httpd;
};

static void resources_done(struct resources *res)
{
        httpd_stop(res->httpd);
        collector_free(res->collector);
        store_close(res->store);
        http_curl_free(res->http);
        signing_key_free(res->summary_key);
        trust_store_free(res->trust);
        free(res->tls_cert);
        if (res->tls_key) {
                explicit_bzero(res->tls_key, strlen(res->tls_key));
                free(res->tls_key);
        }
}

static int load(const struct collect_opts *o, struct resources *res)
{
        _cleanup_secret_ char *pem = NULL, *token = NULL;
        char err[320];
        size_t len;
        int r;

        if (trust_load(o->trust_file, &res->trust) < 0)
                return EXIT_CONFIG;
        if (o->summary_key) {
                if (keyfile_read_private("--summary-key", o->summary_key, &pem, &len) < 0)
                        return EXIT_CONFIG;
                if (signing_key_from_pem(pem, strlen(pem), &res->summary_key) < 0) {
                        log_error("--summary-key %s: not a PEM PKCS#8 EC P-256 private key", o->summary_key);
                        return EXIT_CONFIG;
                }
        }
        if (o->tls_cert) {
                r = read_file_bounded(o->tls_cert, PEM_MAX, &res->tls_cert, &len);
                if (r < 0) {
                        log_error("--tls-cert %s: %s", o->tls_cert, strerror(-r));
                        return EXIT_CONFIG;
                }
                if (keyfile_read_private("--tls-key", o->tls_key, &res->tls_key, &len) < 0)
                        return EXIT_CONFIG;
        }
        if (o->token_file) {
                r = read_file_bounded(o->token_file, 16 * 1024, &token, &len);
                if (r < 0 || !*strstrip(token)) {
                        log_error("--token-file %s: %s", o->token_file, r < 0 ? strerror(-r) : "empty");
                        return EXIT_CONFIG;
                }
        }
        if (store_url_is_azblob(o->store) && http_curl_new(&res->http) < 0)
                return EXIT_SOFTWARE;
        r = store_open(o->store, res->http, &res->store, err, sizeof(err));
        if (r < 0) {
                log_error("--store %s: %s", o->store, err);
                return EXIT_CONFIG;
        }
        return 0;
}

static void mhd_log(void *userdata, const char *msg)
{
        jlog("warning", "http", "error", msg, NULL);
}

static int serve(const struct collect_opts *o, struct resources *res)
{
        static const char *const default_domains[] = { ATTESTED_DEFAULT_DOMAIN, NULL };
        struct collector_config cfg = {
                .token_file = o->token_file, .max_age_s = o->max_age_s, .trust = res->trust,
                .domains = o->n_domains ? o->domains : default_domains, .summary_key = res->summary_key,
        };
        struct httpd_options hopts = {
                .internal_thread = true, .max_body = o->max_body ? o->max_body : DSSE_MAX_ENVELOPE,
                .tls_cert_pem = res->tls_cert, .tls_key_pem = res->tls_key,
                .connection_limit = 256, .connection_timeout_s = 30, .log = mhd_log,
        };
        struct httpd_routes routes;
        char addr[160], count[24], keys[24], port[8];
        const char *colon;

        /* Read before the listener's thread starts to change them. */
        snprintf(count, sizeof(count), "%llu", (unsigned long long) store_envelopes(res->store));
        snprintf(keys, sizeof(keys), "%llu", (unsigned long long) store_keys(res->store));
        if (collector_new(&cfg, res->store, &res->collector) < 0)
                return EXIT_SOFTWARE;
        collector_routes(res->collector, &routes);
        if (httpd_start_opts(o->listen, &routes, &hopts, &res->httpd) < 0) {
                log_error("collect: --listen %s: cannot listen there%s", o->listen,
                          o->tls_cert ? " (or the TLS certificate and key are unusable)" : "");
                return EXIT_CONFIG;
        }
        colon = strrchr(o->listen, ':');
        snprintf(port, sizeof(port), "%u", httpd_port(res->httpd));
        snprintf(addr, sizeof(addr), "%.*s:%s", (int) (colon - o->listen), o->listen, port);
        jlog("info", "listening", "address", addr, "tls", o->tls_cert ? "true" : "false", "auth",
             o->token_file ? "bearer-token" : "none", "store", res->store->url, "storedEnvelopes", count, "keys", keys,
             "summaries", o->summary_key ? "true" : "false", NULL);
        return 0;
}

static int wait_for_stop(const sigset_t *mask)
{
        siginfo_t si;

        for (;;) {
                int s = sigwaitinfo(mask, &si);

                if (s < 0 && errno == EINTR)
                        continue;
                if (s < 0)
                        return -errno;
                if (s == SIGHUP) {
                        jlog("info", "SIGHUP ignored: the token file is re-read for every request; a new TLS "
                             "certificate needs a restart", NULL);
                        continue;
                }
                jlog("info", "stopping", "signal", s == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
                return 0;
        }
}

static void wait_connections(struct httpd *h, unsigned seconds)
{
        struct timespec tick = { 0, 50 * 1000 * 1000 };

        for (unsigned i = 0; i < seconds * 20 && httpd_connections(h) > 0; i++)
                nanosleep(&tick, NULL);
}

/* Stop accepting; let the requests in progress finish; refuse what still
 * comes, commit and answer what was staged; then the listener can stop. */
static void drain(struct resources *res)
{
        httpd_quiesce(res->httpd);
        wait_connections(res->httpd, DRAIN_S);
        collector_drain(res->collector);
        wait_connections(res->httpd, 2);
}

int cmd_collect(int argc, char **argv)
{
        struct collect_opts o = { .listen = NULL };
        struct resources res = { .trust = NULL };
        sigset_t mask;
        int r;

        r = parse_opts(argc, argv, &o);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        if (check_opts(&o) < 0)
                return EXIT_USAGE;
        /* Blocked before the listener's thread starts, so only sigwaitinfo()
         * here sees them; a closed client connection is no reason to die. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return EXIT_SOFTWARE;
        r = load(&o, &res);
        if (r == 0)
                r = serve(&o, &res);
        if (r == 0) {
                r = wait_for_stop(&mask) < 0 ? EXIT_SOFTWARE : 0;
                drain(&res);
        }
        resources_done(&res);
        if (r == 0)
                jlog("info", "stopped", NULL);
        return r;
}
