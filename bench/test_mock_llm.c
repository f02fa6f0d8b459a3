/*
 * bench/test_mock_llm.c — black-box self-test of bench/mock_llm (argv[1] is its binary).
 *
 * Starts two mock servers on free ports (one without delays, one with small first-byte and
 * chunk delays and a short answer), talks to them with libcurl and checks the OpenAI wire
 * shapes: the whole answer, the chunk sequence of a stream, the usage chunk, tool-call and
 * tool-result turns, the error hooks, hanging and slow answers not blocking others, /v1/models
 * and /stats. Timings are never asserted, only order and counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#define FULL_TEXT                                                                                                                  \
    "The quick mock model streams this deterministic answer one word at a time so that clients, agents and benchmarks "            \
    "can check every chunk, count the words, join them back together and compare the result with the expected text "               \
    "exactly every single time."

typedef struct mock_server {
    pid_t pid;
    int port;
    char port_file[64];
} mock_server_t;

typedef struct resp {
    long status;
    char *body;
    size_t len;
    char content_type[128];
    CURLcode rc;
} resp_t;

/* The parsed events of a stream: data lines in order; `done` when [DONE] came last. */
typedef struct events {
    json_t *chunks; /* array of parsed chunks; a malformed one is null */
    size_t n_malformed;
    int done;
} events_t;

static const char *mock_bin;
static mock_server_t fast, slow;

static const char *const weather_tools =
    "[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"description\":\"Weather of a city\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":\"integer\"},"
    "\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]},\"note\":{\"type\":\"string\"}},"
    "\"required\":[\"city\",\"days\",\"unit\"]}}},"
    "{\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]";

/* ---- process and HTTP helpers ------------------------------------------------------------- */

/* Starts mock_llm with `args` (NULL-terminated) on a free port; fails the test when it does not
 * write its port file within 5 s. */
static void start_mock(mock_server_t *s, const char *const *args)
{
    const char *argv[32];
    size_t n = 0, i;
    FILE *f;

    snprintf(s->port_file, sizeof(s->port_file), "/tmp/mock_llm_test.%d.%p", (int)getpid(), (void *)s);
    unlink(s->port_file);
    argv[n++] = mock_bin;
    argv[n++] = "--port";
    argv[n++] = "0";
    argv[n++] = "--port-file";
    argv[n++] = s->port_file;
    for (i = 0; args != NULL && args[i] != NULL && n < 31; ++i)
        argv[n++] = args[i];
    argv[n] = NULL;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        execv(mock_bin, (char *const *)argv);
        fprintf(stderr, "cannot run %s: %s\n", mock_bin, strerror(errno));
        _exit(127);
    }
    s->port = 0;
    for (i = 0; i != 500 && s->port == 0; ++i) {
        if ((f = fopen(s->port_file, "r")) != NULL) {
            if (fscanf(f, "%d", &s->port) != 1)
                s->port = 0;
            fclose(f);
        }
        if (s->port == 0)
            usleep(10000);
    }
    if (s->port == 0)
        fail_msg("mock_llm did not write its port file %s", s->port_file);
}

static void stop_mock(mock_server_t *s)
{
    int status;

    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
    unlink(s->port_file);
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    resp_t *r = arg;
    char *grown = realloc(r->body, r->len + size * n + 1);

    if (grown == NULL)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, size * n);
    r->len += size * n;
    r->body[r->len] = '\0';
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    resp_t *r = arg;
    size_t len = size * n, k;

    if (len > 13 && strncasecmp(data, "content-type:", 13) == 0) {
        for (k = 13; k < len && data[k] == ' '; ++k)
            ;
        snprintf(r->content_type, sizeof(r->content_type), "%.*s", (int)(len - k), data + k);
        r->content_type[strcspn(r->content_type, "\r\n")] = '\0';
    }
    return len;
}

/* A curl handle for `method` `path` on `s` with `body` (may be NULL) and optional
 * Authorization; the response goes into r (zeroed here). Caller cleans up the handle. */
