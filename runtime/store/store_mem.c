/*
 * runtime/store/store_mem.c — the embedded backend: every object in memory, every change in a
 * durable append-only log (wal.h) that is replayed at open and compacted into a snapshot when
 * it grows. Exposes only store_mem_ops().
 *
 * Model. Each collection is a hash map by id plus a list in creation order (searches scan the
 * list, filter, sort and page). A thread owns its runs (a list in creation order) and its
 * checkpoints (an array in storage order); runs that are pending or running also sit on one
 * global "active" list in creation order, which is what run_claim scans.
 *
 * Changes. A mutation computes the complete new state of what it touches, takes the index
 * write lock, appends one log record (a full object, a delete, or a batch of those) and
 * applies that very record with the function replay uses, releases the lock, and only then
 * waits for the log to reach the disk. Records are therefore idempotent and the log order is
 * the apply order. Readers may see a change a moment before its writer is acknowledged; a
 * crash in that window loses it, as it would lose an unacknowledged commit anywhere.
 *
 * Locking: one rwlock over all indexes, writer-preferring so searches cannot starve changes;
 * mutations also hold write_mu, which is all a compaction takes, and only while it switches to
 * a new log and captures references to the current objects: the snapshot is written by a
 * compactor thread afterwards, while readers and writers continue. Stored json_t values are
 * never modified once indexed (changes replace them; jansson's reference counts are atomic),
 * so results are copies made under the lock (jsoncopy: new containers, shared scalars), or,
 * for the *_get_shared reads, references to the stored objects themselves.
 */
#include "store/store.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "store/wal.h"
#include "util/jsoncopy.h"
#include "util/jsonw.h"
#include "util/time.h"
#include "util/uuid.h"

#define DEFAULT_DATA_DIR "./.lgserve"
#define DEFAULT_COMPACT_BYTES (UINT64_C(64) << 20)
#define MAX_BATCH_DELAY_US 5000
#define NO_TIME INT64_MAX

/* Log record types. */
enum {
    R_ASSISTANT_PUT = 1, /* {assistant: <version object>, latest: bool} */
    R_ASSISTANT_LATEST,  /* {assistant_id, version} */
    R_ASSISTANT_DEL,     /* {assistant_id} */
    R_THREAD_PUT,        /* <thread> */
    R_THREAD_DEL,        /* {thread_id}: with its runs and checkpoints */
    R_RUN_PUT,           /* {run: <run>, not_before: µs} */
    R_RUN_DEL,           /* {run_id} */
    R_CKPT_PUT,          /* <checkpoint> */
    R_CKPT_DEL,          /* {thread_id, run_id?, keep_latest?} */
    R_ITEM_PUT,          /* {scope, item: <item>, expires_us, ttl_minutes, index} */
    R_ITEM_DEL,          /* {scope, namespace, key} */
    R_ITEM_SWEEP,        /* {before_us}: drop items expired by then */
    R_CRON_PUT,          /* <cron> */
    R_CRON_DEL,          /* {cron_id} */
    R_BATCH,             /* {ops: [[type, payload], ...]} applied as one */
    R_THREAD_SET,        /* {thread_id, set: {member: value}, del?: [member]}: the stored thread
                            with those members replaced (in place) or added (at the end, in
                            order) and those removed; a patch logs only what it changes */
    R_RUN_SET            /* {run_id, set: {member: value}}: likewise for a run (status) */
};
/* Logs written before R_THREAD_SET and R_RUN_SET existed (a patch was an R_THREAD_PUT /
 * R_RUN_PUT of the whole object) replay unchanged. A binary older than them refuses a log
 * holding them as corrupt (unknown record type). Snapshots hold whole objects only. */

typedef struct ent ent_t;

/* One indexed object. Fields past the common ones are used by one kind only. */
struct ent {
    char *id;     /* hash key (malloc'd) */
    json_t *obj;  /* the object as the contract shows it (owned reference) */
    uint64_t seq; /* creation order */
    int64_t created_us, updated_us;
    int64_t t1_us; /* thread: state_updated_at; cron: next_run_date; item: expires */
    int64_t t2_us; /* thread: ttl expiry; cron: end_time */
    ent_t *prev, *next, *hnext;

    json_t *versions; /* assistant: version objects, ascending */

    ent_t *runs_head, *runs_tail; /* thread: its runs */
    ent_t **ckpts;                /* thread: its checkpoints, storage order */
    size_t n_ckpts, cap_ckpts;
    int n_running;
    uint64_t scan_mark;

    ent_t *thread;        /* run: its thread */
    ent_t *tprev, *tnext; /* run: within the thread */
    ent_t *aprev, *anext; /* run: on the active list */
    int active, running;
    int64_t not_before_us;

    json_t *record; /* item: its R_ITEM_PUT payload (scope, ttl, index) */
    const char *scope;
};

typedef struct coll {
    ent_t **b;
    size_t nb, n;
    ent_t *head, *tail;
} coll_t;

struct store {
    pthread_mutex_t write_mu;   /* held by every mutation, and by a compaction */
    pthread_rwlock_t lock;      /* the indexes: shared by readers, exclusive to a mutation */
    pthread_mutex_t compact_mu; /* one compaction at a time */
    pthread_mutex_t bg_mu;      /* the compactor thread's fields below */
    pthread_cond_t bg_cv;
    pthread_t bg;
    int bg_started, bg_wanted, bg_stop;
    store_wal_t *wal;
    uint64_t compact_bytes;
    uint64_t seq, scan_id;
    coll_t assistants, threads, runs, items, crons;
    ent_t *act_head, *act_tail;
};

/* Mutations take write_mu then the index lock exclusively. A compaction takes write_mu alone,
 * and only while it switches logs and captures the state (compact_locked): no change can
 * happen meanwhile, yet readers carry on. */
static void write_lock(store_t *s)
{
    pthread_mutex_lock(&s->write_mu);
    pthread_rwlock_wrlock(&s->lock);
}

static void write_unlock(store_t *s)
{
    pthread_rwlock_unlock(&s->lock);
    pthread_mutex_unlock(&s->write_mu);
}

/* ------------------------------------------------------------------------------------------ */
/* hash map + creation-order list                                                             */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

