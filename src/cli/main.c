/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* opendni: finds argv[1] in the sorted commands[] table and runs it. Nothing else lives here. */
#include "base/prelude.h"

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int cmd_help(int argc, char **argv);

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"account", cmd_account, "create accounts and set their provider secrets"},
    {"audit", cmd_audit,
     "the quarterly audit: a reproducible sample of calls to check, and its score"},
    {"backup", cmd_backup, "copy the store while it is in use (restore: docs/operations.md)"},
    {"call", cmd_call, "simulate a provider's call webhooks against a running server"},
    {"erase", cmd_erase, "erase a visitor or a caller (GDPR/CCPA requests)"},
    {"export", cmd_export, "export history: a trace for the pool-sizing simulator"},
    {"help", cmd_help, "list the commands"},
    {"init", cmd_init, "create or migrate the store (idempotent)"},
    {"secrets", cmd_secrets, "make a secrets key, rotate it (re-seal every provider secret)"},
    {"serve", cmd_serve, "run the HTTP server"},
    {"simulate", cmd_simulate, "size pools by replaying traffic through the lease engine"},
    {"user", cmd_user, "dashboard users and their roles per account"},
    {"version", cmd_version, "print the version"},
};

static int cmd_help(int argc, char **argv)
{
    printf("usage: opendni <command> [options]   (opendni <command> --help for its options)\n\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        printf("  %-10s %s\n", commands[i].name, commands[i].summary);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cmd_help(argc, argv), EXIT_USAGE;
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return cmd_help(argc, argv);
    if (strcmp(name, "--version") == 0)
        name = "version";
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command '%s' (see opendni help)\n", name);
    return EXIT_USAGE;
}
