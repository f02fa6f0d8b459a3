/*
 * tests/unit/graph/test_engine.c — unit tests of runtime/graph/engine.c over the embedded store
 * in a temporary directory, with small graphs defined here: linear a -> b, a counter loop with
 * a router, a node that interrupts, a node that fails, an endless loop, a node that jumps with
 * goto / Send, and a node that streams message chunks. Covers checkpoint lineage, events per
 * step, interrupt_before/after, interrupts resumed with Command, command update/goto, the
 * recursion limit, cancellation and invalid writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "graph/engine.h"
#include "support/store_thread.h"
#include "support/json_assert.h"

#define OK_SCHEMA "{\"type\": \"object\", \"properties\": {}}"
#define SCHEMAS                                                                                  \
    .input_schema = OK_SCHEMA, .output_schema = OK_SCHEMA, .state_schema = OK_SCHEMA,            \
    .config_schema = OK_SCHEMA, .context_schema = OK_SCHEMA

static const graph_channel_t channels[] = {
    {.name = "log", .reducer = GRAPH_REDUCER_APPEND},
    {.name = "value", .reducer = GRAPH_REDUCER_REPLACE},
    {.name = "messages", .reducer = GRAPH_REDUCER_ADD_MESSAGES},
    {.name = "answer", .reducer = GRAPH_REDUCER_REPLACE},
};
#define CHANNELS .channels = channels, .channel_count = sizeof(channels) / sizeof(channels[0])

static atomic_int *cancel_from_a; /* when set, node a raises this flag */

/* Writes {log: [<name>], value: <step>}. */
static int node_log(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)state;
    if (cancel_from_a != NULL && strcmp(graph_node_name(ctx), "a") == 0)
        atomic_store(cancel_from_a, 1);
    *update = json_pack("{s:[s], s:i}", "log", graph_node_name(ctx), "value",
                        graph_node_step(ctx));
    return GRAPH_NODE_OK;
}

/* ---- linear: __start__ -> a -> b -> __end__ ---- */
static const graph_node_t linear_nodes[] = {{.name = "a", .run = node_log},
                                            {.name = "b", .run = node_log}};
static const graph_edge_t linear_edges[] = {
    {.source = GRAPH_START, .target = "a"}, {.source = "a", .target = "b"},
    {.source = "b", .target = GRAPH_END}};
static const graph_spec_t linear_spec = {
    .graph_id = "t_linear", .nodes = linear_nodes, .node_count = 2, .edges = linear_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* ---- loop: __start__ -> inc -(value < 3)-> inc | __end__ ---- */
static int node_inc(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)ctx;
    *update = json_pack("{s:I, s:[s]}", "value",
                        json_integer_value(json_object_get(state, "value")) + 1, "log", "inc");
    return GRAPH_NODE_OK;
}

static int route_inc(const json_t *state, const char **next)
{
    *next = json_integer_value(json_object_get(state, "value")) < 3 ? "inc" : GRAPH_END;
    return 0;
}

static const graph_node_t loop_nodes[] = {{.name = "inc", .run = node_inc, .route = route_inc}};
static const graph_edge_t loop_edges[] = {
    {.source = GRAPH_START, .target = "inc"},
    {.source = "inc", .target = "inc", .conditional = 1},
    {.source = "inc", .target = GRAPH_END, .conditional = 1}};
static const graph_spec_t loop_spec = {
    .graph_id = "t_loop", .nodes = loop_nodes, .node_count = 1, .edges = loop_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* ---- ask: __start__ -> prep -> ask -> __end__; ask interrupts twice ---- */
static int ask_runs;

static int node_ask(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    const json_t *name, *city;
    json_t *q;

    (void)state;
    ask_runs++;
    q = json_pack("{s:s}", "question", "name?");
    name = graph_interrupt(ctx, q);
    json_decref(q);
    if (name == NULL)
        return GRAPH_NODE_INTERRUPT;
    q = json_pack("{s:s}", "question", "city?");
    city = graph_interrupt(ctx, q);
    json_decref(q);
    if (city == NULL)
        return GRAPH_NODE_INTERRUPT;
    *update = json_pack("{s:[O, O]}", "answer", name, city);
    return GRAPH_NODE_OK;
}

static const graph_node_t ask_nodes[] = {{.name = "prep", .run = node_log},
                                         {.name = "ask", .run = node_ask}};
static const graph_edge_t ask_edges[] = {
    {.source = GRAPH_START, .target = "prep"}, {.source = "prep", .target = "ask"},
    {.source = "ask", .target = GRAPH_END}};
static const graph_spec_t ask_spec = {
    .graph_id = "t_ask", .nodes = ask_nodes, .node_count = 2, .edges = ask_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* ---- sloppy: __start__ -> sloppy; sloppy interrupts but returns OK with writes ---- */
static int node_sloppy(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *q = json_string("ignored?");

    (void)state;
    (void)graph_interrupt(ctx, q);
    json_decref(q);
    *update = json_pack("{s:s}", "answer", "should not land");
    return GRAPH_NODE_OK;
}

static const graph_node_t sloppy_nodes[] = {{.name = "sloppy", .run = node_sloppy}};
static const graph_edge_t sloppy_edges[] = {{.source = GRAPH_START, .target = "sloppy"}};
static const graph_spec_t sloppy_spec = {
    .graph_id = "t_sloppy", .nodes = sloppy_nodes, .node_count = 1, .edges = sloppy_edges,
    .edge_count = 1, CHANNELS, SCHEMAS};

/* ---- fail: __start__ -> boom ---- */
static int node_boom(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)state;
    (void)update;
    return graph_node_fail(ctx, "boom failed with code %d", 42);
}

static int node_bad_write(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)ctx;
    (void)state;
    *update = json_pack("{s:i}", "nosuch", 1);
    return GRAPH_NODE_OK;
}

static const graph_node_t fail_nodes[] = {{.name = "boom", .run = node_boom},
                                          {.name = "bad", .run = node_bad_write}};
