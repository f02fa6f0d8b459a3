/*
 * runtime/graph/agent_graph.c — the built-in `agent` graph: the tools agent of Open Agent
 * Platform (a ReAct loop), its descriptor and its node functions. `agent` calls the chat model
 * (runtime/llm) with the tool definitions, streaming its tokens as messages events; when its
 * answer asks for tools the graph goes on to `tools`, which answers the calls and hands the
 * results back to `agent`; an answer without tool calls ends the run.
 *
 *   __start__ -> agent -(tool calls)-> tools -> agent -(none)-> __end__
 *
 * Tools (MCP, RAG) come in a later issue. Until then no tools are offered unless
 * config.configurable.mcp_config names a url and tools: those names are offered, and `tools`
 * answers each call with an error tool message saying the tool is not available yet, so the
 * model's next answer ends the loop. Input messages are normalised by the engine's
 * add_messages (role or type, string or block content, ids assigned).
 *
 * State is one channel, `messages`, merged with add_messages. The config schema lists the keys
 * of config.configurable the agent reads, each with the `x_oap_ui_config` metadata from which
 * Open Agent Platform renders the assistant form (field kinds select, slider, number, textarea,
 * text, json, mcp, rag), in the shape the Python tools agent's pydantic model produces:
 * {"<key>": {"title", "anyOf" | "type", "default", "metadata": {"x_oap_ui_config": {...}}}}.
 *
 * The schemas are JSON text written with JSON(), which turns its tokens into a string literal
 * (the preprocessor escapes the quotes), so they read as plain JSON. Adjacent literals join,
 * which lets the three message schemas share one definition.
 */
#include <stdio.h>
#include <string.h>

#include "graph/engine.h"
#include "graph/graph.h"
#include "llm/llm.h"

#define JSON(...) #__VA_ARGS__

/* One LangChain message as the state holds it (type human/ai/system/tool, or remove to drop a
 * message by id); input may name the kind with OpenAI's role instead. */
#define AGENT_MESSAGES_PROPERTY                                                                    \
    JSON("messages": {                                                                             \
        "title": "Messages",                                                                       \
        "type": "array",                                                                           \
        "items": {                                                                                 \
            "title": "Message",                                                                    \
            "description": "A LangChain message; input may give `role` instead of `type`.",        \
            "type": "object",                                                                      \
            "properties": {                                                                        \
                "type": {"type": "string",                                                         \
                         "enum": ["human", "user", "ai", "assistant", "system", "tool", "remove"]},\
                "role": {"type": "string"},                                                        \
                "content": {"anyOf": [                                                             \
                    {"type": "string"},                                                            \
                    {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}}\
                ]},                                                                                \
                "id": {"anyOf": [{"type": "string"}, {"type": "null"}]},                           \
                "name": {"anyOf": [{"type": "string"}, {"type": "null"}]},                         \
                "additional_kwargs": {"type": "object"},                                           \
                "response_metadata": {"type": "object"},                                           \
                "tool_calls": {"type": "array", "items": {                                         \
                    "type": "object",                                                              \
                    "properties": {                                                                \
                        "name": {"type": "string"},                                                \
                        "args": {"type": "object"},                                                \
                        "id": {"anyOf": [{"type": "string"}, {"type": "null"}]},                   \
                        "type": {"const": "tool_call"}                                             \
                    },                                                                             \
                    "required": ["name", "args"]                                                   \
                }},                                                                                \
                "invalid_tool_calls": {"type": "array", "items": {"type": "object"}},              \
                "usage_metadata": {"anyOf": [                                                      \
                    {"type": "object", "properties": {                                             \
                        "input_tokens": {"type": "integer"},                                       \
                        "output_tokens": {"type": "integer"},                                      \
                        "total_tokens": {"type": "integer"}                                        \
                    }},                                                                            \
                    {"type": "null"}                                                               \
                ]},                                                                                \
                "tool_call_id": {"type": "string"},                                                \
                "artifact": {},                                                                    \
                "status": {"type": "string", "enum": ["success", "error"]}                         \
            }                                                                                      \
        }                                                                                          \
    })

static const char agent_input_schema[] =
    JSON({"title": "AgentInput", "type": "object", "properties": {)
    AGENT_MESSAGES_PROPERTY
    JSON(}});

