/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "evidence.h"
#include "fileio.h"
#include "macro.h"
#include "strparse.h"

#define PUSH_MAX_ENVELOPE (4 * 1024 * 1024)

void store_name(time_t when, uint64_t sequence, char out[64])
{
        struct tm tm;

        if (!gmtime_r(&when, &tm))
                memset(&tm, 0, sizeof(tm));
        snprintf(out, 64, STORE_PREFIX "%04d%02d%02dT%02d%02d%02dZ-%06llu.json", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned long long) sequence);
}

static int ours(const struct dirent *d)
{
        size_t n = strlen(d->d_name);

        return startswith(d->d_name, STORE_PREFIX) && n > 5 && !strcmp(d->d_name + n - 5, ".json");
}

/* Our envelopes in name order (oldest first). */
static int list(const char *dir, struct dirent ***ret)
{
        int n = scandir(dir, ret, ours, alphasort);

        return n < 0 ? negative_errno() : n;
}

static void free_list(struct dirent **l, int n)
{
        for (int i = 0; i < n; i++)
                free(l[i]);
        free(l);
}

static int point_latest(const char *dir, const char *name)
{
        char tmp[PATH_MAX], link[PATH_MAX];

        snprintf(tmp, sizeof(tmp), "%s/.latest.json.tmp", dir);
        snprintf(link, sizeof(link), "%s/latest.json", dir);
        (void) unlink(tmp);
        if (symlink(name, tmp) < 0)
                return negative_errno();
        if (rename(tmp, link) < 0) {
                int r = negative_errno();

                (void) unlink(tmp);
                return r;
        }
        return 0;
}

/* Temp files of a write that never finished (the agent was killed
 * between mkostemp and rename); our own writes finish within the call. */
#define STALE_TEMP_S 60

static int temp(const struct dirent *d)
{
        return startswith(d->d_name, STORE_PREFIX) && strstr(d->d_name, ".json.tmp.") != NULL;
}

static void remove_stale_temps(const char *dir, time_t now)
{
        struct dirent **l = NULL;
        char path[PATH_MAX];
        int n = scandir(dir, &l, temp, alphasort);
        struct stat st;

        for (int i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime <= now - STALE_TEMP_S)
                        (void) unlink(path);
        }
        if (n > 0)
                free_list(l, n);
}

/* Writes dir/<name> without replacing anything: a restarted agent starts
 * again at sequence 1, so two envelopes can get one name in one second.
 * The later one is then stored as <name minus .json>_NN.json, which sorts
 * after the first. `name` becomes the name used. */
static int store_new(const char *dir, char name[64], const char *data, size_t len)
{
        size_t stem = strlen(name) - strlen(".json");
        char path[PATH_MAX], alt[64];
        int r;

        for (unsigned k = 1; k < 100; k++) {
                if (k == 1)
                        snprintf(alt, sizeof(alt), "%s", name);
                else
                        snprintf(alt, sizeof(alt), "%.*s_%02u.json", (int) stem, name, k);
                if (snprintf(path, sizeof(path), "%s/%s", dir, alt) >= (int) sizeof(path))
                        return -ENAMETOOLONG;
                r = durable_write(path, data, len, false);
                if (r != -EEXIST) {
                        if (r == 0)
                                memcpy(name, alt, sizeof(alt));
                        return r;
                }
        }
        return -EEXIST;
}

static int copy_name(const char *name, char out[64])
{
        size_t n = strlen(name);

        if (n < strlen(".json") || strcmp(name + n - 5, ".json") != 0)
                return -EINVAL;
        if (n + strlen("_NN") >= 64)
                return -ENAMETOOLONG;
        memcpy(out, name, n + 1);
        return 0;
}

static void retain(const char *dir, uint64_t keep, uint64_t max_age_s, time_t now, const char *newest)
{
        struct dirent **l = NULL;
        char path[PATH_MAX];
        int n = list(dir, &l);
        struct stat st;

        for (int i = 0; i < n; i++) {
                bool too_many = (uint64_t) (n - i) > keep;

                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                /* The newest envelope is never deleted, whatever its age: the
                 * last by name, and the one just written (after the clock
                 * went back, its name sorts before older ones). */
                if (i < n - 1 && strcmp(l[i]->d_name, newest) != 0 &&
                    (too_many || (stat(path, &st) == 0 && now - st.st_mtime > (time_t) max_age_s)))
                        (void) unlink(path);
        }
        if (n > 0)
                free_list(l, n);
        remove_stale_temps(dir, now);
}

