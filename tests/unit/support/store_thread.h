/*
 * tests/unit/support/store_thread.h — the fixture the graph test programs share: a fresh
 * embedded store in its own temporary directory with one thread in it, and its removal.
 * Everything is static inline (see json_assert.h).
 */
#ifndef LG_TESTS_SUPPORT_STORE_THREAD_H
#define LG_TESTS_SUPPORT_STORE_THREAD_H

#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>

#include "store/store.h"
#include "store/store_test_util.h"
#include "util/uuid.h"

/*
 * Opens an embedded store in a new temporary directory (*dir: malloc'd, freed by
 * test_store_thread_close) and creates one thread in it, its id copied into `thread_id`.
 * Returns 0, or -1 after printing why (the cmocka setup then fails).
 */
static inline int test_store_thread_open(char **dir, const store_ops_t **ops, store_t **s,
                                         char thread_id[UUID_STR_SIZE])
{
    store_config_t cfg = {0};
    json_t *in = json_object(), *t = NULL;
    char *msg = NULL;
    int rc = -1;

    *ops = store_mem_ops();
    *s = NULL;
    if ((*dir = store_test_mkdtemp()) == NULL) {
        fprintf(stderr, "cannot create a temporary directory\n");
        goto Exit;
    }
    cfg.data_dir = *dir;
    if ((*ops)->open(&cfg, s, &msg) != STORE_OK) {
        fprintf(stderr, "%s\n", msg != NULL ? msg : "store open failed");
        goto Exit;
    }
    if ((*ops)->thread_create(*s, in, STORE_IF_EXISTS_RAISE, NULL, &t) != STORE_OK) {
        fprintf(stderr, "thread create failed: %s\n", store_last_error());
        goto Exit;
    }
    snprintf(thread_id, UUID_STR_SIZE, "%s", json_string_value(json_object_get(t, "thread_id")));
    rc = 0;
Exit:
    free(msg);
    json_decref(in);
    json_decref(t);
    return rc;
}

/* Closes the store of test_store_thread_open and removes its directory (frees `dir`). */
static inline void test_store_thread_close(const store_ops_t *ops, store_t *s, char *dir)
{
    if (s != NULL)
        ops->close(s);
    store_test_rmtree(dir);
    free(dir);
}

#endif
