/* SPDX-License-Identifier: Apache-2.0 */
/* The List Blobs answer, scanned: each <Name> and the <NextMarker>. Not a
 * general XML parser: Blob Storage's answer has a fixed shape, and anything
 * outside it is malformed. Bounded by the caller's body cap and the name
 * and marker buffers; fuzzed (fuzz-blob-list). */
#include <errno.h>
#include <string.h>

#include "azblob.h"
#include "macro.h"

static const char *find(const char *p, const char *end, const char *s)
{
        size_t n = strlen(s);

        for (; p && (size_t) (end - p) >= n; p++)
                if (*p == *s && !memcmp(p, s, n))
                        return p;
        return NULL;
}

/* The five XML entities and numeric ASCII ones; anything else is malformed. */
static int xml_text(const char *p, const char *end, char *out, size_t outsz)
{
        static const struct { const char *e; char c; } ents[] = {
                { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' }, { "&apos;", '\'' },
        };
        size_t j = 0;

        while (p < end) {
                char c = *p++;

                if (c == '<')
                        return -EBADMSG;
                if (c == '&') {
                        size_t i;

                        for (i = 0; i < ARRAY_SIZE(ents); i++)
                                if ((size_t) (end - p + 1) >= strlen(ents[i].e) &&
                                    !memcmp(p - 1, ents[i].e, strlen(ents[i].e)))
                                        break;
                        if (i == ARRAY_SIZE(ents))
                                return -EBADMSG;
                        c = ents[i].c;
                        p += strlen(ents[i].e) - 1;
                }
                if (j + 1 >= outsz)
                        return -EBADMSG;
                out[j++] = c;
        }
        out[j] = '\0';
        return 0;
}

int azblob_parse_list(const char *xml, size_t len, int (*each)(void *userdata, const char *name), void *userdata,
                      char *next_marker, size_t markersz)
{
        const char *end = xml + len, *p = xml, *q;
        char name[AZBLOB_NAME_MAX + 1];
        int r;

        if (!find(xml, end, "<EnumerationResults"))
                return -EBADMSG;
        while ((p = find(p, end, "<Name>"))) {
                p += 6;
                q = find(p, end, "</Name>");
                if (!q || xml_text(p, q, name, sizeof(name)) < 0)
                        return -EBADMSG;
                r = each(userdata, name);
                if (r < 0)
                        return r;
                p = q + 7;
        }
        *next_marker = '\0';
        p = find(xml, end, "<NextMarker>");
        if (p) {
                p += 12;
                q = find(p, end, "</NextMarker>");
                if (!q || xml_text(p, q, next_marker, markersz) < 0)
                        return -EBADMSG;
                /* Blob Storage's markers are opaque visible ASCII without
                 * markup; anything else is not from it (fuzz finding F4). */
                for (const char *m = next_marker; *m; m++)
                        if (*m < 0x21 || *m > 0x7e || *m == '<' || *m == '>') {
                                *next_marker = '\0';
                                return -EBADMSG;
                        }
        }
        return 0;
}
