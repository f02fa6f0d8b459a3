
#line 1 "runtime/sse/sse_parser.rl"
/*
 * runtime/sse/sse_parser.rl — the actions and the init/execute/finish API of the incremental
 * text/event-stream parser declared in sse.h; the grammar is sse_grammar.rl. Read by Ragel:
 * sse_parser.c is generated from this file by scripts/regen.sh and committed.
 *
 * A line is located by offsets: `mark` points at its start in the current chunk, and the
 * colon/value offsets count from the line's true start, which may lie in an earlier chunk. When
 * a chunk ends inside a line, the line so far is copied to p->_line and the next chunk's bytes
 * are appended to it when the line ends; a line that starts and ends in one chunk is never
 * copied. The one data line of an event is likewise kept in place until the chunk ends.
 */
#include "sse.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SSE_NONE SIZE_MAX

static int fail(sse_parser_t *p, sse_error_t err)
{
    if (p->_err == SSE_OK)
        p->_err = err;
    return -1;
}

/* Appends n bytes to b, growing it geometrically. Returns 0, or -1 when out of memory. */
static int buf_append(sse_buf_t *b, const char *s, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        char *data = realloc(b->data, cap);
        if (data == NULL)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int buf_set(sse_buf_t *b, const char *s, size_t n)
{
    b->len = 0;
    return buf_append(b, s, n);
}

static void buf_free(sse_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Offset of `at` from the start of the current line, counting bytes carried from earlier chunks. */
static size_t line_off(const sse_parser_t *p, const unsigned char *mark, const unsigned char *at)
{
    return p->_line.len + (size_t)(at - mark);
}

static void line_reset(sse_parser_t *p)
{
    p->_in_line = 0;
    p->_line.len = 0;
    p->_colon = p->_value = SSE_NONE;
}

/* Copies the event's in-place data line (borrowed from the chunk) into p->_data. */
static int data_own(sse_parser_t *p)
{
    if (p->_data_ref == NULL)
        return 0;
    int rc = buf_set(&p->_data, p->_data_ref, p->_data_ref_len);
    p->_data_ref = NULL;
    return rc == 0 ? 0 : fail(p, SSE_ERR_NOMEM);
}

/* Adds a data line; `in_chunk` says `v` lies in the current chunk and may be kept in place. */
static int data_add(sse_parser_t *p, const char *v, size_t n, int in_chunk)
{
    size_t have = p->_data_ref != NULL ? p->_data_ref_len : p->_data.len;
    if (p->_has_data && (have >= p->max_event || n > p->max_event - have - 1))
        return fail(p, SSE_ERR_EVENT_TOO_LARGE);
    if (!p->_has_data && n > p->max_event)
        return fail(p, SSE_ERR_EVENT_TOO_LARGE);
    if (!p->_has_data && in_chunk) {
        p->_has_data = 1;
        p->_data_ref = v;
        p->_data_ref_len = n;
        return 0;
    }
    if (data_own(p) != 0)
        return -1;
    if (p->_has_data ? buf_append(&p->_data, "\n", 1) != 0 || buf_append(&p->_data, v, n) != 0
                     : buf_set(&p->_data, v, n) != 0)
        return fail(p, SSE_ERR_NOMEM);
    p->_has_data = 1;
    return 0;
}

static void event_reset(sse_parser_t *p)
{
    p->_has_data = 0;
    p->_data_ref = NULL;
    p->_data.len = 0;
    p->_event.len = 0;
}

/*
 * A blank line: hands the pending event to on_event when it has data, then forgets it. The line
 * state is reset too, for a blank line right after a byte order mark (see line_begin).
 */
static int dispatch(sse_parser_t *p)
{
    int rc = 0;
    line_reset(p);
    if (!p->_has_data)
        goto Exit;
    sse_event_t ev = {
        .event = p->_event.len > 0 ? p->_event.data : "message",
        .event_len = p->_event.len > 0 ? p->_event.len : sizeof("message") - 1,
        .data = p->_data_ref != NULL ? p->_data_ref : p->_data.len > 0 ? p->_data.data : "",
        .data_len = p->_data_ref != NULL ? p->_data_ref_len : p->_data.len,
        .id = p->_id.len > 0 ? p->_id.data : "",
        .id_len = p->_id.len,
        .retry = p->_retry,
    };
    if (p->_cb.on_event != NULL && p->_cb.on_event(p->_user, &ev) != 0)
        rc = fail(p, SSE_ERR_CALLBACK);
Exit:
    event_reset(p);
    return rc;
}

/* retry: ASCII digits only, else ignored; values past LLONG_MAX saturate. */
static void set_retry(sse_parser_t *p, const char *v, size_t n)
{
    long long ms = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return;
        int d = v[i] - '0';
        ms = ms > (LLONG_MAX - d) / 10 ? LLONG_MAX : ms * 10 + d;
    }
    p->_retry = ms;
}

static int field(sse_parser_t *p, const char *name, size_t name_len, const char *v, size_t n,
                 int in_chunk)
{
#define IS(lit) (name_len == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0)
    if (IS("data"))
        return data_add(p, v, n, in_chunk);
    if (IS("event"))
        return buf_set(&p->_event, v, n) == 0 ? 0 : fail(p, SSE_ERR_NOMEM);
    if (IS("id") && memchr(v, '\0', n) == NULL)
        return buf_set(&p->_id, v, n) == 0 ? 0 : fail(p, SSE_ERR_NOMEM);
    if (IS("retry"))
        set_retry(p, v, n);
    return 0;
#undef IS
}

/*
 * The current line ends just before `end`. Collects it (in place, or completing p->_line), then
 * applies it as a field or hands it to on_comment.
 */
static int line_end(sse_parser_t *p, const unsigned char *mark, const unsigned char *end, int comment)
{
    const char *line = (const char *)mark;
    size_t len = (size_t)(end - mark);
    int in_chunk = p->_line.len == 0, rc;

    if (len > p->max_line || p->_line.len > p->max_line - len) {
        rc = fail(p, SSE_ERR_LINE_TOO_LONG);
        goto Exit;
    }
    if (!in_chunk) {
        if (buf_append(&p->_line, line, len) != 0) {
            rc = fail(p, SSE_ERR_NOMEM);
            goto Exit;
        }
        line = p->_line.data;
        len = p->_line.len;
    }
    size_t name_len = p->_colon == SSE_NONE ? len : p->_colon;
    size_t value = p->_value == SSE_NONE ? len : p->_value;
    if (comment)
        rc = p->_cb.on_comment != NULL && p->_cb.on_comment(p->_user, line + value, len - value) != 0
                 ? fail(p, SSE_ERR_CALLBACK)
                 : 0;
    else
        rc = field(p, line, name_len, line + value, len - value, in_chunk);
Exit:
    line_reset(p);
    return rc;
}

/* 1 when the carried line so far (p->_line then `n` bytes at `mark`) is a byte order mark or a
 * prefix of one: at the start of a stream that is no line at all (the next line drops it). */
static int line_is_bom_prefix(const sse_parser_t *p, const unsigned char *mark, size_t n)
{
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    size_t i, total = p->_line.len + n;

    if (total > sizeof(bom))
        return 0;
    for (i = 0; i != total; ++i) {
        unsigned char c = i < p->_line.len ? (unsigned char)p->_line.data[i] : mark[i - p->_line.len];
        if (c != bom[i])
            return 0;
    }
    return 1;
}

/* The chunk ends inside a line: keeps its bytes from `mark` for the next chunk. The line length
 * limit is checked here too, except while the bytes may still be a byte order mark (whole-chunk
 * parsing never counts the mark, so a split one must not either); line_end checks it again. */
static int line_carry(sse_parser_t *p, const unsigned char *mark, const unsigned char *pe)
{
    size_t n = (size_t)(pe - mark);
    if ((n > p->max_line || p->_line.len > p->max_line - n) && !line_is_bom_prefix(p, mark, n))
        return fail(p, SSE_ERR_LINE_TOO_LONG);
    return buf_append(&p->_line, (const char *)mark, n) == 0 ? 0 : fail(p, SSE_ERR_NOMEM);
}

/* The first CR or LF in [from, pe), or pe: where a value that goes on at `from` ends. */
static const unsigned char *value_end(const unsigned char *from, const unsigned char *pe)
{
    const unsigned char *lf = memchr(from, '\n', (size_t)(pe - from));
    const unsigned char *cr = memchr(from, '\r', (size_t)((lf != NULL ? lf : pe) - from));

    return cr != NULL ? cr : lf != NULL ? lf : pe;
}


#line 284 "runtime/sse/sse_parser.rl"



#line 250 "runtime/sse/sse_parser.c"
static const int sse_fsm_start = 7;
static const int sse_fsm_error = -1;


#line 287 "runtime/sse/sse_parser.rl"

static void machine_start(sse_parser_t *p)
{
    int cs;
    
#line 257 "runtime/sse/sse_parser.c"
	{
	cs = sse_fsm_start;
	}

#line 292 "runtime/sse/sse_parser.rl"
    p->_cs = cs;
}

void sse_parser_init(sse_parser_t *p, const sse_callbacks_t *cb, void *user)
{
    memset(p, 0, sizeof(*p));
    p->max_line = SSE_DEFAULT_MAX_LINE;
    p->max_event = SSE_DEFAULT_MAX_EVENT;
    if (cb != NULL)
        p->_cb = *cb;
    p->_user = user;
    p->_retry = -1;
    line_reset(p);
    machine_start(p);
}

ptrdiff_t sse_parser_execute(sse_parser_t *parser, const char *buf, size_t len)
{
    if (parser->_err != SSE_OK)
        return -1;
    if (len == 0)
        return 0;

    const unsigned char *p = (const unsigned char *)buf, *pe = p + len;
    /* start of the current line in this chunk; a line carried from the last chunk resumes here */
    const unsigned char *mark = p;
    int cs = parser->_cs;
    
#line 287 "runtime/sse/sse_parser.c"
	{
	if ( p == pe )
		goto _test_eof;
	switch ( cs )
	{
case 7:
	switch( (*p) ) {
		case 10u: goto tr15;
		case 13u: goto tr16;
		case 58u: goto tr17;
		case 239u: goto tr18;
	}
	goto tr14;
tr14:
#line 253 "runtime/sse/sse_parser.rl"
	{
        parser->_in_line = 1;
        parser->_line.len = 0;
        mark = p;
    }
	goto st0;
st0:
	if ( ++p == pe )
		goto _test_eof0;
case 0:
#line 311 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr1;
		case 13u: goto tr2;
		case 58u: goto tr3;
	}
	goto st0;
tr1:
#line 265 "runtime/sse/sse_parser.rl"
	{
        if (line_end(parser, mark, p, 0) != 0)
            {p++; cs = 8; goto _out;}
    }
	goto st8;
tr5:
#line 269 "runtime/sse/sse_parser.rl"
	{
        if (line_end(parser, mark, p, 1) != 0)
            {p++; cs = 8; goto _out;}
    }
	goto st8;
tr15:
#line 278 "runtime/sse/sse_parser.rl"
	{
        if (dispatch(parser) != 0)
            {p++; cs = 8; goto _out;}
    }
	goto st8;
st8:
	if ( ++p == pe )
		goto _test_eof8;
case 8:
#line 339 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr15;
		case 13u: goto tr16;
		case 58u: goto tr17;
	}
	goto tr14;
tr2:
#line 265 "runtime/sse/sse_parser.rl"
	{
        if (line_end(parser, mark, p, 0) != 0)
            {p++; cs = 9; goto _out;}
    }
	goto st9;
tr6:
#line 269 "runtime/sse/sse_parser.rl"
	{
        if (line_end(parser, mark, p, 1) != 0)
            {p++; cs = 9; goto _out;}
    }
	goto st9;
tr16:
#line 278 "runtime/sse/sse_parser.rl"
	{
        if (dispatch(parser) != 0)
            {p++; cs = 9; goto _out;}
    }
	goto st9;
st9:
	if ( ++p == pe )
		goto _test_eof9;
case 9:
#line 367 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto st8;
		case 13u: goto tr16;
		case 58u: goto tr17;
	}
	goto tr14;
tr17:
#line 253 "runtime/sse/sse_parser.rl"
	{
        parser->_in_line = 1;
        parser->_line.len = 0;
        mark = p;
    }
#line 258 "runtime/sse/sse_parser.rl"
	{
        parser->_colon = line_off(parser, mark, p);
        parser->_value = parser->_colon + 1;
    }
	goto st1;
st1:
	if ( ++p == pe )
		goto _test_eof1;
case 1:
#line 388 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr5;
		case 13u: goto tr6;
		case 32u: goto tr7;
	}
	goto st2;