static CURL *make_request(const mock_server_t *s, const char *method, const char *path, const char *body, int auth,
                          struct curl_slist **headers, resp_t *r)
{
    CURL *c = curl_easy_init();
    char url[256];

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
    *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth)
        *headers = curl_slist_append(*headers, "Authorization: Bearer sk-test");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    if (body != NULL)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

/* One blocking request; `timeout_ms` 0 keeps the default. Fills r; caller frees r->body. */
static void request(const mock_server_t *s, const char *method, const char *path, const char *body, int auth, long timeout_ms,
                    resp_t *r)
{
    struct curl_slist *headers;
    CURL *c = make_request(s, method, path, body, auth, &headers, r);

    if (timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    r->rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
}

/* POSTs a chat request built from a printf format; returns the parsed JSON body (new
 * reference, or NULL) and fills r. */
static json_t *chat(const mock_server_t *s, resp_t *r, const char *fmt, ...)
{
    char body[8192];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    request(s, "POST", "/v1/chat/completions", body, 0, 0, r);
    return r->body != NULL ? json_loads(r->body, 0, NULL) : NULL;
}

/* Parses an event-stream body into events e (caller frees e->chunks). Fails the test on a
 * line that is neither "data: ..." nor blank, or on an event after [DONE]. */
static void parse_events(const char *body, events_t *e)
{
    const char *p = body;

    e->chunks = json_array();
    e->n_malformed = 0;
    e->done = 0;
    while (p != NULL && *p != '\0') {
        const char *end = strstr(p, "\n\n");
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        assert_false(e->done);
        assert_true(len > 6 && strncmp(p, "data: ", 6) == 0);
        if (len == 12 && strncmp(p + 6, "[DONE]", 6) == 0) {
            e->done = 1;
        } else {
            json_t *chunk = json_loadb(p + 6, len - 6, 0, NULL);
            if (chunk == NULL)
                ++e->n_malformed;
            json_array_append_new(e->chunks, chunk != NULL ? chunk : json_null());
        }
        p = end != NULL ? end + 2 : NULL;
    }
}

/* The concatenated content deltas of a stream, malloc'd (caller frees). */
static char *joined_content(json_t *chunks)
{
    size_t i, len = 0;
    json_t *chunk;
    char *out = calloc(1, 1);

    json_array_foreach (chunks, i, chunk) {
        json_t *content =
            json_object_get(json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta"), "content");
        if (json_is_string(content)) {
            out = realloc(out, len + json_string_length(content) + 1);
            memcpy(out + len, json_string_value(content), json_string_length(content) + 1);
            len += json_string_length(content);
        }
    }
    return out;
}

static const char *finish_of(json_t *chunk)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "finish_reason"));
}

