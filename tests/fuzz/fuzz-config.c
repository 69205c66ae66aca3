/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's JSON config file (config_load with --config FILE). The file
 * comes from a ConfigMap: whoever can edit it chooses these bytes. The
 * input goes through a memfd, so config_load reads it exactly as it reads
 * a file (open, bounded read).
 *
 * Properties: a config that loads prints (config_to_json, what
 * --print-config shows) as a file that loads again to the same effective
 * configuration, and every bound of the key table holds. */
#include "fuzz.h"

#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

static int as_file(const void *p, size_t n, char path[64])
{
        int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

        if (fd < 0)
                abort();
        if (n && write(fd, p, n) != (ssize_t) n)
                abort();
        snprintf(path, 64, "/proc/self/fd/%d", fd);
        return fd;
}

static int load(const char *path, struct run_config *c, struct run_flags *f)
{
        char a0[] = "run", a1[] = "--config", a2[64];
        char *argv[] = { a0, a1, a2, NULL };
        char *const envp[] = { NULL };

        snprintf(a2, sizeof(a2), "%s", path);
        return config_load(3, argv, envp, c, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct run_config *c = calloc(2, sizeof(*c));
        struct run_flags f;
        char path[64], *json1, *json2;
        int fd, r;

        if (!c)
                abort();
        fd = as_file(data, size, path);
        r = load(path, &c[0], &f);
        close(fd);
        FUZZ_ASSERT(r <= 0);
        if (r < 0) {
                free(c);
                return 0;
        }
        FUZZ_ASSERT(c[0].interval_s >= 1 && c[0].interval_s <= 7 * 86400);
        FUZZ_ASSERT(c[0].jitter_percent <= 50);
        FUZZ_ASSERT(c[0].evidence_keep >= 1 && c[0].spool_max >= 1);
        FUZZ_ASSERT(c[0].imds_timeout_s >= 1 && c[0].imds_timeout_s <= 3600);
        FUZZ_ASSERT(c[0].node_name[0] != '\0');
        FUZZ_ASSERT(!c[0].push_url[0] || c[0].spool_dir[0]);

        json1 = config_to_json(&c[0]);
        FUZZ_ASSERT(json1 != NULL);
        fd = as_file(json1, strlen(json1), path);
        r = load(path, &c[1], &f);
        close(fd);
        if (r != 0)
                fprintf(stderr, "printed config does not load again:\n%s\n", json1);
        FUZZ_ASSERT(r == 0);
        json2 = config_to_json(&c[1]);
        FUZZ_ASSERT(json2 != NULL);
        if (strcmp(json1, json2) != 0)
                fprintf(stderr, "config changed on reload:\n%s\n---\n%s\n", json1, json2);
        FUZZ_ASSERT(strcmp(json1, json2) == 0);
        free(json1);
        free(json2);
        free(c);
        return 0;
}
