/* SPDX-License-Identifier: Apache-2.0 */
/* Entra tokens for Blob Storage (fleet/aztoken.c) through the transport
 * seam: request shapes for workload identity and managed identity, the
 * cache and its refresh window on the caller's clock, and every malformed
 * answer failing without a token. */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aztoken.h"
#include "http.h"
#include "macro.h"

extern char **environ;

#define SCOPE "https://storage.azure.com/.default"
#define CLIENT "11111111-2222-3333-4444-555555555555"
#define TENANT "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
#define AZ_BIG (16 * 1024)      /* an access token this long is refused */

struct answer {
        long status;
        const char *body;
        int err;                /* a transport error instead of an answer */
};

struct fake {
        struct answer a[8];
        unsigned n, next;
        unsigned sent;
        char method[16];
        char url[1024];
        char headers[4][128];
        unsigned nheaders;
        char body[70000];
};

static struct fake fk;
static char tmpdir[64];
static char token_file[128];
static pid_t fake_pid;          /* fake_entra.py while it runs */

static int fake_request(void *u, const struct http_request *req, struct http_response *resp)
{
        const struct answer *a = &fk.a[fk.next < fk.n ? fk.next : fk.n - 1];

        fk.next++;
        fk.sent++;
        snprintf(fk.method, sizeof(fk.method), "%s", req->method ? req->method : "GET");
        snprintf(fk.url, sizeof(fk.url), "%s", req->url);
        fk.nheaders = 0;
        for (unsigned i = 0; req->headers && req->headers[i] && i < 4; i++)
                snprintf(fk.headers[fk.nheaders++], sizeof(fk.headers[0]), "%s", req->headers[i]);
        assert_true(req->body_len < sizeof(fk.body));
        memcpy(fk.body, req->body ? req->body : "", req->body ? req->body_len : 0);
        fk.body[req->body ? req->body_len : 0] = '\0';
        if (a->err)
                return a->err;
        if (strlen(a->body) > req->max_body)
                return -E2BIG;
        *resp = (struct http_response){ .status = a->status, .retry_after_s = -1, .body = BUF_INIT(req->max_body) };
        assert_int_equal(buf_append(&resp->body, a->body, strlen(a->body)), 0);
        return 0;
}

static const struct http_transport transport = { fake_request, NULL };

static void script(const struct answer *a, unsigned n)
{
        memset(&fk, 0, sizeof(fk));
        memcpy(fk.a, a, n * sizeof(*a));
        fk.n = n;
}

static void answer(long status, const char *body)
{
        script(&(struct answer){ status, body, 0 }, 1);
}

