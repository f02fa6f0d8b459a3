/*
 * runtime/llm/llm.h — the chat-model client of the agent: OpenAI-compatible
 * `POST {base_url}/chat/completions` over libcurl, streamed (parsed with runtime/sse) or not,
 * plus model selection as the Open Agent Platform tools agent does it (upstream-runtime.md
 * §6.3–6.4) and the mapping between LangChain message JSON and OpenAI messages.
 *
 * Use, on a worker thread (llm_chat blocks; never call it on an event loop):
 *
 *     llm_config_t cfg;
 *     if (llm_config_resolve(configurable, &cfg, err, sizeof err) != 0) fail(err);
 *     json_t *msgs = llm_messages_to_openai(state_messages, cfg.system_prompt, err, sizeof err);
 *     json_t *ai = NULL;
 *     int rc = llm_chat(&cfg, msgs, tools, &cb, ctx, &ai, err, sizeof err);
 *     ... rc == LLM_OK: `ai` is a LangChain AI message; else err says what failed ...
 *     json_decref(msgs); json_decref(ai); llm_config_free(&cfg);
 *
 * Thread-safety: every function may run on any thread at once. Each thread keeps one curl
 * handle (and its connection cache) for its calls, so a worker reuses its connections to the
 * provider; the handle is released when the thread exits.
 */
#ifndef LG_LLM_LLM_H
#define LG_LLM_LLM_H

#include <stddef.h>

#include <jansson.h>

/* The model when neither config.configurable.model_name nor MODEL_NAME names one. */
#define LLM_DEFAULT_MODEL_NAME "openai:gpt-4o"
/* The endpoint when neither config.configurable.base_url nor OPENAI_BASE_URL names one. */
#define LLM_DEFAULT_BASE_URL "https://api.openai.com/v1"
#define LLM_DEFAULT_TEMPERATURE 0.7
#define LLM_DEFAULT_MAX_TOKENS 4000
#define LLM_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define LLM_DEFAULT_IDLE_TIMEOUT_MS 120000
/* The agent's system prompt when config.configurable.system_prompt is absent or null (the same
 * text as the default in the `agent` graph's config schema). */
#define LLM_DEFAULT_SYSTEM_PROMPT                                                                  \
    "You are a helpful assistant. Use only the tools you have been given, and never claim to "     \
    "have tools, APIs or abilities that are not among them. If a request needs a tool you do not " \
    "have, say plainly that you cannot do it with your current tools."
/* Always appended to the system prompt (after a newline), as the tools agent does. */
#define LLM_SYSTEM_PROMPT_SUFFIX                                                                   \
    "If a tool fails because it needs authentication, give the user a Markdown link to the "      \
    "authentication page and ask them to sign in."

/* Results of llm_chat. */
enum {
    LLM_OK = 0,
    LLM_ERROR = -1,     /* the call failed; err says what and where */
    LLM_CANCELLED = -2, /* should_cancel or on_token asked to stop */
};

/*
 * One resolved model call configuration. Strings are malloc'd and owned by the struct (free
 * with llm_config_free). Callers may change the timeouts after llm_config_resolve.
 */
typedef struct llm_config {
    char *model;         /* the model id sent to the provider, e.g. "gpt-4o" (no provider prefix) */
    char *base_url;      /* e.g. "https://api.openai.com/v1", without a trailing slash */
    char *api_key;       /* sent as "Authorization: Bearer <key>"; NULL sends no Authorization */
    char *system_prompt; /* the full system prompt, suffix included */
    double temperature;  /* sent when has_temperature */
    int has_temperature;
    long max_tokens;        /* sent when > 0 */
    long connect_timeout_ms; /* to establish the connection; default LLM_DEFAULT_CONNECT_TIMEOUT_MS */
    long idle_timeout_ms;    /* longest wait for the next bytes of the answer (also the first);
                                default LLM_DEFAULT_IDLE_TIMEOUT_MS */
} llm_config_t;

/*
 * Resolves the model call configuration of a run from its `configurable` (borrowed; NULL or
 * non-object means none) and the process configuration (config_current(): OPENAI_API_KEY,
 * OPENAI_BASE_URL, MODEL_NAME; none when no configuration is installed). Keys, later rules
 * winning where they overlap:
 *   model_name         "openai:<model>" (default MODEL_NAME, else LLM_DEFAULT_MODEL_NAME; a name
 *                      without a prefix is an OpenAI model); "custom:" means an OpenAI-compatible
 *                      endpoint named by base_url (required) serving custom_model_name; any other
 *                      prefix fails with "model provider '<p>' is not supported yet (only
 *                      openai:)".
 *   model_name_override  replaces model_name.
 *   custom_model_name  the model sent when model_name is "custom:" or base_url is given.
 *   base_url           the endpoint (default OPENAI_BASE_URL, else LLM_DEFAULT_BASE_URL); must be
 *                      http:// or https://.
 *   apiKeys            {"OPENAI_API_KEY": "..."} overrides the process OPENAI_API_KEY.
 *   custom_api_key     the key when base_url is given (before apiKeys and OPENAI_API_KEY).
 *   temperature        a number (default LLM_DEFAULT_TEMPERATURE); max_tokens an integer >= 1
 *                      (default LLM_DEFAULT_MAX_TOKENS); system_prompt a string (default
 *                      LLM_DEFAULT_SYSTEM_PROMPT), always followed by LLM_SYSTEM_PROMPT_SUFFIX.
 * A null value means "absent"; an empty key means none. Returns 0 and fills *out (free with
 * llm_config_free), or -1 with one line in err (out is then zeroed and owns nothing).
 */
