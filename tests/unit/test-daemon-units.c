/* SPDX-License-Identifier: Apache-2.0 */
/* The daemon's pure parts: what to write to the Node and when, the
 * configuration's precedence and errors, and the metrics exposition. */
#include "testutil.h"

#include <errno.h>
#include <unistd.h>

#include "config.h"
#include "metrics.h"
#include "nodestate.h"

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

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_condition_writes_only_on_change),
                cmocka_unit_test(test_stale_is_unknown),
                cmocka_unit_test(test_config_precedence),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_metrics_exposition),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
