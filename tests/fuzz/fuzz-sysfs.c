/* SPDX-License-Identifier: Apache-2.0 */
/* sysfs attributes and the host-root path walk. The host root is the node's
 * own sysfs, read through a read-only mount; a compromised node or a buggy
 * driver can put anything in an attribute, and a symlink can point anywhere.
 *
 * Every input goes through the attribute parsers (parse_u64, parse_u32,
 * parse_devnum, parse_duration, hex_decode, strstrip, str_is_guid) and
 * utf8_sanitize, which json_print applies to everything emitted. The
 * first byte then selects one more exercise:
 *   0: parsers only;
 *   1: the rest is the content of a sysfs file read by sysroot_read_attr
 *      with a buffer size from the second byte;
 *   2: the rest is a root-relative path resolved by sysroot_resolve in a
 *      small tree of hostile symlinks (absolute, "..", loops);
 *   3: the rest, split at '|', replaces the OS disk's size, dev, model,
 *      vendor, partition size and VMBus device_id in a copy of the d4sv5
 *      fixture host root ("" keeps the fixture's value, "~" writes an empty
 *      file, "-" deletes the file); blockdev_collect and the
 *      policy then run on it.
 *
 * Properties: parsers round-trip what they accept; read_attr results fit
 * and are stripped; a resolved path never leaves the root; an OS disk whose
 * size, dev, model or vendor is missing or not what Azure gives never
 * yields a compliant verdict. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blockdev.h"
#include "crypto.h"
#include "imds.h"
#include "policy.h"
#include "strparse.h"
#include "sysroot.h"

#ifndef FUZZ_HOSTROOTS
#define FUZZ_HOSTROOTS ""
#endif
#ifndef FUZZ_IMDS_FIXTURES
#define FUZZ_IMDS_FIXTURES ""
#endif

static char tmpdir[PATH_MAX] = "";      /* holds attr/, tree/ and host/ */
static char tree_real[PATH_MAX];
static struct sysroot attr_root = { -EBADF }, tree_root = { -EBADF }, host_root = { -EBADF };
static struct imds_compute *compute;   /* d4sv5.json, for mode 3 */

#define SDA "sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0004:00/VMBUS:00/f8b3781a-1e82-4818-a1c3-63d806ec15bb"
static const char *const host_files[] = {
        SDA "/host0/target0:0:0/0:0:0:0/block/sda/size",
        SDA "/host0/target0:0:0/0:0:0:0/block/sda/dev",
        SDA "/host0/target0:0:0/0:0:0:0/model",
        SDA "/host0/target0:0:0/0:0:0:0/vendor",
        SDA "/host0/target0:0:0/0:0:0:0/block/sda/sda1/size",
        SDA "/device_id",
};
#define N_HOST_FILES (sizeof(host_files) / sizeof(host_files[0]))
static char *host_orig[N_HOST_FILES];

static void cleanup(void)
{
        char cmd[PATH_MAX + 16];

        if (tmpdir[0]) {
                FUZZ_FMT(cmd, "rm -rf '%s'", tmpdir);
                if (system(cmd) != 0)
                        fprintf(stderr, "fuzz-sysfs: could not remove %s\n", tmpdir);
        }
}

static void put(const char *dir, const char *rel, const void *p, size_t n)
{
        char path[PATH_MAX];
        int fd;

        FUZZ_FMT(path, "%s/%s", dir, rel);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || (n && write(fd, p, n) != (ssize_t) n))
                abort();
        close(fd);
}

static char *slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *p = malloc(1 << 20);
        size_t n;

        if (!f || !p)
                abort();
        n = fread(p, 1, (1 << 20) - 1, f);
        fclose(f);
        p[n] = '\0';
        if (len)
                *len = n;
        return p;
}

static void setup_tree(void)
{
        char path[PATH_MAX];
        static const struct { const char *link, *target; } links[] = {
                { "tree/up", "../../../../../.." },
                { "tree/abs", "/tree/a" },
                { "tree/escape", "/../../../../etc/passwd" },
                { "tree/loop", "loop" },
                { "tree/a/b/back", "../../a" },
                { "tree/a/dotdot", "../.." },
                { "tree/chain1", "chain2" },
                { "tree/chain2", "a/b/file" },
        };

        FUZZ_FMT(path, "%s/tree/a/b", tmpdir);
        FUZZ_FMT(tree_real, "mkdir -p '%s'", path);
        if (system(tree_real) != 0)
                abort();
        put(tmpdir, "tree/a/b/file", "x\n", 2);
        for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
                FUZZ_FMT(path, "%s/%s", tmpdir, links[i].link);
                if (symlink(links[i].target, path) < 0)
                        abort();
        }
        /* The tree's root is tmpdir itself: links climb out of tree/ on purpose. */
        if (!realpath(tmpdir, tree_real) || sysroot_open(tmpdir, &tree_root) < 0)
                abort();
}

