/*
 * runtime/exec/broker.c — the run registry and the per-run event broker (DESIGN §4).
 *
 * Each run record keeps an append-only log of events with ids 1, 2, 3, ... Every event is
 * serialised once into its SSE frame ("event: E\ndata: JSON\nid: N\n\n"; compact JSON has no
 * raw line breaks, so one data line) and shared by every subscriber through a reference count.
 * The log keeps at most `max_events` events: when full, the oldest quarter is dropped (a
 * subscriber that fell behind them resumes at the oldest retained one). Once the run ended, its record stays
 * replayable for the retention window (exec_registry_reap), then the registry drops it; live
 * subscribers keep it alive until they unsubscribe.
 *
 * A subscriber is a few dozen bytes (its position and callback): 1,000 idle subscribers cost
 * well under a megabyte. notify runs under the record's lock, so once exec_unsubscribe
 * returned it is never called again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec/exec_internal.h"
#include "graph/engine.h"
#include "util/jsonw.h"
#include "util/log.h"
#include "util/time.h"

#define REGISTRY_BUCKETS 4096

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static exec_run_t *registry[REGISTRY_BUCKETS];
static size_t broker_max_events = 10000;
static atomic_int thread_channels; /* live thread channels: publishers skip the lookup at 0 */

static size_t bucket_of(const char *run_id)
{
    uint64_t h = 1469598103934665603ull;

    for (; *run_id != '\0'; ++run_id)
        h = (h ^ (unsigned char)*run_id) * 1099511628211ull;
    return (size_t)(h % REGISTRY_BUCKETS);
}

void exec_broker_set_limit(size_t max_events)
{
    broker_max_events = max_events == 0 ? 10000 : max_events;
}

void exec_event_release(const exec_event_t *ev)
{
    exec_event_impl_t *e = (exec_event_impl_t *)ev;

    if (e != NULL && atomic_fetch_sub(&e->refs, 1) == 1)
        free(e);
}

void exec_run_ref(exec_run_t *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void exec_run_unref(exec_run_t *r)
{
    size_t i;

    if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    for (i = 0; i != r->n_events; ++i)
        exec_event_release(&r->events[i]->pub);
    free(r->events);
    json_decref(r->result);
    json_decref(r->msg_seen);
    json_decref(r->tuple_meta);
    free(r->tuple_meta_text);
    free(r->owner);
    free(r->token);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Looks `run_id` up; caller holds registry_mu. Borrowed. */
static exec_run_t *lookup_locked(const char *run_id)
{
    exec_run_t *r;

    for (r = registry[bucket_of(run_id)]; r != NULL; r = r->hnext)
        if (strcmp(r->run_id, run_id) == 0)
            return r;
    return NULL;
}

exec_run_t *exec_run_find(const char *run_id)
{
    exec_run_t *r;

    if (run_id == NULL)
        return NULL;
    pthread_mutex_lock(&registry_mu);
    r = lookup_locked(run_id);
    if (r != NULL)
        exec_run_ref(r);
    pthread_mutex_unlock(&registry_mu);
    return r;
}

/* Registers the new record `r` (two references: the registry's and the caller's) under its
 * run_id, unless a record with that id is there already: then `r` is released and the existing
 * one is returned (a new reference). Counts a registered thread channel. */
static exec_run_t *registry_insert(exec_run_t *r)
{
    exec_run_t *old;
    size_t b = bucket_of(r->run_id);

    pthread_mutex_lock(&registry_mu);
    if ((old = lookup_locked(r->run_id)) != NULL) {
        exec_run_ref(old);
        pthread_mutex_unlock(&registry_mu);
        atomic_store(&r->refs, 1);
        exec_run_unref(r);
        return old;
    }
    r->hnext = registry[b];
    registry[b] = r;
    r->registered = 1;
    if (r->is_thread)
        atomic_fetch_add(&thread_channels, 1);
    pthread_mutex_unlock(&registry_mu);
    return r;
}

/* Copies `src` into `dst` (`size` > 0 bytes), cut to fit and NUL-terminated; returns the
 * length copied. */
static size_t copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);

    memcpy(dst, src, n);
    dst[n] = '\0';
    return n;
}

