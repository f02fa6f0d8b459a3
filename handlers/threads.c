/*
 * handlers/threads.c — the Threads operations: create, get, patch, delete, search, count, copy,
 * prune, storage, and the state views (latest state, state at a checkpoint, history, checkpoint
 * metadata patch). HTTP semantics only: storage goes through store_ops_t.
 *
 * The state views read the checkpoints the graph engine writes (checkpoint_get/checkpoint_list);
 * a thread without checkpoints answers the official empty shapes (an empty state, an empty
 * history). Thread objects show `ttl` only to GET /threads/{id}?include=ttl.
 */
#include <stdlib.h>
#include <string.h>
#include "handlers.h"
#include "api.h"
#include "exec/exec.h"
#include "graph/engine.h"
#include "http/stream.h"
#include "runs.h"
#include "util/uuid.h"

/* The thread and checkpoint namespace a checkpoint config names. */
typedef struct state_ref {
    const char *thread_id; /* borrowed */
    const char *ns;        /* borrowed; "" for the root graph */
} state_ref_t;

/* Removes the stored ttl from thread `t` (borrowed) unless `keep_ttl`. Returns `t`. */
static json_t *thread_public(json_t *t, int keep_ttl)
{
    if (!keep_ttl && json_is_object(t))
        json_object_del(t, "ttl");
    return t;
}

/* 1 when the `include` parameter names `what`: the router gathers it into a list (the Python
 * SDK's comma list, the JS SDK's JSON array, or the key repeated). */
static int include_has(const http_ctx_t *ctx, const char *what)
{
    const json_t *list = json_object_get(ctx->params, "include"), *el;
    size_t i;

    json_array_foreach(list, i, el) {
        if (json_is_string(el) && strcmp(json_string_value(el), what) == 0)
            return 1;
    }
    return 0;
}

/*
 * A checkpoint config {thread_id, checkpoint_ns, checkpoint_id, checkpoint_map}. `checkpoint_id`
 * and `map` may be NULL (null). Returns a new reference.
 */
static json_t *checkpoint_config(const state_ref_t *ref, const char *checkpoint_id, const json_t *map)
{
    return json_pack("{s:s, s:s, s:o, s:O}", "thread_id", ref->thread_id, "checkpoint_ns", ref->ns, "checkpoint_id",
                     checkpoint_id != NULL ? json_string(checkpoint_id) : json_null(), "checkpoint_map",
                     json_is_object(map) ? map : json_null());
}

/*
 * The state of a thread that has no checkpoint (at `checkpoint_id`, NULL = latest): the shape
 * the official server answers for a thread without runs. Returns a new reference.
 */
static json_t *state_empty(const state_ref_t *ref, const char *checkpoint_id)
{
    return json_pack("{s:{}, s:[], s:[], s:{}, s:n, s:o, s:n, s:[]}", "values", "next", "tasks", "metadata",
                     "created_at", "checkpoint", checkpoint_config(ref, checkpoint_id, NULL), "parent_checkpoint",
                     "interrupts");
}

/*
 * A ThreadState built from stored checkpoint `cp` (borrowed) as the graph engine shapes it
 * (graph_state_from_checkpoint): values, next, tasks {id, name, path, error, interrupts,
 * checkpoint, state, result?}, metadata, created_at, checkpoint, parent_checkpoint and the
 * pending interrupts. A pending task whose node runs a subgraph gets, as LangGraph gives it,
 * `state` = the subgraph's own state (its latest checkpoint in namespace "node:task_id")
 * when `subgraphs`, else the config {configurable: {thread_id, checkpoint_ns}} that names it.
 * Returns a new reference.
 */
