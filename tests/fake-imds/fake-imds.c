/*
 * fake-imds.c - a fake Azure Instance Metadata Service (IMDS).
 *
 * TEST-ONLY: used by the hostenc integration tests and the demo; never
 * installed or shipped. It serves /metadata/instance/compute and
 * /metadata/attested/document on 127.0.0.1 (ephemeral port) with
 * libmicrohttpd, signs attested documents with an in-memory test PKI
 * (see pki.c) and can misbehave in scripted ways (--scenario) so that the
 * agent's real libcurl/OpenSSL code paths can be exercised.
 *
 * Usage:
 *   fake-imds --compute FILE --trust-out FILE --port-file FILE
 *             [--scenario NAME] [--log FILE] [--bind 127.0.0.1]
 *
 * Exit status: 0 after SIGTERM/SIGINT or the 600 s safety timeout,
 * 1 on a setup failure, 2 on a usage error. Signals are only handled once
 * setup (key generation) is done; a SIGTERM before that kills the process.
 *
 * Request log line (--log):
 *   <ms since start> <METHOD> <path>[?<raw query>] <status> metadata=<v|-> proxy=<Via|->
 * The time is the request's arrival time; status 0 means the connection was
 * dropped without an answer (only when a "slow" request is cut by shutdown).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <openssl/err.h>

#include "pki.h"

#define PROG "fake-imds"
#define COMPUTE_PATH "/metadata/instance/compute"
#define ATTESTED_PATH "/metadata/attested/document"
#define COMPUTE_MAX (4u * 1024u * 1024u)
#define OVERSIZE_LEN (2u * 1024u * 1024u)
#ifndef LIFETIME_S
#define LIFETIME_S 600           /* safety bound; -D override for testing */
#endif
#define SLOW_MS 3000
#define NONCE_MAX 32
#define EXPIRY_S (6 * 60 * 60)
#define MISMATCH_VMID "00000000-dead-beef-0000-000000000000"
#define STALE_NONCE "00000000000000000000000000000000"
#define REDIRECT_TO "http://127.0.0.1:1/elsewhere"
#define JSON_TYPE "application/json; charset=utf-8"

#define ERR_METHOD   "{\"error\":\"Method not allowed\"}"
#define ERR_METADATA "{\"error\":\"Bad request. Required metadata header not specified\"}"
#define ERR_API      "{\"error\":\"Bad request. api-version is invalid or was not " \
                     "specified in the request.\",\"newest-versions\":" \
                     "[\"2025-04-07\",\"2024-07-17\",\"2024-03-15\"]}"
#define ERR_NONCE    "{\"error\":\"Bad request. nonce is invalid\"}"
#define ERR_NOTFOUND "{\"error\":\"Not found\"}"
#define ERR_THROTTLE "{\"error\":\"Too many requests\"}"
#define ERR_INTERNAL "{\"error\":\"Internal server error\"}"
#define ERR_GONE     "{\"error\":\"Gone\"}"
#define GARBAGE_BODY "{\"compute\": not json at all"

enum scenario {
    SC_OK, SC_THROTTLE, SC_ERROR500, SC_GONE410, SC_GARBAGE, SC_OVERSIZE,
    SC_REDIRECT, SC_UNTRUSTED_CA, SC_WRONG_SAN, SC_VMID_MISMATCH,
    SC_STALE_NONCE, SC_ATTESTED_DOWN, SC_SLOW,
};

static const char *const scenario_names[] = {
    [SC_OK] = "ok", [SC_THROTTLE] = "throttle", [SC_ERROR500] = "error500",
    [SC_GONE410] = "gone410", [SC_GARBAGE] = "garbage",
    [SC_OVERSIZE] = "oversize", [SC_REDIRECT] = "redirect",
    [SC_UNTRUSTED_CA] = "untrusted-ca", [SC_WRONG_SAN] = "wrong-san",
    [SC_VMID_MISMATCH] = "vmid-mismatch", [SC_STALE_NONCE] = "stale-nonce",
    [SC_ATTESTED_DOWN] = "attested-down", [SC_SLOW] = "slow",
};

struct options {
    const char *compute;
    const char *trust_out;
    const char *port_file;
    const char *log;
    enum scenario scenario;
};

