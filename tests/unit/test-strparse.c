/* SPDX-License-Identifier: Apache-2.0 */
#include "testutil.h"

#include <errno.h>

#include "buf.h"
#include "crypto.h"
#include "fileio.h"
#include "macro.h"
#include "strparse.h"

static void test_parse_u64(void **state)
{
        uint64_t v;

        assert_int_equal(parse_u64("0", &v), 0);
        assert_int_equal(v, 0);
        assert_int_equal(parse_u64("268435456\n", &v), 0);
        assert_int_equal(v, 268435456);
        assert_int_equal(parse_u64("18446744073709551615", &v), 0);
        assert_true(v == UINT64_MAX);
        assert_int_equal(parse_u64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(parse_u64("", &v), -EINVAL);
        assert_int_equal(parse_u64("-1", &v), -EINVAL);
        assert_int_equal(parse_u64("+1", &v), -EINVAL);
        assert_int_equal(parse_u64(" 1", &v), -EINVAL);
        assert_int_equal(parse_u64("1x", &v), -EINVAL);
        assert_int_equal(parse_u64("1 2", &v), -EINVAL);
        assert_int_equal(parse_u64("0x10", &v), -EINVAL);
}

static void test_devnum_and_guid(void **state)
{
        unsigned maj, min;

        assert_int_equal(parse_devnum("259:3\n", &maj, &min), 0);
        assert_int_equal(maj, 259);
        assert_int_equal(min, 3);
        assert_int_equal(parse_devnum("8", &maj, &min), -EINVAL);
        assert_int_equal(parse_devnum("8:", &maj, &min), -EINVAL);
        assert_int_equal(parse_devnum(":1", &maj, &min), -EINVAL);
        assert_int_equal(parse_devnum("4294967296:1", &maj, &min), -ERANGE);
        assert_true(str_is_guid("f8b3781a-1e82-4818-a1c3-63d806ec15bb"));
        assert_true(str_is_guid("F8B3781A-1E82-4818-A1C3-63D806EC15BB"));
        assert_false(str_is_guid("{f8b3781a-1e82-4818-a1c3-63d806ec15bb}"));
        assert_false(str_is_guid("f8b3781a-1e82-4818-a1c3-63d806ec15bx"));
        assert_false(str_is_guid("f8b3781a1e824818a1c363d806ec15bb"));
}

static void test_buf_limit(void **state)
{
        struct buf b = BUF_INIT(8);

        assert_int_equal(buf_append(&b, "12345678", 8), 0);
        assert_int_equal(buf_append(&b, "9", 1), -E2BIG);
        assert_int_equal(b.len, 8);
        assert_string_equal(b.data, "12345678");
        buf_done(&b);
}

static void test_base64(void **state)
{
        uint8_t *out = NULL;
        size_t n;

        assert_int_equal(base64_decode("aGVs\nbG8=", 9, &out, &n), 0);
        assert_int_equal(n, 5);
        assert_memory_equal(out, "hello", 5);
        free(out);
        assert_int_equal(base64_decode("aGVsbG8", 7, &out, &n), -EBADMSG);
        assert_int_equal(base64_decode("aG=sbG8=", 8, &out, &n), -EBADMSG);
        assert_int_equal(base64_decode("aGV*bG8=", 8, &out, &n), -EBADMSG);
        assert_int_equal(base64_decode("", 0, &out, &n), -EBADMSG);
}

static void test_strcpy_bounded(void **state)
{
        char d[4] = "xyz";

        assert_int_equal(strcpy_bounded(d, sizeof(d), "abcd"), -E2BIG);
        assert_string_equal(d, "xyz");
        assert_int_equal(strcpy_bounded(d, sizeof(d), "abc"), 0);
        assert_string_equal(d, "abc");
}

static void test_utf8_sanitize(void **state)
{
        char ok[] = "plain, d\xc3\xa9j\xc3\xa0 vu, \xe2\x82\xac, \xf0\x9f\x94\x91";
        char bad[] = "x\xff\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80\xc3";

        assert_int_equal(utf8_sanitize(ok), 0);
        /* 0xff; an overlong '/'; a surrogate; above U+10FFFF; a cut sequence. */
        assert_int_equal(utf8_sanitize(bad), 11);
        assert_string_equal(bad, "x" "???????????");
        assert_int_equal(utf8_sanitize(bad), 0);
}

static void test_read_secret(void **state)
{
        char path[] = "/tmp/hostenc-test-secret.XXXXXX", *s = NULL;
        int fd = mkstemp(path);
        size_t n;

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "token\n", 6), 6);
        assert_int_equal(read_file_secret(path, 6, &s, &n), 0);
        assert_int_equal(n, 6);
        assert_string_equal(s, "token\n");
        free_secretp(&s);
        assert_int_equal(read_file_secret(path, 5, &s, &n), -E2BIG);
        assert_int_equal(write(fd, "\0x", 2), 2);
        assert_int_equal(read_file_secret(path, 64, &s, &n), -EINVAL);     /* NUL inside */
        close(fd);
        unlink(path);
}

static void test_rfc3339_strict(void **state)
{
        static const char *const bad[] = {
                "", "2026-12-04T12:00:00", "2026-12-04T12:00:00z", " 2026-12-04T12:00:00Z", "2026-12-04T12:00:00Z ",
                "2026-12-04 12:00:00Z", "2026-12-04T 2:00:00Z", "2026-12-4T12:00:00Z", "+026-12-04T12:00:00Z",
                "2026-02-30T12:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T12:00:00.5Z", "2026-12-04T12:00:00+00:00",
                "2026-12-04T12:00:00Z\n",
        };
        time_t t = 0;

        assert_int_equal(parse_rfc3339_utc("2026-12-04T12:00:00Z", &t), 0);
        assert_int_equal((long long) t, 1796385600LL);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                t = 7;
                assert_int_equal(parse_rfc3339_utc(bad[i], &t), -EINVAL);
                assert_int_equal((long long) t, 7);
        }
}

static void test_escape_control(void **state)
{
        char buf[32];

        assert_string_equal(escape_control("node-1", buf, sizeof(buf)), "node-1");
        assert_string_equal(escape_control("a\x1b[2Jb\nc\x7f", buf, sizeof(buf)), "a\\x1b[2Jb\\x0ac\\x7f");
        /* Truncation never splits an escape. */
        assert_string_equal(escape_control("abcd\n", buf, 7), "abcd");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rfc3339_strict),
                cmocka_unit_test(test_escape_control),
                cmocka_unit_test(test_utf8_sanitize),
                cmocka_unit_test(test_read_secret),
                cmocka_unit_test(test_parse_u64),
                cmocka_unit_test(test_devnum_and_guid),
                cmocka_unit_test(test_buf_limit),
                cmocka_unit_test(test_base64),
                cmocka_unit_test(test_strcpy_bounded),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
