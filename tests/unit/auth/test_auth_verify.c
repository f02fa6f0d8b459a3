/*
 * tests/unit/auth/test_auth_verify.c — unit tests of the auth modes (runtime/auth) through
 * auth_start and auth_authenticate: jwt mode with HS256 and with RS256/ES256 keys from a JWKS
 * file and a JWKS URL (keys generated here with OpenSSL), every way a token must be refused
 * (expired, not yet valid, bad signature, alg none, algorithm confusion, wrong aud/iss, unknown
 * kid, garbage base64, oversized header), api-key mode, and supabase mode against a local mock
 * of GET /auth/v1/user (including its cache).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <h2o/memory.h>

#include "auth/auth.h"
#include "auth/auth_internal.h"
#include "util/config.h"

#include "support/auth_fixtures.c"

#define SECRET "super-secret-jwt-token-with-at-least-32-characters"

static EVP_PKEY *rsa_key, *rsa_other, *ec_key;
static char jwks_path[64];

/* Authenticates `authorization` (NULL: absent) and `api_key` (NULL: absent) under the started
 * mode; fills `v` (user strings in `pool`). Waits for an async verdict (supabase). */
static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done_flag;

static void on_done(auth_async_t *a)
{
    (void)a;
    pthread_mutex_lock(&done_lock);
    done_flag = 1;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
}

static auth_rc_t authenticate(const char *authorization, const char *api_key, h2o_mem_pool_t *pool, auth_verdict_t *v)
{
    auth_credentials_t c = {authorization, authorization != NULL ? strlen(authorization) : 0, api_key,
                            api_key != NULL ? strlen(api_key) : 0};
    auth_async_t a = {.on_done = on_done};
    auth_rc_t rc;

    done_flag = 0;
    memset(v, 0, sizeof(*v));
    if ((rc = auth_authenticate(&c, pool, v, &a)) == AUTH_PENDING) {
        pthread_mutex_lock(&done_lock);
        while (!done_flag)
            pthread_cond_wait(&done_cond, &done_lock);
        pthread_mutex_unlock(&done_lock);
        auth_async_finish(&a, pool, v);
    }
    return rc;
}

/* Asserts that bearer `tok` is refused with a detail containing `why`. */
static void expect_refused(const char *tok, const char *why)
{
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    char hdr[12000];

    h2o_mem_init_pool(&pool);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    authenticate(hdr, NULL, &pool, &v);
    if (v.status != 401 || v.detail == NULL || strstr(v.detail, why) == NULL)
        fail_msg("token %.60s...: want 401 '%s', got %d '%s'", tok, why, v.status, v.detail != NULL ? v.detail : "");
    assert_null(v.user);
    assert_null(strstr(v.detail, tok));
    h2o_mem_clear_pool(&pool);
}

/* Asserts that bearer `tok` is accepted as user `sub`; checks token and email. */
static void expect_user(const char *tok, const char *sub, const char *email)
{
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    char hdr[12000];

    h2o_mem_init_pool(&pool);
    snprintf(hdr, sizeof(hdr), "  bearer %s ", tok);
    authenticate(hdr, NULL, &pool, &v);
    if (v.status != 0)
        fail_msg("token %.60s...: want user %s, got %d '%s'", tok, sub, v.status, v.detail);
    assert_string_equal(v.user->id, sub);
    assert_string_equal(v.user->token, tok);
    if (email != NULL)
        assert_string_equal(v.user->email, email);
    else
        assert_null(v.user->email);
    h2o_mem_clear_pool(&pool);
}

/* A payload with sub, exp = now + exp_in and the extra members `more` ("" or ", ..."). */
static const char *claims(long exp_in, const char *more)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf), "{\"sub\":\"user-a\",\"exp\":%lld%s}", (long long)time(NULL) + exp_in, more);
    return buf;
}

/* Starts auth with a fresh configuration edited by the test. */
static void start(config_t *cfg, const char *mode)
{
    char err[256];

    if (auth_start(cfg, err, sizeof(err)) != 0)
        fail_msg("auth_start(%s): %s", mode, err);
    assert_int_equal(auth_mode(), strcmp(mode, "jwt") == 0        ? AUTH_MODE_JWT
                                  : strcmp(mode, "supabase") == 0 ? AUTH_MODE_SUPABASE
                                                                  : AUTH_MODE_API_KEY);
}