tr7:
#line 262 "runtime/sse/sse_parser.rl"
	{
        parser->_value = line_off(parser, mark, p) + 1;
    }
	goto st2;
tr8:
#line 275 "runtime/sse/sse_parser.rl"
	{
        {p = (( value_end(p + 1, pe)))-1;}
    }
	goto st2;
st2:
	if ( ++p == pe )
		goto _test_eof2;
case 2:
#line 408 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr5;
		case 13u: goto tr6;
	}
	goto tr8;
tr3:
#line 258 "runtime/sse/sse_parser.rl"
	{
        parser->_colon = line_off(parser, mark, p);
        parser->_value = parser->_colon + 1;
    }
	goto st3;
st3:
	if ( ++p == pe )
		goto _test_eof3;
case 3:
#line 423 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr1;
		case 13u: goto tr2;
		case 32u: goto tr10;
	}
	goto st4;
tr10:
#line 262 "runtime/sse/sse_parser.rl"
	{
        parser->_value = line_off(parser, mark, p) + 1;
    }
	goto st4;
tr11:
#line 275 "runtime/sse/sse_parser.rl"
	{
        {p = (( value_end(p + 1, pe)))-1;}
    }
	goto st4;
st4:
	if ( ++p == pe )
		goto _test_eof4;
case 4:
#line 443 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr1;
		case 13u: goto tr2;
	}
	goto tr11;
