/* SPDX-License-Identifier: Apache-2.0 */
/* Corpus replay for builds without libFuzzer (gcc, or clang without
 * -fsanitize=fuzzer): runs every file named on the command line, and every
 * regular file of every directory named, through LLVMFuzzerTestOneInput, in
 * name order. Exits non-zero when an input cannot be read or no input was
 * found; a crash or a violated property aborts, as under libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        return 0;
}

#define REPLAY_MAX_INPUT (8u * 1024u * 1024u)

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        uint8_t *data;
        size_t n;

        if (!f) {
                fprintf(stderr, "fuzz-main: %s: %s\n", path, strerror(errno));
                return -1;
        }
        data = malloc(REPLAY_MAX_INPUT);
        if (!data) {
                fclose(f);
                return -1;
        }
        n = fread(data, 1, REPLAY_MAX_INPUT, f);
        if (ferror(f) || !feof(f)) {
                fprintf(stderr, "fuzz-main: %s: unreadable or larger than %u bytes\n", path, REPLAY_MAX_INPUT);
                fclose(f);
                free(data);
                return -1;
        }
        fclose(f);
        /* An exact-size copy, as libFuzzer hands it over: overreads show. */
        uint8_t *exact = malloc(n ? n : 1);

        if (!exact) {
                free(data);
                return -1;
        }
        memcpy(exact, data, n);
        free(data);
        (void) LLVMFuzzerTestOneInput(exact, n);
        free(exact);
        return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_dir(const char *dir, unsigned *count)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, name_cmp), rc = 0;

        if (n < 0) {
                fprintf(stderr, "fuzz-main: %s: %s\n", dir, strerror(errno));
                return -1;
        }
        for (int i = 0; i < n; i++) {
                char path[4096];
                struct stat st;

                if (names[i]->d_name[0] != '.' &&
                    snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name) < (int) sizeof(path) &&
                    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                        if (run_file(path) < 0)
                                rc = -1;
                        else
                                (*count)++;
                }
                free(names[i]);
        }
        free(names);
        return rc;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int rc = 0;

        (void) LLVMFuzzerInitialize(&argc, &argv);
        for (int i = 1; i < argc; i++) {
                struct stat st;

                if (argv[i][0] == '-')
                        continue;       /* libFuzzer flags: ignored here */
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "fuzz-main: %s: %s\n", argv[i], strerror(errno));
                        rc = 1;
                } else if (S_ISDIR(st.st_mode)) {
                        if (run_dir(argv[i], &count) < 0)
                                rc = 1;
                } else if (run_file(argv[i]) < 0)
                        rc = 1;
                else
                        count++;
        }
        printf("%s: %u inputs replayed\n", argc > 0 ? argv[0] : "fuzz", count);
        if (count == 0) {
                fprintf(stderr, "fuzz-main: no input\n");
                return 1;
        }
        return rc;
}
