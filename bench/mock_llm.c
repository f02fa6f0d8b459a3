/*
 * bench/mock_llm.c — a fast OpenAI-compatible mock chat server for tests and benchmarks.
 *
 * One h2o evloop per thread, each with its own SO_REUSEPORT listener. POST /v1/chat/completions
 * answers with a deterministic text (a fixed 42-word sentence, cycled to --words words), streamed
 * one word per `chat.completion.chunk` event or returned whole; a tool-call turn when the request
 * offers tools and the last user message names one; a text mentioning the result after a tool
 * message. Delays (--first-byte-ms, --chunk-ms) are h2o timeouts, never sleeps, so one thread
 * serves many concurrent streams. The `model` field selects test hooks (errors, malformed stream,
 * slow and hanging answers); bench/README.md lists them.
 *
 * Memory: everything a request needs lives in its h2o pool; the stream state is a shared pool
 * object whose dispose callback unlinks its timer, so a client that leaves mid-delay is harmless.
 * The word events of the default answer are rendered once at startup.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <h2o.h>
#include <jansson.h>

#define MOCK_MAX_TIMEOUTS  32     /* distinct delay values per loop */
#define MOCK_MAX_WORDS     100000 /* upper bound of --words and mock-words-<n> */
#define MOCK_SLOW_MS       30000  /* first-byte delay of the mock-slow hook */
#define MOCK_TOOL_TEXT_MAX 1000   /* bytes of a tool result quoted in the answer */

/* The fixed answer: 42 words, cycled when more are asked for. */
static const char mock_sentence[] = "The quick mock model streams this deterministic answer one word at a time so that clients, "
                                    "agents and benchmarks can check every chunk, count the words, join them back together and "
                                    "compare the result with the expected text exactly every single time.";
#define MOCK_SENTENCE_LEN 42

typedef struct mock_config {
    const char *host;
    int port;
    int threads;
    int first_byte_ms;
    int chunk_ms;
    int words;
    const char *port_file;
} mock_config_t;

typedef struct mock_timeout {
    uint64_t ms;
    h2o_timeout_t timeout;
} mock_timeout_t;

typedef struct mock_loop {
    pthread_t thread;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int fd;
    h2o_socket_t *listener;
    mock_timeout_t timeouts[MOCK_MAX_TIMEOUTS];
    size_t n_timeouts;
} mock_loop_t;

/* The answer of one request: what to send, how, and when. */
typedef struct mock_answer {
    h2o_generator_t generator;
    h2o_req_t *req;
    h2o_timeout_entry_t timer;
    h2o_timeout_t *chunk_timeout; /* NULL: everything after the first byte goes at once */
    h2o_iovec_t *bufs;
    size_t n_bufs;
    size_t *send_end; /* send i is bufs[send_end[i-1] .. send_end[i]) */
    size_t n_sends;
    size_t next_send;
    size_t next_buf;
    size_t whole_ticks;      /* whole answer: chunk delays still to wait before it starts */
    int hang;                /* headers, then nothing */
    h2o_iovec_t hang_filler; /* the one body piece of a hang (see send_next) */
} mock_answer_t;

/* What the `model` field asks for. */
typedef struct mock_hooks {
    int error_status;   /* mock-error-<status>, 0 when none */
    int malformed;      /* mock-malformed */
    int hang;           /* mock-hang */
    long first_byte_ms; /* mock-slow[-<ms>], else the configured delay */
    long chunk_ms;      /* mock-drip-<ms>, else the configured delay */
    long words;         /* mock-words-<n>, else the configured count */
} mock_hooks_t;

static mock_config_t mock_cfg = {"127.0.0.1", 8765, 0, 0, 0, 42, NULL};
static h2o_globalconf_t mock_globalconf;
static mock_loop_t *mock_loops;
static __thread mock_loop_t *mock_this_loop;

static atomic_long mock_n_requests, mock_n_streams, mock_n_active, mock_n_tool_calls, mock_n_errors, mock_n_authorized,
    mock_next_id;

/* The words of mock_sentence (split at startup), and the default answer: its text and one
 * pre-rendered event tail per word. */
static h2o_iovec_t mock_words[MOCK_SENTENCE_LEN];
static h2o_iovec_t mock_default_text;
static h2o_iovec_t *mock_default_tails;

static pthread_mutex_t mock_last_lock = PTHREAD_MUTEX_INITIALIZER;
static char *mock_last_body; /* the last chat request body, malloc'd */
static size_t mock_last_len;

/* ---- small helpers ------------------------------------------------------------------------ */

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mock_llm: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

/* Appends `s` as a JSON string literal (with quotes, and a space first inside them when
 * `leading_space`) to `out`, which must have room for 6 * len + 3 bytes. Returns the number of
 * bytes written. */
static size_t json_quote(char *out, const char *s, size_t len, int leading_space)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, n = 0;

    out[n++] = '"';
    if (leading_space)
        out[n++] = ' ';
    for (i = 0; i != len; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\n') {
            out[n++] = '\\';
            out[n++] = 'n';
        } else if (c < 0x20) {
            memcpy(out + n, "\\u00", 4);
            out[n + 4] = hex[c >> 4];
            out[n + 5] = hex[c & 15];
            n += 6;
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    return n;
}

/* Renders the tail of a content event for `word` (after the per-request prefix): the choices
 * array with the delta, the finish_reason and the SSE end of event. Memory from `pool`, or
 * malloc'd (caller keeps it for the process) when `pool` is NULL. */
