/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Plain facts gathered from IMDS and the host. Collectors fill these in and
 * never decide pass or fail; evidence/policy.c does. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Azure's largest sizes: 64 data disks (SCSI, or NVMe namespaces on v6
 * sizes, Premium SSD v2 and Ultra included), the OS disk, one SCSI temp disk,
 * the Gen1 BEK volume and up to 10 local NVMe disks (Standard_L80s_v3): 77.
 * 80 leaves room for a few odd devices we must still report. */
#define IMDS_MAX_DATA_DISKS 64
#define HOST_MAX_DISKS 80
#define DISK_MAX_PARTS 16
/* A data disk is mounted once by the CSI node stage (globalmount) and once
 * per pod that uses it. Mount points run to PATH_MAX (kubelet paths are
 * 120-200 bytes); all disks' share one text pool of the host, so only the
 * text a node has costs memory. */
#define DISK_MAX_MOUNTS 16
#define HOST_MOUNT_TEXT (32 * 1024)
#define ATTESTED_MAX_DOCUMENT (16 * 1024)

/* An IMDS string value as received: absent, or present with its text. */
struct imds_str {
        bool present;
        char value[512];        /* resourceId of a scale-set instance runs to ~250 */
};

struct imds_disk {
        struct imds_str lun;
        struct imds_str disk_size_gb;
        struct imds_str caching;
        struct imds_str storage_account_type;
        struct imds_str is_ultra_disk;
        struct imds_str ade_enabled;    /* encryptionSettings.enabled */
        struct imds_str name;
};

struct imds_compute {
        struct imds_str vm_id;
        struct imds_str subscription_id;
        struct imds_str name;
        struct imds_str vm_size;
        struct imds_str location;
        struct imds_str resource_id;
        struct imds_str vm_scale_set_name;
        struct imds_str os_type;
        struct imds_str encryption_at_host;
        struct imds_str security_type;
        struct imds_str diff_disk_option;       /* osDisk.diffDiskSettings.option */
        struct imds_str resource_disk_size;     /* resourceDisk.size (MiB in practice) */
        struct imds_disk os_disk;
        bool data_disks_present;
        unsigned n_data_disks;
        struct imds_disk data_disks[IMDS_MAX_DATA_DISKS];       /* last: see imds_facts_reset() */
};

enum imds_state {
        IMDS_NOT_RUN,
        IMDS_OK,
        IMDS_UNAVAILABLE,       /* transport error, timeout, HTTP error after retries */
        IMDS_OVERSIZED,
        IMDS_MALFORMED,
        IMDS_STATE_COUNT,
};

struct imds_facts {
        enum imds_state state;
        char error[256];
        char api_version[16];
        uint8_t compute_sha256[32];     /* digest of the exact bytes received */
        struct imds_compute compute;    /* last */
};

enum attested_state {
        ATTESTED_NOT_RUN,
        ATTESTED_OK,            /* signature, signer name and chain verified */
        ATTESTED_UNAVAILABLE,
        ATTESTED_MALFORMED,
        ATTESTED_BAD_SIGNATURE, /* not exactly one signer, or it does not verify */
        ATTESTED_SIGNER_NOT_AZURE,
        ATTESTED_UNTRUSTED,     /* chain does not build to a trusted root */
        ATTESTED_STATE_COUNT,
};

struct attested_facts {
        enum attested_state state;
        char error[256];
        char nonce_requested[40];
        char nonce[64];
        char vm_id[64];
        char subscription_id[64];
        char created_on[32];
        char expires_on[32];
        time_t created_at;      /* 0 when unparsable */
        time_t expires_at;
        char signer_subject[256];
        char signer_issuer[256];
        char signer_dns[256];   /* the SAN entry that matched */
        time_t signer_not_before, signer_not_after;     /* the leaf's validity; 0 unknown */
        unsigned nonce_retries;
        /* The response body exactly as IMDS sent it, for the evidence. */
        size_t raw_len;
        char raw[ATTESTED_MAX_DOCUMENT + 1];
};