tr18:
#line 253 "runtime/sse/sse_parser.rl"
	{
        parser->_in_line = 1;
        parser->_line.len = 0;
        mark = p;
    }
	goto st5;
st5:
	if ( ++p == pe )
		goto _test_eof5;
case 5:
#line 459 "runtime/sse/sse_parser.c"
	switch( (*p) ) {
		case 10u: goto tr1;
		case 13u: goto tr2;
		case 58u: goto tr3;
		case 187u: goto st6;
	}
	goto st0;
st6:
	if ( ++p == pe )
		goto _test_eof6;
case 6:
	switch( (*p) ) {
		case 10u: goto tr1;
		case 13u: goto tr2;
		case 58u: goto tr3;
		case 191u: goto st8;
	}
	goto st0;
	}
	_test_eof0: cs = 0; goto _test_eof; 
	_test_eof8: cs = 8; goto _test_eof; 
	_test_eof9: cs = 9; goto _test_eof; 
	_test_eof1: cs = 1; goto _test_eof; 
	_test_eof2: cs = 2; goto _test_eof; 
	_test_eof3: cs = 3; goto _test_eof; 
	_test_eof4: cs = 4; goto _test_eof; 
	_test_eof5: cs = 5; goto _test_eof; 
	_test_eof6: cs = 6; goto _test_eof; 

	_test_eof: {}
	_out: {}
	}