static h2o_iovec_t render_word_tail(h2o_mem_pool_t *pool, const char *word, size_t len, int leading_space)
{
    static const char head[] = "\"choices\":[{\"index\":0,\"delta\":{\"content\":";
    static const char tail[] = "},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    size_t cap = sizeof(head) + sizeof(tail) + 6 * (len + 1) + 2, n = 0;
    char *buf = pool != NULL ? h2o_mem_alloc_pool(pool, cap) : malloc(cap);

    if (buf == NULL)
        die("%s", "out of memory");
    memcpy(buf, head, sizeof(head) - 1);
    n = sizeof(head) - 1;
    n += json_quote(buf + n, word, len, leading_space);
    memcpy(buf + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;
    return h2o_iovec_init(buf, n);
}

/* Splits mock_sentence into mock_words and renders the default answer (mock_cfg.words words)
 * once; exits on allocation failure. The rendered memory lives as long as the process. */
static void render_default_answer(void)
{
    const char *p = mock_sentence;
    size_t i, len = 0, at = 0;
    char *text;

    for (i = 0; i != MOCK_SENTENCE_LEN; ++i) {
        size_t n = strcspn(p, " ");
        mock_words[i] = h2o_iovec_init(p, n);
        p += n + (p[n] == ' ');
    }
    for (i = 0; i != (size_t)mock_cfg.words; ++i)
        len += mock_words[i % MOCK_SENTENCE_LEN].len + 1;
    if ((text = malloc(len + 1)) == NULL ||
        (mock_default_tails = calloc((size_t)mock_cfg.words, sizeof(*mock_default_tails))) == NULL)
        die("%s", "out of memory");
    for (i = 0; i != (size_t)mock_cfg.words; ++i) {
        h2o_iovec_t w = mock_words[i % MOCK_SENTENCE_LEN];
        if (i != 0)
            text[at++] = ' ';
        memcpy(text + at, w.base, w.len);
        at += w.len;
        mock_default_tails[i] = render_word_tail(NULL, w.base, w.len, i != 0);
    }
    text[at] = '\0';
    mock_default_text = h2o_iovec_init(text, at);
}

/* The timeout of this loop for `ms` milliseconds, created on first use; NULL when the loop
 * already has MOCK_MAX_TIMEOUTS distinct delays. */
static h2o_timeout_t *timeout_for(long ms)
{
    mock_loop_t *l = mock_this_loop;
    size_t i;

    for (i = 0; i != l->n_timeouts; ++i)
        if (l->timeouts[i].ms == (uint64_t)ms)
            return &l->timeouts[i].timeout;
    if (l->n_timeouts == MOCK_MAX_TIMEOUTS)
        return NULL;
    l->timeouts[l->n_timeouts].ms = (uint64_t)ms;
    h2o_timeout_init(l->ctx.loop, &l->timeouts[l->n_timeouts].timeout, (uint64_t)ms);
    return &l->timeouts[l->n_timeouts++].timeout;
}

static const char *reason_of(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Sends a complete response with `body` (borrowed; copied into the request pool). */
static int send_raw(h2o_req_t *req, int status, const char *content_type, const char *body, size_t len)
{
    static h2o_generator_t generator = {NULL, NULL};
    h2o_iovec_t buf = h2o_strdup(&req->pool, body, len);

    req->res.status = status;
    req->res.reason = reason_of(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type, strlen(content_type));
    req->res.content_length = len;
    h2o_start_response(req, &generator);
    h2o_send(req, &buf, 1, H2O_SEND_STATE_FINAL);
    return 0;
}

/* Sends `body` as JSON; steals `body`, even on failure. */
static int send_json(h2o_req_t *req, int status, json_t *body)
{
    char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

    if (text == NULL)
        send_raw(req, 500, "application/json", H2O_STRLIT("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}"));
    else
        send_raw(req, status, "application/json", text, strlen(text));
    free(text);
    json_decref(body);
    return 0;
}

/* Sends an OpenAI-style error: {"error": {"message", "type", "param": null, "code"}}. */
static int send_error(h2o_req_t *req, int status, const char *type, const char *code, const char *message)
{
    atomic_fetch_add(&mock_n_errors, 1);
    return send_json(req, status,
                     json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", message, "type", type, "param", "code", code));
}

/* ---- request reading ---------------------------------------------------------------------- */

/* Parses the hooks of `model` (borrowed) into h, starting from the configured defaults. */
static void parse_hooks(const char *model, mock_hooks_t *h)
{
    char *end;
    long v;

    memset(h, 0, sizeof(*h));
    h->first_byte_ms = mock_cfg.first_byte_ms;
    h->chunk_ms = mock_cfg.chunk_ms;
    h->words = mock_cfg.words;
    if (strncmp(model, "mock-", 5) != 0)
        return;
    model += 5;
    if (strncmp(model, "error-", 6) == 0) {
        v = strtol(model + 6, &end, 10);
        h->error_status = *end == '\0' && v >= 400 && v <= 599 ? (int)v : 500;
    } else if (strcmp(model, "malformed") == 0) {
        h->malformed = 1;
    } else if (strcmp(model, "hang") == 0) {
        h->hang = 1;
    } else if (strcmp(model, "slow") == 0) {
        h->first_byte_ms = MOCK_SLOW_MS;
    } else if (strncmp(model, "slow-", 5) == 0 && (v = strtol(model + 5, &end, 10)) >= 0 && *end == '\0') {
        h->first_byte_ms = v;
    } else if (strncmp(model, "drip-", 5) == 0 && (v = strtol(model + 5, &end, 10)) >= 0 && *end == '\0') {
        h->chunk_ms = v;
    } else if (strncmp(model, "words-", 6) == 0 && (v = strtol(model + 6, &end, 10)) >= 1 && v <= MOCK_MAX_WORDS && *end == '\0') {
        h->words = v;
    }
}

/* Text of a message's content: a string, or the text parts of an array (joined with spaces,
 * into `pool`). Returns an empty iovec for anything else. */
static h2o_iovec_t content_text(h2o_mem_pool_t *pool, json_t *content)
{
    h2o_iovec_t out = {NULL, 0};
    size_t i, len = 0;
    json_t *part;
    char *buf;

    if (json_is_string(content))
        return h2o_iovec_init(json_string_value(content), json_string_length(content));
    if (!json_is_array(content))
        return out;
    json_array_foreach (content, i, part)
        len += json_string_length(json_object_get(part, "text")) + 1;
    if (len == 0)
        return out;
    buf = h2o_mem_alloc_pool(pool, len);
    json_array_foreach (content, i, part) {
        json_t *t = json_object_get(part, "text");
        if (!json_is_string(t))
            continue;
        if (out.len != 0)
            buf[out.len++] = ' ';
        memcpy(buf + out.len, json_string_value(t), json_string_length(t));
        out.len += json_string_length(t);
    }
    out.base = buf;
    return out;
}

static size_t count_words(h2o_iovec_t s)
{
    size_t i, n = 0;
    int in_word = 0;

    for (i = 0; i != s.len; ++i) {
        int space = isspace((unsigned char)s.base[i]);
        if (!space && !in_word)
            ++n;
        in_word = !space;
    }
    return n;
}

/* Whether `name` occurs in `text` as a whole word (case-insensitive; identifier characters
 * around it break the match). */
static int mentions(h2o_iovec_t text, const char *name, size_t name_len)
{
    size_t i;

    if (name_len == 0 || text.len < name_len)
        return 0;
    for (i = 0; i + name_len <= text.len; ++i) {
        if (strncasecmp(text.base + i, name, name_len) != 0)
            continue;
        if (i > 0 && (isalnum((unsigned char)text.base[i - 1]) || text.base[i - 1] == '_' || text.base[i - 1] == '-'))
            continue;
        if (i + name_len < text.len &&
            (isalnum((unsigned char)text.base[i + name_len]) || text.base[i + name_len] == '_' || text.base[i + name_len] == '-'))
            continue;
        return 1;
    }
    return 0;
}

/* A sample value for a JSON-schema property: the first enum value, else by type. Returns a
 * new reference. */
static json_t *sample_value(json_t *schema)
{
    json_t *e = json_object_get(schema, "enum");
    const char *type = json_string_value(json_object_get(schema, "type"));

    if (json_array_size(e) > 0)
        return json_deep_copy(json_array_get(e, 0));
    if (type == NULL)
        return json_string("test");
    if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0)
        return json_integer(1);
    if (strcmp(type, "boolean") == 0)
        return json_true();
    if (strcmp(type, "array") == 0)
        return json_array();
    if (strcmp(type, "object") == 0)
        return json_object();
    if (strcmp(type, "null") == 0)
        return json_null();
    return json_string("test");
}

/* The arguments of a call to `function` (borrowed tool function object): its required
 * parameters filled with sample values. Result is malloc'd; caller frees. */
static char *sample_arguments(json_t *function)
{
    json_t *params = json_object_get(function, "parameters"), *props = json_object_get(params, "properties"),
           *required = json_object_get(params, "required"), *args = json_object(), *name;
    size_t i;
    char *text;

    json_array_foreach (required, i, name) {
        if (json_is_string(name))
            json_object_set_new(args, json_string_value(name), sample_value(json_object_get(props, json_string_value(name))));
    }
    text = json_dumps(args, JSON_COMPACT | JSON_ENSURE_ASCII); /* ASCII, so any split of it is valid UTF-8 */
    json_decref(args);
    return text;
}

/* The tool calls of this turn as a new JSON array of {id, type, function {name, arguments}},
 * or NULL when the answer is text. A call is made for each offered function the last user
 * message names; tool_choice "none" disables calls, "required" calls the first tool when none
 * is named, and {"type":"function","function":{"name":N}} forces N. */
static json_t *plan_tool_calls(h2o_mem_pool_t *pool, json_t *body, json_t *last)
{
    json_t *tools = json_object_get(body, "tools"), *choice = json_object_get(body, "tool_choice"), *calls = NULL, *tool;
    const char *forced = json_string_value(json_object_get(json_object_get(choice, "function"), "name"));
    int required = json_is_string(choice) && strcmp(json_string_value(choice), "required") == 0;
    h2o_iovec_t text;
    size_t i;

    if (json_array_size(tools) == 0 || (json_is_string(choice) && strcmp(json_string_value(choice), "none") == 0))
        goto Exit;
    if (!json_is_string(json_object_get(last, "role")) || strcmp(json_string_value(json_object_get(last, "role")), "user") != 0)
        goto Exit;
    text = content_text(pool, json_object_get(last, "content"));
    calls = json_array();
    json_array_foreach (tools, i, tool) {
        json_t *fn = json_object_get(tool, "function"), *name = json_object_get(fn, "name");
        int pick;
        char id[32], *args;

        if (!json_is_string(name))
            continue;
        if (forced != NULL)
            pick = strcmp(forced, json_string_value(name)) == 0;
        else
            pick = mentions(text, json_string_value(name), json_string_length(name));
        if (!pick)
            continue;
        snprintf(id, sizeof(id), "call_%ld", atomic_fetch_add(&mock_next_id, 1) + 1);
        if ((args = sample_arguments(fn)) == NULL)
            continue;
        json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:O, s:s}}", "id", id, "type", "function", "function", "name", name,
                                               "arguments", args));
        free(args);
    }
    if (json_array_size(calls) == 0 && required) {
        json_t *fn = json_object_get(json_array_get(tools, 0), "function");
        char id[32], *args = sample_arguments(fn);
        snprintf(id, sizeof(id), "call_%ld", atomic_fetch_add(&mock_next_id, 1) + 1);
        if (args != NULL && json_is_string(json_object_get(fn, "name")))
            json_array_append_new(calls, json_pack("{s:s, s:s, s:{s:O, s:s}}", "id", id, "type", "function", "function", "name",
                                                   json_object_get(fn, "name"), "arguments", args));
        free(args);
    }
    if (json_array_size(calls) == 0) {
        json_decref(calls);
        calls = NULL;
    }
