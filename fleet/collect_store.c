/* SPDX-License-Identifier: Apache-2.0 */
/* The collector's append-only store; the layout and the crash rules are in
 * collect_store.h and docs/collector.md. */
#include "collect_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "collect_index.h"
#include "collect_tables.h"
#include "crypto.h"
#include "durable.h"
#include "macro.h"
#include "strparse.h"
#include "timeutil.h"

#define INDEX_NAME "index.jsonl"
#define INDEX_LINE_MAX (8 * 1024)

/* ---- the store ------------------------------------------------------------------ */

struct key_head {
        uint64_t sequence;
        uint8_t digest[32];
};

struct cstore {
        char *dir;
        int lock_fd, index_fd;
        uint64_t index_size;
        bool broken;                    /* a commit failed: no more commits */
        struct dtab digests;
        struct strtab vms, keys;
        struct key_head *heads;         /* parallel to keys */
        uint32_t heads_cap;
        uint64_t bytes;
};

static int bad(char *err, size_t errsz, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t errsz, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
        return r;
}

/* mkdir, and make the new entry durable in its parent. */
static int ensure_dir(const char *path, const char *parent)
{
        if (mkdir(path, 0755) == 0)
                return fsync_path(parent);
        return errno == EEXIST ? 0 : negative_errno();
}

static int set_head(struct cstore *s, int64_t key, uint64_t seq, const uint8_t digest[32])
{
        if ((uint32_t) key >= s->heads_cap) {
                uint32_t cap = s->heads_cap ? s->heads_cap * 2 : 64;
                struct key_head *h;

                while (cap <= (uint32_t) key)
                        cap *= 2;
                h = realloc(s->heads, cap * sizeof(*h));
                if (!h)
                        return -ENOMEM;
                s->heads = h;
                s->heads_cap = cap;
        }
        s->heads[key].sequence = seq;
        memcpy(s->heads[key].digest, digest, 32);
        return 0;
}

/* The state after one more acknowledged envelope, at open or live. */
static int remember(struct cstore *s, const uint8_t digest[32], const char *vm_id, const char *key_id, uint64_t seq,
                    enum chain_status chain, uint64_t bytes)
{
        struct drec r = { .sequence = seq, .chain = (uint8_t) chain };
        int64_t vm, key;
        bool fresh;

        memcpy(r.digest, digest, 32);
        vm = strtab_intern(&s->vms, vm_id, &fresh);
        key = strtab_intern(&s->keys, key_id, &fresh);
        if (vm < 0 || key < 0)
                return -ENOMEM;
        r.vm = (uint32_t) vm;
        if (dtab_add(&s->digests, &r) < 0)
                return -ENOMEM;
        /* A replay never moves the chain head back. */
        if (chain != CHAIN_REPLAY && set_head(s, key, seq, digest) < 0)
                return -ENOMEM;
        s->bytes += bytes;
        return 0;
}

static int parse_line(struct cstore *s, const char *line, size_t len)
{
        struct cindex_rec rec;
        int r = cindex_parse_line(line, len, &rec);

        if (r < 0)
                return r;
        return remember(s, rec.digest, rec.vm_id, rec.key_id, rec.sequence, rec.chain, rec.bytes);
}

/* Reads the index; a last line without its newline was never acknowledged
 * (the crash came before its fsync): it is cut off. */
static int load_index(struct cstore *s, char *err, size_t errsz)
{
        _cleanup_free_ char *line = NULL;
        size_t cap = 0, lineno = 0;
        uint64_t good = 0;
        ssize_t n;
        FILE *f;
        int fd = dup(s->index_fd);

        if (fd < 0 || !(f = fdopen(fd, "r"))) {
                if (fd >= 0)
                        close(fd);
                return bad(err, errsz, negative_errno(), INDEX_NAME ": %s", strerror(errno));
        }
        while ((n = getline(&line, &cap, f)) > 0) {
                lineno++;
                if (line[n - 1] != '\n')
                        break;  /* torn */
                if (parse_line(s, line, (size_t) n - 1) < 0) {
                        fclose(f);
                        return bad(err, errsz, -EBADMSG, INDEX_NAME " line %zu: not an index entry; the store "
                                   "needs repair (see docs/collector.md)", lineno);
                }
                good += (uint64_t) n;
        }
        fclose(f);
        s->index_size = good;
        if (lseek(s->index_fd, 0, SEEK_END) > (off_t) good &&
            (ftruncate(s->index_fd, (off_t) good) < 0 || fsync(s->index_fd) < 0))
                return bad(err, errsz, negative_errno(), INDEX_NAME ": cannot cut the torn last line: %s",
                           strerror(errno));
        return 0;
}

