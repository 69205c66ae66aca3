/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The daemon's configuration: defaults < config file (JSON) < HOSTENC_*
 * environment < flags. One table (config.c) names every key in all three
 * forms; docs/daemon-interface.md lists them. */

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_STR 512
#define CONFIG_FILE_MAX (64 * 1024)

struct run_config {
        char host_root[CONFIG_STR];
        char imds_url[CONFIG_STR];
        char imds_api_version[CONFIG_STR];
        uint64_t imds_timeout_s;
        char imds_trust[CONFIG_STR];
        char metadata_domain[CONFIG_STR];
        uint64_t resource_tolerance_mib;
        uint64_t data_disk_grace_s;
        uint64_t interval_s;
        uint64_t start_delay_s;
        uint64_t jitter_percent;
        uint64_t max_backoff_s;
        char node_name[CONFIG_STR];
        char key[CONFIG_STR];
        char kube_api[CONFIG_STR];
        char kube_token_file[CONFIG_STR];
        char kube_ca_file[CONFIG_STR];
        char event_namespace[CONFIG_STR];
        uint64_t heartbeat_s;
        char metrics_listen[CONFIG_STR];
        char textfile[CONFIG_STR];
        char evidence_dir[CONFIG_STR];
        uint64_t evidence_keep;
        uint64_t evidence_max_age_s;
        char push_url[CONFIG_STR];
        char push_token_file[CONFIG_STR];
        char push_cert[CONFIG_STR];
        char push_key_file[CONFIG_STR];
        char push_ca_file[CONFIG_STR];
        char spool_dir[CONFIG_STR];
        uint64_t spool_max;
};

struct run_flags {
        const char *config_file;
        bool once, dry_run, print_config, cleanup;
};

/* Builds the effective configuration from argv (flags), the environment
 * and the config file named by --config or HOSTENC_CONFIG. Every error is
 * one line naming its source and key. Returns 0, 1 after --help, or a
 * negative errno. Safe to call again on SIGHUP. */
int config_load(int argc, char **argv, char *const *envp, struct run_config *ret, struct run_flags *ret_flags);

/* The effective configuration as indented JSON; newly allocated. */
char *config_to_json(const struct run_config *c);
