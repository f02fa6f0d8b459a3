/*
 * runtime/exec/exec.h — runs: creation with multitask rules, a durable queue claimed by a
 * bounded worker pool that executes graphs (graph_invoke), cancellation, webhooks, and a
 * per-run event broker that streams, joins, reconnects and /wait subscribe to.
 *
 * Threads: every exec_* function may be called from any thread (event loops included) and never
 * blocks on a run or the network; graph execution, LLM calls and webhook POSTs happen on exec's
 * own threads. exec/ never includes http/: a subscriber is woken through a plain callback and
 * pulls its events itself (the HTTP layer posts that wake-up to its own loop).
 *
 * Durability: a run exists once exec_run_create returned 0 (it is in the store). At
 * exec_start, runs left `pending` are queued again and runs left `running` are ended as
 * `error` ("the server stopped while the run was running"), so nothing stays pending/running
 * forever.
 */
#ifndef LG_EXEC_EXEC_H
#define LG_EXEC_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "store/store.h"

typedef struct exec_config {
    int workers;              /* graph-executing threads; 0 = number of cores */
    int retention_s;          /* how long a finished run's events stay replayable; 0 = 300 */
    size_t retention_events;  /* max events kept per run (oldest dropped first); 0 = 10000 */
    int webhook_timeout_s;    /* per attempt; 0 = 10 */
    int webhook_retries;      /* extra attempts after a failure; default 0 = 2 (pass -1 for none) */
    int run_timeout_s;        /* a run still running after this ends as `timeout`; 0 = none */
} exec_config_t;

/* Starts the workers, recovers runs left by a previous process (see above). `ops`/`s` are
 * borrowed and must outlive exec_stop. Returns 0 or -1 (logged). */
int exec_start(const exec_config_t *cfg, const store_ops_t *ops, store_t *s);
/* Stops claiming new runs, cancels running ones (they end as `interrupted`... or stay recoverable,
 * documented in exec.c), waits up to `grace_s` for workers, then frees everything. */
void exec_stop(int grace_s);

/* A failure answer for the HTTP layer: status (404, 409, 422, 500, ...) and detail. */
typedef struct exec_error {
    int status;
    char detail[512];
} exec_error_t;

/*
 * Creates a run from a validated run-create body (borrowed; RunCreateStateful/Stateless or the
 * streaming variants). thread_id NULL = stateless: an ephemeral thread is created (deleted
 * after the run when on_completion is "delete", the default for stateless runs).
 * `assistant_id` is already resolved (a UUID). `owner` is stamped into metadata.owner of what
 * the run creates and filters everything it touches (NULL = no auth).
 * Applies if_not_exists (create|reject), multitask_strategy (reject → 409 while the thread is
 * busy; interrupt / rollback cancel the active run first; enqueue queues FIFO per thread),
 * after_seconds, webhook, on_completion, checkpoint / checkpoint_id, interrupt_before/after,
 * command, config, context, metadata, stream_mode / stream_subgraphs (what the broker records).
 * On success returns 0 and *run (new reference, the Run object as the contract shapes it).
 */
int exec_run_create(const char *thread_id, const char *assistant_id, const json_t *body,
                    const char *owner, json_t **run, exec_error_t *err);

/*
 * Cancels run `run_id` (of `thread_id`, may be NULL for any thread): action "interrupt" (the run
 * ends `interrupted`, its checkpoints stay) or "rollback" (the run and its checkpoints are
 * deleted once it stopped). A pending run is cancelled at once. Returns 0, or -1 with `err`
 * (404 missing/not visible, 409 already finished when the contract says so).
 */
int exec_run_cancel(const char *thread_id, const char *run_id, const char *action,
                    const char *owner, exec_error_t *err);

/* One broker event, shared by every subscriber (reference counted; release when done). */
typedef struct exec_event {
    uint64_t id;         /* monotonic per run, from 1; the SSE `id:` */
    const char *event;   /* SSE event name: "metadata", "values", "messages", "updates|<ns>", "error", ... */
    const char *data;    /* JSON text of the event's data */
    size_t data_len;
    const char *frame;   /* the whole SSE frame: "event: ..\ndata: ..\nid: ..\n\n" */
    size_t frame_len;
} exec_event_t;

void exec_event_release(const exec_event_t *ev);

typedef struct exec_sub exec_sub_t;

/* Called on the publishing thread whenever new events (or the end) are available. Must not
 * call back into exec and must be cheap: post a wake-up to your loop and return. */
typedef void (*exec_notify_fn)(void *user);

/*
 * Subscribes to run `run_id`'s events strictly after `after_id` (0 = from the first retained
 * event; a Last-Event-ID resumes exactly after that event — no gap, no duplicate while the
 * event is retained). Returns NULL with `err` 404 when the run is unknown (or not visible to
 * `owner`). A run that already finished (and whose events expired) gives a subscription that
 * is ended at once. notify may fire before this returns.
 */
exec_sub_t *exec_subscribe(const char *thread_id, const char *run_id, uint64_t after_id,
                           const char *owner, exec_notify_fn notify, void *user, exec_error_t *err);
/*
 * Takes up to `max` pending events (each must be released) into `out`; returns how many.
 * *ended is set to 1 once the run finished and every event was taken; *status then holds the
 * run's final status ("success", "error", "interrupted", "timeout") — borrowed, static.
 */
size_t exec_sub_poll(exec_sub_t *sub, const exec_event_t **out, size_t max, int *ended,
                     const char **status);
/* Ends the subscription (any thread). If `cancel_run` the run is cancelled as on_disconnect
 * "cancel" asks. */
void exec_unsubscribe(exec_sub_t *sub, int cancel_run);

/*
 * The run's outcome for /wait and join: once finished, 0 and *out = the final state values
 * (new reference), or for a failed run the error object {"__error__": {"error", "message"}}
 * as the official server answers. -1 with err 404 for an unknown run. Never blocks: the HTTP
 * layer subscribes and calls this after the subscription ended.
 */
int exec_run_result(const char *thread_id, const char *run_id, const char *owner, json_t **out,
                    exec_error_t *err);

#endif
