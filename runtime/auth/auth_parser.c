
#line 1 "runtime/auth/auth_parser.rl"
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


#line 29 "runtime/auth/auth_parser.rl"



#line 20 "runtime/auth/auth_parser.c"
static const int auth_header_fsm_start = 1;
static const int auth_header_fsm_first_final = 2;


#line 37 "runtime/auth/auth_parser.rl"



#line 25 "runtime/auth/auth_parser.c"
static const int auth_jwt_fsm_start = 1;
static const int auth_jwt_fsm_first_final = 5;


#line 45 "runtime/auth/auth_parser.rl"



#line 30 "runtime/auth/auth_parser.c"
static const int auth_key_fsm_start = 1;
static const int auth_key_fsm_first_final = 2;


#line 53 "runtime/auth/auth_parser.rl"


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

    
#line 60 "runtime/auth/auth_parser.c"
	{
	if ( p == pe )
		goto _test_eof;
	switch ( cs )
	{
st1:
	if ( ++p == pe )
		goto _test_eof1;
case 1:
	switch( (*p) ) {
		case 9u: goto st1;
		case 32u: goto st1;
		case 33u: goto tr2;
		case 66u: goto tr3;
		case 98u: goto tr3;
		case 124u: goto tr2;
		case 126u: goto tr2;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr2;
		} else if ( (*p) >= 35u )
			goto tr2;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr2;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr2;
		} else
			goto tr2;
	} else
		goto tr2;
	goto st0;
st0:
cs = 0;
	goto _out;
tr2:
#line 21 "runtime/auth/auth_parser.rl"
	{ s->part[0].at = AUTH_OFF(p); }
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st2;
tr5:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st2;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
#line 110 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
	if ( (*p) == 127u )
		goto st0;
	if ( (*p) > 8u ) {
		if ( 10u <= (*p) && (*p) <= 31u )
			goto st0;
	} else
		goto st0;
	goto st3;
tr3:
#line 21 "runtime/auth/auth_parser.rl"
	{ s->part[0].at = AUTH_OFF(p); }
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st4;
st4:
	if ( ++p == pe )
		goto _test_eof4;
case 4:
#line 155 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 69u: goto tr6;
		case 101u: goto tr6;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
tr6:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st5;
st5:
	if ( ++p == pe )
		goto _test_eof5;
case 5:
#line 189 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 65u: goto tr7;
		case 97u: goto tr7;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 66u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
tr7:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st6;
st6:
	if ( ++p == pe )
		goto _test_eof6;
case 6:
#line 223 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 82u: goto tr8;
		case 114u: goto tr8;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
tr8:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st7;
st7:
	if ( ++p == pe )
		goto _test_eof7;
case 7:
#line 257 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 69u: goto tr9;
		case 101u: goto tr9;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
tr9:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st8;
st8:
	if ( ++p == pe )
		goto _test_eof8;
case 8:
#line 291 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
		case 33u: goto tr5;
		case 82u: goto tr10;
		case 114u: goto tr10;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
tr10:
#line 22 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
#line 23 "runtime/auth/auth_parser.rl"
	{ s->_bearer_end = AUTH_OFF(p) + 1; }
	goto st9;
st9:
	if ( ++p == pe )
		goto _test_eof9;
case 9:
#line 326 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st10;
		case 32u: goto st10;
		case 33u: goto tr5;
		case 124u: goto tr5;
		case 126u: goto tr5;
	}
	if ( (*p) < 45u ) {
		if ( (*p) > 39u ) {
			if ( 42u <= (*p) && (*p) <= 43u )
				goto tr5;
		} else if ( (*p) >= 35u )
			goto tr5;
	} else if ( (*p) > 46u ) {
		if ( (*p) < 65u ) {
			if ( 48u <= (*p) && (*p) <= 57u )
				goto tr5;
		} else if ( (*p) > 90u ) {
			if ( 94u <= (*p) && (*p) <= 122u )
				goto tr5;
		} else
			goto tr5;
	} else
		goto tr5;
	goto st0;
st10:
	if ( ++p == pe )
		goto _test_eof10;
case 10:
	switch( (*p) ) {
		case 9u: goto st10;
		case 32u: goto st10;
		case 43u: goto tr12;
		case 95u: goto tr12;
		case 126u: goto tr12;
	}
	if ( (*p) < 65u ) {
		if ( 45u <= (*p) && (*p) <= 57u )
			goto tr12;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto tr12;
	} else
		goto tr12;
	goto st0;
tr12:
#line 24 "runtime/auth/auth_parser.rl"
	{ s->part[1].at = AUTH_OFF(p); s->_cred = 1; }
	goto st11;
st11:
	if ( ++p == pe )
		goto _test_eof11;
case 11:
#line 378 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto tr13;
		case 32u: goto tr13;
		case 43u: goto st11;
		case 61u: goto st13;
		case 95u: goto st11;
		case 126u: goto st11;
	}
	if ( (*p) < 65u ) {
		if ( 45u <= (*p) && (*p) <= 57u )
			goto st11;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st11;
	} else
		goto st11;
	goto st0;
tr13:
#line 25 "runtime/auth/auth_parser.rl"
	{ ++s->_trail; }
	goto st12;
st12:
	if ( ++p == pe )
		goto _test_eof12;
case 12:
#line 402 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto tr13;
		case 32u: goto tr13;
	}
	goto st0;
