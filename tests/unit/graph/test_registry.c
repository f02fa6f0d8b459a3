/*
 * tests/unit/graph/test_registry.c — unit tests of runtime/graph/registry.c and the built-in
 * agent descriptor (agent_graph.c): lookup and iteration, system assistant ids, the drawable
 * graph, the schemas (Open Agent Platform form metadata included), subgraphs, and the checks
 * graph_register applies to a spec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "graph/graph.h"

/* A schema that passes registration. */
#define OK_SCHEMA "{\"type\": \"object\", \"properties\": {}}"

static int setup_registry(void **state)
{
    (void)state;
    return graph_registry_init();
}

/* Returns the element of `arr` whose `key` is the string `value` (borrowed), or NULL. */
static json_t *find_by(json_t *arr, const char *key, const char *value)
{
    size_t i;
    json_t *v;

    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(json_object_get(v, key));
        if (s != NULL && strcmp(s, value) == 0)
            return v;
    }
    return NULL;
}

/* Returns the edge source -> target of a drawn graph (borrowed), or NULL. */
static json_t *find_edge(json_t *drawn, const char *source, const char *target)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(drawn, "edges"), i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "source")), source) == 0 &&
            strcmp(json_string_value(json_object_get(e, "target")), target) == 0)
            return e;
    }
    return NULL;
}

static void assert_object_schema(json_t *schema)
{
    assert_non_null(schema);
    assert_true(json_is_object(schema));
    assert_string_equal(json_string_value(json_object_get(schema, "type")), "object");
    assert_true(json_is_object(json_object_get(schema, "properties")));
}

static void test_init_is_idempotent(void **state)
{
    const graph_t *agent = graph_find("agent");
    size_t n = graph_count();

    (void)state;
    assert_non_null(agent);
    assert_int_equal(graph_registry_init(), 0);
    assert_int_equal(graph_registry_init(), 0);
    assert_int_equal(graph_count(), n);
    assert_ptr_equal(graph_find("agent"), agent);
}

static void test_find(void **state)
{
    const graph_t *g = graph_find("agent");

    (void)state;
    assert_non_null(g);
    assert_string_equal(g->spec->graph_id, "agent");
    assert_ptr_equal(g->spec, &graph_agent_spec);
    assert_null(graph_find("no-such-graph"));
    assert_null(graph_find("Agent"));
    assert_null(graph_find(""));
    assert_null(graph_find(NULL));
}

static void test_iteration(void **state)
{
    size_t i, n = graph_count();
    int seen_agent = 0;

    (void)state;
    assert_true(n >= 1);
    for (i = 0; i < n; i++) {
        const graph_t *g = graph_at(i);
        assert_non_null(g);
        assert_ptr_equal(graph_find(g->spec->graph_id), g);
        if (strcmp(g->spec->graph_id, "agent") == 0)
            seen_agent = 1;
    }
    assert_true(seen_agent);
    assert_null(graph_at(n));
}

static void test_system_assistant_id(void **state)
{
    char id[GRAPH_ASSISTANT_ID_SIZE];

    (void)state;
    /* python3: uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), name); the first
     * is also what the official JS server answers for GET /assistants/agent. */
    graph_system_assistant_id("agent", id);
    assert_string_equal(id, "fe096781-5601-53d2-b2f6-0d3403f7e9ca");
    graph_system_assistant_id("research_agent", id);
    assert_string_equal(id, "9dc0ca3b-1aa6-547d-93f0-e21597d2011c");
}

static void test_agent_descriptor(void **state)
{
    const graph_t *g = graph_find("agent");
    const graph_spec_t *spec = g->spec;

    (void)state;
    assert_int_equal(spec->node_count, 2);
    assert_non_null(graph_node_find(g, "agent"));
    assert_non_null(graph_node_find(g, "tools"));
    assert_null(graph_node_find(g, GRAPH_START));
    assert_null(graph_node_find(g, "model"));
    assert_int_equal(spec->channel_count, 1);
    assert_string_equal(spec->channels[0].name, "messages");
    assert_int_equal(spec->channels[0].reducer, GRAPH_REDUCER_ADD_MESSAGES);
    assert_int_equal(json_object_size(g->node_metadata), 0);
}

