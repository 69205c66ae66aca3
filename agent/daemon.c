/* SPDX-License-Identifier: Apache-2.0 */
/* hostenc run: one thread, one poll loop over a signalfd and the HTTP
 * listener; cycles on a jittered interval, exponential backoff on errors. */
#include "daemon.h"
#include "daemon_priv.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "attested.h"
#include "binding.h"
#include "options.h"
#include "cycle.h"
#include "durable.h"
#include "evidence.h"
#include "httpd.h"
#include "log.h"
#include "keyfile.h"
#include "kube.h"
#include "macro.h"
#include "metrics.h"
#include "report.h"
#include "store.h"
#include "strparse.h"
#include "sysroot.h"
#include "timeutil.h"

#define ERROR_BACKOFF_BASE_S 30

static uint32_t rnd(void)
{
        uint32_t v = 0;

        if (getrandom(&v, sizeof(v), 0) != sizeof(v))
                v = (uint32_t) mono_ms();
        return v;
}

/* A uniformly random offset in [-pct%, +pct%] of base. */
int64_t daemon_jitter(uint64_t base, uint64_t pct)
{
        uint64_t span = base * pct / 100;

        return span ? (int64_t) (rnd() % (2 * span + 1)) - (int64_t) span : 0;
}

static void handle_signal(struct daemon *d)
{
        struct signalfd_siginfo si;

        while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGHUP)
                        d->reload = true;
                else
                        d->stop = true;
        }
}

/* Waits up to ms for a signal or an HTTP request, serving requests. */
static void wait_events(struct daemon *d, uint64_t ms)
{
        struct pollfd p[2] = { { .fd = d->sigfd, .events = POLLIN }, { .fd = -1, .events = POLLIN } };
        int t = ms > 60000 ? 60000 : (int) ms, ht;

        if (d->httpd) {
                p[1].fd = httpd_fd(d->httpd);
                ht = httpd_timeout_ms(d->httpd);
                if (ht >= 0 && ht < t)
                        t = ht;
        }
        if (poll(p, 2, t) < 0 && errno != EINTR)
                return;
        if (p[0].revents & POLLIN)
                handle_signal(d);
        if (d->httpd)
                httpd_run(d->httpd);
}

/* The IMDS client's backoff sleeps through here: the listener keeps
 * answering and SIGTERM cuts the wait short. */
static int daemon_sleep(void *userdata, uint64_t ms)
{
        struct daemon *d = userdata;
        uint64_t end = mono_ms() + ms, now;

        while (!d->stop && (now = mono_ms()) < end)
                wait_events(d, end - now);
        return d->stop ? -ECANCELED : 0;
}

static uint64_t clock_now(void *userdata)
{
        return mono_ms();
}

static uint32_t clock_random(void *userdata)
{
        return rnd();
}

/* Counts IMDS answers by endpoint and status class for the metrics. */
static int counting_request(void *userdata, const struct http_request *req, struct http_response *resp)
{
        struct daemon *d = userdata;
        int r = d->http->request(d->http->userdata, req, resp);
        enum imds_endpoint ep = strstr(req->url, "/metadata/attested/") ? IMDS_EP_ATTESTED : IMDS_EP_COMPUTE;

        d->m.imds[ep][code_class_of(r < 0 ? 0 : resp->status, r)]++;
        return r;
}

static const struct imds_clock *daemon_clock(struct daemon *d)
{
        static struct imds_clock c = { clock_now, daemon_sleep, clock_random, NULL };

        c.userdata = d;
        return &c;
}

/* metadataDomain is a comma-separated list, validated by config.c. */
static void split_domains(struct daemon *d)
{
        char *save = NULL, *one;
        unsigned n = 0;

        snprintf(d->domain_list, sizeof(d->domain_list), "%s", d->cfg.metadata_domain);
        for (one = strtok_r(d->domain_list, ",", &save); one && n < CLI_MAX_DOMAINS; one = strtok_r(NULL, ",", &save))
                d->domains[n++] = one;
        d->domains[n] = NULL;
}

/* Evidence that cannot be stored is lost: a directory that is missing or
 * not writable is a configuration error, named at start-up. */
static bool dir_usable(const char *key, const char *dir)
{
        int r = *dir ? store_dir_usable(dir) : 0;

        if (r < 0)
                log_error("config: %s %s: %s", key, dir, strerror(-r));
        return r == 0;
}

