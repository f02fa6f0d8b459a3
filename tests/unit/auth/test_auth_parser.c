/*
 * tests/unit/auth/test_auth_parser.c — unit tests of the Ragel credential scanners
 * (runtime/auth/auth_grammar.rl, auth_parser.rl). Every case is scanned whole, cut into two and
 * three chunks at every possible position, and fed byte by byte; each way must give the same
 * verdict and spans, which must equal the expected ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth_parse.h"

/* One case: input, verdict, and for OK the expected parts as text ("" when empty) and, for
 * the Authorization header, whether the scheme is Bearer. */
typedef struct scan_case {
    const char *in;
    auth_scan_rc_t rc;
    const char *part[3];
    int bearer;
} scan_case_t;

/* Renders the outcome of `s` over input `in` into `out`. */
static void render(const auth_scan_t *s, auth_scan_rc_t rc, const char *in, char *out, size_t cap)
{
    int n = snprintf(out, cap, "rc=%d", (int)rc);
    size_t i;

    if (rc != AUTH_SCAN_OK)
        return;
    for (i = 0; i != 3; ++i)
        n += snprintf(out + n, cap - (size_t)n, " [%.*s]", (int)s->part[i].len, in + s->part[i].at);
    if (s->kind == AUTH_SCAN_HEADER)
        snprintf(out + n, cap - (size_t)n, " bearer=%d", s->bearer);
}

/* Scans `in` cut at offsets cut1 <= cut2 (3 chunks) into `out`. */
static void scan_cut(auth_scan_kind_t kind, size_t max, const char *in, size_t cut1, size_t cut2, char *out, size_t cap)
{
    size_t len = strlen(in);
    auth_scan_t s;

    auth_scan_init(&s, kind, max);
    auth_scan_execute(&s, in, cut1);
    auth_scan_execute(&s, in + cut1, cut2 - cut1);
    auth_scan_execute(&s, in + cut2, len - cut2);
    render(&s, auth_scan_finish(&s), in, out, cap);
}

/* Checks one case every way it can be fed. */
static void check_case(auth_scan_kind_t kind, size_t max, const scan_case_t *c)
{
    char want[512], got[512];
    size_t len = strlen(c->in), i, j, k;
    auth_scan_t s;
    int n;

    n = snprintf(want, sizeof(want), "rc=%d", (int)c->rc);
    if (c->rc == AUTH_SCAN_OK) {
        for (i = 0; i != 3; ++i)
            n += snprintf(want + n, sizeof(want) - (size_t)n, " [%s]", c->part[i] != NULL ? c->part[i] : "");
        if (kind == AUTH_SCAN_HEADER)
            snprintf(want + n, sizeof(want) - (size_t)n, " bearer=%d", c->bearer);
    }
    render(&s, auth_scan(&s, kind, max, c->in, len), c->in, got, sizeof(got));
    if (strcmp(want, got) != 0)
        fail_msg("input '%s' whole: want %s, got %s", c->in, want, got);
    for (i = 0; i <= len; ++i)
        for (j = i; j <= len; ++j) {
            scan_cut(kind, max, c->in, i, j, got, sizeof(got));
            if (strcmp(want, got) != 0)
                fail_msg("input '%s' cut at %zu,%zu: want %s, got %s", c->in, i, j, want, got);
        }
    auth_scan_init(&s, kind, max);
    for (k = 0; k != len; ++k)
        auth_scan_execute(&s, c->in + k, 1);
    render(&s, auth_scan_finish(&s), c->in, got, sizeof(got));
    if (strcmp(want, got) != 0)
        fail_msg("input '%s' byte by byte: want %s, got %s", c->in, want, got);
}