Exit:
    return calls;
}

/* ---- answering ---------------------------------------------------------------------------- */

/* Sends the next send (or, without a chunk delay, everything left). */
static void send_next(mock_answer_t *a)
{
    size_t end;

    if (a->hang) {
        /* h2o 2.2 holds back the headers of an empty send, so the hang starts with a filler
         * the client ignores: an SSE comment, or JSON whitespace */
        h2o_send(a->req, &a->hang_filler, 1, H2O_SEND_STATE_IN_PROGRESS);
        return;
    }
    end = a->chunk_timeout == NULL ? a->n_bufs : a->send_end[a->next_send];
    a->next_send = a->chunk_timeout == NULL ? a->n_sends : a->next_send + 1;
    h2o_send(a->req, a->bufs + a->next_buf, end - a->next_buf,
             a->next_send == a->n_sends ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
    a->next_buf = end;
}

static void on_chunk_timer(h2o_timeout_entry_t *entry)
{
    mock_answer_t *a = H2O_STRUCT_FROM_MEMBER(mock_answer_t, timer, entry);

    send_next(a);
}

static void on_proceed(h2o_generator_t *generator, h2o_req_t *req)
{
    mock_answer_t *a = H2O_STRUCT_FROM_MEMBER(mock_answer_t, generator, generator);

    (void)req;
    if (a->hang || a->next_send == a->n_sends)
        return;
    if (a->chunk_timeout != NULL)
        h2o_timeout_link(a->req->conn->ctx->loop, a->chunk_timeout, &a->timer);
    else
        send_next(a);
}

static void on_stop(h2o_generator_t *generator, h2o_req_t *req)
{
    mock_answer_t *a = H2O_STRUCT_FROM_MEMBER(mock_answer_t, generator, generator);

    (void)req;
    if (h2o_timeout_is_linked(&a->timer))
        h2o_timeout_unlink(&a->timer);
}

static void start_answer(mock_answer_t *a);

/* Whole answer: one chunk delay of its simulated generation has passed. */
static void on_whole_tick(h2o_timeout_entry_t *entry)
{
    mock_answer_t *a = H2O_STRUCT_FROM_MEMBER(mock_answer_t, timer, entry);

    if (--a->whole_ticks > 0) {
        h2o_timeout_link(a->req->conn->ctx->loop, a->chunk_timeout, &a->timer);
        return;
    }
    a->chunk_timeout = NULL;
    a->timer.cb = on_chunk_timer;
    start_answer(a);
}

/* Starts the response, or first waits out a whole answer's generation time. */
static void start_answer(mock_answer_t *a)
{
    if (a->whole_ticks > 0) {
        a->timer.cb = on_whole_tick;
        h2o_timeout_link(a->req->conn->ctx->loop, a->chunk_timeout, &a->timer);
        return;
    }
    h2o_start_response(a->req, &a->generator);
    send_next(a);
}

static void on_first_byte(h2o_timeout_entry_t *entry)
{
    mock_answer_t *a = H2O_STRUCT_FROM_MEMBER(mock_answer_t, timer, entry);

    a->timer.cb = on_chunk_timer;
    start_answer(a);
}

/* Dispose callback of the answer (pool shared object): the request is gone. */
static void on_answer_dispose(void *p)
{
    mock_answer_t *a = p;

    if (h2o_timeout_is_linked(&a->timer))
        h2o_timeout_unlink(&a->timer);
    atomic_fetch_sub(&mock_n_active, 1);
}

/* Appends one iovec to the answer being built (capacity is reserved by the caller). */
static void push(mock_answer_t *a, h2o_iovec_t v)
{
    a->bufs[a->n_bufs++] = v;
}

static void end_send(mock_answer_t *a)
{
    a->send_end[a->n_sends++] = a->n_bufs;
}

/* A pool copy of `s` (borrowed, NUL-terminated). */
static h2o_iovec_t pool_str(h2o_mem_pool_t *pool, const char *s)
{
    return h2o_strdup(pool, s, strlen(s));
}

/* A pool iovec of the compact JSON of `v` (borrowed) followed by `suffix`. */
static h2o_iovec_t pool_json(h2o_mem_pool_t *pool, json_t *v, const char *suffix)
{
    size_t len = json_dumpb(v, NULL, 0, JSON_COMPACT), slen = strlen(suffix);
    char *buf = h2o_mem_alloc_pool(pool, len + slen + 1);

    json_dumpb(v, buf, len, JSON_COMPACT);
    memcpy(buf + len, suffix, slen + 1);
    return h2o_iovec_init(buf, len + slen);
}

/* A chat turn as read from the request: what to answer, before any bytes are rendered. */
typedef struct mock_turn {
    const char *model; /* borrowed from the request body */
    char id[40];
    long created;
    int stream;
    int include_usage;
    mock_hooks_t hooks;
    json_t *calls;            /* tool calls (owned), or NULL for a text answer */
    h2o_iovec_t text;         /* the text answer, words separated by single spaces */
    const h2o_iovec_t *tails; /* pre-rendered word event tails of `text`, or NULL */
    size_t n_words;
    size_t prompt_tokens;
    const char *finish;
} mock_turn_t;

/* The words of the fixed sentence cycled to `n` words, into `pool`. */
static h2o_iovec_t cycled_text(h2o_mem_pool_t *pool, size_t n)
{
    size_t i, len = 0, at = 0;
    char *buf;

    for (i = 0; i != n; ++i)
        len += mock_words[i % MOCK_SENTENCE_LEN].len + 1;
    buf = h2o_mem_alloc_pool(pool, len);
    for (i = 0; i != n; ++i) {
        h2o_iovec_t w = mock_words[i % MOCK_SENTENCE_LEN];
        if (i != 0)
            buf[at++] = ' ';
        memcpy(buf + at, w.base, w.len);
        at += w.len;
    }
    return h2o_iovec_init(buf, at);
}

/* "The tool returned: <result>" with the result's whitespace collapsed and at most
 * MOCK_TOOL_TEXT_MAX bytes of it, into `pool`. */
static h2o_iovec_t tool_result_text(h2o_mem_pool_t *pool, h2o_iovec_t result)
{
    static const char head[] = "The tool returned:";
    size_t cap = result.len < MOCK_TOOL_TEXT_MAX ? result.len : MOCK_TOOL_TEXT_MAX, at, k;
    char *buf = h2o_mem_alloc_pool(pool, sizeof(head) + 2 * cap + 16);
    int in_word = 0;

    while (cap < result.len && cap > 0 && ((unsigned char)result.base[cap] & 0xC0) == 0x80)
        --cap; /* never cut a UTF-8 sequence */
    memcpy(buf, head, sizeof(head) - 1);
    at = sizeof(head) - 1;
    for (k = 0; k != cap; ++k) {
        if (isspace((unsigned char)result.base[k])) {
            in_word = 0;
            continue;
        }
        if (!in_word)
            buf[at++] = ' ';
        in_word = 1;
        buf[at++] = result.base[k];
    }
    if (at == sizeof(head) - 1) {
        memcpy(buf + at, " nothing", 8);
        at += 8;
    }
    return h2o_iovec_init(buf, at);
}

/* Cuts `text` to its first `max` words (single-space separated); returns the new length. */
static size_t cut_words(h2o_iovec_t text, size_t max)
{
    size_t k, seen = 0;
    int in_word = 0;

    for (k = 0; k != text.len; ++k) {
        int space = text.base[k] == ' ';
        if (!space && !in_word && seen++ == max)
            return k - 1;
        in_word = !space;
    }
    return text.len;
}

/*
 * Reads the turn from `body` (borrowed; the turn borrows strings from it) into t: model and
 * hooks, streaming options, tool calls or the text with its length limit. Returns 0, or sends
 * a 400 and returns -1.
 */
static int read_turn(h2o_req_t *req, json_t *body, mock_turn_t *t)
{
    json_t *messages = json_object_get(body, "messages"), *model = json_object_get(body, "model"), *msg, *last, *max_tokens;
    const char *role;
    size_t i;

    memset(t, 0, sizeof(*t));
    if (!json_is_array(messages) || json_array_size(messages) == 0) {
        send_error(req, 400, "invalid_request_error", NULL, "'messages' must be a non-empty array");
        return -1;
    }
    if (model != NULL && !json_is_string(model)) {
        send_error(req, 400, "invalid_request_error", NULL, "'model' must be a string");
        return -1;
    }
    t->model = model != NULL ? json_string_value(model) : "mock-model";
    parse_hooks(t->model, &t->hooks);
    snprintf(t->id, sizeof(t->id), "chatcmpl-mock%ld", atomic_fetch_add(&mock_next_id, 1) + 1);
    t->created = (long)time(NULL);
    t->stream = json_is_true(json_object_get(body, "stream"));
    t->include_usage = json_is_true(json_object_get(json_object_get(body, "stream_options"), "include_usage"));
    json_array_foreach (messages, i, msg)
        t->prompt_tokens += count_words(content_text(&req->pool, json_object_get(msg, "content"))) + 1;
    last = json_array_get(messages, json_array_size(messages) - 1);
    role = json_string_value(json_object_get(last, "role"));

    t->finish = "stop";
    if ((t->calls = plan_tool_calls(&req->pool, body, last)) != NULL) {
        t->finish = "tool_calls";
        json_array_foreach (t->calls, i, msg)
            t->n_words += json_string_length(json_object_get(json_object_get(msg, "function"), "arguments")) / 4 + 1;
        return 0;
    }
    if (role != NULL && strcmp(role, "tool") == 0) {
        t->text = tool_result_text(&req->pool, content_text(&req->pool, json_object_get(last, "content")));
    } else if (t->hooks.words != mock_cfg.words) {
        t->text = cycled_text(&req->pool, (size_t)t->hooks.words);
    } else {
        t->text = mock_default_text;
        t->tails = mock_default_tails;
    }
    t->n_words = count_words(t->text);
    if ((max_tokens = json_object_get(body, "max_completion_tokens")) == NULL || json_is_null(max_tokens))
        max_tokens = json_object_get(body, "max_tokens");
    if (json_is_integer(max_tokens) && json_integer_value(max_tokens) > 0 && (size_t)json_integer_value(max_tokens) < t->n_words) {
        t->n_words = (size_t)json_integer_value(max_tokens);
        t->text.len = cut_words(t->text, t->n_words);
        t->finish = "length";
    }
    return 0;
}

/* The usage object of the turn; returns a new reference. */
static json_t *turn_usage(const mock_turn_t *t)
{
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)t->prompt_tokens, "completion_tokens", (json_int_t)t->n_words,
                     "total_tokens", (json_int_t)(t->prompt_tokens + t->n_words));
}

