/*
 * handlers/runs.h — what the thread-run handlers (runs.c) share with the stateless-run
 * handlers (stateless.c) and the thread join stream (threads.c).
 */
#ifndef LG_HANDLERS_RUNS_H
#define LG_HANDLERS_RUNS_H

#include <stdint.h>
#include <jansson.h>
#include "http/http.h"
#include "util/uuid.h"

/*
 * Creates a run from the validated run-create `body` (borrowed) on `thread_id` (NULL =
 * stateless): resolves assistant_id (a graph id names its system assistant), hands the rest to
 * exec_run_create with the request's x-* headers for config.configurable. Returns 0 with the
 * run's id in `run_id` (UUID_STR_SIZE bytes; may be NULL) and, when `run` is not NULL, *run
 * (new reference), or -1 after answering the error (404 unknown assistant or thread, 409 busy
 * thread, 422 bad option, ...).
 */
int runs_start(http_ctx_t *ctx, const char *thread_id, const json_t *body, char *run_id, json_t **run);

/* The Last-Event-ID header as an event id (0 when absent or not a number). */
uint64_t runs_last_event_id(const http_ctx_t *ctx);

/*
 * The stream modes the request's stream_mode query parameter names, as the router gathered them
 * (a JSON array as the JS SDK sends, the key repeated as the Python SDK does, or a comma list).
 * NULL when absent. Returns a new reference.
 */
json_t *runs_mode_list(const http_ctx_t *ctx);

#endif
