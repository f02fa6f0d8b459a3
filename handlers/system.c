/*
 * handlers/system.c — the System operations: liveness (/ok, /health), server information
 * (/info), metrics (/metrics, /metrics/json), the OpenAPI document and the docs page.
 */
#include <stdlib.h>
#include <string.h>
#include "handlers.h"
#include "assets.h"
#include "http/metrics.h"
#include "http/router.h"
#include "util/config.h"

#define SYSTEM_CONTRACT_VERSION "0.12.0"
#define SYSTEM_OFFICIAL_OPERATIONS 64

static const char system_ok_body[] = "{\"ok\":true}";
static const char system_health_body[] = "{\"status\":\"ok\"}";

/* GET /ok: {"ok": true}. check_db=1 asks for a store check; the embedded store is in-process,
 * so being able to answer is the check. */
int system_ok(http_ctx_t *ctx)
{
    return http_send_raw(ctx, 200, "application/json", system_ok_body, sizeof(system_ok_body) - 1);
}

/* GET /health: {"status": "ok"}. */
int system_health(http_ctx_t *ctx)
{
    return http_send_raw(ctx, 200, "application/json", system_health_body, sizeof(system_health_body) - 1);
}

/*
 * GET /info: the four members the official server returns (version, langgraph_py_version,
 * flags, metadata) plus ours. lgserve embeds no Python langgraph; langgraph_py_version carries
 * the API contract version it implements. The capability counts come from the route flags.
 */
int system_info(http_ctx_t *ctx)
{
    const config_t *cfg = config_current();
    const router_route_t *routes;
    size_t n, i, implemented = 0, planned = 0, extensions = 0, sdk_extras = 0;
    int crons = 0;

    routes = router_routes(&n);
    for (i = 0; i != n; ++i) {
        unsigned f = routes[i].flags;
        if (f & RF_EXTENSION)
            ++extensions;
        else if (f & RF_SDK_EXTRA)
            ++sdk_extras;
        else if (f & RF_PLANNED)
            ++planned;
        else
            ++implemented;
        if (strncmp(routes[i].path, "/runs/crons", 11) == 0 && !(f & RF_PLANNED))
            crons = 1;
    }
    return http_send_json(
        ctx, 200,
        json_pack("{s:s, s:s, s:s, s:{s:b, s:b, s:b, s:b}, s:{s:s, s:s}, s:{s:i, s:I, s:I, s:I, s:I}, s:{s:s}}",
                  "version", LGSERVE_VERSION, "langgraph_py_version", SYSTEM_CONTRACT_VERSION, "contract_version",
                  SYSTEM_CONTRACT_VERSION, "flags", "assistants", 1, "crons", crons, "langsmith", 0,
                  "langsmith_tracing_replicas", 0, "metadata", "server", "lgserve", "store",
                  cfg != NULL && cfg->database_uri != NULL && cfg->database_uri[0] != '\0' ? "postgres" : "embedded",
                  "capabilities", "official_operations", SYSTEM_OFFICIAL_OPERATIONS, "implemented", (json_int_t)implemented,
                  "planned", (json_int_t)planned, "extensions", (json_int_t)extensions, "sdk_extras", (json_int_t)sdk_extras,
                  "auth", "mode", config_auth_mode(cfg)));
}

/* GET /metrics: Prometheus text by default, JSON with format=json (the spec's enum). */
int system_metrics(http_ctx_t *ctx)
{
    const char *format = http_param_str(ctx, "format");
    size_t len;
    char *text, *body;
    int rc = -1;

    if (format != NULL && strcmp(format, "json") == 0) {
        rc = http_send_json(ctx, 200, metrics_json());
        goto Exit;
    }
    if ((text = metrics_prometheus(&len)) == NULL)
        goto Exit;
    body = h2o_mem_alloc_pool(&ctx->req->pool, len);
    memcpy(body, text, len);
    free(text);
    rc = http_send_raw(ctx, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
Exit:
    return rc;
}

/* GET /metrics/json: the same counters as JSON. */
int system_metrics_json(http_ctx_t *ctx)
{
    return http_send_json(ctx, 200, metrics_json());
}

/* GET /openapi.json: the spec, embedded at build time. */
int system_openapi(http_ctx_t *ctx)
{
    return http_send_raw(ctx, 200, "application/json", (const char *)lg_openapi_json, lg_openapi_json_len);
}

/* GET /docs: the API reference page, embedded at build time. */
int system_docs(http_ctx_t *ctx)
{
    return http_send_raw(ctx, 200, "text/html; charset=utf-8", (const char *)lg_docs_html, lg_docs_html_len);
}