static void setup_host(void)
{
        const char *roots = getenv("HOSTROOTS"), *fixtures = getenv("IMDS_FIXTURES");
        char cmd[3 * PATH_MAX], path[PATH_MAX], err[256], *json;
        size_t len;

        roots = roots && *roots ? roots : FUZZ_HOSTROOTS;
        fixtures = fixtures && *fixtures ? fixtures : FUZZ_IMDS_FIXTURES;
        FUZZ_FMT(path, "%s/d4sv5/sys/block", roots);
        if (!*roots || access(path, F_OK) < 0) {
                fprintf(stderr, "fuzz-sysfs: no fixture host roots (HOSTROOTS); mode 3 disabled\n");
                return;
        }
        FUZZ_FMT(cmd, "cp -a '%s/d4sv5' '%s/host'", roots, tmpdir);
        if (system(cmd) != 0)
                abort();
        FUZZ_FMT(path, "%s/host", tmpdir);
        if (sysroot_open(path, &host_root) < 0)
                abort();
        for (size_t i = 0; i < N_HOST_FILES; i++) {
                FUZZ_FMT(path, "%s/host/%s", tmpdir, host_files[i]);
                host_orig[i] = slurp(path, NULL);
        }
        FUZZ_FMT(path, "%s/d4sv5.json", fixtures);
        json = slurp(path, &len);
        compute = calloc(1, sizeof(*compute));
        if (!compute || imds_compute_parse(json, len, compute, err, sizeof(err)) < 0)
                abort();
        free(json);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        const char *base = getenv("TMPDIR");

        snprintf(tmpdir, sizeof(tmpdir), "%s/hostenc-fuzz-sysfs.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir))
                abort();
        atexit(cleanup);
        FUZZ_FMT(tree_real, "mkdir -p '%s/attr'", tmpdir);
        if (system(tree_real) != 0)
                abort();
        FUZZ_FMT(tree_real, "%s/attr", tmpdir);
        if (sysroot_open(tree_real, &attr_root) < 0)
                abort();
        setup_tree();
        setup_host();
        return 0;
}

static void parsers(const char *s)
{
        uint64_t v, d;
        uint32_t v32;
        unsigned maj, min;
        uint8_t bytes[64];
        char buf[96], hex[129], *copy, *st;
        size_t n = strlen(s);

        if (parse_u64(s, &v) == 0) {
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) v);
                FUZZ_ASSERT(parse_u64(buf, &d) == 0 && d == v);
                FUZZ_ASSERT(parse_u32(s, &v32) == (v > UINT32_MAX ? -ERANGE : 0));
        }
        if (parse_devnum(s, &maj, &min) == 0) {
                snprintf(buf, sizeof(buf), "%u:%u", maj, min);
                FUZZ_ASSERT(parse_devnum(buf, &maj, &min) == 0);
        }
        for (int zero = 0; zero < 2; zero++)
                if (parse_duration(s, zero, &v) == 0) {
                        char out[24];

                        FUZZ_ASSERT(v <= UINT32_MAX && (zero || v > 0));
                        format_duration(v, out);
                        FUZZ_ASSERT(parse_duration(out, true, &d) == 0 && d == v);
                }
        if (n % 2 == 0 && n / 2 <= sizeof(bytes) && hex_decode(s, bytes, n / 2) == 0) {
                hex_encode(bytes, n / 2, hex);
                FUZZ_ASSERT(strcasecmp(hex, s) == 0);
        }
        copy = strdup(s);
        if (!copy)
                abort();
        st = strstrip(copy);
        FUZZ_ASSERT(strlen(st) <= n);
        (void) str_is_guid(st);
        /* What json_print emits: same length, then nothing left to fix. */
        n = strlen(st);
        (void) utf8_sanitize(st);
        FUZZ_ASSERT(strlen(st) == n && utf8_sanitize(st) == 0);
        free(copy);
}

static void read_attr(const uint8_t *data, size_t size, size_t bufsz)
{
        char *buf = malloc(bufsz);
        size_t n;
        int r;

        if (!buf)
                abort();
        put(tmpdir, "attr/value", data, size);
        r = sysroot_read_attr(&attr_root, "value", buf, bufsz);
        if (r == 0) {
                n = strlen(buf);
                FUZZ_ASSERT(n < bufsz && n <= size);
                FUZZ_ASSERT(n == 0 || (buf[0] != ' ' && buf[0] != '\n' && buf[n - 1] != ' ' && buf[n - 1] != '\n'));
        } else
                FUZZ_ASSERT(r == -E2BIG);
        free(buf);
}

