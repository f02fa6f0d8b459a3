/*
 * tests/unit/llm/test_llm_map.c — the pure parts of runtime/llm: model selection
 * (llm_config_resolve against config.configurable and the process configuration), LangChain
 * messages to OpenAI messages, and OpenAI answers (whole completions and stream chunks) back to
 * LangChain AI messages. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph/graph.h"
#include "llm/llm.h"
#include "llm/llm_internal.h"
#include "util/config.h"

/* Parses JSON text that the test itself wrote; fails the test when it is not JSON. */
static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

    if (v == NULL)
        fail_msg("bad test JSON: %s: %s", e.text, text);
    return v;
}

/* Asserts that `got` (borrowed) equals the JSON text `want`, printing both when not. */
static void assert_json_eq(const json_t *got, const char *want)
{
    json_t *w = J(want);

    if (!json_equal((json_t *)got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

        print_error("got:  %s\nwant: %s\n", g != NULL ? g : "(null)", want);
        free(g);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

/* ---- configuration ---------------------------------------------------------------------- */

static config_t proc_cfg;

/* Installs a process configuration with the given model-provider settings (borrowed). */
static void install(const char *base_url, const char *key, const char *model)
{
    memset(&proc_cfg, 0, sizeof proc_cfg);
    proc_cfg.openai_base_url = (char *)base_url;
    proc_cfg.openai_api_key = (char *)key;
    proc_cfg.model_name = (char *)model;
    config_install(&proc_cfg);
}

/* Resolves `configurable` (JSON text, or NULL) and asserts success. */
static void resolve_ok(const char *configurable, llm_config_t *out)
{
    json_t *c = configurable != NULL ? J(configurable) : NULL;
    char err[256] = "";

    if (llm_config_resolve(c, out, err, sizeof err) != 0)
        fail_msg("llm_config_resolve failed: %s", err);
    json_decref(c);
}

/* Resolves `configurable` (JSON text) and asserts the failure message equals `want`. */
static void resolve_fails(const char *configurable, const char *want)
{
    json_t *c = J(configurable);
    llm_config_t out;
    char err[256] = "";

    assert_int_equal(llm_config_resolve(c, &out, err, sizeof err), -1);
    assert_string_equal(err, want);
    assert_null(out.model);
    assert_null(out.base_url);
    json_decref(c);
}

static void test_config_defaults(void **state)
{
    llm_config_t c;

    (void)state;
    config_install(NULL);
    resolve_ok(NULL, &c);
    assert_string_equal(c.model, "gpt-4o");
    assert_string_equal(c.base_url, LLM_DEFAULT_BASE_URL);
    assert_null(c.api_key);
    assert_true(c.has_temperature);
    assert_true(c.temperature == LLM_DEFAULT_TEMPERATURE);
    assert_int_equal(c.max_tokens, LLM_DEFAULT_MAX_TOKENS);
    assert_string_equal(c.system_prompt, LLM_DEFAULT_SYSTEM_PROMPT "\n" LLM_SYSTEM_PROMPT_SUFFIX);
    assert_int_equal(c.connect_timeout_ms, LLM_DEFAULT_CONNECT_TIMEOUT_MS);
    assert_int_equal(c.idle_timeout_ms, LLM_DEFAULT_IDLE_TIMEOUT_MS);
    llm_config_free(&c);
    assert_null(c.model);

    /* nulls and a non-object mean "absent" too */
    resolve_ok("{\"model_name\": null, \"temperature\": null, \"max_tokens\": null, "
               "\"system_prompt\": null, \"base_url\": null}", &c);
    assert_string_equal(c.model, "gpt-4o");
    assert_int_equal(c.max_tokens, LLM_DEFAULT_MAX_TOKENS);
    llm_config_free(&c);
    resolve_ok("[1, 2]", &c);
    assert_string_equal(c.model, "gpt-4o");
    llm_config_free(&c);
}

static void test_config_process_defaults(void **state)
{
    llm_config_t c;

    (void)state;
    install("http://127.0.0.1:8765/v1/", "sk-process", "openai:gpt-4o-mini");
    resolve_ok("{}", &c);
    assert_string_equal(c.model, "gpt-4o-mini");
    assert_string_equal(c.base_url, "http://127.0.0.1:8765/v1"); /* trailing slash dropped */
    assert_string_equal(c.api_key, "sk-process");
    llm_config_free(&c);

    /* MODEL_NAME without a provider prefix is an OpenAI model */
    install(NULL, "", "gpt-4.1");
    resolve_ok("{}", &c);
    assert_string_equal(c.model, "gpt-4.1");
    assert_string_equal(c.base_url, LLM_DEFAULT_BASE_URL);
    assert_null(c.api_key); /* an empty key is none */
    llm_config_free(&c);
    config_install(NULL);
}

static void test_config_keys(void **state)
{
    llm_config_t c;

    (void)state;
    install("http://proc/v1", "sk-process", "openai:gpt-4o-mini");
    resolve_ok("{\"model_name\": \"openai:o3-mini\", \"temperature\": 0, \"max_tokens\": 12, "
               "\"system_prompt\": \"Be brief.\"}", &c);
    assert_string_equal(c.model, "o3-mini");
    assert_true(c.temperature == 0.0);
    assert_int_equal(c.max_tokens, 12);
    assert_string_equal(c.system_prompt, "Be brief.\n" LLM_SYSTEM_PROMPT_SUFFIX);
    assert_string_equal(c.base_url, "http://proc/v1");
    llm_config_free(&c);

    /* temperature as a real; model_name_override wins */
    resolve_ok("{\"model_name\": \"openai:o3\", \"model_name_override\": \"openai:gpt-4.1\", "
               "\"temperature\": 1.5}", &c);
    assert_string_equal(c.model, "gpt-4.1");
    assert_true(c.temperature == 1.5);
    llm_config_free(&c);

    /* apiKeys overrides OPENAI_API_KEY; an empty one does not */
    resolve_ok("{\"apiKeys\": {\"OPENAI_API_KEY\": \"sk-user\", \"ANTHROPIC_API_KEY\": \"x\"}}", &c);
    assert_string_equal(c.api_key, "sk-user");
    llm_config_free(&c);
    resolve_ok("{\"apiKeys\": {\"OPENAI_API_KEY\": \"\"}}", &c);
    assert_string_equal(c.api_key, "sk-process");
    llm_config_free(&c);
    config_install(NULL);
}

static void test_config_custom_endpoint(void **state)
{
    llm_config_t c;

    (void)state;
    install("http://proc/v1", "sk-process", NULL);
    resolve_ok("{\"model_name\": \"custom:\", \"base_url\": \"http://vllm:8000/v1\", "
               "\"custom_model_name\": \"llama-3\", \"custom_api_key\": \"ck\", "
               "\"apiKeys\": {\"OPENAI_API_KEY\": \"sk-user\"}}", &c);
    assert_string_equal(c.model, "llama-3");
    assert_string_equal(c.base_url, "http://vllm:8000/v1");
    assert_string_equal(c.api_key, "ck");
    llm_config_free(&c);

    /* base_url alone: an OpenAI-compatible endpoint; custom_model_name applies; key falls back */
    resolve_ok("{\"model_name\": \"openai:gpt-4o\", \"base_url\": \"https://router/v1\", "
               "\"custom_model_name\": \"MoM\"}", &c);
    assert_string_equal(c.model, "MoM");
    assert_string_equal(c.base_url, "https://router/v1");
    assert_string_equal(c.api_key, "sk-process");
    llm_config_free(&c);

    /* without base_url, custom_model_name does not replace an openai: model */
    resolve_ok("{\"model_name\": \"openai:gpt-4o\", \"custom_model_name\": \"MoM\"}", &c);
    assert_string_equal(c.model, "gpt-4o");
    llm_config_free(&c);

    /* custom:<model> names the model itself */
    resolve_ok("{\"model_name\": \"custom:qwen\", \"base_url\": \"http://x/v1\"}", &c);
    assert_string_equal(c.model, "qwen");
    llm_config_free(&c);
    config_install(NULL);
}

static void test_config_errors(void **state)
{
    (void)state;
    config_install(NULL);
    resolve_fails("{\"model_name\": \"anthropic:claude-3-7-sonnet-latest\"}",
                  "model provider 'anthropic' is not supported yet (only openai:)");
    resolve_fails("{\"model_name\": \"google_genai:gemini-2.0-flash\"}",
                  "model provider 'google_genai' is not supported yet (only openai:)");
    resolve_fails("{\"model_name\": \"custom:\", \"custom_model_name\": \"m\"}",
                  "model_name 'custom:' needs base_url (the OpenAI-compatible endpoint)");
    resolve_fails("{\"model_name\": \"custom:\", \"base_url\": \"http://x/v1\"}",
                  "model_name 'custom:' names no model (set custom_model_name)");
    resolve_fails("{\"model_name\": \"openai:\"}", "model_name 'openai:' names no model");
    resolve_fails("{\"model_name\": 4}", "config.configurable.model_name: expected a string");
    resolve_fails("{\"base_url\": \"ftp://x\"}", "base_url 'ftp://x' must start with http:// or https://");
    resolve_fails("{\"temperature\": \"hot\"}", "config.configurable.temperature: expected a number");
    resolve_fails("{\"max_tokens\": 0}", "config.configurable.max_tokens: expected an integer >= 1");
    resolve_fails("{\"max_tokens\": 2.5}", "config.configurable.max_tokens: expected an integer >= 1");
    resolve_fails("{\"apiKeys\": [\"k\"]}", "config.configurable.apiKeys: expected an object");
    resolve_fails("{\"apiKeys\": {\"OPENAI_API_KEY\": 1}}",
                  "config.configurable.apiKeys.OPENAI_API_KEY: expected a string");
}

/* The defaults the `agent` graph's config schema shows are the ones the client applies. */
static void test_config_defaults_match_agent_schema(void **state)
{
    json_t *schema = J(graph_agent_spec.config_schema);
    const json_t *props = json_object_get(schema, "properties");

    (void)state;
#define DEFAULT_OF(key) json_object_get(json_object_get(props, key), "default")
    assert_string_equal(json_string_value(DEFAULT_OF("model_name")), LLM_DEFAULT_MODEL_NAME);
    assert_true(json_number_value(DEFAULT_OF("temperature")) == LLM_DEFAULT_TEMPERATURE);
    assert_int_equal(json_integer_value(DEFAULT_OF("max_tokens")), LLM_DEFAULT_MAX_TOKENS);
    assert_string_equal(json_string_value(DEFAULT_OF("system_prompt")), LLM_DEFAULT_SYSTEM_PROMPT);
    /* the form tells the user which sentence is always appended */
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_object_get(json_object_get(json_object_get(props, "system_prompt"), "metadata"),
                                               "x_oap_ui_config"),
                               "description")),
                           LLM_SYSTEM_PROMPT_SUFFIX));
