/*
 * runtime/util/jsonr.c — the fast JSON reader of jsonr.h: a recursive-descent parser over the
 * bytes for the subset it is sure about, falling back to json_loadb for everything else.
 *
 * "Sure" means: whatever this parser accepts, jansson 2.x accepts with the same value (same
 * grammar, same UTF-8 validation, keys set in order with json_object_setn_new_nocheck, which is
 * what jansson's parser does too); whenever it is unsure it gives up, and the caller's text is
 * parsed again by jansson, which decides.
 */
#include "util/jsonr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/utf8.h"
#include "util/hex.h"

/* Far below jansson's own limit (2048): deeper texts are left to jansson. */
#define JSONR_MAX_DEPTH 512
/* Integers with more digits may overflow json_int_t: left to jansson. */
#define JSONR_MAX_DIGITS 18

typedef struct reader {
    const unsigned char *p, *end;
} reader_t;

static void skip_ws(reader_t *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/*
 * Reads the string whose opening quote r->p points at. Its decoded bytes go to *out and *out_len:
 * either pointing into the text (no escapes) or into *tmp (malloc'd, caller frees). Returns 0,
 * or -1 when unsure (r->p is then meaningless).
 */
static int read_string(reader_t *r, const char **out, size_t *out_len, char **tmp)
{
    const unsigned char *start = ++r->p, *q;
    char *d;
    size_t n;
    int escaped = 0;

    /* pass 1: find the end, validate, note escapes (runs of plain bytes in a tight loop) */
    for (q = start; q < r->end; q++) {
        while (q < r->end && utf8_json_plain[*q])
            q++;
        if (q == r->end || *q == '"')
            break;
        if (*q == '\\') {
            escaped = 1;
            if (++q == r->end)
                return -1;
        } else if (*q < 0x20) {
            return -1;
        } else if (*q >= 0x80) {
            if ((n = utf8_seq_len(q, (size_t)(r->end - q))) == 0)
                return -1;
            q += n - 1;
        }
    }
    if (q == r->end)
        return -1;
    r->p = q + 1;
    if (!escaped) {
        *out = (const char *)start;
        *out_len = (size_t)(q - start);
        return 0;
    }
    /* pass 2: decode (never longer than the text) */
    if ((d = *tmp = malloc((size_t)(q - start) + 1)) == NULL)
        return -1;
    for (const unsigned char *s = start; s < q;) {
        if (*s != '\\') {
            *d++ = (char)*s++;
            continue;
        }
        s++;
        switch (*s++) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            int32_t cp = 0, h;
            int i;
            if (q - s < 4)
                return -1;
            for (i = 0; i < 4; i++) {
                if ((h = hex_digit_value(s[i])) < 0)
                    return -1;
                cp = cp << 4 | h;
            }
            s += 4;
            if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) /* NUL or surrogates: jansson decides */
                return -1;
            if (cp < 0x80) {
                *d++ = (char)cp;
            } else if (cp < 0x800) {
                *d++ = (char)(0xC0 | (cp >> 6));
                *d++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *d++ = (char)(0xE0 | (cp >> 12));
                *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *d++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default:
            return -1;
        }
    }
    *out = *tmp;
    *out_len = (size_t)(d - *tmp);
    return 0;
}

/* Scans an integer (no fraction, no exponent, at most JSONR_MAX_DIGITS digits) into *out and
 * moves past it. Returns 0, or -1 when unsure (a real, too many digits, not a number). */
static int scan_integer(reader_t *r, json_int_t *out)
{
    const unsigned char *s = r->p;
    json_int_t v = 0;
    int neg = 0, digits = 0;

    if (s < r->end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s == r->end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < r->end && s[1] >= '0' && s[1] <= '9'))
        return -1;
    while (s < r->end && *s >= '0' && *s <= '9') {
        if (++digits > JSONR_MAX_DIGITS)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    if (s < r->end && (*s == '.' || *s == 'e' || *s == 'E'))
        return -1; /* a real */
    r->p = s;
    *out = neg ? -v : v;
    return 0;
}

/* Reads an integer (see scan_integer). A new reference, or NULL when unsure. */
static json_t *read_integer(reader_t *r)
{
    json_int_t v;

    return scan_integer(r, &v) == 0 ? json_integer(v) : NULL;
}

