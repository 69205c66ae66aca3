/* SPDX-License-Identifier: Apache-2.0 */
/* The IMDS client's retry schedule, through the transport and clock seams:
 * a scripted transport and a virtual clock, so no test waits for real. */
#include "testutil.h"

#include <errno.h>

#include "imds.h"
#include "imds_cycle.h"

struct script {
        long status[32];        /* 0 = transport error `err` */
        int err;
        unsigned n, next;
        size_t body_len;
        uint64_t sent_at[64];
        unsigned sent;
        char last_url[512];
        const char *const *last_headers;
        unsigned attested;      /* requests for the attested document */
};

struct vclock {
        uint64_t now;
        uint64_t cancel_after;  /* 0 = never */
        struct script *s;
};

static struct vclock vc;

static uint64_t v_now(void *u)
{
        return vc.now;
}

static int v_sleep(void *u, uint64_t ms)
{
        vc.now += ms;
        return vc.cancel_after && vc.now > vc.cancel_after ? -ECANCELED : 0;
}

static uint32_t v_random(void *u)
{
        return 0x9e3779b9u;
}

static const struct imds_clock vclock_ops = { v_now, v_sleep, v_random, NULL };

static int fake_get(void *userdata, const struct http_request *req, struct http_response *resp)
{
        struct script *s = userdata;
        long st = s->status[s->next < s->n ? s->next : s->n - 1];

        s->next++;
        s->sent_at[s->sent++ % 64] = vc.now;
        snprintf(s->last_url, sizeof(s->last_url), "%s", req->url);
        s->attested += strstr(req->url, "/metadata/attested/") != NULL;
        s->last_headers = req->headers;
        vc.now += 5;    /* every answer takes a little time */
        if (st == 0)
                return s->err;
        if (s->body_len > req->max_body)
                return -E2BIG;
        *resp = (struct http_response){ .status = st, .retry_after_s = -1, .body = BUF_INIT(req->max_body) };
        assert_int_equal(buf_append(&resp->body, "{\"vmId\":\"x\"}", 12), 0);
        return 0;
}

/* A client on the scripted transport t, with the virtual clock reset. */
static void client(struct script *s, const struct http_transport *t, uint64_t deadline_ms, struct imds_client *c)
{
        vc = (struct vclock){ .now = 1000, .s = s };
        assert_int_equal(imds_client_init(c, t, &vclock_ops, "http://127.0.0.1:1/", "2023-07-01", deadline_ms), 0);
}

static int run(struct script *s, uint64_t deadline_ms, struct buf *body, char *err, struct imds_client *c)
{
        struct http_transport t = { fake_get, s };

        client(s, &t, deadline_ms, c);
        return imds_get(c, "/metadata/instance/compute", NULL, 1024, body, err, 256);
}

static void test_429_twice_then_200(void **state)
{
        struct script s = { .status = { 429, 429, 200 }, .n = 3 };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256] = "";

        assert_int_equal(run(&s, 70000, &body, err, &c), 0);
        assert_int_equal(s.sent, 3);
        assert_string_equal(body.data, "{\"vmId\":\"x\"}");
        assert_string_equal(s.last_url, "http://127.0.0.1:1/metadata/instance/compute?api-version=2023-07-01");
        assert_string_equal(s.last_headers[0], "Metadata: true");
        assert_null(s.last_headers[1]);
        /* Backoff grows: the second gap is at least as long as the first. */
        assert_true(s.sent_at[1] - s.sent_at[0] >= 500);
        assert_true(s.sent_at[2] - s.sent_at[1] >= s.sent_at[1] - s.sent_at[0]);
        buf_done(&body);
}

static void test_500_forever_stops_within_deadline(void **state)
{
        struct script s = { .status = { 500 }, .n = 1 };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256] = "";

        assert_int_equal(run(&s, 3000, &body, err, &c), -ETIMEDOUT);
        assert_true(vc.now - 1000 <= 3000);
        assert_true(s.sent >= 3);
        assert_non_null(strstr(err, "HTTP 500 after"));
}

