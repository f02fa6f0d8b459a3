/*
 * runtime/http/request.c — the h2o handler that turns a request into a validated http_ctx_t
 * and calls the route's handler, plus the response filter (request id, CORS and JSON bodies on
 * h2o's own error responses) and the access logger. Contracts in request.h.
 *
 * HEAD is answered as GET without the body (not on streaming routes). Order of checks: method
 * and path (404/405), credentials (401/431, when an auth mode is on and the route is not
 * public), body size (413), parameters (422), rejected parameters (422), parameter validation
 * (422), body presence and JSON syntax (422), rejected body fields (422), body validation
 * (422), handler (500 when it fails without answering).
 *
 * Authentication comes right after routing: a 404/405 for a path or method the server does not
 * have stays as it is (the route table is public, the spec says as much), and nothing past it —
 * parameter or body work, and above all whether an object exists — is done or revealed for a
 * caller without valid credentials. OPTIONS (CORS preflight, sent without credentials by
 * browsers) is answered before it. A refusal is 401 {"detail"} with WWW-Authenticate (RFC 6750;
 * the credential is never echoed), 431 for an oversized header. In supabase mode an uncached
 * token is checked on an auth thread: the request waits parked and resumes on its loop (a
 * message to the loop's auth receiver), like the durable acknowledgements below.
 *
 * Durable acknowledgements without blocking the loop: a handler of a write route (POST, PUT,
 * PATCH, DELETE, streaming routes included) runs with the store deferring durability
 * (store_defer_begin) and its response parked (request.h). Its store writes return before
 * their fdatasync; afterwards the parked response is sent at once when nothing was written,
 * else once the store reports the writes durable (when_durable, on a store thread, posted back
 * to this loop through its receiver), and replaced by 500 when they could not be made durable.
 * A stream or /wait answer (POST .../runs/stream, .../runs/wait) is parked the same way: held
 * with its status and headers set and nothing sent (stream.h), resumed once the writes
 * (the run's creation) are durable — the run may execute meanwhile, its events wait in the
 * broker and then all go out in order — and dropped for the 500 when they failed. A /wait
 * answer sends nothing before the run ends (or a keep-alive is due), and the run's end is made
 * durable before it is published, which covers the creation too: so the wait for durability
 * starts only when the answer is about to send (http_stream_hold_lazily), and is then
 * usually over already — the creation costs no sync and no hand-off of its own. A client
 * that goes away meanwhile disposes the request; the pending record is then only freed (a
 * held stream is dropped then, cancelling the run when it was to be cancelled on
 * disconnect). A handler that answers by other means gets the old behaviour: the loop blocks
 * until its writes are durable before it returns to h2o, so nothing it sends can precede them.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include "http/metrics.h"
#include "http/request.h"
#include "http/server.h"
#include "http/stream.h"
#include "auth/auth.h"
#include "store/store_global.h"
#include "util/jsonr.h"
#include "util/log.h"

#define REQUEST_ID_MAX 128

static const char request_expose_headers[] = "content-location, location, x-pagination-total, x-pagination-next, x-request-id";

static http_settings_t request_settings = {10 * 1024 * 1024, "*"};

struct http_pending;
struct http_auth_wait;

/* Pipeline state of one request: the handler context plus what the dispose hook needs. */
typedef struct http_state {
    http_ctx_t ctx;
    size_t route_index;           /* into router_routes(), SIZE_MAX when no route matched */
    router_match_t match;         /* the matched route and path parameters */
    struct http_pending *pending; /* while the parked response waits for durability */
    struct http_auth_wait *auth_wait; /* while the request waits for an auth verdict */
    h2o_iovec_t parked_body;      /* the parked response's body (request pool) */
    struct stream *held;          /* a held stream response (stream.h) until resumed or dropped */
    uint64_t held_pos;            /* the log position a lazily held stream waits for */
} http_state_t;

/*
 * A request waiting for an auth verdict computed off the loop (malloc'd). auth calls on_done
 * on its thread, which posts `msg` to the request's loop; the receiver there resumes the
 * pipeline (when `st` is not NULL) and frees the record. The dispose hook clears `st`.
 */
typedef struct http_auth_wait {
    h2o_multithread_message_t msg;
    auth_async_t async;
    http_state_t *st; /* NULL once the request was disposed */
    size_t loop;
} http_auth_wait_t;