static const graph_edge_t fail_edges[] = {
    {.source = GRAPH_START, .target = "boom"}, {.source = "boom", .target = GRAPH_END},
    {.source = "bad", .target = GRAPH_END}};
static const graph_spec_t fail_spec = {
    .graph_id = "t_fail", .nodes = fail_nodes, .node_count = 2, .edges = fail_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* ---- spin: __start__ -> spin -> spin ... ---- */
static const graph_node_t spin_nodes[] = {{.name = "spin", .run = node_log}};
static const graph_edge_t spin_edges[] = {{.source = GRAPH_START, .target = "spin"},
                                          {.source = "spin", .target = "spin"}};
static const graph_spec_t spin_spec = {
    .graph_id = "t_spin", .nodes = spin_nodes, .node_count = 1, .edges = spin_edges,
    .edge_count = 2, CHANNELS, SCHEMAS};

/* ---- jump: __start__ -> g; g gotos "b" and Sends "c" twice; c logs its arg ---- */
static int node_g(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *arg;

    (void)state;
    *update = NULL;
    if (graph_node_goto(ctx, "b", NULL) != 0)
        return GRAPH_NODE_ERROR;
    arg = json_pack("{s:s}", "item", "x");
    graph_node_goto(ctx, "c", arg);
    json_decref(arg);
    arg = json_pack("{s:s}", "item", "y");
    graph_node_goto(ctx, "c", arg);
    json_decref(arg);
    if (graph_node_goto(ctx, GRAPH_END, NULL) != 0 || graph_node_goto(ctx, GRAPH_END, arg) != -1)
        return GRAPH_NODE_ERROR;
    return graph_node_goto(ctx, "nowhere", NULL) == -1 ? GRAPH_NODE_OK : GRAPH_NODE_ERROR;
}

static int node_c(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)ctx;
    *update = json_pack("{s:[O]}", "log", json_object_get(state, "item"));
    return GRAPH_NODE_OK;
}

static const graph_node_t jump_nodes[] = {
    {.name = "g", .run = node_g}, {.name = "b", .run = node_log}, {.name = "c", .run = node_c}};
static const graph_edge_t jump_edges[] = {{.source = GRAPH_START, .target = "g"},
                                          {.source = "b", .target = GRAPH_END},
                                          {.source = "c", .target = GRAPH_END}};
static const graph_spec_t jump_spec = {
    .graph_id = "t_jump", .nodes = jump_nodes, .node_count = 3, .edges = jump_edges,
    .edge_count = 3, CHANNELS, SCHEMAS};

/* ---- chat: streams two chunks of message m1 in a model call, writes m1 and an unstreamed
 * tool message ---- */
static int node_chat(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *c1 = json_pack("{s:s, s:s, s:s}", "type", "AIMessageChunk", "id", "m1", "content",
                           "Hel");
    json_t *c2 = json_pack("{s:s, s:s, s:s}", "type", "AIMessageChunk", "id", "m1", "content",
                           "lo");
    json_t *extra = json_pack("{s:s}", "ls_provider", "openai");
    json_t *custom = json_pack("{s:i}", "progress", 50);

    (void)state;
    graph_node_model_start(ctx, "FakeChat", json_object_get(state, "messages"), extra);
    graph_node_emit_message(ctx, c1, extra);
    graph_node_emit_message(ctx, c2, NULL);
    graph_node_model_end(ctx, c2);
    graph_node_emit_custom(ctx, custom);
    *update = json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}]}", "messages", "type", "ai",
                        "id", "m1", "content", "Hello", "type", "tool", "id", "t1", "content",
                        "42", "tool_call_id", "call");
    json_decref(c1);
    json_decref(c2);
    json_decref(extra);
    json_decref(custom);
    return GRAPH_NODE_OK;
}

static const graph_node_t chat_nodes[] = {{.name = "chat", .run = node_chat}};
static const graph_edge_t chat_edges[] = {{.source = GRAPH_START, .target = "chat"},
                                          {.source = "chat", .target = GRAPH_END}};
static const graph_spec_t chat_spec = {
    .graph_id = "t_chat", .nodes = chat_nodes, .node_count = 1, .edges = chat_edges,
    .edge_count = 2, CHANNELS, SCHEMAS};

/* ---- chat_text: t_chat's two chunks given as JSON text (graph_node_emit_message_text) ---- */
static const char chat_text_c1[] = "{\"type\":\"AIMessageChunk\",\"id\":\"m1\",\"content\":\"Hel\"}";
static const char chat_text_c2[] = "{\"type\":\"AIMessageChunk\",\"id\":\"m1\",\"content\":\"lo\"}";

static int node_chat_text(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *extra = json_pack("{s:s}", "ls_provider", "openai");

    (void)state;
    graph_node_model_start(ctx, "FakeChat", json_object_get(state, "messages"), extra);
    graph_node_emit_message_text(ctx, "m1", chat_text_c1, strlen(chat_text_c1), extra);
    graph_node_emit_message_text(ctx, "m1", chat_text_c2, strlen(chat_text_c2), extra);
    graph_node_model_end(ctx, NULL);
    *update = json_pack("{s:[{s:s, s:s, s:s}]}", "messages", "type", "ai", "id", "m1", "content",
                        "Hello");
    json_decref(extra);
    return GRAPH_NODE_OK;
}

static const graph_node_t chat_text_nodes[] = {{.name = "chat", .run = node_chat_text}};
static const graph_spec_t chat_text_spec = {
    .graph_id = "t_chat_text", .nodes = chat_text_nodes, .node_count = 1, .edges = chat_edges,
    .edge_count = 2, CHANNELS, SCHEMAS};

/* ------------------------------------------------------------------------------------------ */

typedef struct fixture {
    char *dir;
    store_t *s;
    const store_ops_t *ops;
    char thread_id[UUID_STR_SIZE];
    json_t *events; /* [[mode, data], ...] */
    int text_answer; /* what on_message_text answers (0 takes the event, -1 refuses it) */
    json_t *texts;   /* [[chunk text, metadata], ...] that on_message_text saw */
} fixture_t;

