/*
 * tests/unit/http/test_query.c — parameter gathering of runtime/http/params.c: percent-decoding,
 * both SDK query encodings (Python repeated keys, true/false, 1/0; JS JSON-encoded values),
 * the separator each array parameter declares (',' / '.' / none), path and header parameters,
 * and the 422 errors of bad values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/request.h"

static int pass(json_t *inst, const char *path, valid_error_t *err)
{
    (void)inst;
    (void)path;
    (void)err;
    return 0;
}

static const valid_param_t test_params[] = {
    {"thread_id", VALID_IN_PATH, VALID_T_STRING, VALID_T_ANY, 1, 0},
    {"stream_mode", VALID_IN_QUERY, VALID_T_ARRAY, VALID_T_STRING, 0, ','},
    {"limit", VALID_IN_QUERY, VALID_T_INTEGER, VALID_T_ANY, 0, 0},
    {"wait", VALID_IN_QUERY, VALID_T_BOOLEAN, VALID_T_ANY, 0, 0},
    {"ratio", VALID_IN_QUERY, VALID_T_NUMBER, VALID_T_ANY, 0, 0},
    {"metadata", VALID_IN_QUERY, VALID_T_OBJECT, VALID_T_ANY, 0, 0},
    {"xray", VALID_IN_QUERY, VALID_T_ANY, VALID_T_ANY, 0, 0},
    {"ids", VALID_IN_QUERY, VALID_T_ARRAY, VALID_T_INTEGER, 0, ','},
    {"name", VALID_IN_QUERY, VALID_T_STRING, VALID_T_ANY, 0, 0},
    {"namespace", VALID_IN_QUERY, VALID_T_ARRAY, VALID_T_STRING, 0, '.'},
    {"tags", VALID_IN_QUERY, VALID_T_ARRAY, VALID_T_STRING, 0, 0},
    {"Last-Event-ID", VALID_IN_HEADER, VALID_T_STRING, VALID_T_ANY, 0, 0},
};

static const valid_op_t test_op = {"test_op", NULL, 0, test_params, sizeof(test_params) / sizeof(test_params[0]), pass, NULL};

/* Collects `query` with no path or header parameters; returns the object or NULL (err filled). */
static json_t *collect(const char *query, valid_error_t *err)
{
    router_match_t m = {0};
    json_t *out = NULL;

    memset(err, 0, sizeof(*err));
    if (http_params_collect(&test_op, &m, query, strlen(query), NULL, &out, err) != 0)
        return NULL;
    return out;
}

static void assert_json(json_t *v, const char *expected)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);

    assert_non_null(s);
    assert_string_equal(s, expected);
    free(s);
}

static void test_pct_decode(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(http_pct_decode(out, "a%20b+c", 7, 1), 5);
    assert_string_equal(out, "a b c");
    assert_int_equal(http_pct_decode(out, "a%20b+c", 7, 0), 5);
    assert_string_equal(out, "a b+c");
    assert_int_equal(http_pct_decode(out, "%e2%9C%93", 9, 0), 3);
    assert_string_equal(out, "\xe2\x9c\x93");
    assert_int_equal(http_pct_decode(out, "%2", 2, 0), -1);
    assert_int_equal(http_pct_decode(out, "%zz", 3, 0), -1);
    assert_int_equal(http_pct_decode(out, "a%00b", 5, 0), -1);
    assert_int_equal(http_pct_decode(out, "", 0, 0), 0);
    assert_string_equal(out, "");
}

static void test_python_repeated_keys(void **state)
{
    valid_error_t err;
    json_t *p = collect("stream_mode=values&stream_mode=updates&wait=true&limit=5", &err);

    (void)state;
    assert_non_null(p);
    assert_json(p, "{\"limit\":5,\"stream_mode\":[\"values\",\"updates\"],\"wait\":true}");
    json_decref(p);
}

static void test_js_json_values(void **state)
{
    valid_error_t err;
    json_t *p = collect("stream_mode=%5B%22values%22%2C%22updates%22%5D&wait=1&metadata=%7B%22a%22%3A1%7D&xray=true", &err);

    (void)state;
    assert_non_null(p);
    assert_json(p, "{\"metadata\":{\"a\":1},\"stream_mode\":[\"values\",\"updates\"],\"wait\":true,\"xray\":true}");
    json_decref(p);
    p = collect("xray=3&ids=[1,2]", &err);
    assert_non_null(p);
    assert_json(p, "{\"ids\":[1,2],\"xray\":3}");
    json_decref(p);
}

static void test_bools(void **state)
{
    static const char *const truthy[] = {"wait=true", "wait=True", "wait=1", "wait=yes", "wait=on"};
    static const char *const falsy[] = {"wait=false", "wait=False", "wait=0", "wait=no", "wait=off"};
    valid_error_t err;
    size_t i;

    (void)state;
    for (i = 0; i != 5; ++i) {
        json_t *t = collect(truthy[i], &err), *f = collect(falsy[i], &err);
        assert_non_null(t);
        assert_non_null(f);
        assert_true(json_is_true(json_object_get(t, "wait")));
        assert_true(json_is_false(json_object_get(f, "wait")));
        json_decref(t);
        json_decref(f);
    }
    assert_null(collect("wait=maybe", &err));
    assert_int_equal(err.status, 422);
    assert_string_equal(err.detail, "wait: expected boolean");
}

