/*
 * runtime/graph/engine.c — the Pregel-style loop of graph.h graphs: tasks per super-step,
 * writes merged through reducers, a checkpoint per step, interrupts, Command, the recursion
 * limit, cancellation and every stream mode; plus update_state, which shares the scheduling.
 * engine.h describes the semantics and the stored checkpoint format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "graph/engine.h"
#include "util/jsoncopy.h"
#include "util/jsonr.h"
#include "util/time.h"

#define DEFAULT_RECURSION_LIMIT 25
#define INTERRUPT_KEY "__interrupt__"
#define COPY_NODE "__copy__"

/* One task of the current step. */
typedef struct task {
    char id[UUID_STR_SIZE];
    char *name;               /* node name or GRAPH_START (malloc'd) */
    const graph_node_t *node; /* NULL for GRAPH_START */
    json_t *arg;              /* Send argument / the __start__ input, or NULL */
    int push;                 /* started by a Send */
    size_t push_index;
    int done;                 /* result holds its writes */
    json_t *result;           /* object or json null */
    json_t *interrupts;       /* array of {value, id} raised by this run of the task */
    json_t *resume;           /* array of resume values given so far */
    char *error;              /* malloc'd, or NULL */
} task_t;

/* One run of graph_invoke or one update_state. */
typedef struct run {
    const graph_t *g;
    const graph_invoke_opts_t *o;
    const store_ops_t *ops;
    store_t *store;
    const char *thread_id;
    json_t *config;       /* owned copy; object */
    json_t *base_meta;    /* run metadata shared by checkpoints and events */
    json_t *state;        /* current values: the object changes, a channel's value never does
                             (reducers return new values), so copies of it may be shallow */
    json_t *cp;           /* the checkpoint the current tasks belong to, or NULL; read only
                             (the store may hold it: checkpoint_put, checkpoint_get_shared),
                             replaced, never changed */
    int step;             /* step of cp (-2 before the first checkpoint) */
    task_t *tasks;
    size_t ntasks;
    int recursion_limit;
    int dry;              /* update_state's validation pass: checkpoints are made, not stored */
    int at_exit;          /* opts.checkpoint_at_exit: checkpoints kept in memory, the last one
                             stored when the run ends */
    int unsaved;          /* at_exit: cp differs from what the store holds */
    int have_saved;       /* at_exit: saved_parent and exit_results are set */
    json_t *saved_parent; /* at_exit: id of the stored checkpoint the run started from, or null */
    json_t *exit_results; /* at_exit: the results of that checkpoint's tasks */
    graph_result_t *out;
} run_t;

struct graph_node_ctx {
    run_t *run;
    task_t *task;
    int step;
    json_t *metadata;     /* task event metadata (owned) */
    json_t *streamed;     /* object used as a set of streamed message ids */
    char *last_streamed;  /* the id marked last (malloc'd), or NULL */
    json_t *gotos;        /* array of {node, arg?} */
    size_t interrupt_index;
    json_t *msg_extra;    /* the `extra` msg_meta was built with (a reference), or NULL */
    json_t *msg_meta;     /* metadata + msg_extra of messages events (owned), or NULL */
    /* the chat model call between graph_node_model_start and _end (events mode) */
    char model_run_id[UUID_STR_SIZE]; /* "" when none */
    char *model_name;     /* malloc'd */
    json_t *model_input;  /* {messages: [[...]]} */
    json_t *model_meta;   /* task metadata + the call's extra */
};

/* ------------------------------------------------------------------------------------------ */
/* small helpers                                                                               */
/* ------------------------------------------------------------------------------------------ */

static json_t *now_json(void)
{
    return store_json_time(time_now_us());
}

static int is_start(const char *name)
{
    return strcmp(name, GRAPH_START) == 0;
}

static const graph_channel_t *channel_find(const graph_t *g, const char *name)
{
    size_t i;

    for (i = 0; i < g->spec->channel_count; i++) {
        if (strcmp(g->spec->channels[i].name, name) == 0)
            return &g->spec->channels[i];
    }
    return NULL;
}

/* Index of node `name` in the spec, or the node count for anything else (GRAPH_START sorts
 * first through the caller). */
static size_t node_index(const graph_t *g, const char *name)
{
    size_t i;

    for (i = 0; i < g->spec->node_count; i++) {
        if (strcmp(g->spec->nodes[i].name, name) == 0)
            return i;
    }
    return g->spec->node_count;
}

