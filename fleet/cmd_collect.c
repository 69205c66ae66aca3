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
#include "fleet.h"
#include "options.h"
#include "keyfile.h"
#include "collect.h"
#include "http.h"
#include "dsse.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strparse.h"

#define PEM_MAX (1024 * 1024)
#define DRAIN_S 5
#define IDLE_TIMEOUT_S 10               /* a silent client is cut after this */
#define HEALTH_CONNECTIONS 16
#define HEALTH_PER_IP 4

struct collect_opts {
        const char *listen, *store;
        const char *tls_cert, *tls_key, *client_ca;
        const char *token_file, *summary_key;
        const char *nodes_file, *arm_file;
        struct common_opts c;
        uint64_t max_body;
        const char *health_listen;
        uint64_t max_connections, per_ip, deadline_s, store_timeout_s;
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
              "  --attested-max-lifetime DURATION  longest expiresOn - createdOn accepted (default 6h15m)\n"
              "  --summary-key FILE     PEM PKCS#8 P-256 key: sign a verification summary for\n"
              "                         each accepted envelope (not readable by group or other)\n"
              "  --max-body BYTES       largest accepted body, 1024..4194304 (default 4194304)\n"
              "  --nodes FILE           kubectl get nodes -o json: bind each envelope to the Node\n"
              "                         whose systemUUID/providerID is its signed vmId (re-read\n"
              "                         when it changes)\n"
              "  --arm FILE             az vmss list-instances / az vm show / Resource Graph JSON\n"
              "  --max-connections N    connections at once, 1..10000 (default 256)\n"
              "  --per-ip-connections N connections at once from one address, 0..10000\n"
              "                         (default 16; 0 = no limit, behind a proxy)\n"
              "  --request-deadline DURATION  headers and body must arrive within this of the\n"
              "                         connection's start, 1s..1h (default 30s)\n"
              "  --store-timeout DURATION  azblob://: one try of one Blob request, 1s..5m (default\n"
              "                         30s; a write is given up after 5 tries: 503 to the agent)\n"
              "  --health-listen HOST:PORT  also serve /livez and /readyz (only) there, on their\n"
              "                         own small connection budget\n"
              "  --client-ca FILE       not supported: terminate mTLS in a sidecar or ingress\n"
              "  -h, --help             this text\n", out);
}

static int bounded(const char *arg, const char *flag, uint64_t min, uint64_t max, uint64_t *ret)
{
        if (parse_u64(arg, ret) < 0 || *ret < min || *ret > max) {
                log_error("collect: invalid value \"%s\" for %s (%llu..%llu)", arg, flag, (unsigned long long) min,
                          (unsigned long long) max);
                return -EINVAL;
        }
        return 0;
}

/* A duration of 1 s up to max_s. */
static int bounded_duration(const char *arg, const char *flag, uint64_t max_s, const char *range, uint64_t *ret)
{
        if (parse_duration(arg, false, ret) < 0 || *ret < 1 || *ret > max_s) {
                log_error("collect: invalid value \"%s\" for %s (%s)", arg, flag, range);
                return -EINVAL;
        }
        return 0;
}

