/*
 * runtime/auth/auth_internal.h — what the files of runtime/auth share and the unit tests
 * reach: base64url, JWT verification, the JWKS key set and the supabase checker. Not for
 * other modules (they use auth.h).
 */
#ifndef LG_AUTH_AUTH_INTERNAL_H
#define LG_AUTH_AUTH_INTERNAL_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "auth/auth.h"

typedef enum auth_alg { AUTH_ALG_HS256, AUTH_ALG_RS256, AUTH_ALG_ES256 } auth_alg_t;

/*
 * Decodes base64url without padding (RFC 4648 §5, RFC 7515 §2) of `len` bytes into `out` (room
 * for `cap` bytes). Rejects other characters, a length of 4n+1 and non-zero unused bits (only
 * the canonical encoding of a value is accepted). Returns the decoded length, or -1.
 */
long auth_b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* A response body libcurl collects for auth (JWKS fetches, supabase checks): `data` malloc'd
 * (the caller frees it), at most `max` bytes — a longer body fails the transfer. */
typedef struct auth_body {
    char *data;
    size_t len, max;
} auth_body_t;

/* CURLOPT_WRITEFUNCTION appending to the auth_body_t given as CURLOPT_WRITEDATA. */
size_t auth_body_write(char *ptr, size_t size, size_t nmemb, void *user);

/* What jwt mode checks, besides the signature (all borrowed). */
typedef struct auth_jwt_policy {
    const unsigned char *secret; /* HS256 key, NULL when HS256 is not configured */
    size_t secret_len;
    int use_jwks;                /* RS256/ES256 through auth_jwks_key */
    const char *issuer;          /* required `iss`, or NULL */
    const char *audience;        /* required `aud` (a string, or a member of the array), or NULL */
    long leeway;                 /* seconds allowed on exp and nbf */
    unsigned long generation;    /* changes whenever the policy does (per-thread HMAC state) */
} auth_jwt_policy_t;

/*
 * Verifies compact JWT `tok` (`len` bytes) under `pol` at time `now` (Unix seconds): grammar,
 * header (alg one the policy has a key for, not "none", no `crit`), signature with that key,
 * then the claims (exp required, nbf, iss, aud, sub a non-empty string). Returns NULL and the
 * payload in *payload (a new reference), or a static message saying what is wrong (never
 * quoting the token) and *payload NULL.
 */
const char *auth_jwt_verify(const auth_jwt_policy_t *pol, const char *tok, size_t len, long long now, json_t **payload);
/* Reads the `exp` claim of a compact JWT without verifying anything (only to bound a cache
 * lifetime). Returns 0 and *exp, or -1 when there is none. */
int auth_jwt_peek_exp(const char *tok, size_t len, long long *exp);

/*
 * The JWKS key set of jwt mode. auth_jwks_load parses a JWKS document (RSA keys of 2048 bits
 * or more and EC P-256 keys; others are skipped) and installs it as the current set; -1 with
 * a message in err when it is not JSON or holds no usable key (the current set stays). The
 * URL refresher, unlike this, installs a fetched JWKS without usable keys (auth_jwks.c).
 */
int auth_jwks_load(const char *json, size_t len, char *err, size_t cap);
/* Starts from `file` or `url` (one of them, borrowed for the process): loads it once now, and
 * for a URL starts a thread refetching it every `refresh_s` seconds. Returns 0 or -1 + err. */
int auth_jwks_start(const char *file, const char *url, int refresh_s, char *err, size_t cap);
/* Stops the refresher and drops the key set. */
void auth_jwks_stop(void);
/* A number that changes whenever the key set does. */
unsigned long auth_jwks_generation(void);
/*
 * The key for a token of algorithm `alg` naming `kid` (NULL: none named, allowed only when the
 * set holds exactly one key). Returns a new reference (EVP_PKEY_free it), or NULL with a
 * static message in *detail (unknown kid, key of another type or algorithm).
 */
EVP_PKEY *auth_jwks_key(const char *kid, auth_alg_t alg, const char **detail);

/*
 * The per-thread cache of verified JWTs (auth_seen.c). auth_seen_get: when `tok` was verified
 * on this thread under the same policy and JWKS generations and its exp/nbf still hold at `now`,
 * returns 1 with *sub and *email (borrowed, valid until the next call on this thread; email may
 * be NULL). auth_seen_put remembers a token auth_jwt_verify accepted with `claims`, verified
 * while the JWKS was at `jwks_generation` (read before verifying).
 */
int auth_seen_get(const auth_jwt_policy_t *pol, const char *tok, size_t len, long long now, const char **sub, const char **email);
void auth_seen_put(const auth_jwt_policy_t *pol, unsigned long jwks_generation, const char *tok, size_t len, json_t *claims);

/* Supabase mode: the checker thread pool and the verdict cache. */
int auth_supabase_start(const char *url, const char *key, int cache_size, char *err, size_t cap);
void auth_supabase_stop(void);
/* Looks `token` up in the cache; on a hit fills *id and *email (malloc'd, caller frees) and returns 1.
 * On a miss starts the check, whose result arrives through `a`, and returns 0. */
int auth_supabase_check(const char *token, size_t len, auth_async_t *a, char **id, char **email);

#endif
