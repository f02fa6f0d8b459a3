/*
 * runtime/auth/auth_parser.rl — the actions and the init/execute/finish API of the credential
 * parsers declared in auth_parse.h; the grammars are auth_grammar.rl. Read by Ragel:
 * auth_parser.c is generated from this file by scripts/regen.sh and committed.
 *
 * One scanner type serves the three machines: the actions only record offsets (counted from
 * the first byte fed, so chunk boundaries do not matter) into the scanner.
 */
#include "auth/auth_parse.h"

#include <stdint.h>
#include <string.h>

/* The offset of the byte at `at` in the whole input. */
#define AUTH_OFF(at) (s->_pos + (size_t)((at) - (const unsigned char *)buf))

%%{
    machine auth_actions;
    alphtype unsigned char;

    action scheme_begin { s->part[0].at = AUTH_OFF(fpc); }
    action scheme_char { s->part[0].len = AUTH_OFF(fpc) + 1 - s->part[0].at; }
    action bearer_seen { s->_bearer_end = AUTH_OFF(fpc) + 1; }
    action cred_begin { s->part[1].at = AUTH_OFF(fpc); s->_cred = 1; }
    action cred_trail { ++s->_trail; }
    action dot { s->_dot[s->_dots++] = AUTH_OFF(fpc); }
    action key_begin { s->part[0].at = AUTH_OFF(fpc); }
    action key_char { s->part[0].len = AUTH_OFF(fpc) + 1 - s->part[0].at; }
}%%

%%{
    machine auth_header_fsm;
    include auth_actions;
    include auth_grammar "auth_grammar.rl";
    main := authorization;
    write data noerror noentry;
}%%

%%{
    machine auth_jwt_fsm;
    include auth_actions;
    include auth_grammar "auth_grammar.rl";
    main := compact_jws;
    write data noerror noentry;
}%%

%%{
    machine auth_key_fsm;
    include auth_actions;
    include auth_grammar "auth_grammar.rl";
    main := api_key;
    write data noerror noentry;
}%%

void auth_scan_init(auth_scan_t *s, auth_scan_kind_t kind, size_t max)
{
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->max = max;
    s->_bearer_end = SIZE_MAX;
    switch (kind) {
    case AUTH_SCAN_HEADER:
        s->_cs = auth_header_fsm_start;
        break;
    case AUTH_SCAN_JWT:
        s->_cs = auth_jwt_fsm_start;
        break;
    case AUTH_SCAN_KEY:
        s->_cs = auth_key_fsm_start;
        break;
    }
}

/* One exec function per machine: the goto-driven code of each needs its own labels. Each
 * runs [buf, buf+len) from state `cs` and returns the state it ends in (0: error). */
static int exec_header(auth_scan_t *s, const char *buf, size_t len, int cs)
{
    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;

    %% machine auth_header_fsm; write exec;
    return cs;
}

static int exec_jwt(auth_scan_t *s, const char *buf, size_t len, int cs)
{
    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;

    %% machine auth_jwt_fsm; write exec;
    return cs;
}

static int exec_key(auth_scan_t *s, const char *buf, size_t len, int cs)
{
    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;

    %% machine auth_key_fsm; write exec;
    return cs;
}

/* The bytes up to the limit are scanned first, so the verdict does not depend on how the input
 * was cut: MALFORMED when they break the grammar, else TOO_LONG when more bytes follow. */
int auth_scan_execute(auth_scan_t *s, const char *buf, size_t len)
{
    size_t n = len < s->max - s->_pos ? len : s->max - s->_pos;

    if (s->_err != AUTH_SCAN_OK)
        return -1;
    switch (s->kind) {
    case AUTH_SCAN_HEADER:
        s->_cs = exec_header(s, buf, n, s->_cs);
        break;
    case AUTH_SCAN_JWT:
        s->_cs = exec_jwt(s, buf, n, s->_cs);
        break;
    case AUTH_SCAN_KEY:
        s->_cs = exec_key(s, buf, n, s->_cs);
        break;
    }
    s->_pos += n;
    if (s->_cs == 0)
        s->_err = AUTH_SCAN_MALFORMED;
    else if (n < len)
        s->_err = AUTH_SCAN_TOO_LONG;
    return s->_err == AUTH_SCAN_OK ? 0 : -1;
}

auth_scan_rc_t auth_scan_finish(auth_scan_t *s)
{
    int final = 0;

    if (s->_err != AUTH_SCAN_OK)
        return s->_err;
    switch (s->kind) {
    case AUTH_SCAN_HEADER:
        final = s->_cs >= auth_header_fsm_first_final;
        s->bearer = s->_bearer_end == s->part[0].at + s->part[0].len;
        if (s->_cred)
            s->part[1].len = s->_pos - s->part[1].at - s->_trail;
        break;
    case AUTH_SCAN_JWT:
        final = s->_cs >= auth_jwt_fsm_first_final;
        if (final) {
            s->part[0] = (auth_span_t){0, s->_dot[0]};
            s->part[1] = (auth_span_t){s->_dot[0] + 1, s->_dot[1] - s->_dot[0] - 1};
            s->part[2] = (auth_span_t){s->_dot[1] + 1, s->_pos - s->_dot[1] - 1};
            if (s->part[0].len > AUTH_JWT_HEADER_MAX)
                return s->_err = AUTH_SCAN_TOO_LONG;
        }
        break;
    case AUTH_SCAN_KEY:
        final = s->_cs >= auth_key_fsm_first_final;
        break;
    }
    if (!final)
        s->_err = AUTH_SCAN_MALFORMED;
    return s->_err;
}

auth_scan_rc_t auth_scan(auth_scan_t *s, auth_scan_kind_t kind, size_t max, const char *buf, size_t len)
{
    auth_scan_init(s, kind, max);
    auth_scan_execute(s, buf, len);
    return auth_scan_finish(s);
}
