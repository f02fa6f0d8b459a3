/*
 * tests/fuzz/fuzz_params.c — libFuzzer driver for parameter gathering and coercion
 * (http_params_collect, runtime/http/params.c) followed by each operation's generated parameter
 * validator (valid_op_t.check_params), linked against the whole project. Built and run by
 * scripts/fuzz-smoke.sh.
 *
 * Input: byte 0 picks a route of the table (router_routes); the rest is
 * "<path values>?<query>#<header value>": the path values, split on '/', fill the template's
 * `{name}` parameters in order (missing or empty ones become "x", as the router never passes
 * those), the query is everything up to the first '#' after the '?' (the whole rest when there
 * is no '?'), and the header value, when present, is sent for every header parameter of the
 * operation. Every piece lives in a buffer of exactly its size. Properties checked, aborting on
 * a violation:
 *   1. on failure *out is NULL and the error is a 422 with a non-empty, NUL-terminated detail;
 *   2. on success the result is an object whose members are declared parameters (of the JSON
 *      type they declare) or path parameters of the template;
 *   3. check_params then answers 0, or -1 with a non-empty, NUL-terminated detail and status
 *      422 or 500; after a 0, checking again answers 0 and changes nothing (the defaults it
 *      filled in validate).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_HEADERS 8

/* Returns a malloc'd copy of [s, s+len) in a buffer of exactly len bytes (1 when empty). */
static char *exact_dup(const char *s, size_t len)
{
    char *d = malloc(len != 0 ? len : 1);
    CHECK(d != NULL);
    if (len != 0)
        memcpy(d, s, len);
    return d;
}

static void check_error(const valid_error_t *err, int allow_internal)
{
    size_t n = strnlen(err->detail, sizeof(err->detail));
    CHECK(n > 0 && n < sizeof(err->detail));
    CHECK(err->status == 422 || (allow_internal && err->status == 500));
}

/* Whether member `v` has the JSON type parameter `p` declares. */
static int has_declared_type(const valid_param_t *p, const json_t *v)
{
    switch (p->type) {
    case VALID_T_STRING: return json_is_string(v);
    case VALID_T_INTEGER: return json_is_integer(v);
    case VALID_T_NUMBER: return json_is_real(v);
    case VALID_T_BOOLEAN: return json_is_boolean(v);
    case VALID_T_ARRAY: return json_is_array(v);
    case VALID_T_OBJECT: return json_is_object(v);
    default: return 1;
    }
}

/* Checks property 2 for member `key` = `v` of the gathered object. */
static void check_member(const valid_op_t *op, const router_match_t *m, const char *key, const json_t *v)
{
    size_t i, klen = strlen(key);

    for (i = 0; i != op->n_params; ++i) {
        if (strcmp(op->params[i].name, key) == 0) {
            CHECK(has_declared_type(&op->params[i], v));
            return;
        }
    }
    for (i = 0; i != m->n_params; ++i) {
        if (m->params[i].name_len == klen && memcmp(m->params[i].name, key, klen) == 0) {
            CHECK(json_is_string(v));
            return;
        }
    }
    CHECK(!"member is neither a declared nor a path parameter");
}

/* Runs check_params on `params` (borrowed), twice when the first passes (property 3). */
static void check_validator(const valid_op_t *op, json_t *params)
{
    valid_error_t err = {0};
    char *before, *after;

    if (op->check_params(params, "", &err) != 0) {
        check_error(&err, 1);
        return;
    }
    before = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    CHECK(before != NULL);
    memset(&err, 0, sizeof(err));
    CHECK(op->check_params(params, "", &err) == 0);
    after = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    CHECK(after != NULL && strcmp(before, after) == 0);
    free(before);
    free(after);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const router_route_t *routes, *route;
    const valid_op_t *op;
    const char *in, *end, *qmark, *hash, *q, *qend, *t;
    char *pieces[ROUTER_MAX_PARAMS] = {0}, *query = NULL, *header = NULL;
    char hname[MAX_HEADERS][64];
    h2o_iovec_t hname_iov[MAX_HEADERS];
    h2o_header_t hentries[MAX_HEADERS];
    h2o_headers_t headers = {hentries, 0, MAX_HEADERS};
    router_match_t m = {0};
    valid_error_t err = {0};
    json_t *out = NULL, *v;
    const char *key;
    size_t n_routes, i, k, header_len = 0;
    int rc;

    if (size == 0)
        return 0;
    routes = router_routes(&n_routes);
    route = &routes[data[0] % n_routes];
    op = route->valid;
    in = (const char *)data + 1;
    end = (const char *)data + size;

    /* path values, in template order */
    qmark = memchr(in, '?', (size_t)(end - in));
    m.route = route;
    for (t = route->path, k = 0; k < ROUTER_MAX_PARAMS && (t = strchr(t, '{')) != NULL; ++k) {
        const char *close = strchr(t, '}'), *seg = NULL, *segend = NULL;
        m.params[k].name = t + 1;
        m.params[k].name_len = (size_t)(close - t - 1);
        if (qmark != NULL && in < qmark) {
            seg = in;
            segend = memchr(in, '/', (size_t)(qmark - in));
            if (segend == NULL)
                segend = qmark;
            in = segend < qmark ? segend + 1 : qmark;
        }
        if (seg == NULL || seg == segend) {
            seg = "x";
            segend = seg + 1;
        }
        pieces[k] = exact_dup(seg, (size_t)(segend - seg));
        m.params[k].value = pieces[k];
        m.params[k].value_len = (size_t)(segend - seg);
        t = close;
    }
    m.n_params = k;

    /* query and header value */
    q = qmark != NULL ? qmark + 1 : in;
    hash = qmark != NULL ? memchr(q, '#', (size_t)(end - q)) : NULL;
    qend = hash != NULL ? hash : end;
    query = exact_dup(q, (size_t)(qend - q));
    if (hash != NULL) {
        header_len = (size_t)(end - hash - 1);
        header = exact_dup(hash + 1, header_len);
        for (i = 0; i != op->n_params && headers.size != MAX_HEADERS; ++i) {
            size_t j, nlen = strlen(op->params[i].name);
            if (op->params[i].in != VALID_IN_HEADER || nlen >= sizeof(hname[0]))
                continue;
            for (j = 0; j != nlen; ++j)
                hname[headers.size][j] = (char)tolower((unsigned char)op->params[i].name[j]);
            hname_iov[headers.size] = h2o_iovec_init(hname[headers.size], nlen);
            hentries[headers.size] = (h2o_header_t){&hname_iov[headers.size], NULL, h2o_iovec_init(header, header_len)};
            ++headers.size;
        }
    }

    rc = http_params_collect(op, &m, query, (size_t)(qend - q), hash != NULL ? &headers : NULL, &out, &err);
    if (rc != 0) {
        CHECK(rc == -1 && out == NULL);
        check_error(&err, 0);
        goto Exit;
    }
    CHECK(json_is_object(out));
    json_object_foreach(out, key, v)
        check_member(op, &m, key, v);
    check_validator(op, out);
Exit:
    json_decref(out);
    for (k = 0; k != ROUTER_MAX_PARAMS; ++k)
        free(pieces[k]);
    free(query);
    free(header);
    return 0;
}