static void test_authorization(void **state)
{
    static const scan_case_t cases[] = {
        {"Bearer abc", AUTH_SCAN_OK, {"Bearer", "abc"}, 1},
        {"bearer abc", AUTH_SCAN_OK, {"bearer", "abc"}, 1},
        {"BEARER abc", AUTH_SCAN_OK, {"BEARER", "abc"}, 1},
        {"bEaReR abc", AUTH_SCAN_OK, {"bEaReR", "abc"}, 1},
        {"  \tBearer   eyJ.a-b_c.d~e+f/g==  \t", AUTH_SCAN_OK, {"Bearer", "eyJ.a-b_c.d~e+f/g=="}, 1},
        {"Bearer\tabc", AUTH_SCAN_OK, {"Bearer", "abc"}, 1},
        {"Bearer", AUTH_SCAN_OK, {"Bearer", ""}, 1},
        {"Bearer   ", AUTH_SCAN_OK, {"Bearer", ""}, 1},
        {"Bearer =", AUTH_SCAN_MALFORMED},
        {"Bearer a=b", AUTH_SCAN_MALFORMED},
        {"Bearer a b", AUTH_SCAN_MALFORMED},
        {"Bearer a,b", AUTH_SCAN_MALFORMED},
        {"Bearer realm=\"x\"", AUTH_SCAN_MALFORMED},
        {"Bearer a\x01", AUTH_SCAN_MALFORMED},
        {"Bearer a\r\n", AUTH_SCAN_MALFORMED},
        {"Bearer\xc3\xa9 a", AUTH_SCAN_MALFORMED},
        {"Bearerabc", AUTH_SCAN_OK, {"Bearerabc", ""}, 0},
        {"Bearer: abc", AUTH_SCAN_MALFORMED},
        {"Beare abc", AUTH_SCAN_OK, {"Beare", ""}, 0},
        {"Basic dXNlcjpwYXNz", AUTH_SCAN_OK, {"Basic", ""}, 0},
        {"Digest realm=\"a b\", nonce=\"x\"", AUTH_SCAN_OK, {"Digest", ""}, 0},
        {"Token", AUTH_SCAN_OK, {"Token", ""}, 0},
        {"Basic \x7f", AUTH_SCAN_MALFORMED},
        {"", AUTH_SCAN_MALFORMED},
        {"   ", AUTH_SCAN_MALFORMED},
        {" abc def", AUTH_SCAN_OK, {"abc", ""}, 0},
        {"(Bearer) abc", AUTH_SCAN_MALFORMED},
        {"eyJhbGciOiJIUzI1NiJ9.e30.sig", AUTH_SCAN_OK, {"eyJhbGciOiJIUzI1NiJ9.e30.sig", ""}, 0}, /* a bare token is a scheme */
    };
    size_t i;

    (void)state;
    for (i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i)
        check_case(AUTH_SCAN_HEADER, AUTH_HEADER_MAX, &cases[i]);
}

static void test_jwt(void **state)
{
    static const scan_case_t cases[] = {
        {"a.b.c", AUTH_SCAN_OK, {"a", "b", "c"}},
        {"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AbC-_09", AUTH_SCAN_OK, {"eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiJ4In0", "AbC-_09"}},
        {"a.b.", AUTH_SCAN_OK, {"a", "b", ""}},
        {"a.b", AUTH_SCAN_MALFORMED},
        {"a..c", AUTH_SCAN_MALFORMED},
        {".b.c", AUTH_SCAN_MALFORMED},
        {"a.b.c.d", AUTH_SCAN_MALFORMED},
        {"a.b.c=", AUTH_SCAN_MALFORMED},
        {"a=.b.c", AUTH_SCAN_MALFORMED},
        {"a.b+.c", AUTH_SCAN_MALFORMED},
        {"a.b/.c", AUTH_SCAN_MALFORMED},
        {"a.b.c ", AUTH_SCAN_MALFORMED},
        {" a.b.c", AUTH_SCAN_MALFORMED},
        {"a.b\x00.c", AUTH_SCAN_MALFORMED},
        {"", AUTH_SCAN_MALFORMED},
        {"..", AUTH_SCAN_MALFORMED},
    };
    size_t i;

    (void)state;
    for (i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i)
        check_case(AUTH_SCAN_JWT, AUTH_JWT_MAX, &cases[i]);
}

static void test_api_key(void **state)
{
    static const scan_case_t cases[] = {
        {"k", AUTH_SCAN_OK, {"k"}},
        {"  lg_0123456789abcdef=+/!~  ", AUTH_SCAN_OK, {"lg_0123456789abcdef=+/!~"}},
        {"\tkey\t", AUTH_SCAN_OK, {"key"}},
        {"ke y", AUTH_SCAN_MALFORMED},
        {"key\x01", AUTH_SCAN_MALFORMED},
        {"k\xc3\xa9y", AUTH_SCAN_MALFORMED},
        {"", AUTH_SCAN_MALFORMED},
        {"  ", AUTH_SCAN_MALFORMED},
    };
    size_t i;

    (void)state;
    for (i = 0; i != sizeof(cases) / sizeof(cases[0]); ++i)
        check_case(AUTH_SCAN_KEY, AUTH_KEY_MAX, &cases[i]);
}

