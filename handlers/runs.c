/*
 * handlers/runs.c — the Thread Runs operations: create (background), stream, wait, list, get,
 * delete, join, join stream (Last-Event-ID), cancel and POST /runs/cancel. HTTP semantics only:
 * runs are created, cancelled and followed through exec (exec.h), streamed and awaited through
 * http/stream.h, read and deleted through store_ops_t.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "exec/exec.h"
#include "handlers.h"
#include "api.h"
#include "http/stream.h"
#include "runs.h"

/*
 * The request's x-* headers (but x-api-key, x-tenant-id, x-service-key and the credential
 * header EXEC_TOKEN_KEY, which travels apart: caller_token) and user-agent, names lower-cased,
 * as the official server passes them to the graph in config.configurable: a new object, or
 * NULL when there are none or memory ran out (*failed set then).
 */
static json_t *header_configurable(const http_ctx_t *ctx, int *failed)
{
    static const char *const skipped[] = {"x-api-key", "x-tenant-id", "x-service-key", EXEC_TOKEN_KEY};
    const h2o_headers_t *headers = &ctx->req->headers;
    json_t *conf = NULL;
    char name[128];
    size_t i, j;

    *failed = 0;
    for (i = 0; i != headers->size; ++i) {
        const h2o_header_t *h = headers->entries + i;
        int skip = 0;
        if (h->name->len >= sizeof(name))
            continue;
        for (j = 0; j != h->name->len; ++j)
            name[j] = (char)(h->name->base[j] >= 'A' && h->name->base[j] <= 'Z' ? h->name->base[j] + 32 : h->name->base[j]);
        name[j] = '\0';
        for (j = 0; j != sizeof(skipped) / sizeof(skipped[0]); ++j)
            skip |= strcmp(name, skipped[j]) == 0;
        if (skip || (strncmp(name, "x-", 2) != 0 && strcmp(name, "user-agent") != 0))
            continue;
        if (conf == NULL && (conf = json_object()) == NULL) {
            *failed = 1;
            break;
        }
        json_object_set_new(conf, name, json_stringn(h->value.base, h->value.len));
    }
    return conf;
}

/*
 * The credential the run's graph gets as configurable EXEC_TOKEN_KEY (exec keeps it in memory
 * only): the bearer token of the authenticated caller; without auth, the EXEC_TOKEN_KEY header
 * (as Open Agent Platform sends it), else that key of the body's config.configurable. NULL when
 * there is none. Borrowed from the request (pool) or `body`.
 */
static const char *caller_token(http_ctx_t *ctx, const json_t *body)
{
    ssize_t i;

    if (ctx->user != NULL)
        return ctx->user->token;
    i = h2o_find_header_by_str(&ctx->req->headers, H2O_STRLIT(EXEC_TOKEN_KEY), -1);
    if (i >= 0)
        return h2o_strdup(&ctx->req->pool, ctx->req->headers.entries[i].value.base,
                          ctx->req->headers.entries[i].value.len)
            .base;
    return json_string_value(json_object_get(json_object_get(json_object_get(body, "config"), "configurable"),
                                             EXEC_TOKEN_KEY));
}

int runs_start(http_ctx_t *ctx, const char *thread_id, const json_t *body, char *run_id, json_t **run)
{
    const char *given = json_string_value(json_object_get(body, "assistant_id"));
    char buf[37];
    const char *assistant_id = given != NULL ? api_resolve_assistant_id(given, buf) : NULL;
    exec_error_t err = {0};
    json_t *conf = NULL;
    int rc = -1, failed;

    if (run != NULL)
        *run = NULL;
    if (assistant_id == NULL) {
        http_send_error(ctx, 404, "Assistant %s not found", given != NULL ? given : "(none)");
        goto Exit;
    }
    if ((conf = header_configurable(ctx, &failed)) == NULL && failed) {
        http_send_error(ctx, 500, "out of memory");
        goto Exit;
    }
    if (exec_run_create(thread_id, assistant_id, body, conf, api_owner(ctx), caller_token(ctx, body), run_id, run,
                        &err) != 0) {
        http_send_error(ctx, err.status != 0 ? err.status : 500, "%s",
                        err.detail[0] != '\0' ? err.detail : "cannot create the run");
        goto Exit;
    }
    rc = 0;
Exit:
    json_decref(conf);
    return rc;
}

uint64_t runs_last_event_id(const http_ctx_t *ctx)
{
    const char *v = http_param_str(ctx, "Last-Event-ID");
    unsigned long long id;
    char *end;

    if (v == NULL || *v < '0' || *v > '9')
        return 0;
    errno = 0;
    id = strtoull(v, &end, 10);
    return errno != 0 || *end != '\0' ? 0 : (uint64_t)id;
}

json_t *runs_mode_list(const http_ctx_t *ctx)
{
    json_t *modes = json_object_get(ctx->params, "stream_mode");

    return json_is_array(modes) ? json_incref(modes) : NULL;
}

