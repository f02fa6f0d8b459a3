/*
 * runtime/http/router.c — the route table built from generated/routes.def, compiled once into a
 * segment trie, and the allocation-free matcher over it (contract in router.h).
 *
 * Each trie node is one path segment: literal children are tried before the parameter child, so
 * a literal wins at every depth, and the first node that consumes the whole path and carries any
 * route decides the answer: its route for the method (0) or its methods as the 405 Allow set. Parameter names are not stored in the trie (two templates may name the same
 * position differently); they are read back from the matched route's template.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http/router.h"
#include "http/valid.h"
#include "handlers.h"
#include "validators.h"

static const router_route_t router_table[] = {
#define ROUTE(m, p, op, h, f) {HTTP_##m, p, #op, h, f, &valid_op_##op},
#include "routes.def"
#undef ROUTE
};

#define ROUTER_N_ROUTES (sizeof(router_table) / sizeof(router_table[0]))

typedef struct router_node {
    const char *seg; /* literal segment (borrowed from a template); NULL for a parameter node */
    size_t seg_len;
    struct router_node **lit;
    size_t n_lit;
    struct router_node *param;
    const router_route_t *by_method[HTTP_METHOD_COUNT];
    unsigned allow;
} router_node_t;

static router_node_t router_root;
static pthread_once_t router_once = PTHREAD_ONCE_INIT;

static const char *const router_method_names[HTTP_METHOD_COUNT] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

/* Trims one trailing slash (but keeps a lone "/"). */
static size_t trim_slash(const char *path, size_t len)
{
    if (len > 1 && path[len - 1] == '/')
        --len;
    return len;
}

/* Returns the child of `n` for template segment [s, s+l), creating it. Aborts on OOM: this
 * runs once at start-up and the server cannot work without its table. */
static router_node_t *child_for(router_node_t *n, const char *s, size_t l)
{
    router_node_t *c;
    size_t i;

    if (l >= 2 && s[0] == '{' && s[l - 1] == '}') {
        if (n->param == NULL && (n->param = calloc(1, sizeof(*n->param))) == NULL)
            abort();
        return n->param;
    }
    for (i = 0; i != n->n_lit; ++i)
        if (n->lit[i]->seg_len == l && memcmp(n->lit[i]->seg, s, l) == 0)
            return n->lit[i];
    if ((c = calloc(1, sizeof(*c))) == NULL)
        abort();
    c->seg = s;
    c->seg_len = l;
    if ((n->lit = realloc(n->lit, (n->n_lit + 1) * sizeof(*n->lit))) == NULL)
        abort();
    n->lit[n->n_lit++] = c;
    return c;
}

/* Inserts every row of the table into the trie; the first row for a (path, method) wins. */
static void router_compile(void)
{
    size_t i;

    for (i = 0; i != ROUTER_N_ROUTES; ++i) {
        const router_route_t *r = &router_table[i];
        size_t len = trim_slash(r->path, strlen(r->path));
        const char *p = r->path, *end = r->path + len;
        router_node_t *n = &router_root;

        while (p < end) {
            const char *s = p + 1, *e = memchr(s, '/', (size_t)(end - s));
            if (e == NULL)
                e = end;
            n = child_for(n, s, (size_t)(e - s));
            p = e;
        }
        if (n->by_method[r->method] == NULL)
            n->by_method[r->method] = r;
        n->allow |= 1u << r->method;
    }
}

/*
 * Depth-first walk from `n` over the rest of the path [p, end), where p is at a '/' or at end,
 * literals before the parameter. Returns the first node consuming the whole path that carries
 * any route (out->params then hold its values), or NULL.
 */
static const router_node_t *walk(const router_node_t *n, const char *p, const char *end, router_match_t *out)
{
    const router_node_t *found = NULL;
    const char *s, *e;
    size_t l, i;

    if (p == end) {
        found = n->allow != 0 ? n : NULL;
        goto Exit;
    }
    s = p + 1;
    if ((e = memchr(s, '/', (size_t)(end - s))) == NULL)
        e = end;
    l = (size_t)(e - s);
    for (i = 0; i != n->n_lit; ++i) {
        if (n->lit[i]->seg_len == l && memcmp(n->lit[i]->seg, s, l) == 0) {
            if ((found = walk(n->lit[i], e, end, out)) != NULL)
                goto Exit;
            break;
        }
    }
    if (n->param != NULL && l != 0 && out->n_params < ROUTER_MAX_PARAMS) {
        router_param_t *prm = &out->params[out->n_params++];
        prm->value = s;
        prm->value_len = l;
        if ((found = walk(n->param, e, end, out)) != NULL)
            goto Exit;
        --out->n_params;
    }
Exit:
    return found;
}

/* Fills the parameter names of out->params from the template of out->route, in order. */
static void name_params(router_match_t *out)
{
    const char *t = out->route->path;
    size_t k = 0;

    while (k < out->n_params && (t = strchr(t, '{')) != NULL) {
        const char *close = strchr(t, '}');
        out->params[k].name = t + 1;
        out->params[k].name_len = (size_t)(close - t - 1);
        ++k;
        t = close;
    }
}

int router_match(http_method_t m, const char *path, size_t len, router_match_t *out)
{
    const router_node_t *n;
    int rc = 404;

    pthread_once(&router_once, router_compile);
    out->route = NULL;
    out->n_params = 0;
    out->allow = 0;
    if (len == 0 || path[0] != '/')
        goto Exit;
    len = trim_slash(path, len);
    if ((n = walk(&router_root, len == 1 ? path + 1 : path, path + len, out)) == NULL)
        goto Exit;
    if ((unsigned)m < HTTP_METHOD_COUNT && n->by_method[m] != NULL) {
        out->route = n->by_method[m];
        name_params(out);
        rc = 0;
    } else {
        out->allow = n->allow;
        out->n_params = 0;
        rc = 405;
    }
Exit:
    return rc;
}

size_t router_format_allow(unsigned allow, char *buf, size_t cap)
{
    size_t len = 0;
    int m;

    if (cap == 0)
        return 0;
    buf[0] = '\0';
    for (m = 0; m != HTTP_METHOD_COUNT; ++m) {
        if ((allow & (1u << m)) == 0)
            continue;
        int w = snprintf(buf + len, cap - len, "%s%s", len != 0 ? ", " : "", router_method_names[m]);
        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = '\0';
            break;
        }
        len += (size_t)w;
    }
    return len;
}

const router_route_t *router_routes(size_t *n)
{
    *n = ROUTER_N_ROUTES;
    return router_table;
}

const char *http_method_name(http_method_t m)
{
    return (unsigned)m < HTTP_METHOD_COUNT ? router_method_names[m] : "UNKNOWN";
}

http_method_t http_method_from(const char *s, size_t len)
{
    int m;

    for (m = 0; m != HTTP_METHOD_COUNT; ++m)
        if (strlen(router_method_names[m]) == len && memcmp(router_method_names[m], s, len) == 0)
            break;
    return (http_method_t)m;
}
