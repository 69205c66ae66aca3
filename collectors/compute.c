/* SPDX-License-Identifier: Apache-2.0 */
/* Pure parser for the IMDS compute document. Every IMDS primitive is a
 * string; values are copied as received and interpreted by the policy. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "imds.h"
#include "json.h"
#include "macro.h"
#include "strparse.h"

struct field {
        const char *key;
        size_t offset;
};

#define F(k, member) { k, offsetof(struct imds_compute, member) }

/* Reads obj[key] as an IMDS string. Absent keys leave dst->present false.
 * -EBADMSG when the value is not a string, -E2BIG when it does not fit; the
 * dotted `where` names the key in err. */
static int json_imds_str(const cJSON *obj, const char *key, struct imds_str *dst,
                         const char *where, char *err, size_t errsz)
{
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

        dst->present = false;
        dst->value[0] = '\0';
        if (!v)
                return 0;
        if (!cJSON_IsString(v) || !v->valuestring) {
                snprintf(err, errsz, "%s.%s is not a string", where, key);
                return -EBADMSG;
        }
        if (strcpy_bounded(dst->value, sizeof(dst->value), v->valuestring) < 0) {
                snprintf(err, errsz, "%s.%s is longer than %zu bytes", where, key,
                         sizeof(dst->value) - 1);
                return -E2BIG;
        }
        dst->present = true;
        return 0;
}

static const struct field top_fields[] = {
        F("vmId", vm_id), F("subscriptionId", subscription_id), F("name", name),
        F("vmSize", vm_size), F("location", location), F("resourceId", resource_id),
        F("vmScaleSetName", vm_scale_set_name), F("osType", os_type),
};
#undef F

static int read_fields(const cJSON *obj, const struct field *fields, size_t n, void *base,
                       const char *where, char *err, size_t errsz)
{
        for (size_t i = 0; i < n; i++) {
                int r = json_imds_str(obj, fields[i].key,
                                      (struct imds_str *) ((char *) base + fields[i].offset),
                                      where, err, errsz);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_disk(const cJSON *d, const char *where, struct imds_disk *ret, char *err, size_t errsz)
{
#define F(k, member) { k, offsetof(struct imds_disk, member) }
        static const struct field disk_fields[] = {
                F("lun", lun), F("diskSizeGB", disk_size_gb), F("caching", caching),
                F("isUltraDisk", is_ultra_disk), F("name", name),
        };
#undef F
        struct imds_disk disk = { 0 };
        const cJSON *md, *es;
        int r = 0;

        if (!cJSON_IsObject(d)) {
                snprintf(err, errsz, "%s is not an object", where);
                return -EBADMSG;
        }
        r = read_fields(d, disk_fields, ARRAY_SIZE(disk_fields), &disk, where, err, errsz);
        if (r < 0)
                return r;
        md = json_object(d, "managedDisk", where, &r, err, errsz);
        if (r < 0)
                return r;
        if (md && (r = json_imds_str(md, "storageAccountType", &disk.storage_account_type,
                                     where, err, errsz)) < 0)
                return r;
        es = json_object(d, "encryptionSettings", where, &r, err, errsz);
        if (r < 0)
                return r;
        if (es && (r = json_imds_str(es, "enabled", &disk.ade_enabled, where, err, errsz)) < 0)
                return r;
        *ret = disk;
        return 0;
}

static int parse_data_disks(const cJSON *sp, struct imds_compute *c, char *err, size_t errsz)
{
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(sp, "dataDisks"), *d;
        char where[64];
        int r;

        if (!arr)
                return 0;
        if (!cJSON_IsArray(arr)) {
                snprintf(err, errsz, "compute.storageProfile.dataDisks is not an array");
                return -EBADMSG;
        }
        if (cJSON_GetArraySize(arr) > IMDS_MAX_DATA_DISKS) {
                snprintf(err, errsz, "compute.storageProfile.dataDisks has more than %d entries",
                         IMDS_MAX_DATA_DISKS);
                return -E2BIG;
        }
        c->data_disks_present = true;
        cJSON_ArrayForEach(d, arr) {
                snprintf(where, sizeof(where), "compute.storageProfile.dataDisks[%u]", c->n_data_disks);
                r = parse_disk(d, where, &c->data_disks[c->n_data_disks], err, errsz);
                if (r < 0)
                        return r;
                c->n_data_disks++;
        }
        return 0;
}

static int parse_storage(const cJSON *sp, struct imds_compute *c, char *err, size_t errsz)
{
        static const char os_where[] = "compute.storageProfile.osDisk";
        const cJSON *os, *dds, *rd;
        int r = 0;

        os = json_object(sp, "osDisk", "compute.storageProfile", &r, err, errsz);
        if (r < 0)
                return r;
        if (os) {
                r = parse_disk(os, os_where, &c->os_disk, err, errsz);
                if (r < 0)
                        return r;
                dds = json_object(os, "diffDiskSettings", os_where, &r, err, errsz);
                if (r < 0)
                        return r;
                if (dds && (r = json_imds_str(dds, "option", &c->diff_disk_option,
                                              "compute.storageProfile.osDisk.diffDiskSettings",
                                              err, errsz)) < 0)
                        return r;
        }
        rd = json_object(sp, "resourceDisk", "compute.storageProfile", &r, err, errsz);
        if (r < 0)
                return r;
        if (rd && (r = json_imds_str(rd, "size", &c->resource_disk_size,
                                     "compute.storageProfile.resourceDisk", err, errsz)) < 0)
                return r;
        return parse_data_disks(sp, c, err, errsz);
}

static int parse_compute(const cJSON *root, struct imds_compute *c, char *err, size_t errsz)
{
        const cJSON *sec, *sp;
        int r = 0;

        r = read_fields(root, top_fields, ARRAY_SIZE(top_fields), c, "compute", err, errsz);
        if (r < 0)
                return r;
        sec = json_object(root, "securityProfile", "compute", &r, err, errsz);
        if (r < 0)
                return r;
        if (sec) {
                r = json_imds_str(sec, "encryptionAtHost", &c->encryption_at_host,
                                  "compute.securityProfile", err, errsz);
                if (r < 0)
                        return r;
                r = json_imds_str(sec, "securityType", &c->security_type,
                                  "compute.securityProfile", err, errsz);
                if (r < 0)
                        return r;
        }
        sp = json_object(root, "storageProfile", "compute", &r, err, errsz);
        if (r < 0)
                return r;
        return sp ? parse_storage(sp, c, err, errsz) : 0;
}

int imds_compute_parse(const char *json, size_t len, struct imds_compute *ret, char *err, size_t errsz)
{
        _cleanup_(cjson_deletep) cJSON *root = NULL;
        _cleanup_free_ struct imds_compute *c = NULL;
        int r;

        root = cJSON_ParseWithLength(json, len);
        if (!root || !cJSON_IsObject(root)) {
                snprintf(err, errsz, "compute document is not a JSON object");
                return -EBADMSG;
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        r = parse_compute(root, c, err, errsz);
        if (r < 0)
                return r;
        if (!c->vm_id.present || !c->vm_id.value[0]) {
                snprintf(err, errsz, "compute.vmId is missing or empty");
                return -EBADMSG;
        }
        memcpy(ret, c, imds_compute_used_size(c));
        return 0;
}