/* Everything that follows the configuration; run again on SIGHUP. */
static int apply_config(struct daemon *d)
{
        int r;

        split_domains(d);
        d->trust = trust_store_free(d->trust);
        if (trust_load(*d->cfg.imds_trust ? d->cfg.imds_trust : NULL, &d->trust) < 0)
                return EXIT_CONFIG;
        struct imds_client previous = d->imds;
        r = imds_client_init(&d->imds, &d->counting, daemon_clock(d), d->cfg.imds_url, d->cfg.imds_api_version,
                             d->cfg.imds_timeout_s * 1000);
        if (r == 0)
                imds_client_keep_rate(&d->imds, &previous);     /* a reload does not reset the budget */
        if (r < 0) {
                log_error("config: imdsUrl/imdsApiVersion: unusable (\"%s\", \"%s\")", d->cfg.imds_url,
                          d->cfg.imds_api_version);
                return EXIT_CONFIG;
        }
        sysroot_close(&d->sr);
        r = sysroot_open(d->cfg.host_root, &d->sr);
        if (r < 0) {
                log_error("config: hostRoot %s: %s", d->cfg.host_root, strerror(-r));
                return EXIT_CONFIG;
        }
        d->kube_on = strcmp(d->cfg.kube_api, "none") != 0;
        if (d->kube_on && kube_client_init(&d->kube, &d->cfg, d->http, d->envp) < 0) {
                log_error("config: kubeApi: not in a cluster (no KUBERNETES_SERVICE_HOST/PORT); "
                          "set kubeApi, or \"none\" to disable the Kubernetes sink");
                return EXIT_CONFIG;
        }
        d->m.kube = d->kube_on ? (const uint64_t(*)[2]) d->kube.requests : NULL;
        d->node_read = false;
        if (!dir_usable("evidenceDir", d->cfg.evidence_dir) || !dir_usable("spoolDir", d->cfg.spool_dir))
                return EXIT_CONFIG;
        return 0;
}

/* A persistent key continues its chain across restarts: the newest
 * envelope it signed in the evidence directory gives the sequence and the
 * digest to chain to, so a collector sees no replay after a restart. */
static void resume_chain(struct daemon *d)
{
        char latest[CONFIG_STR + 16];

        if (!*d->cfg.evidence_dir)
                return;
        snprintf(latest, sizeof(latest), "%s/latest.json", d->cfg.evidence_dir);
        if (evidence_previous(latest, d->si.key_id, &d->sequence, d->previous) < 0)
                d->sequence = 0;
}

static int load_signing_key(struct daemon *d)
{
        int r = *d->cfg.key ? keyfile_load(d->cfg.key, &d->key) : signing_key_generate(&d->key);

        if (r < 0)
                return EXIT_CONFIG;
        if (signer_info_init(d->key, &d->si) < 0)
                return EXIT_SOFTWARE;
        resume_chain(d);
        return 0;
}

static int setup_signals(struct daemon *d)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;
        d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        return d->sigfd < 0 ? -errno : 0;
}

static int setup(struct daemon *d)
{
        struct httpd_routes routes = { .metrics = daemon_route_metrics, .livez = daemon_route_livez, .readyz = daemon_route_readyz };
        int r;

        /* Fixed thresholds: glibc otherwise raises them to the largest block
         * freed so far, and each cycle's large temporaries (a compute
         * document, a mount table) would then stay resident in the heap. */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 256 * 1024);
        d->facts = calloc(1, sizeof(*d->facts));
        d->binding = calloc(1, sizeof(*d->binding));
        if (!d->facts || !d->binding || http_curl_new(&d->http) < 0 || setup_signals(d) < 0)
                return EXIT_SOFTWARE;
        d->counting = (struct http_transport){ counting_request, d };
        r = load_signing_key(d);
        if (r == 0)
                r = apply_config(d);
        if (r != 0 || !*d->cfg.metrics_listen || d->flags.cleanup)
                return r;
        routes.userdata = d;
        if (httpd_start(d->cfg.metrics_listen, &routes, &d->httpd) < 0) {
                log_error("config: metricsListen %s: cannot listen there", d->cfg.metrics_listen);
                return EXIT_CONFIG;
        }
        return 0;
}

static void teardown(struct daemon *d)
{
        httpd_stop(d->httpd);
        http_curl_free(d->http);
        trust_store_free(d->trust);
        signing_key_free(d->key);
        signer_info_done(&d->si);
        sysroot_close(&d->sr);
        free(d->facts);
        free(d->binding);
        if (d->sigfd >= 0)
                close(d->sigfd);
}