/* Builds the non-streamed answer: one send of the whole chat.completion (or, for the
 * mock-malformed hook, a truncated one). */
static void build_whole(mock_answer_t *a, const mock_turn_t *t)
{
    h2o_req_t *req = a->req;
    json_t *message, *resp;
    h2o_iovec_t out;

    if (t->calls != NULL)
        message = json_pack("{s:s, s:n, s:O}", "role", "assistant", "content", "tool_calls", t->calls);
    else
        message = json_pack("{s:s, s:s%, s:n}", "role", "assistant", "content", t->text.base, t->text.len, "refusal");
    resp = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:s}], s:o, s:n}", "id", t->id, "object", "chat.completion",
                     "created", (json_int_t)t->created, "model", t->model, "choices", "index", 0, "message", message, "logprobs",
                     "finish_reason", t->finish, "usage", turn_usage(t), "system_fingerprint");
    out = t->hooks.malformed ? pool_str(&req->pool, "{\"id\":\"broken\",\"choices\":[{\"message\":{\"content\":\"oo")
                             : pool_json(&req->pool, resp, "");
    json_decref(resp);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    a->bufs = h2o_mem_alloc_pool(&req->pool, sizeof(*a->bufs));
    a->send_end = h2o_mem_alloc_pool(&req->pool, sizeof(*a->send_end));
    if (!a->hang) {
        req->res.content_length = out.len;
        push(a, out);
    }
    end_send(a);
}

