/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's pure parts: what to write to the Node and when, the
 * configuration's precedence and errors, and the metrics exposition. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "nodestate.h"
#include "store.h"

static struct report rep(enum verdict v, enum check_status eah)
{
        struct report r = { .verdict = v, .n_checks = 2 };

        r.checks[0] = (struct check_result){ .id = "encryption-at-host", .severity = SEVERITY_FAIL, .status = eah,
                                             .reason = eah == CHECK_PASS ? "EncryptionAtHostEnabled"
                                                       : eah == CHECK_FAIL ? "EncryptionAtHostDisabled"
                                                                           : "ImdsUnavailable" };
        r.checks[1] = (struct check_result){ .id = "os-disk", .severity = SEVERITY_FAIL, .status = CHECK_PASS,
                                             .reason = "RootOnOsDisk" };
        return r;
}

static void step(struct node_view *v, struct report r, bool heartbeat, bool *wrote, enum node_event *ev)
{
        struct node_desired d;
        struct node_plan p;

        node_desired_from(&r, false, &d);
        node_plan_make(v, &d, heartbeat, &p);
        *wrote = p.write;
        *ev = p.event;
        if (p.write)
                node_view_update(v, &d, &p, 1000);
}

static void test_condition_writes_only_on_change(void **state)
{
        struct node_view v = { .known = false };
        bool w;
        enum node_event e;

        step(&v, rep(VERDICT_COMPLIANT, CHECK_PASS), false, &w, &e);
        assert_true(w);
        assert_int_equal(e, NODE_EVENT_NONE);           /* first sight of compliance: no event */
        assert_string_equal(v.status, "False");
        assert_string_equal(v.reason, "EncryptionAtHostEnabled");
        step(&v, rep(VERDICT_COMPLIANT, CHECK_PASS), false, &w, &e);
        assert_false(w);                                /* nothing changed, no heartbeat due */
        step(&v, rep(VERDICT_COMPLIANT, CHECK_PASS), true, &w, &e);
        assert_true(w);                                 /* heartbeat */
        assert_int_equal(e, NODE_EVENT_NONE);
        step(&v, rep(VERDICT_NONCOMPLIANT, CHECK_FAIL), false, &w, &e);
        assert_true(w);
        assert_int_equal(e, NODE_EVENT_WARNING);
        assert_string_equal(v.status, "True");
        assert_string_equal(v.reason, "EncryptionAtHostDisabled");
        step(&v, rep(VERDICT_NONCOMPLIANT, CHECK_FAIL), false, &w, &e);
        assert_false(w);
        assert_int_equal(e, NODE_EVENT_NONE);           /* never repeated while nothing changes */
        step(&v, rep(VERDICT_UNKNOWN, CHECK_UNKNOWN), false, &w, &e);
        assert_true(w);
        assert_int_equal(e, NODE_EVENT_NONE);
        assert_string_equal(v.status, "Unknown");
        step(&v, rep(VERDICT_NONCOMPLIANT, CHECK_FAIL), false, &w, &e);
        assert_int_equal(e, NODE_EVENT_NONE);           /* still the same definite state as before */
        step(&v, rep(VERDICT_COMPLIANT, CHECK_PASS), false, &w, &e);
        assert_int_equal(e, NODE_EVENT_RECOVERED);
}

static void test_stale_is_unknown(void **state)
{
        struct report r = rep(VERDICT_COMPLIANT, CHECK_PASS);
        struct node_desired d;

        node_desired_from(&r, true, &d);
        assert_string_equal(d.status, "Unknown");
        assert_string_equal(d.reason, "EvidenceStale");
        assert_string_equal(d.label, "unknown");
}

static int load(const char *const *args, const char *const *env, struct run_config *c, struct run_flags *f)
{
        char *argv[16];
        int n = 0;

        argv[n++] = (char *) "run";
        for (; args && *args; args++)
                argv[n++] = (char *) *args;
        argv[n] = NULL;
        return config_load(n, argv, (char *const *) env, c, f);
}