struct server {
    enum scenario scenario;
    const char *compute_path;    /* re-read per request: tests edit it between cycles */
    char *compute;               /* compute file bytes at start */
    size_t compute_len;
    char *vm_id;
    char *subscription_id;
    char *oversize;              /* SC_OVERSIZE body */
    size_t oversize_len;
    struct pki_chain trusted;
    struct pki_chain untrusted;  /* SC_UNTRUSTED_CA only */
    struct pki_cert wrong_san;   /* SC_WRONG_SAN only */
    const struct pki_cert *signer;
    int log_fd;                  /* -1 when no --log */
    struct timespec start;
    atomic_uint compute_hits;
    atomic_bool stopping;
};

/* Per-request state, created by the URI log callback. */
struct request {
    char *raw_uri;               /* request target as received */
    long long t_ms;              /* arrival, ms since server start */
    bool seen;                   /* access handler already called once */
};

/* What to answer. status 0 means: drop the connection. */
struct reply {
    unsigned int status;
    const char *body;
    size_t len;
    enum MHD_ResponseMemoryMode mode;
    const char *location;
};

/* ---------------------------------------------------------------- errors */

static _Noreturn void die(const char *what)
{
    fprintf(stderr, PROG ": %s\n", what);
    exit(1);
}

static _Noreturn void die_ssl(const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();

    if (e == 0)
        die(what);
    ERR_error_string_n(e, buf, sizeof(buf));
    fprintf(stderr, PROG ": %s: %s\n", what, buf);
    exit(1);
}

static _Noreturn void die_errno(const char *what, const char *path)
{
    fprintf(stderr, PROG ": %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static _Noreturn void usage_error(const char *what)
{
    fprintf(stderr, PROG ": %s (usage: " PROG " --compute FILE --trust-out FILE"
            " --port-file FILE [--scenario NAME] [--log FILE]"
            " [--bind 127.0.0.1])\n", what);
    exit(2);
}

/* --------------------------------------------------------------- options */

static enum scenario parse_scenario(const char *name)
{
    for (size_t i = 0; i < sizeof(scenario_names) / sizeof(scenario_names[0]); i++) {
        if (strcmp(name, scenario_names[i]) == 0)
            return (enum scenario)i;
    }
    fprintf(stderr, PROG ": unknown scenario '%s'\n", name);
    exit(2);
}

static void parse_options(int argc, char **argv, struct options *opt)
{
    static const struct option longopts[] = {
        { "compute", required_argument, NULL, 'c' },
        { "trust-out", required_argument, NULL, 't' },
        { "port-file", required_argument, NULL, 'p' },
        { "scenario", required_argument, NULL, 's' },
        { "log", required_argument, NULL, 'l' },
        { "bind", required_argument, NULL, 'b' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    memset(opt, 0, sizeof(*opt));
    opt->scenario = SC_OK;
    opterr = 0;                       /* we print our own one-line errors */
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': opt->compute = optarg; break;
        case 't': opt->trust_out = optarg; break;
        case 'p': opt->port_file = optarg; break;
        case 'l': opt->log = optarg; break;
        case 's': opt->scenario = parse_scenario(optarg); break;
        case 'b':
            if (strcmp(optarg, "127.0.0.1") != 0)
                usage_error("--bind only accepts 127.0.0.1");
            break;
        default: usage_error("unknown option or missing argument");
        }
    }
    if (optind != argc)
        usage_error("unexpected argument");
    if (opt->compute == NULL || opt->trust_out == NULL || opt->port_file == NULL)
        usage_error("--compute, --trust-out and --port-file are required");
}

/* ----------------------------------------------------------------- files */

static char *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL)
        die_errno("cannot open", path);
    buf = malloc(max + 1);
    if (buf == NULL)
        die("out of memory");
    n = fread(buf, 1, max + 1, f);
    if (ferror(f))
        die_errno("cannot read", path);
    fclose(f);
    if (n > max)
        die("compute file is larger than 4 MiB");
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Write `path`.tmp, then rename it over `path`. */
static void write_file_atomic(const char *path, const char *data, size_t len)
{
    size_t plen = strlen(path) + sizeof(".tmp");
    char *tmp = malloc(plen);
    FILE *f;

    if (tmp == NULL)
        die("out of memory");
    snprintf(tmp, plen, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (f == NULL)
        die_errno("cannot create", tmp);
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0)
        die_errno("cannot write", tmp);
    if (rename(tmp, path) != 0)
        die_errno("cannot rename to", path);
    free(tmp);
}

static char *dup_json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    const char *s = cJSON_IsString(item) ? item->valuestring : "";
    char *copy = strdup(s);

    if (copy == NULL)
        die("out of memory");
    return copy;
}