static ent_t *coll_get(const coll_t *c, const char *id)
{
    ent_t *e;

    if (c->nb == 0 || id == NULL)
        return NULL;
    for (e = c->b[hash_str(id) & (c->nb - 1)]; e != NULL; e = e->hnext) {
        if (strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

static int coll_grow(coll_t *c)
{
    size_t nb = c->nb ? c->nb * 2 : 64, i;
    ent_t **b = calloc(nb, sizeof(*b)), *e, *next;

    if (b == NULL)
        return -1;
    for (i = 0; i < c->nb; i++) {
        for (e = c->b[i]; e != NULL; e = next) {
            next = e->hnext;
            e->hnext = b[hash_str(e->id) & (nb - 1)];
            b[hash_str(e->id) & (nb - 1)] = e;
        }
    }
    free(c->b);
    c->b = b;
    c->nb = nb;
    return 0;
}

/* Adds `e` (whose id is set) to the map and the end of the list. Returns 0 or -1. */
static int coll_add(coll_t *c, ent_t *e)
{
    size_t h;

    if (c->n + 1 > c->nb && coll_grow(c) != 0)
        return -1;
    h = hash_str(e->id) & (c->nb - 1);
    e->hnext = c->b[h];
    c->b[h] = e;
    e->prev = c->tail;
    e->next = NULL;
    if (c->tail)
        c->tail->next = e;
    else
        c->head = e;
    c->tail = e;
    c->n++;
    return 0;
}

static void coll_unlink(coll_t *c, ent_t *e)
{
    ent_t **pp = &c->b[hash_str(e->id) & (c->nb - 1)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    c->n--;
}

static void ent_free(ent_t *e)
{
    size_t i;

    if (e == NULL)
        return;
    for (i = 0; i < e->n_ckpts; i++)
        ent_free(e->ckpts[i]);
    free(e->ckpts);
    json_decref(e->obj);
    json_decref(e->versions);
    json_decref(e->record);
    free(e->id);
    free(e);
}

static ent_t *ent_new(const char *id)
{
    ent_t *e = calloc(1, sizeof(*e));

    if (e == NULL || (e->id = strdup(id)) == NULL) {
        free(e);
        return NULL;
    }
    e->t1_us = e->t2_us = NO_TIME;
    return e;
}

static void coll_free(coll_t *c)
{
    ent_t *e, *next;

    for (e = c->head; e != NULL; e = next) {
        next = e->next;
        ent_free(e);
    }
    free(c->b);
    memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------------------------ */
/* small JSON helpers                                                                         */

static const char *str_field(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* µs of timestamp field `k` of `o`, NO_TIME when absent, null or unparsable. */
static int64_t time_field(const json_t *o, const char *k)
{
    int64_t us;
    const char *s = str_field(o, k);

    return s != NULL && time_parse_rfc3339(s, &us, NULL) == 0 ? us : NO_TIME;
}

/* Canonical lower-case form of UUID `in` into `out`. Returns 0, or -1 when not a UUID. */
static int canon_id(const char *in, char out[UUID_STR_SIZE])
{
    uuid_bytes_t u;

    if (uuid_parse(in, &u) != 0)
        return -1;
    uuid_format(&u, out);
    return 0;
}

/*
 * Reads optional id field `k` of `in` into `out` (canonical), generating one (v7 when `v7`,
 * else v4) when absent or null. Returns STORE_OK or STORE_INVALID.
 */
static store_rc_t id_field(const json_t *in, const char *k, int v7, char out[UUID_STR_SIZE])
{
    json_t *v = json_object_get(in, k);

    if (v == NULL || json_is_null(v)) {
        if ((v7 ? uuid_v7_str(out) : uuid_v4_str(out)) != 0)
            return store_fail(STORE_IO, "the random number generator failed");
        return STORE_OK;
    }
    if (!json_is_string(v) || canon_id(json_string_value(v), out) != 0)
        return store_fail(STORE_INVALID, "%s: expected a UUID", k);
    return STORE_OK;
}

/* Sets key `k` of `dst` to `in`[k] when present and an object — a copy, or with `keep` the value
 * itself (run_create's contract, store.h) — else to {}. Returns STORE_OK, or STORE_INVALID when
 * present but not an object. */
static store_rc_t object_field(json_t *dst, const json_t *in, const char *k, int keep)
{
    json_t *v = json_object_get(in, k);

    if (v != NULL && !json_is_null(v) && !json_is_object(v))
        return store_fail(STORE_INVALID, "%s: expected an object", k);
    if (v == NULL || json_is_null(v))
        v = json_object();
    else
        v = keep ? json_incref(v) : jsoncopy_containers(v);
    json_object_set_new_nocheck(dst, k, v);
    return STORE_OK;
}

/* object_field with a copy. */
static store_rc_t set_object_field(json_t *dst, const json_t *in, const char *k)
{
    return object_field(dst, in, k, 0);
}

/* Merges object `patch`[k] (if present) into a copy of `dst`[k]. Returns STORE_OK or
 * STORE_INVALID when the patch value is not an object. */
static store_rc_t merge_object_field(json_t *dst, const json_t *patch, const char *k)
{
    json_t *v = json_object_get(patch, k), *merged;

    if (v == NULL || json_is_null(v))
        return STORE_OK;
    if (!json_is_object(v))
        return store_fail(STORE_INVALID, "%s: expected an object", k);
    merged = json_is_object(json_object_get(dst, k)) ? jsoncopy_containers(json_object_get(dst, k))
                                                     : json_object();
    json_object_update(merged, v);
    json_object_set_new(dst, k, merged);
    return STORE_OK;
}

static json_t *copy_out(const json_t *o)
{
    return jsoncopy_containers(o);
}

/* The base of a changed object: a new top-level object whose members are shared with `o`
 * (indexed values are never modified in place, so the change may only set or delete members
 * of the copy; a member it changes inside, like merged metadata, it copies first). Saves
 * copying what the change keeps, e.g. a thread's values or a run's input. */
static json_t *shallow_copy(const json_t *o)
{
    return json_copy((json_t *)o);
}

static int64_t norm_offset(int64_t offset)
{
    return offset < 0 ? 0 : offset;
}

/* ------------------------------------------------------------------------------------------ */
/* sorting and paging                                                                         */

enum { K_ID, K_CREATED, K_UPDATED, K_T1, K_T2, K_STR };

typedef struct sort_spec {
    int kind;
    const char *field; /* K_STR */
    int desc;
} sort_spec_t;

typedef struct sort_key {
    const char *name;
    int kind;
    const char *field;
} sort_key_t;

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

static int cmp_ent(const void *pa, const void *pb, void *ctx)
{
    const ent_t *a = *(ent_t *const *)pa, *b = *(ent_t *const *)pb;
    const sort_spec_t *sp = ctx;
    const char *sa, *sb;
    int c = 0;

    switch (sp->kind) {
    case K_ID:
        c = strcmp(a->id, b->id);
        break;
    case K_CREATED:
        c = cmp_i64(a->created_us, b->created_us);
        break;
    case K_UPDATED:
        c = cmp_i64(a->updated_us, b->updated_us);
        break;
    case K_T1:
        c = cmp_i64(a->t1_us, b->t1_us);
        break;
    case K_T2:
        c = cmp_i64(a->t2_us, b->t2_us);
        break;
    default:
        sa = str_field(a->obj, sp->field);
        sb = str_field(b->obj, sp->field);
        c = sa == NULL ? (sb == NULL ? 0 : 1) : sb == NULL ? -1 : strcmp(sa, sb);
        break;
    }
    if (c == 0)
        c = cmp_i64((int64_t)a->seq, (int64_t)b->seq);
    return sp->desc ? -c : c;
}

/* Resolves sort_by/sort_order against `keys` (NULL-terminated). Returns STORE_OK or INVALID. */
static store_rc_t sort_resolve(const sort_key_t *keys, const char *by, const char *order,
                               const char *dflt_by, sort_spec_t *out)
{
    const sort_key_t *k;

    if (by == NULL)
        by = dflt_by;
    for (k = keys; k->name != NULL && strcmp(k->name, by) != 0; k++)
        ;
    if (k->name == NULL)
        return store_fail(STORE_INVALID, "sort_by: unknown field '%s'", by);
    out->kind = k->kind;
    out->field = k->field;
    if (order == NULL || strcmp(order, "desc") == 0)
        out->desc = 1;
    else if (strcmp(order, "asc") == 0)
        out->desc = 0;
    else
        return store_fail(STORE_INVALID, "sort_order: expected asc or desc, not '%s'", order);
    return STORE_OK;
}

/* A growable array of entry pointers. */
typedef struct ent_vec {
    ent_t **v;
    size_t n, cap;
} ent_vec_t;

static int vec_push(ent_vec_t *vec, ent_t *e)
{
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 64;
        ent_t **v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = e;
    return 0;
}

static void vec_sort(ent_vec_t *vec, sort_spec_t *sp)
{
    if (vec->n > 1)
        qsort_r(vec->v, vec->n, sizeof(*vec->v), cmp_ent, sp);
}

/* Copies v[offset .. offset+limit) out as a new JSON array (new reference). */
static json_t *page_out(const ent_vec_t *vec, int64_t limit, int64_t offset)
{
    json_t *arr = json_array();
    size_t i = (size_t)norm_offset(offset);

    for (; i < vec->n && (limit <= 0 || (int64_t)json_array_size(arr) < limit); i++)
        json_array_append_new(arr, copy_out(vec->v[i]->obj));
    return arr;
}

/* ------------------------------------------------------------------------------------------ */
/* applying records (live and at replay)                                                      */

static int apply(store_t *s, int type, json_t *p);

static void active_remove(store_t *s, ent_t *r)
{
    if (!r->active)
        return;
    if (r->aprev)
        r->aprev->anext = r->anext;
    else
        s->act_head = r->anext;
    if (r->anext)
        r->anext->aprev = r->aprev;
    else
        s->act_tail = r->aprev;
    r->aprev = r->anext = NULL;
    r->active = 0;
}

/* Inserts run `r` into the active list at its creation-order place. */
static void active_insert(store_t *s, ent_t *r)
{
    ent_t *after = s->act_tail;

    if (r->active)
        return;
    while (after != NULL && after->seq > r->seq)
        after = after->aprev;
    r->aprev = after;
    r->anext = after ? after->anext : s->act_head;
    if (r->anext)
        r->anext->aprev = r;
    else
        s->act_tail = r;
    if (after)
        after->anext = r;
    else
        s->act_head = r;
    r->active = 1;
}

static void run_unlink(store_t *s, ent_t *r)
{
    ent_t *t = r->thread;

    active_remove(s, r);
    if (r->running)
        t->n_running--;
    if (r->tprev)
        r->tprev->tnext = r->tnext;
    else
        t->runs_head = r->tnext;
    if (r->tnext)
        r->tnext->tprev = r->tprev;
    else
        t->runs_tail = r->tprev;
    coll_unlink(&s->runs, r);
}

static void set_times(ent_t *e)
{
    e->created_us = time_field(e->obj, "created_at");
    e->updated_us = time_field(e->obj, "updated_at");
}

static int apply_assistant_put(store_t *s, json_t *p)
{
    json_t *a = json_object_get(p, "assistant");
    const char *id = str_field(a, "assistant_id");
    json_int_t ver = json_integer_value(json_object_get(a, "version"));
    ent_t *e;
    size_t i;

    if (id == NULL || ver <= 0)
        return -1;
    if ((e = coll_get(&s->assistants, id)) == NULL) {
        if ((e = ent_new(id)) == NULL || (e->versions = json_array()) == NULL) {
            ent_free(e);
            return -1;
        }
        e->seq = ++s->seq;
        if (coll_add(&s->assistants, e) != 0) {
            ent_free(e);
            return -1;
        }
    }
    for (i = 0; i < json_array_size(e->versions); i++) {
        json_int_t v =
            json_integer_value(json_object_get(json_array_get(e->versions, i), "version"));
        if (v >= ver)
            break;
    }
    if (i < json_array_size(e->versions) &&
        json_integer_value(json_object_get(json_array_get(e->versions, i), "version")) == ver)
        json_array_set(e->versions, i, a);
    else
        json_array_insert(e->versions, i, a);
    if (json_is_true(json_object_get(p, "latest")) || e->obj == NULL) {
        json_decref(e->obj);
        e->obj = json_incref(a);
        set_times(e);
    }
    return 0;
}

/* The version object `ver` of assistant `e` (borrowed), or NULL. */
static json_t *assistant_version(const ent_t *e, json_int_t ver)
{
    size_t i;
    json_t *v;

    json_array_foreach(e->versions, i, v) {
        if (json_integer_value(json_object_get(v, "version")) == ver)
            return v;
    }
    return NULL;
}

static int apply_assistant_latest(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->assistants, str_field(p, "assistant_id"));
    json_t *v;

    if (e == NULL ||
        (v = assistant_version(e, json_integer_value(json_object_get(p, "version")))) == NULL)
        return -1;
    json_decref(e->obj);
    e->obj = json_incref(v);
    set_times(e);
    return 0;
}

static int apply_assistant_del(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->assistants, str_field(p, "assistant_id"));

    if (e != NULL) {
        coll_unlink(&s->assistants, e);
        ent_free(e);
    }
    return 0;
}

static void thread_times(ent_t *e)
{
    set_times(e);
    e->t1_us = time_field(e->obj, "state_updated_at");
    e->t2_us = time_field(json_object_get(e->obj, "ttl"), "expires_at");
}

/* Makes `o` (steals) the stored object of thread `e`. */
static void thread_store(ent_t *e, json_t *o)
{
    json_decref(e->obj);
    e->obj = o;
    thread_times(e);
}

static int apply_thread_put(store_t *s, json_t *p)
{
    const char *id = str_field(p, "thread_id");
    ent_t *e;

    if (id == NULL)
        return -1;
    if ((e = coll_get(&s->threads, id)) == NULL) {
        if ((e = ent_new(id)) == NULL)
            return -1;
        e->seq = ++s->seq;
        if (coll_add(&s->threads, e) != 0) {
            ent_free(e);
            return -1;
        }
    }
    thread_store(e, json_incref(p));
    return 0;
}

/* Stored object `old` changed by the set/del of record `p` (R_THREAD_SET, R_RUN_SET), or NULL
 * when `p` is malformed. New reference; the members it keeps and sets are shared. */
static json_t *changed_object(const json_t *old, const json_t *p)
{
    json_t *set = json_object_get(p, "set"), *del = json_object_get(p, "del"), *o, *v;
    const char *k;
    size_t i;

    if (!json_is_object(set) || (del != NULL && !json_is_array(del)) ||
        (o = shallow_copy(old)) == NULL)
        return NULL;
    json_object_foreach(set, k, v) {
        if (json_object_set(o, k, v) != 0)
            goto Fail;
    }
    json_array_foreach(del, i, v) {
        if (!json_is_string(v))
            goto Fail;
        json_object_del(o, json_string_value(v));
    }
    return o;
Fail:
    json_decref(o);
    return NULL;
}

/* The R_THREAD_SET / R_RUN_SET record (`id_key`: thread_id or run_id, `id` its value) that
 * changes stored object `old` into `now`, a shallow copy of `old` whose members were set or
 * deleted, never deleted and set again (both borrowed). New reference, or NULL. */
static json_t *change_record(const char *id_key, const char *id, const json_t *old, const json_t *now)
{
    json_t *p = json_object(), *set = json_object(), *del = NULL, *v;
    const char *k;

    /* built member by member (json_pack parses its format and checks each key and string) */
    if (p == NULL || set == NULL ||
        json_object_set_new_nocheck(p, id_key, json_stringn_nocheck(id, strlen(id))) != 0 ||
        json_object_set_nocheck(p, "set", set) != 0)
        goto Fail;
    json_object_foreach((json_t *)now, k, v) {
        if (json_object_get(old, k) != v && json_object_set_nocheck(set, k, v) != 0)
            goto Fail;
    }
    json_object_foreach((json_t *)old, k, v) {
        if (json_object_get(now, k) != NULL)
            continue;
        if ((del == NULL && (del = json_array()) == NULL) ||
            json_array_append_new(del, json_string_nocheck(k)) != 0)
            goto Fail;
    }
    if (del != NULL && json_object_set_new_nocheck(p, "del", del) != 0) {
        del = NULL;
        goto Fail;
    }
    json_decref(set);
    return p;
Fail:
    json_decref(p);
    json_decref(set);
    json_decref(del);
    return NULL;
}

static int apply_thread_set(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->threads, str_field(p, "thread_id"));
    json_t *o;

    if (e == NULL || (o = changed_object(e->obj, p)) == NULL)
        return -1;
    if (strcmp(str_field(o, "thread_id") ?: "", e->id) != 0) {
        json_decref(o);
        return -1;
    }
    thread_store(e, o);
    return 0;
}

static int apply_thread_del(store_t *s, json_t *p)
{
    ent_t *t = coll_get(&s->threads, str_field(p, "thread_id")), *r;

    if (t == NULL)
        return 0;
    while ((r = t->runs_head) != NULL) {
        run_unlink(s, r);
        ent_free(r);
    }
    coll_unlink(&s->threads, t);
    ent_free(t);
    return 0;
}

static int is_active_status(const char *st)
{
    return st != NULL && (strcmp(st, "pending") == 0 || strcmp(st, "running") == 0);
}

/* Makes `r` (steals) the stored object of run `e`, due at `not_before`, and files it by its
 * status. */
static void run_store(store_t *s, ent_t *e, json_t *r, int64_t not_before)
{
    const char *st = str_field(r, "status");

    json_decref(e->obj);
    e->obj = r;
    set_times(e);
    e->not_before_us = not_before;
    if (e->running)
        e->thread->n_running--;
    e->running = strcmp(st, "running") == 0;
    if (e->running)
        e->thread->n_running++;
    if (is_active_status(st))
        active_insert(s, e);
    else
        active_remove(s, e);
}

static int apply_run_put(store_t *s, json_t *p)
{
    json_t *r = json_object_get(p, "run");
    const char *id = str_field(r, "run_id"), *st = str_field(r, "status");
    ent_t *e, *t;

    if (id == NULL || st == NULL)
        return -1;
    if ((e = coll_get(&s->runs, id)) == NULL) {
        if ((t = coll_get(&s->threads, str_field(r, "thread_id"))) == NULL ||
            (e = ent_new(id)) == NULL)
            return -1;
        e->seq = ++s->seq;
        if (coll_add(&s->runs, e) != 0) {
            ent_free(e);
            return -1;
        }
        e->thread = t;
        e->tprev = t->runs_tail;
        if (t->runs_tail)
            t->runs_tail->tnext = e;
        else
            t->runs_head = e;
        t->runs_tail = e;
    }
    run_store(s, e, json_incref(r), json_integer_value(json_object_get(p, "not_before")));
    return 0;
}

static int apply_run_set(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->runs, str_field(p, "run_id"));
    json_t *r;

    if (e == NULL || (r = changed_object(e->obj, p)) == NULL)
        return -1;
    if (str_field(r, "status") == NULL || strcmp(str_field(r, "run_id") ?: "", e->id) != 0) {
        json_decref(r);
        return -1;
    }
    run_store(s, e, r, e->not_before_us);
    return 0;
}

static int apply_run_del(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->runs, str_field(p, "run_id"));

    if (e != NULL) {
        run_unlink(s, e);
        ent_free(e);
    }
    return 0;
}

static const char *ns_of(const json_t *cp)
{
    const char *ns = str_field(cp, "checkpoint_ns");

    return ns != NULL ? ns : "";
}

/* Index of checkpoint (ns, id) in thread `t`, or -1. */
static ssize_t ckpt_find(const ent_t *t, const char *ns, const char *id)
{
    size_t i;

    for (i = t->n_ckpts; i-- > 0;) {
        if (strcmp(t->ckpts[i]->id, id) == 0 && strcmp(ns_of(t->ckpts[i]->obj), ns) == 0)
            return (ssize_t)i;
    }
    return -1;
}

static int apply_ckpt_put(store_t *s, json_t *p)
{
    ent_t *t = coll_get(&s->threads, str_field(p, "thread_id")), *c;
    const char *id = str_field(p, "checkpoint_id");
    ssize_t i;

    if (t == NULL || id == NULL)
        return -1;
    if ((i = ckpt_find(t, ns_of(p), id)) >= 0) {
        c = t->ckpts[i];
        json_decref(c->obj);
        c->obj = json_incref(p);
        return 0;
    }
    if (t->n_ckpts == t->cap_ckpts) {
        size_t cap = t->cap_ckpts ? t->cap_ckpts * 2 : 8;
        ent_t **v = realloc(t->ckpts, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        t->ckpts = v;
        t->cap_ckpts = cap;
    }
    if ((c = ent_new(id)) == NULL)
        return -1;
    c->seq = ++s->seq;
    c->obj = json_incref(p);
    set_times(c);
    t->ckpts[t->n_ckpts++] = c;
    return 0;
}

/* 1 when checkpoint t->ckpts[i] is the latest of its namespace. */
static int ckpt_is_latest(const ent_t *t, size_t i)
{
    const char *ns = ns_of(t->ckpts[i]->obj);
    size_t j;

    for (j = i + 1; j < t->n_ckpts; j++) {
        if (strcmp(ns_of(t->ckpts[j]->obj), ns) == 0)
            return 0;
    }
    return 1;
}

/* 1 when record R_CKPT_DEL `p` deletes checkpoint t->ckpts[i]. */
static int ckpt_del_matches(const ent_t *t, size_t i, const json_t *p)
{
    const char *run_id = str_field(p, "run_id"), *cr;

    if (json_is_true(json_object_get(p, "keep_latest")))
        return !ckpt_is_latest(t, i);
    if (run_id == NULL)
        return 1;
    cr = str_field(t->ckpts[i]->obj, "run_id");
    return cr != NULL && strcmp(cr, run_id) == 0;
}

static int apply_ckpt_del(store_t *s, json_t *p)
{
    ent_t *t = coll_get(&s->threads, str_field(p, "thread_id"));
    size_t i, n = 0;
    char *del;

    if (t == NULL || t->n_ckpts == 0)
        return 0;
    if ((del = calloc(t->n_ckpts, 1)) == NULL)
        return -1;
    for (i = 0; i < t->n_ckpts; i++)
        del[i] = (char)ckpt_del_matches(t, i, p);
    for (i = 0; i < t->n_ckpts; i++) {
        if (del[i])
            ent_free(t->ckpts[i]);
        else
            t->ckpts[n++] = t->ckpts[i];
    }
    t->n_ckpts = n;
    free(del);
    return 0;
}

/* The map key of an item: JSON text of [scope, namespace, key]; malloc'd, caller frees. */
static char *item_key(const char *scope, const json_t *ns, const char *key)
{
    json_t *k = json_pack("[sOs]", scope != NULL ? scope : "", ns, key);
    char *s = k != NULL ? jsonw_dumps(k, NULL) : NULL;

    json_decref(k);
    return s;
}

static int apply_item_put(store_t *s, json_t *p)
{
    json_t *item = json_object_get(p, "item");
    const char *key = str_field(item, "key");
    json_t *exp = json_object_get(p, "expires_us");
    char *k;
    ent_t *e;

    if (key == NULL ||
        (k = item_key(str_field(p, "scope"), json_object_get(item, "namespace"), key)) == NULL)
        return -1;
    if ((e = coll_get(&s->items, k)) == NULL) {
        if ((e = ent_new(k)) == NULL) {
            free(k);
            return -1;
        }
        e->seq = ++s->seq;
        if (coll_add(&s->items, e) != 0) {
            ent_free(e);
            free(k);
            return -1;
        }
    }
    free(k);
    json_decref(e->obj);
    json_decref(e->record);
    e->obj = json_incref(item);
    e->record = json_incref(p);
    e->scope = str_field(p, "scope");
    set_times(e);
    e->t1_us = json_is_integer(exp) ? json_integer_value(exp) : NO_TIME;
    return 0;
}

static int apply_item_del(store_t *s, json_t *p)
{
    char *k = item_key(str_field(p, "scope"), json_object_get(p, "namespace"), str_field(p, "key"));
    ent_t *e;

    if (k == NULL)
        return -1;
    if ((e = coll_get(&s->items, k)) != NULL) {
        coll_unlink(&s->items, e);
        ent_free(e);
    }
    free(k);
    return 0;
}

static int apply_item_sweep(store_t *s, json_t *p)
{
    int64_t before = json_integer_value(json_object_get(p, "before_us"));
    ent_t *e, *next;

    for (e = s->items.head; e != NULL; e = next) {
        next = e->next;
        if (e->t1_us <= before) {
            coll_unlink(&s->items, e);
            ent_free(e);
        }
    }
    return 0;
}

static int apply_cron_put(store_t *s, json_t *p)
{
    const char *id = str_field(p, "cron_id");
    ent_t *e;

    if (id == NULL)
        return -1;
    if ((e = coll_get(&s->crons, id)) == NULL) {
        if ((e = ent_new(id)) == NULL)
            return -1;
        e->seq = ++s->seq;
        if (coll_add(&s->crons, e) != 0) {
            ent_free(e);
            return -1;
        }
    }
    json_decref(e->obj);
    e->obj = json_incref(p);
    set_times(e);
    e->t1_us = time_field(p, "next_run_date");
    e->t2_us = time_field(p, "end_time");
    return 0;
}

static int apply_cron_del(store_t *s, json_t *p)
{
    ent_t *e = coll_get(&s->crons, str_field(p, "cron_id"));

    if (e != NULL) {
        coll_unlink(&s->crons, e);
        ent_free(e);
    }
    return 0;
}

static int apply_batch(store_t *s, json_t *p)
{
    json_t *op;
    size_t i;

    json_array_foreach(json_object_get(p, "ops"), i, op) {
        if (apply(s, (int)json_integer_value(json_array_get(op, 0)), json_array_get(op, 1)) != 0)
            return -1;
    }
    return 0;
}

/* Applies record (`type`, `p` borrowed; the indexes take their own references). 0 or -1. */
static int apply(store_t *s, int type, json_t *p)
{
    if (!json_is_object(p))
        return -1;
    switch (type) {
    case R_ASSISTANT_PUT:
        return apply_assistant_put(s, p);
    case R_ASSISTANT_LATEST:
        return apply_assistant_latest(s, p);
    case R_ASSISTANT_DEL:
        return apply_assistant_del(s, p);
    case R_THREAD_PUT:
        return apply_thread_put(s, p);
    case R_THREAD_DEL:
        return apply_thread_del(s, p);
    case R_RUN_PUT:
        return apply_run_put(s, p);
    case R_RUN_DEL:
        return apply_run_del(s, p);
    case R_CKPT_PUT:
        return apply_ckpt_put(s, p);
    case R_CKPT_DEL:
        return apply_ckpt_del(s, p);
    case R_ITEM_PUT:
        return apply_item_put(s, p);
    case R_ITEM_DEL:
        return apply_item_del(s, p);
    case R_ITEM_SWEEP:
        return apply_item_sweep(s, p);
    case R_CRON_PUT:
        return apply_cron_put(s, p);
    case R_CRON_DEL:
        return apply_cron_del(s, p);
    case R_BATCH:
        return apply_batch(s, p);
    case R_THREAD_SET:
        return apply_thread_set(s, p);
    case R_RUN_SET:
        return apply_run_set(s, p);
    }
    return -1;
}

static int apply_cb(void *ctx, int type, json_t *payload)
{
    return apply(ctx, type, payload);
}

/* ------------------------------------------------------------------------------------------ */
/* committing                                                                                 */

/*
 * Logs record (`type`, `p`) and applies it. The caller holds the write lock and has checked
 * everything, so applying cannot fail on meaning. Steals `p`, even on failure. *lsn receives
 * the position to wait for.
 */
static store_rc_t commit(store_t *s, int type, json_t *p, uint64_t *lsn)
{
    store_rc_t rc;

    if (p == NULL)
        return store_fail(STORE_NOMEM, "out of memory");
    rc = store_wal_append(s->wal, type, p, lsn);
    if (rc == STORE_OK && apply(s, type, p) != 0)
        rc = store_fail(STORE_NOMEM, "out of memory while applying a change");
    json_decref(p);
    return rc;
}

/*
 * commit() of the R_THREAD_SET record that changes thread `e` into `t` (borrowed; a shallow
 * copy of the stored thread with members set or deleted, change_record's rule), except that
 * `t` itself is stored instead of the copy apply_thread_set would build from the record: the
 * same object (test_store_durable compares every replayed object with the live one, member
 * order included), built once. The caller holds the write lock.
 */
static store_rc_t commit_thread_change(store_t *s, ent_t *e, json_t *t, uint64_t *lsn)
{
    json_t *p = change_record("thread_id", e->id, e->obj, t);
    store_rc_t rc;

    if (p == NULL)
        return store_fail(STORE_NOMEM, "out of memory");
    rc = store_wal_append(s->wal, R_THREAD_SET, p, lsn);
    if (rc == STORE_OK)
        thread_store(e, json_incref(t));
    json_decref(p);
    return rc;
}

static void compact_request(store_t *s);

/* After the write lock is released: waits until `lsn` is durable (or, while the thread
 * defers durability, only records it: store_defer_note), then asks the compactor thread for a
 * compaction when the log has grown past the threshold (the caller never compacts itself). */
static store_rc_t finish(store_t *s, uint64_t lsn)
{
    store_rc_t rc = STORE_OK;

    if (lsn != 0 && store_defer_active()) {
        store_wal_nowait(s->wal);
        store_defer_note(lsn);
    } else {
        rc = store_wal_wait(s->wal, lsn);
    }

    if (rc == STORE_OK && store_wal_size(s->wal) > s->compact_bytes)
        compact_request(s);
    return rc;
}

/* The common end of a write that returns an object: when `rc` is STORE_OK, waits for (or
 * defers) durability with finish(), then hands *res (a new reference) to *out when the caller
 * wants it (out may be NULL) and clears *res; the caller decrefs whatever *res still holds. */
static store_rc_t finish_out(store_t *s, store_rc_t rc, uint64_t lsn, json_t **res, json_t **out)
{
    if (rc == STORE_OK)
        rc = finish(s, lsn);
    if (rc == STORE_OK && out != NULL) {
        *out = *res;
        *res = NULL;
    }
    return rc;
}

/* {<k>: <id>}: the payload of a delete record; `id` is an indexed id (a canonical UUID, so
 * ASCII). New reference, or NULL when out of memory. */
static json_t *id_record(const char *k, const char *id)
{
    json_t *p = json_object();

    if (p != NULL && json_object_set_new_nocheck(p, k, json_stringn_nocheck(id, strlen(id))) != 0) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

/* The R_ASSISTANT_PUT payload {assistant: `a` (borrowed), latest: true}. New reference, or
 * NULL when out of memory. */
static json_t *assistant_record(json_t *a)
{
    json_t *p = json_object();

    if (p != NULL && (json_object_set_nocheck(p, "assistant", a) != 0 ||
                      json_object_set_new_nocheck(p, "latest", json_true()) != 0)) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

/* Appends [type, payload] to batch `ops`; steals `payload`. */
static void batch_add(json_t *ops, int type, json_t *payload)
{
    json_array_append_new(ops, json_pack("[io]", type, payload));
}

/* ------------------------------------------------------------------------------------------ */
/* lifecycle                                                                                  */

/* One object of a snapshot: a record type and the stored value it is made from (a
 * reference), plus the assistant's latest flag or the run's not_before. */
typedef struct snap_obj {
    int type;
    json_t *obj;
    int64_t aux;
} snap_obj_t;

/* The state a snapshot writes, captured at the log rotation. */
typedef struct snap_view {
    snap_obj_t *v;
    size_t n, cap;
} snap_view_t;

static int view_add(snap_view_t *view, int type, json_t *obj, int64_t aux)
{
    snap_obj_t *nv;

    if (view->n == view->cap) {
        size_t cap = view->cap ? view->cap * 2 : 1024;
        if ((nv = realloc(view->v, cap * sizeof(*nv))) == NULL)
            return -1;
        view->v = nv;
        view->cap = cap;
    }
    view->v[view->n++] = (snap_obj_t){type, json_incref(obj), aux};
    return 0;
}

static void view_free(snap_view_t *view)
{
    size_t i;

    for (i = 0; i < view->n; i++)
        json_decref(view->v[i].obj);
    free(view->v);
}

/*
 * Captures every live object into `view` in replay order (assistant versions, each thread
 * followed by its checkpoints, runs, items, crons). Caller holds write_mu, so nothing changes
 * meanwhile; the values are shared, not copied: indexed values are never modified (changes
 * replace them), so the view stays this moment's state while writers go on. 0 or -1.
 */
static int view_capture(store_t *s, snap_view_t *view)
{
    ent_t *e;
    json_t *v;
    size_t i;
    int ret = 0;

    for (e = s->assistants.head; e != NULL && ret == 0; e = e->next) {
        json_array_foreach(e->versions, i, v) {
            ret |= view_add(view, R_ASSISTANT_PUT, v, v == e->obj);
        }
    }
    for (e = s->threads.head; e != NULL && ret == 0; e = e->next) {
        ret |= view_add(view, R_THREAD_PUT, e->obj, 0);
        for (i = 0; i < e->n_ckpts && ret == 0; i++)
            ret |= view_add(view, R_CKPT_PUT, e->ckpts[i]->obj, 0);
    }
    for (e = s->runs.head; e != NULL && ret == 0; e = e->next)
        ret |= view_add(view, R_RUN_PUT, e->obj, e->not_before_us);
    for (e = s->items.head; e != NULL && ret == 0; e = e->next)
        ret |= view_add(view, R_ITEM_PUT, e->record, 0);
    for (e = s->crons.head; e != NULL && ret == 0; e = e->next)
        ret |= view_add(view, R_CRON_PUT, e->obj, 0);
    return ret ? -1 : 0;
}

/* Writes the captured view `ctx` (a snap_view_t) as snapshot records; no store lock held. */
static int dump_cb(void *ctx, store_wal_snap_t *snap)
{
    const snap_view_t *view = ctx;
    const snap_obj_t *o;
    json_t *p;
    size_t i;
    int ret = 0;

    for (i = 0; i < view->n && ret == 0; i++) {
        o = &view->v[i];
        if (o->type == R_ASSISTANT_PUT)
            p = json_pack("{sOsb}", "assistant", o->obj, "latest", (int)o->aux);
        else if (o->type == R_RUN_PUT)
            p = json_pack("{sOsI}", "run", o->obj, "not_before", (json_int_t)o->aux);
        else
            p = json_incref(o->obj);
        ret |= p == NULL || store_wal_snap_add(snap, o->type, p) != 0;
        json_decref(p);
    }
    return ret ? -1 : 0;
}

/*
 * Compacts, with compact_mu held. Mutations wait only while the log switches to the next
 * generation and the state is captured (write_mu); the snapshot of that state is written
 * afterwards, while they continue into the new log. Readers never wait.
 */
static store_rc_t compact_locked(store_t *s)
{
    snap_view_t view = {NULL, 0, 0};
    store_rc_t rc;

    if ((rc = store_wal_prepare(s->wal)) != STORE_OK)
        return rc;
    pthread_mutex_lock(&s->write_mu);
    rc = store_wal_rotate(s->wal);
    if (rc == STORE_OK && view_capture(s, &view) != 0)
        rc = store_fail(STORE_NOMEM, "out of memory while capturing a snapshot");
    pthread_mutex_unlock(&s->write_mu);
    if (rc == STORE_OK)
        rc = store_wal_snapshot(s->wal, dump_cb, &view);
    view_free(&view);
    return rc;
}

static store_rc_t mem_compact(store_t *s)
{
    store_rc_t rc;

    pthread_mutex_lock(&s->compact_mu);
    rc = compact_locked(s);
    pthread_mutex_unlock(&s->compact_mu);
    return rc;
}

/* The compactor thread: compacts whenever asked and the log is still past the threshold. */
static void *compactor_main(void *arg)
{
    store_t *s = arg;

    pthread_mutex_lock(&s->bg_mu);
    for (;;) {
        while (!s->bg_wanted && !s->bg_stop)
            pthread_cond_wait(&s->bg_cv, &s->bg_mu);
        if (s->bg_stop)
            break;
        s->bg_wanted = 0;
        pthread_mutex_unlock(&s->bg_mu);
        pthread_mutex_lock(&s->compact_mu);
        if (store_wal_size(s->wal) > s->compact_bytes && compact_locked(s) != STORE_OK)
            fprintf(stderr, "lgserve: store: compaction failed: %s; the log keeps growing until one succeeds\n",
                    store_last_error());
        pthread_mutex_unlock(&s->compact_mu);
        pthread_mutex_lock(&s->bg_mu);
    }
    pthread_mutex_unlock(&s->bg_mu);
    return NULL;
}

/* Asks the compactor thread (started on first use) for a compaction. When the thread cannot
 * be started, compacts on this thread unless another compaction is running. */
static void compact_request(store_t *s)
{
    int started;

    pthread_mutex_lock(&s->bg_mu);
    if (!s->bg_started && !s->bg_stop && pthread_create(&s->bg, NULL, compactor_main, s) == 0)
        s->bg_started = 1;
    started = s->bg_started;
    s->bg_wanted = 1;
    pthread_cond_signal(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
    if (!started && pthread_mutex_trylock(&s->compact_mu) == 0) {
        if (store_wal_size(s->wal) > s->compact_bytes)
            compact_locked(s);
        pthread_mutex_unlock(&s->compact_mu);
    }
}

static void mem_close(store_t *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->bg_mu);
    s->bg_stop = 1;
    pthread_cond_signal(&s->bg_cv);
    pthread_mutex_unlock(&s->bg_mu);
    if (s->bg_started)
        pthread_join(s->bg, NULL);
    store_wal_close(s->wal);
    coll_free(&s->runs);
    coll_free(&s->threads);
    coll_free(&s->assistants);
    coll_free(&s->items);
    coll_free(&s->crons);
    pthread_rwlock_destroy(&s->lock);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->compact_mu);
    pthread_mutex_destroy(&s->bg_mu);
    pthread_cond_destroy(&s->bg_cv);
    free(s);
}

static store_rc_t mem_open(const store_config_t *cfg, store_t **out, char **errmsg)
{
    store_t *s = calloc(1, sizeof(*s));
    pthread_rwlockattr_t attr;
    store_rc_t rc;
    unsigned delay;

    *out = NULL;
    if (errmsg != NULL)
        *errmsg = NULL;
    if (s == NULL) {
        if (errmsg != NULL)
            *errmsg = strdup("out of memory");
        return STORE_NOMEM;
    }
    /* Writer preference: a steady stream of searches must not starve mutations (glibc's
     * default prefers readers). */
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_mutex_init(&s->compact_mu, NULL);
    pthread_mutex_init(&s->bg_mu, NULL);
    pthread_cond_init(&s->bg_cv, NULL);
    s->compact_bytes =
        cfg != NULL && cfg->compact_bytes ? cfg->compact_bytes : DEFAULT_COMPACT_BYTES;
    delay = cfg != NULL ? cfg->batch_delay_us : 0;
    if (delay > MAX_BATCH_DELAY_US)
        delay = MAX_BATCH_DELAY_US;
    rc = store_wal_open(cfg != NULL && cfg->data_dir != NULL ? cfg->data_dir : DEFAULT_DATA_DIR,
                        cfg != NULL ? cfg->fsync : STORE_FSYNC_BATCH, delay, apply_cb, s, &s->wal,
                        errmsg);
    if (rc != STORE_OK) {
        mem_close(s);
        return rc;
    }
    *out = s;
    return STORE_OK;
}

static store_rc_t mem_sweep(store_t *s, int64_t now_us, int64_t *n_deleted)
{
    store_rc_t rc = STORE_OK;
    uint64_t lsn = 0;
    int64_t n = 0;
    ent_t *e;

    write_lock(s);
    for (e = s->items.head; e != NULL; e = e->next)
        n += e->t1_us <= now_us;
    if (n > 0)
        rc = commit(s, R_ITEM_SWEEP, json_pack("{sI}", "before_us", (json_int_t)now_us), &lsn);
    write_unlock(s);
    if (rc == STORE_OK && n > 0)
        rc = finish(s, lsn);
    if (n_deleted != NULL)
        *n_deleted = rc == STORE_OK ? n : 0;
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* assistants                                                                                 */

static const sort_key_t assistant_keys[] = {
    {"assistant_id", K_ID, NULL}, {"created_at", K_CREATED, NULL}, {"updated_at", K_UPDATED, NULL},
    {"name", K_STR, "name"},      {"graph_id", K_STR, "graph_id"}, {NULL, 0, NULL}};

/* Visible assistant `id` or NULL; the caller holds the lock. */
static ent_t *find_visible(const coll_t *c, const char *id, const char *owner)
{
    char cid[UUID_STR_SIZE];
    ent_t *e;

    if (id == NULL || canon_id(id, cid) != 0 || (e = coll_get(c, cid)) == NULL)
        return NULL;
    return store_owner_visible(e->obj, owner) ? e : NULL;
}

/* Assistant `id` if `owner` may read it (its own, or a system assistant), or NULL; the caller
 * holds the lock. */
static ent_t *find_readable(const coll_t *c, const char *id, const char *owner)
{
    ent_t *e = find_visible(c, id, NULL);

    return e != NULL && store_assistant_readable(e->obj, owner) ? e : NULL;
}

static store_rc_t mem_assistant_create(store_t *s, const json_t *in, store_if_exists_t if_exists,
                                       const char *owner, json_t **out)
{
    char id[UUID_STR_SIZE];
    json_t *a = NULL, *name, *desc, *res = NULL, *ts = NULL;
    const char *graph_id = str_field(in, "graph_id");
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(in) || graph_id == NULL) {
        rc = store_fail(STORE_INVALID, "graph_id: required string");
        goto Exit;
    }
    if ((rc = id_field(in, "assistant_id", 0, id)) != STORE_OK)
        goto Exit;
    name = json_object_get(in, "name");
    desc = json_object_get(in, "description");
    if ((name != NULL && !json_is_string(name) && !json_is_null(name)) ||
        (desc != NULL && !json_is_string(desc) && !json_is_null(desc))) {
        rc = store_fail(STORE_INVALID, "name and description must be strings");
        goto Exit;
    }
    ts = store_json_time(time_now_us());
    /* built member by member (json_pack parses its format and checks each key and string) */
    if ((a = json_object()) == NULL) {
        rc = store_fail(STORE_NOMEM, "out of memory");
        goto Exit;
    }
    json_object_set_new_nocheck(a, "assistant_id", json_stringn_nocheck(id, strlen(id)));
    json_object_set_nocheck(a, "graph_id", json_object_get(in, "graph_id"));
    json_object_set_nocheck(a, "created_at", ts);
    json_object_set_nocheck(a, "updated_at", ts);
    if ((rc = set_object_field(a, in, "config")) != STORE_OK ||
        (rc = set_object_field(a, in, "context")) != STORE_OK ||
        (rc = set_object_field(a, in, "metadata")) != STORE_OK)
        goto Exit;
    json_object_set_new_nocheck(a, "version", json_integer(1));
    json_object_set_new_nocheck(a, "name", json_is_string(name) ? json_incref(name) : json_string("Untitled"));
    json_object_set_new_nocheck(a, "description", json_is_string(desc) ? json_incref(desc) : json_null());

    write_lock(s);
    if ((e = coll_get(&s->assistants, id)) != NULL) {
        if (if_exists == STORE_IF_EXISTS_DO_NOTHING && store_assistant_readable(e->obj, owner))
            res = out != NULL ? copy_out(e->obj) : NULL;
        else
            rc = store_fail(STORE_CONFLICT, "assistant %s already exists", id);
    } else {
        res = out != NULL ? copy_out(a) : NULL;
        rc = commit(s, R_ASSISTANT_PUT, assistant_record(a), &lsn);
    }
    write_unlock(s);
    if (rc == STORE_OK && lsn != 0)
        rc = finish(s, lsn);
    if (rc == STORE_OK && out != NULL) {
        *out = res;
        res = NULL;
    }
Exit:
    json_decref(res);
    json_decref(a);
    json_decref(ts);
    return rc;
}

/* assistant_get (`shared` 0: a copy) and assistant_get_shared (1: the stored object). */
static store_rc_t assistant_read(store_t *s, const char *id, const char *owner, int shared,
                                 json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_readable(&s->assistants, id, owner)) != NULL)
        *out = shared ? json_incref(e->obj) : copy_out(e->obj);
    else
        rc = store_fail(STORE_NOT_FOUND, "assistant %s not found", id);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_assistant_get(store_t *s, const char *id, const char *owner, json_t **out)
{
    return assistant_read(s, id, owner, 0, out);
}

static store_rc_t mem_assistant_get_shared(store_t *s, const char *id, const char *owner,
                                           json_t **out)
{
    return assistant_read(s, id, owner, 1, out);
}

static store_rc_t mem_assistant_get_version(store_t *s, const char *id, int64_t version,
                                            const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *e;
    json_t *v = NULL;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_readable(&s->assistants, id, owner)) != NULL &&
        (v = assistant_version(e, version)) != NULL)
        *out = copy_out(v);
    else
        rc = store_fail(STORE_NOT_FOUND, "assistant %s version %" PRId64 " not found", id, version);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_assistant_patch(store_t *s, const char *id, const json_t *patch,
                                      const char *owner, json_t **out)
{
    static const char *replace[] = {"graph_id", "config", "context", "name", "description"};
    store_rc_t rc = STORE_OK;
    json_t *nv = NULL, *res = NULL, *v;
    uint64_t lsn = 0;
    json_int_t max = 0;
    size_t i;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(patch))
        return store_fail(STORE_INVALID, "patch: expected an object");
    write_lock(s);
    if ((e = find_visible(&s->assistants, id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "assistant %s not found", id);
        goto Exit;
    }
    nv = jsoncopy_containers(e->obj);
    for (i = 0; i < sizeof(replace) / sizeof(replace[0]); i++) {
        if ((v = json_object_get(patch, replace[i])) == NULL)
            continue;
        if ((i == 0 && !json_is_string(v)) || ((i == 1 || i == 2) && !json_is_object(v)) ||
            (i == 3 && !json_is_string(v)) || (i == 4 && !json_is_string(v) && !json_is_null(v))) {
            rc = store_fail(STORE_INVALID, "%s: wrong type", replace[i]);
            goto Exit;
        }
        json_object_set_new(nv, replace[i], jsoncopy_containers(v));
    }
    if ((rc = merge_object_field(nv, patch, "metadata")) != STORE_OK)
        goto Exit;
    json_array_foreach(e->versions, i, v) {
        json_int_t n = json_integer_value(json_object_get(v, "version"));
        if (n > max)
            max = n;
    }
    json_object_set_new(nv, "version", json_integer(max + 1));
    json_object_set_new(nv, "updated_at", store_json_time(time_now_us()));
    res = out != NULL ? copy_out(nv) : NULL;
    rc = commit(s, R_ASSISTANT_PUT, assistant_record(nv), &lsn);
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    json_decref(nv);
    return rc;
}

static store_rc_t mem_assistant_delete(store_t *s, const char *id, const char *owner)
{
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    write_lock(s);
    if ((e = find_visible(&s->assistants, id, owner)) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "assistant %s not found", id);
    else
        rc = commit(s, R_ASSISTANT_DEL, id_record("assistant_id", e->id), &lsn);
    write_unlock(s);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

static int assistant_matches(const ent_t *e, const store_assistant_query_t *q, const char *owner)
{
    const char *name;

    if (!store_assistant_readable(e->obj, owner))
        return 0;
    if (q == NULL)
        return 1;
    if (q->graph_id != NULL && strcmp(q->graph_id, str_field(e->obj, "graph_id")) != 0)
        return 0;
    if (q->name != NULL &&
        ((name = str_field(e->obj, "name")) == NULL || strcasestr(name, q->name) == NULL))
        return 0;
    return store_json_contains(json_object_get(e->obj, "metadata"), q->metadata);
}

static store_rc_t mem_assistant_search(store_t *s, const store_assistant_query_t *q,
                                       const char *owner, json_t **out, int64_t *total)
{
    ent_vec_t vec = {0};
    sort_spec_t sp;
    store_rc_t rc;
    ent_t *e;

    *out = NULL;
    if ((rc = sort_resolve(assistant_keys, q ? q->sort_by : NULL, q ? q->sort_order : NULL,
                           "created_at", &sp)) != STORE_OK)
        return rc;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->assistants.head; e != NULL; e = e->next) {
        if (assistant_matches(e, q, owner) && vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    vec_sort(&vec, &sp);
    *out = page_out(&vec, q ? q->limit : 0, q ? q->offset : 0);
    if (total != NULL)
        *total = (int64_t)vec.n;
Exit:
    pthread_rwlock_unlock(&s->lock);
    free(vec.v);
    return rc;
}

static store_rc_t mem_assistant_count(store_t *s, const store_assistant_query_t *q,
                                      const char *owner, int64_t *count)
{
    ent_t *e;
    int64_t n = 0;

    pthread_rwlock_rdlock(&s->lock);
    for (e = s->assistants.head; e != NULL; e = e->next)
        n += assistant_matches(e, q, owner);
    pthread_rwlock_unlock(&s->lock);
    *count = n;
    return STORE_OK;
}

static store_rc_t mem_assistant_versions(store_t *s, const char *id, const json_t *metadata,
                                         int64_t limit, int64_t offset, const char *owner,
                                         json_t **out, int64_t *total)
{
    store_rc_t rc = STORE_OK;
    int64_t n = 0, skip = norm_offset(offset);
    json_t *v;
    size_t i;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_readable(&s->assistants, id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "assistant %s not found", id);
        goto Exit;
    }
    *out = json_array();
    for (i = json_array_size(e->versions); i-- > 0;) {
        v = json_array_get(e->versions, i);
        if (!store_json_contains(json_object_get(v, "metadata"), metadata))
            continue;
        if (n++ >= skip && (limit <= 0 || (int64_t)json_array_size(*out) < limit))
            json_array_append_new(*out, copy_out(v));
    }
    if (total != NULL)
        *total = n;
Exit:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_assistant_set_latest(store_t *s, const char *id, int64_t version,
                                           const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    json_t *v, *res = NULL;
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    write_lock(s);
    if ((e = find_visible(&s->assistants, id, owner)) == NULL ||
        (v = assistant_version(e, version)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "assistant %s version %" PRId64 " not found", id, version);
    } else {
        res = out != NULL ? copy_out(v) : NULL;
        rc = commit(s, R_ASSISTANT_LATEST,
                    json_pack("{sssI}", "assistant_id", e->id, "version", (json_int_t)version),
                    &lsn);
    }
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* threads                                                                                    */

static const sort_key_t thread_keys[] = {
    {"thread_id", K_ID, NULL},        {"status", K_STR, "status"},
    {"created_at", K_CREATED, NULL},  {"updated_at", K_UPDATED, NULL},
    {"state_updated_at", K_T1, NULL}, {NULL, 0, NULL}};

/* Builds the stored ttl {strategy, ttl_minutes, expires_at} from input {strategy?, ttl} into
 * *out (new reference). Returns STORE_OK or STORE_INVALID. */
static store_rc_t make_ttl(const json_t *in, int64_t now, json_t **out)
{
    json_t *minutes = json_object_get(in, "ttl");
    const char *strategy = str_field(in, "strategy");

    *out = NULL;
    if (!json_is_object(in) || !json_is_number(minutes) || json_number_value(minutes) <= 0)
        return store_fail(STORE_INVALID, "ttl.ttl: expected a positive number of minutes");
    if (strategy == NULL)
        strategy = "delete";
    if (strcmp(strategy, "delete") != 0 && strcmp(strategy, "keep_latest") != 0)
        return store_fail(STORE_INVALID, "ttl.strategy: expected delete or keep_latest");
    *out = json_pack("{sssOso}", "strategy", strategy, "ttl_minutes", minutes, "expires_at",
                     store_json_time(now + (int64_t)(json_number_value(minutes) * 60e6)));
    return *out != NULL ? STORE_OK : store_fail(STORE_NOMEM, "out of memory");
}

/* Copies the optional thread fields status/values/interrupts/config of `in` into `t`; with
 * `keep`, `t` takes values and interrupts themselves (thread_patch's contract, store.h). */
static store_rc_t thread_fields(json_t *t, const json_t *in, int keep)
{
    json_t *v;

    if ((v = json_object_get(in, "status")) != NULL) {
        if (!json_is_string(v))
            return store_fail(STORE_INVALID, "status: expected a string");
        json_object_set(t, "status", v);
    }
    if ((v = json_object_get(in, "config")) != NULL) {
        if (!json_is_object(v))
            return store_fail(STORE_INVALID, "config: expected an object");
        json_object_set_new(t, "config", jsoncopy_containers(v));
    }
    if ((v = json_object_get(in, "values")) != NULL)
        json_object_set_new(t, "values", keep ? json_incref(v) : jsoncopy_containers(v));
    if ((v = json_object_get(in, "interrupts")) != NULL)
        json_object_set_new(t, "interrupts", keep ? json_incref(v) : jsoncopy_containers(v));
    return STORE_OK;
}

static store_rc_t mem_thread_create(store_t *s, const json_t *in, store_if_exists_t if_exists,
                                    const char *owner, json_t **out)
{
    char id[UUID_STR_SIZE];
    json_t *t = NULL, *ts = NULL, *ttl = NULL, *res = NULL;
    int64_t now = time_now_us();
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (in != NULL && !json_is_object(in)) {
        rc = store_fail(STORE_INVALID, "thread: expected an object");
        goto Exit;
    }
    if ((rc = id_field(in, "thread_id", 0, id)) != STORE_OK)
        goto Exit;
    ts = store_json_time(now);
    /* built member by member (json_pack parses its format and checks each key and string) */
    if ((t = json_object()) == NULL) {
        rc = store_fail(STORE_NOMEM, "out of memory");
        goto Exit;
    }
    json_object_set_new_nocheck(t, "thread_id", json_stringn_nocheck(id, strlen(id)));
    json_object_set_nocheck(t, "created_at", ts);
    json_object_set_nocheck(t, "updated_at", ts);
    json_object_set_nocheck(t, "state_updated_at", ts);
    if ((rc = set_object_field(t, in, "metadata")) != STORE_OK)
        goto Exit;
    json_object_set_new_nocheck(t, "status", json_stringn_nocheck("idle", 4));
    json_object_set_new_nocheck(t, "config", json_object());
    json_object_set_new_nocheck(t, "interrupts", json_object());
    if ((rc = thread_fields(t, in, 0)) != STORE_OK)
        goto Exit;
    if (json_object_get(in, "ttl") != NULL && !json_is_null(json_object_get(in, "ttl"))) {
        if ((rc = make_ttl(json_object_get(in, "ttl"), now, &ttl)) != STORE_OK)
            goto Exit;
        json_object_set(t, "ttl", ttl);
    }

    write_lock(s);
    if ((e = coll_get(&s->threads, id)) != NULL) {
        if (if_exists == STORE_IF_EXISTS_DO_NOTHING && store_owner_visible(e->obj, owner))
            res = out != NULL ? copy_out(e->obj) : NULL;
        else
            rc = store_fail(STORE_CONFLICT, "thread %s already exists", id);
    } else {
        res = out != NULL ? copy_out(t) : NULL;
        rc = commit(s, R_THREAD_PUT, json_incref(t), &lsn);
    }
    write_unlock(s);
    if (rc == STORE_OK && lsn != 0)
        rc = finish(s, lsn);
    if (rc == STORE_OK && out != NULL) {
        *out = res;
        res = NULL;
    }
Exit:
    json_decref(res);
    json_decref(t);
    json_decref(ts);
    json_decref(ttl);
    return rc;
}

/* thread_get (`shared` 0: a copy) and thread_get_shared (1: the stored object). */
static store_rc_t thread_read(store_t *s, const char *id, const char *owner, int shared,
                              json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_visible(&s->threads, id, owner)) != NULL)
        *out = shared ? json_incref(e->obj) : copy_out(e->obj);
    else
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", id);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_thread_get(store_t *s, const char *id, const char *owner, json_t **out)
{
    return thread_read(s, id, owner, 0, out);
}

static store_rc_t mem_thread_get_shared(store_t *s, const char *id, const char *owner,
                                        json_t **out)
{
    return thread_read(s, id, owner, 1, out);
}

static store_rc_t mem_thread_patch(store_t *s, const char *id, const json_t *patch,
                                   const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    json_t *t = NULL, *res = NULL, *ts = NULL, *ttl = NULL, *v;
    int64_t now = time_now_us();
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(patch))
        return store_fail(STORE_INVALID, "patch: expected an object");
    write_lock(s);
    if ((e = find_visible(&s->threads, id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", id);
        goto Exit;
    }
    t = shallow_copy(e->obj);
    if ((rc = merge_object_field(t, patch, "metadata")) != STORE_OK ||
        (rc = thread_fields(t, patch, 1)) != STORE_OK)
        goto Exit;
    if ((v = json_object_get(patch, "ttl")) != NULL) {
        if (json_is_null(v)) {
            json_object_del(t, "ttl");
        } else {
            if ((rc = make_ttl(v, now, &ttl)) != STORE_OK)
                goto Exit;
            json_object_set(t, "ttl", ttl);
        }
    }
    ts = store_json_time(now);
    json_object_set(t, "updated_at", ts);
    if (json_object_get(patch, "values") != NULL || json_object_get(patch, "interrupts") != NULL)
        json_object_set(t, "state_updated_at", ts);
    rc = commit_thread_change(s, e, t, &lsn);
    res = rc == STORE_OK && out != NULL ? copy_out(t) : NULL;
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    json_decref(t);
    json_decref(ts);
    json_decref(ttl);
    return rc;
}

static store_rc_t mem_thread_delete(store_t *s, const char *id, const char *owner)
{
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    write_lock(s);
    if ((e = find_visible(&s->threads, id, owner)) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", id);
    else
        rc = commit(s, R_THREAD_DEL, id_record("thread_id", e->id), &lsn);
    write_unlock(s);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

static int thread_matches(const ent_t *e, const store_thread_query_t *q, const char *owner)
{
    json_t *v;
    size_t i;
    int found;

    if (!store_owner_visible(e->obj, owner))
        return 0;
    if (q == NULL)
        return 1;
    if (q->status != NULL && strcmp(q->status, str_field(e->obj, "status")) != 0)
        return 0;
    if (q->ids != NULL) {
        found = 0;
        json_array_foreach(q->ids, i, v) {
            char cid[UUID_STR_SIZE];
            if (json_is_string(v) && canon_id(json_string_value(v), cid) == 0 &&
                strcmp(cid, e->id) == 0) {
                found = 1;
                break;
            }
        }
        if (!found)
            return 0;
    }
    return store_json_contains(json_object_get(e->obj, "metadata"), q->metadata) &&
           (q->values == NULL || store_json_contains(json_object_get(e->obj, "values"), q->values));
}

static store_rc_t mem_thread_search(store_t *s, const store_thread_query_t *q, const char *owner,
                                    json_t **out, int64_t *total)
{
    ent_vec_t vec = {0};
    sort_spec_t sp;
    store_rc_t rc;
    ent_t *e;

    *out = NULL;
    if ((rc = sort_resolve(thread_keys, q ? q->sort_by : NULL, q ? q->sort_order : NULL,
                           "created_at", &sp)) != STORE_OK)
        return rc;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->threads.head; e != NULL; e = e->next) {
        if (thread_matches(e, q, owner) && vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    vec_sort(&vec, &sp);
    *out = page_out(&vec, q ? q->limit : 0, q ? q->offset : 0);
    if (total != NULL)
        *total = (int64_t)vec.n;
Exit:
    pthread_rwlock_unlock(&s->lock);
    free(vec.v);
    return rc;
}

static store_rc_t mem_thread_count(store_t *s, const store_thread_query_t *q, const char *owner,
                                   int64_t *count)
{
    ent_t *e;
    int64_t n = 0;

    pthread_rwlock_rdlock(&s->lock);
    for (e = s->threads.head; e != NULL; e = e->next)
        n += thread_matches(e, q, owner);
    pthread_rwlock_unlock(&s->lock);
    *count = n;
    return STORE_OK;
}

/* A copy of checkpoint `cp` moved to thread `to` (new reference). */
static json_t *ckpt_moved(const json_t *cp, const char *to)
{
    json_t *c = jsoncopy_containers(cp);

    json_object_set_new(c, "thread_id", json_string(to));
    return c;
}

static store_rc_t mem_thread_copy(store_t *s, const char *id, const char *new_id, const char *owner,
                                  json_t **out)
{
    char nid[UUID_STR_SIZE];
    store_rc_t rc = STORE_OK;
    json_t *t = NULL, *ops = NULL, *res = NULL, *ts = NULL;
    uint64_t lsn = 0;
    size_t i;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (new_id == NULL ? uuid_v4_str(nid) != 0 : canon_id(new_id, nid) != 0)
        return store_fail(STORE_INVALID, "new thread id: expected a UUID");
    write_lock(s);
    if ((e = find_visible(&s->threads, id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", id);
        goto Exit;
    }
    if (coll_get(&s->threads, nid) != NULL) {
        rc = store_fail(STORE_CONFLICT, "thread %s already exists", nid);
        goto Exit;
    }
    ts = store_json_time(time_now_us());
    t = jsoncopy_containers(e->obj);
    json_object_set_new(t, "thread_id", json_string(nid));
    json_object_set(t, "created_at", ts);
    json_object_set(t, "updated_at", ts);
    json_object_set(t, "state_updated_at", ts);
    json_object_set_new(t, "status", json_string("idle"));
    ops = json_array();
    batch_add(ops, R_THREAD_PUT, json_incref(t));
    for (i = 0; i < e->n_ckpts; i++)
        batch_add(ops, R_CKPT_PUT, ckpt_moved(e->ckpts[i]->obj, nid));
    res = out != NULL ? copy_out(t) : NULL;
    rc = commit(s, R_BATCH, json_pack("{so}", "ops", ops), &lsn);
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    json_decref(t);
    json_decref(ts);
    return rc;
}

static store_rc_t mem_thread_prune(store_t *s, const json_t *ids, const char *strategy,
                                   const char *owner, int64_t *pruned)
{
    store_rc_t rc = STORE_OK;
    json_t *ops = NULL, *v;
    int keep_latest;
    uint64_t lsn = 0;
    size_t i;
    ent_t *e;

    if (pruned != NULL)
        *pruned = 0;
    if (strategy == NULL)
        strategy = "delete";
    keep_latest = strcmp(strategy, "keep_latest") == 0;
    if (!json_is_array(ids) || (!keep_latest && strcmp(strategy, "delete") != 0))
        return store_fail(STORE_INVALID, "prune: expected an array of ids and delete|keep_latest");
    ops = json_array();
    write_lock(s);
    json_array_foreach(ids, i, v) {
        if ((e = find_visible(&s->threads, json_string_value(v), owner)) == NULL)
            continue;
        if (keep_latest)
            batch_add(ops, R_CKPT_DEL, json_pack("{sssb}", "thread_id", e->id, "keep_latest", 1));
        else
            batch_add(ops, R_THREAD_DEL, json_pack("{ss}", "thread_id", e->id));
    }
    if (pruned != NULL)
        *pruned = (int64_t)json_array_size(ops);
    if (json_array_size(ops) > 0)
        rc = commit(s, R_BATCH, json_pack("{sO}", "ops", ops), &lsn);
    write_unlock(s);
    json_decref(ops);
    if (rc == STORE_OK && lsn != 0)
        rc = finish(s, lsn);
    if (rc != STORE_OK && pruned != NULL)
        *pruned = 0;
    return rc;
}

static store_rc_t mem_thread_expired(store_t *s, int64_t before_us, int64_t limit, json_t **out)
{
    ent_vec_t vec = {0};
    sort_spec_t sp = {K_T2, NULL, 0};
    store_rc_t rc = STORE_OK;
    size_t i;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->threads.head; e != NULL; e = e->next) {
        if (e->t2_us <= before_us && vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    vec_sort(&vec, &sp);
    *out = json_array();
    for (i = 0; i < vec.n && (limit <= 0 || (int64_t)i < limit); i++)
        json_array_append_new(
            *out, json_pack("{ssss}", "thread_id", vec.v[i]->id, "strategy",
                            str_field(json_object_get(vec.v[i]->obj, "ttl"), "strategy")));
Exit:
    pthread_rwlock_unlock(&s->lock);
    free(vec.v);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* runs                                                                                       */

/* The R_RUN_PUT payload {run, not_before} for `run` (borrowed). New reference, or NULL. */
static json_t *run_record(json_t *run, int64_t not_before)
{
    json_t *p = json_object();

    if (p != NULL && (json_object_set_nocheck(p, "run", run) != 0 ||
                      json_object_set_new_nocheck(p, "not_before", json_integer(not_before)) != 0)) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

/* The R_RUN_SET record giving run `e` status `status` (updated_at = now). New reference. */
static json_t *status_record(const ent_t *e, const char *status)
{
    json_t *p = id_record("run_id", e->id), *set = json_object();

    /* built member by member (json_pack parses its format and checks each key and string) */
    if (p == NULL || set == NULL || json_object_set_nocheck(p, "set", set) != 0 ||
        json_object_set_new_nocheck(set, "status", json_string(status)) != 0 ||
        json_object_set_new_nocheck(set, "updated_at", store_json_time(time_now_us())) != 0) {
        json_decref(p);
        p = NULL;
    }
    json_decref(set);
    return p;
}

static store_rc_t mem_run_create(store_t *s, const json_t *in, int64_t not_before_us, json_t **out)
{
    char id[UUID_STR_SIZE], tid[UUID_STR_SIZE];
    json_t *r = NULL, *ts = NULL, *res = NULL, *v;
    const char *assistant_id = str_field(in, "assistant_id"), *status, *mts;
    store_rc_t rc;
    uint64_t lsn = 0;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(in) || assistant_id == NULL || str_field(in, "thread_id") == NULL ||
        canon_id(str_field(in, "thread_id"), tid) != 0) {
        rc = store_fail(STORE_INVALID, "run: thread_id (UUID) and assistant_id are required");
        goto Exit;
    }
    if ((rc = id_field(in, "run_id", 1, id)) != STORE_OK)
        goto Exit;
    status = str_field(in, "status");
    mts = str_field(in, "multitask_strategy");
    ts = store_json_time(time_now_us());
    /* built member by member (json_pack parses its format and checks each key and string) */
    if ((r = json_object()) == NULL) {
        rc = store_fail(STORE_NOMEM, "out of memory");
        goto Exit;
    }
    json_object_set_new_nocheck(r, "run_id", json_stringn_nocheck(id, strlen(id)));
    json_object_set_new_nocheck(r, "thread_id", json_stringn_nocheck(tid, strlen(tid)));
    json_object_set_nocheck(r, "assistant_id", json_object_get(in, "assistant_id"));
    json_object_set_nocheck(r, "created_at", ts);
    json_object_set_nocheck(r, "updated_at", ts);
    json_object_set_new_nocheck(r, "status", status != NULL ? json_string(status) : json_stringn_nocheck("pending", 7));
    if ((rc = object_field(r, in, "metadata", 1)) != STORE_OK ||
        (rc = object_field(r, in, "kwargs", 1)) != STORE_OK)
        goto Exit;
    json_object_set_new_nocheck(r, "multitask_strategy", mts != NULL ? json_string(mts) : json_stringn_nocheck("enqueue", 7));
    if ((v = json_object_get(in, "langsmith_session_name")) != NULL)
        json_object_set_new_nocheck(r, "langsmith_session_name", jsoncopy_containers(v));

    write_lock(s);
    if (coll_get(&s->threads, tid) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", tid);
    else if (coll_get(&s->runs, id) != NULL)
        rc = store_fail(STORE_CONFLICT, "run %s already exists", id);
    else {
        res = out != NULL ? copy_out(r) : NULL;
        rc = commit(s, R_RUN_PUT, run_record(r, not_before_us), &lsn);
    }
    /* The record now belongs to the index, where a run worker may replace and free it at once:
     * this thread drops its references under the lock, ordered before that free (jansson's
     * decrement has no acquire side, so a later unlocked decref here races with the free). */
    json_decref(r);
    json_decref(ts);
    r = ts = NULL;
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
Exit:
    json_decref(res);
    json_decref(r);
    json_decref(ts);
    return rc;
}

/* Visible run `run_id` (of `thread_id` when not NULL), or NULL; the caller holds the lock. */
static ent_t *find_run(store_t *s, const char *thread_id, const char *run_id, const char *owner)
{
    char tid[UUID_STR_SIZE];
    ent_t *e = find_visible(&s->runs, run_id, owner);

    if (e != NULL && thread_id != NULL &&
        (canon_id(thread_id, tid) != 0 || strcmp(tid, e->thread->id) != 0))
        return NULL;
    return e;
}

static store_rc_t mem_run_get(store_t *s, const char *thread_id, const char *run_id,
                              const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_run(s, thread_id, run_id, owner)) != NULL)
        *out = copy_out(e->obj);
    else
        rc = store_fail(STORE_NOT_FOUND, "run %s not found", run_id);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_run_set_status(store_t *s, const char *run_id, const char *status,
                                     const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    json_t *res = NULL;
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (status == NULL)
        return store_fail(STORE_INVALID, "status: required");
    write_lock(s);
    if ((e = find_run(s, NULL, run_id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "run %s not found", run_id);
        goto Exit;
    }
    rc = commit(s, R_RUN_SET, status_record(e, status), &lsn);
    res = rc == STORE_OK && out != NULL ? copy_out(e->obj) : NULL;
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    return rc;
}

static store_rc_t mem_run_list(store_t *s, const char *thread_id, const char *status, int64_t limit,
                               int64_t offset, const char *owner, json_t **out, int64_t *total)
{
    char tid[UUID_STR_SIZE];
    store_rc_t rc = STORE_OK;
    int64_t n = 0, skip = norm_offset(offset);
    ent_t *t, *r;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if (thread_id == NULL || canon_id(thread_id, tid) != 0 ||
        (t = coll_get(&s->threads, tid)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", thread_id);
        goto Exit;
    }
    *out = json_array();
    for (r = t->runs_tail; r != NULL; r = r->tprev) {
        if (!store_owner_visible(r->obj, owner) ||
            (status != NULL && strcmp(status, str_field(r->obj, "status")) != 0))
            continue;
        if (n++ >= skip && (limit <= 0 || (int64_t)json_array_size(*out) < limit))
            json_array_append_new(*out, copy_out(r->obj));
    }
    if (total != NULL)
        *total = n;
Exit:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_run_delete(store_t *s, const char *thread_id, const char *run_id,
                                 const char *owner)
{
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    write_lock(s);
    if ((e = find_run(s, thread_id, run_id, owner)) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "run %s not found", run_id);
    else
        rc = commit(s, R_RUN_DEL, id_record("run_id", e->id), &lsn);
    write_unlock(s);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

static store_rc_t mem_run_claim(store_t *s, int64_t now_us, json_t **out)
{
    store_rc_t rc = STORE_OK;
    json_t *res = NULL;
    uint64_t lsn = 0, scan;
    ent_t *e;

    *out = NULL;
    write_lock(s);
    scan = ++s->scan_id;
    for (e = s->act_head; e != NULL; e = e->anext) {
        ent_t *t = e->thread;
        if (t->scan_mark == scan)
            continue; /* an earlier run of this thread is ahead in its queue */
        t->scan_mark = scan;
        if (!e->running && t->n_running == 0 && e->not_before_us <= now_us)
            break;
    }
    if (e == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "no run to claim");
        goto Exit;
    }
    rc = commit(s, R_RUN_SET, status_record(e, "running"), &lsn);
    res = rc == STORE_OK ? json_incref(e->obj) : NULL; /* shared: run_claim's contract */
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    return rc;
}

static store_rc_t mem_run_active(store_t *s, const char *thread_id, json_t **out)
{
    char tid[UUID_STR_SIZE];
    store_rc_t rc = STORE_OK;
    ent_t *t, *r;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if (thread_id == NULL) {
        *out = json_array();
        for (r = s->act_head; r != NULL; r = r->anext)
            json_array_append_new(*out, copy_out(r->obj));
    } else if (canon_id(thread_id, tid) != 0 || (t = coll_get(&s->threads, tid)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", thread_id);
    } else {
        *out = json_array();
        for (r = t->runs_head; r != NULL; r = r->tnext) {
            if (r->active)
                json_array_append_new(*out, copy_out(r->obj));
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* checkpoints                                                                                */

/* Thread `id` (any owner: checkpoint access is checked through the thread by the caller). */
static ent_t *find_thread(store_t *s, const char *id)
{
    char tid[UUID_STR_SIZE];

    return id != NULL && canon_id(id, tid) == 0 ? coll_get(&s->threads, tid) : NULL;
}

/* 1 when checkpoint `cp` has every field a stored one has, thread_id `tid` (canonical)
 * included: the store may keep it as it is (store.h). */
static int ckpt_complete(const json_t *cp, const char *tid)
{
    const json_t *id = json_object_get(cp, "checkpoint_id");

    return strcmp(str_field(cp, "thread_id"), tid) == 0 && json_is_string(id) &&
           json_string_length(id) > 0 && json_is_string(json_object_get(cp, "checkpoint_ns")) &&
           json_object_get(cp, "parent_checkpoint_id") != NULL &&
           json_object_get(cp, "run_id") != NULL &&
           json_is_object(json_object_get(cp, "metadata")) &&
           json_is_string(json_object_get(cp, "created_at"));
}

/* A copy of checkpoint `cp` (borrowed) with thread_id `tid` and every field a stored one has
 * (generated id, defaults) in *out (new reference). STORE_OK, STORE_INVALID or STORE_IO. */
static store_rc_t ckpt_completed(const json_t *cp, const char *tid, json_t **out)
{
    char gen[UUID_STR_SIZE];
    json_t *c = json_copy((json_t *)cp), *v; /* its members are the caller's, never to change */

    *out = NULL;
    json_object_set_new(c, "thread_id", json_string(tid));
    v = json_object_get(c, "checkpoint_id");
    if (v == NULL || json_is_null(v)) {
        if (uuid_v7_str(gen) != 0) {
            json_decref(c);
            return store_fail(STORE_IO, "the random number generator failed");
        }
        json_object_set_new(c, "checkpoint_id", json_string(gen));
    } else if (!json_is_string(v) || json_string_length(v) == 0) {
        json_decref(c);
        return store_fail(STORE_INVALID, "checkpoint_id: expected a non-empty string");
    }
    if (!json_is_string(json_object_get(c, "checkpoint_ns")))
        json_object_set_new(c, "checkpoint_ns", json_string(""));
    if (json_object_get(c, "parent_checkpoint_id") == NULL)
        json_object_set_new(c, "parent_checkpoint_id", json_null());
    if (json_object_get(c, "run_id") == NULL)
        json_object_set_new(c, "run_id", json_null());
    if (!json_is_object(json_object_get(c, "metadata")))
        json_object_set_new(c, "metadata", json_object());
    if (!json_is_string(json_object_get(c, "created_at")))
        json_object_set_new(c, "created_at", store_json_time(time_now_us()));
    *out = c;
    return STORE_OK;
}

static store_rc_t mem_checkpoint_put(store_t *s, const json_t *cp, json_t **out)
{
    char tid[UUID_STR_SIZE];
    json_t *c = NULL, *res = NULL;
    const char *thread_id = str_field(cp, "thread_id");
    store_rc_t rc = STORE_OK;
    uint64_t lsn = 0;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(cp) || thread_id == NULL || canon_id(thread_id, tid) != 0)
        return store_fail(STORE_INVALID, "checkpoint: thread_id (UUID) required");
    if (ckpt_complete(cp, tid))
        c = json_incref((json_t *)cp); /* the caller never changes it again (store.h) */
    else if ((rc = ckpt_completed(cp, tid, &c)) != STORE_OK)
        return rc;

    write_lock(s);
    if (coll_get(&s->threads, tid) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", tid);
    } else {
        res = out != NULL ? copy_out(c) : NULL;
        rc = commit(s, R_CKPT_PUT, json_incref(c), &lsn);
    }
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    json_decref(c);
    return rc;
}

/* checkpoint_get (`shared` 0: a copy) and checkpoint_get_shared (1: the stored object). */
static store_rc_t checkpoint_read(store_t *s, const char *thread_id, const char *ns,
                                  const char *checkpoint_id, int shared, json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *t;
    size_t i;

    *out = NULL;
    if (ns == NULL)
        ns = "";
    pthread_rwlock_rdlock(&s->lock);
    if ((t = find_thread(s, thread_id)) != NULL) {
        for (i = t->n_ckpts; i-- > 0;) {
            ent_t *c = t->ckpts[i];
            if (strcmp(ns_of(c->obj), ns) == 0 &&
                (checkpoint_id == NULL || strcmp(c->id, checkpoint_id) == 0)) {
                *out = shared ? json_incref(c->obj) : copy_out(c->obj);
                break;
            }
        }
    }
    if (*out == NULL)
        rc = store_fail(STORE_NOT_FOUND, "checkpoint %s of thread %s not found",
                        checkpoint_id ? checkpoint_id : "(latest)", thread_id);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_checkpoint_get(store_t *s, const char *thread_id, const char *ns,
                                     const char *checkpoint_id, json_t **out)
{
    return checkpoint_read(s, thread_id, ns, checkpoint_id, 0, out);
}

static store_rc_t mem_checkpoint_get_shared(store_t *s, const char *thread_id, const char *ns,
                                            const char *checkpoint_id, json_t **out)
{
    return checkpoint_read(s, thread_id, ns, checkpoint_id, 1, out);
}

static store_rc_t mem_checkpoint_list(store_t *s, const char *thread_id, const char *ns,
                                      const char *before_id, const json_t *metadata, int64_t limit,
                                      json_t **out)
{
    store_rc_t rc = STORE_OK;
    ssize_t start;
    size_t i;
    ent_t *t;

    *out = NULL;
    if (ns == NULL)
        ns = "";
    pthread_rwlock_rdlock(&s->lock);
    if ((t = find_thread(s, thread_id)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", thread_id);
        goto Exit;
    }
    start = (ssize_t)t->n_ckpts;
    if (before_id != NULL && (start = ckpt_find(t, ns, before_id)) < 0) {
        rc = store_fail(STORE_NOT_FOUND, "checkpoint %s of thread %s not found", before_id,
                        thread_id);
        goto Exit;
    }
    *out = json_array();
    for (i = (size_t)start; i-- > 0 && (limit <= 0 || (int64_t)json_array_size(*out) < limit);) {
        json_t *c = t->ckpts[i]->obj;
        if (strcmp(ns_of(c), ns) == 0 &&
            store_json_contains(json_object_get(c, "metadata"), metadata))
            json_array_append_new(*out, copy_out(c));
    }
Exit:
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_checkpoint_delete(store_t *s, const char *thread_id, const char *run_id,
                                        int64_t *n_deleted)
{
    store_rc_t rc = STORE_OK;
    json_t *p = NULL;
    uint64_t lsn = 0;
    int64_t n = 0;
    size_t i;
    ent_t *t;

    write_lock(s);
    if ((t = find_thread(s, thread_id)) != NULL) {
        p = run_id != NULL ? json_pack("{ssss}", "thread_id", t->id, "run_id", run_id)
                           : json_pack("{ss}", "thread_id", t->id);
        for (i = 0; i < t->n_ckpts; i++)
            n += ckpt_del_matches(t, i, p);
        if (n > 0)
            rc = commit(s, R_CKPT_DEL, json_incref(p), &lsn);
    }
    write_unlock(s);
    json_decref(p);
    if (rc == STORE_OK && n > 0)
        rc = finish(s, lsn);
    if (n_deleted != NULL)
        *n_deleted = rc == STORE_OK ? n : 0;
    return rc;
}

static store_rc_t mem_checkpoint_copy(store_t *s, const char *from, const char *to)
{
    store_rc_t rc = STORE_OK;
    json_t *ops;
    uint64_t lsn = 0;
    ent_t *f, *t;
    size_t i;

    write_lock(s);
    if ((f = find_thread(s, from)) == NULL || (t = find_thread(s, to)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "thread %s not found", f == NULL ? from : to);
        goto Exit;
    }
    if (f->n_ckpts == 0)
        goto Exit;
    ops = json_array();
    for (i = 0; i < f->n_ckpts; i++)
        batch_add(ops, R_CKPT_PUT, ckpt_moved(f->ckpts[i]->obj, t->id));
    rc = commit(s, R_BATCH, json_pack("{so}", "ops", ops), &lsn);
Exit:
    write_unlock(s);
    return rc == STORE_OK && lsn != 0 ? finish(s, lsn) : rc;
}

/* ------------------------------------------------------------------------------------------ */
/* store items                                                                                */

/* STORE_OK when `ns` is a non-empty array of non-empty strings (`what` names it). */
static store_rc_t check_labels(const json_t *ns, const char *what, int allow_empty)
{
    json_t *v;
    size_t i;

    if (!json_is_array(ns) || (!allow_empty && json_array_size(ns) == 0))
        return store_fail(STORE_INVALID, "%s: expected a non-empty array of strings", what);
    json_array_foreach(ns, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0)
            return store_fail(STORE_INVALID, "%s[%zu]: expected a non-empty string", what, i);
    }
    return STORE_OK;
}

static const char *scope_of(const char *scope)
{
    return scope != NULL ? scope : "";
}

/* Item `ns`/`key` in `scope` (live or not), or NULL; the caller holds the lock. */
static ent_t *find_item(store_t *s, const char *scope, const json_t *ns, const char *key)
{
    char *k = item_key(scope_of(scope), ns, key);
    ent_t *e = k != NULL ? coll_get(&s->items, k) : NULL;

    free(k);
    return e;
}

/* R_ITEM_PUT payload for `item` (borrowed) with a TTL of `ttl_minutes` from `now`. */
static json_t *item_record(const char *scope, const json_t *item, double ttl_minutes,
                           const json_t *index, int64_t now)
{
    json_t *p = json_object();

    if (p == NULL || item == NULL) {
        json_decref(p);
        return NULL;
    }
    json_object_set_new_nocheck(p, "scope", json_string(scope_of(scope)));
    json_object_set_nocheck(p, "item", (json_t *)item);
    if (ttl_minutes > 0) {
        json_object_set_new(p, "expires_us", json_integer(now + (int64_t)(ttl_minutes * 60e6)));
        json_object_set_new(p, "ttl_minutes", json_real(ttl_minutes));
    } else {
        json_object_set_new(p, "expires_us", json_null());
        json_object_set_new(p, "ttl_minutes", json_null());
    }
    json_object_set_new(p, "index", index != NULL ? jsoncopy_containers(index) : json_null());
    return p;
}

/* The refreshed R_ITEM_PUT payload of item `e`, or NULL when it has no TTL. */
static json_t *item_refreshed(const ent_t *e, int64_t now)
{
    double ttl = json_number_value(json_object_get(e->record, "ttl_minutes"));

    if (ttl <= 0)
        return NULL;
    return item_record(e->scope, e->obj, ttl, json_object_get(e->record, "index"), now);
}

static store_rc_t mem_item_put(store_t *s, const char *scope, const json_t *ns, const char *key,
                               const json_t *value, double ttl_minutes, const json_t *index)
{
    json_t *item = NULL, *ts = NULL;
    int64_t now = time_now_us();
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    if ((rc = check_labels(ns, "namespace", 0)) != STORE_OK)
        return rc;
    if (key == NULL || key[0] == '\0' || !json_is_object(value))
        return store_fail(STORE_INVALID,
                          "item: key (non-empty string) and value (object) required");
    ts = store_json_time(now);
    write_lock(s);
    e = find_item(s, scope, ns, key);
    /* built member by member (json_pack parses its format and checks each key) */
    if ((item = json_object()) != NULL) {
        json_object_set_new_nocheck(item, "namespace", jsoncopy_containers(ns));
        json_object_set_new_nocheck(item, "key", json_string(key));
        json_object_set_new_nocheck(item, "value", jsoncopy_containers(value));
        json_object_set_nocheck(item, "created_at", e != NULL ? json_object_get(e->obj, "created_at") : ts);
        json_object_set_nocheck(item, "updated_at", ts);
    }
    rc = commit(s, R_ITEM_PUT, item_record(scope, item, ttl_minutes, index, now), &lsn);
    write_unlock(s);
    json_decref(item);
    json_decref(ts);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

static store_rc_t mem_item_get(store_t *s, const char *scope, const json_t *ns, const char *key,
                               int refresh_ttl, json_t **out)
{
    store_rc_t rc = STORE_OK;
    int64_t now = time_now_us();
    json_t *p;
    uint64_t lsn = 0;
    ent_t *e;

    *out = NULL;
    if (check_labels(ns, "namespace", 1) != STORE_OK || key == NULL)
        return store_fail(STORE_INVALID, "item: namespace and key required");
    if (refresh_ttl)
        write_lock(s);
    else
        pthread_rwlock_rdlock(&s->lock);
    if ((e = find_item(s, scope, ns, key)) == NULL || e->t1_us <= now) {
        rc = store_fail(STORE_NOT_FOUND, "item %s not found", key);
        goto Exit;
    }
    *out = copy_out(e->obj);
    if (refresh_ttl && (p = item_refreshed(e, now)) != NULL)
        rc = commit(s, R_ITEM_PUT, p, &lsn);
Exit:
    if (refresh_ttl)
        write_unlock(s);
    else
        pthread_rwlock_unlock(&s->lock);
    if (rc == STORE_OK && lsn != 0)
        rc = finish(s, lsn);
    if (rc != STORE_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

/* The R_ITEM_DEL payload {scope, namespace, key} (ns borrowed). New reference, or NULL when out
 * of memory or a string is not UTF-8. */
static json_t *item_del_record(const char *scope, const json_t *ns, const char *key)
{
    json_t *p = json_object();

    if (p != NULL && (json_object_set_new_nocheck(p, "scope", json_string(scope_of(scope))) != 0 ||
                      json_object_set_nocheck(p, "namespace", (json_t *)ns) != 0 ||
                      json_object_set_new_nocheck(p, "key", json_string(key)) != 0)) {
        json_decref(p);
        p = NULL;
    }
    return p;
}

static store_rc_t mem_item_delete(store_t *s, const char *scope, const json_t *ns, const char *key)
{
    store_rc_t rc;
    uint64_t lsn = 0;

    if (check_labels(ns, "namespace", 1) != STORE_OK || key == NULL)
        return store_fail(STORE_INVALID, "item: namespace and key required");
    write_lock(s);
    if (find_item(s, scope, ns, key) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "item %s not found", key);
    else
        rc = commit(s, R_ITEM_DEL, item_del_record(scope, ns, key), &lsn);
    write_unlock(s);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

/* 1 when label array `ns` starts with `prefix` ("*" matches any label). */
static int ns_has_prefix(const json_t *ns, const json_t *prefix)
{
    size_t i, n = json_array_size(prefix);
    const char *p;

    if (json_array_size(ns) < n)
        return 0;
    for (i = 0; i < n; i++) {
        p = json_string_value(json_array_get(prefix, i));
        if (strcmp(p, "*") != 0 && strcmp(p, json_string_value(json_array_get(ns, i))) != 0)
            return 0;
    }
    return 1;
}

/* 1 when label array `ns` ends with `suffix` ("*" matches any label). */
static int ns_has_suffix(const json_t *ns, const json_t *suffix)
{
    size_t i, n = json_array_size(suffix), m = json_array_size(ns);
    const char *p;

    if (m < n)
        return 0;
    for (i = 0; i < n; i++) {
        p = json_string_value(json_array_get(suffix, i));
        if (strcmp(p, "*") != 0 && strcmp(p, json_string_value(json_array_get(ns, m - n + i))) != 0)
            return 0;
    }
    return 1;
}

/* Lexicographic order of label arrays. */
static int ns_cmp(const json_t *a, const json_t *b)
{
    size_t i, na = json_array_size(a), nb = json_array_size(b);
    int c;

    for (i = 0; i < na && i < nb; i++) {
        if ((c = strcmp(json_string_value(json_array_get(a, i)),
                        json_string_value(json_array_get(b, i)))) != 0)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

static int cmp_item(const void *pa, const void *pb)
{
    const ent_t *a = *(ent_t *const *)pa, *b = *(ent_t *const *)pb;
    int c = cmp_i64(b->updated_us, a->updated_us);

    if (c == 0)
        c = ns_cmp(json_object_get(a->obj, "namespace"), json_object_get(b->obj, "namespace"));
    if (c == 0)
        c = strcmp(str_field(a->obj, "key"), str_field(b->obj, "key"));
    return c;
}

static store_rc_t mem_item_search(store_t *s, const char *scope, const store_item_query_t *q,
                                  json_t **out, int64_t *total)
{
    const json_t *prefix = q ? q->namespace_prefix : NULL, *filter = q ? q->filter : NULL;
    int refresh = q != NULL && q->refresh_ttl;
    int64_t now = time_now_us(), limit = q ? q->limit : 0;
    ent_vec_t vec = {0};
    json_t *ops = NULL, *p;
    store_rc_t rc = STORE_OK;
    uint64_t lsn = 0;
    size_t i;
    ent_t *e;
    int m;

    *out = NULL;
    if (prefix != NULL && !json_is_null(prefix) &&
        (rc = check_labels(prefix, "namespace_prefix", 1)) != STORE_OK)
        return rc;
    if (json_is_null(prefix))
        prefix = NULL;
    if (refresh)
        write_lock(s);
    else
        pthread_rwlock_rdlock(&s->lock);
    for (e = s->items.head; e != NULL; e = e->next) {
        if (e->t1_us <= now || strcmp(e->scope, scope_of(scope)) != 0 ||
            (prefix != NULL && !ns_has_prefix(json_object_get(e->obj, "namespace"), prefix)))
            continue;
        if ((m = store_item_filter_match(json_object_get(e->obj, "value"), filter)) < 0) {
            rc = store_fail(STORE_INVALID,
                            "filter: expected {field: value} or {field: {$op: value}} "
                            "with $eq, $ne, $gt, $gte, $lt, $lte");
            goto Exit;
        }
        if (m && vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    if (vec.n > 1)
        qsort(vec.v, vec.n, sizeof(*vec.v), cmp_item);
    *out = page_out(&vec, limit, q ? q->offset : 0);
    if (total != NULL)
        *total = (int64_t)vec.n;
    if (refresh) {
        ops = json_array();
        for (i = (size_t)norm_offset(q->offset);
             i < vec.n && (limit <= 0 || (int64_t)(i - (size_t)norm_offset(q->offset)) < limit);
             i++) {
            if ((p = item_refreshed(vec.v[i], now)) != NULL)
                batch_add(ops, R_ITEM_PUT, p);
        }
        if (json_array_size(ops) > 0)
            rc = commit(s, R_BATCH, json_pack("{sO}", "ops", ops), &lsn);
    }
Exit:
    if (refresh)
        write_unlock(s);
    else
        pthread_rwlock_unlock(&s->lock);
    json_decref(ops);
    free(vec.v);
    if (rc == STORE_OK && lsn != 0)
        rc = finish(s, lsn);
    if (rc != STORE_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static int cmp_ns_json(const void *pa, const void *pb)
{
    return ns_cmp(*(json_t *const *)pa, *(json_t *const *)pb);
}

static store_rc_t mem_item_namespaces(store_t *s, const char *scope, const store_ns_query_t *q,
                                      json_t **out)
{
    const json_t *prefix = q ? q->prefix : NULL, *suffix = q ? q->suffix : NULL;
    int64_t now = time_now_us(), limit = q ? q->limit : 0, skip = norm_offset(q ? q->offset : 0);
    json_t **v = NULL, *ns;
    size_t n = 0, cap = 0, i, k;
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    if ((prefix != NULL && (rc = check_labels(prefix, "prefix", 1)) != STORE_OK) ||
        (suffix != NULL && (rc = check_labels(suffix, "suffix", 1)) != STORE_OK))
        return rc;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->items.head; e != NULL; e = e->next) {
        ns = json_object_get(e->obj, "namespace");
        if (e->t1_us <= now || strcmp(e->scope, scope_of(scope)) != 0 ||
            (prefix != NULL && !ns_has_prefix(ns, prefix)) ||
            (suffix != NULL && !ns_has_suffix(ns, suffix)))
            continue;
        if (n == cap) {
            json_t **nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));
            if (nv == NULL) {
                rc = store_fail(STORE_NOMEM, "out of memory");
                goto Exit;
            }
            v = nv;
        }
        if (q != NULL && q->max_depth > 0 && json_array_size(ns) > (size_t)q->max_depth) {
            json_t *cut = json_array();
            for (k = 0; k < (size_t)q->max_depth; k++)
                json_array_append(cut, json_array_get(ns, k));
            v[n++] = cut;
        } else {
            v[n++] = jsoncopy_containers(ns);
        }
    }
Exit:
    pthread_rwlock_unlock(&s->lock);
    if (rc == STORE_OK) {
        if (n > 1)
            qsort(v, n, sizeof(*v), cmp_ns_json);
        *out = json_array();
        for (i = 0; i < n; i++) {
            if (i > 0 && ns_cmp(v[i - 1], v[i]) == 0)
                continue;
            if (skip > 0) {
                skip--;
                continue;
            }
            if (limit <= 0 || (int64_t)json_array_size(*out) < limit)
                json_array_append(*out, v[i]);
        }
    }
    for (i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* crons                                                                                      */

static const sort_key_t cron_keys[] = {
    {"cron_id", K_ID, NULL},           {"assistant_id", K_STR, "assistant_id"},
    {"thread_id", K_STR, "thread_id"}, {"next_run_date", K_T1, NULL},
    {"end_time", K_T2, NULL},          {"created_at", K_CREATED, NULL},
    {"updated_at", K_UPDATED, NULL},   {NULL, 0, NULL}};

/* Cron fields a create or patch may set, with their JSON kinds. */
static const struct {
    const char *name;
    int kind; /* 0 string|null, 1 time string|null, 2 object, 3 boolean, 4 any */
} cron_fields[] = {{"assistant_id", 0},    {"thread_id", 0},     {"schedule", 0},
                   {"timezone", 0},        {"end_time", 1},      {"user_id", 0},
                   {"payload", 2},         {"next_run_date", 1}, {"enabled", 3},
                   {"on_run_completed", 0}};

/* Copies the cron fields present in `in` into `c`, checking their types. */
static store_rc_t cron_apply_fields(json_t *c, const json_t *in)
{
    size_t i;
    int64_t us;
    json_t *v;

    for (i = 0; i < sizeof(cron_fields) / sizeof(cron_fields[0]); i++) {
        if ((v = json_object_get(in, cron_fields[i].name)) == NULL)
            continue;
        switch (cron_fields[i].kind) {
        case 0:
            if (!json_is_string(v) && !json_is_null(v))
                return store_fail(STORE_INVALID, "%s: expected a string", cron_fields[i].name);
            break;
        case 1:
            if (!json_is_null(v) &&
                (!json_is_string(v) || time_parse_rfc3339(json_string_value(v), &us, NULL) != 0))
                return store_fail(STORE_INVALID, "%s: expected an RFC 3339 date-time",
                                  cron_fields[i].name);
            break;
        case 2:
            if (!json_is_object(v))
                return store_fail(STORE_INVALID, "%s: expected an object", cron_fields[i].name);
            break;
        default:
            if (!json_is_boolean(v))
                return store_fail(STORE_INVALID, "%s: expected a boolean", cron_fields[i].name);
            break;
        }
        json_object_set_new(c, cron_fields[i].name, jsoncopy_containers(v));
    }
    return STORE_OK;
}

static store_rc_t mem_cron_create(store_t *s, const json_t *in, json_t **out)
{
    char id[UUID_STR_SIZE];
    json_t *c = NULL, *ts = NULL, *res = NULL;
    store_rc_t rc;
    uint64_t lsn = 0;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(in) || str_field(in, "schedule") == NULL) {
        rc = store_fail(STORE_INVALID, "cron: schedule required");
        goto Exit;
    }
    if ((rc = id_field(in, "cron_id", 0, id)) != STORE_OK)
        goto Exit;
    ts = store_json_time(time_now_us());
    c = json_pack("{sssnsnsnsnsnsOsOsnsosnsbsn}", "cron_id", id, "assistant_id", "thread_id",
                  "end_time", "schedule", "timezone", "created_at", ts, "updated_at", ts, "user_id",
                  "payload", json_object(), "next_run_date", "enabled", 1, "on_run_completed");
    if ((rc = cron_apply_fields(c, in)) != STORE_OK ||
        (rc = set_object_field(c, in, "metadata")) != STORE_OK)
        goto Exit;
    write_lock(s);
    if (coll_get(&s->crons, id) != NULL) {
        rc = store_fail(STORE_CONFLICT, "cron %s already exists", id);
    } else {
        res = out != NULL ? copy_out(c) : NULL;
        rc = commit(s, R_CRON_PUT, json_incref(c), &lsn);
    }
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
Exit:
    json_decref(res);
    json_decref(c);
    json_decref(ts);
    return rc;
}

static store_rc_t mem_cron_get(store_t *s, const char *id, const char *owner, json_t **out)
{
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    if ((e = find_visible(&s->crons, id, owner)) != NULL)
        *out = copy_out(e->obj);
    else
        rc = store_fail(STORE_NOT_FOUND, "cron %s not found", id);
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static store_rc_t mem_cron_patch(store_t *s, const char *id, const json_t *patch, const char *owner,
                                 json_t **out)
{
    store_rc_t rc = STORE_OK;
    json_t *c = NULL, *res = NULL;
    uint64_t lsn = 0;
    ent_t *e;

    if (out != NULL)
        *out = NULL;
    if (!json_is_object(patch))
        return store_fail(STORE_INVALID, "patch: expected an object");
    write_lock(s);
    if ((e = find_visible(&s->crons, id, owner)) == NULL) {
        rc = store_fail(STORE_NOT_FOUND, "cron %s not found", id);
        goto Exit;
    }
    c = jsoncopy_containers(e->obj);
    if ((rc = cron_apply_fields(c, patch)) != STORE_OK ||
        (rc = merge_object_field(c, patch, "metadata")) != STORE_OK)
        goto Exit;
    json_object_set_new(c, "updated_at", store_json_time(time_now_us()));
    res = out != NULL ? copy_out(c) : NULL;
    rc = commit(s, R_CRON_PUT, json_incref(c), &lsn);
Exit:
    write_unlock(s);
    rc = finish_out(s, rc, lsn, &res, out);
    json_decref(res);
    json_decref(c);
    return rc;
}

static store_rc_t mem_cron_delete(store_t *s, const char *id, const char *owner)
{
    store_rc_t rc;
    uint64_t lsn = 0;
    ent_t *e;

    write_lock(s);
    if ((e = find_visible(&s->crons, id, owner)) == NULL)
        rc = store_fail(STORE_NOT_FOUND, "cron %s not found", id);
    else
        rc = commit(s, R_CRON_DEL, id_record("cron_id", e->id), &lsn);
    write_unlock(s);
    return rc == STORE_OK ? finish(s, lsn) : rc;
}

static int str_eq_field(const json_t *o, const char *k, const char *want)
{
    const char *v = str_field(o, k);

    return want == NULL || (v != NULL && strcmp(v, want) == 0);
}

static int cron_matches(const ent_t *e, const store_cron_query_t *q, const char *owner)
{
    if (!store_owner_visible(e->obj, owner))
        return 0;
    if (q == NULL)
        return 1;
    if (!str_eq_field(e->obj, "assistant_id", q->assistant_id) ||
        !str_eq_field(e->obj, "thread_id", q->thread_id))
        return 0;
    if (q->enabled >= 0 && json_is_true(json_object_get(e->obj, "enabled")) != (q->enabled != 0))
        return 0;
    return store_json_contains(json_object_get(e->obj, "metadata"), q->metadata);
}

static store_rc_t mem_cron_search(store_t *s, const store_cron_query_t *q, const char *owner,
                                  json_t **out, int64_t *total)
{
    ent_vec_t vec = {0};
    sort_spec_t sp;
    store_rc_t rc;
    ent_t *e;

    *out = NULL;
    if ((rc = sort_resolve(cron_keys, q ? q->sort_by : NULL, q ? q->sort_order : NULL, "created_at",
                           &sp)) != STORE_OK)
        return rc;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->crons.head; e != NULL; e = e->next) {
        if (cron_matches(e, q, owner) && vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    vec_sort(&vec, &sp);
    *out = page_out(&vec, q ? q->limit : 0, q ? q->offset : 0);
    if (total != NULL)
        *total = (int64_t)vec.n;
Exit:
    pthread_rwlock_unlock(&s->lock);
    free(vec.v);
    return rc;
}

static store_rc_t mem_cron_count(store_t *s, const store_cron_query_t *q, const char *owner,
                                 int64_t *count)
{
    ent_t *e;
    int64_t n = 0;

    pthread_rwlock_rdlock(&s->lock);
    for (e = s->crons.head; e != NULL; e = e->next)
        n += cron_matches(e, q, owner);
    pthread_rwlock_unlock(&s->lock);
    *count = n;
    return STORE_OK;
}

static store_rc_t mem_cron_due(store_t *s, int64_t before_us, int64_t limit, json_t **out)
{
    ent_vec_t vec = {0};
    sort_spec_t sp = {K_T1, NULL, 0};
    store_rc_t rc = STORE_OK;
    ent_t *e;

    *out = NULL;
    pthread_rwlock_rdlock(&s->lock);
    for (e = s->crons.head; e != NULL; e = e->next) {
        if (!json_is_true(json_object_get(e->obj, "enabled")) || e->t1_us > before_us ||
            (e->t2_us != NO_TIME && e->t2_us <= before_us))
            continue;
        if (vec_push(&vec, e) != 0) {
            rc = store_fail(STORE_NOMEM, "out of memory");
            goto Exit;
        }
    }
    vec_sort(&vec, &sp);
    *out = page_out(&vec, limit, 0);
Exit:
    pthread_rwlock_unlock(&s->lock);
    free(vec.v);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

/* ops->when_durable: log positions are store_defer_end() results; the log calls back. */
static void mem_when_durable(store_t *s, uint64_t pos, store_on_durable_fn on_durable, void *user)
{
    store_wal_when_durable(s->wal, pos, on_durable, user);
}

/* ops->wait_durable: this thread syncs the log (or joins the sync running). */
static store_rc_t mem_wait_durable(store_t *s, uint64_t pos)
{
    return store_wal_sync_to(s->wal, pos);
}

static const store_ops_t mem_ops = {
    .name = "mem",
    .open = mem_open,
    .close = mem_close,
    .compact = mem_compact,
    .sweep = mem_sweep,
    .assistant_create = mem_assistant_create,
    .assistant_get = mem_assistant_get,
    .assistant_get_shared = mem_assistant_get_shared,
    .assistant_get_version = mem_assistant_get_version,
    .assistant_patch = mem_assistant_patch,
    .assistant_delete = mem_assistant_delete,
    .assistant_search = mem_assistant_search,
    .assistant_count = mem_assistant_count,
    .assistant_versions = mem_assistant_versions,
    .assistant_set_latest = mem_assistant_set_latest,
    .thread_create = mem_thread_create,
    .thread_get = mem_thread_get,
    .thread_get_shared = mem_thread_get_shared,
    .thread_patch = mem_thread_patch,
    .thread_delete = mem_thread_delete,
    .thread_search = mem_thread_search,
    .thread_count = mem_thread_count,
    .thread_copy = mem_thread_copy,
    .thread_prune = mem_thread_prune,
    .thread_expired = mem_thread_expired,
    .run_create = mem_run_create,
    .run_get = mem_run_get,
    .run_set_status = mem_run_set_status,
    .run_list = mem_run_list,
    .run_delete = mem_run_delete,
    .run_claim = mem_run_claim,
    .run_active = mem_run_active,
    .checkpoint_put = mem_checkpoint_put,
    .checkpoint_get = mem_checkpoint_get,
    .checkpoint_get_shared = mem_checkpoint_get_shared,
    .checkpoint_list = mem_checkpoint_list,
    .checkpoint_delete = mem_checkpoint_delete,
    .checkpoint_copy = mem_checkpoint_copy,
    .item_put = mem_item_put,
    .item_get = mem_item_get,
    .item_delete = mem_item_delete,
    .item_search = mem_item_search,
    .item_namespaces = mem_item_namespaces,
    .cron_create = mem_cron_create,
    .cron_get = mem_cron_get,
    .cron_patch = mem_cron_patch,
    .cron_delete = mem_cron_delete,
    .cron_search = mem_cron_search,
    .cron_count = mem_cron_count,
    .cron_due = mem_cron_due,
    .when_durable = mem_when_durable,
    .wait_durable = mem_wait_durable,
};

const store_ops_t *store_mem_ops(void)
{
    return &mem_ops;
}
