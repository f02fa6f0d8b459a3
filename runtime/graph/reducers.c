/*
 * runtime/graph/reducers.c — how state channels merge writes: replace, append, and LangChain's
 * add_messages (message coercion from OpenAI-style input, id assignment, upsert by id, removal).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "graph/engine.h"
#include "util/jsoncopy.h"
#include "util/uuid.h"

#define REMOVE_ALL "__remove_all__"

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The LangChain type for OpenAI role / loose type `r`, or NULL when unknown. Static. */
static const char *type_of(const char *r)
{
    static const char *const map[][2] = {
        {"human", "human"},   {"user", "human"},  {"ai", "ai"},         {"assistant", "ai"},
        {"system", "system"}, {"tool", "tool"},   {"developer", "system"}, {"remove", "remove"},
        {"function", "function"}, {"chat", "chat"},
    };
    size_t i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(r, map[i][0]) == 0)
            return map[i][1];
    }
    return NULL;
}

/* OpenAI tool_calls [{id, type: "function", function: {name, arguments}}] as LangChain tool
 * calls [{name, args, id, type: "tool_call"}] (new reference). Entries already in LangChain form
 * are copied; arguments that are not a JSON object become {}. */
static json_t *coerce_tool_calls(const json_t *calls)
{
    json_t *out = json_array();
    const json_t *c;
    size_t i;

    json_array_foreach(calls, i, c) {
        const json_t *fn = json_object_get(c, "function");
        json_t *tc;

        if (!json_is_object(fn)) {
            json_array_append_new(out, jsoncopy_containers(c));
            continue;
        }
        json_t *args = NULL;
        const char *text = json_string_value(json_object_get(fn, "arguments"));
        if (text != NULL)
            args = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!json_is_object(args)) {
            json_decref(args);
            args = json_object();
        }
        const json_t *name = json_object_get(fn, "name");
        const json_t *id = json_object_get(c, "id");
        tc = json_object();
        json_object_set_new(tc, "name", json_is_string(name) ? json_copy((json_t *)name)
                                                             : json_string(""));
        json_object_set_new(tc, "args", args);
        json_object_set_new(tc, "id", id != NULL ? jsoncopy_containers(id) : json_null());
        json_object_set_new(tc, "type", json_string("tool_call"));
        json_array_append_new(out, tc);
    }
    return out;
}

json_t *graph_message_coerce(const json_t *msg, char *err, size_t errlen)
{
    json_t *out = NULL;
    const char *kind, *type;

    if (json_is_string(msg))
        return json_pack("{s:O, s:s, s:{}, s:{}}", "content", msg, "type", "human",
                         "additional_kwargs", "response_metadata");
    if (!json_is_object(msg)) {
        seterr(err, errlen, "a message must be an object or a string");
        return NULL;
    }
    kind = json_string_value(json_object_get(msg, "type"));
    if (kind == NULL)
        kind = json_string_value(json_object_get(msg, "role"));
    if (kind == NULL) {
        seterr(err, errlen, "a message needs a \"type\" or a \"role\"");
        return NULL;
    }
    type = type_of(kind);
    if (type == NULL) {
        seterr(err, errlen, "unknown message type \"%s\"", kind);
        return NULL;
    }
    out = jsoncopy_containers(msg);
    json_object_del(out, "role");
    json_object_set_new(out, "type", json_string(type));
    if (strcmp(type, "remove") == 0)
        return out;
    if (json_object_get(out, "content") == NULL) {
        if (strcmp(type, "ai") != 0) {
            seterr(err, errlen, "a %s message needs \"content\"", type);
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, "content", json_string(""));
    } else if (json_is_null(json_object_get(out, "content"))) {
        json_object_set_new(out, "content", json_string(""));
    }
    if (!json_is_object(json_object_get(out, "additional_kwargs")))
        json_object_set_new(out, "additional_kwargs", json_object());
    if (!json_is_object(json_object_get(out, "response_metadata")))
        json_object_set_new(out, "response_metadata", json_object());
    if (strcmp(type, "ai") == 0) {
        const json_t *tc = json_object_get(out, "tool_calls");
        if (json_is_array(tc))
            json_object_set_new(out, "tool_calls", coerce_tool_calls(tc));
        else
            json_object_set_new(out, "tool_calls", json_array());
        if (!json_is_array(json_object_get(out, "invalid_tool_calls")))
            json_object_set_new(out, "invalid_tool_calls", json_array());
    }
    return out;
}

/* Index of the message with id `id` in `list`, or -1. */
static long find_id(const json_t *list, const char *id)
{
    const json_t *m;
    size_t i;

    json_array_foreach(list, i, m) {
        const char *mid = json_string_value(json_object_get(m, "id"));
        if (mid != NULL && strcmp(mid, id) == 0)
            return (long)i;
    }
    return -1;
}

/* 1 when graph_message_coerce would answer a copy equal to `msg` (same members, same order)
 * and `msg` has an id: a message already in LangChain's form, as every message a reducer has
 * stored is. */