static void load_compute(struct server *srv, const char *path)
{
    cJSON *json;

    srv->compute = read_file(path, COMPUTE_MAX, &srv->compute_len);
    json = cJSON_ParseWithLength(srv->compute, srv->compute_len);
    if (json == NULL)
        die("compute file is not valid JSON");
    srv->vm_id = dup_json_string(json, "vmId");
    srv->subscription_id = dup_json_string(json, "subscriptionId");
    cJSON_Delete(json);
}

/* ------------------------------------------------------------------- PKI */

static void setup_pki(struct server *srv, const char *trust_out)
{
    const char *err;
    char *pem;
    size_t len = 0;

    err = pki_make_chain(&srv->trusted);
    if (err != NULL)
        die_ssl(err);
    srv->signer = &srv->trusted.leaf;
    if (srv->scenario == SC_UNTRUSTED_CA) {
        err = pki_make_chain(&srv->untrusted);
        if (err != NULL)
            die_ssl(err);
        srv->signer = &srv->untrusted.leaf;
    } else if (srv->scenario == SC_WRONG_SAN) {
        err = pki_make_leaf(&srv->wrong_san, &srv->trusted.inter,
                            "metadata.azure.com.evil.example",
                            "DNS:metadata.azure.com.evil.example");
        if (err != NULL)
            die_ssl(err);
        srv->signer = &srv->wrong_san;
    }
    pem = pki_trust_pem(&srv->trusted, &len);
    if (pem == NULL)
        die_ssl("cannot export trust PEM");
    write_file_atomic(trust_out, pem, len);
    free(pem);
}

/* {"vmId":"...","pad":"xxx..."}, exactly OVERSIZE_LEN bytes long. */
static void make_oversize(struct server *srv)
{
    cJSON *obj = cJSON_CreateObject();
    char *probe = NULL, *pad = NULL;
    size_t base;

    if (obj == NULL || cJSON_AddStringToObject(obj, "vmId", srv->vm_id) == NULL ||
        cJSON_AddStringToObject(obj, "pad", "") == NULL ||
        (probe = cJSON_PrintUnformatted(obj)) == NULL)
        die("cannot build oversize body");
    base = strlen(probe);
    cJSON_free(probe);
    if (base >= OVERSIZE_LEN || (pad = malloc(OVERSIZE_LEN - base + 1)) == NULL)
        die("cannot build oversize body");
    memset(pad, 'x', OVERSIZE_LEN - base);
    pad[OVERSIZE_LEN - base] = '\0';
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "pad");
    if (cJSON_AddStringToObject(obj, "pad", pad) == NULL ||
        (srv->oversize = cJSON_PrintUnformatted(obj)) == NULL)
        die("cannot build oversize body");
    srv->oversize_len = strlen(srv->oversize);
    free(pad);
    cJSON_Delete(obj);
}

/* ------------------------------------------------------------------ time */

static long long elapsed_ms(const struct server *srv)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - srv->start.tv_sec) * 1000 +
           (now.tv_nsec - srv->start.tv_nsec) / 1000000;
}

