/*
 * runtime/auth/auth.c — the auth modes' set-up and the per-request check (contracts in auth.h):
 * reads the credentials with the Ragel scanners (auth_parse.h), verifies them the active mode's
 * way (auth_jwt.c, auth_jwks.c, auth_supabase.c, or the API key table here) and builds the
 * caller's auth_user_t in the request pool.
 *
 * API keys are kept as SHA-256 digests; a presented key is hashed once and compared with every
 * configured digest with CRYPTO_memcmp, without stopping at a match, so the time taken says
 * nothing about which key, or how much of one, matched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <h2o/memory.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "auth/auth_internal.h"
#include "auth/auth_parse.h"
#include "util/config.h"

/* The shortest API key accepted in the configuration, and the longest user id. */
#define AUTH_KEY_MIN 16
#define AUTH_USER_MAX 255
/* Largest API keys file read. */
#define AUTH_KEYS_FILE_MAX (1 << 20)

typedef struct auth_key {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    char *user; /* malloc'd */
} auth_key_t;

static struct {
    auth_mode_t mode;
    int protect_metrics;
    auth_jwt_policy_t jwt;
    auth_key_t *keys; /* malloc'd array of n_keys */
    size_t n_keys;
} auth_state;

auth_mode_t auth_mode(void)
{
    return auth_state.mode;
}

int auth_protects_metrics(void)
{
    return auth_state.protect_metrics;
}

/* Whether optional string setting `s` is set. */
static int is_set(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Adds the entries of `list` ("key=user" separated by commas or line ends, the key split off at
 * the last '=', blanks around key and user ignored; blank entries and lines starting with '#'
 * skipped) to the key table. `what` names the source in messages.
 * Returns 0, or -1 with a message that never quotes a key. */
static int add_keys(const char *list, const char *what, char *err, size_t cap)
{
    const char *p = list;
    size_t entry = 0;

    while (*p != '\0') {
        const char *end = p + strcspn(p, ",\n"), *s = p, *e = end, *eq;
        auth_scan_t sc;
        auth_key_t *grown;
        size_t i;

        p = *end != '\0' ? end + 1 : end;
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\r'))
            ++s;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
            --e;
        if (s == e || *s == '#')
            continue;
        ++entry;
        for (eq = e; eq > s && eq[-1] != '='; --eq)
            ;
        if (eq == s) {
            snprintf(err, cap, "%s: entry %zu is not key=user", what, entry);
            return -1;
        }
        if (auth_scan(&sc, AUTH_SCAN_KEY, AUTH_KEY_MAX, s, (size_t)(eq - 1 - s)) != AUTH_SCAN_OK || sc.part[0].len < AUTH_KEY_MIN) {
            snprintf(err, cap, "%s: the key of entry %zu must be %d to %d printable characters without spaces", what, entry,
                     AUTH_KEY_MIN, AUTH_KEY_MAX);
            return -1;
        }
        while (eq < e && (*eq == ' ' || *eq == '\t'))
            ++eq;
        if (e == eq || e - eq > AUTH_USER_MAX) {
            snprintf(err, cap, "%s: the user of entry %zu must be 1 to %d characters", what, entry, AUTH_USER_MAX);
            return -1;
        }
        if ((grown = realloc(auth_state.keys, (auth_state.n_keys + 1) * sizeof(*grown))) == NULL)
            goto NoMem;
        auth_state.keys = grown;
        SHA256((const unsigned char *)s + sc.part[0].at, sc.part[0].len, grown[auth_state.n_keys].digest);
        for (i = 0; i != auth_state.n_keys; ++i)
            if (memcmp(grown[i].digest, grown[auth_state.n_keys].digest, SHA256_DIGEST_LENGTH) == 0) {
                snprintf(err, cap, "%s: entry %zu repeats an earlier key", what, entry);
                return -1;
            }
        if ((grown[auth_state.n_keys].user = strndup(eq, (size_t)(e - eq))) == NULL)
            goto NoMem;
        ++auth_state.n_keys;
    }
    return 0;
NoMem:
    snprintf(err, cap, "out of memory");
    return -1;
}

/* Reads the API keys file `path` into the key table. Returns 0 or -1 + err. */
static int add_keys_file(const char *path, char *err, size_t cap)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL, what[300];
    size_t n;
    int rc = -1;

    snprintf(what, sizeof(what), "--api-keys-file %s", path);
    if (f == NULL) {
        snprintf(err, cap, "%s: %s", what, strerror(errno));
        goto Exit;
    }
    if ((text = malloc(AUTH_KEYS_FILE_MAX + 1)) == NULL) {
        snprintf(err, cap, "out of memory");
        goto Exit;
    }
    n = fread(text, 1, AUTH_KEYS_FILE_MAX + 1, f);
    if (ferror(f) || n > AUTH_KEYS_FILE_MAX) {
        snprintf(err, cap, "%s: %s", what, ferror(f) ? "read error" : "larger than 1 MiB");
        goto Exit;
    }
    text[n] = '\0';
    if (memchr(text, '\0', n) != NULL) {
        snprintf(err, cap, "%s: contains a NUL byte", what);
        goto Exit;
    }
    rc = add_keys(text, what, err, cap);
Exit:
    if (text != NULL)
        OPENSSL_cleanse(text, AUTH_KEYS_FILE_MAX + 1);
    free(text);
    if (f != NULL)
        fclose(f);
    return rc;
}

