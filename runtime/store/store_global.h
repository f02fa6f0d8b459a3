/*
 * runtime/store/store_global.h — the process's one open store. main.c opens the backend the
 * configuration names and installs it here before the loops start; handlers and exec/ read it.
 * Installed once, read-only afterwards, so reads need no lock.
 */
#ifndef LG_STORE_GLOBAL_H
#define LG_STORE_GLOBAL_H

#include "store/store.h"

/* Installs the open store (borrowed: main.c keeps ownership and closes it at exit). */
void store_global_set(const store_ops_t *ops, store_t *s);
/* The installed ops table (NULL before store_global_set). */
const store_ops_t *store_global_ops(void);
/* The installed handle (NULL before store_global_set). */
store_t *store_global_handle(void);

#endif
