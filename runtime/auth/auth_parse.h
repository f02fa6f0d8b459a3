/*
 * runtime/auth/auth_parse.h — incremental parsers (Ragel, auth_grammar.rl) of the credentials a
 * request carries: the Authorization header, the compact JWT inside a bearer token, and the
 * x-api-key header. They keep offsets, never copy or own the bytes: every result is a span
 * counted from the first byte ever fed, so a value fed in several chunks gives the same result
 * as in one call.
 *
 *     auth_scan_t s;
 *     auth_scan_init(&s, AUTH_SCAN_HEADER, AUTH_HEADER_MAX);
 *     auth_scan_execute(&s, buf, len);      (any number of chunks)
 *     if (auth_scan_finish(&s) == AUTH_SCAN_OK) ... s.part[1] ...
 *
 * auth_scan() does the three steps on one buffer.
 */
#ifndef LG_AUTH_AUTH_PARSE_H
#define LG_AUTH_AUTH_PARSE_H

#include <stddef.h>

/* Longest Authorization or x-api-key value looked at; longer ones are AUTH_SCAN_TOO_LONG. */
#define AUTH_HEADER_MAX 8192
/* Longest compact JWT, and longest protected-header segment of one. */
#define AUTH_JWT_MAX 8192
#define AUTH_JWT_HEADER_MAX 1024
/* Longest API key. */
#define AUTH_KEY_MAX 512

typedef enum auth_scan_kind {
    AUTH_SCAN_HEADER, /* Authorization value: part[0] scheme, part[1] credentials */
    AUTH_SCAN_JWT,    /* compact JWS: part[0] header, part[1] payload, part[2] signature */
    AUTH_SCAN_KEY,    /* x-api-key value: part[0] the key, whitespace trimmed */
} auth_scan_kind_t;

typedef enum auth_scan_rc {
    AUTH_SCAN_OK = 0,
    AUTH_SCAN_MALFORMED, /* not of the grammar (auth_grammar.rl), or ended early */
    AUTH_SCAN_TOO_LONG,  /* more bytes than the limit given to auth_scan_init */
} auth_scan_rc_t;

typedef struct auth_span {
    size_t at, len; /* offset from the first byte fed, and length */
} auth_span_t;

typedef struct auth_scan {
    auth_scan_kind_t kind;
    size_t max;        /* the length limit */
    auth_span_t part[3]; /* results (see auth_scan_kind_t); valid once finish returned OK */
    int bearer;        /* AUTH_SCAN_HEADER: the scheme is "Bearer" (any case); part[1].len is 0
                          when no token followed it */
    /* private */
    int _cs;
    auth_scan_rc_t _err;
    size_t _pos;        /* bytes fed so far */
    size_t _bearer_end; /* where a "bearer" scheme ended (SIZE_MAX: none) */
    size_t _dot[2];     /* AUTH_SCAN_JWT: offsets of the two dots */
    size_t _trail;      /* AUTH_SCAN_HEADER: blanks after the bearer token */
    int _cred;          /* AUTH_SCAN_HEADER: a bearer token began */
    int _dots;
} auth_scan_t;

/* Starts a parse of `kind` accepting at most `max` bytes. */
void auth_scan_init(auth_scan_t *s, auth_scan_kind_t kind, size_t max);
/* Feeds `len` bytes (borrowed for the call only). Returns 0, or -1 once the input cannot be of
 * the grammar or is too long (further calls do nothing and return -1). A value whose first
 * `max` bytes break the grammar is MALFORMED, one that is only longer than `max` TOO_LONG,
 * however it was cut. */
int auth_scan_execute(auth_scan_t *s, const char *buf, size_t len);
/* Ends the input; returns the verdict and, when AUTH_SCAN_OK, fills s->part. */
auth_scan_rc_t auth_scan_finish(auth_scan_t *s);
/* init + execute + finish over one buffer. */
auth_scan_rc_t auth_scan(auth_scan_t *s, auth_scan_kind_t kind, size_t max, const char *buf, size_t len);

#endif