static void test_draw_agent(void **state)
{
    const graph_t *g = graph_find("agent");
    json_t *drawn = graph_draw(g, 0), *nodes, *n, *e;
    const char *order[] = {GRAPH_START, "agent", "tools", GRAPH_END};
    size_t i;

    (void)state;
    assert_non_null(drawn);
    assert_int_equal(json_object_size(drawn), 2);
    nodes = json_object_get(drawn, "nodes");
    assert_int_equal(json_array_size(nodes), 4);
    for (i = 0; i < 4; i++) {
        n = json_array_get(nodes, i);
        assert_string_equal(json_string_value(json_object_get(n, "id")), order[i]);
        assert_true(json_is_object(json_object_get(n, "data")));
        assert_null(json_object_get(n, "metadata"));
    }
    n = json_array_get(nodes, 0);
    assert_string_equal(json_string_value(json_object_get(n, "type")), "schema");
    assert_string_equal(json_string_value(json_object_get(json_object_get(n, "data"), "title")),
                        GRAPH_START);
    n = json_array_get(nodes, 3);
    assert_string_equal(json_string_value(json_object_get(n, "type")), "schema");
    assert_string_equal(json_string_value(json_object_get(json_object_get(n, "data"), "title")),
                        GRAPH_END);
    n = find_by(nodes, "id", "agent");
    assert_string_equal(json_string_value(json_object_get(n, "type")), "runnable");
    assert_string_equal(json_string_value(json_object_get(json_object_get(n, "data"), "name")),
                        "agent");
    assert_true(json_is_array(json_object_get(json_object_get(n, "data"), "id")));
    assert_string_equal(json_string_value(json_object_get(find_by(nodes, "id", "tools"), "type")),
                        "runnable");

    assert_int_equal(json_array_size(json_object_get(drawn, "edges")), 4);
    assert_non_null(e = find_edge(drawn, GRAPH_START, "agent"));
    assert_true(json_is_false(json_object_get(e, "conditional")));
    assert_non_null(e = find_edge(drawn, "tools", "agent"));
    assert_true(json_is_false(json_object_get(e, "conditional")));
    assert_non_null(e = find_edge(drawn, "agent", "tools"));
    assert_true(json_is_true(json_object_get(e, "conditional")));
    assert_null(json_object_get(e, "data"));
    assert_non_null(e = find_edge(drawn, "agent", GRAPH_END));
    assert_true(json_is_true(json_object_get(e, "conditional")));
    assert_null(find_edge(drawn, GRAPH_START, GRAPH_END));
    json_decref(drawn);
}

static void test_draw_accepts_xray(void **state)
{
    const graph_t *g = graph_find("agent");
    json_t *plain = graph_draw(g, 0), *deep = graph_draw(g, 1), *all = graph_draw(g, -1);

    (void)state;
    assert_non_null(plain);
    assert_non_null(deep);
    assert_non_null(all);
    assert_true(json_equal(plain, deep));
    assert_true(json_equal(plain, all));
    json_decref(plain);
    json_decref(deep);
    json_decref(all);
}

static void test_schemas_shape(void **state)
{
    json_t *s = graph_schemas(graph_find("agent"));
    const char *names[] = {"input_schema", "output_schema", "state_schema", "config_schema",
                           "context_schema"};
    size_t i;

    (void)state;
    assert_non_null(s);
    assert_int_equal(json_object_size(s), 6);
    assert_string_equal(json_string_value(json_object_get(s, "graph_id")), "agent");
    for (i = 0; i < 5; i++)
        assert_object_schema(json_object_get(s, names[i]));
    for (i = 0; i < 3; i++) {
        json_t *props = json_object_get(json_object_get(s, names[i]), "properties");
        json_t *messages = json_object_get(props, "messages");
        json_t *items = json_object_get(messages, "items");
        assert_string_equal(json_string_value(json_object_get(messages, "type")), "array");
        assert_object_schema(items);
        assert_non_null(json_object_get(json_object_get(items, "properties"), "content"));
        assert_non_null(json_object_get(json_object_get(items, "properties"), "tool_calls"));
    }
    json_decref(s);
}

