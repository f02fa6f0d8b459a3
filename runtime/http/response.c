/*
 * runtime/http/response.c — the response helpers and parameter accessors of http.h, and the
 * shared 501 handler of planned operations. Response bodies are serialized into the request
 * pool, so they live exactly as long as h2o needs them. While the pipeline parks responses
 * (request.h: a write handler whose store writes are not durable yet), http_send_raw prepares
 * the response without sending it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/http.h"
#include "http/request.h"
#include "http/router.h"
#include "util/jsonw.h"
#include "util/log.h"

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

_Thread_local http_parked_t *http_parking;

void http_send_parked(http_ctx_t *ctx, h2o_iovec_t body)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_req_t *req = ctx->req;

    /* an empty body goes as no buffer at all: h2o would otherwise wait for the socket to be
     * writable once more (epoll add, wait, empty writev, epoll mod) before ending the response */
    h2o_start_response(req, &generator);
    h2o_send(req, &body,
             body.len == 0 || h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD")) ? 0 : 1,
             H2O_SEND_STATE_FINAL);
}

int http_send_raw(http_ctx_t *ctx, int status, const char *content_type, const char *body, size_t len)
{
    h2o_req_t *req = ctx->req;
    h2o_iovec_t buf = h2o_iovec_init(body, len);

    if (ctx->responded) {
        log_error("second response to request %s ignored (status %d)", ctx->request_id, status);
        goto Exit;
    }
    ctx->responded = 1;
    req->res.status = status;
    req->res.reason = reason_of(status);
    if (content_type != NULL)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    req->res.content_length = len;
    if (http_parking != NULL && http_parking->ctx == ctx) {
        http_parking->parked = 1;
        http_parking->body = buf;
        goto Exit;
    }
    http_send_parked(ctx, buf);
Exit:
    return 0;
}

h2o_iovec_t http_json_in_pool(h2o_mem_pool_t *pool, const json_t *v)
{
    size_t len = 0;
    char *text = jsonw_dumps(v, &len), *p;

    p = h2o_mem_alloc_pool(pool, len + 1);
    if (text != NULL)
        memcpy(p, text, len + 1);
    else
        p[0] = '\0';
    free(text);
    return h2o_iovec_init(p, len);
}

int http_send_json(http_ctx_t *ctx, int status, json_t *body)
{
    h2o_iovec_t text;

    if (body == NULL) {
        log_error("no response body for request %s (out of memory?)", ctx->request_id);
        http_send_raw(ctx, 500, "application/json", "{\"detail\":\"internal error\"}", 27);
        goto Exit;
    }
    text = http_json_in_pool(&ctx->req->pool, body);
    http_send_raw(ctx, status, "application/json", text.base, text.len);
Exit:
    json_decref(body);
    return 0;
}

int http_send_error(http_ctx_t *ctx, int status, const char *fmt, ...)
{
    char detail[1024];
    json_t *body;
    va_list ap;
    size_t i;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if ((body = json_pack("{s:s}", "detail", detail)) == NULL) {
        /* not UTF-8 (e.g. a raw request path): keep the ASCII, mask the rest */
        for (i = 0; detail[i] != '\0'; ++i)
            if ((unsigned char)detail[i] >= 0x80)
                detail[i] = '?';
        body = json_pack("{s:s}", "detail", detail);
    }
    return http_send_json(ctx, status, body);
}

void http_add_header(http_ctx_t *ctx, const char *name, const char *value)
{
    h2o_mem_pool_t *pool = &ctx->req->pool;
    size_t nlen = strlen(name), i;
    char *lname = h2o_mem_alloc_pool(pool, nlen + 1);

    for (i = 0; i != nlen; ++i)
        lname[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    lname[nlen] = '\0';
    h2o_iovec_t v = h2o_strdup(pool, value, SIZE_MAX);
    h2o_add_header_by_str(pool, &ctx->req->res.headers, lname, nlen, 1, NULL, v.base, v.len);
}

const char *http_param_str(const http_ctx_t *ctx, const char *name)
{
    return json_string_value(json_object_get(ctx->params, name));
}

json_int_t http_param_int(const http_ctx_t *ctx, const char *name, json_int_t dflt)
{
    json_t *v = json_object_get(ctx->params, name);

    return json_is_integer(v) ? json_integer_value(v) : json_is_boolean(v) ? (json_int_t)json_is_true(v) : dflt;
}

int http_param_bool(const http_ctx_t *ctx, const char *name, int dflt)
{
    json_t *v = json_object_get(ctx->params, name);

    return json_is_boolean(v) ? json_is_true(v) : json_is_integer(v) ? json_integer_value(v) != 0 : dflt;
}

int http_not_implemented(http_ctx_t *ctx)
{
    return http_send_error(ctx, 501, "%s %s is not implemented yet", http_method_name(ctx->route->method), ctx->route->path);
}