#line 320 "runtime/sse/sse_parser.rl"
    assert(p <= pe && mark <= pe && cs != sse_fsm_error);
    parser->_cs = cs;
    if (parser->_err != SSE_OK)
        return -1;
    if (data_own(parser) != 0)
        return -1;
    if (parser->_in_line && line_carry(parser, mark, pe) != 0)
        return -1;
    return (ptrdiff_t)len;
}

int sse_parser_finish(sse_parser_t *p)
{
    if (p->_err != SSE_OK)
        return -1;
    line_reset(p);
    event_reset(p);
    machine_start(p);
    return 0;
}

int sse_parser_has_error(const sse_parser_t *p)
{
    return p->_err != SSE_OK;
}

sse_error_t sse_parser_error(const sse_parser_t *p)
{
    return p->_err;
}

const char *sse_strerror(sse_error_t err)
{
    switch (err) {
    case SSE_OK:
        return "no error";
    case SSE_ERR_LINE_TOO_LONG:
        return "line too long";
    case SSE_ERR_EVENT_TOO_LARGE:
        return "event data too large";
    case SSE_ERR_NOMEM:
        return "out of memory";
    case SSE_ERR_CALLBACK:
        return "stopped by callback";
    }
    return "unknown error";
}

void sse_parser_free(sse_parser_t *p)
{
    buf_free(&p->_line);
    buf_free(&p->_data);
    buf_free(&p->_event);
    buf_free(&p->_id);
}