static void test_config_precedence(void **state)
{
        char path[] = "/tmp/hostenc-config-XXXXXX";
        int fd = mkstemp(path);
        const char *json = "{\"interval\":\"5m\",\"heartbeat\":\"2h\",\"evidenceKeep\":7,\"nodeName\":\"file\"}";
        struct run_config *c = calloc(1, sizeof(*c));
        struct run_flags f;
        char arg[64];

        assert_true(fd >= 0 && write(fd, json, strlen(json)) == (ssize_t) strlen(json));
        close(fd);
        snprintf(arg, sizeof(arg), "--config=%s", path);
        const char *args[] = { arg, "--interval", "90s", NULL };
        const char *env[] = { "HOSTENC_INTERVAL=7m", "HOSTENC_HEARTBEAT=1h", "OTHER=1", NULL };

        assert_int_equal(load(args, env, c, &f), 0);
        assert_int_equal(c->interval_s, 90);           /* flag beats env and file */
        assert_int_equal(c->heartbeat_s, 3600);        /* env beats file */
        assert_int_equal(c->evidence_keep, 7);         /* file beats default */
        assert_string_equal(c->node_name, "file");
        assert_int_equal(c->jitter_percent, 10);       /* default */
        assert_string_equal(f.config_file, path);
        unlink(path);
        free(c);
}

static void test_config_errors(void **state)
{
        struct run_config *c = calloc(1, sizeof(*c));
        struct run_flags f;
        const char *bad_interval[] = { "--interval", "soon", NULL };
        const char *bad_jitter[] = { NULL };
        const char *jitter_env[] = { "HOSTENC_JITTER_PERCENT=75", NULL };
        const char *push[] = { "--push-url", "http://collector.example", NULL };
        const char *push2[] = { "--push-url", "https://collector.example", NULL };
        const char *extra[] = { "surprise", NULL };
        /* A name that merely starts like a loopback address is not one. */
        const char *push3[] = { "--push-url", "http://127.0.0.1.example.com/v1", "--spool-dir", "/tmp", NULL };
        const char *push4[] = { "--push-url", "http://127.0.0.1:8080/v1", "--spool-dir", "/tmp", NULL };
        const char *kube[] = { "--kube-api", "http://kube.example:6443", NULL };
        const char *kube2[] = { "--kube-api", "http://localhost:8001", NULL };

        /* User-info hides the real host from a prefix check: libcurl sends
         * these to "elsewhere", with the bearer token. */
        const char *userinfo[] = { "http://127.0.0.1:x@elsewhere/v1", "http://localhost@elsewhere:80/",
                                   "https://user:pw@collector.example/v1", "http://127.0.0.1@127.0.0.1/", NULL };
        /* Exactly localhost, 127.0.0.0/8 and [::1] count as loopback. */
        const char *loop_ok[] = { "http://127.0.0.2:9/v1", "http://LOCALHOST/", "http://[::1]:8080/x",
                                  "http://127.255.255.254", NULL };
        const char *loop_bad[] = { "http://128.0.0.1/", "http://[::2]/", "http://localhost.example/",
                                   "http://[::ffff:127.0.0.1]/", "ftp://127.0.0.1/", "http://", NULL };

        for (const char *const *u = userinfo; *u; u++) {
                const char *a[] = { "--push-url", *u, "--spool-dir", "/tmp", NULL };
                const char *k[] = { "--kube-api", *u, NULL };

                assert_int_equal(load(a, NULL, c, &f), -EINVAL);
                assert_int_equal(load(k, NULL, c, &f), -EINVAL);
        }
        for (const char *const *u = loop_ok; *u; u++) {
                const char *a[] = { "--push-url", *u, "--spool-dir", "/tmp", NULL };

                assert_int_equal(load(a, NULL, c, &f), 0);
        }
        for (const char *const *u = loop_bad; *u; u++) {
                const char *a[] = { "--push-url", *u, "--spool-dir", "/tmp", NULL };

                assert_int_equal(load(a, NULL, c, &f), -EINVAL);
        }
        /* A Node's Events are accepted only in default and kube-system. */
        const char *ns_bad[] = { "--event-namespace", "monitoring", NULL };
        const char *ns_ok[] = { "--event-namespace", "kube-system", NULL };

        assert_int_equal(load(ns_bad, NULL, c, &f), -EINVAL);
        assert_int_equal(load(ns_ok, NULL, c, &f), 0);
        assert_int_equal(load(push3, NULL, c, &f), -EINVAL);
        assert_int_equal(load(push4, NULL, c, &f), 0);
        assert_int_equal(load(kube, NULL, c, &f), -EINVAL);    /* the token would go in clear */
        assert_int_equal(load(kube2, NULL, c, &f), 0);
        assert_int_equal(load(bad_interval, NULL, c, &f), -EINVAL);
        assert_int_equal(load(bad_jitter, jitter_env, c, &f), -EINVAL);
        assert_int_equal(load(push, NULL, c, &f), -EINVAL);     /* plain http off loopback */
        assert_int_equal(load(push2, NULL, c, &f), -EINVAL);    /* no spoolDir */
        assert_int_equal(load(extra, NULL, c, &f), -EINVAL);
        free(c);
}

