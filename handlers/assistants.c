/*
 * handlers/assistants.c — the Assistants operations: create, get, patch (a new version), delete
 * (optionally with the assistant's threads), search and count, versions and the latest version,
 * and the graph views of an assistant (drawable graph, schemas, subgraphs).
 *
 * Wherever an assistant id arrives, a registered graph id names that graph's system assistant
 * (api_resolve_assistant_id). The spec types most assistant_id path parameters as UUIDs, so the
 * router already answers 422 for a graph id there; the operations whose spec accepts any string
 * (GET /assistants/{id}/graph) resolve it here, and a string that is neither a UUID nor a known
 * graph id is answered 404 like a missing assistant.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "handlers.h"
#include "api.h"
#include "exec/exec.h"
#include "graph/graph.h"

/*
 * Resolves the assistant_id path parameter of `ctx` into `buf` (GRAPH_ASSISTANT_ID_SIZE bytes).
 * Returns the id (borrowed: the parameter or buf), or NULL after answering 404 when it names
 * neither an assistant id nor a registered graph.
 */
static const char *resolve_path_id(http_ctx_t *ctx, char *buf)
{
    const char *raw = http_param_str(ctx, "assistant_id");
    const char *id = api_resolve_assistant_id(raw, buf);

    if (id == NULL)
        http_send_error(ctx, 404, "Assistant %s not found", raw != NULL ? raw : "");
    return id;
}

/*
 * The registered graph of assistant `id`: on success *out is the graph (borrowed from the
 * registry) and 0 is returned; otherwise the request was answered (404 for a missing assistant
 * or an unregistered graph) and -1 is returned.
 */
static int load_graph(http_ctx_t *ctx, const char *id, const graph_t **out)
{
    json_t *assistant = NULL;
    const char *graph_id;
    store_rc_t rc;
    int ret = -1;

    *out = NULL;
    if ((rc = store_assistant_get_shared(api_ops(), api_store(), id, api_owner(ctx), &assistant)) != STORE_OK) {
        api_store_error(ctx, rc, "Assistant", id);
        goto Exit;
    }
    graph_id = json_string_value(json_object_get(assistant, "graph_id"));
    if ((*out = graph_find(graph_id)) == NULL) {
        http_send_error(ctx, 404, "Graph %s not found", graph_id != NULL ? graph_id : "");
        goto Exit;
    }
    ret = 0;
Exit:
    json_decref(assistant);
    return ret;
}

/*
 * Request body `body` (borrowed) fit for the store: without an owner the body itself (the
 * store only reads its input), else a shallow copy whose metadata carries metadata.owner =
 * owner (api_owned_metadata: a client's own "owner" is overwritten). `with_metadata` says
 * whether a body without metadata gets one (create) or stays without (patch keeps the merged
 * metadata). Returns a new reference, or NULL when out of memory.
 */
static json_t *store_input(const http_ctx_t *ctx, const json_t *body, int with_metadata)
{
    json_t *in, *md;

    if (api_owner(ctx) == NULL)
        return json_incref((json_t *)body);
    if ((in = json_copy((json_t *)body)) == NULL)
        return NULL;
    if (json_object_get(in, "metadata") == NULL && !with_metadata)
        return in;
    if ((md = api_owned_metadata(ctx, json_object_get(in, "metadata"))) == NULL ||
        json_object_set_new(in, "metadata", md) != 0) {
        json_decref(in);
        return NULL;
    }
    return in;
}

/*
 * Answers 403 and returns -1 when the caller is authenticated and assistant `id` is a system
 * assistant (readable and runnable by every user, changeable by none); returns 0 otherwise,
 * also for a missing assistant, which the change itself answers 404.
 */
static int refuse_system(http_ctx_t *ctx, const char *id)
{
    json_t *a = NULL;
    int sys;

    if (api_owner(ctx) == NULL || store_assistant_get_shared(api_ops(), api_store(), id, api_owner(ctx), &a) != STORE_OK)
        return 0;
    sys = store_assistant_is_system(a);
    json_decref(a);
    if (sys)
        http_send_error(ctx, 403, "Assistant %s is a system assistant: no user can change it", id);
    return sys ? -1 : 0;
}