/* Appends one event: the shared `prefix`, "choices":, and the JSON of `choices` (borrowed). */
static void push_choices_event(mock_answer_t *a, h2o_iovec_t prefix, json_t *choices)
{
    push(a, prefix);
    push(a, h2o_iovec_init(H2O_STRLIT("\"choices\":")));
    push(a, pool_json(&a->req->pool, choices, "}\n\n"));
    end_send(a);
}

/* Appends the tool-call events of the turn: per call, a delta with id and name, then the
 * arguments in two or three pieces; then the finish event. */
static void push_tool_call_events(mock_answer_t *a, h2o_iovec_t prefix, json_t *calls)
{
    json_t *call, *choices;
    size_t k;

    json_array_foreach (calls, k, call) {
        json_t *fn = json_object_get(call, "function");
        const char *args = json_string_value(json_object_get(fn, "arguments"));
        size_t alen = strlen(args), piece = alen >= 2 ? (alen + 2) / 3 : 1, off;

        choices =
            json_pack("[{s:i, s:{s:s, s:n, s:[{s:i, s:O, s:s, s:{s:O, s:s}}]}, s:n, s:n}]", "index", 0, "delta", "role",
                      "assistant", "content", "tool_calls", "index", (int)k, "id", json_object_get(call, "id"), "type", "function",
                      "function", "name", json_object_get(fn, "name"), "arguments", "", "logprobs", "finish_reason");
        push_choices_event(a, prefix, choices);
        json_decref(choices);
        for (off = 0; off < alen; off += piece) {
            size_t plen = alen - off < piece ? alen - off : piece;
            choices = json_pack("[{s:i, s:{s:[{s:i, s:{s:s%}}]}, s:n, s:n}]", "index", 0, "delta", "tool_calls", "index", (int)k,
                                "function", "arguments", args + off, plen, "logprobs", "finish_reason");
            push_choices_event(a, prefix, choices);
            json_decref(choices);
        }
    }
    push(a, prefix);
    push(a, h2o_iovec_init(
                H2O_STRLIT("\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}\n\n")));
}

