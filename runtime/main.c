/*
 * runtime/main.c — lgserve's entry point: configuration, logging, then the HTTP loops until
 * SIGTERM/SIGINT. Exit codes: 0 after a clean shutdown, 1 when the server cannot start, 2 on
 * bad configuration.
 */
#include <stdio.h>
#include <string.h>
#include "http/server.h"
#include "util/config.h"
#include "util/log.h"

int main(int argc, char **argv)
{
    static config_t cfg;
    char err[512];
    int rc = 1;

    if (config_parse(&cfg, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "lgserve: %s\n", err);
        rc = 2;
        goto Exit;
    }
    if (cfg.action == CONFIG_HELP) {
        config_print_help(stdout);
        rc = 0;
        goto Exit;
    }
    if (cfg.action == CONFIG_VERSION) {
        printf("lgserve %s\n", LGSERVE_VERSION);
        rc = 0;
        goto Exit;
    }
    config_install(&cfg);
    log_configure(cfg.log_json, (log_level_t)cfg.log_level);
    if (server_start(&cfg) != 0)
        goto Exit;
    printf("lgserve %s listening on http://%s%s%s:%d (%d workers, store: %s%s)\n", LGSERVE_VERSION,
           strchr(cfg.host, ':') != NULL ? "[" : "", cfg.host, strchr(cfg.host, ':') != NULL ? "]" : "", cfg.port, cfg.workers, cfg.database_uri != NULL && cfg.database_uri[0] != '\0' ? "postgres" : "embedded at ",
           cfg.database_uri != NULL && cfg.database_uri[0] != '\0' ? "" : cfg.data_dir);
    fflush(stdout);
    rc = server_run() == 0 ? 0 : 1;
    log_info("stopped");
Exit:
    config_free(&cfg);
    return rc;
}