int auth_start(const config_t *cfg, char *err, size_t cap)
{
    static unsigned long generation;
    const char *mode = config_auth_mode(cfg);

    auth_stop();
    auth_state.jwt.generation = ++generation;
    auth_state.protect_metrics = cfg->auth_metrics;
    auth_state.jwt.issuer = is_set(cfg->jwt_issuer) ? cfg->jwt_issuer : NULL;
    auth_state.jwt.audience = is_set(cfg->jwt_audience) ? cfg->jwt_audience : NULL;
    auth_state.jwt.leeway = cfg->jwt_leeway;
    if (strcmp(mode, "none") == 0)
        return 0;
    if (strcmp(mode, "jwt") == 0) {
        if (is_set(cfg->supabase_jwt_secret)) {
            auth_state.jwt.secret = (const unsigned char *)cfg->supabase_jwt_secret;
            auth_state.jwt.secret_len = strlen(cfg->supabase_jwt_secret);
        }
        if (is_set(cfg->jwks_file) && is_set(cfg->jwks_url)) {
            snprintf(err, cap, "auth: set --jwks-file or --jwks-url, not both");
            goto Fail;
        }
        if (is_set(cfg->jwks_file) || is_set(cfg->jwks_url)) {
            if (auth_jwks_start(is_set(cfg->jwks_file) ? cfg->jwks_file : NULL, is_set(cfg->jwks_url) ? cfg->jwks_url : NULL,
                                cfg->jwks_refresh, err, cap) != 0)
                goto Fail;
            auth_state.jwt.use_jwks = 1;
        }
        if (auth_state.jwt.secret == NULL && !auth_state.jwt.use_jwks) {
            snprintf(err, cap, "auth mode jwt needs SUPABASE_JWT_SECRET (HS256), --jwks-file or --jwks-url (RS256/ES256)");
            goto Fail;
        }
        auth_state.mode = AUTH_MODE_JWT;
        return 0;
    }
    if (strcmp(mode, "supabase") == 0) {
        if (!is_set(cfg->supabase_url) || !is_set(cfg->supabase_key)) {
            snprintf(err, cap, "auth mode supabase needs SUPABASE_URL and SUPABASE_KEY");
            goto Fail;
        }
        if (auth_supabase_start(cfg->supabase_url, cfg->supabase_key, cfg->auth_cache_size, err, cap) != 0)
            goto Fail;
        auth_state.mode = AUTH_MODE_SUPABASE;
        return 0;
    }
    if (is_set(cfg->api_keys) && add_keys(cfg->api_keys, "LGSERVE_API_KEYS", err, cap) != 0)
        goto Fail;
    if (is_set(cfg->api_keys_file) && add_keys_file(cfg->api_keys_file, err, cap) != 0)
        goto Fail;
    if (auth_state.n_keys == 0) {
        snprintf(err, cap, "auth mode api-key needs keys: LGSERVE_API_KEYS or --api-keys-file (key=user entries)");
        goto Fail;
    }
    auth_state.mode = AUTH_MODE_API_KEY;
    return 0;
Fail:
    auth_stop();
    return -1;
}

