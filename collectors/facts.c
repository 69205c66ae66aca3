/* SPDX-License-Identifier: Apache-2.0 */
#include "facts.h"

const char *disk_role_to_string(enum disk_role r)
{
        switch (r) {
        case ROLE_OS:
                return "os";
        case ROLE_RESOURCE:
                return "resource";
        case ROLE_DATA:
                return "data";
        case ROLE_LOCAL_NVME:
                return "local-nvme";
        case ROLE_BEK:
                return "bek";
        case ROLE_UNKNOWN:
        default:
                return "unknown";
        }
}

const char *disk_bus_to_string(enum disk_bus b)
{
        return b == BUS_SCSI ? "scsi" : b == BUS_NVME ? "nvme" : "unknown";
}

const char *fs_source_to_string(enum fs_source s)
{
        return s == FS_SOURCE_BLKID ? "blkid" : s == FS_SOURCE_UDEV ? "udev" : "none";
}
