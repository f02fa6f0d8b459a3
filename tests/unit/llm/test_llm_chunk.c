/*
 * tests/unit/llm/test_llm_chunk.c — the fast path of the stream assembler
 * (llm_stream_apply_text) against the object path (llm_stream_apply over the parsed chunk):
 * for every chunk it takes, the stream's state, the content delta and the chunk's JSON text
 * must be what the object path gives (the text byte for byte what jsonw writes for its chunk
 * object); every chunk it is not sure about must leave the stream untouched. No network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm/llm_internal.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

/* Asserts that two stream buffers hold the same bytes. */
static void assert_buf_eq(const llm_buf_t *a, const llm_buf_t *b, const char *what)
{
    if (a->len != b->len || (a->len > 0 && memcmp(a->data, b->data, a->len) != 0))
        fail_msg("%s differs: '%.*s' vs '%.*s'", what, (int)a->len, a->len ? a->data : "",
                 (int)b->len, b->len ? b->data : "");
}

/*
 * Applies chunk text `text` to `fast` through llm_stream_apply_text (which must take it) and to
 * `slow` through llm_stream_apply over the parsed text, and checks that both agree. Returns
 * the number of chunk texts written (0 or 1).
 */
static int apply_both(llm_stream_t *fast, llm_stream_t *slow, const char *text)
{
    jsonw_buf_t out = {0};
    json_t *chunk = jsonr_loadb(text, strlen(text), NULL), *msg = NULL;
    const char *fd, *sd;
    size_t flen, slen;
    char err[256] = "";
    char *want = NULL;
    int wrote;

    assert_non_null(chunk);
    if (llm_stream_apply_text(fast, text, strlen(text), &out, &fd, &flen) != 1)
        fail_msg("the fast path did not take %s", text);
    if (llm_stream_apply(slow, chunk, &msg, &sd, &slen, err, sizeof err) != 0)
        fail_msg("llm_stream_apply failed: %s", err);
    assert_buf_eq(&fast->id, &slow->id, "id");
    assert_buf_eq(&fast->model, &slow->model, "model");
    assert_buf_eq(&fast->fingerprint, &slow->fingerprint, "system_fingerprint");
    assert_buf_eq(&fast->finish_reason, &slow->finish_reason, "finish_reason");
    assert_buf_eq(&fast->content, &slow->content, "content");
    assert_int_equal(flen, slen);
    assert_memory_equal(fd, sd, flen);
    wrote = out.len > 0;
    if (msg == NULL) {
        assert_int_equal(out.len, 0);
    } else {
        want = jsonw_dumps(msg, NULL);
        assert_non_null(want);
        assert_non_null(out.data);
        assert_string_equal(out.data, want);
    }
    free(want);
    json_decref(msg);
    json_decref(chunk);
    jsonw_buf_free(&out);
    return wrote;
}

static void test_common_chunks(void **state)
{
    llm_stream_t fast, slow;

    (void)state;
    llm_stream_init(&fast);
    llm_stream_init(&slow);
    /* what OpenAI (and bench/mock_llm) send: role first, one word per chunk, the finish */
    assert_int_equal(apply_both(&fast, &slow,
                                "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                                "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,"
                                "\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null},"
                                "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}"),
                     0);
    assert_int_equal(apply_both(&fast, &slow,
                                "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
                                "\"model\":\"gpt-4o-mini\",\"system_fingerprint\":\"fp_2\",\"choices\":[{\"index\":0,"
                                "\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}]}"),
                     1);
    /* whitespace, escapes and UTF-8 in the content; a second choice is only checked */
    assert_int_equal(apply_both(&fast, &slow,
                                " { \"id\" : \"chatcmpl-2\" , \"choices\" : [ { \"delta\" : { \"content\" :"
                                " \" w\\u00f6rld\\n\\\"q\\\" \\/ \\t \\u20ac \xc3\xa9\" , \"tool_calls\" : null } } ,"
                                " {\"index\": 1, \"delta\": {\"content\": \"other\"}} ] , \"error\" : null } "),
                     1);
    /* content and finish reason in one chunk; an empty chunk; no choices */
    assert_int_equal(apply_both(&fast, &slow,
                                "{\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"!\"},"
                                "\"finish_reason\":\"stop\",\"extra\":[1,-2,{\"a\":[true,false,null]}]}]}"),
                     1);
    assert_int_equal(apply_both(&fast, &slow, "{}"), 0);
    assert_int_equal(apply_both(&fast, &slow, "{\"choices\":[],\"usage\":null}"), 0);
    assert_int_equal(apply_both(&fast, &slow, "{\"choices\":null}"), 0);
    assert_int_equal(apply_both(&fast, &slow,
                                "{\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}"),
                     0);
    assert_string_equal(fast.content.data, slow.content.data);
    assert_string_equal(fast.finish_reason.data, "length");
    assert_string_equal(fast.id.data, "chatcmpl-1"); /* the first id stays */
    llm_stream_free(&fast);
    llm_stream_free(&slow);
}

/* The memo of the members before "choices": chunks that repeat them, change them, come without
 * "choices" or go the object way in between give what the object path gives. */