/*
 * A parked response waiting for durability (malloc'd). The store's callback fills `rc` and
 * posts `msg` to the request's loop; the receiver there sends the response (when `st` is not
 * NULL) and frees the record. The request's dispose hook clears `st` (both on the loop thread).
 * A callback made while the loop is still in when_durable (the position was durable already)
 * posts nothing: `state` goes from PENDING_CALLING to PENDING_INLINE and the loop answers and
 * frees the record itself once when_durable returned.
 */
enum { PENDING_CALLING, PENDING_WAITING, PENDING_INLINE };
typedef struct http_pending {
    h2o_multithread_message_t msg; /* the receiver gets &msg.link */
    http_state_t *st;              /* NULL once the request was disposed */
    size_t loop;
    store_rc_t rc;
    atomic_int state;
} http_pending_t;

static h2o_multithread_receiver_t *request_receivers; /* one per loop */
static h2o_multithread_receiver_t *auth_receivers;    /* one per loop */

typedef struct json_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
    char text[160]; /* h2o's plain-text error body, truncated */
    size_t text_len;
} json_ostream_t;

void http_request_configure(const http_settings_t *s)
{
    request_settings = *s;
}

const http_settings_t *http_request_settings(void)
{
    return &request_settings;
}

/* Returns the value of request header `name` (lowercase), or {NULL, 0}. */
static h2o_iovec_t req_header(h2o_req_t *req, const char *name, size_t len)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, name, len, -1);

    return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init(NULL, 0);
}

/* A fast per-thread xorshift128+ generator, seeded from the kernel on first use. */
static uint64_t next_random(void)
{
    static __thread uint64_t s[2];
    uint64_t a, b;

    if (s[0] == 0 && s[1] == 0) {
        if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s) || (s[0] | s[1]) == 0) {
            struct timeval tv;
            gettimeofday(&tv, NULL);
            s[0] = (uint64_t)tv.tv_sec * 1000003u ^ (uint64_t)tv.tv_usec ^ (uint64_t)(uintptr_t)&s;
            s[1] = 0x9e3779b97f4a7c15ull;
        }
    }
    a = s[0];
    b = s[1];
    s[0] = b;
    a ^= a << 23;
    s[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return s[1] + b;
}

/* Returns the request id for `req`: the client's x-request-id when sane (1..128 printable
 * characters), else 32 random hex digits. The result lives in the request pool. */
static h2o_iovec_t make_request_id(h2o_req_t *req)
{
    static const char hex[] = "0123456789abcdef";
    h2o_iovec_t in = req_header(req, H2O_STRLIT("x-request-id")), id;
    size_t i;
    int sane = in.base != NULL && in.len != 0 && in.len <= REQUEST_ID_MAX;

    for (i = 0; sane && i != in.len; ++i)
        sane = in.base[i] > 0x20 && in.base[i] < 0x7f;
    if (sane) {
        id = h2o_strdup(&req->pool, in.base, in.len);
    } else {
        uint64_t r[2] = {next_random(), next_random()};
        id.base = h2o_mem_alloc_pool(&req->pool, 33);
        id.len = 32;
        for (i = 0; i != 32; ++i)
            id.base[i] = hex[(r[i / 16] >> (4 * (i % 16))) & 15];
        id.base[32] = '\0';
    }
    return id;
}

/* Returns the Access-Control-Allow-Origin value for the request's Origin ({NULL, 0}: none). */
static h2o_iovec_t cors_origin(h2o_req_t *req, int *vary)
{
    const char *list = request_settings.cors_origins, *p;
    h2o_iovec_t origin;

    *vary = 0;
    if (list == NULL || list[0] == '\0')
        return h2o_iovec_init(NULL, 0);
    if (strcmp(list, "*") == 0)
        return h2o_iovec_init(H2O_STRLIT("*"));
    *vary = 1;
    origin = req_header(req, H2O_STRLIT("origin"));
    if (origin.base == NULL)
        return origin;
    for (p = list; *p != '\0';) {
        const char *end = strchr(p, ','), *s = p, *e;
        if (end == NULL)
            end = p + strlen(p);
        e = end;
        while (s < e && *s == ' ')
            ++s;
        while (e > s && e[-1] == ' ')
            --e;
        if ((size_t)(e - s) == origin.len && memcmp(s, origin.base, origin.len) == 0)
            return origin;
        p = *end == ',' ? end + 1 : end;
    }
    return h2o_iovec_init(NULL, 0);
}

