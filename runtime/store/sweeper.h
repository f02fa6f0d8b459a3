/*
 * runtime/store/sweeper.h — the TTL sweeper: a background thread that, every interval, deletes
 * store items whose TTL ended and deletes or prunes threads whose TTL ended (the strategy
 * stored with the thread's ttl). It only calls store_ops_t and the thread-delete function it is
 * given, never the event loops.
 */
#ifndef LG_STORE_SWEEPER_H
#define LG_STORE_SWEEPER_H

#include <stdint.h>
#include "store/store.h"

/* Deletes thread `thread_id` as DELETE /threads/{id} does (owner NULL: any thread), e.g.
 * exec_thread_delete, which cancels its runs and ends its streams first. */
typedef store_rc_t (*sweeper_delete_fn)(const char *thread_id, const char *owner);

/* One sweep at `now_us`: expired threads with strategy delete go through `delete_thread` (NULL:
 * the store's prune, which leaves runs to their workers); the counts (may be NULL) receive how
 * many items were deleted and how many threads were deleted or pruned. Returns STORE_OK or the
 * first failure. */
store_rc_t sweeper_run_once(const store_ops_t *ops, store_t *s, sweeper_delete_fn delete_thread, int64_t now_us,
                            int64_t *items, int64_t *threads);
/* Starts the thread (interval in seconds, >= 1), deleting expired threads with `delete_thread`
 * (as sweeper_run_once); returns 0 or -1. */
int sweeper_start(const store_ops_t *ops, store_t *s, sweeper_delete_fn delete_thread, int interval_s);
/* Stops the thread and waits for it; a no-op when not started. */
void sweeper_stop(void);

#endif