exec_run_t *exec_run_register(const char *run_id, const char *thread_id, const char *owner,
                              unsigned modes, int subgraphs)
{
    exec_run_t *r = NULL, *old;
    char meta[96];
    size_t n;

    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    copy_cut(r->run_id, sizeof(r->run_id), run_id);
    copy_cut(r->thread_id, sizeof(r->thread_id), thread_id != NULL ? thread_id : "");
    r->owner = owner != NULL ? strdup(owner) : NULL;
    r->msg_seen = json_object();
    if ((owner != NULL && r->owner == NULL) || r->msg_seen == NULL) {
        json_decref(r->msg_seen);
        free(r->owner);
        free(r);
        return NULL;
    }
    atomic_init(&r->refs, 2); /* the registry's and the caller's */
    pthread_mutex_init(&r->mu, NULL);
    r->first_id = r->next_id = 1;
    r->modes = modes;
    r->subgraphs = subgraphs;
    if ((old = registry_insert(r)) != r)
        return old;
    /* run ids are UUIDs (the store's canonical form): nothing in them needs escaping, so the
     * text is what jsonw would write for {"run_id": id, "attempt": 1} */
    n = copy_cut(meta, sizeof(meta), "{\"run_id\":\"");
    n += copy_cut(meta + n, sizeof(meta) - n, r->run_id);
    n += copy_cut(meta + n, sizeof(meta) - n, "\",\"attempt\":1}");
    exec_broker_publish_text(r, "metadata", meta, n);
    return r;
}

/* The channel of thread `thread_id` (new reference), created and registered when missing, or
 * NULL when out of memory. */
static exec_run_t *thread_channel(const char *thread_id)
{
    exec_run_t *r;
    char key[48];

    snprintf(key, sizeof(key), "thread:%s", thread_id);
    if ((r = exec_run_find(key)) != NULL)
        return r;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return NULL;
    snprintf(r->run_id, sizeof(r->run_id), "%s", key);
    snprintf(r->thread_id, sizeof(r->thread_id), "%s", thread_id);
    atomic_init(&r->refs, 2);
    pthread_mutex_init(&r->mu, NULL);
    r->first_id = r->next_id = 1;
    r->is_thread = 1;
    r->touched_mono_us = time_mono_us();
    return registry_insert(r);
}

/* Unlinks `r`; caller holds registry_mu. Returns 1 when it was registered. */
static int unlink_locked(exec_run_t *r)
{
    exec_run_t **p;

    if (!r->registered)
        return 0;
    for (p = &registry[bucket_of(r->run_id)]; *p != NULL; p = &(*p)->hnext)
        if (*p == r) {
            *p = r->hnext;
            r->registered = 0;
            return 1;
        }
    return 0;
}

void exec_run_unregister(exec_run_t *r)
{
    int was;

    pthread_mutex_lock(&registry_mu);
    was = unlink_locked(r);
    pthread_mutex_unlock(&registry_mu);
    if (was)
        exec_run_unref(r);
}

void exec_registry_foreach(void (*fn)(exec_run_t *r, void *user), void *user)
{
    exec_run_t *r;
    size_t b;

    pthread_mutex_lock(&registry_mu);
    for (b = 0; b != REGISTRY_BUCKETS; ++b)
        for (r = registry[b]; r != NULL; r = r->hnext)
            fn(r, user);
    pthread_mutex_unlock(&registry_mu);
}

/* Frees the retained events of `r`; caller holds r->mu. Later subscribers find the run ended
 * with nothing to replay. */
static void drop_events_locked(exec_run_t *r)
{
    size_t i;

    for (i = 0; i != r->n_events; ++i)
        exec_event_release(&r->events[i]->pub);
    free(r->events);
    r->events = NULL;
    r->n_events = r->cap_events = 0;
    r->first_id = r->next_id;
    json_decref(r->result);
    r->result = NULL;
    r->events_dropped = 1;
}