/* Adds x-request-id and the CORS response headers. */
static void add_common_headers(h2o_req_t *req, h2o_iovec_t request_id)
{
    h2o_iovec_t allow;
    int vary;

    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, NULL, request_id.base, request_id.len);
    if ((allow = cors_origin(req, &vary)).base != NULL) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ACCESS_CONTROL_ALLOW_ORIGIN, NULL, allow.base, allow.len);
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-expose-headers"), 0, NULL,
                              request_expose_headers, sizeof(request_expose_headers) - 1);
    }
    if (vary)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_VARY, NULL, H2O_STRLIT("Origin"));
}

/* Pool dispose hook of http_state_t: drops the JSON values and closes the metrics entry. */
static void on_state_dispose(void *p)
{
    http_state_t *st = p;

    if (st->pending != NULL)
        st->pending->st = NULL;
    if (st->auth_wait != NULL)
        st->auth_wait->st = NULL;
    if (st->held != NULL)
        http_stream_drop(st->held, 1);
    metrics_request_end(st->route_index, st->ctx.req->res.status);
    json_decref(st->ctx.params);
    json_decref(st->ctx.body);
}

/* Answers an OPTIONS request: 204 with Allow, plus the CORS preflight headers when enabled. */
static void answer_options(http_ctx_t *ctx, const char *path, size_t len)
{
    h2o_req_t *req = ctx->req;
    router_match_t m;
    char allow[96];
    size_t n;
    int vary;

    if (router_match(HTTP_METHOD_COUNT, path, len, &m) == 404) {
        http_send_error(ctx, 404, "Not Found: OPTIONS %.*s", (int)len, path);
        return;
    }
    n = router_format_allow(m.allow, allow, sizeof(allow) - 10);
    memcpy(allow + n, ", OPTIONS", sizeof(", OPTIONS"));
    n += sizeof(", OPTIONS") - 1;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, h2o_strdup(&req->pool, allow, n).base, n);
    if (cors_origin(req, &vary).base != NULL) {
        h2o_iovec_t want = req_header(req, H2O_STRLIT("access-control-request-headers"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-methods"), 0, NULL,
                              h2o_strdup(&req->pool, allow, n).base, n);
        if (want.base != NULL)
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL, want.base,
                                  want.len);
        else
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-headers"), 0, NULL,
                                  H2O_STRLIT("*"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-max-age"), 0, NULL, H2O_STRLIT("86400"));
        if (req_header(req, H2O_STRLIT("access-control-request-private-network")).base != NULL)
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("access-control-allow-private-network"), 0, NULL,
                                  H2O_STRLIT("true"));
    }
    http_send_raw(ctx, 204, NULL, "", 0);
}

/* Returns the first name of op->rejected present in `obj` (an object), or NULL. */
static const char *find_rejected(const valid_op_t *op, json_t *obj)
{
    const char *const *r;

    if (op->rejected == NULL || !json_is_object(obj))
        return NULL;
    for (r = op->rejected; *r != NULL; ++r)
        if (json_object_get(obj, *r) != NULL)
            return *r;
    return NULL;
}

/* Parses and validates the body of `op` into ctx->body; answers and returns -1 on failure. */
static int read_body(http_ctx_t *ctx, const valid_op_t *op)
{
    h2o_req_t *req = ctx->req;
    valid_error_t err = {0};
    json_error_t jerr;
    const char *rejected;
    size_t i;
    int rc = -1, blank = 1;

    for (i = 0; i != req->entity.len && blank; ++i)
        blank = req->entity.base[i] == ' ' || req->entity.base[i] == '\t' || req->entity.base[i] == '\r' ||
                req->entity.base[i] == '\n';
    if (blank) {
        if (op->body_required) {
            http_send_error(ctx, 422, "request body required");
            goto Exit;
        }
        ctx->body = json_object();
    } else if ((ctx->body = jsonr_loadb(req->entity.base, req->entity.len, &jerr)) == NULL) {
        http_send_error(ctx, 422, "invalid JSON body: %s (line %d, column %d)", jerr.text, jerr.line, jerr.column);
        goto Exit;
    }
    if ((rejected = find_rejected(op, ctx->body)) != NULL) {
        http_send_error(ctx, 422, "%s: not supported by lgserve yet", rejected);
        goto Exit;
    }
    if (op->check_body(ctx->body, "", &err) != 0) {
        http_send_error(ctx, err.status != 0 ? err.status : 422, "%s", err.detail);
        goto Exit;
    }
    rc = 0;
Exit:
    return rc;
}

