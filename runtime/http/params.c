/*
 * runtime/http/params.c — path, query and header parameters: percent-decoding and coercion to
 * the declared types, accepting both SDK query encodings (Python repeats keys and sends
 * true/false or 1/0; JS JSON-encodes arrays, objects and booleans) and the joined form each
 * array parameter declares (its separator). Contracts in request.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "http/request.h"
#include "util/hex.h"

#define PARAMS_MAX_QUERY_PAIRS 64

ssize_t http_pct_decode(char *dst, const char *s, size_t len, int plus_is_space)
{
    size_t i, o = 0;
    ssize_t rc = -1;

    for (i = 0; i != len; ++i) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len || (hi = hex_digit_value((unsigned char)s[i + 1])) < 0 || (lo = hex_digit_value((unsigned char)s[i + 2])) < 0)
                goto Exit;
            c = (char)(hi << 4 | lo);
            if (c == '\0')
                goto Exit;
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        dst[o++] = c;
    }
    dst[o] = '\0';
    rc = (ssize_t)o;
Exit:
    return rc;
}

static const char *type_name(valid_type_t t)
{
    switch (t) {
    case VALID_T_STRING: return "string";
    case VALID_T_INTEGER: return "integer";
    case VALID_T_NUMBER: return "number";
    case VALID_T_BOOLEAN: return "boolean";
    case VALID_T_ARRAY: return "array";
    case VALID_T_OBJECT: return "object";
    default: return "value";
    }
}

/* Parses a boolean spelling; returns 0/1, or -1. */
static int parse_bool(const char *s)
{
    static const char *const yes[] = {"true", "1", "yes", "on", "t", "y"}, *const no[] = {"false", "0", "no", "off", "f", "n"};
    size_t i;

    for (i = 0; i != sizeof(yes) / sizeof(yes[0]); ++i) {
        if (strcasecmp(s, yes[i]) == 0)
            return 1;
        if (strcasecmp(s, no[i]) == 0)
            return 0;
    }
    return -1;
}

json_t *http_coerce(valid_type_t t, const char *name, const char *s, size_t len, valid_error_t *err)
{
    json_t *v = NULL;
    char *end;

    switch (t) {
    case VALID_T_STRING:
        v = json_stringn(s, len);
        break;
    case VALID_T_INTEGER: {
        long long n;
        if (len == 0 || len >= 24)
            break;
        errno = 0;
        n = strtoll(s, &end, 10);
        if (errno == 0 && end == s + len)
            v = json_integer((json_int_t)n);
        break;
    }
    case VALID_T_NUMBER: {
        double d;
        if (len == 0)
            break;
        errno = 0;
        d = strtod(s, &end);
        if (errno == 0 && end == s + len)
            v = json_real(d);
        break;
    }
    case VALID_T_BOOLEAN: {
        int b = len < 8 ? parse_bool(s) : -1;
        if (b >= 0)
            v = json_boolean(b);
        break;
    }
    case VALID_T_ARRAY:
    case VALID_T_OBJECT:
        v = json_loadb(s, len, JSON_DECODE_ANY, NULL);
        if (v != NULL && !(t == VALID_T_ARRAY ? json_is_array(v) : json_is_object(v))) {
            json_decref(v);
            v = NULL;
        }
        break;
    default:
        if ((v = json_loadb(s, len, JSON_DECODE_ANY, NULL)) == NULL)
            v = json_stringn(s, len);
        break;
    }
    if (v == NULL)
        valid_fail(err, name, "expected %s", type_name(t));
    return v;
}

/* Coerces one element of an array parameter: JSON elements of the right type are kept, strings
 * are coerced to the item type. Steals `el`, even on failure. Returns a new reference or NULL. */
static json_t *coerce_item(valid_type_t item, const char *name, size_t index, json_t *el, valid_error_t *err)
{
    char path[256];
    json_t *v = NULL;

    valid_path_index(path, sizeof(path), name, index);
    if (item == VALID_T_ANY || (item == VALID_T_STRING && json_is_string(el)) ||
        (item == VALID_T_INTEGER && json_is_integer(el)) || (item == VALID_T_NUMBER && json_is_number(el)) ||
        (item == VALID_T_BOOLEAN && json_is_boolean(el)) || (item == VALID_T_OBJECT && json_is_object(el)) ||
        (item == VALID_T_ARRAY && json_is_array(el))) {
        v = json_incref(el);
    } else if (json_is_string(el)) {
        v = http_coerce(item, path, json_string_value(el), json_string_length(el), err);
    } else {
        valid_fail(err, path, "expected %s", type_name(item));
    }
    json_decref(el);
    return v;
}

