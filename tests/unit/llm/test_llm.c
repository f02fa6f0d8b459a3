/*
 * tests/unit/llm/test_llm.c — llm_chat against the mock OpenAI-compatible server
 * (bench/mock_llm): streamed and whole answers, tool-call turns, usage, and every failure the
 * client must turn into a message (HTTP errors, malformed streams, refused connections, idle
 * timeouts, cancellation). ctest hands the mock's path in LGSERVE_MOCK_LLM (cmake/Tests.cmake);
 * without it every case is skipped with a message.
 */
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

#include "llm/llm.h"
#include "support/mock_llm_proc.c"


/* What the streaming callbacks saw. */
typedef struct seen {
    char text[4096];
    size_t len;
    int tokens;        /* on_token calls with content */
    int chunks;        /* all on_token calls */
    int tool_chunks;   /* calls whose chunk carried tool_call_chunks */
    int usage_chunks;  /* calls whose chunk carried usage_metadata */
    int bad_chunks;    /* calls whose chunk was not an AI message chunk */
    int polls;         /* should_cancel calls */
    int cancel_after;  /* should_cancel answers 1 from this call on; 0 never */
} seen_t;

static int on_token(void *user, const llm_token_t *tok)
{
    seen_t *s = user;
    json_t *chunk = llm_token_chunk(tok);
    const char *type = json_string_value(json_object_get(chunk, "type"));

    s->chunks++;
    if (tok->len > 0)
        s->tokens++;
    if (json_array_size(json_object_get(chunk, "tool_call_chunks")) > 0)
        s->tool_chunks++;
    if (json_object_get(chunk, "usage_metadata") != NULL)
        s->usage_chunks++;
    if (type == NULL || strcmp(type, "ai") != 0 ||
        json_string_length(json_object_get(chunk, "content")) != tok->len ||
        (tok->chunk == NULL) == (tok->json == NULL) || tok->id == NULL ||
        strcmp(tok->id, json_string_value(json_object_get(chunk, "id")) ?: "") != 0)
        s->bad_chunks++;
    if (s->len + tok->len < sizeof s->text) {
        memcpy(s->text + s->len, tok->text, tok->len);
        s->len += tok->len;
        s->text[s->len] = '\0';
    }
    json_decref(chunk);
    return 0;
}

static int should_cancel(void *user)
{
    seen_t *s = user;

    s->polls++;
    return s->cancel_after > 0 && s->polls >= s->cancel_after;
}

static const llm_callbacks_t streaming = {.on_token = on_token, .should_cancel = should_cancel};
static const llm_callbacks_t whole = {.should_cancel = should_cancel};

/* Starts the mock before the tests; with no LGSERVE_MOCK_LLM the tests skip. */
static int start_mock(void **state)
{
    (void)state;
    return mock_llm_start("llm");
}

static int stop_mock(void **state)
{
    (void)state;
    mock_llm_stop();
    return 0;
}

