/*
 * tests/conformance/test_foundation.c — black-box checks of the foundation against the real
 * binary: system endpoints, JSON errors (404, 405 + Allow, 413, 422, 501), CORS, request ids,
 * query encodings, configuration errors, JSON access log and graceful shutdown.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static harness_server_t srv;

static int group_setup(void **state)
{
    static const char *const args[] = {"--workers", "2", "--max-body-size", "4096", NULL};
    static const char *const env[] = {"LOG_JSON=true", NULL};
    (void)state;
    return harness_start(&srv, args, env);
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    return 0;
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const char *method, const char *path, const char *body, long status)
{
    return harness_expect(&srv, method, path, body, status);
}

static void assert_json_error(const harness_resp_t *r)
{
    char ct[128];
    assert_non_null(r->json);
    assert_true(json_is_string(json_object_get(r->json, "detail")));
    assert_true(strlen(harness_detail(r)) > 0);
    assert_non_null(harness_header(r, "content-type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "application/json"));
}

static void test_ok(void **state)
{
    (void)state;
    harness_resp_t r = req("GET", "/ok", NULL, 200);
    assert_non_null(r.json);
    assert_true(json_is_true(json_object_get(r.json, "ok")));
    harness_resp_free(&r);
    r = req("GET", "/ok?check_db=0", NULL, 200);
    harness_resp_free(&r);
}

static void test_health_info(void **state)
{
    (void)state;
    harness_resp_t r = req("GET", "/health", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
    harness_resp_free(&r);
    r = req("GET", "/info", NULL, 200);
    assert_non_null(r.json);
    assert_true(json_is_string(json_object_get(r.json, "version")));
    assert_non_null(strstr(r.body, "0.12.0"));
    harness_resp_free(&r);
}

static void test_openapi_and_docs(void **state)
{
    char ct[128];
    (void)state;
    harness_resp_t r = req("GET", "/openapi.json", NULL, 200);
    assert_non_null(r.json);
    json_t *paths = json_object_get(r.json, "paths");
    assert_true(json_is_object(paths));
    assert_true(json_object_size(paths) >= 50);
    assert_non_null(json_object_get(paths, "/threads/{thread_id}/runs/stream"));
    harness_resp_free(&r);
    r = req("GET", "/docs", NULL, 200);
    assert_non_null(harness_header(&r, "content-type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "text/html"));
    assert_non_null(strstr(r.body, "/threads/{thread_id}/runs/stream"));
    assert_null(strstr(r.body, "<script src=\"http"));
    harness_resp_free(&r);
}

static void test_planned_is_501(void **state)
{
    (void)state;
    harness_resp_t r = req("POST", "/runs/crons/count", "{}", 501);
    assert_json_error(&r);
    assert_string_equal(harness_detail(&r), "POST /runs/crons/count is not implemented yet");
    harness_resp_free(&r);
    r = req("GET", "/runs/crons/6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d00", NULL, 501);
    assert_string_equal(harness_detail(&r), "GET /runs/crons/{cron_id} is not implemented yet");
    harness_resp_free(&r);
}

static void test_not_found_and_method(void **state)
{
    char allow[128];
    (void)state;
    harness_resp_t r = req("GET", "/no/such/path", NULL, 404);
    assert_json_error(&r);
    harness_resp_free(&r);
    r = req("DELETE", "/ok", NULL, 405);
    assert_json_error(&r);
    assert_non_null(harness_header(&r, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "GET");
    harness_resp_free(&r);
    r = req("PUT", "/threads", "{}", 405);
    assert_non_null(harness_header(&r, "allow", allow, sizeof(allow)));
    assert_string_equal(allow, "POST");
    harness_resp_free(&r);
}

static void test_bad_uuid_is_422(void **state)
{
    (void)state;
    harness_resp_t r = req("GET", "/threads/not-a-uuid", NULL, 422);
    assert_json_error(&r);
    assert_non_null(strstr(harness_detail(&r), "thread_id"));
    harness_resp_free(&r);
}

static void test_bad_json_and_bad_body(void **state)
{
    (void)state;
    harness_resp_t r = req("POST", "/threads", "{not json", 422);
    assert_json_error(&r);
    harness_resp_free(&r);
    r = req("POST", "/threads", "{\"thread_id\": 42}", 422);
    assert_json_error(&r);
    assert_non_null(strstr(harness_detail(&r), "thread_id"));
    harness_resp_free(&r);
    r = req("POST", "/threads", "{\"if_exists\": \"sometimes\"}", 422);
    assert_non_null(strstr(harness_detail(&r), "if_exists"));
    harness_resp_free(&r);
}

static void test_body_too_large(void **state)
{
    (void)state;
    size_t n = 64 * 1024;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    harness_resp_t r = req("POST", "/threads", big, 413);
    assert_json_error(&r);
    harness_resp_free(&r);
    free(big);
    r = req("GET", "/ok", NULL, 200); /* still serving */
    harness_resp_free(&r);
}

