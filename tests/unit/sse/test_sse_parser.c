/*
 * tests/unit/sse/test_sse_parser.c — unit tests of the SSE parser and frame formatter
 * (runtime/sse). Every stream case is parsed whole, cut into two and three chunks at every
 * possible position, and fed byte by byte; each way must give the same transcript of events,
 * comments and errors, which must equal the expected one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sse/sse.h"

/* A growing, NUL-terminated transcript of what the parser reported. */
typedef struct transcript {
    char *s;
    size_t len, cap;
    int stop_after; /* on_event returns non-zero on this event (1-based); 0 never */
    int events;
} transcript_t;

static void tr_put(transcript_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len] = '\0';
}

static void tr_puts(transcript_t *t, const char *s)
{
    tr_put(t, s, strlen(s));
}

/* Appends bytes with \n, \r, \0, \\ and non-printable bytes escaped. */
static void tr_escaped(transcript_t *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '\n')
            tr_puts(t, "\\n");
        else if (c == '\r')
            tr_puts(t, "\\r");
        else if (c == '\0')
            tr_puts(t, "\\0");
        else if (c == '\\')
            tr_puts(t, "\\\\");
        else if (c < 0x20 || c >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02X", c);
            tr_puts(t, esc);
        } else
            tr_put(t, s + i, 1);
    }
}

static int on_event(void *user, const sse_event_t *ev)
{
    transcript_t *t = user;
    char retry[48];
    tr_puts(t, "event=");
    tr_escaped(t, ev->event, ev->event_len);
    tr_puts(t, " data=");
    tr_escaped(t, ev->data, ev->data_len);
    tr_puts(t, " id=");
    tr_escaped(t, ev->id, ev->id_len);
    snprintf(retry, sizeof(retry), " retry=%lld\n", ev->retry);
    tr_puts(t, retry);
    return ++t->events == t->stop_after;
}

static int on_comment(void *user, const char *text, size_t len)
{
    transcript_t *t = user;
    tr_puts(t, "comment=");
    tr_escaped(t, text, len);
    tr_puts(t, "\n");
    return 0;
}

static const sse_callbacks_t callbacks = {on_event, on_comment};

typedef struct limits {
    size_t max_line, max_event; /* 0: the default */
} limits_t;

/*
 * Parses `in` cut at the `ncuts` ascending offsets in `cuts`, then finishes the stream. Each
 * chunk is a fresh copy, scribbled over and freed once executed, so a parser that kept a pointer
 * into an earlier chunk reads garbage (or trips ASan). Returns the transcript (malloc'd; caller
 * frees), ending with "error=<message>\n" if the parser failed.
 */
static char *parse(const char *in, size_t len, const size_t *cuts, size_t ncuts, limits_t lim)
{
    transcript_t t = {0};
    sse_parser_t p;
    size_t from = 0;
    tr_puts(&t, "");
    sse_parser_init(&p, &callbacks, &t);
    if (lim.max_line)
        p.max_line = lim.max_line;
    if (lim.max_event)
        p.max_event = lim.max_event;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        char *chunk = malloc(to - from + 1);
        assert_non_null(chunk);
        memcpy(chunk, in + from, to - from);
        ptrdiff_t n = sse_parser_execute(&p, chunk, to - from);
        memset(chunk, '#', to - from);
        free(chunk);
        if (n < 0)
            break;
        assert_int_equal(n, to - from);
        from = to;
    }
    if (sse_parser_finish(&p) != 0) {
        assert_true(sse_parser_has_error(&p));
        tr_puts(&t, "error=");
        tr_puts(&t, sse_strerror(sse_parser_error(&p)));
        tr_puts(&t, "\n");
    }
    sse_parser_free(&p);
    return t.s;
}

static void expect_parse(const char *in, size_t len, const size_t *cuts, size_t ncuts, limits_t lim,
                         const char *expect)
{
    char *got = parse(in, len, cuts, ncuts, lim);
    if (strcmp(got, expect) != 0) {
        fprintf(stderr, "cut at");
        for (size_t i = 0; i < ncuts; i++)
            fprintf(stderr, " %zu", cuts[i]);
        fprintf(stderr, " of %zu bytes\n", len);
    }
    assert_string_equal(got, expect);
    free(got);
}

/* Whole, every two-chunk and three-chunk cut, and byte by byte: all must give `expect`. */
static void check_stream(const char *in, size_t len, limits_t lim, const char *expect)
{
    size_t cuts[2];
    expect_parse(in, len, NULL, 0, lim, expect);
    for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
        expect_parse(in, len, cuts, 1, lim, expect);
        for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++)
            expect_parse(in, len, cuts, 2, lim, expect);
    }
    size_t *bytes = malloc((len + 1) * sizeof(*bytes));
    assert_non_null(bytes);
    for (size_t i = 0; i <= len; i++)
        bytes[i] = i;
    expect_parse(in, len, bytes, len, lim, expect);
    free(bytes);
}