st13:
	if ( ++p == pe )
		goto _test_eof13;
case 13:
	switch( (*p) ) {
		case 9u: goto tr13;
		case 32u: goto tr13;
		case 61u: goto st13;
	}
	goto st0;
	}
	_test_eof1: cs = 1; goto _test_eof; 
	_test_eof2: cs = 2; goto _test_eof; 
	_test_eof3: cs = 3; goto _test_eof; 
	_test_eof4: cs = 4; goto _test_eof; 
	_test_eof5: cs = 5; goto _test_eof; 
	_test_eof6: cs = 6; goto _test_eof; 
	_test_eof7: cs = 7; goto _test_eof; 
	_test_eof8: cs = 8; goto _test_eof; 
	_test_eof9: cs = 9; goto _test_eof; 
	_test_eof10: cs = 10; goto _test_eof; 
	_test_eof11: cs = 11; goto _test_eof; 
	_test_eof12: cs = 12; goto _test_eof; 
	_test_eof13: cs = 13; goto _test_eof; 

	_test_eof: {}
	_out: {}
	}

#line 81 "runtime/auth/auth_parser.rl"
    return cs;
}

static int exec_jwt(auth_scan_t *s, const char *buf, size_t len, int cs)
{
    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;

    
#line 442 "runtime/auth/auth_parser.c"
	{
	if ( p == pe )
		goto _test_eof;
	switch ( cs )
	{
case 1:
	switch( (*p) ) {
		case 45u: goto st2;
		case 95u: goto st2;
	}
	if ( (*p) < 65u ) {
		if ( 48u <= (*p) && (*p) <= 57u )
			goto st2;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st2;
	} else
		goto st2;
	goto st0;
st0:
cs = 0;
	goto _out;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
	switch( (*p) ) {
		case 45u: goto st2;
		case 46u: goto tr2;
		case 95u: goto st2;
	}
	if ( (*p) < 65u ) {
		if ( 48u <= (*p) && (*p) <= 57u )
			goto st2;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st2;
	} else
		goto st2;
	goto st0;
tr2:
#line 26 "runtime/auth/auth_parser.rl"
	{ s->_dot[s->_dots++] = AUTH_OFF(p); }
	goto st3;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
#line 489 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 45u: goto st4;
		case 95u: goto st4;
	}
	if ( (*p) < 65u ) {
		if ( 48u <= (*p) && (*p) <= 57u )
			goto st4;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st4;
	} else
		goto st4;
	goto st0;
st4:
	if ( ++p == pe )
		goto _test_eof4;
case 4:
	switch( (*p) ) {
		case 45u: goto st4;
		case 46u: goto tr4;
		case 95u: goto st4;
	}
	if ( (*p) < 65u ) {
		if ( 48u <= (*p) && (*p) <= 57u )
			goto st4;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st4;
	} else
		goto st4;
	goto st0;
tr4:
#line 26 "runtime/auth/auth_parser.rl"
	{ s->_dot[s->_dots++] = AUTH_OFF(p); }
	goto st5;
st5:
	if ( ++p == pe )
		goto _test_eof5;
case 5:
#line 527 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 45u: goto st5;
		case 95u: goto st5;
	}
	if ( (*p) < 65u ) {
		if ( 48u <= (*p) && (*p) <= 57u )
			goto st5;
	} else if ( (*p) > 90u ) {
		if ( 97u <= (*p) && (*p) <= 122u )
			goto st5;
	} else
		goto st5;
	goto st0;
	}
	_test_eof2: cs = 2; goto _test_eof; 
	_test_eof3: cs = 3; goto _test_eof; 
	_test_eof4: cs = 4; goto _test_eof; 
	_test_eof5: cs = 5; goto _test_eof; 

	_test_eof: {}
	_out: {}
	}

#line 89 "runtime/auth/auth_parser.rl"
    return cs;
}

static int exec_key(auth_scan_t *s, const char *buf, size_t len, int cs)
{
    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;

    
#line 556 "runtime/auth/auth_parser.c"
	{
	if ( p == pe )
		goto _test_eof;
	switch ( cs )
	{
st1:
	if ( ++p == pe )
		goto _test_eof1;
case 1:
	switch( (*p) ) {
		case 9u: goto st1;
		case 32u: goto st1;
	}
	if ( 33u <= (*p) && (*p) <= 126u )
		goto tr2;
	goto st0;
st0:
cs = 0;
	goto _out;
tr2:
#line 27 "runtime/auth/auth_parser.rl"
	{ s->part[0].at = AUTH_OFF(p); }
#line 28 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st2;
tr4:
#line 28 "runtime/auth/auth_parser.rl"
	{ s->part[0].len = AUTH_OFF(p) + 1 - s->part[0].at; }
	goto st2;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
#line 586 "runtime/auth/auth_parser.c"
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
	}
	if ( 33u <= (*p) && (*p) <= 126u )
		goto tr4;
	goto st0;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
	switch( (*p) ) {
		case 9u: goto st3;
		case 32u: goto st3;
	}
	goto st0;
	}
	_test_eof1: cs = 1; goto _test_eof; 
	_test_eof2: cs = 2; goto _test_eof; 
	_test_eof3: cs = 3; goto _test_eof; 

	_test_eof: {}
	_out: {}
	}

#line 97 "runtime/auth/auth_parser.rl"
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
