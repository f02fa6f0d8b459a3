/*
 * runtime/store/store.c — the backend-independent part of the storage interface: the
 * per-thread error message, return-code names, and the JSON predicates both backends must agree
 * on (jsonb-style containment, owner visibility, store item filters). store_pg expresses the
 * same predicates in SQL; the contract suite checks both against each other's behaviour.
 * Also the per-thread deferred-durability mode (store.h) and its blocking wait, and the shared
 * reads' fallback to the copying ones.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/time.h"

static _Thread_local char last_error[256];
static _Thread_local int defer_active;
static _Thread_local uint64_t defer_pos;

/* State of one store_wait_durable call, on the waiter's stack. */
typedef struct durable_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    store_rc_t rc;
} durable_wait_t;

void store_defer_begin(void)
{
    defer_active = 1;
    defer_pos = 0;
}

uint64_t store_defer_end(void)
{
    uint64_t pos = defer_pos;

    defer_active = 0;
    defer_pos = 0;
    return pos;
}

int store_defer_active(void)
{
    return defer_active;
}

void store_defer_note(uint64_t pos)
{
    if (pos > defer_pos)
        defer_pos = pos;
}

static void on_durable_wake(void *user, store_rc_t rc)
{
    durable_wait_t *dw = user;

    pthread_mutex_lock(&dw->mu);
    dw->rc = rc;
    dw->done = 1;
    pthread_cond_signal(&dw->cv);
    pthread_mutex_unlock(&dw->mu);
}

store_rc_t store_wait_durable(const store_ops_t *ops, store_t *s, uint64_t pos)
{
    durable_wait_t dw = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, STORE_OK};

    if (pos == 0)
        return STORE_OK;
    if (ops->wait_durable != NULL)
        return ops->wait_durable(s, pos);
    if (ops->when_durable == NULL)
        return STORE_OK;
    ops->when_durable(s, pos, on_durable_wake, &dw);
    pthread_mutex_lock(&dw.mu);
    while (!dw.done)
        pthread_cond_wait(&dw.cv, &dw.mu);
    pthread_mutex_unlock(&dw.mu);
    pthread_cond_destroy(&dw.cv);
    pthread_mutex_destroy(&dw.mu);
    if (dw.rc != STORE_OK)
        return store_fail(dw.rc, "the write could not be made durable");
    return STORE_OK;
}

store_rc_t store_assistant_get_shared(const store_ops_t *ops, store_t *s, const char *id,
                                      const char *owner, json_t **out)
{
    if (ops->assistant_get_shared != NULL)
        return ops->assistant_get_shared(s, id, owner, out);
    return ops->assistant_get(s, id, owner, out);
}

store_rc_t store_thread_get_shared(const store_ops_t *ops, store_t *s, const char *id,
                                   const char *owner, json_t **out)
{
    if (ops->thread_get_shared != NULL)
        return ops->thread_get_shared(s, id, owner, out);
    return ops->thread_get(s, id, owner, out);
}

store_rc_t store_checkpoint_get_shared(const store_ops_t *ops, store_t *s, const char *thread_id,
                                       const char *ns, const char *checkpoint_id, json_t **out)
{
    if (ops->checkpoint_get_shared != NULL)
        return ops->checkpoint_get_shared(s, thread_id, ns, checkpoint_id, out);
    return ops->checkpoint_get(s, thread_id, ns, checkpoint_id, out);
}

const char *store_last_error(void)
{
    return last_error;
}

store_rc_t store_fail(store_rc_t rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return rc;
}

const char *store_rc_name(store_rc_t rc)
{
    switch (rc) {
    case STORE_OK:
        return "ok";
    case STORE_NOT_FOUND:
        return "not found";
    case STORE_CONFLICT:
        return "conflict";
    case STORE_INVALID:
        return "invalid argument";
    case STORE_IO:
        return "i/o error";
    case STORE_NOMEM:
        return "out of memory";
    case STORE_CORRUPT:
        return "corrupt data";
    case STORE_UNSUPPORTED:
        return "unsupported";
    }
    return "unknown";
}

/* Scalar equality with numbers compared by value (jansson's json_equal says 1 != 1.0). */
static int scalar_equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    return json_equal((json_t *)a, (json_t *)b);
}

