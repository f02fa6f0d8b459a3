/*
 * tests/unit/util/test_jsonw.c — util/jsonw writes exactly what jansson's
 * json_dumps(JSON_COMPACT | JSON_ENCODE_ANY) writes: fixed cases (escapes, UTF-8, integer
 * limits, reals, empty and nested containers, key order), many random values, and the same
 * failures (invalid UTF-8, NULL, a cycle).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonw.h"

/* Asserts that jsonw and jansson write the same text for `v` (steals v). */
static void same(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    size_t len = 0;
    char *got = jsonw_dumps(v, &len);

    assert_non_null(want);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(want);
    free(got);
    json_decref(v);
}

static void test_scalars(void **state)
{
    (void)state;
    same(json_null());
    same(json_true());
    same(json_false());
    same(json_integer(0));
    same(json_integer(-1));
    same(json_integer(INT64_MAX));
    same(json_integer(INT64_MIN));
    same(json_real(0.1));
    same(json_real(-0.0));
    same(json_real(3.0));
    same(json_real(1e20));
    same(json_real(1.5e-300));
    same(json_real(0.7));
    same(json_string(""));
    same(json_string("plain words"));
}

static void test_strings(void **state)
{
    char all[32];
    int i;

    (void)state;
    for (i = 1; i < 32; i++)
        all[i - 1] = (char)i;
    all[31] = '\0';
    same(json_string(all));
    same(json_string("quote \" backslash \\ slash / tab\t nl\n cr\r bs\b ff\f del \x7f"));
    same(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf"));
    same(json_stringn("nul\0inside", 10));
    same(json_pack("{s:s}", "k\"ey\n\xc3\xa9", "v"));
}

/* Long strings with one special byte (escape, control, quote, backslash, UTF-8, DEL) at every
 * offset, so that the word-at-a-time scan meets it in every lane. */
static void test_long_strings(void **state)
{
    static const char *const specials[] = {"\"", "\\", "\n", "\x01", "\x1f", "\x7f", " ", "~",
                                           "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    char buf[64];
    size_t k, at, len = 40;

    (void)state;
    for (k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (at = 0; at + strlen(specials[k]) <= len; at++) {
            memset(buf, 'a' + (int)(at % 26), len);
            memcpy(buf + at, specials[k], strlen(specials[k]));
            buf[len] = '\0';
            same(json_string(buf));
        }
    }
}

static void test_containers(void **state)
{
    json_t *deep = json_array(), *cur = deep;
    int i;

    (void)state;
    same(json_array());
    same(json_object());
    same(json_pack("{s:[], s:{}, s:[{}, []], s:n}", "a", "b", "c", "d"));
    /* insertion order, also after a delete and a re-insert */
    json_t *o = json_pack("{s:i, s:i, s:i}", "zeta", 1, "alpha", 2, "mid", 3);
    json_object_del(o, "alpha");
    json_object_set_new(o, "alpha", json_integer(4));
    same(o);
    for (i = 0; i < 500; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    same(deep);
}

/* A random value of depth at most `depth` (new reference). */
static json_t *random_value(int depth)
{
    static const char *const words[] = {"a", "messages", "caf\xc3\xa9", "x\ny", "\"q\"", "",
                                        "\xe2\x98\x83", "tab\there", "\\", "id-42"};
    int kind = rand() % (depth > 0 ? 9 : 7);
    json_t *v;
    int i, n;

    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rand() % 2);
    case 2:
        return json_integer((json_int_t)rand() - RAND_MAX / 2);
    case 3:
        return json_real((double)rand() / 7.0);
    case 4:
    case 5:
    case 6:
        return json_string(words[rand() % 10]);
    case 7:
        v = json_array();
        n = rand() % 5;
        for (i = 0; i < n; i++)
            json_array_append_new(v, random_value(depth - 1));
        return v;
    default:
        v = json_object();
        n = rand() % 5;
        for (i = 0; i < n; i++)
            json_object_set_new(v, words[rand() % 10], random_value(depth - 1));
        return v;
    }
}

static void test_random(void **state)
{
    int i;

    (void)state;
    srand(4242);
    for (i = 0; i < 2000; i++)
        same(random_value(5));
}

/* A memo for test_memo: remembers the last container it was told about, answers `fake` for
 * `known`, counts the questions. */
typedef struct test_memo {
    const json_t *known, *kept;
    const char *fake;
    char kept_text[256];
    int finds;
} test_memo_t;

static const char *memo_find(void *ctx, const json_t *v, size_t *len)
{
    test_memo_t *m = ctx;

    m->finds++;
    if (v != m->known)
        return NULL;
    *len = strlen(m->fake);
    return m->fake;
}

static void memo_keep(void *ctx, const json_t *v, const char *text, size_t len)
{
    test_memo_t *m = ctx;

    m->kept = v;
    snprintf(m->kept_text, sizeof(m->kept_text), "%.*s", (int)len, text);
}

/* jsonw_append_memo asks about shared containers below the top only, writes a known text as
 * it is, tells the text of the others, and otherwise writes what jsonw_append writes. */
static void test_memo(void **state)
{
    test_memo_t tm = {0};
    jsonw_memo_t m = {memo_find, memo_keep, &tm};
    json_t *shared = json_pack("{s[ii]}", "a", 1, 2), *top, *alone;
    jsonw_buf_t b = {0};
    char *plain;

    (void)state;
    top = json_pack("{sOs{si}sO}", "x", shared, "y", "z", 3, "w", shared);
    alone = json_object_get(top, "y"); /* reference count 1: never asked about */
    plain = jsonw_dumps(top, NULL);
    assert_int_equal(jsonw_append_memo(&b, top, &m), 0);
    assert_string_equal(b.data, plain);
    assert_int_equal(tm.finds, 2); /* `shared` twice; not the top, not `alone`, not the array */
    assert_ptr_equal(tm.kept, shared);
    assert_string_equal(tm.kept_text, "{\"a\":[1,2]}");
    assert_ptr_not_equal(tm.kept, alone);
    b.len = 0;
    tm.known = shared;
    tm.fake = "\"known\"";
    assert_int_equal(jsonw_append_memo(&b, top, &m), 0);
    assert_string_equal(b.data, "{\"x\":\"known\",\"y\":{\"z\":3},\"w\":\"known\"}");
    b.len = 0;
    assert_int_equal(jsonw_append_memo(&b, shared, &m), 0); /* the top itself is written */
    assert_string_equal(b.data, "{\"a\":[1,2]}");
    free(plain);
    jsonw_buf_free(&b);
    json_decref(top);
    json_decref(shared);
}

static void test_failures(void **state)
{
    jsonw_buf_t b = {0};
    json_t *bad = json_stringn_nocheck("\xc3(", 2), *arr = json_array(), *obj = json_object();
    json_t *wrapped = json_pack("[s, O]", "ok", bad);

    (void)state;
    assert_null(json_dumps(bad, JSON_ENCODE_ANY));
    assert_null(jsonw_dumps(bad, NULL));
    assert_null(jsonw_dumps(NULL, NULL));
    /* a failed append leaves what was there */
    assert_int_equal(jsonw_append_raw(&b, "keep", 4), 0);
    assert_int_equal(jsonw_append(&b, wrapped), -1);
    assert_int_equal(b.len, 4);
    assert_string_equal(b.data, "keep");
    assert_int_equal(jsonw_append(&b, json_null()), 0);
    assert_string_equal(b.data, "keepnull");
    /* a cycle fails instead of recursing forever */
    json_array_append(arr, obj);
    json_object_set(obj, "loop", arr);
    assert_null(jsonw_dumps(arr, NULL));
    json_object_del(obj, "loop");
    jsonw_buf_free(&b);
    json_decref(wrapped);
    json_decref(bad);
    json_decref(arr);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),    cmocka_unit_test(test_strings),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_containers), cmocka_unit_test(test_random),
        cmocka_unit_test(test_failures),   cmocka_unit_test(test_memo),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