/* Records the run's end as an error (first error wins). `name` static, message printf. */
static void run_fail(run_t *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void run_fail(run_t *r, const char *name, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    if (r->out->error != NULL)
        return;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    r->out->status = GRAPH_STATUS_ERROR;
    r->out->error = msg != NULL ? msg : strdup("out of memory");
    r->out->error_name = strdup(name);
}

static void store_failed(run_t *r, store_rc_t rc, const char *what)
{
    run_fail(r, "StoreError", "%s: %s (%s)", what, store_rc_name(rc), store_last_error());
}

static int wants(const run_t *r, unsigned bit)
{
    return r->o != NULL && r->o->on_event != NULL && (r->o->stream_modes & bit) != 0;
}

/* Streams `data` (steals it) in mode `mode` when that mode was asked for. */
static void emit(run_t *r, unsigned bit, const char *mode, json_t *data)
{
    if (data != NULL && wants(r, bit))
        r->o->on_event(r->o->user, mode, r->o->ns, data);
    json_decref(data);
}

/* The checkpoint namespace the run writes in: "" at the root, "node:task_id..." in a
 * subgraph. */
static const char *run_ns(const run_t *r)
{
    return r->o != NULL && r->o->checkpoint_ns != NULL ? r->o->checkpoint_ns : "";
}

static int cancelled(const run_t *r)
{
    return r->o != NULL && r->o->cancel != NULL && atomic_load(r->o->cancel) != 0;
}

/* The interrupt id of the `index`-th interrupt of task `task_id`: 32 hex digits. */
static void interrupt_id(const char *task_id, size_t index, char out[33])
{
    char name[UUID_STR_SIZE + 24], text[UUID_STR_SIZE];
    uuid_bytes_t u;
    size_t i, j;

    snprintf(name, sizeof(name), "%s:interrupt:%zu", task_id, index);
    uuid_v5(&u, &uuid_ns_url, name, strlen(name));
    uuid_format(&u, text);
    for (i = 0, j = 0; text[i] != '\0'; i++) {
        if (text[i] != '-')
            out[j++] = text[i];
    }
    out[j] = '\0';
}

static void task_clear(task_t *t)
{
    free(t->name);
    json_decref(t->arg);
    json_decref(t->result);
    json_decref(t->interrupts);
    json_decref(t->resume);
    free(t->error);
    memset(t, 0, sizeof(*t));
}

static void tasks_free(run_t *r)
{
    size_t i;

    for (i = 0; i < r->ntasks; i++)
        task_clear(&r->tasks[i]);
    free(r->tasks);
    r->tasks = NULL;
    r->ntasks = 0;
}

/* The stored form of task `t` (new reference). */
static json_t *task_json(const task_t *t)
{
    json_t *o = json_object();

    json_object_set_new(o, "id", json_string(t->id));
    json_object_set_new(o, "name", json_string(t->name));
    json_object_set_new(o, "path", t->push ? json_pack("[s, I]", "__pregel_push",
                                                       (json_int_t)t->push_index)
                                           : json_pack("[s, s]", "__pregel_pull", t->name));
    json_object_set_new(o, "error", t->error ? json_string(t->error) : json_null());
    json_object_set_new(o, "interrupts", t->interrupts ? jsoncopy_containers(t->interrupts)
                                                       : json_array());
    if (t->arg != NULL)
        json_object_set_new(o, "arg", jsoncopy_containers(t->arg));
    if (t->done)
        json_object_set_new(o, "result", jsoncopy_containers(t->result));
    if (t->resume != NULL && json_array_size(t->resume) > 0)
        json_object_set_new(o, "resume", jsoncopy_containers(t->resume));
    return o;
}

static json_t *task_triggers(const task_t *t)
{
    char buf[512];

    if (is_start(t->name))
        return json_pack("[s]", GRAPH_START);
    if (t->push)
        return json_pack("[s]", "__pregel_push");
    snprintf(buf, sizeof(buf), "branch:to:%s", t->name);
    return json_pack("[s]", buf);
}

/* ------------------------------------------------------------------------------------------ */
/* writes                                                                                      */
/* ------------------------------------------------------------------------------------------ */

/*
 * Checks and normalises the writes `upd` (borrowed) of `who`: an object whose keys are
 * channels (unknown keys are dropped when `lenient`, an error otherwise); messages of
 * add_messages channels are coerced and given ids. Returns a new reference (json null for
 * NULL/null writes), or NULL with a reason in err.
 */
static json_t *normalize_writes(const graph_t *g, const char *who, const json_t *upd, int lenient,
                                char *err, size_t errlen)
{
    json_t *out, *v;
    const char *key;

    if (upd == NULL || json_is_null(upd))
        return json_null();
    if (!json_is_object(upd)) {
        snprintf(err, errlen, "%s: expected an object of channel writes, got a %s", who,
                 json_is_array(upd) ? "list" : "scalar");
        return NULL;
    }
    out = json_object();
    json_object_foreach((json_t *)upd, key, v) {
        const graph_channel_t *ch = channel_find(g, key);
        if (ch == NULL) {
            if (lenient)
                continue;
            snprintf(err, errlen, "%s: '%s' is not a state channel of graph %s", who, key,
                     g->spec->graph_id);
            json_decref(out);
            return NULL;
        }
        if (ch->reducer == GRAPH_REDUCER_ADD_MESSAGES) {
            char why[256];
            json_t *msgs = graph_messages_normalize(v, why, sizeof(why));
            if (msgs == NULL) {
                snprintf(err, errlen, "%s: %s: %s", who, key, why);
                json_decref(out);
                return NULL;
            }
            json_object_set_new(out, key, msgs);
        } else {
            json_object_set_new(out, key, jsoncopy_containers(v));
        }
    }
    return out;
}

/* Merges normalised writes `w` (borrowed; object or null) into `state` through the reducers.
 * Returns 0, or -1 with a reason in err (state may then be partly updated). */
static int apply_writes(const graph_t *g, json_t *state, const json_t *w, char *err, size_t errlen)
{
    const char *key;
    json_t *v;

    if (!json_is_object(w))
        return 0;
    json_object_foreach((json_t *)w, key, v) {
        const graph_channel_t *ch = channel_find(g, key);
        char why[256];
        json_t *nv;

        if (ch == NULL)
            continue;
        nv = graph_reduce(ch->reducer, json_object_get(state, key), v, why, sizeof(why));
        if (nv == NULL) {
            snprintf(err, errlen, "channel '%s': %s", key, why);
            return -1;
        }
        json_object_set_new(state, key, nv);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* scheduling                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Adds a pull of `node` to `plan` (array of {node, arg?}) unless it is there already. */
static void plan_pull(json_t *plan, const char *node)
{
    const json_t *e;
    size_t i;

    if (strcmp(node, GRAPH_END) == 0)
        return;
    json_array_foreach(plan, i, e) {
        if (json_object_get(e, "arg") == NULL &&
            strcmp(json_string_value(json_object_get(e, "node")), node) == 0)
            return;
    }
    json_array_append_new(plan, json_pack("{s:s}", "node", node));
}

/*
 * Appends to `plan` what follows node `name` (GRAPH_START or a node of g) once `state`
 * (borrowed) holds the step's writes: its plain edges' targets and its router's choice.
 * Returns 0, or -1 with a reason in err.
 */
static int plan_after(const graph_t *g, const char *name, const json_t *state, json_t *plan,
                      char *err, size_t errlen)
{
    const graph_spec_t *sp = g->spec;
    int conditional = 0;
    size_t i;

    for (i = 0; i < sp->edge_count; i++) {
        const graph_edge_t *e = &sp->edges[i];
        if (strcmp(e->source, name) != 0)
            continue;
        if (e->conditional)
            conditional = 1;
        else
            plan_pull(plan, e->target);
    }
    if (conditional) {
        const graph_node_t *n = graph_node_find(g, name);
        const char *next = NULL;

        if (n == NULL || n->route == NULL) {
            snprintf(err, errlen, "node '%s' has conditional edges but no router", name);
            return -1;
        }
        if (n->route(state, &next) != 0 || next == NULL) {
            snprintf(err, errlen, "the router of node '%s' failed", name);
            return -1;
        }
        if (strcmp(next, GRAPH_END) != 0 && graph_node_find(g, next) == NULL) {
            snprintf(err, errlen, "the router of node '%s' chose unknown node '%s'", name, next);
            return -1;
        }
        plan_pull(plan, next);
    }
    return 0;
}

/*
 * Parses a Command goto (borrowed: a node name, a Send {node, arg}, or a list of those) into
 * `plan`. Returns 0, or -1 with a reason in err.
 */
static int plan_goto(const graph_t *g, const json_t *go, json_t *plan, char *err, size_t errlen)
{
    const json_t *e;
    size_t i;

    if (json_is_array(go)) {
        json_array_foreach(go, i, e) {
            if (plan_goto(g, e, plan, err, errlen) != 0)
                return -1;
        }
        return 0;
    }
    if (json_is_string(go)) {
        const char *n = json_string_value(go);
        if (strcmp(n, GRAPH_END) != 0 && graph_node_find(g, n) == NULL) {
            snprintf(err, errlen, "command.goto: unknown node '%s'", n);
            return -1;
        }
        plan_pull(plan, n);
        return 0;
    }
    if (json_is_object(go)) {
        const char *n = json_string_value(json_object_get(go, "node"));
        if (n == NULL || graph_node_find(g, n) == NULL) {
            snprintf(err, errlen, "command.goto: a Send needs \"node\" naming a node of the graph");
            return -1;
        }
        json_array_append_new(plan, json_pack("{s:s, s:O}", "node", n, "arg",
                                              json_object_get(go, "arg") ? json_object_get(go, "arg")
                                                                         : json_null()));
        return 0;
    }
    snprintf(err, errlen, "command.goto: expected a node name, a Send or a list of them");
    return -1;
}

/* Orders `plan` in place: GRAPH_START, then pulls in node spec order, then Sends as made. */
static void plan_sort(const graph_t *g, json_t *plan)
{
    size_t n = json_array_size(plan), i, j;

    for (i = 1; i < n; i++) {
        for (j = i; j > 0; j--) {
            json_t *a = json_array_get(plan, j - 1), *b = json_array_get(plan, j);
            int pa = json_object_get(a, "arg") != NULL, pb = json_object_get(b, "arg") != NULL;
            const char *na = json_string_value(json_object_get(a, "node"));
            const char *nb = json_string_value(json_object_get(b, "node"));
            size_t ia = is_start(na) ? 0 : node_index(g, na) + 1;
            size_t ib = is_start(nb) ? 0 : node_index(g, nb) + 1;
            if (pa < pb || (pa == pb && (pa || ia <= ib)))
                break;
            json_incref(a);
            json_array_set(plan, j - 1, b);
            json_array_set_new(plan, j, a);
        }
    }
}

/* Replaces r's tasks with fresh ones for `plan` (borrowed), ids derived from checkpoint id
 * `cp_id`. */
static void tasks_from_plan(run_t *r, const json_t *plan, const char *cp_id)
{
    const json_t *e;
    size_t i, pushes = 0;

    tasks_free(r);
    r->ntasks = json_array_size(plan);
    r->tasks = r->ntasks ? calloc(r->ntasks, sizeof(task_t)) : NULL;
    json_array_foreach(plan, i, e) {
        task_t *t = &r->tasks[i];
        const char *name = json_string_value(json_object_get(e, "node"));
        const json_t *arg = json_object_get(e, "arg");
        char key[512];
        uuid_bytes_t u;

        t->name = strdup(name);
        t->node = graph_node_find(r->g, name);
        if (arg != NULL) {
            t->arg = jsoncopy_containers(arg);
            if (!is_start(name)) {
                t->push = 1;
                t->push_index = pushes++;
            }
        }
        snprintf(key, sizeof(key), "%s:%s:%zu", cp_id, name, i);
        uuid_v5(&u, &uuid_ns_url, key, strlen(key));
        uuid_format(&u, t->id);
        t->interrupts = json_array();
        t->resume = json_array();
        t->result = json_null();
    }
}

/* Loads the pending tasks of checkpoint `cp` (borrowed) into r. Returns 0, or -1 (run failed)
 * when it names a node the graph does not have. */
static int tasks_from_checkpoint(run_t *r, const json_t *cp)
{
    const json_t *list = json_object_get(cp, "tasks"), *e;
    size_t i, n = json_array_size(list);

    tasks_free(r);
    r->tasks = n ? calloc(n, sizeof(task_t)) : NULL;
    json_array_foreach(list, i, e) {
        task_t *t = &r->tasks[r->ntasks];
        const char *name = json_string_value(json_object_get(e, "name"));
        const char *id = json_string_value(json_object_get(e, "id"));
        const json_t *path = json_object_get(e, "path"), *v;

        if (name == NULL || id == NULL || strlen(id) >= UUID_STR_SIZE ||
            (!is_start(name) && graph_node_find(r->g, name) == NULL)) {
            run_fail(r, "InvalidCheckpoint", "checkpoint %s has a task of unknown node '%s'",
                     json_string_value(json_object_get(cp, "checkpoint_id")),
                     name ? name : "(none)");
            return -1;
        }
        r->ntasks++;
        t->name = strdup(name);
        t->node = graph_node_find(r->g, name);
        snprintf(t->id, sizeof(t->id), "%s", id);
        if ((v = json_object_get(e, "arg")) != NULL)
            t->arg = jsoncopy_containers(v);
        t->push = strcmp(json_string_value(json_array_get(path, 0)) ?: "", "__pregel_push") == 0;
        t->push_index = (size_t)json_integer_value(json_array_get(path, 1));
        if ((v = json_object_get(e, "result")) != NULL) {
            t->done = 1;
            t->result = jsoncopy_containers(v);
        } else {
            t->result = json_null();
        }
        v = json_object_get(e, "interrupts");
        t->interrupts = json_is_array(v) ? jsoncopy_containers(v) : json_array();
        v = json_object_get(e, "resume");
        t->resume = json_is_array(v) ? jsoncopy_containers(v) : json_array();
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* checkpoints                                                                                 */
/* ------------------------------------------------------------------------------------------ */

static json_t *tasks_json(const run_t *r)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < r->ntasks; i++)
        json_array_append_new(a, task_json(&r->tasks[i]));
    return a;
}

static json_t *next_json(const run_t *r)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; i < r->ntasks; i++)
        json_array_append_new(a, json_string(r->tasks[i].name));
    return a;
}

/* {configurable: {thread_id, checkpoint_ns, checkpoint_id}} of a state's checkpoint object
 * (borrowed), or json null for null. New reference. */
static json_t *runnable_config(const json_t *checkpoint)
{
    if (!json_is_object(checkpoint))
        return json_null();
    return json_pack("{s:{s:O, s:O, s:O}}", "configurable", "thread_id",
                     json_object_get(checkpoint, "thread_id"), "checkpoint_ns",
                     json_object_get(checkpoint, "checkpoint_ns"), "checkpoint_id",
                     json_object_get(checkpoint, "checkpoint_id"));
}

/* Streams the checkpoint just written in modes checkpoints and debug: its ThreadState plus
 * config/parent_config, as the official server sends it. */
static void emit_checkpoint(run_t *r)
{
    json_t *st;

    if (!wants(r, GRAPH_STREAM_CHECKPOINTS) && !wants(r, GRAPH_STREAM_DEBUG))
        return;
    st = graph_state_from_checkpoint(r->cp, NULL);
    json_object_set_new(st, "config", runnable_config(json_object_get(st, "checkpoint")));
    json_object_set_new(st, "parent_config",
                        runnable_config(json_object_get(st, "parent_checkpoint")));
    if (wants(r, GRAPH_STREAM_DEBUG))
        emit(r, GRAPH_STREAM_DEBUG, "debug",
             json_pack("{s:s, s:o, s:i, s:O}", "type", "checkpoint", "timestamp", now_json(),
                       "step", r->step, "payload", st));
    emit(r, GRAPH_STREAM_CHECKPOINTS, "checkpoints", st);
}

/*
 * Writes a new checkpoint for step r->step + 1 whose pending tasks come from `plan`
 * (borrowed), with metadata source `source`, `writes` (steals; object or null) and the parent's
 * task results `parent_results` (steals; object). Returns 0, or -1 (run failed).
 */
static int checkpoint_new(run_t *r, const json_t *plan, const char *source, json_t *writes,
                          json_t *parent_results)
{
    char id[UUID_STR_SIZE];
    json_t *cp = NULL, *meta = NULL;
    store_rc_t rc;
    int ret = -1;

    if (uuid_v7_str(id) != 0) {
        run_fail(r, "StoreError", "the random number generator failed");
        goto Exit;
    }
    tasks_from_plan(r, plan, id);
    if (r->at_exit && !r->have_saved) { /* r->cp is still the stored checkpoint (or none) */
        r->saved_parent = json_incref(r->cp ? json_object_get(r->cp, "checkpoint_id") : json_null());
        r->exit_results = json_incref(parent_results);
        r->have_saved = 1;
    }
    meta = json_copy(r->base_meta); /* its members are never changed in place */
    json_object_set_new_nocheck(meta, "source", json_string(source));
    json_object_set_new_nocheck(meta, "step", json_integer(r->step + 1));
    json_object_set_nocheck(meta, "writes", writes);
    json_object_set_new_nocheck(meta, "parents", json_object());
    cp = json_object();
    json_object_set_new_nocheck(cp, "thread_id", json_string(r->thread_id));
    json_object_set_new_nocheck(cp, "checkpoint_ns", json_string(run_ns(r)));
    json_object_set_new_nocheck(cp, "checkpoint_id", json_stringn_nocheck(id, strlen(id)));
    json_object_set_nocheck(cp, "parent_checkpoint_id",
                            r->at_exit ? r->saved_parent
                            : r->cp    ? json_object_get(r->cp, "checkpoint_id")
                                       : json_null());
    json_object_set_new_nocheck(cp, "run_id",
                                r->o && r->o->run_id ? json_string(r->o->run_id) : json_null());
    json_object_set_new_nocheck(cp, "created_at", now_json());
    json_object_set_new_nocheck(cp, "values", json_copy(r->state));
    json_object_set_new_nocheck(cp, "next", next_json(r));
    json_object_set_new_nocheck(cp, "tasks", tasks_json(r));
    json_object_set_nocheck(cp, "parent_results", r->at_exit ? r->exit_results : parent_results);
    json_object_set_nocheck(cp, "metadata", meta);
    r->unsaved |= r->at_exit;
    if (!r->dry && !r->at_exit && (rc = r->ops->checkpoint_put(r->store, cp, NULL)) != STORE_OK) {
        store_failed(r, rc, "writing a checkpoint");
        goto Exit;
    }
    json_decref(r->cp);
    r->cp = json_incref(cp);
    r->step++;
    snprintf(r->out->checkpoint_id, sizeof(r->out->checkpoint_id), "%s", id);
    emit_checkpoint(r);
    ret = 0;
Exit:
    json_decref(cp);
    json_decref(meta);
    json_decref(writes);
    json_decref(parent_results);
    return ret;
}

/* Re-writes r->cp with the tasks' current results, interrupts and errors (same id), so a later
 * run resumes exactly the unfinished tasks and the state shows why the step stopped. */
static int checkpoint_record_tasks(run_t *r)
{
    json_t *cp = json_copy(r->cp);
    store_rc_t rc;

    json_object_set_new(cp, "tasks", tasks_json(r));
    json_decref(r->cp);
    r->cp = cp;
    if (r->at_exit) {
        r->unsaved = 1;
        return 0;
    }
    if ((rc = r->ops->checkpoint_put(r->store, r->cp, NULL)) != STORE_OK) {
        store_failed(r, rc, "recording the step's tasks");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* metadata                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* 1 when configurable key `k` may be copied into metadata: not private ("__"), not a secret. */
static int config_key_public(const char *k)
{
    static const char *const secret[] = {"key", "token", "secret", "password", "authorization"};
    size_t i;

    if (strncmp(k, "__", 2) == 0)
        return 0;
    for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
        if (strcasestr(k, secret[i]) != NULL)
            return 0;
    }
    return 1;
}

/* The metadata every checkpoint and event of the run carries (new reference). */
static json_t *base_metadata(const graph_t *g, const json_t *config, const json_t *run_meta,
                             const char *thread_id, const char *run_id, const char *assistant_id)
{
    json_t *m = json_object(), *v;
    const char *k;

    json_object_foreach(json_object_get(config, "configurable"), k, v) {
        if ((json_is_string(v) || json_is_number(v) || json_is_boolean(v)) && config_key_public(k))
            json_object_set(m, k, v);
    }
    if (json_is_object(run_meta))
        json_object_update(m, (json_t *)run_meta);
    json_object_set_new(m, "graph_id", json_string(g->spec->graph_id));
    if (assistant_id != NULL)
        json_object_set_new(m, "assistant_id", json_string(assistant_id));
    json_object_set_new(m, "thread_id", json_string(thread_id));
    if (run_id != NULL)
        json_object_set_new(m, "run_id", json_string(run_id));
    return m;
}

static json_t *task_metadata(run_t *r, const task_t *t)
{
    json_t *m = jsoncopy_containers(r->base_meta);
    char ns[600];

    if (run_ns(r)[0] != '\0')
        snprintf(ns, sizeof(ns), "%s|%s:%s", run_ns(r), t->name, t->id);
    else
        snprintf(ns, sizeof(ns), "%s:%s", t->name, t->id);
    json_object_set_new(m, "langgraph_step", json_integer(r->step + 1));
    json_object_set_new(m, "langgraph_node", json_string(t->name));
    json_object_set_new(m, "langgraph_triggers", task_triggers(t));
    json_object_set_new(m, "langgraph_path", t->push ? json_pack("[s, I]", "__pregel_push",
                                                                 (json_int_t)t->push_index)
                                                     : json_pack("[s, s]", "__pregel_pull",
                                                                 t->name));
    json_object_set_new(m, "langgraph_checkpoint_ns", json_string(ns));
    json_object_set_new(m, "checkpoint_ns", json_string(ns));
    return m;
}

/* ------------------------------------------------------------------------------------------ */
/* node context                                                                                */
/* ------------------------------------------------------------------------------------------ */

const char *graph_node_name(const graph_node_ctx_t *ctx)
{
    return ctx->task->name;
}

int graph_node_step(const graph_node_ctx_t *ctx)
{
    return ctx->step;
}

const char *graph_node_task_id(const graph_node_ctx_t *ctx)
{
    return ctx->task->id;
}

const json_t *graph_node_config(const graph_node_ctx_t *ctx)
{
    return ctx->run->config;
}

const json_t *graph_node_configurable(const graph_node_ctx_t *ctx)
{
    return json_object_get(ctx->run->config, "configurable");
}

const json_t *graph_node_metadata(const graph_node_ctx_t *ctx)
{
    return ctx->metadata;
}

void *graph_node_user(const graph_node_ctx_t *ctx)
{
    return ctx->run->o->node_user;
}

int graph_node_cancelled(const graph_node_ctx_t *ctx)
{
    return cancelled(ctx->run);
}

atomic_int *graph_node_cancel_flag(const graph_node_ctx_t *ctx)
{
    return ctx->run->o->cancel;
}

static json_t *event_record(const char *event, const char *name, const char *run_id, json_t *tags,
                            const json_t *metadata, json_t *parent_ids, json_t *data)
{
    return json_pack("{s:s, s:s, s:s, s:o, s:O, s:o, s:o}", "event", event, "name", name, "run_id", run_id,
                     "tags", tags, "metadata", metadata, "parent_ids", parent_ids, "data", data);
}

/* The tags of a task's events: ["graph:step:<step>"] (new reference). */
static json_t *step_tags(int step)
{
    char tag[32];

    snprintf(tag, sizeof(tag), "graph:step:%d", step);
    return json_pack("[s]", tag);
}

/* The run id of the graph's own events (the run's id, "" when there is none; a subgraph's is
 * the id of the task that runs it). */
static const char *root_run_id(const run_t *r)
{
    return r->o->event_run_id != NULL ? r->o->event_run_id : r->o->run_id != NULL ? r->o->run_id : "";
}

/* parent_ids of the graph's own events: [] at the root, the chain above a subgraph. New
 * reference. */
static json_t *root_parents(const run_t *r)
{
    return json_is_array(r->o->event_parents) ? jsoncopy_containers(r->o->event_parents) : json_array();
}

/* parent_ids of an event one level (task) or two levels (a task's model call) below the
 * graph: [..., graph run id] or [..., graph run id, task id]. New reference. */
static json_t *parents_of(const graph_node_ctx_t *ctx, int model)
{
    json_t *p = root_parents(ctx->run);

    json_array_append_new(p, json_string(root_run_id(ctx->run)));
    if (model)
        json_array_append_new(p, json_string(ctx->task->id));
    return p;
}

void graph_node_emit_custom(graph_node_ctx_t *ctx, const json_t *data)
{
    emit(ctx->run, GRAPH_STREAM_CUSTOM, "custom", jsoncopy_containers(data));
}

int graph_node_streams_messages(const graph_node_ctx_t *ctx)
{
    return wants(ctx->run, GRAPH_STREAM_MESSAGES) || wants(ctx->run, GRAPH_STREAM_EVENTS);
}

/* The metadata of the task's messages events with `extra` (borrowed, may be NULL) merged in
 * (borrowed). Built once and reused while the node passes the same `extra`; events only read
 * it. */
static json_t *message_metadata(graph_node_ctx_t *ctx, const json_t *extra)
{
    if (ctx->msg_meta != NULL && ctx->msg_extra == extra)
        return ctx->msg_meta;
    json_decref(ctx->msg_meta);
    json_decref(ctx->msg_extra);
    ctx->msg_meta = jsoncopy_containers(ctx->metadata);
    if (json_is_object(extra))
        json_object_update(ctx->msg_meta, (json_t *)extra);
    ctx->msg_extra = json_incref((json_t *)extra);
    return ctx->msg_meta;
}

/* Streams message chunk `chunk` (borrowed) of ctx: in mode messages when `messages` (and the
 * run streams it), and in mode events. */
static void emit_message_modes(graph_node_ctx_t *ctx, const json_t *chunk, const json_t *extra,
                               int messages)
{
    run_t *r = ctx->run;

    if (messages && wants(r, GRAPH_STREAM_MESSAGES))
        emit(r, GRAPH_STREAM_MESSAGES, "messages",
             json_pack("[O, O]", chunk, message_metadata(ctx, extra)));
    if (wants(r, GRAPH_STREAM_EVENTS)) {
        int model = ctx->model_run_id[0] != '\0';
        emit(r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chat_model_stream", model ? ctx->model_name : ctx->task->name,
                          model ? ctx->model_run_id : ctx->task->id, step_tags(ctx->step),
                          model ? ctx->model_meta : ctx->metadata, parents_of(ctx, model),
                          json_pack("{s:O}", "chunk", chunk)));
    }
}

/* Marks message `id` (may be NULL) as streamed. The id marked last is remembered, so the
 * chunks of one message after the first cost a comparison each. */
static void mark_streamed(graph_node_ctx_t *ctx, const char *id)
{
    if (id == NULL || (ctx->last_streamed != NULL && strcmp(ctx->last_streamed, id) == 0))
        return;
    json_object_set_new(ctx->streamed, id, json_true());
    free(ctx->last_streamed);
    ctx->last_streamed = strdup(id); /* NULL when out of memory: nothing remembered */
}

void graph_node_emit_message(graph_node_ctx_t *ctx, const json_t *chunk, const json_t *extra)
{
    mark_streamed(ctx, json_string_value(json_object_get(chunk, "id")));
    emit_message_modes(ctx, chunk, extra, 1);
}

void graph_node_emit_message_text(graph_node_ctx_t *ctx, const char *id, const char *text,
                                  size_t len, const json_t *extra)
{
    run_t *r = ctx->run;
    int messages = wants(r, GRAPH_STREAM_MESSAGES);
    json_t *chunk;

    mark_streamed(ctx, id);
    if (messages && r->o->on_message_text != NULL &&
        r->o->on_message_text(r->o->user, r->o->ns, text, len, message_metadata(ctx, extra)) == 0)
        messages = 0;
    if (!messages && !wants(r, GRAPH_STREAM_EVENTS))
        return;
    chunk = jsonr_loadb(text, len, NULL);
    if (chunk != NULL)
        emit_message_modes(ctx, chunk, extra, messages);
    json_decref(chunk);
}

/* Forgets the model call of ctx. */
static void model_clear(graph_node_ctx_t *ctx)
{
    ctx->model_run_id[0] = '\0';
    free(ctx->model_name);
    ctx->model_name = NULL;
    json_decref(ctx->model_input);
    ctx->model_input = NULL;
    json_decref(ctx->model_meta);
    ctx->model_meta = NULL;
}

void graph_node_model_start(graph_node_ctx_t *ctx, const char *name, const json_t *messages,
                            const json_t *extra)
{
    run_t *r = ctx->run;

    model_clear(ctx);
    if (!wants(r, GRAPH_STREAM_EVENTS) || uuid_v4_str(ctx->model_run_id) != 0) {
        ctx->model_run_id[0] = '\0';
        return;
    }
    ctx->model_name = strdup(name != NULL ? name : "ChatModel");
    ctx->model_input = json_pack("{s:[O]}", "messages", messages != NULL ? messages : json_null());
    ctx->model_meta = jsoncopy_containers(ctx->metadata);
    if (json_is_object(extra))
        json_object_update(ctx->model_meta, (json_t *)extra);
    emit(r, GRAPH_STREAM_EVENTS, "events",
         event_record("on_chat_model_start", ctx->model_name, ctx->model_run_id, step_tags(ctx->step),
                      ctx->model_meta, parents_of(ctx, 1), json_pack("{s:O}", "input", ctx->model_input)));
}

void graph_node_model_end(graph_node_ctx_t *ctx, const json_t *output)
{
    if (ctx->model_run_id[0] != '\0')
        emit(ctx->run, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chat_model_end", ctx->model_name, ctx->model_run_id, step_tags(ctx->step),
                          ctx->model_meta, parents_of(ctx, 1),
                          json_pack("{s:O, s:O}", "output", output != NULL ? output : json_null(), "input",
                                    ctx->model_input)));
    model_clear(ctx);
}

