/*
 * runtime/graph/graph.h — graph descriptors and the graph registry.
 *
 * A graph is C data: a graph_spec_t names its nodes, its edges (plain and conditional, between
 * nodes and the two virtual nodes GRAPH_START / GRAPH_END), its state channels with their
 * reducers, and the JSON Schemas of its input, output, state, config and context (JSON text).
 * Registering a spec checks it and parses every JSON text once; the registered graph_t then
 * serves the assistant endpoints (GET /assistants/{id}/graph, /schemas, /subgraphs) and, with
 * the runs issue, the engine.
 *
 * Every registered graph has a default ("system") assistant whose id is the UUIDv5 of the graph
 * id in the namespace the official server uses (graph_system_assistant_id).
 *
 * Thread-safety: graph_registry_init is idempotent and safe to call from any thread.
 * graph_register is meant for start-up, before lookups run concurrently. Lookups, iteration
 * and the JSON builders only read registered graphs and may run on any thread.
 */
#ifndef LG_GRAPH_GRAPH_H
#define LG_GRAPH_GRAPH_H

#include <stddef.h>
#include <jansson.h>

/* Names of the virtual entry and exit nodes, as LangGraph spells them. */
#define GRAPH_START "__start__"
#define GRAPH_END "__end__"

/* Bytes of a canonical UUID string plus the NUL. */
#define GRAPH_ASSISTANT_ID_SIZE 37

/* How a state channel combines the writes of one step with its current value. */
typedef enum graph_reducer {
    GRAPH_REDUCER_REPLACE,      /* the last write wins */
    GRAPH_REDUCER_APPEND,       /* lists are concatenated */
    GRAPH_REDUCER_ADD_MESSAGES, /* LangChain messages: upsert by id, remove via type "remove" */
} graph_reducer_t;

/* One key of the graph state. */
typedef struct graph_channel {
    const char *name;
    graph_reducer_t reducer;
} graph_channel_t;

/* What a node function returns. */
enum graph_node_rc {
    GRAPH_NODE_OK = 0,        /* done; *update holds its writes (or NULL) */
    GRAPH_NODE_ERROR = -1,    /* failed; the message was given to graph_node_fail */
    GRAPH_NODE_INTERRUPT = 1  /* graph_interrupt returned NULL: the step stops at an interrupt */
};

/* The engine's per-task context, handed to node functions (graph/engine.h). */
typedef struct graph_node_ctx graph_node_ctx_t;

/*
 * A node function (graph/engine.h documents the context calls). `state` is the current state
 * (borrowed; for a task started by a Send, the Send's argument). On return, *update is NULL
 * (no writes) or a new reference to an object {channel: value} the engine merges through the
 * channels' reducers. Returns GRAPH_NODE_OK (0), GRAPH_NODE_ERROR (after graph_node_fail) or
 * GRAPH_NODE_INTERRUPT (after graph_interrupt returned NULL); *update is ignored unless OK.
 */
typedef int (*graph_node_fn)(graph_node_ctx_t *ctx, const json_t *state, json_t **update);

/*
 * The router of a node's conditional edges: picks where to go after the node ran, reading the
 * state after the step (borrowed). Sets *next to a node name or GRAPH_END (a static string or
 * a string that lives as long as the graph) and returns 0; returns -1 on failure (the run then
 * ends in error).
 */
typedef int (*graph_route_fn)(const json_t *state, const char **next);

/* One node. `metadata` is the text of a JSON object (NULL for none); it is drawn with the node
 * and merged into the metadata of the node's events. `run` is what the engine calls (NULL: a
 * node that writes nothing). `route` decides the node's conditional edges (NULL when it has
 * none; a node with conditional edges and no router fails the run when it is reached). */
typedef struct graph_node {
    const char *name;
    const char *metadata;
    graph_node_fn run;
    graph_route_fn route;
    const char *subgraph; /* id of a graph registered before this one that the node runs as a
                             subgraph (graph/engine.h), instead of `run`; NULL for none */
} graph_node_t;

/* One edge. Sources are nodes or GRAPH_START; targets are nodes or GRAPH_END. A conditional
 * edge is one possible outcome of the source's routing decision; `label` (NULL for none) is the
 * routing value drawn on the edge when it differs from the target's name. */
typedef struct graph_edge {
    const char *source;
    const char *target;
    int conditional;
    const char *label;
} graph_edge_t;

/* A graph as static data (borrowed by the registry for the life of the process). Each schema
 * is the text of a JSON object with "type": "object" and "properties". */
typedef struct graph_spec {
    const char *graph_id;
    const graph_node_t *nodes;
    size_t node_count;
    const graph_edge_t *edges;
    size_t edge_count;
    const graph_channel_t *channels;
    size_t channel_count;
    const char *input_schema;
    const char *output_schema;
    const char *state_schema;
    const char *config_schema;
    const char *context_schema;
} graph_spec_t;

