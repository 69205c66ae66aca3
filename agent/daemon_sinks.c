/* SPDX-License-Identifier: Apache-2.0 */
/* Where a cycle's evidence goes: the evidence directory, the spool and the
 * collector, the node_exporter textfile, the Node; and the HTTP routes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "daemon_priv.h"
#include "durable.h"
#include "log.h"
#include "store.h"
#include "timeutil.h"

bool daemon_ready(const struct daemon *d, time_t now)
{
        return d->last_success && now - d->last_success <= (time_t) (READY_INTERVALS * d->cfg.interval_s);
}

static const char *rejected_dir(const struct daemon *d, char *path, size_t size)
{
        snprintf(path, size, "%s/" SPOOL_REJECTED_DIR, d->cfg.spool_dir);
        return path;
}

int daemon_route_metrics(void *userdata, char **body)
{
        struct daemon *d = userdata;
        char path[CONFIG_STR + 16];
        struct buf b = BUF_INIT(1 << 20);

        d->m.spool_envelopes = *d->cfg.spool_dir ? spool_count(d->cfg.spool_dir) : 0;
        d->m.spool_rejected = *d->cfg.spool_dir ? spool_count(rejected_dir(d, path, sizeof(path))) : 0;
        if (metrics_render(&d->m, &b) < 0) {
                buf_done(&b);
                *body = strdup("metrics rendering failed\n");
                return 500;
        }
        *body = buf_steal(&b);
        return 200;
}

int daemon_route_livez(void *userdata, char **body)
{
        *body = strdup("ok\n");
        return 200;
}

int daemon_route_readyz(void *userdata, char **body)
{
        struct daemon *d = userdata;
        bool ok = daemon_ready(d, time(NULL));

        *body = strdup(ok ? "ready\n" : "not ready: no successful cycle recently\n");
        return ok ? 200 : 503;
}

static void log_rejected(void *userdata, const char *name, const char *why)
{
        jlog("error", "collector rejected an envelope for good; moved aside, delivery goes on", "envelope", name,
             "error", why, NULL);
}

/* Delivers the spool unless a failed push asked for a pause: Retry-After
 * when the collector gave one, else a doubling wait from half an interval. */
static void push(struct daemon *d)
{
        struct push_target t = { d->http, d->cfg.push_url, d->cfg.push_token_file, d->cfg.push_ca_file,
                                 d->cfg.push_cert, d->cfg.push_key_file, log_rejected, NULL };
        struct spool_result res;
        uint64_t now = mono_ms(), wait_ms;
        char err[256] = "";
        int k;

        if (now < d->push_not_before_ms)
                return;
        k = spool_flush(d->cfg.spool_dir, &t, d->cfg.spool_max, &res, err, sizeof(err));
        if (k < 0 && k != -EAGAIN) {
                jlog("error", "spool directory unreadable", "dir", d->cfg.spool_dir, "error", strerror(-k), NULL);
                return;
        }
        d->m.push_rejected += res.rejected;
        if (k == 0) {
                d->push_failures = 0;
                d->push_not_before_ms = 0;
                return;
        }
        d->push_failures++;
        wait_ms = d->cfg.interval_s * 500 << (d->push_failures < 12 ? d->push_failures - 1 : 11);
        if (res.retry_after_s > 0 && (uint64_t) res.retry_after_s * 1000 > wait_ms)
                wait_ms = (uint64_t) res.retry_after_s * 1000;
        if (wait_ms > d->cfg.max_backoff_s * 1000)
                wait_ms = d->cfg.max_backoff_s * 1000;
        d->push_not_before_ms = now + wait_ms;
        jlog("warning", res.stopped == PUSH_MISCONFIGURED
                        ? "collector refused our credentials (401/403): check pushTokenFile and pushUrl; envelopes stay spooled"
                        : "collector push failed; envelopes stay spooled", "error", err, NULL);
}

int daemon_store_local(struct daemon *d, const char *env, size_t len, time_t now)
{
        char name[64];
        uint64_t dropped = 0;
        int r = 0, k;

        store_name(now, d->sequence, name);
        if (*d->cfg.evidence_dir) {
                r = evidence_dir_store(d->cfg.evidence_dir, name, env, len, d->cfg.evidence_keep,
                                       d->cfg.evidence_max_age_s, now);
                if (r < 0)
                        jlog("error", "evidence directory write failed", "dir", d->cfg.evidence_dir,
                             "error", strerror(-r), NULL);
        }
        if (!*d->cfg.push_url)
                return r;
        k = spool_add(d->cfg.spool_dir, name, env, len, d->cfg.spool_max, &dropped);
        d->m.spool_dropped += dropped;
        if (k < 0)
                jlog("error", "spool write failed; this envelope will not be pushed", "dir", d->cfg.spool_dir,
                     "error", strerror(-k), NULL);
        push(d);
        return r < 0 ? r : k;
}

void daemon_write_textfile(struct daemon *d)
{
        struct buf b = BUF_INIT(1 << 20);

        if (*d->cfg.textfile && metrics_render(&d->m, &b) == 0 && durable_write(d->cfg.textfile, b.data, b.len, true) < 0)
                jlog("error", "textfile write failed", "path", d->cfg.textfile, NULL);
        buf_done(&b);
}

void daemon_read_node_once(struct daemon *d, time_t now)
{
        if (!d->kube_on || d->node_read)
                return;
        if (kube_read_node(&d->kube, now, d->provider_id, sizeof(d->provider_id), &d->view) == 0) {
                d->node_read = true;
                /* A heartbeat written by an earlier agent counts. */
                d->heartbeat_due = d->view.known ? d->view.last_heartbeat + (time_t) d->cfg.heartbeat_s : 0;
        } else
                jlog("warning", "cannot read the Node", "error", d->kube.error, NULL);
}

int daemon_update_node(struct daemon *d, const struct report *rep, bool stale, time_t now)
{
        struct kube_evidence ev = { .sha256 = d->sequence ? d->previous : NULL };
        struct node_desired want;
        struct node_plan plan;
        char when[32];
        int r;

        if (!d->kube_on || d->flags.dry_run || !d->node_read)
                return d->kube_on && !d->flags.dry_run && !d->node_read ? -EAGAIN : 0;
        format_rfc3339(now, when);
        ev.time = when;
        node_desired_from(rep, stale, &want);
        node_plan_make(&d->view, &want, now >= d->heartbeat_due, &plan);
        if (!plan.write)
                return 0;
        r = kube_write_node(&d->kube, &want, &d->view, &plan, &ev, now);
        if (r < 0) {
                jlog("warning", "Node update failed", "error", d->kube.error, NULL);
                return r;
        }
        if (plan.event != NODE_EVENT_NONE && kube_post_event(&d->kube, plan.event, want.message, now) < 0)
                jlog("warning", "Event not recorded", "error", d->kube.error, NULL);
        node_view_update(&d->view, &want, &plan, now);
        d->heartbeat_due = now + (time_t) d->cfg.heartbeat_s + daemon_jitter(d->cfg.heartbeat_s, 10);
        jlog("info", "Node updated", "status", want.status, "reason", want.reason, NULL);
        return 0;
}
