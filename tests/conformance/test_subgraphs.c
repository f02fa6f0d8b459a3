/*
 * tests/conformance/test_subgraphs.c — subgraphs on the wire, with the test graphs the server
 * registers under LGSERVE_TEST_GRAPHS=1 (runtime/graph/test_graphs.c: `nested` runs
 * `nested_child` in its node `child`; no LLM): the subgraph's writes reach the parent state
 * once, its events are named `mode|child:<task_id>` only with stream_subgraphs, its checkpoints
 * live in namespace child:<task_id>, events mode places its nodes under the task, the
 * assistants' subgraph schemas and xray drawing, the `subgraphs` parameter of the state views
 * for a subgraph task left pending by a failure, an interrupt inside a subgraph resumed, and
 * update_state into a subgraph's namespace.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static harness_server_t srv;

static int group_setup(void **state)
{
    static const char *const env[] = {"LGSERVE_TEST_GRAPHS=1", NULL};
    (void)state;
    return harness_start(&srv, NULL, env);
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    return 0;
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const char *method, const char *path, const char *body, long status)
{
    return harness_expect(&srv, method, path, body, status);
}

/* Formats a path into a static buffer. */
static const char *path(const char *fmt, ...)
{
    static char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

/* A new thread's id into `id` (37 bytes). */
static void new_thread(char *id)
{
    harness_resp_t r = req("POST", "/threads", "{}", 200);
    memcpy(id, json_string_value(json_object_get(r.json, "thread_id")), 37);
    harness_resp_free(&r);
}

/* The data of every SSE event of `body` named exactly `name` (a new array of parsed JSON). */
static json_t *events_named(const char *body, const char *name)
{
    json_t *out = json_array();
    char want[128];
    const char *p = body;

    snprintf(want, sizeof(want), "event: %s\ndata: ", name);
    while ((p = strstr(p, want)) != NULL) {
        const char *d = p + strlen(want), *end = strchr(d, '\n');
        json_array_append_new(out, json_loadb(d, (size_t)(end - d), 0, NULL));
        p = end;
    }
    return out;
}

static const char *input = "{\"assistant_id\": \"nested\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}";

static void test_values_and_namespaced_events(void **state)
{
    char tid[37], body[512], ns[128], event[160];
    harness_resp_t r;
    json_t *msgs, *list;
    const char *p;
    size_t i;

    (void)state;
    new_thread(tid);
    snprintf(body, sizeof(body), "%s, \"stream_mode\": [\"values\", \"updates\"], \"stream_subgraphs\": true}", input);
    r = req("POST", path("/threads/%s/runs/stream", tid), body, 200);
    /* the subgraph's events carry its namespace child:<task_id> */
    p = strstr(r.body, "event: updates|child:");
    assert_non_null(p);
    snprintf(ns, sizeof(ns), "%.*s", (int)strcspn(p + strlen("event: updates|"), "\n"), p + strlen("event: updates|"));
    assert_int_equal(strlen(ns), strlen("child:") + 36);
    snprintf(event, sizeof(event), "updates|%s", ns);
    list = events_named(r.body, event);
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(json_array_get(list, 0), "greet"),
                                                                         "steps"), 0)),
                        "greet");
    json_decref(list);
    harness_resp_free(&r);

    /* the parent's final state has each message once: the subgraph's output is upserted */
    r = req("GET", path("/threads/%s/state", tid), NULL, 200);
    msgs = json_object_get(json_object_get(r.json, "values"), "messages");
    assert_int_equal(json_array_size(msgs), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")), "hello from greet");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "content")), "hello from finish");
    harness_resp_free(&r);

    /* its checkpoints live in its own namespace; the root history has only the parent's */
    snprintf(body, sizeof(body), "{\"limit\": 10, \"checkpoint\": {\"checkpoint_ns\": \"%s\"}}", ns);
    r = req("POST", path("/threads/%s/history", tid), body, 200);
    assert_int_equal(json_array_size(r.json), 3); /* input, after __start__, after greet */
    for (i = 0; i != json_array_size(r.json); ++i)
        assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(r.json, i), "checkpoint"),
                                                              "checkpoint_ns")),
                            ns);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(r.json, 0), "metadata"), "graph_id")),
                        "nested_child");
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/history", tid), "{\"limit\": 20}", 200);
    assert_int_equal(json_array_size(r.json), 5); /* input, __start__, prep, child, finish */
    harness_resp_free(&r);

    /* without stream_subgraphs nothing of the subgraph is streamed */
    snprintf(body, sizeof(body), "%s, \"stream_mode\": [\"values\", \"updates\"]}", input);
    r = req("POST", "/runs/stream", body, 200);
    assert_null(strstr(r.body, "|child:"));
    assert_non_null(strstr(r.body, "event: updates\ndata: {\"child\""));
    harness_resp_free(&r);
}

