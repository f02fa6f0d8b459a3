/*
 * tests/unit/graph/test_state.c — unit tests of runtime/graph/state.c (ThreadState shaping,
 * state at a checkpoint, history with task results, pending interrupts) and of update_state
 * (reducers, as_node defaults and errors, next scheduling, forks), over the embedded store in a
 * temporary directory with small graphs defined here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "graph/engine.h"
#include "store/store_test_util.h"

#define OK_SCHEMA "{\"type\": \"object\", \"properties\": {}}"
#define SCHEMAS                                                                                  \
    .input_schema = OK_SCHEMA, .output_schema = OK_SCHEMA, .state_schema = OK_SCHEMA,            \
    .config_schema = OK_SCHEMA, .context_schema = OK_SCHEMA

static const graph_channel_t channels[] = {
    {.name = "log", .reducer = GRAPH_REDUCER_APPEND},
    {.name = "value", .reducer = GRAPH_REDUCER_REPLACE},
};
#define CHANNELS .channels = channels, .channel_count = sizeof(channels) / sizeof(channels[0])

static int node_log(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)state;
    *update = json_pack("{s:[s]}", "log", graph_node_name(ctx));
    return GRAPH_NODE_OK;
}

static int node_ask(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *q = json_string("ok?");
    const json_t *v = graph_interrupt(ctx, q);

    (void)state;
    json_decref(q);
    if (v == NULL)
        return GRAPH_NODE_INTERRUPT;
    *update = json_pack("{s:O}", "value", v);
    return GRAPH_NODE_OK;
}

/* s_linear: __start__ -> a -> b -> __end__ */
static const graph_node_t linear_nodes[] = {{.name = "a", .run = node_log},
                                            {.name = "b", .run = node_log}};
static const graph_edge_t linear_edges[] = {
    {.source = GRAPH_START, .target = "a"}, {.source = "a", .target = "b"},
    {.source = "b", .target = GRAPH_END}};
static const graph_spec_t linear_spec = {
    .graph_id = "s_linear", .nodes = linear_nodes, .node_count = 2, .edges = linear_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* s_fan: __start__ -> x, __start__ -> y (one step, two writers) */
static const graph_node_t fan_nodes[] = {{.name = "x", .run = node_log},
                                         {.name = "y", .run = node_log}};
static const graph_edge_t fan_edges[] = {
    {.source = GRAPH_START, .target = "x"}, {.source = GRAPH_START, .target = "y"},
    {.source = "x", .target = GRAPH_END}, {.source = "y", .target = GRAPH_END}};
static const graph_spec_t fan_spec = {
    .graph_id = "s_fan", .nodes = fan_nodes, .node_count = 2, .edges = fan_edges,
    .edge_count = 4, CHANNELS, SCHEMAS};

/* s_ask: __start__ -> ask -> __end__, ask interrupts */
static const graph_node_t ask_nodes[] = {{.name = "ask", .run = node_ask}};
static const graph_edge_t ask_edges[] = {{.source = GRAPH_START, .target = "ask"},
                                         {.source = "ask", .target = GRAPH_END}};
static const graph_spec_t ask_spec = {
    .graph_id = "s_ask", .nodes = ask_nodes, .node_count = 1, .edges = ask_edges,
    .edge_count = 2, CHANNELS, SCHEMAS};

typedef struct fixture {
    char *dir;
    store_t *s;
    const store_ops_t *ops;
    char thread_id[UUID_STR_SIZE];
} fixture_t;

static int setup(void **state)
{
    static int registered;
    const graph_spec_t *specs[] = {&linear_spec, &fan_spec, &ask_spec};
    fixture_t *f = calloc(1, sizeof(*f));
    store_config_t cfg = {0};
    json_t *t = NULL, *in = json_object();
    char err[256], *msg = NULL;
    size_t i;

    if (!registered) {
        for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
            if (graph_register(specs[i], err, sizeof(err)) != 0) {
                print_error("%s\n", err);
                return -1;
            }
        }
        registered = 1;
    }
    f->dir = store_test_mkdtemp();
    cfg.data_dir = f->dir;
    f->ops = store_mem_ops();
    if (f->ops->open(&cfg, &f->s, &msg) != STORE_OK) {
        print_error("%s\n", msg ? msg : "open failed");
        return -1;
    }
    if (f->ops->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &t) != STORE_OK)
        return -1;
    json_decref(in);
    snprintf(f->thread_id, sizeof(f->thread_id), "%s",
             json_string_value(json_object_get(t, "thread_id")));
    json_decref(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    f->ops->close(f->s);
    store_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static json_t *J(const char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    return v;
}

static void assert_json_equal(const json_t *a, const char *expected)
{
    json_t *e = J(expected);
    if (!json_equal(a, e)) {
        char *got = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("got %s\nexpected %s\n", got, expected);
        free(got);
        fail();
    }
    json_decref(e);
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Runs `graph_id` on the fixture's thread with `input` (JSON text or NULL); returns status. */
static graph_status_t run(fixture_t *f, const char *graph_id, const char *input)
{
    json_t *in = input ? J(input) : NULL;
    graph_invoke_opts_t o = {.store_ops = f->ops, .store = f->s, .thread_id = f->thread_id,
                             .run_id = "00000000-0000-7000-8000-0000000000aa", .input = in};
    graph_result_t res;
    graph_status_t st;

    assert_int_equal(graph_invoke(graph_find(graph_id), &o, &res), 0);
    st = res.status;
    graph_result_clear(&res);
    json_decref(in);
    return st;
}

/* Asserts that `o` has exactly the keys of the NULL-terminated list. */
static void assert_keys(const json_t *o, const char *const *keys)
{
    size_t n = 0;

    for (; keys[n] != NULL; n++) {
        if (json_object_get(o, keys[n]) == NULL)
            fail_msg("missing key %s", keys[n]);
    }
    assert_int_equal(json_object_size(o), n);
}

static const char *const state_keys[] = {"values", "next", "tasks", "metadata", "created_at",
                                         "checkpoint", "parent_checkpoint", "interrupts", NULL};
static const char *const config_keys[] = {"thread_id", "checkpoint_ns", "checkpoint_id",
                                          "checkpoint_map", NULL};

/* ------------------------------------------------------------------------------------------ */

static void test_empty_state(void **state)
{
    fixture_t *f = *state;
    json_t *st = graph_state_empty(), *got = NULL;

    assert_json_equal(st, "{\"values\": {}, \"next\": [], \"tasks\": [], \"metadata\": {},"
                          " \"created_at\": null, \"checkpoint\": null,"
                          " \"parent_checkpoint\": null, \"interrupts\": []}");
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &got), STORE_OK);
    assert_true(json_equal(got, st));
    json_decref(got);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id,
                                     "00000000-0000-7000-8000-00000000beef", &got),
                     STORE_NOT_FOUND);
    assert_null(got);
    json_decref(st);
}