/* Skips the current test when the mock is not running. */
#define NEED_MOCK()                                                                                \
    do {                                                                                           \
        if (mock.port == 0) {                                                                      \
            print_message("LGSERVE_MOCK_LLM is not set (run through ctest): skipped\n");           \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/* A configuration for `model` at the mock (caller frees with llm_config_free). */
static void mock_config(llm_config_t *cfg, const char *model)
{
    json_t *c = json_pack("{s:s, s:s, s:s}", "model_name", "custom:", "custom_model_name", model,
                          "base_url", mock.base_url);
    char err[256] = "";

    if (llm_config_resolve(c, cfg, err, sizeof err) != 0)
        fail_msg("llm_config_resolve: %s", err);
    json_decref(c);
}

/* OpenAI messages for one user turn `text` (new reference). */
static json_t *user_turn(const llm_config_t *cfg, const char *text)
{
    json_t *lc = json_pack("[{s:s, s:s}]", "type", "human", "content", text);
    char err[256] = "";
    json_t *m = llm_messages_to_openai(lc, cfg->system_prompt, err, sizeof err);

    if (m == NULL)
        fail_msg("llm_messages_to_openai: %s", err);
    json_decref(lc);
    return m;
}

/* One tool definition: get_weather(city: string). New reference. */
static json_t *weather_tool(void)
{
    return json_pack("[{s:s, s:{s:s, s:s, s:{s:s, s:{s:{s:s}}, s:[s]}}}]", "type", "function",
                     "function", "name", "get_weather", "description", "Weather of a city",
                     "parameters", "type", "object", "properties", "city", "type", "string",
                     "required", "city");
}

/* Runs one call of `model` with the user text; returns llm_chat's result. */
static int chat(const char *model, const char *text, const json_t *tools,
                const llm_callbacks_t *cb, seen_t *seen, long idle_ms, json_t **ai, char *err,
                size_t cap)
{
    llm_config_t cfg;
    json_t *msgs;
    int rc;

    mock_config(&cfg, model);
    if (idle_ms > 0)
        cfg.idle_timeout_ms = idle_ms;
    msgs = user_turn(&cfg, text);
    rc = llm_chat(&cfg, msgs, tools, cb, seen, ai, err, cap);
    json_decref(msgs);
    llm_config_free(&cfg);
    return rc;
}

static void assert_usage(const json_t *ai, json_int_t output_tokens)
{
    const json_t *u = json_object_get(ai, "usage_metadata");
    json_int_t in = json_integer_value(json_object_get(u, "input_tokens"));

    assert_non_null(u);
    assert_true(in > 0);
    assert_int_equal(json_integer_value(json_object_get(u, "output_tokens")), output_tokens);
    assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), in + output_tokens);
}

static void test_streamed_answer(void **state)
{
    seen_t seen = {0};
    json_t *ai = NULL;
    char err[512] = "";

    (void)state;
    NEED_MOCK();
    assert_int_equal(chat("mock-model", "hello", NULL, &streaming, &seen, 0, &ai, err, sizeof err), LLM_OK);
    assert_string_equal(seen.text, MOCK_ANSWER);
    assert_int_equal(seen.tokens, 42); /* one per word */
    assert_int_equal(seen.usage_chunks, 1);
    assert_int_equal(seen.tool_chunks, 0);
    assert_int_equal(seen.bad_chunks, 0);
    assert_string_equal(json_string_value(json_object_get(ai, "type")), "ai");
    assert_string_equal(json_string_value(json_object_get(ai, "content")), MOCK_ANSWER);
    assert_true(strncmp(json_string_value(json_object_get(ai, "id")), "chatcmpl-", 9) == 0);
    assert_int_equal(json_array_size(json_object_get(ai, "tool_calls")), 0);
    assert_int_equal(json_array_size(json_object_get(ai, "invalid_tool_calls")), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ai, "response_metadata"),
                                                          "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(json_object_get(ai, "response_metadata"),
                                                          "model_name")), "mock-model");
    assert_usage(ai, 42);
    json_decref(ai);

    /* the same thread again (its connection is reused) */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(chat("mock-words-3", "hello", NULL, &streaming, &seen, 0, &ai, err, sizeof err), LLM_OK);
    assert_string_equal(seen.text, "The quick mock");
    assert_int_equal(seen.tokens, 3);
    json_decref(ai);
}

static void test_whole_answer(void **state)
{
    seen_t seen = {0};
    json_t *ai = NULL;
    char err[512] = "";

    (void)state;
    NEED_MOCK();
    assert_int_equal(chat("mock-model", "hello", NULL, &whole, &seen, 0, &ai, err, sizeof err), LLM_OK);
    assert_string_equal(json_string_value(json_object_get(ai, "content")), MOCK_ANSWER);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ai, "response_metadata"),
                                                          "finish_reason")), "stop");
    assert_usage(ai, 42);
    json_decref(ai);

    /* no callbacks at all */
    assert_int_equal(chat("mock-words-2", "hello", NULL, NULL, NULL, 0, &ai, err, sizeof err), LLM_OK);
    assert_string_equal(json_string_value(json_object_get(ai, "content")), "The quick");
    json_decref(ai);
}