static json_t *state_from_checkpoint(const json_t *cp, int subgraphs)
{
    json_t *st = graph_state_from_checkpoint(cp, NULL), *task;
    const char *thread_id = json_string_value(json_object_get(cp, "thread_id"));
    const char *parent_ns = json_string_value(json_object_get(cp, "checkpoint_ns"));
    const graph_t *g = graph_find(json_string_value(json_object_get(json_object_get(cp, "metadata"), "graph_id")));
    size_t i;

    json_array_foreach(json_object_get(st, "tasks"), i, task) {
        const char *name = json_string_value(json_object_get(task, "name"));
        const char *id = json_string_value(json_object_get(task, "id"));
        const graph_node_t *n = g != NULL && name != NULL ? graph_node_find(g, name) : NULL;
        json_t *scp = NULL, *sub = NULL;
        char ns[300];

        if (n == NULL || n->subgraph == NULL || id == NULL || thread_id == NULL)
            continue;
        if (parent_ns != NULL && parent_ns[0] != '\0')
            snprintf(ns, sizeof(ns), "%s|%s:%s", parent_ns, name, id);
        else
            snprintf(ns, sizeof(ns), "%s:%s", name, id);
        if (subgraphs && store_checkpoint_get_shared(api_ops(), api_store(), thread_id, ns, NULL, &scp) == STORE_OK)
            sub = state_from_checkpoint(scp, subgraphs);
        else
            sub = json_pack("{s:{s:s, s:s}}", "configurable", "thread_id", thread_id, "checkpoint_ns", ns);
        json_object_set_new(task, "state", sub);
        json_decref(scp);
    }
    return st;
}

/*
 * Answers the state of thread `thread_id` in namespace `ns` at checkpoint `checkpoint_id` (NULL
 * = the latest): 404 when the thread is missing, the empty state when that checkpoint does not
 * exist (as the official server does for a thread without runs); `subgraphs` expands the
 * states of pending subgraph tasks (state_from_checkpoint). Returns 0.
 */
static int send_state(http_ctx_t *ctx, const char *thread_id, const char *ns, const char *checkpoint_id,
                      int subgraphs)
{
    json_t *cp = NULL;
    state_ref_t ref = {thread_id, ns != NULL ? ns : ""};
    store_rc_t rc;
    int ret;

    rc = api_thread_visible(ctx, thread_id);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", thread_id);
        goto Exit;
    }
    /* read only: state_from_checkpoint builds a new state that only references cp's members,
     * and the answer is only serialised */
    rc = store_checkpoint_get_shared(api_ops(), api_store(), thread_id, ref.ns, checkpoint_id, &cp);
    if (rc == STORE_NOT_FOUND) {
        ret = http_send_json(ctx, 200, state_empty(&ref, checkpoint_id));
        goto Exit;
    }
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", thread_id);
        goto Exit;
    }
    ret = http_send_json(ctx, 200, state_from_checkpoint(cp, subgraphs));
Exit:
    json_decref(cp);
    return ret;
}

/*
 * Answers the history of thread `thread_id`: its checkpoints in namespace `ns`, newest first, at
 * most `limit`, older than `before` (NULL = no bound), whose metadata contains `metadata`
 * (NULL = all); only checkpoint `only_id` when not NULL. All arguments borrowed. Returns 0.
 */
static int send_history(http_ctx_t *ctx, const char *thread_id, const char *ns, const char *before, const json_t *metadata,
                        const char *only_id, json_int_t limit)
{
    json_t *list = NULL, *out = NULL, *cp;
    store_rc_t rc;
    size_t i;
    int ret;

    if (limit < 1) {
        ret = http_send_error(ctx, 422, "limit: must be at least 1");
        goto Exit;
    }
    rc = api_thread_visible(ctx, thread_id);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", thread_id);
        goto Exit;
    }
    if (only_id != NULL) {
        list = json_array();
        rc = api_ops()->checkpoint_get(api_store(), thread_id, ns, only_id, &cp);
        if (rc == STORE_OK) {
            if (store_json_contains(json_object_get(cp, "metadata"), metadata))
                json_array_append(list, cp);
            json_decref(cp);
        } else if (rc != STORE_NOT_FOUND) {
            ret = api_store_error(ctx, rc, "Thread", thread_id);
            goto Exit;
        }
    } else {
        rc = api_ops()->checkpoint_list(api_store(), thread_id, ns, before, metadata, limit, &list);
        if (rc == STORE_NOT_FOUND && before != NULL) {
            ret = http_send_error(ctx, 404, "Checkpoint %s not found", before);
            goto Exit;
        }
        if (rc != STORE_OK) {
            ret = api_store_error(ctx, rc, "Thread", thread_id);
            goto Exit;
        }
    }
    if ((out = json_array()) == NULL || list == NULL) {
        ret = -1;
        goto Exit;
    }
    json_array_foreach(list, i, cp)
    {
        json_array_append_new(out, state_from_checkpoint(cp, 0));
    }
    ret = http_send_json(ctx, 200, out);
    out = NULL;
