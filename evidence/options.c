/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <string.h>

#include "attested.h"
#include "options.h"
#include "crypto.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"
#include "strparse.h"

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

/* Values above 0x10000 so they never meet a command's own option codes. */
enum { C_TRUST = 0x10000, C_DOMAIN, C_MAXAGE, C_OUTPUT, C_LIFETIME };

static const struct {
        unsigned bit;
        struct option opt;
} common_table[] = {
        { COPT_IMDS_TRUST, { "imds-trust", required_argument, NULL, C_TRUST } },
        { COPT_METADATA_DOMAIN, { "metadata-domain", required_argument, NULL, C_DOMAIN } },
        { COPT_MAX_AGE, { "max-age", required_argument, NULL, C_MAXAGE } },
        { COPT_OUTPUT, { "output", required_argument, NULL, C_OUTPUT } },
        { COPT_ATTESTED_LIFETIME, { "attested-max-lifetime", required_argument, NULL, C_LIFETIME } },
};

void common_options(const struct option *own, unsigned which, struct option *out, size_t n)
{
        size_t k = 0;

        for (; own[k].name && k + 1 < n; k++)
                out[k] = own[k];
        for (size_t i = 0; i < sizeof(common_table) / sizeof(common_table[0]) && k + 1 < n; i++)
                if (which & common_table[i].bit)
                        out[k++] = common_table[i].opt;
        out[k] = (struct option){ 0 };
}

bool metadata_domain_valid(const char *s)
{
        size_t len = strlen(s), label = 0, labels = 1;

        if (len == 0 || len > 253)
                return false;
        for (size_t i = 0; i <= len; i++) {
                char c = s[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || s[i - 1] == '-')
                                return false;
                        labels += c == '.';
                        label = 0;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0)))
                        return false;
                label++;
        }
        return labels >= 2;
}

static int invalid(const char *cmd, const char *opt, const char *arg, const char *what)
{
        log_error("%s: invalid value \"%s\" for --%s%s", cmd, arg, opt, what);
        return -EINVAL;
}

int common_option(const char *cmd, int c, const char *arg, struct common_opts *o)
{
        switch (c) {
        case C_TRUST:
                o->trust_file = arg;
                return 1;
        case C_DOMAIN:
                if (!metadata_domain_valid(arg))
                        return invalid(cmd, "metadata-domain", arg, " (a lowercase DNS name like metadata.azure.us)");
                if (o->n_domains == CLI_MAX_DOMAINS)
                        return invalid(cmd, "metadata-domain", arg, " (at most 8)");
                o->domains[o->n_domains++] = arg;
                o->domains[o->n_domains] = NULL;
                return 1;
        case C_MAXAGE:
                if (parse_duration(arg, false, &o->max_age_s) < 0)
                        return invalid(cmd, "max-age", arg, "");
                o->max_age_set = true;
                return 1;
        case C_OUTPUT:
                o->output = arg;
                return 1;
        case C_LIFETIME:
                if (parse_duration(arg, false, &o->attested_lifetime_s) < 0 || o->attested_lifetime_s > 7 * 86400)
                        return invalid(cmd, "attested-max-lifetime", arg, " (a duration up to 7d)");
                return 1;
        default:
                return 0;
        }
}

int common_getopt(const char *cmd, int argc, char **argv, const struct option *longopts, struct common_opts *o)
{
        int c, k;

        while ((c = getopt_long(argc, argv, "h", longopts, NULL)) >= 0) {
                k = common_option(cmd, c, optarg, o);
                if (k < 0)
                        return k;
                if (k == 0)
                        return c;
        }
        return 0;
}

int common_options_end(const char *cmd, int argc, char **argv, struct common_opts *o)
{
        if (optind < argc) {
                log_error("%s: unexpected argument \"%s\"", cmd, argv[optind]);
                return -EINVAL;
        }
        common_options_done(o);
        return 0;
}

void common_options_done(struct common_opts *o)
{
        if (o->n_domains == 0) {
                o->domains[o->n_domains++] = ATTESTED_DEFAULT_DOMAIN;
                o->domains[o->n_domains] = NULL;
        }
}