static void test_numbers(void **state)
{
    valid_error_t err;
    json_t *p = collect("limit=-3&ratio=0.5", &err);

    (void)state;
    assert_non_null(p);
    assert_int_equal(json_integer_value(json_object_get(p, "limit")), -3);
    assert_true(json_real_value(json_object_get(p, "ratio")) == 0.5);
    json_decref(p);
    assert_null(collect("limit=abc", &err));
    assert_string_equal(err.detail, "limit: expected integer");
    assert_null(collect("limit=1.5", &err));
    assert_null(collect("limit=", &err));
    assert_null(collect("ratio=x1", &err));
    assert_string_equal(err.detail, "ratio: expected number");
    assert_null(collect("metadata=[1]", &err));
    assert_string_equal(err.detail, "metadata: expected object");
}

static void test_comma_lists(void **state)
{
    valid_error_t err;
    json_t *p = collect("stream_mode=values,updates&ids=1,2&ids=3", &err);

    (void)state;
    assert_non_null(p);
    assert_json(p, "{\"ids\":[1,2,3],\"stream_mode\":[\"values\",\"updates\"]}");
    json_decref(p);
    assert_null(collect("ids=1,x", &err));
    assert_string_equal(err.detail, "ids[1]: expected integer");
    assert_null(collect("ids=[1,\"y\"]", &err));
    assert_string_equal(err.detail, "ids[1]: expected integer");
}

/* A parameter declaring '.' (the store namespace) splits there and only there: a label may
 * hold a comma; repeated keys and JSON arrays add labels whole. */
static void test_declared_separator(void **state)
{
    valid_error_t err;
    json_t *p = collect("namespace=a%2Cb.c", &err);

    (void)state;
    assert_non_null(p);
    assert_json(p, "{\"namespace\":[\"a,b\",\"c\"]}");
    json_decref(p);
    p = collect("namespace=x,y&namespace=z.w", &err);
    assert_non_null(p);
    assert_json(p, "{\"namespace\":[\"x,y\",\"z\",\"w\"]}");
    json_decref(p);
    p = collect("namespace=%5B%22a.b%22%2C%22c%2Cd%22%5D", &err);
    assert_non_null(p);
    assert_json(p, "{\"namespace\":[\"a.b\",\"c,d\"]}");
    json_decref(p);
    p = collect("namespace=", &err);
    assert_non_null(p);
    assert_json(p, "{\"namespace\":[\"\"]}");
    json_decref(p);
    assert_null(collect("namespace=[1]", &err));
    assert_string_equal(err.detail, "namespace[0]: expected string");
}

/* A parameter declaring no separator (OpenAPI's form/explode true) takes each occurrence whole. */
static void test_no_separator(void **state)
{
    valid_error_t err;
    json_t *p = collect("tags=a,b.c&tags=d", &err);

    (void)state;
    assert_non_null(p);
    assert_json(p, "{\"tags\":[\"a,b.c\",\"d\"]}");
    json_decref(p);
    p = collect("tags=%5B%22x%22%2C%22y%22%5D", &err);
    assert_non_null(p);
    assert_json(p, "{\"tags\":[\"x\",\"y\"]}");
    json_decref(p);
}

static void test_scalars_and_strings(void **state)
{
    valid_error_t err;
    json_t *p = collect("limit=1&limit=2&name=a%2Cb+c&unknown=1&&=x&name", &err);

    (void)state;
    assert_non_null(p);
    /* last occurrence wins for scalars; a bare key is an empty string; unknown keys are dropped */
    assert_json(p, "{\"limit\":2,\"name\":\"\"}");
    json_decref(p);
    p = collect("name=a%2Cb+c", &err);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "a,b c");
    json_decref(p);
    p = collect("xray=plain", &err);
    assert_string_equal(json_string_value(json_object_get(p, "xray")), "plain");
    json_decref(p);
    p = collect("xray=1&xray=2", &err);
    assert_json(p, "{\"xray\":[1,2]}");
    json_decref(p);
    assert_null(collect("name=%zz", &err));
    assert_string_equal(err.detail, "name: malformed percent-encoding");
}

static void test_path_and_header(void **state)
{
    static const char path[] = "/threads/a%20b";
    router_match_t m = {0};
    h2o_mem_pool_t pool;
    h2o_headers_t headers = {NULL};
    valid_error_t err = {0};
    json_t *out = NULL;

    (void)state;
    h2o_mem_init_pool(&pool);
    h2o_add_header_by_str(&pool, &headers, H2O_STRLIT("last-event-id"), 0, NULL, H2O_STRLIT("42"));
    m.n_params = 1;
    m.params[0].name = "thread_id";
    m.params[0].name_len = 9;
    m.params[0].value = path + 9;
    m.params[0].value_len = 5;
    assert_int_equal(http_params_collect(&test_op, &m, "", 0, &headers, &out, &err), 0);
    assert_json(out, "{\"Last-Event-ID\":\"42\",\"thread_id\":\"a b\"}");
    json_decref(out);
    h2o_mem_clear_pool(&pool);
}

static void test_coerce(void **state)
{
    valid_error_t err = {0};
    json_t *v;

    (void)state;
    v = http_coerce(VALID_T_ANY, "x", "{\"a\":[1]}", 9, &err);
    assert_true(json_is_object(v));
    json_decref(v);
    v = http_coerce(VALID_T_STRING, "x", "[1]", 3, &err);
    assert_string_equal(json_string_value(v), "[1]");
    json_decref(v);
    assert_null(http_coerce(VALID_T_INTEGER, "x", "99999999999999999999999", 23, &err));
    assert_string_equal(err.detail, "x: expected integer");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pct_decode),   cmocka_unit_test(test_python_repeated_keys),
        cmocka_unit_test(test_js_json_values), cmocka_unit_test(test_bools),
        cmocka_unit_test(test_numbers),      cmocka_unit_test(test_comma_lists),
        cmocka_unit_test(test_declared_separator), cmocka_unit_test(test_no_separator),
        cmocka_unit_test(test_scalars_and_strings), cmocka_unit_test(test_path_and_header),
        cmocka_unit_test(test_coerce),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