/* The cycle's environment; the IMDS budget is the check's (75 s) unless
 * imdsTimeout asks one call for more. */
static struct cycle_env cycle_env_of(struct daemon *d)
{
        uint64_t budget = d->cfg.imds_timeout_s * 1000 > IMDS_CYCLE_DEFAULT_MS ? d->cfg.imds_timeout_s * 1000
                                                                               : IMDS_CYCLE_DEFAULT_MS;

        return (struct cycle_env){ .imds = &d->imds, .budget_ms = budget, .trust = d->trust, .domains = d->domains,
                                   .sr = &d->sr, .key = d->key, .si = &d->si };
}

static void collect(struct daemon *d, const struct cycle_env *e, time_t now)
{
        /* The binding document lives six hours: fetch it again only near its
         * expiry, so a cycle costs one IMDS request, not two. */
        bool refresh = !d->stop && binding_needs_refresh(d->binding, d->si.nonce, now);

        cycle_collect(e, d->binding, refresh, d->facts);
        if (refresh && d->binding->state == ATTESTED_OK)
                d->m.last_attestation = (double) now;
}

static int judge_sign(struct daemon *d, const struct cycle_env *e, const struct policy_opts *po, struct report *rep,
                      char **env, size_t *len)
{
        struct statement_input in = {
                .node_name = d->cfg.node_name, .provider_id = d->provider_id, .sequence = d->sequence + 1,
                .previous_sha256 = d->sequence ? d->previous : NULL,
        };
        uint8_t digest[32];
        int r = cycle_judge_sign(e, d->facts, po, &in, rep, env, len);

        if (r < 0)
                return r;
        d->sequence++;
        sha256(*env, *len, digest);
        hex_encode(digest, sizeof(digest), d->previous);
        return 0;
}

/* Remembers when a data-disk mismatch was first seen, for the grace window. */
static void track_data_mismatch(struct daemon *d, const struct report *rep, time_t now)
{
        for (unsigned i = 0; i < rep->n_checks; i++) {
                const struct check_result *c = &rep->checks[i];
                bool mismatch = c->status == CHECK_FAIL || !strcmp(c->reason, "DataDiskMismatchPending");

                if (strcmp(c->id, "data-disks") != 0)
                        continue;
                if (!mismatch)
                        d->data_mismatch_since = 0;
                else if (!d->data_mismatch_since)
                        d->data_mismatch_since = now;
        }
}

static void log_cycle(const struct daemon *d, const struct report *rep, double secs)
{
        char seq[24], dur[24];
        const char *reason = "";

        for (unsigned i = 0; i < rep->n_checks && !*reason; i++)
                if (rep->checks[i].severity == SEVERITY_FAIL && rep->checks[i].status != CHECK_PASS)
                        reason = rep->checks[i].reason;
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long) d->sequence);
        snprintf(dur, sizeof(dur), "%.3f", secs);
        jlog("info", "cycle", "verdict", verdict_to_string(rep->verdict), "reason", reason, "sequence", seq,
             "evidenceSha256", d->sequence ? d->previous : "", "durationSeconds", dur, NULL);
}

/* One cycle. Returns 0 when signed evidence came out and every sink that
 * matters took it, negative otherwise (the loop then backs off). */
static int cycle(struct daemon *d)
{
        struct policy_opts po = { .resource_tolerance_mib = d->cfg.resource_tolerance_mib,
                                  .data_disk_grace_s = d->cfg.data_disk_grace_s,
                                  .data_disk_mismatch_since = d->data_mismatch_since };
        _cleanup_free_ char *env = NULL;
        uint64_t t0 = mono_ms();
        struct report rep;
        size_t len = 0;
        bool stale, stored;
        int r, k;

        const struct cycle_env e = cycle_env_of(d);

        po.now = time(NULL);
        daemon_read_node_once(d, po.now);
        collect(d, &e, po.now);
        r = judge_sign(d, &e, &po, &rep, &env, &len);
        track_data_mismatch(d, &rep, po.now);
        if (r == 0)
                r = daemon_store_local(d, env, len, po.now);
        stored = r == 0;
        if (r == 0 && d->facts->imds.state != IMDS_OK)
                r = -EAGAIN;            /* evidence written; still retry sooner */
        /* Evidence signed but not stored is lost: not a success for
         * /readyz, nor for --once's exit code. */
        if (stored)
                d->last_success = po.now;
        stale = !d->last_success || po.now - d->last_success > (time_t) (STALE_INTERVALS * d->cfg.interval_s);
        k = daemon_update_node(d, &rep, stale && po.now - d->started > (time_t) (STALE_INTERVALS * d->cfg.interval_s), po.now);
        d->m.report = rep;
        d->m.have_report = true;
        d->m.last_success = (double) d->last_success;
        d->m.cycle_seconds = (double) (mono_ms() - t0) / 1000.0;
        d->m.cycles[r < 0 || k < 0]++;
        daemon_write_textfile(d);
        log_cycle(d, &rep, d->m.cycle_seconds);
        d->last_exit = !stored ? EXIT_SOFTWARE
                       : rep.verdict == VERDICT_COMPLIANT ? EXIT_COMPLIANT
                       : rep.verdict == VERDICT_NONCOMPLIANT ? EXIT_NONCOMPLIANT : EXIT_UNKNOWN;
        return r < 0 ? r : k;
}

