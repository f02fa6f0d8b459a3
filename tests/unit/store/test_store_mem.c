/*
 * tests/unit/store/test_store_mem.c — runs the storage contract suite on the embedded backend,
 * once with fsync policy batch and once with always, each test in its own temporary data
 * directory (removed afterwards). The directories live in /dev/shm when there is one: this
 * suite checks meaning, and a disk shared with other jobs would only make it slow;
 * test_store_durable.c exercises the real disk.
 */
#include "store_test_util.h"

/* CMake builds one source per test program; the suite comes in as source. */
#include "store_contract.c"

typedef struct mem_env {
    store_fsync_t fsync;
    char *dirs[64];
    store_t *stores[64];
} mem_env_t;

static int mem_open_fresh(void *ctx, store_t **out)
{
    mem_env_t *env = ctx;
    store_config_t cfg = {0};
    char *dir = store_test_mkdtemp_mem(), *err = NULL;
    int i;

    if (dir == NULL)
        return -1;
    cfg.data_dir = dir;
    cfg.fsync = env->fsync;
    if (store_mem_ops()->open(&cfg, out, &err) != STORE_OK) {
        fprintf(stderr, "open %s: %s\n", dir, err ? err : "?");
        free(err);
        store_test_rmtree(dir);
        free(dir);
        return -1;
    }
    for (i = 0; i < 64 && env->dirs[i] != NULL; i++)
        ;
    env->dirs[i] = dir;
    env->stores[i] = *out;
    return 0;
}

static void mem_dispose(void *ctx, store_t *s)
{
    mem_env_t *env = ctx;
    int i;

    store_mem_ops()->close(s);
    for (i = 0; i < 64; i++) {
        if (env->stores[i] == s) {
            store_test_rmtree(env->dirs[i]);
            free(env->dirs[i]);
            env->dirs[i] = NULL;
            env->stores[i] = NULL;
        }
    }
}

int main(void)
{
    mem_env_t batch = {STORE_FSYNC_BATCH, {0}, {0}}, always = {STORE_FSYNC_ALWAYS, {0}, {0}};
    store_contract_env_t env_batch = {store_mem_ops(), mem_open_fresh, mem_dispose, &batch};
    store_contract_env_t env_always = {store_mem_ops(), mem_open_fresh, mem_dispose, &always};
    int failed = 0;

    failed += store_contract_run("store_mem (fsync batch)", &env_batch);
    failed += store_contract_run("store_mem (fsync always)", &env_always);
    return failed;
}
