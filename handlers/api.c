/*
 * handlers/api.c — shared handler helpers (see api.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "api.h"
#include "graph/graph.h"
#include "http/valid.h"
#include "store/store_global.h"
#include "util/jsoncopy.h"
#include "util/log.h"

const store_ops_t *api_ops(void)
{
    return store_global_ops();
}

store_t *api_store(void)
{
    return store_global_handle();
}

const char *api_owner(const http_ctx_t *ctx)
{
    return ctx->user != NULL ? ctx->user->id : NULL;
}

json_t *api_owned_metadata(const http_ctx_t *ctx, const json_t *metadata)
{
    const char *owner = api_owner(ctx);
    json_t *m;

    if (!json_is_object(metadata) && owner == NULL)
        return NULL;
    m = json_is_object(metadata) ? jsoncopy_containers(metadata) : json_object();
    if (m != NULL && owner != NULL && json_object_set_new(m, "owner", json_string(owner)) != 0) {
        json_decref(m);
        m = NULL;
    }
    return m;
}

store_rc_t api_thread_visible(const http_ctx_t *ctx, const char *id)
{
    json_t *t = NULL;
    store_rc_t rc = store_thread_get_shared(api_ops(), api_store(), id, api_owner(ctx), &t);

    json_decref(t);
    return rc;
}

int api_store_error(http_ctx_t *ctx, store_rc_t rc, const char *what, const char *id)
{
    switch (rc) {
    case STORE_NOT_FOUND:
        if (id != NULL)
            return http_send_error(ctx, 404, "%s %s not found", what, id);
        return http_send_error(ctx, 404, "%s not found", what);
    case STORE_CONFLICT:
        if (id != NULL)
            return http_send_error(ctx, 409, "%s %s already exists", what, id);
        return http_send_error(ctx, 409, "%s", store_last_error());
    case STORE_INVALID:
        return http_send_error(ctx, 422, "%s", store_last_error());
    default:
        log_error("%s %s: store %s: %s", ctx->route->op_id, id != NULL ? id : "", store_rc_name(rc), store_last_error());
        return http_send_error(ctx, 500, "internal error: the store failed (%s)", store_rc_name(rc));
    }
}

void api_set_pagination(http_ctx_t *ctx, int64_t offset, size_t returned, int64_t total)
{
    char buf[32];

    if (offset < 0)
        offset = 0;
    snprintf(buf, sizeof(buf), "%" PRId64, total);
    http_add_header(ctx, "x-pagination-total", buf);
    if (offset + (int64_t)returned < total && returned > 0) {
        snprintf(buf, sizeof(buf), "%" PRId64, offset + (int64_t)returned);
        http_add_header(ctx, "x-pagination-next", buf);
    }
}

void api_select(json_t *list, const json_t *select)
{
    size_t i, j;
    json_t *obj, *field;

    if (!json_is_array(select) || json_array_size(select) == 0)
        return;
    json_array_foreach(list, i, obj)
    {
        const char *key;
        json_t *value, *tmp;
        json_object_foreach_safe(obj, tmp, key, value)
        {
            int keep = 0;
            json_array_foreach(select, j, field)
            {
                if (json_is_string(field) && strcmp(json_string_value(field), key) == 0)
                    keep = 1;
            }
            if (!keep)
                json_object_del(obj, key);
        }
    }
}

const char *api_resolve_assistant_id(const char *id, char *buf)
{
    if (id == NULL)
        return NULL;
    if (valid_is_uuid(id))
        return id;
    if (graph_find(id) == NULL)
        return NULL;
    graph_system_assistant_id(id, buf);
    return buf;
}