static void test_events_mode_places_subgraph_nodes(void **state)
{
    char body[512], greet_ns_prefix[64];
    harness_resp_t r;
    json_t *evs, *ev, *child = NULL, *greet = NULL, *meta;
    size_t i;

    (void)state;
    snprintf(body, sizeof(body), "%s, \"stream_mode\": \"events\"}", input);
    r = req("POST", "/runs/stream", body, 200);
    evs = events_named(r.body, "events");
    json_array_foreach(evs, i, ev) {
        const char *e = json_string_value(json_object_get(ev, "event"));
        const char *n = json_string_value(json_object_get(ev, "name"));
        if (strcmp(e, "on_chain_start") == 0 && strcmp(n, "child") == 0)
            child = ev;
        if (strcmp(e, "on_chain_start") == 0 && strcmp(n, "greet") == 0)
            greet = ev;
        assert_string_not_equal(n, "nested_child"); /* the subgraph run is its node's run */
    }
    assert_non_null(child);
    assert_non_null(greet);
    assert_int_equal(json_array_size(json_object_get(greet, "parent_ids")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(greet, "parent_ids"), 0)),
                        json_string_value(json_array_get(json_object_get(child, "parent_ids"), 0)));
    assert_string_equal(json_string_value(json_array_get(json_object_get(greet, "parent_ids"), 1)),
                        json_string_value(json_object_get(child, "run_id")));
    meta = json_object_get(greet, "metadata");
    snprintf(greet_ns_prefix, sizeof(greet_ns_prefix), "child:%s|greet:", json_string_value(json_object_get(child, "run_id")));
    assert_true(strncmp(json_string_value(json_object_get(meta, "langgraph_checkpoint_ns")), greet_ns_prefix,
                        strlen(greet_ns_prefix)) == 0);
    json_decref(evs);
    harness_resp_free(&r);
}

static void test_assistant_subgraphs(void **state)
{
    harness_resp_t r;

    (void)state;
    r = req("GET", "/assistants/nested/subgraphs", NULL, 200);
    assert_int_equal(json_object_size(r.json), 1);
    assert_non_null(json_object_get(json_object_get(r.json, "child"), "state_schema"));
    assert_null(json_object_get(json_object_get(r.json, "child"), "graph_id"));
    harness_resp_free(&r);
    r = req("GET", "/assistants/nested/subgraphs/child", NULL, 200);
    assert_int_equal(json_object_size(r.json), 1);
    harness_resp_free(&r);
    r = req("GET", "/assistants/nested/subgraphs/nope", NULL, 200);
    assert_int_equal(json_object_size(r.json), 0);
    harness_resp_free(&r);
    r = req("GET", "/assistants/agent/subgraphs", NULL, 200);
    assert_int_equal(json_object_size(r.json), 0);
    harness_resp_free(&r);
}

/* Node ids of a drawing, joined with ","; edges as "source>target", joined with ",". */
static void drawing(const json_t *d, char *nodes, char *edges, size_t cap)
{
    const json_t *v;
    size_t i;

    nodes[0] = edges[0] = '\0';
    json_array_foreach(json_object_get(d, "nodes"), i, v)
        snprintf(nodes + strlen(nodes), cap - strlen(nodes), "%s%s", i ? "," : "", json_string_value(json_object_get(v, "id")));
    json_array_foreach(json_object_get(d, "edges"), i, v)
        snprintf(edges + strlen(edges), cap - strlen(edges), "%s%s>%s", i ? "," : "",
                 json_string_value(json_object_get(v, "source")), json_string_value(json_object_get(v, "target")));
}

