/*
 * runtime/store/store.h — the one storage interface of lgserve. Handlers and exec/ reach
 * persistence only through `store_ops_t`; a backend exports nothing but its ops table
 * (`store_mem_ops()` — embedded, durable log; `store_pg_ops()` — PostgreSQL).
 *
 * Objects are jansson values in exactly the contract's shapes and field names:
 *
 *   assistant  {assistant_id, graph_id, config, context, created_at, updated_at, metadata,
 *               version, name, description}
 *   thread     {thread_id, created_at, updated_at, state_updated_at, metadata, config, status,
 *               values?, interrupts, ttl?}   ttl = {strategy, ttl_minutes, expires_at}; the
 *               handler shows `ttl` only for ?include=ttl
 *   run        {run_id, thread_id, assistant_id, created_at, updated_at, status, metadata,
 *               kwargs, multitask_strategy}
 *   checkpoint {thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id,
 *               created_at, metadata, ...} — the graph engine's checkpoint; the store reads only
 *               the named keys and keeps every other field (values, next, tasks, ...) verbatim
 *   item       {namespace, key, value, created_at, updated_at}
 *   cron       {cron_id, assistant_id, thread_id, end_time, schedule, timezone, created_at,
 *               updated_at, user_id, payload, next_run_date, metadata, enabled,
 *               on_run_completed}
 *
 * Timestamps are RFC 3339 strings with an offset (util/time.h); the store sets created_at and
 * updated_at itself. Ids the caller leaves out are generated (v4 for assistants, threads and
 * crons; v7 for runs and checkpoints).
 *
 * Conventions, for every operation:
 *   - `store_t *s` is the handle from ops->open; every operation is thread-safe.
 *   - Inputs (strings, json_t) are borrowed; the store copies what it keeps.
 *   - Output objects (`json_t **out`) are new references the caller owns (json_decref); they
 *     share nothing with the store. A mutation's `out` may be NULL when the caller does not
 *     want the result; a read's may not. On failure *out is left NULL. Exception: the
 *     *_get_shared reads (below) answer the stored object itself.
 *   - Lists come back as a JSON array (new reference) and, where the API shows
 *     X-Pagination-Total, the number of matches before limit/offset in *total (may be NULL).
 *   - `limit` <= 0 means no limit; `offset` < 0 is treated as 0. sort_by/sort_order are the
 *     contract's strings (NULL = the documented default); an unknown one is STORE_INVALID.
 *     Strings sort bytewise (PostgreSQL: COLLATE "C"), timestamps by instant, ties in
 *     creation order (reversed for desc).
 *   - `owner`: NULL means no ownership filtering. Otherwise only objects whose
 *     metadata.owner is a string equal to `owner` are visible: anything else behaves exactly
 *     like a missing object (STORE_NOT_FOUND, absent from searches and counts) and is never
 *     changed. Creation does not stamp the owner: the caller puts it in metadata.
 *     Exception: a system assistant (store_assistant_is_system: metadata.created_by is
 *     "system" and there is no metadata.owner; the server creates one per graph) is visible
 *     to every owner for reading (get, get_version, versions, search, count, and the
 *     existing object of a DO_NOTHING create) but to no owner for changes (patch,
 *     set_latest and delete answer STORE_NOT_FOUND).
 *   - Store items are partitioned by `scope` instead (NULL and "" are the same, shared,
 *     partition): the same namespace and key in two scopes are two different items.
 *   - Containment filters (`metadata`, `values`) follow PostgreSQL jsonb `@>`: an object
 *     contains another when it contains each of its keys' values; an array contains another
 *     when each element of the second is contained in some element of the first; scalars are
 *     equal (numbers compare by value, 1 == 1.0).
 *   - An acknowledged mutation (STORE_OK) is durable: on disk (embedded) or committed (pg).
 *     Other callers may read it a moment before its writer is acknowledged (embedded).
 *     Exception, opted into per thread: between store_defer_begin() and store_defer_end()
 *     (below) a mutation returns once applied and logged, before it is durable; the caller
 *     then learns durability through when_durable() and must not acknowledge before it.
 *   - UUID ids are accepted in either case and returned in lower case; an id that is not a
 *     UUID is STORE_INVALID on create and STORE_NOT_FOUND on lookup. Checkpoint ids are
 *     opaque non-empty strings.
 *   - Every operation is one statement or one transaction: it is applied entirely or not at
 *     all, and no callback ever runs inside it.
 *   - On failure the return code says what happened and store_last_error() holds a short
 *     message for the calling thread.
 */