void auth_stop(void)
{
    size_t i;

    auth_jwks_stop();
    auth_supabase_stop();
    for (i = 0; i != auth_state.n_keys; ++i)
        free(auth_state.keys[i].user);
    free(auth_state.keys);
    memset(&auth_state, 0, sizeof(auth_state));
}

/* Fills `v` with a refusal. */
static auth_rc_t refuse(auth_verdict_t *v, int status, const char *error, const char *detail)
{
    v->status = status;
    v->error = error;
    v->detail = detail;
    v->user = NULL;
    return AUTH_DONE;
}

/* Copies [s, s+len) into `pool` NUL-terminated. */
static const char *pool_str(h2o_mem_pool_t *pool, const char *s, size_t len)
{
    char *d = h2o_mem_alloc_pool(pool, len + 1);

    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

/* Fills `v` with an authenticated user: id, token and email (both may be NULL) copied into `pool`. */
static auth_rc_t accept_user(auth_verdict_t *v, h2o_mem_pool_t *pool, const char *id, const char *token, size_t token_len,
                             const char *email)
{
    auth_user_t *u = h2o_mem_alloc_pool(pool, sizeof(*u));

    u->id = pool_str(pool, id, strlen(id));
    u->token = token != NULL ? pool_str(pool, token, token_len) : NULL;
    u->email = email != NULL ? pool_str(pool, email, strlen(email)) : NULL;
    v->status = 0;
    v->error = v->detail = NULL;
    v->user = u;
    return AUTH_DONE;
}

/* Finds the bearer token in the Authorization header of `c`: returns 0 and the span in
 * *tok and *len, or fills the refusal in `v` and returns -1. */
static int bearer_token(const auth_credentials_t *c, auth_verdict_t *v, const char **tok, size_t *len)
{
    auth_scan_t sc;

    if (c->authorization == NULL) {
        refuse(v, 401, NULL, "Authorization header missing");
        return -1;
    }
    switch (auth_scan(&sc, AUTH_SCAN_HEADER, AUTH_HEADER_MAX, c->authorization, c->authorization_len)) {
    case AUTH_SCAN_OK:
        break;
    case AUTH_SCAN_TOO_LONG:
        refuse(v, 431, "invalid_request", "Authorization header too large");
        return -1;
    default:
        refuse(v, 401, "invalid_request", "Invalid Authorization header format");
        return -1;
    }
    if (!sc.bearer) {
        refuse(v, 401, "invalid_request", "Authorization scheme must be Bearer");
        return -1;
    }
    if (sc.part[1].len == 0) {
        refuse(v, 401, "invalid_request", "Bearer token missing");
        return -1;
    }
    *tok = c->authorization + sc.part[1].at;
    *len = sc.part[1].len;
    return 0;
}

/* api-key mode: x-api-key, else a bearer token, looked up in the key table. */
static auth_rc_t check_api_key(const auth_credentials_t *c, h2o_mem_pool_t *pool, auth_verdict_t *v)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    const char *key, *user = NULL;
    size_t len, i;
    auth_scan_t sc;

    if (c->api_key != NULL) {
        if (c->api_key_len > AUTH_HEADER_MAX)
            return refuse(v, 431, "invalid_request", "x-api-key header too large");
        if (auth_scan(&sc, AUTH_SCAN_KEY, AUTH_KEY_MAX, c->api_key, c->api_key_len) != AUTH_SCAN_OK)
            return refuse(v, 401, "invalid_token", "Invalid API key");
        key = c->api_key + sc.part[0].at;
        len = sc.part[0].len;
    } else if (c->authorization == NULL) {
        return refuse(v, 401, NULL, "API key missing (x-api-key header or Authorization: Bearer)");
    } else if (bearer_token(c, v, &key, &len) != 0) {
        return AUTH_DONE;
    }
    SHA256((const unsigned char *)key, len, digest);
    for (i = 0; i != auth_state.n_keys; ++i)
        if (CRYPTO_memcmp(digest, auth_state.keys[i].digest, sizeof(digest)) == 0)
            user = auth_state.keys[i].user;
    if (user == NULL)
        return refuse(v, 401, "invalid_token", "Invalid API key");
    return accept_user(v, pool, user, NULL, 0, NULL);
}

/* The fast path of a token this thread verified before: when the Authorization header of `c` is
 * blanks, "Bearer" (any case), blanks, then bytes equal to a cached token and blanks, returns 1
 * with the token span and the cached sub and email (auth_seen_get). Such a header is of the
 * grammar, since the cached token passed the scanner when it was first verified; anything
 * else returns 0 and takes the full path. */
