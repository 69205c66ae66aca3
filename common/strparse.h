/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Decimal only: no sign, no leading/trailing junk, no empty string. Trailing
 * whitespace (a sysfs newline) is allowed. -EINVAL on junk, -ERANGE on
 * overflow. */
int parse_u64(const char *s, uint64_t *ret);
int parse_u32(const char *s, uint32_t *ret);
/* "MAJ:MIN" as in sysfs "dev" files and mountinfo. */
int parse_devnum(const char *s, unsigned *ret_major, unsigned *ret_minor);
/* Copies at most dstsz-1 bytes; -E2BIG (dst untouched) if src does not fit. */
int strcpy_bounded(char *dst, size_t dstsz, const char *src);
/* Removes leading and trailing ASCII whitespace in place. */
char *strstrip(char *s);
bool str_is_guid(const char *s);
bool startswith(const char *s, const char *prefix);
/* Value of one hex digit, or -1. */
int hex_digit(char c);
/* Exactly 2n hex digits into n bytes; -EINVAL otherwise (out untouched). */
int hex_decode(const char *hex, uint8_t *out, size_t n);
/* "90s", "10m", "6h", "7d" or plain seconds; -EINVAL otherwise or when
 * zero is given and not allowed. */
int parse_duration(const char *s, bool allow_zero, uint64_t *ret_s);
/* The largest exact unit: 600 -> "10m", 90 -> "90s". */
void format_duration(uint64_t s, char out[24]);
/* Replaces, in place, every byte that is not part of a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, nothing above
 * U+10FFFF) with '?'. Returns how many bytes were replaced. */
size_t utf8_sanitize(char *s);
/* Length of the well-formed UTF-8 sequence (RFC 3629) at s, or 0. */
size_t utf8_len(const unsigned char *s);
/* The value of name in an environment array (envp), or NULL. */
const char *envp_get(char *const *envp, const char *name);
/* Exactly "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC, no fraction): no
 * whitespace, no sign, a real date; -EINVAL otherwise. */
int parse_rfc3339_utc(const char *s, time_t *ret);
/* s with C0 control characters and DEL written as \xNN, truncated to
 * bufsz; returns buf. For text output of strings read from evidence. */
const char *escape_control(const char *s, char *buf, size_t bufsz);