/* Appends the text events: the role delta, one word per event (a truncated chunk after the
 * second word for mock-malformed), then the finish event. */
static void push_text_events(mock_answer_t *a, h2o_iovec_t prefix, const mock_turn_t *t)
{
    static const h2o_iovec_t role = {
        H2O_STRLIT("\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                   "\"logprobs\":null,\"finish_reason\":null}]}\n\n")};
    static const h2o_iovec_t broken = {H2O_STRLIT("data: {\"id\":\"broken\",\"choices\":[{\"delta\":{\"content\":\"oo\n\n")};
    h2o_mem_pool_t *pool = &a->req->pool;
    size_t k, start = 0, w = 0;
    char *finish;

    push(a, prefix);
    push(a, role);
    end_send(a);
    for (k = 0; k <= t->text.len; ++k) {
        if (k != t->text.len && t->text.base[k] != ' ')
            continue;
        if (k > start) {
            push(a, prefix);
            push(a, t->tails != NULL ? t->tails[w] : render_word_tail(pool, t->text.base + start, k - start, w != 0));
            end_send(a);
            if (++w == 2 && t->hooks.malformed) {
                push(a, broken);
                end_send(a);
            }
        }
        start = k + 1;
    }
    finish = h2o_mem_alloc_pool(pool, 100);
    push(a, prefix);
    push(a, h2o_iovec_init(
                finish,
                (size_t)sprintf(finish, "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"%s\"}]}\n\n",
                                t->finish)));
}

/* Builds the streamed answer. Every event starts with the same rendered prefix
 * (data: {"id", "object", "created", "model",); the last send carries the finish event, the
 * usage event when asked for, and [DONE]. */
static void build_stream(mock_answer_t *a, const mock_turn_t *t)
{
    h2o_req_t *req = a->req;
    size_t mlen = strlen(t->model), cap = 2 * (t->n_words + 8 * json_array_size(t->calls) + 8) + 8;
    char *pbuf = h2o_mem_alloc_pool(&req->pool, 160 + 6 * mlen);
    h2o_iovec_t prefix;
    json_t *usage;

    prefix.base = pbuf;
    prefix.len = (size_t)sprintf(
        pbuf, "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%ld,\"model\":", t->id, t->created);
    prefix.len += json_quote(pbuf + prefix.len, t->model, mlen, 0);
    pbuf[prefix.len++] = ',';
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("text/event-stream"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-cache"));
    a->bufs = h2o_mem_alloc_pool(&req->pool, cap * sizeof(*a->bufs));
    a->send_end = h2o_mem_alloc_pool(&req->pool, cap * sizeof(*a->send_end));
    if (t->calls != NULL)
        push_tool_call_events(a, prefix, t->calls);
    else
        push_text_events(a, prefix, t);
    if (t->include_usage) {
        push(a, prefix);
        push(a, h2o_iovec_init(H2O_STRLIT("\"choices\":[],\"usage\":")));
        usage = turn_usage(t);
        push(a, pool_json(&req->pool, usage, "}\n\n"));
        json_decref(usage);
    }
    push(a, h2o_iovec_init(H2O_STRLIT("data: [DONE]\n\n")));
    end_send(a);
}

/*
 * Answers one chat completion request whose body parsed into `body` (borrowed): an error for
 * the error hooks, else the answer built into the request pool, started now or after the
 * first-byte delay.
 */
static int answer_chat(h2o_req_t *req, json_t *body)
{
    h2o_timeout_t *first_byte = NULL, *chunk = NULL;
    mock_answer_t *a;
    mock_turn_t t;
    int status;

    if (read_turn(req, body, &t) != 0)
        goto Exit;
    if (t.stream)
        atomic_fetch_add(&mock_n_streams, 1);
    if ((status = t.hooks.error_status) != 0) {
        if (status == 401)
            send_error(req, 401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided");
        else if (status == 429)
            send_error(req, 429, "requests", "rate_limit_exceeded", "Rate limit reached for mock model");
        else
            send_error(req, status, status >= 500 ? "server_error" : "invalid_request_error", NULL, "mock internal error");
        goto Exit;
    }
    if ((t.hooks.first_byte_ms > 0 && (first_byte = timeout_for(t.hooks.first_byte_ms)) == NULL) ||
        (t.hooks.chunk_ms > 0 && (chunk = timeout_for(t.hooks.chunk_ms)) == NULL)) {
        send_error(req, 400, "invalid_request_error", NULL, "too many distinct mock delays");
        goto Exit;
    }
    if (t.calls != NULL)
        atomic_fetch_add(&mock_n_tool_calls, 1);

    a = h2o_mem_alloc_shared(&req->pool, sizeof(*a), on_answer_dispose);
    memset(a, 0, sizeof(*a));
    atomic_fetch_add(&mock_n_active, 1);
    a->req = req;
    a->generator.proceed = on_proceed;
    a->generator.stop = on_stop;
    a->chunk_timeout = chunk;
    a->hang = t.hooks.hang;
    a->hang_filler = t.stream ? h2o_iovec_init(H2O_STRLIT(": mock-hang\n\n")) : h2o_iovec_init(H2O_STRLIT("\n"));
    a->timer.cb = on_chunk_timer;
    req->res.status = 200;
    req->res.reason = "OK";
    if (t.stream) {
        build_stream(a, &t);
    } else {
        build_whole(a, &t);
        /* a model takes as long to write a whole answer as to stream it: the delays between
         * the sends of its stream (role, each word or tool-call piece, finish, end) */
        if (chunk != NULL && !a->hang)
            a->whole_ticks = t.calls != NULL ? 4 * json_array_size(t.calls) + 2 : (size_t)t.n_words + 2;
    }
    if (first_byte != NULL) {
        a->timer.cb = on_first_byte;
        h2o_timeout_link(req->conn->ctx->loop, first_byte, &a->timer);
    } else {
        start_answer(a);
    }
Exit:
    json_decref(t.calls);
    return 0;
}

/* Remembers the body of the last chat request for GET /last-request. */
static void remember_body(h2o_iovec_t body)
{
    char *copy = malloc(body.len + 1);

    if (copy == NULL)
        return;
    memcpy(copy, body.base, body.len);
    copy[body.len] = '\0';
    pthread_mutex_lock(&mock_last_lock);
    free(mock_last_body);
    mock_last_body = copy;
    mock_last_len = body.len;
    pthread_mutex_unlock(&mock_last_lock);
}

static int on_chat(h2o_req_t *req)
{
    json_error_t jerr;
    json_t *body;
    int rc;

    atomic_fetch_add(&mock_n_requests, 1);
    if (h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1) >= 0)
        atomic_fetch_add(&mock_n_authorized, 1);
    remember_body(req->entity);
    if ((body = json_loadb(req->entity.base, req->entity.len, 0, &jerr)) == NULL || !json_is_object(body)) {
        char msg[300];
        snprintf(msg, sizeof(msg), "We could not parse the JSON body of your request: %s",
                 body == NULL ? jerr.text : "not an object");
        json_decref(body);
        return send_error(req, 400, "invalid_request_error", NULL, msg);
    }
    rc = answer_chat(req, body);
    json_decref(body);
    return rc;
}

static int on_models(h2o_req_t *req, h2o_iovec_t id)
{
    static const char *const ids[] = {"mock-model",     "gpt-4o-mini", "mock-error-500", "mock-error-401",
                                      "mock-malformed", "mock-slow",   "mock-hang"};
    json_t *list = json_array();
    size_t i;

    for (i = 0; i != sizeof(ids) / sizeof(ids[0]); ++i)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:i, s:s}", "id", ids[i], "object", "model", "created", 1700000000, "owned_by", "mock"));
    if (id.len == 0)
        return send_json(req, 200, json_pack("{s:s, s:o}", "object", "list", "data", list));
    json_decref(list);
    return send_json(
        req, 200,
        json_pack("{s:s%, s:s, s:i, s:s}", "id", id.base, id.len, "object", "model", "created", 1700000000, "owned_by", "mock"));
}

