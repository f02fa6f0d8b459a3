/*
 * runtime/llm/llm.c — the chat-completions call: builds the request, drives libcurl from the
 * calling thread (a multi handle polled every 50 ms so cancellation and the idle timeout are
 * checked promptly), parses a streamed answer with the SSE parser as it arrives, and turns
 * every failure into one line naming the endpoint (contract in llm.h).
 *
 * Each thread keeps one multi and one easy handle in thread-local storage, so successive
 * calls of a worker reuse their connections; a pthread key destructor releases them.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "llm/llm.h"
#include "llm/llm_internal.h"
#include "sse/sse.h"
#include "util/jsonr.h"
#include "util/jsonw.h"
#include "util/time.h"

/* How often the waiting loop checks should_cancel and the idle timeout. */
#define LLM_POLL_MS 50
/* Largest non-streamed answer kept; a bigger one is an error. */
#define LLM_MAX_BODY ((size_t)32 << 20)
/* Bytes of an error answer kept for its message. */
#define LLM_MAX_ERROR_BODY ((size_t)64 << 10)
/* Characters of a provider's error text quoted in a message. */
#define LLM_QUOTE_MAX 300

/* The curl handles of one thread. */
typedef struct llm_thread {
    CURLM *multi;
    CURL *easy;
} llm_thread_t;

/* One call in flight; lives on the caller's stack. */
typedef struct llm_call {
    const llm_config_t *cfg;
    const llm_callbacks_t *cb;
    void *user;
    CURL *easy;
    int stream;        /* the request asked for a stream */
    int classified;    /* status and content type of the answer looked at */
    long status;       /* HTTP status */
    int sse;           /* the answer is an event stream (else one JSON body) */
    int done;          /* data: [DONE] arrived */
    int rc;            /* LLM_OK, or the failure the callbacks hit */
    sse_parser_t parser;
    llm_stream_t acc;
    jsonw_buf_t chunk_text; /* the text of the latest fast-path chunk, reused per chunk */
    llm_buf_t body; /* the JSON answer, or an error answer */
    int64_t last_rx_us;
    char *err;
    size_t cap;
} llm_call_t;

static pthread_once_t llm_once = PTHREAD_ONCE_INIT;
static pthread_key_t llm_key;
static int llm_init_ok;

/* pthread key destructor: releases a thread's handles at thread exit. */
static void thread_free(void *p)
{
    llm_thread_t *t = p;

    if (t->easy != NULL)
        curl_easy_cleanup(t->easy);
    if (t->multi != NULL)
        curl_multi_cleanup(t->multi);
    free(t);
}

static void llm_init(void)
{
    llm_init_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK &&
                  pthread_key_create(&llm_key, thread_free) == 0;
}

/* The calling thread's handles, created on first use; borrowed. NULL when out of memory. */
static llm_thread_t *thread_handles(void)
{
    llm_thread_t *t;

    if (pthread_once(&llm_once, llm_init) != 0 || !llm_init_ok)
        return NULL;
    t = pthread_getspecific(llm_key);
    if (t != NULL)
        return t;
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->multi = curl_multi_init();
    t->easy = curl_easy_init();
    if (t->multi == NULL || t->easy == NULL || pthread_setspecific(llm_key, t) != 0) {
        thread_free(t);
        return NULL;
    }
    return t;
}

