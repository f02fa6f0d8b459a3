/*
 * tests/fuzz/fuzz_router.c — libFuzzer driver for the path matcher (runtime/http/router.h),
 * linked against the whole project (every route row references its handler). Built and run by
 * scripts/fuzz-smoke.sh.
 *
 * Input: byte 0 picks the method (HTTP_METHOD_COUNT included: the OPTIONS/unknown-method case),
 * the rest is the path, in a buffer of exactly its size so any overread is reported. Properties
 * checked against a plain reference matcher over the table, aborting on a violation:
 *   1. router_match answers 0, 404 or 405, and 404 exactly when no template matches the path;
 *   2. otherwise the answer belongs to the matching templates of the highest rank (a literal
 *      segment beats a parameter at the first segment where they differ): on 0 the route is one
 *      of them with the asked method, on 405 `allow` is exactly their methods and lacks it;
 *   3. on 0 there is one parameter per `{name}` of the template, in order, each name a slice of
 *      the template between braces and each value a non-empty slice of the path without '/';
 *   4. router_format_allow of the mask into a buffer of any size stays NUL-terminated in it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAX_SEGS 64

/* One path split into segments after trimming one trailing slash; "/" has none. */
typedef struct segs {
    const char *s[MAX_SEGS];
    size_t len[MAX_SEGS];
    size_t n;
    int ok; /* 0 when the path does not start with '/' or has too many segments */
} segs_t;

static segs_t split(const char *p, size_t len)
{
    segs_t out = {.ok = 0};
    const char *end;

    if (len == 0 || p[0] != '/')
        return out;
    if (len > 1 && p[len - 1] == '/')
        --len;
    end = p + len;
    out.ok = 1;
    if (len == 1)
        return out;
    while (p < end) {
        const char *s = p + 1, *e = memchr(s, '/', (size_t)(end - s));
        if (e == NULL)
            e = end;
        if (out.n == MAX_SEGS) {
            out.ok = 0;
            return out;
        }
        out.s[out.n] = s;
        out.len[out.n++] = (size_t)(e - s);
        p = e;
    }
    return out;
}

static int is_param(const char *s, size_t l)
{
    return l >= 2 && s[0] == '{' && s[l - 1] == '}';
}

/* Whether template `t` matches the path segments `ps`; its rank goes to rank[] (1 = literal). */
static int tmpl_matches(const segs_t *t, const segs_t *ps, unsigned char *rank)
{
    size_t i;

    if (t->n != ps->n)
        return 0;
    for (i = 0; i != t->n; ++i) {
        if (is_param(t->s[i], t->len[i])) {
            if (ps->len[i] == 0)
                return 0;
            rank[i] = 0;
        } else {
            if (t->len[i] != ps->len[i] || memcmp(t->s[i], ps->s[i], t->len[i]) != 0)
                return 0;
            rank[i] = 1;
        }
    }
    return 1;
}

static size_t count_params(const char *tmpl)
{
    size_t n = 0;

    for (; *tmpl != '\0'; ++tmpl)
        n += *tmpl == '{';
    return n;
}

static void check_format_allow(unsigned allow)
{
    char buf[64];
    size_t cap, len;

    for (cap = 0; cap <= sizeof(buf); ++cap) {
        memset(buf, 'x', sizeof(buf));
        len = router_format_allow(allow, buf, cap);
        if (cap == 0) {
            CHECK(len == 0);
            continue;
        }
        CHECK(len < cap);
        CHECK(buf[len] == '\0' && strlen(buf) == len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const router_route_t *routes;
    size_t n_routes, i, k;
    unsigned char best[MAX_SEGS], rank[MAX_SEGS];
    int have_best = 0;
    unsigned best_allow = 0;
    router_match_t m;
    http_method_t method;
    segs_t ps;
    char *path;
    int rc;

    if (size == 0)
        return 0;
    method = (http_method_t)(data[0] % (HTTP_METHOD_COUNT + 1));
    path = malloc(size > 1 ? size - 1 : 1); /* exactly the path, so an overread is reported */
    CHECK(path != NULL);
    if (size > 1)
        memcpy(path, data + 1, size - 1);
    rc = router_match(method, path, size - 1, &m);
    CHECK(rc == 0 || rc == 404 || rc == 405);

    /* reference: the matching templates of the highest rank and their methods */
    routes = router_routes(&n_routes);
    ps = split(path, size - 1);
    for (i = 0; ps.ok && i != n_routes; ++i) {
        segs_t ts = split(routes[i].path, strlen(routes[i].path));
        CHECK(ts.ok);
        if (!tmpl_matches(&ts, &ps, rank))
            continue;
        int cmp = have_best ? memcmp(rank, best, ps.n) : 1;
        if (cmp > 0) {
            memcpy(best, rank, ps.n);
            best_allow = 0;
            have_best = 1;
        }
        if (cmp >= 0)
            best_allow |= 1u << routes[i].method;
    }

    if (!have_best) {
        CHECK(rc == 404);
        goto Exit;
    }
    CHECK(rc != 404);
    if (rc == 405) {
        CHECK(m.allow == best_allow);
        CHECK((unsigned)method >= HTTP_METHOD_COUNT || (m.allow & (1u << method)) == 0);
        check_format_allow(m.allow);
        goto Exit;
    }
    CHECK((unsigned)method < HTTP_METHOD_COUNT && (best_allow & (1u << method)) != 0);
    CHECK(m.route != NULL && m.route >= routes && m.route < routes + n_routes);
    CHECK(m.route->method == method);
    {
        segs_t ts = split(m.route->path, strlen(m.route->path));
        CHECK(tmpl_matches(&ts, &ps, rank) && memcmp(rank, best, ps.n) == 0);
    }
    CHECK(m.n_params == count_params(m.route->path) && m.n_params <= ROUTER_MAX_PARAMS);
    for (k = 0; k != m.n_params; ++k) {
        const router_param_t *p = &m.params[k];
        size_t tlen = strlen(m.route->path);
        CHECK(p->name > m.route->path && p->name + p->name_len < m.route->path + tlen);
        CHECK(p->name[-1] == '{' && p->name[p->name_len] == '}' && p->name_len > 0);
        CHECK(p->value >= path && p->value + p->value_len <= path + size - 1);
        CHECK(p->value_len > 0 && memchr(p->value, '/', p->value_len) == NULL);
        CHECK(p->value[-1] == '/');
    }
Exit:
    free(path);
    return 0;
}
