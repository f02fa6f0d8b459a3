/*
 * runtime/store/sweeper.c — TTL sweeper thread (see sweeper.h). Waits on a condition variable
 * with a deadline so that sweeper_stop wakes it at once.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include "store/sweeper.h"
#include "util/log.h"
#include "util/time.h"

static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop, interval_s;
    const store_ops_t *ops;
    store_t *s;
    sweeper_delete_fn delete_thread;
} sweeper = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

store_rc_t sweeper_run_once(const store_ops_t *ops, store_t *s, sweeper_delete_fn delete_thread, int64_t now_us,
                            int64_t *items, int64_t *threads)
{
    json_t *expired = NULL, *one;
    int64_t n_items = 0, n_threads = 0, pruned;
    size_t i;
    store_rc_t rc;

    rc = ops->sweep(s, now_us, &n_items);
    if (rc != STORE_OK)
        goto Exit;
    rc = ops->thread_expired(s, now_us, 0, &expired);
    if (rc != STORE_OK)
        goto Exit;
    json_array_foreach(expired, i, one)
    {
        const char *id = json_string_value(json_object_get(one, "thread_id"));
        const char *strategy = json_string_value(json_object_get(one, "strategy"));
        json_t *ids;
        if (id == NULL)
            continue;
        if (delete_thread != NULL && (strategy == NULL || strcmp(strategy, "delete") == 0)) {
            rc = delete_thread(id, NULL);
            if (rc == STORE_NOT_FOUND) /* deleted meanwhile */
                rc = STORE_OK;
            else if (rc == STORE_OK)
                ++n_threads;
            else
                goto Exit;
            continue;
        }
        if ((ids = json_pack("[s]", id)) == NULL) {
            rc = STORE_NOMEM;
            goto Exit;
        }
        rc = ops->thread_prune(s, ids, strategy != NULL ? strategy : "delete", NULL, &pruned);
        json_decref(ids);
        if (rc != STORE_OK)
            goto Exit;
        n_threads += pruned;
    }
Exit:
    json_decref(expired);
    if (items != NULL)
        *items = n_items;
    if (threads != NULL)
        *threads = n_threads;
    return rc;
}

static void *sweeper_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&sweeper.mu);
    while (!sweeper.stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += sweeper.interval_s;
        while (!sweeper.stop && pthread_cond_timedwait(&sweeper.cv, &sweeper.mu, &deadline) != ETIMEDOUT)
            ;
        if (sweeper.stop)
            break;
        pthread_mutex_unlock(&sweeper.mu);
        int64_t items = 0, threads = 0;
        store_rc_t rc = sweeper_run_once(sweeper.ops, sweeper.s, sweeper.delete_thread, time_now_us(), &items, &threads);
        if (rc != STORE_OK)
            log_warn("ttl sweep failed: %s", store_last_error());
        else if (items > 0 || threads > 0)
            log_info("ttl sweep: %lld store items, %lld threads expired", (long long)items, (long long)threads);
        pthread_mutex_lock(&sweeper.mu);
    }
    pthread_mutex_unlock(&sweeper.mu);
    return NULL;
}

int sweeper_start(const store_ops_t *ops, store_t *s, sweeper_delete_fn delete_thread, int interval_s)
{
    sweeper.ops = ops;
    sweeper.s = s;
    sweeper.delete_thread = delete_thread;
    sweeper.interval_s = interval_s < 1 ? 1 : interval_s;
    sweeper.stop = 0;
    if (pthread_create(&sweeper.thread, NULL, sweeper_main, NULL) != 0)
        return -1;
    sweeper.running = 1;
    return 0;
}

void sweeper_stop(void)
{
    if (!sweeper.running)
        return;
    pthread_mutex_lock(&sweeper.mu);
    sweeper.stop = 1;
    pthread_cond_signal(&sweeper.cv);
    pthread_mutex_unlock(&sweeper.mu);
    pthread_join(sweeper.thread, NULL);
    sweeper.running = 0;
}
