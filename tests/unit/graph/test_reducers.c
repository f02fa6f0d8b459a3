/*
 * tests/unit/graph/test_reducers.c — unit tests of runtime/graph/reducers.c: replace, append,
 * and add_messages (id assignment, upsert by id, removal, remove-all, OpenAI role coercion and
 * tool-call conversion, malformed messages).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "graph/engine.h"
#include "util/uuid.h"
#include "support/json_assert.h"

static void test_replace(void **state)
{
    json_t *cur = J("{\"a\": 1}"), *w = J("[1, 2]"), *out;
    char err[128];

    (void)state;
    out = graph_reduce(GRAPH_REDUCER_REPLACE, cur, w, err, sizeof(err));
    assert_json_equal(out, "[1, 2]");
    assert_true(out != w); /* a copy, not the write itself */
    json_decref(out);
    out = graph_reduce(GRAPH_REDUCER_REPLACE, NULL, json_null(), err, sizeof(err));
    assert_true(json_is_null(out));
    json_decref(out);
    json_decref(cur);
    json_decref(w);
}

static void test_append(void **state)
{
    json_t *cur = J("[\"a\"]"), *w = J("[\"b\", \"c\"]"), *one = J("\"d\""), *out, *out2;
    char err[128] = "";

    (void)state;
    out = graph_reduce(GRAPH_REDUCER_APPEND, cur, w, err, sizeof(err));
    assert_json_equal(out, "[\"a\", \"b\", \"c\"]");
    assert_json_equal(cur, "[\"a\"]"); /* inputs untouched */
    out2 = graph_reduce(GRAPH_REDUCER_APPEND, out, one, err, sizeof(err));
    assert_json_equal(out2, "[\"a\", \"b\", \"c\", \"d\"]");
    json_decref(out2);
    json_decref(out);
    out = graph_reduce(GRAPH_REDUCER_APPEND, NULL, w, err, sizeof(err));
    assert_json_equal(out, "[\"b\", \"c\"]");
    json_decref(out);
    out = graph_reduce(GRAPH_REDUCER_APPEND, one, w, err, sizeof(err));
    assert_null(out);
    assert_non_null(strstr(err, "not a list"));
    json_decref(cur);
    json_decref(w);
    json_decref(one);
}

static void test_add_messages_assigns_ids_and_coerces_roles(void **state)
{
    json_t *right = J("[{\"role\": \"user\", \"content\": \"hi\"},"
                      " {\"role\": \"assistant\", \"content\": \"hello\"},"
                      " {\"role\": \"system\", \"content\": \"be brief\"},"
                      " {\"type\": \"tool\", \"content\": \"42\", \"tool_call_id\": \"c1\"},"
                      " \"plain text\"]");
    json_t *out;
    const json_t *m;
    char err[128];
    size_t i;

    (void)state;
    out = graph_messages_add(NULL, right, err, sizeof(err));
    assert_non_null(out);
    assert_int_equal(json_array_size(out), 5);
    const char *types[] = {"human", "ai", "system", "tool", "human"};
    json_array_foreach(out, i, m) {
        assert_string_equal(json_string_value(json_object_get(m, "type")), types[i]);
        assert_null(json_object_get(m, "role"));
        assert_true(uuid_is_valid(json_string_value(json_object_get(m, "id"))));
        assert_true(json_is_object(json_object_get(m, "additional_kwargs")));
        assert_true(json_is_object(json_object_get(m, "response_metadata")));
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 4), "content")),
                        "plain text");
    assert_true(json_is_array(json_object_get(json_array_get(out, 1), "tool_calls")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 3), "tool_call_id")),
                        "c1");
    /* Two distinct ids. */
    assert_string_not_equal(json_string_value(json_object_get(json_array_get(out, 0), "id")),
                            json_string_value(json_object_get(json_array_get(out, 1), "id")));
    json_decref(out);
    json_decref(right);
}