/* Checks the single get_weather call of a tool-call turn. */
static void assert_weather_call(const json_t *ai)
{
    const json_t *calls = json_object_get(ai, "tool_calls"), *call = json_array_get(calls, 0);
    const json_t *okw = json_object_get(json_object_get(ai, "additional_kwargs"), "tool_calls");

    assert_int_equal(json_array_size(calls), 1);
    assert_string_equal(json_string_value(json_object_get(call, "name")), "get_weather");
    assert_string_equal(json_string_value(json_object_get(call, "type")), "tool_call");
    assert_true(strncmp(json_string_value(json_object_get(call, "id")), "call_", 5) == 0);
    assert_true(json_is_object(json_object_get(call, "args")));
    assert_true(json_is_string(json_object_get(json_object_get(call, "args"), "city")));
    assert_int_equal(json_array_size(json_object_get(ai, "invalid_tool_calls")), 0);
    assert_int_equal(json_array_size(okw), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(ai, "response_metadata"),
                                                          "finish_reason")), "tool_calls");
}

static void test_tool_call_turn(void **state)
{
    seen_t seen = {0};
    json_t *tools = weather_tool(), *ai = NULL, *lc, *msgs, *answer = NULL;
    llm_config_t cfg;
    char err[512] = "";

    (void)state;
    NEED_MOCK();
    /* streamed: assembled from the deltas */
    assert_int_equal(chat("mock-model", "call get_weather for Paris", tools, &streaming, &seen, 0,
                          &ai, err, sizeof err), LLM_OK);
    assert_weather_call(ai);
    assert_true(seen.tool_chunks >= 2); /* the name, then the arguments in pieces */
    assert_int_equal(seen.bad_chunks, 0);
    assert_non_null(json_object_get(ai, "usage_metadata"));

    /* the tool result goes back and the model answers with it */
    mock_config(&cfg, "mock-model");
    lc = json_pack("[{s:s, s:s}, O, {s:s, s:s, s:O, s:s}]", "type", "human", "content",
                   "call get_weather for Paris", ai, "type", "tool", "content", "sunny and warm",
                   "tool_call_id", json_object_get(json_array_get(json_object_get(ai, "tool_calls"), 0), "id"),
                   "name", "get_weather");
    msgs = llm_messages_to_openai(lc, cfg.system_prompt, err, sizeof err);
    assert_non_null(msgs);
    assert_int_equal(llm_chat(&cfg, msgs, tools, NULL, NULL, &answer, err, sizeof err), LLM_OK);
    assert_string_equal(json_string_value(json_object_get(answer, "content")),
                        "The tool returned: sunny and warm");
    assert_int_equal(json_array_size(json_object_get(answer, "tool_calls")), 0);
    json_decref(answer);
    json_decref(msgs);
    json_decref(lc);
    llm_config_free(&cfg);
    json_decref(ai);

    /* whole */
    assert_int_equal(chat("mock-model", "call get_weather for Paris", tools, &whole, &seen, 0, &ai,
                          err, sizeof err), LLM_OK);
    assert_weather_call(ai);
    json_decref(ai);
    json_decref(tools);
}

/* Asserts that a call of `model` fails with exactly `want` (after "%s" = the mock's base URL). */
static void assert_fails(const char *model, const llm_callbacks_t *cb, const char *want_fmt)
{
    seen_t seen = {0};
    json_t *ai = (json_t *)1;
    char err[512] = "", want[512];

    snprintf(want, sizeof want, want_fmt, mock.base_url);
    assert_int_equal(chat(model, "hello", NULL, cb, &seen, 0, &ai, err, sizeof err), LLM_ERROR);
    assert_null(ai);
    assert_string_equal(err, want);
}

static void test_http_errors(void **state)
{
    (void)state;
    NEED_MOCK();
    assert_fails("mock-error-500", &streaming, "LLM at %s answered 500: mock internal error");
    assert_fails("mock-error-500", &whole, "LLM at %s answered 500: mock internal error");
    assert_fails("mock-error-401", &streaming, "LLM at %s answered 401: Incorrect API key provided");
    assert_fails("mock-error-429", &whole, "LLM at %s answered 429: Rate limit reached for mock model");
}

