/*
 * tests/unit/util/test_uuid.c — util/uuid: v5 against values computed with Python's
 * uuid.uuid5, v4/v7 version and variant bits, v7 ordering (one thread and several), and the
 * text form (round trip, case, malformed input).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/uuid.h"

static void test_v5_known_values(void **state)
{
    uuid_bytes_t u, ns;
    char s[UUID_STR_SIZE];

    (void)state;
    /* python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, 'agent'))" */
    uuid_v5(&u, &uuid_ns_url, "agent", 5);
    assert_string_equal(uuid_format(&u, s), "7c9fac6d-1b9a-54e5-89e7-6c8b5e3ae414");
    assert_int_equal(uuid_version(&u), 5);
    /* The default-assistant id of graph "agent" in the official servers: namespace
     * 6ba7b821-9dad-11d1-80b4-00c04fd430c8; python3 -c "import uuid; print(uuid.uuid5(
     * uuid.UUID('6ba7b821-9dad-11d1-80b4-00c04fd430c8'), 'agent'))" */
    assert_int_equal(uuid_parse("6ba7b821-9dad-11d1-80b4-00c04fd430c8", &ns), 0);
    uuid_v5(&u, &ns, "agent", 5);
    assert_string_equal(uuid_format(&u, s), "fe096781-5601-53d2-b2f6-0d3403f7e9ca");
    /* python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, 'python.org'))" */
    uuid_v5(&u, &uuid_ns_dns, "python.org", strlen("python.org"));
    assert_string_equal(uuid_format(&u, s), "886313e1-3b8a-5372-9b90-0c9aee199e5d");
}

static void test_v4_bits_and_uniqueness(void **state)
{
    uuid_bytes_t a, b;

    (void)state;
    assert_int_equal(uuid_v4(&a), 0);
    assert_int_equal(uuid_v4(&b), 0);
    assert_int_equal(uuid_version(&a), 4);
    assert_int_equal(a.b[8] & 0xc0, 0x80);
    assert_memory_not_equal(a.b, b.b, 16);
}

/* 100 v4 UUIDs draw 1,600 random bytes: several refills of the per-thread pool; none repeats. */
static void test_v4_distinct_across_refills(void **state)
{
    uuid_bytes_t u[100];
    size_t i, j;

    (void)state;
    for (i = 0; i != 100; ++i) {
        assert_int_equal(uuid_v4(&u[i]), 0);
        assert_int_equal(uuid_version(&u[i]), 4);
        for (j = 0; j != i; ++j)
            assert_memory_not_equal(u[i].b, u[j].b, 16);
    }
}

static void test_v7_ordered(void **state)
{
    char prev[UUID_STR_SIZE], cur[UUID_STR_SIZE];
    uuid_bytes_t u;
    uint64_t ms = 0;
    int i;

    (void)state;
    assert_int_equal(uuid_v7_str(prev), 0);
    for (i = 0; i < 100000; i++) {
        assert_int_equal(uuid_v7_str(cur), 0);
        assert_true(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof(cur));
    }
    assert_int_equal(uuid_parse(cur, &u), 0);
    assert_int_equal(uuid_version(&u), 7);
    assert_int_equal(u.b[8] & 0xc0, 0x80);
    for (i = 0; i < 6; i++)
        ms = ms << 8 | u.b[i];
    assert_true(llabs((long long)ms - (long long)time(NULL) * 1000) < 5000);
}

#define V7_THREADS 4
#define V7_PER_THREAD 20000

static void *v7_worker(void *arg)
{
    char(*out)[UUID_STR_SIZE] = arg;
    int i;

    for (i = 0; i < V7_PER_THREAD; i++)
        uuid_v7_str(out[i]);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_v7_unique_across_threads(void **state)
{
    char(*ids)[UUID_STR_SIZE] = calloc(V7_THREADS * V7_PER_THREAD, UUID_STR_SIZE);
    pthread_t th[V7_THREADS];
    int i;

    (void)state;
    for (i = 0; i < V7_THREADS; i++)
        pthread_create(&th[i], NULL, v7_worker, ids + i * V7_PER_THREAD);
    for (i = 0; i < V7_THREADS; i++) {
        pthread_join(th[i], NULL);
        /* each thread's own sequence is increasing */
        for (int j = 1; j < V7_PER_THREAD; j++)
            assert_true(strcmp(ids[i * V7_PER_THREAD + j - 1], ids[i * V7_PER_THREAD + j]) < 0);
    }
    qsort(ids, V7_THREADS * V7_PER_THREAD, UUID_STR_SIZE, cmp_str);
    for (i = 1; i < V7_THREADS * V7_PER_THREAD; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
}

static void test_parse_format(void **state)
{
    uuid_bytes_t u;
    char s[UUID_STR_SIZE];

    (void)state;
    assert_int_equal(uuid_parse("FE096781-5601-53D2-B2F6-0D3403F7E9CA", &u), 0);
    assert_string_equal(uuid_format(&u, s), "fe096781-5601-53d2-b2f6-0d3403f7e9ca");
    assert_true(uuid_is_valid("00000000-0000-0000-0000-000000000000"));
    assert_false(uuid_is_valid(NULL));
    assert_false(uuid_is_valid(""));
    assert_false(uuid_is_valid("fe096781-5601-53d2-b2f6-0d3403f7e9c"));   /* short */
    assert_false(uuid_is_valid("fe096781-5601-53d2-b2f6-0d3403f7e9caa")); /* long */
    assert_false(uuid_is_valid("fe096781x5601-53d2-b2f6-0d3403f7e9ca"));  /* separator */
    assert_false(uuid_is_valid("ge096781-5601-53d2-b2f6-0d3403f7e9ca"));  /* not hex */
    assert_false(uuid_is_valid("{fe096781-5601-53d2-b2f6-0d3403f7e9ca}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v5_known_values),
        cmocka_unit_test(test_v4_bits_and_uniqueness),
        cmocka_unit_test(test_v4_distinct_across_refills),
        cmocka_unit_test(test_v7_ordered),
        cmocka_unit_test(test_v7_unique_across_threads),
        cmocka_unit_test(test_parse_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