/* Returns properties.<key>.metadata.x_oap_ui_config of the agent's config schema (borrowed). */
static json_t *ui_config(json_t *config_schema, const char *key)
{
    json_t *prop = json_object_get(json_object_get(config_schema, "properties"), key);

    assert_non_null(prop);
    return json_object_get(json_object_get(prop, "metadata"), "x_oap_ui_config");
}

static void test_config_schema_oap(void **state)
{
    json_t *s = graph_schemas(graph_find("agent"));
    json_t *config = json_object_get(s, "config_schema");
    const struct {
        const char *key;
        const char *type;
    } fields[] = {
        {"model_name", "select"},  {"temperature", "slider"},     {"max_tokens", "number"},
        {"system_prompt", "textarea"}, {"base_url", "text"},      {"custom_model_name", "text"},
        {"custom_api_key", "text"},    {"apiKeys", "json"},       {"mcp_config", "mcp"},
        {"rag", "rag"},
    };
    json_t *ui, *prop, *opt, *mcp_props, *rag_props;
    size_t i;
    int default_offered = 0;

    (void)state;
    assert_int_equal(json_object_size(json_object_get(config, "properties")),
                     sizeof(fields) / sizeof(fields[0]));
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        ui = ui_config(config, fields[i].key);
        assert_non_null(ui);
        assert_string_equal(json_string_value(json_object_get(ui, "type")), fields[i].type);
    }

    ui = ui_config(config, "model_name");
    prop = json_object_get(json_object_get(config, "properties"), "model_name");
    assert_string_equal(json_string_value(json_object_get(prop, "default")), "openai:gpt-4o");
    assert_true(json_equal(json_object_get(prop, "default"), json_object_get(ui, "default")));
    assert_true(json_array_size(json_object_get(ui, "options")) > 0);
    json_array_foreach(json_object_get(ui, "options"), i, opt)
    {
        assert_true(json_is_string(json_object_get(opt, "label")));
        assert_true(json_is_string(json_object_get(opt, "value")));
        if (json_equal(json_object_get(opt, "value"), json_object_get(ui, "default")))
            default_offered = 1;
    }
    assert_true(default_offered);
    assert_non_null(find_by(json_object_get(ui, "options"), "value", "custom:"));

    ui = ui_config(config, "temperature");
    assert_true(json_number_value(json_object_get(ui, "default")) == 0.7);
    assert_true(json_number_value(json_object_get(ui, "min")) == 0);
    assert_true(json_number_value(json_object_get(ui, "max")) == 2);
    assert_true(json_number_value(json_object_get(ui, "step")) == 0.1);

    ui = ui_config(config, "max_tokens");
    assert_int_equal(json_integer_value(json_object_get(ui, "default")), 4000);
    assert_int_equal(json_integer_value(json_object_get(ui, "min")), 1);
    assert_true(json_is_integer(json_object_get(ui, "max")));
    assert_true(json_is_number(json_object_get(ui, "step")));

    ui = ui_config(config, "system_prompt");
    prop = json_object_get(json_object_get(config, "properties"), "system_prompt");
    assert_true(strlen(json_string_value(json_object_get(ui, "default"))) > 0);
    assert_true(json_equal(json_object_get(prop, "default"), json_object_get(ui, "default")));
    assert_non_null(strchr(json_string_value(json_object_get(ui, "description")), '\n'));

    /* mcp_config {url, tools, auth_required} and rag {rag_url, collections} as objects. */
    prop = json_object_get(json_object_get(config, "properties"), "mcp_config");
    mcp_props = json_object_get(json_array_get(json_object_get(prop, "anyOf"), 0), "properties");
    assert_non_null(json_object_get(mcp_props, "url"));
    assert_non_null(json_object_get(mcp_props, "tools"));
    assert_true(
        json_is_false(json_object_get(json_object_get(mcp_props, "auth_required"), "default")));
    prop = json_object_get(json_object_get(config, "properties"), "rag");
    rag_props = json_object_get(json_array_get(json_object_get(prop, "anyOf"), 0), "properties");
    assert_non_null(json_object_get(rag_props, "rag_url"));
    assert_non_null(json_object_get(rag_props, "collections"));
    json_decref(s);
}

