/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The fleet tools' commands (cli/main.c dispatches to them). */

int cmd_verify(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_collect(int argc, char **argv);
