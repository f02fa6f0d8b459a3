/*
 * runtime/store/wal.h — private to the embedded backend: the durable append-only log and its
 * snapshots in the data directory. The log knows records, not objects: a record is a type byte
 * and a JSON payload; store_mem decides what they mean and applies them, live and at replay,
 * with the same function.
 *
 * Files (all little-endian):
 *   LOCK             held with flock(LOCK_EX) while open: one process per data directory
 *   wal-<gen>        "LGSWAL01" then records, then zeros (the zero reserve, below)
 *   snapshot-<gen>   "LGSSNP01" then records describing every live object at the moment the
 *                    log generation <gen> started (absent for generation 0)
 *   record           u32 len | u32 ~len | u32 crc32c(type, payload) | u8 type | payload[len]
 *
 * Start: the highest generation with a snapshot (0 without one) wins; its snapshot, then its
 * log and every later log in generation order are replayed (a compaction switches to a new log
 * before its snapshot exists); older generations and *.tmp files are removed; appends go to the
 * last log. A snapshot is complete by construction (written to .tmp, fsynced, renamed), and a
 * log before the last was made durable before the next one took over, so any bad record in
 * them is corruption.
 *
 * Zero reserve: records are written at their position in a file kept filled with zeros ahead
 * of them (1 MiB at a time, at least 256 KiB beyond what is written, in the same write and
 * fdatasync as the records that come near its end). Overwriting bytes that are already on disk
 * changes no file metadata, so most fdatasyncs of the log need no journal commit (an append
 * changes the size and needs one each time). The log ends where only zeros are left: a record
 * ends with its JSON text's last byte, which is never 0; zeros from a record boundary to the
 * end of the file are the normal end of any log (and of a log of older versions, which had no
 * reserve). The logical size (positions, compaction) counts records only.
 *
 * Torn writes: a flush writes at most 64 KiB (FLUSH_PIECE) before it fdatasyncs, so after a
 * power loss the bytes that did not reach the disk, whose pages the disk may have written in
 * any order, all lie within the one piece being written: past a torn spot, data can only be
 * found less than 64 KiB after it. In the last log, at a record boundary before the last
 * non-zero byte (data end), a record is torn when fewer than a header's bytes are left before
 * data end, or data end cuts the record short, or its header or checksum is bad and data end
 * lies within 64 KiB after the record (after its header, when the header is bad): it and
 * everything after it are dropped with a warning on stderr and the file is truncated there
 * (acknowledged records are always before it: acknowledging waits for the fdatasync of every
 * piece). Any other bad record is corruption and the store refuses to open, naming the file and
 * byte offset; so is any bad record in a snapshot or a log before the last.
 *
 * Durability: appends go to an in-memory buffer in the caller's order; store_wal_wait returns
 * once the bytes up to the given position are written and fdatasync'ed. Group commit: the first
 * waiter that finds no flush running writes and syncs everything appended so far (a piece of
 * at most 64 KiB per fdatasync; its waiters return after the last piece), and the writers that
 * arrive during that flush share the next one. Policy always: a writer flushes as
 * soon as it waits. Policy batch: when other writers are in flight, the leader first lingers up
 * to delay_us so that they join its sync. Once a write or sync fails the log refuses every
 * further append (STORE_IO) until it is reopened.
 */
#ifndef LG_STORE_WAL_H
#define LG_STORE_WAL_H

#include <stdint.h>
#include <jansson.h>

#include "store/store.h"

typedef struct store_wal store_wal_t;
typedef struct store_wal_snap store_wal_snap_t;

/* Applies one replayed record; `payload` is borrowed. Returns 0, or -1 when the record makes no
 * sense (the open then fails as corrupt). Called only during store_wal_open. */
typedef int (*store_wal_apply_fn)(void *ctx, int type, json_t *payload);

/* Writes every object of the state captured at store_wal_rotate through store_wal_snap_add;
 * returns 0 or -1. Called by store_wal_snapshot only, with no lock of the log held. */