#ifndef LG_STORE_STORE_H
#define LG_STORE_STORE_H

#include <stdint.h>
#include <jansson.h>

typedef enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND,  /* no such object (or not visible to `owner`) */
    STORE_CONFLICT,   /* id exists (if_exists raise), or a state that forbids the change */
    STORE_INVALID,    /* malformed argument: bad id, unknown sort key, wrong JSON type */
    STORE_IO,         /* the disk or the database failed; the change is not acknowledged
                         (embedded: it may stay visible until restart, and the store refuses
                         every later write) */
    STORE_NOMEM,      /* allocation failure */
    STORE_CORRUPT,    /* open only: the data on disk is damaged before its tail */
    STORE_UNSUPPORTED /* the backend does not implement this */
} store_rc_t;

/* Opaque backend handle. */
typedef struct store store_t;

/* When an acknowledged write reaches the disk (embedded backend). */
typedef enum store_fsync {
    STORE_FSYNC_BATCH = 0, /* group commit: writers share fsyncs, optional linger (default) */
    STORE_FSYNC_ALWAYS     /* a writer syncs as soon as it waits, never lingers */
} store_fsync_t;

/* What to do when the id of a create already exists. */
typedef enum store_if_exists {
    STORE_IF_EXISTS_RAISE = 0, /* STORE_CONFLICT */
    STORE_IF_EXISTS_DO_NOTHING /* STORE_OK with the existing object, unchanged */
} store_if_exists_t;

/* Backend configuration; each backend reads its own fields and ignores the others. */
typedef struct store_config {
    /* embedded */
    const char *data_dir;         /* NULL = "./.lgserve"; created (mode 0700) when missing */
    store_fsync_t fsync;          /* default STORE_FSYNC_BATCH */
    unsigned batch_delay_us;      /* batch: when other writers are in flight, how long the
                                     writer about to fsync waits for them to join its sync;
                                     default 0 (groups still form: writers arriving during an
                                     fsync share the next one), clamped to 5000 */
    uint64_t compact_bytes;       /* log size that triggers compaction; 0 = 64 MiB */
    /* PostgreSQL */
    const char *database_uri;     /* libpq connection string */
    int pool_size;                /* connections; 0 = backend default */
} store_config_t;

/* Assistant search and count filter. */
typedef struct store_assistant_query {
    const char *graph_id;   /* exact match, or NULL */
    const char *name;       /* case-insensitive substring of name, or NULL */
    const json_t *metadata; /* containment, or NULL */
    const char *sort_by;    /* assistant_id|created_at|updated_at|name|graph_id; NULL = created_at */
    const char *sort_order; /* asc|desc; NULL = desc */
    int64_t limit, offset;
} store_assistant_query_t;

/* Thread search and count filter. */
typedef struct store_thread_query {
    const json_t *ids;      /* array of thread ids to keep, or NULL */
    const json_t *metadata; /* containment, or NULL */
    const json_t *values;   /* containment in `values`, or NULL */
    const char *status;     /* idle|busy|interrupted|error, or NULL */
    const char *sort_by;    /* thread_id|status|created_at|updated_at|state_updated_at;
                               NULL = created_at */
    const char *sort_order; /* asc|desc; NULL = desc */
    int64_t limit, offset;
} store_thread_query_t;

