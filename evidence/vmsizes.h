/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

struct vm_local_nvme {
        const char *vm_size;
        unsigned count;
        unsigned size_gib;
};

/* Local NVMe (Direct Disk) layout of a VM size, or NULL when we hold no
 * reference for it. */
const struct vm_local_nvme *vmsize_local_nvme(const char *vm_size);
