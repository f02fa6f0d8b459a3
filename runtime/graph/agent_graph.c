/*
 * runtime/graph/agent_graph.c — the descriptor of the built-in `agent` graph: the tools agent
 * of Open Agent Platform (a ReAct loop). `agent` calls the chat model with the tool
 * definitions; when its answer asks for tools the graph goes on to `tools`, which runs them
 * and hands the results back to `agent`; an answer without tool calls ends the run.
 *
 *   __start__ -> agent -(tool calls)-> tools -> agent -(none)-> __end__
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
#include <string.h>

#include "graph/graph.h"

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
    {.name = "agent", .route = agent_route},
    {.name = "tools"},
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
