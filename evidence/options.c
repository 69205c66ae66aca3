/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "options.h"
#include "crypto.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

#define TRUST_FILE_MAX (1024 * 1024)

extern const char hostenc_trust_bundle[];
extern const size_t hostenc_trust_bundle_len;

int parse_output_format(const char *cmd, const char *value, bool *ret_json)
{
        if (strcmp(value, "json") != 0 && strcmp(value, "text") != 0) {
                log_error("%s: invalid value \"%s\" for --output", cmd, value);
                return -1;
        }
        *ret_json = !strcmp(value, "json");
        return 0;
}

int trust_load(const char *file, struct trust_store **ret)
{
        _cleanup_free_ char *pem = NULL;
        size_t len;
        int r;

        if (!file)
                return trust_store_from_pem(hostenc_trust_bundle, hostenc_trust_bundle_len, ret);
        r = read_file_bounded(file, TRUST_FILE_MAX, &pem, &len);
        if (r < 0) {
                log_error("--imds-trust %s: %s", file, strerror(-r));
                return r;
        }
        r = trust_store_from_pem(pem, len, ret);
        if (r < 0)
                log_error("--imds-trust %s: no self-signed trust anchor in the PEM bundle", file);
        return r;
}
