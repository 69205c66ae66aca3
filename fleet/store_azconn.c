/* SPDX-License-Identifier: Apache-2.0 */
/* The Blob store's connection (credentials from the environment) and
 * its naming rules, shared by the writer and the readers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "keyfile.h"
#include "macro.h"
#include "store_azblob_priv.h"
#include "store_entra.h"
#include "strparse.h"

void azconn_done(struct conn *c)
{
        c->blob = azblob_free(c->blob);
        store_entra_free(c->bearer);
        c->bearer = NULL;
}

static int read_secret(const char *env_value, const char *file_env, char **ret, char *err, size_t errsz)
{
        const char *file = getenv(file_env);
        size_t len;

        if (env_value && *env_value) {
                *ret = strdup(env_value);
                return *ret ? 1 : -ENOMEM;
        }
        if (!file || !*file)
                return 0;
        if (keyfile_read_private(file_env, file, ret, &len) < 0) {
                snprintf(err, errsz, "%s %s: unreadable, or readable by group or other", file_env, file);
                return -EACCES;
        }
        strstrip(*ret);
        return 1;
}

int azconn_open(const char *url, const struct http_transport *http, long timeout_ms, struct conn *c, char *err,
                size_t errsz)
{
        _cleanup_secret_ char *key = NULL, *sas = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        struct azblob_target t;
        struct azblob_auth auth = { .shared_key = NULL };
        size_t raw_len = 0;
        int r;

        r = azblob_parse_url(url, &t, err, errsz);
        if (r < 0)
                return r;
        r = read_secret(getenv("AZURE_STORAGE_KEY"), "AZURE_STORAGE_KEY_FILE", &key, err, errsz);
        if (r == 0)
                r = read_secret(getenv("AZURE_STORAGE_SAS_TOKEN"), "AZURE_STORAGE_SAS_FILE", &sas, err, errsz);
        if (r < 0)
                return r;
        if (key) {
                if (base64_decode(key, strlen(key), &raw, &raw_len) < 0 || raw_len < 16) {
                        snprintf(err, errsz, "AZURE_STORAGE_KEY: not a base64 storage account key");
                        return -EINVAL;
                }
                auth.shared_key = raw;
                auth.shared_key_len = raw_len;
        } else if (sas)
                auth.sas = sas;
        else {
                r = store_entra_new(http, &c->bearer);
                if (r < 0) {
                        snprintf(err, errsz, "no credentials: set AZURE_STORAGE_KEY(_FILE) or AZURE_STORAGE_SAS_TOKEN"
                                 "(_FILE), or run with workload identity or a managed identity (%s)", strerror(-r));
                        return r == -ENOMEM ? r : -ENOKEY;
                }
                auth.bearer = c->bearer;
        }
        r = azblob_new(&t, &auth, &(struct azblob_options){ .timeout_ms = timeout_ms }, http, &c->blob);
        if (raw)
                explicit_bzero(raw, raw_len);
        if (r < 0) {
                azconn_done(c);
                return r;
        }
        return 0;
}