#undef DEFAULT_OF
    json_decref(schema);
}

/* ---- LangChain -> OpenAI ---------------------------------------------------------------- */

/* Maps the LangChain messages `in` (JSON text) and asserts the OpenAI messages equal `want`. */
static void map_eq(const char *in, const char *system_prompt, const char *want)
{
    json_t *lc = J(in), *out;
    char err[256] = "";

    out = llm_messages_to_openai(lc, system_prompt, err, sizeof err);
    if (out == NULL)
        fail_msg("llm_messages_to_openai failed: %s", err);
    assert_json_eq(out, want);
    json_decref(out);
    json_decref(lc);
}

/* Maps `in` (JSON text) and asserts the failure message equals `want`. */
static void map_fails(const char *in, const char *want)
{
    json_t *lc = J(in);
    char err[256] = "";

    assert_null(llm_messages_to_openai(lc, NULL, err, sizeof err));
    assert_string_equal(err, want);
    json_decref(lc);
}

static void test_map_types_and_roles(void **state)
{
    (void)state;
    map_eq("[{\"type\": \"human\", \"content\": \"hi\", \"id\": \"1\"},"
           " {\"type\": \"ai\", \"content\": \"hello\", \"tool_calls\": [], \"id\": \"2\"},"
           " {\"type\": \"system\", \"content\": \"sys\"},"
           " {\"role\": \"user\", \"content\": \"u\"},"
           " {\"role\": \"assistant\", \"content\": \"a\"},"
           " {\"role\": \"developer\", \"content\": \"d\"}]",
           "Be kind.",
           "[{\"role\": \"system\", \"content\": \"Be kind.\"},"
           " {\"role\": \"user\", \"content\": \"hi\"},"
           " {\"role\": \"assistant\", \"content\": \"hello\"},"
           " {\"role\": \"system\", \"content\": \"sys\"},"
           " {\"role\": \"user\", \"content\": \"u\"},"
           " {\"role\": \"assistant\", \"content\": \"a\"},"
           " {\"role\": \"system\", \"content\": \"d\"}]");
    /* no system prompt; missing and null content */
    map_eq("[{\"type\": \"human\"}, {\"type\": \"ai\", \"content\": null}]", "",
           "[{\"role\": \"user\", \"content\": \"\"}, {\"role\": \"assistant\", \"content\": \"\"}]");
    /* the LangChain constructor form */
    map_eq("[{\"lc\": 1, \"type\": \"constructor\","
           "  \"id\": [\"langchain_core\", \"messages\", \"HumanMessage\"],"
           "  \"kwargs\": {\"content\": \"from js\"}}]",
           NULL, "[{\"role\": \"user\", \"content\": \"from js\"}]");
    map_eq("[]", NULL, "[]");
}

