/*
 * runtime/llm/llm_map.c — LangChain message JSON to OpenAI chat messages, and OpenAI answers
 * (stream chunks or one whole completion) back to a LangChain AI message (contracts in llm.h
 * and llm_internal.h). Pure data: no I/O.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/llm.h"
#include "llm/llm_internal.h"
#include "util/uuid.h"

/* A tool-call index beyond this in a stream chunk is treated as malformed. */
#define LLM_MAX_TOOL_CALLS 128

void llm_set_err(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || cap == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

int llm_buf_append(llm_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap != 0 ? b->cap : 64;
        char *p;

        while (cap < b->len + n + 1)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

void llm_buf_free(llm_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* The buffer's text (borrowed), "" when empty. */
static const char *buf_str(const llm_buf_t *b)
{
    return b->len > 0 ? b->data : "";
}

/* Replaces the content of `b` with the string `v` (borrowed) when `v` is a string. */
static int buf_set_json(llm_buf_t *b, const json_t *v)
{
    if (!json_is_string(v))
        return 0;
    b->len = 0;
    return llm_buf_append(b, json_string_value(v), json_string_length(v));
}

/* ---- LangChain -> OpenAI ---------------------------------------------------------------- */

/*
 * The OpenAI role of message `m` (borrowed), and in *body (borrowed) the object that holds its
 * fields (the kwargs of the LangChain constructor form, else `m`). Returns NULL with a message
 * when the kind is missing or unknown.
 */
static const char *message_role(const json_t *m, size_t i, const json_t **body, char *err,
                                size_t cap)
{
    static const struct {
        const char *kind, *role;
    } kinds[] = {
        {"human", "user"},          {"user", "user"},         {"HumanMessage", "user"},
        {"ai", "assistant"},        {"assistant", "assistant"}, {"AIMessage", "assistant"},
        {"AIMessageChunk", "assistant"}, {"system", "system"}, {"developer", "system"},
        {"SystemMessage", "system"}, {"tool", "tool"},        {"ToolMessage", "tool"},
    };
    const json_t *lc = json_object_get(m, "lc"), *kwargs = json_object_get(m, "kwargs");
    const char *kind;

    *body = m;
    kind = json_string_value(json_object_get(m, "type"));
    if (json_is_integer(lc) && json_is_object(kwargs) && kind != NULL &&
        strcmp(kind, "constructor") == 0) {
        const json_t *id = json_object_get(m, "id");

        *body = kwargs;
        kind = json_string_value(json_array_get(id, json_array_size(id) - 1));
    } else if (kind == NULL) {
        kind = json_string_value(json_object_get(m, "role"));
    }
    if (kind == NULL) {
        llm_set_err(err, cap, "messages[%zu]: needs a type (human, ai, system, tool) or a role", i);
        return NULL;
    }
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (strcmp(kind, kinds[k].kind) == 0)
            return kinds[k].role;
    llm_set_err(err, cap, "messages[%zu]: unknown message type '%.64s'", i, kind);
    return NULL;
}

/*
 * One content block as an OpenAI content part: strings and text blocks become {type:"text",
 * text}, LangChain image blocks become image_url parts, anything else passes through. Returns
 * a new reference, or NULL with a message.
 */
static json_t *block_to_part(const json_t *b, size_t i, size_t j, char *err, size_t cap)
{
    const char *type, *url;

    if (json_is_string(b))
        return json_pack("{s:s, s:O}", "type", "text", "text", b);
    if (!json_is_object(b)) {
        llm_set_err(err, cap, "messages[%zu].content[%zu]: expected a string or an object", i, j);
        return NULL;
    }
    type = json_string_value(json_object_get(b, "type"));
    if (type != NULL && strcmp(type, "text") == 0) {
        const json_t *text = json_object_get(b, "text");

        if (!json_is_string(text)) {
            llm_set_err(err, cap, "messages[%zu].content[%zu].text: expected a string", i, j);
            return NULL;
        }
        return json_pack("{s:s, s:O}", "type", "text", "text", text);
    }
    if (type != NULL && strcmp(type, "image") == 0) {
        const char *data = json_string_value(json_object_get(b, "data"));
        const char *mime = json_string_value(json_object_get(b, "mime_type"));
        json_t *part;
        char *s;

        url = json_string_value(json_object_get(b, "url"));
        if (url != NULL)
            return json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", url);
        if (data == NULL) {
            llm_set_err(err, cap, "messages[%zu].content[%zu]: an image block needs url or data",
                        i, j);
            return NULL;
        }
        if (asprintf(&s, "data:%s;base64,%s", mime != NULL ? mime : "image/png", data) < 0) {
            llm_set_err(err, cap, "out of memory");
            return NULL;
        }
        part = json_pack("{s:s, s:{s:s}}", "type", "image_url", "image_url", "url", s);
        free(s);
        return part;
    }
    return json_incref((json_t *)b);
}

/*
 * The OpenAI content of LangChain content `c` (borrowed; NULL or null is ""). With `parts` a
 * list becomes content parts; without, the text of its text blocks joined (for roles whose
 * content compatible servers only take as a string). Returns a new reference, or NULL with a
 * message.
 */
static json_t *content_to_openai(const json_t *c, int parts, size_t i, char *err, size_t cap)
{
    json_t *out = NULL;
    llm_buf_t text = {0};
    size_t j;
    const json_t *b;

    if (c == NULL || json_is_null(c))
        return json_string("");
    if (json_is_string(c))
        return json_incref((json_t *)c);
    if (!json_is_array(c)) {
        llm_set_err(err, cap, "messages[%zu].content: expected a string or a list of blocks", i);
        return NULL;
    }
    if (parts) {
        out = json_array();
        json_array_foreach(c, j, b) {
            json_t *part = block_to_part(b, i, j, err, cap);

            if (part == NULL || json_array_append_new(out, part) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    json_array_foreach(c, j, b) {
        const json_t *t = json_is_string(b) ? b : json_object_get(b, "text");

        if (!json_is_object(b) && !json_is_string(b)) {
            llm_set_err(err, cap, "messages[%zu].content[%zu]: expected a string or an object", i,
                        j);
            goto Exit;
        }
        if (json_is_string(t) && llm_buf_append(&text, json_string_value(t), json_string_length(t)) != 0) {
            llm_set_err(err, cap, "out of memory");
            goto Exit;
        }
    }
    out = json_stringn(buf_str(&text), text.len);
Exit:
    llm_buf_free(&text);
    return out;
}

/*
 * The OpenAI tool_calls of AI message body `m` (borrowed): its LangChain tool_calls, else the
 * OpenAI-form additional_kwargs.tool_calls. Returns a new reference (NULL in *out when there
 * are none), 0, or -1 with a message.
 */
static int tool_calls_to_openai(const json_t *m, size_t i, json_t **out, char *err, size_t cap)
{
    const json_t *calls = json_object_get(m, "tool_calls"), *tc;
    const json_t *ak = json_object_get(json_object_get(m, "additional_kwargs"), "tool_calls");
    size_t j;
    int rc = -1;

    *out = NULL;
    if (calls != NULL && !json_is_null(calls) && !json_is_array(calls)) {
        llm_set_err(err, cap, "messages[%zu].tool_calls: expected a list", i);
        goto Exit;
    }
    if (json_array_size(calls) == 0 && json_array_size(ak) == 0) {
        rc = 0;
        goto Exit;
    }
    *out = json_array();
    if (json_array_size(calls) == 0) {
        json_array_foreach(ak, j, tc) {
            json_t *c = json_pack("{s:O?, s:s, s:O?}", "id", json_object_get(tc, "id"), "type",
                                  "function", "function", json_object_get(tc, "function"));

            if (c == NULL || json_array_append_new(*out, c) != 0) {
                llm_set_err(err, cap, "messages[%zu].additional_kwargs.tool_calls[%zu]: invalid", i, j);
                goto Exit;
            }
        }
        rc = 0;
        goto Exit;
    }
    json_array_foreach(calls, j, tc) {
        const json_t *name = json_object_get(tc, "name"), *id = json_object_get(tc, "id");
        const json_t *args = json_object_get(tc, "args");
        char *text = NULL;
        json_t *c;

        if (!json_is_string(name) || !json_is_string(id)) {
            llm_set_err(err, cap, "messages[%zu].tool_calls[%zu]: needs a string name and id", i, j);
            goto Exit;
        }
        if (args == NULL || json_is_null(args))
            text = strdup("{}");
        else if (json_is_string(args))
            text = strdup(json_string_value(args));
        else if (json_is_object(args))
            text = json_dumps(args, JSON_COMPACT);
        else {
            llm_set_err(err, cap, "messages[%zu].tool_calls[%zu].args: expected an object", i, j);
            goto Exit;
        }
        c = text != NULL ? json_pack("{s:O, s:s, s:{s:O, s:s}}", "id", id, "type", "function",
                                     "function", "name", name, "arguments", text)
                         : NULL;
        free(text);
        if (c == NULL || json_array_append_new(*out, c) != 0) {
            llm_set_err(err, cap, "out of memory");
            goto Exit;
        }
    }
    rc = 0;
Exit:
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The OpenAI message {role, content} (`content` borrowed; NULL fails): a new reference, or
 * NULL when out of memory. Built directly: json_pack parses its format on every call. */
static json_t *role_message(const char *role, json_t *content)
{
    json_t *m = json_object();

    if (m != NULL && (content == NULL || json_object_set_new(m, "role", json_string(role)) != 0 ||
                      json_object_set_new(m, "content", json_incref(content)) != 0)) {
        json_decref(m);
        m = NULL;
    }
    return m;
}

/* One LangChain message (borrowed) as an OpenAI message; a new reference or NULL with a message. */
static json_t *message_to_openai(const json_t *m, size_t i, char *err, size_t cap)
{
    const json_t *body;
    const char *role;
    json_t *out = NULL, *content = NULL, *calls = NULL;

    if (!json_is_object(m)) {
        llm_set_err(err, cap, "messages[%zu]: expected an object", i);
        return NULL;
    }
    role = message_role(m, i, &body, err, cap);
    if (role == NULL)
        return NULL;
    content = content_to_openai(json_object_get(body, "content"), strcmp(role, "user") == 0, i,
                                err, cap);
    if (content == NULL)
        goto Exit;
    if (strcmp(role, "assistant") == 0 && tool_calls_to_openai(body, i, &calls, err, cap) != 0)
        goto Exit;
    if (calls != NULL && json_is_string(content) && json_string_length(content) == 0) {
        json_decref(content);
        content = json_null();
    }
    out = role_message(role, content);
    if (out == NULL) {
        llm_set_err(err, cap, "out of memory");
        goto Exit;
    }
    if (calls != NULL && json_object_set(out, "tool_calls", calls) != 0) {
        llm_set_err(err, cap, "out of memory");
        json_decref(out);
        out = NULL;
        goto Exit;
    }
    if (strcmp(role, "tool") == 0) {
        const json_t *tcid = json_object_get(body, "tool_call_id");

        if (!json_is_string(tcid)) {
            llm_set_err(err, cap, "messages[%zu]: a tool message needs a string tool_call_id", i);
            json_decref(out);
            out = NULL;
            goto Exit;
        }
        json_object_set(out, "tool_call_id", (json_t *)tcid);
    }
Exit:
    json_decref(content);
    json_decref(calls);
    return out;
}

json_t *llm_messages_to_openai(const json_t *lc_messages, const char *system_prompt, char *err,
                               size_t cap)
{
    json_t *out = NULL, *o;
    const json_t *m;
    size_t i;
    int ok = 0;

    if (!json_is_array(lc_messages)) {
        llm_set_err(err, cap, "messages: expected a list");
        goto Exit;
    }
    out = json_array();
    if (out != NULL && system_prompt != NULL && system_prompt[0] != '\0') {
        json_t *text = json_string(system_prompt);

        o = role_message("system", text);
        json_decref(text);
        if (json_array_append_new(out, o) != 0) {
            llm_set_err(err, cap, "out of memory");
            goto Exit;
        }
    }
    if (out == NULL) {
        llm_set_err(err, cap, "out of memory");
        goto Exit;
    }
    json_array_foreach(lc_messages, i, m) {
        if ((o = message_to_openai(m, i, err, cap)) == NULL)
            goto Exit;
        if (json_array_append_new(out, o) != 0) {
            llm_set_err(err, cap, "out of memory");
            goto Exit;
        }
    }
    ok = 1;
Exit:
    if (!ok) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* ---- OpenAI -> LangChain --------------------------------------------------------------- */

void llm_stream_init(llm_stream_t *s)
{
    memset(s, 0, sizeof *s);
}

void llm_stream_free(llm_stream_t *s)
{
    llm_buf_free(&s->id);
    llm_buf_free(&s->model);
    llm_buf_free(&s->finish_reason);
    llm_buf_free(&s->fingerprint);
    llm_buf_free(&s->content);
    llm_buf_free(&s->prefix);
    for (size_t i = 0; i < s->ntools; i++) {
        llm_buf_free(&s->tools[i].id);
        llm_buf_free(&s->tools[i].name);
        llm_buf_free(&s->tools[i].args);
    }
    free(s->tools);
    json_decref(s->usage);
    memset(s, 0, sizeof *s);
}

/* The accumulator of tool call `index`, growing the table as needed; NULL when out of memory. */
static llm_tool_acc_t *tool_at(llm_stream_t *s, size_t index)
{
    if (index >= s->ntools) {
        llm_tool_acc_t *t = realloc(s->tools, (index + 1) * sizeof *t);

        if (t == NULL)
            return NULL;
        memset(t + s->ntools, 0, (index + 1 - s->ntools) * sizeof *t);
        s->tools = t;
        s->ntools = index + 1;
    }
    return &s->tools[index];
}

/*
 * The provider's error message in an {"error": ...} object `o` (borrowed), or NULL when it has
 * none. Borrowed from `o`.
 */
static const char *error_message(const json_t *o)
{
    const json_t *e = json_object_get(o, "error");

    if (e == NULL || json_is_null(e))
        return NULL;
    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_string(json_object_get(e, "message")))
        return json_string_value(json_object_get(e, "message"));
    return "(no message)";
}

/* The usage_metadata of an OpenAI usage object (borrowed); a new reference or NULL. */
static json_t *usage_metadata(const json_t *u)
{
    json_int_t in = json_integer_value(json_object_get(u, "prompt_tokens"));
    json_int_t outt = json_integer_value(json_object_get(u, "completion_tokens"));
    const json_t *total = json_object_get(u, "total_tokens");
    const json_t *cached = json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
    const json_t *reasoning =
        json_object_get(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
    json_t *in_d = json_object(), *out_d = json_object(), *m = json_object();

    if (json_is_integer(cached))
        json_object_set(in_d, "cache_read", (json_t *)cached);
    if (json_is_integer(reasoning))
        json_object_set(out_d, "reasoning", (json_t *)reasoning);
    /* built directly, as llm_stream_message; each set steals its value, also when it fails */
    if (m == NULL || in_d == NULL || out_d == NULL ||
        json_object_set_new(m, "input_tokens", json_integer(in)) != 0 ||
        json_object_set_new(m, "output_tokens", json_integer(outt)) != 0 ||
        json_object_set_new(m, "total_tokens",
                            json_integer(json_is_integer(total) ? json_integer_value(total) : in + outt)) != 0 ||
        json_object_set_new(m, "input_token_details", json_incref(in_d)) != 0 ||
        json_object_set_new(m, "output_token_details", json_incref(out_d)) != 0) {
        json_decref(m);
        m = NULL;
    }
    json_decref(in_d);
    json_decref(out_d);
    return m;
}

/*
 * Applies the tool-call deltas `calls` (borrowed array) to `s`, and when `chunks` is not NULL
 * appends their LangChain tool_call_chunks to it. Returns 0, or -1 with a message.
 */
static int apply_tool_deltas(llm_stream_t *s, const json_t *calls, json_t *chunks, char *err,
                             size_t cap)
{
    const json_t *d;
    size_t j;

    json_array_foreach(calls, j, d) {
        const json_t *idx = json_object_get(d, "index"), *fn = json_object_get(d, "function");
        const json_t *id = json_object_get(d, "id"), *name = json_object_get(fn, "name");
        const json_t *args = json_object_get(fn, "arguments");
        json_int_t index = json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)j;
        llm_tool_acc_t *t;

        if (!json_is_object(d) || index < 0 || index >= LLM_MAX_TOOL_CALLS ||
            (idx != NULL && !json_is_integer(idx)) || (fn != NULL && !json_is_object(fn))) {
            llm_set_err(err, cap, "tool_calls[%zu] is not a tool-call delta", j);
            return -1;
        }
        t = tool_at(s, (size_t)index);
        if (t == NULL || (json_is_string(id) && buf_set_json(&t->id, id) != 0) ||
            (json_is_string(name) &&
             llm_buf_append(&t->name, json_string_value(name), json_string_length(name)) != 0) ||
            (json_is_string(args) &&
             llm_buf_append(&t->args, json_string_value(args), json_string_length(args)) != 0)) {
            llm_set_err(err, cap, "out of memory");
            return -1;
        }
        if (chunks != NULL) {
            json_t *c = json_object();

            if (json_is_string(name))
                json_object_set(c, "name", (json_t *)name);
            json_object_set_new(c, "args", json_is_string(args) ? json_incref((json_t *)args)
                                                                : json_string(""));
            if (json_is_string(id))
                json_object_set(c, "id", (json_t *)id);
            json_object_set_new(c, "index", json_integer(index));
            json_object_set_new(c, "type", json_string("tool_call_chunk"));
            json_array_append_new(chunks, c);
        }
    }
    return 0;
}

/* {content, tool_call_chunks: [], additional_kwargs: {}, id, response_metadata:
 * {model_provider: "openai"}, tool_calls: [], invalid_tool_calls: [], type: "ai"} with
 * `content` (borrowed string, or anything else for "") and `id` (borrowed). New reference, or
 * NULL when out of memory. */
static json_t *chunk_message(const json_t *content, const char *id)
{
    json_t *m = json_object(), *meta = json_object();

    if (m == NULL || meta == NULL ||
        json_object_set_new(m, "content", json_is_string(content) ? json_incref((json_t *)content)
                                                                   : json_string("")) != 0 ||
        json_object_set_new(m, "tool_call_chunks", json_array()) != 0 ||
        json_object_set_new(m, "additional_kwargs", json_object()) != 0 ||
        json_object_set_new(m, "id", json_string(id)) != 0 ||
        json_object_set_new(meta, "model_provider", json_string("openai")) != 0 ||
        json_object_set_new(m, "response_metadata", json_incref(meta)) != 0 ||
        json_object_set_new(m, "tool_calls", json_array()) != 0 ||
        json_object_set_new(m, "invalid_tool_calls", json_array()) != 0 ||
        json_object_set_new(m, "type", json_string("ai")) != 0) {
        json_decref(m);
        m = NULL;
    }
    json_decref(meta);
    return m;
}

int llm_stream_apply(llm_stream_t *s, const json_t *chunk, json_t **chunk_msg, const char **text,
                     size_t *text_len, char *err, size_t cap)
{
    const json_t *choices, *choice = NULL, *delta = NULL, *content = NULL, *calls = NULL;
    const json_t *usage, *finish = NULL;
    const char *emsg;
    json_t *tcc = NULL, *msg = NULL;
    int rc = -1;

    if (chunk_msg != NULL) {
        *chunk_msg = NULL;
        *text = "";
        *text_len = 0;
    }
    s->prefix.len = 0; /* llm_stream_apply_text's memo no longer holds (llm_internal.h) */
    if (!json_is_object(chunk)) {
        llm_set_err(err, cap, "expected a JSON object");
        return -1;
    }
    if ((emsg = error_message(chunk)) != NULL) {
        llm_set_err(err, cap, "%s", emsg);
        return -2;
    }
    choices = json_object_get(chunk, "choices");
    usage = json_object_get(chunk, "usage");
    if ((choices != NULL && !json_is_null(choices) && !json_is_array(choices)) ||
        (usage != NULL && !json_is_null(usage) && !json_is_object(usage))) {
        llm_set_err(err, cap, "choices must be a list and usage an object");
        return -1;
    }
    if (!json_is_object(usage))
        usage = NULL;
    choice = json_array_get(choices, 0);
    if (choice != NULL) {
        delta = json_object_get(choice, "delta");
        if (!json_is_object(choice) || (delta != NULL && !json_is_object(delta))) {
            llm_set_err(err, cap, "choices[0] has no delta object");
            return -1;
        }
        content = json_object_get(delta, "content");
        calls = json_object_get(delta, "tool_calls");
        finish = json_object_get(choice, "finish_reason");
        if ((content != NULL && !json_is_null(content) && !json_is_string(content)) ||
            (calls != NULL && !json_is_null(calls) && !json_is_array(calls))) {
            llm_set_err(err, cap, "delta content must be a string and tool_calls a list");
            return -1;
        }
    }
    if ((json_is_string(json_object_get(chunk, "id")) && s->id.len == 0 &&
         buf_set_json(&s->id, json_object_get(chunk, "id")) != 0) ||
        (s->model.len == 0 && buf_set_json(&s->model, json_object_get(chunk, "model")) != 0) ||
        buf_set_json(&s->fingerprint, json_object_get(chunk, "system_fingerprint")) != 0 ||
        buf_set_json(&s->finish_reason, finish) != 0 ||
        (json_is_string(content) &&
         llm_buf_append(&s->content, json_string_value(content), json_string_length(content)) != 0))
        goto Oom;
    if (s->id.len == 0) { /* a provider without ids: one id for every chunk and the message */
        char id[4 + UUID_STR_SIZE] = "run-";

        if (uuid_v4_str(id + 4) != 0 || llm_buf_append(&s->id, id, strlen(id)) != 0)
            goto Oom;
    }
    if (usage != NULL) {
        json_decref(s->usage);
        s->usage = json_incref((json_t *)usage);
    }
    if (chunk_msg != NULL && json_array_size(calls) > 0 && (tcc = json_array()) == NULL)
        goto Oom;
    if (json_array_size(calls) > 0 && apply_tool_deltas(s, calls, tcc, err, cap) != 0)
        goto Exit;
    if (chunk_msg == NULL || (json_string_length(content) == 0 && tcc == NULL && usage == NULL)) {
        rc = 0;
        goto Exit;
    }
    /* the LangChain chunk of this delta (built directly: json_pack parses its format per
     * token) */
    if ((msg = chunk_message(content, buf_str(&s->id))) == NULL)
        goto Oom;
    if (tcc != NULL) {
        json_object_set(msg, "tool_call_chunks", tcc);
        json_object_set(json_object_get(msg, "additional_kwargs"), "tool_calls", (json_t *)calls);
    }
    if (json_is_string(finish))
        json_object_set(json_object_get(msg, "response_metadata"), "finish_reason", (json_t *)finish);
    if (usage != NULL) {
        json_object_set(json_object_get(msg, "response_metadata"), "usage", (json_t *)usage);
        json_object_set_new(msg, "usage_metadata", usage_metadata(usage));
    }
    *chunk_msg = msg;
    msg = NULL;
    if (json_is_string(content)) {
        *text = json_string_value(content);
        *text_len = json_string_length(content);
    }
    rc = 0;
    goto Exit;
Oom:
    llm_set_err(err, cap, "out of memory");
Exit:
    json_decref(tcc);
    json_decref(msg);
    return rc;
}

int llm_stream_apply_completion(llm_stream_t *s, const json_t *completion, char *err, size_t cap)
{
    const json_t *choice, *message, *content, *calls, *usage;
    const char *emsg;

    if (!json_is_object(completion)) {
        llm_set_err(err, cap, "expected a JSON object");
        return -1;
    }
    if ((emsg = error_message(completion)) != NULL) {
        llm_set_err(err, cap, "%s", emsg);
        return -2;
    }
    choice = json_array_get(json_object_get(completion, "choices"), 0);
    message = json_object_get(choice, "message");
    if (!json_is_object(message)) {
        llm_set_err(err, cap, "no choices[0].message object");
        return -1;
    }
    content = json_object_get(message, "content");
    calls = json_object_get(message, "tool_calls");
    usage = json_object_get(completion, "usage");
    if ((content != NULL && !json_is_null(content) && !json_is_string(content)) ||
        (calls != NULL && !json_is_null(calls) && !json_is_array(calls))) {
        llm_set_err(err, cap, "message content must be a string and tool_calls a list");
        return -1;
    }
    if (buf_set_json(&s->id, json_object_get(completion, "id")) != 0 ||
        buf_set_json(&s->model, json_object_get(completion, "model")) != 0 ||
        buf_set_json(&s->fingerprint, json_object_get(completion, "system_fingerprint")) != 0 ||
        buf_set_json(&s->finish_reason, json_object_get(choice, "finish_reason")) != 0 ||
        buf_set_json(&s->content, content) != 0) {
        llm_set_err(err, cap, "out of memory");
        return -1;
    }
    if (json_is_object(usage)) {
        json_decref(s->usage);
        s->usage = json_incref((json_t *)usage);
    }
    return json_array_size(calls) > 0 ? apply_tool_deltas(s, calls, NULL, err, cap) : 0;
}

json_t *llm_stream_message(const llm_stream_t *s)
{
    json_t *msg, *calls, *invalid, *openai_calls, *meta;
    char idbuf[4 + UUID_STR_SIZE] = "run-";

    if (s->id.len == 0 && uuid_v4_str(idbuf + 4) != 0)
        return NULL;
    /* built directly (json_pack parses its format on every call); each set steals its value,
     * also when it fails */
    msg = json_object();
    meta = json_object();
    if (msg == NULL || meta == NULL ||
        json_object_set_new(msg, "id", json_string(s->id.len > 0 ? s->id.data : idbuf)) != 0 ||
        json_object_set_new(msg, "content", json_stringn(buf_str(&s->content), s->content.len)) != 0 ||
        json_object_set_new(msg, "additional_kwargs", json_object()) != 0 ||
        json_object_set_new(meta, "model_provider", json_string("openai")) != 0 ||
        json_object_set_new(meta, "model_name", json_string(buf_str(&s->model))) != 0 ||
        json_object_set_new(msg, "response_metadata", json_incref(meta)) != 0 ||
        json_object_set_new(msg, "tool_calls", json_array()) != 0 ||
        json_object_set_new(msg, "invalid_tool_calls", json_array()) != 0 ||
        json_object_set_new(msg, "type", json_string("ai")) != 0) {
        json_decref(msg);
        json_decref(meta);
        return NULL;
    }
    json_decref(meta); /* msg holds it */
    if (s->finish_reason.len > 0)
        json_object_set_new(meta, "finish_reason", json_string(s->finish_reason.data));
    if (s->fingerprint.len > 0)
        json_object_set_new(meta, "system_fingerprint", json_string(s->fingerprint.data));
    if (s->usage != NULL) {
        json_object_set(meta, "usage", s->usage);
        json_object_set_new(msg, "usage_metadata", usage_metadata(s->usage));
    }
    calls = json_object_get(msg, "tool_calls");
    invalid = json_object_get(msg, "invalid_tool_calls");
    openai_calls = json_array();
    for (size_t i = 0; i < s->ntools; i++) {
        const llm_tool_acc_t *t = &s->tools[i];
        json_t *args;

        if (t->id.len == 0 && t->name.len == 0 && t->args.len == 0)
            continue; /* an index the provider skipped */
        json_array_append_new(openai_calls,
                              json_pack("{s:I, s:s, s:s, s:{s:s, s:s}}", "index", (json_int_t)i,
                                        "id", buf_str(&t->id), "type", "function", "function",
                                        "name", buf_str(&t->name), "arguments", buf_str(&t->args)));
        args = t->args.len == 0 ? json_object() : json_loadb(t->args.data, t->args.len, 0, NULL);
        if (json_is_object(args))
            json_array_append_new(calls, json_pack("{s:s, s:o, s:s, s:s}", "name", buf_str(&t->name),
                                                   "args", args, "id", buf_str(&t->id), "type",
                                                   "tool_call"));
        else {
            json_decref(args);
            json_array_append_new(invalid, json_pack("{s:s, s:s, s:s, s:s, s:s}", "name",
                                                     buf_str(&t->name), "args", buf_str(&t->args),
                                                     "id", buf_str(&t->id), "error",
                                                     "Malformed args.", "type", "invalid_tool_call"));
        }
    }
    if (json_array_size(openai_calls) > 0)
        json_object_set(json_object_get(msg, "additional_kwargs"), "tool_calls", openai_calls);
    json_decref(openai_calls);
    return msg;
}

json_t *llm_completion_to_message(const json_t *completion, char *err, size_t cap)
{
    llm_stream_t s;
    json_t *msg = NULL;

    llm_stream_init(&s);
    if (llm_stream_apply_completion(&s, completion, err, cap) != 0)
        goto Exit;
    msg = llm_stream_message(&s);
    if (msg == NULL)
        llm_set_err(err, cap, "out of memory");
Exit:
    llm_stream_free(&s);
    return msg;
}