static int on_stats(h2o_req_t *req)
{
    return send_json(req, 200,
                     json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "requests", (json_int_t)atomic_load(&mock_n_requests), "streams",
                               (json_int_t)atomic_load(&mock_n_streams), "active", (json_int_t)atomic_load(&mock_n_active),
                               "tool_calls", (json_int_t)atomic_load(&mock_n_tool_calls), "errors",
                               (json_int_t)atomic_load(&mock_n_errors), "authorized", (json_int_t)atomic_load(&mock_n_authorized)));
}

static int on_last_request(h2o_req_t *req)
{
    int rc;

    pthread_mutex_lock(&mock_last_lock);
    if (mock_last_body == NULL)
        rc = send_raw(req, 200, "application/json", H2O_STRLIT("null"));
    else
        rc = send_raw(req, 200, "application/json", mock_last_body, mock_last_len);
    pthread_mutex_unlock(&mock_last_lock);
    return rc;
}

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    int get = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")),
        post = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST"));

    (void)self;
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/v1/chat/completions")) ||
        h2o_memis(path.base, path.len, H2O_STRLIT("/chat/completions")))
        return post ? on_chat(req) : send_error(req, 405, "invalid_request_error", NULL, "method not allowed");
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/v1/models")) || h2o_memis(path.base, path.len, H2O_STRLIT("/models")))
        return get ? on_models(req, h2o_iovec_init(NULL, 0))
                   : send_error(req, 405, "invalid_request_error", NULL, "method not allowed");
    if (get && path.len > 11 && memcmp(path.base, "/v1/models/", 11) == 0)
        return on_models(req, h2o_iovec_init(path.base + 11, path.len - 11));
    if (get && h2o_memis(path.base, path.len, H2O_STRLIT("/health")))
        return send_raw(req, 200, "application/json", H2O_STRLIT("{\"status\":\"ok\"}"));
    if (get && h2o_memis(path.base, path.len, H2O_STRLIT("/stats")))
        return on_stats(req);
    if (get && h2o_memis(path.base, path.len, H2O_STRLIT("/last-request")))
        return on_last_request(req);
    atomic_fetch_add(&mock_n_errors, 1);
    return send_json(req, 404,
                     json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", "Unknown request URL", "type",
                               "invalid_request_error", "param", "code", "unknown_url"));
}

/* ---- listeners and loops ------------------------------------------------------------------ */

/* Creates a socket for `ai` on `port` (network order; 0 = as in ai), binds it and, when
 * `reuseport`, listens. Returns the fd or -1 with errno set. */
static int bind_one(const struct addrinfo *ai, int reuseport, uint16_t port)
{
    struct sockaddr_storage addr;
    int fd, on = 1, saved;

    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    if (port != 0) {
        if (addr.ss_family == AF_INET)
            ((struct sockaddr_in *)&addr)->sin_port = port;
        else
            ((struct sockaddr_in6 *)&addr)->sin6_port = port;
    }
    if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
        bind(fd, (struct sockaddr *)&addr, ai->ai_addrlen) != 0 || (reuseport && listen(fd, SOMAXCONN) != 0)) {
        saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    if (reuseport) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    return fd;
}