Exit:
    json_decref(out);
    json_decref(list);
    return ret;
}

/* The checkpoint id of a `before` member: a string, a checkpoint config {checkpoint_id}, or a
 * runnable config {configurable: {checkpoint_id}}. Borrowed from `before`; NULL when absent. */
static const char *before_id(const json_t *before)
{
    const json_t *conf;

    if (json_is_string(before))
        return json_string_value(before);
    if (json_is_string(json_object_get(before, "checkpoint_id")))
        return json_string_value(json_object_get(before, "checkpoint_id"));
    conf = json_object_get(before, "configurable");
    return json_string_value(json_object_get(conf, "checkpoint_id"));
}

/*
 * Seeds thread `id` with the body's supersteps through graph `g` (graph_bulk_update_state),
 * keeps the thread's values in step and publishes state_update on the thread stream. On an
 * invalid superstep (nothing was written) the thread is deleted when `created` (this request
 * made it) and 422 is answered. Returns 0 when seeded (nothing answered yet), else the
 * handler's return after answering.
 */
static int seed_supersteps(http_ctx_t *ctx, const graph_t *g, const char *id, int created, int *answered)
{
    json_t *state = NULL, *patch = NULL, *ev = NULL;
    char *err = NULL;
    store_rc_t rc;
    int ret = 0;

    *answered = 0;
    rc = graph_bulk_update_state(g, api_ops(), api_store(), id, json_object_get(ctx->body, "supersteps"), NULL, NULL,
                                 &err);
    if (rc != STORE_OK) {
        if (created)
            api_ops()->thread_delete(api_store(), id, NULL);
        *answered = 1;
        ret = rc == STORE_INVALID ? http_send_error(ctx, 422, "%s", err != NULL ? err : "invalid supersteps")
                                  : api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    if (graph_state_get(api_ops(), api_store(), id, NULL, &state) == STORE_OK) {
        if ((patch = json_pack("{s:O}", "values", json_object_get(state, "values"))) != NULL)
            api_ops()->thread_patch(api_store(), id, patch, NULL, NULL);
        if ((ev = json_pack("{s:O, s:s}", "state", state, "thread_id", id)) != NULL)
            exec_thread_publish(id, "state_update", ev);
    }
Exit:
    free(err);
    json_decref(ev);
    json_decref(patch);
    json_decref(state);
    return ret;
}

/*
 * POST /threads: creates a thread (thread_id, metadata, ttl, if_exists raise|do_nothing) and,
 * with supersteps, seeds its state through the graph metadata.graph_id names (400 without one,
 * 404 for an unknown graph, both before anything is created), as the official servers do; the
 * answer is the thread after the supersteps.
 */
int threads_create(http_ctx_t *ctx)
{
    const json_t *v, *steps = json_object_get(ctx->body, "supersteps");
    const char *id = json_string_value(json_object_get(ctx->body, "thread_id"));
    const char *if_exists = json_string_value(json_object_get(ctx->body, "if_exists"));
    const char *graph_id = json_string_value(json_object_get(json_object_get(ctx->body, "metadata"), "graph_id"));
    int do_nothing = if_exists != NULL && strcmp(if_exists, "do_nothing") == 0, existed = 0, answered = 0;
    json_t *in = json_object(), *out = NULL, *meta, *old = NULL;
    const graph_t *g = NULL;
    char gen[UUID_STR_SIZE];
    store_rc_t rc;
    int ret;

    if (json_array_size(steps) > 0) {
        if (graph_id == NULL) {
            ret = http_send_error(ctx, 400, "supersteps: the thread has no graph ID; set metadata.graph_id");
            goto Exit;
        }
        if ((g = graph_find(graph_id)) == NULL) {
            ret = http_send_error(ctx, 404, "Graph %s not found", graph_id);
            goto Exit;
        }
        if (id == NULL) {
            if (uuid_v4_str(gen) != 0) {
                ret = http_send_error(ctx, 500, "cannot generate a thread id");
                goto Exit;
            }
            id = gen;
        } else if (do_nothing) {
            existed = api_ops()->thread_get(api_store(), id, api_owner(ctx), &old) == STORE_OK;
        }
    }
    if (id != NULL)
        json_object_set_new(in, "thread_id", json_string(id));
    if ((meta = api_owned_metadata(ctx, json_object_get(ctx->body, "metadata"))) != NULL)
        json_object_set_new(in, "metadata", meta);
    if ((v = json_object_get(ctx->body, "ttl")) != NULL && !json_is_null(v))
        json_object_set(in, "ttl", (json_t *)v);
    rc = api_ops()->thread_create(api_store(), in, do_nothing ? STORE_IF_EXISTS_DO_NOTHING : STORE_IF_EXISTS_RAISE,
                                  api_owner(ctx), &out);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", rc == STORE_INVALID ? NULL : id);
        goto Exit;
    }
    if (g != NULL) {
        ret = seed_supersteps(ctx, g, json_string_value(json_object_get(out, "thread_id")), !existed, &answered);
        if (answered)
            goto Exit;
        json_decref(out);
        out = NULL;
        if ((rc = api_ops()->thread_get(api_store(), id, api_owner(ctx), &out)) != STORE_OK) {
            ret = api_store_error(ctx, rc, "Thread", id);
            goto Exit;
        }
    }
    ret = http_send_json(ctx, 200, thread_public(out, 0));
    out = NULL;
Exit:
    json_decref(old);
    json_decref(out);
    json_decref(in);
    return ret;
}