static void test_map_block_content(void **state)
{
    (void)state;
    map_eq("[{\"type\": \"human\", \"content\": [\"plain\", {\"type\": \"text\", \"text\": \"t\", \"id\": \"x\"},"
           "  {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://i/x.png\", \"detail\": \"low\"}},"
           "  {\"type\": \"image\", \"url\": \"https://i/y.png\"},"
           "  {\"type\": \"image\", \"source_type\": \"base64\", \"data\": \"AAAA\", \"mime_type\": \"image/jpeg\"}]}]",
           NULL,
           "[{\"role\": \"user\", \"content\": ["
           "  {\"type\": \"text\", \"text\": \"plain\"}, {\"type\": \"text\", \"text\": \"t\"},"
           "  {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://i/x.png\", \"detail\": \"low\"}},"
           "  {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://i/y.png\"}},"
           "  {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/jpeg;base64,AAAA\"}}]}]");
    /* other roles get the text of their blocks as one string */
    map_eq("[{\"type\": \"ai\", \"content\": [{\"type\": \"text\", \"text\": \"one \"}, \"two\"]},"
           " {\"type\": \"system\", \"content\": [{\"type\": \"text\", \"text\": \"s\"}]}]",
           NULL,
           "[{\"role\": \"assistant\", \"content\": \"one two\"}, {\"role\": \"system\", \"content\": \"s\"}]");
}

