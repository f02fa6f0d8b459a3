/*
 * runtime/auth/auth_jwt.c — base64url and compact JWT verification for jwt mode (contracts in
 * auth_internal.h). The token's grammar comes from the Ragel scanner (auth_parse.h); signatures
 * are checked with OpenSSL: HMAC-SHA256 with the shared secret, RSASSA-PKCS1-v1_5 and ECDSA
 * P-256 with SHA-256 with a key from the JWKS. The algorithm a token names only selects which of
 * the configured keys may verify it: HS256 uses the secret alone (so a token signed with an RSA
 * public key as an HMAC secret fails), RS256/ES256 only a JWKS key of that type.
 *
 * HMAC contexts are kept per thread, keyed once: re-initialising one without a key reuses the
 * keyed state, which saves the algorithm fetch and key schedule a one-shot HMAC() pays on every
 * call. A context belongs to one policy generation (auth_jwt_policy_t.generation) and is
 * replaced when the policy changes.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include "auth/auth_internal.h"
#include "auth/auth_parse.h"

/* Room for the decoded parts: the header segment is bounded by AUTH_JWT_HEADER_MAX, the whole
 * token by AUTH_JWT_MAX. */
#define JWT_HEADER_BYTES (AUTH_JWT_HEADER_MAX / 4 * 3 + 3)
#define JWT_BODY_BYTES (AUTH_JWT_MAX / 4 * 3 + 3)
#define JWT_SIG_BYTES 512

static const signed char b64url_value[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63, ['_'] = 64,
}; /* value + 1; 0 marks a byte outside the alphabet */