/*
 * Appends the items of one occurrence `s` of array parameter `p` to `arr`: a JSON array is
 * spread, anything else is split at p->split (or taken whole when the parameter declares no
 * separator). Returns 0 or -1 with err filled.
 */
static int append_items(json_t *arr, const valid_param_t *p, const char *s, size_t len, valid_error_t *err)
{
    json_t *parsed = NULL, *el;
    size_t i;
    int rc = -1;

    if (len != 0 && s[0] == '[' && (parsed = json_loadb(s, len, 0, NULL)) != NULL && json_is_array(parsed)) {
        json_array_foreach(parsed, i, el) {
            json_t *v = coerce_item(p->item_type, p->name, json_array_size(arr), json_incref(el), err);
            if (v == NULL || json_array_append_new(arr, v) != 0)
                goto Exit;
        }
    } else {
        const char *seg = s, *end = s + len;
        for (;;) {
            const char *sep = p->split != '\0' ? memchr(seg, p->split, (size_t)(end - seg)) : NULL;
            const char *stop = sep != NULL ? sep : end;
            json_t *v = coerce_item(p->item_type, p->name, json_array_size(arr), json_stringn(seg, (size_t)(stop - seg)), err);
            if (v == NULL || json_array_append_new(arr, v) != 0)
                goto Exit;
            if (sep == NULL)
                break;
            seg = sep + 1;
        }
    }
    rc = 0;
Exit:
    json_decref(parsed);
    return rc;
}

/* Sets member p->name of `out` from the raw occurrences vals[0..n-1] (decoded, NUL-terminated). */
static int set_param(json_t *out, const valid_param_t *p, char *const *vals, const size_t *lens, size_t n, valid_error_t *err)
{
    json_t *v = NULL;
    size_t i;
    int rc = -1;

    if (p->type == VALID_T_ARRAY) {
        if ((v = json_array()) == NULL)
            goto Exit;
        for (i = 0; i != n; ++i)
            if (append_items(v, p, vals[i], lens[i], err) != 0)
                goto Exit;
    } else if (p->type == VALID_T_ANY && n > 1) {
        if ((v = json_array()) == NULL)
            goto Exit;
        for (i = 0; i != n; ++i) {
            json_t *el = http_coerce(VALID_T_ANY, p->name, vals[i], lens[i], err);
            if (el == NULL || json_array_append_new(v, el) != 0)
                goto Exit;
        }
    } else if ((v = http_coerce(p->type, p->name, vals[n - 1], lens[n - 1], err)) == NULL) {
        goto Exit;
    }
    if (json_object_set_new(out, p->name, v) == 0)
        rc = 0;
    v = NULL;
Exit:
    json_decref(v);
    return rc;
}

/* Decodes [s, s+len) into a malloc'd NUL-terminated string; NULL on a bad escape or OOM. */
static char *decode_dup(const char *s, size_t len, int plus_is_space, size_t *out_len)
{
    char *d = malloc(len + 1);
    ssize_t n;

    if (d == NULL)
        return NULL;
    if ((n = http_pct_decode(d, s, len, plus_is_space)) < 0) {
        free(d);
        return NULL;
    }
    *out_len = (size_t)n;
    return d;
}

/* Finds header `name` (case-insensitive) in `headers`; returns its index or -1. */
static ssize_t find_header(const h2o_headers_t *headers, const char *name)
{
    size_t i, nlen = strlen(name);

    for (i = 0; i != headers->size; ++i) {
        const h2o_iovec_t *hn = headers->entries[i].name;
        if (hn->len == nlen && strncasecmp(hn->base, name, nlen) == 0)
            return (ssize_t)i;
    }
    return -1;
}