static void test_add_messages_openai_tool_calls(void **state)
{
    json_t *right = J("{\"role\": \"assistant\", \"content\": null, \"id\": \"m1\","
                      " \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\","
                      " \"function\": {\"name\": \"get_weather\","
                      " \"arguments\": \"{\\\"city\\\": \\\"Paris\\\"}\"}}]}");
    json_t *out;
    char err[128];

    (void)state;
    out = graph_messages_add(NULL, right, err, sizeof(err));
    assert_non_null(out);
    assert_json_equal(json_object_get(json_array_get(out, 0), "tool_calls"),
                      "[{\"name\": \"get_weather\", \"args\": {\"city\": \"Paris\"},"
                      " \"id\": \"call_1\", \"type\": \"tool_call\"}]");
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "content")), "");
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "id")), "m1");
    json_decref(out);
    json_decref(right);
}

/* Messages already in LangChain's form with an id are shared, not copied, and come out exactly
 * as coercion would make them; anything else is still coerced into a new message. */
static void test_add_messages_shares_coerced(void **state)
{
    json_t *left = J("[{\"content\": \"a\", \"type\": \"human\", \"additional_kwargs\": {},"
                     " \"response_metadata\": {}, \"id\": \"1\"},"
                     " {\"id\": \"2\", \"content\": \"b\", \"additional_kwargs\": {},"
                     " \"response_metadata\": {}, \"tool_calls\": [], \"invalid_tool_calls\": [],"
                     " \"type\": \"ai\"}]");
    json_t *right = J("[{\"type\": \"human\", \"content\": \"c\", \"additional_kwargs\": {},"
                      " \"response_metadata\": {}, \"id\": \"3\"},"
                      " {\"type\": \"ai\", \"content\": \"d\", \"id\": \"4\"},"
                      " {\"role\": \"user\", \"content\": \"e\", \"additional_kwargs\": {},"
                      " \"response_metadata\": {}, \"id\": \"5\"}]");
    json_t *out, *coerced;
    char err[128];
    size_t i;

    (void)state;
    out = graph_messages_add(left, right, err, sizeof(err));
    assert_non_null(out);
    assert_int_equal(json_array_size(out), 5);
    assert_ptr_equal(json_array_get(out, 0), json_array_get(left, 0));
    assert_ptr_equal(json_array_get(out, 1), json_array_get(left, 1));
    assert_ptr_equal(json_array_get(out, 2), json_array_get(right, 0));
    assert_ptr_not_equal(json_array_get(out, 3), json_array_get(right, 1)); /* no tool_calls */
    assert_ptr_not_equal(json_array_get(out, 4), json_array_get(right, 2)); /* role */
    for (i = 0; i < 3; i++) {
        char *a, *b;
        coerced = graph_message_coerce(json_array_get(out, i), err, sizeof(err));
        a = json_dumps(coerced, JSON_COMPACT);
        b = json_dumps(json_array_get(out, i), JSON_COMPACT);
        assert_string_equal(a, b);
        free(a);
        free(b);
        json_decref(coerced);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 4), "type")), "human");
    assert_null(json_object_get(json_array_get(right, 1), "tool_calls"));
    json_decref(out);
    json_decref(left);
    json_decref(right);
}

