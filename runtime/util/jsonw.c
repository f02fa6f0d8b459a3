/*
 * runtime/util/jsonw.c — compact JSON text from jansson values, byte-identical to jansson's
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) but without its per-container cycle check
 * (contract in jsonw.h). Writes straight into one growable buffer.
 */
#include "util/jsonw.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"

/* Makes room for `n` more bytes plus a NUL. Returns 0 or -1. */
static int reserve(jsonw_buf_t *b, size_t n)
{
    size_t need = b->len + n + 1, cap;
    char *d;

    if (need <= b->cap)
        return 0;
    cap = b->cap > 0 ? b->cap : 2048; /* most event and record texts fit: no realloc chain */
    while (cap < need)
        cap *= 2;
    if ((d = realloc(b->data, cap)) == NULL)
        return -1;
    b->data = d;
    b->cap = cap;
    return 0;
}

/* Appends without the NUL; the caller reserved room. */
static void put(jsonw_buf_t *b, const char *s, size_t n)
{
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static int put_raw(jsonw_buf_t *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return -1;
    put(b, s, n);
    return 0;
}

/* Appends string `s` (`n` bytes) quoted and escaped. Returns 0 or -1. */
static int put_string(jsonw_buf_t *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run;

    /* room for the quotes and the rest as is; each escape makes room for itself */
    if (reserve(b, n + 2) != 0)
        return -1;
    b->data[b->len++] = '"';
    while (i < n) {
        run = i;
        while (run + 8 <= n) { /* plain text a word at a time */
            uint64_t w;

            memcpy(&w, s + run, 8);
            if (!utf8_json_plain8(w))
                break;
            run += 8;
        }
        while (run < n && utf8_json_plain[s[run]])
            run++;
        put(b, (const char *)s + i, run - i);
        i = run;
        if (i == n)
            break;
        if (s[i] >= 0x80) {
            size_t len = utf8_seq_len(s + i, n - i);
            if (len == 0)
                return -1;
            put(b, (const char *)s + i, len);
            i += len;
            continue;
        }
        if (reserve(b, 6 + (n - i) + 1) != 0)
            return -1;
        b->data[b->len++] = '\\';
        switch (s[i]) {
        case '"':
            b->data[b->len++] = '"';
            break;
        case '\\':
            b->data[b->len++] = '\\';
            break;
        case '\b':
            b->data[b->len++] = 'b';
            break;
        case '\f':
            b->data[b->len++] = 'f';
            break;
        case '\n':
            b->data[b->len++] = 'n';
            break;
        case '\r':
            b->data[b->len++] = 'r';
            break;
        case '\t':
            b->data[b->len++] = 't';
            break;
        default:
            put(b, "u00", 3);
            b->data[b->len++] = hex[s[i] >> 4];
            b->data[b->len++] = hex[s[i] & 0xFu];
            break;
        }
        i++;
    }
    b->data[b->len++] = '"';
    return 0;
}

/* Appends integer `v` in decimal. Returns 0 or -1. */
static int put_integer(jsonw_buf_t *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    return put_raw(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* Appends real `v` exactly as jansson formats it (its precision and exponent rules). */
static int put_real(jsonw_buf_t *b, const json_t *v)
{
    char tmp[128];
    size_t n = json_dumpb(v, tmp, sizeof(tmp), JSON_COMPACT | JSON_ENCODE_ANY);

    if (n == 0 || n > sizeof(tmp))
        return -1;
    return put_raw(b, tmp, n);
}

static int put_value(jsonw_buf_t *b, const json_t *v, int depth, const jsonw_memo_t *m)
{
    size_t i, n, start = b->len, len;
    const char *text;
    int memo;
    void *it;

    if (v == NULL || depth > JSONW_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return put_raw(b, "null", 4);
    case JSON_TRUE:
        return put_raw(b, "true", 4);
    case JSON_FALSE:
        return put_raw(b, "false", 5);
    case JSON_INTEGER:
        return put_integer(b, json_integer_value(v));
    case JSON_REAL:
        return put_real(b, v);
    case JSON_STRING:
        return put_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY:
    case JSON_OBJECT:
        break;
    default:
        return -1;
    }
    /* a shared container below the top: its text may be known already */
    memo = m != NULL && depth > 0 && v->refcount > 1;
    if (memo && (text = m->find(m->ctx, v, &len)) != NULL)
        return put_raw(b, text, len);
    if (json_is_array(v)) {
        if (put_raw(b, "[", 1) != 0)
            return -1;
        n = json_array_size(v);
        for (i = 0; i < n; i++) {
            if ((i > 0 && put_raw(b, ",", 1) != 0) ||
                put_value(b, json_array_get(v, i), depth + 1, m) != 0)
                return -1;
        }
        if (put_raw(b, "]", 1) != 0)
            return -1;
    } else {
        if (put_raw(b, "{", 1) != 0)
            return -1;
        for (it = json_object_iter((json_t *)v), i = 0; it != NULL;
             it = json_object_iter_next((json_t *)v, it), i++) {
            if ((i > 0 && put_raw(b, ",", 1) != 0) ||
                put_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) != 0 ||
                put_raw(b, ":", 1) != 0 ||
                put_value(b, json_object_iter_value(it), depth + 1, m) != 0)
                return -1;
        }
        if (put_raw(b, "}", 1) != 0)
            return -1;
    }
    if (memo)
        m->keep(m->ctx, v, b->data + start, b->len - start);
    return 0;
}

/* Ends an append that started at `start` with result `rc`: NUL-terminates the text, or on
 * failure cuts it back to where it was. Returns rc. */
static int end_append(jsonw_buf_t *b, size_t start, int rc)
{
    if (rc != 0)
        b->len = start;
    if (b->data != NULL)
        b->data[b->len] = '\0';
    return rc;
}

int jsonw_append(jsonw_buf_t *b, const json_t *v)
{
    return jsonw_append_memo(b, v, NULL);
}

int jsonw_append_memo(jsonw_buf_t *b, const json_t *v, const jsonw_memo_t *m)
{
    size_t start = b->len;

    return end_append(b, start, put_value(b, v, 0, m) != 0 ? -1 : 0);
}

int jsonw_append_string(jsonw_buf_t *b, const char *s, size_t n)
{
    size_t start = b->len;

    return end_append(b, start, put_string(b, s, n));
}

int jsonw_append_raw(jsonw_buf_t *b, const char *s, size_t n)
{
    if (put_raw(b, s, n) != 0)
        return -1;
    b->data[b->len] = '\0';
    return 0;
}

void jsonw_buf_free(jsonw_buf_t *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *jsonw_dumps(const json_t *v, size_t *len)
{
    jsonw_buf_t b = {0};

    if (jsonw_append(&b, v) != 0) {
        jsonw_buf_free(&b);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.data;
}
