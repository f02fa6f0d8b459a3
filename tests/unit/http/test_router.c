/*
 * tests/unit/http/test_router.c — runtime/http/router.c against the generated route table:
 * literal versus parameter precedence, 404, 405 with the Allow mask, trailing slashes, raw
 * parameter slices, the Allow formatter and table invariants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/router.h"

#define BIT(m) (1u << (m))

static int match(http_method_t m, const char *path, router_match_t *out)
{
    return router_match(m, path, strlen(path), out);
}

static void assert_param(const router_match_t *mt, size_t i, const char *name, const char *value)
{
    assert_true(i < mt->n_params);
    assert_int_equal(mt->params[i].name_len, strlen(name));
    assert_memory_equal(mt->params[i].name, name, strlen(name));
    assert_int_equal(mt->params[i].value_len, strlen(value));
    assert_memory_equal(mt->params[i].value, value, strlen(value));
}

static void test_literal(void **state)
{
    router_match_t mt;

    (void)state;
    assert_int_equal(match(HTTP_GET, "/ok", &mt), 0);
    assert_string_equal(mt.route->op_id, "health_check_ok_get");
    assert_string_equal(mt.route->path, "/ok");
    assert_int_equal(mt.n_params, 0);
}

static void test_literal_beats_param(void **state)
{
    router_match_t mt;

    (void)state;
    assert_int_equal(match(HTTP_POST, "/threads/search", &mt), 0);
    assert_string_equal(mt.route->path, "/threads/search");
    assert_int_equal(mt.n_params, 0);
    assert_int_equal(match(HTTP_GET, "/threads/abc", &mt), 0);
    assert_string_equal(mt.route->path, "/threads/{thread_id}");
    assert_param(&mt, 0, "thread_id", "abc");
    /* the literal decides even without the method: 405, not a thread named "search" */
    assert_int_equal(match(HTTP_GET, "/threads/search", &mt), 405);
    assert_int_equal(mt.allow, BIT(HTTP_POST));
}

static void test_nested_params(void **state)
{
    router_match_t mt;

    (void)state;
    assert_int_equal(match(HTTP_GET, "/threads/t1/runs/r%2F2/stream", &mt), 0);
    assert_string_equal(mt.route->path, "/threads/{thread_id}/runs/{run_id}/stream");
    assert_int_equal(mt.n_params, 2);
    assert_param(&mt, 0, "thread_id", "t1");
    assert_param(&mt, 1, "run_id", "r%2F2"); /* raw: the pipeline percent-decodes */
    assert_int_equal(match(HTTP_POST, "/threads/t1/state/checkpoint", &mt), 0);
    assert_int_equal(mt.n_params, 1);
    assert_string_equal(mt.route->path, "/threads/{thread_id}/state/checkpoint");
    assert_int_equal(match(HTTP_GET, "/threads/t1/state/c1", &mt), 0);
    assert_string_equal(mt.route->path, "/threads/{thread_id}/state/{checkpoint_id}");
    assert_param(&mt, 1, "checkpoint_id", "c1");
}

static void test_not_found(void **state)
{
    router_match_t mt;

    (void)state;
    assert_int_equal(match(HTTP_GET, "/nope", &mt), 404);
    assert_null(mt.route);
    assert_int_equal(match(HTTP_GET, "", &mt), 404);
    assert_int_equal(match(HTTP_GET, "/", &mt), 404);
    assert_int_equal(match(HTTP_GET, "ok", &mt), 404);
    assert_int_equal(match(HTTP_GET, "/ok/extra", &mt), 404);
    assert_int_equal(match(HTTP_GET, "/threads//state", &mt), 404); /* empty segment is no parameter */
    assert_int_equal(match(HTTP_GET, "/OK", &mt), 404);
}

static void test_method_not_allowed(void **state)
{
    router_match_t mt;
    char buf[64];

    (void)state;
    assert_int_equal(match(HTTP_POST, "/ok", &mt), 405);
    assert_null(mt.route);
    assert_int_equal(mt.allow, BIT(HTTP_GET));
    assert_int_equal(match(HTTP_PUT, "/threads/abc", &mt), 405);
    assert_int_equal(mt.allow, BIT(HTTP_GET) | BIT(HTTP_PATCH) | BIT(HTTP_DELETE));
    assert_int_equal(match(HTTP_GET, "/threads/t1/state/checkpoint", &mt), 405);
    assert_int_equal(mt.allow, BIT(HTTP_POST));
    assert_int_equal(match(HTTP_METHOD_COUNT, "/store/items", &mt), 405);
    router_format_allow(mt.allow, buf, sizeof(buf));
    assert_string_equal(buf, "GET, PUT, DELETE");
}

static void test_trailing_slash(void **state)
{
    router_match_t mt;

    (void)state;
    assert_int_equal(match(HTTP_GET, "/mcp", &mt), 0);
    assert_string_equal(mt.route->path, "/mcp/");
    assert_int_equal(match(HTTP_POST, "/mcp/", &mt), 0);
    assert_string_equal(mt.route->path, "/mcp/");
    assert_int_equal(match(HTTP_GET, "/ok/", &mt), 0);
    assert_string_equal(mt.route->path, "/ok");
    assert_int_equal(match(HTTP_PUT, "/mcp", &mt), 405);
}

static void test_format_allow(void **state)
{
    char buf[64], tiny[6];

    (void)state;
    assert_int_equal(router_format_allow(BIT(HTTP_GET) | BIT(HTTP_POST), buf, sizeof(buf)), 9);
    assert_string_equal(buf, "GET, POST");
    assert_int_equal(router_format_allow(0, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    router_format_allow(BIT(HTTP_GET) | BIT(HTTP_DELETE), tiny, sizeof(tiny));
    assert_string_equal(tiny, "GET"); /* truncated at a method boundary */
}

static void test_table(void **state)
{
    router_match_t mt;
    size_t n, i;
    const router_route_t *t = router_routes(&n);

    (void)state;
    assert_true(n >= 64);
    for (i = 0; i != n; ++i) {
        char path[256];
        size_t j, k = 0;
        assert_non_null(t[i].handler);
        assert_non_null(t[i].valid);
        /* every template matches itself, with its parameters filled by a sample value */
        for (j = 0; t[i].path[j] != '\0' && k < sizeof(path) - 2; ++j) {
            if (t[i].path[j] == '{') {
                path[k++] = 'x';
                while (t[i].path[j] != '}')
                    ++j;
            } else {
                path[k++] = t[i].path[j];
            }
        }
        path[k] = '\0';
        assert_int_equal(match(t[i].method, path, &mt), 0);
        assert_ptr_equal(mt.route->handler, t[i].handler);
    }
}

static void test_method_names(void **state)
{
    (void)state;
    assert_int_equal(http_method_from("GET", 3), HTTP_GET);
    assert_int_equal(http_method_from("DELETE", 6), HTTP_DELETE);
    assert_int_equal(http_method_from("get", 3), HTTP_METHOD_COUNT);
    assert_int_equal(http_method_from("OPTIONS", 7), HTTP_METHOD_COUNT);
    assert_string_equal(http_method_name(HTTP_PATCH), "PATCH");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal),         cmocka_unit_test(test_literal_beats_param),
        cmocka_unit_test(test_nested_params),   cmocka_unit_test(test_not_found),
        cmocka_unit_test(test_method_not_allowed), cmocka_unit_test(test_trailing_slash),
        cmocka_unit_test(test_format_allow),    cmocka_unit_test(test_table),
        cmocka_unit_test(test_method_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