int evidence_dir_store(const char *dir, const char *name, const char *data, size_t len, uint64_t keep,
                       uint64_t max_age_s, time_t now)
{
        char used[64];
        int r;

        r = copy_name(name, used);
        if (r < 0)
                return r;
        r = store_new(dir, used, data, len);
        if (r < 0)
                return r;
        r = point_latest(dir, used);
        retain(dir, keep, max_age_s, now, used);
        return r;
}

int spool_add(const char *dir, const char *name, const char *data, size_t len, uint64_t max, uint64_t *ret_dropped)
{
        struct dirent **l = NULL;
        char path[PATH_MAX], used[64];
        uint64_t dropped = 0;
        int n, r;

        r = copy_name(name, used);
        if (r < 0)
                return r;
        r = store_new(dir, used, data, len);
        if (r < 0)
                return r;
        n = list(dir, &l);
        /* Oldest first; the envelope just added is never the one dropped. */
        for (int i = 0, excess = n - (int) (max < (uint64_t) n ? max : (uint64_t) n); i < n && excess > 0; i++) {
                if (!strcmp(l[i]->d_name, used))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                if (unlink(path) == 0)
                        dropped++;
                excess--;
        }
        remove_stale_temps(dir, time(NULL));
        if (n > 0)
                free_list(l, n);
        *ret_dropped = dropped;
        return 0;
}

uint64_t spool_count(const char *dir)
{
        struct dirent **l = NULL;
        int n = list(dir, &l);

        if (n <= 0)
                return 0;
        free_list(l, n);
        return (uint64_t) n;
}

static int push_one(const struct push_target *t, const char *data, size_t len, char *err, size_t errsz)
{
        _cleanup_secret_ char *token = NULL, *auth = NULL;
        struct http_response resp = { .retry_after_s = -1 };
        const char *headers[3] = { "Content-Type: application/vnd.in-toto+dsse+json", NULL, NULL };
        size_t n;
        int r;

        if (t->token_file && *t->token_file) {
                r = read_file_secret(t->token_file, 16 * 1024, &token, &n);
                if (r < 0 || asprintf(&auth, "Authorization: Bearer %s", strstrip(token)) < 0) {
                        snprintf(err, errsz, "push token %s: %s", t->token_file, strerror(r < 0 ? -r : ENOMEM));
                        return r < 0 ? r : -ENOMEM;
                }
                headers[1] = auth;
        }
        struct http_request req = {
                .method = "POST", .url = t->url, .headers = headers, .body = data, .body_len = len,
                .max_body = 64 * 1024, .connect_timeout_ms = 5000, .timeout_ms = 30000,
                .ca_file = t->ca_file && *t->ca_file ? t->ca_file : NULL,
                .client_cert = t->client_cert && *t->client_cert ? t->client_cert : NULL,
                .client_key = t->client_key && *t->client_key ? t->client_key : NULL,
        };
        r = t->http->request(t->http->userdata, &req, &resp);
        http_response_done(&resp);
        if (r < 0 || resp.status < 200 || resp.status >= 300) {
                snprintf(err, errsz, "POST %s: %s%ld", t->url, r < 0 ? strerror(-r) : "HTTP ", r < 0 ? 0L : resp.status);
                return r < 0 ? r : -EPROTO;
        }
        return 0;
}

int spool_flush(const char *dir, const struct push_target *t, char *err, size_t errsz)
{
        struct dirent **l = NULL;
        char path[PATH_MAX];
        int n = list(dir, &l), delivered = 0, r = 0;

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *data = NULL;
                size_t len;

                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                r = read_file_bounded(path, PUSH_MAX_ENVELOPE, &data, &len);
                if (r < 0) {
                        (void) unlink(path);    /* unreadable or oversized: never deliverable */
                        continue;
                }
                r = push_one(t, data, len, err, errsz);
                if (r < 0)
                        break;
                (void) unlink(path);
                delivered++;
        }
        if (n > 0)
                free_list(l, n);
        return delivered == 0 && r < 0 ? r : delivered;
}
