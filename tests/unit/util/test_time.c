/*
 * tests/unit/util/test_time.c — util/time: RFC 3339 formatting with offsets, parsing of the
 * forms the contract and the SDKs send, range checks, and format/parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "util/time.h"

/* 2026-11-26T21:22:34.875Z, from python3 datetime(...).timestamp() */
#define KNOWN_US INT64_C(1795728154875000)

static void test_format(void **state)
{
    char buf[TIME_RFC3339_SIZE];

    (void)state;
    assert_int_equal(time_format_rfc3339(0, 0, buf, sizeof(buf)), 32);
    assert_string_equal(buf, "1970-01-01T00:00:00.000000+00:00");
    time_format_rfc3339(KNOWN_US, 0, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-26T21:22:34.875000+00:00");
    time_format_rfc3339(KNOWN_US, 330, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-27T02:52:34.875000+05:30");
    time_format_rfc3339(KNOWN_US, -480, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-26T13:22:34.875000-08:00");
    time_format_rfc3339(-500000, 0, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.500000+00:00");
    assert_int_equal(time_format_rfc3339(0, 0, buf, 10), 0);
    assert_int_equal(time_format_rfc3339(0, 1440, buf, sizeof(buf)), 0);
}

static void test_parse(void **state)
{
    int64_t us;
    int off;

    (void)state;
    assert_int_equal(time_parse_rfc3339("2026-11-26T21:22:34.875Z", &us, &off), 0);
    assert_int_equal(us, KNOWN_US);
    assert_int_equal(off, 0);
    assert_int_equal(time_parse_rfc3339("2026-11-27T02:52:34.875+05:30", &us, &off), 0);
    assert_int_equal(us, KNOWN_US);
    assert_int_equal(off, 330);
    assert_int_equal(time_parse_rfc3339("2026-11-26 13:22:34.875000999-08:00", &us, &off), 0);
    assert_int_equal(us, KNOWN_US);
    assert_int_equal(off, -480);
    assert_int_equal(time_parse_rfc3339("2024-02-29T00:00:00z", &us, NULL), 0);
    assert_int_equal(time_parse_rfc3339("2016-12-31T23:59:60Z", &us, NULL), 0);

    assert_int_equal(time_parse_rfc3339("2023-02-29T00:00:00Z", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-11-26T21:22:34", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-11-26T21:22:34.Z", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-13-01T00:00:00Z", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-11-26T24:00:00Z", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-11-26T21:22:34+0530", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("2026-11-26T21:22:34Z ", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339("", &us, NULL), -1);
    assert_int_equal(time_parse_rfc3339(NULL, &us, NULL), -1);
}

static void test_roundtrip(void **state)
{
    static const int offsets[] = {0, 60, -60, 330, -570, 840, -720};
    char buf[TIME_RFC3339_SIZE];
    int64_t us, back;
    int i, j, off;

    (void)state;
    for (i = 0; i < 2000; i++) {
        us = (int64_t)i * INT64_C(1234567890123) + 7; /* spans 1970 .. ~2048 */
        for (j = 0; j < (int)(sizeof(offsets) / sizeof(offsets[0])); j++) {
            assert_true(time_format_rfc3339(us, offsets[j], buf, sizeof(buf)) > 0);
            assert_int_equal(time_parse_rfc3339(buf, &back, &off), 0);
            assert_int_equal(back, us);
            assert_int_equal(off, offsets[j]);
        }
    }
}

static void test_now(void **state)
{
    int64_t a = time_now_us(), m1 = time_mono_us(), m2;

    (void)state;
    assert_true(a / 1000000 - (int64_t)time(NULL) <= 1 && (int64_t)time(NULL) - a / 1000000 <= 1);
    m2 = time_mono_us();
    assert_true(m2 >= m1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