/* GET /threads/{thread_id}: the thread; its ttl only with include=ttl. */
int threads_get(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    json_t *out = NULL;
    store_rc_t rc;

    rc = api_ops()->thread_get(api_store(), id, api_owner(ctx), &out);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", id);
    return http_send_json(ctx, 200, thread_public(out, include_has(ctx, "ttl")));
}

/* PATCH /threads/{thread_id}: merges metadata key by key and replaces the ttl. */
int threads_patch(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    const json_t *v;
    json_t *patch = json_object(), *out = NULL, *meta;
    store_rc_t rc;
    int ret;

    if ((meta = api_owned_metadata(ctx, json_object_get(ctx->body, "metadata"))) != NULL)
        json_object_set_new(patch, "metadata", meta);
    if ((v = json_object_get(ctx->body, "ttl")) != NULL)
        json_object_set(patch, "ttl", (json_t *)v);
    rc = api_ops()->thread_patch(api_store(), id, patch, api_owner(ctx), &out);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", rc == STORE_INVALID ? NULL : id);
        goto Exit;
    }
    ret = http_send_json(ctx, 200, thread_public(out, 0));
    out = NULL;
Exit:
    json_decref(out);
    json_decref(patch);
    return ret;
}

/* DELETE /threads/{thread_id}: deletes the thread with its runs and checkpoints, its pending and
 * running runs cancelled first (exec_thread_delete); 204 as the official server answers. */
int threads_delete(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    store_rc_t rc;

    rc = exec_thread_delete(id, api_owner(ctx));
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", id);
    return http_send_raw(ctx, 204, NULL, "", 0);
}