static const char agent_output_schema[] =
    JSON({"title": "AgentOutput", "type": "object", "properties": {)
    AGENT_MESSAGES_PROPERTY
    JSON(}});

static const char agent_state_schema[] =
    JSON({"title": "AgentState", "type": "object", "properties": {)
    AGENT_MESSAGES_PROPERTY
    JSON(}});

static const char agent_context_schema[] =
    JSON({"title": "AgentContext", "type": "object", "properties": {}});

/* The defaults follow the upstream tools agent (upstream-runtime.md §6.3); the system prompt
 * says what upstream's says, in our words. The agent always appends the sentence quoted in the
 * system_prompt description. */
static const char agent_config_schema[] = JSON({
    "title": "AgentConfig",
    "type": "object",
    "properties": {
        "model_name": {
            "title": "Model Name",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": "openai:gpt-4o",
            "metadata": {"x_oap_ui_config": {
                "type": "select",
                "default": "openai:gpt-4o",
                "description": "The model used for every generation",
                "options": [
                    {"label": "GPT 4o", "value": "openai:gpt-4o"},
                    {"label": "GPT 4o mini", "value": "openai:gpt-4o-mini"},
                    {"label": "GPT 4.1", "value": "openai:gpt-4.1"},
                    {"label": "GPT 4.1 mini", "value": "openai:gpt-4.1-mini"},
                    {"label": "o4 mini", "value": "openai:o4-mini"},
                    {"label": "o3", "value": "openai:o3"},
                    {"label": "o3 mini", "value": "openai:o3-mini"},
                    {"label": "Custom OpenAI-compatible endpoint", "value": "custom:"}
                ]
            }}
        },
        "temperature": {
            "title": "Temperature",
            "anyOf": [{"type": "number"}, {"type": "null"}],
            "default": 0.7,
            "metadata": {"x_oap_ui_config": {
                "type": "slider",
                "default": 0.7,
                "min": 0,
                "max": 2,
                "step": 0.1,
                "description": "How varied the answers are: 0 is deterministic, 2 the most creative"
            }}
        },
        "max_tokens": {
            "title": "Max Tokens",
            "anyOf": [{"type": "integer"}, {"type": "null"}],
            "default": 4000,
            "metadata": {"x_oap_ui_config": {
                "type": "number",
                "default": 4000,
                "min": 1,
                "max": 128000,
                "step": 1,
                "description": "The most tokens one model call may generate"
            }}
        },
        "system_prompt": {
            "title": "System Prompt",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": "You are a helpful assistant. Use only the tools you have been given, and never claim to have tools, APIs or abilities that are not among them. If a request needs a tool you do not have, say plainly that you cannot do it with your current tools.",
            "metadata": {"x_oap_ui_config": {
                "type": "textarea",
                "placeholder": "Enter a system prompt...",
                "default": "You are a helpful assistant. Use only the tools you have been given, and never claim to have tools, APIs or abilities that are not among them. If a request needs a tool you do not have, say plainly that you cannot do it with your current tools.",
                "description": "The system prompt of every generation. This sentence is always added at its end:\n---\nIf a tool fails because it needs authentication, give the user a Markdown link to the authentication page and ask them to sign in.\n---"
            }}
        },
        "base_url": {
            "title": "Base URL",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": null,
            "metadata": {"x_oap_ui_config": {
                "type": "text",
                "placeholder": "http://localhost:8000/v1",
                "description": "Base URL of an OpenAI-compatible API to send model calls to instead of the server's default"
            }}
        },
        "custom_model_name": {
            "title": "Custom Model Name",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": null,
            "metadata": {"x_oap_ui_config": {
                "type": "text",
                "placeholder": "my-local-model",
                "description": "Model name sent to the custom endpoint",
                "visible_when": {"model_name": "custom:"}
            }}
        },
        "custom_api_key": {
            "title": "Custom API Key",
            "anyOf": [{"type": "string"}, {"type": "null"}],
            "default": null,
            "metadata": {"x_oap_ui_config": {
                "type": "text",
                "placeholder": "Leave empty for an endpoint without keys",
                "description": "API key for the custom endpoint (optional)",
                "visible_when": {"model_name": "custom:"}
            }}
        },
        "apiKeys": {
            "title": "API Keys",
            "anyOf": [
                {"type": "object", "additionalProperties": {"type": "string"}},
                {"type": "null"}
            ],
            "default": null,
            "metadata": {"x_oap_ui_config": {
                "type": "json",
                "description": "Provider API keys by environment variable name, e.g. {\"OPENAI_API_KEY\": \"sk-...\"}; Open Agent Platform sends the user's keys here"
            }}
        },
        "mcp_config": {
            "title": "MCP Config",
            "anyOf": [
                {
                    "title": "MCPConfig",
                    "type": "object",
                    "properties": {
                        "url": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": null
                        },
                        "tools": {
                            "anyOf": [
                                {"type": "array", "items": {"type": "string"}},
                                {"type": "null"}
                            ],
                            "default": null
                        },
                        "auth_required": {
                            "anyOf": [{"type": "boolean"}, {"type": "null"}],
                            "default": false
                        }
                    }
                },
                {"type": "null"}
            ],
            "default": null,
            "metadata": {"x_oap_ui_config": {"type": "mcp"}}
        },
        "rag": {
            "title": "RAG",
            "anyOf": [
                {
                    "title": "RagConfig",
                    "type": "object",
                    "properties": {
                        "rag_url": {
                            "anyOf": [{"type": "string"}, {"type": "null"}],
                            "default": null
                        },
                        "collections": {
                            "anyOf": [
                                {"type": "array", "items": {"type": "string"}},
                                {"type": "null"}
                            ],
                            "default": null
                        }
                    }
                },
                {"type": "null"}
            ],
            "default": null,
            "metadata": {"x_oap_ui_config": {"type": "rag"}}
        }
    }
});