static void test_graph_xray(void **state)
{
    char nodes[512], edges[512];
    harness_resp_t r;

    (void)state;
    r = req("GET", "/assistants/nested/graph", NULL, 200);
    drawing(r.json, nodes, edges, sizeof(nodes));
    assert_string_equal(nodes, "__start__,prep,child,finish,__end__");
    assert_string_equal(edges, "__start__>prep,prep>child,child>finish,finish>__end__");
    harness_resp_free(&r);
    r = req("GET", "/assistants/nested/graph?xray=true", NULL, 200);
    drawing(r.json, nodes, edges, sizeof(nodes));
    assert_string_equal(nodes, "__start__,prep,finish,__end__,child:greet");
    assert_string_equal(edges, "__start__>prep,prep>child:greet,child:greet>finish,finish>__end__");
    harness_resp_free(&r);
    r = req("GET", "/assistants/nested/graph?xray=1", NULL, 200);
    assert_non_null(strstr(r.body, "\"child:greet\""));
    harness_resp_free(&r);
}

static void test_state_subgraphs_of_a_pending_task(void **state)
{
    char tid[37], body[512];
    harness_resp_t r;
    json_t *task, *sub;
    const char *task_id;
    char ns[64];

    (void)state;
    new_thread(tid);
    snprintf(body, sizeof(body), "%s, \"config\": {\"configurable\": {\"fail_child\": true}}}", input);
    r = req("POST", path("/threads/%s/runs/wait", tid), body, 200);
    assert_non_null(strstr(r.body, "greet was asked to fail"));
    harness_resp_free(&r);

    r = req("GET", path("/threads/%s/state", tid), NULL, 200);
    task = json_array_get(json_object_get(r.json, "tasks"), 0);
    assert_string_equal(json_string_value(json_object_get(task, "name")), "child");
    task_id = json_string_value(json_object_get(task, "id"));
    snprintf(ns, sizeof(ns), "child:%s", task_id);
    sub = json_object_get(json_object_get(task, "state"), "configurable");
    assert_string_equal(json_string_value(json_object_get(sub, "checkpoint_ns")), ns);
    assert_string_equal(json_string_value(json_object_get(sub, "thread_id")), tid);
    harness_resp_free(&r);

    r = req("GET", path("/threads/%s/state?subgraphs=true", tid), NULL, 200);
    task = json_array_get(json_object_get(r.json, "tasks"), 0);
    sub = json_object_get(task, "state");
    assert_string_equal(json_string_value(json_object_get(json_object_get(sub, "checkpoint"), "checkpoint_ns")), ns);
    assert_string_equal(json_string_value(json_array_get(json_object_get(sub, "next"), 0)), "greet");
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(sub, "tasks"), 0), "error")),
                           "asked to fail"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(sub, "values"), "messages")), 2);
    harness_resp_free(&r);

    r = req("POST", path("/threads/%s/state/checkpoint", tid), "{\"checkpoint\": {}, \"subgraphs\": true}", 200);
    sub = json_object_get(json_array_get(json_object_get(r.json, "tasks"), 0), "state");
    assert_non_null(json_object_get(sub, "values"));
    harness_resp_free(&r);
}

/* An interrupt inside the subgraph stops the parent run at its task; a resume goes on inside
 * the subgraph, from its own checkpoint, and then in the parent. */
