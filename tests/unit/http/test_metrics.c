/*
 * tests/unit/http/test_metrics.c — runtime/http/metrics.c: per-thread counters merged on read
 * (status classes, per-route classes, in flight) in the JSON and Prometheus views.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/metrics.h"
#include "http/router.h"

#define PER_THREAD 1000

/* Index of the route (method, path) in router_routes(). */
static size_t route_index(http_method_t m, const char *path)
{
    size_t n, i;
    const router_route_t *t = router_routes(&n);

    for (i = 0; i != n; ++i)
        if (t[i].method == m && strcmp(t[i].path, path) == 0)
            return i;
    fail_msg("no route %s", path);
    return SIZE_MAX;
}

static void *count_on_thread(void *arg)
{
    size_t ok = *(size_t *)arg, i;

    for (i = 0; i != PER_THREAD; ++i) {
        metrics_request_begin();
        metrics_request_end(ok, 200);
        metrics_response(200);
    }
    return NULL;
}

static json_int_t get_int(json_t *obj, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(obj, a), b));
}

static void test_counts_merge_across_threads(void **state)
{
    size_t ok = route_index(HTTP_GET, "/ok"), i;
    pthread_t th[3];
    json_t *j, *routes, *r;
    char *text;
    size_t len;
    int found = 0;

    (void)state;
    metrics_start();
    metrics_set_workers(3);
    for (i = 0; i != 3; ++i)
        assert_int_equal(pthread_create(&th[i], NULL, count_on_thread, &ok), 0);
    for (i = 0; i != 3; ++i)
        pthread_join(th[i], NULL);
    metrics_request_begin(); /* one still in flight on this thread */
    metrics_request_end(SIZE_MAX, 404);
    metrics_response(404);
    metrics_request_begin();
    assert_int_equal(metrics_inflight_thread(), 1);
    metrics_response(999);

    j = metrics_json();
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "workers")), 3);
    assert_int_equal(get_int(j, "http", "requests_total"), 3 * PER_THREAD + 2);
    assert_int_equal(get_int(j, "http", "in_flight"), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "http"), "by_status"), "2xx")),
                     3 * PER_THREAD);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "http"), "by_status"), "4xx")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(j, "http"), "by_status"), "other")), 1);
    routes = json_object_get(j, "routes");
    json_array_foreach(routes, i, r) {
        if (strcmp(json_string_value(json_object_get(r, "path")), "/ok") == 0) {
            found = 1;
            assert_int_equal(json_integer_value(json_object_get(r, "count")), 3 * PER_THREAD);
            assert_string_equal(json_string_value(json_object_get(r, "operation")), "health_check_ok_get");
        }
    }
    assert_true(found);
    json_decref(j);

    text = metrics_prometheus(&len);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "lg_api_http_requests_total{status=\"2xx\"} 3000\n"));
    assert_non_null(strstr(text, "lg_api_http_route_requests_total{operation=\"health_check_ok_get\",method=\"GET\","
                                 "path=\"/ok\",status=\"2xx\"} 3000\n"));
    assert_non_null(strstr(text, "lg_api_http_requests_in_flight 1\n"));
    assert_non_null(strstr(text, "# TYPE lg_api_uptime_seconds gauge\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_merge_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
