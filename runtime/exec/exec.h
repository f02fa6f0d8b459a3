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
 * Durability: a run exists once exec_run_create returned 0 (it is in the store). Its claim
 * (status `running`) is written without waiting: a "sync" run waits for it before its graph
 * starts, the others with their first wait (below); a crash before that finds the run still
 * pending at start, and it runs again. Then the run's `durability` (as
 * LangGraph defines it) decides: "sync" makes every write (each checkpoint, the final status,
 * the thread's patch) durable before the next step; "async" (the default, as the official
 * server) and "exit" let the writes reach the disk in the background and wait once, at the
 * end, before any part of the outcome is visible (error event, end of the stream, /wait and
 * join answers, webhook): what a client is told has happened is on disk. When that wait fails
 * the run ends `error` (event {error: "StoreError"}). "async" and "sync" store a checkpoint
 * after every step; "exit" stores only the last one, when the run ends (as LangGraph). The
 * deprecated checkpoint_during sets durability when the body has none: true "async", false
 * "exit" (LangGraph's mapping). At exec_start, runs left `pending` are
 * queued again and runs left `running` are ended as `error` ("the server stopped while the
 * run was running"), so nothing stays pending/running forever; a crashed async/exit run may
 * have lost its last checkpoints (as in LangGraph), never the fact that it was running.
 *
 * Statuses (as the official JS server): a run ends `success` (also when the graph stopped at
 * an interrupt: the thread is then `interrupted`), `error` (a node, the store or the graph
 * failed; an `error` event {error, message} is the last event), `interrupted` (cancelled:
 * action interrupt, multitask interrupt, on_disconnect cancel, shutdown) or `timeout`
 * (exec_config.run_timeout_s elapsed; an `error` event {error: "TimeoutError"} is sent).
 * Threads are `busy` from run creation while they have pending/running runs, then `error`
 * (failed or timed out), `interrupted` (the latest checkpoint has `next` pending), or `idle`
 * (also after a cancel), with values and interrupts of their latest checkpoint.
 *
 * Stream events: ids start at 1 (the official server numbers from 0; ids are opaque to the
 * SDKs, and 0 here means "from the start"). The first event is `metadata` {run_id, attempt: 1},
 * published when the run is created, so a stream shows it before the run is claimed. Then the
 * run's stream_mode (default ["values"]) as the official server names them: values, updates,
 * custom, tasks, checkpoints, debug, events as themselves; messages-tuple as `messages`
 * [chunk, metadata]; messages as `messages/metadata` ({id: {metadata}} the first time an id
 * appears), `messages/partial` ([accumulated message] for streamed chunks) and
 * `messages/complete` ([message]: for messages written whole, and for streamed ones once the
 * node wrote their final form); with stream_subgraphs, events
 * of subgraphs are named `mode|ns1|ns2`. There is no `end` event (the official server sends
 * none): the stream ends after the last event. Only the modes the run asked for are recorded;
 * a join filters them, it cannot add others.
 */
#ifndef LG_EXEC_EXEC_H
#define LG_EXEC_EXEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "store/store.h"
#include "util/uuid.h"

typedef struct exec_config {
    int workers;              /* graph-executing threads; 0 = 10 per core (runs mostly wait on
                                 LLM and tool calls) */
    int retention_s;          /* how long a finished stream_resumable run stays in memory
                                 (events and outcome); 0 = 300. Other runs keep theirs
                                 min(retention_s, 10) s after the end (the official server keeps
                                 only resumable streams), then only a small record for the rest
                                 of the window; nothing is dropped while a subscriber follows */
    size_t retention_events;  /* max events kept per run; when full the oldest quarter is
                                 dropped; 0 = 10000 */
    int webhook_timeout_s;    /* per attempt; 0 = 10 */
    int webhook_retries;      /* extra attempts after a failure; default 0 = 2 (pass -1 for none) */
    int run_timeout_s;        /* a run still running after this ends as `timeout`; 0 = none */
} exec_config_t;

/* Starts the workers, recovers runs left by a previous process (see above). `ops`/`s` are
 * borrowed and must outlive exec_stop. Returns 0 or -1 (logged). */
int exec_start(const exec_config_t *cfg, const store_ops_t *ops, store_t *s);
/* Stops claiming new runs, lets running ones finish for up to `grace_s`, then cancels the rest
 * (they end `interrupted`), joins the workers, delivers queued webhooks (one attempt each) and
 * frees everything (the registry too: call it after the HTTP loops stopped). Pending runs stay
 * pending in the store for the next start. No-op when not started. */
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
 * the run creates and filters everything it touches, the assistant included (its own or a
 * system assistant; NULL = no auth); it also reaches the graph as configurable
 * langgraph_auth_user_id, user_id and owner (overwriting what the body or assistant set).
 * `token` (may be NULL) is the caller's credential for the graph's outbound calls: the graph
 * sees it as configurable "x-supabase-access-token", but it lives only in memory beside the
 * queued run (freed when the run ends): it is never written to the store (kwargs, metadata,
 * checkpoints), webhooks or responses, and a key of that name in the body's or the
 * assistant's configurable is dropped. A run recovered after a restart runs without it.
 * Applies if_not_exists (create|reject), multitask_strategy (reject → 409 while the thread is
 * busy; interrupt / rollback cancel the active run first; enqueue queues FIFO per thread),
 * after_seconds, webhook, on_completion, checkpoint / checkpoint_id, interrupt_before/after,
 * command, config, context, metadata, stream_mode / stream_subgraphs (what the broker records).
 * `configurable` (borrowed, may be NULL) holds keys the request adds to the body's
 * config.configurable (the official server's x-* headers), each winning over the body's key
 * of that name. On success returns 0, the run's id in `run_id` (UUID_STR_SIZE bytes; may be
 * NULL) and, when `run` is not NULL, *run (new reference, the Run object as the contract
 * shapes it); a caller that needs only the id passes NULL and saves building that copy.
 * Failures: 404 "No assistant found for ..." (unknown assistant), 404 "Thread <id> not found"
 * (if_not_exists reject), 409 "Thread is already running a task. ..." (reject while busy),
 * 422 (the assistant's graph is not registered), 500 (store), 503 (exec not started).
 * The run's config is the assistant's config then the body's (configurable merged key by
 * key) with the assistant's then the body's `context` and {run_id, thread_id, graph_id,
 * assistant_id} merged into configurable; kwargs keep input, command, config, stream_mode
 * (always an array), stream_subgraphs, interrupt_before/after, webhook, feedback_keys,
 * checkpoint(_id), after_seconds, on_disconnect, durability (resolved with checkpoint_during),
 * checkpoint_during, context, temporary.
 */
int exec_run_create(const char *thread_id, const char *assistant_id, const json_t *body,
                    const json_t *configurable, const char *owner, const char *token, char *run_id,
                    json_t **run, exec_error_t *err);

/* The configurable key under which the graph finds the caller's credential (see
 * exec_run_create). */
#define EXEC_TOKEN_KEY "x-supabase-access-token"

/*
 * Cancels run `run_id` (of `thread_id`, may be NULL for any thread): action "interrupt" (the run
 * ends `interrupted`, its checkpoints stay) or "rollback" (the run and its checkpoints are
 * deleted once it stopped). A pending run is cancelled at once (rollback deletes it at once).
 * A running run gets its cancel flag raised and returns 0 at once; the run ends shortly after
 * (a caller that must wait — `wait=true` — subscribes). Cancelling a finished run is a no-op
 * that returns 0, as the official server answers (it only logs a warning). Returns -1 with
 * `err` for 404 (missing, another thread's, not visible) and 422 (action not interrupt or
 * rollback; NULL = interrupt).
 */
int exec_run_cancel(const char *thread_id, const char *run_id, const char *action,
                    const char *owner, exec_error_t *err);

/*
 * Cancels every pending and running run of thread `thread_id` with `action` (as
 * exec_run_cancel; NULL = interrupt), e.g. before the thread is deleted or pruned. Returns the
 * number of runs cancelled, or -1 with `err` (404 thread missing or not visible, 422 bad
 * action, 500 store).
 */
int exec_thread_cancel(const char *thread_id, const char *action, const char *owner, exec_error_t *err);

/*
 * Deletes thread `thread_id` (visible to `owner`) with its runs and checkpoints, as the
 * official servers do, after cancelling its pending and running runs (action interrupt): a
 * pending run never starts, a running one stops at its next step and its writes after that
 * find nothing to change; the streams following any of them, or the thread, end. Holds the thread's create
 * stripe throughout, so no run is created on the thread in between. Returns the store's code
 * (STORE_NOT_FOUND when missing or not visible; STORE_UNSUPPORTED when exec is not started).
 */
store_rc_t exec_thread_delete(const char *thread_id, const char *owner);

/* One broker event, shared by every subscriber (reference counted; release when done). */
typedef struct exec_event {
    uint64_t id;         /* monotonic per run, from 1; the SSE `id:` */
    const char *event;   /* SSE event name: "metadata", "values", "messages", "updates|<ns>", "error", ... */
    const char *data;    /* JSON text of the event's data: data_len bytes inside `frame`, NOT
                            NUL-terminated */
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
 * is ended at once (exec_sub_poll gives ended = 1 and the stored status). notify may fire
 * before this returns; it runs under the run's lock, so once exec_unsubscribe returned it is
 * never called again. Events older than the retention bound are gone: a subscriber behind
 * them resumes at the oldest retained one.
 */
exec_sub_t *exec_subscribe(const char *thread_id, const char *run_id, uint64_t after_id,
                           const char *owner, exec_notify_fn notify, void *user, exec_error_t *err);
/*
 * Follows thread `thread_id` (GET /threads/{thread_id}/stream): every event of every run of the
 * thread, as the runs publish them (same names and data; each run starts with its `metadata`
 * {run_id, attempt}), then, once a run ended, `metadata` {status: "run_done", run_id}; plus the
 * thread's own events (exec_thread_publish: `state_update`). Ids are the thread's own sequence
 * 1, 2, 3... counted from the first subscription (the channel is created then, and kept while
 * followed and `retention_s` after; nothing is recorded for a thread nobody follows). The
 * subscriber filters by thread stream mode (run_modes, lifecycle, state_update). after_id
 * resumes as for runs; 0 follows from now on (no replay, as the official server). The
 * subscription ends only when the thread is deleted (exec_thread_delete); otherwise the client
 * leaves. Returns NULL with `err` 404 when the thread is missing or not visible to
 * `owner`. Release with exec_unsubscribe (cancel_run is ignored).
 */
exec_sub_t *exec_thread_subscribe(const char *thread_id, uint64_t after_id, const char *owner,
                                  exec_notify_fn notify, void *user, exec_error_t *err);

/* Publishes event `event` with `data` (borrowed; serialised once) on the channel of thread
 * `thread_id` when someone follows the thread (else nothing happens), e.g. `state_update`
 * {state, thread_id} after the thread's state was updated outside a run. Any thread. */
void exec_thread_publish(const char *thread_id, const char *event, const json_t *data);

/*
 * Takes up to `max` pending events (each must be released) into `out`; returns how many.
 * *ended is set to 1 once the run finished and every event was taken; *status then holds the
 * run's final status ("success", "error", "interrupted", "timeout") — borrowed, static.
 */
size_t exec_sub_poll(exec_sub_t *sub, const exec_event_t **out, size_t max, int *ended,
                     const char **status);
/* Makes `sub` follow the run's end only (a /wait or join answer, which sends no event): from
 * now on its notify fires once the run ended, not for each event, and exec_sub_poll skips the
 * events (returns 0, *ended as above). Any thread. */
void exec_sub_end_only(exec_sub_t *sub);
/* Ends the subscription (any thread). If `cancel_run` the run is cancelled as on_disconnect
 * "cancel" asks. */
void exec_unsubscribe(exec_sub_t *sub, int cancel_run);

/*
 * The run's outcome for /wait and join: once finished, 0 and *out = the final state values
 * (new reference), or for a failed run the error object {"__error__": {"error", "message"}}
 * as the official server answers. *out is read only: it may be the run record's own result
 * or the store's values (shared reads, store.h), so the caller only reads it (serialises it)
 * and copies it before any change. -1 with err 404 for an unknown run. Never blocks: the HTTP
 * layer subscribes and calls this after the subscription ended. A cancelled or timed-out run
 * gives its values at the end (a timeout gives the __error__ object). Once the run's record
 * left memory (retention), the thread's current values are answered (the official join does
 * the same); a stateless run whose thread was deleted is then 404. -1 with 409 while the run
 * is still pending or running (also while its final writes wait for the disk).
 */
int exec_run_result(const char *thread_id, const char *run_id, const char *owner, json_t **out,
                    exec_error_t *err);

#endif