/* Cron search and count filter. */
typedef struct store_cron_query {
    const char *assistant_id; /* exact, or NULL */
    const char *thread_id;    /* exact, or NULL */
    int enabled;              /* -1 = either, 0 = disabled only, 1 = enabled only */
    const json_t *metadata;   /* containment, or NULL */
    const char *sort_by;      /* cron_id|assistant_id|thread_id|next_run_date|end_time|
                                 created_at|updated_at; NULL = created_at */
    const char *sort_order;   /* asc|desc; NULL = desc */
    int64_t limit, offset;
} store_cron_query_t;

/* Store item search. */
typedef struct store_item_query {
    const json_t *namespace_prefix; /* array of strings, or NULL for every namespace */
    /* object: {"field": value} is equality; {"field": {"$eq"|"$ne"|"$gt"|"$gte"|"$lt"|"$lte":
     * value, ...}} compares (numbers numerically, strings bytewise; a missing field or a type
     * mismatch fails every operator but $ne). "field" may be a dotted path into `value`. */
    const json_t *filter;
    int refresh_ttl;        /* 1 = restart the TTL of each returned item */
    int64_t limit, offset;  /* order: updated_at desc, then namespace and key */
} store_item_query_t;

/* Namespace listing. */
typedef struct store_ns_query {
    const json_t *prefix; /* array of strings ("*" matches any label), or NULL */
    const json_t *suffix; /* array of strings ("*" matches any label), or NULL */
    int max_depth;        /* > 0: namespaces are cut to this many labels (then deduplicated) */
    int64_t limit, offset; /* order: lexicographic by labels */
} store_ns_query_t;

/* Called once writes up to a position are durable (rc STORE_OK) or can no longer become so
 * (STORE_IO); `user` is the registration's. May run on any thread. */
typedef void (*store_on_durable_fn)(void *user, store_rc_t rc);