/* Records the first failure of the call: `rc` and its message (a printf format). */
static void call_fail(llm_call_t *c, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void call_fail(llm_call_t *c, int rc, const char *fmt, ...)
{
    va_list ap;

    if (c->rc != LLM_OK)
        return;
    c->rc = rc;
    if (c->err != NULL && c->cap > 0) {
        va_start(ap, fmt);
        vsnprintf(c->err, c->cap, fmt, ap);
        va_end(ap);
    }
}

json_t *llm_token_chunk(const llm_token_t *t)
{
    if (t->chunk != NULL)
        return json_incref((json_t *)t->chunk);
    return jsonr_loadb(t->json, t->json_len, NULL);
}

/* Hands `tok` to on_token; a non-zero answer cancels the call. */
static void deliver(llm_call_t *c, const llm_token_t *tok)
{
    if (c->cb->on_token(c->user, tok) != 0)
        call_fail(c, LLM_CANCELLED, "LLM call cancelled");
}

/* SSE callback: one `data:` event of the stream. Returns non-zero to stop the parser. */
static int on_event(void *user, const sse_event_t *ev)
{
    llm_call_t *c = user;
    char msg[512];
    json_error_t jerr;
    json_t *chunk, *chunk_msg = NULL;
    llm_token_t tok = {0};
    int r;

    if (c->done)
        return 0;
    if (ev->data_len == 6 && memcmp(ev->data, "[DONE]", 6) == 0) {
        c->done = 1;
        return 0;
    }
    /* the common content chunk straight from its text; the rest through jansson objects */
    r = llm_stream_apply_text(&c->acc, ev->data, ev->data_len,
                              c->cb->on_token != NULL ? &c->chunk_text : NULL, &tok.text, &tok.len);
    if (r < 0) {
        call_fail(c, LLM_ERROR, "out of memory");
        return 1;
    }
    if (r > 0) {
        if (c->cb->on_token != NULL && c->chunk_text.len > 0) {
            tok.id = c->acc.id.data;
            tok.json = c->chunk_text.data;
            tok.json_len = c->chunk_text.len;
            deliver(c, &tok);
        }
        return c->rc != LLM_OK;
    }
    /* the fast reader for the common case; jansson decides everything else (scalars, \u0000) */
    chunk = jsonr_loadb(ev->data, ev->data_len, NULL);
    if (!json_is_object(chunk)) {
        json_decref(chunk);
        chunk = json_loadb(ev->data, ev->data_len, JSON_ALLOW_NUL, &jerr);
    }
    if (chunk == NULL) {
        call_fail(c, LLM_ERROR, "LLM at %s sent a malformed stream chunk: %s: %.*s",
                  c->cfg->base_url, jerr.text, (int)(ev->data_len < 80 ? ev->data_len : 80),
                  ev->data_len > 0 ? ev->data : "");
        return 1;
    }
    r = llm_stream_apply(&c->acc, chunk, c->cb->on_token != NULL ? &chunk_msg : NULL, &tok.text,
                         &tok.len, msg, sizeof msg);
    if (r == -2)
        call_fail(c, LLM_ERROR, "LLM at %s reported an error: %.*s", c->cfg->base_url,
                  LLM_QUOTE_MAX, msg);
    else if (r != 0)
        call_fail(c, LLM_ERROR, "LLM at %s sent a malformed stream chunk: %s", c->cfg->base_url,
                  msg);
    else if (chunk_msg != NULL) {
        tok.id = c->acc.id.data;
        tok.chunk = chunk_msg;
        deliver(c, &tok);
    }
    json_decref(chunk_msg);
    json_decref(chunk);
    return c->rc != LLM_OK;
}

/* Looks at the status and content type once the first bytes of the answer arrive. */
static void classify(llm_call_t *c)
{
    const char *ctype = NULL;

    c->classified = 1;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ctype);
    c->sse = c->stream && c->status >= 200 && c->status < 300 &&
             (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0);
}

/* curl write callback: the body of the answer, in pieces. Returns size*n, or 0 to abort. */
static size_t on_body(char *ptr, size_t size, size_t n, void *user)
{
    llm_call_t *c = user;
    size_t len = size * n;

    c->last_rx_us = time_mono_us();
    if (!c->classified)
        classify(c);
    if (c->sse) {
        if (sse_parser_execute(&c->parser, ptr, len) < 0) {
            call_fail(c, LLM_ERROR, "LLM at %s sent a malformed stream: %s", c->cfg->base_url,
                      sse_strerror(sse_parser_error(&c->parser)));
            return 0;
        }
        return len;
    }
    if (c->status >= 200 && c->status < 300) {
        if (c->body.len + len > LLM_MAX_BODY) {
            call_fail(c, LLM_ERROR, "LLM at %s sent an answer over %zu bytes", c->cfg->base_url,
                      LLM_MAX_BODY);
            return 0;
        }
    } else if (c->body.len + len > LLM_MAX_ERROR_BODY) {
        len = c->body.len < LLM_MAX_ERROR_BODY ? LLM_MAX_ERROR_BODY - c->body.len : 0;
        if (llm_buf_append(&c->body, ptr, len) != 0)
            return 0;
        return size * n;
    }
    if (llm_buf_append(&c->body, ptr, len) != 0) {
        call_fail(c, LLM_ERROR, "out of memory");
        return 0;
    }
    return len;
}

