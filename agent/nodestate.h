/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Pure: what the daemon should write to its Node. The API load at 5,000
 * nodes stays small because writes happen only when the condition's status
 * or reason changes, or when a slow jittered heartbeat is due. */

#include <stdbool.h>
#include <time.h>

#include "policy.h"

#define CONDITION_TYPE "EncryptionAtHostNonCompliant"
#define LABEL_KEY "hostenc.dev/encryption-at-host"
#define ANNOTATION_DIGEST "hostenc.dev/evidence-sha256"
#define ANNOTATION_TIME "hostenc.dev/evidence-time"
#define EVENT_NONCOMPLIANT "EncryptionAtHostNonCompliant"
#define EVENT_RECOVERED "EncryptionAtHostCompliant"

/* Our condition as it stands on the Node (read at start, then as written). */
struct node_view {
        bool known;
        char status[8];                 /* "True", "False", "Unknown" */
        char reason[64];
        time_t last_heartbeat;
        time_t last_transition;
        char last_definite[8];          /* last "True" or "False" seen: for events */
};

struct node_desired {
        char status[8];
        char reason[64];
        char message[256];
        char label[16];
};

enum node_event { NODE_EVENT_NONE, NODE_EVENT_WARNING, NODE_EVENT_RECOVERED };

struct node_plan {
        bool write;                     /* condition + label + annotations */
        bool transition;                /* status changed: lastTransitionTime = now */
        enum node_event event;
};

/* The condition for a verdict: True = noncompliant, False = compliant,
 * Unknown = cannot tell; reason = the first decisive check's reason. A
 * stale verdict (no evidence for too long) is Unknown/EvidenceStale. */
void node_desired_from(const struct report *r, bool stale, struct node_desired *ret);

/* heartbeat_due: the caller's jittered heartbeat deadline has passed. */
void node_plan_make(const struct node_view *v, const struct node_desired *d, bool heartbeat_due,
                    struct node_plan *ret);

/* The view after a successful write at `now`. */
void node_view_update(struct node_view *v, const struct node_desired *d, const struct node_plan *p, time_t now);