#define EV(event, data, id, retry) "event=" event " data=" data " id=" id " retry=" retry "\n"
#define MSG(data) EV("message", data, "", "-1")
#define DEFAULTS ((limits_t){0, 0})

/* X(name, input, limits, expected transcript); inputs are literals and may contain NUL. */
#define STREAM_CASES(X)                                                                            \
    X(lf, "data: a\n\ndata: b\n\n", DEFAULTS, MSG("a") MSG("b"))                                   \
    X(crlf, "data: a\r\n\r\ndata: b\r\n\r\n", DEFAULTS, MSG("a") MSG("b"))                         \
    X(cr, "data: a\r\rdata: b\r\r", DEFAULTS, MSG("a") MSG("b"))                                   \
    X(mixed_line_ends, "data: a\r\n\ndata: b\r\r\ndata: c\n\rdata: d\r\ndata: e\r\n\n", DEFAULTS,  \
      MSG("a") MSG("b") MSG("c") MSG("d\\ne"))                                                     \
    X(crlf_pairs_not_merged, "data: a\n\r\n\rdata: b\r\n\r\r\n", DEFAULTS, MSG("a") MSG("b"))      \
    X(multi_line_data, "data: a\ndata: b\ndata:\ndata: c\n\n", DEFAULTS, MSG("a\\nb\\n\\nc"))      \
    X(comments, ": hello\n:\n:  two\ndata: x\n: mid\n\n: bye\r\n", DEFAULTS,                       \
      "comment=hello\ncomment=\ncomment= two\ncomment=mid\n" MSG("x") "comment=bye\n")             \
    X(id_persists, "id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n", DEFAULTS,   \
      EV("message", "a", "1", "-1") EV("message", "b", "1", "-1") MSG("c")                         \
          EV("message", "d", "2", "-1"))                                                           \
    X(id_with_nul_ignored, "id: 1\ndata: a\n\nid: x\0y\ndata: b\n\n", DEFAULTS,                    \
      EV("message", "a", "1", "-1") EV("message", "b", "1", "-1"))                                 \
    X(retry, "retry: 3000\ndata: a\n\nretry: 12a\ndata: b\n\nretry:\ndata: c\n\nretry: -5\n"       \
             "data: d\n\nretry:  7\ndata: e\n\nretry: 99999999999999999999999\ndata: f\n\n"        \
             "retry: 0\ndata: g\n\n",                                                              \
      DEFAULTS,                                                                                    \
      EV("message", "a", "", "3000") EV("message", "b", "", "3000") EV("message", "c", "", "3000") \
          EV("message", "d", "", "3000") EV("message", "e", "", "3000")                            \
              EV("message", "f", "", "9223372036854775807") EV("message", "g", "", "0"))           \
    X(event_name, "event: add\ndata: a\n\ndata: b\n\nevent:\ndata: c\n\nevent: x\nevent: y\n"      \
                  "data: d\n\n",                                                                   \
      DEFAULTS, EV("add", "a", "", "-1") MSG("b") MSG("c") EV("y", "d", "", "-1"))                 \
    X(empty_data_line, "data:\n\ndata: \n\ndata:\ndata:\n\n", DEFAULTS, MSG("") MSG("") MSG("\\n")) \
    X(no_colon_field, "data\n\nevent\ndata\ndata\n\nid\nretry\n\n", DEFAULTS, MSG("") MSG("\\n"))   \
    X(space_handling, "data:x\n\ndata: x\n\ndata:  x\n\ndata:\tx\n\ndata: x \n\n", DEFAULTS,       \
      MSG("x") MSG("x") MSG(" x") MSG("\\x09x") MSG("x "))                                         \
    X(colon_in_value, "data: a: b\n\ndata::\n\n", DEFAULTS, MSG("a: b") MSG(":"))                  \
    X(nul_and_utf8_in_data, "data: a\0b\n\ndata: \xC3\xA9\n\n", DEFAULTS,                           \
      MSG("a\\0b") MSG("\\xC3\\xA9"))                                                              \
    X(bom, "\xEF\xBB\xBF" "data: a\n\n", DEFAULTS, MSG("a"))                                       \
    X(bom_then_blank_and_comment, "\xEF\xBB\xBF\n: c\ndata: a\n\n", DEFAULTS,                      \
      "comment=c\n" MSG("a"))                                                                      \
    X(bom_only_once, "\xEF\xBB\xBF\xEF\xBB\xBF" "data: a\n\ndata: b\n\n", DEFAULTS, MSG("b"))      \
    X(bom_partial_is_name, "\xEF\xBB" "data: a\n\n\xEF" "data: b\n\ndata: c\n\n", DEFAULTS,        \
      MSG("c"))                                                                                    \
    X(bom_only_at_start, "data: a\n\n\xEF\xBB\xBF" "data: b\n\n", DEFAULTS, MSG("a"))              \
    X(unknown_fields, "foo: bar\nDATA: x\ndata : y\n data: y\ndata: z\nretry2: 5\n\n", DEFAULTS,   \
      MSG("z"))                                                                                    \
    X(event_without_data_not_dispatched, "event: e\nid: 5\nretry: 10\n\ndata: a\n\n", DEFAULTS,     \
      EV("message", "a", "5", "10"))                                                               \
    X(incomplete_event_discarded, "data: a\n\nevent: e\ndata: b\n", DEFAULTS, MSG("a"))            \
    X(incomplete_line_discarded, "data: a\n\ndata: b", DEFAULTS, MSG("a"))                        \
    X(overlong_line, "data: 12\n\ndata: 123\n\ndata: c\n\n", ((limits_t){8, 0}),                    \
      MSG("12") "error=line too long\n")                                                           \
    X(overlong_unterminated_line, "data: 12\n\n:23456789", ((limits_t){8, 0}),                     \
      MSG("12") "error=line too long\n")                                                           \
    X(overlong_comment, ": 345678\n: 3456789\ndata: x\n\n", ((limits_t){8, 0}),                    \
      "comment=345678\nerror=line too long\n")                                                     \
    X(bom_split_under_tiny_line_limit, "\xEF\xBB\xBF" "d\n\nm\n\x01", ((limits_t){1, 0}),                  \
      "")                                                                                          \
    X(event_too_large, "data: abc\ndata: d\n\ndata: abc\ndata: de\n\ndata: x\n\n",                 \
      ((limits_t){0, 5}), MSG("abc\\nd") "error=event data too large\n")