/* What the tools node answers for every call: tools are not callable in this version. */
#define AGENT_TOOL_UNAVAILABLE                                                                     \
    "Tool '%s' is not available yet: this server cannot call MCP or RAG tools in this version."

/* How long a whole (non-streamed) answer may take to arrive: its first byte comes only once
 * the model has generated all of it (the OpenAI SDKs wait 10 minutes). */
#define AGENT_WHOLE_ANSWER_TIMEOUT_MS 600000L

/* The streaming context of one `agent` node call. */
typedef struct agent_stream {
    graph_node_ctx_t *ctx; /* borrowed */
    json_t *extra;         /* owned: {ls_provider, ls_model_name, ...} merged into event metadata */
} agent_stream_t;

/* llm on_token: streams the token's chunk (borrowed; as text when it came as text) as a
 * messages event of the node. Never stops the call (cancellation goes through
 * on_should_cancel). */
static int agent_on_token(void *user, const llm_token_t *tok)
{
    agent_stream_t *s = user;

    if (tok->chunk != NULL)
        graph_node_emit_message(s->ctx, tok->chunk, s->extra);
    else
        graph_node_emit_message_text(s->ctx, tok->id, tok->json, tok->json_len, s->extra);
    return 0;
}

/* llm should_cancel: 1 once the run has been asked to stop. */
static int agent_on_should_cancel(void *user)
{
    agent_stream_t *s = user;

    return graph_node_cancelled(s->ctx);
}

/*
 * The tool definitions offered to the model (new reference), or NULL when there are none.
 * Only mcp_config {url, tools: [names]} of `configurable` (borrowed) yields tools, as the tools
 * agent requires both; the MCP client comes in a later issue, so each name is offered with an
 * open parameter object (the real schema lives on the MCP server) and the `tools` node answers
 * that the tool is not available yet. RAG collections are not offered until then.
 */
static json_t *agent_tools_offered(const json_t *configurable)
{
    const json_t *mcp = json_object_get(configurable, "mcp_config");
    const char *url = json_string_value(json_object_get(mcp, "url"));
    const json_t *names = json_object_get(mcp, "tools");
    json_t *tools = NULL;
    size_t i;
    const json_t *name;

    if (url == NULL || url[0] == '\0' || json_array_size(names) == 0)
        goto Exit;
    tools = json_array();
    json_array_foreach(names, i, name) {
        char desc[512];

        if (!json_is_string(name) || json_string_length(name) == 0)
            continue;
        snprintf(desc, sizeof desc, "MCP tool '%s' of %s", json_string_value(name), url);
        json_array_append_new(
            tools, json_pack("{s:s, s:{s:s, s:s, s:{s:s, s:{}}}}", "type", "function", "function",
                             "name", json_string_value(name), "description", desc, "parameters",
                             "type", "object", "properties"));
    }
    if (json_array_size(tools) == 0) {
        json_decref(tools);
        tools = NULL;
    }
Exit:
    return tools;
}

