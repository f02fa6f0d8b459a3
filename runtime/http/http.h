/*
 * runtime/http/http.h — the request context every handler receives, and the response helpers
 * handlers answer through. Handlers never touch sockets: they read ctx->params/query/body (all
 * validated by the router before the handler runs) and answer with http_send_* exactly once.
 *
 * Handler contract: `int handler(http_ctx_t *ctx)` returns 0 once it has answered (or has
 * taken over the response, e.g. a stream); non-zero means an internal failure, which the
 * router logs and answers with 500 if nothing was sent yet.
 */
#ifndef LG_HTTP_HTTP_H
#define LG_HTTP_HTTP_H

#include <stdarg.h>
#include <h2o.h>
#include <jansson.h>
#include "auth/auth.h"

/* Route flags, set per row in generated/routes.def. */
enum {
    RF_NONE = 0,
    RF_STREAM = 1 << 0,    /* answers text/event-stream */
    RF_EXTENSION = 1 << 1, /* ours, not in the official contract (x-lgserve-extension) */
    RF_PLANNED = 1 << 2,   /* not implemented yet: routed to http_not_implemented */
    RF_PUBLIC = 1 << 3,    /* needs no credentials when auth is on */
    RF_TOLERANT = 1 << 4,  /* body tolerates unknown fields (run-create bodies) */
    RF_SDK_EXTRA = 1 << 5, /* called by the official SDKs but absent from the official spec (x-lgserve-sdk-extra) */
};

typedef enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_METHOD_COUNT } http_method_t;

struct router_route;

typedef struct http_ctx {
    h2o_req_t *req;                    /* borrowed; its pool outlives the context */
    const struct router_route *route;  /* the matched row */
    json_t *params; /* object: path, query and header parameters, coerced and validated, defaults filled */
    json_t *body;   /* validated request body ({} with defaults when an optional body is absent),
                       or NULL when the operation takes none; both owned by the request (decref'd
                       when its pool is destroyed), borrow them */
    const char *request_id; /* NUL-terminated, in the request pool */
    const auth_user_t *user; /* the authenticated caller (in the request pool), NULL while auth is off */
    int responded;          /* set once a response was started; a handler that starts one itself
                               (h2o_start_response, e.g. a stream) sets it too */
} http_ctx_t;

typedef int (*http_handler_fn)(http_ctx_t *ctx);

/* The matched route; rows come from generated/routes.def. */
typedef struct router_route {
    http_method_t method;
    const char *path;       /* template, e.g. "/threads/{thread_id}" */
    const char *op_id;      /* operationId from the spec */
    http_handler_fn handler;
    unsigned flags;
    const struct valid_op *valid;
} router_route_t;

/* The compact JSON text of `v` (borrowed) in `pool`, NUL-terminated (the NUL not counted); an
 * empty text when `v` cannot be written (NULL, invalid UTF-8). */
h2o_iovec_t http_json_in_pool(h2o_mem_pool_t *pool, const json_t *v);
/* Answers `status` with `body` as JSON. Steals `body`, even on failure. Returns 0. */
int http_send_json(http_ctx_t *ctx, int status, json_t *body);
/*
 * Answers `status` with `len` bytes of `body` (borrowed: static or in the request pool, it must
 * live until the request is disposed) as `content_type` (NULL: no Content-Type); to a HEAD
 * request, only the headers. Returns 0.
 */
int http_send_raw(http_ctx_t *ctx, int status, const char *content_type, const char *body, size_t len);
/* Answers `status` with {"detail": <formatted message>}. Returns 0. */
int http_send_error(http_ctx_t *ctx, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Adds a response header; name and value are copied into the request pool. */
void http_add_header(http_ctx_t *ctx, const char *name, const char *value);
/* Convenience accessors over ctx->params (borrowed; NULL/default when absent). */
const char *http_param_str(const http_ctx_t *ctx, const char *name);
json_int_t http_param_int(const http_ctx_t *ctx, const char *name, json_int_t dflt);
int http_param_bool(const http_ctx_t *ctx, const char *name, int dflt);

/* The shared handler for `planned` operations: 501 {"detail": "<METHOD> <path> is not implemented yet"}. */
int http_not_implemented(http_ctx_t *ctx);

const char *http_method_name(http_method_t m);
/* Maps a request method ("GET") to its enum; HTTP_METHOD_COUNT when it is not one of ours. */
http_method_t http_method_from(const char *s, size_t len);

#endif
