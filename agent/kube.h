/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The Kubernetes API, in cluster or at --kube-api: the agent's own Node
 * only. The service-account token is re-read for every request, because
 * bound tokens rotate. 429 and 5xx answers hold further writes back
 * (Retry-After honoured); no API error ends the daemon. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "http.h"
#include "nodestate.h"

enum kube_kind { KUBE_CONDITION, KUBE_METADATA, KUBE_EVENT, KUBE_READ, KUBE_KIND_COUNT };

struct kube_client {
        const struct http_transport *http;
        char base[CONFIG_STR];
        char token_file[CONFIG_STR];
        char ca_file[CONFIG_STR];
        char node[CONFIG_STR];
        char event_ns[CONFIG_STR];
        time_t hold_until;              /* no requests before this (Retry-After, backoff) */
        unsigned failures;
        uint64_t requests[KUBE_KIND_COUNT][2];  /* [kind][0 ok, 1 error] */
        char error[256];
};

/* kubeApi "" = in cluster from KUBERNETES_SERVICE_HOST/PORT in envp. */
int kube_client_init(struct kube_client *k, const struct run_config *c, const struct http_transport *http,
                     char *const *envp);

/* The Node's spec.providerID and our condition as it stands. */
int kube_read_node(struct kube_client *k, time_t now, char *provider_id, size_t pidsz, struct node_view *view);

struct kube_evidence {
        const char *sha256;             /* hex digest of the latest envelope */
        const char *time;               /* RFC 3339 */
};

/* Writes the condition (status subresource), then the label and annotations. */
int kube_write_node(struct kube_client *k, const struct node_desired *d, const struct node_view *v,
                    const struct node_plan *p, const struct kube_evidence *ev, time_t now);
int kube_post_event(struct kube_client *k, enum node_event e, const char *message, time_t now);
/* Removes our condition, label and annotations. */
int kube_cleanup(struct kube_client *k, time_t now);

const char *kube_kind_name(enum kube_kind kind);
