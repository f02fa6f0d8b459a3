/*
 * runtime/llm/llm_chunk.c — the fast path of the stream assembler (contract in
 * llm_internal.h): reads the common chat.completion.chunk (a content delta, a finish reason)
 * straight from its text with the jsonr cursor and writes its LangChain chunk as JSON text,
 * building no jansson values. Whatever it is not sure about (tool-call deltas, usage, error
 * objects, escaped keys, reals, a key read twice, anything malformed) it leaves untouched for
 * llm_stream_apply over the parsed chunk, which decides as before.
 */
#include <stdlib.h>
#include <string.h>

#include "llm/llm_internal.h"
#include "util/jsonr.h"
#include "util/uuid.h"

/* A string field of the chunk: its decoded bytes (NULL when absent or null). */
typedef struct field {
    const char *s;
    size_t n;
    char *tmp; /* malloc'd decoded copy when the string had escapes, else NULL */
} field_t;

/* Bits of the keys read, so that one read twice (jansson keeps the last) is left to jansson. */
enum {
    SEEN_ID = 1u << 0,
    SEEN_MODEL = 1u << 1,
    SEEN_FINGERPRINT = 1u << 2,
    SEEN_ERROR = 1u << 3,
    SEEN_USAGE = 1u << 4,
    SEEN_CHOICES = 1u << 5,
    SEEN_DELTA = 1u << 6,
    SEEN_FINISH = 1u << 7,
    SEEN_CONTENT = 1u << 8,
    SEEN_TOOL_CALLS = 1u << 9,
};

/* What one chunk holds, as far as the assembler cares. */
typedef struct chunk_fields {
    field_t id, model, fingerprint, finish, content;
    unsigned seen;
    const char *text;     /* the chunk's text */
    size_t choices_at;    /* offset of the opening quote of the top-level key "choices", or 0 */
    unsigned seen_before; /* `seen` when that key was reached */
} chunk_fields_t;

/* Marks key `bit` (SEEN_*) as read: 0 the first time, -1 (unsure) for a repeat. */
static int first_time(chunk_fields_t *f, unsigned bit)
{
    if (f->seen & bit)
        return -1;
    f->seen |= bit;
    return 0;
}

/* 1 when the value at *p (after whitespace) is `null`, moving past it. */
static int read_null(const char **p, const char *end)
{
    jsonr_skip_ws(p, end);
    return *p < end && **p == 'n' && jsonr_skip_value(p, end) == 0;
}

/* Reads a string-or-null value at *p into `out` (s stays NULL for null). Returns 0 or -1. */
static int read_field(const char **p, const char *end, field_t *out)
{
    if (read_null(p, end))
        return 0;
    return jsonr_read_string(p, end, &out->s, &out->n, &out->tmp);
}

/* Handles one key (`key`, `n` bytes) of an object, its value at *p. Returns 0 or -1 (unsure). */
typedef int (*key_fn)(chunk_fields_t *f, const char *key, size_t n, const char **p, const char *end);

/* 1 when `key` (`n` bytes) is the string literal `lit`; keys of the same length mostly differ
 * in their first byte, which is compared before memcmp is called. */
#define KEY_IS(key, n, lit)                                                                        \
    ((n) == sizeof(lit) - 1 && (key)[0] == (lit)[0] && memcmp((key), (lit), sizeof(lit) - 1) == 0)

/* Walks the members of an object from the key at *p on, calling `fn` for every key, up to and
 * past the closing brace. Keys with escapes are left to jansson. Returns 0 or -1. */
static int walk_members(const char **p, const char *end, key_fn fn, chunk_fields_t *f)
{
    const char *key;
    size_t n;
    char *tmp;

    for (;;) {
        if (jsonr_read_string(p, end, &key, &n, &tmp) != 0)
            return -1;
        if (tmp != NULL) {
            free(tmp);
            return -1;
        }
        jsonr_skip_ws(p, end);
        if (*p == end || **p != ':')
            return -1;
        (*p)++;
        if (fn(f, key, n, p, end) != 0)
            return -1;
        jsonr_skip_ws(p, end);
        if (*p == end)
            return -1;
        if (**p == '}') {
            (*p)++;
            return 0;
        }
        if (**p != ',')
            return -1;
        (*p)++;
        jsonr_skip_ws(p, end);
    }
}