static json_int_t get_stat(const mock_server_t *s, const char *name)
{
    resp_t r;
    json_t *j;
    json_int_t v;

    request(s, "GET", "/stats", NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_true(json_is_integer(json_object_get(j, name)));
    v = json_integer_value(json_object_get(j, name));
    json_decref(j);
    free(r.body);
    return v;
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_health_and_models(void **state)
{
    resp_t r;
    json_t *j;
    size_t i, found = 0;
    json_t *m;

    (void)state;
    request(&fast, "GET", "/health", NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    free(r.body);

    request(&fast, "GET", "/v1/models", NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(j = json_loads(r.body, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(j, "object")), "list");
    assert_true(json_array_size(json_object_get(j, "data")) >= 3);
    json_array_foreach (json_object_get(j, "data"), i, m) {
        assert_string_equal(json_string_value(json_object_get(m, "object")), "model");
        found += strcmp(json_string_value(json_object_get(m, "id")), "mock-model") == 0;
    }
    assert_int_equal(found, 1);
    json_decref(j);
    free(r.body);

    request(&fast, "GET", "/v1/models/gpt-4o", NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(j = json_loads(r.body, 0, NULL));
    assert_string_equal(json_string_value(json_object_get(j, "id")), "gpt-4o");
    json_decref(j);
    free(r.body);
}

static void test_whole_answer(void **state)
{
    json_t *j, *choice, *usage;
    resp_t r;

    (void)state;
    j = chat(&fast, &r,
             "{\"model\":\"gpt-4o-mini\",\"temperature\":0,\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
             "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hello there\"}]}]}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "gpt-4o-mini");
    assert_true(strncmp(json_string_value(json_object_get(j, "id")), "chatcmpl-", 9) == 0);
    assert_int_equal(json_array_size(json_object_get(j, "choices")), 1);
    choice = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(choice, "message"), "role")), "assistant");
    assert_string_equal(json_string_value(json_object_get(json_object_get(choice, "message"), "content")), FULL_TEXT);
    assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")), "stop");
    usage = json_object_get(j, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "completion_tokens")), 42);
    assert_true(json_integer_value(json_object_get(usage, "prompt_tokens")) > 0);
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")),
                     json_integer_value(json_object_get(usage, "prompt_tokens")) + 42);
    json_decref(j);
    free(r.body);

    /* the same on the path without /v1 */
    request(&fast, "POST", "/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, 0,
            &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, FULL_TEXT));
    free(r.body);
}

static void test_stream_sequence(void **state)
{
    json_t *chunk, *delta;
    events_t e;
    resp_t r;
    size_t i, n;
    char *text;

    (void)state;
    chat(&fast, &r, "{\"model\":\"gpt-4o-mini\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/event-stream");
    parse_events(r.body, &e);
    assert_true(e.done);
    assert_int_equal(e.n_malformed, 0);
    n = json_array_size(e.chunks);
    assert_int_equal(n, 1 + 42 + 1); /* role, one word each, finish */
    json_array_foreach (e.chunks, i, chunk) {
        assert_string_equal(json_string_value(json_object_get(chunk, "object")), "chat.completion.chunk");
        assert_string_equal(json_string_value(json_object_get(chunk, "model")), "gpt-4o-mini");
        assert_string_equal(json_string_value(json_object_get(chunk, "id")),
                            json_string_value(json_object_get(json_array_get(e.chunks, 0), "id")));
        assert_int_equal(json_array_size(json_object_get(chunk, "choices")), 1);
        delta = json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta");
        if (i == 0)
            assert_string_equal(json_string_value(json_object_get(delta, "role")), "assistant");
        else if (i < n - 1)
            assert_true(json_string_length(json_object_get(delta, "content")) > 0);
        if (i < n - 1)
            assert_null(finish_of(chunk));
    }
    assert_string_equal(finish_of(json_array_get(e.chunks, n - 1)), "stop");
    text = joined_content(e.chunks);
    assert_string_equal(text, FULL_TEXT);
    free(text);
    json_decref(e.chunks);
    free(r.body);
}

static void test_stream_usage(void **state)
{
    json_t *last, *usage;
    events_t e;
    resp_t r;
    size_t n;

    (void)state;
    chat(&fast, &r,
         "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}]}");
    assert_int_equal(r.status, 200);
    parse_events(r.body, &e);
    assert_true(e.done);
    n = json_array_size(e.chunks);
    assert_int_equal(n, 1 + 42 + 1 + 1);
    assert_string_equal(finish_of(json_array_get(e.chunks, n - 2)), "stop");
    last = json_array_get(e.chunks, n - 1);
    assert_int_equal(json_array_size(json_object_get(last, "choices")), 0);
    assert_true(json_is_array(json_object_get(last, "choices")));
    usage = json_object_get(last, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "completion_tokens")), 42);
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")),
                     json_integer_value(json_object_get(usage, "prompt_tokens")) + 42);
    json_decref(e.chunks);
    free(r.body);
}