static void base_config(config_t *cfg, const char *mode)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->auth_mode = (char *)mode;
    cfg->jwt_leeway = 30;
    cfg->jwks_refresh = 300;
    cfg->auth_cache_size = 64;
}

static void test_b64url(void **state)
{
    unsigned char out[16];

    (void)state;
    assert_int_equal(auth_b64url_decode("", 0, out, sizeof(out)), 0);
    assert_int_equal(auth_b64url_decode("YQ", 2, out, sizeof(out)), 1);
    assert_int_equal(out[0], 'a');
    assert_int_equal(auth_b64url_decode("YWI", 3, out, sizeof(out)), 2);
    assert_int_equal(auth_b64url_decode("YWJj", 4, out, sizeof(out)), 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(auth_b64url_decode("-_8", 3, out, sizeof(out)), 2);
    assert_int_equal(out[0], 0xfb);
    assert_int_equal(out[1], 0xff);
    assert_int_equal(auth_b64url_decode("YR", 2, out, sizeof(out)), -1);    /* unused bits set */
    assert_int_equal(auth_b64url_decode("YWJjZ", 5, out, sizeof(out)), -1); /* 4n+1 */
    assert_int_equal(auth_b64url_decode("YQ==", 4, out, sizeof(out)), -1);  /* padding */
    assert_int_equal(auth_b64url_decode("Y+8v", 4, out, sizeof(out)), -1);  /* base64, not base64url */
    assert_int_equal(auth_b64url_decode("YWJj", 4, out, 2), -1);            /* no room */
}

static void test_hs256(void **state)
{
    config_t cfg;
    char *tok, big[10000];
    h2o_mem_pool_t pool;
    auth_verdict_t v;

    (void)state;
    base_config(&cfg, "jwt");
    cfg.supabase_jwt_secret = SECRET;
    start(&cfg, "jwt");

    tok = fx_mint("HS256", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims(3600, ", \"email\":\"a@example.com\""), SECRET, NULL);
    expect_user(tok, "user-a", "a@example.com");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(-10, ""), SECRET, NULL); /* inside the leeway */
    expect_user(tok, "user-a", NULL);
    free(tok);

    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(-31, ""), SECRET, NULL);
    expect_refused(tok, "expired");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", "{\"sub\":\"user-a\"}", SECRET, NULL);
    expect_refused(tok, "no exp");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"nbf\": 99999999999"), SECRET, NULL);
    expect_refused(tok, "not valid yet");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"nbf\": \"soon\""), SECRET, NULL);
    expect_refused(tok, "not valid yet");
    free(tok);
    snprintf(big, sizeof(big), "{\"exp\":%lld}", (long long)time(NULL) + 60);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", big, SECRET, NULL);
    expect_refused(tok, "no sub");
    free(tok);
    snprintf(big, sizeof(big), "{\"sub\":\"\",\"exp\":%lld}", (long long)time(NULL) + 60);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", big, SECRET, NULL);
    expect_refused(tok, "no sub");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), "another-secret", NULL);
    expect_refused(tok, "signature is invalid");
    free(tok);
    /* a valid token with one signature character changed */
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), SECRET, NULL);
    tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A';
    expect_refused(tok, "signature");
    free(tok);
    /* alg none, in any case, with and without a signature */
    tok = fx_mint("none", "{\"alg\":\"none\"}", claims(3600, ""), NULL, NULL);
    expect_refused(tok, "alg none");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"NoNe\"}", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "alg none");
    free(tok);
    tok = fx_mint("HS256", "{\"typ\":\"JWT\"}", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "no alg");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS512\"}", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "not supported");
    free(tok);
    /* RS256 while only the secret is configured */
    tok = fx_mint("RS256", "{\"alg\":\"RS256\"}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "not the configured one");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "critical");
    free(tok);
    tok = fx_mint("HS256", "[\"alg\",\"HS256\"]", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "header is malformed");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", "[1,2]", SECRET, NULL);
    expect_refused(tok, "payload is malformed");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\",\"alg\":\"none\"}", claims(3600, ""), SECRET, NULL);
    expect_refused(tok, "header is malformed");
    free(tok);

    /* garbage: not base64url, not canonical, wrong shape */
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0~.c2ln", "not a JWT");
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln+", "not a JWT");
    expect_refused("e.e.e", "header is malformed");
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnZ", "signature is malformed");
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", "not a JWT");
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln.c2ln", "not a JWT");
    expect_refused("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.", "signature is malformed");
    expect_refused("eyJhbGciOiJIUzI1NiJ8.eyJzdWIiOiJ4In0.c2ln", "header is malformed");

    /* the header itself: missing, other scheme, no token, malformed, repeated, oversized */
    h2o_mem_init_pool(&pool);
    authenticate(NULL, NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_null(v.error);
    assert_string_equal(v.detail, "Authorization header missing");
    authenticate("Basic dXNlcjpwYXNz", NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.error, "invalid_request");
    assert_non_null(strstr(v.detail, "Bearer"));
    authenticate("Bearer", NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.detail, "Bearer token missing");
    authenticate("Bearer a b", NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.detail, "Invalid Authorization header format");
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "Bearer ", 7);
    authenticate(big, NULL, &pool, &v);
    assert_int_equal(v.status, 431);
    big[8000] = '\0';
    authenticate(big, NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.detail, "token is not a JWT");
    /* an x-api-key header is no credential in jwt mode */
    authenticate(NULL, "0123456789abcdef", &pool, &v);
    assert_int_equal(v.status, 401);
    h2o_mem_clear_pool(&pool);
    auth_stop();
    assert_int_equal(auth_mode(), AUTH_MODE_NONE);
}

