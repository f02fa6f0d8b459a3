/*
 * tests/unit/graph/test_agent.c — the built-in `agent` graph run with graph_invoke against the
 * mock OpenAI-compatible server (bench/mock_llm) over the embedded store: the streamed answer
 * and its token chunks, usage, multi-turn history, the input forms add_messages accepts, LLM
 * failures (HTTP 500, unreachable endpoint, unsupported provider), cancellation, and the
 * tool-call turn answered with "not available yet", and what the model is sent (system prompt,
 * history, tools) as the mock's GET /last-request shows it. ctest hands the mock's path in
 * LGSERVE_MOCK_LLM (cmake/Tests.cmake); without it every case is skipped with a message.
 */
#include <pthread.h>
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

#include "graph/engine.h"
#include "llm/llm.h"
#include "support/store_thread.h"
#include "support/mock_llm_proc.c"
#include "support/json_assert.h"


typedef struct fixture {
    char *dir;
    store_t *s;
    const store_ops_t *ops;
    char thread_id[UUID_STR_SIZE];
    json_t *events; /* [[mode, data], ...] of the last run */
} fixture_t;

/* Starts the mock before the tests; with no LGSERVE_MOCK_LLM the tests skip. */
static int start_mock(void **state)
{
    (void)state;
    if (graph_registry_init() != 0)
        return -1;
    return mock_llm_start("agent");
}

static int stop_mock(void **state)
{
    (void)state;
    mock_llm_stop();
    return 0;
}

static void on_event(void *user, const char *mode, const json_t *ns, json_t *data)
{
    fixture_t *f = user;

    (void)ns;
    json_array_append_new(f->events, json_pack("[s, O]", mode, data));
}