int store_json_contains(const json_t *haystack, const json_t *needle)
{
    const char *key;
    json_t *nv;
    size_t i, j;

    if (needle == NULL)
        return 1;
    if (haystack == NULL)
        return 0;
    if (json_is_object(needle)) {
        if (!json_is_object(haystack))
            return 0;
        json_object_foreach((json_t *)needle, key, nv) {
            if (!store_json_contains(json_object_get(haystack, key), nv))
                return 0;
        }
        return 1;
    }
    if (json_is_array(needle)) {
        if (!json_is_array(haystack))
            return 0;
        for (i = 0; i < json_array_size(needle); i++) {
            int found = 0;
            for (j = 0; j < json_array_size(haystack) && !found; j++)
                found = store_json_contains(json_array_get(haystack, j), json_array_get(needle, i));
            if (!found)
                return 0;
        }
        return 1;
    }
    return scalar_equal(haystack, needle);
}

int store_owner_visible(const json_t *obj, const char *owner)
{
    const char *o;

    if (owner == NULL)
        return 1;
    o = json_string_value(json_object_get(json_object_get(obj, "metadata"), "owner"));
    return o != NULL && strcmp(o, owner) == 0;
}

int store_assistant_is_system(const json_t *a)
{
    const json_t *m = json_object_get(a, "metadata");
    const char *by = json_string_value(json_object_get(m, "created_by"));

    return by != NULL && strcmp(by, "system") == 0 && json_object_get(m, "owner") == NULL;
}

int store_assistant_readable(const json_t *a, const char *owner)
{
    return store_owner_visible(a, owner) || store_assistant_is_system(a);
}

/* The value at dotted `path` inside object `v`, or NULL (borrowed). */
static json_t *lookup_path(const json_t *v, const char *path)
{
    char part[256];
    const char *dot;
    size_t n;

    while (v != NULL && (dot = strchr(path, '.')) != NULL) {
        n = (size_t)(dot - path);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path = dot + 1;
    }
    return v != NULL ? json_object_get(v, path) : NULL;
}

/* Three-way comparison for $gt & co: sets *cmp and returns 0, or -1 when not comparable. */
static int compare(const json_t *a, const json_t *b, int *cmp)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        *cmp = x < y ? -1 : x > y;
        return 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        int c = strcmp(json_string_value(a), json_string_value(b));
        *cmp = c < 0 ? -1 : c > 0;
        return 0;
    }
    return -1;
}

/* One operator against field value `have` (NULL when missing). Returns 1, 0, or -1 (unknown). */
static int apply_op(const char *op, const json_t *have, const json_t *want)
{
    int cmp;

    if (strcmp(op, "$eq") == 0)
        return have != NULL && scalar_equal(have, want);
    if (strcmp(op, "$ne") == 0)
        return have == NULL || !scalar_equal(have, want);
    if (strcmp(op, "$gt") != 0 && strcmp(op, "$gte") != 0 && strcmp(op, "$lt") != 0 &&
        strcmp(op, "$lte") != 0)
        return -1;
    if (have == NULL || compare(have, want, &cmp) != 0)
        return 0;
    if (strcmp(op, "$gt") == 0)
        return cmp > 0;
    if (strcmp(op, "$gte") == 0)
        return cmp >= 0;
    if (strcmp(op, "$lt") == 0)
        return cmp < 0;
    return cmp <= 0;
}

/* 1 when `cond` is an operator object: non-empty, every key starting with '$'. */
static int is_operator_object(const json_t *cond)
{
    const char *key;
    json_t *v;

    if (!json_is_object(cond) || json_object_size(cond) == 0)
        return 0;
    json_object_foreach((json_t *)cond, key, v) {
        if (key[0] != '$')
            return 0;
    }
    return 1;
}

int store_item_filter_match(const json_t *value, const json_t *filter)
{
    const char *field, *op;
    json_t *cond, *want;
    int r;

    if (filter == NULL || json_is_null(filter))
        return 1;
    if (!json_is_object(filter))
        return -1;
    json_object_foreach((json_t *)filter, field, cond) {
        json_t *have = lookup_path(value, field);
        if (!is_operator_object(cond)) {
            if (have == NULL || !scalar_equal(have, cond))
                return 0;
            continue;
        }
        json_object_foreach(cond, op, want) {
            if ((r = apply_op(op, have, want)) != 1)
                return r;
        }
    }
    return 1;
}

json_t *store_json_time(int64_t us)
{
    char buf[TIME_RFC3339_SIZE];
    size_t n = time_format_rfc3339(us, 0, buf, sizeof(buf));

    /* ASCII by construction: no UTF-8 check needed */
    return n != 0 ? json_stringn_nocheck(buf, n) : json_null();
}