/* Length limits: exactly at the limit passes, one more byte fails as TOO_LONG however it is
 * fed, and the JWT header segment has its own bound. */
static void test_limits(void **state)
{
    static char big[AUTH_JWT_MAX + 2];
    auth_scan_t s;
    size_t i;

    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    memcpy(big, "Bearer ", 7);
    assert_int_equal(auth_scan(&s, AUTH_SCAN_HEADER, AUTH_HEADER_MAX, big, AUTH_HEADER_MAX), AUTH_SCAN_OK);
    assert_int_equal(s.part[1].len, AUTH_HEADER_MAX - 7);
    assert_int_equal(auth_scan(&s, AUTH_SCAN_HEADER, AUTH_HEADER_MAX, big, AUTH_HEADER_MAX + 1), AUTH_SCAN_TOO_LONG);
    auth_scan_init(&s, AUTH_SCAN_HEADER, AUTH_HEADER_MAX);
    for (i = 0; i <= AUTH_HEADER_MAX; i += 100)
        auth_scan_execute(&s, big + i, i + 100 <= AUTH_HEADER_MAX + 1 ? 100 : AUTH_HEADER_MAX + 1 - i);
    assert_int_equal(auth_scan_finish(&s), AUTH_SCAN_TOO_LONG);
    assert_int_equal(auth_scan_execute(&s, "a", 1), -1);

    memset(big, 'a', sizeof(big) - 1);
    big[AUTH_JWT_HEADER_MAX] = '.';
    big[AUTH_JWT_HEADER_MAX + 2] = '.';
    assert_int_equal(auth_scan(&s, AUTH_SCAN_JWT, AUTH_JWT_MAX, big, AUTH_JWT_HEADER_MAX + 4), AUTH_SCAN_OK);
    memset(big, 'a', sizeof(big) - 1);
    big[AUTH_JWT_HEADER_MAX + 1] = '.';
    big[AUTH_JWT_HEADER_MAX + 3] = '.';
    assert_int_equal(auth_scan(&s, AUTH_SCAN_JWT, AUTH_JWT_MAX, big, AUTH_JWT_HEADER_MAX + 5), AUTH_SCAN_TOO_LONG);
    memset(big, 'a', sizeof(big) - 1);
    big[1] = big[3] = '.';
    assert_int_equal(auth_scan(&s, AUTH_SCAN_JWT, AUTH_JWT_MAX, big, AUTH_JWT_MAX), AUTH_SCAN_OK);
    assert_int_equal(auth_scan(&s, AUTH_SCAN_JWT, AUTH_JWT_MAX, big, AUTH_JWT_MAX + 1), AUTH_SCAN_TOO_LONG);
    assert_int_equal(auth_scan(&s, AUTH_SCAN_KEY, AUTH_KEY_MAX, big, AUTH_KEY_MAX + 1), AUTH_SCAN_TOO_LONG);

    /* a grammar error inside the limit is MALFORMED, past it TOO_LONG, at every cut */
    {
        static const scan_case_t bad_early = {"Bearer a b c d e f g", AUTH_SCAN_MALFORMED};
        static const scan_case_t bad_late = {"Bearer abcdef g", AUTH_SCAN_TOO_LONG};
        check_case(AUTH_SCAN_HEADER, 12, &bad_early);
        check_case(AUTH_SCAN_HEADER, 12, &bad_late);
    }
}

/* A scanner that failed stays failed, and a malformed prefix fails at once. */
static void test_sticky_error(void **state)
{
    auth_scan_t s;

    (void)state;
    auth_scan_init(&s, AUTH_SCAN_HEADER, AUTH_HEADER_MAX);
    assert_int_equal(auth_scan_execute(&s, "Bearer a b", 10), -1);
    assert_int_equal(auth_scan_execute(&s, "", 0), -1);
    assert_int_equal(auth_scan_finish(&s), AUTH_SCAN_MALFORMED);
    auth_scan_init(&s, AUTH_SCAN_JWT, AUTH_JWT_MAX);
    assert_int_equal(auth_scan_execute(&s, "a.b", 3), 0);
    assert_int_equal(auth_scan_finish(&s), AUTH_SCAN_MALFORMED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorization), cmocka_unit_test(test_jwt),          cmocka_unit_test(test_api_key),
        cmocka_unit_test(test_limits),        cmocka_unit_test(test_sticky_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