/* A fresh store with one thread per test. */
static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));

    if (test_store_thread_open(&f->dir, &f->ops, &f->s, f->thread_id) != 0)
        return -1;
    f->events = json_array();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    test_store_thread_close(f->ops, f->s, f->dir);
    json_decref(f->events);
    free(f);
    return 0;
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Skips the test when no mock runs (no LGSERVE_MOCK_LLM). */
#define NEED_MOCK()                                                                                \
    do {                                                                                           \
        if (mock.pid <= 0) {                                                                       \
            print_message("LGSERVE_MOCK_LLM is not set: skipped\n");                               \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

/*
 * Runs the agent graph on the fixture's thread streaming `modes` with `input` (JSON text, NULL
 * to continue),
 * model `model` (NULL = "openai:mock"), `base_url` (NULL = the mock's) and `extra_configurable`
 * (JSON text of more configurable keys, NULL for none). The caller clears *res.
 */
static void run_agent_modes(fixture_t *f, unsigned modes, const char *input, const char *model,
                            const char *base_url, const char *extra_configurable,
                            atomic_int *cancel, graph_result_t *res)
{
    json_t *in = input ? J(input) : NULL;
    json_t *configurable = extra_configurable ? J(extra_configurable) : json_object();
    json_t *config = json_pack("{s:O}", "configurable", configurable);
    json_t *meta = J("{\"purpose\": \"agent-test\"}");
    graph_invoke_opts_t o = {
        .store_ops = f->ops, .store = f->s, .thread_id = f->thread_id,
        .run_id = "00000000-0000-7000-8000-0000000000a1", .assistant_id = "agent",
        .input = in, .config = config, .metadata = meta,
        .stream_modes = modes, .on_event = on_event, .user = f, .cancel = cancel};
    const graph_t *g = graph_find("agent");

    assert_non_null(g);
    json_object_set_new(json_object_get(config, "configurable"), "model_name",
                        json_string(model ? model : "openai:mock"));
    json_object_set_new(json_object_get(config, "configurable"), "base_url",
                        json_string(base_url ? base_url : mock.base_url));
    json_array_clear(f->events);
    memset(res, 0, sizeof(*res));
    assert_int_equal(graph_invoke(g, &o, res), 0);
    json_decref(in);
    json_decref(configurable);
    json_decref(config);
    json_decref(meta);
}

/* run_agent_modes streaming messages, updates and values. */
static void run_agent(fixture_t *f, const char *input, const char *model, const char *base_url,
                      const char *extra_configurable, atomic_int *cancel, graph_result_t *res)
{
    run_agent_modes(f, GRAPH_STREAM_MESSAGES | GRAPH_STREAM_UPDATES | GRAPH_STREAM_VALUES, input,
                    model, base_url, extra_configurable, cancel, res);
}

static size_t on_curl_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    json_t **text = user;
    size_t n = size * nmemb;
    char *joined = NULL;

    if (asprintf(&joined, "%s%.*s", json_string_value(*text), (int)n, ptr) < 0)
        return 0;
    json_string_set(*text, joined);
    free(joined);
    return n;
}

/* The mock's last chat request body (GET /last-request), parsed; new reference. */
static json_t *mock_last_request(void)
{
    char url[96];
    json_t *text = json_string(""), *out;
    CURL *c = curl_easy_init();

    assert_non_null(c);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/last-request", mock.port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_curl_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &text);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_cleanup(c);
    out = json_loads(json_string_value(text), 0, NULL);
    json_decref(text);
    assert_non_null(out);
    return out;
}

static const json_t *messages_of(const graph_result_t *res)
{
    return json_object_get(res->values, "messages");
}

static const json_t *last_message(const graph_result_t *res)
{
    const json_t *m = messages_of(res);

    return json_array_get(m, json_array_size(m) - 1);
}

static json_int_t usage(const json_t *msg, const char *key)
{
    return json_integer_value(json_object_get(json_object_get(msg, "usage_metadata"), key));
}

static void assert_success(const graph_result_t *res)
{
    if (res->status != GRAPH_STATUS_SUCCESS)
        print_error("run ended %s: %s\n", graph_status_name(res->status),
                    res->error ? res->error : "(no message)");
    assert_int_equal(res->status, GRAPH_STATUS_SUCCESS);
}

/* The answer, its token chunks (messages events of node agent) and its usage. */
static void test_answer_streams_tokens(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    const json_t *ev, *ai;
    char text[1024] = "";
    size_t i, tokens = 0, usage_chunks = 0;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}", NULL,
              NULL, NULL, NULL, &res);
    assert_success(&res);
    assert_int_equal(json_array_size(messages_of(&res)), 2);
    ai = last_message(&res);
    assert_string_equal(str(ai, "type"), "ai");
    assert_string_equal(str(ai, "content"), MOCK_ANSWER);
    assert_int_equal(json_array_size(json_object_get(ai, "tool_calls")), 0);
    assert_int_equal(usage(ai, "output_tokens"), MOCK_WORDS);
    assert_true(usage(ai, "input_tokens") > 0);
    assert_int_equal(usage(ai, "total_tokens"),
                     usage(ai, "input_tokens") + usage(ai, "output_tokens"));
    assert_string_equal(str(json_object_get(ai, "response_metadata"), "finish_reason"), "stop");
    assert_string_equal(str(json_object_get(ai, "response_metadata"), "model_name"), "mock");

    json_array_foreach(f->events, i, ev) {
        const json_t *chunk, *meta;

        if (strcmp(json_string_value(json_array_get(ev, 0)), "messages") != 0)
            continue;
        chunk = json_array_get(json_array_get(ev, 1), 0);
        meta = json_array_get(json_array_get(ev, 1), 1);
        assert_string_equal(str(meta, "langgraph_node"), "agent");
        assert_int_equal(json_integer_value(json_object_get(meta, "langgraph_step")), 1);
        assert_string_equal(str(meta, "ls_provider"), "openai");
        assert_string_equal(str(meta, "ls_model_name"), "mock");
        assert_string_equal(str(meta, "ls_model_type"), "chat");
        assert_string_equal(str(meta, "thread_id"), f->thread_id);
        assert_string_equal(str(chunk, "type"), "ai");
        assert_string_equal(str(chunk, "id"), str(ai, "id"));
        assert_true(json_is_array(json_object_get(chunk, "tool_call_chunks")));
        if (json_object_get(chunk, "usage_metadata") != NULL)
            usage_chunks++;
        if (json_string_length(json_object_get(chunk, "content")) > 0) {
            tokens++;
            assert_true(strlen(text) + json_string_length(json_object_get(chunk, "content")) <
                        sizeof text);
            strcat(text, str(chunk, "content"));
        }
    }
    assert_int_equal(tokens, MOCK_WORDS);
    assert_string_equal(text, MOCK_ANSWER);
    assert_int_equal(usage_chunks, 1);
    graph_result_clear(&res);
}