static void on_event(void *user, const char *mode, const json_t *ns, json_t *data)
{
    fixture_t *f = user;

    assert_null(ns);
    json_array_append_new(f->events, json_pack("[s, O]", mode, data));
}

static int on_message_text(void *user, const json_t *ns, const char *chunk, size_t len,
                           const json_t *metadata)
{
    fixture_t *f = user;

    assert_null(ns);
    json_array_append_new(f->texts, json_pack("[s#, O]", chunk, (int)len, metadata));
    return f->text_answer;
}

static int setup(void **state)
{
    static int registered;
    const graph_spec_t *specs[] = {&linear_spec, &loop_spec, &ask_spec, &fail_spec,
                                   &spin_spec, &jump_spec, &chat_spec, &sloppy_spec,
                                   &chat_text_spec};
    fixture_t *f = calloc(1, sizeof(*f));
    char err[256];
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
    if (test_store_thread_open(&f->dir, &f->ops, &f->s, f->thread_id) != 0)
        return -1;
    f->events = json_array();
    f->texts = json_array();
    cancel_from_a = NULL;
    ask_runs = 0;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    test_store_thread_close(f->ops, f->s, f->dir);
    json_decref(f->events);
    json_decref(f->texts);
    free(f);
    return 0;
}

/* The options of one run: everything optional is a JSON text or NULL. */
typedef struct run_args {
    const char *input, *command, *config, *before, *after, *checkpoint_id;
    unsigned modes;
    atomic_int *cancel;
    int at_exit;
    int text_hook; /* set opts.on_message_text */
} run_args_t;

static void run_graph(fixture_t *f, const char *graph_id, const run_args_t *a, graph_result_t *res)
{
    json_t *input = a->input ? J(a->input) : NULL, *command = a->command ? J(a->command) : NULL;
    json_t *config = a->config ? J(a->config) : NULL, *before = a->before ? J(a->before) : NULL;
    json_t *after = a->after ? J(a->after) : NULL, *meta = J("{\"purpose\": \"test\"}");
    graph_invoke_opts_t o = {
        .store_ops = f->ops, .store = f->s, .thread_id = f->thread_id,
        .run_id = "00000000-0000-7000-8000-000000000001", .assistant_id = "asst",
        .input = input, .command = command, .config = config, .metadata = meta,
        .checkpoint_id = a->checkpoint_id, .interrupt_before = before, .interrupt_after = after,
        .stream_modes = a->modes, .on_event = on_event, .user = f, .cancel = a->cancel,
        .checkpoint_at_exit = a->at_exit, .on_message_text = a->text_hook ? on_message_text : NULL};
    const graph_t *g = graph_find(graph_id);

    assert_non_null(g);
    json_array_clear(f->events);
    json_array_clear(f->texts);
    assert_int_equal(graph_invoke(g, &o, res), 0);
    json_decref(input);
    json_decref(command);
    json_decref(config);
    json_decref(before);
    json_decref(after);
    json_decref(meta);
}

/* The thread's checkpoints, oldest first (new reference). */
static json_t *history(fixture_t *f)
{
    json_t *list = NULL, *rev = json_array();
    size_t i;

    assert_int_equal(f->ops->checkpoint_list(f->s, f->thread_id, NULL, NULL, NULL, 0, &list),
                     STORE_OK);
    for (i = json_array_size(list); i-- > 0;)
        json_array_append(rev, json_array_get(list, i));
    json_decref(list);
    return rev;
}

static json_t *latest(fixture_t *f)
{
    json_t *cp = NULL;

    assert_int_equal(f->ops->checkpoint_get(f->s, f->thread_id, NULL, NULL, &cp), STORE_OK);
    return cp;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* ------------------------------------------------------------------------------------------ */

static void test_linear_values_updates_in_order(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"log\": [\"in\"], \"ignored\": 1}",
                    .modes = GRAPH_STREAM_VALUES | GRAPH_STREAM_UPDATES};

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_string_equal(graph_status_name(res.status), "success");
    assert_json_equal(res.values, "{\"log\": [\"in\", \"a\", \"b\"], \"value\": 2}");
    assert_json_equal(f->events,
                      "[[\"values\", {\"log\": [\"in\"]}],"
                      " [\"updates\", {\"a\": {\"log\": [\"a\"], \"value\": 1}}],"
                      " [\"values\", {\"log\": [\"in\", \"a\"], \"value\": 1}],"
                      " [\"updates\", {\"b\": {\"log\": [\"b\"], \"value\": 2}}],"
                      " [\"values\", {\"log\": [\"in\", \"a\", \"b\"], \"value\": 2}]]");
    graph_result_clear(&res);
}

static void test_checkpoint_lineage(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"log\": [\"in\"]}"};
    const char *sources[] = {"input", "loop", "loop", "loop", "input", "loop", "loop", "loop"};
    const char *nexts[] = {"[\"__start__\"]", "[\"a\"]", "[\"b\"]", "[]",
                           "[\"__start__\"]", "[\"a\"]", "[\"b\"]", "[]"};
    json_t *h, *cp;
    size_t i;

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    graph_result_clear(&res);
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(json_object_get(res.values, "log"),
                      "[\"in\", \"a\", \"b\", \"in\", \"a\", \"b\"]");
    h = history(f);
    assert_int_equal(json_array_size(h), 8);
    json_array_foreach(h, i, cp) {
        const json_t *meta = json_object_get(cp, "metadata");
        assert_int_equal(json_integer_value(json_object_get(meta, "step")), (json_int_t)i - 1);
        assert_string_equal(str(meta, "source"), sources[i]);
        assert_json_equal(json_object_get(cp, "next"), nexts[i]);
        assert_string_equal(str(meta, "graph_id"), "t_linear");
        assert_string_equal(str(meta, "purpose"), "test");
        assert_string_equal(str(meta, "thread_id"), f->thread_id);
        assert_string_equal(str(cp, "run_id"), "00000000-0000-7000-8000-000000000001");
        assert_json_equal(json_object_get(meta, "parents"), "{}");
        if (i == 0)
            assert_true(json_is_null(json_object_get(cp, "parent_checkpoint_id")));
        else
            assert_string_equal(str(cp, "parent_checkpoint_id"),
                                str(json_array_get(h, i - 1), "checkpoint_id"));
        assert_true(uuid_is_valid(str(cp, "checkpoint_id")));
    }
    /* writes: the input step records the input, the loop steps the nodes' writes. */
    assert_json_equal(json_object_get(json_object_get(json_array_get(h, 0), "metadata"), "writes"),
                      "{\"__start__\": {\"log\": [\"in\"]}}");
    assert_json_equal(json_object_get(json_object_get(json_array_get(h, 2), "metadata"), "writes"),
                      "{\"a\": {\"log\": [\"a\"], \"value\": 1}}");
    assert_string_equal(res.checkpoint_id, str(json_array_get(h, 7), "checkpoint_id"));
    /* the second run's input checkpoint starts from the first run's values */
    assert_json_equal(json_object_get(json_array_get(h, 4), "values"),
                      "{\"log\": [\"in\", \"a\", \"b\"], \"value\": 2}");
    json_decref(h);
    graph_result_clear(&res);
}

