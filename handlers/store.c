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
#include <stdlib.h>
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

/* Appends the labels of [s, s+len) split on '.' to `ns`. Returns 0, or -1 when out of memory. */
static int append_dotted(json_t *ns, const char *s, size_t len)
{
    const char *end = s + len, *dot;

    for (;;) {
        dot = memchr(s, '.', (size_t)(end - s));
        if (json_array_append_new(ns, json_stringn(s, (size_t)((dot != NULL ? dot : end) - s))) != 0)
            return -1;
        if (dot == NULL)
            return 0;
        s = dot + 1;
    }
}

/*
 * Appends the labels of one raw `namespace` query value (decoded) to `ns`: a JSON array of
 * strings is spread as it is; anything else is the SDKs' dot-joined form. Labels are read from
 * the raw query rather than from ctx->params because the router splits array parameters on
 * commas, and a label may contain one. Returns 0, or -1 when out of memory.
 */
static int append_query_value(json_t *ns, const char *s, size_t len)
{
    json_t *arr = NULL, *el;
    size_t i;
    int rc = -1;

    if (len != 0 && s[0] == '[' && (arr = json_loadb(s, len, 0, NULL)) != NULL && json_is_array(arr)) {
        json_array_foreach(arr, i, el) {
            if (json_array_append(ns, json_is_string(el) ? el : json_null()) != 0)
                goto Exit;
        }
    } else if (append_dotted(ns, s, len) != 0) {
        goto Exit;
    }
    rc = 0;
Exit:
    json_decref(arr);
    return rc;
}

/*
 * The namespace of GET /store/items from the raw query: every `namespace=` occurrence
 * contributes its labels (so "a.b", "namespace=a&namespace=b" and '["a","b"]' are all
 * ["a", "b"]). Returns a new reference (an empty array when there is none), or NULL when out of
 * memory or the query is malformed (the router has already rejected bad escapes).
 */
static json_t *query_namespace(const h2o_req_t *req)
{
    const char *q, *qend, *amp, *stop, *eq;
    char *val = NULL, kbuf[32];
    json_t *ns = json_array();
    ssize_t n;

    if (ns == NULL || req->query_at == SIZE_MAX)
        return ns;
    q = req->path.base + req->query_at + 1;
    qend = req->path.base + req->path.len;
    while (q < qend) {
        amp = memchr(q, '&', (size_t)(qend - q));
        stop = amp != NULL ? amp : qend;
        eq = memchr(q, '=', (size_t)(stop - q));
        if (eq != NULL && (size_t)(eq - q) < sizeof(kbuf) &&
            http_pct_decode(kbuf, q, (size_t)(eq - q), 1) == (ssize_t)sizeof("namespace") - 1 &&
            memcmp(kbuf, "namespace", sizeof("namespace") - 1) == 0) {
            if ((val = malloc((size_t)(stop - eq))) == NULL ||
                (n = http_pct_decode(val, eq + 1, (size_t)(stop - eq - 1), 1)) < 0 ||
                append_query_value(ns, val, (size_t)n) != 0)
                goto Fail;
            free(val);
            val = NULL;
        }
        q = stop + 1;
    }
    return ns;
Fail:
    free(val);
    json_decref(ns);
    return NULL;
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
 * Reading restarts the item's TTL unless refresh_ttl is false (the store default of LangGraph,
 * TTLConfig.refresh_on_read).
 */
int items_get(http_ctx_t *ctx)
{
    const char *key = http_param_str(ctx, "key");
    json_t *ns = query_namespace(ctx->req), *item = NULL;
    store_rc_t rc;
    int ret = 0;

    if (ns == NULL) {
        ret = -1;
        goto Exit;
    }
    if (check_labels(ctx, ns, "namespace", 0) != 0)
        goto Exit;
    if (key == NULL || key[0] == '\0') {
        http_send_error(ctx, 422, "key: expected a non-empty string");
        goto Exit;
    }
    rc = api_ops()->item_get(api_store(), api_owner(ctx), ns, key, http_param_bool(ctx, "refresh_ttl", 1), &item);
    if (rc == STORE_NOT_FOUND)
        http_send_raw(ctx, 200, "application/json", "null", 4);
    else if (rc != STORE_OK)
        api_store_error(ctx, rc, "Item", NULL);
    else
        http_send_json(ctx, 200, item);
Exit:
    json_decref(ns);
    return ret;
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
