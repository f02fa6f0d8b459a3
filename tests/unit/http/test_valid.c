/*
 * tests/unit/http/test_valid.c — unit tests of runtime/http/valid.c: error formatting, JSON
 * path building, and the uuid and RFC 3339 date-time format checks (edge cases included).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/valid.h"

static void test_fail_with_path(void **state)
{
    valid_error_t err = {0};

    (void)state;
    assert_int_equal(valid_fail(&err, "input.messages[0].content", "expected %s", "string"), -1);
    assert_int_equal(err.status, 422);
    assert_string_equal(err.detail, "input.messages[0].content: expected string");
}

static void test_fail_at_root(void **state)
{
    valid_error_t err = {0};

    (void)state;
    assert_int_equal(valid_fail(&err, "", "expected object"), -1);
    assert_string_equal(err.detail, "expected object");
    assert_int_equal(valid_fail(&err, NULL, "body %s", "required"), -1);
    assert_string_equal(err.detail, "body required");
}

static void test_fail_truncates(void **state)
{
    valid_error_t err = {0};
    char path[2000];

    (void)state;
    memset(path, 'a', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    assert_int_equal(valid_fail(&err, path, "expected string"), -1);
    assert_int_equal(strlen(err.detail), sizeof(err.detail) - 1);
    assert_int_equal(err.status, 422);
    assert_int_equal(valid_fail(&err, "x", "%s", path), -1);
    assert_int_equal(strlen(err.detail), sizeof(err.detail) - 1);
    assert_memory_equal(err.detail, "x: aaa", 6);
}

static void test_path_key(void **state)
{
    char buf[64];

    (void)state;
    assert_string_equal(valid_path_key(buf, sizeof(buf), "", "assistant_id"), "assistant_id");
    assert_string_equal(valid_path_key(buf, sizeof(buf), NULL, "assistant_id"), "assistant_id");
    assert_string_equal(valid_path_key(buf, sizeof(buf), "config", "tags"), "config.tags");
    assert_ptr_equal(valid_path_key(buf, sizeof(buf), "a.b", "c"), buf);
    assert_string_equal(buf, "a.b.c");
}

static void test_path_index(void **state)
{
    char buf[64];
    char key[64];

    (void)state;
    assert_string_equal(valid_path_index(buf, sizeof(buf), "input.messages", 0), "input.messages[0]");
    assert_string_equal(valid_path_index(buf, sizeof(buf), "", 12), "[12]");
    assert_string_equal(valid_path_index(buf, sizeof(buf), NULL, 1234567890), "[1234567890]");
    valid_path_key(key, sizeof(key), valid_path_index(buf, sizeof(buf), "input.messages", 3), "content");
    assert_string_equal(key, "input.messages[3].content");
}

static void test_path_truncates(void **state)
{
    char buf[8];

    (void)state;
    assert_string_equal(valid_path_key(buf, sizeof(buf), "config", "tags"), "config.");
    assert_string_equal(valid_path_index(buf, sizeof(buf), "messages", 1), "message");
}

static void test_uuid(void **state)
{
    (void)state;
    assert_true(valid_is_uuid("123e4567-e89b-12d3-a456-426614174000"));
    assert_true(valid_is_uuid("00000000-0000-0000-0000-000000000000"));
    assert_true(valid_is_uuid("0190F5A2-7C3B-7D4E-8F01-ABCDEFabcdef"));
    assert_false(valid_is_uuid(NULL));
    assert_false(valid_is_uuid(""));
    assert_false(valid_is_uuid("not-a-uuid"));
    assert_false(valid_is_uuid("123e4567e89b12d3a456426614174000"));          /* no hyphens */
    assert_false(valid_is_uuid("{123e4567-e89b-12d3-a456-426614174000}"));    /* braces */
    assert_false(valid_is_uuid("123e4567-e89b-12d3-a456-42661417400"));       /* short */
    assert_false(valid_is_uuid("123e4567-e89b-12d3-a456-4266141740000"));     /* long */
    assert_false(valid_is_uuid("123e4567-e89b-12d3-a456-42661417400g"));      /* not hex */
    assert_false(valid_is_uuid("123e4567-e89b-12d3a-456-426614174000"));      /* hyphen moved */
    assert_false(valid_is_uuid("123e4567-e89b-12d3-a456-426614174000 "));     /* trailing space */
    assert_false(valid_is_uuid(" 23e4567-e89b-12d3-a456-426614174000"));
}