static void test_iss_aud(void **state)
{
    config_t cfg;
    char *tok;

    (void)state;
    base_config(&cfg, "jwt");
    cfg.supabase_jwt_secret = SECRET;
    cfg.jwt_issuer = "https://example.supabase.co/auth/v1";
    cfg.jwt_audience = "authenticated";
    cfg.jwt_leeway = 0;
    start(&cfg, "jwt");
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}",
                  claims(3600, ", \"iss\":\"https://example.supabase.co/auth/v1\", \"aud\":\"authenticated\""), SECRET, NULL);
    expect_user(tok, "user-a", NULL);
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}",
                  claims(3600, ", \"iss\":\"https://example.supabase.co/auth/v1\", \"aud\":[\"x\",\"authenticated\"]"), SECRET, NULL);
    expect_user(tok, "user-a", NULL);
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"iss\":\"https://evil.example/auth/v1\", \"aud\":\"authenticated\""),
                  SECRET, NULL);
    expect_refused(tok, "issuer");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"aud\":\"authenticated\""), SECRET, NULL);
    expect_refused(tok, "issuer");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"iss\":\"https://example.supabase.co/auth/v1\", \"aud\":\"anon\""),
                  SECRET, NULL);
    expect_refused(tok, "audience");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ", \"iss\":\"https://example.supabase.co/auth/v1\""), SECRET, NULL);
    expect_refused(tok, "audience");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}",
                  claims(-1, ", \"iss\":\"https://example.supabase.co/auth/v1\", \"aud\":\"authenticated\""), SECRET, NULL);
    expect_refused(tok, "expired"); /* no leeway */
    free(tok);
    auth_stop();
}

/* Writes the JWKS of the test keys to jwks_path: rsa-1 (RS256), ec-1 (ES256), rsa-2 without
 * alg. Returns the document text (malloc'd). */