static void test_malformed(void **state)
{
    seen_t seen = {0};
    json_t *ai = NULL;
    char err[512] = "", want[256];

    (void)state;
    NEED_MOCK();
    assert_int_equal(chat("mock-malformed", "hello", NULL, &streaming, &seen, 0, &ai, err, sizeof err),
                     LLM_ERROR);
    assert_null(ai);
    snprintf(want, sizeof want, "LLM at %s sent a malformed stream chunk: ", mock.base_url);
    assert_true(strncmp(err, want, strlen(want)) == 0);
    assert_int_equal(seen.tokens, 2); /* the words before the broken chunk */
    assert_fails("mock-malformed", &whole, "LLM at %s sent a malformed answer: not JSON");
}

static void test_connection_refused(void **state)
{
    llm_config_t cfg;
    json_t *c = json_pack("{s:s}", "base_url", "http://127.0.0.1:9/v1"), *msgs, *ai = (json_t *)1;
    char err[512] = "";

    (void)state;
    /* needs no mock: port 9 (discard) has no listener here */
    assert_int_equal(llm_config_resolve(c, &cfg, err, sizeof err), 0);
    msgs = user_turn(&cfg, "hello");
    assert_int_equal(llm_chat(&cfg, msgs, NULL, &streaming, &(seen_t){0}, &ai, err, sizeof err), LLM_ERROR);
    assert_null(ai);
    assert_string_equal(err, "cannot reach LLM at http://127.0.0.1:9/v1: Couldn't connect to server");
    json_decref(msgs);
    llm_config_free(&cfg);
    json_decref(c);
}

static void test_idle_timeout(void **state)
{
    seen_t seen = {0};
    json_t *ai = NULL;
    char err[512] = "", want[256];

    (void)state;
    NEED_MOCK();
    snprintf(want, sizeof want, "LLM at %s sent nothing for 300 ms (idle timeout)", mock.base_url);
    assert_int_equal(chat("mock-hang", "hello", NULL, &streaming, &seen, 300, &ai, err, sizeof err),
                     LLM_ERROR);
    assert_string_equal(err, want);
    assert_int_equal(chat("mock-hang", "hello", NULL, &whole, &seen, 300, &ai, err, sizeof err),
                     LLM_ERROR);
    assert_string_equal(err, want);
    assert_null(ai);
}

static int stop_at_first_token(void *user, const llm_token_t *tok)
{
    (void)tok;
    ((seen_t *)user)->chunks++;
    return 1;
}

static void test_cancel(void **state)
{
    static const llm_callbacks_t stopper = {.on_token = stop_at_first_token};
    seen_t seen = {.cancel_after = 3};
    json_t *ai = (json_t *)1;
    char err[512] = "";

    (void)state;
    NEED_MOCK();
    /* mock-slow holds its first byte for 30 s; the third poll cancels */
    assert_int_equal(chat("mock-slow", "hello", NULL, &streaming, &seen, 0, &ai, err, sizeof err),
                     LLM_CANCELLED);
    assert_null(ai);
    assert_string_equal(err, "LLM call cancelled");
    assert_int_equal(seen.polls, 3);
    assert_int_equal(seen.tokens, 0);

    /* on_token asking to stop */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(chat("mock-model", "hello", NULL, &stopper, &seen, 0, &ai, err, sizeof err),
                     LLM_CANCELLED);
    assert_null(ai);
    assert_int_equal(seen.chunks, 1);

    /* the thread's handle still works afterwards */
    assert_int_equal(chat("mock-words-1", "hello", NULL, &whole, &seen, 0, &ai, err, sizeof err), LLM_OK);
    assert_string_equal(json_string_value(json_object_get(ai, "content")), "The");
    json_decref(ai);
}

static void test_bad_arguments(void **state)
{
    llm_config_t cfg = {0};
    json_t *msgs = json_array(), *ai = (json_t *)1;
    char err[512] = "";

    (void)state;
    assert_int_equal(llm_chat(&cfg, msgs, NULL, NULL, NULL, &ai, err, sizeof err), LLM_ERROR);
    assert_string_equal(err, "LLM call without a resolved configuration");
    assert_null(ai);
    json_decref(msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_streamed_answer),
        cmocka_unit_test(test_whole_answer),
        cmocka_unit_test(test_tool_call_turn),
        cmocka_unit_test(test_http_errors),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_bad_arguments),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, start_mock, stop_mock);
}