int graph_node_fail(graph_node_ctx_t *ctx, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    free(ctx->task->error);
    ctx->task->error = msg != NULL ? msg : strdup("out of memory");
    return GRAPH_NODE_ERROR;
}

const json_t *graph_interrupt(graph_node_ctx_t *ctx, const json_t *value)
{
    task_t *t = ctx->task;
    size_t idx = ctx->interrupt_index++;
    char id[33];

    if (idx < json_array_size(t->resume))
        return json_array_get(t->resume, idx);
    interrupt_id(t->id, idx, id);
    json_array_append_new(t->interrupts, json_pack("{s:O, s:s}", "value",
                                                   value ? value : json_null(), "id", id));
    return NULL;
}

int graph_node_goto(graph_node_ctx_t *ctx, const char *node, const json_t *arg)
{
    if (node != NULL && strcmp(node, GRAPH_END) == 0 && arg == NULL)
        return 0;
    if (node == NULL || graph_node_find(ctx->run->g, node) == NULL) {
        graph_node_fail(ctx, "goto: unknown node '%s'", node ? node : "(null)");
        return -1;
    }
    if (arg != NULL)
        json_array_append_new(ctx->gotos, json_pack("{s:s, s:O}", "node", node, "arg", arg));
    else
        json_array_append_new(ctx->gotos, json_pack("{s:s}", "node", node));
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* the loop                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* 1 when interrupt list `list` (array of names or "*") names task `t`. */
static int interrupt_listed(const json_t *list, const task_t *t)
{
    const json_t *e;
    size_t i;

    if (is_start(t->name) || list == NULL)
        return 0;
    if (json_is_string(list))
        return strcmp(json_string_value(list), "*") == 0 ||
               strcmp(json_string_value(list), t->name) == 0;
    json_array_foreach(list, i, e) {
        const char *s = json_string_value(e);
        if (s != NULL && (strcmp(s, "*") == 0 || strcmp(s, t->name) == 0))
            return 1;
    }
    return 0;
}

/* Ends the run as interrupted by interrupt_before/after: {"__interrupt__": []}. */
static void stop_at_listed_interrupt(run_t *r)
{
    r->out->status = GRAPH_STATUS_INTERRUPTED;
    r->out->interrupts = json_array();
    emit(r, GRAPH_STREAM_UPDATES, "updates", json_pack("{s:[]}", INTERRUPT_KEY));
}

/* The [[channel, value], ...] form of writes `w` (borrowed). New reference. */
static json_t *writes_pairs(const json_t *w)
{
    json_t *a = json_array(), *v;
    const char *k;

    json_object_foreach((json_t *)w, k, v)
        json_array_append_new(a, json_pack("[s, O]", k, v));
    return a;
}

static void emit_task_start(run_t *r, const task_t *t, const json_t *input)
{
    json_t *p;

    if (!wants(r, GRAPH_STREAM_TASKS) && !wants(r, GRAPH_STREAM_DEBUG))
        return;
    p = json_pack("{s:s, s:s, s:O, s:o}", "id", t->id, "name", t->name, "input", input,
                  "triggers", task_triggers(t));
    if (wants(r, GRAPH_STREAM_DEBUG))
        emit(r, GRAPH_STREAM_DEBUG, "debug",
             json_pack("{s:s, s:o, s:i, s:O}", "type", "task", "timestamp", now_json(), "step",
                       r->step + 1, "payload", p));
    emit(r, GRAPH_STREAM_TASKS, "tasks", p);
}

static void emit_task_end(run_t *r, const task_t *t)
{
    json_t *p;

    if (!wants(r, GRAPH_STREAM_TASKS) && !wants(r, GRAPH_STREAM_DEBUG))
        return;
    p = json_pack("{s:s, s:s, s:o, s:o, s:O}", "id", t->id, "name", t->name, "error",
                  t->error ? json_string(t->error) : json_null(), "result",
                  writes_pairs(t->result), "interrupts", t->interrupts);
    if (wants(r, GRAPH_STREAM_DEBUG))
        emit(r, GRAPH_STREAM_DEBUG, "debug",
             json_pack("{s:s, s:o, s:i, s:O}", "type", "task_result", "timestamp", now_json(),
                       "step", r->step + 1, "payload", p));
    emit(r, GRAPH_STREAM_TASKS, "tasks", p);
}

/* Streams, in mode messages, the messages task `t` wrote that it did not stream. */
static void emit_written_messages(run_t *r, const task_t *t, graph_node_ctx_t *ctx)
{
    const char *k;
    json_t *v, *m;
    size_t i;

    if (!wants(r, GRAPH_STREAM_MESSAGES) || !json_is_object(t->result))
        return;
    json_object_foreach(t->result, k, v) {
        const graph_channel_t *ch = channel_find(r->g, k);
        if (ch == NULL || ch->reducer != GRAPH_REDUCER_ADD_MESSAGES)
            continue;
        json_array_foreach(v, i, m) {
            const char *id = json_string_value(json_object_get(m, "id"));
            if (id != NULL && json_object_get(ctx->streamed, id) != NULL)
                continue;
            if (strcmp(json_string_value(json_object_get(m, "type")) ?: "", "remove") == 0)
                continue;
            emit(r, GRAPH_STREAM_MESSAGES, "messages", json_pack("[O, O]", m, ctx->metadata));
        }
    }
}

/* `values` (borrowed object) restricted to the channels of `g`. New reference. */
static json_t *channels_only(const graph_t *g, const json_t *values)
{
    json_t *out = json_object(), *v;
    const char *k;

    json_object_foreach((json_t *)values, k, v) {
        if (channel_find(g, k) != NULL)
            json_object_set(out, k, v);
    }
    return out;
}

/*
 * Runs the subgraph of the node of ctx's task on `input` (borrowed: the parent state) as a
 * nested graph_invoke in namespace "node:task_id" (engine.h, Subgraphs), or continues it from
 * its checkpoint there when the task runs again. On success *update is its final values
 * restricted to the parent's channels (new reference); when it stops at an interrupt, its
 * interrupts become the task's. Returns a graph_node_rc.
 */
static int run_subgraph(graph_node_ctx_t *ctx, const json_t *input, json_t **update)
{
    run_t *r = ctx->run;
    task_t *t = ctx->task;
    const graph_t *sg = graph_find(t->node->subgraph);
    const json_t *resume = json_object_get(r->o->command, "resume");
    graph_invoke_opts_t so;
    graph_result_t res = {0};
    json_t *in = NULL, *ns = NULL, *parents = NULL, *probe = NULL, *cmd = NULL;
    char cns[600];
    int rc = GRAPH_NODE_ERROR, resuming;

    if (sg == NULL)
        return graph_node_fail(ctx, "node '%s': subgraph %s is not registered", t->name, t->node->subgraph);
    if (run_ns(r)[0] != '\0')
        snprintf(cns, sizeof(cns), "%s|%s:%s", run_ns(r), t->name, t->id);
    else
        snprintf(cns, sizeof(cns), "%s:%s", t->name, t->id);
    ns = json_is_array(r->o->ns) ? jsoncopy_containers(r->o->ns) : json_array();
    json_array_append_new(ns, json_pack("s++", t->name, ":", t->id));
    parents = parents_of(ctx, 0);
    /* the same task again (a resume, a retry): the subgraph goes on from its own checkpoint,
     * with the run's resume value when this task is being resumed */
    resuming = store_checkpoint_get_shared(r->ops, r->store, r->thread_id, cns, NULL, &probe) == STORE_OK;
    json_decref(probe);
    if (resuming && resume != NULL && json_array_size(t->resume) > 0)
        cmd = json_pack("{s:O}", "resume", resume);
    in = resuming ? NULL : channels_only(sg, input);
    so = *r->o;
    so.input = in;
    so.command = cmd;
    so.checkpoint_id = NULL;
    so.interrupt_before = NULL;
    so.interrupt_after = NULL;
    so.checkpoint_ns = cns;
    so.ns = ns;
    so.event_run_id = t->id;
    so.event_parents = parents;
    graph_invoke(sg, &so, &res);
    switch (res.status) {
    case GRAPH_STATUS_SUCCESS:
        *update = channels_only(r->g, res.values);
        rc = GRAPH_NODE_OK;
        break;
    case GRAPH_STATUS_INTERRUPTED: /* the subgraph's interrupts are the task's */
        json_array_extend(t->interrupts, res.interrupts);
        rc = json_array_size(t->interrupts) > 0
                 ? GRAPH_NODE_INTERRUPT
                 : graph_node_fail(ctx, "subgraph %s of node '%s' stopped without an interrupt", sg->spec->graph_id, t->name);
        break;
    case GRAPH_STATUS_CANCELLED:
        rc = graph_node_fail(ctx, "subgraph %s of node '%s' was cancelled", sg->spec->graph_id, t->name);
        break;
    default:
        rc = graph_node_fail(ctx, "subgraph %s of node '%s': %s", sg->spec->graph_id, t->name,
                             res.error != NULL ? res.error : "failed");
        break;
    }
    graph_result_clear(&res);
    json_decref(in);
    json_decref(cmd);
    json_decref(ns);
    json_decref(parents);
    return rc;
}

/*
 * Runs task `t` of the current step; on success its normalised writes are in t->result and
 * its gotos appended to `gotos`. Returns GRAPH_NODE_OK, GRAPH_NODE_ERROR (t->error set) or
 * GRAPH_NODE_INTERRUPT (t->interrupts set).
 */
static int run_task(run_t *r, task_t *t, json_t *gotos)
{
    graph_node_ctx_t ctx = {.run = r, .task = t, .step = r->step + 1};
    const json_t *input = t->push || is_start(t->name) ? (t->arg ? t->arg : json_null()) : r->state;
    json_t *update = NULL, *norm = NULL;
    char err[512];
    int rc;

    ctx.metadata = task_metadata(r, t);
    ctx.streamed = json_object();
    ctx.gotos = json_array();
    json_array_clear(t->interrupts);
    free(t->error);
    t->error = NULL;
    emit_task_start(r, t, input);
    if (wants(r, GRAPH_STREAM_EVENTS) && !is_start(t->name))
        emit(r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chain_start", t->name, t->id, step_tags(ctx.step), ctx.metadata, parents_of(&ctx, 0),
                          json_pack("{s:O}", "input", input)));

    if (is_start(t->name)) {
        rc = GRAPH_NODE_OK;
        update = json_incref(t->arg ? t->arg : json_null());
    } else if (t->node == NULL) {
        rc = graph_node_fail(&ctx, "graph %s has no node '%s'", r->g->spec->graph_id, t->name);
    } else if (t->node->subgraph != NULL) {
        rc = run_subgraph(&ctx, input, &update);
    } else if (t->node->run == NULL) {
        rc = GRAPH_NODE_OK;
    } else {
        rc = t->node->run(&ctx, input, &update);
    }
    /* An interrupt the node ignored still stops it: its writes are dropped. */
    if (rc == GRAPH_NODE_OK && json_array_size(t->interrupts) > 0)
        rc = GRAPH_NODE_INTERRUPT;
    if (rc == GRAPH_NODE_OK) {
        norm = normalize_writes(r->g, t->name, update, is_start(t->name), err, sizeof(err));
        if (norm == NULL) {
            rc = GRAPH_NODE_ERROR;
            t->error = strdup(err);
        }
    } else if (rc == GRAPH_NODE_INTERRUPT && json_array_size(t->interrupts) == 0) {
        rc = GRAPH_NODE_ERROR;
        t->error = strdup("the node returned GRAPH_NODE_INTERRUPT without calling graph_interrupt");
    } else if (rc != GRAPH_NODE_INTERRUPT) {
        rc = GRAPH_NODE_ERROR;
        if (t->error == NULL)
            t->error = strdup("the node failed without a message");
    }
    if (rc == GRAPH_NODE_OK) {
        json_decref(t->result);
        t->result = norm;
        norm = NULL;
        t->done = 1;
        json_array_extend(gotos, ctx.gotos);
        if (!is_start(t->name)) {
            emit_written_messages(r, t, &ctx);
            if (wants(r, GRAPH_STREAM_UPDATES))
                emit(r, GRAPH_STREAM_UPDATES, "updates",
                     json_pack("{s:O}", t->name, t->result));
        }
    }
    emit_task_end(r, t);
    /* a node that failed or stopped at an interrupt raised: LangChain streams no end for it */
    if (wants(r, GRAPH_STREAM_EVENTS) && !is_start(t->name) && rc == GRAPH_NODE_OK) {
        emit(r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chain_stream", t->name, t->id, step_tags(ctx.step), ctx.metadata, parents_of(&ctx, 0),
                          json_pack("{s:O}", "chunk", t->result)));
        emit(r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chain_end", t->name, t->id, step_tags(ctx.step), ctx.metadata, parents_of(&ctx, 0),
                          json_pack("{s:O, s:O}", "input", input, "output", t->result)));
    }
    model_clear(&ctx);
    json_decref(update);
    json_decref(norm);
    json_decref(ctx.metadata);
    json_decref(ctx.streamed);
    free(ctx.last_streamed);
    json_decref(ctx.gotos);
    json_decref(ctx.msg_extra);
    json_decref(ctx.msg_meta);
    return rc;
}