static char *write_jwks(void)
{
    json_t *doc = json_pack("{s:[o,o,o,{s:s,s:s}]}", "keys", fx_jwk(rsa_key, "rsa-1", "RS256"), fx_jwk(ec_key, "ec-1", "ES256"),
                            fx_jwk(rsa_other, "rsa-2", NULL), "kty", "oct", "k", "c2VjcmV0");
    char *text = json_dumps(doc, JSON_COMPACT);
    FILE *f = fopen(jwks_path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    json_decref(doc);
    return text;
}

/* The checks every JWKS source must pass (the keys of write_jwks). With `secret_set`, HS256 is
 * configured too (with another secret than the PEM the confusion token is signed with). */
static void check_jwks_tokens(int secret_set)
{
    char *tok, *pem;
    BIO *bio = BIO_new(BIO_s_mem());
    long pem_len;

    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims(3600, ""), NULL, rsa_key);
    expect_user(tok, "user-a", NULL);
    free(tok);
    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-2\"}", claims(3600, ""), NULL, rsa_other);
    expect_user(tok, "user-a", NULL);
    free(tok);
    tok = fx_mint("ES256", "{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", claims(3600, ", \"email\":\"e@x.org\""), NULL, ec_key);
    expect_user(tok, "user-a", "e@x.org");
    free(tok);
    /* signed by another key than the one its kid names */
    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims(3600, ""), NULL, rsa_other);
    expect_refused(tok, "signature is invalid");
    free(tok);
    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-9\"}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "kid is unknown");
    free(tok);
    tok = fx_mint("RS256", "{\"alg\":\"RS256\"}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "no kid");
    free(tok);
    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":7}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "kid is not a string");
    free(tok);
    /* algorithm confusion: ES256 naming an RSA key, RS256 naming the EC key */
    tok = fx_mint("ES256", "{\"alg\":\"ES256\",\"kid\":\"rsa-1\"}", claims(3600, ""), NULL, ec_key);
    expect_refused(tok, "does not match its key");
    free(tok);
    tok = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"ec-1\"}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "does not match its key");
    free(tok);
    /* HS256 signed with the RSA public key (PEM) as the HMAC secret: no secret is configured */
    PEM_write_bio_PUBKEY(bio, rsa_key);
    pem_len = BIO_get_mem_data(bio, &pem);
    pem = strndup(pem, (size_t)pem_len);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\",\"kid\":\"rsa-1\"}", claims(3600, ""), pem, NULL);
    expect_refused(tok, secret_set ? "signature is invalid" : "not the configured one");
    free(tok);
    free(pem);
    BIO_free(bio);
    /* ES256 signature of the wrong size, and expiry through a JWKS key */
    tok = fx_mint("RS256", "{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", claims(3600, ""), NULL, rsa_key);
    expect_refused(tok, "signature is invalid");
    free(tok);
    tok = fx_mint("ES256", "{\"alg\":\"ES256\",\"kid\":\"ec-1\"}", claims(-3600, ""), NULL, ec_key);
    expect_refused(tok, "expired");
    free(tok);
}

static void test_jwks_file(void **state)
{
    config_t cfg;
    char err[256], *text;

    (void)state;
    text = write_jwks();
    base_config(&cfg, "jwt");
    cfg.jwks_file = jwks_path;
    start(&cfg, "jwt");
    check_jwks_tokens(0);
    auth_stop();
    free(text);

    /* a JWKS file without a usable key, a missing file, a document that is not a JWKS */
    FILE *f = fopen(jwks_path, "w");
    fputs("{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}", f);
    fclose(f);
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no usable key"));
    f = fopen(jwks_path, "w");
    fputs("[]", f);
    fclose(f);
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a JWKS"));
    cfg.jwks_file = "/nonexistent/jwks.json";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "--jwks-file /nonexistent/jwks.json"));
    /* jwt mode with nothing to verify with */
    cfg.jwks_file = NULL;
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs SUPABASE_JWT_SECRET"));
    assert_int_equal(auth_mode(), AUTH_MODE_NONE);
}

static void test_jwks_url(void **state)
{
    config_t cfg;
    char url[128], err[256];

    (void)state;
    pthread_mutex_lock(&fx_http.lock);
    fx_http.jwks = write_jwks();
    fx_http.jwks_hits = 0;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", fx_http.port);
    base_config(&cfg, NULL);
    cfg.jwks_url = url;
    cfg.supabase_jwt_secret = SECRET; /* both algorithms families at once */
    start(&cfg, "jwt");
    assert_int_equal(fx_http.jwks_hits, 1);
    check_jwks_tokens(1);
    char *tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), SECRET, NULL);
    expect_user(tok, "user-a", NULL);
    free(tok);
    auth_stop();

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/missing", fx_http.port);
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "HTTP status 404"));
    cfg.jwks_file = jwks_path;
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not both"));
}

/* The per-thread cache of verified tokens (auth_seen.c) never outlives what made the token
 * valid: its exp, the secret it was verified with, or the JWKS key. */
