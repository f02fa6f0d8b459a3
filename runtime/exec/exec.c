/*
 * runtime/exec/exec.c — runs: creation (thread and assistant resolution, multitask rules),
 * the worker pool that claims runs from the store and executes them with graph_invoke, the
 * janitor (after_seconds wake-ups, run timeouts, stream retention), cancellation, recovery at
 * start and the outcome of finished runs. The broker is in broker.c, webhooks in webhook.c.
 *
 * Decisions where the contract is silent (following the official JS server where it speaks):
 *   - A run whose graph stops at an interrupt (interrupt_before/after or a node's interrupt)
 *     ends with run status `success` and thread status `interrupted`, as the JS server does;
 *     run status `interrupted` means cancelled (action interrupt, on_disconnect cancel,
 *     multitask interrupt, shutdown); `timeout` means --run-timeout elapsed.
 *   - Thread status at creation is `busy` (JS); after a run it is `busy` while the thread has
 *     other pending/running runs, else `error` (run failed or timed out), `idle` (cancelled),
 *     `interrupted` (the latest checkpoint has `next` pending) or `idle`; thread
 *     values/interrupts are those of the latest checkpoint.
 *   - Cancelling a run that already finished is a no-op answered 0 (the JS server logs a warning
 *     and answers 200); an unknown run is 404 "Run not found".
 *   - Run config = assistant config, then the body's config, `configurable` merged key by key,
 *     plus {run_id, thread_id, graph_id, assistant_id} in configurable (JS); `context`
 *     (assistant's then the body's) is merged into configurable as well, since the engine reads
 *     configuration from there. Run metadata = the assistant's, then the thread's (with
 *     graph_id and assistant_id), then the body's (JS); metadata.owner = the caller when
 *     authenticated.
 *   - Events recorded: the run's stream_mode (default ["values"]), the union of what was asked;
 *     a join sees the modes of the run that was created.
 *   - exec_stop lets running runs finish for `grace_s`, then cancels them: they end
 *     `interrupted`. A run left `running` by a crash is ended `error` at the next start.
 *   - durability (LangGraph's, default "async" as the official server): "sync" waits for the
 *     disk at every write; "async" and "exit" run the graph and the final writes with the
 *     store deferring durability on the worker and wait once before the outcome is published;
 *     "exit" also stores only the run's last checkpoint, when it ends (graph_invoke_opts_t
 *     checkpoint_at_exit). The deprecated checkpoint_during maps onto it when durability is
 *     absent (true: async, false: exit), as LangGraph does. The claim stays durable first, so
 *     recovery still sees a crashed run as `running`; its latest checkpoints may be lost (an
 *     "exit" run all of its own), as in LangGraph.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec/exec_internal.h"
#include "graph/engine.h"
#include "graph/graph.h"
#include "util/jsoncopy.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/time.h"
#include "util/uuid.h"

#define CREATE_STRIPES 64
#define EXEC_GRACE_S 10 /* how long a non-resumable run's events stay replayable after its end */

static struct {
    exec_config_t cfg;
    const store_ops_t *ops;
    store_t *s;
    pthread_mutex_t mu;        /* wake_gen, stopping, due times, running count */
    pthread_cond_t work_cv;    /* workers wait here */
    pthread_cond_t idle_cv;    /* exec_stop waits for running == 0 */
    pthread_cond_t janitor_cv; /* the janitor's tick (and its stop) */
    uint64_t wake_gen;
    int stopping;
    int running;
    int64_t *due;              /* wall-clock µs at which delayed runs become claimable */
    size_t n_due, cap_due;
    pthread_t *workers;
    int n_workers;
    pthread_t janitor;
    int janitor_started;
    pthread_mutex_t create_mu[CREATE_STRIPES]; /* serialise multitask decisions per thread */
    int started;
} ex = {.mu = PTHREAD_MUTEX_INITIALIZER, .work_cv = PTHREAD_COND_INITIALIZER,
        .idle_cv = PTHREAD_COND_INITIALIZER, .janitor_cv = PTHREAD_COND_INITIALIZER};

const store_ops_t *exec_ops(void)
{
    return ex.ops;
}

store_t *exec_store(void)
{
    return ex.s;
}

static void set_err(exec_error_t *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fills `err` (may be NULL) with `status` and the printf-style detail. */
static void set_err(exec_error_t *err, int status, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->status = status;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
        va_end(ap);
    }
}

/* Wakes one idle worker (or all) to try claiming. */
static void wake_workers(int all)
{
    pthread_mutex_lock(&ex.mu);
    ++ex.wake_gen;
    if (all)
        pthread_cond_broadcast(&ex.work_cv);
    else
        pthread_cond_signal(&ex.work_cv);
    pthread_mutex_unlock(&ex.mu);
}

/* Remembers that a run becomes claimable at `due_us` (wall clock) so the janitor wakes the
 * workers then. */
static void add_due(int64_t due_us)
{
    pthread_mutex_lock(&ex.mu);
    if (ex.n_due == ex.cap_due) {
        size_t cap = ex.cap_due == 0 ? 8 : ex.cap_due * 2;
        int64_t *d = realloc(ex.due, cap * sizeof(*d));
        if (d == NULL) {
            pthread_mutex_unlock(&ex.mu);
            log_error("out of memory recording a delayed run; it starts with the next wake-up");
            return;
        }
        ex.due = d;
        ex.cap_due = cap;
    }
    ex.due[ex.n_due++] = due_us;
    pthread_mutex_unlock(&ex.mu);
}

/* ------------------------------------------------------------------------------------------ */
/* Stream modes                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* The GRAPH_STREAM_* | EXEC_WIRE_* bits of a stream_mode value (string, array or NULL =
 * ["values"]). Unknown names are ignored (the validator rejected them already). */
static unsigned modes_of(const json_t *sm)
{
    unsigned bits = 0;
    size_t i, n = json_is_array(sm) ? json_array_size(sm) : 1;

    if (sm == NULL || json_is_null(sm) || (json_is_array(sm) && n == 0))
        return GRAPH_STREAM_VALUES;
    for (i = 0; i != n; ++i) {
        const char *m = json_string_value(json_is_array(sm) ? json_array_get(sm, i) : sm);
        if (m == NULL)
            continue;
        if (strcmp(m, "messages-tuple") == 0)
            bits |= EXEC_WIRE_MESSAGES_TUPLE | GRAPH_STREAM_MESSAGES;
        else if (strcmp(m, "messages") == 0)
            bits |= EXEC_WIRE_MESSAGES_FULL | GRAPH_STREAM_MESSAGES;
        else
            bits |= graph_stream_mode_bit(m);
    }
    return bits;
}

/* What a run's record keeps: modes_of(stream_mode) plus EXEC_WIRE_RESUMABLE when
 * `resumable` (borrowed, may be NULL) is true. */
static unsigned record_modes(const json_t *stream_mode, const json_t *resumable)
{
    return modes_of(stream_mode) | (json_is_true(resumable) ? EXEC_WIRE_RESUMABLE : 0u);
}

/* A stream_mode value as an array of strings (new reference; ["values"] by default; a
 * non-empty array is `sm` itself). */
static json_t *modes_array(const json_t *sm)
{
    if (json_is_string(sm))
        return json_pack("[O]", sm);
    if (json_is_array(sm) && json_array_size(sm) > 0)
        return json_incref((json_t *)sm);
    return json_pack("[s]", "values");
}

/* Concatenates the string `key` of `add` onto `acc` (both objects). */
static void concat_key(json_t *acc, const json_t *add, const char *key)
{
    const char *a = json_string_value(json_object_get(acc, key));
    const char *b = json_string_value(json_object_get(add, key));
    char *s;

    if (b == NULL)
        return;
    if (a == NULL) {
        json_object_set_new(acc, key, json_string(b));
        return;
    }
    s = malloc(strlen(a) + strlen(b) + 1);
    if (s == NULL)
        return;
    strcpy(s, a);
    strcat(s, b);
    json_object_set_new(acc, key, json_string(s));
    free(s);
}

/* Merges message chunk `c` into the accumulated message `acc` as LangChain's chunk addition
 * does for the parts clients read: content strings concatenate, tool_call_chunks append (args
 * of the same index concatenate), other non-empty fields take the latest value. */
