/*
 * handlers/store.c — the Store operations (long-term memory): put, get and delete one item,
 * search items under a namespace prefix, list namespaces. HTTP semantics only: namespace
 * labels, the dot-joined namespace of GET, TTL and paging checks; storage through store_ops_t,
 * in the caller's scope (api_owner).
 *
 * Where the contract is silent we follow the official servers: a missing item answers 200
 * `null` (the SDKs turn it into null), deleting a missing item answers 204, list_namespaces
 * answers {"namespaces": [...]} and search {"items": [...]}, and reads refresh TTLs unless
 * told not to (LangGraph's refresh_on_read default).
 */
#include <limits.h>
#include <string.h>
#include "handlers.h"
#include "api.h"
#include "http/request.h"

/* The longest TTL accepted (about 1,900 years): its expiry stays far inside int64 microseconds. */
#define ITEMS_TTL_MAX_MINUTES 1e9

/*
 * Checks that `ns` (borrowed) is an array of labels: non-empty strings without '.', at least one
 * unless `allow_empty`. Answers 422 naming `what` and returns -1 when
 * it is not; returns 0 otherwise.
 */
static int check_labels(http_ctx_t *ctx, const json_t *ns, const char *what, int allow_empty)
{
    const char *label;
    json_t *v;
    size_t i;

    if (!json_is_array(ns) || (!allow_empty && json_array_size(ns) == 0)) {
        http_send_error(ctx, 422, "%s: expected a non-empty array of labels", what);
        return -1;
    }
    json_array_foreach(ns, i, v) {
        label = json_string_value(v);
        if (label == NULL || label[0] == '\0' || strchr(label, '.') != NULL) {
            http_send_error(ctx, 422, "%s[%zu]: namespace labels must be non-empty strings without '.'", what, i);
            return -1;
        }
    }
    return 0;
}

/*
 * Reads limit and offset (integers, defaults filled by the router) from `body` (borrowed) into
 * *limit and *offset. Answers 422 and returns -1 when one is negative.
 */
static int get_paging(http_ctx_t *ctx, const json_t *body, int64_t *limit, int64_t *offset)
{
    *limit = json_integer_value(json_object_get(body, "limit"));
    *offset = json_integer_value(json_object_get(body, "offset"));
    if (*limit < 0 || *offset < 0) {
        http_send_error(ctx, 422, "%s: expected a non-negative integer", *limit < 0 ? "limit" : "offset");
        return -1;
    }
    return 0;
}

/* PUT /store/items: creates or replaces the item; 204. */
int items_put(http_ctx_t *ctx)
{
    const json_t *ns = json_object_get(ctx->body, "namespace"), *ttl = json_object_get(ctx->body, "ttl");
    const char *key = json_string_value(json_object_get(ctx->body, "key"));
    double ttl_minutes = 0;
    store_rc_t rc;

    if (check_labels(ctx, ns, "namespace", 0) != 0)
        return 0;
    if (key == NULL || key[0] == '\0')
        return http_send_error(ctx, 422, "key: expected a non-empty string");
    if (json_is_number(ttl)) {
        ttl_minutes = json_number_value(ttl);
        if (!(ttl_minutes > 0) || ttl_minutes > ITEMS_TTL_MAX_MINUTES)
            return http_send_error(ctx, 422, "ttl: expected a positive number of minutes (at most %.0f) or null",
                                   ITEMS_TTL_MAX_MINUTES);
    }
    rc = api_ops()->item_put(api_store(), api_owner(ctx), ns, key, json_object_get(ctx->body, "value"), ttl_minutes,
                             json_object_get(ctx->body, "index"));
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Item", NULL);
    return http_send_raw(ctx, 204, NULL, "", 0);
}

/* DELETE /store/items (JSON body {namespace, key}): 204, also when there was no such item. */
int items_delete(http_ctx_t *ctx)
{
    const json_t *ns = json_object_get(ctx->body, "namespace");
    const char *key = json_string_value(json_object_get(ctx->body, "key"));
    store_rc_t rc;

    if (check_labels(ctx, ns, "namespace", 0) != 0)
        return 0;
    if (key == NULL || key[0] == '\0')
        return http_send_error(ctx, 422, "key: expected a non-empty string");
    rc = api_ops()->item_delete(api_store(), api_owner(ctx), ns, key);
    if (rc != STORE_OK && rc != STORE_NOT_FOUND)
        return api_store_error(ctx, rc, "Item", NULL);
    return http_send_raw(ctx, 204, NULL, "", 0);
}