static int is_coerced(const json_t *msg)
{
    const json_t *v;
    const char *type, *known;
    size_t i;

    if (!json_is_object(msg) || json_object_get(msg, "role") != NULL ||
        (type = json_string_value(json_object_get(msg, "type"))) == NULL ||
        (known = type_of(type)) == NULL || strcmp(known, type) != 0 || strcmp(type, "remove") == 0)
        return 0;
    v = json_object_get(msg, "id");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return 0;
    v = json_object_get(msg, "content");
    if (v == NULL || json_is_null(v) || !json_is_object(json_object_get(msg, "additional_kwargs")) ||
        !json_is_object(json_object_get(msg, "response_metadata")))
        return 0;
    if (strcmp(type, "ai") != 0)
        return 1;
    if (!json_is_array(json_object_get(msg, "invalid_tool_calls")) ||
        !json_is_array(v = json_object_get(msg, "tool_calls")))
        return 0;
    for (i = 0; i < json_array_size(v); i++) {
        if (json_is_object(json_object_get(json_array_get(v, i), "function")))
            return 0;
    }
    return 1;
}

/* graph_message_coerce, except that a message already coerced (is_coerced) is shared, not
 * copied: messages are never changed in place once in a channel (new reference, read only). */
static json_t *coerce_shared(const json_t *msg, char *err, size_t errlen)
{
    if (is_coerced(msg))
        return json_incref((json_t *)msg);
    return graph_message_coerce(msg, err, errlen);
}

json_t *graph_messages_normalize(const json_t *msgs, char *err, size_t errlen)
{
    json_t *out = json_array(), *res = NULL, *m;
    const json_t *src, *idv;
    size_t i, n = json_is_array(msgs) ? json_array_size(msgs) : 1;

    if (msgs == NULL || json_is_null(msgs))
        n = 0;
    for (i = 0; i < n; i++) {
        src = json_is_array(msgs) ? json_array_get(msgs, i) : msgs;
        if ((m = coerce_shared(src, err, errlen)) == NULL)
            goto Exit;
        json_array_append_new(out, m);
        idv = json_object_get(m, "id");
        if (!json_is_string(idv) || json_string_length(idv) == 0) {
            char id[UUID_STR_SIZE];
            if (uuid_v4_str(id) != 0) {
                seterr(err, errlen, "the random number generator failed");
                goto Exit;
            }
            json_object_set_new(m, "id", json_string(id));
        }
    }
    res = out;
    out = NULL;
Exit:
    json_decref(out);
    return res;
}

json_t *graph_messages_add(const json_t *left, const json_t *right, char *err, size_t errlen)
{
    json_t *merged = json_array(), *incoming = NULL, *res = NULL, *m;
    const json_t *src;
    size_t i;

    /* Coerce both sides; a right message without an id gets one. */
    if (left != NULL && !json_is_null(left)) {
        if (!json_is_array(left)) {
            seterr(err, errlen, "the current messages are not a list");
            goto Exit;
        }
        json_array_foreach(left, i, src) {
            if ((m = coerce_shared(src, err, errlen)) == NULL)
                goto Exit;
            json_array_append_new(merged, m);
        }
    }
    if ((incoming = graph_messages_normalize(right, err, errlen)) == NULL)
        goto Exit;

    /* A removal of everything keeps only what follows it. */
    for (i = json_array_size(incoming); i-- > 0;) {
        m = json_array_get(incoming, i);
        if (strcmp(json_string_value(json_object_get(m, "type")), "remove") == 0 &&
            strcmp(json_string_value(json_object_get(m, "id")), REMOVE_ALL) == 0) {
            json_array_clear(merged);
            json_t *rest = json_array();
            size_t j;
            for (j = i + 1; j < json_array_size(incoming); j++)
                json_array_append(rest, json_array_get(incoming, j));
            json_decref(incoming);
            incoming = rest;
            break;
        }
    }

    json_array_foreach(incoming, i, m) {
        const char *id = json_string_value(json_object_get(m, "id"));
        long at = find_id(merged, id);
        if (strcmp(json_string_value(json_object_get(m, "type")), "remove") == 0) {
            if (at < 0) {
                seterr(err, errlen, "attempting to delete a message with an id that doesn't "
                                    "exist ('%s')", id);
                goto Exit;
            }
            json_array_remove(merged, (size_t)at);
        } else if (at >= 0) {
            json_array_set(merged, (size_t)at, m);
        } else {
            json_array_append(merged, m);
        }
    }
    res = merged;
    merged = NULL;
Exit:
    json_decref(merged);
    json_decref(incoming);
    return res;
}

json_t *graph_reduce(graph_reducer_t reducer, const json_t *current, const json_t *write,
                     char *err, size_t errlen)
{
    json_t *out;

    switch (reducer) {
    case GRAPH_REDUCER_REPLACE:
        return jsoncopy_containers(write);
    case GRAPH_REDUCER_APPEND:
        if (current != NULL && !json_is_null(current) && !json_is_array(current)) {
            seterr(err, errlen, "cannot append to a value that is not a list");
            return NULL;
        }
        out = json_is_array(current) ? jsoncopy_containers(current) : json_array();
        if (json_is_array(write)) {
            json_t *copy = jsoncopy_containers(write);
            json_array_extend(out, copy);
            json_decref(copy);
        } else {
            json_array_append_new(out, jsoncopy_containers(write));
        }
        return out;
    case GRAPH_REDUCER_ADD_MESSAGES:
        return graph_messages_add(current, write, err, errlen);
    }
    seterr(err, errlen, "unknown reducer %d", (int)reducer);
    return NULL;
}