/* The options that follow run `run_id` (borrowed) as on_disconnect says. */
static http_stream_opts_t follow_opts(const http_ctx_t *ctx, const char *run_id)
{
    const char *on_disconnect = json_string_value(json_object_get(ctx->body, "on_disconnect"));
    http_stream_opts_t o = {0};

    o.thread_id = http_param_str(ctx, "thread_id");
    o.run_id = run_id;
    o.owner = api_owner(ctx);
    o.cancel_on_disconnect = on_disconnect != NULL && strcmp(on_disconnect, "cancel") == 0;
    o.missing_ok = 1;
    return o;
}

/* POST /threads/{thread_id}/runs: a background run; answers the Run with Content-Location. */
int runs_create(http_ctx_t *ctx)
{
    char loc[128], run_id[UUID_STR_SIZE];
    json_t *run;

    if (runs_start(ctx, http_param_str(ctx, "thread_id"), ctx->body, run_id, &run) != 0)
        return 0;
    snprintf(loc, sizeof(loc), "/threads/%s/runs/%s", http_param_str(ctx, "thread_id"), run_id);
    http_add_header(ctx, "Content-Location", loc);
    return http_send_json(ctx, 200, run);
}

/* POST /threads/{thread_id}/runs/stream: creates the run and streams its events as SSE. */
int runs_stream(http_ctx_t *ctx)
{
    char run_id[UUID_STR_SIZE];
    http_stream_opts_t o;

    if (runs_start(ctx, http_param_str(ctx, "thread_id"), ctx->body, run_id, NULL) != 0)
        return 0;
    o = follow_opts(ctx, run_id);
    return http_stream_sse(ctx, &o);
}

/* POST /threads/{thread_id}/runs/wait: creates the run and answers its outcome once it ended
 * (newline keep-alives meanwhile). */
int runs_wait(http_ctx_t *ctx)
{
    char run_id[UUID_STR_SIZE];
    http_stream_opts_t o;

    if (runs_start(ctx, http_param_str(ctx, "thread_id"), ctx->body, run_id, NULL) != 0)
        return 0;
    o = follow_opts(ctx, run_id);
    return http_stream_wait(ctx, &o, 1);
}

/* GET /threads/{thread_id}/runs: the thread's runs, newest first (status, limit, offset, select). */
int runs_list(http_ctx_t *ctx)
{
    const char *thread_id = http_param_str(ctx, "thread_id");
    int64_t limit = http_param_int(ctx, "limit", 10), offset = http_param_int(ctx, "offset", 0), total = 0;
    json_t *out = NULL;
    store_rc_t rc;

    if (limit < 0 || offset < 0)
        return http_send_error(ctx, 422, "%s must not be negative", limit < 0 ? "limit" : "offset");
    /* the store lists the caller's runs of any thread: someone else's thread is missing */
    if (api_owner(ctx) != NULL && (rc = api_thread_visible(ctx, thread_id)) != STORE_OK)
        return api_store_error(ctx, rc, "Thread", thread_id);
    rc = api_ops()->run_list(api_store(), thread_id, http_param_str(ctx, "status"), limit, offset, api_owner(ctx), &out,
                             &total);
    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Thread", thread_id);
    api_select(out, json_object_get(ctx->params, "select"));
    api_set_pagination(ctx, offset, json_array_size(out), total);
    return http_send_json(ctx, 200, out);
}

/* GET /threads/{thread_id}/runs/{run_id}: one run. */
int runs_get(http_ctx_t *ctx)
{
    const char *thread_id = http_param_str(ctx, "thread_id"), *run_id = http_param_str(ctx, "run_id");
    json_t *run = NULL;
    store_rc_t rc = api_ops()->run_get(api_store(), thread_id, run_id, api_owner(ctx), &run);

    if (rc != STORE_OK)
        return api_store_error(ctx, rc, "Run", run_id);
    return http_send_json(ctx, 200, run);
}

/* DELETE /threads/{thread_id}/runs/{run_id}: 204; 409 while the run is pending or running. */
int runs_delete(http_ctx_t *ctx)
{
    const char *thread_id = http_param_str(ctx, "thread_id"), *run_id = http_param_str(ctx, "run_id");
    json_t *run = NULL;
    const char *status;
    store_rc_t rc = api_ops()->run_get(api_store(), thread_id, run_id, api_owner(ctx), &run);
    int ret;

    if (rc != STORE_OK) {
        ret = api_store_error(ctx, rc, "Run", run_id);
        goto Exit;
    }
    status = json_string_value(json_object_get(run, "status"));
    if (status != NULL && (strcmp(status, "pending") == 0 || strcmp(status, "running") == 0)) {
        ret = http_send_error(ctx, 409, "Run %s is %s; cancel it before deleting it", run_id, status);
        goto Exit;
    }
    if ((rc = api_ops()->run_delete(api_store(), thread_id, run_id, api_owner(ctx))) != STORE_OK) {
        ret = api_store_error(ctx, rc, "Run", run_id);
        goto Exit;
    }
    ret = http_send_raw(ctx, 204, NULL, "", 0);
Exit:
    json_decref(run);
    return ret;
}