long auth_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    size_t i, n = 0, need = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
    unsigned acc = 0;
    int bits = 0;

    if (len % 4 == 1 || need > cap)
        return -1;
    for (i = 0; i != len; ++i) {
        int v = b64url_value[(unsigned char)in[i]];
        if (v == 0)
            return -1;
        acc = (acc << 6) | (unsigned)(v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    if ((acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)n;
}

/* A thread's keyed HMAC-SHA256 context (malloc'd; freed by the thread-exit destructor). */
typedef struct hmac_slot {
    EVP_MAC_CTX *ctx;
    unsigned long generation;
} hmac_slot_t;

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t hmac_key;
static EVP_MAC *hmac_mac; /* fetched once, never freed */

static void on_hmac_thread_exit(void *p)
{
    hmac_slot_t *slot = p;

    EVP_MAC_CTX_free(slot->ctx);
    free(slot);
}

static void hmac_setup(void)
{
    if (pthread_key_create(&hmac_key, on_hmac_thread_exit) == 0)
        hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

/* HMAC-SHA256 of `msg` with the policy's secret into mac (32 bytes). Returns 0 or -1. */
static int hmac_sha256(const auth_jwt_policy_t *pol, const char *msg, size_t len, unsigned char *mac)
{
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0), OSSL_PARAM_construct_end()};
    hmac_slot_t *slot;
    size_t out = 0;

    pthread_once(&hmac_once, hmac_setup);
    if (hmac_mac == NULL)
        return -1;
    if ((slot = pthread_getspecific(hmac_key)) == NULL) {
        if ((slot = calloc(1, sizeof(*slot))) == NULL)
            return -1;
        if (pthread_setspecific(hmac_key, slot) != 0) {
            free(slot);
            return -1;
        }
    }
    if (slot->ctx == NULL || slot->generation != pol->generation) {
        EVP_MAC_CTX_free(slot->ctx);
        slot->generation = pol->generation;
        if ((slot->ctx = EVP_MAC_CTX_new(hmac_mac)) == NULL || EVP_MAC_init(slot->ctx, pol->secret, pol->secret_len, params) != 1) {
            EVP_MAC_CTX_free(slot->ctx);
            slot->ctx = NULL;
            return -1;
        }
    } else if (EVP_MAC_init(slot->ctx, NULL, 0, NULL) != 1) {
        return -1;
    }
    return EVP_MAC_update(slot->ctx, (const unsigned char *)msg, len) == 1 && EVP_MAC_final(slot->ctx, mac, &out, 32) == 1 &&
                   out == 32
               ? 0
               : -1;
}

/* Parses the JSON object base64url-encoded in [seg, seg+len) using `buf` (cap bytes) for the
 * decoded text. Returns a new reference, or NULL. */
static json_t *decode_object(const char *seg, size_t len, unsigned char *buf, size_t cap)
{
    long n = auth_b64url_decode(seg, len, buf, cap);
    json_t *o;

    if (n <= 0)
        return NULL;
    o = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (o != NULL && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* Verifies an RS256 or ES256 signature `sig` over `msg` with `key`. ES256 signatures are the
 * JWS form r||s (32 bytes each), turned into DER for OpenSSL. Returns 0 when valid. */
static int verify_pkey(EVP_PKEY *key, auth_alg_t alg, const char *msg, size_t msg_len, const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    unsigned char *der = NULL;
    const unsigned char *check = sig;
    size_t check_len = sig_len;
    int rc = -1, der_len;

    if (md == NULL)
        goto Exit;
    if (alg == AUTH_ALG_ES256) {
        if (sig_len != 64 || (es = ECDSA_SIG_new()) == NULL || (r = BN_bin2bn(sig, 32, NULL)) == NULL ||
            (s = BN_bin2bn(sig + 32, 32, NULL)) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
            goto Exit;
        r = s = NULL; /* owned by es now */
        if ((der_len = i2d_ECDSA_SIG(es, &der)) <= 0)
            goto Exit;
        check = der;
        check_len = (size_t)der_len;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) != 1)
        goto Exit;
    rc = EVP_DigestVerify(md, check, check_len, (const unsigned char *)msg, msg_len) == 1 ? 0 : -1;
Exit:
    OPENSSL_free(der);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    EVP_MD_CTX_free(md);
    return rc;
}

/* Checks the signature of a scanned token under the header's algorithm. Returns NULL or why not. */
static const char *check_signature(const auth_jwt_policy_t *pol, json_t *header, const char *tok, const auth_scan_t *sc)
{
    unsigned char sig[JWT_SIG_BYTES], mac[32];
    const char *alg = json_string_value(json_object_get(header, "alg")), *kid, *detail = NULL;
    json_t *kid_v = json_object_get(header, "kid");
    EVP_PKEY *key = NULL;
    auth_alg_t a;
    long sig_len;

    if (alg == NULL)
        return "token header has no alg";
    if (strcasecmp(alg, "none") == 0)
        return "unsigned tokens (alg none) are not accepted";
    if (strcmp(alg, "HS256") == 0)
        a = AUTH_ALG_HS256;
    else if (strcmp(alg, "RS256") == 0)
        a = AUTH_ALG_RS256;
    else if (strcmp(alg, "ES256") == 0)
        a = AUTH_ALG_ES256;
    else
        return "token algorithm is not supported";
    if (json_object_get(header, "crit") != NULL)
        return "token header has critical extensions";
    if (kid_v != NULL && !json_is_string(kid_v))
        return "token kid is not a string";
    kid = json_string_value(kid_v);
    if ((a == AUTH_ALG_HS256 && pol->secret == NULL) || (a != AUTH_ALG_HS256 && !pol->use_jwks))
        return "token algorithm is not the configured one";
    if (sc->part[2].len == 0 || (sig_len = auth_b64url_decode(tok + sc->part[2].at, sc->part[2].len, sig, sizeof(sig))) <= 0)
        return "token signature is malformed";
    if (a == AUTH_ALG_HS256) {
        if (hmac_sha256(pol, tok, sc->part[1].at + sc->part[1].len, mac) != 0 || sig_len != 32 ||
            CRYPTO_memcmp(mac, sig, 32) != 0)
            return "token signature is invalid";
        return NULL;
    }
    if ((key = auth_jwks_key(kid, a, &detail)) == NULL)
        return detail;
    if (verify_pkey(key, a, tok, sc->part[1].at + sc->part[1].len, sig, (size_t)sig_len) != 0)
        detail = "token signature is invalid";
    EVP_PKEY_free(key);
    return detail;
}

/* Whether the `aud` claim (a string or an array of strings) names `want`. */
static int audience_has(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;

    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    return 0;
}

/* Checks the registered claims of a verified payload. Returns NULL or why not. */
static const char *check_claims(const auth_jwt_policy_t *pol, json_t *claims, long long now)
{
    json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf"), *sub = json_object_get(claims, "sub");
    json_t *email = json_object_get(claims, "email");

    if (!json_is_number(exp))
        return "token has no exp claim";
    if ((double)now > json_number_value(exp) + (double)pol->leeway)
        return "token expired";
    if (nbf != NULL && (!json_is_number(nbf) || (double)now + (double)pol->leeway < json_number_value(nbf)))
        return "token is not valid yet";
    if (pol->issuer != NULL && (!json_is_string(json_object_get(claims, "iss")) ||
                                strcmp(json_string_value(json_object_get(claims, "iss")), pol->issuer) != 0))
        return "token issuer is not accepted";
    if (pol->audience != NULL && !audience_has(json_object_get(claims, "aud"), pol->audience))
        return "token audience is not accepted";
    if (!json_is_string(sub) || json_string_length(sub) == 0)
        return "token has no sub claim";
    if (json_string_length(sub) > 255 || strlen(json_string_value(sub)) != json_string_length(sub))
        return "token sub claim is not a usable user id";
    if (email != NULL && !json_is_string(email) && !json_is_null(email))
        return "token email claim is not a string";
    return NULL;
}

const char *auth_jwt_verify(const auth_jwt_policy_t *pol, const char *tok, size_t len, long long now, json_t **payload)
{
    unsigned char buf[JWT_BODY_BYTES];
    const char *detail;
    json_t *header = NULL, *claims = NULL;
    auth_scan_t sc;

    *payload = NULL;
    switch (auth_scan(&sc, AUTH_SCAN_JWT, AUTH_JWT_MAX, tok, len)) {
    case AUTH_SCAN_OK:
        break;
    case AUTH_SCAN_TOO_LONG:
        detail = "token is too long";
        goto Exit;
    default:
        detail = "token is not a JWT";
        goto Exit;
    }
    if ((header = decode_object(tok + sc.part[0].at, sc.part[0].len, buf, JWT_HEADER_BYTES)) == NULL) {
        detail = "token header is malformed";
        goto Exit;
    }
    if ((detail = check_signature(pol, header, tok, &sc)) != NULL)
        goto Exit;
    if ((claims = decode_object(tok + sc.part[1].at, sc.part[1].len, buf, sizeof(buf))) == NULL) {
        detail = "token payload is malformed";
        goto Exit;
    }
    if ((detail = check_claims(pol, claims, now)) != NULL)
        goto Exit;
    *payload = claims;
    claims = NULL;
Exit:
    json_decref(header);
    json_decref(claims);
    return detail;
}

int auth_jwt_peek_exp(const char *tok, size_t len, long long *exp)
{
    unsigned char buf[JWT_BODY_BYTES];
    json_t *claims = NULL, *v;
    auth_scan_t sc;
    int rc = -1;

    if (auth_scan(&sc, AUTH_SCAN_JWT, AUTH_JWT_MAX, tok, len) != AUTH_SCAN_OK ||
        (claims = decode_object(tok + sc.part[1].at, sc.part[1].len, buf, sizeof(buf))) == NULL)
        goto Exit;
    if (json_is_number(v = json_object_get(claims, "exp")) && json_number_value(v) > 0 && json_number_value(v) < 1e15) {
        *exp = (long long)json_number_value(v);
        rc = 0;
    }
Exit:
    json_decref(claims);
    return rc;
}
