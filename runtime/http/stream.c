/*
 * runtime/http/stream.c — SSE and /wait responses fed by exec's event broker (see stream.h).
 *
 * Lifecycle of one response (stream_t, malloc'd: it may outlive its request by one queued
 * wake-up):
 *   handler     registers a receiver on its loop's queue, subscribes (a /wait answer to the
 *               run's end only: exec_sub_end_only, no wake-up per event), sets the response's
 *               status and headers; then, unless the request's writes still wait for
 *               durability (the response is held: request.h), starts it (below)
 *   start       starts the response, links a one-second tick, pumps once; for a held
 *               stream the pipeline calls http_stream_resume once the writes are durable,
 *               or http_stream_drop when they failed or the client left meanwhile
 *   on_notify   (exec's thread) posts one message to the receiver unless one is pending
 *   on_wake     (loop) clears the pending flag, pumps
 *   pump        when no send is in flight: takes the broker's events, sends them (the events
 *               stay referenced until on_proceed); at the end copies what is left into the
 *               request pool and sends it as the final part
 *   on_stop     (client gone) ends the subscription, cancelling the run if asked
 *   finish      unsubscribes, unlinks the tick, then frees the stream — at once, or in on_wake
 *               when a wake-up is still queued (a queued message must not be freed)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "exec/exec.h"
#include "http/request.h"
#include "http/server.h"
#include "http/stream.h"
#include "util/log.h"

#define STREAM_BATCH 64

static int stream_heartbeat_s = 5;

typedef struct stream {
    h2o_generator_t generator;
    h2o_req_t *req;                       /* NULL once the response ended or the client left */
    h2o_context_t *hctx;
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    h2o_multithread_message_t message;
    atomic_int wake_pending;              /* `message` is queued */
    h2o_timeout_entry_t tick;
    exec_sub_t *sub;                      /* NULL: nothing to wait for (missing_ok) */
    int is_sse, keepalive, cancel_on_disconnect, no_content;
    int inflight;                         /* an h2o_send waits for on_proceed */
    int closing;                          /* finished; freed by the next on_wake */
    int on_hold;                          /* not started: its request's writes are not durable yet */
    void (*gate)(void *arg);              /* held lazily: called once the answer is to start */
    void *gate_arg;
    int gate_due;                         /* a keep-alive was due when the gate was asked for */
    int sent_any;
    int idle_ticks;
    char *thread_id, *run_id, *owner;
    json_t *modes;                        /* array of mode names, or NULL = all */
    const exec_event_t *held[STREAM_BATCH];
    size_t n_held;
    h2o_iovec_t bufs[STREAM_BATCH + 1];
} stream_t;

static const char stream_hello[] = ": welcome\n\n";
static const char stream_heartbeat[] = ": heartbeat\n\n";
static const char stream_newline[] = "\n";
/* Events every SSE client gets whatever its mode filter. */
static const char *const stream_always[] = {"metadata", "error", "end", "feedback"};

void http_stream_set_heartbeat(int seconds)
{
    stream_heartbeat_s = seconds < 1 ? 1 : seconds;
}

/* Releases the events of the last send. */
static void release_held(stream_t *st)
{
    size_t i;

    for (i = 0; i != st->n_held; ++i)
        exec_event_release(st->held[i]);
    st->n_held = 0;
}

/* Frees the stream: unregisters its receiver (no message may be queued). */
static void stream_free(stream_t *st)
{
    h2o_multithread_unregister_receiver(st->queue, &st->receiver);
    json_decref(st->modes);
    free(st->thread_id);
    free(st->run_id);
    free(st->owner);
    free(st);
}

/* Ends the response's life on the loop: no more request access, subscription ended (the run
 * cancelled when `cancel_run`), freed now or once the queued wake-up arrived. */
static void finish(stream_t *st, int cancel_run)
{
    st->req = NULL;
    if (h2o_timeout_is_linked(&st->tick))
        h2o_timeout_unlink(&st->tick);
    release_held(st);
    if (st->sub != NULL) {
        exec_unsubscribe(st->sub, cancel_run);
        st->sub = NULL;
    }
    st->closing = 1;
    if (!atomic_load(&st->wake_pending))
        stream_free(st);
}