static void test_state_shape_after_run(void **state)
{
    fixture_t *f = *state;
    json_t *st = NULL;
    const json_t *cp, *pcp;

    assert_int_equal(run(f, "s_linear", "{\"log\": [\"in\"]}"), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_keys(st, state_keys);
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"in\", \"a\", \"b\"]}");
    assert_json_equal(json_object_get(st, "next"), "[]");
    assert_json_equal(json_object_get(st, "tasks"), "[]");
    assert_json_equal(json_object_get(st, "interrupts"), "[]");
    assert_string_equal(str(json_object_get(st, "metadata"), "source"), "loop");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "metadata"), "step")),
                     2);
    assert_true(json_is_string(json_object_get(st, "created_at")));
    cp = json_object_get(st, "checkpoint");
    pcp = json_object_get(st, "parent_checkpoint");
    assert_keys(cp, config_keys);
    assert_keys(pcp, config_keys);
    assert_string_equal(str(cp, "thread_id"), f->thread_id);
    assert_string_equal(str(cp, "checkpoint_ns"), "");
    assert_true(json_is_null(json_object_get(cp, "checkpoint_map")));
    assert_true(uuid_is_valid(str(pcp, "checkpoint_id")));
    assert_string_not_equal(str(cp, "checkpoint_id"), str(pcp, "checkpoint_id"));
    json_decref(st);
}

