/*
 * runtime/exec/exec_internal.h — what the files of exec/ share: the in-memory record of a run
 * (its broker log, subscribers, cancel flag and outcome), the run registry, and the webhook
 * queue. Not a public header: nothing outside runtime/exec includes it.
 *
 * Locking: the registry has one mutex (lookups, insertions, reaping); each run record has its
 * own mutex for its log, subscribers and outcome. A record's lock is never held while taking
 * the registry lock. A run's lock may be held while appending to its thread's channel (the end
 * of the run), never the reverse.
 */
#ifndef LG_EXEC_INTERNAL_H
#define LG_EXEC_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <jansson.h>

#include "exec/exec.h"
#include "util/uuid.h"

/* Wire stream modes a run records, beyond the engine's GRAPH_STREAM_* bits (graph/engine.h). */
enum exec_wire_mode {
    EXEC_WIRE_MESSAGES_TUPLE = 1u << 16, /* "messages-tuple": event `messages`, [chunk, metadata] */
    EXEC_WIRE_MESSAGES_FULL = 1u << 17,  /* "messages": messages/metadata|partial|complete */
    EXEC_WIRE_RESUMABLE = 1u << 18,      /* stream_resumable: events replayable for the whole
                                            retention window, not only the short grace */
};

/* Why a run's cancel flag was raised. */
typedef enum exec_cancel_why {
    EXEC_CANCEL_NONE = 0,
    EXEC_CANCEL_INTERRUPT,
    EXEC_CANCEL_ROLLBACK,
    EXEC_CANCEL_TIMEOUT,
    EXEC_CANCEL_SHUTDOWN,
} exec_cancel_why_t;

/* One event as stored: the public part first, then one block holding its strings. */
typedef struct exec_event_impl {
    exec_event_t pub;
    atomic_uint refs;
    char mem[];
} exec_event_impl_t;

/* The in-memory record of a run, shared by its worker, its subscribers and the registry
 * (reference counted: exec_run_ref / exec_run_unref). */
typedef struct exec_run {
    char run_id[48];          /* the run id, or "thread:<thread_id>" for a thread channel */
    char thread_id[UUID_STR_SIZE];
    char *owner;              /* metadata.owner of the run, or NULL */
    char *token;              /* the caller's credential for the graph (configurable
                                 x-supabase-access-token), or NULL: memory only, never stored.
                                 Set by exec_run_create before the run is stored; the worker
                                 that executes the run reads it and frees it */
    atomic_uint refs;
    pthread_mutex_t mu;
    /* broker (under mu) */
    exec_event_impl_t **events; /* retained events, oldest first */
    size_t n_events, cap_events;
    uint64_t first_id;        /* id of events[0] */
    uint64_t next_id;         /* id the next event gets */
    struct exec_sub *subs;    /* live subscribers */
    int ended;
    const char *status;       /* final status once ended (static string) */
    int64_t ended_mono_us;
    json_t *result;           /* final values or {"__error__": ...} once ended */
    /* what the run records (set at creation, read-only after) */
    unsigned modes;           /* GRAPH_STREAM_* | EXEC_WIRE_* */
    int subgraphs;
    json_t *msg_seen;         /* messages mode: id -> accumulated message (worker thread only) */
    json_t *tuple_meta;       /* messages-tuple: the metadata last serialised (a reference held so
                                 the pointer stays its identity) and its text (malloc'd), reused
                                 while chunks carry the same object (worker thread only) */
    char *tuple_meta_text;
    size_t tuple_meta_len;
    /* execution */
    atomic_int cancel;        /* handed to graph_invoke */
    atomic_int cancel_why;    /* exec_cancel_why_t */
    atomic_int running;       /* a worker is executing it */
    atomic_llong started_mono_us;
    int events_dropped;       /* the log and the result were freed after the end (non-resumable
                                 run): exec_run_result answers from the store, as once the record
                                 left memory */
    int is_thread;            /* a thread channel: every event of the thread's runs; ends only
                                 when the thread is deleted */
    int64_t touched_mono_us;  /* thread channel: last publish or unsubscribe (under mu) */
    int registered;           /* in the registry (under the registry lock) */
    struct exec_run *hnext;   /* registry chain */
} exec_run_t;

