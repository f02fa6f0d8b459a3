/*
 * runtime/graph/registry.c — the graph registry: checks graph specs, parses their JSON once,
 * finds graphs by id, and builds the JSON of the assistant graph endpoints (see graph.h).
 *
 * Registered graphs live in a fixed table for the life of the process, so the pointers handed
 * out stay valid without reference counting. The JSON builders return deep copies: callers may
 * change or free what they get, and no jansson value is shared between threads.
 */
#include "graph/graph.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/uuid.h"

#define GRAPH_MAX 32

/* The dialect the JS server's drawable graph names in the data of its schema nodes (zod 4's
 * JSON Schema of `any`). */
#define DRAW_SCHEMA_DIALECT "https://json-schema.org/draft/2020-12/schema"

_Static_assert(GRAPH_ASSISTANT_ID_SIZE == UUID_STR_SIZE, "assistant ids are canonical UUIDs");

/* NAMESPACE_GRAPH of the official servers (langgraphjs libs/langgraph-api/src/graph/load.mts,
 * langgraph_api/graph.py): 6ba7b821-9dad-11d1-80b4-00c04fd430c8. */
static const uuid_bytes_t assistant_ns = {{0x6b, 0xa7, 0xb8, 0x21, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4,
                                           0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}};

static graph_t graphs[GRAPH_MAX];
static size_t n_graphs;
static pthread_mutex_t register_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = -1;

/* Writes a printf-style message into err (`errlen` bytes) unless err is NULL. */
static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_reserved(const char *name)
{
    return strcmp(name, GRAPH_START) == 0 || strcmp(name, GRAPH_END) == 0;
}

static int spec_has_node(const graph_spec_t *spec, const char *name)
{
    size_t i;

    for (i = 0; i < spec->node_count; i++)
        if (strcmp(spec->nodes[i].name, name) == 0)
            return 1;
    return 0;
}

/* Parses `text` (borrowed) as a JSON object into *out (new reference). Returns 0, or -1 with
 * the reason in err. */
