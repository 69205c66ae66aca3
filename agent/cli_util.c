/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "fileio.h"
#include "macro.h"

#define TRUST_FILE_MAX (1024 * 1024)

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;

void log_error(const char *fmt, ...)
{
        va_list ap;

        fputs("hostenc: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

int parse_output_format(const char *cmd, const char *value, bool *ret_json)
{
        if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0) {
                log_error("%s: invalid value \"%s\" for --output", cmd, value);
                return -1;
        }
        *ret_json = !strcmp(value, "json");
        return 0;
}

int trust_load_digest(const char *file, struct trust_store **ret, char *sha256_hex)
{
        _cleanup_free_ char *pem = NULL;
        const char *bytes = hostenc_trust_bundle;
        size_t len = hostenc_trust_bundle_len;
        uint8_t d[32];
        int r;

        if (file) {
                r = read_file_bounded(file, TRUST_FILE_MAX, &pem, &len);
                if (r < 0) {
                        log_error("--imds-trust %s: %s", file, strerror(-r));
                        return r;
                }
                bytes = pem;
        }
        r = trust_store_from_pem(bytes, len, ret);
        if (r < 0 && file)
                log_error("--imds-trust %s: no self-signed trust anchor in the PEM bundle", file);
        if (r == 0 && sha256_hex) {
                sha256(bytes, len, d);
                hex_encode(d, sizeof(d), sha256_hex);
        }
        return r;
}

int trust_load(const char *file, struct trust_store **ret)
{
        return trust_load_digest(file, ret, NULL);
}
