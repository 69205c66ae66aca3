/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "facts.h"
#include "sysroot.h"

/* Enumerates sys/block under the root, classifies each physical disk by its
 * bus address, probes filesystems, and maps mounts from proc/1/mountinfo
 * onto disks (through dm/md slaves). Never fails as a whole for one odd
 * disk: per-disk problems are recorded as facts. */
void blockdev_collect(const struct sysroot *sr, struct host_facts *ret);

/* Classifies one disk in place from sysfs: bus, role, lun, address, vendor,
 * model. `devpath` is the resolved root-relative path of sys/block/<name>. */
int diskaddr_classify(const struct sysroot *sr, const char *devpath, struct disk_facts *d);

/* The VMBus controller GUID for a SCSI devpath, lower case, no braces. */
int diskaddr_vmbus_guid(const struct sysroot *sr, const char *devpath, char *out, size_t outsz);

/* Physical disks beneath block device major:minor, following dm/md slaves
 * and partitions: marks each one found through `mark`. Returns the count. */
int blockdev_physical_disks(const struct sysroot *sr, struct host_facts *h, unsigned major,
                            unsigned minor, void (*mark)(struct disk_facts *d, void *userdata),
                            void *userdata);