static void test_history_task_results(void **state)
{
    fixture_t *f = *state;
    json_t *h = NULL, *one = NULL, *at = NULL;
    const json_t *input_state, *t, *mid;
    static const char *const task_keys[] = {"id", "name", "error", "interrupts", "path",
                                            "checkpoint", "state", "result", NULL};

    assert_int_equal(run(f, "s_linear", "{\"log\": [\"in\"]}"), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_state_history(f->ops, f->s, f->thread_id, NULL, NULL, 0, &h),
                     STORE_OK);
    assert_int_equal(json_array_size(h), 4);
    /* oldest: the input checkpoint, whose __start__ task shows the input as its result */
    input_state = json_array_get(h, 3);
    assert_true(json_is_null(json_object_get(input_state, "parent_checkpoint")));
    assert_json_equal(json_object_get(input_state, "next"), "[\"__start__\"]");
    assert_json_equal(json_object_get(input_state, "values"), "{}");
    t = json_array_get(json_object_get(input_state, "tasks"), 0);
    assert_keys(t, task_keys);
    assert_string_equal(str(t, "name"), "__start__");
    assert_json_equal(json_object_get(t, "path"), "[\"__pregel_pull\", \"__start__\"]");
    assert_json_equal(json_object_get(t, "result"), "{\"log\": [\"in\"]}");
    assert_true(json_is_null(json_object_get(t, "error")));
    assert_true(json_is_null(json_object_get(t, "state")));
    assert_null(json_object_get(t, "arg")); /* engine-private fields stay hidden */
    mid = json_array_get(h, 1);             /* next [b] */
    assert_json_equal(json_object_get(json_array_get(json_object_get(mid, "tasks"), 0), "result"),
                      "{\"log\": [\"b\"]}");
    /* the newest has no tasks */
    assert_json_equal(json_object_get(json_array_get(h, 0), "tasks"), "[]");

    /* a page that stops before the newest still finds mid's child */
    assert_int_equal(graph_state_history(f->ops, f->s, f->thread_id,
                                         str(json_object_get(json_array_get(h, 0), "checkpoint"),
                                             "checkpoint_id"),
                                         NULL, 1, &one),
                     STORE_OK);
    assert_int_equal(json_array_size(one), 1);
    assert_true(json_equal(json_array_get(one, 0), mid));
    /* state at a checkpoint: the same */
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id,
                                     str(json_object_get(mid, "checkpoint"), "checkpoint_id"), &at),
                     STORE_OK);
    assert_true(json_equal(at, mid));
    json_decref(h);
    json_decref(one);
    json_decref(at);
}

static void test_interrupts_in_state(void **state)
{
    fixture_t *f = *state;
    json_t *st = NULL, *cp = NULL, *map;
    const json_t *task, *in;

    assert_int_equal(run(f, "s_ask", "{}"), GRAPH_STATUS_INTERRUPTED);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_json_equal(json_object_get(st, "next"), "[\"ask\"]");
    task = json_array_get(json_object_get(st, "tasks"), 0);
    assert_string_equal(str(task, "name"), "ask");
    assert_int_equal(json_array_size(json_object_get(task, "interrupts")), 1);
    in = json_array_get(json_object_get(st, "interrupts"), 0);
    assert_string_equal(str(in, "value"), "ok?");
    assert_true(json_equal(in, json_array_get(json_object_get(task, "interrupts"), 0)));
    assert_int_equal(f->ops->checkpoint_get(f->s, f->thread_id, NULL, NULL, &cp), STORE_OK);
    map = graph_checkpoint_interrupts(cp);
    assert_int_equal(json_object_size(map), 1);
    assert_true(json_equal(json_array_get(json_object_get(map, str(task, "id")), 0), in));
    json_decref(map);
    json_decref(cp);
    json_decref(st);
}

static void test_update_state_default_as_node(void **state)
{
    fixture_t *f = *state;
    json_t *vals = J("{\"log\": [\"u\"], \"value\": 7}"), *cfg = NULL, *st = NULL;
    const graph_t *g = graph_find("s_linear");
    char *err = NULL;

    assert_int_equal(run(f, "s_linear", "{}"), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, vals, NULL, NULL, NULL,
                                        &cfg, &err),
                     STORE_OK);
    assert_null(err);
    assert_keys(json_object_get(cfg, "checkpoint"), config_keys);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_string_equal(str(json_object_get(cfg, "checkpoint"), "checkpoint_id"),
                        str(json_object_get(st, "checkpoint"), "checkpoint_id"));
    /* merged through the reducers, as b (the last writer): b goes to __end__ */
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"a\", \"b\", \"u\"], \"value\": 7}");
    assert_json_equal(json_object_get(st, "next"), "[]");
    assert_string_equal(str(json_object_get(st, "metadata"), "source"), "update");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "metadata"), "step")),
                     3);
    assert_json_equal(json_object_get(json_object_get(st, "metadata"), "writes"),
                      "{\"b\": {\"log\": [\"u\"], \"value\": 7}}");
    json_decref(st);
    json_decref(cfg);
    /* again: the update checkpoint names b as its writer */
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, NULL, NULL, NULL, NULL,
                                        NULL, &err),
                     STORE_OK);
    json_decref(vals);
}

