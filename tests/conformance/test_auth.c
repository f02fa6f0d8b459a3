/*
 * tests/conformance/test_auth.c — black-box checks of the auth modes against the real binary:
 * in jwt mode (HS256, and RS256/ES256 from a JWKS file) the public paths answer without
 * credentials, every other route answers 401 {"detail"} with WWW-Authenticate without, with a
 * malformed, a forged, an expired or an alg-none token, the same way whether the object exists
 * or not, and 200 with a good token; 404/405 and CORS preflights stay as they are; an oversized
 * header is 431; the token appears in no response and not in the server log (debug level).
 * Also: --auth-metrics, api-key mode, supabase mode against a local mock of /auth/v1/user, and
 * the start-up refusals of incomplete configurations. Tokens and keys are made here.
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
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "../unit/support/auth_fixtures.c"

#define SECRET "conformance-secret-with-at-least-32-characters"

/* Sends `method path` with an Authorization header made of `authorization` (NULL: none) and
 * asserts the status; returns the response. */
static harness_resp_t call(const harness_server_t *s, const char *method, const char *path, const char *authorization,
                           const char *body, long status)
{
    static char hdr[200000];
    const char *headers[] = {hdr, NULL};
    harness_resp_t r;

    if (authorization != NULL)
        snprintf(hdr, sizeof(hdr), "Authorization: %s", authorization);
    assert_int_equal(harness_request(s, method, path, authorization != NULL ? headers : NULL, body, body != NULL ? strlen(body) : 0, &r), 0);
    if (r.status != status)
        fprintf(stderr, "%s %s: got %ld, want %ld: %s\n", method, path, r.status, status, r.body);
    assert_int_equal(r.status, status);
    return r;
}

/* Asserts a 401 refusal: JSON detail, a Bearer challenge, and nothing of `secret_text`. */
static void assert_refusal(harness_resp_t *r, const char *secret_text)
{
    char www[512];

    assert_int_equal(r->status, 401);
    assert_non_null(r->json);
    assert_true(strlen(harness_detail(r)) > 0);
    assert_non_null(harness_header(r, "www-authenticate", www, sizeof(www)));
    assert_true(strncmp(www, "Bearer realm=\"lgserve\"", 22) == 0);
    if (secret_text != NULL) {
        assert_null(strstr(r->body, secret_text));
        assert_null(strstr(r->headers, secret_text));
    }
}

static char *bearer(const char *tok)
{
    static char buf[4][4096];
    static int i;

    i = (i + 1) % 4;
    snprintf(buf[i], sizeof(buf[i]), "Bearer %s", tok);
    return buf[i];
}