static void resolve(const char *rel)
{
        char out[PATH_MAX], real[PATH_MAX], fdpath[64];
        const char *p;
        int fd;

        if (sysroot_resolve(&tree_root, rel, out, sizeof(out)) == 0) {
                FUZZ_ASSERT(out[0] != '/');
                for (p = out; (p = strstr(p, "..")); p += 2)
                        FUZZ_ASSERT(!((p == out || p[-1] == '/') && (p[2] == '/' || p[2] == '\0')));
        }
        fd = sysroot_open_file(&tree_root, rel, O_RDONLY | O_NONBLOCK);
        if (fd >= 0) {
                snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
                if (realpath(fdpath, real))
                        FUZZ_ASSERT(strncmp(real, tree_real, strlen(tree_real)) == 0 &&
                                    (real[strlen(tree_real)] == '/' || real[strlen(tree_real)] == '\0'));
                close(fd);
        }
}

/* The field as the kernel would show it, as blockdev reads it. */
static bool stripped_is(const char *field, const char *want)
{
        char *c = strdup(field);
        bool eq;

        if (!c)
                abort();
        eq = strcasecmp(strstrip(c), want) == 0;
        free(c);
        return eq;
}

static void host(const char *rest)
{
        static struct node_facts facts;        /* large: not re-mapped per input */
        struct node_facts *f;
        const char *fields[N_HOST_FILES] = { NULL };
        char *copy = strdup(rest), *p = copy, path[PATH_MAX];
        struct report rep;
        uint64_t v;
        unsigned maj, min;
        bool sane;

        if (!copy)
                abort();
        for (size_t i = 0; i < N_HOST_FILES && p; i++) {
                char *bar = strchr(p, '|');

                if (bar)
                        *bar = '\0';
                /* "" keeps the fixture's value, "~" is an empty file. */
                fields[i] = !*p ? NULL : !strcmp(p, "~") ? "" : p;
                p = bar ? bar + 1 : NULL;
        }
        for (size_t i = 0; i < N_HOST_FILES; i++) {
                const char *val = fields[i] ? fields[i] : host_orig[i];

                FUZZ_FMT(path, "%s/host", tmpdir);
                if (!strcmp(val, "-")) {
                        FUZZ_FMT(path, "%s/host/%s", tmpdir, host_files[i]);
                        (void) unlink(path);
                } else
                        put(path, host_files[i], val, strlen(val));
        }
        f = &facts;
        memset(f, 0, sizeof(*f));
        blockdev_collect(&host_root, &f->host);
        f->imds.state = IMDS_OK;
        f->imds.compute = *compute;
        strcpy(f->imds.api_version, "2023-07-01");
        f->attested.state = ATTESTED_OK;
        strcpy(f->attested.nonce, "0123456789abcdef0123456789abcdef");
        strcpy(f->attested.nonce_requested, f->attested.nonce);
        snprintf(f->attested.vm_id, sizeof(f->attested.vm_id), "%.*s", (int) sizeof(f->attested.vm_id) - 1,
                 compute->vm_id.value);
        f->attested.expires_at = 2000000000;
        {
                const struct policy_opts po = { .now = 1999995000, .resource_tolerance_mib = 1024 };

                policy_evaluate(f, &po, &rep);
        }
        /* Missing or unusable OS-disk attributes must never pass. */
        const char *size = fields[0] ? fields[0] : host_orig[0], *dev = fields[1] ? fields[1] : host_orig[1];
        const char *model = fields[2] ? fields[2] : host_orig[2], *vendor = fields[3] ? fields[3] : host_orig[3];
        char sz[64], dv[64];

        snprintf(sz, sizeof(sz), "%s", size);
        snprintf(dv, sizeof(dv), "%s", dev);
        sane = strlen(size) < 32 && strlen(dev) < 32 && parse_u64(strstrip(sz), &v) == 0 && v > 0 &&
               parse_devnum(strstrip(dv), &maj, &min) == 0 && stripped_is(model, "Virtual Disk") &&
               stripped_is(vendor, "Msft");
        if (getenv("FUZZ_VERBOSE"))
                fprintf(stderr, "fuzz-sysfs: host %s, %u disks, verdict %s\n", host_state_names[f->host.state],
                        f->host.n_disks, verdict_to_string(rep.verdict));
        if (!sane && rep.verdict == VERDICT_COMPLIANT) {
                fprintf(stderr, "compliant with a broken OS disk: size \"%s\" dev \"%s\" model \"%s\" vendor \"%s\"\n",
                        size, dev, model, vendor);
                abort();
        }
        free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char *s = fuzz_cstr(data, size);

        if (!tmpdir[0])
                LLVMFuzzerInitialize(NULL, NULL);
        parsers(size ? s + 1 : s);
        if (size >= 1) {
                switch (data[0] % 4) {
                case 1:
                        read_attr(data + 1 + (size > 1), size - 1 - (size > 1),
                                  size > 1 ? (size_t) data[1] % 80 + 1 : 32);
                        break;
                case 2:
                        resolve(s + 1);
                        break;
                case 3:
                        if (compute)
                                host(s + 1);
                        break;
                default:
                        break;
                }
        }
        free(s);
        return 0;
}
