/* SPDX-License-Identifier: Apache-2.0 */
#include "vmsizes.h"

#include <stddef.h>
#include <strings.h>

/* Only sizes whose local NVMe layout is documented in
 * Microsoft's size tables on Microsoft Learn. Sizes not listed
 * here are reported as unverified, never guessed. */
static const struct vm_local_nvme table[] = {
        { "Standard_D2ds_v6", 1, 110 },
        { "Standard_D4ds_v6", 1, 220 },
        { "Standard_D16ds_v6", 2, 440 },
        { "Standard_D2ads_v6", 1, 110 },
};

const struct vm_local_nvme *vmsize_local_nvme(const char *vm_size)
{
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (!strcasecmp(table[i].vm_size, vm_size))
                        return &table[i];
        return NULL;
}