static void test_seen_cache(void **state)
{
    config_t cfg;
    char *tok, *rs, payload[128], *text, err[256], *forged, *dot;
    json_t *doc;

    (void)state;
    base_config(&cfg, "jwt");
    cfg.supabase_jwt_secret = SECRET;
    cfg.jwt_leeway = 0;
    start(&cfg, "jwt");
    snprintf(payload, sizeof(payload), "{\"sub\":\"user-a\",\"exp\":%lld}", (long long)time(NULL) + 1);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", payload, SECRET, NULL);
    expect_user(tok, "user-a", NULL);
    expect_user(tok, "user-a", NULL); /* from the cache */
    sleep(2);
    expect_refused(tok, "expired");
    free(tok);
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), SECRET, NULL);
    expect_user(tok, "user-a", NULL);
    /* same length and signature (so the same cache slot), one byte of the payload changed:
     * only the whole token matches the cached one */
    forged = strdup(tok);
    dot = strchr(forged, '.') + 2;
    *dot = *dot == 'A' ? 'B' : 'A';
    expect_refused(forged, "signature is invalid");
    expect_user(tok, "user-a", NULL);
    free(forged);
    auth_stop();
    cfg.supabase_jwt_secret = "a-new-secret-replacing-the-old-one";
    start(&cfg, "jwt");
    expect_refused(tok, "signature is invalid");
    auth_stop();
    free(tok);

    /* a key that leaves the JWKS takes its cached tokens with it */
    text = write_jwks();
    free(text);
    base_config(&cfg, "jwt");
    cfg.jwks_file = jwks_path;
    start(&cfg, "jwt");
    rs = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims(3600, ""), NULL, rsa_key);
    expect_user(rs, "user-a", NULL);
    expect_user(rs, "user-a", NULL);
    doc = json_pack("{s:[o]}", "keys", fx_jwk(ec_key, "ec-1", NULL));
    text = json_dumps(doc, JSON_COMPACT);
    assert_int_equal(auth_jwks_load(text, strlen(text), err, sizeof(err)), 0);
    expect_refused(rs, "kid is unknown");
    json_decref(doc);
    free(text);
    free(rs);
    auth_stop();
}

/* Waits up to 5 s for bearer `tok` to be accepted (want 1) or refused (want 0). */
static int wait_verdict(const char *tok, int want)
{
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    char hdr[4096];
    int i, ok = 0;

    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    for (i = 0; i != 50 && !ok; ++i) {
        h2o_mem_init_pool(&pool);
        authenticate(hdr, NULL, &pool, &v);
        ok = (v.status == 0) == want;
        h2o_mem_clear_pool(&pool);
        if (!ok)
            usleep(100 * 1000);
    }
    return ok;
}

/* A JWKS URL is fetched again: soon after a token names a kid the set lacks (a rotated key),
 * and every refresh period (a removed key stops verifying). */