/* Temporary files of writes a crash interrupted: never acknowledged. */
static void remove_temp_files(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        char path[PATH_MAX];
        struct stat st;

        if (!d)
                return;
        while ((e = readdir(d))) {
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
                if (durable_is_temp(e->d_name)) {
                        (void) unlink(path);
                        continue;
                }
                if (strlen(e->d_name) != 2)
                        continue;
                if (e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
                        remove_temp_files(path);
        }
        closedir(d);
}

static int open_layout(struct cstore *s, char *err, size_t errsz)
{
        static const char *const subdirs[] = { "objects", "vm", "summaries" };
        char path[PATH_MAX];
        int r;

        if (mkdir(s->dir, 0755) < 0 && errno != EEXIST)
                return bad(err, errsz, negative_errno(), "%s: %s", s->dir, strerror(errno));
        snprintf(path, sizeof(path), "%s/.lock", s->dir);
        s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (s->lock_fd < 0)
                return bad(err, errsz, negative_errno(), "%s: %s", path, strerror(errno));
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0)
                return bad(err, errsz, errno == EWOULDBLOCK ? -EBUSY : negative_errno(),
                           "%s: in use by another collector", s->dir);
        for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
                snprintf(path, sizeof(path), "%s/%s", s->dir, subdirs[i]);
                r = ensure_dir(path, s->dir);
                /* Entries an earlier run created become durable now. */
                if (r == 0)
                        r = fsync_path(path);
                if (r < 0)
                        return bad(err, errsz, r, "%s: %s", path, strerror(-r));
        }
        snprintf(path, sizeof(path), "%s/objects", s->dir);
        remove_temp_files(path);
        snprintf(path, sizeof(path), "%s/summaries", s->dir);
        remove_temp_files(path);
        snprintf(path, sizeof(path), "%s/" INDEX_NAME, s->dir);
        s->index_fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (s->index_fd < 0)
                return bad(err, errsz, negative_errno(), "%s: %s", path, strerror(errno));
        r = fsync_path(s->dir);
        return r < 0 ? bad(err, errsz, r, "%s: %s", s->dir, strerror(-r)) : 0;
}