#define STREAM_CASE_DEF(name, input, lim, expect)                                                  \
    static void test_##name(void **state)                                                          \
    {                                                                                              \
        (void)state;                                                                               \
        check_stream(input, sizeof(input) - 1, lim, expect);                                       \
    }
STREAM_CASES(STREAM_CASE_DEF)

static void test_callback_stops_parser(void **state)
{
    (void)state;
    transcript_t t = {.stop_after = 1};
    sse_parser_t p;
    const char in[] = "data: a\n\ndata: b\n\n";
    sse_parser_init(&p, &callbacks, &t);
    assert_int_equal(sse_parser_execute(&p, in, sizeof(in) - 1), -1);
    assert_int_equal(sse_parser_error(&p), SSE_ERR_CALLBACK);
    assert_int_equal(t.events, 1);
    assert_int_equal(sse_parser_execute(&p, in, sizeof(in) - 1), -1);
    assert_int_equal(sse_parser_finish(&p), -1);
    assert_int_equal(t.events, 1);
    sse_parser_free(&p);
    free(t.s);
}

static void test_finish_starts_new_stream(void **state)
{
    (void)state;
    transcript_t t = {0};
    sse_parser_t p;
    const char first[] = "retry: 500\nid: 7\ndata: a\n\nevent: lost\ndata: lost\n";
    const char second[] = "\xEF\xBB\xBF" "data: b\n\n";
    sse_parser_init(&p, &callbacks, &t);
    assert_int_equal(sse_parser_execute(&p, NULL, 0), 0);
    assert_int_equal(sse_parser_execute(&p, first, sizeof(first) - 1), sizeof(first) - 1);
    assert_int_equal(sse_parser_finish(&p), 0);
    assert_int_equal(sse_parser_execute(&p, second, sizeof(second) - 1), sizeof(second) - 1);
    assert_int_equal(sse_parser_finish(&p), 0);
    assert_false(sse_parser_has_error(&p));
    assert_string_equal(t.s, EV("message", "a", "7", "500") EV("message", "b", "7", "500"));
    sse_parser_free(&p);
    free(t.s);
}

static void test_null_callbacks(void **state)
{
    (void)state;
    sse_parser_t p;
    const char in[] = ": c\ndata: a\n\n";
    sse_parser_init(&p, NULL, NULL);
    assert_int_equal(sse_parser_execute(&p, in, sizeof(in) - 1), sizeof(in) - 1);
    assert_int_equal(sse_parser_finish(&p), 0);
    sse_parser_free(&p);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_string_equal(sse_strerror(SSE_OK), "no error");
    assert_string_equal(sse_strerror(SSE_ERR_NOMEM), "out of memory");
    assert_string_equal(sse_strerror(SSE_ERR_CALLBACK), "stopped by callback");
}