/* Sends the parked response of `st` (or starts its held stream), or, when its writes could
 * not be made durable, a 500 instead (the handler's headers dropped, a held stream ended). */
static void send_parked(http_state_t *st, store_rc_t rc)
{
    http_ctx_t *ctx = &st->ctx;
    h2o_req_t *req = ctx->req;
    struct stream *held = st->held;

    st->held = NULL;
    if (rc == STORE_OK) {
        if (held != NULL)
            http_stream_resume(held);
        else
            http_send_parked(ctx, st->parked_body);
        return;
    }
    if (held != NULL)
        http_stream_drop(held, 0);
    log_error("request %s: its writes could not be made durable; answering 500", ctx->request_id);
    memset(&req->res.headers, 0, sizeof(req->res.headers));
    add_common_headers(req, h2o_iovec_init(ctx->request_id, strlen(ctx->request_id)));
    ctx->responded = 0;
    http_send_error(ctx, 500, "the write could not be made durable");
}

/* The store's durability callback (any thread): hands the record to its loop, unless the loop
 * is still registering it (then it takes the record back itself). */
static void on_durable(void *user, store_rc_t rc)
{
    http_pending_t *p = user;
    int calling = PENDING_CALLING;

    p->rc = rc;
    if (atomic_compare_exchange_strong(&p->state, &calling, PENDING_INLINE))
        return;
    h2o_multithread_send_message(&request_receivers[p->loop], &p->msg);
}

/* Receiver on each loop: answers the requests whose writes became durable (or failed to). */
static void on_durable_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        http_pending_t *p = H2O_STRUCT_FROM_MEMBER(http_pending_t, msg.link, messages->next);
        h2o_linklist_unlink(&p->msg.link);
        if (p->st != NULL) {
            p->st->pending = NULL;
            send_parked(p->st, p->rc);
        }
        free(p);
    }
}

static void on_auth_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

int http_request_start_loops(void)
{
    size_t i, n = server_loop_count();

    if ((request_receivers = calloc(n != 0 ? n : 1, sizeof(*request_receivers))) == NULL ||
        (auth_receivers = calloc(n != 0 ? n : 1, sizeof(*auth_receivers))) == NULL)
        return -1;
    for (i = 0; i != n; ++i) {
        h2o_multithread_register_receiver(server_loop_queue(i), &request_receivers[i], on_durable_messages);
        h2o_multithread_register_receiver(server_loop_queue(i), &auth_receivers[i], on_auth_messages);
    }
    return 0;
}

/* Sends the parked response of `st` (or starts its held stream) once everything up to `pos`
 * is durable: at once when it is already, else from the receiver. */
static void send_when_durable(http_state_t *st, uint64_t pos)
{
    const store_ops_t *ops = store_global_ops();
    http_pending_t *p;
    int calling = PENDING_CALLING;

    if ((p = calloc(1, sizeof(*p))) == NULL) {
        send_parked(st, store_wait_durable(ops, store_global_handle(), pos));
        return;
    }
    p->st = st;
    p->loop = server_current_loop();
    atomic_init(&p->state, PENDING_CALLING);
    st->pending = p;
    ops->when_durable(store_global_handle(), pos, on_durable, p);
    if (atomic_compare_exchange_strong(&p->state, &calling, PENDING_WAITING))
        return;
    st->pending = NULL;
    send_parked(st, p->rc);
    free(p);
}

/* A lazily held stream is about to send its first byte (stream.h). */
static void on_stream_gate(void *arg)
{
    http_state_t *st = arg;

    send_when_durable(st, st->held_pos);
}

/*
 * After a deferred handler: `pos` is the log position its writes reached (0: none), `parked`
 * what it answered. Sends, schedules or blocks as described at the top of this file.
 */