static void test_interrupt_inside_and_resume(void **state)
{
    char tid[37], body[512], ns[64];
    harness_resp_t r;
    json_t *task, *msgs, *intr;
    const char *id;

    (void)state;
    new_thread(tid);
    snprintf(body, sizeof(body), "%s, \"config\": {\"configurable\": {\"ask_child\": true}}}", input);
    r = req("POST", path("/threads/%s/runs/wait", tid), body, 200);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "interrupted");
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/state?subgraphs=true", tid), NULL, 200);
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "next"), 0)), "child");
    intr = json_array_get(json_object_get(r.json, "interrupts"), 0);
    assert_string_equal(json_string_value(json_object_get(intr, "value")), "may I greet?");
    task = json_array_get(json_object_get(r.json, "tasks"), 0);
    snprintf(ns, sizeof(ns), "child:%s", json_string_value(json_object_get(task, "id")));
    /* the subgraph's own state: greet pending with the same interrupt */
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(task, "state"), "next"), 0)),
                        "greet");
    id = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(task, "state"), "interrupts"), 0),
                                           "id"));
    assert_string_equal(id, json_string_value(json_object_get(intr, "id")));
    harness_resp_free(&r);

    snprintf(body, sizeof(body),
             "{\"assistant_id\": \"nested\", \"command\": {\"resume\": \"yes\"}, \"config\": {\"configurable\": "
             "{\"ask_child\": true}}}");
    r = req("POST", path("/threads/%s/runs/wait", tid), body, 200);
    msgs = json_object_get(r.json, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")), "hello from greet: yes");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "content")), "hello from finish");
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "idle");
    harness_resp_free(&r);
    /* the subgraph went on in the same namespace */
    snprintf(body, sizeof(body), "{\"limit\": 10, \"checkpoint\": {\"checkpoint_ns\": \"%s\"}}", ns);
    r = req("POST", path("/threads/%s/history", tid), body, 200);
    assert_int_equal(json_array_size(r.json), 3); /* input, after __start__, after greet */
    assert_int_equal(json_array_size(json_object_get(json_array_get(r.json, 0), "next")), 0);
    harness_resp_free(&r);
}

/* update_state into the subgraph's namespace while it waits: as node greet, so the subgraph
 * has nothing left to do, and the resumed run goes straight on to finish. */
static void test_update_subgraph_state(void **state)
{
    char tid[37], body[512], ns[64];
    harness_resp_t r;
    json_t *msgs;

    (void)state;
    new_thread(tid);
    snprintf(body, sizeof(body), "%s, \"config\": {\"configurable\": {\"ask_child\": true}}}", input);
    r = req("POST", path("/threads/%s/runs/wait", tid), body, 200);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/state", tid), NULL, 200);
    snprintf(ns, sizeof(ns), "child:%s",
             json_string_value(json_object_get(json_array_get(json_object_get(r.json, "tasks"), 0), "id")));
    harness_resp_free(&r);

    snprintf(body, sizeof(body),
             "{\"values\": {\"steps\": [\"edited\"]}, \"as_node\": \"greet\", \"checkpoint\": {\"checkpoint_ns\": \"%s\"}}", ns);
    r = req("POST", path("/threads/%s/state", tid), body, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "checkpoint"), "checkpoint_ns")), ns);
    harness_resp_free(&r);
    snprintf(body, sizeof(body), "{\"checkpoint\": {\"checkpoint_ns\": \"%s\"}}", ns);
    r = req("POST", path("/threads/%s/state/checkpoint", tid), body, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "next")), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(r.json, "values"), "steps"), 0)),
                        "edited");
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/state", tid), NULL, 200); /* the parent is untouched */
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "next"), 0)), "child");
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/state", tid),
            "{\"values\": {}, \"as_node\": \"greet\", \"checkpoint\": {\"checkpoint_ns\": \"nope:1\"}}", 422);
    harness_resp_free(&r);

    r = req("POST", path("/threads/%s/runs/wait", tid),
            "{\"assistant_id\": \"nested\", \"command\": {\"resume\": \"yes\"}, \"config\": {\"configurable\": "
            "{\"ask_child\": true}}}",
            200);
    msgs = json_object_get(r.json, "messages");
    assert_int_equal(json_array_size(msgs), 3); /* hi, prep, finish: greet was skipped */
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")), "hello from finish");
    harness_resp_free(&r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_namespaced_events),
        cmocka_unit_test(test_events_mode_places_subgraph_nodes),
        cmocka_unit_test(test_assistant_subgraphs),
        cmocka_unit_test(test_graph_xray),
        cmocka_unit_test(test_state_subgraphs_of_a_pending_task),
        cmocka_unit_test(test_interrupt_inside_and_resume),
        cmocka_unit_test(test_update_subgraph_state),
    };
    harness_init(argc, argv);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