/* Runs one super-step: the tasks, then the merge, the scheduling and the checkpoint.
 * Returns 1 to go on, 0 when the run ended (out->status set). */
static int run_step(run_t *r)
{
    json_t *gotos = json_array(), *plan = json_array(), *writes = json_object();
    json_t *results = json_object(), *interrupts = json_array();
    int failed = 0, interrupted = 0, stop = 0, after = 0, ret = 0;
    char err[512];
    size_t i;

    for (i = 0; i < r->ntasks && !failed; i++) {
        task_t *t = &r->tasks[i];
        int rc;

        if (t->done)
            continue;
        if (cancelled(r)) {
            stop = 1;
            break;
        }
        rc = run_task(r, t, gotos);
        if (rc == GRAPH_NODE_ERROR)
            failed = 1;
        else if (rc == GRAPH_NODE_INTERRUPT)
            interrupted = 1;
    }
    if (stop || (failed && cancelled(r))) {
        r->out->status = GRAPH_STATUS_CANCELLED;
        goto Exit;
    }
    if (failed || interrupted) {
        if (checkpoint_record_tasks(r) != 0)
            goto Exit;
        if (failed) {
            for (i = 0; i < r->ntasks; i++) {
                if (r->tasks[i].error != NULL) {
                    run_fail(r, "NodeError", "%s", r->tasks[i].error);
                    break;
                }
            }
            goto Exit;
        }
        for (i = 0; i < r->ntasks; i++)
            json_array_extend(interrupts, r->tasks[i].interrupts);
        r->out->status = GRAPH_STATUS_INTERRUPTED;
        r->out->interrupts = json_incref(interrupts);
        emit(r, GRAPH_STREAM_UPDATES, "updates",
             json_pack("{s:O}", INTERRUPT_KEY, interrupts));
        goto Exit;
    }

    /* Merge in task order, then schedule from the merged state. */
    for (i = 0; i < r->ntasks; i++) {
        task_t *t = &r->tasks[i];
        if (apply_writes(r->g, r->state, t->result, err, sizeof(err)) != 0) {
            run_fail(r, "InvalidUpdateError", "node '%s': %s", t->name, err);
            goto Exit;
        }
        json_object_set(writes, t->name, t->result);
        json_object_set(results, t->id, t->result);
    }
    for (i = 0; i < r->ntasks; i++) {
        if (plan_after(r->g, r->tasks[i].name, r->state, plan, err, sizeof(err)) != 0) {
            run_fail(r, "InvalidUpdateError", "%s", err);
            goto Exit;
        }
    }
    json_array_extend(plan, gotos);
    plan_sort(r->g, plan);

    /* Whether interrupt_after stops here depends on the tasks just run. */
    for (i = 0; i < r->ntasks; i++)
        after |= interrupt_listed(r->o->interrupt_after, &r->tasks[i]);
    if (checkpoint_new(r, plan, "loop", json_incref(writes), json_incref(results)) != 0)
        goto Exit;
    if (wants(r, GRAPH_STREAM_VALUES))
        emit(r, GRAPH_STREAM_VALUES, "values", json_copy(r->state));
    if (after && r->ntasks > 0) {
        stop_at_listed_interrupt(r);
        goto Exit;
    }
    ret = 1;
Exit:
    json_decref(gotos);
    json_decref(plan);
    json_decref(writes);
    json_decref(results);
    json_decref(interrupts);
    return ret;
}