/* "07/28/26 13:24:00 -0000" */
static void format_azure_time(char *buf, size_t size, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, size, "%02d/%02d/%02d %02d:%02d:%02d -0000",
             tm.tm_mon + 1, tm.tm_mday, tm.tm_year % 100,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "YYYYMMDD-HHMMSS" */
static void format_default_nonce(char *buf, size_t size, time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d%02d%02d-%02d%02d%02d",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* --------------------------------------------------------------- replies */

static struct reply reply_buf(unsigned int status, const char *body, size_t len)
{
    struct reply r = { status, body, len, MHD_RESPMEM_PERSISTENT, NULL };

    return r;
}

static struct reply reply_str(unsigned int status, const char *body)
{
    return reply_buf(status, body, strlen(body));
}

static void log_request(const struct server *srv, const struct request *req,
                        struct MHD_Connection *conn, const char *method,
                        const char *url, unsigned int status)
{
    const char *md = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Metadata");
    const char *via = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Via");
    const char *query = req->raw_uri != NULL ? strchr(req->raw_uri, '?') : NULL;
    char *line = NULL;
    int n;

    if (srv->log_fd < 0)
        return;
    n = asprintf(&line, "%lld %s %s%s %u metadata=%s proxy=%s\n", req->t_ms,
                 method, url, query != NULL ? query : "", status,
                 md != NULL ? md : "-", via != NULL ? via : "-");
    if (n < 0)
        return;
    /* One write() per line on an O_APPEND fd: lines never interleave. */
    if (write(srv->log_fd, line, (size_t)n) != n)
        fprintf(stderr, PROG ": cannot write request log\n");
    free(line);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, const struct reply *r)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    if (r->status == 0)
        return MHD_NO;
    resp = MHD_create_response_from_buffer(r->len, (void *)r->body, r->mode);
    if (resp == NULL) {
        if (r->mode == MHD_RESPMEM_MUST_FREE)
            free((void *)r->body);
        return MHD_NO;
    }
    if (r->location != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
    else
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, JSON_TYPE);
    if (r->status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
    ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ------------------------------------------------------------- endpoints */

/* Sleep up to `ms`; false if the server is stopping. */
static bool interruptible_sleep(const struct server *srv, int ms)
{
    const struct timespec step = { 0, 50 * 1000 * 1000 };

    for (int waited = 0; waited < ms; waited += 50) {
        if (atomic_load(&srv->stopping))
            return false;
        nanosleep(&step, NULL);
    }
    return !atomic_load(&srv->stopping);
}

/* The compute file as it is now (tests rewrite it between the agent's
 * cycles), copied into the response; the start-up copy if it is unreadable. */
static struct reply current_compute(struct server *srv)
{
    FILE *f = fopen(srv->compute_path, "rb");
    static _Thread_local char buf[COMPUTE_MAX + 1];
    size_t n = f != NULL ? fread(buf, 1, sizeof(buf), f) : 0;
    struct reply r;

    if (f != NULL)
        fclose(f);
    if (n == 0 || n > COMPUTE_MAX)
        return reply_buf(MHD_HTTP_OK, srv->compute, srv->compute_len);
    r = reply_buf(MHD_HTTP_OK, buf, n);
    r.mode = MHD_RESPMEM_MUST_COPY;
    return r;
}

static struct reply handle_compute(struct server *srv)
{
    unsigned int hit = atomic_fetch_add(&srv->compute_hits, 1);
    struct reply r;

    switch (srv->scenario) {
    case SC_THROTTLE:
        if (hit < 2)
            return reply_str(MHD_HTTP_TOO_MANY_REQUESTS, ERR_THROTTLE);
        break;
    case SC_ERROR500:
        return reply_str(MHD_HTTP_INTERNAL_SERVER_ERROR, ERR_INTERNAL);
    case SC_GONE410:
        if (hit == 0)
            return reply_str(MHD_HTTP_GONE, ERR_GONE);
        break;
    case SC_GARBAGE:
        return reply_str(MHD_HTTP_OK, GARBAGE_BODY);
    case SC_OVERSIZE:
        return reply_buf(MHD_HTTP_OK, srv->oversize, srv->oversize_len);
    case SC_REDIRECT:
        r = reply_str(MHD_HTTP_FOUND, "");
        r.location = REDIRECT_TO;
        return r;
    case SC_SLOW:
        if (!interruptible_sleep(srv, SLOW_MS))
            return reply_str(0, "");  /* stopping: drop the connection */
        break;
    default:
        break;
    }
    return current_compute(srv);
}

static bool nonce_valid(const char *nonce)
{
    size_t n = strlen(nonce);

    if (n > NONCE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = nonce[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

/* Compact JSON, keys in Azure's (alphabetical) order. cJSON_free() it. */
static char *attested_content(const char *nonce, const char *vm_id,
                              const char *subscription_id, time_t now)
{
    char created[64], expires[64];
    cJSON *doc = cJSON_CreateObject();
    cJSON *plan = NULL, *ts = NULL;
    char *out = NULL;

    format_azure_time(created, sizeof(created), now);
    format_azure_time(expires, sizeof(expires), now + EXPIRY_S);
    if (doc != NULL &&
        cJSON_AddStringToObject(doc, "licenseType", "") != NULL &&
        cJSON_AddStringToObject(doc, "nonce", nonce) != NULL &&
        (plan = cJSON_AddObjectToObject(doc, "plan")) != NULL &&
        cJSON_AddStringToObject(plan, "name", "") != NULL &&
        cJSON_AddStringToObject(plan, "product", "") != NULL &&
        cJSON_AddStringToObject(plan, "publisher", "") != NULL &&
        cJSON_AddStringToObject(doc, "sku", "") != NULL &&
        cJSON_AddStringToObject(doc, "subscriptionId", subscription_id) != NULL &&
        (ts = cJSON_AddObjectToObject(doc, "timeStamp")) != NULL &&
        cJSON_AddStringToObject(ts, "createdOn", created) != NULL &&
        cJSON_AddStringToObject(ts, "expiresOn", expires) != NULL &&
        cJSON_AddStringToObject(doc, "vmId", vm_id) != NULL)
        out = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    return out;
}

/* The vmId (or subscriptionId) the compute file names now, so one fake can
 * play a fleet of VMs one after the other; the start-up value if it cannot
 * be read. */
static char *current_string(const struct server *srv, const char *key, const char *fallback)
{
    struct reply r = current_compute((struct server *)srv);
    cJSON *json = cJSON_ParseWithLength(r.body, r.len);
    char *value = dup_json_string(json, key);

    cJSON_Delete(json);
    if (value[0] != '\0')
        return value;
    free(value);
    return strdup(fallback);
}

/* {"encoding":"pkcs7","signature":"..."}; malloc'd, NULL on error. */
static char *attested_body(const struct server *srv, const char *nonce)
{
    time_t now = time(NULL);
    char default_nonce[64];
    char *current = current_string(srv, "vmId", srv->vm_id);
    char *subscription = current_string(srv, "subscriptionId", srv->subscription_id);
    const char *vm_id = srv->scenario == SC_VMID_MISMATCH ? MISMATCH_VMID : current;
    char *content, *sig, *body = NULL;

    if (srv->scenario == SC_STALE_NONCE) {
        nonce = STALE_NONCE;
    } else if (nonce == NULL || nonce[0] == '\0') {
        format_default_nonce(default_nonce, sizeof(default_nonce), now + EXPIRY_S);
        nonce = default_nonce;
    }
    content = attested_content(nonce, vm_id, subscription, now);
    free(current);
    free(subscription);
    if (content == NULL)
        return NULL;
    sig = pki_sign_b64(srv->signer, content, strlen(content));
    cJSON_free(content);
    if (sig == NULL) {
        ERR_clear_error();
        return NULL;
    }
    if (asprintf(&body, "{\"encoding\":\"pkcs7\",\"signature\":\"%s\"}", sig) < 0)
        body = NULL;
    free(sig);
    return body;
}

static struct reply handle_attested(struct server *srv, struct MHD_Connection *conn)
{
    const char *nonce = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "nonce");
    char *body;
    struct reply r;

    if (srv->scenario == SC_ATTESTED_DOWN)
        return reply_str(MHD_HTTP_INTERNAL_SERVER_ERROR, ERR_INTERNAL);
    if (nonce != NULL && !nonce_valid(nonce))
        return reply_str(MHD_HTTP_BAD_REQUEST, ERR_NONCE);
    body = attested_body(srv, nonce);
    if (body == NULL)
        return reply_str(MHD_HTTP_INTERNAL_SERVER_ERROR, ERR_INTERNAL);
    r = reply_str(MHD_HTTP_OK, body);
    r.mode = MHD_RESPMEM_MUST_FREE;
    return r;
}

static struct reply route(struct server *srv, struct MHD_Connection *conn,
                          const char *url, const char *method)
{
    const char *md = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Metadata");
    const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  "X-Forwarded-For");
    const char *api = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                                  "api-version");

    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return reply_str(MHD_HTTP_METHOD_NOT_ALLOWED, ERR_METHOD);
    if (md == NULL || strcmp(md, "true") != 0 || xff != NULL)
        return reply_str(MHD_HTTP_BAD_REQUEST, ERR_METADATA);
    if (api == NULL || api[0] == '\0')
        return reply_str(MHD_HTTP_BAD_REQUEST, ERR_API);
    if (strcmp(url, COMPUTE_PATH) == 0)
        return handle_compute(srv);
    if (strcmp(url, ATTESTED_PATH) == 0)
        return handle_attested(srv, conn);
    return reply_str(MHD_HTTP_NOT_FOUND, ERR_NOTFOUND);
}

/* ------------------------------------------------------- MHD callbacks */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct server *srv = cls;
    struct request *req = calloc(1, sizeof(*req));

    (void)conn;
    if (req == NULL)
        return NULL;
    req->t_ms = elapsed_ms(srv);
    req->raw_uri = strdup(uri);
    return req;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *req = *req_cls;

    (void)cls;
    (void)conn;
    (void)toe;
    if (req != NULL) {
        free(req->raw_uri);
        free(req);
    }
    *req_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    struct server *srv = cls;
    struct request *req = *req_cls;
    struct reply r;

    (void)version;
    (void)upload_data;
    if (req == NULL)
        return MHD_NO;                /* out of memory in on_uri */
    if (!req->seen) {
        req->seen = true;             /* headers only; body (if any) follows */
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;        /* discard any request body */
        return MHD_YES;
    }
    r = route(srv, conn, url, method);
    log_request(srv, req, conn, method, url, r.status);
    return send_reply(conn, &r);
}

/* ------------------------------------------------------------------ main */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs(PROG ": libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

static struct MHD_Daemon *start_daemon(struct server *srv)
{
    struct sockaddr_in sa;
    struct MHD_Daemon *d;

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION |
                         MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, srv,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
                         MHD_OPTION_END);
    if (d == NULL)
        die("cannot start HTTP server on 127.0.0.1");
    return d;
}

static void write_port_file(struct MHD_Daemon *d, const char *path)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char buf[16];
    int n;

    if (info == NULL || info->port == 0)
        die("cannot get the listening port");
    n = snprintf(buf, sizeof(buf), "%u\n", (unsigned int)info->port);
    write_file_atomic(path, buf, (size_t)n);
}

/* Block SIGTERM/SIGINT in every thread (inherited by MHD's threads). */
static void block_signals(sigset_t *set)
{
    struct sigaction ign;

    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, set, NULL) != 0)
        die("cannot block signals");
}