static void test_jwks_refresh(void **state)
{
    config_t cfg;
    char url[128], *rot, *old;
    json_t *doc;

    (void)state;
    doc = json_pack("{s:[o]}", "keys", fx_jwk(rsa_key, "rsa-1", "RS256"));
    pthread_mutex_lock(&fx_http.lock);
    free(fx_http.jwks);
    fx_http.jwks = json_dumps(doc, JSON_COMPACT);
    pthread_mutex_unlock(&fx_http.lock);
    json_decref(doc);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks", fx_http.port);
    base_config(&cfg, "jwt");
    cfg.jwks_url = url;
    cfg.jwks_refresh = 1; /* below the configurable minimum, to keep the test short */
    start(&cfg, "jwt");
    old = fx_mint("RS256", "{\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims(3600, ""), NULL, rsa_key);
    rot = fx_mint("ES256", "{\"alg\":\"ES256\",\"kid\":\"rot-1\"}", claims(3600, ""), NULL, ec_key);
    expect_user(old, "user-a", NULL);
    expect_refused(rot, "kid is unknown");
    /* the issuer rotates: the new key is published, the old one withdrawn */
    doc = json_pack("{s:[o]}", "keys", fx_jwk(ec_key, "rot-1", "ES256"));
    pthread_mutex_lock(&fx_http.lock);
    free(fx_http.jwks);
    fx_http.jwks = json_dumps(doc, JSON_COMPACT);
    pthread_mutex_unlock(&fx_http.lock);
    json_decref(doc);
    assert_true(wait_verdict(rot, 1));
    assert_true(wait_verdict(old, 0));
    expect_refused(old, "kid is unknown");
    /* a failing fetch keeps the keys it had */
    pthread_mutex_lock(&fx_http.lock);
    free(fx_http.jwks);
    fx_http.jwks = NULL;
    pthread_mutex_unlock(&fx_http.lock);
    sleep(2);
    expect_user(rot, "user-a", NULL);
    /* the issuer withdraws its last key (or publishes only keys of a kind not supported here):
     * the withdrawn key stops verifying, it is not kept as if the fetch had failed */
    pthread_mutex_lock(&fx_http.lock);
    fx_http.jwks = strdup("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed-1\",\"x\":\"AAAA\"}]}");
    pthread_mutex_unlock(&fx_http.lock);
    assert_true(wait_verdict(rot, 0));
    expect_refused(rot, "kid is unknown");
    auth_stop();
    free(old);
    free(rot);
}

static void test_api_keys(void **state)
{
    config_t cfg;
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    char err[256];
    FILE *f;

    (void)state;
    base_config(&cfg, "api-key");
    cfg.api_keys = " lg-key-alice-0123456789=alice, lg-key-bob-0123456789==bob ";
    start(&cfg, "api-key");
    h2o_mem_init_pool(&pool);
    authenticate(NULL, " lg-key-alice-0123456789 ", &pool, &v);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.user->id, "alice");
    /* an API key is the server's secret, not a user token: graphs (and the tool servers they
     * call) never get it */
    assert_null(v.user->token);
    authenticate("Bearer lg-key-bob-0123456789=", NULL, &pool, &v);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.user->id, "bob");
    authenticate("Bearer lg-key-bob-0123456789", NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    authenticate(NULL, "lg-key-alice-012345678", &pool, &v);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.detail, "Invalid API key");
    authenticate(NULL, "lg-key-alice 0123456789", &pool, &v);
    assert_int_equal(v.status, 401);
    authenticate(NULL, NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_null(v.error);
    /* x-api-key wins over the Authorization header */
    authenticate("Bearer lg-key-bob-0123456789=", "lg-key-alice-0123456789", &pool, &v);
    assert_string_equal(v.user->id, "alice");
    h2o_mem_clear_pool(&pool);
    auth_stop();

    f = fopen(jwks_path, "w");
    fputs("# keys\r\nlg-key-carol-0123456789=carol\r\n\n  lg-key-dave-01234567890 = dave  \n", f);
    fclose(f);
    base_config(&cfg, NULL);
    cfg.api_keys_file = jwks_path;
    start(&cfg, "api-key");
    h2o_mem_init_pool(&pool);
    authenticate(NULL, "lg-key-dave-01234567890", &pool, &v);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.user->id, "dave");
    h2o_mem_clear_pool(&pool);
    auth_stop();

    base_config(&cfg, "api-key");
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "needs keys"));
    cfg.api_keys = "short=alice";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "entry 1"));
    assert_null(strstr(err, "short"));
    cfg.api_keys = "lg-key-alice-0123456789=alice,lg-key-alice-0123456789=eve";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "repeats"));
    cfg.api_keys = "lg-key-alice-0123456789";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not key=user"));
    cfg.api_keys = "lg-key-alice-0123456789=";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "user of entry 1"));
}