/* Drops the records `keep` rejects; the references are released outside the lock. */
static void registry_drop(int (*keep)(exec_run_t *r, int64_t now, int64_t ret), int64_t now,
                          int64_t ret)
{
    exec_run_t *dropped = NULL, *r, **p, *next;
    size_t b;

    pthread_mutex_lock(&registry_mu);
    for (b = 0; b != REGISTRY_BUCKETS; ++b)
        for (p = &registry[b]; *p != NULL;) {
            r = *p;
            if (keep(r, now, ret)) {
                p = &r->hnext;
                continue;
            }
            *p = r->hnext;
            r->registered = 0;
            r->hnext = dropped;
            dropped = r;
        }
    pthread_mutex_unlock(&registry_mu);
    for (r = dropped; r != NULL; r = next) {
        next = r->hnext;
        exec_run_unref(r);
    }
}

static int64_t reap_grace_us;

/* Keeps a record while its run goes on, while someone follows it, and for `ret` after the
 * end; frees the log and result of a non-resumable run after the grace. */
static int keep_fresh(exec_run_t *r, int64_t now, int64_t ret)
{
    int keep;

    pthread_mutex_lock(&r->mu);
    if (r->is_thread) {
        keep = r->subs != NULL || now - r->touched_mono_us < ret;
        if (!keep)
            atomic_fetch_sub(&thread_channels, 1);
        pthread_mutex_unlock(&r->mu);
        return keep;
    }
    keep = !r->ended || r->subs != NULL || now - r->ended_mono_us < ret;
    if (keep && r->ended && r->subs == NULL && !(r->modes & EXEC_WIRE_RESUMABLE) && !r->events_dropped &&
        now - r->ended_mono_us >= reap_grace_us)
        drop_events_locked(r);
    pthread_mutex_unlock(&r->mu);
    return keep;
}

static int keep_none(exec_run_t *r, int64_t now, int64_t ret)
{
    (void)now, (void)ret;
    if (r->is_thread)
        atomic_fetch_sub(&thread_channels, 1);
    return 0;
}

void exec_registry_reap(int64_t now_mono_us, int64_t retention_us, int64_t grace_us)
{
    reap_grace_us = grace_us; /* only the janitor reaps */
    registry_drop(keep_fresh, now_mono_us, retention_us);
}

void exec_registry_clear(void)
{
    registry_drop(keep_none, 0, 0);
}

/* Wakes every subscriber of `r` (an end-only one once `r` ended); caller holds r->mu. */
static void wake_locked(exec_run_t *r)
{
    struct exec_sub *s;

    for (s = r->subs; s != NULL; s = s->next)
        if (s->notify != NULL && (!s->end_only || r->ended))
            s->notify(s->user);
}