static void accumulate(json_t *acc, const json_t *c)
{
    const char *k;
    json_t *v;

    json_object_foreach((json_t *)c, k, v) {
        if (strcmp(k, "content") == 0 && json_is_string(v) && json_is_string(json_object_get(acc, k))) {
            concat_key(acc, c, k);
        } else if (strcmp(k, "tool_call_chunks") == 0 && json_is_array(v)) {
            json_t *list = json_object_get(acc, k);
            size_t i, j;
            json_t *tc;
            if (!json_is_array(list)) {
                json_object_set_new(acc, k, jsoncopy_containers(v));
                continue;
            }
            json_array_foreach(v, i, tc) {
                json_t *idx = json_object_get(tc, "index"), *old = NULL, *o;
                json_array_foreach(list, j, o) if (idx != NULL && json_equal(json_object_get(o, "index"), idx)) old = o;
                if (old == NULL) {
                    json_array_append_new(list, jsoncopy_containers(tc));
                    continue;
                }
                concat_key(old, tc, "args");
                if (json_string_length(json_object_get(tc, "name")) > 0)
                    json_object_set(old, "name", json_object_get(tc, "name"));
                if (json_string_length(json_object_get(tc, "id")) > 0)
                    json_object_set(old, "id", json_object_get(tc, "id"));
            }
        } else if (!(json_is_string(v) && json_string_length(v) == 0) &&
                   !(json_is_array(v) && json_array_size(v) == 0) &&
                   !(json_is_object(v) && json_object_size(v) == 0)) {
            json_object_set_new(acc, k, jsoncopy_containers(v));
        } else if (json_object_get(acc, k) == NULL) {
            json_object_set_new(acc, k, jsoncopy_containers(v));
        }
    }
}

/* The event name for `mode` in namespace `ns` (array of strings or NULL): "mode" at the root,
 * "mode|a|b" below. Writes into buf; returns 0, or -1 when the event is not to be recorded
 * (a subgraph event without stream_subgraphs). */
static int event_name(const exec_run_t *r, const char *mode, const json_t *ns, char *buf, size_t len)
{
    size_t i, off;
    json_t *p;

    off = strlen(mode);
    if (off >= len)
        off = len - 1;
    memcpy(buf, mode, off);
    buf[off] = '\0';
    if (!json_is_array(ns) || json_array_size(ns) == 0)
        return 0;
    if (!r->subgraphs)
        return -1;
    json_array_foreach(ns, i, p) if (off < len) off += (size_t)snprintf(buf + off, len - off, "|%s", json_string_value(p) ?: "");
    return 0;
}

/* Raises the cancel flag of `r` with `why` unless another reason was recorded first. */
static void cancel_record_flag(exec_run_t *r, exec_cancel_why_t why)
{
    int expected = EXEC_CANCEL_NONE;

    atomic_compare_exchange_strong(&r->cancel_why, &expected, (int)why);
    atomic_store(&r->cancel, 1);
}

/* messages mode: a node's writes (an `updates` event, borrowed) hold the final form of the
 * messages it streamed as chunks; each becomes `messages/complete` [message]. */
static void complete_streamed(exec_run_t *r, const json_t *ns, const json_t *update)
{
    const char *node, *chan;
    json_t *writes, *v, *m;
    char name[256];
    size_t i;

    if (event_name(r, "messages/complete", ns, name, sizeof(name)) != 0)
        return;
    json_object_foreach((json_t *)update, node, writes) {
        json_object_foreach(writes, chan, v) {
            size_t n = json_is_array(v) ? json_array_size(v) : 1;
            for (i = 0; i != n; ++i) {
                const char *id;
                json_t *out;
                m = json_is_array(v) ? json_array_get(v, i) : v;
                id = json_string_value(json_object_get(m, "id"));
                if (id == NULL || !json_is_string(json_object_get(m, "type")) ||
                    json_object_get(r->msg_seen, id) == NULL)
                    continue;
                json_object_set_new(r->msg_seen, id, jsoncopy_containers(m));
                out = json_pack("[O]", m);
                if (out != NULL)
                    exec_broker_publish(r, name, out);
                json_decref(out);
            }
        }
    }
}

/* Frees what only the worker uses while the graph streams (the messages accumulated for
 * messages mode, the serialised tuple metadata) once the graph returned: the record itself
 * stays for the retention window, and these would hold a copy of every message meanwhile. */
static void release_stream_state(exec_run_t *r)
{
    json_decref(r->msg_seen);
    r->msg_seen = NULL;
    json_decref(r->tuple_meta);
    r->tuple_meta = NULL;
    free(r->tuple_meta_text);
    r->tuple_meta_text = NULL;
}

/* Publishes the messages-tuple event [chunk, metadata] of chunk text `chunk` (`len` bytes) and
 * metadata object `meta` (borrowed). A node's chunks share one metadata object, which the
 * engine never changes once streamed (engine.h), so its text is written once and reused while
 * the same object comes back. Returns 0, or -1 when out of memory (nothing published). */
static int publish_tuple_text(exec_run_t *r, const char *name, const char *chunk, size_t len,
                              const json_t *meta)
{
    exec_text_t parts[5] = {{"[", 1}, {chunk, len}, {",", 1}, {NULL, 0}, {"]", 1}};

    if (meta != r->tuple_meta) {
        free(r->tuple_meta_text);
        json_decref(r->tuple_meta);
        r->tuple_meta = json_incref((json_t *)meta);
        r->tuple_meta_text = jsonw_dumps(meta, &r->tuple_meta_len);
    }
    if (r->tuple_meta_text == NULL)
        return -1;
    parts[3] = (exec_text_t){r->tuple_meta_text, r->tuple_meta_len};
    exec_broker_publish_parts(r, name, parts, 5);
    return 0;
}

/* Publishes a messages-tuple event [chunk, metadata] (`data` borrowed), through
 * publish_tuple_text when it has that form. */
static void publish_tuple(exec_run_t *r, const char *name, const json_t *data)
{
    const json_t *meta = json_array_get(data, 1);
    jsonw_buf_t b = {0};

    if (json_array_size(data) != 2 || !json_is_object(meta) ||
        jsonw_append(&b, json_array_get(data, 0)) != 0 ||
        publish_tuple_text(r, name, b.data, b.len, meta) != 0)
        exec_broker_publish(r, name, data); /* says why it failed */
    jsonw_buf_free(&b);
}

/* The engine's on_message_text: a messages-mode chunk as text (engine.h). Only the
 * messages-tuple wire mode takes it as text; messages (messages/partial) accumulates objects. */
static int on_message_text(void *user, const json_t *ns, const char *chunk, size_t len,
                           const json_t *meta)
{
    exec_run_t *r = user;
    char name[256];

    if ((r->modes & EXEC_WIRE_MESSAGES_FULL) || !json_is_object(meta))
        return -1;
    if ((r->modes & EXEC_WIRE_MESSAGES_TUPLE) && event_name(r, "messages", ns, name, sizeof(name)) == 0 &&
        publish_tuple_text(r, name, chunk, len, meta) != 0)
        return -1;
    return 0;
}