static void test_supabase(void **state)
{
    config_t cfg;
    char url[128], *good, *bad, hdr[2048], err[256];
    h2o_mem_pool_t pool;
    auth_verdict_t v;

    (void)state;
    good = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), "the-project-secret", NULL);
    bad = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(3600, ""), "another-secret", NULL);
    pthread_mutex_lock(&fx_http.lock);
    fx_http.apikey = "anon-key";
    fx_http.good_token = good;
    fx_http.user_hits = 0;
    fx_http.user_status = 0;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", fx_http.port);
    base_config(&cfg, NULL);
    cfg.supabase_url = url;
    cfg.supabase_key = "anon-key";
    start(&cfg, "supabase");
    h2o_mem_init_pool(&pool);
    snprintf(hdr, sizeof(hdr), "Bearer %s", good);
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.user->id, "supa-user-1");
    assert_string_equal(v.user->email, "one@example.com");
    assert_string_equal(v.user->token, good);
    assert_int_equal(fx_http.user_hits, 1);
    /* cached: answered at once, the auth server not asked again */
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_DONE);
    assert_int_equal(v.status, 0);
    assert_string_equal(v.user->id, "supa-user-1");
    assert_string_equal(v.user->token, good);
    assert_int_equal(fx_http.user_hits, 1);
    /* refused, and refusals are not cached */
    snprintf(hdr, sizeof(hdr), "Bearer %s", bad);
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(v.status, 401);
    assert_string_equal(v.error, "invalid_token");
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(v.status, 401);
    assert_int_equal(fx_http.user_hits, 3);
    /* the auth server failing: 503, not 401 */
    pthread_mutex_lock(&fx_http.lock);
    fx_http.user_status = 500;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(hdr, sizeof(hdr), "Bearer %s", "opaque-token-not-a-jwt");
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(v.status, 503);
    /* header problems never reach the auth server */
    authenticate(NULL, NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    authenticate("Basic eA==", NULL, &pool, &v);
    assert_int_equal(v.status, 401);
    assert_int_equal(fx_http.user_hits, 4);
    h2o_mem_clear_pool(&pool);
    auth_stop();

    cfg.supabase_url = "ftp://example.org";
    assert_int_equal(auth_start(&cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SUPABASE_URL"));
    free(good);
    free(bad);
}

static int done_count;

static void on_done_count(auth_async_t *a)
{
    (void)a;
    pthread_mutex_lock(&done_lock);
    ++done_count;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
}

/* Checks of one token that arrive while it is being checked wait for that check: the auth
 * server is asked once, and every waiter gets the user. */
static void test_supabase_coalesce(void **state)
{
    config_t cfg;
    char url[128], *tok, hdr[2048];
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    auth_async_t as[3];
    auth_credentials_t c;
    size_t i;

    (void)state;
    tok = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(600, ""), "coalesce", NULL);
    pthread_mutex_lock(&fx_http.lock);
    fx_http.apikey = "anon-key";
    fx_http.good_token = tok;
    fx_http.user_hits = 0;
    fx_http.user_status = 0;
    fx_http.user_delay_ms = 300;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fx_http.port);
    base_config(&cfg, NULL);
    cfg.supabase_url = url;
    cfg.supabase_key = "anon-key";
    start(&cfg, "supabase");
    h2o_mem_init_pool(&pool);
    snprintf(hdr, sizeof(hdr), "Bearer %s", tok);
    c = (auth_credentials_t){hdr, strlen(hdr), NULL, 0};
    done_count = 0;
    for (i = 0; i != 3; ++i) {
        as[i] = (auth_async_t){.on_done = on_done_count};
        assert_int_equal(auth_authenticate(&c, &pool, &v, &as[i]), AUTH_PENDING);
    }
    pthread_mutex_lock(&done_lock);
    while (done_count != 3)
        pthread_cond_wait(&done_cond, &done_lock);
    pthread_mutex_unlock(&done_lock);
    for (i = 0; i != 3; ++i) {
        auth_async_finish(&as[i], &pool, &v);
        assert_int_equal(v.status, 0);
        assert_string_equal(v.user->id, "supa-user-1");
        assert_string_equal(v.user->token, tok);
    }
    pthread_mutex_lock(&fx_http.lock);
    assert_int_equal(fx_http.user_hits, 1);
    fx_http.user_delay_ms = 0;
    pthread_mutex_unlock(&fx_http.lock);
    h2o_mem_clear_pool(&pool);
    auth_stop();
    free(tok);
}

/* Checks still queued when supabase mode stops are answered 503 at once, without asking a slow
 * auth server: only the checks already under way (one per checker thread) reach it. */
