/*
 * runtime/graph/state.c — ThreadState objects from the engine's checkpoints, in the shape the
 * official server answers GET /threads/{id}/state and /history with; the thread's pending
 * interrupts map; state and history reads over the store.
 */
#include <string.h>

#include "graph/engine.h"
#include "util/jsoncopy.h"

/* {thread_id, checkpoint_ns, checkpoint_id, checkpoint_map: null} of `cp` with id `id`
 * (borrowed). New reference. */
static json_t *checkpoint_config(const json_t *cp, const json_t *id)
{
    const char *ns = json_string_value(json_object_get(cp, "checkpoint_ns"));
    const json_t *tid = json_object_get(cp, "thread_id");

    return json_pack("{s:O, s:O, s:s, s:n}", "thread_id", tid ? tid : json_null(),
                     "checkpoint_id", id, "checkpoint_ns", ns ? ns : "", "checkpoint_map");
}

json_t *graph_state_from_checkpoint(const json_t *cp, const json_t *child)
{
    const json_t *tasks = json_object_get(cp, "tasks"), *t, *v;
    const json_t *results = json_object_get(child, "parent_results");
    const json_t *parent = json_object_get(cp, "parent_checkpoint_id");
    json_t *st = json_object(), *out_tasks = json_array(), *interrupts = json_array();
    size_t i;

    v = json_object_get(cp, "values");
    json_object_set_new(st, "values", json_is_object(v) ? json_incref((json_t *)v) : json_object());
    v = json_object_get(cp, "next");
    json_object_set_new(st, "next", json_is_array(v) ? json_incref((json_t *)v) : json_array());
    json_array_foreach(tasks, i, t) {
        const json_t *in = json_object_get(t, "interrupts");
        const json_t *err = json_object_get(t, "error");
        const json_t *res = json_object_get(t, "result");
        json_t *o;

        o = json_pack("{s:O, s:O, s:O, s:o, s:O, s:n, s:n}", "id", json_object_get(t, "id"),
                      "name", json_object_get(t, "name"), "error", err ? err : json_null(),
                      "interrupts", json_is_array(in) ? jsoncopy_containers(in) : json_array(),
                      "path", json_object_get(t, "path") ?: json_null(), "checkpoint", "state");
        if (o == NULL)
            continue;
        if (res == NULL && json_is_string(json_object_get(t, "id")))
            res = json_object_get(results, json_string_value(json_object_get(t, "id")));
        if (res != NULL)
            json_object_set(o, "result", (json_t *)res);
        if (json_is_array(in))
            json_array_extend(interrupts, (json_t *)in);
        json_array_append_new(out_tasks, o);
    }
    json_object_set_new(st, "tasks", out_tasks);
    v = json_object_get(cp, "metadata");
    json_object_set_new(st, "metadata", json_is_object(v) ? json_incref((json_t *)v) : json_object());
    v = json_object_get(cp, "created_at");
    json_object_set_new(st, "created_at", v ? json_incref((json_t *)v) : json_null());
    json_object_set_new(st, "checkpoint",
                        checkpoint_config(cp, json_object_get(cp, "checkpoint_id")));
    json_object_set_new(st, "parent_checkpoint",
                        json_is_string(parent) ? checkpoint_config(cp, parent) : json_null());
    json_object_set_new(st, "interrupts", interrupts);
    return st;
}

json_t *graph_state_empty(void)
{
    return json_pack("{s:{}, s:[], s:[], s:{}, s:n, s:n, s:n, s:[]}", "values", "next", "tasks",
                     "metadata", "created_at", "checkpoint", "parent_checkpoint", "interrupts");
}

json_t *graph_checkpoint_interrupts(const json_t *cp)
{
    json_t *map = json_object();
    const json_t *t;
    size_t i;

    json_array_foreach(json_object_get(cp, "tasks"), i, t) {
        const json_t *in = json_object_get(t, "interrupts");
        const char *id = json_string_value(json_object_get(t, "id"));
        if (id != NULL && json_is_array(in) && json_array_size(in) > 0)
            json_object_set_new(map, id, jsoncopy_containers(in));
    }
    return map;
}

/* The first checkpoint of array `list` (borrowed) whose parent is `id`, or NULL. Borrowed. */
static const json_t *child_in(const json_t *list, const char *id)
{
    const json_t *c, *found = NULL;
    size_t i;

    json_array_foreach(list, i, c) {
        const char *p = json_string_value(json_object_get(c, "parent_checkpoint_id"));
        if (p != NULL && strcmp(p, id) == 0)
            found = c; /* newest first: keep the oldest child */
    }
    return found;
}

store_rc_t graph_state_get(const store_ops_t *ops, store_t *s, const char *thread_id,
                           const char *checkpoint_id, json_t **out)
{
    json_t *cp = NULL, *all = NULL;
    store_rc_t rc;

    *out = NULL;
    rc = ops->checkpoint_get(s, thread_id, "", checkpoint_id, &cp);
    if (rc == STORE_NOT_FOUND && checkpoint_id == NULL) {
        *out = graph_state_empty();
        return STORE_OK;
    }
    if (rc != STORE_OK)
        goto Exit;
    if (checkpoint_id != NULL) {
        rc = ops->checkpoint_list(s, thread_id, "", NULL, NULL, 0, &all);
        if (rc != STORE_OK)
            goto Exit;
    }
    *out = graph_state_from_checkpoint(cp, all ? child_in(all, checkpoint_id) : NULL);
Exit:
    json_decref(cp);
    json_decref(all);
    return rc;
}

store_rc_t graph_state_history(const store_ops_t *ops, store_t *s, const char *thread_id,
                               const char *before_id, const json_t *metadata, int64_t limit,
                               json_t **out)
{
    json_t *list = NULL, *before = NULL, *res = NULL;
    const json_t *cp;
    store_rc_t rc;
    size_t i;

    *out = NULL;
    rc = ops->checkpoint_list(s, thread_id, "", before_id, metadata, limit, &list);
    if (rc != STORE_OK)
        goto Exit;
    if (before_id != NULL && ops->checkpoint_get(s, thread_id, "", before_id, &before) != STORE_OK)
        before = NULL;
    res = json_array();
    json_array_foreach(list, i, cp) {
        const char *id = json_string_value(json_object_get(cp, "checkpoint_id"));
        const json_t *child = id ? child_in(list, id) : NULL;
        const char *bp = json_string_value(json_object_get(before, "parent_checkpoint_id"));

        if (child == NULL && id != NULL && bp != NULL && strcmp(bp, id) == 0)
            child = before;
        json_array_append_new(res, graph_state_from_checkpoint(cp, child));
    }
    *out = res;
    res = NULL;
Exit:
    json_decref(list);
    json_decref(before);
    json_decref(res);
    return rc;
}
