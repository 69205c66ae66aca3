/* SPDX-License-Identifier: Apache-2.0 */
#include "strparse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int parse_u64(const char *s, uint64_t *ret)
{
        uint64_t v = 0;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *p))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++) {
                unsigned d = (unsigned) (*p - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        while (*p == '\n' || *p == ' ' || *p == '\t')
                p++;
        if (*p)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_u32(const char *s, uint32_t *ret)
{
        uint64_t v;
        int r = parse_u64(s, &v);

        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int parse_devnum(const char *s, unsigned *ret_major, unsigned *ret_minor)
{
        char tmp[32];
        char *colon;
        uint32_t maj, min;
        int r;

        r = strcpy_bounded(tmp, sizeof(tmp), s);
        if (r < 0)
                return r;
        colon = strchr(tmp, ':');
        if (!colon)
                return -EINVAL;
        *colon = '\0';
        r = parse_u32(tmp, &maj);
        if (r < 0)
                return r;
        r = parse_u32(colon + 1, &min);
        if (r < 0)
                return r;
        *ret_major = maj;
        *ret_minor = min;
        return 0;
}

int strcpy_bounded(char *dst, size_t dstsz, const char *src)
{
        size_t n = strlen(src);

        if (n >= dstsz)
                return -E2BIG;
        memcpy(dst, src, n + 1);
        return 0;
}

char *strstrip(char *s)
{
        size_t n;

        while (isspace((unsigned char) *s))
                s++;
        n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

bool str_is_guid(const char *s)
{
        static const int dash_at[] = { 8, 13, 18, 23 };
        size_t i, d = 0;

        if (strlen(s) != 36)
                return false;
        for (i = 0; i < 36; i++) {
                if (d < 4 && (int) i == dash_at[d]) {
                        if (s[i] != '-')
                                return false;
                        d++;
                } else if (!isxdigit((unsigned char) s[i]))
                        return false;
        }
        return true;
}

bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

int hex_digit(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int hex_decode(const char *hex, uint8_t *out, size_t n)
{
        if (strlen(hex) != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < 2 * n; i++)
                if (hex_digit(hex[i]) < 0)
                        return -EINVAL;
        for (size_t i = 0; i < n; i++)
                out[i] = (uint8_t) (hex_digit(hex[2 * i]) * 16 + hex_digit(hex[2 * i + 1]));
        return 0;
}

int parse_duration(const char *s, bool allow_zero, uint64_t *ret_s)
{
        static const struct { char unit; uint64_t mult; } units[] = {
                { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
        };
        char num[24];
        size_t n = strlen(s);
        uint64_t v, mult = 1;

        if (n == 0 || n >= sizeof(num))
                return -EINVAL;
        memcpy(num, s, n + 1);
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (num[n - 1] == units[i].unit) {
                        mult = units[i].mult;
                        num[n - 1] = '\0';
                }
        if (parse_u64(num, &v) < 0 || (v == 0 && !allow_zero) || v > UINT32_MAX / mult)
                return -EINVAL;
        *ret_s = v * mult;
        return 0;
}

void format_duration(uint64_t s, char out[24])
{
        if (s && s % 86400 == 0)
                snprintf(out, 24, "%llud", (unsigned long long) (s / 86400));
        else if (s && s % 3600 == 0)
                snprintf(out, 24, "%lluh", (unsigned long long) (s / 3600));
        else if (s && s % 60 == 0)
                snprintf(out, 24, "%llum", (unsigned long long) (s / 60));
        else
                snprintf(out, 24, "%llus", (unsigned long long) s);
}

const char *envp_get(char *const *envp, const char *name)
{
        size_t n = strlen(name);

        for (; envp && *envp; envp++)
                if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
                        return *envp + n + 1;
        return NULL;
}

size_t utf8_len(const unsigned char *s)
{
        unsigned char c = s[0];
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;

        if (c < 0x80)
                return 1;
        if (c >= 0xc2 && c <= 0xdf)
                n = 2;
        else if (c >= 0xe0 && c <= 0xef) {
                n = 3;
                if (c == 0xe0)
                        lo = 0xa0;      /* overlong */
                else if (c == 0xed)
                        hi = 0x9f;      /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
                n = 4;
                if (c == 0xf0)
                        lo = 0x90;      /* overlong */
                else if (c == 0xf4)
                        hi = 0x8f;      /* above U+10FFFF */
        } else
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (s[i] < 0x80 || s[i] > 0xbf)
                        return 0;
        return n;
}

size_t utf8_sanitize(char *s)
{
        unsigned char *p = (unsigned char *) s;
        size_t bad = 0;

        while (*p) {
                size_t n = utf8_len(p);

                if (n == 0) {
                        *p++ = '?';
                        bad++;
                } else
                        p += n;
        }
        return bad;
}

int parse_rfc3339_utc(const char *s, time_t *ret)
{
        /* 01234567890123456789 */
        /* YYYY-MM-DDTHH:MM:SSZ */
        static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
        struct tm tm = { 0 }, want;
        time_t t;

        if (strlen(s) != sizeof(shape) - 1)
                return -EINVAL;
        for (size_t i = 0; shape[i]; i++)
                if (shape[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != shape[i])
                        return -EINVAL;
        tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
        tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
        tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
        tm.tm_hour = (s[11] - '0') * 10 + (s[12] - '0');
        tm.tm_min = (s[14] - '0') * 10 + (s[15] - '0');
        tm.tm_sec = (s[17] - '0') * 10 + (s[18] - '0');
        want = tm;
        t = timegm(&tm);
        /* timegm normalises (in place) 02-30 to 03-02: only a date that
         * comes back unchanged is a date. */
        if (t == (time_t) -1 || want.tm_year != tm.tm_year || want.tm_mon != tm.tm_mon ||
            want.tm_mday != tm.tm_mday || want.tm_hour != tm.tm_hour || want.tm_min != tm.tm_min ||
            want.tm_sec != tm.tm_sec)
                return -EINVAL;
        *ret = t;
        return 0;
}

/* Control characters (C0, DEL) as \xNN, so a name or detail read from
 * evidence cannot move the cursor, forge a line or colour a terminal. */
const char *escape_control(const char *s, char *buf, size_t bufsz)
{
        size_t k = 0;

        if (bufsz == 0)
                return "";
        for (; *s && k + 1 < bufsz; s++) {
                unsigned char c = (unsigned char) *s;

                if (c >= 0x20 && c != 0x7f) {
                        buf[k++] = (char) c;
                        continue;
                }
                if (k + 5 >= bufsz)
                        break;
                snprintf(buf + k, bufsz - k, "\\x%02x", c);
                k += 4;
        }
        buf[k] = '\0';
        return buf;
}