static void test_metrics_exposition(void **state)
{
        uint64_t kube[KUBE_KIND_COUNT][2] = { { 3, 1 } };
        struct metrics m = { .have_report = true, .report = rep(VERDICT_NONCOMPLIANT, CHECK_FAIL),
                             .last_success = 1800000000, .kube = (const uint64_t(*)[2]) kube };
        struct buf b = BUF_INIT(1 << 20);

        m.imds[IMDS_EP_COMPUTE][CLASS_2XX] = 12;
        assert_int_equal(metrics_render(&m, &b), 0);
        assert_non_null(strstr(b.data, "hostenc_verdict{state=\"noncompliant\"} 1\n"));
        assert_non_null(strstr(b.data, "hostenc_verdict{state=\"compliant\"} 0\n"));
        assert_non_null(strstr(b.data, "hostenc_check_status{check=\"encryption-at-host\",severity=\"fail\",status=\"fail\"} 1\n"));
        assert_non_null(strstr(b.data, "hostenc_imds_requests_total{endpoint=\"compute\",code_class=\"2xx\"} 12\n"));
        assert_non_null(strstr(b.data, "hostenc_kube_requests_total{kind=\"condition\",result=\"error\"} 1\n"));
        assert_non_null(strstr(b.data, "hostenc_last_success_timestamp_seconds 1800000000\n"));
        assert_non_null(strstr(b.data, "# TYPE hostenc_cycles_total counter\n"));
        assert_non_null(strstr(b.data, "hostenc_build_info{version=\"" HOSTENC_VERSION "\"} 1\n"));
        buf_done(&b);
}


/* A collector that answers each POST from a script of statuses
 * (0 = transport error) and records which bodies it saw. */
struct canned_collector {
        const long *statuses;
        unsigned n, calls;
        char seen[8][16];
};

static int canned_post(void *userdata, const struct http_request *req, struct http_response *resp)
{
        struct canned_collector *c = userdata;
        long status = c->calls < c->n ? c->statuses[c->calls] : 201;

        if (c->calls < 8)
                snprintf(c->seen[c->calls], sizeof(c->seen[0]), "%.*s", (int) req->body_len, req->body);
        c->calls++;
        if (!status)
                return -ECONNREFUSED;
        *resp = (struct http_response){ .status = status, .retry_after_s = status == 429 ? 7 : -1 };
        return 0;
}

static void spool_put(const char *dir, unsigned seq)
{
        char name[64], body[16];
        uint64_t dropped;

        store_name(1800000000, seq, name);
        snprintf(body, sizeof(body), "env%u", seq);
        assert_int_equal(spool_add(dir, name, body, strlen(body), 100, &dropped), 0);
}

static void note_rejected(void *userdata, const char *name, const char *why)
{
        char *last = userdata;

        snprintf(last, 64, "%s", name);
        assert_non_null(strstr(why, "HTTP 422"));
}

static void test_push_outcomes(void **state)
{
        static const long permanent[] = { 400, 409, 413, 415, 422 };
        static const long retried[] = { 404, 405, 408, 425, 429, 500, 502, 503, 504, 302 };

        assert_int_equal(push_outcome_of(-ECONNREFUSED, 0), PUSH_RETRY);
        assert_int_equal(push_outcome_of(0, 200), PUSH_DELIVERED);
        assert_int_equal(push_outcome_of(0, 201), PUSH_DELIVERED);
        assert_int_equal(push_outcome_of(0, 401), PUSH_MISCONFIGURED);
        assert_int_equal(push_outcome_of(0, 403), PUSH_MISCONFIGURED);
        for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
                assert_int_equal(push_outcome_of(0, permanent[i]), PUSH_REJECTED);
        for (size_t i = 0; i < sizeof(retried) / sizeof(retried[0]); i++)
                assert_int_equal(push_outcome_of(0, retried[i]), PUSH_RETRY);
}

