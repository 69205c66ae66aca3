/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's state, shared by its loop (daemon.c) and its sinks and
 * HTTP routes (daemon_sinks.c). One thread touches it. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "evidence.h"
#include "httpd.h"
#include "imds.h"
#include "kube.h"
#include "metrics.h"
#include "nodestate.h"
#include "options.h"
#include "report.h"
#include "sysroot.h"

#define READY_INTERVALS 3               /* /readyz: a success within this many intervals */
#define STALE_INTERVALS 3               /* the Node condition goes stale after as many */

struct daemon {
        struct run_config cfg;
        struct run_flags flags;
        int argc;
        char **argv, **envp;
        char domain_list[CONFIG_STR];
        const char *domains[CLI_MAX_DOMAINS + 1];
        struct trust_store *trust;
        struct signing_key *key;
        struct signer_info si;
        struct http_transport *http;
        struct http_transport counting;         /* wraps http for IMDS metrics */
        struct imds_client imds;
        struct sysroot sr;
        struct kube_client kube;
        bool kube_on, node_read;
        struct node_view view;
        char provider_id[CONFIG_STR];
        time_t heartbeat_due;
        uint64_t push_not_before_ms;            /* monotonic; 0 = push now */
        struct node_facts *facts;
        struct attested_facts *binding;         /* kept across cycles until it needs refreshing */
        uint64_t sequence;
        char previous[65];
        time_t data_mismatch_since;
        struct metrics m;
        struct httpd *httpd;
        int sigfd;
        bool stop, reload;
        uint64_t next_cycle_ms;
        unsigned failures;
        unsigned push_failures;                 /* consecutive flushes that left envelopes */
        time_t started, last_success;
        int last_exit;
};

/* base ± pct % of it, at random. */
int64_t daemon_jitter(uint64_t base, uint64_t pct);

/* HTTP routes (/metrics, /livez, /readyz) and readiness. */
bool daemon_ready(const struct daemon *d, time_t now);
int daemon_route_metrics(void *userdata, char **body);
int daemon_route_livez(void *userdata, char **body);
int daemon_route_readyz(void *userdata, char **body);

/* The sinks of one cycle's envelope and report. */
int daemon_store_local(struct daemon *d, const char *env, size_t len, time_t now);
void daemon_write_textfile(struct daemon *d);
void daemon_read_node_once(struct daemon *d, time_t now);
int daemon_update_node(struct daemon *d, const struct report *rep, bool stale, time_t now);