/* A second run on the thread sends the whole history: the prompt grows by the first answer
 * (42 words + 1) and the new question (2 words + 1); the mock counts words plus one per
 * message. */
static void test_multi_turn_sees_history(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    json_int_t first_input;
    const json_t *msgs;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}", NULL,
              NULL, NULL, NULL, &res);
    assert_success(&res);
    first_input = usage(last_message(&res), "input_tokens");
    graph_result_clear(&res);

    run_agent(f, "{\"messages\": [{\"type\": \"human\", \"content\": \"and again\"}]}", NULL,
              NULL, NULL, NULL, &res);
    assert_success(&res);
    msgs = messages_of(&res);
    assert_int_equal(json_array_size(msgs), 4);
    assert_string_equal(str(json_array_get(msgs, 0), "content"), "hello there");
    assert_string_equal(str(json_array_get(msgs, 1), "type"), "ai");
    assert_string_equal(str(json_array_get(msgs, 2), "content"), "and again");
    assert_string_equal(str(json_array_get(msgs, 3), "content"), MOCK_ANSWER);
    assert_string_not_equal(str(json_array_get(msgs, 1), "id"), str(json_array_get(msgs, 3), "id"));
    assert_int_equal(usage(last_message(&res), "input_tokens"), first_input + 43 + 3);
    graph_result_clear(&res);
}

/* role "user", type "human" and block content all become human messages with ids. */
static void test_input_forms(void **state)
{
    fixture_t *f = *state;
    static const char *const inputs[] = {
        "{\"messages\": [{\"role\": \"user\", \"content\": \"one two\"}]}",
        "{\"messages\": [{\"type\": \"human\", \"content\": \"one two\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": "
        "\"one two\"}]}]}",
    };
    graph_result_t res;
    size_t i;

    NEED_MOCK();
    for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const json_t *human, *msgs;

        run_agent(f, inputs[i], NULL, NULL, NULL, NULL, &res);
        assert_success(&res);
        msgs = messages_of(&res);
        human = json_array_get(msgs, json_array_size(msgs) - 2);
        assert_string_equal(str(human, "type"), "human");
        assert_null(json_object_get(human, "role"));
        assert_true(json_string_length(json_object_get(human, "id")) > 0);
        if (i < 2)
            assert_string_equal(str(human, "content"), "one two");
        else
            assert_string_equal(str(json_array_get(json_object_get(human, "content"), 0), "text"),
                                "one two");
        assert_string_equal(str(last_message(&res), "content"), MOCK_ANSWER);
        graph_result_clear(&res);
    }
}

/* An HTTP 500 of the LLM ends the run in error naming the status and the provider's message;
 * the failed step writes no AI message. */
static void test_llm_500_is_run_error(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
              "openai:mock-error-500", NULL, NULL, NULL, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(res.error);
    assert_non_null(strstr(res.error, "500"));
    assert_non_null(strstr(res.error, "mock internal error"));
    assert_non_null(strstr(res.error, mock.base_url));
    assert_int_equal(json_array_size(messages_of(&res)), 1);
    graph_result_clear(&res);
}

/* An endpoint nobody listens on ends the run in error naming it. */
static void test_unreachable_llm_is_run_error(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", NULL,
              "http://127.0.0.1:9/v1", NULL, NULL, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(res.error);
    assert_non_null(strstr(res.error, "http://127.0.0.1:9/v1"));
    graph_result_clear(&res);
}

/* A provider other than openai: fails before any call, with a clear message. */
static void test_unsupported_provider_is_run_error(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
              "anthropic:claude-3", NULL, NULL, NULL, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(res.error);
    assert_non_null(strstr(res.error, "anthropic"));
    graph_result_clear(&res);
}