static int parse_object(const char *text, const char *what, json_t **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v;

    *out = NULL;
    if (text == NULL) {
        set_err(err, errlen, "%s: missing", what);
        return -1;
    }
    v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (v == NULL) {
        set_err(err, errlen, "%s: invalid JSON at line %d column %d: %s", what, jerr.line,
                jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_object(v)) {
        json_decref(v);
        set_err(err, errlen, "%s: not a JSON object", what);
        return -1;
    }
    *out = v;
    return 0;
}

/* Parses one schema and checks its top-level shape. */
static int parse_schema(const char *text, const char *what, json_t **out, char *err, size_t errlen)
{
    if (parse_object(text, what, out, err, errlen) != 0)
        return -1;
    if (!json_is_string(json_object_get(*out, "type")) ||
        strcmp(json_string_value(json_object_get(*out, "type")), "object") != 0 ||
        !json_is_object(json_object_get(*out, "properties"))) {
        json_decref(*out);
        *out = NULL;
        set_err(err, errlen, "%s: needs \"type\": \"object\" and a \"properties\" object", what);
        return -1;
    }
    return 0;
}

/* Parses the five schemas of g->spec into g. Returns 0, or -1 with the reason in err (what was
 * parsed stays in g for the caller to clear). */
static int parse_schemas(graph_t *g, char *err, size_t errlen)
{
    const graph_spec_t *spec = g->spec;
    const struct {
        const char *name;
        const char *text;
        json_t **out;
    } schemas[] = {
        {"input_schema", spec->input_schema, &g->input_schema},
        {"output_schema", spec->output_schema, &g->output_schema},
        {"state_schema", spec->state_schema, &g->state_schema},
        {"config_schema", spec->config_schema, &g->config_schema},
        {"context_schema", spec->context_schema, &g->context_schema},
    };
    char what[128];
    size_t i;

    for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
        snprintf(what, sizeof(what), "graph %s: %s", spec->graph_id, schemas[i].name);
        if (parse_schema(schemas[i].text, what, schemas[i].out, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* Checks the names and wiring of `spec`. Returns 0, or -1 with the reason in err. */
static int check_structure(const graph_spec_t *spec, char *err, size_t errlen)
{
    size_t i, j;
    int start_used = 0;

    if (spec->graph_id == NULL || spec->graph_id[0] == '\0') {
        set_err(err, errlen, "graph id is empty");
        return -1;
    }
    if (graph_find(spec->graph_id) != NULL) {
        set_err(err, errlen, "graph %s: already registered", spec->graph_id);
        return -1;
    }
    if (spec->node_count == 0) {
        set_err(err, errlen, "graph %s: has no nodes", spec->graph_id);
        return -1;
    }
    for (i = 0; i < spec->node_count; i++) {
        const char *name = spec->nodes[i].name;
        if (name == NULL || name[0] == '\0' || is_reserved(name)) {
            set_err(err, errlen, "graph %s: node %zu has an empty or reserved name", spec->graph_id,
                    i);
            return -1;
        }
        for (j = 0; j < i; j++)
            if (strcmp(spec->nodes[j].name, name) == 0) {
                set_err(err, errlen, "graph %s: duplicate node %s", spec->graph_id, name);
                return -1;
            }
    }
    for (i = 0; i < spec->edge_count; i++) {
        const graph_edge_t *e = &spec->edges[i];
        if (e->source == NULL || e->target == NULL ||
            (strcmp(e->source, GRAPH_START) != 0 && !spec_has_node(spec, e->source)) ||
            (strcmp(e->target, GRAPH_END) != 0 && !spec_has_node(spec, e->target))) {
            set_err(err, errlen, "graph %s: edge %zu (%s -> %s) joins an unknown node",
                    spec->graph_id, i, e->source ? e->source : "(null)",
                    e->target ? e->target : "(null)");
            return -1;
        }
        if (strcmp(e->source, GRAPH_START) == 0)
            start_used = 1;
    }
    if (!start_used) {
        set_err(err, errlen, "graph %s: no edge leaves %s", spec->graph_id, GRAPH_START);
        return -1;
    }
    for (i = 0; i < spec->channel_count; i++) {
        const graph_channel_t *c = &spec->channels[i];
        if (c->name == NULL || c->name[0] == '\0' || c->reducer < GRAPH_REDUCER_REPLACE ||
            c->reducer > GRAPH_REDUCER_ADD_MESSAGES) {
            set_err(err, errlen, "graph %s: channel %zu has no name or an unknown reducer",
                    spec->graph_id, i);
            return -1;
        }
        for (j = 0; j < i; j++)
            if (strcmp(spec->channels[j].name, c->name) == 0) {
                set_err(err, errlen, "graph %s: duplicate channel %s", spec->graph_id, c->name);
                return -1;
            }
    }
    return 0;
}

static void graph_clear(graph_t *g)
{
    json_decref(g->input_schema);
    json_decref(g->output_schema);
    json_decref(g->state_schema);
    json_decref(g->config_schema);
    json_decref(g->context_schema);
    json_decref(g->node_metadata);
    memset(g, 0, sizeof(*g));
}

int graph_register(const graph_spec_t *spec, char *err, size_t errlen)
{
    graph_t g;
    char what[128];
    size_t i;
    int rc = -1;

    memset(&g, 0, sizeof(g));
    pthread_mutex_lock(&register_lock);
    if (spec == NULL) {
        set_err(err, errlen, "no spec");
        goto Exit;
    }
    if (check_structure(spec, err, errlen) != 0)
        goto Exit;
    for (i = 0; i < spec->node_count; i++)
        if (spec->nodes[i].subgraph != NULL && graph_find(spec->nodes[i].subgraph) == NULL) {
            set_err(err, errlen, "graph %s: node %s runs %s, which is not registered (register subgraphs first)",
                    spec->graph_id, spec->nodes[i].name, spec->nodes[i].subgraph);
            goto Exit;
        }
    if (n_graphs == GRAPH_MAX) {
        set_err(err, errlen, "graph %s: registry full (%d graphs)", spec->graph_id, GRAPH_MAX);
        goto Exit;
    }
    g.spec = spec;
    if (parse_schemas(&g, err, errlen) != 0)
        goto Exit;
    if ((g.node_metadata = json_object()) == NULL) {
        set_err(err, errlen, "out of memory");
        goto Exit;
    }
    for (i = 0; i < spec->node_count; i++) {
        json_t *meta;
        if (spec->nodes[i].metadata == NULL)
            continue;
        snprintf(what, sizeof(what), "graph %s: metadata of node %s", spec->graph_id,
                 spec->nodes[i].name);
        if (parse_object(spec->nodes[i].metadata, what, &meta, err, errlen) != 0)
            goto Exit;
        if (json_object_set_new(g.node_metadata, spec->nodes[i].name, meta) != 0) {
            set_err(err, errlen, "out of memory");
            goto Exit;
        }
    }
    graphs[n_graphs++] = g;
    memset(&g, 0, sizeof(g));
    rc = 0;
Exit:
    graph_clear(&g);
    pthread_mutex_unlock(&register_lock);
    return rc;
}

static void registry_init_once(void)
{
    const char *tests = getenv("LGSERVE_TEST_GRAPHS");
    size_t i;

    init_rc = graph_register(&graph_agent_spec, NULL, 0);
    for (i = 0; init_rc == 0 && tests != NULL && strcmp(tests, "1") == 0 && graph_test_specs[i] != NULL; i++)
        init_rc = graph_register(graph_test_specs[i], NULL, 0);
}

int graph_registry_init(void)
{
    pthread_once(&init_once, registry_init_once);
    return init_rc;
}

const graph_t *graph_find(const char *graph_id)
{
    size_t i;

    if (graph_id == NULL)
        return NULL;
    for (i = 0; i < n_graphs; i++)
        if (strcmp(graphs[i].spec->graph_id, graph_id) == 0)
            return &graphs[i];
    return NULL;
}

size_t graph_count(void)
{
    return n_graphs;
}

const graph_t *graph_at(size_t i)
{
    return i < n_graphs ? &graphs[i] : NULL;
}

const graph_t *graph_for_namespace(const graph_t *g, const char *ns)
{
    char name[256];
    size_t len;
    size_t i;

    while (g != NULL && ns != NULL && *ns != '\0') {
        len = strcspn(ns, ":|");
        if (len >= sizeof(name))
            return NULL;
        memcpy(name, ns, len);
        name[len] = '\0';
        for (i = 0; i < g->spec->node_count && strcmp(g->spec->nodes[i].name, name) != 0; i++)
            ;
        g = i < g->spec->node_count ? graph_find(g->spec->nodes[i].subgraph) : NULL;
        ns += strcspn(ns, "|");
        ns += *ns == '|';
    }
    return g;
}

const graph_node_t *graph_node_find(const graph_t *g, const char *node)
{
    size_t i;

    if (node == NULL)
        return NULL;
    for (i = 0; i < g->spec->node_count; i++)
        if (strcmp(g->spec->nodes[i].name, node) == 0)
            return &g->spec->nodes[i];
    return NULL;
}

/* A virtual node as the JS server draws it: a schema node whose data is the JSON Schema of
 * `any`, titled with the node id. Returns a new reference or NULL. */
static json_t *draw_schema_node(const char *id)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", id, "type", "schema", "data", "$schema",
                     DRAW_SCHEMA_DIALECT, "title", id);
}

/* A graph node: a runnable whose data names it ({"id": ["lgserve", graph, node], "name"}),
 * plus a copy of its metadata when it has some. Returns a new reference or NULL. */
static json_t *draw_runnable_node(const graph_t *g, const graph_node_t *node)
{
    json_t *out, *meta;

    out = json_pack("{s:s, s:s, s:{s:[s, s, s], s:s}}", "id", node->name, "type", "runnable",
                    "data", "id", "lgserve", g->spec->graph_id, node->name, "name", node->name);
    meta = json_object_get(g->node_metadata, node->name);
    if (out != NULL && meta != NULL &&
        json_object_set_new(out, "metadata", json_deep_copy(meta)) != 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

static json_t *draw_edge(const graph_edge_t *e)
{
    json_t *out;

    out = json_pack("{s:s, s:s, s:b}", "source", e->source, "target", e->target, "conditional",
                    e->conditional != 0);
    if (out != NULL && e->label != NULL && strcmp(e->label, e->target) != 0 &&
        json_object_set_new(out, "data", json_string(e->label)) != 0) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

/* The one node id `key` ("source" or "target") names among the edges of `edges` whose other
 * end (`other`) is `virt` (GRAPH_START / GRAPH_END); NULL when there is not exactly one.
 * Borrowed from `edges`. */
static const char *sole_end(const json_t *edges, const char *other, const char *virt, const char *key)
{
    const char *found = NULL, *id;
    const json_t *e;
    size_t i;

    json_array_foreach(edges, i, e) {
        if (strcmp(json_string_value(json_object_get(e, other)) ?: "", virt) != 0)
            continue;
        id = json_string_value(json_object_get(e, key));
        if (id == NULL || (found != NULL && strcmp(found, id) != 0))
            return NULL;
        found = id;
    }
    return found;
}

/* Sets string member `key` of `o` to "<prefix>:<value>". */
static void prefix_member(json_t *o, const char *key, const char *prefix)
{
    char id[512];

    snprintf(id, sizeof(id), "%s:%s", prefix, json_string_value(json_object_get(o, key)) ?: "");
    json_object_set_new(o, key, json_string(id));
}

/*
 * xray: replaces node `name` of the drawing (`nodes`, `edges`) by the drawing `sub` of its
 * subgraph as LangGraph does: the subgraph's __start__ and __end__ dropped, its node ids and
 * edges prefixed "name:", the parent's edges into `name` led to the subgraph's first node and
 * those out of it from its last one. Left as it is when the subgraph has no single first and
 * last node.
 */
static void draw_expand(json_t *nodes, json_t *edges, const char *name, json_t *sub)
{
    json_t *snodes = json_object_get(sub, "nodes"), *sedges = json_object_get(sub, "edges"), *e, *n;
    char first[512], last[512];
    const char *f = sole_end(sedges, "source", GRAPH_START, "target");
    const char *l = sole_end(sedges, "target", GRAPH_END, "source");
    size_t i;

    if (f == NULL || l == NULL || json_array_size(snodes) < 3)
        return;
    snprintf(first, sizeof(first), "%s:%s", name, f);
    snprintf(last, sizeof(last), "%s:%s", name, l);
    for (i = json_array_size(nodes); i-- > 0;)
        if (strcmp(json_string_value(json_object_get(json_array_get(nodes, i), "id")) ?: "", name) == 0)
            json_array_remove(nodes, i);
    json_array_foreach(snodes, i, n) {
        const char *id = json_string_value(json_object_get(n, "id")) ?: "";
        if (strcmp(id, GRAPH_START) == 0 || strcmp(id, GRAPH_END) == 0)
            continue;
        prefix_member(n, "id", name);
        json_array_append(nodes, n);
    }
    json_array_foreach(edges, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "source")) ?: "", name) == 0)
            json_object_set_new(e, "source", json_string(last));
        if (strcmp(json_string_value(json_object_get(e, "target")) ?: "", name) == 0)
            json_object_set_new(e, "target", json_string(first));
    }
    json_array_foreach(sedges, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "source")) ?: "", GRAPH_START) == 0 ||
            strcmp(json_string_value(json_object_get(e, "target")) ?: "", GRAPH_END) == 0)
            continue;
        prefix_member(e, "source", name);
        prefix_member(e, "target", name);
        json_array_append(edges, e);
    }
}