static void test_add_messages_upsert_and_remove(void **state)
{
    json_t *left = J("[{\"type\": \"human\", \"content\": \"a\", \"id\": \"1\"},"
                     " {\"type\": \"ai\", \"content\": \"b\", \"id\": \"2\"},"
                     " {\"type\": \"human\", \"content\": \"c\", \"id\": \"3\"}]");
    json_t *upd = J("[{\"type\": \"ai\", \"content\": \"B\", \"id\": \"2\"},"
                    " {\"type\": \"human\", \"content\": \"d\", \"id\": \"4\"}]");
    json_t *rm = J("{\"type\": \"remove\", \"id\": \"1\"}");
    json_t *rm_missing = J("[{\"type\": \"remove\", \"id\": \"nope\"}]");
    json_t *rm_all = J("[{\"type\": \"remove\", \"id\": \"__remove_all__\"},"
                       " {\"type\": \"human\", \"content\": \"fresh\", \"id\": \"9\"}]");
    json_t *a, *b, *c;
    char err[160] = "";
    const json_t *m;
    size_t i;

    (void)state;
    a = graph_messages_add(left, upd, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(json_array_size(a), 4);
    const char *ids[] = {"1", "2", "3", "4"}, *contents[] = {"a", "B", "c", "d"};
    json_array_foreach(a, i, m) {
        assert_string_equal(json_string_value(json_object_get(m, "id")), ids[i]);
        assert_string_equal(json_string_value(json_object_get(m, "content")), contents[i]);
    }
    b = graph_messages_add(a, rm, err, sizeof(err));
    assert_non_null(b);
    assert_int_equal(json_array_size(b), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(b, 0), "id")), "2");
    assert_null(graph_messages_add(b, rm_missing, err, sizeof(err)));
    assert_non_null(strstr(err, "'nope'"));
    c = graph_messages_add(b, rm_all, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(json_array_size(c), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "content")),
                        "fresh");
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(left);
    json_decref(upd);
    json_decref(rm);
    json_decref(rm_missing);
    json_decref(rm_all);
}

static void test_add_messages_rejects_malformed(void **state)
{
    const char *bad[] = {
        "[{\"content\": \"no type\"}]",
        "[{\"role\": \"wizard\", \"content\": \"x\"}]",
        "[{\"type\": \"human\"}]",
        "[42]",
    };
    const char *why[] = {"\"type\"", "wizard", "content", "object"};
    char err[160];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *r = J(bad[i]);
        err[0] = '\0';
        assert_null(graph_messages_add(NULL, r, err, sizeof(err)));
        assert_non_null(strstr(err, why[i]));
        json_decref(r);
    }
}

static void test_reduce_dispatches_add_messages(void **state)
{
    json_t *w = J("[{\"role\": \"user\", \"content\": \"x\", \"id\": \"u\"}]"), *out;
    char err[64];

    (void)state;
    out = graph_reduce(GRAPH_REDUCER_ADD_MESSAGES, NULL, w, err, sizeof(err));
    assert_json_equal(out, "[{\"content\": \"x\", \"id\": \"u\", \"type\": \"human\","
                           " \"additional_kwargs\": {}, \"response_metadata\": {}}]");
    json_decref(out);
    json_decref(w);
}

static void test_normalize_keeps_removals(void **state)
{
    json_t *w = J("[{\"type\": \"remove\", \"id\": \"gone\"}, {\"role\": \"user\","
                  " \"content\": \"x\"}]"), *one = J("{\"type\": \"ai\", \"content\": \"y\"}");
    json_t *out;
    char err[64];

    (void)state;
    out = graph_messages_normalize(w, err, sizeof(err));
    assert_int_equal(json_array_size(out), 2);
    assert_json_equal(json_array_get(out, 0), "{\"type\": \"remove\", \"id\": \"gone\"}");
    assert_true(uuid_is_valid(json_string_value(json_object_get(json_array_get(out, 1), "id"))));
    json_decref(out);
    out = graph_messages_normalize(one, err, sizeof(err)); /* one message becomes a list */
    assert_int_equal(json_array_size(out), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(out, 0), "type")), "ai");
    json_decref(out);
    out = graph_messages_normalize(NULL, err, sizeof(err));
    assert_json_equal(out, "[]");
    json_decref(out);
    json_decref(w);
    json_decref(one);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_append),
        cmocka_unit_test(test_add_messages_assigns_ids_and_coerces_roles),
        cmocka_unit_test(test_add_messages_openai_tool_calls),
        cmocka_unit_test(test_add_messages_shares_coerced),
        cmocka_unit_test(test_add_messages_upsert_and_remove),
        cmocka_unit_test(test_add_messages_rejects_malformed),
        cmocka_unit_test(test_reduce_dispatches_add_messages),
        cmocka_unit_test(test_normalize_keeps_removals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
