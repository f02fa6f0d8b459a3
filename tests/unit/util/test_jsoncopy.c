/*
 * tests/unit/util/test_jsoncopy.c — util/jsoncopy: a copy equals the original (same keys in
 * the same order), its containers are new and can be changed without touching the original,
 * its scalars are shared; NULL and nesting past the limit fail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/jsoncopy.h"

static void test_copy_equal_and_independent(void **state)
{
    json_t *v = json_loads("{\"z\":{\"b\":[1,\"two\",{\"c\":3.5}],\"d\":null},\"e\":\"f\",\"a\":true,\"n\":-7}", 0, NULL), *c;
    char *a, *b;

    (void)state;
    assert_non_null(v);
    c = jsoncopy_containers(v);
    assert_non_null(c);
    assert_true(json_equal(v, c));
    /* same key order (insertion order is what the JSON text shows) */
    a = json_dumps(v, JSON_COMPACT);
    b = json_dumps(c, JSON_COMPACT);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* containers are new, scalars shared */
    assert_ptr_not_equal(c, v);
    assert_ptr_not_equal(json_object_get(c, "z"), json_object_get(v, "z"));
    assert_ptr_not_equal(json_object_get(json_object_get(c, "z"), "b"), json_object_get(json_object_get(v, "z"), "b"));
    assert_ptr_equal(json_object_get(c, "e"), json_object_get(v, "e"));
    assert_ptr_equal(json_object_get(c, "n"), json_object_get(v, "n"));
    /* changing the copy leaves the original alone */
    json_object_set_new(json_object_get(c, "z"), "new", json_integer(1));
    json_array_clear(json_object_get(json_object_get(c, "z"), "b"));
    json_object_del(c, "e");
    assert_null(json_object_get(json_object_get(v, "z"), "new"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(v, "z"), "b")), 3);
    json_decref(c);
    assert_string_equal(json_string_value(json_object_get(v, "e")), "f");
    json_decref(v);
}

static void test_copy_failures(void **state)
{
    json_t *root = json_array(), *cur = root, *next;
    int i;

    (void)state;
    assert_null(jsoncopy_containers(NULL));
    for (i = 0; i < JSONCOPY_MAX_DEPTH + 2; i++) {
        next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    assert_null(jsoncopy_containers(root));
    json_decref(root);
    /* scalars and empty containers */
    root = json_pack("[s,i,f,b,n,{},[]]", "x", 1, 2.5, 1);
    cur = jsoncopy_containers(root);
    assert_true(json_equal(root, cur));
    json_decref(cur);
    json_decref(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_equal_and_independent),
        cmocka_unit_test(test_copy_failures),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