/* Walks the object at *p (after whitespace), calling `fn` for every key. Returns 0 or -1. */
static int walk_object(const char **p, const char *end, key_fn fn, chunk_fields_t *f)
{
    jsonr_skip_ws(p, end);
    if (*p == end || **p != '{')
        return -1;
    (*p)++;
    jsonr_skip_ws(p, end);
    if (*p < end && **p == '}') {
        (*p)++;
        return 0;
    }
    return walk_members(p, end, fn, f);
}

/* choices[0].delta: content (string or null), tool_calls (only null here). */
static int on_delta_key(chunk_fields_t *f, const char *key, size_t n, const char **p, const char *end)
{
    if (KEY_IS(key, n, "content"))
        return first_time(f, SEEN_CONTENT) == 0 ? read_field(p, end, &f->content) : -1;
    if (KEY_IS(key, n, "tool_calls"))
        return first_time(f, SEEN_TOOL_CALLS) == 0 && read_null(p, end) ? 0 : -1;
    return jsonr_skip_value(p, end);
}

/* choices[0]: delta (an object), finish_reason (string or null). */
static int on_choice_key(chunk_fields_t *f, const char *key, size_t n, const char **p, const char *end)
{
    if (KEY_IS(key, n, "delta"))
        return first_time(f, SEEN_DELTA) == 0 ? walk_object(p, end, on_delta_key, f) : -1;
    if (KEY_IS(key, n, "finish_reason"))
        return first_time(f, SEEN_FINISH) == 0 ? read_field(p, end, &f->finish) : -1;
    return jsonr_skip_value(p, end);
}

/* choices: null, or a list whose first element is read and the others checked. */
static int read_choices(const char **p, const char *end, chunk_fields_t *f)
{
    if (read_null(p, end))
        return 0;
    if (*p == end || **p != '[')
        return -1;
    (*p)++;
    jsonr_skip_ws(p, end);
    if (*p < end && **p == ']') {
        (*p)++;
        return 0;
    }
    if (walk_object(p, end, on_choice_key, f) != 0)
        return -1;
    for (;;) {
        jsonr_skip_ws(p, end);
        if (*p == end)
            return -1;
        if (**p == ']') {
            (*p)++;
            return 0;
        }
        if (**p != ',' || (++*p, jsonr_skip_value(p, end)) != 0)
            return -1;
    }
}

/* The chunk itself: id, model, system_fingerprint (strings or null), choices; error and usage
 * only when null (an error or a usage object goes the slow way). */
static int on_chunk_key(chunk_fields_t *f, const char *key, size_t n, const char **p, const char *end)
{
    if (KEY_IS(key, n, "id"))
        return first_time(f, SEEN_ID) == 0 ? read_field(p, end, &f->id) : -1;
    if (KEY_IS(key, n, "model"))
        return first_time(f, SEEN_MODEL) == 0 ? read_field(p, end, &f->model) : -1;
    if (KEY_IS(key, n, "system_fingerprint"))
        return first_time(f, SEEN_FINGERPRINT) == 0 ? read_field(p, end, &f->fingerprint) : -1;
    if (KEY_IS(key, n, "choices")) {
        f->choices_at = (size_t)(key - 1 - f->text);
        f->seen_before = f->seen;
        return first_time(f, SEEN_CHOICES) == 0 ? read_choices(p, end, f) : -1;
    }
    if (KEY_IS(key, n, "error"))
        return first_time(f, SEEN_ERROR) == 0 && read_null(p, end) ? 0 : -1;
    if (KEY_IS(key, n, "usage"))
        return first_time(f, SEEN_USAGE) == 0 && read_null(p, end) ? 0 : -1;
    return jsonr_skip_value(p, end);
}

/* Replaces the content of `b` with field `v` when it is a string. Returns 0 or -1. */
static int buf_set_field(llm_buf_t *b, const field_t *v)
{
    if (v->s == NULL)
        return 0;
    b->len = 0;
    return llm_buf_append(b, v->s, v->n);
}

/* Appends the string literal `lit` to jsonw buffer `b`: 0 or -1. */
#define PUT_LITERAL(b, lit) jsonw_append_raw((b), (lit), sizeof(lit) - 1)