enum disk_bus { BUS_UNKNOWN, BUS_SCSI, BUS_NVME, BUS_COUNT };

enum disk_role {
        ROLE_UNKNOWN,
        ROLE_OS,
        ROLE_RESOURCE,
        ROLE_DATA,
        ROLE_LOCAL_NVME,
        ROLE_BEK,               /* Gen1 Azure Disk Encryption key volume */
        ROLE_COUNT,
};

enum fs_source { FS_SOURCE_NONE, FS_SOURCE_BLKID, FS_SOURCE_UDEV, FS_SOURCE_COUNT };

struct fs_facts {
        enum fs_source source;
        char type[32];
        char label[64];
        char pttype[16];
};

struct part_facts {
        char name[32];
        unsigned major, minor;
        uint64_t size_bytes;
        struct fs_facts fs;
};

struct disk_facts {
        char name[32];          /* kernel name: for people, never for decisions */
        unsigned major, minor;
        enum disk_bus bus;
        enum disk_role role;
        int lun;                /* data disks; -1 otherwise */
        char address[96];       /* controller GUID + H:C:T:L, or NVMe model + nsid */
        char vendor[16];
        char model[48];
        uint64_t size_bytes;
        struct fs_facts fs;
        unsigned n_parts;
        struct part_facts parts[DISK_MAX_PARTS];
        bool holds_root;
        char error[128];        /* the disk could not be read whole (vanished, bad attribute) */
        unsigned n_mounts;
        unsigned mounts_omitted;        /* beyond DISK_MAX_MOUNTS or the host's text pool */
        uint16_t mount_at[DISK_MAX_MOUNTS];     /* offsets into host_facts.mount_text */
};

enum host_state { HOST_NOT_RUN, HOST_OK, HOST_UNREADABLE, HOST_STATE_COUNT };

struct host_facts {
        enum host_state state;
        char error[256];
        bool root_resolved;
        char root_source[64];   /* e.g. "8:1" or the mount source */
        char root_error[160];
        unsigned n_disks;
        size_t mount_text_used;
        char mount_text[HOST_MOUNT_TEXT];       /* read only below mount_text_used */
        struct disk_facts disks[HOST_MAX_DISKS];        /* last: see host_facts_reset() */
};

struct node_facts {
        struct imds_facts imds;
        struct attested_facts attested;
        struct host_facts host;
};

extern const char *const imds_state_names[IMDS_STATE_COUNT];
extern const char *const attested_state_names[ATTESTED_STATE_COUNT];
extern const char *const host_state_names[HOST_STATE_COUNT];
extern const char *const disk_role_names[ROLE_COUNT];
extern const char *const disk_bus_names[BUS_COUNT];
extern const char *const fs_source_names[FS_SOURCE_COUNT];

/* Zero everything but the per-disk arrays, whose entries are written whole
 * as they are filled and read only below n_data_disks/n_disks. The facts
 * are ~0.5 MB for 64 disks each; zeroing them every cycle would keep every
 * page of them resident although a node uses a few entries. */
void imds_facts_reset(struct imds_facts *f);
void host_facts_reset(struct host_facts *h);
/* Bytes of c up to and including its last used data disk. */
size_t imds_compute_used_size(const struct imds_compute *c);

/* The k-th mount point of disk d of h (k < d->n_mounts). */
const char *disk_mount(const struct host_facts *h, const struct disk_facts *d, unsigned k);
/* Records mount point mp on d once, its text in h's pool; counts it in
 * d->mounts_omitted when d or the pool is full. */
void disk_add_mount(struct host_facts *h, struct disk_facts *d, const char *mp);

const char *disk_role_to_string(enum disk_role r);
const char *disk_bus_to_string(enum disk_bus b);
const char *fs_source_to_string(enum fs_source s);