/* Binds one SO_REUSEPORT listener per thread; returns the bound port, exits on failure. */
static int bind_all(void)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    char port[16], msg[300];
    uint16_t nport;
    int i, probe, gai;

    snprintf(port, sizeof(port), "%d", mock_cfg.port);
    if ((gai = getaddrinfo(mock_cfg.host, port, &hints, &ai)) != 0) {
        snprintf(msg, sizeof(msg), "cannot listen on %s:%s: %s", mock_cfg.host, port, gai_strerror(gai));
        die("%s", msg);
    }
    if (mock_cfg.port != 0) {
        if ((probe = bind_one(ai, 0, 0)) < 0) {
            snprintf(msg, sizeof(msg), "cannot listen on %s:%s: %s", mock_cfg.host, port, strerror(errno));
            die("%s", msg);
        }
        close(probe);
    }
    for (i = 0; i != mock_cfg.threads; ++i) {
        nport = 0;
        if (i != 0)
            nport =
                bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port;
        if ((mock_loops[i].fd = bind_one(ai, 1, nport)) < 0) {
            snprintf(msg, sizeof(msg), "cannot listen on %s:%s: %s", mock_cfg.host, port, strerror(errno));
            die("%s", msg);
        }
        if (i == 0 && getsockname(mock_loops[0].fd, (struct sockaddr *)&bound, &blen) != 0)
            die("getsockname: %s", strerror(errno));
    }
    freeaddrinfo(ai);
    return ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                            : ((struct sockaddr_in6 *)&bound)->sin6_port);
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    mock_loop_t *l = listener->data;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(&l->accept_ctx, sock);
}

static void *loop_main(void *arg)
{
    mock_loop_t *l = arg;

    mock_this_loop = l;
    l->listener = h2o_evloop_socket_create(l->loop, l->fd, H2O_SOCKET_FLAG_DONT_READ);
    l->listener->data = l;
    h2o_socket_read_start(l->listener, on_accept);
    for (;;)
        h2o_evloop_run(l->loop, INT32_MAX);
    return NULL;
}

/* Writes the port to `path` atomically (temporary file, then rename); exits on failure. */
static void write_port_file(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
    if ((f = fopen(tmp, "w")) == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0)
        die("cannot write the port file %s", path);
}

static void print_usage(void)
{
    fprintf(stderr, "usage: mock_llm [--host 127.0.0.1] [--port 8765] [--threads N] [--first-byte-ms N] [--chunk-ms N]\n"
                    "                [--words 42] [--port-file PATH]\n"
                    "A fast OpenAI-compatible mock chat server; see bench/README.md.\n");
}

/* Parses a non-negative integer option value in [lo, hi]; exits with a message otherwise. */
static int int_arg(const char *name, const char *value, long lo, long hi)
{
    char *end, msg[200];
    long v;

    errno = 0;
    v = value != NULL ? strtol(value, &end, 10) : 0;
    if (value == NULL || *value == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) {
        snprintf(msg, sizeof(msg), "%s needs an integer from %ld to %ld, got '%s'", name, lo, hi, value != NULL ? value : "");
        die("%s", msg);
    }
    return (int)v;
}

static void parse_args(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            print_usage();
            exit(0);
        } else if (strcmp(a, "--host") == 0 && v != NULL) {
            mock_cfg.host = v;
        } else if (strcmp(a, "--port") == 0) {
            mock_cfg.port = int_arg(a, v, 0, 65535);
        } else if (strcmp(a, "--threads") == 0) {
            mock_cfg.threads = int_arg(a, v, 1, 256);
        } else if (strcmp(a, "--first-byte-ms") == 0) {
            mock_cfg.first_byte_ms = int_arg(a, v, 0, 3600000);
        } else if (strcmp(a, "--chunk-ms") == 0) {
            mock_cfg.chunk_ms = int_arg(a, v, 0, 3600000);
        } else if (strcmp(a, "--words") == 0) {
            mock_cfg.words = int_arg(a, v, 1, MOCK_MAX_WORDS);
        } else if (strcmp(a, "--port-file") == 0 && v != NULL) {
            mock_cfg.port_file = v;
        } else {
            print_usage();
            die("unknown or incomplete option '%s'", a);
        }
        ++i;
    }
}

int main(int argc, char **argv)
{
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;
    h2o_handler_t *handler;
    sigset_t sigs;
    int i, port, sig;

    parse_args(argc, argv);
    if (mock_cfg.threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        mock_cfg.threads = n < 1 ? 1 : n > 16 ? 16 : (int)n;
    }
    signal(SIGPIPE, SIG_IGN);
    render_default_answer();
    if ((mock_loops = calloc((size_t)mock_cfg.threads, sizeof(*mock_loops))) == NULL)
        die("%s", "out of memory");
    port = bind_all();

    h2o_config_init(&mock_globalconf);
    mock_globalconf.server_name = h2o_iovec_init(H2O_STRLIT("mock_llm"));
    hostconf = h2o_config_register_host(&mock_globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    handler = h2o_create_handler(pathconf, sizeof(*handler));
    handler->on_req = on_req;

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    for (i = 0; i != mock_cfg.threads; ++i) {
        mock_loop_t *l = &mock_loops[i];
        l->loop = h2o_evloop_create();
        h2o_context_init(&l->ctx, l->loop, &mock_globalconf);
        l->accept_ctx.ctx = &l->ctx;
        l->accept_ctx.hosts = mock_globalconf.hosts;
        if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
            die("cannot start a loop thread: %s", strerror(errno));
    }
    if (mock_cfg.port_file != NULL)
        write_port_file(mock_cfg.port_file, port);
    fprintf(stderr, "mock_llm: listening on %s:%d (%d threads, first byte %d ms, chunk %d ms, %d words)\n", mock_cfg.host, port,
            mock_cfg.threads, mock_cfg.first_byte_ms, mock_cfg.chunk_ms, mock_cfg.words);
    while (sigwait(&sigs, &sig) != 0)
        ;
    _exit(0);
}