/* Applies command.resume (borrowed) to the pending interrupts of r's tasks. */
static void apply_resume(run_t *r, const json_t *resume)
{
    int by_id = json_is_object(resume) && json_object_size(resume) > 0;
    const char *k;
    json_t *v;
    size_t i;

    /* A map counts as ids only when every key is a pending interrupt id. */
    json_object_foreach((json_t *)(by_id ? resume : NULL), k, v) {
        int found = 0;
        for (i = 0; i < r->ntasks && !found; i++) {
            const json_t *in;
            size_t j;
            json_array_foreach(r->tasks[i].interrupts, j, in) {
                if (strcmp(json_string_value(json_object_get(in, "id")) ?: "", k) == 0)
                    found = 1;
            }
        }
        if (!found)
            by_id = 0;
    }
    for (i = 0; i < r->ntasks; i++) {
        task_t *t = &r->tasks[i];
        const json_t *in;
        size_t j;

        if (t->done)
            continue;
        json_array_foreach(t->interrupts, j, in) {
            const json_t *val = by_id ? json_object_get(resume, json_string_value(
                                                            json_object_get(in, "id")))
                                      : resume;
            if (val != NULL)
                json_array_append(t->resume, (json_t *)val);
        }
        json_array_clear(t->interrupts);
    }
}

