/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni version */
#include "base/prelude.h"
#include "cli/cli.h"

#include <stdio.h>

int cmd_version(int argc, char **argv)
{
    static const struct cli_opt opts[] = {{0}};
    int rc = cli_opts(argc, argv, 1, opts, "opendni version", NULL, 0);
    if (rc < 0)
        return cli_opts_exit(rc);
    printf("opendni 0.1.0\n");
    return EXIT_OK;
}