/* Writes the LangChain chunk of content `content` into `out` (emptied first), as jsonw writes
 * the chunk object llm_stream_apply builds (same keys, same order). Returns 0 or -1. */
static int write_chunk(jsonw_buf_t *out, const field_t *content, const llm_buf_t *id,
                       const field_t *finish)
{
    out->len = 0;
    if (PUT_LITERAL(out, "{\"content\":") != 0 ||
        jsonw_append_string(out, content->s, content->n) != 0 ||
        PUT_LITERAL(out, ",\"tool_call_chunks\":[],\"additional_kwargs\":{},\"id\":") != 0 ||
        jsonw_append_string(out, id->data, strlen(id->data)) != 0 || /* as json_string takes it */
        PUT_LITERAL(out, ",\"response_metadata\":{\"model_provider\":\"openai\"") != 0)
        return -1;
    if (finish->s != NULL && (PUT_LITERAL(out, ",\"finish_reason\":") != 0 ||
                              jsonw_append_string(out, finish->s, finish->n) != 0))
        return -1;
    return PUT_LITERAL(out, "},\"tool_calls\":[],\"invalid_tool_calls\":[],\"type\":\"ai\"}");
}

int llm_stream_apply_text(llm_stream_t *s, const char *data, size_t len, jsonw_buf_t *chunk_text,
                          const char **text, size_t *text_len)
{
    chunk_fields_t f = {0};
    const char *p = data, *end = data + len;
    int rc = 0, hit;

    if (chunk_text != NULL) {
        chunk_text->len = 0;
        *text = "";
        *text_len = 0;
    }
    f.text = data;
    /* The members before "choices" of a stream's chunks are mostly the same bytes each time (id,
     * object, created, model): when they are the bytes the last chunk read before its
     * "choices", reading them again would find the same keys and values, and applying those
     * would change nothing (id and model are only taken while empty, the fingerprint would be
     * set to what it already is: the memo is dropped whenever llm_stream_apply changes `s`).
     * So the walk resumes at "choices" with the keys already seen. */
    hit = s->prefix.len > 0 && s->prefix.len < len && memcmp(data, s->prefix.data, s->prefix.len) == 0;
    if (hit) {
        p = data + s->prefix.len;
        f.seen = s->prefix_seen;
        if (walk_members(&p, end, on_chunk_key, &f) != 0)
            goto Exit;
    } else if (walk_object(&p, end, on_chunk_key, &f) != 0) {
        goto Exit;
    }
    jsonr_skip_ws(&p, end);
    if (p != end)
        goto Exit;
    rc = -1;
    if (!hit) { /* this chunk's members before "choices" are the memo now (none without one) */
        s->prefix.len = 0;
        s->prefix_seen = f.seen_before;
        if (f.choices_at > 0 && llm_buf_append(&s->prefix, data, f.choices_at) != 0)
            goto Exit;
    }
    if ((f.id.s != NULL && s->id.len == 0 && buf_set_field(&s->id, &f.id) != 0) ||
        (s->model.len == 0 && buf_set_field(&s->model, &f.model) != 0) ||
        buf_set_field(&s->fingerprint, &f.fingerprint) != 0 ||
        buf_set_field(&s->finish_reason, &f.finish) != 0 ||
        (f.content.s != NULL && llm_buf_append(&s->content, f.content.s, f.content.n) != 0))
        goto Exit;
    if (s->id.len == 0) { /* a provider without ids: one id for every chunk and the message */
        char id[4 + UUID_STR_SIZE] = "run-";

        if (uuid_v4_str(id + 4) != 0 || llm_buf_append(&s->id, id, strlen(id)) != 0)
            goto Exit;
    }
    if (chunk_text != NULL && f.content.n > 0) {
        if (write_chunk(chunk_text, &f.content, &s->id, &f.finish) != 0)
            goto Exit;
        /* the content as the stream holds it: the decoded copy lives only until we return */
        *text = s->content.data + s->content.len - f.content.n;
        *text_len = f.content.n;
    }
    rc = 1;
Exit:
    free(f.id.tmp);
    free(f.model.tmp);
    free(f.fingerprint.tmp);
    free(f.finish.tmp);
    free(f.content.tmp);
    return rc;
}