/* Fills `q` from a search or count body (borrowed; `q` points into it). */
static void thread_query(const json_t *body, store_thread_query_t *q)
{
    memset(q, 0, sizeof(*q));
    q->ids = json_object_get(body, "ids");
    q->metadata = json_object_get(body, "metadata");
    q->values = json_object_get(body, "values");
    q->status = json_string_value(json_object_get(body, "status"));
    q->sort_by = json_string_value(json_object_get(body, "sort_by"));
    q->sort_order = json_string_value(json_object_get(body, "sort_order"));
    if (json_is_null(q->ids))
        q->ids = NULL;
    if (json_is_null(q->metadata))
        q->metadata = NULL;
    if (json_is_null(q->values))
        q->values = NULL;
}

/* POST /threads/search: filtered, sorted, paginated threads with X-Pagination-* headers. */
int threads_search(http_ctx_t *ctx)
{
    store_thread_query_t q;
    json_t *out = NULL, *t;
    int64_t total = 0;
    store_rc_t rc;
    size_t i;

    thread_query(ctx->body, &q);
    q.limit = json_integer_value(json_object_get(ctx->body, "limit"));
    q.offset = json_integer_value(json_object_get(ctx->body, "offset"));
    rc = api_ops()->thread_search(api_store(), &q, api_owner(ctx), &out, &total);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", NULL);
    json_array_foreach(out, i, t)
    {
        thread_public(t, 0);
    }
    api_select(out, json_object_get(ctx->body, "select"));
    api_set_pagination(ctx, q.offset, json_array_size(out), total);
    return http_send_json(ctx, 200, out);
}

/* POST /threads/count: the number of threads matching metadata, values and status. */
int threads_count(http_ctx_t *ctx)
{
    store_thread_query_t q;
    int64_t count = 0;
    store_rc_t rc;

    thread_query(ctx->body, &q);
    q.ids = NULL;
    rc = api_ops()->thread_count(api_store(), &q, api_owner(ctx), &count);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", NULL);
    return http_send_json(ctx, 200, json_integer((json_int_t)count));
}

/* POST /threads/{thread_id}/copy: a new thread with the metadata, values and checkpoints of
 * this one. */
int threads_copy(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    json_t *out = NULL;
    store_rc_t rc;

    rc = api_ops()->thread_copy(api_store(), id, NULL, api_owner(ctx), &out);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", id);
    return http_send_json(ctx, 200, thread_public(out, 0));
}

/* POST /threads/prune: deletes the listed threads as DELETE /threads/{thread_id} does
 * (exec_thread_delete: their runs cancelled first, their streams ended; missing ids or another
 * owner's are skipped), or trims each to its latest checkpoint. */
int threads_prune(http_ctx_t *ctx)
{
    const char *strategy = json_string_value(json_object_get(ctx->body, "strategy"));
    const json_t *ids = json_object_get(ctx->body, "thread_ids"), *id;
    int64_t pruned = 0;
    store_rc_t rc;
    size_t i;

    if (strategy != NULL && strcmp(strategy, "delete") != 0) {
        rc = api_ops()->thread_prune(api_store(), ids, strategy, api_owner(ctx), &pruned);
        if (rc != STORE_OK)
            return api_store_error(ctx, rc, "Thread", NULL);
        return http_send_json(ctx, 200, json_pack("{s:I}", "pruned_count", (json_int_t)pruned));
    }
    json_array_foreach(ids, i, id) {
        if (!json_is_string(id))
            continue;
        rc = exec_thread_delete(json_string_value(id), api_owner(ctx));
        if (rc == STORE_OK)
            ++pruned;
        else if (rc != STORE_NOT_FOUND && rc != STORE_INVALID)
            return api_store_error(ctx, rc, "Thread", json_string_value(id));
    }
    return http_send_json(ctx, 200, json_pack("{s:I}", "pruned_count", (json_int_t)pruned));
}

/* Serialised size of `v` (borrowed) in compact JSON, the form the embedded store keeps. */
static json_int_t json_bytes(const json_t *v)
{
    return v != NULL ? (json_int_t)json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) : 0;
}