/*
 * The request body: a malloc'd JSON text (caller frees), or NULL when out of memory or when
 * `messages` / `tools` are not arrays (message in err).
 */
static char *request_body(const llm_config_t *cfg, const json_t *messages, const json_t *tools,
                          int stream, char *err, size_t cap)
{
    json_t *req;
    char *text = NULL;

    if (!json_is_array(messages) || (tools != NULL && !json_is_null(tools) && !json_is_array(tools))) {
        llm_set_err(err, cap, "LLM call: messages and tools must be lists");
        return NULL;
    }
    /* built directly: json_pack parses its format on every call */
    req = json_object();
    if (req == NULL || json_object_set_new(req, "model", json_string(cfg->model)) != 0 ||
        json_object_set(req, "messages", (json_t *)messages) != 0 ||
        json_object_set_new(req, "stream", json_boolean(stream)) != 0)
        goto Exit;
    if (stream) {
        json_t *opts = json_object();

        json_object_set_new(opts, "include_usage", json_true());
        json_object_set_new(req, "stream_options", opts);
    }
    if (json_array_size(tools) > 0)
        json_object_set(req, "tools", (json_t *)tools);
    if (cfg->has_temperature)
        json_object_set_new(req, "temperature", json_real(cfg->temperature));
    if (cfg->max_tokens > 0)
        json_object_set_new(req, "max_tokens", json_integer(cfg->max_tokens));
    text = jsonw_dumps(req, NULL);
Exit:
    if (text == NULL)
        llm_set_err(err, cap, "out of memory");
    json_decref(req);
    return text;
}

/*
 * The provider's error text in an error answer `body` (borrowed): error.message, error (a
 * string), detail or message of a JSON object, else the body itself. Written into out.
 */
static void error_text(const llm_buf_t *body, char *out, size_t cap)
{
    json_t *j = body->len > 0 ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const json_t *e = json_object_get(j, "error");
    const char *s = NULL;

    if (json_is_string(json_object_get(e, "message")))
        s = json_string_value(json_object_get(e, "message"));
    else if (json_is_string(e))
        s = json_string_value(e);
    else if (json_is_string(json_object_get(j, "detail")))
        s = json_string_value(json_object_get(j, "detail"));
    else if (json_is_string(json_object_get(j, "message")))
        s = json_string_value(json_object_get(j, "message"));
    if (s != NULL)
        snprintf(out, cap, "%.*s", LLM_QUOTE_MAX, s);
    else if (body->len > 0)
        snprintf(out, cap, "%.*s", (int)(body->len < LLM_QUOTE_MAX ? body->len : LLM_QUOTE_MAX),
                 body->data);
    else
        snprintf(out, cap, "(empty answer)");
    json_decref(j);
}

/* Turns the control characters of `s` (may be NULL) into spaces, so a message stays one line. */
static void one_line(char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if ((unsigned char)*s < 0x20)
            *s = ' ';
}

/* Sets the options of one request on the thread's easy handle. Returns 0 or -1 (message). */
static int setup(llm_call_t *c, const char *url, const char *body, struct curl_slist *headers)
{
    CURL *h = c->easy;
    CURLcode e = CURLE_OK;

    curl_easy_reset(h);
#define SET(opt, val)                                                                              \
    if (e == CURLE_OK)                                                                             \
    e = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_CONNECTTIMEOUT_MS, c->cfg->connect_timeout_ms > 0 ? c->cfg->connect_timeout_ms
                                                                  : LLM_DEFAULT_CONNECT_TIMEOUT_MS);
    SET(CURLOPT_TCP_NODELAY, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_USERAGENT, "lgserve/" LGSERVE_VERSION);