int llm_config_resolve(const json_t *configurable, llm_config_t *out, char *err, size_t cap);

/* Frees the strings of `cfg` and zeroes it. Safe on a zeroed struct. */
void llm_config_free(llm_config_t *cfg);

/*
 * Maps LangChain messages to OpenAI chat messages. `lc_messages` (borrowed) is an array of
 * messages with `type` human/ai/system/tool (or `role` user/assistant/system/developer/tool, or
 * the LangChain constructor form {"lc":1,"type":"constructor","id":[..,"HumanMessage"],
 * "kwargs":{..}}); content is a string or a list of blocks (strings, {type:"text",text},
 * image_url blocks passed through, LangChain image blocks turned into image_url). AI
 * tool_calls [{name, args, id}] become OpenAI {id, type:"function", function:{name,
 * arguments: JSON text}}; tool messages need tool_call_id. `system_prompt` (borrowed; NULL or
 * "" for none) becomes the first message. Returns a new reference to the array, or NULL with
 * a message naming the offending element (e.g. "messages[2]: unknown message type 'x'").
 */
json_t *llm_messages_to_openai(const json_t *lc_messages, const char *system_prompt, char *err,
                               size_t cap);

/*
 * Maps a whole (non-streamed) OpenAI chat.completion object (borrowed) to a LangChain AI
 * message: {id, content, additional_kwargs, response_metadata {model_provider, model_name,
 * finish_reason, usage, system_fingerprint?}, tool_calls [{name, args (object), id,
 * type:"tool_call"}], invalid_tool_calls, usage_metadata? {input_tokens, output_tokens,
 * total_tokens, input_token_details, output_token_details}, type:"ai"}. The id is the
 * provider's, else "run-<uuid>". Returns a new reference, or NULL with a message in err.
 */
json_t *llm_completion_to_message(const json_t *completion, char *err, size_t cap);

/*
 * One streamed chunk handed to on_token: its new content and its LangChain AI message chunk
 * {content, tool_call_chunks, additional_kwargs, id, response_metadata, tool_calls,
 * invalid_tool_calls, usage_metadata?, type:"ai"} as a messages-tuple event carries it, either
 * as an object (`chunk`) or, for the common content chunk, only as its compact JSON text
 * (`json`, what jsonw writes for the object), so that a consumer that streams text does not
 * build and serialise an object per token. Everything is borrowed, valid during the call.
 */
typedef struct llm_token {
    const char *text;    /* the new content (len bytes, not NUL-terminated; len 0 for none) */
    size_t len;
    const char *id;      /* the message id (NUL-terminated) */
    const json_t *chunk; /* the chunk object, or NULL when given as `json` */
    const char *json;    /* the chunk's JSON text (json_len bytes), or NULL when given as `chunk` */
    size_t json_len;
} llm_token_t;

/* The chunk of `t` as an object: a new reference (parsed from its text when it came as text),
 * or NULL when out of memory. */
json_t *llm_token_chunk(const llm_token_t *t);

/*
 * Callbacks of one llm_chat; any may be NULL.
 */
typedef struct llm_callbacks {
    /*
     * Streaming only: a chunk with new content, tool-call pieces or usage arrived (`tok`,
     * borrowed, valid during the call). A non-zero return stops the call (LLM_CANCELLED).
     */
    int (*on_token)(void *user, const llm_token_t *tok);
    /* Polled about every 50 ms while waiting; non-zero stops the call (LLM_CANCELLED). */
    int (*should_cancel)(void *user);
} llm_callbacks_t;

/*
 * Sends one chat completion: {model, messages (borrowed OpenAI messages), tools (borrowed
 * OpenAI tool definitions; NULL or [] for none), temperature, max_tokens, stream}. It streams
 * (stream_options.include_usage) when cb->on_token is set, else waits for the whole answer.
 * Blocks the calling thread. On LLM_OK *ai_message is a new reference to the LangChain AI
 * message (shape of llm_completion_to_message, tool calls assembled from the deltas by index).
 * On failure returns LLM_ERROR with one line in err naming the endpoint, e.g. "cannot reach LLM
 * at http://127.0.0.1:9/v1: Couldn't connect to server", "LLM at <base_url> answered 500:
 * <provider message>", "LLM at <base_url> sent a malformed stream chunk: ...", "LLM at
 * <base_url> sent nothing for 120000 ms (idle timeout)"; or LLM_CANCELLED ("LLM call
 * cancelled"). *ai_message is NULL after a failure. `user` is passed to the callbacks.
 */
int llm_chat(const llm_config_t *cfg, const json_t *openai_messages, const json_t *tools,
             const llm_callbacks_t *cb, void *user, json_t **ai_message, char *err, size_t cap);

#endif