static void test_max_tokens(void **state)
{
    json_t *j;
    events_t e;
    resp_t r;
    char *text;

    (void)state;
    j = chat(&fast, &r, "{\"model\":\"m\",\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_non_null(j);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content")),
        "The quick mock");
    assert_string_equal(finish_of(j), "length");
    json_decref(j);
    free(r.body);

    chat(&fast, &r, "{\"model\":\"m\",\"stream\":true,\"max_tokens\":3,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    parse_events(r.body, &e);
    assert_int_equal(json_array_size(e.chunks), 1 + 3 + 1);
    text = joined_content(e.chunks);
    assert_string_equal(text, "The quick mock");
    assert_string_equal(finish_of(json_array_get(e.chunks, 4)), "length");
    free(text);
    json_decref(e.chunks);
    free(r.body);
}

/* Checks one tool call object (or the merged stream deltas): name and arguments. */
static void check_weather_arguments(const char *arguments)
{
    json_t *args = json_loads(arguments, 0, NULL);

    assert_non_null(args);
    assert_string_equal(json_string_value(json_object_get(args, "city")), "test");
    assert_int_equal(json_integer_value(json_object_get(args, "days")), 1);
    assert_string_equal(json_string_value(json_object_get(args, "unit")), "celsius");
    assert_null(json_object_get(args, "note"));
    json_decref(args);
}

static void test_tool_call(void **state)
{
    json_t *j, *message, *calls, *call;
    resp_t r;
    json_int_t before = get_stat(&fast, "tool_calls");

    (void)state;
    j = chat(&fast, &r,
             "{\"model\":\"m\",\"tools\":%s,\"tool_choice\":\"auto\",\"messages\":[{\"role\":\"user\","
             "\"content\":\"What is the weather? Use get_weather.\"}]}",
             weather_tools);
    assert_int_equal(r.status, 200);
    assert_non_null(j);
    assert_string_equal(finish_of(j), "tool_calls");
    message = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
    assert_string_equal(json_string_value(json_object_get(message, "role")), "assistant");
    assert_true(json_is_null(json_object_get(message, "content")));
    calls = json_object_get(message, "tool_calls");
    assert_int_equal(json_array_size(calls), 1); /* get_time is not named */
    call = json_array_get(calls, 0);
    assert_true(strncmp(json_string_value(json_object_get(call, "id")), "call_", 5) == 0);
    assert_string_equal(json_string_value(json_object_get(call, "type")), "function");
    assert_string_equal(json_string_value(json_object_get(json_object_get(call, "function"), "name")), "get_weather");
    check_weather_arguments(json_string_value(json_object_get(json_object_get(call, "function"), "arguments")));
    json_decref(j);
    free(r.body);
    assert_int_equal(get_stat(&fast, "tool_calls"), before + 1);

    /* a tool without required parameters gets "{}" */
    j = chat(&fast, &r, "{\"model\":\"m\",\"tools\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"call get_time now\"}]}",
             weather_tools);
    call = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "tool_calls"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(call, "function"), "name")), "get_time");
    assert_string_equal(json_string_value(json_object_get(json_object_get(call, "function"), "arguments")), "{}");
    json_decref(j);
    free(r.body);
}

static void test_no_tool_call(void **state)
{
    json_t *j;
    resp_t r;

    (void)state;
    /* tools offered, but not named */
    j = chat(&fast, &r,
             "{\"model\":\"m\",\"tools\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"just talk, get_weatherly\"}]}",
             weather_tools);
    assert_string_equal(finish_of(j), "stop");
    assert_non_null(strstr(r.body, FULL_TEXT));
    json_decref(j);
    free(r.body);
    /* named, but tool_choice none */
    j = chat(
        &fast, &r,
        "{\"model\":\"m\",\"tools\":%s,\"tool_choice\":\"none\",\"messages\":[{\"role\":\"user\",\"content\":\"get_weather\"}]}",
        weather_tools);
    assert_string_equal(finish_of(j), "stop");
    json_decref(j);
    free(r.body);
    /* named in an earlier message only */
    j = chat(&fast, &r,
             "{\"model\":\"m\",\"tools\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"get_weather\"},"
             "{\"role\":\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"thanks\"}]}",
             weather_tools);
    assert_string_equal(finish_of(j), "stop");
    json_decref(j);
    free(r.body);
}