static int parse_opts(int argc, char **argv, struct collect_opts *o)
{
        enum { O_LISTEN = 256, O_STORE, O_CERT, O_KEY, O_CA, O_TOKEN, O_NOAUTH, O_INSECURE, O_SUMMARY, O_MAXBODY,
               O_NODES, O_ARM, O_HEALTH, O_MAXCONN, O_PERIP, O_DEADLINE, O_STORE_TIMEOUT };
        static const struct option own[] = {
                { "listen", required_argument, NULL, O_LISTEN },
                { "store", required_argument, NULL, O_STORE },
                { "tls-cert", required_argument, NULL, O_CERT },
                { "tls-key", required_argument, NULL, O_KEY },
                { "client-ca", required_argument, NULL, O_CA },
                { "token-file", required_argument, NULL, O_TOKEN },
                { "no-auth", no_argument, NULL, O_NOAUTH },
                { "insecure-listen", no_argument, NULL, O_INSECURE },
                { "summary-key", required_argument, NULL, O_SUMMARY },
                { "max-body", required_argument, NULL, O_MAXBODY },
                { "nodes", required_argument, NULL, O_NODES },
                { "arm", required_argument, NULL, O_ARM },
                { "health-listen", required_argument, NULL, O_HEALTH },
                { "max-connections", required_argument, NULL, O_MAXCONN },
                { "per-ip-connections", required_argument, NULL, O_PERIP },
                { "request-deadline", required_argument, NULL, O_DEADLINE },
                { "store-timeout", required_argument, NULL, O_STORE_TIMEOUT },
                { "help", no_argument, NULL, 'h' },
                { 0 },
        };
        struct option longopts[28];
        int c;

        common_options(own, COPT_IMDS_TRUST | COPT_METADATA_DOMAIN | COPT_MAX_AGE | COPT_ATTESTED_LIFETIME,
                       longopts, sizeof(longopts) / sizeof(longopts[0]));
        while ((c = common_getopt("collect", argc, argv, longopts, &o->c)) > 0) {
                switch (c) {
                case O_LISTEN: o->listen = optarg; break;
                case O_STORE: o->store = optarg; break;
                case O_CERT: o->tls_cert = optarg; break;
                case O_KEY: o->tls_key = optarg; break;
                case O_CA: o->client_ca = optarg; break;
                case O_TOKEN: o->token_file = optarg; break;
                case O_NOAUTH: o->no_auth = true; break;
                case O_INSECURE: o->insecure_listen = true; break;
                case O_SUMMARY: o->summary_key = optarg; break;
                case O_NODES: o->nodes_file = optarg; break;
                case O_ARM: o->arm_file = optarg; break;
                case O_HEALTH: o->health_listen = optarg; break;
                case O_MAXCONN:
                        if (bounded(optarg, "--max-connections", 1, 10000, &o->max_connections) < 0)
                                return -EINVAL;
                        break;
                case O_PERIP:
                        if (bounded(optarg, "--per-ip-connections", 0, 10000, &o->per_ip) < 0)
                                return -EINVAL;
                        break;
                case O_DEADLINE:
                        if (bounded_duration(optarg, "--request-deadline", 3600, "1s..1h", &o->deadline_s) < 0)
                                return -EINVAL;
                        break;
                case O_STORE_TIMEOUT:
                        if (bounded_duration(optarg, "--store-timeout", 300, "1s..5m", &o->store_timeout_s) < 0)
                                return -EINVAL;
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
        if (c < 0)
                return c;
        return common_options_end("collect", argc, argv, &o->c);
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
        if (o->health_listen && httpd_listen_is_loopback(o->health_listen, &loopback) < 0) {
                log_error("collect: invalid value \"%s\" for --health-listen (HOST:PORT, IPv4 or [IPv6])",
                          o->health_listen);
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
        char trust_sha256[65];
        struct collect_binding *binding;
        struct signing_key *summary_key;
        char *tls_cert, *tls_key;
        struct http_transport *http;    /* for an azblob:// store */
        struct store *store;
        struct collector *collector;
        struct httpd *httpd;
        struct httpd *health;           /* --health-listen, or NULL */
};

static void resources_done(struct resources *res)
{
        httpd_stop(res->httpd);
        httpd_stop(res->health);
        collector_free(res->collector);
        store_close(res->store);
        http_curl_free(res->http);
        collect_binding_free(res->binding);
        signing_key_free(res->summary_key);
        trust_store_free(res->trust);
        free(res->tls_cert);
        if (res->tls_key) {
                explicit_bzero(res->tls_key, strlen(res->tls_key));
                free(res->tls_key);
        }
}

static int load_binding(const struct collect_opts *o, struct resources *res)
{
        const struct collect_binding_config cfg = {
                .nodes_file = o->nodes_file, .arm_file = o->arm_file,
                .store_dir = store_url_is_azblob(o->store) ? NULL : store_url_dir(o->store),
                .max_age_s = o->c.max_age_s, .domains = o->c.domains,
                .trust_sha256 = res->trust_sha256,
        };
        char err[320];
        int r = collect_binding_new(&cfg, &res->binding, err, sizeof(err));

        if (r < 0) {
                log_error("collect: %s", err);
                return r == -ENOMEM ? EXIT_SOFTWARE : EXIT_CONFIG;
        }
        return 0;
}

static int load(const struct collect_opts *o, struct resources *res)
{
        _cleanup_secret_ char *pem = NULL, *token = NULL;
        char err[320];
        size_t len;
        int r;

        if (trust_load_digest(o->c.trust_file, &res->trust, res->trust_sha256) < 0)
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
        r = store_open(o->store, res->http,
                       &(struct store_options){ .request_timeout_ms = (long) o->store_timeout_s * 1000 }, &res->store,
                       err, sizeof(err));
        if (r < 0) {
                log_error("--store %s: %s", o->store, err);
                return EXIT_CONFIG;
        }
        return load_binding(o, res);
}

static void mhd_log(void *userdata, const char *msg)
{
        jlog("warning", "http", "error", msg, NULL);
}

/* The probes on their own listener, so that clients holding every
 * connection of the main one cannot make the orchestrator restart a
 * collector that works: plain HTTP, GET /livez and /readyz only. */
static int serve_health(const struct collect_opts *o, struct resources *res)
{
        struct httpd_options hopts = {
                .internal_thread = true, .connection_limit = HEALTH_CONNECTIONS, .connection_timeout_s = 5,
                .per_ip_limit = HEALTH_PER_IP, .request_deadline_s = 5, .log = mhd_log,
        };
        struct httpd_routes routes;
        char port[8];

        collector_routes(res->collector, &routes);
        routes = (struct httpd_routes){ .livez = routes.livez, .readyz = routes.readyz, .userdata = routes.userdata };
        if (httpd_start_opts(o->health_listen, &routes, &hopts, &res->health) < 0) {
                log_error("collect: --health-listen %s: cannot listen there", o->health_listen);
                return -EADDRNOTAVAIL;
        }
        snprintf(port, sizeof(port), "%u", httpd_port(res->health));
        jlog("info", "health listener", "address", o->health_listen, "port", port, NULL);
        return 0;
}

static int serve(const struct collect_opts *o, struct resources *res)
{
        struct collector_config cfg = {
                .token_file = o->token_file, .max_age_s = o->c.max_age_s, .trust = res->trust,
                .domains = o->c.domains, .summary_key = res->summary_key,
                .max_doc_lifetime_s = o->c.attested_lifetime_s, .binding = res->binding,
        };
        struct httpd_options hopts = {
                .internal_thread = true, .max_body = o->max_body ? o->max_body : DSSE_MAX_ENVELOPE,
                .tls_cert_pem = res->tls_cert, .tls_key_pem = res->tls_key,
                .connection_limit = (unsigned) o->max_connections, .connection_timeout_s = IDLE_TIMEOUT_S,
                .per_ip_limit = (unsigned) o->per_ip, .request_deadline_s = (unsigned) o->deadline_s, .log = mhd_log,
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
        if (o->health_listen && serve_health(o, res) < 0)
                return EXIT_CONFIG;
        colon = strrchr(o->listen, ':');
        snprintf(port, sizeof(port), "%u", httpd_port(res->httpd));
        snprintf(addr, sizeof(addr), "%.*s:%s", (int) (colon - o->listen), o->listen, port);
        jlog("info", "listening", "address", addr, "tls", o->tls_cert ? "true" : "false", "auth",
             o->token_file ? "bearer-token" : "none", "store", res->store->url, "storedEnvelopes", count, "keys", keys,
             "summaries", o->summary_key ? "true" : "false", "policySha256", collect_binding_policy(res->binding),
             NULL);
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
        struct collect_opts o = { .max_connections = 256, .per_ip = 16, .deadline_s = 30, .store_timeout_s = 30 };
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
