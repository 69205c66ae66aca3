/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "config.h"

/* Runs the agent until SIGTERM/SIGINT (or one cycle with --once). Returns
 * a process exit code: with --once the verdict's (0/1/2), else 0 after a
 * clean shutdown, or EXIT_CONFIG/EXIT_SOFTWARE when it could not start. */
int daemon_run(int argc, char **argv, char **envp, const struct run_config *cfg, const struct run_flags *flags);