static void test_schemas_are_copies(void **state)
{
    const graph_t *g = graph_find("agent");
    json_t *a = graph_schemas(g), *b;

    (void)state;
    json_object_clear(json_object_get(json_object_get(a, "config_schema"), "properties"));
    b = graph_schemas(g);
    assert_true(
        json_object_size(json_object_get(json_object_get(b, "config_schema"), "properties")) > 0);
    assert_true(json_equal(json_object_get(b, "config_schema"), g->config_schema));
    json_decref(a);
    json_decref(b);
}

static void test_subgraphs_empty(void **state)
{
    const graph_t *g = graph_find("agent");
    json_t *v;

    (void)state;
    v = graph_subgraphs(g, NULL, 0);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);
    v = graph_subgraphs(g, "tools", 1);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), 0);
    json_decref(v);
}

static const graph_node_t custom_nodes[] = {
    {.name = "route", .metadata = "{\"tags\": [\"router\"]}"},
    {.name = "left"},
    {.name = "right"},
};

static const graph_edge_t custom_edges[] = {
    {.source = GRAPH_START, .target = "route"},
    {.source = "route", .target = "left", .conditional = 1, .label = "go_left"},
    {.source = "route", .target = "right", .conditional = 1, .label = "right"},
    {.source = "left", .target = "right"},
};

static const graph_channel_t custom_channels[] = {
    {.name = "log", .reducer = GRAPH_REDUCER_APPEND},
    {.name = "last", .reducer = GRAPH_REDUCER_REPLACE},
};

static const graph_spec_t custom_spec = {
    .graph_id = "test_custom",
    .nodes = custom_nodes,
    .node_count = 3,
    .edges = custom_edges,
    .edge_count = 4,
    .channels = custom_channels,
    .channel_count = 2,
    .input_schema = OK_SCHEMA,
    .output_schema = OK_SCHEMA,
    .state_schema = OK_SCHEMA,
    .config_schema = OK_SCHEMA,
    .context_schema = OK_SCHEMA,
};

static void test_register_custom(void **state)
{
    char err[256] = "";
    char id[GRAPH_ASSISTANT_ID_SIZE];
    size_t n = graph_count();
    const graph_t *g;
    json_t *drawn, *nodes, *route, *tags, *e;

    (void)state;
    assert_int_equal(graph_register(&custom_spec, err, sizeof(err)), 0);
    assert_int_equal(graph_count(), n + 1);
    g = graph_find("test_custom");
    assert_non_null(g);
    assert_ptr_equal(graph_at(n), g);
    graph_system_assistant_id(g->spec->graph_id, id);
    assert_string_equal(id, "5e714d80-2731-5e32-8ea4-68aa93b99899");

    /* No edge reaches __end__, so no __end__ node; metadata and labels are drawn. */
    drawn = graph_draw(g, 0);
    nodes = json_object_get(drawn, "nodes");
    assert_int_equal(json_array_size(nodes), 4);
    assert_null(find_by(nodes, "id", GRAPH_END));
    route = find_by(nodes, "id", "route");
    tags = json_object_get(json_object_get(route, "metadata"), "tags");
    assert_string_equal(json_string_value(json_array_get(tags, 0)), "router");
    assert_null(json_object_get(find_by(nodes, "id", "left"), "metadata"));
    e = find_edge(drawn, "route", "left");
    assert_string_equal(json_string_value(json_object_get(e, "data")), "go_left");
    e = find_edge(drawn, "route", "right");
    assert_null(json_object_get(e, "data")); /* label equal to the target is not drawn */
    json_decref(drawn);

    /* Registering the same id again fails and changes nothing. */
    assert_int_equal(graph_register(&custom_spec, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "already registered"));
    assert_int_equal(graph_count(), n + 1);
}

/* Registers a copy of custom_spec (id "bad") changed by `mutate`; expects -1 with `reason` in
 * the message and an unchanged registry. */