static void finish_deferred(http_state_t *st, const http_parked_t *parked, uint64_t pos)
{
    const store_ops_t *ops = store_global_ops();

    if (!parked->parked && parked->held == NULL) {
        if (pos != 0 && store_wait_durable(ops, store_global_handle(), pos) != STORE_OK)
            log_error("request %s: its writes could not be made durable, and it answered by other means",
                      st->ctx.request_id);
        return;
    }
    st->parked_body = parked->body;
    st->held = parked->held;
    if (pos == 0) {
        send_parked(st, STORE_OK);
        return;
    }
    st->held_pos = pos;
    if (st->held != NULL && http_stream_hold_lazily(st->held, on_stream_gate, st))
        return;
    send_when_durable(st, pos);
}

/* The rest of the pipeline once the route is known and the caller accepted: body size,
 * parameters, body, handler (see the top of this file). */
static void run_route(http_state_t *st)
{
    http_ctx_t *ctx = &st->ctx;
    h2o_req_t *req = ctx->req;
    const router_match_t *m = &st->match;
    const valid_op_t *op = m->route->valid;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len;
    const char *query, *rejected;
    valid_error_t err = {0};
    http_parked_t parked = {0};
    int deferred, failed;

    if (req->entity.len > request_settings.max_body_size) {
        http_send_error(ctx, 413, "request body too large (limit %zu bytes)", request_settings.max_body_size);
        goto Exit;
    }
    query = path_len < req->path.len ? req->path.base + path_len + 1 : req->path.base + path_len; /* past the '?' */
    if (http_params_collect(op, m, query, (size_t)(req->path.base + req->path.len - query), &req->headers, &ctx->params,
                            &err) != 0) {
        http_send_error(ctx, err.status != 0 ? err.status : 422, "%s", err.detail);
        goto Exit;
    }
    if ((rejected = find_rejected(op, ctx->params)) != NULL) {
        http_send_error(ctx, 422, "%s: not supported by lgserve yet", rejected);
        goto Exit;
    }
    if (op->check_params(ctx->params, "", &err) != 0) {
        http_send_error(ctx, err.status != 0 ? err.status : 422, "%s", err.detail);
        goto Exit;
    }
    if (op->check_body != NULL && read_body(ctx, op) != 0)
        goto Exit;
    deferred = m->route->method != HTTP_GET && request_receivers != NULL &&
               server_current_loop() < server_loop_count() && store_global_ops() != NULL &&
               store_global_ops()->when_durable != NULL;
    if (deferred) {
        parked.ctx = ctx;
        http_parking = &parked;
        store_defer_begin();
    }
    failed = m->route->handler(ctx) != 0;
    if (deferred) {
        uint64_t pos = store_defer_end();
        http_parking = NULL;
        finish_deferred(st, &parked, pos);
    }
    if (failed) {
        log_error("handler %s failed (request %s)", m->route->op_id, ctx->request_id);
        if (!ctx->responded && req->_generator == NULL)
            http_send_error(ctx, 500, "internal error");
    }
Exit:
    return;
}

/* Whether `route` needs credentials while an auth mode is on: every route but the public ones
 * (RF_PUBLIC from the spec), and the metrics routes too with --auth-metrics. */
static int needs_auth(const router_route_t *route)
{
    if (!(route->flags & RF_PUBLIC))
        return 1;
    return auth_protects_metrics() && (strcmp(route->path, "/metrics") == 0 || strcmp(route->path, "/metrics/json") == 0);
}

/* Applies an auth verdict: sets ctx->user and runs the route, or answers the refusal with
 * WWW-Authenticate (RFC 6750 §3; `error` only when a credential was presented). */
static void apply_verdict(http_state_t *st, const auth_verdict_t *v)
{
    http_ctx_t *ctx = &st->ctx;
    char challenge[200];

    if (v->status == 0) {
        ctx->user = v->user;
        run_route(st);
        return;
    }
    if (v->error != NULL)
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"lgserve\", error=\"%s\", error_description=\"%s\"", v->error,
                 v->detail);
    else
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"lgserve\"");
    http_add_header(ctx, "www-authenticate", challenge);
    http_send_error(ctx, v->status, "%s", v->detail);
}

/* auth's completion callback (any thread): hands the record to its loop. */
static void on_auth_done(auth_async_t *a)
{
    http_auth_wait_t *w = H2O_STRUCT_FROM_MEMBER(http_auth_wait_t, async, a);

    h2o_multithread_send_message(&auth_receivers[w->loop], &w->msg);
}