/* Answers 404 and returns -1 when body member graph_id is present and names no registered
 * graph; returns 0 otherwise. */
static int check_graph_id(http_ctx_t *ctx, const json_t *body)
{
    const char *graph_id = json_string_value(json_object_get(body, "graph_id"));

    if (graph_id != NULL && graph_find(graph_id) == NULL) {
        http_send_error(ctx, 404, "Graph %s not found", graph_id);
        return -1;
    }
    return 0;
}

/* Fills a store query from a search or count body (borrowed; the query borrows from it). */
static void fill_query(store_assistant_query_t *q, const json_t *body)
{
    memset(q, 0, sizeof(*q));
    q->graph_id = json_string_value(json_object_get(body, "graph_id"));
    q->name = json_string_value(json_object_get(body, "name"));
    q->metadata = json_object_get(body, "metadata");
    q->sort_by = json_string_value(json_object_get(body, "sort_by"));
    q->sort_order = json_string_value(json_object_get(body, "sort_order"));
    q->limit = json_integer_value(json_object_get(body, "limit"));
    q->offset = json_integer_value(json_object_get(body, "offset"));
}

/* POST /assistants: version 1 of a new assistant for a registered graph. if_exists "raise"
 * answers 409 for an existing id, "do_nothing" answers the existing assistant unchanged. */
int assistants_create(http_ctx_t *ctx)
{
    const char *if_exists = json_string_value(json_object_get(ctx->body, "if_exists"));
    json_t *in = NULL, *out = NULL;
    store_rc_t rc;
    int ret = 0;

    if (check_graph_id(ctx, ctx->body) != 0)
        goto Exit;
    if ((in = store_input(ctx, ctx->body, 1)) == NULL) {
        ret = -1;
        goto Exit;
    }
    rc = api_ops()->assistant_create(api_store(), in,
                                     if_exists != NULL && strcmp(if_exists, "do_nothing") == 0
                                         ? STORE_IF_EXISTS_DO_NOTHING
                                         : STORE_IF_EXISTS_RAISE,
                                     api_owner(ctx), &out);
    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Assistant", json_string_value(json_object_get(ctx->body, "assistant_id")));
        goto Exit;
    }
    ret = http_send_json(ctx, 200, out);
    out = NULL;
Exit:
    json_decref(in);
    json_decref(out);
    return ret;
}

/* POST /assistants/search: latest versions matching graph_id, name (substring) and metadata
 * (containment), sorted and paginated, each projected to `select`; X-Pagination-Total and
 * X-Pagination-Next carry the total and the next offset. */
int assistants_search(http_ctx_t *ctx)
{
    store_assistant_query_t q;
    json_t *list = NULL;
    int64_t total = 0;
    store_rc_t rc;
    int ret;

    fill_query(&q, ctx->body);
    if ((rc = api_ops()->assistant_search(api_store(), &q, api_owner(ctx), &list, &total)) != STORE_OK) {
        ret = api_store_error(ctx, rc, "Assistant", NULL);
        goto Exit;
    }
    api_set_pagination(ctx, q.offset, json_array_size(list), total);
    api_select(list, json_object_get(ctx->body, "select"));
    ret = http_send_json(ctx, 200, list);
    list = NULL;
Exit:
    json_decref(list);
    return ret;
}