/*
 * GET /threads/{thread_id}/storage: what the embedded store keeps for the thread's checkpoints
 * (root namespace), split into three disjoint parts whose sum is total_bytes: the checkpoint
 * records without their channel values and pending writes, the channel values (per channel:
 * versions = how many times the stored value changed from one checkpoint to the next, bytes =
 * every stored copy), and the pending writes.
 */
int threads_storage_get(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    json_t *list = NULL, *by_channel = json_object(), *cp, *rest, *prev_values = NULL;
    json_int_t cp_bytes = 0, ch_count = 0, ch_bytes = 0, pw_count = 0, pw_bytes = 0;
    store_rc_t rc;
    size_t i;
    int ret;

    rc = api_thread_visible(ctx, id);
    if (rc == STORE_OK)
        rc = api_ops()->checkpoint_list(api_store(), id, "", NULL, NULL, 0, &list);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    /* checkpoint_list is newest first: walk oldest first so "changed" compares with the
     * previous version of each channel */
    for (i = json_array_size(list); i-- > 0;) {
        const json_t *values, *writes, *value;
        const char *channel;

        cp = json_array_get(list, i);
        values = json_object_get(cp, "values");
        writes = json_object_get(cp, "pending_writes");
        if ((rest = json_copy(cp)) == NULL) {
            ret = -1;
            goto Exit;
        }
        json_object_del(rest, "values");
        json_object_del(rest, "pending_writes");
        cp_bytes += json_bytes(rest);
        json_decref(rest);
        if (json_is_array(writes)) {
            pw_count += (json_int_t)json_array_size(writes);
            pw_bytes += json_bytes(writes);
        }
        json_object_foreach((json_t *)values, channel, value)
        {
            json_t *entry = json_object_get(by_channel, channel);
            const json_t *before = json_object_get(prev_values, channel);
            json_int_t n = json_bytes(value);

            if (entry == NULL) {
                entry = json_pack("{s:i, s:i}", "versions", 0, "bytes", 0);
                json_object_set_new(by_channel, channel, entry);
            }
            if (before == NULL || !json_equal(before, value))
                json_object_set_new(entry, "versions",
                                    json_integer(json_integer_value(json_object_get(entry, "versions")) + 1));
            json_object_set_new(entry, "bytes", json_integer(json_integer_value(json_object_get(entry, "bytes")) + n));
            ++ch_count;
            ch_bytes += n;
        }
        prev_values = json_is_object(values) ? (json_t *)values : NULL;
    }
    ret = http_send_json(ctx, 200,
                         json_pack("{s:s, s:I, s:{s:I, s:I}, s:{s:I, s:I, s:O}, s:{s:I, s:I}}", "thread_id", id,
                                   "total_bytes", cp_bytes + ch_bytes + pw_bytes, "checkpoints", "count",
                                   (json_int_t)json_array_size(list), "bytes", cp_bytes, "channel_values", "count",
                                   ch_count, "bytes", ch_bytes, "by_channel", by_channel, "pending_writes", "count",
                                   pw_count, "bytes", pw_bytes));
Exit:
    json_decref(by_channel);
    json_decref(list);
    return ret;
}

/* GET /threads/{thread_id}/state: the state at the latest checkpoint. */
int threads_state_get(http_ctx_t *ctx)
{
    return send_state(ctx, http_param_str(ctx, "thread_id"), "", NULL, http_param_bool(ctx, "subgraphs", 0));
}

/* GET /threads/{thread_id}/state/{checkpoint_id}: the state at that checkpoint. */
int threads_state_checkpoint_get(http_ctx_t *ctx)
{
    return send_state(ctx, http_param_str(ctx, "thread_id"), "", http_param_str(ctx, "checkpoint_id"),
                      http_param_bool(ctx, "subgraphs", 0));
}

/* POST /threads/{thread_id}/state/checkpoint: the state at the checkpoint the body names
 * (checkpoint_ns, checkpoint_id; without an id the latest of that namespace). */
