/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "fleet.h"
#include "http.h"
#include "options.h"

static void usage(FILE *out)
{
        fputs("Usage: hostenc COMMAND [OPTIONS]\n"
              "Proves, from inside an AKS node, whether its VM has Azure encryption at host\n"
              "and whether its temp and cache disks match what Azure says.\n\n"
              "Commands:\n"
              "  check       collect, evaluate and print one report (exit 0/1/2)\n"
              "  verify      verify signed envelopes offline (exit 0 only if all valid)\n"
              "  audit       fleet report from envelopes, kubectl and ARM exports (text/json/junit/html)\n"
              "  run         the daemon: cycles, Node condition/label/events, metrics, evidence\n"
              "  collect     receive, verify and store the agents' evidence (the central verifier)\n\n"
              "Options:\n"
              "  -h, --help     this text ('hostenc check --help' for the command)\n"
              "  --version      print the version\n", out);
}

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
} commands[] = {
        { "check", cmd_check }, { "run", cmd_run },
        { "verify", cmd_verify }, { "audit", cmd_audit }, { "collect", cmd_collect },
};

int main(int argc, char **argv)
{
        int r;

        if (argc < 2) {
                usage(stderr);
                return EXIT_USAGE;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[1], "--version")) {
                puts("hostenc " HOSTENC_VERSION);
                return 0;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
                if (strcmp(argv[1], commands[i].name) != 0)
                        continue;
                if (http_global_init() < 0) {
                        log_error("libcurl initialisation failed");
                        return EXIT_SOFTWARE;
                }
                r = commands[i].run(argc - 1, argv + 1);
                http_global_cleanup();
                return r;
        }
        log_error("unknown command \"%s\" (try --help)", argv[1]);
        return EXIT_USAGE;
}
