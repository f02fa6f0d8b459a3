/*
 * runtime/auth/auth_jwks.c — the JWKS key set of jwt mode (contracts in auth_internal.h): a
 * JWKS document (RFC 7517) parsed into OpenSSL public keys, read from a file once or fetched
 * from a URL with libcurl at start and then by a refresher thread every --jwks-refresh seconds
 * (sooner, at most every JWKS_MIN_GAP seconds or the refresh period if shorter, when a token
 * names a kid the set lacks: the
 * issuer may have rotated its keys). The event loops never wait on the network: a lookup only
 * takes the mutex around the current set and an extra reference to the key.
 *
 * A refresh that fails (network, HTTP status, not a JWKS document) keeps the current keys. A
 * refreshed document that is a JWKS but holds no key this server can use (the issuer withdrew
 * them all, or moved to a kind not supported here) replaces the set all the same: a withdrawn
 * key must stop verifying, so tokens are then refused until usable keys are published. Only
 * the first load, at start, insists on a usable key (a configuration error).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include "auth/auth_internal.h"
#include "util/log.h"

#define JWKS_MAX_BYTES (1 << 20)
#define JWKS_MAX_KEYS 64
#define JWKS_FETCH_TIMEOUT_S 10L
/* Fewest seconds between two fetches, and the retry delay after a failed one. */
#define JWKS_MIN_GAP 10
#define JWKS_RSA_MIN_BITS 2048

typedef struct jwks_key {
    char *kid; /* malloc'd, NULL when the JWK has none */
    auth_alg_t alg;
    EVP_PKEY *pkey; /* one reference owned */
} jwks_key_t;

typedef struct jwks_set {
    jwks_key_t keys[JWKS_MAX_KEYS];
    size_t n;
} jwks_set_t;

static struct {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    jwks_set_t *set; /* the current set (malloc'd), NULL when none */
    const char *url; /* borrowed from the configuration */
    int refresh_s;
    int stop, want_refresh, running;
    time_t last_fetch;
    pthread_t thread;
} jwks = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* Bumped (under jwks.lock) whenever the current set changes; read without the lock. */
static _Atomic unsigned long jwks_generation;

unsigned long auth_jwks_generation(void)
{
    return jwks_generation;
}

static void set_free(jwks_set_t *set)
{
    size_t i;

    if (set == NULL)
        return;
    for (i = 0; i != set->n; ++i) {
        free(set->keys[i].kid);
        EVP_PKEY_free(set->keys[i].pkey);
    }
    free(set);
}

/* Decodes base64url member `name` of `jwk` into a new BIGNUM, or NULL. With `fixed` non-zero
 * the value must decode to exactly that many bytes. */
static BIGNUM *member_bn(json_t *jwk, const char *name, size_t fixed)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    unsigned char buf[1024];
    long n;

    if (s == NULL || (n = auth_b64url_decode(s, strlen(s), buf, sizeof(buf))) <= 0 || (fixed != 0 && (size_t)n != fixed))
        return NULL;
    return BN_bin2bn(buf, (int)n, NULL);
}