static int seen_bearer(const auth_credentials_t *c, long long now, const char **tok, size_t *len, const char **sub,
                       const char **email)
{
    const char *p = c->authorization, *e = p + c->authorization_len;

    if (p == NULL)
        return 0;
    while (p < e && (*p == ' ' || *p == '\t'))
        ++p;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        --e;
    if (e - p < 8 || strncasecmp(p, "bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return 0;
    for (p += 7; p < e && (*p == ' ' || *p == '\t'); ++p)
        ;
    *tok = p;
    *len = (size_t)(e - p);
    return *len != 0 && auth_seen_get(&auth_state.jwt, p, *len, now, sub, email);
}

/* jwt mode: the bearer token verified locally, or found in this thread's cache of tokens it
 * verified (auth_seen.c). */
static auth_rc_t check_jwt(const auth_credentials_t *c, h2o_mem_pool_t *pool, auth_verdict_t *v)
{
    const char *tok, *detail, *sub, *email;
    json_t *claims = NULL;
    long long now = (long long)time(NULL);
    unsigned long jwks_generation;
    size_t len;
    auth_rc_t rc = AUTH_DONE;

    if (seen_bearer(c, now, &tok, &len, &sub, &email)) {
        rc = accept_user(v, pool, sub, tok, len, email);
        goto Exit;
    }
    if (bearer_token(c, v, &tok, &len) != 0)
        goto Exit;
    jwks_generation = auth_jwks_generation();
    if ((detail = auth_jwt_verify(&auth_state.jwt, tok, len, now, &claims)) != NULL) {
        rc = refuse(v, 401, "invalid_token", detail);
        goto Exit;
    }
    auth_seen_put(&auth_state.jwt, jwks_generation, tok, len, claims);
    rc = accept_user(v, pool, json_string_value(json_object_get(claims, "sub")), tok, len,
                     json_string_value(json_object_get(claims, "email")));
Exit:
    json_decref(claims);
    return rc;
}

/* supabase mode: a cached verdict, or a check on a worker thread. */
static auth_rc_t check_supabase(const auth_credentials_t *c, h2o_mem_pool_t *pool, auth_verdict_t *v, auth_async_t *a)
{
    const char *tok;
    char *id = NULL, *email = NULL;
    size_t len;
    auth_rc_t rc = AUTH_DONE;

    if (bearer_token(c, v, &tok, &len) != 0)
        goto Exit;
    if (len > AUTH_JWT_MAX) {
        rc = refuse(v, 401, "invalid_token", "token is too long");
        goto Exit;
    }
    if (auth_supabase_check(tok, len, a, &id, &email) == 0) {
        rc = AUTH_PENDING;
        goto Exit;
    }
    rc = accept_user(v, pool, id, tok, len, email);
Exit:
    free(id);
    free(email);
    return rc;
}

auth_rc_t auth_authenticate(const auth_credentials_t *c, h2o_mem_pool_t *pool, auth_verdict_t *v, auth_async_t *a)
{
    switch (auth_state.mode) {
    case AUTH_MODE_JWT:
        return check_jwt(c, pool, v);
    case AUTH_MODE_SUPABASE:
        return check_supabase(c, pool, v, a);
    case AUTH_MODE_API_KEY:
        return check_api_key(c, pool, v);
    case AUTH_MODE_NONE:
        break;
    }
    v->status = 0;
    v->error = v->detail = NULL;
    v->user = NULL;
    return AUTH_DONE;
}

void auth_async_finish(auth_async_t *a, h2o_mem_pool_t *pool, auth_verdict_t *v)
{
    if (a->_status == 0 && a->_id != NULL)
        accept_user(v, pool, a->_id, a->_token, strlen(a->_token), a->_email);
    else
        refuse(v, a->_status != 0 ? a->_status : 500, a->_error, a->_detail != NULL ? a->_detail : "authentication failed");
    auth_async_discard(a);
}

void auth_async_discard(auth_async_t *a)
{
    free(a->_id);
    free(a->_email);
    if (a->_token != NULL)
        OPENSSL_cleanse(a->_token, strlen(a->_token));
    free(a->_token);
    a->_id = a->_email = a->_token = NULL;
}