/* GET /threads/{thread_id}/runs/{run_id}/join: the run's outcome once it ended. */
int runs_join(http_ctx_t *ctx)
{
    http_stream_opts_t o = {0};

    o.thread_id = http_param_str(ctx, "thread_id");
    o.run_id = http_param_str(ctx, "run_id");
    o.owner = api_owner(ctx);
    o.cancel_on_disconnect = http_param_bool(ctx, "cancel_on_disconnect", 0);
    return http_stream_wait(ctx, &o, 1);
}

/* GET /threads/{thread_id}/runs/{run_id}/stream: the run's events after Last-Event-ID, then live,
 * filtered by stream_mode. */
int runs_join_stream(http_ctx_t *ctx)
{
    http_stream_opts_t o = {0};
    json_t *modes = runs_mode_list(ctx);
    int rc;

    o.thread_id = http_param_str(ctx, "thread_id");
    o.run_id = http_param_str(ctx, "run_id");
    o.owner = api_owner(ctx);
    o.after_id = runs_last_event_id(ctx);
    o.modes = modes;
    o.cancel_on_disconnect = http_param_bool(ctx, "cancel_on_disconnect", 0);
    rc = http_stream_sse(ctx, &o);
    json_decref(modes);
    return rc;
}

/* POST /threads/{thread_id}/runs/{run_id}/cancel: 202, or with wait 204 once the run stopped. */
int runs_cancel(http_ctx_t *ctx)
{
    const char *thread_id = http_param_str(ctx, "thread_id"), *run_id = http_param_str(ctx, "run_id");
    const char *action = http_param_str(ctx, "action");
    exec_error_t err = {0};
    http_stream_opts_t o = {0};

    if (exec_run_cancel(thread_id, run_id, action != NULL ? action : "interrupt", api_owner(ctx), &err) != 0)
        return http_send_error(ctx, err.status != 0 ? err.status : 500, "%s",
                               err.detail[0] != '\0' ? err.detail : "cannot cancel the run");
    if (!http_param_bool(ctx, "wait", 0))
        return http_send_raw(ctx, 202, NULL, "", 0);
    o.thread_id = thread_id;
    o.run_id = run_id;
    o.owner = api_owner(ctx);
    o.missing_ok = 1;
    o.no_content = 1;
    return http_stream_wait(ctx, &o, 0);
}

/* Whether run `run` (borrowed) is among those POST /runs/cancel names by `status`. */
static int status_matches(const json_t *run, const char *status)
{
    const char *s = json_string_value(json_object_get(run, "status"));

    return strcmp(status, "all") == 0 || (s != NULL && strcmp(s, status) == 0);
}

/* POST /runs/cancel: the runs named by thread_id + run_ids, or every active run with `status`
 * (pending, running, all); 204. */
int runs_cancel_many(http_ctx_t *ctx)
{
    const char *action = http_param_str(ctx, "action");
    const char *thread_id = json_string_value(json_object_get(ctx->body, "thread_id"));
    const char *status = json_string_value(json_object_get(ctx->body, "status"));
    const json_t *run_ids = json_object_get(ctx->body, "run_ids");
    exec_error_t err = {0};
    json_t *active = NULL, *run;
    store_rc_t src;
    size_t i;
    int rc = 0;

    if (action == NULL)
        action = "interrupt";
    if (status != NULL && (thread_id != NULL || run_ids != NULL)) {
        rc = http_send_error(ctx, 422, "give either status, or thread_id with run_ids, not both");
        goto Exit;
    }
    if (status == NULL && (thread_id == NULL || !json_is_array(run_ids))) {
        rc = http_send_error(ctx, 422, "give status, or thread_id with run_ids");
        goto Exit;
    }
    if (status == NULL) {
        json_array_foreach(run_ids, i, run)
        {
            if (exec_run_cancel(thread_id, json_string_value(run), action, api_owner(ctx), &err) != 0) {
                rc = http_send_error(ctx, err.status != 0 ? err.status : 500, "%s",
                                     err.detail[0] != '\0' ? err.detail : "cannot cancel the run");
                goto Exit;
            }
        }
        rc = http_send_raw(ctx, 204, NULL, "", 0);
        goto Exit;
    }
    if ((src = api_ops()->run_active(api_store(), NULL, &active)) != STORE_OK) {
        rc = api_store_error(ctx, src, "Runs", NULL);
        goto Exit;
    }
    json_array_foreach(active, i, run)
    {
        if (status_matches(run, status))
            exec_run_cancel(json_string_value(json_object_get(run, "thread_id")),
                            json_string_value(json_object_get(run, "run_id")), action, api_owner(ctx), &err);
    }
    rc = http_send_raw(ctx, 204, NULL, "", 0);
Exit:
    json_decref(active);
    return rc;
}