static void test_conditional_loop(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"value\": 0}", .modes = GRAPH_STREAM_UPDATES};
    json_t *cp;

    run_graph(f, "t_loop", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(res.values, "{\"value\": 3, \"log\": [\"inc\", \"inc\", \"inc\"]}");
    assert_int_equal(json_array_size(f->events), 3);
    cp = latest(f);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cp, "metadata"), "step")),
                     3);
    json_decref(cp);
    graph_result_clear(&res);
}

static void test_interrupt_before_star_and_resume(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}", .before = "\"*\"", .modes = GRAPH_STREAM_UPDATES};
    json_t *cp;

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_json_equal(res.interrupts, "[]");
    assert_json_equal(f->events, "[[\"updates\", {\"__interrupt__\": []}]]");
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"a\"]");
    json_decref(cp);
    graph_result_clear(&res);

    /* input null continues: a runs, then "*" stops before b */
    a.input = NULL;
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_json_equal(res.values, "{\"log\": [\"a\"], \"value\": 1}");
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"b\"]");
    json_decref(cp);
    graph_result_clear(&res);

    a.before = "[\"b\"]";
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(res.values, "{\"log\": [\"a\", \"b\"], \"value\": 2}");
    graph_result_clear(&res);

    /* nothing pending: a continuing run ends at once */
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(res.values, "{\"log\": [\"a\", \"b\"], \"value\": 2}");
    graph_result_clear(&res);
}

static void test_interrupt_after(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}", .after = "[\"a\"]"};
    json_t *cp;

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_json_equal(res.values, "{\"log\": [\"a\"], \"value\": 1}");
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"b\"]");
    json_decref(cp);
    graph_result_clear(&res);
    a.input = NULL;
    a.modes = GRAPH_STREAM_VALUES;
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(json_object_get(res.values, "log"), "[\"a\", \"b\"]");
    /* a continuing run shows the state it resumes from, then the state after b */
    assert_json_equal(f->events, "[[\"values\", {\"log\": [\"a\"], \"value\": 1}],"
                                 " [\"values\", {\"log\": [\"a\", \"b\"], \"value\": 2}]]");
    graph_result_clear(&res);
}

/* checkpoint_at_exit (durability exit): one checkpoint per run, stored at its end (also when it
 * stops at an interrupt), parented to the checkpoint the run started from; streamed
 * checkpoints still show every step. */
static void test_checkpoint_at_exit(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"log\": [\"in\"]}", .after = "[\"a\"]", .at_exit = 1,
                    .modes = GRAPH_STREAM_CHECKPOINTS};
    json_t *h;

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_int_equal(json_array_size(f->events), 3); /* input, after __start__, after a */
    h = history(f);
    assert_int_equal(json_array_size(h), 1);
    assert_json_equal(json_object_get(json_array_get(h, 0), "next"), "[\"b\"]");
    assert_json_equal(json_object_get(json_array_get(h, 0), "values"), "{\"log\": [\"in\", \"a\"], \"value\": 1}");
    assert_true(json_is_null(json_object_get(json_array_get(h, 0), "parent_checkpoint_id")));
    assert_string_equal(res.checkpoint_id, str(json_array_get(h, 0), "checkpoint_id"));
    json_decref(h);
    graph_result_clear(&res);
    a.input = NULL;
    a.after = NULL;
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    h = history(f);
    assert_int_equal(json_array_size(h), 2);
    assert_json_equal(json_object_get(json_array_get(h, 1), "next"), "[]");
    assert_json_equal(json_object_get(json_array_get(h, 1), "values"),
                      "{\"log\": [\"in\", \"a\", \"b\"], \"value\": 2}");
    assert_string_equal(str(json_array_get(h, 1), "parent_checkpoint_id"), str(json_array_get(h, 0), "checkpoint_id"));
    assert_string_equal(str(json_object_get(json_array_get(h, 1), "metadata"), "source"), "loop");
    json_decref(h);
    graph_result_clear(&res);
}