json_t *graph_draw(const graph_t *g, int xray)
{
    const graph_spec_t *spec = g->spec;
    json_t *out, *nodes, *edges, *result = NULL;
    int reaches_end = 0;
    size_t i;

    if ((out = json_pack("{s:[], s:[]}", "nodes", "edges")) == NULL)
        goto Exit;
    nodes = json_object_get(out, "nodes");
    edges = json_object_get(out, "edges");
    if (json_array_append_new(nodes, draw_schema_node(GRAPH_START)) != 0)
        goto Exit;
    for (i = 0; i < spec->node_count; i++)
        if (json_array_append_new(nodes, draw_runnable_node(g, &spec->nodes[i])) != 0)
            goto Exit;
    for (i = 0; i < spec->edge_count; i++) {
        if (strcmp(spec->edges[i].target, GRAPH_END) == 0)
            reaches_end = 1;
        if (json_array_append_new(edges, draw_edge(&spec->edges[i])) != 0)
            goto Exit;
    }
    if (reaches_end && json_array_append_new(nodes, draw_schema_node(GRAPH_END)) != 0)
        goto Exit;
    for (i = 0; xray != 0 && i < spec->node_count; i++) {
        const graph_t *sg = graph_find(spec->nodes[i].subgraph);
        json_t *sub;
        if (sg == NULL || (sub = graph_draw(sg, xray > 0 ? xray - 1 : xray)) == NULL)
            continue;
        draw_expand(nodes, edges, spec->nodes[i].name, sub);
        json_decref(sub);
    }
    result = out;
    out = NULL;
Exit:
    json_decref(out);
    return result;
}