/* A 422 on the oldest envelope does not hold back the ones after it: it is
 * moved aside and kept; a 429 then stops delivery with its Retry-After and
 * keeps order; the next flush resumes where it stopped. */
static void test_spool_head_of_line(void **state)
{
        static const long script[] = { 422, 201, 429 };
        struct canned_collector c = { .statuses = script, .n = 3 };
        struct http_transport t = { canned_post, &c };
        char dir[] = "/tmp/hostenc-spool-XXXXXX", aside[PATH_MAX], err[256], last[64] = "", first[64];
        struct push_target target = { .http = &t, .url = "http://127.0.0.1:9/v1/evidence",
                                      .rejected = note_rejected, .userdata = last };
        struct spool_result res;

        assert_non_null(mkdtemp(dir));
        for (unsigned i = 1; i <= 4; i++)
                spool_put(dir, i);
        assert_int_equal(spool_flush(dir, &target, 10, &res, err, sizeof(err)), -EAGAIN);
        assert_int_equal(res.delivered, 1);
        assert_int_equal(res.rejected, 1);
        assert_int_equal(res.stopped, PUSH_RETRY);
        assert_int_equal(res.retry_after_s, 7);
        assert_string_equal(c.seen[0], "env1");
        assert_string_equal(c.seen[1], "env2");
        assert_string_equal(c.seen[2], "env3");
        store_name(1800000000, 1, first);
        assert_string_equal(last, first);                       /* told once, with its name */
        assert_int_equal(spool_count(dir), 2);                  /* env3 and env4 wait */
        snprintf(aside, sizeof(aside), "%s/" SPOOL_REJECTED_DIR, dir);
        assert_int_equal(spool_count(aside), 1);                /* env1 kept, not deleted */

        assert_int_equal(spool_flush(dir, &target, 10, &res, err, sizeof(err)), 0);
        assert_int_equal(res.delivered, 2);
        assert_string_equal(c.seen[3], "env3");                 /* order kept after the stop */
        assert_string_equal(c.seen[4], "env4");
        assert_int_equal(spool_count(dir), 0);

        /* 401 and transport errors never drop anything. */
        static const long refused[] = { 401, 0 };
        c = (struct canned_collector){ .statuses = refused, .n = 2 };
        spool_put(dir, 5);
        assert_int_equal(spool_flush(dir, &target, 10, &res, err, sizeof(err)), -EAGAIN);
        assert_int_equal(res.stopped, PUSH_MISCONFIGURED);
        assert_int_equal(spool_flush(dir, &target, 10, &res, err, sizeof(err)), -EAGAIN);
        assert_int_equal(res.stopped, PUSH_RETRY);
        assert_int_equal(spool_count(dir), 1);
        assert_int_equal(spool_count(aside), 1);

        /* The rejected directory is bounded: keep 1, the newest. */
        static const long reject2[] = { 422, 422 };
        c = (struct canned_collector){ .statuses = reject2, .n = 2 };
        spool_put(dir, 6);
        assert_int_equal(spool_flush(dir, &target, 1, &res, err, sizeof(err)), 0);
        assert_int_equal(res.rejected, 2);
        assert_int_equal(spool_count(aside), 1);
        char kept[PATH_MAX], name[64];
        store_name(1800000000, 6, name);
        assert_true(snprintf(kept, sizeof(kept), "%s/%s", aside, name) < (int) sizeof(kept));
        assert_int_equal(access(kept, F_OK), 0);

        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_condition_writes_only_on_change),
                cmocka_unit_test(test_stale_is_unknown),
                cmocka_unit_test(test_config_precedence),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_metrics_exposition),
                cmocka_unit_test(test_push_outcomes),
                cmocka_unit_test(test_spool_head_of_line),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