/* 1 when `modes` (array, may be NULL) holds the string `m`. */
static int modes_have(const json_t *modes, const char *m)
{
    size_t i;

    for (i = 0; i != json_array_size(modes); ++i)
        if (strcmp(json_string_value(json_array_get(modes, i)) ?: "", m) == 0)
            return 1;
    return 0;
}

/* The thread stream's filter, as the official server applies it: run_modes (the default) keeps
 * every event but state_update, state_update keeps those, lifecycle keeps the runs' `metadata`
 * events (start {run_id, attempt} and end {status: "run_done", run_id}). */
static int thread_mode_wanted(const stream_t *st, const char *name)
{
    int state_update = strcmp(name, "state_update") == 0;

    if (st->modes == NULL || json_array_size(st->modes) == 0)
        return !state_update;
    return (!state_update && modes_have(st->modes, "run_modes")) ||
           (state_update && modes_have(st->modes, "state_update")) ||
           (strcmp(name, "metadata") == 0 && modes_have(st->modes, "lifecycle"));
}

/* Whether event `name` (e.g. "updates|agent:1", "messages/partial") passes the mode filter. */
static int mode_wanted(const stream_t *st, const char *name)
{
    size_t i, base_len = strcspn(name, "|");

    if (st->run_id == NULL)
        return thread_mode_wanted(st, name);
    if (st->modes == NULL || json_array_size(st->modes) == 0)
        return 1;
    for (i = 0; i != sizeof(stream_always) / sizeof(stream_always[0]); ++i)
        if (strlen(stream_always[i]) == base_len && strncmp(name, stream_always[i], base_len) == 0)
            return 1;
    for (i = 0; i != json_array_size(st->modes); ++i) {
        const char *m = json_string_value(json_array_get(st->modes, i));
        if (m == NULL)
            continue;
        if (strcmp(m, "messages-tuple") == 0)
            m = "messages";
        else if (strcmp(m, "messages") == 0 && base_len > 9 && strncmp(name, "messages/", 9) == 0)
            return 1;
        if (strlen(m) == base_len && strncmp(name, m, base_len) == 0)
            return 1;
    }
    return 0;
}

/* Copies `n` buffers into one request-pool buffer (what a final send must use). */
static h2o_iovec_t pool_join(h2o_req_t *req, const h2o_iovec_t *bufs, size_t n)
{
    size_t i, len = 0;
    char *p;

    for (i = 0; i != n; ++i)
        len += bufs[i].len;
    p = h2o_mem_alloc_pool(&req->pool, len + 1);
    len = 0;
    for (i = 0; i != n; ++i) {
        memcpy(p + len, bufs[i].base, bufs[i].len);
        len += bufs[i].len;
    }
    return h2o_iovec_init(p, len);
}

/* The /wait answer once the run ended: its result as JSON in the request pool; when nothing was
 * sent yet a failure gets its own status. */
static h2o_iovec_t wait_result(stream_t *st)
{
    exec_error_t err = {0};
    json_t *out = NULL;
    h2o_iovec_t text;

    if (exec_run_result(st->thread_id, st->run_id, st->owner, &out, &err) != 0) {
        out = json_pack("{s:s}", "detail", err.detail[0] != '\0' ? err.detail : "run result unavailable");
        if (!st->sent_any) {
            st->req->res.status = err.status != 0 ? err.status : 500;
            st->req->res.reason = st->req->res.status == 404 ? "Not Found" : "Error";
        }
    }
    if (out == NULL)
        return h2o_iovec_init(H2O_STRLIT("{\"detail\":\"internal error\"}"));
    text = http_json_in_pool(&st->req->pool, out);
    json_decref(out);
    return text;
}

/*
 * Sends what is ready, if no send is in flight: the broker's new events (SSE), a heartbeat or
 * keep-alive when one is due (`due`), and the final part once the run ended. Touches nothing
 * after h2o_send (the stream may be gone by then).
 */