static void test_update_state_as_node_then_continue(void **state)
{
    fixture_t *f = *state;
    json_t *vals = J("{\"log\": [\"human\"]}"), *st = NULL, *meta = J("{\"by\": \"me\"}");
    const graph_t *g = graph_find("s_linear");
    char *err = NULL;

    /* fresh thread: the default is __start__, so a is next */
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, vals, NULL, NULL, meta,
                                        NULL, &err),
                     STORE_OK);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_json_equal(json_object_get(st, "next"), "[\"a\"]");
    assert_string_equal(str(json_object_get(st, "metadata"), "by"), "me");
    json_decref(st);
    /* as a: b is next; a run with input null runs only b */
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, vals, "a", NULL, NULL,
                                        NULL, &err),
                     STORE_OK);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_json_equal(json_object_get(st, "next"), "[\"b\"]");
    json_decref(st);
    assert_int_equal(run(f, "s_linear", NULL), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"human\", \"human\", \"b\"]}");
    json_decref(st);
    json_decref(vals);
    json_decref(meta);
}

static void test_update_state_errors(void **state)
{
    fixture_t *f = *state;
    json_t *vals = J("{\"log\": [\"u\"]}"), *bad = J("{\"nosuch\": 1}"), *arr = J("[1]");
    const graph_t *fan = graph_find("s_fan"), *lin = graph_find("s_linear");
    char *err = NULL;

    assert_int_equal(run(f, "s_fan", "{}"), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_update_state(fan, f->ops, f->s, f->thread_id, NULL, vals, NULL, NULL, NULL,
                                        NULL, &err),
                     STORE_INVALID);
    assert_string_equal(err, "Ambiguous update, specify as_node");
    free(err);
    assert_int_equal(graph_update_state(fan, f->ops, f->s, f->thread_id, NULL, vals, "zz", NULL, NULL,
                                        NULL, &err),
                     STORE_INVALID);
    assert_non_null(strstr(err, "no node 'zz'"));
    free(err);
    assert_int_equal(graph_update_state(fan, f->ops, f->s, f->thread_id, NULL, bad, "x", NULL, NULL,
                                        NULL, &err),
                     STORE_INVALID);
    assert_non_null(strstr(err, "'nosuch' is not a state channel"));
    free(err);
    assert_int_equal(graph_update_state(fan, f->ops, f->s, f->thread_id, NULL, arr, "x", NULL, NULL,
                                        NULL, &err),
                     STORE_INVALID);
    assert_non_null(strstr(err, "expected an object"));
    free(err);
    assert_int_equal(graph_update_state(lin, f->ops, f->s, f->thread_id, NULL, vals, "a",
                                        "00000000-0000-7000-8000-00000000beef", NULL, NULL, &err),
                     STORE_NOT_FOUND);
    free(err);
    /* with as_node it works */
    assert_int_equal(graph_update_state(fan, f->ops, f->s, f->thread_id, NULL, vals, "y", NULL, NULL,
                                        NULL, &err),
                     STORE_OK);
    json_decref(vals);
    json_decref(bad);
    json_decref(arr);
}

static void test_update_state_fork_and_copy(void **state)
{
    fixture_t *f = *state;
    const graph_t *g = graph_find("s_linear");
    json_t *h = NULL, *vals = J("{\"log\": [\"f\"]}"), *st = NULL;
    const char *old_id;
    char *err = NULL;

    assert_int_equal(run(f, "s_linear", "{}"), GRAPH_STATUS_SUCCESS);
    assert_int_equal(graph_state_history(f->ops, f->s, f->thread_id, NULL, NULL, 0, &h), STORE_OK);
    old_id = str(json_object_get(json_array_get(h, 1), "checkpoint"), "checkpoint_id"); /* next b */
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, vals, NULL, old_id, NULL,
                                        NULL, &err),
                     STORE_OK);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_string_equal(str(json_object_get(st, "parent_checkpoint"), "checkpoint_id"), old_id);
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"a\", \"f\"]}");
    assert_json_equal(json_object_get(st, "next"), "[\"b\"]"); /* as a, the writer of old_id */
    json_decref(st);
    assert_int_equal(graph_update_state(g, f->ops, f->s, f->thread_id, NULL, NULL, "__copy__", NULL,
                                        NULL, NULL, &err),
                     STORE_OK);
    assert_int_equal(graph_state_get(f->ops, f->s, f->thread_id, NULL, &st), STORE_OK);
    assert_string_equal(str(json_object_get(st, "metadata"), "source"), "fork");
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"a\", \"f\"]}");
    assert_json_equal(json_object_get(st, "next"), "[\"b\"]");
    json_decref(st);
    json_decref(h);
    json_decref(vals);
}

/* bulk_update_state: one checkpoint per superstep, several writers merged in order with the
 * union of what follows them, command update/goto; an invalid superstep writes nothing. */