static void test_supabase_stop_drains(void **state)
{
    enum { N = 16 };
    config_t cfg;
    char url[128], *tok[N], hdr[N][2048], more[64];
    h2o_mem_pool_t pool;
    auth_verdict_t v;
    auth_async_t as[N];
    auth_credentials_t c;
    int i, refused = 0;

    (void)state;
    pthread_mutex_lock(&fx_http.lock);
    fx_http.apikey = "anon-key";
    fx_http.good_token = NULL;
    fx_http.user_hits = 0;
    fx_http.user_status = 0;
    fx_http.user_delay_ms = 200;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fx_http.port);
    base_config(&cfg, NULL);
    cfg.supabase_url = url;
    cfg.supabase_key = "anon-key";
    start(&cfg, "supabase");
    h2o_mem_init_pool(&pool);
    done_count = 0;
    for (i = 0; i != N; ++i) {
        snprintf(more, sizeof(more), ", \"n\": %d", i);
        tok[i] = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(600, more), "drain", NULL);
        snprintf(hdr[i], sizeof(hdr[i]), "Bearer %s", tok[i]);
        c = (auth_credentials_t){hdr[i], strlen(hdr[i]), NULL, 0};
        as[i] = (auth_async_t){.on_done = on_done_count};
        assert_int_equal(auth_authenticate(&c, &pool, &v, &as[i]), AUTH_PENDING);
    }
    auth_stop();
    assert_int_equal(done_count, N);
    for (i = 0; i != N; ++i) {
        auth_async_finish(&as[i], &pool, &v);
        assert_int_not_equal(v.status, 0);
        if (v.status == 503 && strstr(v.detail, "not answering in time") != NULL)
            ++refused;
        free(tok[i]);
    }
    pthread_mutex_lock(&fx_http.lock);
    assert_true(fx_http.user_hits <= 4);
    assert_true(refused >= N - 4);
    fx_http.user_delay_ms = 0;
    pthread_mutex_unlock(&fx_http.lock);
    h2o_mem_clear_pool(&pool);
}

/* An expired token is not cached in supabase mode: each use asks the auth server. */
static void test_supabase_cache_lifetime(void **state)
{
    config_t cfg;
    char url[128], *expired, hdr[2048];
    h2o_mem_pool_t pool;
    auth_verdict_t v;

    (void)state;
    expired = fx_mint("HS256", "{\"alg\":\"HS256\"}", claims(-100, ""), "s", NULL);
    pthread_mutex_lock(&fx_http.lock);
    fx_http.good_token = expired; /* the mock accepts it: only the cache lifetime is tested */
    fx_http.user_hits = 0;
    fx_http.user_status = 0;
    pthread_mutex_unlock(&fx_http.lock);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", fx_http.port);
    base_config(&cfg, NULL);
    cfg.supabase_url = url;
    cfg.supabase_key = "anon-key";
    start(&cfg, "supabase");
    h2o_mem_init_pool(&pool);
    snprintf(hdr, sizeof(hdr), "Bearer %s", expired);
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(v.status, 0);
    assert_int_equal(authenticate(hdr, NULL, &pool, &v), AUTH_PENDING);
    assert_int_equal(fx_http.user_hits, 2);
    h2o_mem_clear_pool(&pool);
    auth_stop();
    free(expired);
}

static int setup(void **state)
{
    int fd;

    (void)state;
    rsa_key = fx_keygen(1);
    rsa_other = fx_keygen(1);
    ec_key = fx_keygen(0);
    strcpy(jwks_path, "/tmp/lgserve-auth-XXXXXX");
    if ((fd = mkstemp(jwks_path)) < 0)
        return -1;
    close(fd);
    return rsa_key != NULL && rsa_other != NULL && ec_key != NULL && fx_http_start() == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    auth_stop();
    fx_http_stop();
    unlink(jwks_path);
    EVP_PKEY_free(rsa_key);
    EVP_PKEY_free(rsa_other);
    EVP_PKEY_free(ec_key);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64url),   cmocka_unit_test(test_hs256),    cmocka_unit_test(test_iss_aud),
        cmocka_unit_test(test_jwks_file), cmocka_unit_test(test_jwks_url), cmocka_unit_test(test_jwks_refresh), cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_supabase), cmocka_unit_test(test_supabase_cache_lifetime),
        cmocka_unit_test(test_supabase_coalesce), cmocka_unit_test(test_supabase_stop_drains), cmocka_unit_test(test_seen_cache),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