static void test_map_tool_calls(void **state)
{
    (void)state;
    map_eq("[{\"type\": \"human\", \"content\": \"weather in Paris?\"},"
           " {\"type\": \"ai\", \"content\": \"\", \"id\": \"chatcmpl-1\","
           "  \"tool_calls\": [{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"}, \"id\": \"call_1\", \"type\": \"tool_call\"},"
           "                   {\"name\": \"now\", \"args\": {}, \"id\": \"call_2\"}]},"
           " {\"type\": \"tool\", \"content\": \"sunny\", \"tool_call_id\": \"call_1\", \"name\": \"get_weather\"},"
           " {\"role\": \"tool\", \"content\": [{\"type\": \"text\", \"text\": \"noon\"}], \"tool_call_id\": \"call_2\"}]",
           NULL,
           "[{\"role\": \"user\", \"content\": \"weather in Paris?\"},"
           " {\"role\": \"assistant\", \"content\": null, \"tool_calls\": ["
           "   {\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\":\\\"Paris\\\"}\"}},"
           "   {\"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"now\", \"arguments\": \"{}\"}}]},"
           " {\"role\": \"tool\", \"content\": \"sunny\", \"tool_call_id\": \"call_1\"},"
           " {\"role\": \"tool\", \"content\": \"noon\", \"tool_call_id\": \"call_2\"}]");
    /* OpenAI-form additional_kwargs.tool_calls when tool_calls is empty; text kept */
    map_eq("[{\"type\": \"ai\", \"content\": \"let me look\", \"tool_calls\": [],"
           "  \"additional_kwargs\": {\"tool_calls\": [{\"index\": 0, \"id\": \"c9\", \"type\": \"function\","
           "    \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}}]",
           NULL,
           "[{\"role\": \"assistant\", \"content\": \"let me look\", \"tool_calls\": ["
           "   {\"id\": \"c9\", \"type\": \"function\", \"function\": {\"name\": \"f\", \"arguments\": \"{}\"}}]}]");
}

