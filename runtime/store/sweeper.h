/*
 * runtime/store/sweeper.h — the TTL sweeper: a background thread that, every interval, deletes
 * store items whose TTL ended and deletes or prunes threads whose TTL ended (the strategy
 * stored with the thread's ttl). It only calls store_ops_t, never the event loops.
 */
#ifndef LG_STORE_SWEEPER_H
#define LG_STORE_SWEEPER_H

#include <stdint.h>
#include "store/store.h"

/* One sweep at `now_us`; the counts (may be NULL) receive how many items were deleted and how
 * many threads were deleted or pruned. Returns STORE_OK or the first failure. */
store_rc_t sweeper_run_once(const store_ops_t *ops, store_t *s, int64_t now_us, int64_t *items,
                            int64_t *threads);
/* Starts the thread (interval in seconds, >= 1); returns 0 or -1. */
int sweeper_start(const store_ops_t *ops, store_t *s, int interval_s);
/* Stops the thread and waits for it; a no-op when not started. */
void sweeper_stop(void);

#endif