/* The plan that re-creates r's current pending tasks (new reference). */
static json_t *plan_of_tasks(const run_t *r)
{
    json_t *plan = json_array();
    size_t i;

    for (i = 0; i < r->ntasks; i++) {
        const task_t *t = &r->tasks[i];
        if (t->arg != NULL)
            json_array_append_new(plan, json_pack("{s:s, s:O}", "node", t->name, "arg", t->arg));
        else
            json_array_append_new(plan, json_pack("{s:s}", "node", t->name));
    }
    return plan;
}

/* Loads the starting checkpoint. Returns 0 (r->cp may stay NULL), or -1 (run failed). */
static int load_base(run_t *r, const char *checkpoint_id)
{
    json_t *cp = NULL, *values;
    store_rc_t rc = store_checkpoint_get_shared(r->ops, r->store, r->thread_id, run_ns(r),
                                                checkpoint_id, &cp);

    if (rc == STORE_NOT_FOUND && checkpoint_id == NULL)
        return 0;
    if (rc == STORE_NOT_FOUND) {
        run_fail(r, "InvalidInput", "checkpoint %s not found in thread %s", checkpoint_id,
                 r->thread_id);
        return -1;
    }
    if (rc != STORE_OK) {
        store_failed(r, rc, "reading the thread's checkpoint");
        return -1;
    }
    /* the stored checkpoint is read only, as r->cp is; r->state gets its own top level (a
     * channel's value is never changed in place) */
    r->cp = cp;
    values = json_object_get(cp, "values");
    json_decref(r->state);
    r->state = json_is_object(values) ? json_copy(values) : json_object();
    r->step = (int)json_integer_value(json_object_get(json_object_get(cp, "metadata"), "step"));
    snprintf(r->out->checkpoint_id, sizeof(r->out->checkpoint_id), "%s",
             json_string_value(json_object_get(cp, "checkpoint_id")) ?: "");
    return 0;
}

/*
 * Sets up the first step from input / command. Returns 1 when there are tasks to run,
 * 0 when the run ended or has nothing to do, -1 when it failed. *continuing is set when the
 * run continues pending work (interrupt_before does not stop its first step).
 */
static int prepare(run_t *r, int *continuing)
{
    const json_t *input = r->o->input, *cmd = r->o->command;
    const json_t *resume = NULL, *update = NULL, *go = NULL;
    json_t *plan = NULL, *norm = NULL;
    char err[512];
    int ret = -1;

    if (input != NULL && json_is_null(input))
        input = NULL;
    if (cmd != NULL && json_is_null(cmd))
        cmd = NULL;
    if (cmd != NULL) {
        if (!json_is_object(cmd)) {
            run_fail(r, "InvalidInput", "command: expected an object {resume?, update?, goto?}");
            goto Exit;
        }
        resume = json_object_get(cmd, "resume");
        update = json_object_get(cmd, "update");
        go = json_object_get(cmd, "goto");
        if (update != NULL && json_is_null(update))
            update = NULL;
        if (go != NULL && json_is_null(go))
            go = NULL;
    }
    if (input != NULL) {
        if (!json_is_object(input)) {
            run_fail(r, "InvalidInput", "input: expected an object or null");
            goto Exit;
        }
        *continuing = 0;
        plan = json_pack("[{s:s, s:O}]", "node", GRAPH_START, "arg", input);
        if (checkpoint_new(r, plan, "input", json_pack("{s:O}", GRAPH_START, input),
                           json_object()) != 0)
            goto Exit;
        ret = 1;
        goto Exit;
    }

    *continuing = 1;
    if (r->cp != NULL && tasks_from_checkpoint(r, r->cp) != 0)
        goto Exit;
    if (update != NULL || go != NULL) {
        if (update != NULL) {
            norm = normalize_writes(r->g, "command.update", update, 0, err, sizeof(err));
            if (norm == NULL || apply_writes(r->g, r->state, norm, err, sizeof(err)) != 0) {
                run_fail(r, "InvalidUpdateError", "%s", err);
                goto Exit;
            }
        }
        if (go != NULL) {
            plan = json_array();
            if (plan_goto(r->g, go, plan, err, sizeof(err)) != 0) {
                run_fail(r, "InvalidInput", "%s", err);
                goto Exit;
            }
            plan_sort(r->g, plan);
        } else {
            plan = plan_of_tasks(r);
        }
        if (checkpoint_new(r, plan, "input",
                           json_pack("{s:O}", GRAPH_START, norm ? norm : json_null()),
                           json_object()) != 0)
            goto Exit;
        *continuing = go == NULL;
    } else if (resume != NULL) {
        apply_resume(r, resume);
    }
    ret = r->ntasks > 0;
    /* A continuing run shows the state it resumes from first, as LangGraph does. */
    if (ret && wants(r, GRAPH_STREAM_VALUES))
        emit(r, GRAPH_STREAM_VALUES, "values", json_copy(r->state));
Exit:
    json_decref(plan);
    json_decref(norm);
    return ret;
}