json_t *graph_schemas(const graph_t *g)
{
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "graph_id", g->spec->graph_id,
                     "input_schema", json_deep_copy(g->input_schema), "output_schema",
                     json_deep_copy(g->output_schema), "state_schema",
                     json_deep_copy(g->state_schema), "config_schema",
                     json_deep_copy(g->config_schema), "context_schema",
                     json_deep_copy(g->context_schema));
}

/* Adds the subgraphs of `g` to `out` under `prefix` ("" at the top), deeper ones too when
 * `recurse`. */
static void subgraphs_add(const graph_t *g, const char *prefix, const char *ns, int recurse, json_t *out)
{
    char key[256];
    size_t i;

    for (i = 0; i < g->spec->node_count; i++) {
        const graph_t *sg = graph_find(g->spec->nodes[i].subgraph);
        json_t *schemas;

        if (sg == NULL)
            continue;
        snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] != '\0' ? "|" : "", g->spec->nodes[i].name);
        if (ns == NULL || strcmp(ns, key) == 0) {
            schemas = graph_schemas(sg);
            json_object_del(schemas, "graph_id");
            json_object_set_new(out, key, schemas);
        }
        if (recurse)
            subgraphs_add(sg, key, ns, recurse, out);
    }
}

json_t *graph_subgraphs(const graph_t *g, const char *ns, int recurse)
{
    json_t *out = json_object();

    if (out != NULL && g != NULL)
        subgraphs_add(g, "", ns, recurse, out);
    return out;
}

void graph_system_assistant_id(const char *graph_id, char out[GRAPH_ASSISTANT_ID_SIZE])
{
    uuid_bytes_t u;

    uuid_v5(&u, &assistant_ns, graph_id, strlen(graph_id));
    uuid_format(&u, out);
}