static void *raise_after_200ms(void *arg)
{
    struct timespec ts = {0, 200 * 1000 * 1000};

    nanosleep(&ts, NULL);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

/* Cancelling the run while the model is still silent stops the call: the run ends cancelled. */
static void test_cancel_stops_llm_call(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    atomic_int cancel = 0;
    pthread_t t;

    NEED_MOCK();
    assert_int_equal(pthread_create(&t, NULL, raise_after_200ms, &cancel), 0);
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
              "openai:mock-slow", NULL, NULL, &cancel, &res);
    pthread_join(t, NULL);
    assert_int_equal(res.status, GRAPH_STATUS_CANCELLED);
    assert_int_equal(json_array_size(messages_of(&res)), 1);
    graph_result_clear(&res);
}

/* Without tools configured none are offered: naming a tool gets a plain answer. */
static void test_no_tools_offered_by_default(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"call get_weather now\"}]}",
              NULL, NULL, NULL, NULL, &res);
    assert_success(&res);
    assert_int_equal(json_array_size(messages_of(&res)), 2);
    assert_string_equal(str(last_message(&res), "content"), MOCK_ANSWER);
    graph_result_clear(&res);
}

/* With mcp_config tools the model may call one; `tools` answers "not available yet" with an
 * error tool message and the next answer ends the run: human, ai(tool call), tool, ai. */
static void test_tool_call_answered_not_available(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    const json_t *msgs, *call, *tool, *ev;
    const char *nodes[3] = {NULL, NULL, NULL};
    size_t i, nupdates = 0;

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"call get_weather now\"}]}",
              NULL, NULL,
              "{\"mcp_config\": {\"url\": \"http://127.0.0.1:9/mcp\", \"tools\": "
              "[\"get_weather\", \"search_docs\"]}}",
              NULL, &res);
    assert_success(&res);
    msgs = messages_of(&res);
    assert_int_equal(json_array_size(msgs), 4);
    call = json_array_get(json_object_get(json_array_get(msgs, 1), "tool_calls"), 0);
    assert_int_equal(json_array_size(json_object_get(json_array_get(msgs, 1), "tool_calls")), 1);
    assert_string_equal(str(call, "name"), "get_weather");
    tool = json_array_get(msgs, 2);
    assert_string_equal(str(tool, "type"), "tool");
    assert_string_equal(str(tool, "status"), "error");
    assert_string_equal(str(tool, "name"), "get_weather");
    assert_string_equal(str(tool, "tool_call_id"), str(call, "id"));
    assert_non_null(strstr(str(tool, "content"), "'get_weather' is not available yet"));
    assert_true(json_string_length(json_object_get(tool, "id")) > 0);
    assert_string_equal(str(json_array_get(msgs, 3), "type"), "ai");
    assert_int_equal(json_array_size(json_object_get(json_array_get(msgs, 3), "tool_calls")), 0);
    assert_int_equal(strncmp(str(json_array_get(msgs, 3), "content"),
                             "The tool returned: Tool 'get_weather' is not available yet", 58),
                     0);

    json_array_foreach(f->events, i, ev) {
        const json_t *data = json_array_get(ev, 1);

        if (strcmp(json_string_value(json_array_get(ev, 0)), "updates") != 0)
            continue;
        assert_true(nupdates < 3);
        nodes[nupdates++] = json_object_iter_key(json_object_iter((json_t *)data));
    }
    assert_int_equal(nupdates, 3);
    assert_string_equal(nodes[0], "agent");
    assert_string_equal(nodes[1], "tools");
    assert_string_equal(nodes[2], "agent");
    graph_result_clear(&res);
}

/* The model gets the system prompt (with the fixed suffix) first, then the thread's messages
 * as OpenAI messages, and no tools unless mcp_config names them. */