/* 1 when the `n`-byte word `w` is at r->p, followed by a byte that cannot continue it. */
static int read_word(reader_t *r, const char *w, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
        return 0;
    if (r->p + n < r->end) {
        unsigned char c = r->p[n];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    r->p += n;
    return 1;
}

static json_t *read_value(reader_t *r, int depth);

static json_t *read_object(reader_t *r, int depth)
{
    json_t *o = json_object(), *v;
    const char *key;
    size_t key_len;
    char *tmp = NULL;

    if (o == NULL)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        if (r->p == r->end || *r->p != '"' || read_string(r, &key, &key_len, &tmp) != 0)
            goto Fail;
        skip_ws(r);
        if (r->p == r->end || *r->p != ':')
            goto Fail;
        r->p++;
        if ((v = read_value(r, depth + 1)) == NULL || json_object_setn_new_nocheck(o, key, key_len, v) != 0)
            goto Fail;
        free(tmp);
        tmp = NULL;
        skip_ws(r);
        if (r->p == r->end)
            goto Fail;
        if (*r->p == '}') {
            r->p++;
            return o;
        }
        if (*r->p != ',')
            goto Fail;
        r->p++;
        skip_ws(r);
    }
Fail:
    free(tmp);
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader_t *r, int depth)
{
    json_t *a = json_array(), *v;

    if (a == NULL)
        return NULL;
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        if ((v = read_value(r, depth + 1)) == NULL || json_array_append_new(a, v) != 0)
            goto Fail;
        skip_ws(r);
        if (r->p == r->end)
            goto Fail;
        if (*r->p == ']') {
            r->p++;
            return a;
        }
        if (*r->p != ',')
            goto Fail;
        r->p++;
    }
Fail:
    json_decref(a);
    return NULL;
}

/* Reads one value after optional whitespace. Returns a new reference, or NULL when unsure. */
static json_t *read_value(reader_t *r, int depth)
{
    const char *s;
    size_t n;
    char *tmp = NULL;
    json_t *v;

    skip_ws(r);
    if (r->p == r->end || depth > JSONR_MAX_DEPTH)
        return NULL;
    switch (*r->p) {
    case '{':
        return read_object(r, depth);
    case '[':
        return read_array(r, depth);
    case '"':
        v = read_string(r, &s, &n, &tmp) == 0 ? json_stringn_nocheck(s, n) : NULL;
        free(tmp);
        return v;
    case 't':
        return read_word(r, "true", 4) ? json_true() : NULL;
    case 'f':
        return read_word(r, "false", 5) ? json_false() : NULL;
    case 'n':
        return read_word(r, "null", 4) ? json_null() : NULL;
    default:
        return read_integer(r);
    }
}

/* Checks one value after optional whitespace as read_value would read it, building nothing.
 * Returns 0, or -1 when unsure. */
static int skip_value(reader_t *r, int depth)
{
    const char *s;
    size_t n;
    char *tmp = NULL;
    json_int_t v;
    int rc;

    skip_ws(r);
    if (r->p == r->end || depth > JSONR_MAX_DEPTH)
        return -1;
    switch (*r->p) {
    case '{':
    case '[': {
        const unsigned char close = *r->p == '{' ? '}' : ']';

        r->p++;
        skip_ws(r);
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                if (r->p == r->end || *r->p != '"' || read_string(r, &s, &n, &tmp) != 0) {
                    free(tmp);
                    return -1;
                }
                free(tmp);
                tmp = NULL;
                skip_ws(r);
                if (r->p == r->end || *r->p != ':')
                    return -1;
                r->p++;
            }
            if (skip_value(r, depth + 1) != 0)
                return -1;
            skip_ws(r);
            if (r->p == r->end)
                return -1;
            if (*r->p == close) {
                r->p++;
                return 0;
            }
            if (*r->p != ',')
                return -1;
            r->p++;
            skip_ws(r);
        }
    }
    case '"':
        rc = read_string(r, &s, &n, &tmp);
        free(tmp);
        return rc;
    case 't':
        return read_word(r, "true", 4) ? 0 : -1;
    case 'f':
        return read_word(r, "false", 5) ? 0 : -1;
    case 'n':
        return read_word(r, "null", 4) ? 0 : -1;
    default:
        return scan_integer(r, &v);
    }
}

int jsonr_read_string(const char **p, const char *end, const char **out, size_t *out_len, char **tmp)
{
    reader_t r = {(const unsigned char *)*p, (const unsigned char *)end};

    *tmp = NULL;
    if (r.p == r.end || *r.p != '"' || read_string(&r, out, out_len, tmp) != 0) {
        free(*tmp);
        *tmp = NULL;
        return -1;
    }
    *p = (const char *)r.p;
    return 0;
}

int jsonr_skip_value(const char **p, const char *end)
{
    reader_t r = {(const unsigned char *)*p, (const unsigned char *)end};

    if (skip_value(&r, 0) != 0)
        return -1;
    *p = (const char *)r.p;
    return 0;
}

json_t *jsonr_loadb(const char *buf, size_t len, json_error_t *err)
{
    reader_t r = {(const unsigned char *)buf, (const unsigned char *)buf + len};
    json_t *v = read_value(&r, 0);

    if (v != NULL) {
        skip_ws(&r);
        if (r.p == r.end)
            return v;
        json_decref(v);
    }
    return json_loadb(buf, len, JSON_DECODE_ANY, err);
}