static void test_tool_call_stream(void **state)
{
    json_t *chunk, *first, *tc;
    events_t e;
    resp_t r;
    size_t i, n, n_arg_deltas = 0;
    char args[512] = "";

    (void)state;
    chat(&fast, &r,
         "{\"model\":\"m\",\"stream\":true,\"tools\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"get_weather please\"}]}",
         weather_tools);
    assert_int_equal(r.status, 200);
    parse_events(r.body, &e);
    assert_true(e.done);
    n = json_array_size(e.chunks);
    first = json_array_get(
        json_object_get(json_object_get(json_array_get(json_object_get(json_array_get(e.chunks, 0), "choices"), 0), "delta"),
                        "tool_calls"),
        0);
    assert_non_null(first);
    assert_true(strncmp(json_string_value(json_object_get(first, "id")), "call_", 5) == 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(first, "function"), "name")), "get_weather");
    assert_int_equal(json_integer_value(json_object_get(first, "index")), 0);
    for (i = 1; i < n - 1; ++i) {
        chunk = json_array_get(e.chunks, i);
        tc = json_array_get(
            json_object_get(json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta"), "tool_calls"), 0);
        assert_non_null(tc);
        assert_int_equal(json_integer_value(json_object_get(tc, "index")), 0);
        assert_null(json_object_get(tc, "id"));
        assert_true(strlen(args) + json_string_length(json_object_get(json_object_get(tc, "function"), "arguments")) <
                    sizeof(args));
        strcat(args, json_string_value(json_object_get(json_object_get(tc, "function"), "arguments")));
        ++n_arg_deltas;
    }
    assert_true(n_arg_deltas >= 2);
    check_weather_arguments(args);
    assert_string_equal(finish_of(json_array_get(e.chunks, n - 1)), "tool_calls");
    json_decref(e.chunks);
    free(r.body);
}

static void test_tool_result_turn(void **state)
{
    static const char *const body =
        "{\"model\":\"m\",%s\"tools\":%s,\"messages\":[{\"role\":\"user\",\"content\":\"use get_weather\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_9\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_9\",\"content\":\"sunny and 21 \\\"C\\\"\"}]}";
    json_t *j;
    events_t e;
    resp_t r;
    const char *content;
    char *text;

    (void)state;
    j = chat(&fast, &r, body, "", weather_tools);
    assert_int_equal(r.status, 200);
    assert_string_equal(finish_of(j), "stop");
    content =
        json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    assert_non_null(content);
    assert_non_null(strstr(content, "sunny and 21 \"C\""));

    free(r.body);
    chat(&fast, &r, body, "\"stream\":true,", weather_tools);
    parse_events(r.body, &e);
    assert_true(e.done);
    assert_int_equal(e.n_malformed, 0);
    text = joined_content(e.chunks);
    assert_string_equal(text, content);
    free(text);
    json_decref(j);
    json_decref(e.chunks);
    free(r.body);
}

/* Non-ASCII text survives every cut: a long tool result (quoted up to 1,000 bytes) and tool
 * arguments split into stream pieces stay valid UTF-8 JSON. */
static void test_unicode(void **state)
{
    char body[4096], result[1300];
    const char *content;
    json_t *j, *args;
    events_t e;
    resp_t r;
    size_t i, n;
    char *text, joined[512] = "";

    (void)state;
    for (i = 0; i + 2 < sizeof(result) - 100; i += 2)
        memcpy(result + i, "\xc3\xa9", 2); /* é */
    result[i] = '\0';
    snprintf(body, sizeof(body),
             "{\"model\":\"m\",%%s\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"%s\"}]}", result);
    j = chat(&fast, &r, body, "");
    assert_int_equal(r.status, 200);
    assert_non_null(j);
    content =
        json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message"), "content"));
    assert_non_null(content);
    assert_true(strncmp(content, "The tool returned: \xc3\xa9\xc3\xa9", 23) == 0);
    assert_true(strlen(content) <= 19 + 1000);
    free(r.body);
    chat(&fast, &r, body, "\"stream\":true,");
    parse_events(r.body, &e);
    assert_int_equal(e.n_malformed, 0);
    text = joined_content(e.chunks);
    assert_string_equal(text, content);
    free(text);
    json_decref(e.chunks);
    json_decref(j);
    free(r.body);

    chat(&fast, &r,
         "{\"model\":\"m\",\"stream\":true,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"pick\",\"parameters\":"
         "{\"type\":\"object\",\"properties\":{\"animal\":{\"type\":\"string\",\"enum\":[\"\xc5\xbc\xc3\xb3\xc5\x82w\"]}},"
         "\"required\":[\"animal\"]}}}],\"messages\":[{\"role\":\"user\",\"content\":\"pick one\"}]}");
    assert_int_equal(r.status, 200);
    parse_events(r.body, &e);
    assert_int_equal(e.n_malformed, 0);
    n = json_array_size(e.chunks);
    assert_true(n >= 4);
    for (i = 1; i < n - 1; ++i) {
        json_t *tc = json_array_get(
            json_object_get(json_object_get(json_array_get(json_object_get(json_array_get(e.chunks, i), "choices"), 0), "delta"),
                            "tool_calls"),
            0);
        const char *piece = json_string_value(json_object_get(json_object_get(tc, "function"), "arguments"));
        assert_non_null(piece);
        assert_true(strlen(joined) + strlen(piece) < sizeof(joined));
        strcat(joined, piece);
    }
    args = json_loads(joined, 0, NULL);
    assert_non_null(args);
    assert_string_equal(json_string_value(json_object_get(args, "animal")), "\xc5\xbc\xc3\xb3\xc5\x82w");
    json_decref(args);
    json_decref(e.chunks);
    free(r.body);
}

static void test_error_hooks(void **state)
{
    json_int_t errors = get_stat(&fast, "errors");
    json_t *j;
    events_t e;
    resp_t r;

    (void)state;
    j = chat(&fast, &r, "{\"model\":\"mock-error-500\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 500);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "mock internal error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "type")), "server_error");
    json_decref(j);
    free(r.body);

    j = chat(&fast, &r, "{\"model\":\"mock-error-401\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 401);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "Incorrect API key provided");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")), "invalid_api_key");
    json_decref(j);
    free(r.body);

    j = chat(&fast, &r, "{\"model\":\"mock-error-429\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 429);
    assert_non_null(json_object_get(j, "error"));
    json_decref(j);
    free(r.body);
    assert_int_equal(get_stat(&fast, "errors"), errors + 3);

    chat(&fast, &r, "{\"model\":\"mock-malformed\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "text/event-stream");
    parse_events(r.body, &e);
    assert_int_equal(e.n_malformed, 1);
    json_decref(e.chunks);
    free(r.body);

    j = chat(&fast, &r, "{\"model\":\"mock-malformed\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 200);
    assert_null(j);
    free(r.body);
}

static void test_bad_requests(void **state)
{
    json_t *j;
    resp_t r;

    (void)state;
    j = chat(&fast, &r, "{\"model\":\"m\",\"messages\":");
    assert_int_equal(r.status, 400);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "type")), "invalid_request_error");
    json_decref(j);
    free(r.body);

    j = chat(&fast, &r, "{\"model\":\"m\",\"messages\":[]}");
    assert_int_equal(r.status, 400);
    assert_non_null(json_object_get(j, "error"));
    json_decref(j);
    free(r.body);

    j = chat(&fast, &r, "[1,2]");
    assert_int_equal(r.status, 400);
    json_decref(j);
    free(r.body);

    request(&fast, "GET", "/v1/chat/completions", NULL, 0, 0, &r);
    assert_int_equal(r.status, 405);
    free(r.body);
    request(&fast, "GET", "/v1/nothing", NULL, 0, 0, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "\"error\""));
    free(r.body);
}