/* Receiver on each loop: resumes the requests whose auth verdict arrived. */
static void on_auth_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    (void)receiver;
    while (!h2o_linklist_is_empty(messages)) {
        http_auth_wait_t *w = H2O_STRUCT_FROM_MEMBER(http_auth_wait_t, msg.link, messages->next);
        h2o_linklist_unlink(&w->msg.link);
        if (w->st != NULL) {
            auth_verdict_t v;
            w->st->auth_wait = NULL;
            auth_async_finish(&w->async, &w->st->ctx.req->pool, &v);
            apply_verdict(w->st, &v);
        } else {
            auth_async_discard(&w->async);
        }
        free(w);
    }
}

/* Authenticates the request of `st` and goes on with the route, now or (verdict computed off
 * the loop) once the verdict arrives. */
static void authenticate(http_state_t *st)
{
    h2o_req_t *req = st->ctx.req;
    auth_credentials_t c = {0};
    auth_verdict_t v = {0};
    http_auth_wait_t *w = NULL;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);

    if (i >= 0) {
        if (h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, i) >= 0) {
            v = (auth_verdict_t){401, "more than one Authorization header", "invalid_request", NULL};
            goto Answer;
        }
        c.authorization = req->headers.entries[i].value.base;
        c.authorization_len = req->headers.entries[i].value.len;
    }
    if (auth_mode() == AUTH_MODE_API_KEY && (i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1)) >= 0) {
        if (h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), i) >= 0) {
            v = (auth_verdict_t){401, "more than one x-api-key header", "invalid_request", NULL};
            goto Answer;
        }
        c.api_key = req->headers.entries[i].value.base;
        c.api_key_len = req->headers.entries[i].value.len;
    }
    if (auth_mode() == AUTH_MODE_SUPABASE) {
        if (auth_receivers == NULL || server_current_loop() >= server_loop_count() || (w = calloc(1, sizeof(*w))) == NULL) {
            v = (auth_verdict_t){503, "authentication is unavailable", NULL, NULL};
            goto Answer;
        }
        w->async.on_done = on_auth_done;
        w->loop = server_current_loop();
        w->st = st;
        st->auth_wait = w;
    }
    if (auth_authenticate(&c, &req->pool, &v, w != NULL ? &w->async : NULL) == AUTH_PENDING)
        return;
    if (w != NULL) {
        st->auth_wait = NULL;
        free(w);
    }
Answer:
    apply_verdict(st, &v);
}

/* The h2o handler: runs the pipeline described at the top of this file. Always returns 0. */
static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    http_state_t *st = h2o_mem_alloc_shared(&req->pool, sizeof(*st), on_state_dispose);
    http_ctx_t *ctx = &st->ctx;
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path.len, n_routes;
    const char *path = req->path.base;
    router_match_t *m = &st->match;
    h2o_iovec_t id;
    http_method_t method;
    int rc, is_head;

    (void)self;
    memset(st, 0, sizeof(*st));
    st->route_index = SIZE_MAX;
    ctx->req = req;
    metrics_request_begin();
    id = make_request_id(req);
    ctx->request_id = id.base;
    add_common_headers(req, id);

    method = http_method_from(req->method.base, req->method.len);
    if (method == HTTP_METHOD_COUNT && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("OPTIONS"))) {
        answer_options(ctx, path, path_len);
        goto Exit;
    }
    if ((is_head = method == HTTP_METHOD_COUNT && h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))))
        method = HTTP_GET;
    if ((rc = router_match(method, path, path_len, m)) == 0 && is_head && (m->route->flags & RF_STREAM)) {
        m->allow = 1u << HTTP_GET;
        rc = 405;
    }
    if (rc != 0) {
        if (rc == 405) {
            char allow[64];
            size_t n = router_format_allow(m->allow, allow, sizeof(allow));
            h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL, h2o_strdup(&req->pool, allow, n).base, n);
            http_send_error(ctx, 405, "Method Not Allowed: %.*s %.*s", (int)req->method.len, req->method.base, (int)path_len, path);
        } else {
            http_send_error(ctx, 404, "Not Found: %.*s %.*s", (int)req->method.len, req->method.base, (int)path_len, path);
        }
        goto Exit;
    }
    ctx->route = m->route;
    st->route_index = (size_t)(m->route - router_routes(&n_routes));
    if (auth_mode() != AUTH_MODE_NONE && needs_auth(m->route))
        authenticate(st);
    else
        run_route(st);