static void test_node_interrupt_and_command_resume(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}", .modes = GRAPH_STREAM_UPDATES};
    json_t *cp, *want;
    const json_t *in;
    char buf[128];

    run_graph(f, "t_ask", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_int_equal(json_array_size(res.interrupts), 1);
    in = json_array_get(res.interrupts, 0);
    assert_json_equal(json_object_get(in, "value"), "{\"question\": \"name?\"}");
    assert_int_equal(strlen(str(in, "id")), 32);
    /* updates: prep's writes, then the interrupt */
    assert_int_equal(json_array_size(f->events), 2);
    want = json_pack("{s:[O]}", "__interrupt__", in);
    assert_true(json_equal(json_array_get(json_array_get(f->events, 1), 1), want));
    json_decref(want);
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"ask\"]");
    want = json_pack("[O]", in);
    assert_true(json_equal(json_object_get(json_array_get(json_object_get(cp, "tasks"), 0),
                                           "interrupts"), want));
    json_decref(want);
    json_decref(cp);

    /* resume by value: the second interrupt comes up */
    a.input = NULL;
    a.command = "{\"resume\": \"Ada\"}";
    graph_result_clear(&res);
    run_graph(f, "t_ask", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_json_equal(json_object_get(json_array_get(res.interrupts, 0), "value"),
                      "{\"question\": \"city?\"}");
    assert_int_equal(ask_runs, 2);

    /* resume by interrupt id */
    snprintf(buf, sizeof(buf), "{\"resume\": {\"%s\": \"Paris\"}}",
             str(json_array_get(res.interrupts, 0), "id"));
    a.command = buf;
    graph_result_clear(&res);
    run_graph(f, "t_ask", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(json_object_get(res.values, "answer"), "[\"Ada\", \"Paris\"]");
    assert_null(res.interrupts);
    assert_int_equal(ask_runs, 3);
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[]");
    json_decref(cp);
    graph_result_clear(&res);
}

static void test_ignored_interrupt_still_stops(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}"};

    run_graph(f, "t_sloppy", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_INTERRUPTED);
    assert_null(json_object_get(res.values, "answer"));
    assert_string_equal(str(json_array_get(res.interrupts, 0), "value"), "ignored?");
    graph_result_clear(&res);
    a.input = NULL;
    a.command = "{\"resume\": 1}";
    run_graph(f, "t_sloppy", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_string_equal(str(res.values, "answer"), "should not land");
    graph_result_clear(&res);
}

static void test_node_error(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}"};
    json_t *cp;

    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_string_equal(res.error, "boom failed with code 42");
    assert_string_equal(res.error_name, "NodeError");
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"boom\"]");
    assert_string_equal(str(json_array_get(json_object_get(cp, "tasks"), 0), "error"),
                        "boom failed with code 42");
    json_decref(cp);
    graph_result_clear(&res);

    /* a write to an unknown channel fails the node */
    a.input = NULL;
    a.command = "{\"goto\": \"bad\"}";
    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(strstr(res.error, "'nosuch' is not a state channel"));
    graph_result_clear(&res);

    /* bad input and an unknown checkpoint are errors, not crashes */
    a.command = NULL;
    a.input = "[1]";
    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_string_equal(res.error, "input: expected an object or null");
    graph_result_clear(&res);
    a.input = "{}";
    a.checkpoint_id = "00000000-0000-7000-8000-00000000dead";
    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(strstr(res.error, "not found"));
    graph_result_clear(&res);
    a.checkpoint_id = NULL;
    a.command = "{\"goto\": 7}";
    a.input = NULL;
    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(strstr(res.error, "command.goto"));
    graph_result_clear(&res);
}

static void test_damaged_checkpoints_fail_cleanly(void **state)
{
    fixture_t *f = *state;
    const char *bad[] = {
        "{\"values\": 5, \"tasks\": [{\"id\": \"x\", \"name\": \"ghost\"}]}",
        "{\"values\": {}, \"tasks\": [{\"name\": \"a\"}]}",
        "{\"values\": [], \"tasks\": \"nope\", \"metadata\": {\"step\": \"x\"}}",
        "{\"tasks\": [7, {\"id\": \"y\", \"name\": \"a\", \"path\": 3, \"result\": 1}]}",
    };
    graph_result_t res;
    run_args_t a = {.command = "{\"resume\": {\"zz\": 1}}"};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *cp = J(bad[i]);
        json_object_set_new(cp, "thread_id", json_string(f->thread_id));
        assert_int_equal(f->ops->checkpoint_put(f->s, cp, NULL), STORE_OK);
        json_decref(cp);
        run_graph(f, "t_linear", &a, &res);
        assert_true(res.status == GRAPH_STATUS_ERROR || res.status == GRAPH_STATUS_SUCCESS);
        if (i < 2) {
            assert_int_equal(res.status, GRAPH_STATUS_ERROR);
            assert_non_null(strstr(res.error, "unknown node"));
        }
        assert_true(json_is_object(res.values));
        graph_result_clear(&res);
    }
}

static void test_recursion_limit(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}"};
    json_t *cp;

    run_graph(f, "t_spin", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_string_equal(res.error_name, "GraphRecursionError");
    assert_string_equal(res.error,
                        "Recursion limit of 25 reached without hitting a stop condition. You can "
                        "increase the limit by setting the `recursion_limit` config key.");
    /* 25 steps ran: __start__ then 24 spins */
    assert_int_equal(json_array_size(json_object_get(res.values, "log")), 24);
    graph_result_clear(&res);

    a.config = "{\"recursion_limit\": 5}";
    run_graph(f, "t_spin", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(strstr(res.error, "Recursion limit of 5 reached"));
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"spin\"]");
    json_decref(cp);
    graph_result_clear(&res);
}

static void test_cancel_between_nodes(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    atomic_int flag = 0;
    run_args_t a = {.input = "{}", .cancel = &flag};
    json_t *cp;

    cancel_from_a = &flag;
    run_graph(f, "t_linear", &a, &res);
    cancel_from_a = NULL;
    assert_int_equal(res.status, GRAPH_STATUS_CANCELLED);
    assert_string_equal(graph_status_name(res.status), "cancelled");
    assert_json_equal(res.values, "{\"log\": [\"a\"], \"value\": 1}");
    cp = latest(f);
    assert_json_equal(json_object_get(cp, "next"), "[\"b\"]");
    json_decref(cp);
    graph_result_clear(&res);

    /* cancelled before it starts: nothing runs, nothing is written (b stays pending) */
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_CANCELLED);
    assert_json_equal(json_object_get(res.values, "log"), "[\"a\"]");
    graph_result_clear(&res);

    /* cleared: the thread continues from b */
    atomic_store(&flag, 0);
    a.input = NULL;
    a.modes = GRAPH_STREAM_VALUES;
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(json_object_get(res.values, "log"), "[\"a\", \"b\"]");
    /* a continuing run shows the state it resumes from, then the state after b */
    assert_json_equal(f->events, "[[\"values\", {\"log\": [\"a\"], \"value\": 1}],"
                                 " [\"values\", {\"log\": [\"a\", \"b\"], \"value\": 2}]]");
    graph_result_clear(&res);
}

