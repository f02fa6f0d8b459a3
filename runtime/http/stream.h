/*
 * runtime/http/stream.h — long-lived responses fed by exec's per-run event broker: SSE streams
 * (run streams, joins, reconnects with Last-Event-ID) and /wait-style JSON answers that write
 * keep-alive newlines until the run ends.
 *
 * Both subscribe to the run (exec_subscribe) from the handler; the broker's wake-ups, which
 * arrive on exec's threads, are posted to the request's own loop through an
 * h2o_multithread receiver, and everything touching the request happens there. One h2o_send is
 * in flight at a time; the events it carries stay referenced until h2o asks for more. A client
 * that goes away ends the subscription (cancelling the run when asked to).
 *
 * SSE responses: content-type text/event-stream, cache-control no-store, x-accel-buffering no,
 * Location (the reconnect URL: /threads/{tid}/runs/{rid}/stream, or /runs/{rid}/stream) and
 * Content-Location (/threads/{tid}/runs/{rid} or /runs/{rid}); a first comment frame flushes
 * the headers; a heartbeat comment goes out every http_stream_heartbeat_s seconds of silence.
 */
#ifndef LG_HTTP_STREAM_H
#define LG_HTTP_STREAM_H

#include <stdint.h>
#include <jansson.h>
#include "http/http.h"

/* What to stream. Every pointer is borrowed for the call (copied as needed). */
typedef struct http_stream_opts {
    const char *thread_id;    /* NULL for a stateless run */
    const char *run_id;       /* NULL with a thread_id: SSE of every run of the thread
                                 (exec_thread_subscribe; Location /threads/{tid}/stream) */
    const char *owner;        /* the caller's owner scope (NULL = no auth) */
    uint64_t after_id;        /* resume strictly after this event id (Last-Event-ID); 0 = all */
    const json_t *modes;      /* SSE only: array of stream mode names to keep; NULL/[] keeps all.
                                 For a thread stream: thread stream modes (run_modes, lifecycle,
                                 state_update); NULL/[] = run_modes */
    int cancel_on_disconnect; /* cancel the run when the client goes away before it ended */
    int missing_ok;           /* a run exec does not know answers an empty stream, not 404 */
    int no_content;           /* wait only: answer 204 without a body once the run ended */
} http_stream_opts_t;

/*
 * Answers the request with the run's events as SSE (then returns 0 and the response continues
 * on the loop). An unknown run answers 404 {"detail"} (unless missing_ok). Returns 0, or -1 on
 * an internal failure before anything was sent. Must run on a server loop (a handler).
 */
int http_stream_sse(http_ctx_t *ctx, const http_stream_opts_t *o);

/*
 * Answers the request with the run's outcome (exec_run_result: final values, or the error
 * object of a failed run) as JSON once the run ended, writing "\n" every second meanwhile when
 * `keepalive` (leading whitespace is valid JSON). Sets Content-Location, and Location to the
 * join URL for thread runs. An unknown run answers 404. Returns 0, or -1 as above.
 */
int http_stream_wait(http_ctx_t *ctx, const http_stream_opts_t *o, int keepalive);

/*
 * A stream set up while its request's response is parked (request.h: the handler's store
 * writes are not durable yet) is held: subscribed, with its status and headers set, but
 * nothing sent; the broker keeps its events meanwhile. The pipeline then calls exactly one of
 * these on the request's loop: http_stream_resume starts it (everything buffered goes out in
 * order), http_stream_drop ends it without sending anything (the writes failed: the pipeline
 * answers 500 instead; or the request went away, `gone`: the run is cancelled when the stream
 * was to cancel it on disconnect). The stream must not be used afterwards.
 */
struct stream;
void http_stream_resume(struct stream *st);
void http_stream_drop(struct stream *st, int gone);

/*
 * For a held /wait answer, which sends nothing before the run ends or a keep-alive is due:
 * keeps it held but following the run, and calls gate(arg) on the loop once, when it is about
 * to send its first byte (the pipeline then resumes or drops it as above, possibly from within
 * the call). Returns 1, or 0 for an SSE stream (its first bytes go at once: the caller waits
 * for durability now).
 */
int http_stream_hold_lazily(struct stream *st, void (*gate)(void *arg), void *arg);

/* Seconds between SSE heartbeat comments (default 5; values < 1 are taken as 1). Call before
 * the loops serve. */
void http_stream_set_heartbeat(int seconds);

#endif
