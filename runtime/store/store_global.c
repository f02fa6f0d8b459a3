/*
 * runtime/store/store_global.c — holder of the process's open store (see store_global.h).
 */
#include "store/store_global.h"

static const store_ops_t *store_global_ops_ptr;
static store_t *store_global_ptr;

void store_global_set(const store_ops_t *ops, store_t *s)
{
    store_global_ops_ptr = ops;
    store_global_ptr = s;
}

const store_ops_t *store_global_ops(void)
{
    return store_global_ops_ptr;
}

store_t *store_global_handle(void)
{
    return store_global_ptr;
}
