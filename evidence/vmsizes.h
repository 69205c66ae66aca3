/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

struct vm_local_nvme {
        const char *vm_size;
        unsigned count;         /* 0: the size has no local NVMe disk */
        unsigned size_gib;
        unsigned temp_gib;      /* SCSI temp disk; 0: none */
};

/* Local NVMe (Direct Disk) layout of a VM size, or NULL when we hold no
 * reference for it. */
const struct vm_local_nvme *vmsize_local_nvme(const char *vm_size);
