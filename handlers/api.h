/*
 * handlers/api.h — helpers every resource handler shares: the store of the process, the
 * caller's owner scope, store errors as HTTP answers, pagination headers, `select` projection
 * and assistant-id resolution (a graph id names that graph's system assistant).
 */
#ifndef LG_HANDLERS_API_H
#define LG_HANDLERS_API_H

#include <stdint.h>
#include <jansson.h>
#include "http/http.h"
#include "store/store.h"

/* The open store (borrowed; installed by main.c before the loops start). */
const store_ops_t *api_ops(void);
store_t *api_store(void);

/* The owner scope of the request: NULL while auth is off (no filtering). Borrowed. */
const char *api_owner(const http_ctx_t *ctx);

/*
 * `metadata` (borrowed; NULL or not an object = none) as a client may write it: a deep copy
 * whose "owner" is the caller when auth is on, whatever the client sent (a client can neither
 * set nor change metadata.owner; sending its own id back is harmless). Returns a new
 * reference, or NULL when auth is off and there is no metadata (or out of memory).
 */
json_t *api_owned_metadata(const http_ctx_t *ctx, const json_t *metadata);

/* Whether thread `id` exists and is visible to the caller: STORE_OK or the store's error. */
store_rc_t api_thread_visible(const http_ctx_t *ctx, const char *id);

/*
 * Answers a failed store call: STORE_NOT_FOUND → 404 "<what> <id> not found", STORE_CONFLICT →
 * 409 "<what> <id> already exists" (or store_last_error() when id is NULL), STORE_INVALID →
 * 422 with store_last_error(), anything else → 500 (logged). `what` is "Thread", "Assistant",
 * ...; `id` may be NULL. Returns 0 (the request was answered).
 */
int api_store_error(http_ctx_t *ctx, store_rc_t rc, const char *what, const char *id);

/*
 * Sets X-Pagination-Total to `total` and, when more results follow the page that starts at
 * `offset` and holds `returned` items, X-Pagination-Next to the offset of the next page.
 */
void api_set_pagination(http_ctx_t *ctx, int64_t offset, size_t returned, int64_t total);

/*
 * Keeps only the members named in `select` (array of strings; NULL or empty keeps all) of each
 * object of array `list`, in place. `list` is borrowed.
 */
void api_select(json_t *list, const json_t *select);

/*
 * Resolves an assistant id from a request: a UUID is returned as is; anything else is taken as
 * a graph id and, when that graph is registered, its system assistant id is written to `buf`
 * and returned. Returns NULL when `id` is neither. `buf` must hold 37 bytes.
 */
const char *api_resolve_assistant_id(const char *id, char *buf);

#endif