static void test_command_update_and_goto(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}"};
    json_t *h;

    run_graph(f, "t_linear", &a, &res);
    graph_result_clear(&res);
    a.input = NULL;
    a.command = "{\"update\": {\"log\": [\"u\"]}, \"goto\": \"b\"}";
    a.modes = GRAPH_STREAM_UPDATES;
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_json_equal(json_object_get(res.values, "log"), "[\"a\", \"b\", \"u\", \"b\"]");
    assert_json_equal(f->events, "[[\"updates\", {\"b\": {\"log\": [\"b\"], \"value\": 4}}]]");
    h = history(f);
    /* input -1, loop 0..2, command input 3, loop 4 */
    assert_int_equal(json_array_size(h), 6);
    assert_string_equal(str(json_object_get(json_array_get(h, 4), "metadata"), "source"), "input");
    assert_json_equal(json_object_get(json_array_get(h, 4), "next"), "[\"b\"]");
    json_decref(h);
    graph_result_clear(&res);

    /* update alone keeps nothing pending: the state changes, no node runs */
    a.command = "{\"update\": {\"value\": 99}}";
    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_int_equal(json_integer_value(json_object_get(res.values, "value")), 99);
    assert_json_equal(f->events, "[]");
    graph_result_clear(&res);
}

static void test_node_goto_and_send(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}", .modes = GRAPH_STREAM_TASKS};
    json_t *cp;
    const json_t *ev;
    size_t i, starts = 0;

    run_graph(f, "t_jump", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    /* b (pull) first, then the Sends in the order made */
    assert_json_equal(json_object_get(res.values, "log"), "[\"b\", \"x\", \"y\"]");
    cp = latest(f);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cp, "metadata"), "step")),
                     2);
    json_decref(cp);
    json_array_foreach(f->events, i, ev) {
        const json_t *p = json_array_get(ev, 1);
        if (json_object_get(p, "input") != NULL) {
            starts++;
            if (strcmp(str(p, "name"), "c") == 0)
                assert_json_equal(json_object_get(p, "triggers"), "[\"__pregel_push\"]");
            if (strcmp(str(p, "name"), "b") == 0)
                assert_json_equal(json_object_get(p, "triggers"), "[\"branch:to:b\"]");
        }
    }
    assert_int_equal(starts, 5); /* __start__, g, b, c, c */
    graph_result_clear(&res);
}

/* The [chunk, metadata] messages events (new reference) among f->events, and how many events
 * mode on_chat_model_stream records carried chunks with those contents. */
static json_t *messages_events(const fixture_t *f, size_t *streams)
{
    json_t *out = json_array();
    const json_t *ev;
    size_t i;

    *streams = 0;
    json_array_foreach(f->events, i, ev) {
        const char *mode = json_string_value(json_array_get(ev, 0));
        const json_t *d = json_array_get(ev, 1);

        if (strcmp(mode, "messages") == 0)
            json_array_append(out, (json_t *)d);
        else if (strcmp(mode, "events") == 0 && strcmp(str(d, "event"), "on_chat_model_stream") == 0) {
            const char *c = str(json_object_get(json_object_get(d, "data"), "chunk"), "content");
            *streams += strcmp(c, *streams == 0 ? "Hel" : "lo") == 0;
        }
    }
    return out;
}

static void test_messages_as_text(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                    .modes = GRAPH_STREAM_MESSAGES | GRAPH_STREAM_EVENTS};
    json_t *msgs, *want;
    size_t streams;

    /* without the hook: the texts come back parsed, as graph_node_emit_message sends them */
    run_graph(f, "t_chat_text", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    graph_result_clear(&res);
    msgs = messages_events(f, &streams);
    assert_int_equal(json_array_size(msgs), 2); /* m1 was streamed: not sent again at the end */
    want = J(chat_text_c1);
    assert_true(json_equal(json_array_get(json_array_get(msgs, 0), 0), want));
    json_decref(want);
    want = J(chat_text_c2);
    assert_true(json_equal(json_array_get(json_array_get(msgs, 1), 0), want));
    json_decref(want);
    assert_string_equal(str(json_array_get(json_array_get(msgs, 0), 1), "ls_provider"), "openai");
    assert_string_equal(str(json_array_get(json_array_get(msgs, 1), 1), "langgraph_node"), "chat");
    assert_int_equal(streams, 2);
    assert_int_equal(json_array_size(f->texts), 0);
    json_decref(msgs);

    /* the hook takes them as text with the same metadata object; events mode is unchanged */
    a.text_hook = 1;
    f->text_answer = 0;
    run_graph(f, "t_chat_text", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    graph_result_clear(&res);
    msgs = messages_events(f, &streams);
    assert_int_equal(json_array_size(msgs), 0);
    assert_int_equal(streams, 2);
    assert_int_equal(json_array_size(f->texts), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(f->texts, 0), 0)), chat_text_c1);
    assert_string_equal(json_string_value(json_array_get(json_array_get(f->texts, 1), 0)), chat_text_c2);
    assert_ptr_equal(json_array_get(json_array_get(f->texts, 0), 1),
                     json_array_get(json_array_get(f->texts, 1), 1));
    assert_string_equal(str(json_array_get(json_array_get(f->texts, 0), 1), "ls_provider"), "openai");
    json_decref(msgs);

    /* a hook that refuses them: they come through on_event after all */
    f->text_answer = -1;
    run_graph(f, "t_chat_text", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    graph_result_clear(&res);
    msgs = messages_events(f, &streams);
    assert_int_equal(json_array_size(msgs), 2);
    assert_int_equal(json_array_size(f->texts), 2);
    json_decref(msgs);
}

