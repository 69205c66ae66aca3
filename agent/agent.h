/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The node agent's commands (cli/main.c dispatches to them). */

int cmd_check(int argc, char **argv);
int cmd_run(int argc, char **argv);