int threads_state_checkpoint_post(http_ctx_t *ctx)
{
    const json_t *cp = json_object_get(ctx->body, "checkpoint");

    return send_state(ctx, http_param_str(ctx, "thread_id"), json_string_value(json_object_get(cp, "checkpoint_ns")),
                      json_string_value(json_object_get(cp, "checkpoint_id")),
                      json_is_true(json_object_get(ctx->body, "subgraphs")));
}

/* The graph of thread `thread` (borrowed): its metadata.graph_id, else the graph_id the latest
 * checkpoint `cp` (borrowed, may be NULL) recorded. NULL when neither names a registered graph. */
static const graph_t *thread_graph(const json_t *thread, const json_t *cp)
{
    const char *graph_id = json_string_value(json_object_get(json_object_get(thread, "metadata"), "graph_id"));

    if (graph_id == NULL)
        graph_id = json_string_value(json_object_get(json_object_get(cp, "metadata"), "graph_id"));
    return graph_id != NULL ? graph_find(graph_id) : NULL;
}

/*
 * POST /threads/{thread_id}/state: writes `values` through the graph's reducers as node
 * `as_node` on top of the checkpoint the body names (checkpoint.checkpoint_id, or the SDKs'
 * checkpoint_id; none = the latest), as a new checkpoint with source "update"; with
 * checkpoint.checkpoint_ns of a subgraph ("node:task_id"), into that subgraph's state through
 * its graph (the thread's own values stay). Answers
 * {checkpoint: {thread_id, checkpoint_ns, checkpoint_id, checkpoint_map}}, keeps the thread's
 * values in step and publishes state_update {state, thread_id} on the thread stream. 400 when
 * the thread has never run a graph.
 */
int threads_state_update(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    const json_t *values = json_object_get(ctx->body, "values");
    const json_t *cp_ref = json_object_get(ctx->body, "checkpoint");
    const char *as_node = json_string_value(json_object_get(ctx->body, "as_node"));
    const char *checkpoint_id = json_string_value(json_object_get(cp_ref, "checkpoint_id"));
    const char *ns = json_string_value(json_object_get(cp_ref, "checkpoint_ns"));
    json_t *thread = NULL, *latest = NULL, *config = NULL, *state = NULL, *patch = NULL, *sub = NULL;
    const graph_t *g;
    char *err = NULL;
    store_rc_t rc;
    int ret;

    if (checkpoint_id == NULL)
        checkpoint_id = json_string_value(json_object_get(ctx->body, "checkpoint_id"));
    if ((rc = api_ops()->thread_get(api_store(), id, api_owner(ctx), &thread)) != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    rc = api_ops()->checkpoint_get(api_store(), id, "", NULL, &latest);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    if ((g = thread_graph(thread, latest)) == NULL) {
        ret = http_send_error(ctx, 400, "Thread %s has no graph yet: run an assistant on it before updating its state", id);
        goto Exit;
    }
    if (json_is_array(values)) {
        ret = http_send_error(ctx, 422, "values: a list of updates is not supported; send one object");
        goto Exit;
    }
    rc = graph_update_state(g, api_ops(), api_store(), id, ns, json_is_null(values) ? NULL : values, as_node,
                            checkpoint_id, NULL, &config, &err);
    if (rc == STORE_NOT_FOUND && checkpoint_id != NULL) {
        ret = http_send_error(ctx, 404, "Checkpoint %s not found", checkpoint_id);
        goto Exit;
    }
    if (rc == STORE_INVALID) {
        ret = http_send_error(ctx, 422, "%s", err != NULL ? err : "invalid state update");
        goto Exit;
    }
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    if (ns != NULL && ns[0] != '\0') { /* a subgraph's state: the thread's values stay */
        if (api_ops()->checkpoint_get(api_store(), id, ns, NULL, &sub) == STORE_OK)
            state = state_from_checkpoint(sub, 0);
    } else if (graph_state_get(api_ops(), api_store(), id, NULL, &state) == STORE_OK &&
               (patch = json_pack("{s:O}", "values", json_object_get(state, "values"))) != NULL) {
        api_ops()->thread_patch(api_store(), id, patch, api_owner(ctx), NULL);
    }
    if (state != NULL) {
        json_t *ev = json_pack("{s:O, s:s}", "state", state, "thread_id", id);
        if (ev != NULL)
            exec_thread_publish(id, "state_update", ev);
        json_decref(ev);
    }
    ret = http_send_json(ctx, 200, config);
    config = NULL;
Exit:
    free(err);
    json_decref(sub);
    json_decref(patch);
    json_decref(state);
    json_decref(config);
    json_decref(latest);
    json_decref(thread);
    return ret;
}

/*
 * PATCH /threads/{thread_id}/state: merges `metadata` key by key into the metadata of the
 * thread's latest checkpoint. 404 when the thread is missing or has no checkpoint yet.
 */
int threads_state_patch(http_ctx_t *ctx)
{
    const char *id = http_param_str(ctx, "thread_id");
    json_t *metadata = api_owned_metadata(ctx, json_object_get(ctx->body, "metadata")), *cp = NULL, *merged;
    store_rc_t rc;
    int ret;

    rc = api_thread_visible(ctx, id);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    rc = api_ops()->checkpoint_get(api_store(), id, "", NULL, &cp);
    if (rc == STORE_NOT_FOUND) {
        ret = http_send_error(ctx, 404, "Thread %s has no checkpoint to patch", id);
        goto Exit;
    }
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    merged = json_object_get(cp, "metadata");
    if (!json_is_object(merged)) {
        merged = json_object();
        json_object_set_new(cp, "metadata", merged);
    }
    if (metadata != NULL)
        json_object_update(merged, metadata);
    rc = api_ops()->checkpoint_put(api_store(), cp, NULL);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Thread", id);
        goto Exit;
    }
    ret = http_send_raw(ctx, 204, NULL, "", 0);
Exit:
    json_decref(metadata);
    json_decref(cp);
    return ret;
}