/* Reads the whole server log (malloc'd). */
static char *read_log(const harness_server_t *s)
{
    FILE *f = fopen(s->log_path, "rb");
    char *text = calloc(1, 4 << 20);
    size_t n;

    assert_non_null(f);
    n = fread(text, 1, (4 << 20) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static void test_jwt_hs256(void **state)
{
    static const char *const args[] = {"--log-level", "debug", NULL};
    static const char *const env[] = {"SUPABASE_JWT_SECRET=" SECRET, NULL};
    static const char *const public_paths[] = {"/ok", "/health", "/info", "/docs", "/openapi.json", "/metrics", "/metrics/json"};
    char payload[256], path[128], *good, *forged, *expired, *none, *log;
    harness_server_t s;
    harness_resp_t r, missing, other;
    const char *thread_id;
    size_t i;

    (void)state;
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-a\",\"email\":\"a@example.com\",\"exp\":%lld}", (long long)time(NULL) + 3600);
    good = fx_mint("HS256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET, NULL);
    forged = fx_mint("HS256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, "guessed-secret", NULL);
    none = fx_mint("none", "{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL, NULL);
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-a\",\"exp\":%lld}", (long long)time(NULL) - 3600);
    expired = fx_mint("HS256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET, NULL);
    assert_int_equal(harness_start(&s, args, env), 0);

    for (i = 0; i != sizeof(public_paths) / sizeof(public_paths[0]); ++i) {
        r = call(&s, "GET", public_paths[i], NULL, NULL, 200);
        harness_resp_free(&r);
    }
    r = call(&s, "GET", "/.well-known/agent-card.json", NULL, NULL, 501); /* public, not built yet */
    harness_resp_free(&r);
    r = call(&s, "GET", "/info", NULL, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "auth"), "mode")), "jwt");
    harness_resp_free(&r);

    /* with a good token: create a thread and read it back */
    r = call(&s, "POST", "/threads", bearer(good), "{}", 200);
    thread_id = json_string_value(json_object_get(r.json, "thread_id"));
    assert_non_null(thread_id);
    snprintf(path, sizeof(path), "/threads/%s", thread_id);
    harness_resp_free(&r);
    r = call(&s, "GET", path, bearer(good), NULL, 200);
    harness_resp_free(&r);

    /* without or with bad credentials: 401 on every protected route, the same for an object
     * that exists and one that does not */
    missing = call(&s, "GET", path, NULL, NULL, 401);
    assert_refusal(&missing, NULL);
    assert_string_equal(harness_detail(&missing), "Authorization header missing");
    other = call(&s, "GET", "/threads/00000000-0000-4000-8000-000000000000", NULL, NULL, 401);
    assert_string_equal(missing.body, other.body);
    harness_resp_free(&missing);
    harness_resp_free(&other);
    missing = call(&s, "GET", path, bearer(forged), NULL, 401);
    other = call(&s, "GET", "/threads/00000000-0000-4000-8000-000000000000", bearer(forged), NULL, 401);
    assert_refusal(&missing, forged);
    assert_string_equal(missing.body, other.body);
    harness_resp_free(&missing);
    harness_resp_free(&other);
    r = call(&s, "POST", "/threads/search", bearer(expired), "{}", 401);
    assert_refusal(&r, expired);
    assert_non_null(strstr(harness_detail(&r), "expired"));
    harness_resp_free(&r);
    r = call(&s, "POST", "/assistants/search", bearer(none), "{}", 401);
    assert_refusal(&r, none);
    harness_resp_free(&r);
    r = call(&s, "POST", "/store/items/search", "Basic dXNlcjpwYXNz", "{}", 401);
    assert_refusal(&r, "dXNlcjpwYXNz");
    harness_resp_free(&r);
    r = call(&s, "PUT", "/store/items", "Bearer not-a-jwt", "{\"namespace\":[\"a\"],\"key\":\"k\",\"value\":{}}", 401);
    assert_refusal(&r, "not-a-jwt");
    harness_resp_free(&r);
    r = call(&s, "POST", "/runs/wait", NULL, "{\"assistant_id\":\"agent\"}", 401);
    harness_resp_free(&r);
    r = call(&s, "DELETE", path, bearer(forged), NULL, 401);
    harness_resp_free(&r);
    r = call(&s, "GET", path, bearer(good), NULL, 200); /* nothing changed */
    harness_resp_free(&r);
    /* bad credentials are refused before the body is looked at */
    r = call(&s, "POST", "/threads", NULL, "{not json", 401);
    harness_resp_free(&r);

    /* 404 and 405 stay as they are; a CORS preflight needs no credentials */
    r = call(&s, "GET", "/no/such/path", NULL, NULL, 404);
    harness_resp_free(&r);
    r = call(&s, "PUT", "/threads/search", NULL, NULL, 405);
    harness_resp_free(&r);
    r = call(&s, "OPTIONS", "/threads", NULL, NULL, 204);
    harness_resp_free(&r);

    /* oversized: 431 (never 500) */
    {
        char *big = malloc(100001);
        memset(big, 'a', 100000);
        big[100000] = '\0';
        memcpy(big, "Bearer ", 7);
        r = call(&s, "GET", path, big, NULL, 431);
        assert_non_null(r.json);
        harness_resp_free(&r);
        free(big);
    }

    /* the server log (debug level) holds none of the tokens */
    r = call(&s, "GET", "/ok", NULL, NULL, 200);
    harness_resp_free(&r);
    assert_int_equal(WEXITSTATUS(harness_stop(&s, 1)), 0);
    log = read_log(&s);
    assert_non_null(strstr(log, "/threads/search"));
    assert_null(strstr(log, good));
    assert_null(strstr(log, forged));
    assert_null(strstr(log, expired));
    assert_null(strstr(log, none));
    free(log);
    harness_stop(&s, 0);
    free(good);
    free(forged);
    free(expired);
    free(none);
}

/* More than one Authorization header is refused (curl sends both as given). */
static void test_repeated_header(void **state)
{
    static const char *const env[] = {"SUPABASE_JWT_SECRET=" SECRET, NULL};
    char payload[128], h1[2048], *good;
    const char *headers[] = {h1, h1, NULL};
    harness_server_t s;
    harness_resp_t r;

    (void)state;
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-a\",\"exp\":%lld}", (long long)time(NULL) + 3600);
    good = fx_mint("HS256", "{\"alg\":\"HS256\"}", payload, SECRET, NULL);
    snprintf(h1, sizeof(h1), "Authorization: Bearer %s", good);
    assert_int_equal(harness_start(&s, NULL, env), 0);
    assert_int_equal(harness_request(&s, "POST", "/threads/search", headers, "{}", 2, &r), 0);
    assert_int_equal(r.status, 401);
    assert_refusal(&r, good);
    harness_resp_free(&r);
    harness_stop(&s, 0);
    free(good);
}

