/*
 * tests/unit/support/auth_fixtures.c — what the auth tests need around the server: JWTs minted
 * with keys generated in the test (HS256, RS256, ES256 through OpenSSL), JWKs of those keys,
 * and a tiny HTTP/1.1 server on a loopback port (one thread, one request per connection) that
 * serves a JWKS document and mocks GET /auth/v1/user of a Supabase auth server. A test program
 * includes this file directly, so everything is static.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

/* base64url without padding of `len` bytes into `out` (room for 4/3 len + 4). */
static void fx_b64url(const unsigned char *in, size_t len, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, n = 0;

    for (i = 0; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[n++] = a[v >> 18];
        out[n++] = a[(v >> 12) & 63];
        out[n++] = a[(v >> 6) & 63];
        out[n++] = a[v & 63];
    }
    if (len - i == 1) {
        out[n++] = a[in[i] >> 2];
        out[n++] = a[(in[i] & 3) << 4];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 8 | in[i + 1];
        out[n++] = a[v >> 10];
        out[n++] = a[(v >> 4) & 63];
        out[n++] = a[(v & 15) << 2];
    }
    out[n] = '\0';
}

/* Generates an RSA-2048 or EC P-256 key pair. Caller frees. */
static EVP_PKEY *fx_keygen(int rsa)
{
    return rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
}

/*
 * Mints a compact JWS: `header` and `payload` are JSON texts, signed with `alg` ("HS256" with
 * `secret`, "RS256"/"ES256" with `key`, anything else: empty signature). Returns a malloc'd
 * string. The header text is used as given, so tests can put any alg or kid in it.
 */
static char *fx_mint(const char *alg, const char *header, const char *payload, const char *secret, EVP_PKEY *key)
{
    size_t hl = strlen(header), pl = strlen(payload);
    char *tok = malloc((hl + pl) * 2 + 1024);
    unsigned char sig[600];
    size_t sig_len = 0, n;

    fx_b64url((const unsigned char *)header, hl, tok);
    n = strlen(tok);
    tok[n++] = '.';
    fx_b64url((const unsigned char *)payload, pl, tok + n);
    n += strlen(tok + n);
    if (strcmp(alg, "HS256") == 0) {
        unsigned l = 0;
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)tok, n, sig, &l);
        sig_len = l;
    } else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char der[600];
        size_t der_len = sizeof(der);
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key);
        EVP_DigestSign(md, der, &der_len, (unsigned char *)tok, n);
        EVP_MD_CTX_free(md);
        if (strcmp(alg, "RS256") == 0) {
            memcpy(sig, der, der_len);
            sig_len = der_len;
        } else {
            const unsigned char *p = der;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
            BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
            ECDSA_SIG_free(es);
            sig_len = 64;
        }
    }
    tok[n++] = '.';
    fx_b64url(sig, sig_len, tok + n);
    return tok;
}

/* The public JWK of `key` with `kid` (NULL: none) and `alg` (NULL: none), as a new object. */
static json_t *fx_jwk(EVP_PKEY *key, const char *kid, const char *alg)
{
    unsigned char buf[600];
    char b64[900];
    json_t *jwk = json_object();

    if (EVP_PKEY_is_a(key, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
        json_object_set_new(jwk, "kty", json_string("RSA"));
        fx_b64url(buf, (size_t)BN_bn2bin(n, buf), b64);
        json_object_set_new(jwk, "n", json_string(b64));
        fx_b64url(buf, (size_t)BN_bn2bin(e, buf), b64);
        json_object_set_new(jwk, "e", json_string(b64));
        BN_free(n);
        BN_free(e);
    } else {
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len);
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string("P-256"));
        fx_b64url(buf + 1, 32, b64);
        json_object_set_new(jwk, "x", json_string(b64));
        fx_b64url(buf + 33, 32, b64);
        json_object_set_new(jwk, "y", json_string(b64));
    }
    if (kid != NULL)
        json_object_set_new(jwk, "kid", json_string(kid));
    if (alg != NULL)
        json_object_set_new(jwk, "alg", json_string(alg));
    json_object_set_new(jwk, "use", json_string("sig"));
    return jwk;
}

/* The tiny HTTP server. */
static struct {
    int fd, port;
    pthread_t thread;
    pthread_mutex_t lock;
    char *jwks;             /* body of GET /jwks (malloc'd), NULL: 404 */
    int jwks_hits, user_hits;
    const char *apikey;     /* the apikey /auth/v1/user wants */
    const char *good_token; /* the bearer token /auth/v1/user accepts */
    int user_status;        /* forced status of /auth/v1/user (0: normal) */
    int user_delay_ms;      /* /auth/v1/user answers after this delay */
} fx_http = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

/* Answers one connection: reads the request head, writes the response, closes. */
static void fx_http_answer(int c)
{
    char req[16384], resp[20000], want[512];
    const char *body = "{\"detail\":\"not found\"}";
    size_t n = 0;
    ssize_t r;
    int status = 404;

    while (n < sizeof(req) - 1 && (r = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n") != NULL)
            break;
    }
    req[n] = '\0';
    pthread_mutex_lock(&fx_http.lock);
    if (strncmp(req, "GET /jwks ", 10) == 0) {
        ++fx_http.jwks_hits;
        if (fx_http.jwks != NULL) {
            status = 200;
            body = fx_http.jwks;
        }
    } else if (strncmp(req, "GET /auth/v1/user ", 18) == 0) {
        ++fx_http.user_hits;
        if (fx_http.user_delay_ms != 0) {
            int ms = fx_http.user_delay_ms;
            pthread_mutex_unlock(&fx_http.lock);
            usleep((useconds_t)ms * 1000);
            pthread_mutex_lock(&fx_http.lock);
        }
        snprintf(want, sizeof(want), "Authorization: Bearer %s\r\n", fx_http.good_token != NULL ? fx_http.good_token : "");
        status = 401;
        body = "{\"msg\":\"invalid JWT\"}";
        if (fx_http.user_status != 0) {
            status = fx_http.user_status;
            body = "{}";
        } else if (strstr(req, want) != NULL && fx_http.apikey != NULL) {
            snprintf(want, sizeof(want), "apikey: %s\r\n", fx_http.apikey);
            if (strstr(req, want) != NULL) {
                status = 200;
                body = "{\"id\":\"supa-user-1\",\"email\":\"one@example.com\",\"aud\":\"authenticated\"}";
            }
        }
    }
    n = (size_t)snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         status, strlen(body), body);
    pthread_mutex_unlock(&fx_http.lock);
    if (write(c, resp, n) < 0)
        perror("fx_http write");
    close(c);
}

static void *fx_http_thread(void *arg)
{
    int c;

    (void)arg;
    while ((c = accept(fx_http.fd, NULL, NULL)) >= 0)
        fx_http_answer(c);
    return NULL;
}

/* Starts the server on a free loopback port (fx_http.port). Returns 0 or -1. */
static int fx_http_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);

    if ((fx_http.fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(fx_http.fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fx_http.fd, 64) != 0 || getsockname(fx_http.fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    fx_http.port = ntohs(a.sin_port);
    return pthread_create(&fx_http.thread, NULL, fx_http_thread, NULL) == 0 ? 0 : -1;
}

/* Stops the server: shuts the socket down, which ends accept, and joins the thread. */
static void fx_http_stop(void)
{
    if (fx_http.fd < 0)
        return;
    shutdown(fx_http.fd, SHUT_RDWR);
    close(fx_http.fd);
    pthread_join(fx_http.thread, NULL);
    fx_http.fd = -1;
    free(fx_http.jwks);
    fx_http.jwks = NULL;
}