static void schedule(struct daemon *d, int result)
{
        uint64_t delay_s;

        if (result < 0) {
                /* Retry sooner than the interval at first, then back off. */
                uint64_t base = d->cfg.interval_s < ERROR_BACKOFF_BASE_S ? d->cfg.interval_s : ERROR_BACKOFF_BASE_S;

                d->failures++;
                delay_s = base << (d->failures < 12 ? d->failures - 1 : 11);
                if (delay_s > d->cfg.max_backoff_s)
                        delay_s = d->cfg.max_backoff_s;
        } else {
                d->failures = 0;
                delay_s = d->cfg.interval_s;
        }
        d->next_cycle_ms = mono_ms() + (uint64_t) ((int64_t) delay_s * 1000 +
                                                   daemon_jitter(delay_s * 1000, d->cfg.jitter_percent));
}

static void reload(struct daemon *d)
{
        struct run_config cfg;
        struct run_flags flags;

        d->reload = false;
        if (config_load(d->argc, d->argv, d->envp, &cfg, &flags) != 0) {
                jlog("error", "reload failed; keeping the running configuration", NULL);
                return;
        }
        /* The signing key and the listener stay: a key change would start a
         * new evidence chain, a listener change would break the probes. */
        d->cfg = cfg;
        if (apply_config(d) != 0)
                jlog("error", "reloaded configuration unusable; restart to apply it", NULL);
        else
                jlog("info", "configuration reloaded", NULL);
}

static void loop(struct daemon *d)
{
        uint64_t now;

        d->next_cycle_ms = mono_ms() + (d->flags.once ? 0 : (d->cfg.start_delay_s ? rnd() % (d->cfg.start_delay_s * 1000 + 1) : 0));
        while (!d->stop) {
                now = mono_ms();
                if (now >= d->next_cycle_ms) {
                        int r = cycle(d);

                        if (d->flags.once)
                                return;
                        schedule(d, r);
                        continue;
                }
                wait_events(d, d->next_cycle_ms - now);
                if (d->reload)
                        reload(d);
        }
}

static int cleanup(struct daemon *d)
{
        int r;

        if (!d->kube_on) {
                log_error("run --cleanup: the Kubernetes sink is disabled (kubeApi \"none\")");
                return EXIT_CONFIG;
        }
        r = kube_cleanup(&d->kube, time(NULL));
        if (r < 0) {
                log_error("run --cleanup: %s", d->kube.error);
                return EXIT_SOFTWARE;
        }
        jlog("info", "removed our condition, label and annotations", "node", d->cfg.node_name, NULL);
        return 0;
}

int daemon_run(int argc, char **argv, char **envp, const struct run_config *cfg, const struct run_flags *flags)
{
        struct daemon *d = calloc(1, sizeof(*d));
        int r;

        if (!d)
                return EXIT_SOFTWARE;
        *d = (struct daemon){ .cfg = *cfg, .flags = *flags, .argc = argc, .argv = argv, .envp = envp,
                              .sr.dirfd = -EBADF, .sigfd = -1, .started = time(NULL) };
        r = setup(d);
        if (r == 0 && d->flags.cleanup)
                r = cleanup(d);
        else if (r == 0) {
                jlog("info", "started", "node", d->cfg.node_name, "keyId", d->si.key_id, NULL);
                loop(d);
                r = d->flags.once ? d->last_exit : 0;
                jlog("info", "stopped", NULL);
        }
        teardown(d);
        free(d);
        return r;
}
