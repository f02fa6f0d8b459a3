/*
 * handlers/stateless.c — the Stateless Runs operations: runs without a thread (exec gives each
 * an ephemeral thread, deleted afterwards when on_completion is "delete"): create
 * (background), batch, stream, wait, and the stateless join stream GET /runs/{run_id}/stream.
 */
#include <stdio.h>
#include <string.h>
#include "handlers.h"
#include "api.h"
#include "http/stream.h"
#include "runs.h"

/* The options that follow stateless run `run_id` (borrowed) as on_disconnect says. */
static http_stream_opts_t follow_opts(const http_ctx_t *ctx, const char *run_id)
{
    const char *on_disconnect = json_string_value(json_object_get(ctx->body, "on_disconnect"));
    http_stream_opts_t o = {0};

    o.run_id = run_id;
    o.owner = api_owner(ctx);
    o.cancel_on_disconnect = on_disconnect != NULL && strcmp(on_disconnect, "cancel") == 0;
    o.missing_ok = 1;
    return o;
}

/* POST /runs: a background run on an ephemeral thread; answers the Run with Content-Location. */
int stateless_create(http_ctx_t *ctx)
{
    char loc[64], run_id[UUID_STR_SIZE];
    json_t *run = NULL;

    if (runs_start(ctx, NULL, ctx->body, run_id, &run) != 0)
        return 0;
    snprintf(loc, sizeof(loc), "/runs/%s", run_id);
    http_add_header(ctx, "Content-Location", loc);
    return http_send_json(ctx, 200, run);
}

/* POST /runs/batch: creates each run in order; answers them, or the first failure. */
int stateless_batch(http_ctx_t *ctx)
{
    json_t *runs = json_array(), *body, *run = NULL;
    size_t i;

    json_array_foreach(ctx->body, i, body)
    {
        if (runs_start(ctx, NULL, body, NULL, &run) != 0) {
            json_decref(runs);
            return 0;
        }
        json_array_append_new(runs, run);
    }
    return http_send_json(ctx, 200, runs);
}

/* POST /runs/stream: creates the run and streams its events as SSE. */
int stateless_stream(http_ctx_t *ctx)
{
    char run_id[UUID_STR_SIZE];
    http_stream_opts_t o;

    if (runs_start(ctx, NULL, ctx->body, run_id, NULL) != 0)
        return 0;
    o = follow_opts(ctx, run_id);
    return http_stream_sse(ctx, &o);
}

/* POST /runs/wait: creates the run and answers its outcome once it ended. */
int stateless_wait(http_ctx_t *ctx)
{
    char run_id[UUID_STR_SIZE];
    http_stream_opts_t o;

    if (runs_start(ctx, NULL, ctx->body, run_id, NULL) != 0)
        return 0;
    o = follow_opts(ctx, run_id);
    return http_stream_wait(ctx, &o, 1);
}

/* GET /runs/{run_id}/stream: the run's events after Last-Event-ID, then live. */
int stateless_join_stream(http_ctx_t *ctx)
{
    http_stream_opts_t o = {0};
    json_t *modes = runs_mode_list(ctx);
    int rc;

    o.run_id = http_param_str(ctx, "run_id");
    o.owner = api_owner(ctx);
    o.after_id = runs_last_event_id(ctx);
    o.modes = modes;
    o.cancel_on_disconnect = http_param_bool(ctx, "cancel_on_disconnect", 0);
    rc = http_stream_sse(ctx, &o);
    json_decref(modes);
    return rc;
}
