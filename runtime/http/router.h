/*
 * runtime/http/router.h — the route table (rows from generated/routes.def) and the path matcher.
 *
 * Templates are paths with `{name}` segments ("/threads/{thread_id}/runs/{run_id}"). At every
 * segment a literal wins over a parameter ("/threads/search" beats "/threads/{thread_id}"), also
 * when the literal template lacks the method: GET /threads/search is 405 (Allow: POST), not a
 * thread named "search". A parameter matches one non-empty segment. One trailing slash is ignored on both sides, so the
 * spec's "/mcp/" and a request for "/mcp" are the same route. Matching allocates nothing; the
 * table is compiled once, on first use (thread-safe).
 */
#ifndef LG_HTTP_ROUTER_H
#define LG_HTTP_ROUTER_H

#include <stddef.h>
#include "http/http.h"

#define ROUTER_MAX_PARAMS 8

/* One path parameter: both slices point into the template and the matched path (borrowed). */
typedef struct router_param {
    const char *name; /* template name, without braces; not NUL-terminated */
    size_t name_len;
    const char *value; /* raw (still percent-encoded) segment of the request path */
    size_t value_len;
} router_param_t;

typedef struct router_match {
    const router_route_t *route;            /* set when router_match returns 0 */
    router_param_t params[ROUTER_MAX_PARAMS];
    size_t n_params;
    unsigned allow; /* set on 405: bit (1u << method) for each method the path accepts */
} router_match_t;

/*
 * Matches `path` (`len` bytes, no query string) for method `m`. Returns 0 and fills out->route
 * and out->params; 404 when no template matches the path; 405 when the path exists but not for
 * `m`, with out->allow set. Passing HTTP_METHOD_COUNT as `m` never matches a route, so it
 * answers 404, or 405 with the allow mask (used for OPTIONS and unknown methods).
 */
int router_match(http_method_t m, const char *path, size_t len, router_match_t *out);

/* Writes the methods of `allow` as "GET, POST" into buf (NUL-terminated, truncated to cap);
 * returns the length written. */
size_t router_format_allow(unsigned allow, char *buf, size_t cap);

/* The whole table in routes.def order; *n receives the row count. Borrowed, static. */
const router_route_t *router_routes(size_t *n);

#endif