static void test_messages_custom_and_debug(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
                    .config = "{\"configurable\": {\"foo\": \"bar\", \"api_key\": \"sk-x\"}}",
                    .modes = GRAPH_STREAM_MESSAGES | GRAPH_STREAM_CUSTOM | GRAPH_STREAM_DEBUG |
                             GRAPH_STREAM_CHECKPOINTS};
    const json_t *ev, *meta;
    size_t i, nmsg = 0, ncustom = 0, ndebug = 0, ncp = 0;

    run_graph(f, "t_chat", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    json_array_foreach(f->events, i, ev) {
        const char *mode = json_string_value(json_array_get(ev, 0));
        const json_t *d = json_array_get(ev, 1);
        if (strcmp(mode, "messages") == 0) {
            const char *expect[] = {"Hel", "lo", "42"};
            assert_true(nmsg < 3);
            assert_string_equal(str(json_array_get(d, 0), "content"), expect[nmsg]);
            meta = json_array_get(d, 1);
            assert_string_equal(str(meta, "langgraph_node"), "chat");
            assert_int_equal(json_integer_value(json_object_get(meta, "langgraph_step")), 1);
            assert_json_equal(json_object_get(meta, "langgraph_triggers"),
                              "[\"branch:to:chat\"]");
            assert_json_equal(json_object_get(meta, "langgraph_path"),
                              "[\"__pregel_pull\", \"chat\"]");
            assert_int_equal(strncmp(str(meta, "langgraph_checkpoint_ns"), "chat:", 5), 0);
            assert_string_equal(str(meta, "checkpoint_ns"), str(meta, "langgraph_checkpoint_ns"));
            assert_string_equal(str(meta, "thread_id"), f->thread_id);
            assert_string_equal(str(meta, "run_id"), "00000000-0000-7000-8000-000000000001");
            assert_string_equal(str(meta, "assistant_id"), "asst");
            assert_string_equal(str(meta, "graph_id"), "t_chat");
            assert_string_equal(str(meta, "foo"), "bar");
            assert_null(json_object_get(meta, "api_key"));
            if (nmsg == 0)
                assert_string_equal(str(meta, "ls_provider"), "openai");
            else
                assert_null(json_object_get(meta, "ls_provider"));
            nmsg++;
        } else if (strcmp(mode, "custom") == 0) {
            assert_json_equal(d, "{\"progress\": 50}");
            ncustom++;
        } else if (strcmp(mode, "debug") == 0) {
            const char *type = str(d, "type");
            assert_true(strcmp(type, "checkpoint") == 0 || strcmp(type, "task") == 0 ||
                        strcmp(type, "task_result") == 0);
            assert_non_null(json_object_get(d, "payload"));
            assert_true(json_is_integer(json_object_get(d, "step")));
            ndebug++;
        } else if (strcmp(mode, "checkpoints") == 0) {
            assert_non_null(json_object_get(d, "checkpoint"));
            assert_non_null(json_object_get(d, "values"));
            assert_string_equal(
                str(json_object_get(json_object_get(d, "config"), "configurable"), "checkpoint_id"),
                str(json_object_get(d, "checkpoint"), "checkpoint_id"));
            assert_true(ncp > 0 || json_is_null(json_object_get(d, "parent_config")));
            ncp++;
        } else {
            fail_msg("unexpected mode %s", mode);
        }
    }
    assert_int_equal(nmsg, 3);
    assert_int_equal(ncustom, 1);
    assert_int_equal(ncp, 3);            /* input, after __start__, after chat */
    assert_int_equal(ndebug, 3 + 2 * 2); /* 3 checkpoints, start+result of 2 tasks */
    /* the human input got an id and a type; chat's messages follow it */
    assert_int_equal(json_array_size(json_object_get(res.values, "messages")), 3);
    assert_string_equal(str(json_array_get(json_object_get(res.values, "messages"), 0), "type"),
                        "human");
    assert_true(uuid_is_valid(
        str(json_array_get(json_object_get(res.values, "messages"), 0), "id")));
    graph_result_clear(&res);

    /* a removal written through command.update drops the message */
    a.input = NULL;
    a.command = "{\"update\": {\"messages\": [{\"type\": \"remove\", \"id\": \"m1\"}]}}";
    a.modes = 0;
    run_graph(f, "t_chat", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_SUCCESS);
    assert_int_equal(json_array_size(json_object_get(res.values, "messages")), 2);
    assert_string_equal(str(json_array_get(json_object_get(res.values, "messages"), 1), "id"),
                        "t1");
    graph_result_clear(&res);
}

static void test_stream_mode_names_and_bad_args(void **state)
{
    graph_result_t res;

    (void)state;
    assert_int_equal(graph_stream_mode_bit("values"), GRAPH_STREAM_VALUES);
    assert_int_equal(graph_stream_mode_bit("messages-tuple"), GRAPH_STREAM_MESSAGES);
    assert_int_equal(graph_stream_mode_bit("events"), GRAPH_STREAM_EVENTS);
    assert_int_equal(graph_stream_mode_bit("nope"), 0);
    assert_int_equal(graph_stream_mode_bit(NULL), 0);
    assert_int_equal(graph_invoke(graph_find("t_linear"), NULL, &res), -1);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    assert_non_null(res.error);
    graph_result_clear(&res);
    graph_result_clear(NULL);
}

/* events: astream_events v2 records with run ids, tags and parent ids as the official server
 * streams them: the graph, each node (start, stream of its writes, end), a node's model call. */