#undef SET
    if (e != CURLE_OK) {
        call_fail(c, LLM_ERROR, "LLM call to %s: %s", c->cfg->base_url, curl_easy_strerror(e));
        return -1;
    }
    return 0;
}

/* Runs the transfer on the thread's multi handle until it ends, fails, times out or is
 * cancelled. Returns curl's result for the transfer. */
static CURLcode run_transfer(llm_call_t *c, CURLM *multi)
{
    int64_t idle_us = (c->cfg->idle_timeout_ms > 0 ? c->cfg->idle_timeout_ms
                                                   : LLM_DEFAULT_IDLE_TIMEOUT_MS) * 1000;
    CURLcode result = CURLE_OK;
    CURLMsg *m;
    int running = 1, left;

    c->last_rx_us = time_mono_us();
    if (curl_multi_add_handle(multi, c->easy) != CURLM_OK)
        return CURLE_OUT_OF_MEMORY;
    for (;;) {
        if (curl_multi_perform(multi, &running) != CURLM_OK) {
            result = CURLE_RECV_ERROR;
            break;
        }
        if (running == 0)
            break;
        if (c->rc != LLM_OK)
            break;
        if (c->cb->should_cancel != NULL && c->cb->should_cancel(c->user)) {
            call_fail(c, LLM_CANCELLED, "LLM call cancelled");
            break;
        }
        if (time_mono_us() - c->last_rx_us > idle_us) {
            call_fail(c, LLM_ERROR, "LLM at %s sent nothing for %lld ms (idle timeout)",
                      c->cfg->base_url, (long long)(idle_us / 1000));
            break;
        }
        curl_multi_poll(multi, NULL, 0, LLM_POLL_MS, NULL);
    }
    while ((m = curl_multi_info_read(multi, &left)) != NULL)
        if (m->msg == CURLMSG_DONE && m->easy_handle == c->easy)
            result = m->data.result;
    curl_multi_remove_handle(multi, c->easy);
    return result;
}

/* Whether curl result `e` means the endpoint could not be reached at all. */
static int unreachable(CURLcode e)
{
    return e == CURLE_COULDNT_CONNECT || e == CURLE_COULDNT_RESOLVE_HOST ||
           e == CURLE_COULDNT_RESOLVE_PROXY || e == CURLE_OPERATION_TIMEDOUT ||
           e == CURLE_SSL_CONNECT_ERROR || e == CURLE_PEER_FAILED_VERIFICATION ||
           e == CURLE_UNSUPPORTED_PROTOCOL || e == CURLE_URL_MALFORMAT;
}

/* Turns the finished transfer into the AI message (*out, new reference) or a failure. */
static void finish(llm_call_t *c, CURLcode result, json_t **out)
{
    char text[LLM_QUOTE_MAX + 16], msg[512];
    json_t *j;
    int r;

    if (c->rc != LLM_OK)
        return;
    if (result != CURLE_OK) {
        if (unreachable(result) && !c->classified)
            call_fail(c, LLM_ERROR, "cannot reach LLM at %s: %s", c->cfg->base_url,
                      curl_easy_strerror(result));
        else
            call_fail(c, LLM_ERROR, "LLM at %s failed mid-answer: %s", c->cfg->base_url,
                      curl_easy_strerror(result));
        return;
    }
    if (!c->classified)
        classify(c);
    if (c->status < 200 || c->status >= 300) {
        error_text(&c->body, text, sizeof text);
        call_fail(c, LLM_ERROR, "LLM at %s answered %ld: %s", c->cfg->base_url, c->status, text);
        return;
    }
    if (c->sse) {
        sse_parser_finish(&c->parser);
        if (c->rc != LLM_OK)
            return;
        if (!c->done && c->acc.finish_reason.len == 0) {
            call_fail(c, LLM_ERROR, "LLM at %s ended the stream before the answer was complete",
                      c->cfg->base_url);
            return;
        }
    } else {
        j = jsonr_loadb(c->body.data != NULL ? c->body.data : "", c->body.len, NULL);
        if (!json_is_object(j) && !json_is_array(j)) { /* jansson's verdict, as before */
            json_decref(j);
            j = json_loadb(c->body.data != NULL ? c->body.data : "", c->body.len, 0, NULL);
        }
        r = j != NULL ? llm_stream_apply_completion(&c->acc, j, msg, sizeof msg) : -1;
        if (j == NULL)
            snprintf(msg, sizeof msg, "not JSON");
        json_decref(j);
        if (r == -2) {
            call_fail(c, LLM_ERROR, "LLM at %s reported an error: %s", c->cfg->base_url, msg);
            return;
        }
        if (r != 0) {
            call_fail(c, LLM_ERROR, "LLM at %s sent a malformed answer: %s", c->cfg->base_url, msg);
            return;
        }
    }
    *out = llm_stream_message(&c->acc);
    if (*out == NULL)
        call_fail(c, LLM_ERROR, "out of memory");
}