/* GET /threads/{thread_id}/history: past states, newest first (limit, before). */
int threads_history_get(http_ctx_t *ctx)
{
    return send_history(ctx, http_param_str(ctx, "thread_id"), "", http_param_str(ctx, "before"), NULL, NULL,
                        http_param_int(ctx, "limit", 10));
}

/* POST /threads/{thread_id}/history: past states filtered by the body (limit, before,
 * metadata containment, checkpoint namespace and id). */
int threads_history_post(http_ctx_t *ctx)
{
    const json_t *cp = json_object_get(ctx->body, "checkpoint");
    const json_t *metadata = json_object_get(ctx->body, "metadata");
    const char *ns = json_string_value(json_object_get(cp, "checkpoint_ns"));

    return send_history(ctx, http_param_str(ctx, "thread_id"), ns != NULL ? ns : "",
                        before_id(json_object_get(ctx->body, "before")), json_is_object(metadata) ? metadata : NULL,
                        json_string_value(json_object_get(cp, "checkpoint_id")),
                        json_integer_value(json_object_get(ctx->body, "limit")));
}

/*
 * GET /threads/{thread_id}/stream: the thread's events as SSE with the thread's own event ids,
 * resumable with Last-Event-ID, filtered by stream_modes (the SDKs send stream_mode, read
 * instead when given; the router gathers either into a list, comma lists split as the official
 * server splits them): run_modes (default) every event of every run of the thread (runs started
 * later included) with a metadata {status: "run_done", run_id} after each, lifecycle only the
 * runs' start and end metadata events, state_update the state_update {state, thread_id} events
 * of state updates.
 */
int threads_join_stream(http_ctx_t *ctx)
{
    http_stream_opts_t o = {0};
    json_t *modes = json_object_get(ctx->params, "stream_mode");

    if (modes == NULL)
        modes = json_object_get(ctx->params, "stream_modes");
    o.thread_id = http_param_str(ctx, "thread_id");
    o.owner = api_owner(ctx);
    o.after_id = runs_last_event_id(ctx);
    o.modes = modes;
    return http_stream_sse(ctx, &o);
}