struct exec_sub {
    exec_run_t *run;          /* NULL: the subscription was ended from the start */
    uint64_t next_id;
    exec_notify_fn notify;
    void *user;
    const char *status;       /* for a subscription without a run record */
    int end_only;             /* exec_sub_end_only: notified of the end only, events skipped */
    struct exec_sub *next, **pprev;
};

/* ---- registry and broker (broker.c) ---- */

/* Creates the record of run `run_id` of `thread_id` (owner may be NULL), registers it, and
 * publishes its first event `metadata` {run_id, attempt: 1}. Returns a new reference (the
 * registry keeps its own), or NULL when out of memory. An existing record is returned
 * instead (new reference) when the id is already registered. */
exec_run_t *exec_run_register(const char *run_id, const char *thread_id, const char *owner,
                              unsigned modes, int subgraphs);
/* The registered record of `run_id` (new reference), or NULL. */
exec_run_t *exec_run_find(const char *run_id);
/* Removes `r` from the registry (drops the registry's reference); no-op when not there. */
void exec_run_unregister(exec_run_t *r);
void exec_run_ref(exec_run_t *r);
void exec_run_unref(exec_run_t *r);

/* Appends event `event` with `data` (borrowed; serialised once) and wakes the subscribers.
 * Ignored once the run ended. */
void exec_broker_publish(exec_run_t *r, const char *event, const json_t *data);
/* exec_broker_publish with the data already serialised: `len` bytes of compact JSON `text`
 * (borrowed). */
void exec_broker_publish_text(exec_run_t *r, const char *event, const char *text, size_t len);
/* A piece of an event's JSON text (borrowed). */
typedef struct exec_text {
    const char *s;
    size_t len;
} exec_text_t;
/* exec_broker_publish_text with the text given as `n` pieces (borrowed) joined as they are. */
void exec_broker_publish_parts(exec_run_t *r, const char *event, const exec_text_t *parts, size_t n);
/* Ends the run's stream with `status` (static) and `result` (stolen; may be NULL); wakes the
 * subscribers. Only the first call counts. */
void exec_broker_end(exec_run_t *r, const char *status, json_t *result);

/* Ends the channel of thread `thread_id`, deleted (exec_thread_delete): its followers' streams
 * end once they took what was published, and the channel leaves the registry, so a thread
 * created later with the same id starts a fresh one. No-op when nobody follows the thread. */
void exec_broker_thread_gone(const char *thread_id);
/* Calls `fn` on every registered record under the registry lock (fn must not take it). */
void exec_registry_foreach(void (*fn)(exec_run_t *r, void *user), void *user);
/* Ages finished records (monotonic `now_mono_us`): a record without subscribers is dropped
 * `retention_us` after its run ended; the event log and the result of a run that is not
 * resumable are freed earlier, `grace_us` after the end (a short record stays, for its status). */
void exec_registry_reap(int64_t now_mono_us, int64_t retention_us, int64_t grace_us);
/* Drops every record (at exec_stop). */
void exec_registry_clear(void);
/* Sets the per-run bound on retained events (0 = 10000). */
void exec_broker_set_limit(size_t max_events);

/* ---- webhooks (webhook.c) ---- */

int exec_webhook_start(int timeout_s, int retries);
/* Queues a POST of `payload` (stolen) to `url` (borrowed, copied). */
void exec_webhook_post(const char *url, json_t *payload);
/* Delivers what is queued (one attempt each), then stops the thread. */
void exec_webhook_stop(void);

/* ---- exec.c, for broker.c ---- */

/* The store exec_start was given (NULL before it / after exec_stop). Borrowed. */
const store_ops_t *exec_ops(void);
store_t *exec_store(void);

/* Cancels the run behind `r` with `why` as exec_run_cancel does (store status for a pending
 * run, the flag for a running one). Used by exec_unsubscribe(cancel_run = 1). */
void exec_cancel_record(exec_run_t *r, exec_cancel_why_t why);

#endif