static void pump(stream_t *st, int due)
{
    const exec_event_t *evs[STREAM_BATCH];
    const char *status = NULL;
    size_t n = 0, nb = 0, i;
    int ended = 1;
    h2o_req_t *req = st->req;

    if (req == NULL || st->inflight)
        return;
    if (st->on_hold) {
        void (*gate)(void *arg) = st->gate;
        if (gate == NULL)
            return;
        /* held lazily (a /wait answer: no events to keep): ask for the start once it would send */
        n = exec_sub_poll(st->sub, evs, STREAM_BATCH, &ended, &status);
        for (i = 0; i != n; ++i)
            exec_event_release(evs[i]);
        if (!ended && !due)
            return;
        st->gate = NULL;
        st->gate_due = due;
        gate(st->gate_arg); /* may start the stream, or end it: `st` is not touched after */
        return;
    }
    if (st->sub != NULL)
        n = exec_sub_poll(st->sub, evs, STREAM_BATCH, &ended, &status);
    if (st->is_sse && !st->sent_any)
        st->bufs[nb++] = h2o_iovec_init(stream_hello, sizeof(stream_hello) - 1);
    for (i = 0; i != n; ++i) {
        if (st->is_sse && mode_wanted(st, evs[i]->event)) {
            st->held[st->n_held++] = evs[i];
            st->bufs[nb++] = h2o_iovec_init(evs[i]->frame, evs[i]->frame_len);
        } else {
            exec_event_release(evs[i]);
        }
    }
    if (ended) {
        h2o_iovec_t last = {NULL, 0};
        if (st->is_sse) {
            last = pool_join(req, st->bufs, nb);
        } else if (st->no_content) {
            req->res.status = 204;
            req->res.reason = "No Content";
        } else {
            last = wait_result(st);
        }
        release_held(st);
        st->sent_any = 1;
        finish(st, 0);
        h2o_send(req, &last, last.len != 0 ? 1 : 0, H2O_SEND_STATE_FINAL);
        return;
    }
    if (nb == 0 && due)
        st->bufs[nb++] = st->is_sse ? h2o_iovec_init(stream_heartbeat, sizeof(stream_heartbeat) - 1)
                                    : h2o_iovec_init(stream_newline, 1);
    if (nb == 0)
        return;
    st->idle_ticks = 0;
    st->sent_any = 1;
    st->inflight = 1;
    h2o_send(req, st->bufs, nb, H2O_SEND_STATE_IN_PROGRESS);
}

static void on_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, generator, generator);

    (void)req;
    st->inflight = 0;
    release_held(st);
    pump(st, 0);
}

static void on_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, generator, generator);

    (void)req;
    finish(st, st->cancel_on_disconnect);
}

/* The one-second tick: heartbeats (SSE, after stream_heartbeat_s quiet seconds) and /wait
 * keep-alive newlines. */
static void on_tick(h2o_timeout_entry_t *entry)
{
    stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, tick, entry);
    int due;

    if (st->req == NULL)
        return;
    h2o_timeout_link(st->hctx->loop, &st->hctx->one_sec_timeout, &st->tick);
    due = st->is_sse ? ++st->idle_ticks >= stream_heartbeat_s : st->keepalive;
    if (due)
        pump(st, 1);
}

/* exec's wake-up, on the publishing thread: posts one message to the stream's loop. */
static void on_notify(void *user)
{
    stream_t *st = user;

    if (atomic_exchange(&st->wake_pending, 1) == 0)
        h2o_multithread_send_message(&st->receiver, &st->message);
}

/* The posted wake-up, on the stream's loop. */
static void on_wake(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    stream_t *st = H2O_STRUCT_FROM_MEMBER(stream_t, receiver, receiver);

    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    atomic_store(&st->wake_pending, 0);
    if (st->closing)
        stream_free(st);
    else
        pump(st, 0);
}

/* Starts the response whose status and headers are set: nothing was sent before. */
static void start(stream_t *st)
{
    h2o_start_response(st->req, &st->generator);
    if (!h2o_timeout_is_linked(&st->tick))
        h2o_timeout_link(st->hctx->loop, &st->hctx->one_sec_timeout, &st->tick);
    pump(st, st->gate_due);
}

/* Subscribes and sets up the response (SSE when `is_sse`), then starts it or, while the
 * request's response is parked, holds it (the pipeline resumes or drops it). Returns 0 once
 * answered. */