static void test_stats_counters(void **state)
{
    json_int_t requests = get_stat(&fast, "requests"), streams = get_stat(&fast, "streams"),
               authorized = get_stat(&fast, "authorized");
    resp_t r;
    json_t *last;

    (void)state;
    request(&fast, "POST", "/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}", 1, 0,
            &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    request(&fast, "POST", "/v1/chat/completions",
            "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"last one\"}]}", 0, 0, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
    assert_int_equal(get_stat(&fast, "requests"), requests + 2);
    assert_int_equal(get_stat(&fast, "streams"), streams + 1);
    assert_int_equal(get_stat(&fast, "authorized"), authorized + 1);
    assert_int_equal(get_stat(&fast, "active"), 0);

    request(&fast, "GET", "/last-request", NULL, 0, 0, &r);
    assert_int_equal(r.status, 200);
    last = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(last, "messages"), 0), "content")),
                        "last one");
    json_decref(last);
    free(r.body);
}

/* The slow instance: --first-byte-ms 30 --chunk-ms 5 --words 5; order and counts only. */
static void test_delays(void **state)
{
    events_t e;
    resp_t r;
    json_t *j;
    char *text;

    (void)state;
    chat(&slow, &r,
         "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 200);
    parse_events(r.body, &e);
    assert_true(e.done);
    assert_int_equal(json_array_size(e.chunks), 1 + 5 + 1 + 1);
    text = joined_content(e.chunks);
    assert_string_equal(text, "The quick mock model streams");
    free(text);
    json_decref(e.chunks);
    free(r.body);

    j = chat(&slow, &r, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assert_int_equal(r.status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")), 5);
    json_decref(j);
    free(r.body);

    /* per-request hooks: words and per-chunk drip */
    chat(&fast, &r, "{\"model\":\"mock-words-50\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    parse_events(r.body, &e);
    assert_int_equal(json_array_size(e.chunks), 1 + 50 + 1);
    text = joined_content(e.chunks);
    assert_true(strncmp(text, FULL_TEXT " The quick", strlen(FULL_TEXT) + 10) == 0);
    free(text);
    json_decref(e.chunks);
    free(r.body);

    chat(&fast, &r, "{\"model\":\"mock-drip-2\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    parse_events(r.body, &e);
    assert_true(e.done);
    assert_int_equal(json_array_size(e.chunks), 1 + 42 + 1);
    json_decref(e.chunks);
    free(r.body);
}

/* mock-hang sends headers (and an SSE comment) and then nothing; mock-slow waits; neither
 * blocks other requests on the same (single-threaded) server. */
static void test_hang_and_slow_do_not_block(void **state)
{
    struct curl_slist *h1, *h2;
    resp_t hang, slow_r, r;
    CURLM *multi = curl_multi_init();
    CURL *c1 = make_request(&slow, "POST", "/v1/chat/completions",
                            "{\"model\":\"mock-hang\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0,
                            &h1, &hang);
    CURL *c2 = make_request(&slow, "POST", "/v1/chat/completions",
                            "{\"model\":\"mock-slow\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, &h2, &slow_r);
    long status = 0;
    int running = 0, i;

    (void)state;
    curl_multi_add_handle(multi, c1);
    curl_multi_add_handle(multi, c2);
    for (i = 0; i != 500; ++i) {
        curl_multi_perform(multi, &running);
        curl_easy_getinfo(c1, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200 && hang.len > 0 && get_stat(&slow, "active") == 2)
            break;
        curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    assert_int_equal(status, 200); /* the hanging answer's headers arrived */
    assert_int_equal(running, 2);
    assert_int_equal(get_stat(&slow, "active"), 2);
    assert_string_equal(hang.body != NULL ? hang.body : "", ": mock-hang\n\n");
    assert_string_equal(hang.content_type, "text/event-stream");
    assert_int_equal(slow_r.len, 0);

    request(&slow, "POST", "/v1/chat/completions", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, 0,
            &r);
    assert_int_equal(r.status, 200);
    free(r.body);

    curl_multi_remove_handle(multi, c1);
    curl_multi_remove_handle(multi, c2);
    curl_easy_cleanup(c1);
    curl_easy_cleanup(c2);
    curl_multi_cleanup(multi);
    curl_slist_free_all(h1);
    curl_slist_free_all(h2);
    free(hang.body);
    free(slow_r.body);
}

/* 300 concurrent streams on the delayed single-threaded server all complete. */
static void test_many_concurrent_streams(void **state)
{
    enum { N = 300 };
    static resp_t rs[N];
    static CURL *cs[N];
    static struct curl_slist *hs[N];
    CURLM *multi = curl_multi_init();
    int running = 1, i, complete = 0;
    time_t give_up = time(NULL) + 60;
    events_t e;

    (void)state;
    for (i = 0; i != N; ++i) {
        cs[i] = make_request(&slow, "POST", "/v1/chat/completions",
                             "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, &hs[i],
                             &rs[i]);
        curl_easy_setopt(cs[i], CURLOPT_TIMEOUT_MS, 60000L);
        curl_multi_add_handle(multi, cs[i]);
    }
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)N);
    while (running > 0 && time(NULL) < give_up) {
        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 50, NULL);
    }
    for (i = 0; i != N; ++i) {
        curl_easy_getinfo(cs[i], CURLINFO_RESPONSE_CODE, &rs[i].status);
        if (rs[i].status == 200 && rs[i].body != NULL) {
            parse_events(rs[i].body, &e);
            complete += e.done && json_array_size(e.chunks) == 7;
            json_decref(e.chunks);
        }
        curl_multi_remove_handle(multi, cs[i]);
        curl_easy_cleanup(cs[i]);
        curl_slist_free_all(hs[i]);
        free(rs[i].body);
    }
    curl_multi_cleanup(multi);
    assert_int_equal(complete, N);
}

static void test_bad_command_line(void **state)
{
    pid_t pid;
    int status;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", 1);
        dup2(null, 2);
        execl(mock_bin, mock_bin, "--words", "zero", (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 2);
}

static int setup(void **state)
{
    static const char *const slow_args[] = {"--threads", "1", "--first-byte-ms", "30", "--chunk-ms", "5", "--words", "5", NULL};
    static const char *const fast_args[] = {"--threads", "2", NULL};

    (void)state;
    start_mock(&fast, fast_args);
    start_mock(&slow, slow_args);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    stop_mock(&fast);
    stop_mock(&slow);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_and_models),
        cmocka_unit_test(test_whole_answer),
        cmocka_unit_test(test_stream_sequence),
        cmocka_unit_test(test_stream_usage),
        cmocka_unit_test(test_max_tokens),
        cmocka_unit_test(test_tool_call),
        cmocka_unit_test(test_no_tool_call),
        cmocka_unit_test(test_tool_call_stream),
        cmocka_unit_test(test_tool_result_turn),
        cmocka_unit_test(test_unicode),
        cmocka_unit_test(test_error_hooks),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_stats_counters),
        cmocka_unit_test(test_delays),
        cmocka_unit_test(test_hang_and_slow_do_not_block),
        cmocka_unit_test(test_many_concurrent_streams),
        cmocka_unit_test(test_bad_command_line),
    };
    int rc;

    if (argc < 2) {
        fprintf(stderr, "usage: %s <path of mock_llm>\n", argv[0]);
        return 2;
    }
    mock_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