static void get_ok(struct imds_client *c)
{
        struct buf body = { 0 };
        char err[256];

        assert_int_equal(imds_get(c, "/metadata/instance/compute", NULL, 1024, &body, err, sizeof(err)), 0);
        buf_done(&body);
}

static void test_never_more_than_5_per_second(void **state)
{
        struct script s = { .status = { 200 }, .n = 1 };
        struct http_transport t = { fake_get, &s };
        struct imds_client c;

        client(&s, &t, 70000, &c);
        /* Back-to-back calls: the first five go out at once (a run's two
         * requests are not held apart), every later one waits until the
         * request five back ended a whole second ago. */
        for (int i = 0; i < 16; i++)
                get_ok(&c);
        assert_int_equal(s.sent, 16);
        assert_true(s.sent_at[IMDS_RATE_MAX - 1] - s.sent_at[0] < 100);
        for (unsigned i = IMDS_RATE_MAX; i < s.sent; i++)
                assert_true(s.sent_at[i] - s.sent_at[i - IMDS_RATE_MAX] >= IMDS_RATE_WINDOW_MS);
        assert_true(s.sent_at[15] - s.sent_at[0] < 3 * IMDS_RATE_WINDOW_MS + 100);     /* and no slower */
}

static void test_rate_window_survives_a_new_client(void **state)
{
        struct script s = { .status = { 200 }, .n = 1 };
        struct http_transport t = { fake_get, &s };
        struct imds_client c, again;

        client(&s, &t, 70000, &c);
        for (int i = 0; i < IMDS_RATE_MAX; i++)
                get_ok(&c);
        assert_int_equal(imds_client_init(&again, &t, &vclock_ops, "http://127.0.0.1:1", "2023-07-01", 5000), 0);
        imds_client_keep_rate(&again, &c);
        get_ok(&again);
        assert_int_equal(s.sent, IMDS_RATE_MAX + 1);
        assert_true(s.sent_at[IMDS_RATE_MAX] - s.sent_at[0] >= IMDS_RATE_WINDOW_MS);
}

static void test_no_retry_on_400_or_redirect(void **state)
{
        struct script s400 = { .status = { 400 }, .n = 1 }, s302 = { .status = { 302 }, .n = 1 };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256];

        assert_int_equal(run(&s400, 70000, &body, err, &c), -EPROTO);
        assert_int_equal(s400.sent, 1);
        assert_int_equal(run(&s302, 70000, &body, err, &c), -EPROTO);
        assert_int_equal(s302.sent, 1);
        assert_non_null(strstr(err, "redirect refused"));
}

static void test_oversized_is_not_retried(void **state)
{
        struct script s = { .status = { 200 }, .n = 1, .body_len = 2048 };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256];

        assert_int_equal(run(&s, 70000, &body, err, &c), -E2BIG);
        assert_int_equal(s.sent, 1);
        assert_non_null(strstr(err, "larger than 1024 bytes"));
}

static void test_connection_errors_are_retried(void **state)
{
        struct script s = { .status = { 0, 0, 200 }, .n = 3, .err = -ECONNREFUSED };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256];

        assert_int_equal(run(&s, 70000, &body, err, &c), 0);
        assert_int_equal(s.sent, 3);
        buf_done(&body);
}

static void test_cancelled_sleep_stops_at_once(void **state)
{
        struct script s = { .status = { 503 }, .n = 1 };
        struct http_transport t = { fake_get, &s };
        struct buf body = { 0 };
        struct imds_client c;
        char err[256];

        vc = (struct vclock){ .now = 1000, .cancel_after = 1500, .s = &s };
        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "http://127.0.0.1:1", "2023-07-01", 70000), 0);
        assert_int_equal(imds_get(&c, "/metadata/instance/compute", NULL, 1024, &body, err, sizeof(err)), -ECANCELED);
        assert_true(s.sent <= 2);
        assert_non_null(strstr(err, "cancelled"));
}

