/*
 * runtime/http/request.h — the request pipeline between h2o and the handlers: method and path
 * matching, parameter gathering and coercion, body reading and validation, CORS, request ids,
 * the access log and the JSON rewrite of h2o's own error responses. server.c installs it on
 * each host; the parameter functions are public for the unit tests.
 */
#ifndef LG_HTTP_REQUEST_H
#define LG_HTTP_REQUEST_H

#include <sys/types.h>
#include "http/http.h"
#include "http/router.h"
#include "http/valid.h"

/* Settings of the pipeline; strings are borrowed and must outlive the server. */
typedef struct http_settings {
    size_t max_body_size;     /* bytes; larger bodies are answered 413 */
    const char *cors_origins; /* "*", a comma list, or NULL/"" for no CORS headers */
} http_settings_t;

/* Sets the pipeline settings. Call before the loops start. */
void http_request_configure(const http_settings_t *s);
/* The settings in force (borrowed). */
const http_settings_t *http_request_settings(void);

/*
 * Registers the pipeline on `pathconf` (the handler, the response filter and the access
 * logger) and the filter and logger on `fallback` (where h2o answers requests it rejects before
 * any handler, such as a 413 on Content-Length, so those get JSON bodies, a request id and CORS
 * headers too).
 */
void http_request_register(h2o_pathconf_t *pathconf, h2o_pathconf_t *fallback);

/*
 * Registers the pipeline's receiver on every loop's queue (server.c calls it once the loops
 * exist, before they serve). Returns 0, or -1 when out of memory.
 */
int http_request_start_loops(void);

/*
 * Response parking, between the pipeline and the response helpers: while `http_parking`
 * (this thread's) points at a record whose ctx is the one answering, http_send_raw fills the
 * response (status, headers, content length) but leaves it unsent, recording the body there;
 * the pipeline sends it with http_send_parked once the handler's writes are durable. A stream
 * or /wait answer (stream.h) started meanwhile is held the same way: it records itself in
 * `held`, and the pipeline resumes it (http_stream_resume) once the writes are durable.
 */
struct stream;
typedef struct http_parked {
    const http_ctx_t *ctx; /* the request whose response is parked */
    int parked;            /* set by http_send_raw */
    h2o_iovec_t body;      /* in the request pool */
    struct stream *held;   /* set by a stream set up meanwhile (stream.h) */
} http_parked_t;

extern _Thread_local http_parked_t *http_parking;

/* Sends the response whose status and headers are set (as http_send_raw leaves a parked one)
 * with body `body` (borrowed, in the request pool; omitted for HEAD). */
void http_send_parked(http_ctx_t *ctx, h2o_iovec_t body);

/*
 * Percent-decodes [s, s+len) into dst (room for len + 1 bytes; NUL-terminated). When
 * `plus_is_space`, '+' decodes to ' ' (query strings). Returns the decoded length, or -1 on a
 * malformed escape or an encoded NUL.
 */
ssize_t http_pct_decode(char *dst, const char *s, size_t len, int plus_is_space);

/*
 * Coerces the raw string `s` to the JSON type `t` of parameter `name`: integers, numbers,
 * booleans (true/false in any case, 1/0, yes/no, on/off), objects and arrays as JSON; strings
 * as they are; VALID_T_ANY as JSON when it parses, else as a string. Returns a new reference,
 * or NULL with err filled (422, "<name>: expected integer").
 */
json_t *http_coerce(valid_type_t t, const char *name, const char *s, size_t len, valid_error_t *err);

/*
 * Gathers the parameters of `op` into a new object: path parameters from `m` (percent-decoded),
 * query parameters from `query` ([query, query+query_len), without the '?'), header parameters
 * from `headers` (may be NULL). Every occurrence of an array parameter adds items: a JSON array
 * is spread (the JS SDK's encoding), anything else is split at the parameter's declared
 * separator (valid_param_t.split; none: the occurrence is one item), so repeated keys, JSON
 * arrays and the declared joined form all work and nothing else is guessed. For scalars the
 * last occurrence wins. Undeclared query keys are ignored.
 * Returns 0 with *out a new reference, or -1 with err filled and *out NULL.
 */
int http_params_collect(const valid_op_t *op, const router_match_t *m, const char *query, size_t query_len,
                        const h2o_headers_t *headers, json_t **out, valid_error_t *err);

#endif
