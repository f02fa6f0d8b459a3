/*
 * runtime/main.c — lgserve's entry point: configuration → auth mode → store → graphs and their
 * system assistants → run executor → TTL sweeper → HTTP loops until SIGTERM/SIGINT → orderly close. Exit codes: 0
 * after a clean shutdown, 1 when the server cannot start, 2 on bad configuration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "auth/auth.h"
#include "exec/exec.h"
#include "graph/graph.h"
#include "http/server.h"
#include "store/store_global.h"
#include "store/sweeper.h"
#include "util/config.h"
#include "util/log.h"

/* Creates, when missing, the default assistant of every registered graph: id = UUIDv5 of the
 * graph id, metadata.created_by = "system". Returns 0, or -1 after logging why. */
static int create_system_assistants(const store_ops_t *ops, store_t *s)
{
    char id[GRAPH_ASSISTANT_ID_SIZE];
    size_t i;

    for (i = 0; i != graph_count(); ++i) {
        const char *graph_id = graph_at(i)->spec->graph_id;
        graph_system_assistant_id(graph_id, id);
        json_t *in = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{}, s:{}}", "assistant_id", id, "graph_id", graph_id,
                               "name", graph_id, "metadata", "created_by", "system", "config", "context");
        store_rc_t rc = in != NULL ? ops->assistant_create(s, in, STORE_IF_EXISTS_DO_NOTHING, NULL, NULL) : STORE_NOMEM;
        json_decref(in);
        if (rc != STORE_OK) {
            log_error("cannot create the system assistant of graph %s: %s", graph_id, store_last_error());
            return -1;
        }
    }
    return 0;
}

/* glibc keeps at most 7 freed chunks per size in a thread's cache by default; the JSON trees of a
 * request churn far more than that, and 256 took ~10 % of the instructions per agent flow
 * (bench/agent_flow_callgrind.sh). The limit is only read from the environment at start, so
 * without GLIBC_TUNABLES the process executes itself again once with it set; an operator's own
 * GLIBC_TUNABLES is left as it is, and a failed exec just goes on with the defaults. */
static void malloc_tune(char **argv)
{
    if (getenv("GLIBC_TUNABLES") != NULL || setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=256", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    unsetenv("GLIBC_TUNABLES");
}

int main(int argc, char **argv)
{
    static config_t cfg;
    const store_ops_t *ops = store_mem_ops();
    store_t *store = NULL;
    char err[512], *store_err = NULL;
    int rc = 1;

    malloc_tune(argv);
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
    if (auth_start(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "lgserve: %s\n", err);
        rc = 2;
        goto Exit;
    }
    if (cfg.database_uri != NULL && cfg.database_uri[0] != '\0') {
        fprintf(stderr, "lgserve: --database-uri: the PostgreSQL store is not available yet; unset it to use the embedded store\n");
        rc = 2;
        goto Exit;
    }
    store_config_t scfg = {.data_dir = cfg.data_dir,
                           .fsync = cfg.fsync_always ? STORE_FSYNC_ALWAYS : STORE_FSYNC_BATCH,
                           .compact_bytes = cfg.compact_size};
    if (ops->open(&scfg, &store, &store_err) != STORE_OK) {
        fprintf(stderr, "lgserve: cannot open the store in %s: %s\n", cfg.data_dir, store_err != NULL ? store_err : "unknown error");
        goto Exit;
    }
    store_global_set(ops, store);
    if (graph_registry_init() != 0 || create_system_assistants(ops, store) != 0)
        goto Exit;
    exec_config_t ecfg = {.workers = cfg.run_workers, .retention_s = cfg.stream_retention,
                          .run_timeout_s = cfg.run_timeout};
    if (exec_start(&ecfg, ops, store) != 0)
        goto Exit;
    if (server_start(&cfg) != 0)
        goto Exit;
    if (sweeper_start(ops, store, exec_thread_delete, cfg.sweep_interval) != 0) {
        log_error("cannot start the TTL sweeper");
        goto Exit;
    }
    printf("lgserve %s listening on http://%s%s%s:%d (%d workers, store: embedded at %s, fsync %s, auth: %s)\n", LGSERVE_VERSION,
           strchr(cfg.host, ':') != NULL ? "[" : "", cfg.host, strchr(cfg.host, ':') != NULL ? "]" : "", cfg.port,
           cfg.workers, cfg.data_dir, cfg.fsync_always ? "always" : "batch", config_auth_mode(&cfg));
    fflush(stdout);
    rc = server_run() == 0 ? 0 : 1;
    log_info("stopped");
Exit:
    sweeper_stop();
    exec_stop(cfg.shutdown_grace);
    store_global_set(NULL, NULL);
    ops->close(store);
    auth_stop();
    free(store_err);
    config_free(&cfg);
    return rc;
}