/* One deadline for the whole check, on the virtual clock: an IMDS that
 * answers 500 to everything costs one bounded wait, and the attested
 * document is not asked for once compute failed for good. */
static void cycle(struct script *s, uint64_t per_call_ms, uint64_t budget_ms, struct node_facts *f)
{
        static const char *const domains[] = { "metadata.azure.com", NULL };
        struct http_transport t = { fake_get, s };
        struct imds_client c;

        client(s, &t, per_call_ms, &c);
        imds_collect_cycle(&c, budget_ms, NULL, domains, "abc", &f->imds, &f->attested);
}

static void test_cycle_500_forever(void **state)
{
        struct script s = { .status = { 500 }, .n = 1 };
        struct node_facts *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        cycle(&s, 70000, IMDS_CYCLE_DEFAULT_MS, f);
        assert_true(vc.now - 1000 <= IMDS_CYCLE_DEFAULT_MS);
        assert_int_equal(f->imds.state, IMDS_UNAVAILABLE);
        assert_int_equal(f->attested.state, ATTESTED_UNAVAILABLE);
        assert_non_null(strstr(f->attested.error, "not requested"));
        assert_int_equal(s.attested, 0);
        assert_true(s.sent >= 3);
        /* A small configured deadline is honoured below the per-call bound. */
        s = (struct script){ .status = { 500 }, .n = 1 };
        cycle(&s, 70000, 4000, f);
        assert_true(vc.now - 1000 <= 4000);
        assert_int_equal(s.attested, 0);
        assert_int_equal(f->imds.state, IMDS_UNAVAILABLE);
        free(f);
}

/* Compute answered: IMDS is up,
 * so the attested document is still fetched, within what is left. */
static void test_cycle_attested_gets_the_rest(void **state)
{
        struct script s = { .status = { 200, 500 }, .n = 2 };
        struct node_facts *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        cycle(&s, 70000, 3000, f);
        assert_int_equal(f->imds.state, IMDS_OK);
        assert_true(s.attested >= 1);
        assert_int_equal(f->attested.state, ATTESTED_UNAVAILABLE);
        assert_true(vc.now - 1000 <= 3000);
        free(f);
}

static void test_backoff_bounds(void **state)
{
        for (unsigned a = 0; a < 40; a++) {
                uint64_t lo = imds_backoff_ms(70000, a, 0), hi = imds_backoff_ms(70000, a, UINT32_MAX);

                assert_true(lo <= hi);
                assert_true(hi <= 30000);
                assert_true(lo >= 500);
        }
        assert_true(imds_backoff_ms(1600, 0, 0) >= 50);
        assert_true(imds_backoff_ms(1600, 0, UINT32_MAX) <= 100);
}

static void test_client_validation(void **state)
{
        struct imds_client c;
        struct http_transport t = { fake_get, NULL };

        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "ftp://x", "2023-07-01", 1000), -EINVAL);
        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "http://x?a=b", "2023-07-01", 1000), -EINVAL);
        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "http://x", "2021-11-01", 1000), -EINVAL);
        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "http://x", "2023-7-1", 1000), -EINVAL);
        assert_int_equal(imds_client_init(&c, &t, &vclock_ops, "http://x", "2021-12-13", 1000), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_429_twice_then_200),
                cmocka_unit_test(test_500_forever_stops_within_deadline),
                cmocka_unit_test(test_never_more_than_5_per_second),
                cmocka_unit_test(test_rate_window_survives_a_new_client),
                cmocka_unit_test(test_no_retry_on_400_or_redirect),
                cmocka_unit_test(test_oversized_is_not_retried),
                cmocka_unit_test(test_connection_errors_are_retried),
                cmocka_unit_test(test_cancelled_sleep_stops_at_once),
                cmocka_unit_test(test_cycle_500_forever),
                cmocka_unit_test(test_cycle_attested_gets_the_rest),
                cmocka_unit_test(test_backoff_bounds),
                cmocka_unit_test(test_client_validation),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
