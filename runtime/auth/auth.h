/*
 * runtime/auth/auth.h — who is calling: the authenticated user the request pipeline attaches to
 * each request (http_ctx_t.user) when an auth mode is on. Handlers read only `id` (the owner
 * scope) and hand `token` to the run's configurable; nothing else in the server sees the
 * credential, and it is never logged, stored or echoed.
 */
#ifndef LG_AUTH_AUTH_H
#define LG_AUTH_AUTH_H

/* An authenticated caller. Strings are NUL-terminated and live in the request pool. */
typedef struct auth_user {
    const char *id;    /* the owner scope: the JWT `sub`, or the user an API key maps to */
    const char *token; /* the caller's bearer credential as sent (never persisted or logged) */
    const char *email; /* the `email` claim when the credential carries one, else NULL */
} auth_user_t;

#endif