static void test_query_encodings(void **state)
{
    (void)state;
    harness_resp_t r = req("GET", "/metrics?format=json", NULL, 200);
    assert_non_null(r.json);
    harness_resp_free(&r);
    r = req("GET", "/metrics?format=bogus", NULL, 422);
    assert_non_null(strstr(harness_detail(&r), "format"));
    harness_resp_free(&r);
    r = req("GET", "/ok?check_db=1", NULL, 200);
    harness_resp_free(&r);
    r = req("GET", "/ok?check_db=maybe", NULL, 422);
    assert_non_null(strstr(harness_detail(&r), "check_db"));
    harness_resp_free(&r);
}

static void test_cors_and_request_id(void **state)
{
    char v[512];
    harness_resp_t r;
    static const char *const pre[] = {"Origin: http://localhost:3000", "Access-Control-Request-Method: POST",
                                      "Access-Control-Request-Headers: content-type,x-api-key", NULL};
    static const char *const get[] = {"Origin: http://localhost:3000", "x-request-id: test-req-1", NULL};
    (void)state;
    assert_int_equal(harness_request(&srv, "OPTIONS", "/threads", pre, NULL, 0, &r), 0);
    assert_true(r.status == 204 || r.status == 200);
    assert_non_null(harness_header(&r, "access-control-allow-origin", v, sizeof(v)));
    assert_non_null(harness_header(&r, "access-control-allow-methods", v, sizeof(v)));
    assert_non_null(strstr(v, "POST"));
    harness_resp_free(&r);
    assert_int_equal(harness_request(&srv, "GET", "/ok", get, NULL, 0, &r), 0);
    assert_non_null(harness_header(&r, "access-control-expose-headers", v, sizeof(v)));
    assert_non_null(strstr(v, "content-location"));
    assert_non_null(strstr(v, "x-pagination-next"));
    assert_non_null(harness_header(&r, "x-request-id", v, sizeof(v)));
    assert_string_equal(v, "test-req-1");
    harness_resp_free(&r);
    r = req("GET", "/ok", NULL, 200);
    assert_non_null(harness_header(&r, "x-request-id", v, sizeof(v)));
    assert_true(strlen(v) >= 8);
    harness_resp_free(&r);
}

/* The access log is written in batches; wait up to 5 s for the line of one request. */
static void test_access_log_json(void **state)
{
    char line[4096];
    int found = 0;
    (void)state;
    harness_resp_t r = req("GET", "/health?probe=log", NULL, 200);
    harness_resp_free(&r);
    for (int attempt = 0; attempt < 50 && !found; attempt++) {
        FILE *f = fopen(srv.log_path, "r");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f) != NULL) {
            json_t *j = json_loads(line, 0, NULL);
            if (j != NULL && strstr(line, "/health") != NULL && json_object_get(j, "status") != NULL)
                found = 1;
            json_decref(j);
        }
        fclose(f);
        if (!found)
            usleep(100 * 1000);
    }
    assert_true(found);
}

static void test_bad_config(void **state)
{
    char err[4096];
    (void)state;
    static const char *const bad_port[] = {"--port", "abc", NULL};
    int st = harness_run(bad_port, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    assert_non_null(strstr(err, "port"));
    static const char *const bad_flag[] = {"--no-such-flag", NULL};
    st = harness_run(bad_flag, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
    assert_non_null(strstr(err, "no-such-flag"));
    static const char *const no_args[] = {"--port", "1", NULL};
    static const char *const jwt_env[] = {"LGSERVE_AUTH=jwt", NULL};
    st = harness_run(no_args, jwt_env, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "auth mode jwt needs SUPABASE_JWT_SECRET"));
    static const char *const help[] = {"--help", NULL};
    st = harness_run(help, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_graceful_shutdown(void **state)
{
    harness_server_t s2;
    (void)state;
    assert_int_equal(harness_start(&s2, NULL, NULL), 0);
    int st = harness_stop(&s2, 0);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ok),
        cmocka_unit_test(test_health_info),
        cmocka_unit_test(test_openapi_and_docs),
        cmocka_unit_test(test_planned_is_501),
        cmocka_unit_test(test_not_found_and_method),
        cmocka_unit_test(test_bad_uuid_is_422),
        cmocka_unit_test(test_bad_json_and_bad_body),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_query_encodings),
        cmocka_unit_test(test_cors_and_request_id),
        cmocka_unit_test(test_access_log_json),
        cmocka_unit_test(test_bad_config),
        cmocka_unit_test(test_graceful_shutdown),
    };
    return cmocka_run_group_tests_name("conformance_foundation", tests, group_setup, group_teardown);
}
