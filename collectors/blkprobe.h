/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "facts.h"
#include "sysroot.h"

/* Probes filesystem type, label and partition-table type of an open block
 * device or image with libblkid. Returns 0 when something was found, 1 when
 * the device holds no signature (a raw disk), negative errno on error. */
int blkprobe_fd(int fd, struct fs_facts *ret);

/* Reads the udev database entry run/udev/data/b<major>:<minor>. Returns 0
 * when it had filesystem or partition-table properties, 1 when it had none,
 * negative errno when it could not be read. */
int udevdb_read_fs(const struct sysroot *sr, unsigned major, unsigned minor, struct fs_facts *ret);

/* Parses the text of a udev database entry. Pure. */
int udevdb_parse_fs(const char *text, struct fs_facts *ret);