/* POST /assistants/count: the number of assistants matching graph_id, name and metadata. */
int assistants_count(http_ctx_t *ctx)
{
    store_assistant_query_t q;
    int64_t count = 0;
    store_rc_t rc;

    char *text;
    int len;

    fill_query(&q, ctx->body);
    if ((rc = api_ops()->assistant_count(api_store(), &q, api_owner(ctx), &count)) != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", NULL);
    /* http_send_json encodes objects and arrays only: the bare number is sent as raw JSON. */
    text = h2o_mem_alloc_pool(&ctx->req->pool, 24);
    len = snprintf(text, 24, "%" PRId64, count);
    return http_send_raw(ctx, 200, "application/json", text, (size_t)len);
}

/* GET /assistants/{assistant_id}: the latest version. */
int assistants_get(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    const char *id;
    json_t *out = NULL;
    store_rc_t rc;

    if ((id = resolve_path_id(ctx, buf)) == NULL)
        return 0;
    if ((rc = api_ops()->assistant_get(api_store(), id, api_owner(ctx), &out)) != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", id);
    return http_send_json(ctx, 200, out);
}

/*
 * Deletes every thread whose metadata.assistant_id is `id` (visible to the request's owner), as
 * DELETE /threads/{thread_id} does (exec_thread_delete: its active runs cancelled first).
 * Returns 0, or -1 after answering the store failure.
 */
static int delete_threads_of(http_ctx_t *ctx, const char *id)
{
    store_thread_query_t q;
    json_t *metadata = json_pack("{ss}", "assistant_id", id), *threads = NULL, *t;
    store_rc_t rc;
    size_t i;
    int ret = -1;

    memset(&q, 0, sizeof(q));
    q.metadata = metadata;
    if ((rc = api_ops()->thread_search(api_store(), &q, api_owner(ctx), &threads, NULL)) != STORE_OK) {
        api_store_error(ctx, rc, "Thread", NULL);
        goto Exit;
    }
    json_array_foreach(threads, i, t)
    {
        const char *tid = json_string_value(json_object_get(t, "thread_id"));
        rc = exec_thread_delete(tid, api_owner(ctx));
        if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
            api_store_error(ctx, rc, "Thread", tid);
            goto Exit;
        }
    }
    ret = 0;
Exit:
    json_decref(threads);
    json_decref(metadata);
    return ret;
}

/* DELETE /assistants/{assistant_id}: deletes the assistant with all its versions and, with
 * delete_threads=true, the threads whose metadata.assistant_id names it. Answers [id] as the
 * official server does. */
int assistants_delete(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE], *text;
    const char *id;
    store_rc_t rc;
    size_t len;

    if ((id = resolve_path_id(ctx, buf)) == NULL || refuse_system(ctx, id) != 0)
        return 0;
    if ((rc = api_ops()->assistant_delete(api_store(), id, api_owner(ctx))) != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", id);
    if (http_param_bool(ctx, "delete_threads", 0) && delete_threads_of(ctx, id) != 0)
        return 0;
    /* [id]: the id is a UUID (the route's or the system assistant's), nothing to escape */
    len = strlen(id) + 4;
    text = h2o_mem_alloc_pool(&ctx->req->pool, len);
    memcpy(text, "[\"", 2);
    memcpy(text + 2, id, len - 4);
    memcpy(text + len - 2, "\"]", 2);
    return http_send_raw(ctx, 200, "application/json", text, len);
}

/* PATCH /assistants/{assistant_id}: a new version from the latest one; metadata is merged,
 * the other given fields replace; a given graph_id must be registered. */
int assistants_patch(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    const char *id;
    json_t *in = NULL, *out = NULL;
    store_rc_t rc;
    int ret = 0;

    if ((id = resolve_path_id(ctx, buf)) == NULL || check_graph_id(ctx, ctx->body) != 0 || refuse_system(ctx, id) != 0)
        goto Exit;
    if ((in = store_input(ctx, ctx->body, 0)) == NULL) {
        ret = -1;
        goto Exit;
    }
    if ((rc = api_ops()->assistant_patch(api_store(), id, in, api_owner(ctx), &out)) != STORE_OK) {
        ret = api_store_error(ctx, rc, "Assistant", id);
        goto Exit;
    }
    ret = http_send_json(ctx, 200, out);
    out = NULL;
Exit:
    json_decref(in);
    json_decref(out);
    return ret;
}

/* GET /assistants/{assistant_id}/graph: nodes and edges of the assistant's graph. xray is a
 * boolean (true: every level) or a positive depth. */
int assistants_graph_get(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    json_t *xray = json_object_get(ctx->params, "xray"), *drawn;
    const graph_t *g;
    const char *id;
    int depth = 0;

    if (json_is_integer(xray)) {
        if (json_integer_value(xray) <= 0)
            return http_send_error(ctx, 422, "xray: expected a boolean or a positive integer");
        depth = json_integer_value(xray) > 1000 ? 1000 : (int)json_integer_value(xray);
    } else if (json_is_true(xray)) {
        depth = -1;
    }
    if ((id = resolve_path_id(ctx, buf)) == NULL || load_graph(ctx, id, &g) != 0)
        return 0;
    if ((drawn = graph_draw(g, depth)) == NULL)
        return -1;
    return http_send_json(ctx, 200, drawn);
}

/* Answers the subgraphs of the assistant in the path under namespace `ns` (NULL: all). */
static int send_subgraphs(http_ctx_t *ctx, const char *ns)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    const graph_t *g;
    const char *id;
    json_t *subgraphs;

    if ((id = resolve_path_id(ctx, buf)) == NULL || load_graph(ctx, id, &g) != 0)
        return 0;
    if ((subgraphs = graph_subgraphs(g, ns, http_param_bool(ctx, "recurse", 0))) == NULL)
        return -1;
    return http_send_json(ctx, 200, subgraphs);
}