typedef struct store_ops {
    const char *name; /* "mem", "pg" */

    /* ---- lifecycle ---- */

    /* Opens a store described by `cfg` (borrowed). On STORE_OK *out is a handle the caller
     * closes with close(). On failure *errmsg (when not NULL) is a malloc'd sentence the
     * caller frees, e.g. naming the damaged file and byte offset (STORE_CORRUPT). */
    store_rc_t (*open)(const store_config_t *cfg, store_t **out, char **errmsg);
    /* Flushes and releases everything; `s` is invalid afterwards. NULL is a no-op. */
    void (*close)(store_t *s);
    /* Rewrites the backend's storage compactly now (embedded: snapshot + new log; pg: no-op). */
    store_rc_t (*compact)(store_t *s);
    /* Deletes store items whose TTL ended at or before `now_us`; *n_deleted (may be NULL)
     * receives how many. The server calls this from a timer. */
    store_rc_t (*sweep)(store_t *s, int64_t now_us, int64_t *n_deleted);

    /* ---- assistants (versioned) ---- */

    /* Creates version 1 of an assistant from `in` {assistant_id?, graph_id, config?, context?,
     * metadata?, name?, description?} (graph_id required; name defaults to "Untitled", config,
     * context and metadata to {}, description to null). When assistant_id exists:
     * STORE_CONFLICT, or with DO_NOTHING the existing assistant (STORE_CONFLICT still when it
     * is not visible to `owner`). */
    store_rc_t (*assistant_create)(store_t *s, const json_t *in, store_if_exists_t if_exists,
                                   const char *owner, json_t **out);
    /* The latest version of assistant `id`. */
    store_rc_t (*assistant_get)(store_t *s, const char *id, const char *owner, json_t **out);
    /* assistant_get answering the stored latest version itself, under thread_get_shared's
     * rules (read only, never handed to code that may change it). NULL when the backend cannot
     * share: callers go through store_assistant_get_shared(). */
    store_rc_t (*assistant_get_shared)(store_t *s, const char *id, const char *owner, json_t **out);
    /* Version `version` of assistant `id`. */
    store_rc_t (*assistant_get_version)(store_t *s, const char *id, int64_t version,
                                        const char *owner, json_t **out);
    /* Makes a new version from the latest one and `patch` {graph_id?, config?, context?,
     * metadata?, name?, description?}: metadata is merged key by key, the others replace.
     * version = highest existing + 1, which becomes the latest; updated_at = now. */
    store_rc_t (*assistant_patch)(store_t *s, const char *id, const json_t *patch,
                                  const char *owner, json_t **out);
    /* Deletes the assistant and all its versions (threads and runs are the caller's
     * business). */
    store_rc_t (*assistant_delete)(store_t *s, const char *id, const char *owner);
    /* Latest versions matching `q`, sorted and paginated. */
    store_rc_t (*assistant_search)(store_t *s, const store_assistant_query_t *q, const char *owner,
                                   json_t **out, int64_t *total);
    /* Number of assistants matching `q` (sort/limit/offset ignored). */
    store_rc_t (*assistant_count)(store_t *s, const store_assistant_query_t *q, const char *owner,
                                  int64_t *count);
    /* Versions of assistant `id` whose metadata contains `metadata` (NULL = all), newest version
     * first, paginated; STORE_NOT_FOUND when the assistant does not exist. */
    store_rc_t (*assistant_versions)(store_t *s, const char *id, const json_t *metadata,
                                     int64_t limit, int64_t offset, const char *owner,
                                     json_t **out, int64_t *total);
    /* Makes existing version `version` the latest; returns it. */
    store_rc_t (*assistant_set_latest)(store_t *s, const char *id, int64_t version,
                                       const char *owner, json_t **out);

    /* ---- threads ---- */

    /* Creates a thread from `in` {thread_id?, metadata?, config?, status?, values?,
     * interrupts?, ttl?}; `ttl` is {strategy: delete|keep_latest, ttl: minutes} and is stored
     * as {strategy, ttl_minutes, expires_at}. Defaults: status "idle", metadata/config/
     * interrupts {}. if_exists as for assistants. */
    store_rc_t (*thread_create)(store_t *s, const json_t *in, store_if_exists_t if_exists,
                                const char *owner, json_t **out);
    store_rc_t (*thread_get)(store_t *s, const char *id, const char *owner, json_t **out);
    /* thread_get for a reader that only reads: *out is a new reference (json_incref) to the
     * stored thread itself, shared with the store and every other reader. The caller must not
     * change anything in it, not even its top-level members (json_copy it first), and must
     * never hand it to code that may (an HTTP answer being built, a webhook payload, ...). It
     * stays valid and unchanged however long it is kept: stored objects are never modified in
     * place, a change stores a new one. NULL when the backend cannot share: callers go through
     * store_thread_get_shared(), which then answers a copy. */
    store_rc_t (*thread_get_shared)(store_t *s, const char *id, const char *owner, json_t **out);
    /* Applies `patch` {metadata?, config?, status?, values?, interrupts?, ttl?}: metadata is
     * merged key by key, the others replace; ttl as on create (null removes it).
     * updated_at = now; state_updated_at = now when values or interrupts are given. The
     * store may keep `patch`'s values and interrupts themselves instead of copies: the caller
     * must never change anything inside them afterwards (it may change `patch`'s own
     * members). */
    store_rc_t (*thread_patch)(store_t *s, const char *id, const json_t *patch,
                               const char *owner, json_t **out);
    /* Deletes the thread with its runs and checkpoints. */
    store_rc_t (*thread_delete)(store_t *s, const char *id, const char *owner);
    store_rc_t (*thread_search)(store_t *s, const store_thread_query_t *q, const char *owner,
                                json_t **out, int64_t *total);
    store_rc_t (*thread_count)(store_t *s, const store_thread_query_t *q, const char *owner,
                               int64_t *count);
    /* Copies thread `id` (metadata, config, values, interrupts, ttl; status idle) and all its
     * checkpoints (thread_id rewritten) to a new thread `new_id` (NULL = generated);
     * STORE_CONFLICT when new_id exists. Runs are not copied. */
    store_rc_t (*thread_copy)(store_t *s, const char *id, const char *new_id, const char *owner,
                              json_t **out);
    /* For each id of `ids` (array of strings) visible to `owner`: strategy "delete" deletes
     * the thread like thread_delete; "keep_latest" deletes all but the latest checkpoint of
     * each checkpoint_ns. *pruned = threads affected. Missing ids are skipped. */
    store_rc_t (*thread_prune)(store_t *s, const json_t *ids, const char *strategy,
                               const char *owner, int64_t *pruned);
    /* Threads whose ttl.expires_at is at or before `before_us`, oldest expiry first, at most
     * `limit` (<= 0: all): an array of {thread_id, strategy}. The sweeper deletes each through
     * the run executor (its runs cancelled first) or prunes it with thread_prune. */
    store_rc_t (*thread_expired)(store_t *s, int64_t before_us, int64_t limit, json_t **out);

    /* ---- runs ---- */

    /* Creates a run from `in` {run_id?, thread_id, assistant_id, metadata?, kwargs?,
     * multitask_strategy?, status?} (status default "pending"). The thread must exist
     * (STORE_NOT_FOUND). The run may not be claimed before `not_before_us` (0 = at once).
     * Runs of one thread are claimed in creation order. The store may keep `in`'s metadata
     * and kwargs themselves instead of copies: the caller must never change anything inside
     * them afterwards. */
    store_rc_t (*run_create)(store_t *s, const json_t *in, int64_t not_before_us, json_t **out);
    /* Run `run_id`; when `thread_id` is not NULL the run must belong to that thread. */
    store_rc_t (*run_get)(store_t *s, const char *thread_id, const char *run_id,
                          const char *owner, json_t **out);
    /* Sets the status of run `run_id` (updated_at = now); returns the run. */
    store_rc_t (*run_set_status)(store_t *s, const char *run_id, const char *status,
                                 const char *owner, json_t **out);
    /* Runs of `thread_id`, newest first, optionally only those with `status`; STORE_NOT_FOUND
     * when the thread is missing. */
    store_rc_t (*run_list)(store_t *s, const char *thread_id, const char *status, int64_t limit,
                           int64_t offset, const char *owner, json_t **out, int64_t *total);
    store_rc_t (*run_delete)(store_t *s, const char *thread_id, const char *run_id,
                             const char *owner);
    /* Claims the next run for a worker: among pending runs due at `now_us` whose thread has no
     * running run, the first of its thread in creation order, oldest first across threads; it
     * becomes "running" and is returned. STORE_NOT_FOUND when nothing is claimable. The run
     * returned may be the stored object itself, under thread_get_shared's rules: the worker
     * executing it only reads it. */
    store_rc_t (*run_claim)(store_t *s, int64_t now_us, json_t **out);
    /* Pending and running runs of `thread_id` (NULL = of every thread) in creation order: the
     * per-thread queue for multitask decisions, and at start the runs to resume or fail. */
    store_rc_t (*run_active)(store_t *s, const char *thread_id, json_t **out);

    /* ---- checkpoints ---- */

    /* Stores checkpoint `cp` (thread_id required; checkpoint_id generated when absent;
     * checkpoint_ns default ""; parent_checkpoint_id and run_id may be null; metadata default
     * {}), replacing one with the same (thread_id, checkpoint_ns, checkpoint_id). The thread
     * must exist. Returns the stored checkpoint. The store may keep `cp` itself, or its members
     * (values, metadata, tasks, ...), instead of copies: the caller must never change anything
     * in `cp` afterwards, its own members included (json_copy it first). The store never
     * changes `cp`: one it must complete (generated id, defaults) is stored as a completed copy.
     * A stored checkpoint is never changed in place (a put replaces it whole). */
    store_rc_t (*checkpoint_put)(store_t *s, const json_t *cp, json_t **out);
    /* Checkpoint `checkpoint_id` of the thread in namespace `ns` (NULL = ""), or the latest
     * one stored when checkpoint_id is NULL. */
    store_rc_t (*checkpoint_get)(store_t *s, const char *thread_id, const char *ns,
                                 const char *checkpoint_id, json_t **out);
    /* checkpoint_get answering the stored checkpoint itself, under thread_get_shared's rules
     * (read only, never handed to code that may change it). NULL when the backend cannot
     * share: callers go through store_checkpoint_get_shared(). */
    store_rc_t (*checkpoint_get_shared)(store_t *s, const char *thread_id, const char *ns,
                                        const char *checkpoint_id, json_t **out);
    /* History of a thread in namespace `ns` (NULL = ""), newest first: at most `limit`, only
     * those stored before checkpoint `before_id` (NULL = no bound), only those whose metadata
     * contains `metadata` (NULL = all). An unknown before_id is STORE_NOT_FOUND. */
    store_rc_t (*checkpoint_list)(store_t *s, const char *thread_id, const char *ns,
                                  const char *before_id, const json_t *metadata, int64_t limit,
                                  json_t **out);
    /* Deletes the checkpoints of a thread (every namespace); with `run_id` not NULL only those
     * whose run_id is that (rollback). *n_deleted may be NULL. Missing thread: STORE_OK, 0. */
    store_rc_t (*checkpoint_delete)(store_t *s, const char *thread_id, const char *run_id,
                                    int64_t *n_deleted);
    /* Copies every checkpoint of thread `from` to thread `to` (which must exist), keeping
     * ids, lineage and order. */
    store_rc_t (*checkpoint_copy)(store_t *s, const char *from, const char *to);

    /* ---- store items ---- */

    /* Creates or replaces item (`ns` array of strings, `key`) in partition `scope` with
     * `value` (object). ttl_minutes > 0 sets an expiry (now + ttl), otherwise none. `index`
     * (false, null or an array of paths) is kept for a future search index. created_at is kept
     * on replace. */
    store_rc_t (*item_put)(store_t *s, const char *scope, const json_t *ns, const char *key,
                           const json_t *value, double ttl_minutes, const json_t *index);
    /* The item, or STORE_NOT_FOUND (also when expired). refresh_ttl restarts its TTL. */
    store_rc_t (*item_get)(store_t *s, const char *scope, const json_t *ns, const char *key,
                           int refresh_ttl, json_t **out);
    store_rc_t (*item_delete)(store_t *s, const char *scope, const json_t *ns, const char *key);
    /* Live items under the prefix matching the filter: an array of items. */
    store_rc_t (*item_search)(store_t *s, const char *scope, const store_item_query_t *q,
                              json_t **out, int64_t *total);
    /* Distinct namespaces of live items: an array of arrays of strings. */
    store_rc_t (*item_namespaces)(store_t *s, const char *scope, const store_ns_query_t *q,
                                  json_t **out);

    /* ---- crons ---- */

    /* Creates a cron from `in` {cron_id?, assistant_id, thread_id?, schedule, timezone?,
     * end_time?, user_id?, payload?, next_run_date?, metadata?, enabled?, on_run_completed?}
     * (defaults: payload/metadata {}, enabled true, the rest null). STORE_CONFLICT on an
     * existing cron_id. */
    store_rc_t (*cron_create)(store_t *s, const json_t *in, json_t **out);
    store_rc_t (*cron_get)(store_t *s, const char *id, const char *owner, json_t **out);
    /* Replaces each field present in `patch` (metadata is merged; cron_id and created_at are
     * immutable); updated_at = now. */
    store_rc_t (*cron_patch)(store_t *s, const char *id, const json_t *patch, const char *owner,
                             json_t **out);
    store_rc_t (*cron_delete)(store_t *s, const char *id, const char *owner);
    store_rc_t (*cron_search)(store_t *s, const store_cron_query_t *q, const char *owner,
                              json_t **out, int64_t *total);
    store_rc_t (*cron_count)(store_t *s, const store_cron_query_t *q, const char *owner,
                             int64_t *count);
    /* Enabled crons whose next_run_date is at or before `before_us` (and whose end_time, if
     * any, is after it), earliest first, at most `limit` (<= 0: all). */
    store_rc_t (*cron_due)(store_t *s, int64_t before_us, int64_t limit, json_t **out);

    /* ---- deferred durability ---- */

    /* Calls on_durable(user, rc) once everything written up to `pos` (a store_defer_end()
     * result) is durable, or with STORE_IO when it cannot be: at once on this thread when
     * that is known already, else later from a backend thread, in position order. Exactly
     * once. NULL for a backend whose writes are always durable on return (it ignores
     * deferral, store_defer_end() returns 0). */
    void (*when_durable)(store_t *s, uint64_t pos, store_on_durable_fn on_durable, void *user);

    /* Blocks until everything written up to `pos` (a store_defer_end() result) is durable,
     * doing the sync on the calling thread when none is running (no hand-off to a backend
     * thread). STORE_OK or STORE_IO. NULL: store_wait_durable goes through when_durable. */
    store_rc_t (*wait_durable)(store_t *s, uint64_t pos);
} store_ops_t;