static void test_map_errors(void **state)
{
    (void)state;
    map_fails("{\"messages\": []}", "messages: expected a list");
    map_fails("[\"hi\"]", "messages[0]: expected an object");
    map_fails("[{\"content\": \"x\"}]", "messages[0]: needs a type (human, ai, system, tool) or a role");
    map_fails("[{\"type\": \"human\", \"content\": \"a\"}, {\"type\": \"robot\", \"content\": \"x\"}]",
              "messages[1]: unknown message type 'robot'");
    map_fails("[{\"type\": \"human\", \"content\": 5}]",
              "messages[0].content: expected a string or a list of blocks");
    map_fails("[{\"type\": \"human\", \"content\": [1]}]",
              "messages[0].content[0]: expected a string or an object");
    map_fails("[{\"type\": \"human\", \"content\": [{\"type\": \"text\", \"text\": 3}]}]",
              "messages[0].content[0].text: expected a string");
    map_fails("[{\"type\": \"tool\", \"content\": \"x\"}]",
              "messages[0]: a tool message needs a string tool_call_id");
    map_fails("[{\"type\": \"ai\", \"tool_calls\": [{\"name\": \"f\", \"args\": {}}]}]",
              "messages[0].tool_calls[0]: needs a string name and id");
    map_fails("[{\"type\": \"ai\", \"tool_calls\": [{\"name\": \"f\", \"id\": \"c\", \"args\": [1]}]}]",
              "messages[0].tool_calls[0].args: expected an object");
}

/* ---- OpenAI -> LangChain ---------------------------------------------------------------- */