/* Builds the public key of an RSA JWK (n, e), or NULL when it is malformed or too small. */
static EVP_PKEY *rsa_key(json_t *jwk)
{
    BIGNUM *n = member_bn(jwk, "n", 0), *e = member_bn(jwk, "e", 0);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *key = NULL;

    if (n == NULL || e == NULL || bld == NULL || ctx == NULL || BN_num_bits(n) < JWKS_RSA_MIN_BITS ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1 ||
        (params = OSSL_PARAM_BLD_to_param(bld)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_free(n);
    BN_free(e);
    return key;
}

/* Builds the public key of an EC P-256 JWK (x, y), or NULL when it is malformed or not on
 * the curve. */
static EVP_PKEY *ec_key(json_t *jwk)
{
    const char *crv = json_string_value(json_object_get(jwk, "crv")), *x = json_string_value(json_object_get(jwk, "x")),
               *y = json_string_value(json_object_get(jwk, "y"));
    unsigned char point[65];
    OSSL_PARAM params[3];
    EVP_PKEY_CTX *ctx = NULL, *check = NULL;
    EVP_PKEY *key = NULL;

    if (crv == NULL || strcmp(crv, "P-256") != 0 || x == NULL || y == NULL ||
        auth_b64url_decode(x, strlen(x), point + 1, 32) != 32 || auth_b64url_decode(y, strlen(y), point + 33, 32) != 32)
        goto Exit;
    point[0] = 0x04; /* uncompressed point */
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
    params[2] = OSSL_PARAM_construct_end();
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        goto Exit;
    if ((check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL || EVP_PKEY_public_check(check) != 1) {
        EVP_PKEY_free(key);
        key = NULL;
    }
Exit:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* Parses a JWKS document into a new set (caller frees), or NULL with err filled. A document
 * without a usable key is an error unless `allow_empty` (the set then has n == 0). */
static jwks_set_t *set_parse(const char *text, size_t len, int allow_empty, char *err, size_t cap)
{
    json_t *doc = json_loadb(text, len, 0, NULL), *jwk;
    jwks_set_t *set = NULL;
    size_t i;

    if (!json_is_array(json_object_get(doc, "keys"))) {
        snprintf(err, cap, "not a JWKS document (an object with a \"keys\" array)");
        goto Exit;
    }
    if ((set = calloc(1, sizeof(*set))) == NULL) {
        snprintf(err, cap, "out of memory");
        goto Exit;
    }
    json_array_foreach(json_object_get(doc, "keys"), i, jwk) {
        const char *kty = json_string_value(json_object_get(jwk, "kty")), *alg = json_string_value(json_object_get(jwk, "alg")),
                   *use = json_string_value(json_object_get(jwk, "use")), *kid = json_string_value(json_object_get(jwk, "kid"));
        jwks_key_t *k = &set->keys[set->n];
        if (set->n == JWKS_MAX_KEYS || kty == NULL || (use != NULL && strcmp(use, "sig") != 0))
            continue;
        if (strcmp(kty, "RSA") == 0 && (alg == NULL || strcmp(alg, "RS256") == 0)) {
            k->alg = AUTH_ALG_RS256;
            k->pkey = rsa_key(jwk);
        } else if (strcmp(kty, "EC") == 0 && (alg == NULL || strcmp(alg, "ES256") == 0)) {
            k->alg = AUTH_ALG_ES256;
            k->pkey = ec_key(jwk);
        }
        if (k->pkey == NULL)
            continue;
        if (kid != NULL && (k->kid = strdup(kid)) == NULL) {
            EVP_PKEY_free(k->pkey);
            k->pkey = NULL;
            continue;
        }
        ++set->n;
    }
    if (set->n == 0 && !allow_empty) {
        snprintf(err, cap, "no usable key (RSA of %d bits or more for RS256, EC P-256 for ES256)", JWKS_RSA_MIN_BITS);
        set_free(set);
        set = NULL;
    }
Exit:
    json_decref(doc);
    return set;
}

/* Parses `json` and installs it as the current set (see set_parse). Returns 0 or -1 + err. */
static int install(const char *json, size_t len, int allow_empty, char *err, size_t cap)
{
    jwks_set_t *set = set_parse(json, len, allow_empty, err, cap), *old;

    if (set == NULL)
        return -1;
    if (set->n == 0)
        log_warn("auth: the refreshed JWKS holds no usable key: every token is refused until one is published");
    pthread_mutex_lock(&jwks.lock);
    old = jwks.set;
    jwks.set = set;
    ++jwks_generation;
    pthread_mutex_unlock(&jwks.lock);
    set_free(old);
    return 0;
}

int auth_jwks_load(const char *json, size_t len, char *err, size_t cap)
{
    return install(json, len, 0, err, cap);
}

EVP_PKEY *auth_jwks_key(const char *kid, auth_alg_t alg, const char **detail)
{
    EVP_PKEY *key = NULL;
    jwks_key_t *k = NULL;
    size_t i;

    pthread_mutex_lock(&jwks.lock);
    if (jwks.set == NULL) {
        *detail = "no JWKS keys are loaded";
        goto Exit;
    }
    if (kid == NULL) {
        if (jwks.set->n != 1) {
            *detail = "token has no kid";
            goto Exit;
        }
        k = &jwks.set->keys[0];
    }
    for (i = 0; k == NULL && i != jwks.set->n; ++i)
        if (jwks.set->keys[i].kid != NULL && strcmp(jwks.set->keys[i].kid, kid) == 0)
            k = &jwks.set->keys[i];
    if (k == NULL) {
        *detail = "token kid is unknown";
        if (jwks.url != NULL) {
            jwks.want_refresh = 1;
            pthread_cond_signal(&jwks.wake);
        }
        goto Exit;
    }
    if (k->alg != alg) {
        *detail = "token algorithm does not match its key";
        goto Exit;
    }
    if (EVP_PKEY_up_ref(k->pkey) == 1)
        key = k->pkey;
    else
        *detail = "out of memory";
Exit:
    pthread_mutex_unlock(&jwks.lock);
    return key;
}

size_t auth_body_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    auth_body_t *b = user;
    size_t n = size * nmemb;
    char *grown;

    if (n > b->max - b->len || (grown = realloc(b->data, b->len + n)) == NULL)
        return 0;
    memcpy(grown + b->len, ptr, n);
    b->data = grown;
    b->len += n;
    return n;
}

/* Fetches the JWKS at `url` and installs it (one without usable keys too when `allow_empty`).
 * Returns 0 or -1 + err. Blocks (never on a loop). */
static int fetch_url(const char *url, int allow_empty, char *err, size_t cap)
{
    CURL *curl = curl_easy_init();
    auth_body_t b = {.max = JWKS_MAX_BYTES};
    char cerr[CURL_ERROR_SIZE] = "";
    long status = 0;
    int rc = -1;

    if (curl == NULL) {
        snprintf(err, cap, "out of memory");
        goto Exit;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, JWKS_FETCH_TIMEOUT_S);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, auth_body_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(curl) != CURLE_OK) {
        snprintf(err, cap, "%s", cerr[0] != '\0' ? cerr : "transfer failed");
        goto Exit;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(err, cap, "HTTP status %ld", status);
        goto Exit;
    }
    rc = install(b.data != NULL ? b.data : "", b.len, allow_empty, err, cap);
Exit:
    free(b.data);
    curl_easy_cleanup(curl);
    return rc;
}

/* The refresher thread: refetches the URL every refresh_s seconds, sooner when asked. */
static void *on_refresh_thread(void *arg)
{
    char err[256];
    int failed = 0, gap;

    (void)arg;
    pthread_mutex_lock(&jwks.lock);
    gap = jwks.refresh_s < JWKS_MIN_GAP ? jwks.refresh_s : JWKS_MIN_GAP;
    while (!jwks.stop) {
        struct timespec until;
        time_t now = time(NULL), due = jwks.last_fetch + (failed ? gap : jwks.refresh_s);
        if (jwks.want_refresh && now - jwks.last_fetch >= gap)
            due = now;
        if (now < due) {
            if (jwks.want_refresh && due > jwks.last_fetch + gap)
                due = jwks.last_fetch + gap;
            until.tv_sec = due;
            until.tv_nsec = 0;
            pthread_cond_timedwait(&jwks.wake, &jwks.lock, &until);
            continue;
        }
        jwks.want_refresh = 0;
        jwks.last_fetch = now;
        pthread_mutex_unlock(&jwks.lock);
        failed = fetch_url(jwks.url, 1, err, sizeof(err)) != 0;
        if (failed)
            log_warn("auth: refreshing the JWKS from %s failed: %s (keeping the current keys)", jwks.url, err);
        pthread_mutex_lock(&jwks.lock);
    }
    pthread_mutex_unlock(&jwks.lock);
    return NULL;
}

/* Reads and installs the JWKS file `path`. Returns 0 or -1 + err. */
static int load_file(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL, why[200];
    size_t n = 0;
    int rc = -1;

    if (f == NULL) {
        snprintf(err, cap, "--jwks-file %s: %s", path, strerror(errno));
        goto Exit;
    }
    if ((text = malloc(JWKS_MAX_BYTES + 1)) == NULL) {
        snprintf(err, cap, "out of memory");
        goto Exit;
    }
    n = fread(text, 1, JWKS_MAX_BYTES + 1, f);
    if (ferror(f) || n > JWKS_MAX_BYTES) {
        snprintf(err, cap, "--jwks-file %s: %s", path, ferror(f) ? "read error" : "larger than 1 MiB");
        goto Exit;
    }
    if ((rc = auth_jwks_load(text, n, why, sizeof(why))) != 0)
        snprintf(err, cap, "--jwks-file %s: %s", path, why);
Exit:
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

int auth_jwks_start(const char *file, const char *url, int refresh_s, char *err, size_t cap)
{
    char why[200];
    int rc;

    if (file != NULL)
        return load_file(file, err, cap);
    if (fetch_url(url, 0, why, sizeof(why)) != 0) {
        snprintf(err, cap, "--jwks-url %s: %s", url, why);
        return -1;
    }
    pthread_mutex_lock(&jwks.lock);
    jwks.url = url;
    jwks.refresh_s = refresh_s;
    jwks.stop = jwks.want_refresh = 0;
    jwks.last_fetch = time(NULL);
    pthread_mutex_unlock(&jwks.lock);
    if ((rc = pthread_create(&jwks.thread, NULL, on_refresh_thread, NULL)) != 0) {
        snprintf(err, cap, "cannot start the JWKS refresher: %s", strerror(rc));
        return -1;
    }
    jwks.running = 1;
    return 0;
}

void auth_jwks_stop(void)
{
    jwks_set_t *old;

    if (jwks.running) {
        pthread_mutex_lock(&jwks.lock);
        jwks.stop = 1;
        pthread_cond_signal(&jwks.wake);
        pthread_mutex_unlock(&jwks.lock);
        pthread_join(jwks.thread, NULL);
        jwks.running = 0;
    }
    pthread_mutex_lock(&jwks.lock);
    old = jwks.set;
    jwks.set = NULL;
    jwks.url = NULL;
    ++jwks_generation;
    pthread_mutex_unlock(&jwks.lock);
    set_free(old);
}