const char *graph_status_name(graph_status_t st)
{
    switch (st) {
    case GRAPH_STATUS_SUCCESS:
        return "success";
    case GRAPH_STATUS_ERROR:
        return "error";
    case GRAPH_STATUS_INTERRUPTED:
        return "interrupted";
    case GRAPH_STATUS_CANCELLED:
        return "cancelled";
    }
    return "error";
}

unsigned graph_stream_mode_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } modes[] = {
        {"values", GRAPH_STREAM_VALUES},     {"updates", GRAPH_STREAM_UPDATES},
        {"messages", GRAPH_STREAM_MESSAGES}, {"messages-tuple", GRAPH_STREAM_MESSAGES},
        {"custom", GRAPH_STREAM_CUSTOM},     {"tasks", GRAPH_STREAM_TASKS},
        {"checkpoints", GRAPH_STREAM_CHECKPOINTS}, {"debug", GRAPH_STREAM_DEBUG},
        {"events", GRAPH_STREAM_EVENTS},
    };
    size_t i;

    for (i = 0; name != NULL && i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(modes[i].name, name) == 0)
            return modes[i].bit;
    }
    return 0;
}

void graph_result_clear(graph_result_t *r)
{
    if (r == NULL)
        return;
    json_decref(r->values);
    json_decref(r->interrupts);
    free(r->error);
    free(r->error_name);
    memset(r, 0, sizeof(*r));
}

static void run_release(run_t *r)
{
    tasks_free(r);
    json_decref(r->config);
    json_decref(r->base_meta);
    json_decref(r->state);
    json_decref(r->cp);
    json_decref(r->saved_parent);
    json_decref(r->exit_results);
}