int http_params_collect(const valid_op_t *op, const router_match_t *m, const char *query, size_t query_len,
                        const h2o_headers_t *headers, json_t **out, valid_error_t *err)
{
    struct {
        const char *k, *v;
        size_t klen, vlen;
    } pairs[PARAMS_MAX_QUERY_PAIRS];
    char *vals[PARAMS_MAX_QUERY_PAIRS];
    size_t lens[PARAMS_MAX_QUERY_PAIRS];
    size_t n_pairs = 0, n_vals = 0, i, j;
    const char *q = query, *qend = query + query_len;
    json_t *obj = NULL;
    int rc = -1;

    *out = NULL;
    if ((obj = json_object()) == NULL) {
        valid_fail(err, "", "out of memory");
        goto Exit;
    }
    /* split the query into raw pairs */
    while (q < qend) {
        const char *amp = memchr(q, '&', (size_t)(qend - q)), *stop = amp != NULL ? amp : qend, *eq;
        if (stop != q) {
            if (n_pairs == PARAMS_MAX_QUERY_PAIRS) {
                valid_fail(err, "", "too many query parameters (at most %d)", PARAMS_MAX_QUERY_PAIRS);
                goto Exit;
            }
            eq = memchr(q, '=', (size_t)(stop - q));
            pairs[n_pairs].k = q;
            pairs[n_pairs].klen = (size_t)((eq != NULL ? eq : stop) - q);
            pairs[n_pairs].v = eq != NULL ? eq + 1 : stop;
            pairs[n_pairs].vlen = (size_t)(stop - pairs[n_pairs].v);
            ++n_pairs;
        }
        q = stop + 1;
    }
    for (i = 0; i != op->n_params; ++i) {
        const valid_param_t *p = &op->params[i];
        size_t plen = strlen(p->name);
        n_vals = 0;
        switch (p->in) {
        case VALID_IN_PATH:
            for (j = 0; j != m->n_params; ++j) {
                if (m->params[j].name_len != plen || memcmp(m->params[j].name, p->name, plen) != 0)
                    continue;
                if ((vals[0] = decode_dup(m->params[j].value, m->params[j].value_len, 0, &lens[0])) == NULL) {
                    valid_fail(err, p->name, "malformed percent-encoding");
                    goto Exit;
                }
                n_vals = 1;
                break;
            }
            break;
        case VALID_IN_QUERY:
            for (j = 0; j != n_pairs; ++j) {
                char kbuf[128];
                if (pairs[j].klen >= sizeof(kbuf) || http_pct_decode(kbuf, pairs[j].k, pairs[j].klen, 1) != (ssize_t)plen ||
                    memcmp(kbuf, p->name, plen) != 0)
                    continue;
                if ((vals[n_vals] = decode_dup(pairs[j].v, pairs[j].vlen, 1, &lens[n_vals])) == NULL) {
                    valid_fail(err, p->name, "malformed percent-encoding");
                    goto Exit;
                }
                ++n_vals;
            }
            break;
        case VALID_IN_HEADER: {
            ssize_t h = headers != NULL ? find_header(headers, p->name) : -1;
            if (h >= 0) {
                const h2o_iovec_t *hv = &headers->entries[h].value;
                if ((vals[0] = malloc(hv->len + 1)) == NULL) {
                    valid_fail(err, "", "out of memory");
                    goto Exit;
                }
                memcpy(vals[0], hv->base, hv->len);
                vals[0][hv->len] = '\0';
                lens[0] = hv->len;
                n_vals = 1;
            }
            break;
        }
        }
        if (n_vals != 0 && set_param(obj, p, vals, lens, n_vals, err) != 0)
            goto Exit;
        for (j = 0; j != n_vals; ++j)
            free(vals[j]);
        n_vals = 0;
    }
    /* path parameters the operation does not declare still reach the handler, as strings */
    for (j = 0; j != m->n_params; ++j) {
        char name[64];
        if (m->params[j].name_len >= sizeof(name))
            continue;
        memcpy(name, m->params[j].name, m->params[j].name_len);
        name[m->params[j].name_len] = '\0';
        if (json_object_get(obj, name) != NULL)
            continue;
        if ((vals[0] = decode_dup(m->params[j].value, m->params[j].value_len, 0, &lens[0])) == NULL) {
            valid_fail(err, name, "malformed percent-encoding");
            goto Exit;
        }
        n_vals = 1;
        json_object_set_new(obj, name, json_stringn(vals[0], lens[0]));
        free(vals[0]);
        n_vals = 0;
    }
    *out = obj;
    obj = NULL;
    rc = 0;
Exit:
    for (j = 0; j != n_vals; ++j)
        free(vals[j]);
    json_decref(obj);
    return rc;
}