/* A registered graph. Every field is owned by the registry and lives until exit; read-only. */
typedef struct graph {
    const graph_spec_t *spec;
    json_t *input_schema;
    json_t *output_schema;
    json_t *state_schema;
    json_t *config_schema;
    json_t *context_schema;
    json_t *node_metadata; /* object: node name -> metadata object, for nodes that have one */
} graph_t;

/* The built-in tools agent (agent_graph.c): nodes "agent" and "tools", state channel
 * "messages" (add_messages), config schema with Open Agent Platform form metadata. */
extern const graph_spec_t graph_agent_spec;

/* The test-only graphs (test_graphs.c: `nested_child`, and `nested` which runs it as a
 * subgraph), NULL-terminated, in registration order. */
extern const graph_spec_t *const graph_test_specs[];

/*
 * Registers the built-in graphs, plus graph_test_specs when the environment variable
 * LGSERVE_TEST_GRAPHS is "1". Idempotent and thread-safe: the first call registers, later
 * calls return its result. Returns 0, or -1 when a built-in spec is invalid (a programming
 * error, never a runtime condition).
 */
int graph_registry_init(void);

/*
 * Checks `spec` (borrowed; must outlive the process) and registers it: the graph id is unused
 * and non-empty, node names are unique and not reserved, a node's subgraph names a graph
 * registered before, every edge joins known nodes (sources
 * may be GRAPH_START, targets GRAPH_END), GRAPH_START has an edge, channel names are unique,
 * every schema and node metadata parses as a JSON object and every schema has "type": "object"
 * and a "properties" object. Returns 0; or -1 and, when `err` is not NULL, a one-line reason in
 * err (`errlen` bytes, NUL-terminated). Call at start-up, before concurrent lookups.
 */
int graph_register(const graph_spec_t *spec, char *err, size_t errlen);

/* Returns the registered graph named `graph_id` (borrowed), or NULL when there is none (also
 * for a NULL id). */
const graph_t *graph_find(const char *graph_id);

/* The number of registered graphs, and the i-th in registration order (borrowed; NULL when
 * i >= graph_count()). For creating the system assistants at start. */
size_t graph_count(void);
const graph_t *graph_at(size_t i);

/* The graph that runs in checkpoint namespace `ns` (borrowed) of graph `g`: `g` itself for NULL
 * or "", else the subgraph each "node:task_id" segment (separated by '|') leads to. NULL when a
 * segment names no node of that level that runs a subgraph. */
const graph_t *graph_for_namespace(const graph_t *g, const char *ns);

/* Returns the spec of `node` in `g` (borrowed), or NULL when `g` has no such node. */
const graph_node_t *graph_node_find(const graph_t *g, const char *node);

/*
 * The drawable form served by GET /assistants/{id}/graph, as the official JS server builds it:
 *   {"nodes": [{"id", "type": "schema"|"runnable", "data": {...}, "metadata"?}, ...],
 *    "edges": [{"source", "target", "conditional": bool, "data"?: label}, ...]}
 * GRAPH_START comes first, then the nodes in spec order, then GRAPH_END when an edge reaches
 * it; edges in spec order. `xray` (0 = off, > 0 = depth, < 0 = unlimited) expands the nodes
 * that run a subgraph as LangGraph draws them: the subgraph's nodes (its own drawing at depth
 * xray - 1, without __start__ and __end__) with ids "node:<id>" in place of the node, the
 * edges into and out of it led to its first and last node. Returns a new reference, or NULL
 * when out of memory.
 */
json_t *graph_draw(const graph_t *g, int xray);

/* The GraphSchema served by GET /assistants/{id}/schemas: {"graph_id", "input_schema",
 * "output_schema", "state_schema", "config_schema", "context_schema"}, each a deep copy.
 * Returns a new reference, or NULL when out of memory. */
json_t *graph_schemas(const graph_t *g);

/* The Subgraphs map served by GET /assistants/{id}/subgraphs[/{namespace}]: the name of each
 * node that runs a subgraph -> that graph's GraphSchemaNoId {input_schema, output_schema,
 * state_schema, config_schema, context_schema}, only namespace `ns` (borrowed; NULL for all),
 * and with `recurse` the subgraphs of those too as "node|subnode". Returns a new reference, or
 * NULL when out of memory. */
json_t *graph_subgraphs(const graph_t *g, const char *ns, int recurse);

/* Writes the id of the system assistant of `graph_id` (borrowed) into `out`: the UUIDv5 of the
 * graph id in namespace 6ba7b821-9dad-11d1-80b4-00c04fd430c8, as the official servers derive
 * it (langgraphjs libs/langgraph-api/src/graph/load.mts NAMESPACE_GRAPH). Lower case. */
void graph_system_assistant_id(const char *graph_id, char out[GRAPH_ASSISTANT_ID_SIZE]);

#endif
