/*
 * runtime/sse/sse.h — Server-Sent Events (text/event-stream, WHATWG HTML "event stream
 * interpretation"): an incremental parser for the clients we run (chat-completion streams, the
 * conformance tests) and a frame formatter for the server's SSE responses. Neither depends on
 * h2o: the formatter writes into memory the caller provides (e.g. from the request pool).
 *
 * Parser use:
 *
 *     sse_parser_t p;
 *     sse_callbacks_t cb = {.on_event = my_event, .on_comment = my_comment};
 *     sse_parser_init(&p, &cb, ctx);
 *     while (chunk arrives) if (sse_parser_execute(&p, buf, len) < 0) break;
 *     sse_parser_finish(&p);
 *     sse_parser_free(&p);
 *
 * Chunks may be cut anywhere (inside a CRLF, a field name, a UTF-8 byte order mark): the events
 * seen are the same as for the whole stream in one call.
 */
#ifndef LG_SSE_SSE_H
#define LG_SSE_SSE_H

#include <stddef.h>

/* Default bound on one line (field name, colon and value; the line end excluded). */
#define SSE_DEFAULT_MAX_LINE ((size_t)1 << 20)
/* Default bound on the data of one event (its data lines joined with "\n"). */
#define SSE_DEFAULT_MAX_EVENT ((size_t)16 << 20)

/*
 * One dispatched event. Every slice is borrowed and valid only during the on_event call; none
 * is NUL-terminated (data may contain NUL bytes).
 */
typedef struct sse_event {
    const char *event; /* the event type; "message" when the stream named none */
    size_t event_len;
    const char *data; /* the event's data lines joined with "\n" (no trailing "\n") */
    size_t data_len;
    const char *id; /* the last event id: it persists across events until an id field changes it */
    size_t id_len;  /* 0 when no id was ever set (or it was set to "") */
    long long retry; /* the reconnection time in ms last set by a retry field; -1 when none */
} sse_event_t;

/*
 * Callbacks; either may be NULL. A non-zero return stops the parser: the current
 * sse_parser_execute returns -1 and sse_parser_error says SSE_ERR_CALLBACK.
 */
typedef struct sse_callbacks {
    /* A blank line ended an event that had at least one data line. `ev` is borrowed. */
    int (*on_event)(void *user, const sse_event_t *ev);
    /* A comment line (":text"); `text` (borrowed, valid during the call) is what follows the
     * colon, less one optional leading space, as for field values. Heartbeats arrive here. */
    int (*on_comment)(void *user, const char *text, size_t len);
} sse_callbacks_t;

typedef enum sse_error {
    SSE_OK = 0,
    SSE_ERR_LINE_TOO_LONG,   /* a line exceeded max_line */
    SSE_ERR_EVENT_TOO_LARGE, /* an event's data exceeded max_event */
    SSE_ERR_NOMEM,           /* a buffer could not grow */
    SSE_ERR_CALLBACK,        /* a callback returned non-zero */
} sse_error_t;

/* A growable byte buffer owned by the parser (malloc'd; freed by sse_parser_free). */
typedef struct sse_buf {
    char *data;
    size_t len, cap;
} sse_buf_t;

/*
 * Parser state. Callers may set max_line and max_event after sse_parser_init and before the
 * first sse_parser_execute; every other member is private.
 *
 * Ownership: lines that end inside the chunk being executed are read in place through offsets
 * into the caller's buffer. What must outlive a chunk is copied into the parser's own buffers:
 * the part of a line cut by the chunk end (at most max_line bytes), the data and event type of
 * an event whose blank line has not arrived yet (at most max_event bytes of data), and the last
 * event id. Those buffers are released by sse_parser_free.
 */
typedef struct sse_parser {
    size_t max_line;  /* bytes per line; default SSE_DEFAULT_MAX_LINE */
    size_t max_event; /* bytes of data per event; default SSE_DEFAULT_MAX_EVENT */

    int _cs;               /* Ragel machine state */
    sse_error_t _err;      /* first error; sticky */
    sse_callbacks_t _cb;   /* copied at init */
    void *_user;           /* borrowed; handed to the callbacks */
    int _in_line;          /* a non-blank line has begun and not ended */
    size_t _colon, _value; /* offsets in the current line of its first colon and of its value */
    sse_buf_t _line;       /* the start of a line begun in an earlier chunk */
    int _has_data;         /* the pending event has at least one data line */
    const char *_data_ref; /* its only data line, in place in the current chunk; or NULL */
    size_t _data_ref_len;
    sse_buf_t _data;   /* its data lines joined, once copied out of the chunk */
    sse_buf_t _event;  /* its event type; empty means "message" */
    sse_buf_t _id;     /* the last event id */
    long long _retry;  /* reconnection time in ms; -1 until a valid retry field */
} sse_parser_t;

/*
 * Readies `p` for a new stream. `cb` is copied; `user` is borrowed and passed to every callback.
 * Owns no memory until the first execute; pair with sse_parser_free.
 */
void sse_parser_init(sse_parser_t *p, const sse_callbacks_t *cb, void *user);

/*
 * Parses the next `len` bytes of the stream (`buf` is borrowed; it may be NULL when len is 0),
 * calling the callbacks for every event and comment they complete. Returns `len`, or -1 on an
 * error (also when the parser had already failed); the error is sticky.
 */
ptrdiff_t sse_parser_execute(sse_parser_t *p, const char *buf, size_t len);

/*
 * Ends the stream: a line or event without its terminating blank line is discarded, as the
 * standard says. The parser is then ready for a new stream (a reconnection): the last event id
 * and the reconnection time are kept, a byte order mark is accepted again. Returns 0, or -1 when
 * the parser had failed.
 */
int sse_parser_finish(sse_parser_t *p);

/* Non-zero once the parser has failed; sse_parser_error says why. */
int sse_parser_has_error(const sse_parser_t *p);
sse_error_t sse_parser_error(const sse_parser_t *p);
/* A short static message for `err`, e.g. "line too long". */
const char *sse_strerror(sse_error_t err);

/* Releases the parser's buffers. `p` may be initialised again afterwards. */
void sse_parser_free(sse_parser_t *p);

/*
 * Formats one event frame: "event: <event>\n" (omitted when `event` is NULL), one
 * "data: <line>\n" per line of `data` (split at LF, CRLF and CR; a receiver joins them with
 * "\n"), "id: <id>\n" (omitted when `id` is NULL), and the blank line that dispatches it.
 * `event` and `id` are NUL-terminated and borrowed; `data` (borrowed, may be NULL when
 * data_len is 0) always yields at least one data line, so the frame is always dispatched.
 * Writes the frame to `dst` only when it fits in `cap` bytes (no NUL is added); returns its
 * length either way, so a first call with (NULL, 0) sizes the buffer. Returns 0 when `event`
 * or `id` contains CR or LF, which no frame can carry.
 */
size_t sse_format_event(char *dst, size_t cap, const char *event, const char *data, size_t data_len,
                        const char *id);

/*
 * Formats a comment frame (heartbeats, the first frame that flushes response headers): one
 * ": <line>\n" per line of `text` (borrowed; may be NULL when len is 0), then a blank line.
 * Same `dst`/`cap`/return contract as sse_format_event.
 */
size_t sse_format_comment(char *dst, size_t cap, const char *text, size_t len);

#endif