/* GET /assistants/{assistant_id}/subgraphs: namespace -> schemas of every subgraph. */
int assistants_subgraphs_get(http_ctx_t *ctx)
{
    return send_subgraphs(ctx, NULL);
}

/* GET /assistants/{assistant_id}/subgraphs/{namespace}: the subgraphs under one namespace. */
int assistants_subgraphs_ns_get(http_ctx_t *ctx)
{
    return send_subgraphs(ctx, http_param_str(ctx, "namespace"));
}

/* GET /assistants/{assistant_id}/schemas: input, output, state, config and context schemas of
 * the assistant's graph. */
int assistants_schemas_get(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    const graph_t *g;
    const char *id;
    json_t *schemas;

    if ((id = resolve_path_id(ctx, buf)) == NULL || load_graph(ctx, id, &g) != 0)
        return 0;
    if ((schemas = graph_schemas(g)) == NULL)
        return -1;
    return http_send_json(ctx, 200, schemas);
}

/* POST /assistants/{assistant_id}/versions: the versions whose metadata contains the body's
 * metadata, newest first, paginated by the body's limit/offset; 404 for a missing assistant. */
int assistants_versions_list(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    json_t *list = NULL;
    int64_t total = 0, offset = json_integer_value(json_object_get(ctx->body, "offset"));
    const char *id;
    store_rc_t rc;

    if ((id = resolve_path_id(ctx, buf)) == NULL)
        return 0;
    rc = api_ops()->assistant_versions(api_store(), id, json_object_get(ctx->body, "metadata"),
                                       json_integer_value(json_object_get(ctx->body, "limit")), offset,
                                       api_owner(ctx), &list, &total);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", id);
    api_set_pagination(ctx, offset, json_array_size(list), total);
    return http_send_json(ctx, 200, list);
}

/* POST /assistants/{assistant_id}/latest: makes an existing version the latest. The version
 * arrives as the query parameter (spec) or as the body's {"version"} (SDKs); when both are
 * given they must agree. 404 for a missing assistant or version. */
int assistants_latest_set(http_ctx_t *ctx)
{
    char buf[GRAPH_ASSISTANT_ID_SIZE];
    json_t *in_query = json_object_get(ctx->params, "version"), *out = NULL;
    json_t *in_body = ctx->body != NULL ? json_object_get(ctx->body, "version") : NULL;
    json_int_t version;
    const char *id;
    store_rc_t rc;

    if (in_query == NULL && (in_body == NULL || json_is_null(in_body)))
        return http_send_error(ctx, 422, "version: required (query parameter or body field)");
    if (in_query != NULL && in_body != NULL && !json_equal(in_query, in_body))
        return http_send_error(ctx, 422, "version: the query parameter and the body disagree");
    version = json_integer_value(in_query != NULL ? in_query : in_body);
    if ((id = resolve_path_id(ctx, buf)) == NULL)
        return 0;
    if ((rc = api_ops()->assistant_get(api_store(), id, api_owner(ctx), &out)) != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", id);
    json_decref(out);
    out = NULL;
    if (refuse_system(ctx, id) != 0)
        return 0;
    rc = api_ops()->assistant_set_latest(api_store(), id, version, api_owner(ctx), &out);
    if (rc == STORE_NOT_FOUND)
        return http_send_error(ctx, 404, "Assistant %s has no version %" JSON_INTEGER_FORMAT, id, version);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Assistant", id);
    return http_send_json(ctx, 200, out);
}
