/*
 * tests/unit/support/json_assert.h — JSON helpers shared by the cmocka test programs: J() parses
 * a JSON text that must be valid, assert_json_equal() compares a value with the JSON text it
 * must equal and prints both when it does not. Included after <cmocka.h>; everything is static
 * inline, so a program pays only for what it uses.
 */
#ifndef LG_TESTS_SUPPORT_JSON_ASSERT_H
#define LG_TESTS_SUPPORT_JSON_ASSERT_H

#include <stdlib.h>
#include <jansson.h>

/* Parses `text` (any JSON value); fails the test when it is not JSON. Returns a new reference. */
static inline json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

    assert_non_null(v);
    return v;
}

/* Fails the test, printing both, unless `a` (borrowed) equals the JSON text `expected`. */
static inline void assert_json_equal(const json_t *a, const char *expected)
{
    json_t *e = J(expected);

    if (!json_equal(a, e)) {
        char *got = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("got %s\nexpected %s\n", got, expected);
        free(got);
        fail();
    }
    json_decref(e);
}

#endif