/* The engine's on_event: maps engine modes onto wire events (file comment of exec.h). */
static void on_event(void *user, const char *mode, const json_t *ns, json_t *data)
{
    exec_run_t *r = user;
    char name[256];

    if (strcmp(mode, "updates") == 0 && (r->modes & EXEC_WIRE_MESSAGES_FULL))
        complete_streamed(r, ns, data);
    if (strcmp(mode, "messages") != 0) {
        /* events records are one flat astream_events stream, subgraphs included (their
         * parent_ids place them), as the official server sends them */
        if ((strcmp(mode, "updates") != 0 || (r->modes & GRAPH_STREAM_UPDATES)) &&
            event_name(r, mode, strcmp(mode, "events") == 0 ? NULL : ns, name, sizeof(name)) == 0)
            exec_broker_publish(r, name, data);
        return;
    }
    if ((r->modes & EXEC_WIRE_MESSAGES_TUPLE) && event_name(r, "messages", ns, name, sizeof(name)) == 0)
        publish_tuple(r, name, data);
    if (r->modes & EXEC_WIRE_MESSAGES_FULL) {
        json_t *msg = json_array_get(data, 0), *meta = json_array_get(data, 1), *acc, *out;
        const char *id = json_string_value(json_object_get(msg, "id"));
        const char *type = json_string_value(json_object_get(msg, "type"));
        int chunk = json_object_get(msg, "tool_call_chunks") != NULL ||
                    (type != NULL && strstr(type, "Chunk") != NULL);
        if (!json_is_object(msg))
            return;
        acc = id != NULL ? json_object_get(r->msg_seen, id) : NULL;
        if (id != NULL && acc == NULL) {
            out = json_pack("{s:{s:O}}", id, "metadata", meta != NULL ? meta : json_null());
            if (out != NULL && event_name(r, "messages/metadata", ns, name, sizeof(name)) == 0)
                exec_broker_publish(r, name, out);
            json_decref(out);
        }
        if (chunk || acc != NULL) {
            if (acc == NULL) {
                acc = jsoncopy_containers(msg);
                if (id != NULL)
                    json_object_set_new(r->msg_seen, id, acc);
            } else {
                accumulate(acc, msg);
            }
            out = json_pack("[O]", acc);
            if (id == NULL)
                json_decref(acc);
            if (out != NULL && event_name(r, "messages/partial", ns, name, sizeof(name)) == 0)
                exec_broker_publish(r, name, out);
        } else {
            if (id != NULL)
                json_object_set_new(r->msg_seen, id, jsoncopy_containers(msg));
            out = json_pack("[O]", msg);
            if (out != NULL && event_name(r, "messages/complete", ns, name, sizeof(name)) == 0)
                exec_broker_publish(r, name, out);
        }
        json_decref(out);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Executing a run                                                                            */
/* ------------------------------------------------------------------------------------------ */

static size_t stripe_of(const char *id);

/* How a run left its thread. */
enum run_outcome { OUTCOME_DONE = 0, OUTCOME_FAILED, OUTCOME_CANCELLED };

/* Patches the thread after a run: values and interrupts of the latest checkpoint, and status
 * `busy` while other runs wait, else `error` for a failed run, `idle` for a cancelled one,
 * `interrupted` when the latest checkpoint has work pending (`next`: an interrupt, as the
 * official server decides), else `idle`. The caller holds the thread's create stripe (so a
 * run being created is either seen or not yet marked busy). */
static void finish_thread_locked(const char *thread_id, int outcome)
{
    json_t *cp = NULL, *active = NULL, *patch = NULL, *intr, *values;
    const char *status;
    store_rc_t prc;

    /* read only: its values become the thread's (thread_patch may keep them, store.h) */
    if (store_checkpoint_get_shared(ex.ops, ex.s, thread_id, NULL, NULL, &cp) != STORE_OK)
        cp = NULL;
    intr = cp != NULL ? graph_checkpoint_interrupts(cp) : json_object();
    if (ex.ops->run_active(ex.s, thread_id, &active) == STORE_OK && json_array_size(active) > 0)
        status = "busy";
    else if (outcome == OUTCOME_FAILED)
        status = "error";
    else if (outcome != OUTCOME_CANCELLED &&
             (json_object_size(intr) > 0 || json_array_size(json_object_get(cp, "next")) > 0))
        status = "interrupted";
    else
        status = "idle";
    values = json_object_get(cp, "values") != NULL ? json_incref(json_object_get(cp, "values")) : json_object();
    patch = json_pack("{s:s, s:o, s:o}", "status", status, "values", values, "interrupts",
                      intr != NULL ? intr : json_object());
    /* a thread deleted meanwhile (exec_thread_delete) has nothing left to record */
    if (patch == NULL || ((prc = ex.ops->thread_patch(ex.s, thread_id, patch, NULL, NULL)) != STORE_OK &&
                          prc != STORE_NOT_FOUND))
        log_warn("thread %s: cannot record the end of a run: %s", thread_id, store_last_error());
    json_decref(patch);
    json_decref(active);
    json_decref(cp);
}

/* finish_thread_locked, taking the thread's create stripe. */
static void finish_thread(const char *thread_id, int outcome)
{
    pthread_mutex_t *mu = &ex.create_mu[stripe_of(thread_id)];

    pthread_mutex_lock(mu);
    finish_thread_locked(thread_id, outcome);
    pthread_mutex_unlock(mu);
}

/* The webhook payload: the run with its final status, times, values and error (JS shape). */
static void post_webhook(const json_t *run, const char *url, const char *status, int64_t started_us,
                         const json_t *values, const char *error)
{
    json_t *p = jsoncopy_containers(run);

    if (p == NULL)
        return;
    json_object_set_new(p, "status", json_string(status));
    json_object_set_new(p, "run_started_at", store_json_time(started_us));
    json_object_set_new(p, "run_ended_at", store_json_time(time_now_us()));
    json_object_set_new(p, "webhook_sent_at", store_json_time(time_now_us()));
    json_object_set_new(p, "values", values != NULL ? jsoncopy_containers(values) : json_null());
    if (error != NULL)
        json_object_set_new(p, "error", json_string(error));
    exec_webhook_post(url, p);
}

/* 1 when the run's durability (kwargs `kw`, borrowed) is `mode`: "sync" (each write durable
 * before the next step), "async" (the default, as the official server) or "exit". */
static int durability_is(const json_t *kw, const char *mode)
{
    const char *d = json_string_value(json_object_get(kw, "durability"));

    return strcmp(d != NULL ? d : "async", mode) == 0;
}

/* The config the graph of run `r` sees: `stored` (the run's kwargs.config, borrowed) with
 * r's credential, if any, in configurable[EXEC_TOKEN_KEY]; the credential is taken from r
 * (freed: nothing else reads it). Returns a new reference, or NULL for none or out of memory. */
static json_t *graph_config(exec_run_t *r, const json_t *stored)
{
    json_t *cfg = NULL, *conf;

    if (r->token == NULL || (cfg = json_is_object(stored) ? jsoncopy_containers(stored) : json_object()) == NULL)
        goto Exit;
    conf = json_object_get(cfg, "configurable");
    if ((!json_is_object(conf) && json_object_set_new(cfg, "configurable", conf = json_object()) != 0) ||
        json_object_set_new(conf, EXEC_TOKEN_KEY, json_string(r->token)) != 0) {
        json_decref(cfg);
        cfg = NULL;
    }
Exit:
    free(r->token);
    r->token = NULL;
    return cfg;
}

/* Runs claimed run `run` (borrowed, read only: it may be the stored object, see run_claim in
 * store.h; the graph gets its members as borrowed inputs) to its end. `claim_pos` is the log position of its claim,
 * written deferred (0: nothing to wait for). Unless the run asked for durability "sync", its
 * writes (checkpoints, final status, thread patch), like its claim, do not wait for the disk
 * one by one: they run under store_defer_begin and the run waits once, before any of its
 * outcome (error event, end of the stream, /wait and join answers, webhook) becomes visible.
 * A "sync" run waits for its claim before its graph starts. A failed wait ends the run
 * `error`. */
static void execute(const json_t *run, uint64_t claim_pos)
{
    const char *run_id = json_string_value(json_object_get(run, "run_id"));
    const char *thread_id = json_string_value(json_object_get(run, "thread_id"));
    const char *assistant_id = json_string_value(json_object_get(run, "assistant_id"));
    json_t *kw = json_object_get(run, "kwargs"), *assistant = NULL, *result = NULL, *err_obj = NULL, *config = NULL;
    const char *webhook = json_string_value(json_object_get(kw, "webhook"));
    const char *status = "error", *err_name = NULL, *err_msg = NULL;
    int temporary = json_is_true(json_object_get(kw, "temporary")), deleted = 0, failed = 0;
    int deferred = !durability_is(kw, "sync");
    graph_result_t res = {0};
    exec_run_t *r = exec_run_find(run_id);
    int64_t started_us = time_now_us();
    const graph_t *g = NULL;
    char msg[512];
    store_rc_t src;
    uint64_t end_pos;
    int why;

    if (r == NULL)
        r = exec_run_register(run_id, thread_id,
                              json_string_value(json_object_get(json_object_get(run, "metadata"), "owner")),
                              record_modes(json_object_get(kw, "stream_mode"), json_object_get(kw, "resumable")),
                              json_is_true(json_object_get(kw, "stream_subgraphs")));
    if (r == NULL) {
        log_error("run %s: out of memory; ended as error", run_id);
        ex.ops->run_set_status(ex.s, run_id, "error", NULL, NULL);
        finish_thread(thread_id, OUTCOME_FAILED);
        return;
    }
    config = graph_config(r, json_object_get(kw, "config"));
    atomic_store(&r->started_mono_us, time_mono_us());
    atomic_store(&r->running, 1);
    pthread_mutex_lock(&ex.mu);
    if (ex.stopping) /* exec_stop may have looked before this run was marked running */
        cancel_record_flag(r, EXEC_CANCEL_SHUTDOWN);
    pthread_mutex_unlock(&ex.mu);
    if (deferred)
        store_defer_begin();
    if (!deferred && store_wait_durable(ex.ops, ex.s, claim_pos) != STORE_OK) {
        err_name = "StoreError", err_msg = "the run's claim could not be made durable (the disk failed)";
    } else if (store_assistant_get_shared(ex.ops, ex.s, assistant_id, NULL, &assistant) != STORE_OK) {
        snprintf(msg, sizeof(msg), "assistant %s not found", assistant_id);
        err_name = "ValueError", err_msg = msg;
    } else if ((g = graph_find(json_string_value(json_object_get(assistant, "graph_id")))) == NULL) {
        snprintf(msg, sizeof(msg), "graph %s of assistant %s is not registered",
                 json_string_value(json_object_get(assistant, "graph_id")) ?: "?", assistant_id);
        err_name = "ValueError", err_msg = msg;
    } else {
        const json_t *cp = json_object_get(kw, "checkpoint");
        graph_invoke_opts_t o = {
            .store_ops = ex.ops,
            .store = ex.s,
            .thread_id = thread_id,
            .run_id = run_id,
            .assistant_id = assistant_id,
            .input = json_object_get(kw, "input"),
            .command = json_is_object(json_object_get(kw, "command")) ? json_object_get(kw, "command") : NULL,
            .config = config != NULL ? config : json_object_get(kw, "config"),
            .metadata = json_object_get(run, "metadata"),
            .checkpoint_id = json_string_value(json_object_get(kw, "checkpoint_id"))
                                 ?: json_string_value(json_object_get(cp, "checkpoint_id")),
            .interrupt_before = json_object_get(kw, "interrupt_before"),
            .interrupt_after = json_object_get(kw, "interrupt_after"),
            /* messages mode also reads the nodes' writes for messages/complete */
            .stream_modes = (r->modes & 0xffffu) | (r->modes & EXEC_WIRE_MESSAGES_FULL ? GRAPH_STREAM_UPDATES : 0u),
            .on_event = on_event,
            .on_message_text = on_message_text,
            .user = r,
            .cancel = &r->cancel,
            .checkpoint_at_exit = durability_is(kw, "exit"),
        };
        graph_invoke(g, &o, &res);
        if (res.status == GRAPH_STATUS_ERROR)
            err_name = res.error_name ?: "Error", err_msg = res.error ?: "the run failed";
    }
    why = atomic_load(&r->cancel_why);
    if (err_msg != NULL && !(res.status == GRAPH_STATUS_CANCELLED)) {
        status = "error";
        failed = 1;
    } else if (res.status == GRAPH_STATUS_CANCELLED || why != EXEC_CANCEL_NONE) {
        err_name = err_msg = NULL;
        if (why == EXEC_CANCEL_TIMEOUT) {
            snprintf(msg, sizeof(msg), "Run timed out after %d seconds", ex.cfg.run_timeout_s);
            err_name = "TimeoutError", err_msg = msg;
            status = "timeout";
            failed = 1;
        } else {
            status = "interrupted";
        }
        if (why == EXEC_CANCEL_ROLLBACK) {
            if (ex.ops->checkpoint_delete(ex.s, thread_id, run_id, NULL) != STORE_OK ||
                ex.ops->run_delete(ex.s, NULL, run_id, NULL) != STORE_OK)
                log_warn("run %s: rollback failed: %s", run_id, store_last_error());
            deleted = 1;
        }
    } else {
        status = "success";
    }
    /* not found: the run went with its thread (exec_thread_delete) */
    if (!deleted && (src = ex.ops->run_set_status(ex.s, run_id, status, NULL, NULL)) != STORE_OK &&
        src != STORE_NOT_FOUND)
        log_warn("run %s: cannot record status %s: %s", run_id, status, store_last_error());
    if (temporary) {
        if (ex.ops->thread_delete(ex.s, thread_id, NULL) != STORE_OK)
            log_warn("temporary thread %s: cannot delete it: %s", thread_id, store_last_error());
    } else {
        finish_thread(thread_id, failed ? OUTCOME_FAILED : strcmp(status, "success") != 0 ? OUTCOME_CANCELLED
                                                                                          : OUTCOME_DONE);
    }
    end_pos = deferred ? store_defer_end() : 0;
    if (deferred && store_wait_durable(ex.ops, ex.s, end_pos > claim_pos ? end_pos : claim_pos) != STORE_OK) {
        log_error("run %s: %s; ended as error", run_id, store_last_error());
        err_name = "StoreError", err_msg = "the run's writes could not be made durable (the disk failed)";
        status = "error";
    }
    if (err_msg != NULL) {
        json_t *ev = json_pack("{s:s, s:s}", "error", err_name, "message", err_msg);
        exec_broker_publish(r, "error", ev);
        json_decref(ev);
        err_obj = json_pack("{s:{s:s, s:s}}", "__error__", "error", err_name, "message", err_msg);
    }
    result = err_obj != NULL ? err_obj : res.values != NULL ? json_incref(res.values) : json_object();
    if (webhook != NULL && !deleted)
        post_webhook(run, webhook, status, started_us, res.values, err_msg);
    atomic_store(&r->running, 0);
    release_stream_state(r);
    exec_broker_end(r, status, result);
    exec_run_unref(r);
    graph_result_clear(&res);
    json_decref(assistant);
    json_decref(config);
}

static void *worker_main(void *arg)
{
    (void)arg;
    for (;;) {
        json_t *run = NULL;
        uint64_t gen, claim_pos;
        store_rc_t rc;

        pthread_mutex_lock(&ex.mu);
        if (ex.stopping) {
            pthread_mutex_unlock(&ex.mu);
            break;
        }
        gen = ex.wake_gen;
        pthread_mutex_unlock(&ex.mu);
        /* the claim reaches the disk with the run's first wait (execute), so the graph does
         * not wait for a sync before it starts */
        store_defer_begin();
        rc = ex.ops->run_claim(ex.s, time_now_us(), &run);
        claim_pos = store_defer_end();
        if (rc == STORE_OK) {
            pthread_mutex_lock(&ex.mu);
            ++ex.running;
            pthread_mutex_unlock(&ex.mu);
            /* no other worker is woken here: whatever makes a run claimable wakes one already
             * (a creation signals one per run, due runs wake all, a run's end leaves its own
             * worker claiming again), and a worker woken for nothing costs two switches */
            execute(run, claim_pos);
            json_decref(run);
            pthread_mutex_lock(&ex.mu);
            if (--ex.running == 0)
                pthread_cond_broadcast(&ex.idle_cv);
            pthread_mutex_unlock(&ex.mu);
            continue;
        }
        if (rc != STORE_NOT_FOUND)
            log_error("claiming a run failed: %s", store_last_error());
        pthread_mutex_lock(&ex.mu);
        while (!ex.stopping && ex.wake_gen == gen)
            pthread_cond_wait(&ex.work_cv, &ex.mu);
        pthread_mutex_unlock(&ex.mu);
    }
    return NULL;
}

/* Janitor: raises the timeout flag of runs running too long. */
static void check_timeout(exec_run_t *r, void *user)
{
    int64_t now = *(int64_t *)user;

    if (atomic_load(&r->running) &&
        now - atomic_load(&r->started_mono_us) >= (int64_t)ex.cfg.run_timeout_s * 1000000 &&
        atomic_load(&r->cancel_why) == EXEC_CANCEL_NONE)
        cancel_record_flag(r, EXEC_CANCEL_TIMEOUT);
}

/* The janitor: every 200 ms it wakes workers for runs that became due and (with a run timeout)
 * cancels runs past it; at most once a second it reaps the registry (retention and grace are
 * whole seconds). Both registry passes visit every record, and the registry holds every run of
 * the retention window, so they are done no more often than their purpose needs. */
static void *janitor_main(void *arg)
{
    int64_t reaped_us = 0;

    (void)arg;
    pthread_mutex_lock(&ex.mu);
    while (!ex.stopping) {
        struct timespec until;
        int64_t now = time_now_us(), mono;
        size_t i, kept = 0;
        int due = 0;

        for (i = 0; i != ex.n_due; ++i) {
            if (ex.due[i] <= now)
                due = 1;
            else
                ex.due[kept++] = ex.due[i];
        }
        ex.n_due = kept;
        if (due) {
            ++ex.wake_gen;
            pthread_cond_broadcast(&ex.work_cv);
        }
        pthread_mutex_unlock(&ex.mu);
        mono = time_mono_us();
        if (ex.cfg.run_timeout_s > 0)
            exec_registry_foreach(check_timeout, &mono);
        if (mono - reaped_us >= 1000000) {
            exec_registry_reap(mono, (int64_t)ex.cfg.retention_s * 1000000,
                               (int64_t)(ex.cfg.retention_s < EXEC_GRACE_S ? ex.cfg.retention_s : EXEC_GRACE_S) *
                                   1000000);
            reaped_us = mono;
        }
        pthread_mutex_lock(&ex.mu);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec += 1;
            until.tv_nsec -= 1000000000L;
        }
        if (!ex.stopping)
            pthread_cond_timedwait(&ex.janitor_cv, &ex.mu, &until);
    }
    pthread_mutex_unlock(&ex.mu);
    return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* At start: pending runs get their records (they are claimed as usual); running ones failed. */
static int recover(void)
{
    json_t *active = NULL, *run;
    size_t i;

    if (ex.ops->run_active(ex.s, NULL, &active) != STORE_OK) {
        log_error("cannot list the runs to recover: %s", store_last_error());
        return -1;
    }
    json_array_foreach(active, i, run) {
        const char *id = json_string_value(json_object_get(run, "run_id"));
        const char *tid = json_string_value(json_object_get(run, "thread_id"));
        json_t *kw = json_object_get(run, "kwargs");
        if (strcmp(json_string_value(json_object_get(run, "status")) ?: "", "running") == 0) {
            log_warn("run %s was running when the server stopped; marked error", id);
            ex.ops->run_set_status(ex.s, id, "error", NULL, NULL);
            finish_thread(tid, OUTCOME_FAILED);
            continue;
        }
        exec_run_t *r = exec_run_register(id, tid,
                                          json_string_value(json_object_get(json_object_get(run, "metadata"), "owner")),
                                          record_modes(json_object_get(kw, "stream_mode"), json_object_get(kw, "resumable")),
                                          json_is_true(json_object_get(kw, "stream_subgraphs")));
        exec_run_unref(r);
        if (json_number_value(json_object_get(kw, "after_seconds")) > 0) {
            int64_t created;
            if (time_parse_rfc3339(json_string_value(json_object_get(run, "created_at")) ?: "", &created, NULL) == 0)
                add_due(created + (int64_t)(json_number_value(json_object_get(kw, "after_seconds")) * 1e6));
        }
    }
    if (json_array_size(active) > 0)
        log_info("recovered %zu run(s) left by the previous process", json_array_size(active));
    json_decref(active);
    return 0;
}

int exec_start(const exec_config_t *cfg, const store_ops_t *ops, store_t *s)
{
    int i;
    long cores;

    if (ex.started || cfg == NULL || ops == NULL || s == NULL) {
        log_error("exec_start: %s", ex.started ? "already started" : "missing configuration or store");
        return -1;
    }
    ex.cfg = *cfg;
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (ex.cfg.workers <= 0)
        ex.cfg.workers = cores < 1 ? 10 : cores > 102 ? 1024 : (int)cores * 10;
    if (ex.cfg.retention_s <= 0)
        ex.cfg.retention_s = 300;
    exec_broker_set_limit(ex.cfg.retention_events);
    ex.ops = ops;
    ex.s = s;
    ex.stopping = 0;
    ex.wake_gen = 0;
    ex.running = 0;
    for (i = 0; i != CREATE_STRIPES; ++i)
        pthread_mutex_init(&ex.create_mu[i], NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    ex.started = 1;
    if (recover() != 0 || exec_webhook_start(cfg->webhook_timeout_s, cfg->webhook_retries) != 0)
        goto Fail;
    ex.workers = calloc((size_t)ex.cfg.workers, sizeof(*ex.workers));
    if (ex.workers == NULL)
        goto Fail;
    for (i = 0; i != ex.cfg.workers; ++i) {
        if (pthread_create(&ex.workers[i], NULL, worker_main, NULL) != 0)
            goto Fail;
        ex.n_workers = i + 1;
    }
    if (pthread_create(&ex.janitor, NULL, janitor_main, NULL) != 0)
        goto Fail;
    ex.janitor_started = 1;
    return 0;
Fail:
    log_error("cannot start the run executor");
    exec_stop(0);
    return -1;
}

static void cancel_running(exec_run_t *r, void *user)
{
    (void)user;
    if (atomic_load(&r->running))
        cancel_record_flag(r, EXEC_CANCEL_SHUTDOWN);
}

void exec_stop(int grace_s)
{
    struct timespec until;
    int i;

    if (!ex.started)
        return;
    pthread_mutex_lock(&ex.mu);
    ex.stopping = 1;
    pthread_cond_broadcast(&ex.work_cv);
    pthread_cond_broadcast(&ex.janitor_cv);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += grace_s > 0 ? grace_s : 0;
    while (ex.running > 0 && grace_s > 0)
        if (pthread_cond_timedwait(&ex.idle_cv, &ex.mu, &until) != 0)
            break;
    pthread_mutex_unlock(&ex.mu);
    exec_registry_foreach(cancel_running, NULL);
    for (i = 0; i != ex.n_workers; ++i)
        pthread_join(ex.workers[i], NULL);
    if (ex.janitor_started)
        pthread_join(ex.janitor, NULL);
    exec_webhook_stop();
    exec_registry_clear();
    free(ex.workers);
    free(ex.due);
    for (i = 0; i != CREATE_STRIPES; ++i)
        pthread_mutex_destroy(&ex.create_mu[i]);
    ex.workers = NULL;
    ex.due = NULL;
    ex.n_due = ex.cap_due = 0;
    ex.n_workers = 0;
    ex.janitor_started = 0;
    ex.ops = NULL;
    ex.s = NULL;
    ex.started = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Cancel                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* Cancels run `run` (borrowed, as stored) with `why`: a pending run is ended (or deleted on
 * rollback) at once, a running one gets its flag raised; a finished one is left alone.
 * `locked`: the caller holds the thread's create stripe. */
static void cancel_run_obj(const json_t *run, exec_cancel_why_t why, int locked)
{
    const char *run_id = json_string_value(json_object_get(run, "run_id"));
    const char *thread_id = json_string_value(json_object_get(run, "thread_id"));
    const char *status = json_string_value(json_object_get(run, "status")) ?: "";
    exec_run_t *r = exec_run_find(run_id);

    if (strcmp(status, "pending") != 0 && strcmp(status, "running") != 0)
        goto Exit;
    if (r != NULL)
        cancel_record_flag(r, why);
    if (strcmp(status, "pending") == 0) {
        store_rc_t rc = why == EXEC_CANCEL_ROLLBACK ? ex.ops->run_delete(ex.s, NULL, run_id, NULL)
                                                     : ex.ops->run_set_status(ex.s, run_id, "interrupted", NULL, NULL);
        if (rc != STORE_OK)
            log_warn("run %s: cannot cancel it: %s", run_id, store_last_error());
        if (r != NULL && !atomic_load(&r->running)) {
            json_t *cp = NULL;
            json_t *values = store_checkpoint_get_shared(ex.ops, ex.s, thread_id, NULL, NULL, &cp) == STORE_OK &&
                                     json_object_get(cp, "values") != NULL
                                 ? json_incref(json_object_get(cp, "values"))
                                 : json_object();
            json_decref(cp);
            exec_broker_end(r, "interrupted", values);
        }
        (locked ? finish_thread_locked : finish_thread)(thread_id, OUTCOME_CANCELLED);
    } else if (r == NULL) {
        ex.ops->run_set_status(ex.s, run_id, "interrupted", NULL, NULL);
        (locked ? finish_thread_locked : finish_thread)(thread_id, OUTCOME_CANCELLED);
    }
Exit:
    exec_run_unref(r);
}

void exec_cancel_record(exec_run_t *r, exec_cancel_why_t why)
{
    json_t *run = NULL;

    if (ex.ops == NULL || ex.ops->run_get(ex.s, NULL, r->run_id, NULL, &run) != STORE_OK)
        return;
    cancel_run_obj(run, why, 0);
    json_decref(run);
}

/* Reads a cancel `action` (NULL: interrupt) into *why. Returns 0, or -1 with err 422. */
static int cancel_action(const char *action, exec_cancel_why_t *why, exec_error_t *err)
{
    if (action == NULL || strcmp(action, "interrupt") == 0) {
        *why = EXEC_CANCEL_INTERRUPT;
        return 0;
    }
    if (strcmp(action, "rollback") == 0) {
        *why = EXEC_CANCEL_ROLLBACK;
        return 0;
    }
    set_err(err, 422, "action: expected interrupt or rollback, got %s", action);
    return -1;
}

int exec_run_cancel(const char *thread_id, const char *run_id, const char *action,
                    const char *owner, exec_error_t *err)
{
    json_t *run = NULL;
    exec_cancel_why_t why = EXEC_CANCEL_INTERRUPT;

    if (ex.ops == NULL) {
        set_err(err, 503, "the run executor is not running");
        return -1;
    }
    if (cancel_action(action, &why, err) != 0)
        return -1;
    if (run_id == NULL || ex.ops->run_get(ex.s, thread_id, run_id, owner, &run) != STORE_OK) {
        set_err(err, 404, "Run not found");
        return -1;
    }
    cancel_run_obj(run, why, 0);
    json_decref(run);
    return 0;
}

int exec_thread_cancel(const char *thread_id, const char *action, const char *owner, exec_error_t *err)
{
    exec_cancel_why_t why = EXEC_CANCEL_INTERRUPT;
    json_t *thread = NULL, *active = NULL, *run;
    int n = -1;
    size_t i;

    if (ex.ops == NULL) {
        set_err(err, 503, "the run executor is not running");
        return -1;
    }
    if (cancel_action(action, &why, err) != 0)
        return -1;
    if (thread_id == NULL || store_thread_get_shared(ex.ops, ex.s, thread_id, owner, &thread) != STORE_OK) {
        set_err(err, 404, "Thread %s not found", thread_id != NULL ? thread_id : "(null)");
        goto Exit;
    }
    if (ex.ops->run_active(ex.s, thread_id, &active) != STORE_OK) {
        set_err(err, 500, "cannot read the thread's runs: %s", store_last_error());
        goto Exit;
    }
    json_array_foreach(active, i, run) cancel_run_obj(run, why, 0);
    n = (int)json_array_size(active);
Exit:
    json_decref(thread);
    json_decref(active);
    return n;
}

store_rc_t exec_thread_delete(const char *thread_id, const char *owner)
{
    pthread_mutex_t *mu;
    json_t *thread = NULL, *active = NULL, *run;
    store_rc_t rc;
    size_t i;

    if (ex.ops == NULL)
        return store_fail(STORE_UNSUPPORTED, "the run executor is not running");
    mu = &ex.create_mu[stripe_of(thread_id)];
    pthread_mutex_lock(mu);
    if ((rc = store_thread_get_shared(ex.ops, ex.s, thread_id, owner, &thread)) != STORE_OK ||
        (rc = ex.ops->run_active(ex.s, thread_id, &active)) != STORE_OK)
        goto Exit;
    json_array_foreach(active, i, run) cancel_run_obj(run, EXEC_CANCEL_INTERRUPT, 1);
    if ((rc = ex.ops->thread_delete(ex.s, thread_id, owner)) == STORE_OK)
        exec_broker_thread_gone(thread_id);
Exit:
    pthread_mutex_unlock(mu);
    json_decref(thread);
    json_decref(active);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Create                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* a's keys, then b's (both objects or NULL): a new object whose members are those of a and b
 * (shared: the caller sets or deletes members of the result, never changes one inside). */
static json_t *merged(const json_t *a, const json_t *b)
{
    json_t *o = json_is_object(a) ? json_copy((json_t *)a) : json_object();

    if (o != NULL && json_is_object(b))
        json_object_update(o, (json_t *)b);
    return o;
}

/* The ids a run's objects repeat, each one JSON string shared by all of them (owned; owner
 * NULL without auth). */
typedef struct run_ids {
    json_t *run_id, *thread_id, *assistant_id, *graph_id, *owner;
} run_ids_t;

/* Fills `ids` from the strings given (graph_id borrowed from the assistant: stored JSON, so
 * valid UTF-8; run and thread ids are UUIDs). Returns 0, or -1 when out of memory (release
 * with run_ids_clear either way). */
static int run_ids_init(run_ids_t *ids, const char *run_id, const char *tid, const char *assistant_id,
                        json_t *graph_id, const char *owner)
{
    ids->run_id = json_stringn_nocheck(run_id, strlen(run_id));
    ids->thread_id = json_string(tid);
    ids->assistant_id = json_string(assistant_id);
    ids->graph_id = json_incref(graph_id);
    ids->owner = owner != NULL ? json_string(owner) : NULL;
    return ids->run_id == NULL || ids->thread_id == NULL || ids->assistant_id == NULL || ids->graph_id == NULL ||
                   (owner != NULL && ids->owner == NULL)
               ? -1
               : 0;
}

static void run_ids_clear(run_ids_t *ids)
{
    json_decref(ids->run_id);
    json_decref(ids->thread_id);
    json_decref(ids->assistant_id);
    json_decref(ids->graph_id);
    json_decref(ids->owner);
}

/* The members of a run-create body that run creation reads, found in one pass over the body
 * (borrowed; NULL when absent). kw[] holds those kwargs keep, in kwargs order (kw_names). */
enum {
    KW_INPUT, KW_COMMAND, KW_INTERRUPT_BEFORE, KW_INTERRUPT_AFTER, KW_WEBHOOK, KW_FEEDBACK_KEYS, KW_CHECKPOINT,
    KW_CHECKPOINT_ID, KW_AFTER_SECONDS, KW_ON_DISCONNECT, KW_DURABILITY, KW_CONTEXT, KW_CHECKPOINT_DURING, KW_N
};
static const char *const kw_names[KW_N] = {
    [KW_INPUT] = "input", [KW_COMMAND] = "command", [KW_INTERRUPT_BEFORE] = "interrupt_before",
    [KW_INTERRUPT_AFTER] = "interrupt_after", [KW_WEBHOOK] = "webhook", [KW_FEEDBACK_KEYS] = "feedback_keys",
    [KW_CHECKPOINT] = "checkpoint", [KW_CHECKPOINT_ID] = "checkpoint_id", [KW_AFTER_SECONDS] = "after_seconds",
    [KW_ON_DISCONNECT] = "on_disconnect", [KW_DURABILITY] = "durability", [KW_CONTEXT] = "context",
    [KW_CHECKPOINT_DURING] = "checkpoint_during"};
typedef struct run_body {
    const json_t *kw[KW_N];
    const json_t *config, *metadata, *stream_mode, *stream_subgraphs, *stream_resumable, *multitask_strategy,
        *if_not_exists, *on_completion;
} run_body_t;

/* Fills `b` from run-create body `body` (borrowed). */
static void run_body_read(run_body_t *b, const json_t *body)
{
    const struct {
        const char *name;
        const json_t **slot;
    } other[] = {{"config", &b->config},
                 {"metadata", &b->metadata},
                 {"stream_mode", &b->stream_mode},
                 {"stream_subgraphs", &b->stream_subgraphs},
                 {"stream_resumable", &b->stream_resumable},
                 {"multitask_strategy", &b->multitask_strategy},
                 {"if_not_exists", &b->if_not_exists},
                 {"on_completion", &b->on_completion}};
    const char *k;
    json_t *v;
    size_t i;

    memset(b, 0, sizeof(*b));
    json_object_foreach((json_t *)body, k, v) {
        for (i = 0; i != KW_N && (k[0] != kw_names[i][0] || strcmp(k, kw_names[i]) != 0); ++i)
            ;
        if (i != KW_N) {
            b->kw[i] = v;
            continue;
        }
        for (i = 0; i != sizeof(other) / sizeof(other[0]); ++i) {
            if (k[0] == other[i].name[0] && strcmp(k, other[i].name) == 0) {
                *other[i].slot = v;
                break;
            }
        }
    }
}

/* The run's config: assistant config, then the body's, configurable merged key by key, then
 * the request's `extra` configurable keys (may be NULL), context, the run's ids and the caller
 * (ids->owner) in configurable; never the credential key (EXEC_TOKEN_KEY). New reference; its
 * members may be shared with the assistant's and the body's. */
static json_t *run_config(const json_t *assistant, const run_body_t *body, const json_t *extra, const run_ids_t *ids)
{
    const json_t *acfg = json_object_get(assistant, "config"), *bcfg = body->config;
    json_t *cfg = merged(acfg, bcfg);
    json_t *conf = merged(json_object_get(acfg, "configurable"), json_object_get(bcfg, "configurable"));
    json_t *ctx = json_object_get(assistant, "context");
    const json_t *bctx = body->kw[KW_CONTEXT];

    if (cfg == NULL || conf == NULL)
        goto Fail;
    if (json_is_object(extra))
        json_object_update(conf, (json_t *)extra);
    if (json_is_object(ctx))
        json_object_update(conf, ctx);
    if (json_is_object(bctx))
        json_object_update(conf, (json_t *)bctx);
    json_object_set_nocheck(conf, "run_id", ids->run_id);
    json_object_set_nocheck(conf, "thread_id", ids->thread_id);
    json_object_set_nocheck(conf, "graph_id", ids->graph_id);
    json_object_set_nocheck(conf, "assistant_id", ids->assistant_id);
    if (ids->owner != NULL) {
        json_object_set_nocheck(conf, "langgraph_auth_user_id", ids->owner);
        json_object_set_nocheck(conf, "user_id", ids->owner);
        json_object_set_nocheck(conf, "owner", ids->owner);
    }
    json_object_del(conf, EXEC_TOKEN_KEY);
    json_object_set_new_nocheck(cfg, "configurable", conf);
    return cfg;
Fail:
    json_decref(cfg);
    json_decref(conf);
    return NULL;
}

/* A body member that kwargs keep: present and not null. */
static int kept(const json_t *v)
{
    return v != NULL && !json_is_null(v);
}

/* Kwargs of the run from the body (its members borrowed; the kwargs share them, see the
 * run_create contract in store.h); takes `config`. New reference. */
static json_t *run_kwargs(const run_body_t *body, json_t *config, int temporary)
{
    const json_t *during = body->kw[KW_CHECKPOINT_DURING];
    int subgraphs = json_is_true(body->stream_subgraphs);
    json_t *kw = json_object();
    size_t i;

    if (kw == NULL) {
        json_decref(config);
        return NULL;
    }
    for (i = 0; i != KW_N; ++i) {
        if (kept(body->kw[i]))
            json_object_set_nocheck(kw, kw_names[i], (json_t *)body->kw[i]);
    }
    if (!kept(body->kw[KW_INPUT]))
        json_object_set_new_nocheck(kw, "input", json_null());
    /* the deprecated checkpoint_during maps onto durability as LangGraph maps it (true: async,
     * false: exit); an explicit durability wins */
    if (!kept(body->kw[KW_DURABILITY]) && json_is_boolean(during))
        json_object_set_new_nocheck(kw, "durability", json_string(json_is_true(during) ? "async" : "exit"));
    json_object_set_new_nocheck(kw, "config", config);
    json_object_set_new_nocheck(kw, "stream_mode", modes_array(body->stream_mode));
    json_object_set_new_nocheck(kw, "stream_subgraphs", json_boolean(subgraphs));
    json_object_set_new_nocheck(kw, "resumable", json_boolean(json_is_true(body->stream_resumable)));
    json_object_set_new_nocheck(kw, "temporary", json_boolean(temporary));
    json_object_set_new_nocheck(kw, "subgraphs", json_boolean(subgraphs));
    return kw;
}

/* {graph_id, assistant_id} as a thread's metadata names the graph it runs, with the owner when
 * `with_owner`. New reference, or NULL when out of memory. */
static json_t *graph_metadata(const run_ids_t *ids, int with_owner)
{
    json_t *m = json_object();

    if (m == NULL)
        return NULL;
    json_object_set_nocheck(m, "graph_id", ids->graph_id);
    json_object_set_nocheck(m, "assistant_id", ids->assistant_id);
    if (with_owner && ids->owner != NULL)
        json_object_set_nocheck(m, "owner", ids->owner);
    return m;
}

/* {status: "busy", metadata: `m` (stolen)}: the busy mark of a thread, or the start of a
 * thread to create. New reference, or NULL when out of memory (m is released then). */
static json_t *busy_with(json_t *m)
{
    json_t *o = m != NULL ? json_object() : NULL;

    if (o == NULL) {
        json_decref(m);
        return NULL;
    }
    json_object_set_new_nocheck(o, "status", json_stringn_nocheck("busy", 4));
    json_object_set_new_nocheck(o, "metadata", m);
    return o;
}

/* The run_create input {run_id, thread_id, assistant_id, metadata, kwargs, multitask_strategy};
 * takes `meta` and `kw`. New reference, or NULL when out of memory. */
static json_t *run_input(const run_ids_t *ids, json_t *meta, json_t *kw, const char *strategy)
{
    json_t *in = meta != NULL && kw != NULL ? json_object() : NULL;

    if (in == NULL) {
        json_decref(meta);
        json_decref(kw);
        return NULL;
    }
    json_object_set_nocheck(in, "run_id", ids->run_id);
    json_object_set_nocheck(in, "thread_id", ids->thread_id);
    json_object_set_nocheck(in, "assistant_id", ids->assistant_id);
    json_object_set_new_nocheck(in, "metadata", meta);
    json_object_set_new_nocheck(in, "kwargs", kw);
    json_object_set_new_nocheck(in, "multitask_strategy", json_string(strategy));
    return in;
}

/* 1 when the metadata of thread `t` (borrowed) already names graph_id and assistant_id. */
static int thread_names(const json_t *t, const char *graph_id, const char *assistant_id)
{
    const json_t *m = json_object_get(t, "metadata");

    return strcmp(json_string_value(json_object_get(m, "graph_id")) ?: "", graph_id ?: "") == 0 &&
           strcmp(json_string_value(json_object_get(m, "assistant_id")) ?: "", assistant_id) == 0;
}

/* 1 when thread `t` (borrowed) is already busy and runs graph_id/assistant_id, so creating a
 * run changes nothing on it. */
static int thread_marked(const json_t *t, const char *graph_id, const char *assistant_id)
{
    return strcmp(json_string_value(json_object_get(t, "status")) ?: "", "busy") == 0 &&
           thread_names(t, graph_id, assistant_id);
}

/* The patch that marks thread `t` (borrowed) busy running the run's graph and assistant:
 * {status: "busy", metadata: {graph_id, assistant_id}}, without the metadata when the thread
 * names them already (merging it would change nothing). NULL when out of memory. */
static json_t *busy_patch(const json_t *t, const run_ids_t *ids, const char *graph_id, const char *assistant_id)
{
    json_t *p;

    if (!thread_names(t, graph_id, assistant_id))
        return busy_with(graph_metadata(ids, 0));
    if ((p = json_object()) != NULL)
        json_object_set_new_nocheck(p, "status", json_stringn_nocheck("busy", 4));
    return p;
}

static size_t stripe_of(const char *id)
{
    size_t h = 5381;

    for (; *id != '\0'; ++id)
        h = h * 33 + (unsigned char)*id;
    return h % CREATE_STRIPES;
}

int exec_run_create(const char *thread_id, const char *assistant_id, const json_t *body,
                    const json_t *configurable, const char *owner, const char *token, char *run_id_out,
                    json_t **run, exec_error_t *err)
{
    char tid[UUID_STR_SIZE], run_id[UUID_STR_SIZE];
    run_body_t b;
    const char *strategy, *if_not_exists, *on_completion;
    json_t *assistant = NULL, *thread = NULL, *active = NULL, *in = NULL, *config = NULL, *meta = NULL, *tin = NULL;
    double after;
    int temporary = 0, rc = -1, locked = 0, own_defer;
    exec_run_t *r = NULL;
    run_ids_t ids = {0};
    const char *graph_id;
    int64_t not_before = 0;
    size_t stripe = 0, i;
    store_rc_t src;

    if (run != NULL)
        *run = NULL;
    if (ex.ops == NULL) {
        set_err(err, 503, "the run executor is not running");
        return -1;
    }
    run_body_read(&b, body);
    strategy = json_string_value(b.multitask_strategy) ?: "enqueue";
    if_not_exists = json_string_value(b.if_not_exists) ?: "reject";
    on_completion = json_string_value(b.on_completion);
    after = json_number_value(b.kw[KW_AFTER_SECONDS]);
    /* the writes below (thread, busy mark, run) share one sync, waited for at the end; the
     * worker may start meanwhile: nothing of the run is visible before its own, later writes
     * are durable. A caller that defers already (a parked response) waits for them itself. */
    own_defer = !store_defer_active();
    if (own_defer)
        store_defer_begin();
    /* the assistant and the thread are read only here (shared reads, store.h): the run's
     * config and metadata are new objects whose members may be theirs */
    if (assistant_id == NULL || store_assistant_get_shared(ex.ops, ex.s, assistant_id, owner, &assistant) != STORE_OK) {
        set_err(err, 404,
                "No assistant found for \"%s\". Make sure the assistant ID is for a valid assistant or a valid graph ID.",
                assistant_id ?: "");
        goto Exit;
    }
    graph_id = json_string_value(json_object_get(assistant, "graph_id"));
    if (graph_find(graph_id) == NULL) {
        set_err(err, 422, "graph %s of the assistant is not registered", graph_id ?: "?");
        goto Exit;
    }
    if (uuid_v7_str(run_id) != 0) {
        set_err(err, 500, "cannot generate a run id");
        goto Exit;
    }
    if (thread_id == NULL) {
        temporary = on_completion == NULL || strcmp(on_completion, "keep") != 0;
        if (uuid_v4_str(tid) != 0) {
            set_err(err, 500, "cannot generate a thread id");
            goto Exit;
        }
    } else {
        snprintf(tid, sizeof(tid), "%s", thread_id);
    }
    if (run_ids_init(&ids, run_id, tid, assistant_id, json_object_get(assistant, "graph_id"), owner) != 0) {
        set_err(err, 500, "out of memory");
        goto Exit;
    }
    /* Per thread, the multitask decision, the busy mark and the insertion are atomic, and
     * finish_thread (same stripe) sees either none or all of them. A new stateless thread is
     * known to nobody else. */
    if (thread_id != NULL) {
        stripe = stripe_of(tid);
        pthread_mutex_lock(&ex.create_mu[stripe]);
        locked = 1;
    }
    src = thread_id != NULL ? store_thread_get_shared(ex.ops, ex.s, tid, owner, &thread) : STORE_NOT_FOUND;
    if (src == STORE_NOT_FOUND) {
        if (thread_id != NULL && strcmp(if_not_exists, "create") != 0) {
            set_err(err, 404, "Thread %s not found", tid);
            goto Exit;
        }
        tin = busy_with(graph_metadata(&ids, 1));
        if (tin != NULL)
            json_object_set_nocheck(tin, "thread_id", ids.thread_id);
        src = tin != NULL ? ex.ops->thread_create(ex.s, tin, STORE_IF_EXISTS_RAISE, owner, NULL) : STORE_NOMEM;
        if (src == STORE_CONFLICT) { /* someone else's thread: it does not exist for this caller */
            set_err(err, 404, "Thread %s not found", tid);
            goto Exit;
        }
        if (src != STORE_OK) {
            set_err(err, 500, "cannot create the thread: %s", store_last_error());
            goto Exit;
        }
    } else if (src != STORE_OK) {
        set_err(err, 500, "cannot read the thread: %s", store_last_error());
        goto Exit;
    }
    if (thread != NULL && strcmp(strategy, "enqueue") != 0 && ex.ops->run_active(ex.s, tid, &active) != STORE_OK) {
        set_err(err, 500, "cannot read the thread's runs: %s", store_last_error());
        goto Exit;
    }
    if (json_array_size(active) > 0) {
        if (strcmp(strategy, "reject") == 0) {
            set_err(err, 409,
                    "Thread is already running a task. Wait for it to finish or choose a different multitask strategy.");
            goto Exit;
        }
        if (strcmp(strategy, "interrupt") == 0 || strcmp(strategy, "rollback") == 0) {
            json_t *a;
            json_array_foreach(active, i, a) cancel_run_obj(a, strcmp(strategy, "rollback") == 0 ? EXEC_CANCEL_ROLLBACK
                                                                                                : EXEC_CANCEL_INTERRUPT, 1);
        }
    }
    config = run_config(assistant, &b, configurable, &ids);
    /* run metadata as the official server merges it: assistant's, thread's (with the graph and
     * assistant it now runs), the body's */
    meta = merged(json_object_get(assistant, "metadata"), json_object_get(thread, "metadata"));
    if (config == NULL || meta == NULL) {
        set_err(err, 500, "out of memory");
        goto Exit;
    }
    json_object_set_nocheck(meta, "graph_id", ids.graph_id);
    json_object_set_nocheck(meta, "assistant_id", ids.assistant_id);
    if (json_is_object(b.metadata))
        json_object_update(meta, (json_t *)b.metadata);
    if (ids.owner != NULL)
        json_object_set_nocheck(meta, "owner", ids.owner);
    in = run_input(&ids, meta, run_kwargs(&b, config, temporary), strategy);
    config = meta = NULL;
    if (in == NULL) {
        set_err(err, 500, "out of memory");
        goto Exit;
    }
    r = exec_run_register(run_id, tid, owner,
                          record_modes(b.stream_mode, b.stream_resumable), json_is_true(b.stream_subgraphs));
    if (r == NULL) {
        set_err(err, 500, "out of memory");
        goto Exit;
    }
    if (token != NULL && (r->token = strdup(token)) == NULL) {
        set_err(err, 500, "out of memory");
        exec_run_unregister(r);
        goto Exit;
    }
    if (after > 0)
        not_before = time_now_us() + (int64_t)(after * 1e6);
    if (thread != NULL && !thread_marked(thread, graph_id, assistant_id)) {
        json_t *patch = busy_patch(thread, &ids, graph_id, assistant_id);
        if (patch == NULL || ex.ops->thread_patch(ex.s, tid, patch, NULL, NULL) != STORE_OK)
            log_warn("thread %s: cannot mark it busy: %s", tid, store_last_error());
        json_decref(patch);
    }
    if (ex.ops->run_create(ex.s, in, not_before, run) != STORE_OK) {
        set_err(err, 500, "cannot store the run: %s", store_last_error());
        exec_run_unregister(r);
        if (thread_id == NULL)
            ex.ops->thread_delete(ex.s, tid, NULL);
        else
            finish_thread_locked(tid, OUTCOME_DONE);
        goto Exit;
    }
    if (not_before > 0)
        add_due(not_before);
    else
        wake_workers(0);
    rc = 0;
Exit:
    if (locked)
        pthread_mutex_unlock(&ex.create_mu[stripe]);
    if (own_defer && store_wait_durable(ex.ops, ex.s, store_defer_end()) != STORE_OK && rc == 0) {
        set_err(err, 500, "the run could not be made durable: %s", store_last_error());
        if (run != NULL) {
            json_decref(*run);
            *run = NULL;
        }
        rc = -1;
    }
    if (rc == 0 && run_id_out != NULL)
        memcpy(run_id_out, run_id, UUID_STR_SIZE);
    exec_run_unref(r);
    run_ids_clear(&ids);
    json_decref(assistant);
    json_decref(thread);
    json_decref(active);
    json_decref(in);
    json_decref(config);
    json_decref(meta);
    json_decref(tin);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Outcome                                                                                    */
/* ------------------------------------------------------------------------------------------ */

int exec_run_result(const char *thread_id, const char *run_id, const char *owner, json_t **out,
                    exec_error_t *err)
{
    exec_run_t *r = exec_run_find(run_id);
    json_t *run = NULL, *thread = NULL;
    const char *status;
    int rc = -1;

    *out = NULL;
    if (r != NULL) {
        int visible = !r->is_thread && (thread_id == NULL || strcmp(thread_id, r->thread_id) == 0) &&
                      (owner == NULL || (r->owner != NULL && strcmp(owner, r->owner) == 0));
        int ended, dropped;
        pthread_mutex_lock(&r->mu);
        ended = r->ended;
        dropped = r->events_dropped;
        if (visible && ended && !dropped)
            *out = r->result != NULL ? json_incref(r->result) : json_object();
        pthread_mutex_unlock(&r->mu);
        exec_run_unref(r);
        if (*out != NULL)
            return 0;
        if (!visible) {
            set_err(err, 404, "Run not found");
            return -1;
        }
        if (!ended) {
            /* still running, or waiting for its writes to be durable: the store may already
             * show the final status, but nothing is answered before the run's record ended */
            set_err(err, 409, "Run %s has not finished", run_id);
            return -1;
        }
        /* its result was freed after the grace: answered as once the record left memory */
    }
    if (ex.ops == NULL || run_id == NULL || ex.ops->run_get(ex.s, thread_id, run_id, owner, &run) != STORE_OK) {
        set_err(err, 404, "Run not found");
        return -1;
    }
    status = json_string_value(json_object_get(run, "status")) ?: "";
    if (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0) {
        set_err(err, 409, "Run %s has not finished", run_id);
        goto Exit;
    }
    if (store_thread_get_shared(ex.ops, ex.s, json_string_value(json_object_get(run, "thread_id")), NULL,
                                &thread) == STORE_OK &&
        json_object_get(thread, "values") != NULL)
        *out = json_incref(json_object_get(thread, "values"));
    else
        *out = json_object();
    rc = 0;
Exit:
    json_decref(run);
    json_decref(thread);
    return rc;
}