/* Wait for SIGTERM/SIGINT or the safety timeout. */
static void wait_for_stop(const struct server *srv, const sigset_t *set)
{
    for (;;) {
        long long left_ms = (long long)LIFETIME_S * 1000 - elapsed_ms(srv);
        struct timespec ts;

        if (left_ms <= 0) {
            fprintf(stderr, PROG ": %d s safety timeout reached, exiting\n",
                    LIFETIME_S);
            return;
        }
        ts.tv_sec = (time_t)(left_ms / 1000);
        ts.tv_nsec = (long)(left_ms % 1000) * 1000000L;
        if (sigtimedwait(set, NULL, &ts) > 0)
            return;
        /* EAGAIN (timeout) or EINTR: loop and recompute */
    }
}

static void open_log(struct server *srv, const char *path)
{
    srv->log_fd = -1;
    if (path == NULL)
        return;
    srv->log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (srv->log_fd < 0)
        die_errno("cannot open log", path);
}

static void cleanup(struct server *srv)
{
    if (srv->log_fd >= 0)
        close(srv->log_fd);
    pki_chain_free(&srv->trusted);
    pki_chain_free(&srv->untrusted);
    pki_cert_free(&srv->wrong_san);
    cJSON_free(srv->oversize);
    free(srv->compute);
    free(srv->vm_id);
    free(srv->subscription_id);
}

int main(int argc, char **argv)
{
    static struct server srv;
    struct options opt;
    struct MHD_Daemon *d;
    sigset_t set;

    parse_options(argc, argv, &opt);
    clock_gettime(CLOCK_MONOTONIC, &srv.start);
    srv.scenario = opt.scenario;
    atomic_init(&srv.compute_hits, 0);
    atomic_init(&srv.stopping, false);
    load_compute(&srv, opt.compute);
    srv.compute_path = opt.compute;
    setup_pki(&srv, opt.trust_out);
    if (srv.scenario == SC_OVERSIZE)
        make_oversize(&srv);
    open_log(&srv, opt.log);
    block_signals(&set);
    d = start_daemon(&srv);
    write_port_file(d, opt.port_file);
    wait_for_stop(&srv, &set);
    atomic_store(&srv.stopping, true);
    MHD_stop_daemon(d);
    cleanup(&srv);
    return 0;
}