static void test_bulk_update_state(void **state)
{
    fixture_t *f = *state;
    const graph_t *fan = graph_find("s_fan"), *lin = graph_find("s_linear");
    json_t *steps = J("[{\"updates\": [{\"values\": {\"log\": [\"in\"]}, \"as_node\": \"__start__\"}]},"
                      " {\"updates\": [{\"values\": {\"log\": [\"x1\"], \"value\": 1}, \"as_node\": \"x\"},"
                      "                {\"values\": {\"log\": [\"y1\"], \"value\": 2}, \"as_node\": \"y\"}]},"
                      " {\"updates\": [{\"command\": {\"update\": {\"value\": 3}, \"goto\": \"y\"},"
                      "                  \"as_node\": \"x\"}]}]");
    json_t *h = NULL, *cfg = NULL, *st = NULL, *bad;
    char *err = NULL;

    assert_int_equal(graph_bulk_update_state(fan, f->ops, f->s, f->thread_id, steps, NULL, &cfg, &err), STORE_OK);
    assert_null(err);
    assert_int_equal(graph_state_history(f->ops, f->s, f->thread_id, NULL, NULL, 0, &h), STORE_OK);
    assert_int_equal(json_array_size(h), 3);
    st = json_array_get(h, 0); /* newest */
    assert_string_equal(str(json_object_get(cfg, "checkpoint"), "checkpoint_id"),
                        str(json_object_get(st, "checkpoint"), "checkpoint_id"));
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"in\", \"x1\", \"y1\"], \"value\": 3}");
    assert_json_equal(json_object_get(st, "next"), "[\"y\"]"); /* x's edge ends; the goto adds y */
    assert_json_equal(json_object_get(json_object_get(st, "metadata"), "writes"), "{\"x\": {\"value\": 3}}");
    st = json_array_get(h, 1); /* the two writers of one superstep */
    assert_json_equal(json_object_get(st, "values"), "{\"log\": [\"in\", \"x1\", \"y1\"], \"value\": 2}");
    assert_json_equal(json_object_get(st, "next"), "[]");
    assert_string_equal(str(json_object_get(st, "metadata"), "source"), "update");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(st, "metadata"), "step")), 0);
    st = json_array_get(h, 2);
    assert_json_equal(json_object_get(st, "next"), "[\"x\", \"y\"]");
    assert_json_equal(json_object_get(st, "parent_checkpoint"), "null");
    json_decref(h);
    json_decref(cfg);
    json_decref(steps);

    /* errors name the superstep and update; nothing is written, even by the valid first one */
    bad = J("[{\"updates\": [{\"values\": {\"log\": [\"ok\"]}, \"as_node\": \"a\"}]},"
            " {\"updates\": [{\"values\": {}, \"as_node\": \"a\"}, {\"values\": {}, \"as_node\": \"zz\"}]}]");
    assert_int_equal(graph_bulk_update_state(lin, f->ops, f->s, f->thread_id, bad, NULL, NULL, &err), STORE_INVALID);
    assert_string_equal(err, "supersteps[1].updates[1].as_node: graph s_linear has no node 'zz'");
    free(err);
    json_decref(bad);
    bad = J("[{\"updates\": []}]");
    assert_int_equal(graph_bulk_update_state(lin, f->ops, f->s, f->thread_id, bad, NULL, NULL, &err), STORE_INVALID);
    assert_string_equal(err, "supersteps[0].updates: no updates provided");
    free(err);
    json_decref(bad);
    bad = J("[{\"updates\": [{\"command\": {\"resume\": 1}, \"as_node\": \"a\"}]}]");
    assert_int_equal(graph_bulk_update_state(lin, f->ops, f->s, f->thread_id, bad, NULL, NULL, &err), STORE_INVALID);
    assert_non_null(strstr(err, "command.resume"));
    free(err);
    json_decref(bad);
    bad = J("[{\"updates\": [{\"values\": {\"nosuch\": 1}, \"as_node\": \"a\"}]}]");
    assert_int_equal(graph_bulk_update_state(lin, f->ops, f->s, f->thread_id, bad, NULL, NULL, &err), STORE_INVALID);
    assert_string_equal(err, "supersteps[0].values: 'nosuch' is not a state channel of graph s_linear");
    free(err);
    json_decref(bad);
    assert_int_equal(graph_state_history(f->ops, f->s, f->thread_id, NULL, NULL, 0, &h), STORE_OK);
    assert_int_equal(json_array_size(h), 3);
    json_decref(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_empty_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_shape_after_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_task_results, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupts_in_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_state_default_as_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_state_as_node_then_continue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_state_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_state_fork_and_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bulk_update_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