static void test_prefix_memo(void **state)
{
    static const char *const chunks[] = {
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"b\"}}]}",
        /* the same members, then one after "choices" */
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"c\"}}],\"x\":1}",
        /* no "choices": a new fingerprint, then the first members again */
        "{\"system_fingerprint\":\"G\"}",
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"d\"}}]}",
        /* a fingerprint after "choices", then the first members again */
        "{\"id\":\"c-1\",\"choices\":[{\"delta\":{\"content\":\"e\"}}],\"system_fingerprint\":\"H\"}",
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"f\"}}]}",
        "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"F1\",\"choices\":[{\"delta\":{\"content\":\"g\"}}]}",
    };
    llm_stream_t fast, slow;
    size_t i;

    (void)state;
    llm_stream_init(&fast);
    llm_stream_init(&slow);
    for (i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        apply_both(&fast, &slow, chunks[i]);
        if (i == 3)
            assert_int_equal(fast.prefix.len, 0); /* no "choices": nothing remembered */
        else
            assert_true(fast.prefix.len > 0);
    }
    assert_string_equal(fast.fingerprint.data, "F1");
    assert_string_equal(fast.content.data, "abcdefg");
    /* a chunk the object path takes drops the memo; the members read again still agree */
    {
        const char *odd = "{\"id\":\"c-1\",\"model\":\"m\",\"system_fingerprint\":\"J\",\"choices\":[],"
                          "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}";
        json_t *c = jsonr_loadb(odd, strlen(odd), NULL), *m1 = NULL, *m2 = NULL;
        const char *t;
        size_t n;
        char err[128];

        assert_int_equal(llm_stream_apply_text(&fast, odd, strlen(odd), NULL, &t, &n), 0);
        assert_int_equal(llm_stream_apply(&fast, c, &m1, &t, &n, err, sizeof err), 0);
        assert_int_equal(llm_stream_apply(&slow, c, &m2, &t, &n, err, sizeof err), 0);
        assert_int_equal(fast.prefix.len, 0);
        json_decref(m1);
        json_decref(m2);
        json_decref(c);
    }
    apply_both(&fast, &slow, chunks[7]);
    assert_string_equal(fast.fingerprint.data, "F1");
    llm_stream_free(&fast);
    llm_stream_free(&slow);
}

/* A provider without ids: the fast path makes one "run-" id for all chunks, as the other. */
static void test_chunks_without_id(void **state)
{
    static const char chunk[] = "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]}";
    llm_stream_t s;
    jsonw_buf_t out = {0};
    const char *text;
    size_t len;
    char want[256];

    (void)state;

    llm_stream_init(&s);
    assert_int_equal(llm_stream_apply_text(&s, chunk, strlen(chunk), &out, &text, &len), 1);
    assert_int_equal(strncmp(s.id.data, "run-", 4), 0);
    assert_int_equal(s.id.len, 4 + 36);
    snprintf(want, sizeof want,
             "{\"content\":\"a\",\"tool_call_chunks\":[],\"additional_kwargs\":{},\"id\":\"%s\","
             "\"response_metadata\":{\"model_provider\":\"openai\"},\"tool_calls\":[],"
             "\"invalid_tool_calls\":[],\"type\":\"ai\"}",
             s.id.data);
    assert_string_equal(out.data, want);
    assert_int_equal(len, 1);
    assert_memory_equal(text, "a", 1);
    llm_stream_free(&s);
    jsonw_buf_free(&out);
}

/* Chunks the fast path leaves to jansson: the stream stays as it was, nothing is written. */
static void test_unsure_chunks(void **state)
{
    static const char *const chunks[] = {
        /* what only the object path handles */
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\"}}]}}]}",
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}",
        "{\"error\":{\"message\":\"overloaded\"}}",
        "{\"error\":\"overloaded\"}",
        /* what the object path reports as malformed */
        "{\"choices\":[{\"delta\":{\"content\":7}}]}",
        "{\"choices\":[{\"delta\":null}]}",
        "{\"choices\":[\"x\"]}",
        "{\"choices\":{}}",
        "{\"usage\":[]}",
        "[1]",
        "\"text\"",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"}}]} x",
        "{\"choices\":[{\"delta\":{\"content\":\"a\x01\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\xff\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\\x\"}}]}",
        "",
        /* valid, but where jansson decides: escaped keys, repeated keys, reals, big integers,
         * NUL and surrogate escapes, non-string ids */
        "{\"choices\":[{\"delta\":{\"con\\u0074ent\":\"a\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\",\"content\":\"b\"}}]}",
        "{\"id\":\"a\",\"id\":\"b\",\"choices\":[]}",
        "{\"created\":1.5,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"created\":12345678901234567890,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\\u0000b\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"\\ud83d\\ude00\"}}]}",
        "{\"id\":7,\"choices\":[{\"delta\":{\"content\":\"a\"}}]}",
        "{\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":1}]}",
    };

    (void)state;
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        llm_stream_t s;
        jsonw_buf_t out = {0};
        const char *text = NULL;
        size_t len = 99;

        llm_stream_init(&s);
        if (llm_stream_apply_text(&s, chunks[i], strlen(chunks[i]), &out, &text, &len) != 0)
            fail_msg("the fast path took %s", chunks[i]);
        assert_int_equal(s.id.len + s.model.len + s.content.len + s.finish_reason.len, 0);
        assert_int_equal(out.len, 0);
        assert_int_equal(len, 0);
        llm_stream_free(&s);
        jsonw_buf_free(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_chunks),
        cmocka_unit_test(test_prefix_memo),
        cmocka_unit_test(test_chunks_without_id),
        cmocka_unit_test(test_unsure_chunks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