static void test_request_sent_to_model(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    json_t *req;
    const json_t *msgs, *tools;
    char system[512];

    NEED_MOCK();
    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"first\"}]}", NULL,
              NULL, "{\"system_prompt\": \"Be brief.\"}", NULL, &res);
    assert_success(&res);
    graph_result_clear(&res);
    run_agent(f, "{\"messages\": [{\"type\": \"human\", \"content\": \"second\"}]}", NULL,
              NULL, "{\"system_prompt\": \"Be brief.\"}", NULL, &res);
    assert_success(&res);
    graph_result_clear(&res);

    req = mock_last_request();
    assert_string_equal(str(req, "model"), "mock");
    assert_true(json_is_true(json_object_get(req, "stream")));
    assert_null(json_object_get(req, "tools"));
    msgs = json_object_get(req, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    snprintf(system, sizeof system, "Be brief.\n%s", LLM_SYSTEM_PROMPT_SUFFIX);
    assert_string_equal(str(json_array_get(msgs, 0), "role"), "system");
    assert_string_equal(str(json_array_get(msgs, 0), "content"), system);
    assert_string_equal(str(json_array_get(msgs, 1), "role"), "user");
    assert_string_equal(str(json_array_get(msgs, 1), "content"), "first");
    assert_string_equal(str(json_array_get(msgs, 2), "role"), "assistant");
    assert_string_equal(str(json_array_get(msgs, 2), "content"), MOCK_ANSWER);
    assert_string_equal(str(json_array_get(msgs, 3), "content"), "second");
    json_decref(req);

    run_agent(f, "{\"messages\": [{\"role\": \"user\", \"content\": \"third\"}]}", NULL,
              NULL, "{\"mcp_config\": {\"url\": \"http://127.0.0.1:9/mcp\", \"tools\": "
              "[\"search_docs\", \"\", 7]}}", NULL, &res);
    assert_success(&res);
    graph_result_clear(&res);
    req = mock_last_request();
    tools = json_object_get(req, "tools");
    assert_int_equal(json_array_size(tools), 1);
    assert_string_equal(str(json_array_get(tools, 0), "type"), "function");
    assert_string_equal(str(json_object_get(json_array_get(tools, 0), "function"), "name"),
                        "search_docs");
    json_decref(req);
}

/* Without messages (or events) streamed, the agent asks for the whole answer (stream false)
 * and writes the same AI message: content, usage, response metadata; no messages events. */
static void test_whole_answer_without_message_stream(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    const json_t *ai, *ev;
    json_t *req;
    size_t i, updates = 0;

    NEED_MOCK();
    run_agent_modes(f, GRAPH_STREAM_UPDATES | GRAPH_STREAM_VALUES,
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"hello there\"}]}", NULL,
                    NULL, NULL, NULL, &res);
    assert_success(&res);
    req = mock_last_request();
    assert_true(json_is_false(json_object_get(req, "stream")));
    assert_null(json_object_get(req, "stream_options"));
    json_decref(req);
    ai = last_message(&res);
    assert_string_equal(str(ai, "type"), "ai");
    assert_string_equal(str(ai, "content"), MOCK_ANSWER);
    assert_non_null(str(ai, "id"));
    assert_int_equal(usage(ai, "output_tokens"), MOCK_WORDS);
    assert_int_equal(usage(ai, "total_tokens"),
                     usage(ai, "input_tokens") + usage(ai, "output_tokens"));
    assert_string_equal(str(json_object_get(ai, "response_metadata"), "finish_reason"), "stop");
    assert_string_equal(str(json_object_get(ai, "response_metadata"), "model_name"), "mock");
    json_array_foreach(f->events, i, ev) {
        assert_string_not_equal(json_string_value(json_array_get(ev, 0)), "messages");
        updates += strcmp(json_string_value(json_array_get(ev, 0)), "updates") == 0;
    }
    assert_int_equal(updates, 1);
    graph_result_clear(&res);

    /* events mode needs the chunks: the call streams again */
    run_agent_modes(f, GRAPH_STREAM_EVENTS, "{\"messages\": [{\"role\": \"user\", \"content\": "
                    "\"again\"}]}", NULL, NULL, NULL, NULL, &res);
    assert_success(&res);
    req = mock_last_request();
    assert_true(json_is_true(json_object_get(req, "stream")));
    json_decref(req);
    graph_result_clear(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_answer_streams_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_answer_without_message_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_turn_sees_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_llm_500_is_run_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreachable_llm_is_run_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_provider_is_run_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_stops_llm_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_tools_offered_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tool_call_answered_not_available, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_sent_to_model, setup, teardown),
    };

    return cmocka_run_group_tests(tests, start_mock, stop_mock);
}