static void expect_rejected(void (*mutate)(graph_spec_t *), const char *reason)
{
    graph_spec_t spec = custom_spec;
    char err[256] = "";
    size_t n = graph_count();

    spec.graph_id = "bad";
    mutate(&spec);
    assert_int_equal(graph_register(&spec, err, sizeof(err)), -1);
    if (strstr(err, reason) == NULL)
        fail_msg("expected \"%s\" in \"%s\"", reason, err);
    assert_int_equal(graph_count(), n);
    assert_null(graph_find("bad"));
    assert_int_equal(graph_register(&spec, NULL, 0), -1); /* no error buffer: still refused */
}

static void empty_id(graph_spec_t *s)
{
    s->graph_id = "";
}

static void reserved_node(graph_spec_t *s)
{
    static const graph_node_t nodes[] = {{.name = GRAPH_END}};
    s->nodes = nodes;
    s->node_count = 1;
}

static void duplicate_node(graph_spec_t *s)
{
    static const graph_node_t nodes[] = {{.name = "route"}, {.name = "left"}, {.name = "route"}};
    s->nodes = nodes;
}

static void unknown_target(graph_spec_t *s)
{
    static const graph_edge_t edges[] = {{.source = GRAPH_START, .target = "nowhere"}};
    s->edges = edges;
    s->edge_count = 1;
}

static void end_as_source(graph_spec_t *s)
{
    static const graph_edge_t edges[] = {{.source = GRAPH_START, .target = "route"},
                                         {.source = GRAPH_END, .target = "route"}};
    s->edges = edges;
    s->edge_count = 2;
}

static void no_entry(graph_spec_t *s)
{
    s->edges = custom_edges + 1;
    s->edge_count = 3;
}

static void duplicate_channel(graph_spec_t *s)
{
    static const graph_channel_t channels[] = {{.name = "log"}, {.name = "log"}};
    s->channels = channels;
}

static void schema_not_json(graph_spec_t *s)
{
    s->config_schema = "{\"type\": \"object\",";
}

static void schema_not_object(graph_spec_t *s)
{
    s->state_schema = "[]";
}

static void schema_without_properties(graph_spec_t *s)
{
    s->input_schema = "{\"type\": \"object\"}";
}

static void schema_missing(graph_spec_t *s)
{
    s->context_schema = NULL;
}

static void metadata_not_object(graph_spec_t *s)
{
    static const graph_node_t nodes[] = {
        {.name = "route", .metadata = "\"router\""}, {.name = "left"}, {.name = "right"}};
    s->nodes = nodes;
}

static void unknown_subgraph(graph_spec_t *s)
{
    static const graph_node_t nodes[] = {{.name = "route"}, {.name = "left", .subgraph = "not_registered"}, {.name = "right"}};
    s->nodes = nodes;
}

static void test_register_rejects(void **state)
{
    (void)state;
    expect_rejected(empty_id, "graph id is empty");
    expect_rejected(reserved_node, "reserved name");
    expect_rejected(duplicate_node, "duplicate node route");
    expect_rejected(unknown_target, "unknown node");
    expect_rejected(end_as_source, "unknown node");
    expect_rejected(no_entry, "no edge leaves __start__");
    expect_rejected(duplicate_channel, "duplicate channel log");
    expect_rejected(schema_not_json, "config_schema: invalid JSON");
    expect_rejected(schema_not_object, "state_schema: not a JSON object");
    expect_rejected(schema_without_properties, "input_schema: needs");
    expect_rejected(schema_missing, "context_schema: missing");
    expect_rejected(metadata_not_object, "metadata of node route: not a JSON object");
    expect_rejected(unknown_subgraph, "node left runs not_registered, which is not registered");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_is_idempotent),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_iteration),
        cmocka_unit_test(test_system_assistant_id),
        cmocka_unit_test(test_agent_descriptor),
        cmocka_unit_test(test_draw_agent),
        cmocka_unit_test(test_draw_accepts_xray),
        cmocka_unit_test(test_schemas_shape),
        cmocka_unit_test(test_config_schema_oap),
        cmocka_unit_test(test_schemas_are_copies),
        cmocka_unit_test(test_subgraphs_empty),
        cmocka_unit_test(test_register_custom),
        cmocka_unit_test(test_register_rejects),
    };

    return cmocka_run_group_tests(tests, setup_registry, NULL);
}
