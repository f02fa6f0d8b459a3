/*
 * runtime/sse/sse_format.c — formats Server-Sent Events frames (events and comments) into
 * caller memory, for the server's text/event-stream responses. See sse.h for the contracts.
 */
#include "sse.h"

#include <string.h>

/* Output cursor: counts every byte, stores them only in the write pass. */
typedef struct frame {
    char *dst; /* NULL in the sizing pass */
    size_t len;
} frame_t;

static void put(frame_t *f, const char *s, size_t n)
{
    if (f->dst != NULL && n > 0)
        memcpy(f->dst + f->len, s, n);
    f->len += n;
}

/* One "<prefix>[ <line>]\n" per line of text (split at LF, CRLF, CR); at least one line. */
static void put_lines(frame_t *f, const char *prefix, const char *text, size_t len)
{
    size_t start = 0;
    for (;;) {
        size_t end = start;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        put(f, prefix, strlen(prefix));
        if (end > start) {
            put(f, " ", 1);
            put(f, text + start, end - start);
        }
        put(f, "\n", 1);
        if (end == len)
            return;
        start = end + (text[end] == '\r' && end + 1 < len && text[end + 1] == '\n' ? 2 : 1);
    }
}

static void put_event(frame_t *f, const char *event, const char *data, size_t data_len, const char *id)
{
    if (event != NULL)
        put_lines(f, "event:", event, strlen(event));
    put_lines(f, "data:", data, data_len);
    if (id != NULL)
        put_lines(f, "id:", id, strlen(id));
    put(f, "\n", 1);
}

static int one_line(const char *s)
{
    return s == NULL || strpbrk(s, "\r\n") == NULL;
}

size_t sse_format_event(char *dst, size_t cap, const char *event, const char *data, size_t data_len,
                        const char *id)
{
    frame_t f = {NULL, 0};
    if (!one_line(event) || !one_line(id))
        return 0;
    put_event(&f, event, data, data_len, id);
    if (f.len <= cap && dst != NULL) {
        frame_t w = {dst, 0};
        put_event(&w, event, data, data_len, id);
    }
    return f.len;
}

size_t sse_format_comment(char *dst, size_t cap, const char *text, size_t len)
{
    frame_t f = {NULL, 0};
    put_lines(&f, ":", text, len);
    put(&f, "\n", 1);
    if (f.len <= cap && dst != NULL) {
        frame_t w = {dst, 0};
        put_lines(&w, ":", text, len);
        put(&w, "\n", 1);
    }
    return f.len;
}
