/*
 * runtime/auth/auth.h — who is calling: the auth modes (DESIGN §7) and the authenticated user
 * the request pipeline attaches to each request (http_ctx_t.user) when a mode is on. Handlers
 * read only `id` (the owner scope) and hand `token` to the run's configurable; nothing else in
 * the server sees the credential, and it is never logged, stored or echoed.
 *
 * Modes (auth_start reads them from the configuration):
 *   none      no credentials asked, ctx->user stays NULL;
 *   jwt       a bearer JWT: HS256 with SUPABASE_JWT_SECRET, RS256/ES256 with a JWKS (file or
 *             URL, keys picked by `kid`); claims exp/nbf (with leeway), sub, iss and aud (when
 *             configured) checked; the algorithm is checked against the key, never trusted;
 *   supabase  a bearer token checked by GET {SUPABASE_URL}/auth/v1/user on a worker thread,
 *             verdicts cached for the token's remaining lifetime;
 *   api-key   x-api-key (or a bearer token) looked up in a configured list, each key mapped to
 *             a user id; compared in constant time.
 */
#ifndef LG_AUTH_AUTH_H
#define LG_AUTH_AUTH_H

#include <stddef.h>

struct config;
struct st_h2o_mem_pool_t;

/* An authenticated caller. Strings are NUL-terminated and live in the request pool. */
typedef struct auth_user {
    const char *id;    /* the owner scope: the JWT `sub`, or the user an API key maps to */
    const char *token; /* the caller's bearer token as sent (never persisted or logged); NULL in
                          api-key mode: a key of the server's is never handed to graphs (nor,
                          through them, to the tool servers they call) */
    const char *email; /* the `email` claim when the credential carries one, else NULL */
} auth_user_t;

typedef enum auth_mode { AUTH_MODE_NONE, AUTH_MODE_JWT, AUTH_MODE_SUPABASE, AUTH_MODE_API_KEY } auth_mode_t;

/*
 * Sets up the mode the configuration asks for (config_auth_mode): reads the secret, the JWKS
 * (file, or first fetch of the URL) or the key list, starts the JWKS refresher or the supabase
 * workers. Returns 0, or -1 with one line (no newline) in err naming what is wrong. `cfg` is
 * borrowed for the life of the process.
 */
int auth_start(const struct config *cfg, char *err, size_t cap);
/* Stops the threads auth_start started and frees what it loaded. Safe to call always. */
void auth_stop(void);
/* The active mode (AUTH_MODE_NONE before auth_start). */
auth_mode_t auth_mode(void);
/* Whether /metrics and /metrics/json need credentials (--auth-metrics) while a mode is on. */
int auth_protects_metrics(void);

/* What a request presents; a NULL base means the header is absent. Borrowed. */
typedef struct auth_credentials {
    const char *authorization;
    size_t authorization_len;
    const char *api_key;
    size_t api_key_len;
} auth_credentials_t;

/*
 * The outcome of authenticating a request. status 0: `user` is set (request pool). Otherwise
 * the status to answer (401, or 431 for an oversized header, 503 when the auth server cannot
 * be reached), `detail` a static message that never contains the credential, and `error` the
 * RFC 6750 error code for WWW-Authenticate ("invalid_request", "invalid_token") or NULL when
 * no credential was presented.
 */
typedef struct auth_verdict {
    int status;
    const char *detail;
    const char *error;
    auth_user_t *user;
} auth_verdict_t;

/*
 * A verification that finishes off the caller's thread (supabase mode). The caller owns the
 * record (embed it in its own pending record) and sets `on_done`; auth fills the private part
 * and calls on_done(a) once, on any thread. The caller then, on its own thread, calls either
 * auth_async_finish or auth_async_discard.
 */
typedef struct auth_async {
    void (*on_done)(struct auth_async *a);
    /* private */
    int _status;
    const char *_detail, *_error;
    char *_id, *_email; /* malloc'd */
    char *_token;       /* malloc'd copy of the credential while the check runs */
    struct auth_async *_next; /* further checks of the same token answered with this one */
} auth_async_t;

typedef enum auth_rc { AUTH_DONE, AUTH_PENDING } auth_rc_t;

/*
 * Authenticates `c` under the active mode. AUTH_DONE: `v` is filled (user strings allocated in
 * `pool`). AUTH_PENDING: the answer comes through `a` (only in supabase mode, when the verdict
 * is not cached); `v` is untouched. Thread-safe.
 */
auth_rc_t auth_authenticate(const auth_credentials_t *c, struct st_h2o_mem_pool_t *pool, auth_verdict_t *v, auth_async_t *a);
/* Turns a completed async check into `v` (user strings in `pool`) and frees its memory. */
void auth_async_finish(auth_async_t *a, struct st_h2o_mem_pool_t *pool, auth_verdict_t *v);
/* Frees a completed async check whose request went away. */
void auth_async_discard(auth_async_t *a);

#endif
