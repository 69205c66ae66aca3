/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "agent.h"
#include "options.h"
#include "config.h"
#include "daemon.h"
#include "macro.h"

extern char **environ;

int cmd_run(int argc, char **argv)
{
        struct run_config *cfg = calloc(1, sizeof(*cfg));
        struct run_flags flags;
        int r;

        if (!cfg)
                return EXIT_SOFTWARE;
        r = config_load(argc, argv, environ, cfg, &flags);
        if (r != 0) {
                free(cfg);
                return r > 0 ? 0 : EXIT_CONFIG;
        }
        if (flags.print_config) {
                _cleanup_free_ char *json = config_to_json(cfg);

                free(cfg);
                if (!json)
                        return EXIT_SOFTWARE;
                puts(json);
                return 0;
        }
        r = daemon_run(argc, argv, environ, cfg, &flags);
        free(cfg);
        return r;
}