Exit:
    return 0;
}

/*
 * Body of an h2o-generated error: collects h2o's text and, on the final send, sends
 * {"detail": "<reason>: <text>"} instead (413 gets our own wording). Headers are still unsent
 * at that point, so the content length can be set then.
 */
static void on_json_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    json_ostream_t *o = (json_ostream_t *)self;
    char detail[256];
    json_t *body = NULL;
    size_t i, len;

    for (i = 0; i != bufcnt; ++i) {
        size_t room = sizeof(o->text) - 1 - o->text_len, n = bufs[i].len < room ? bufs[i].len : room;
        memcpy(o->text + o->text_len, bufs[i].base, n);
        o->text_len += n;
    }
    if (state != H2O_SEND_STATE_FINAL) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        goto Exit;
    }
    while (o->text_len != 0 && (o->text[o->text_len - 1] == '\n' || o->text[o->text_len - 1] == '\r'))
        --o->text_len;
    if (req->res.status == 413)
        snprintf(detail, sizeof(detail), "request body too large (limit %zu bytes)", request_settings.max_body_size);
    else
        snprintf(detail, sizeof(detail), "%s%s%.*s", req->res.reason != NULL ? req->res.reason : "error",
                 o->text_len != 0 ? ": " : "", (int)o->text_len, o->text);
    if ((body = json_pack("{s:s}", "detail", detail)) == NULL)
        body = json_pack("{s:s}", "detail", "error");
    len = json_dumpb(body, NULL, 0, JSON_COMPACT);
    o->body.base = h2o_mem_alloc_pool(&req->pool, len);
    o->body.len = json_dumpb(body, o->body.base, len, JSON_COMPACT);
    req->res.content_length = o->body.len;
    h2o_ostream_send_next(self, req, &o->body, 1, state);
Exit:
    json_decref(body);
}

/*
 * Response filter. Responses from the pipeline pass untouched. Error responses h2o produced
 * itself (text/plain, status >= 400: oversized bodies, malformed requests) get a request id,
 * the CORS headers and a {"detail": ...} JSON body.
 */
static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    json_ostream_t *o;
    ssize_t ct;

    (void)self;
    if (req->res.status < 400 || (ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1)) < 0 ||
        req->res.headers.entries[ct].value.len < 10 || strncasecmp(req->res.headers.entries[ct].value.base, "text/plain", 10) != 0)
        goto Next;
    if (h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1) < 0)
        add_common_headers(req, make_request_id(req));
    o = (json_ostream_t *)h2o_add_ostream(req, sizeof(*o), slot);
    o->super.do_send = on_json_send;
    o->text_len = 0;
    req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
    req->res.content_length = SIZE_MAX;
    slot = &o->super.next;
Next:
    h2o_setup_next_ostream(req, slot);
}

/* Access logger: one line per finished request, and the per-status-class counter. */
static void on_log_access(h2o_logger_t *self, h2o_req_t *req)
{
    log_access_t a;
    struct timeval now;
    ssize_t id;

    (void)self;
    metrics_response(req->res.status);
    gettimeofday(&now, NULL);
    id = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    a.method = req->input.method.base;
    a.method_len = req->input.method.len;
    a.path = req->input.path.base;
    a.path_len = req->input.query_at != SIZE_MAX ? req->input.query_at : req->input.path.len;
    a.status = req->res.status;
    a.bytes = req->bytes_sent;
    a.duration_ms = (double)h2o_timeval_subtract(&req->timestamps.request_begin_at, &now) / 1000.0;
    a.request_id = id >= 0 ? req->res.headers.entries[id].value.base : "-";
    a.request_id_len = id >= 0 ? req->res.headers.entries[id].value.len : 1;
    log_access(&a);
}

void http_request_register(h2o_pathconf_t *pathconf, h2o_pathconf_t *fallback)
{
    h2o_pathconf_t *confs[2] = {pathconf, fallback};
    size_t i;

    h2o_create_handler(pathconf, sizeof(h2o_handler_t))->on_req = on_req;
    for (i = 0; i != 2; ++i) {
        h2o_create_filter(confs[i], sizeof(h2o_filter_t))->on_setup_ostream = on_setup_ostream;
        h2o_create_logger(confs[i], sizeof(h2o_logger_t))->log_access = on_log_access;
    }
}