/* Formats an event into exactly-sized memory; returns it NUL-terminated (caller frees). */
static char *format_event(const char *event, const char *data, size_t len, const char *id)
{
    size_t n = sse_format_event(NULL, 0, event, data, len, id);
    assert_true(n > 0);
    char *s = malloc(n + 1);
    assert_non_null(s);
    assert_int_equal(sse_format_event(s, n, event, data, len, id), n);
    s[n] = '\0';
    return s;
}

static void test_format_event(void **state)
{
    (void)state;
    char *s = format_event("values", "{\"a\":1}", 7, "7");
    assert_string_equal(s, "event: values\ndata: {\"a\":1}\nid: 7\n\n");
    free(s);
    s = format_event(NULL, "x", 1, NULL);
    assert_string_equal(s, "data: x\n\n");
    free(s);
    s = format_event("", NULL, 0, "");
    assert_string_equal(s, "event:\ndata:\nid:\n\n");
    free(s);
}

static void test_format_event_multi_line(void **state)
{
    (void)state;
    const char data[] = "a\nb\r\nc\rd\n\n  e";
    char *s = format_event("m", data, sizeof(data) - 1, NULL);
    assert_string_equal(s, "event: m\ndata: a\ndata: b\ndata: c\ndata: d\ndata:\ndata:   e\n\n");
    free(s);
}

static void test_format_event_roundtrip(void **state)
{
    (void)state;
    static const struct {
        const char *event, *data, *id, *expect;
    } cases[] = {
        {"updates", "{\"k\": \"v\"}", "1-0", EV("updates", "{\"k\": \"v\"}", "1-0", "-1")},
        {NULL, "line1\nline2\r\nline3\rline4", NULL, MSG("line1\\nline2\\nline3\\nline4")},
        {"e", " leading\n  two\n", "x", EV("e", " leading\\n  two\\n", "x", "-1")},
        {NULL, "", NULL, MSG("")},
        {NULL, "\n", NULL, MSG("\\n")},
        {"a:b", "::", ": id", EV("a:b", "::", ": id", "-1")},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *s = format_event(cases[i].event, cases[i].data, strlen(cases[i].data), cases[i].id);
        check_stream(s, strlen(s), DEFAULTS, cases[i].expect);
        free(s);
    }
}

static void test_format_event_rejects_line_breaks(void **state)
{
    (void)state;
    assert_int_equal(sse_format_event(NULL, 0, "a\nb", "x", 1, NULL), 0);
    assert_int_equal(sse_format_event(NULL, 0, "a", "x", 1, "1\r"), 0);
}

static void test_format_respects_cap(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, '#', sizeof(buf));
    size_t n = sse_format_event(buf, sizeof(buf), "e", "x", 1, NULL);
    assert_int_equal(n, sizeof("event: e\ndata: x\n\n") - 1);
    for (size_t i = 0; i < sizeof(buf); i++)
        assert_int_equal(buf[i], '#');
    assert_int_equal(sse_format_comment(buf, 4, "ping", 4), sizeof(": ping\n\n") - 1);
    assert_int_equal(buf[0], '#');
}

static void test_format_comment(void **state)
{
    (void)state;
    char buf[64];
    size_t n = sse_format_comment(buf, sizeof(buf), "heartbeat", 9);
    assert_int_equal(n, 13);
    assert_memory_equal(buf, ": heartbeat\n\n", n);
    n = sse_format_comment(buf, sizeof(buf), NULL, 0);
    assert_memory_equal(buf, ":\n\n", n);
    n = sse_format_comment(buf, sizeof(buf), "a\r\nb", 4);
    assert_memory_equal(buf, ": a\n: b\n\n", n);
    check_stream(buf, n, DEFAULTS, "comment=a\ncomment=b\n");
}

int main(void)
{
#define STREAM_CASE_TEST(name, input, lim, expect) cmocka_unit_test(test_##name),
    const struct CMUnitTest tests[] = {
        STREAM_CASES(STREAM_CASE_TEST)
        cmocka_unit_test(test_callback_stops_parser),
        cmocka_unit_test(test_finish_starts_new_stream),
        cmocka_unit_test(test_null_callbacks),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_format_event),
        cmocka_unit_test(test_format_event_multi_line),
        cmocka_unit_test(test_format_event_roundtrip),
        cmocka_unit_test(test_format_event_rejects_line_breaks),
        cmocka_unit_test(test_format_respects_cap),
        cmocka_unit_test(test_format_comment),
    };
    return cmocka_run_group_tests_name("sse_parser", tests, NULL, NULL);
}