static void test_jwks_and_metrics(void **state)
{
    static char file_arg[128];
    const char *args[] = {"--jwks-file", file_arg, "--auth-metrics", "--jwt-audience", "authenticated", NULL};
    char payload[256], *rs, *es, *no_aud, *hs;
    EVP_PKEY *rsa = fx_keygen(1), *ec = fx_keygen(0);
    json_t *doc = json_pack("{s:[o,o]}", "keys", fx_jwk(rsa, "r1", "RS256"), fx_jwk(ec, "e1", NULL));
    harness_server_t s;
    harness_resp_t r;
    int fd;

    (void)state;
    strcpy(file_arg, "/tmp/lgserve-jwks-XXXXXX");
    assert_true((fd = mkstemp(file_arg)) >= 0);
    close(fd);
    assert_int_equal(json_dump_file(doc, file_arg, 0), 0);
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-r\",\"aud\":\"authenticated\",\"exp\":%lld}", (long long)time(NULL) + 600);
    rs = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload, NULL, rsa);
    es = fx_mint("ES256", "{\"alg\":\"ES256\",\"kid\":\"e1\"}", payload, NULL, ec);
    hs = fx_mint("HS256", "{\"alg\":\"HS256\",\"kid\":\"r1\"}", payload, "any", NULL);
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-r\",\"exp\":%lld}", (long long)time(NULL) + 600);
    no_aud = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"r1\"}", payload, NULL, rsa);
    assert_int_equal(harness_start(&s, args, NULL), 0);
    r = call(&s, "POST", "/threads/search", bearer(rs), "{}", 200);
    harness_resp_free(&r);
    r = call(&s, "POST", "/threads/search", bearer(es), "{}", 200);
    harness_resp_free(&r);
    r = call(&s, "POST", "/threads/search", bearer(hs), "{}", 401);
    assert_refusal(&r, hs);
    harness_resp_free(&r);
    r = call(&s, "POST", "/threads/search", bearer(no_aud), "{}", 401);
    assert_non_null(strstr(harness_detail(&r), "audience"));
    harness_resp_free(&r);
    /* --auth-metrics: the metrics need credentials, the health checks still do not */
    r = call(&s, "GET", "/metrics", NULL, NULL, 401);
    harness_resp_free(&r);
    r = call(&s, "GET", "/metrics/json", NULL, NULL, 401);
    harness_resp_free(&r);
    r = call(&s, "GET", "/metrics", bearer(es), NULL, 200);
    harness_resp_free(&r);
    r = call(&s, "GET", "/ok", NULL, NULL, 200);
    harness_resp_free(&r);
    harness_stop(&s, 0);
    unlink(file_arg);
    json_decref(doc);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    free(rs);
    free(es);
    free(hs);
    free(no_aud);
}

