/*
 * tests/unit/util/test_jsonr.c — util/jsonr: for fixed texts (every kind of value, escapes,
 * UTF-8, repeated keys, numbers at the edges) and for random documents with random whitespace,
 * plus random byte damage to them, jsonr_loadb and json_loadb(JSON_DECODE_ANY) agree: both fail
 * with the same error text and position, or both give values with the same compact text (which
 * shows types, key order and escapes). The cursor functions (jsonr_skip_value,
 * jsonr_read_string) never accept a text jansson rejects, a string read gives jansson's bytes,
 * and they accept the common shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsonr.h"

/* Asserts that what the cursor functions accept of `len` bytes at `s` as a whole text agrees
 * with jansson's verdict `b` (borrowed; NULL when jansson rejects the text). Returns 1 when
 * jsonr_skip_value took the whole text. */
static int assert_cursor_agrees(const char *s, size_t len, const json_t *b)
{
    const char *p = s, *str;
    size_t n;
    char *tmp = NULL;
    int took = 0;

    if (jsonr_skip_value(&p, s + len) == 0) {
        jsonr_skip_ws(&p, s + len);
        took = p == s + len;
        if (took && b == NULL)
            fail_msg("jsonr_skip_value accepted %.*s", (int)len, s);
    } else if (p != s) {
        fail_msg("jsonr_skip_value moved on failure over %.*s", (int)len, s);
    }
    p = s;
    if (jsonr_read_string(&p, s + len, &str, &n, &tmp) == 0 && p == s + len) {
        if (!json_is_string(b) || json_string_length(b) != n || memcmp(json_string_value(b), str, n) != 0)
            fail_msg("jsonr_read_string read %.*s differently", (int)len, s);
    }
    free(tmp);
    return took;
}

/* Asserts that both parsers agree on `len` bytes at `s`. */
static void assert_agree(const char *s, size_t len)
{
    json_error_t e1, e2;
    json_t *a = jsonr_loadb(s, len, &e1), *b = json_loadb(s, len, JSON_DECODE_ANY, &e2);

    assert_cursor_agrees(s, len, b);
    if ((a == NULL) != (b == NULL))
        fail_msg("disagree on %.*s: jsonr %s, jansson %s", (int)len, s, a ? "ok" : e1.text, b ? "ok" : e2.text);
    if (a == NULL) {
        assert_string_equal(e1.text, e2.text);
        assert_int_equal(e1.position, e2.position);
    } else {
        char *x = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY), *y = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        assert_non_null(x);
        assert_non_null(y);
        if (strcmp(x, y) != 0)
            fail_msg("different values for %.*s: %s vs %s", (int)len, s, x, y);
        free(x);
        free(y);
    }
    json_decref(a);
    json_decref(b);
}

static void assert_agree_str(const char *s)
{
    assert_agree(s, strlen(s));
}