static void write_file(const char *path, const char *data)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        assert_int_equal(fputs(data, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void env_clear(void)
{
        unsetenv("AZURE_FEDERATED_TOKEN_FILE");
        unsetenv("AZURE_CLIENT_ID");
        unsetenv("AZURE_TENANT_ID");
        unsetenv("AZURE_AUTHORITY_HOST");
}

static void env_workload(const char *authority)
{
        env_clear();
        setenv("AZURE_FEDERATED_TOKEN_FILE", token_file, 1);
        setenv("AZURE_CLIENT_ID", CLIENT, 1);
        setenv("AZURE_TENANT_ID", TENANT, 1);
        if (authority)
                setenv("AZURE_AUTHORITY_HOST", authority, 1);
}

static struct aztoken *workload(const char *authority)
{
        struct aztoken *a = NULL;

        env_workload(authority);
        assert_int_equal(aztoken_new(&transport, "http://169.254.169.254", &a), 0);
        return a;
}

static struct aztoken *managed(const char *client_id)
{
        struct aztoken *a = NULL;

        env_clear();
        if (client_id)
                setenv("AZURE_CLIENT_ID", client_id, 1);
        assert_int_equal(aztoken_new(&transport, "http://127.0.0.1:1", &a), 0);
        return a;
}

/* The value of key in an x-www-form-urlencoded body, still encoded. */
static const char *form_field(const char *body, const char *key, char *dst, size_t sz)
{
        size_t klen = strlen(key);

        for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
                if (!strncmp(p, key, klen) && p[klen] == '=') {
                        size_t vlen = strcspn(p + klen + 1, "&");

                        assert_true(vlen < sz);
                        memcpy(dst, p + klen + 1, vlen);
                        dst[vlen] = '\0';
                        return dst;
                }
        return NULL;
}

static void assert_field(const char *key, const char *want)
{
        char v[1024];

        assert_non_null(form_field(fk.body, key, v, sizeof(v)));
        assert_string_equal(v, want);
}

static bool has_header(const char *h)
{
        for (unsigned i = 0; i < fk.nheaders; i++)
                if (!strcmp(fk.headers[i], h))
                        return true;
        return false;
}

static int setup(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/test-aztoken-XXXXXX");
        assert_non_null(mkdtemp(tmpdir));
        snprintf(token_file, sizeof(token_file), "%s/azure-identity-token", tmpdir);
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig\n");
        return 0;
}

static int teardown(void **state)
{
        static const char *const files[] = { "azure-identity-token", "stderr", "port", "access", "expected" };
        char p[192];

        if (fake_pid > 0) {     /* a failed end-to-end test */
                (void) kill(fake_pid, SIGTERM);
                (void) waitpid(fake_pid, NULL, 0);
        }
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                snprintf(p, sizeof(p), "%s/%s", tmpdir, files[i]);
                (void) unlink(p);
        }
        (void) rmdir(tmpdir);
        env_clear();
        return 0;
}

static void test_workload_request_shape(void **state)
{
        struct aztoken *a = workload("https://login.microsoftonline.us/");
        char tok[256];

        answer(200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,\"access_token\":\"tok-1\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "tok-1");
        assert_string_equal(fk.method, "POST");
        assert_string_equal(fk.url, "https://login.microsoftonline.us/" TENANT "/oauth2/v2.0/token");
        assert_true(has_header("Content-Type: application/x-www-form-urlencoded"));
        assert_field("client_id", CLIENT);
        assert_field("scope", "https%3A%2F%2Fstorage.azure.com%2F.default");
        assert_field("grant_type", "client_credentials");
        assert_field("client_assertion_type", "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer");
        assert_field("client_assertion", "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig");

        /* The kubelet rotates the file: the next refresh sends the new one. */
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.assertion-two.sig");
        answer(200, "{\"expires_in\":3599,\"access_token\":\"tok-2\"}");
        aztoken_invalidate(a);
        assert_int_equal(aztoken_get(a, SCOPE, 1001, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "tok-2");
        assert_field("client_assertion", "eyJhbGciOiJSUzI1NiJ9.assertion-two.sig");
        aztoken_free(a);
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig\n");
}

static void test_workload_authority(void **state)
{
        struct aztoken *a;
        char tok[64];

        /* Default public cloud; a missing trailing slash is added. */
        a = workload(NULL);
        answer(200, "{\"expires_in\":60,\"access_token\":\"t\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(fk.url, "https://login.microsoftonline.com/" TENANT "/oauth2/v2.0/token");
        aztoken_free(a);
        a = workload("http://127.0.0.1:8443");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(fk.url, "http://127.0.0.1:8443/" TENANT "/oauth2/v2.0/token");
        aztoken_free(a);

        static const char *const bad[] = {
                "http://login.microsoftonline.com/", "http://127.0.0.1.example.com/", "ftp://127.0.0.1/",
                "https://user@login.microsoftonline.com/", "https://login.microsoftonline.com/?x=1", "https:///",
                "https://login.microsoftonline.com/#f",
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                a = NULL;
                env_workload(bad[i]);
                assert_int_equal(aztoken_new(&transport, NULL, &a), -EINVAL);
                assert_null(a);
        }
}

static void test_workload_config_errors(void **state)
{
        struct aztoken *a = NULL;

        env_workload(NULL);
        unsetenv("AZURE_TENANT_ID");
        assert_int_equal(aztoken_new(&transport, "http://169.254.169.254", &a), -EINVAL);
        env_workload(NULL);
        unsetenv("AZURE_CLIENT_ID");
        assert_int_equal(aztoken_new(&transport, NULL, &a), -EINVAL);
        env_workload(NULL);
        setenv("AZURE_TENANT_ID", "evil/../x", 1);
        assert_int_equal(aztoken_new(&transport, NULL, &a), -EINVAL);
        assert_null(a);
}

static void test_no_source(void **state)
{
        struct aztoken *a = NULL;

        env_clear();
        assert_int_equal(aztoken_new(&transport, NULL, &a), -ENOENT);
        assert_int_equal(aztoken_new(&transport, "", &a), -ENOENT);
        assert_null(a);
}

static void test_managed_request_shape(void **state)
{
        struct aztoken *a = managed(CLIENT);
        char tok[64];

        answer(200, "{\"access_token\":\"mi-1\",\"expires_in\":\"86399\",\"expires_on\":\"1700086399\","
                    "\"resource\":\"https://storage.azure.com\",\"token_type\":\"Bearer\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "mi-1");
        assert_string_equal(fk.method, "GET");
        assert_string_equal(fk.url, "http://127.0.0.1:1/metadata/identity/oauth2/token?api-version=2018-02-01"
                                    "&resource=https%3A%2F%2Fstorage.azure.com&client_id=" CLIENT);
        assert_true(has_header("Metadata: true"));
        assert_int_equal(fk.body[0], '\0');
        aztoken_free(a);

        /* The VM's only identity: no client_id. */
        a = managed(NULL);
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(fk.url, "http://127.0.0.1:1/metadata/identity/oauth2/token?api-version=2018-02-01"
                                    "&resource=https%3A%2F%2Fstorage.azure.com");
        aztoken_free(a);
}

static void test_managed_expires_on_only(void **state)
{
        struct aztoken *a = managed(NULL);
        char tok[64];

        answer(200, "{\"access_token\":\"mi\",\"expires_on\":\"4600\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_int_equal(aztoken_get(a, SCOPE, 4299, tok, sizeof(tok)), 0);
        assert_int_equal(fk.sent, 1);
        assert_int_equal(aztoken_get(a, SCOPE, 4300, tok, sizeof(tok)), 0);
        assert_int_equal(fk.sent, 2);
        aztoken_free(a);
}

static void test_managed_retries_429(void **state)
{
        static const struct answer s[] = {
                { 429, "{\"error\":\"too_many_requests\"}", 0 },
                { 200, "{\"access_token\":\"after-retry\",\"expires_in\":\"3600\"}", 0 },
        };
        struct aztoken *a = managed(NULL);
        char tok[64];

        script(s, 2);
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "after-retry");
        assert_int_equal(fk.sent, 2);
        aztoken_free(a);
}

static void test_cache_and_refresh_window(void **state)
{
        struct aztoken *a = workload(NULL);
        char tok[64];

        answer(200, "{\"expires_in\":3600,\"access_token\":\"cached\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        assert_int_equal(aztoken_get(a, SCOPE, 1000 + 3600 - 301, tok, sizeof(tok)), 0);
        assert_int_equal(fk.sent, 1);
        assert_string_equal(tok, "cached");
        /* Five minutes before expiry: refreshed. */
        answer(200, "{\"expires_in\":3600,\"access_token\":\"fresh\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000 + 3600 - 300, tok, sizeof(tok)), 0);
        assert_int_equal(fk.sent, 1);
        assert_string_equal(tok, "fresh");
        /* Another scope is another token. */
        answer(200, "{\"expires_in\":3600,\"access_token\":\"vault\"}");
        assert_int_equal(aztoken_get(a, "https://vault.azure.net/.default", 4400, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "vault");
        assert_field("scope", "https%3A%2F%2Fvault.azure.net%2F.default");
        aztoken_free(a);
}

static void test_invalidate_forces_refresh(void **state)
{
        struct aztoken *a = workload(NULL);
        char tok[64];

        answer(200, "{\"expires_in\":\"3600\",\"access_token\":\"one\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        answer(200, "{\"expires_in\":\"3600\",\"access_token\":\"two\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1001, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "one");
        assert_int_equal(fk.sent, 0);
        aztoken_invalidate(a);
        assert_int_equal(aztoken_get(a, SCOPE, 1002, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "two");
        assert_int_equal(fk.sent, 1);
        aztoken_free(a);
}

static void test_failed_early_refresh_keeps_valid_token(void **state)
{
        struct aztoken *a = workload(NULL);
        char tok[64];

        answer(200, "{\"expires_in\":3600,\"access_token\":\"still-good\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), 0);
        answer(503, "busy");
        assert_int_equal(aztoken_get(a, SCOPE, 4500, tok, sizeof(tok)), 0);
        assert_string_equal(tok, "still-good");
        assert_int_equal(fk.sent, 1);
        /* Once it has expired, never. */
        memset(tok, 'X', sizeof(tok));
        assert_int_equal(aztoken_get(a, SCOPE, 4600, tok, sizeof(tok)), -EPROTO);
        assert_int_equal(tok[0], 'X');
        aztoken_free(a);
}

static void test_malformed_answers_give_no_token(void **state)
{
        static char huge_token[AZ_BIG + 64];
        static char oversized[70 * 1024];
        const char *bad[] = {
                "not json",
                "[\"access_token\"]",
                "{\"expires_in\":3600}",
                "{\"access_token\":42,\"expires_in\":3600}",
                "{\"access_token\":\"\",\"expires_in\":3600}",
                "{\"access_token\":\"a b\",\"expires_in\":3600}",
                "{\"access_token\":\"a\\r\\nX-Evil: 1\",\"expires_in\":3600}",
                "{\"access_token\":\"t\"}",
                "{\"access_token\":\"t\",\"expires_in\":-5}",
                "{\"access_token\":\"t\",\"expires_in\":0}",
                "{\"access_token\":\"t\",\"expires_in\":1.5}",
                "{\"access_token\":\"t\",\"expires_in\":\"soon\"}",
                "{\"access_token\":\"t\",\"expires_in\":\"-5\"}",
                "{\"access_token\":\"t\",\"expires_in\":99999999999}",
                "{\"access_token\":\"t\",\"expires_in\":null}",
                "{\"access_token\":\"t\",\"expires_on\":\"999\"}",
                huge_token,
                oversized,
        };
        int want[ARRAY_SIZE(bad)];
        char tok[64];

        memset(oversized, ' ', sizeof(oversized) - 1);
        memcpy(oversized, "{\"access_token\":\"t\",\"expires_in\":60}", 36);
        snprintf(huge_token, sizeof(huge_token), "{\"expires_in\":60,\"access_token\":\"");
        memset(huge_token + strlen(huge_token), 'A', AZ_BIG);
        memcpy(huge_token + sizeof(huge_token) - 3, "\"}", 3);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                want[i] = -EBADMSG;
        want[ARRAY_SIZE(bad) - 1] = -E2BIG;
        for (int w = 0; w < 2; w++)
                for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                        struct aztoken *a = w ? workload(NULL) : managed(NULL);

                        answer(200, bad[i]);
                        memset(tok, 'X', sizeof(tok));
                        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), want[i]);
                        assert_int_equal(tok[0], 'X');
                        aztoken_free(a);
                }
}

static void test_enobufs(void **state)
{
        struct aztoken *a = workload(NULL);
        char tok[8];

        answer(200, "{\"expires_in\":3600,\"access_token\":\"12345678\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -ENOBUFS);
        {
                char big[9];

                assert_int_equal(aztoken_get(a, SCOPE, 1000, big, sizeof(big)), 0);
                assert_string_equal(big, "12345678");
        }
        assert_int_equal(fk.sent, 1);      /* the cached token was kept */
        aztoken_free(a);
}

static void test_token_file_problems(void **state)
{
        static char big[17 * 1024];
        struct aztoken *a = workload(NULL);
        char tok[64];

        answer(200, "{\"expires_in\":3600,\"access_token\":\"never\"}");
        (void) unlink(token_file);
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -ENOENT);
        write_file(token_file, "\n");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -EBADMSG);
        memset(big, 'e', sizeof(big) - 1);
        write_file(token_file, big);
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -E2BIG);
        assert_int_equal(fk.sent, 0);
        aztoken_free(a);
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig\n");
}

/* stderr into a file while fn runs; returns what was logged. */
static void capture_stderr(void (*fn)(void), char *out, size_t outsz)
{
        char path[192];
        int saved = dup(STDERR_FILENO), fd;
        size_t n = 0;
        char *data = NULL;

        snprintf(path, sizeof(path), "%s/stderr", tmpdir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(saved >= 0 && fd >= 0);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        fn();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        assert_int_equal(read_file_bounded(path, outsz - 1, &data, &n), 0);
        memcpy(out, data, n + 1);
        free(data);
}

static void refused_then_garbled(void)
{
        struct aztoken *a = workload(NULL);
        char tok[64];

        answer(401, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700213: assertion-one\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -EACCES);
        answer(200, "{\"access_token\":\"secret-token-value\",\"expires_in\":\"later\"}");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -EBADMSG);
        aztoken_free(a);
}

static void test_errors_log_one_line_without_secrets(void **state)
{
        char log[4096];

        capture_stderr(refused_then_garbled, log, sizeof(log));
        assert_non_null(strstr(log, "HTTP 401 (invalid_client)"));
        assert_non_null(strstr(log, "expires_in"));
        assert_null(strstr(log, "assertion-one"));
        assert_null(strstr(log, "secret-token-value"));
        assert_null(strstr(log, "AADSTS"));
        /* One line per failure. */
        size_t lines = 0;

        for (const char *p = log; (p = strchr(p, '\n')); p++)
                lines++;
        assert_int_equal(lines, 2);
}

static void test_transport_errors(void **state)
{
        struct aztoken *a = workload(NULL);
        char tok[64];

        script(&(struct answer){ 0, NULL, -ECONNREFUSED }, 1);
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -ECONNREFUSED);
        answer(500, "oops");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -EPROTO);
        answer(302, "");
        assert_int_equal(aztoken_get(a, SCOPE, 1000, tok, sizeof(tok)), -EPROTO);
        assert_int_equal(aztoken_get(a, "", 1000, tok, sizeof(tok)), -EINVAL);
        assert_int_equal(aztoken_get(a, "bad scope", 1000, tok, sizeof(tok)), -EINVAL);
        aztoken_free(a);
}

/* The real libcurl transport against tests/fakes/fake_entra.py: the POST
 * form and headers as a server parses them, and the IMDS query. */
static void test_end_to_end_with_curl(void **state)
{
        char port_file[192], access[192], expected[192], url[64], tok[128], *port = NULL;
        const char *script = test_dir("FAKE_ENTRA"), *py = test_dir("PYTHON");
        const char *argv[] = { py, script, "--port-file", port_file, "--tenant", TENANT,
                         "--client-id", CLIENT, "--assertion-file", expected,
                         "--access-token-file", access, "--lifetime", "60", NULL };
        struct http_transport *curl = NULL;
        struct aztoken *a = NULL;
        size_t n;
        int st;

        snprintf(port_file, sizeof(port_file), "%s/port", tmpdir);
        snprintf(access, sizeof(access), "%s/access", tmpdir);
        snprintf(expected, sizeof(expected), "%s/expected", tmpdir);
        write_file(access, "issued-by-fake-entra\n");
        write_file(expected, "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig");
        assert_int_equal(posix_spawn(&fake_pid, py, NULL, NULL, (char *const *) argv, environ), 0);
        for (int i = 0; i < 1000 && read_file_bounded(port_file, 16, &port, &n) < 0; i++)
                nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000 * 1000 }, NULL);
        assert_non_null(port);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", atoi(port));
        free(port);
        assert_int_equal(http_curl_new(&curl), 0);

        env_workload(url);
        assert_int_equal(aztoken_new(curl, NULL, &a), 0);
        assert_int_equal(aztoken_get(a, SCOPE, time(NULL), tok, sizeof(tok)), 0);
        assert_string_equal(tok, "issued-by-fake-entra");
        /* A rotated assertion the fake does not know yet is refused. */
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.unknown.sig");
        aztoken_invalidate(a);
        assert_int_equal(aztoken_get(a, SCOPE, time(NULL), tok, sizeof(tok)), -EACCES);
        aztoken_free(a);
        write_file(token_file, "eyJhbGciOiJSUzI1NiJ9.assertion-one.sig\n");

        env_clear();
        setenv("AZURE_CLIENT_ID", CLIENT, 1);
        assert_int_equal(aztoken_new(curl, url, &a), 0);
        memset(tok, 0, sizeof(tok));
        assert_int_equal(aztoken_get(a, SCOPE, time(NULL), tok, sizeof(tok)), 0);
        assert_string_equal(tok, "issued-by-fake-entra");
        aztoken_free(a);

        http_curl_free(curl);
        assert_int_equal(kill(fake_pid, SIGTERM), 0);
        assert_int_equal(waitpid(fake_pid, &st, 0), fake_pid);
        fake_pid = 0;
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        (void) unlink(port_file);
        (void) unlink(access);
        (void) unlink(expected);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_workload_request_shape),
                cmocka_unit_test(test_workload_authority),
                cmocka_unit_test(test_workload_config_errors),
                cmocka_unit_test(test_no_source),
                cmocka_unit_test(test_managed_request_shape),
                cmocka_unit_test(test_managed_expires_on_only),
                cmocka_unit_test(test_managed_retries_429),
                cmocka_unit_test(test_cache_and_refresh_window),
                cmocka_unit_test(test_invalidate_forces_refresh),
                cmocka_unit_test(test_failed_early_refresh_keeps_valid_token),
                cmocka_unit_test(test_malformed_answers_give_no_token),
                cmocka_unit_test(test_enobufs),
                cmocka_unit_test(test_token_file_problems),
                cmocka_unit_test(test_errors_log_one_line_without_secrets),
                cmocka_unit_test(test_transport_errors),
                cmocka_unit_test(test_end_to_end_with_curl),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