/*
 * GET /store/items?namespace=a.b&key=k[&refresh_ttl=false]: the item, or null when missing.
 * The router gathers the namespace labels (the spec declares the SDKs' dot-joined form; repeated
 * keys and a JSON array work too, and a label may hold a comma). Reading restarts the item's
 * TTL unless refresh_ttl is false (the store default of LangGraph, TTLConfig.refresh_on_read).
 */
int items_get(http_ctx_t *ctx)
{
    const char *key = http_param_str(ctx, "key");
    const json_t *ns = json_object_get(ctx->params, "namespace");
    json_t *item = NULL;
    store_rc_t rc;

    if (check_labels(ctx, ns, "namespace", 0) != 0)
        return 0;
    if (key == NULL || key[0] == '\0')
        return http_send_error(ctx, 422, "key: expected a non-empty string");
    rc = api_ops()->item_get(api_store(), api_owner(ctx), ns, key, http_param_bool(ctx, "refresh_ttl", 1), &item);
    if (rc == STORE_NOT_FOUND)
        return http_send_raw(ctx, 200, "application/json", "null", 4);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Item", NULL);
    return http_send_json(ctx, 200, item);
}

/*
 * POST /store/items/search: {"items": [...]}, newest update first, with pagination headers.
 * Returned items get their TTL restarted unless refresh_ttl is false (null means the default).
 */
int items_search(http_ctx_t *ctx)
{
    const json_t *prefix = json_object_get(ctx->body, "namespace_prefix"), *filter = json_object_get(ctx->body, "filter");
    store_item_query_t q = {0};
    json_t *items = NULL;
    int64_t total = 0;
    store_rc_t rc;

    if (prefix != NULL && !json_is_null(prefix) && check_labels(ctx, prefix, "namespace_prefix", 1) != 0)
        return 0;
    if (get_paging(ctx, ctx->body, &q.limit, &q.offset) != 0)
        return 0;
    if (q.limit == 0)
        return http_send_json(ctx, 200, json_pack("{s[]}", "items"));
    q.namespace_prefix = json_is_array(prefix) ? prefix : NULL;
    q.filter = json_is_object(filter) ? filter : NULL;
    q.refresh_ttl = !json_is_false(json_object_get(ctx->body, "refresh_ttl"));
    rc = api_ops()->item_search(api_store(), api_owner(ctx), &q, &items, &total);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Item", NULL);
    api_set_pagination(ctx, q.offset, json_array_size(items), total);
    return http_send_json(ctx, 200, json_pack("{so}", "items", items));
}

/* POST /store/namespaces: {"namespaces": [[label, ...], ...]} in lexicographic order. */
int items_namespaces(http_ctx_t *ctx)
{
    const json_t *prefix = json_object_get(ctx->body, "prefix"), *suffix = json_object_get(ctx->body, "suffix"),
                 *depth = json_object_get(ctx->body, "max_depth");
    store_ns_query_t q = {0};
    json_t *list = NULL;
    store_rc_t rc;

    if ((prefix != NULL && check_labels(ctx, prefix, "prefix", 1) != 0) ||
        (suffix != NULL && check_labels(ctx, suffix, "suffix", 1) != 0))
        return 0;
    if (depth != NULL && !json_is_null(depth)) {
        if (json_integer_value(depth) < 1)
            return http_send_error(ctx, 422, "max_depth: expected a positive integer");
        q.max_depth = json_integer_value(depth) > INT_MAX ? INT_MAX : (int)json_integer_value(depth);
    }
    if (get_paging(ctx, ctx->body, &q.limit, &q.offset) != 0)
        return 0;
    if (q.limit == 0)
        return http_send_json(ctx, 200, json_pack("{s[]}", "namespaces"));
    q.prefix = prefix;
    q.suffix = suffix;
    rc = api_ops()->item_namespaces(api_store(), api_owner(ctx), &q, &list);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Item", NULL);
    return http_send_json(ctx, 200, json_pack("{so}", "namespaces", list));
}