static void test_date_time_valid(void **state)
{
    (void)state;
    assert_true(valid_is_date_time("2025-01-31T12:34:56Z"));
    assert_true(valid_is_date_time("2025-01-31t12:34:56z"));
    assert_true(valid_is_date_time("2025-01-31T12:34:56.123456Z"));
    assert_true(valid_is_date_time("2025-01-31T12:34:56.1+00:00"));
    assert_true(valid_is_date_time("2025-01-31T12:34:56-05:30"));
    assert_true(valid_is_date_time("2025-01-31T23:59:60Z"));   /* leap second */
    assert_true(valid_is_date_time("2024-02-29T00:00:00Z"));   /* leap year */
    assert_true(valid_is_date_time("2000-02-29T00:00:00Z"));   /* divisible by 400 */
    assert_true(valid_is_date_time("2025-12-31T23:59:59+23:59"));
}

static void test_date_time_invalid(void **state)
{
    (void)state;
    assert_false(valid_is_date_time(NULL));
    assert_false(valid_is_date_time(""));
    assert_false(valid_is_date_time("2025-01-31"));                 /* date only */
    assert_false(valid_is_date_time("2025-01-31T12:34:56"));        /* no offset */
    assert_false(valid_is_date_time("2025-01-31 12:34:56Z"));       /* space separator */
    assert_false(valid_is_date_time("2025-1-31T12:34:56Z"));        /* one-digit month */
    assert_false(valid_is_date_time("2025-13-01T00:00:00Z"));
    assert_false(valid_is_date_time("2025-00-01T00:00:00Z"));
    assert_false(valid_is_date_time("2025-01-00T00:00:00Z"));
    assert_false(valid_is_date_time("2025-04-31T00:00:00Z"));
    assert_false(valid_is_date_time("2025-02-29T00:00:00Z"));       /* not a leap year */
    assert_false(valid_is_date_time("1900-02-29T00:00:00Z"));       /* century, not /400 */
    assert_false(valid_is_date_time("2025-01-31T24:00:00Z"));
    assert_false(valid_is_date_time("2025-01-31T12:60:00Z"));
    assert_false(valid_is_date_time("2025-01-31T12:00:61Z"));
    assert_false(valid_is_date_time("2025-01-31T12:00:00.Z"));      /* empty fraction */
    assert_false(valid_is_date_time("2025-01-31T12:00:00+0100"));   /* offset without colon */
    assert_false(valid_is_date_time("2025-01-31T12:00:00+01"));
    assert_false(valid_is_date_time("2025-01-31T12:00:00+24:00"));
    assert_false(valid_is_date_time("2025-01-31T12:00:00+01:60"));
    assert_false(valid_is_date_time("2025-01-31T12:00:00Zjunk"));
    assert_false(valid_is_date_time("2025-01-31T12:00:00+01:00 "));
    assert_false(valid_is_date_time("2025-01-31T12:00Z"));          /* no seconds */
    assert_false(valid_is_date_time("２025-01-31T12:00:00Z"));      /* non-ASCII digit */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fail_with_path),
        cmocka_unit_test(test_fail_at_root),
        cmocka_unit_test(test_fail_truncates),
        cmocka_unit_test(test_path_key),
        cmocka_unit_test(test_path_index),
        cmocka_unit_test(test_path_truncates),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_date_time_valid),
        cmocka_unit_test(test_date_time_invalid),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