/* The embedded backend (store_mem.c). */
const store_ops_t *store_mem_ops(void);

/* A short factual message about the last failed store call on this thread ("" if none).
 * Borrowed; valid until the next store call on this thread. */
const char *store_last_error(void);

/* For backends: records the message store_last_error() returns and returns `rc`. */
store_rc_t store_fail(store_rc_t rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Deferred durability of the calling thread (store.c). After store_defer_begin(), mutations
 * on this thread do not wait for the disk: they return once applied and logged, and the
 * backend records the log position they reached. store_defer_end() ends the mode and returns
 * the highest such position (0: nothing waited for); hand it to ops->when_durable before
 * acknowledging anything. Not nested. Opted into by the HTTP pipeline (event loops) and exec.
 */
void store_defer_begin(void);
uint64_t store_defer_end(void);

/* For backends: 1 while the calling thread defers durability; store_defer_note(pos) records
 * that a mutation of this thread is durable once `pos` is. */
int store_defer_active(void);
void store_defer_note(uint64_t pos);

/* Blocks until everything up to `pos` is durable, through ops->wait_durable, else
 * ops->when_durable (returns STORE_OK at once for pos 0 or a backend without either). STORE_OK
 * or STORE_IO. */
store_rc_t store_wait_durable(const store_ops_t *ops, store_t *s, uint64_t pos);

/* ops->thread_get_shared / ops->checkpoint_get_shared / ops->assistant_get_shared, or the
 * copying thread_get / checkpoint_get / assistant_get of a backend without them: either way
 * *out is read only for the caller (store_ops_t above), so that the hot internal readers
 * (graph engine, run executor) work with every backend. */
store_rc_t store_assistant_get_shared(const store_ops_t *ops, store_t *s, const char *id,
                                      const char *owner, json_t **out);
store_rc_t store_thread_get_shared(const store_ops_t *ops, store_t *s, const char *id,
                                   const char *owner, json_t **out);
store_rc_t store_checkpoint_get_shared(const store_ops_t *ops, store_t *s, const char *thread_id,
                                       const char *ns, const char *checkpoint_id, json_t **out);

/* The name of a return code ("not found", ...). Static string. */
const char *store_rc_name(store_rc_t rc);

/* Backend-independent JSON helpers (store.c), shared by the backends and their tests. */

/* 1 when `haystack` contains `needle` in the jsonb `@>` sense described above (both
 * borrowed; a NULL needle is contained in anything, a NULL haystack contains only NULL). */
int store_json_contains(const json_t *haystack, const json_t *needle);

/* 1 when `obj`'s metadata.owner equals `owner`, or `owner` is NULL. `obj` borrowed. */
int store_owner_visible(const json_t *obj, const char *owner);

/* 1 when assistant `a` (borrowed) is a system assistant: metadata.created_by is "system" and
 * metadata has no "owner" member. */
int store_assistant_is_system(const json_t *a);

/* 1 when `owner` may read assistant `a` (borrowed): store_owner_visible, or a system
 * assistant. */
int store_assistant_readable(const json_t *a, const char *owner);

/* 1 when item value `value` passes store filter `filter` (both borrowed; NULL passes);
 * -1 when the filter is malformed (unknown operator, not an object). */
int store_item_filter_match(const json_t *value, const json_t *filter);

/* Formats `us` as an RFC 3339 UTC timestamp. Returns a new reference (string). */
json_t *store_json_time(int64_t us);

#endif