/* Writes `v` in decimal at the end of the `cap`-byte buffer `buf`; returns where it starts. */
static char *u64_text(uint64_t v, char *buf, size_t cap)
{
    char *p = buf + cap;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

/* Builds one event (refs = 1) whose JSON data is the `n` pieces `parts` (borrowed) joined, or
 * NULL when out of memory. */
static exec_event_impl_t *event_new(uint64_t id, const char *event, const exec_text_t *parts, size_t n)
{
    exec_event_impl_t *e = NULL;
    size_t elen = strlen(event), dlen = 0, flen, ilen, i;
    char idbuf[24], *p, *d, *ids;

    for (i = 0; i != n; ++i)
        dlen += parts[i].len;
    ids = u64_text(id, idbuf, sizeof(idbuf));
    ilen = (size_t)(idbuf + sizeof(idbuf) - ids);
    flen = 7 + elen + 7 + dlen + 5 + ilen + 2;
    e = malloc(sizeof(*e) + elen + 1 + flen + 1);
    if (e == NULL)
        goto Exit;
    atomic_init(&e->refs, 1);
    p = e->mem;
    memcpy(p, event, elen + 1);
    e->pub.event = p;
    p += elen + 1;
    e->pub.frame = p;
    /* "event: <name>\ndata: <data>\nid: <id>\n\n" */
    memcpy(p, "event: ", 7);
    memcpy(p + 7, event, elen);
    memcpy(p + 7 + elen, "\ndata: ", 7);
    e->pub.data = d = p + 7 + elen + 7;
    for (i = 0; i != n; d += parts[i].len, ++i)
        memcpy(d, parts[i].s, parts[i].len);
    memcpy(d, "\nid: ", 5);
    memcpy(d + 5, ids, ilen);
    memcpy(d + 5 + ilen, "\n\n", 3);
    e->pub.frame_len = flen;
    e->pub.data_len = dlen;
    e->pub.id = id;
Exit:
    return e;
}

/* Appends event `event` with the JSON text of `n` pieces `parts` (borrowed) to `r`'s log and
 * wakes its subscribers. */
static void append(exec_run_t *r, const char *event, const exec_text_t *parts, size_t n)
{
    exec_event_impl_t *e;

    pthread_mutex_lock(&r->mu);
    if (r->ended)
        goto Exit;
    r->touched_mono_us = time_mono_us();
    e = event_new(r->next_id, event, parts, n);
    if (e == NULL) {
        log_error("run %s: out of memory for a stream event (%s); event dropped", r->run_id, event);
        goto Exit;
    }
    if (r->n_events >= broker_max_events && r->n_events > 0) {
        /* drop the oldest quarter at once: amortised O(1) per event */
        size_t drop = r->n_events / 4 > 0 ? r->n_events / 4 : 1, i;
        for (i = 0; i != drop; ++i)
            exec_event_release(&r->events[i]->pub);
        memmove(r->events, r->events + drop, (r->n_events - drop) * sizeof(*r->events));
        r->n_events -= drop;
        r->first_id += drop;
    }
    if (r->n_events == r->cap_events) {
        size_t cap = r->cap_events == 0 ? 16 : r->cap_events * 2;
        exec_event_impl_t **ev = realloc(r->events, cap * sizeof(*ev));
        if (ev == NULL) {
            exec_event_release(&e->pub);
            log_error("run %s: out of memory for a stream event (%s); event dropped", r->run_id, event);
            goto Exit;
        }
        r->events = ev;
        r->cap_events = cap;
    }
    if (r->n_events == 0)
        r->first_id = r->next_id;
    r->events[r->n_events++] = e;
    ++r->next_id;
    wake_locked(r);
Exit:
    pthread_mutex_unlock(&r->mu);
}

/* The channel of the thread of run `r` when someone follows that thread (new reference), or
 * NULL. */
static exec_run_t *followed_channel(const exec_run_t *r)
{
    char key[48];

    if (r->is_thread || r->thread_id[0] == '\0' || atomic_load(&thread_channels) == 0)
        return NULL;
    snprintf(key, sizeof(key), "thread:%s", r->thread_id);
    return exec_run_find(key);
}

void exec_broker_publish_parts(exec_run_t *r, const char *event, const exec_text_t *parts, size_t n)
{
    exec_run_t *ch;

    append(r, event, parts, n);
    if ((ch = followed_channel(r)) != NULL) {
        append(ch, event, parts, n);
        exec_run_unref(ch);
    }
}

void exec_broker_publish_text(exec_run_t *r, const char *event, const char *text, size_t len)
{
    const exec_text_t part = {text, len};

    exec_broker_publish_parts(r, event, &part, 1);
}

void exec_broker_publish(exec_run_t *r, const char *event, const json_t *data)
{
    size_t dlen = 0;
    char *text = jsonw_dumps(data, &dlen);

    if (text == NULL) {
        log_error("run %s: cannot serialise a stream event (%s); event dropped", r->run_id, event);
        return;
    }
    exec_broker_publish_text(r, event, text, dlen);
    free(text);
}

void exec_broker_end(exec_run_t *r, const char *status, json_t *result)
{
    exec_run_t *ch = followed_channel(r);
    char done[160];
    exec_text_t part = {done, 0};

    pthread_mutex_lock(&r->mu);
    if (r->ended) {
        pthread_mutex_unlock(&r->mu);
        json_decref(result);
        exec_run_unref(ch);
        return;
    }
    r->ended = 1;
    r->status = status;
    r->result = result;
    r->ended_mono_us = time_mono_us();
    /* the thread stream marks the end of each run, as the official server turns the run's
     * "done" control message into metadata {status: "run_done", run_id}; appended before the
     * run's subscribers learn the end, so it precedes anything a client does next */
    if (ch != NULL) {
        part.len = (size_t)snprintf(done, sizeof(done), "{\"status\":\"run_done\",\"run_id\":\"%s\"}", r->run_id);
        append(ch, "metadata", &part, 1);
    }
    wake_locked(r);
    pthread_mutex_unlock(&r->mu);
    exec_run_unref(ch);
}

void exec_broker_thread_gone(const char *thread_id)
{
    exec_run_t *ch;
    char key[48];
    int was;

    if (thread_id == NULL || atomic_load(&thread_channels) == 0)
        return;
    snprintf(key, sizeof(key), "thread:%s", thread_id);
    if ((ch = exec_run_find(key)) == NULL)
        return;
    pthread_mutex_lock(&registry_mu);
    was = unlink_locked(ch);
    if (was)
        atomic_fetch_sub(&thread_channels, 1);
    pthread_mutex_unlock(&registry_mu);
    if (was)
        exec_run_unref(ch); /* the registry's reference */
    pthread_mutex_lock(&ch->mu);
    if (!ch->ended) {
        ch->ended = 1;
        ch->status = "success";
        ch->ended_mono_us = time_mono_us();
        wake_locked(ch);
    }
    pthread_mutex_unlock(&ch->mu);
    exec_run_unref(ch);
}

void exec_thread_publish(const char *thread_id, const char *event, const json_t *data)
{
    exec_run_t *ch;
    char key[48], *text;
    exec_text_t part;

    if (thread_id == NULL || atomic_load(&thread_channels) == 0)
        return;
    snprintf(key, sizeof(key), "thread:%s", thread_id);
    if ((ch = exec_run_find(key)) == NULL)
        return;
    if ((text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
        part = (exec_text_t){text, strlen(text)};
        append(ch, event, &part, 1);
    } else {
        log_error("thread %s: cannot serialise a stream event (%s); event dropped", thread_id, event);
    }
    free(text);
    exec_run_unref(ch);
}

/* A subscription that is over from the start, for a run that finished and left memory. */
static exec_sub_t *ended_sub(const char *status)
{
    exec_sub_t *s = calloc(1, sizeof(*s));

    if (s != NULL)
        s->status = status;
    return s;
}

/* The static spelling of a stored run status. */
static const char *static_status(const char *st)
{
    static const char *const known[] = {"success", "error", "interrupted", "timeout", "pending", "running"};
    size_t i;

    for (i = 0; st != NULL && i != sizeof(known) / sizeof(known[0]); ++i)
        if (strcmp(st, known[i]) == 0)
            return known[i];
    return "error";
}

static void set_err(exec_error_t *err, int status, const char *detail)
{
    if (err != NULL) {
        err->status = status;
        snprintf(err->detail, sizeof(err->detail), "%s", detail);
    }
}

/* Links `s` to `r` (stealing the caller's reference) from after `after_id`; wakes it at once
 * when something is already there. */
static void attach(exec_sub_t *s, exec_run_t *r, uint64_t after_id, exec_notify_fn notify, void *user)
{
    s->run = r;
    s->next_id = after_id + 1;
    s->notify = notify;
    s->user = user;
    pthread_mutex_lock(&r->mu);
    s->next = r->subs;
    if (r->subs != NULL)
        r->subs->pprev = &s->next;
    s->pprev = &r->subs;
    r->subs = s;
    if ((r->n_events > 0 && r->next_id > s->next_id) || r->ended)
        if (notify != NULL)
            notify(user);
    pthread_mutex_unlock(&r->mu);
}

exec_sub_t *exec_subscribe(const char *thread_id, const char *run_id, uint64_t after_id,
                           const char *owner, exec_notify_fn notify, void *user, exec_error_t *err)
{
    exec_run_t *r = exec_run_find(run_id);
    exec_sub_t *s = NULL;

    if (r == NULL) {
        const store_ops_t *ops = exec_ops();
        json_t *run = NULL;
        if (ops == NULL || run_id == NULL ||
            ops->run_get(exec_store(), thread_id, run_id, owner, &run) != STORE_OK) {
            set_err(err, 404, "Run not found");
            return NULL;
        }
        s = ended_sub(static_status(json_string_value(json_object_get(run, "status"))));
        json_decref(run);
        if (s == NULL)
            set_err(err, 500, "out of memory");
        return s;
    }
    if (r->is_thread || (thread_id != NULL && strcmp(thread_id, r->thread_id) != 0) ||
        (owner != NULL && (r->owner == NULL || strcmp(owner, r->owner) != 0))) {
        exec_run_unref(r);
        set_err(err, 404, "Run not found");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        exec_run_unref(r);
        set_err(err, 500, "out of memory");
        return NULL;
    }
    attach(s, r, after_id, notify, user);
    return s;
}

exec_sub_t *exec_thread_subscribe(const char *thread_id, uint64_t after_id, const char *owner,
                                  exec_notify_fn notify, void *user, exec_error_t *err)
{
    const store_ops_t *ops = exec_ops();
    json_t *thread = NULL;
    exec_sub_t *s;
    exec_run_t *r;

    if (ops == NULL || thread_id == NULL || ops->thread_get(exec_store(), thread_id, owner, &thread) != STORE_OK) {
        set_err(err, 404, "Thread not found");
        return NULL;
    }
    json_decref(thread);
    s = calloc(1, sizeof(*s));
    r = s != NULL ? thread_channel(thread_id) : NULL;
    if (r == NULL) {
        free(s);
        set_err(err, 500, "out of memory");
        return NULL;
    }
    if (after_id == 0) { /* live from now on, as the official server: no replay without an id */
        pthread_mutex_lock(&r->mu);
        after_id = r->next_id - 1;
        pthread_mutex_unlock(&r->mu);
    }
    attach(s, r, after_id, notify, user);
    return s;
}

size_t exec_sub_poll(exec_sub_t *sub, const exec_event_t **out, size_t max, int *ended,
                     const char **status)
{
    exec_run_t *r;
    size_t n = 0;

    *ended = 0;
    if (status != NULL)
        *status = NULL;
    if (sub == NULL || sub->run == NULL) {
        *ended = 1;
        if (status != NULL)
            *status = sub != NULL ? sub->status : "error";
        return 0;
    }
    r = sub->run;
    pthread_mutex_lock(&r->mu);
    if (sub->next_id < r->first_id || sub->end_only)
        sub->next_id = sub->end_only ? r->next_id : r->first_id;
    while (n < max && sub->next_id < r->next_id) {
        exec_event_impl_t *e = r->events[sub->next_id - r->first_id];
        atomic_fetch_add(&e->refs, 1);
        out[n++] = &e->pub;
        ++sub->next_id;
    }
    if (r->ended && sub->next_id >= r->next_id) {
        *ended = 1;
        if (status != NULL)
            *status = r->status;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

void exec_sub_end_only(exec_sub_t *sub)
{
    if (sub == NULL || sub->run == NULL)
        return;
    pthread_mutex_lock(&sub->run->mu);
    sub->end_only = 1;
    pthread_mutex_unlock(&sub->run->mu);
}

void exec_unsubscribe(exec_sub_t *sub, int cancel_run)
{
    exec_run_t *r;
    int ended;

    if (sub == NULL)
        return;
    r = sub->run;
    if (r != NULL) {
        pthread_mutex_lock(&r->mu);
        *sub->pprev = sub->next;
        if (sub->next != NULL)
            sub->next->pprev = sub->pprev;
        ended = r->ended;
        r->touched_mono_us = time_mono_us();
        pthread_mutex_unlock(&r->mu);
        if (cancel_run && !ended && !r->is_thread)
            exec_cancel_record(r, EXEC_CANCEL_INTERRUPT);
        exec_run_unref(r);
    }
    free(sub);
}