static void test_fixed_texts(void **state)
{
    static const char *const texts[] = {
        "{}", "[]", " { } ", "\t[\n1 ,2\r]\n", "0", "-0", "7", "-42", "123456789012345678", "1234567890123456789",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "01", "-", "--1", "+1", "1.5", "1e5",
        "1E-2", "-0.0", "1.", ".5", "true", "false", "null", "tru", "truex", "nullnull", "true1", "[true_]",
        "\"\"", "\"plain\"", "\"esc \\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u0041\\u00e9\\u20AC\"", "\"\\u0000\"",
        "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\u12\"", "\"\\uZZZZ\"", "\"\\x\"", "\"a\\\"",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "\"\xc3\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xff\"",
        "\"tab\there\"", "\"nl\nhere\"", "\"del\x7f\"", "{\"a\":1,\"b\":2,\"a\":3}", "{\"b\":1,\"a\":{\"c\":[1,{}]}}",
        "{\"\":0}", "{\"k\\u00e9y\":true}", "{\"a\" : [ 1 , \"x\" , null ] }", "{\"a\":1,}", "[1,]", "[,1]",
        "{\"a\"}", "{\"a\":}", "{1:2}", "[1 2]", "{\"a\":1 \"b\":2}", "[", "]", "{", "\"open", "", "   ", "1 2",
        "[1]x", "\xef\xbb\xbf{}", "{\"thread_id\":\"0b1e0b1e-0001-4000-8000-000000000001\",\"metadata\":{\"bench\":true,\"n\":1}}",
        "{\"namespace\":[\"a\",\"b\"],\"key\":\"k\",\"value\":{\"x\":[1,2,{\"y\":null}]},\"ttl\":null}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        assert_agree_str(texts[i]);
    /* embedded NUL bytes */
    assert_agree("\"a\0b\"", 5);
    assert_agree("[1,\0]", 5);
}

/* Long strings with one special byte (escapes, control bytes, quote, UTF-8 good and bad) at
 * every offset, so that the word-at-a-time scan meets it in every lane. */
static void test_long_strings(void **state)
{
    static const char *const specials[] = {"\\\"", "\\\\", "\\n", "\\u00e9", "\x01", "\x1f", "\x7f",
                                           "\"", "\\", "\xc3\xa9", "\xe2\x82\xac", "\xc3", "\xff"};
    char buf[64];
    size_t k, at, len = 42;

    (void)state;
    for (k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
        for (at = 1; at + strlen(specials[k]) < len - 1; at++) {
            memset(buf, 'a' + (int)(at % 26), len);
            buf[0] = buf[len - 1] = '"';
            memcpy(buf + at, specials[k], strlen(specials[k]));
            assert_agree(buf, len);
        }
    }
}

/* The cursor takes the shapes of an LLM stream chunk. */
static void test_cursor_common_shapes(void **state)
{
    static const char *const texts[] = {
        "{}", "[]", " [ 1 , -2 , 0 ] ", "true", "false", "null", "\"\"", "\"esc \\n \\u00e9 \\/\"",
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
        "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\",\"refusal\":null},\"logprobs\":null,"
        "\"finish_reason\":null}],\"usage\":null}",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_t *b = json_loads(texts[i], JSON_DECODE_ANY, NULL);

        assert_non_null(b);
        if (!assert_cursor_agrees(texts[i], strlen(texts[i]), b))
            fail_msg("jsonr_skip_value refused %s", texts[i]);
        json_decref(b);
    }
}

static void test_deep_nesting(void **state)
{
    size_t depth, i;
    char *s;

    (void)state;
    for (depth = 500; depth <= 2100; depth += 400) {
        s = malloc(2 * depth + 1);
        for (i = 0; i < depth; i++) {
            s[i] = '[';
            s[2 * depth - 1 - i] = ']';
        }
        s[2 * depth] = '\0';
        assert_agree(s, 2 * depth);
        free(s);
    }
}

/* ---- random documents ---- */

static unsigned long long rng = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

typedef struct text {
    char *s;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void put_s(text_t *t, const char *s)
{
    put(t, s, strlen(s));
}

static void ws(text_t *t)
{
    static const char *const w[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
    put_s(t, w[rnd(7)]);
}

static void gen_string(text_t *t)
{
    static const char *const parts[] = {"a", "Z", "key", " ", "\\\"", "\\\\", "\\/", "\\n", "\\t", "\\u00e9", "\\u20ac",
                                        "\\u0041", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\\ud83d\\ude00", "-", "."};
    unsigned i, n = rnd(6);

    put_s(t, "\"");
    for (i = 0; i < n; i++)
        put_s(t, parts[rnd(sizeof(parts) / sizeof(parts[0]))]);
    put_s(t, "\"");
}

static void gen_value(text_t *t, int depth)
{
    static const char *const scalars[] = {"0", "-1", "42", "1234567890123", "99999999999999999999", "3.25", "-1e3", "true",
                                          "false", "null", "-0", "7E+2"};
    unsigned k = rnd(depth > 4 ? 3 : 5), i, n;
    char num[32];

    ws(t);
    switch (k) {
    case 0:
        put_s(t, scalars[rnd(sizeof(scalars) / sizeof(scalars[0]))]);
        break;
    case 1:
        gen_string(t);
        break;
    case 2:
        snprintf(num, sizeof(num), "%d", (int)rnd(100000) - 50000);
        put_s(t, num);
        break;
    case 3:
        put_s(t, "[");
        for (i = 0, n = rnd(4); i < n; i++) {
            if (i)
                put_s(t, ",");
            gen_value(t, depth + 1);
        }
        ws(t);
        put_s(t, "]");
        break;
    default:
        put_s(t, "{");
        for (i = 0, n = rnd(5); i < n; i++) {
            if (i)
                put_s(t, ",");
            ws(t);
            gen_string(t);
            ws(t);
            put_s(t, ":");
            gen_value(t, depth + 1);
        }
        ws(t);
        put_s(t, "}");
    }
    ws(t);
}

static void test_random_documents(void **state)
{
    static const char damage[] = {'"', '\\', ',', ':', '{', '}', '[', ']', '0', 'e', '.', '-', ' ', '\x01', '\x80', '\xc3'};
    text_t t = {NULL, 0, 0};
    int i, j;

    (void)state;
    for (i = 0; i < 4000; i++) {
        t.len = 0;
        gen_value(&t, 0);
        assert_agree(t.s, t.len);
        for (j = 0; j < 3 && t.len > 0; j++) {
            size_t at = rnd((unsigned)t.len);
            char saved = t.s[at];
            t.s[at] = damage[rnd(sizeof(damage))];
            assert_agree(t.s, t.len);
            assert_agree(t.s, at); /* cut short there */
            t.s[at] = saved;
        }
    }
    free(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_texts),
        cmocka_unit_test(test_cursor_common_shapes),
        cmocka_unit_test(test_long_strings),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_random_documents),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
