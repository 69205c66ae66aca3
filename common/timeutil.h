/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>
#include <time.h>

/* UTC "YYYY-MM-DDThh:mm:ssZ"; the epoch when t cannot be represented. */
void format_rfc3339(time_t t, char out[32]);

/* Milliseconds of CLOCK_MONOTONIC: for intervals, never for timestamps. */
uint64_t mono_ms(void);