static void test_completion_text(void **state)
{
    json_t *c, *m;
    char err[256] = "";

    (void)state;
    c = J("{\"id\": \"chatcmpl-7\", \"object\": \"chat.completion\", \"model\": \"gpt-4o-mini\","
          " \"system_fingerprint\": \"fp_1\","
          " \"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"Hello there\"},"
          "               \"finish_reason\": \"stop\"}],"
          " \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 2, \"total_tokens\": 7,"
          "           \"prompt_tokens_details\": {\"cached_tokens\": 1}}}");
    m = llm_completion_to_message(c, err, sizeof err);
    assert_non_null(m);
    assert_json_eq(m, "{\"id\": \"chatcmpl-7\", \"content\": \"Hello there\", \"additional_kwargs\": {},"
                      " \"response_metadata\": {\"model_provider\": \"openai\", \"model_name\": \"gpt-4o-mini\","
                      "   \"finish_reason\": \"stop\", \"system_fingerprint\": \"fp_1\","
                      "   \"usage\": {\"prompt_tokens\": 5, \"completion_tokens\": 2, \"total_tokens\": 7,"
                      "             \"prompt_tokens_details\": {\"cached_tokens\": 1}}},"
                      " \"tool_calls\": [], \"invalid_tool_calls\": [],"
                      " \"usage_metadata\": {\"input_tokens\": 5, \"output_tokens\": 2, \"total_tokens\": 7,"
                      "   \"input_token_details\": {\"cache_read\": 1}, \"output_token_details\": {}},"
                      " \"type\": \"ai\"}");
    json_decref(m);
    json_decref(c);
}

static void test_completion_tool_calls(void **state)
{
    json_t *c, *m;
    char err[256] = "";

    (void)state;
    /* no id: one is made; no usage: no usage_metadata; bad arguments: an invalid tool call */
    c = J("{\"model\": \"m\", \"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": null,"
          "  \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
          "                    \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}},"
          "                   {\"id\": \"call_2\", \"type\": \"function\","
          "                    \"function\": {\"name\": \"broken\", \"arguments\": \"{\\\"x\\\":\"}}]},"
          "  \"finish_reason\": \"tool_calls\"}]}");
    m = llm_completion_to_message(c, err, sizeof err);
    assert_non_null(m);
    assert_true(strncmp(json_string_value(json_object_get(m, "id")), "run-", 4) == 0);
    assert_int_equal(json_string_length(json_object_get(m, "id")), 4 + 36);
    json_object_del(m, "id");
    assert_json_eq(m, "{\"content\": \"\","
                      " \"additional_kwargs\": {\"tool_calls\": ["
                      "   {\"index\": 0, \"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}},"
                      "   {\"index\": 1, \"id\": \"call_2\", \"type\": \"function\", \"function\": {\"name\": \"broken\", \"arguments\": \"{\\\"x\\\":\"}}]},"
                      " \"response_metadata\": {\"model_provider\": \"openai\", \"model_name\": \"m\", \"finish_reason\": \"tool_calls\"},"
                      " \"tool_calls\": [{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"}, \"id\": \"call_1\", \"type\": \"tool_call\"}],"
                      " \"invalid_tool_calls\": [{\"name\": \"broken\", \"args\": \"{\\\"x\\\":\", \"id\": \"call_2\","
                      "   \"error\": \"Malformed args.\", \"type\": \"invalid_tool_call\"}],"
                      " \"type\": \"ai\"}");
    json_decref(m);
    json_decref(c);
}

static void test_completion_errors(void **state)
{
    json_t *c;
    char err[256] = "";

    (void)state;
    c = J("{\"error\": {\"message\": \"quota exceeded\", \"type\": \"insufficient_quota\"}}");
    assert_null(llm_completion_to_message(c, err, sizeof err));
    assert_string_equal(err, "quota exceeded");
    json_decref(c);
    c = J("{\"choices\": []}");
    assert_null(llm_completion_to_message(c, err, sizeof err));
    assert_string_equal(err, "no choices[0].message object");
    json_decref(c);
    c = J("{\"choices\": [{\"message\": {\"content\": 3}}]}");
    assert_null(llm_completion_to_message(c, err, sizeof err));
    assert_string_equal(err, "message content must be a string and tool_calls a list");
    json_decref(c);
    c = J("[1]");
    assert_null(llm_completion_to_message(c, err, sizeof err));
    assert_string_equal(err, "expected a JSON object");
    json_decref(c);
}