static void test_api_key_mode(void **state)
{
    static const char *const env[] = {"LGSERVE_API_KEYS=lg-conformance-key-1=alice,lg-conformance-key-2=bob", NULL};
    const char *alice[] = {"x-api-key: lg-conformance-key-1", NULL}, *wrong[] = {"x-api-key: lg-conformance-key-3", NULL};
    const char *two[] = {"x-api-key: lg-conformance-key-2", "x-api-key: lg-conformance-key-1", NULL};
    harness_server_t s;
    harness_resp_t r;

    (void)state;
    assert_int_equal(harness_start(&s, NULL, env), 0);
    r = call(&s, "GET", "/info", NULL, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "auth"), "mode")), "api-key");
    harness_resp_free(&r);
    assert_int_equal(harness_request(&s, "POST", "/threads", alice, "{}", 2, &r), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), "alice");
    harness_resp_free(&r);
    r = call(&s, "POST", "/threads", "Bearer lg-conformance-key-2", "{}", 200);
    harness_resp_free(&r);
    assert_int_equal(harness_request(&s, "POST", "/threads", wrong, "{}", 2, &r), 0);
    assert_refusal(&r, "lg-conformance-key-3");
    harness_resp_free(&r);
    /* two keys, even two valid ones, name no single caller */
    assert_int_equal(harness_request(&s, "POST", "/threads", two, "{}", 2, &r), 0);
    assert_refusal(&r, "lg-conformance-key-1");
    assert_string_equal(harness_detail(&r), "more than one x-api-key header");
    harness_resp_free(&r);
    r = call(&s, "POST", "/threads", NULL, "{}", 401);
    harness_resp_free(&r);
    harness_stop(&s, 0);
}

static void test_supabase_mode(void **state)
{
    static char url_env[128];
    const char *env[] = {url_env, "SUPABASE_KEY=anon-conformance", NULL};
    char payload[128], *good, *bad;
    harness_server_t s;
    harness_resp_t r;
    int i;

    (void)state;
    snprintf(payload, sizeof(payload), "{\"sub\":\"ignored\",\"exp\":%lld}", (long long)time(NULL) + 600);
    good = fx_mint("HS256", "{\"alg\":\"HS256\"}", payload, "project-secret", NULL);
    bad = fx_mint("HS256", "{\"alg\":\"HS256\"}", payload, "other", NULL);
    assert_int_equal(fx_http_start(), 0);
    pthread_mutex_lock(&fx_http.lock);
    fx_http.apikey = "anon-conformance";
    fx_http.good_token = good;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url_env, sizeof(url_env), "SUPABASE_URL=http://127.0.0.1:%d", fx_http.port);
    assert_int_equal(harness_start(&s, NULL, env), 0);
    for (i = 0; i != 3; ++i) {
        r = call(&s, "POST", "/threads", bearer(good), "{}", 200);
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), "supa-user-1");
        harness_resp_free(&r);
    }
    r = call(&s, "POST", "/threads", bearer(bad), "{}", 401);
    assert_refusal(&r, bad);
    harness_resp_free(&r);
    pthread_mutex_lock(&fx_http.lock);
    assert_int_equal(fx_http.user_hits, 2); /* the good token once, then from the cache */
    pthread_mutex_unlock(&fx_http.lock);
    harness_stop(&s, 0);
    fx_http_stop();
    free(good);
    free(bad);
}

static void test_bad_config(void **state)
{
    static const char *const no_secret[] = {"--auth", "jwt", "--port", "1", NULL};
    static const char *const no_keys[] = {"--auth", "api-key", "--port", "1", NULL};
    static const char *const jwks_missing[] = {"--jwks-file", "/nonexistent/jwks.json", "--port", "1", NULL};
    static const char *const short_key[] = {"LGSERVE_API_KEYS=abc=alice", NULL};
    static const char *const port[] = {"--port", "1", NULL};
    char err[4096];
    int st;

    (void)state;
    st = harness_run(no_secret, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "needs SUPABASE_JWT_SECRET"));
    st = harness_run(no_keys, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "needs keys"));
    st = harness_run(jwks_missing, NULL, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "/nonexistent/jwks.json"));
    st = harness_run(port, short_key, 10, err, sizeof(err));
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    assert_non_null(strstr(err, "LGSERVE_API_KEYS"));
    assert_null(strstr(err, "abc"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_hs256),    cmocka_unit_test(test_repeated_header), cmocka_unit_test(test_jwks_and_metrics),
        cmocka_unit_test(test_api_key_mode), cmocka_unit_test(test_supabase_mode),   cmocka_unit_test(test_bad_config),
    };
    harness_init(argc, argv);
    return cmocka_run_group_tests_name("conformance_auth", tests, NULL, NULL);
}