int llm_chat(const llm_config_t *cfg, const json_t *openai_messages, const json_t *tools,
             const llm_callbacks_t *cb, void *user, json_t **ai_message, char *err, size_t cap)
{
    static const llm_callbacks_t no_callbacks = {0};
    sse_callbacks_t scb = {.on_event = on_event};
    struct curl_slist *headers = NULL, *h;
    llm_thread_t *t;
    llm_call_t c;
    char *body = NULL, *url = NULL, *auth = NULL;
    const char *lines[4];
    CURLcode result;

    *ai_message = NULL;
    memset(&c, 0, sizeof c);
    c.cfg = cfg;
    c.cb = cb != NULL ? cb : &no_callbacks;
    c.user = user;
    c.stream = c.cb->on_token != NULL;
    c.err = err;
    c.cap = cap;
    llm_stream_init(&c.acc);
    sse_parser_init(&c.parser, &scb, &c);

    if (cfg == NULL || cfg->model == NULL || cfg->base_url == NULL) {
        call_fail(&c, LLM_ERROR, "LLM call without a resolved configuration");
        goto Exit;
    }
    t = thread_handles();
    if (t == NULL) {
        call_fail(&c, LLM_ERROR, "LLM call: cannot initialise libcurl");
        goto Exit;
    }
    c.easy = t->easy;
    body = request_body(cfg, openai_messages, tools, c.stream, err, cap);
    if (body == NULL) {
        c.rc = LLM_ERROR;
        goto Exit;
    }
    if (asprintf(&url, "%s/chat/completions", cfg->base_url) < 0)
        url = NULL;
    if (cfg->api_key != NULL && asprintf(&auth, "Authorization: Bearer %s", cfg->api_key) < 0)
        auth = NULL;
    if (url == NULL || (cfg->api_key != NULL && auth == NULL)) {
        call_fail(&c, LLM_ERROR, "out of memory");
        goto Exit;
    }
    lines[0] = "Content-Type: application/json";
    lines[1] = c.stream ? "Accept: text/event-stream" : "Accept: application/json";
    lines[2] = "Expect:";
    lines[3] = auth;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0] && lines[i] != NULL; i++) {
        h = curl_slist_append(headers, lines[i]);
        if (h == NULL) {
            call_fail(&c, LLM_ERROR, "out of memory");
            goto Exit;
        }
        headers = h;
    }
    if (setup(&c, url, body, headers) != 0)
        goto Exit;
    result = run_transfer(&c, t->multi);
    finish(&c, result, ai_message);
Exit:
    if (c.rc != LLM_OK) {
        json_decref(*ai_message);
        *ai_message = NULL;
        if (cap > 0)
            one_line(err);
    }
    curl_slist_free_all(headers);
    if (auth != NULL) {
        memset(auth, 0, strlen(auth));
        free(auth);
    }
    free(url);
    free(body);
    llm_buf_free(&c.body);
    jsonw_buf_free(&c.chunk_text);
    llm_stream_free(&c.acc);
    sse_parser_free(&c.parser);
    return c.rc;
}