typedef int (*store_wal_dump_fn)(void *ctx, store_wal_snap_t *snap);

/* Opens (creating when missing) the log in directory `dir` (borrowed), replaying the snapshot
 * and log through `apply(ctx, ...)`. On failure *errmsg (if not NULL) is malloc'd; caller
 * frees. */
store_rc_t store_wal_open(const char *dir, store_fsync_t policy, unsigned delay_us,
                          store_wal_apply_fn apply, void *ctx, store_wal_t **out, char **errmsg);

/* Appends one record (payload borrowed) and stores its end position in *lsn. The caller
 * serializes appends with the application of the change, so the log order is the apply
 * order. Does not wait for the disk. */
store_rc_t store_wal_append(store_wal_t *w, int type, const json_t *payload, uint64_t *lsn);

/* Blocks until everything up to `lsn` is on disk. STORE_OK or STORE_IO. */
store_rc_t store_wal_wait(store_wal_t *w, uint64_t lsn);

/* Blocks until everything up to `lsn` is on disk, as store_wal_wait does (this thread leads or
 * joins the group commit itself, no hand-off to the flusher), for positions of appends whose
 * writers already called store_wal_nowait. STORE_OK or STORE_IO. */
store_rc_t store_wal_sync_to(store_wal_t *w, uint64_t lsn);

/* Says that the writer of one append will not call store_wal_wait (it defers to
 * store_wal_when_durable): it stops counting as a writer in flight that a batch sync lingers
 * for. */
void store_wal_nowait(store_wal_t *w);

/*
 * Calls on_durable(user, rc) once everything up to `lsn` is on disk (STORE_OK) or the log has
 * failed before getting there (STORE_IO): at once on this thread when that is already known,
 * else later from the flusher thread, in position order. Never drops a registration: if the
 * flusher cannot be started or the record allocated, it waits on this thread instead.
 */
void store_wal_when_durable(store_wal_t *w, uint64_t lsn, store_on_durable_fn on_durable,
                            void *user);

/* Bytes in the current log file (including not yet written appends). */
uint64_t store_wal_size(store_wal_t *w);

/*
 * Compaction, in three steps so that writers wait only for the short middle one:
 *
 * store_wal_prepare: creates the log file of the next generation (empty, synced, its directory
 * entry synced). Any thread, no lock needed; one compaction at a time (the caller's lock).
 *
 * store_wal_rotate: called while the caller keeps appends out: makes everything appended so far
 * durable in the current log and sends every later append to the prepared log. The state the
 * caller has applied at this moment is what the next generation's snapshot must hold: the
 * caller captures it (references to immutable values) before it lets appends in again.
 *
 * store_wal_snapshot: writes snapshot-<gen> of that state through `dump`, syncs it, renames
 * it into place (the commit point) and removes every older generation. Runs while appends
 * continue. When it fails, nothing is lost: start replays the older snapshot and every later
 * log in order, and the next compaction starts from there.
 *
 * Crash at any point: before the rename, start replays snapshot-<g> and the logs g, g+1, ...
 * (all complete, the last possibly torn); after it, snapshot-<gen> and the logs from <gen> on.
 * Each returns STORE_OK or STORE_IO / STORE_NOMEM; store_wal_rotate fails (STORE_IO) when the
 * flush fails, and then the prepared log is removed and nothing else changed.
 */
store_rc_t store_wal_prepare(store_wal_t *w);
store_rc_t store_wal_rotate(store_wal_t *w);
store_rc_t store_wal_snapshot(store_wal_t *w, store_wal_dump_fn dump, void *ctx);

/* Adds one record to the snapshot being written (payload borrowed). Returns 0 or -1. */
int store_wal_snap_add(store_wal_snap_t *snap, int type, const json_t *payload);

/* Stops the flusher (after it has called back every registration), flushes what is pending
 * and closes the files. NULL is a no-op. */
void store_wal_close(store_wal_t *w);

#endif
