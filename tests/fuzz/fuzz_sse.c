/*
 * tests/fuzz/fuzz_sse.c — libFuzzer driver for the SSE parser and frame formatter
 * (runtime/sse). Built and run by scripts/fuzz-smoke.sh.
 *
 * Input: byte 0 picks the limits (small ones make the overlong-line and large-event errors
 * reachable), the rest is the stream. Properties checked, aborting on a violation:
 *   1. the stream parsed whole, cut at one, two and three places derived from the input, and fed
 *      byte by byte gives the same transcript of events, comments and errors;
 *   2. the stream used as event data, formatted by sse_format_event and parsed back, is one
 *      event whose data is the input with CRLF and CR turned into LF.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse/sse.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A transcript: length-prefixed records of everything the parser reported. */
typedef struct transcript {
    unsigned char *s;
    size_t len, cap;
} transcript_t;

static void put(transcript_t *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        t->cap = (t->len + n) * 2;
        t->s = realloc(t->s, t->cap);
        CHECK(t->s != NULL);
    }
    if (n > 0)
        memcpy(t->s + t->len, p, n);
    t->len += n;
}

static void put_slice(transcript_t *t, const char *p, size_t n)
{
    put(t, &n, sizeof(n));
    put(t, p, n);
}

static int on_event(void *user, const sse_event_t *ev)
{
    transcript_t *t = user;
    put(t, "E", 1);
    put_slice(t, ev->event, ev->event_len);
    put_slice(t, ev->data, ev->data_len);
    put_slice(t, ev->id, ev->id_len);
    put(t, &ev->retry, sizeof(ev->retry));
    return 0;
}

static int on_comment(void *user, const char *text, size_t len)
{
    transcript_t *t = user;
    put(t, "C", 1);
    put_slice(t, text, len);
    return 0;
}

static const sse_callbacks_t callbacks = {on_event, on_comment};

/*
 * Parses `in` cut at the ascending offsets `cuts`; every chunk is a short-lived copy, so a
 * pointer kept into an earlier chunk is a use-after-free. Returns the transcript (caller frees).
 */
static transcript_t parse(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                          size_t max_line, size_t max_event)
{
    transcript_t t = {0};
    sse_parser_t p;
    size_t from = 0;
    sse_parser_init(&p, &callbacks, &t);
    p.max_line = max_line;
    p.max_event = max_event;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        char *chunk = malloc(to - from + 1);
        CHECK(chunk != NULL);
        memcpy(chunk, in + from, to - from);
        ptrdiff_t n = sse_parser_execute(&p, chunk, to - from);
        free(chunk);
        if (n < 0)
            break;
        CHECK((size_t)n == to - from);
        from = to;
    }
    int err = sse_parser_finish(&p) != 0 ? (int)sse_parser_error(&p) : 0;
    CHECK((err != 0) == (sse_parser_has_error(&p) != 0));
    put(&t, "X", 1);
    put(&t, &err, sizeof(err));
    sse_parser_free(&p);
    return t;
}

/* Checks that transcript b equals a, then frees b. */
static void check_same(transcript_t a, transcript_t b)
{
    CHECK(a.len == b.len && memcmp(a.s, b.s, a.len) == 0);
    free(b.s);
}

static void check_splits(const uint8_t *in, size_t len, size_t max_line, size_t max_event)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a of the input picks the cuts */
    for (size_t i = 0; i < len; i++)
        h = (h ^ in[i]) * 1099511628211u;
    size_t cuts[3] = {h % (len + 1), (h >> 21) % (len + 1), (h >> 42) % (len + 1)};
    for (int i = 0; i < 3; i++)
        for (int j = i + 1; j < 3; j++)
            if (cuts[j] < cuts[i]) {
                size_t c = cuts[i];
                cuts[i] = cuts[j];
                cuts[j] = c;
            }

    transcript_t whole = parse(in, len, NULL, 0, max_line, max_event);
    check_same(whole, parse(in, len, cuts + 1, 1, max_line, max_event));
    check_same(whole, parse(in, len, cuts + 1, 2, max_line, max_event));
    check_same(whole, parse(in, len, cuts, 3, max_line, max_event));
    if (len <= 4096) {
        size_t *bytes = malloc((len + 1) * sizeof(*bytes));
        CHECK(bytes != NULL);
        for (size_t i = 0; i <= len; i++)
            bytes[i] = i;
        check_same(whole, parse(in, len, bytes, len, max_line, max_event));
        free(bytes);
    }
    free(whole.s);
}

static void check_format_roundtrip(const uint8_t *in, size_t len)
{
    size_t n = sse_format_event(NULL, 0, "fuzz", (const char *)in, len, "7");
    CHECK(n > len);
    char *frame = malloc(n);
    CHECK(frame != NULL);
    CHECK(sse_format_event(frame, n, "fuzz", (const char *)in, len, "7") == n);

    transcript_t want = {0};
    char *data = malloc(len + 1);
    CHECK(data != NULL);
    size_t dlen = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
            continue;
        data[dlen++] = in[i] == '\r' ? '\n' : (char)in[i];
    }
    sse_event_t ev = {"fuzz", 4, data, dlen, "7", 1, -1};
    on_event(&want, &ev);
    int ok = 0;
    put(&want, "X", 1);
    put(&want, &ok, sizeof(ok));

    check_same(want, parse((const uint8_t *)frame, n, NULL, 0, SSE_DEFAULT_MAX_LINE, SSE_DEFAULT_MAX_EVENT));
    free(want.s);
    free(data);
    free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max_line = data[0] & 0x80 ? 1 + (data[0] & 0x1f) : SSE_DEFAULT_MAX_LINE;
    size_t max_event = data[0] & 0x40 ? 1 + (data[0] & 0x1f) * 2 : SSE_DEFAULT_MAX_EVENT;
    check_splits(data + 1, size - 1, max_line, max_event);
    check_format_roundtrip(data + 1, size - 1);
    return 0;
}