/* Applies the chunk `text` to `s`; returns its LangChain chunk (new reference or NULL). */
static json_t *apply(llm_stream_t *s, const char *text, const char *want_delta)
{
    json_t *chunk = J(text), *msg = NULL;
    const char *delta;
    size_t len;
    char err[256] = "";

    if (llm_stream_apply(s, chunk, &msg, &delta, &len, err, sizeof err) != 0)
        fail_msg("llm_stream_apply failed: %s", err);
    assert_int_equal(len, strlen(want_delta));
    assert_memory_equal(delta, want_delta, len);
    json_decref(chunk);
    return msg;
}

static void test_stream_assembly(void **state)
{
    llm_stream_t s;
    json_t *m;

    (void)state;
    llm_stream_init(&s);
    /* the role-only first chunk reports nothing */
    m = apply(&s, "{\"id\": \"chatcmpl-9\", \"model\": \"mock\", \"choices\": [{\"index\": 0,"
                  " \"delta\": {\"role\": \"assistant\", \"content\": \"\"}, \"finish_reason\": null}]}", "");
    assert_null(m);
    m = apply(&s, "{\"id\": \"chatcmpl-9\", \"choices\": [{\"delta\": {\"content\": \"Let \"}}]}", "Let ");
    assert_json_eq(m, "{\"content\": \"Let \", \"tool_call_chunks\": [], \"additional_kwargs\": {},"
                      " \"id\": \"chatcmpl-9\", \"response_metadata\": {\"model_provider\": \"openai\"},"
                      " \"tool_calls\": [], \"invalid_tool_calls\": [], \"type\": \"ai\"}");
    json_decref(m);
    m = apply(&s, "{\"choices\": [{\"delta\": {\"content\": \"me.\", \"tool_calls\": [{\"index\": 1, \"id\": \"call_b\","
                  " \"type\": \"function\", \"function\": {\"name\": \"lookup\", \"arguments\": \"\"}}]}}]}", "me.");
    assert_json_eq(json_object_get(m, "tool_call_chunks"),
                   "[{\"name\": \"lookup\", \"args\": \"\", \"id\": \"call_b\", \"index\": 1, \"type\": \"tool_call_chunk\"}]");
    assert_json_eq(json_object_get(json_object_get(m, "additional_kwargs"), "tool_calls"),
                   "[{\"index\": 1, \"id\": \"call_b\", \"type\": \"function\", \"function\": {\"name\": \"lookup\", \"arguments\": \"\"}}]");
    json_decref(m);
    m = apply(&s, "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 1, \"function\": {\"arguments\": \"{\\\"q\\\":\"}}]}}]}", "");
    assert_json_eq(json_object_get(m, "tool_call_chunks"),
                   "[{\"args\": \"{\\\"q\\\":\", \"index\": 1, \"type\": \"tool_call_chunk\"}]");
    json_decref(m);
    json_decref(apply(&s, "{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 1, \"function\": {\"arguments\": \"\\\"x\\\"}\"}}]}}]}", ""));
    m = apply(&s, "{\"choices\": [{\"delta\": {}, \"finish_reason\": \"tool_calls\"}]}", "");
    assert_null(m);
    m = apply(&s, "{\"choices\": [], \"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 4, \"total_tokens\": 7}}", "");
    assert_json_eq(json_object_get(m, "usage_metadata"),
                   "{\"input_tokens\": 3, \"output_tokens\": 4, \"total_tokens\": 7,"
                   " \"input_token_details\": {}, \"output_token_details\": {}}");
    json_decref(m);

    m = llm_stream_message(&s);
    assert_json_eq(m, "{\"id\": \"chatcmpl-9\", \"content\": \"Let me.\","
                      " \"additional_kwargs\": {\"tool_calls\": [{\"index\": 1, \"id\": \"call_b\", \"type\": \"function\","
                      "   \"function\": {\"name\": \"lookup\", \"arguments\": \"{\\\"q\\\":\\\"x\\\"}\"}}]},"
                      " \"response_metadata\": {\"model_provider\": \"openai\", \"model_name\": \"mock\", \"finish_reason\": \"tool_calls\","
                      "   \"usage\": {\"prompt_tokens\": 3, \"completion_tokens\": 4, \"total_tokens\": 7}},"
                      " \"tool_calls\": [{\"name\": \"lookup\", \"args\": {\"q\": \"x\"}, \"id\": \"call_b\", \"type\": \"tool_call\"}],"
                      " \"invalid_tool_calls\": [],"
                      " \"usage_metadata\": {\"input_tokens\": 3, \"output_tokens\": 4, \"total_tokens\": 7,"
                      "   \"input_token_details\": {}, \"output_token_details\": {}},"
                      " \"type\": \"ai\"}");
    json_decref(m);
    llm_stream_free(&s);
}