int graph_invoke(const graph_t *g, const graph_invoke_opts_t *o, graph_result_t *out)
{
    run_t r = {0};
    const json_t *lim;
    int continuing = 0, more;

    if (out == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    r.out = out;
    if (g == NULL || o == NULL || o->store_ops == NULL || o->store == NULL ||
        o->thread_id == NULL) {
        run_fail(&r, "InvalidInput", "graph_invoke: graph, store and thread_id are required");
        out->values = json_object();
        return -1;
    }
    r.g = g;
    r.o = o;
    r.ops = o->store_ops;
    r.store = o->store;
    r.thread_id = o->thread_id;
    r.step = -2;
    r.state = json_object();
    r.config = json_is_object(o->config) ? jsoncopy_containers(o->config) : json_object();
    if (!json_is_object(json_object_get(r.config, "configurable")))
        json_object_set_new(r.config, "configurable", json_object());
    lim = json_object_get(r.config, "recursion_limit");
    r.recursion_limit = json_is_integer(lim) && json_integer_value(lim) > 0 &&
                                json_integer_value(lim) < 1000000
                            ? (int)json_integer_value(lim)
                            : DEFAULT_RECURSION_LIMIT;
    r.base_meta = base_metadata(g, r.config, o->metadata, o->thread_id, o->run_id, o->assistant_id);
    r.at_exit = o->checkpoint_at_exit;

    if (wants(&r, GRAPH_STREAM_EVENTS) && o->ns == NULL)
        emit(&r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chain_start", g->spec->graph_id, root_run_id(&r), json_array(), r.base_meta,
                          json_array(),
                          json_pack("{s:O}", "input",
                                    o->input != NULL && !json_is_null(o->input) ? o->input
                                    : o->command != NULL                        ? o->command
                                                                                : json_null())));
    if (load_base(&r, o->checkpoint_id) != 0)
        goto Exit;
    if (cancelled(&r)) {
        out->status = GRAPH_STATUS_CANCELLED;
        goto Exit;
    }
    more = prepare(&r, &continuing);
    if (more <= 0)
        goto Exit;
    for (int steps = 0;; steps++) {
        size_t i;
        int before = 0;

        if (r.ntasks == 0)
            break;
        if (cancelled(&r)) {
            out->status = GRAPH_STATUS_CANCELLED;
            break;
        }
        if (steps >= r.recursion_limit) {
            run_fail(&r, "GraphRecursionError",
                     "Recursion limit of %d reached without hitting a stop condition. You can "
                     "increase the limit by setting the `recursion_limit` config key.",
                     r.recursion_limit);
            break;
        }
        for (i = 0; i < r.ntasks && !continuing; i++)
            before |= interrupt_listed(o->interrupt_before, &r.tasks[i]);
        if (before) {
            stop_at_listed_interrupt(&r);
            break;
        }
        continuing = 0;
        if (!run_step(&r))
            break;
    }
Exit:
    if (r.unsaved) { /* durability exit: the last checkpoint, whatever the outcome */
        store_rc_t rc = r.ops->checkpoint_put(r.store, r.cp, NULL);
        if (rc != STORE_OK && out->status != GRAPH_STATUS_ERROR)
            store_failed(&r, rc, "writing the run's checkpoint");
    }
    out->values = json_copy(r.state);
    /* a run that failed or was cancelled raised: no end event, as astream_events */
    if (wants(&r, GRAPH_STREAM_EVENTS) && o->ns == NULL && out->status != GRAPH_STATUS_ERROR &&
        out->status != GRAPH_STATUS_CANCELLED)
        emit(&r, GRAPH_STREAM_EVENTS, "events",
             event_record("on_chain_end", g->spec->graph_id, root_run_id(&r), json_array(), r.base_meta,
                          json_array(), json_pack("{s:O}", "output", r.state)));
    run_release(&r);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* update_state                                                                                */
/* ------------------------------------------------------------------------------------------ */

/* The default as_node of an update on top of `cp` (borrowed, may be NULL): LangGraph's rule.
 * Returns a borrowed name, or NULL when ambiguous. */
static const char *default_as_node(const graph_t *g, const json_t *cp)
{
    const json_t *meta = json_object_get(cp, "metadata"), *writes, *v;
    const char *k, *found = NULL;

    if (cp == NULL || strcmp(json_string_value(json_object_get(meta, "source")) ?: "", "input") == 0)
        return GRAPH_START;
    writes = json_object_get(meta, "writes");
    json_object_foreach((json_t *)writes, k, v) {
        if (is_start(k) || graph_node_find(g, k) == NULL)
            continue;
        if (found != NULL && strcmp(found, k) != 0)
            return NULL;
        found = graph_node_find(g, k)->name;
    }
    return found != NULL ? found : GRAPH_START;
}

/* Appends `v` (steals; an object or null) under `key` of `writes`: the value the first time,
 * a list of the values when the key comes again (several updates as one node in a superstep). */
static void writes_add(json_t *writes, const char *key, json_t *v)
{
    json_t *old = json_object_get(writes, key);

    if (old == NULL)
        json_object_set_new(writes, key, v);
    else if (json_is_array(old))
        json_array_append_new(old, v);
    else
        json_object_set_new(writes, key, json_pack("[O, o]", old, v));
}

/*
 * Writes one superstep of `updates` (borrowed: array of {values?, command?, as_node?}) on top of
 * r's current checkpoint as one new checkpoint, as LangGraph's (bulk_)update_state does: every
 * update's writes merge through the reducers in order (a command writes its `update` and adds
 * its `goto`), then `next` is what follows each as_node (edges, router on the merged state)
 * plus the gotos; source "update", writes {as_node: values}. One update may omit as_node (the
 * default rule) or be "__copy__" (a fork of the checkpoint, values ignored). Messages are
 * prefixed with `where`. Returns STORE_OK, STORE_INVALID with a reason in `why`, or STORE_IO.
 */
static store_rc_t update_superstep(run_t *r, const json_t *updates, const char *where, char *why,
                                   size_t len)
{
    size_t n = json_array_size(updates), i;
    json_t *plan = json_array(), *writes = json_object(), *gotos = json_array(), *nodes = json_array();
    const char *source = "update";
    store_rc_t rc = STORE_INVALID;
    char who[160];

    if (n == 0) {
        snprintf(why, len, "%supdates: no updates provided", where);
        goto Exit;
    }
    for (i = 0; i < n; i++) {
        const json_t *u = json_array_get(updates, i), *cmd = json_object_get(u, "command");
        const json_t *values = json_object_get(u, "values");
        const char *as_node = json_string_value(json_object_get(u, "as_node"));
        char at[64] = "";
        json_t *norm;

        if (n > 1)
            snprintf(at, sizeof(at), "updates[%zu].", i);
        if (as_node == NULL && n > 1) {
            snprintf(why, len, "%s%sas_node is required when applying multiple updates", where, at);
            goto Exit;
        }
        if (as_node == NULL && (as_node = default_as_node(r->g, r->cp)) == NULL) {
            snprintf(why, len, "%sAmbiguous update, specify as_node", where);
            goto Exit;
        }
        if (strcmp(as_node, COPY_NODE) == 0) {
            if (n > 1) {
                snprintf(why, len, "%s%sas_node __copy__ cannot be combined with other updates", where, at);
                goto Exit;
            }
            if (r->cp == NULL) {
                snprintf(why, len, "%sas_node __copy__: the thread has no checkpoint to copy", where);
                goto Exit;
            }
            if (tasks_from_checkpoint(r, r->cp) != 0) {
                snprintf(why, len, "%s%s", where, r->out->error);
                goto Exit;
            }
            json_decref(plan);
            plan = plan_of_tasks(r);
            json_object_set_new(writes, COPY_NODE, json_null());
            source = "fork";
            break;
        }
        if (!is_start(as_node) && graph_node_find(r->g, as_node) == NULL) {
            snprintf(why, len, "%s%sas_node: graph %s has no node '%s'", where, at, r->g->spec->graph_id, as_node);
            goto Exit;
        }
        if (json_is_object(cmd)) {
            if (json_object_get(cmd, "resume") != NULL && !json_is_null(json_object_get(cmd, "resume"))) {
                snprintf(why, len, "%s%scommand.resume: a resume value cannot be written as a state update", where, at);
                goto Exit;
            }
            values = json_object_get(cmd, "update");
            snprintf(who, sizeof(who), "%s%scommand.update", where, at);
            if (json_object_get(cmd, "goto") != NULL && !json_is_null(json_object_get(cmd, "goto")))
                json_array_append_new(gotos, json_pack("{s:s, s:O}", "as_node", as_node, "goto", json_object_get(cmd, "goto")));
        } else {
            snprintf(who, sizeof(who), "%s%svalues", where, at);
        }
        norm = normalize_writes(r->g, who, values, 0, why, len);
        if (norm == NULL)
            goto Exit;
        if (apply_writes(r->g, r->state, norm, why, len) != 0) {
            json_decref(norm);
            goto Exit;
        }
        writes_add(writes, as_node, norm);
        json_array_append_new(nodes, json_string(as_node));
    }
    if (strcmp(source, "fork") != 0) {
        for (i = 0; i < n; i++)
            if (plan_after(r->g, json_string_value(json_array_get(nodes, i)), r->state, plan, why, len) != 0)
                goto Exit;
        for (i = 0; i < json_array_size(gotos); i++)
            if (plan_goto(r->g, json_object_get(json_array_get(gotos, i), "goto"), plan, why, len) != 0)
                goto Exit;
        plan_sort(r->g, plan);
    }
    if (checkpoint_new(r, plan, source, json_incref(writes), json_object()) != 0) {
        rc = STORE_IO;
        snprintf(why, len, "%s", r->out->error);
        goto Exit;
    }
    rc = STORE_OK;
Exit:
    json_decref(plan);
    json_decref(writes);
    json_decref(gotos);
    json_decref(nodes);
    return rc;
}

/* Sets up `r` for update_state on thread `thread_id` in namespace `ns` (NULL = root; all
 * borrowed) on top of checkpoint `checkpoint_id` (NULL = latest). Returns STORE_OK, or an
 * error with a reason in `why`. */
static store_rc_t update_begin(run_t *r, graph_invoke_opts_t *o, graph_result_t *res, const graph_t *g,
                               const store_ops_t *ops, store_t *s, const char *thread_id, const char *ns,
                               const char *checkpoint_id, const json_t *metadata, char *why, size_t len)
{
    memset(o, 0, sizeof(*o));
    o->store_ops = ops;
    o->store = s;
    o->thread_id = thread_id;
    o->checkpoint_ns = ns;
    r->g = g;
    r->o = o;
    r->ops = ops;
    r->store = s;
    r->thread_id = thread_id;
    r->out = res;
    r->step = -2;
    r->state = json_object();
    r->config = json_object();
    r->base_meta = json_is_object(metadata) ? jsoncopy_containers(metadata) : json_object();
    if (load_base(r, checkpoint_id) != 0) {
        snprintf(why, len, "%s", res->error);
        return strcmp(res->error_name, "StoreError") == 0 ? STORE_IO : STORE_NOT_FOUND;
    }
    return STORE_OK;
}

/* The answer of an update: {checkpoint: {thread_id, checkpoint_ns, checkpoint_id,
 * checkpoint_map: null}} of r's current checkpoint. New reference. */
static json_t *update_config(const run_t *r)
{
    return json_pack("{s:{s:s, s:s, s:O, s:n}}", "checkpoint", "thread_id", r->thread_id, "checkpoint_ns", run_ns(r),
                     "checkpoint_id", json_object_get(r->cp, "checkpoint_id"), "checkpoint_map");
}

store_rc_t graph_update_state(const graph_t *g, const store_ops_t *ops, store_t *s,
                              const char *thread_id, const char *checkpoint_ns,
                              const json_t *values, const char *as_node,
                              const char *checkpoint_id, const json_t *metadata,
                              json_t **out_config, char **err)
{
    graph_invoke_opts_t o;
    graph_result_t res = {0};
    run_t r = {0};
    json_t *updates = NULL;
    store_rc_t rc;
    char why[512];

    if (out_config != NULL)
        *out_config = NULL;
    if (err != NULL)
        *err = NULL;
    if (g == NULL || ops == NULL || s == NULL || thread_id == NULL) {
        rc = STORE_INVALID;
        snprintf(why, sizeof(why), "update_state: graph, store and thread_id are required");
        goto Exit;
    }
    if (checkpoint_ns != NULL && checkpoint_ns[0] != '\0' && (g = graph_for_namespace(g, checkpoint_ns)) == NULL) {
        rc = STORE_INVALID;
        snprintf(why, sizeof(why), "checkpoint_ns %s names no subgraph of the thread's graph", checkpoint_ns);
        goto Exit;
    }
    if ((rc = update_begin(&r, &o, &res, g, ops, s, thread_id, checkpoint_ns, checkpoint_id, metadata, why,
                           sizeof(why))) != STORE_OK)
        goto Exit;
    updates = json_pack("[{s:O?, s:s?}]", "values", values, "as_node", as_node);
    rc = update_superstep(&r, updates, "", why, sizeof(why));
    if (rc == STORE_OK && out_config != NULL)
        *out_config = update_config(&r);
Exit:
    if (rc != STORE_OK && err != NULL)
        *err = strdup(why);
    json_decref(updates);
    run_release(&r);
    graph_result_clear(&res);
    return rc;
}

/* Applies `supersteps` (borrowed) on the latest checkpoint of the thread, one checkpoint each;
 * `dry`: only checks them (nothing is stored). Arguments as graph_bulk_update_state. */
static store_rc_t bulk_pass(const graph_t *g, const store_ops_t *ops, store_t *s, const char *thread_id,
                            const json_t *supersteps, const json_t *metadata, int dry, json_t **out_config,
                            char *why, size_t len)
{
    graph_invoke_opts_t o;
    graph_result_t res = {0};
    run_t r = {0};
    store_rc_t rc;
    size_t i;

    r.dry = dry;
    if ((rc = update_begin(&r, &o, &res, g, ops, s, thread_id, NULL, NULL, metadata, why, len)) != STORE_OK)
        goto Exit;
    for (i = 0; rc == STORE_OK && i < json_array_size(supersteps); i++) {
        char where[48];
        snprintf(where, sizeof(where), "supersteps[%zu].", i);
        rc = update_superstep(&r, json_object_get(json_array_get(supersteps, i), "updates"), where, why, len);
    }
    if (rc == STORE_OK && out_config != NULL && r.cp != NULL)
        *out_config = update_config(&r);
Exit:
    run_release(&r);
    graph_result_clear(&res);
    return rc;
}

store_rc_t graph_bulk_update_state(const graph_t *g, const store_ops_t *ops, store_t *s,
                                   const char *thread_id, const json_t *supersteps,
                                   const json_t *metadata, json_t **out_config, char **err)
{
    store_rc_t rc;
    char why[512];

    if (out_config != NULL)
        *out_config = NULL;
    if (err != NULL)
        *err = NULL;
    if (g == NULL || ops == NULL || s == NULL || thread_id == NULL || !json_is_array(supersteps)) {
        rc = STORE_INVALID;
        snprintf(why, sizeof(why), "bulk_update_state: graph, store, thread_id and a list of supersteps are required");
        goto Exit;
    }
    if (json_array_size(supersteps) == 0) {
        rc = STORE_INVALID;
        snprintf(why, sizeof(why), "supersteps: no supersteps provided");
        goto Exit;
    }
    rc = bulk_pass(g, ops, s, thread_id, supersteps, metadata, 1, NULL, why, sizeof(why));
    if (rc == STORE_OK)
        rc = bulk_pass(g, ops, s, thread_id, supersteps, metadata, 0, out_config, why, sizeof(why));
Exit:
    if (rc != STORE_OK && err != NULL)
        *err = strdup(why);
    return rc;
}
