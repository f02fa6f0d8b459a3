/*
 * runtime/graph/test_graphs.c — graphs that exist for tests only, registered when the
 * environment variable LGSERVE_TEST_GRAPHS is set to 1 (graph_registry_init): `nested`, whose
 * node `child` runs the graph `nested_child` as a subgraph, so conformance tests can follow
 * subgraph checkpoints, namespaced events and the assistants' subgraph schemas without an LLM.
 *
 *   nested_child: __start__ -> greet -> __end__
 *   nested:       __start__ -> prep -> child (nested_child) -> finish -> __end__
 *
 * Channels: `messages` (add_messages: each node adds an AI message naming it) and `steps`
 * (replace: the name of the node that wrote last).
 */
#include <string.h>

#include "graph/engine.h"
#include "graph/graph.h"

#define TEST_SCHEMA "{\"type\": \"object\", \"properties\": {\"messages\": {\"type\": \"array\"}, \"steps\": {\"type\": \"array\"}}}"
#define TEST_EMPTY_SCHEMA "{\"type\": \"object\", \"properties\": {}}"

/* Writes {messages: [an AI message naming the node], steps: [the node's name]}. Node `greet`
 * fails instead when config.configurable.fail_child is true (a subgraph task left pending),
 * and with ask_child true first asks "may I greet?" (an interrupt inside the subgraph) and
 * appends the answer to its message. `state` borrowed; *update a new reference. */
static int test_node_say(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    const char *name = graph_node_name(ctx);

    (void)state;
    const json_t *conf = graph_node_configurable(ctx), *answer = NULL;
    json_t *question;

    if (strcmp(name, "greet") == 0 && json_is_true(json_object_get(conf, "fail_child")))
        return graph_node_fail(ctx, "greet was asked to fail (configurable.fail_child)");
    if (strcmp(name, "greet") == 0 && json_is_true(json_object_get(conf, "ask_child"))) {
        question = json_string("may I greet?");
        answer = graph_interrupt(ctx, question);
        json_decref(question);
        if (answer == NULL)
            return GRAPH_NODE_INTERRUPT;
    }
    *update = json_pack("{s:[{s:s, s:s+++}], s:[s]}", "messages", "type", "ai", "content", "hello from ", name,
                        json_is_string(answer) ? ": " : "", json_is_string(answer) ? json_string_value(answer) : "",
                        "steps", name);
    return *update != NULL ? GRAPH_NODE_OK : graph_node_fail(ctx, "%s: out of memory", name);
}

static const graph_channel_t test_channels[] = {
    {.name = "messages", .reducer = GRAPH_REDUCER_ADD_MESSAGES},
    {.name = "steps", .reducer = GRAPH_REDUCER_REPLACE},
};

static const graph_node_t child_nodes[] = {{.name = "greet", .run = test_node_say}};
static const graph_edge_t child_edges[] = {{.source = GRAPH_START, .target = "greet"},
                                           {.source = "greet", .target = GRAPH_END}};

static const graph_spec_t test_child_spec = {
    .graph_id = "nested_child",
    .nodes = child_nodes,
    .node_count = 1,
    .edges = child_edges,
    .edge_count = 2,
    .channels = test_channels,
    .channel_count = 2,
    .input_schema = TEST_SCHEMA,
    .output_schema = TEST_SCHEMA,
    .state_schema = TEST_SCHEMA,
    .config_schema = TEST_EMPTY_SCHEMA,
    .context_schema = TEST_EMPTY_SCHEMA,
};

static const graph_node_t parent_nodes[] = {{.name = "prep", .run = test_node_say},
                                            {.name = "child", .subgraph = "nested_child"},
                                            {.name = "finish", .run = test_node_say}};
static const graph_edge_t parent_edges[] = {{.source = GRAPH_START, .target = "prep"},
                                            {.source = "prep", .target = "child"},
                                            {.source = "child", .target = "finish"},
                                            {.source = "finish", .target = GRAPH_END}};

static const graph_spec_t test_parent_spec = {
    .graph_id = "nested",
    .nodes = parent_nodes,
    .node_count = 3,
    .edges = parent_edges,
    .edge_count = 4,
    .channels = test_channels,
    .channel_count = 2,
    .input_schema = TEST_SCHEMA,
    .output_schema = TEST_SCHEMA,
    .state_schema = TEST_SCHEMA,
    .config_schema = TEST_EMPTY_SCHEMA,
    .context_schema = TEST_EMPTY_SCHEMA,
};

const graph_spec_t *const graph_test_specs[] = {&test_child_spec, &test_parent_spec, NULL};