static void test_stream_without_ids(void **state)
{
    llm_stream_t s;
    json_t *a, *b, *m;
    const char *id;

    (void)state;
    llm_stream_init(&s);
    a = apply(&s, "{\"choices\": [{\"delta\": {\"content\": \"a\"}}]}", "a");
    b = apply(&s, "{\"choices\": [{\"delta\": {\"content\": \"b\"}, \"finish_reason\": \"stop\"}]}", "b");
    m = llm_stream_message(&s);
    id = json_string_value(json_object_get(m, "id"));
    assert_non_null(id);
    assert_true(strncmp(id, "run-", 4) == 0);
    assert_int_equal(strlen(id), 4 + 36);
    /* every chunk carries the id of the message they make up */
    assert_string_equal(json_string_value(json_object_get(a, "id")), id);
    assert_string_equal(json_string_value(json_object_get(b, "id")), id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "response_metadata"),
                                                          "finish_reason")), "stop");
    assert_string_equal(json_string_value(json_object_get(m, "content")), "ab");
    assert_null(json_object_get(m, "usage_metadata"));
    json_decref(a);
    json_decref(b);
    json_decref(m);
    llm_stream_free(&s);
}

static void test_stream_bad_chunks(void **state)
{
    static const struct {
        const char *chunk;
        int rc;
        const char *err;
    } cases[] = {
        {"[]", -1, "expected a JSON object"},
        {"{\"choices\": {}}", -1, "choices must be a list and usage an object"},
        {"{\"choices\": [{\"delta\": 1}]}", -1, "choices[0] has no delta object"},
        {"{\"choices\": [{\"delta\": {\"content\": 1}}]}", -1, "delta content must be a string and tool_calls a list"},
        {"{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": 999}]}}]}", -1, "tool_calls[0] is not a tool-call delta"},
        {"{\"choices\": [{\"delta\": {\"tool_calls\": [{\"index\": -1}]}}]}", -1, "tool_calls[0] is not a tool-call delta"},
        {"{\"error\": {\"message\": \"overloaded\"}}", -2, "overloaded"},
        {"{\"error\": \"plain\"}", -2, "plain"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        llm_stream_t s;
        json_t *c = J(cases[i].chunk), *msg = NULL;
        const char *text;
        size_t len;
        char err[256] = "";

        llm_stream_init(&s);
        assert_int_equal(llm_stream_apply(&s, c, &msg, &text, &len, err, sizeof err), cases[i].rc);
        assert_string_equal(err, cases[i].err);
        assert_null(msg);
        llm_stream_free(&s);
        json_decref(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_process_defaults),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_config_custom_endpoint),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_defaults_match_agent_schema),
        cmocka_unit_test(test_map_types_and_roles),
        cmocka_unit_test(test_map_block_content),
        cmocka_unit_test(test_map_tool_calls),
        cmocka_unit_test(test_map_errors),
        cmocka_unit_test(test_completion_text),
        cmocka_unit_test(test_completion_tool_calls),
        cmocka_unit_test(test_completion_errors),
        cmocka_unit_test(test_stream_assembly),
        cmocka_unit_test(test_stream_without_ids),
        cmocka_unit_test(test_stream_bad_chunks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
