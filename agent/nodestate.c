/* SPDX-License-Identifier: Apache-2.0 */
#include "nodestate.h"

#include <stdio.h>
#include <string.h>

#include "strparse.h"

/* The reason that decided the verdict: a failing fail-check, else an
 * unknown one, else the encryption-at-host check's own (it passed). */
static const char *decisive_reason(const struct report *r, enum check_status want)
{
        for (unsigned i = 0; i < r->n_checks; i++)
                if (r->checks[i].severity == SEVERITY_FAIL && r->checks[i].status == want)
                        return r->checks[i].reason;
        return NULL;
}

static unsigned count(const struct report *r, enum check_status s)
{
        unsigned n = 0;

        for (unsigned i = 0; i < r->n_checks; i++)
                n += r->checks[i].severity == SEVERITY_FAIL && r->checks[i].status == s;
        return n;
}

void node_desired_from(const struct report *r, bool stale, struct node_desired *ret)
{
        struct node_desired d = { .status = "Unknown" };
        const char *reason;

        if (stale) {
                snprintf(d.reason, sizeof(d.reason), "EvidenceStale");
                snprintf(d.message, sizeof(d.message), "no fresh evidence: the agent's recent cycles failed");
                snprintf(d.label, sizeof(d.label), "unknown");
                *ret = d;
                return;
        }
        switch (r->verdict) {
        case VERDICT_NONCOMPLIANT:
                reason = decisive_reason(r, CHECK_FAIL);
                snprintf(d.status, sizeof(d.status), "True");
                snprintf(d.message, sizeof(d.message), "%u failing check(s); see the node's hostenc evidence",
                         count(r, CHECK_FAIL));
                break;
        case VERDICT_UNKNOWN:
                reason = decisive_reason(r, CHECK_UNKNOWN);
                snprintf(d.message, sizeof(d.message), "%u check(s) could not be decided", count(r, CHECK_UNKNOWN));
                break;
        case VERDICT_COMPLIANT:
        default:
                reason = r->checks[0].reason;   /* encryption-at-host comes first */
                snprintf(d.status, sizeof(d.status), "False");
                snprintf(d.message, sizeof(d.message), "encryption at host is enabled and the disks match IMDS");
                break;
        }
        (void) strcpy_bounded(d.reason, sizeof(d.reason), reason ? reason : "Unknown");
        snprintf(d.label, sizeof(d.label), "%s", verdict_to_string(r->verdict));
        *ret = d;
}

void node_plan_make(const struct node_view *v, const struct node_desired *d, bool heartbeat_due,
                    struct node_plan *ret)
{
        struct node_plan p = { .event = NODE_EVENT_NONE };

        p.transition = !v->known || strcmp(v->status, d->status) != 0;
        p.write = p.transition || strcmp(v->reason, d->reason) != 0 || heartbeat_due;
        /* Events mark the edges between the definite states only, so a
         * flapping Unknown in between neither repeats nor hides them. */
        if (!strcmp(d->status, "True") && strcmp(v->last_definite, "True") != 0)
                p.event = NODE_EVENT_WARNING;
        else if (!strcmp(d->status, "False") && !strcmp(v->last_definite, "True"))
                p.event = NODE_EVENT_RECOVERED;
        *ret = p;
}

void node_view_update(struct node_view *v, const struct node_desired *d, const struct node_plan *p, time_t now)
{
        v->known = true;
        (void) strcpy_bounded(v->status, sizeof(v->status), d->status);
        (void) strcpy_bounded(v->reason, sizeof(v->reason), d->reason);
        v->last_heartbeat = now;
        if (p->transition)
                v->last_transition = now;
        if (strcmp(d->status, "Unknown") != 0)
                (void) strcpy_bounded(v->last_definite, sizeof(v->last_definite), d->status);
}
