/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* Writes data as dir/<name>, or under the next free name when a restarted
 * agent reuses one; the name used in used. */
static int store_named(const char *dir, const char *name, const char *data, size_t len, char used[64])
{
        int r = copy_name(name, used);

        return r < 0 ? r : store_new(dir, used, data, len);
}

int evidence_dir_store(const char *dir, const char *name, const char *data, size_t len, uint64_t keep,
                       uint64_t max_age_s, time_t now)
{
        char used[64];
        int r;

        r = store_named(dir, name, data, len, used);
        if (r < 0)
                return r;
        r = point_latest(dir, used);
        retain(dir, keep, max_age_s, now, used);
        return r;
}

int store_dir_usable(const char *dir)
{
        char probe[PATH_MAX];
        struct stat st;
        int fd;

        if (stat(dir, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (snprintf(probe, sizeof(probe), "%s/.hostenc-probe-XXXXXX", dir) >= (int) sizeof(probe))
                return -ENAMETOOLONG;
        fd = mkostemp(probe, O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        (void) close(fd);
        (void) unlink(probe);
        return 0;
}

/* Deletes our envelopes beyond max in dir, oldest first, never `keep`. */
static uint64_t trim(const char *dir, uint64_t max, const char *keep)
{
        struct dirent **l = NULL;
        char path[PATH_MAX];
        uint64_t dropped = 0;
        int n = list(dir, &l);

        for (int i = 0, excess = n - (int) (max < (uint64_t) n ? max : (uint64_t) n); i < n && excess > 0; i++) {
                if (!strcmp(l[i]->d_name, keep))
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                if (unlink(path) == 0)
                        dropped++;
                excess--;
        }
        if (n > 0)
                free_list(l, n);
        return dropped;
}

int spool_add(const char *dir, const char *name, const char *data, size_t len, uint64_t max, uint64_t *ret_dropped)
{
        char used[64];
        int r;

        r = store_named(dir, name, data, len, used);
        if (r < 0)
                return r;
        /* Oldest first; the envelope just added is never the one dropped. */
        *ret_dropped = trim(dir, max, used);
        remove_stale_temps(dir, time(NULL));
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

enum push_outcome push_outcome_of(int transport_error, long status)
{
        if (transport_error < 0)
                return PUSH_RETRY;
        if (status >= 200 && status < 300)
                return PUSH_DELIVERED;
        switch (status) {
        case 400:       /* malformed for this collector: the same bytes stay malformed */
        case 409:       /* conflicts with what the collector holds (a replayed sequence) */
        case 413:       /* larger than the collector accepts */
        case 415:       /* media type not accepted */
        case 422:       /* failed verification: too old (max-age), unknown key, version skew */
                return PUSH_REJECTED;
        case 401:
        case 403:
                return PUSH_MISCONFIGURED;
        default:        /* 408, 425, 429, 5xx, and anything unexpected: never dropped */
                return PUSH_RETRY;
        }
}

static int push_one(const struct push_target *t, const char *data, size_t len, long *status, long *retry_after_s,
                    char *err, size_t errsz)
{
        _cleanup_secret_ char *token = NULL, *auth = NULL;
        struct http_response resp = { .retry_after_s = -1 };
        const char *headers[3] = { "Content-Type: application/vnd.in-toto+dsse+json", NULL, NULL };
        size_t n;
        int r;

        *status = 0;
        *retry_after_s = -1;
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
        if (r == 0) {
                *status = resp.status;
                *retry_after_s = resp.retry_after_s;
        }
        if (r < 0 || resp.status < 200 || resp.status >= 300)
                snprintf(err, errsz, "POST %s: %s%ld", t->url, r < 0 ? strerror(-r) : "HTTP ", r < 0 ? 0L : resp.status);
        return r;
}

/* Moves dir/name to dir/rejected/ without replacing an earlier one of the
 * same name (a restarted agent reuses names), then trims that directory. */
static int move_aside(const char *dir, const char *name, uint64_t keep)
{
        char from[PATH_MAX], aside[PATH_MAX], to[PATH_MAX], used[64];
        size_t stem = strlen(name) - strlen(".json");

        if (snprintf(from, sizeof(from), "%s/%s", dir, name) >= (int) sizeof(from) ||
            snprintf(aside, sizeof(aside), "%s/" SPOOL_REJECTED_DIR, dir) >= (int) sizeof(aside))
                return -ENAMETOOLONG;
        if (mkdir(aside, 0700) < 0 && errno != EEXIST)
                return negative_errno();
        for (unsigned k = 1; k < 100; k++) {
                if (k == 1)
                        snprintf(used, sizeof(used), "%s", name);
                else
                        snprintf(used, sizeof(used), "%.*s_%02u.json", (int) stem, name, k);
                if (snprintf(to, sizeof(to), "%s/%s", aside, used) >= (int) sizeof(to))
                        return -ENAMETOOLONG;
                if (link(from, to) == 0) {
                        (void) unlink(from);
                        (void) trim(aside, keep, used);
                        return 0;
                }
                if (errno != EEXIST)
                        return negative_errno();
        }
        return -EEXIST;
}

int spool_flush(const char *dir, const struct push_target *t, uint64_t keep_rejected, struct spool_result *ret,
                char *err, size_t errsz)
{
        struct spool_result res = { .stopped = PUSH_DELIVERED, .retry_after_s = -1 };
        struct dirent **l = NULL;
        char path[PATH_MAX];
        int n = list(dir, &l), r = 0;

        if (n < 0)
                return n;
        for (int i = 0; i < n && r == 0; i++) {
                _cleanup_free_ char *data = NULL;
                enum push_outcome o;
                long status = 0;
                size_t len;
                int k;

                snprintf(path, sizeof(path), "%s/%s", dir, l[i]->d_name);
                if (read_file_bounded(path, PUSH_MAX_ENVELOPE, &data, &len) < 0) {
                        (void) unlink(path);    /* unreadable or oversized: never deliverable */
                        continue;
                }
                k = push_one(t, data, len, &status, &res.retry_after_s, err, errsz);
                o = push_outcome_of(k, status);         /* after push_one has set status */
                if (o == PUSH_DELIVERED) {
                        (void) unlink(path);
                        res.delivered++;
                } else if (o == PUSH_REJECTED && move_aside(dir, l[i]->d_name, keep_rejected) == 0) {
                        if (t->rejected)
                                t->rejected(t->userdata, l[i]->d_name, err);
                        res.rejected++;
                } else {
                        res.stopped = o == PUSH_REJECTED ? PUSH_RETRY : o;
                        r = -EAGAIN;
                }
        }
        if (n > 0)
                free_list(l, n);
        *ret = res;
        return r;
}