/* The ls_* keys of the events of a call to `model` (borrowed): {ls_provider: "openai",
 * ls_model_name, ls_model_type: "chat", ls_integration: "langchain_chat_model"}. A new
 * reference, or NULL (out of memory, a model name that is not UTF-8). Built directly:
 * json_pack parses its format on every call. */
static json_t *agent_ls_extra(const char *model)
{
    json_t *o = json_object();

    if (o != NULL && (json_object_set_new(o, "ls_provider", json_string("openai")) != 0 ||
                      json_object_set_new(o, "ls_model_name", json_string(model)) != 0 ||
                      json_object_set_new(o, "ls_model_type", json_string("chat")) != 0 ||
                      json_object_set_new(o, "ls_integration", json_string("langchain_chat_model")) != 0)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* The node's update {messages: [ai]} with `ai` (stolen, also on failure). A new reference, or
 * NULL when out of memory. */
static json_t *agent_messages_update(json_t *ai)
{
    json_t *list = json_array(), *update = json_object();

    if (list == NULL || update == NULL || json_array_append(list, ai) != 0 ||
        json_object_set(update, "messages", list) != 0) {
        json_decref(update);
        update = NULL;
    }
    json_decref(list);
    json_decref(ai);
    return update;
}

/* The messages the model is given, as LangChain shows them in on_chat_model_start: the system
 * prompt (borrowed, may be NULL) as a system message, then `history` (borrowed). New
 * reference. */
static json_t *agent_model_input(const json_t *history, const char *system_prompt)
{
    json_t *out = json_array();

    if (system_prompt != NULL && system_prompt[0] != '\0')
        json_array_append_new(out, json_pack("{s:s, s:s, s:{}, s:{}}", "type", "system", "content", system_prompt,
                                             "additional_kwargs", "response_metadata"));
    json_array_extend(out, (json_t *)history);
    return out;
}

/*
 * Node `agent`: one chat completion over the state's messages (borrowed `state`) with the
 * run's model configuration (graph_node_configurable + process defaults, llm_config_resolve),
 * streaming every chunk as a messages event (metadata + ls_provider, ls_model_name,
 * ls_model_type, ls_integration, ls_max_tokens) inside a model call announced to the events
 * mode (ChatOpenAI) when the run streams messages or events, else asking for the whole answer
 * at once (as LangChain does without a streaming callback), and writes {messages: [the AI
 * message]} (new reference in *update) with usage_metadata and response_metadata. A bad
 * configuration, unmappable messages or a failed call fail the node with the LLM client's
 * message (it names the endpoint and the status); a cancelled run stops the call.
 */
static int agent_node_agent(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    const json_t *configurable = graph_node_configurable(ctx);
    const json_t *history = json_object_get(state, "messages");
    llm_config_t cfg = {0};
    agent_stream_t stream = {.ctx = ctx};
    const int streams = graph_node_streams_messages(ctx);
    const llm_callbacks_t cb = {.on_token = streams ? agent_on_token : NULL,
                                .should_cancel = agent_on_should_cancel};
    json_t *msgs = NULL, *tools = NULL, *empty = NULL, *ai = NULL, *prompt = NULL;
    char err[512];
    int rc = GRAPH_NODE_ERROR;

    if (llm_config_resolve(configurable, &cfg, err, sizeof err) != 0) {
        graph_node_fail(ctx, "%s", err);
        goto Exit;
    }
    if (history == NULL)
        history = empty = json_array();
    msgs = llm_messages_to_openai(history, cfg.system_prompt, err, sizeof err);
    if (msgs == NULL) {
        graph_node_fail(ctx, "%s", err);
        goto Exit;
    }
    if (!streams && cfg.idle_timeout_ms < AGENT_WHOLE_ANSWER_TIMEOUT_MS)
        cfg.idle_timeout_ms = AGENT_WHOLE_ANSWER_TIMEOUT_MS;
    tools = agent_tools_offered(configurable);
    stream.extra = agent_ls_extra(cfg.model);
    if (cfg.max_tokens > 0)
        json_object_set_new(stream.extra, "ls_max_tokens", json_integer(cfg.max_tokens));
    if (streams) {
        prompt = agent_model_input(history, cfg.system_prompt);
        graph_node_model_start(ctx, "ChatOpenAI", prompt, stream.extra);
    }
    if (llm_chat(&cfg, msgs, tools, &cb, &stream, &ai, err, sizeof err) != LLM_OK) {
        graph_node_fail(ctx, "%s", err);
        goto Exit;
    }
    graph_node_model_end(ctx, ai);
    *update = agent_messages_update(ai);
    ai = NULL;
    rc = *update != NULL ? GRAPH_NODE_OK : graph_node_fail(ctx, "agent: out of memory");
Exit:
    json_decref(prompt);
    json_decref(ai);
    json_decref(stream.extra);
    json_decref(tools);
    json_decref(msgs);
    json_decref(empty);
    llm_config_free(&cfg);
    return rc;
}

/*
 * Node `tools`: answers every tool call of the last AI message of `state` (borrowed) with a
 * tool message {type: "tool", content: AGENT_TOOL_UNAVAILABLE, tool_call_id, name, status:
 * "error"}, so the model hears that the tool cannot run and the loop ends with its next
 * answer. Writes {messages: [...]} (new reference in *update), or nothing when the last
 * message has no tool calls.
 */
static int agent_node_tools(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    const json_t *msgs = json_object_get(state, "messages");
    const json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const json_t *calls = json_object_get(last, "tool_calls");
    const json_t *call;
    json_t *out = NULL;
    size_t i;

    (void)ctx;
    *update = NULL;
    if (json_array_size(calls) == 0)
        return GRAPH_NODE_OK;
    out = json_array();
    json_array_foreach(calls, i, call) {
        const char *name = json_string_value(json_object_get(call, "name"));
        const char *id = json_string_value(json_object_get(call, "id"));
        char content[512], fallback_id[32];

        if (name == NULL)
            name = "";
        if (id == NULL) {
            snprintf(fallback_id, sizeof fallback_id, "call_%zu", i);
            id = fallback_id;
        }
        snprintf(content, sizeof content, AGENT_TOOL_UNAVAILABLE, name);
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "tool",
                                             "content", content, "tool_call_id", id, "name",
                                             name, "status", "error"));
    }
    *update = json_pack("{s:o}", "messages", out);
    return GRAPH_NODE_OK;
}