static int stream_start(http_ctx_t *ctx, const http_stream_opts_t *o, int is_sse, int keepalive)
{
    h2o_req_t *req = ctx->req;
    size_t loop = server_current_loop();
    exec_error_t err = {0};
    char path[160];
    stream_t *st = NULL;
    int rc = -1;

    if (loop == SIZE_MAX || (o->run_id == NULL && (o->thread_id == NULL || !is_sse))) {
        log_error("stream of run %s started outside a server loop", o->run_id != NULL ? o->run_id : "(null)");
        goto Exit;
    }
    if ((st = calloc(1, sizeof(*st))) == NULL)
        goto Exit;
    st->req = req;
    st->hctx = req->conn->ctx;
    st->queue = server_loop_queue(loop);
    st->is_sse = is_sse;
    st->keepalive = keepalive;
    st->cancel_on_disconnect = o->cancel_on_disconnect;
    st->no_content = o->no_content;
    st->run_id = o->run_id != NULL ? strdup(o->run_id) : NULL;
    st->thread_id = o->thread_id != NULL ? strdup(o->thread_id) : NULL;
    st->owner = o->owner != NULL ? strdup(o->owner) : NULL;
    st->modes = o->modes != NULL ? json_deep_copy(o->modes) : NULL;
    st->generator.proceed = on_proceed;
    st->generator.stop = on_stop;
    st->tick.cb = on_tick;
    if ((o->run_id != NULL && st->run_id == NULL) || (o->thread_id != NULL && st->thread_id == NULL) ||
        (o->owner != NULL && st->owner == NULL)) {
        free(st->run_id);
        free(st->thread_id);
        free(st->owner);
        json_decref(st->modes);
        free(st);
        goto Exit;
    }
    h2o_multithread_register_receiver(st->queue, &st->receiver, on_wake);
    if (o->run_id != NULL)
        st->sub = exec_subscribe(o->thread_id, o->run_id, o->after_id, o->owner, on_notify, st, &err);
    else
        st->sub = exec_thread_subscribe(o->thread_id, o->after_id, o->owner, on_notify, st, &err);
    if (!is_sse)
        exec_sub_end_only(st->sub); /* a /wait answer needs the end, not every event */
    if (st->sub == NULL && !(o->missing_ok && err.status == 404)) {
        st->closing = 1;
        if (!atomic_load(&st->wake_pending))
            stream_free(st);
        rc = http_send_error(ctx, err.status != 0 ? err.status : 500, "%s",
                             err.detail[0] != '\0' ? err.detail : "cannot follow the run");
        goto Exit;
    }
    if (o->run_id == NULL)
        snprintf(path, sizeof(path), "/threads/%s", o->thread_id);
    else if (o->thread_id != NULL)
        snprintf(path, sizeof(path), "/threads/%s/runs/%s", o->thread_id, o->run_id);
    else
        snprintf(path, sizeof(path), "/runs/%s", o->run_id);
    http_add_header(ctx, "Content-Location", path);
    if (is_sse || o->thread_id != NULL) {
        snprintf(path + strlen(path), sizeof(path) - strlen(path), "%s", is_sse ? "/stream" : "/join");
        http_add_header(ctx, "Location", path);
    }
    if (is_sse) {
        http_add_header(ctx, "Content-Type", "text/event-stream");
        http_add_header(ctx, "Cache-Control", "no-store");
        http_add_header(ctx, "X-Accel-Buffering", "no");
    } else if (!o->no_content) {
        http_add_header(ctx, "Content-Type", "application/json");
    }
    req->res.status = 200;
    req->res.reason = "OK";
    ctx->responded = 1;
    rc = 0;
    if (http_parking != NULL && http_parking->ctx == ctx) {
        st->on_hold = 1;
        http_parking->held = st;
        goto Exit;
    }
    start(st);
Exit:
    return rc;
}

void http_stream_resume(struct stream *st)
{
    st->on_hold = 0;
    start(st);
}

void http_stream_drop(struct stream *st, int gone)
{
    finish(st, gone && st->cancel_on_disconnect);
}

int http_stream_hold_lazily(struct stream *st, void (*gate)(void *arg), void *arg)
{
    if (st->is_sse)
        return 0;
    st->gate = gate;
    st->gate_arg = arg;
    h2o_timeout_link(st->hctx->loop, &st->hctx->one_sec_timeout, &st->tick);
    pump(st, 0);
    return 1;
}

int http_stream_sse(http_ctx_t *ctx, const http_stream_opts_t *o)
{
    return stream_start(ctx, o, 1, 0);
}

int http_stream_wait(http_ctx_t *ctx, const http_stream_opts_t *o, int keepalive)
{
    return stream_start(ctx, o, 0, keepalive);
}