static void test_events_mode(void **state)
{
    fixture_t *f = *state;
    graph_result_t res;
    run_args_t a = {.input = "{}", .modes = GRAPH_STREAM_EVENTS};
    const char *run_id = "00000000-0000-7000-8000-000000000001";
    const char *expect[][2] = {{"on_chain_start", "t_linear"}, {"on_chain_start", "a"}, {"on_chain_stream", "a"},
                               {"on_chain_end", "a"},          {"on_chain_start", "b"}, {"on_chain_stream", "b"},
                               {"on_chain_end", "b"},          {"on_chain_end", "t_linear"}};
    const char *chat[][2] = {{"on_chain_start", "t_chat"},         {"on_chain_start", "chat"},
                             {"on_chat_model_start", "FakeChat"},  {"on_chat_model_stream", "FakeChat"},
                             {"on_chat_model_stream", "FakeChat"}, {"on_chat_model_end", "FakeChat"},
                             {"on_chain_stream", "chat"},          {"on_chain_end", "chat"},
                             {"on_chain_end", "t_chat"}};
    const json_t *ev, *d;
    size_t i;

    run_graph(f, "t_linear", &a, &res);
    assert_int_equal(json_array_size(f->events), 8);
    json_array_foreach(f->events, i, ev) {
        d = json_array_get(ev, 1);
        assert_string_equal(str(d, "event"), expect[i][0]);
        assert_string_equal(str(d, "name"), expect[i][1]);
        assert_non_null(json_object_get(d, "metadata"));
        if (i == 0 || i == 7) {
            assert_string_equal(str(d, "run_id"), run_id);
            assert_json_equal(json_object_get(d, "parent_ids"), "[]");
            assert_json_equal(json_object_get(d, "tags"), "[]");
        } else {
            assert_json_equal(json_object_get(d, "parent_ids"), "[\"00000000-0000-7000-8000-000000000001\"]");
            assert_json_equal(json_object_get(d, "tags"), i < 4 ? "[\"graph:step:1\"]" : "[\"graph:step:2\"]");
            assert_string_equal(str(json_object_get(d, "metadata"), "langgraph_node"), expect[i][1]);
        }
    }
    d = json_array_get(json_array_get(f->events, 2), 1);
    assert_json_equal(json_object_get(d, "data"), "{\"chunk\": {\"log\": [\"a\"], \"value\": 1}}");
    assert_string_equal(str(d, "run_id"), str(json_array_get(json_array_get(f->events, 1), 1), "run_id"));
    assert_json_equal(json_object_get(json_object_get(json_array_get(json_array_get(f->events, 7),
                                                                     1), "data"), "output"),
                      "{\"log\": [\"a\", \"b\"], \"value\": 2}");
    graph_result_clear(&res);

    a.input = "{\"messages\": [{\"type\": \"human\", \"content\": \"hi\", \"id\": \"h1\"}]}";
    run_graph(f, "t_chat", &a, &res);
    assert_int_equal(json_array_size(f->events), 9);
    json_array_foreach(f->events, i, ev) {
        d = json_array_get(ev, 1);
        assert_string_equal(str(d, "event"), chat[i][0]);
        assert_string_equal(str(d, "name"), chat[i][1]);
        if (i >= 2 && i <= 5) { /* the model call: one run id, under the graph and the task */
            const json_t *task = json_array_get(json_array_get(f->events, 1), 1);
            json_t *parents = json_pack("[s, s]", run_id, str(task, "run_id"));
            assert_true(json_equal(json_object_get(d, "parent_ids"), parents));
            json_decref(parents);
            assert_string_equal(str(d, "run_id"), str(json_array_get(json_array_get(f->events, 2), 1), "run_id"));
            assert_string_not_equal(str(d, "run_id"), str(task, "run_id"));
            assert_string_equal(str(json_object_get(d, "metadata"), "ls_provider"), "openai");
        }
    }
    d = json_object_get(json_array_get(json_array_get(f->events, 2), 1), "data");
    assert_json_equal(d, "{\"input\": {\"messages\": [[{\"type\": \"human\", \"content\": \"hi\", \"id\": \"h1\","
                         " \"additional_kwargs\": {}, \"response_metadata\": {}}]]}}");
    d = json_object_get(json_array_get(json_array_get(f->events, 3), 1), "data");
    assert_string_equal(str(json_object_get(d, "chunk"), "content"), "Hel");
    d = json_object_get(json_array_get(json_array_get(f->events, 5), 1), "data");
    assert_string_equal(str(json_object_get(d, "output"), "content"), "lo");
    assert_non_null(json_object_get(d, "input"));
    graph_result_clear(&res);

    /* a failing node and its failed run stream no end events */
    a.input = "{}";
    run_graph(f, "t_fail", &a, &res);
    assert_int_equal(res.status, GRAPH_STATUS_ERROR);
    json_array_foreach(f->events, i, ev) {
        d = json_array_get(ev, 1);
        assert_true(strcmp(str(d, "event"), "on_chain_end") != 0 || strcmp(str(d, "name"), "boom") != 0);
        assert_true(strcmp(str(d, "event"), "on_chain_end") != 0 || strcmp(str(d, "name"), "t_fail") != 0);
    }
    graph_result_clear(&res);
}

static void test_agent_router(void **state)
{
    const graph_route_fn route = graph_agent_spec.nodes[0].route;
    const char *cases[][2] = {
        {"{\"messages\": [{\"type\": \"ai\", \"content\": \"\", \"tool_calls\": "
         "[{\"name\": \"t\", \"args\": {}, \"id\": \"c\"}]}]}", "tools"},
        {"{\"messages\": [{\"type\": \"ai\", \"content\": \"hi\", \"tool_calls\": []}]}",
         GRAPH_END},
        {"{\"messages\": [{\"type\": \"human\", \"content\": \"hi\"}]}", GRAPH_END},
        {"{\"messages\": []}", GRAPH_END},
        {"{}", GRAPH_END},
    };
    size_t i;

    (void)state;
    assert_string_equal(graph_agent_spec.nodes[0].name, "agent");
    assert_non_null(route);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *st = J(cases[i][0]);
        const char *next = NULL;
        assert_int_equal(route(st, &next), 0);
        assert_string_equal(next, cases[i][1]);
        json_decref(st);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_linear_values_updates_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_lineage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conditional_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_before_star_and_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_after, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_at_exit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_interrupt_and_command_resume, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ignored_interrupt_still_stops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recursion_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_checkpoints_fail_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_between_nodes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_command_update_and_goto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_goto_and_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_custom_and_debug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_messages_as_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_mode, setup, teardown),
        cmocka_unit_test(test_stream_mode_names_and_bad_args),
        cmocka_unit_test(test_agent_router),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