/* The agent's conditional edge: "tools" when the last message is an AI message with tool
 * calls, else GRAPH_END. `state` borrowed. */
static int agent_route(const json_t *state, const char **next)
{
    const json_t *msgs = json_object_get(state, "messages");
    const json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *type = json_string_value(json_object_get(last, "type"));
    const json_t *calls = json_object_get(last, "tool_calls");

    *next = type != NULL && strcmp(type, "ai") == 0 && json_array_size(calls) > 0 ? "tools"
                                                                                  : GRAPH_END;
    return 0;
}

static const graph_node_t agent_nodes[] = {
    {.name = "agent", .run = agent_node_agent, .route = agent_route},
    {.name = "tools", .run = agent_node_tools},
};

static const graph_edge_t agent_edges[] = {
    {.source = GRAPH_START, .target = "agent"},
    {.source = "tools", .target = "agent"},
    {.source = "agent", .target = "tools", .conditional = 1},
    {.source = "agent", .target = GRAPH_END, .conditional = 1},
};

static const graph_channel_t agent_channels[] = {
    {.name = "messages", .reducer = GRAPH_REDUCER_ADD_MESSAGES},
};

const graph_spec_t graph_agent_spec = {
    .graph_id = "agent",
    .nodes = agent_nodes,
    .node_count = sizeof(agent_nodes) / sizeof(agent_nodes[0]),
    .edges = agent_edges,
    .edge_count = sizeof(agent_edges) / sizeof(agent_edges[0]),
    .channels = agent_channels,
    .channel_count = sizeof(agent_channels) / sizeof(agent_channels[0]),
    .input_schema = agent_input_schema,
    .output_schema = agent_output_schema,
    .state_schema = agent_state_schema,
    .config_schema = agent_config_schema,
    .context_schema = agent_context_schema,
};
