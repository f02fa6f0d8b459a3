/*
 * tests/unit/store/store_contract.h — the storage contract suite: cmocka tests written only
 * against store_ops_t, so every backend (store_mem now, store_pg later) runs the same suite
 * unchanged. A backend's test program supplies an environment that makes fresh, empty stores.
 *
 * Build note: CMake turns each tests/unit/ ** /test_*.c into one executable, so a backend's
 * test program includes store_contract.c directly.
 */
#ifndef LG_TESTS_STORE_CONTRACT_H
#define LG_TESTS_STORE_CONTRACT_H

#include "store/store.h"

typedef struct store_contract_env {
    const store_ops_t *ops;
    /* Opens a fresh, empty store in *out; returns 0, or -1 (the test then fails). */
    int (*open_fresh)(void *ctx, store_t **out);
    /* Closes `s` and removes whatever open_fresh created for it. */
    void (*dispose)(void *ctx, store_t *s);
    void *ctx;
} store_contract_env_t;

/* Runs every contract test against `env` (borrowed; must outlive the call) as the cmocka
 * group `name`. Returns the number of failed tests. */
int store_contract_run(const char *name, const store_contract_env_t *env);

#endif
