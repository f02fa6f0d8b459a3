/*
 * runtime/auth/auth_seen.c — a per-thread cache of the JWTs jwt mode verified (contracts in
 * auth_internal.h). A client sends the same bearer token with every request until it expires;
 * remembering the verified token (exact bytes) with its claims saves the signature check and the
 * two JSON parses on each repeat, leaving a hash, one comparison and the time checks.
 *
 * Each event-loop thread has its own direct-mapped table of SEEN_SLOTS entries (no locks). An
 * entry is valid only for the policy and JWKS generations it was verified under, and `exp`/`nbf`
 * are checked again on every hit, so a cached token expires exactly as an uncached one. Entries
 * are replaced on collision; the token copies are wiped when they go. A presented token is
 * compared with the cached one in constant time (CRYPTO_memcmp), so how long a lookup takes
 * says nothing about how much of a cached token a guess got right.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include "auth/auth_internal.h"

#define SEEN_SLOTS 64
/* Tokens longer than this are verified every time rather than copied. */
#define SEEN_TOKEN_MAX 2048

typedef struct seen_entry {
    char *token; /* malloc'd copy, NULL: free slot */
    size_t len;
    unsigned long generation, jwks_generation;
    double exp, nbf; /* nbf: -1 when the token has none */
    char *sub, *email; /* malloc'd; email may be NULL */
} seen_entry_t;

typedef struct seen_table {
    seen_entry_t slot[SEEN_SLOTS];
} seen_table_t;

static pthread_once_t seen_once = PTHREAD_ONCE_INIT;
static pthread_key_t seen_key;
static int seen_key_ok;

static void entry_clear(seen_entry_t *e)
{
    if (e->token != NULL)
        OPENSSL_cleanse(e->token, e->len);
    free(e->token);
    free(e->sub);
    free(e->email);
    memset(e, 0, sizeof(*e));
}

static void on_thread_exit(void *p)
{
    seen_table_t *t = p;
    size_t i;

    for (i = 0; i != SEEN_SLOTS; ++i)
        entry_clear(&t->slot[i]);
    free(t);
}

static void seen_setup(void)
{
    seen_key_ok = pthread_key_create(&seen_key, on_thread_exit) == 0;
}

/* The slot of `tok`: FNV-1a over its length and its last 32 bytes (the signature's end). */
static size_t slot_of(const char *tok, size_t len)
{
    uint64_t h = 1469598103934665603ull ^ len;
    size_t i = len > 32 ? len - 32 : 0;

    for (; i != len; ++i)
        h = (h ^ (unsigned char)tok[i]) * 1099511628211ull;
    return (size_t)(h % SEEN_SLOTS);
}

/* This thread's table, created on first use; NULL when out of memory. */
static seen_table_t *table(void)
{
    seen_table_t *t;

    pthread_once(&seen_once, seen_setup);
    if (!seen_key_ok)
        return NULL;
    if ((t = pthread_getspecific(seen_key)) == NULL && (t = calloc(1, sizeof(*t))) != NULL && pthread_setspecific(seen_key, t) != 0) {
        free(t);
        t = NULL;
    }
    return t;
}

int auth_seen_get(const auth_jwt_policy_t *pol, const char *tok, size_t len, long long now, const char **sub, const char **email)
{
    seen_table_t *t = table();
    seen_entry_t *e;

    if (t == NULL)
        return 0;
    e = &t->slot[slot_of(tok, len)];
    if (e->token == NULL || e->len != len || e->generation != pol->generation || e->jwks_generation != auth_jwks_generation() ||
        CRYPTO_memcmp(e->token, tok, len) != 0)
        return 0;
    if ((double)now > e->exp + (double)pol->leeway || (double)now + (double)pol->leeway < e->nbf) {
        entry_clear(e); /* verified again (and refused with the right reason) */
        return 0;
    }
    *sub = e->sub;
    *email = e->email;
    return 1;
}

void auth_seen_put(const auth_jwt_policy_t *pol, unsigned long jwks_generation, const char *tok, size_t len, json_t *claims)
{
    const char *sub = json_string_value(json_object_get(claims, "sub")), *email = json_string_value(json_object_get(claims, "email"));
    json_t *nbf = json_object_get(claims, "nbf");
    seen_table_t *t;
    seen_entry_t *e;

    if (len > SEEN_TOKEN_MAX || sub == NULL || (t = table()) == NULL)
        return;
    e = &t->slot[slot_of(tok, len)];
    entry_clear(e);
    e->token = malloc(len);
    e->sub = strdup(sub);
    e->email = email != NULL ? strdup(email) : NULL;
    if (e->token == NULL || e->sub == NULL || (email != NULL && e->email == NULL)) {
        entry_clear(e);
        return;
    }
    memcpy(e->token, tok, len);
    e->len = len;
    e->generation = pol->generation;
    e->jwks_generation = jwks_generation;
    e->exp = json_number_value(json_object_get(claims, "exp"));
    e->nbf = json_is_number(nbf) ? json_number_value(nbf) : -1;
}