int cstore_open(const char *dir, struct cstore **ret, char *err, size_t errsz)
{
        struct cstore *s = calloc(1, sizeof(*s));
        int r;

        if (!s || !(s->dir = strdup(dir))) {
                free(s);
                return bad(err, errsz, -ENOMEM, "out of memory");
        }
        s->lock_fd = s->index_fd = -EBADF;
        if (getrandom(&s->digests.salt, sizeof(s->digests.salt), 0) != sizeof(s->digests.salt))
                s->digests.salt = (uint64_t) time(NULL) ^ (uint64_t) getpid();
        r = open_layout(s, err, errsz);
        if (r == 0)
                r = load_index(s, err, errsz);
        if (r < 0) {
                cstore_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

void cstore_close(struct cstore *s)
{
        if (!s)
                return;
        if (s->index_fd >= 0) {
                (void) fsync(s->index_fd);
                close(s->index_fd);
        }
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->digests.recs);
        strtab_done(&s->vms);
        strtab_done(&s->keys);
        free(s->heads);
        free(s->dir);
        free(s);
}

bool cstore_lookup(const struct cstore *s, const char sha256[65], struct cstore_entry *ret)
{
        const struct drec *r;
        uint8_t d[32];

        char hex[65];

        if (hex_decode(sha256, d, 32) < 0 || !(r = dtab_get(&s->digests, d)))
                return false;
        memcpy(hex, sha256, sizeof(hex));       /* sha256 may point into *ret */
        *ret = (struct cstore_entry){ .sequence = r->sequence, .chain = (enum chain_status) r->chain };
        memcpy(ret->sha256, hex, sizeof(hex));
        (void) strcpy_bounded(ret->vm_id, sizeof(ret->vm_id), s->vms.strs[r->vm]);
        return true;
}

enum chain_status cstore_chain(const struct cstore *s, const char *key_id, uint64_t sequence, const char *previous)
{
        int64_t k = strtab_find(&s->keys, key_id);
        const struct key_head *h;
        uint8_t prev[32];

        if (k < 0)
                return CHAIN_FIRST;
        h = &s->heads[k];
        if (sequence <= h->sequence)
                return CHAIN_REPLAY;
        if (sequence == h->sequence + 1 && previous && strlen(previous) == 64 && hex_decode(previous, prev, 32) == 0 &&
            !memcmp(prev, h->digest, 32))
                return CHAIN_OK;
        return CHAIN_GAP;
}

static void compact_time(const char *rfc3339, char out[32])
{
        size_t j = 0;

        for (size_t i = 0; rfc3339[i] && j < 31; i++)
                if ((rfc3339[i] >= '0' && rfc3339[i] <= '9') || rfc3339[i] == 'T' || rfc3339[i] == 'Z')
                        out[j++] = rfc3339[i];
        out[j] = '\0';
}

int cstore_vm_entry(char *out, size_t n, const char *vm_id, const char *observed_at, uint64_t sequence,
                    const char *sha256_hex)
{
        char when[32];

        compact_time(observed_at, when);
        return snprintf(out, n, "vm/%s/%s-%06llu-%.64s.json", vm_id, when, (unsigned long long) sequence,
                        sha256_hex);
}

struct cstore_staged {
        char *obj_dir, *obj, *obj_tmp;
        char *vm_dir, *vm_link;
        char *sum, *sum_tmp;            /* NULL without a summary */
        bool new_obj_dir, new_vm_dir;   /* their parents need an fsync too */
        char *line;
        bool committed;
};

void cstore_staged_free(struct cstore_staged *st)
{
        if (!st)
                return;
        if (!st->committed) {
                if (st->obj_tmp)
                        (void) unlink(st->obj_tmp);
                if (st->sum_tmp)
                        (void) unlink(st->sum_tmp);
        }
        free(st->obj_dir);
        free(st->obj);
        free(st->obj_tmp);
        free(st->vm_dir);
        free(st->vm_link);
        free(st->sum);
        free(st->sum_tmp);
        free(st->line);
        free(st);
}

static int make_dir(const char *path, bool *ret_new)
{
        *ret_new = mkdir(path, 0755) == 0;
        return *ret_new || errno == EEXIST ? 0 : negative_errno();
}

/* Lines, all or nothing: a failed append is cut off again, so that no
 * line ever follows a torn one. */
static int append_index(struct cstore *s, const char *line, size_t len)
{
        int r = write_all(s->index_fd, line, len);

        if (r == 0 && fdatasync(s->index_fd) < 0)
                r = negative_errno();
        if (r < 0) {
                /* If even that fails, the restart that a failed commit needs cuts the torn line. */
                if (ftruncate(s->index_fd, (off_t) s->index_size) == 0)
                        (void) fdatasync(s->index_fd);
                return r;
        }
        s->index_size += len;
        return 0;
}

int cstore_stage(struct cstore *s, const struct cstore_entry *e, const char *data, size_t len, const char *summary,
                 size_t summary_len, struct cstore_staged **ret, char *err, size_t errsz)
{
        struct cstore_staged *st;
        uint8_t digest[32];
        char entry[256];
        int r;

        if (!cindex_hex64(e->sha256) || hex_decode(e->sha256, digest, 32) < 0 || !cindex_safe_name(e->vm_id))
                return bad(err, errsz, -EINVAL, "refusing to store: digest or vmId unusable as a file name");
        if ((size_t) cstore_vm_entry(entry, sizeof(entry), e->vm_id, e->observed_at, e->sequence, e->sha256) >=
            sizeof(entry))
                return bad(err, errsz, -EINVAL, "refusing to store: name too long");
        st = calloc(1, sizeof(*st));
        if (!st)
                return bad(err, errsz, -ENOMEM, "out of memory");
        if (asprintf(&st->obj_dir, "%s/objects/%.2s", s->dir, e->sha256) < 0 ||
            asprintf(&st->obj, "%s/%s.json", st->obj_dir, e->sha256) < 0 ||
            asprintf(&st->vm_dir, "%s/vm/%s", s->dir, e->vm_id) < 0 ||
            asprintf(&st->vm_link, "%s/%s", s->dir, entry) < 0 ||
            (summary && asprintf(&st->sum, "%s/summaries/%s.json", s->dir, e->sha256) < 0) ||
            !(st->line = cindex_format_line(e))) {
                cstore_staged_free(st);
                return bad(err, errsz, -ENOMEM, "out of memory");
        }
        r = make_dir(st->obj_dir, &st->new_obj_dir);
        if (r == 0)
                r = make_dir(st->vm_dir, &st->new_vm_dir);
        if (r < 0) {
                cstore_staged_free(st);
                return bad(err, errsz, r, "directory for %s: %s", e->sha256, strerror(-r));
        }
        r = durable_temp(st->obj, data, len, &st->obj_tmp);
        if (r == 0 && summary)
                r = durable_temp(st->sum, summary, summary_len, &st->sum_tmp);
        if (r == 0)
                r = remember(s, digest, e->vm_id, e->key_id, e->sequence, e->chain, e->bytes);
        if (r < 0) {
                cstore_staged_free(st);
                return bad(err, errsz, r, "writing %s: %s", e->sha256, strerror(-r));
        }
        *ret = st;
        return 0;
}

/* Each directory once per commit. */
static int fsync_dir_once(const char *path, char *err, size_t errsz)
{
        int r = fsync_path(path);

        return r < 0 ? bad(err, errsz, r, "fsync %s: %s", path, strerror(-r)) : 0;
}

static int fsync_dirs(struct cstore *s, struct cstore_staged *const *items, size_t n, char *err, size_t errsz)
{
        char objects[PATH_MAX], vms[PATH_MAX], sums[PATH_MAX];
        bool new_obj = false, new_vm = false, any_sum = false;
        int r;

        snprintf(objects, sizeof(objects), "%s/objects", s->dir);
        snprintf(vms, sizeof(vms), "%s/vm", s->dir);
        snprintf(sums, sizeof(sums), "%s/summaries", s->dir);
        for (size_t i = 0; i < n; i++) {
                new_obj |= items[i]->new_obj_dir;
                new_vm |= items[i]->new_vm_dir;
                any_sum |= items[i]->sum != NULL;
        }
        if ((new_obj && (r = fsync_dir_once(objects, err, errsz)) < 0) ||
            (new_vm && (r = fsync_dir_once(vms, err, errsz)) < 0) || (any_sum && (r = fsync_dir_once(sums, err, errsz)) < 0))
                return r;
        for (size_t i = 0; i < n; i++) {
                bool seen_obj = false, seen_vm = false;

                for (size_t j = 0; j < i && !(seen_obj && seen_vm); j++) {
                        seen_obj |= !strcmp(items[j]->obj_dir, items[i]->obj_dir);
                        seen_vm |= !strcmp(items[j]->vm_dir, items[i]->vm_dir);
                }
                if ((!seen_obj && (r = fsync_dir_once(items[i]->obj_dir, err, errsz)) < 0) ||
                    (!seen_vm && (r = fsync_dir_once(items[i]->vm_dir, err, errsz)) < 0))
                        return r;
        }
        return 0;
}

static int commit(struct cstore *s, struct cstore_staged *const *items, size_t n, char *err, size_t errsz)
{
        _cleanup_(buf_done) struct buf lines = BUF_INIT(SIZE_MAX / 2);
        const char *failed = NULL;
        int r;

        /* 1. The bytes, before any name points at them. */
        for (size_t i = 0; i < n; i++)
                if ((r = fsync_path(failed = items[i]->obj_tmp)) < 0 ||
                    (items[i]->sum_tmp && (r = fsync_path(failed = items[i]->sum_tmp)) < 0))
                        return bad(err, errsz, r, "fsync %s: %s", failed, strerror(-r));
        /* 2. The names. An object left by an earlier crash holds the same bytes. */
        for (size_t i = 0; i < n; i++) {
                struct cstore_staged *st = items[i];

                if (rename(failed = st->obj_tmp, st->obj) < 0 ||
                    (link(failed = st->obj, st->vm_link) < 0 && errno != EEXIST) ||
                    (st->sum_tmp && rename(failed = st->sum_tmp, st->sum) < 0))
                        return bad(err, errsz, negative_errno(), "%s: %s", failed, strerror(errno));
                st->committed = true;
        }
        /* 3. The names made durable. */
        r = fsync_dirs(s, items, n, err, errsz);
        if (r < 0)
                return r;
        /* 4. The commit point: the index lines, all or none. */
        for (size_t i = 0; i < n; i++)
                if ((r = buf_append(&lines, items[i]->line, strlen(items[i]->line))) < 0)
                        return bad(err, errsz, r, "out of memory");
        r = append_index(s, lines.data, lines.len);
        return r < 0 ? bad(err, errsz, r, INDEX_NAME ": %s", strerror(-r)) : 0;
}

int cstore_commit(struct cstore *s, struct cstore_staged *const *items, size_t n, char *err, size_t errsz)
{
        int r;

        if (s->broken)
                return bad(err, errsz, -EIO, "an earlier commit failed; restart to rebuild the state from the index");
        if (n == 0)
                return 0;
        r = commit(s, items, n, err, errsz);
        if (r < 0)
                s->broken = true;
        return r;
}

uint64_t cstore_envelopes(const struct cstore *s)
{
        return s->digests.n;
}

uint64_t cstore_bytes(const struct cstore *s)
{
        return s->bytes;
}

uint64_t cstore_keys(const struct cstore *s)
{
        return s->keys.n;
}

const char *cstore_dir(const struct cstore *s)
{
        return s->dir;
}
