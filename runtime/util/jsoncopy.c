/*
 * runtime/util/jsoncopy.c — container copies of jansson values (contract in jsoncopy.h).
 */
#include "util/jsoncopy.h"

/* The copy of jsoncopy_containers at nesting `depth`. */
static json_t *copy_value(const json_t *v, int depth)
{
    json_t *res = NULL, *el, *c;
    void *it;
    size_t i;

    if (v == NULL || depth > JSONCOPY_MAX_DEPTH)
        return NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        if ((res = json_object()) == NULL)
            goto Fail;
        for (it = json_object_iter((json_t *)v); it != NULL; it = json_object_iter_next((json_t *)v, it)) {
            if ((c = copy_value(json_object_iter_value(it), depth + 1)) == NULL ||
                json_object_setn_new_nocheck(res, json_object_iter_key(it), json_object_iter_key_len(it), c) != 0)
                goto Fail;
        }
        return res;
    case JSON_ARRAY:
        if ((res = json_array()) == NULL)
            goto Fail;
        json_array_foreach(v, i, el)
        {
            if (json_array_append_new(res, copy_value(el, depth + 1)) != 0)
                goto Fail;
        }
        return res;
    default:
        return json_incref((json_t *)v);
    }
Fail:
    json_decref(res);
    return NULL;
}

json_t *jsoncopy_containers(const json_t *v)
{
    return copy_value(v, 0);
}
