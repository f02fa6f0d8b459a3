/*
 * runtime/store/wal.c — the embedded backend's durable log: record encoding with CRC-32C,
 * group commit, replay with torn-write recovery, and snapshot compaction (format in wal.h).
 *
 * Writing: the flush leader writes the records with pwrite at their position in the current
 * log and keeps zeros written ahead of them (wal.h: the zero reserve), so that its fdatasync
 * usually commits data only: on ext4 an fdatasync after an append (a new size) waits for a
 * journal commit, one at a time, and measured 20-25 % slower. It writes at most FLUSH_PIECE
 * bytes per fdatasync, which bounds where unsynced bytes can be after a power loss (wal.h:
 * torn writes); the zeros go in before the records of the same piece, so one fdatasync covers
 * both and no sync is added.
 *
 * Group commit without a hand-off: a waiter whose position is not yet durable and finds no
 * flush running becomes the leader and flushes everything appended so far. Waiters sleep on the
 * condition of the round that covers them (two, alternating by round parity): the end of a
 * round wakes only the writers it made durable, plus one writer of the next round to lead it,
 * so a sync never wakes the whole herd. A dedicated flusher thread was measured first and lost:
 * on a loaded 2-core machine each hand-off costs two scheduler wake-ups, ten times the fdatasync
 * itself for a lone writer; and broadcasting to every waiter capped 256 writers at ~300 syncs/s.
 *
 * Locking: `mu` guards the pending buffer, the positions and the flags. A flush swaps the
 * pending buffer out under `mu`, writes and syncs it without `mu` (so appends continue), then
 * publishes the new durable position. Only one flush runs at a time (`flushing`). Positions
 * (lsn) count bytes ever appended across generations and never go back, so a waiter is never
 * confused by a compaction that starts a new file.
 *
 * Asynchronous waiters (store_wal_when_durable) are kept sorted by position in `waiters`. A
 * flusher thread, started with the first one, takes part in group commit like any blocked
 * writer (it leads a flush or joins the running one, up to the highest waiting position), then
 * calls back, in position order and outside `mu`, every waiter the new durable position covers
 * (all of them with STORE_IO once the log has failed). Appends that arrive during a sync are
 * picked up by the next round, so deferred writers batch without lingering.
 *
 * Text memo: a container that is shared (reference count above one) gets its JSON text kept,
 * with a reference to it, once a log record has written it; a later record holding the same
 * container copies the text instead of writing it again. Every value in a record is stored and
 * never changed afterwards (store.h: inputs are copied or, where a contract says so, kept and
 * never changed by the caller; store_mem changes objects only by replacing them), so the text
 * stays exact, and the reference keeps the address from being reused. Records hold the same
 * messages many times (a checkpoint's values, its writes and its parent's results; every later
 * checkpoint of the thread; the thread's values). The log bytes are exactly as before.
 */
#include "store/wal.h"
#include "util/jsonw.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#define WAL_MAGIC "LGSWAL01"
#define SNAP_MAGIC "LGSSNP01"
#define MAGIC_LEN 8
#define REC_HDR 13
#define REC_MAX (UINT32_C(1) << 30)
#define MEMO_SLOTS 1024                  /* direct-mapped by address; a power of two */
#define MEMO_MIN_LEN 48                  /* shorter texts are written again */
#define MEMO_MAX_BYTES (UINT64_C(2) << 20) /* text kept at most */
#define FLUSH_PIECE (64u << 10)           /* bytes written per fdatasync at most (wal.h) */
#define ZERO_CHUNK (1u << 20)             /* zeros written ahead of the log at a time */
#define ZERO_AHEAD (256u << 10)           /* zeros kept beyond the piece being written */

/* The pending and spare log buffers; records are encoded straight into them. */
typedef jsonw_buf_t wal_buf_t;

/* The JSON text of a shared container a log record wrote (wal.c's top comment). */
typedef struct memo_ent {
    json_t *v;  /* a reference, or NULL for a free slot */
    char *text; /* malloc'd, `len` bytes */
    size_t len;
} memo_ent_t;

/* One store_wal_when_durable registration (malloc'd; freed by whoever calls it back). */
typedef struct wal_waiter {
    struct wal_waiter *next;
    uint64_t lsn;
    store_on_durable_fn on_durable;
    void *user;
} wal_waiter_t;

struct store_wal {
    char *dir;
    int dir_fd;
    int lock_fd; /* holds flock(LOCK_EX) on <dir>/LOCK while open */
    int fd;
    uint64_t gen;
    uint64_t file_size;  /* the log's logical size: its magic and records */
    uint64_t zeroed_end; /* fd holds records, then zeros up to here; set by the flush leader,
                          * open and rotate, under mu */
    int next_fd;       /* the log prepared for the next generation, or -1 */
    uint64_t next_gen; /* its generation */
    store_fsync_t policy;
    unsigned delay_us;

    pthread_mutex_t mu;
    pthread_cond_t round_cv[2]; /* [round & 1]: waiters covered by flush round `round` */
    wal_buf_t pend, spare;
    uint64_t appended_lsn, durable_lsn;
    uint64_t round;        /* flush rounds started */
    uint64_t flush_target; /* position the running round makes durable */
    unsigned next_waiters; /* waiters that need the round after the running one */
    unsigned inflight;     /* appended records whose writers have not returned from wait */
    int flushing, failed;

    memo_ent_t memo[MEMO_SLOTS]; /* under mu, like the pending buffer it encodes into */
    uint64_t memo_bytes;

    wal_waiter_t *waiters, *waiters_tail; /* ascending lsn */
    pthread_cond_t flusher_cv;            /* signalled when a waiter is added or on close */
    pthread_t flusher;
    int flusher_started, flusher_stop;
};

struct store_wal_snap {
    int fd;
    wal_buf_t buf;
    off_t written, synced; /* bytes written to fd; bytes whose writeback has completed */
};

/* ---- CRC-32C (Castagnoli), reflected polynomial 0x82F63B78 ----
 * In software (slicing-by-8), or with the SSE4.2 crc32 instruction (the same CRC) when the CPU
 * has it and it agrees with the software on a test text at start. */

static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static int crc_hw; /* use crc32c_hw; set once by crc_init */

static uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t c = ~crc, w;

    while (n >= 8) {
        memcpy(&w, b, 8);
        c = _mm_crc32_u64(c, w);
        b += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *b++);
    return ~(uint32_t)c;
}

/* 1 when the crc32 instruction is there and computes what crc32c_sw does. */
static int crc_hw_usable(void)
{
    static const char check[] = "123456789, and a text longer than one word";

    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") && crc32c_hw(0, "123456789", 9) == 0xE3069283u &&
           crc32c_hw(0, check, sizeof(check) - 1) == crc32c_sw(0, check, sizeof(check) - 1) &&
           crc32c_hw(crc32c_hw(0, check, 5), check + 5, 7) == crc32c_sw(0, check, 12);
}
#endif

static void crc_init(void)
{
    uint32_t c;
    int i, j;

    for (i = 0; i < 256; i++) {
        c = (uint32_t)i;
        for (j = 0; j < 8; j++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        c = crc_table[0][i];
        for (j = 1; j < 8; j++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[j][i] = c;
        }
    }
#if defined(__x86_64__)
    crc_hw = crc_hw_usable();
#endif
}

/* Continues CRC-32C `crc` over `n` bytes at `p` (slicing-by-8; crc_init has run). */
static uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    crc = ~crc;
    while (n >= 8) {
        uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                             (uint32_t)b[3] << 24);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^ crc_table[3][b[4]] ^
              crc_table[2][b[5]] ^ crc_table[1][b[6]] ^ crc_table[0][b[7]];
        b += 8;
        n -= 8;
    }
    while (n--)
        crc = crc_table[0][(crc ^ *b++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* Continues CRC-32C `crc` over `n` bytes at `p`. */
static uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__)
    if (crc_hw)
        return crc32c_hw(crc, p, n);
#endif
    return crc32c_sw(crc, p, n);
}

/* ---- buffers and encoding ---- */

static void put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v & 0xff);
    p[1] = (char)((v >> 8) & 0xff);
    p[2] = (char)((v >> 16) & 0xff);
    p[3] = (char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static memo_ent_t *memo_slot(store_wal_t *w, const json_t *v)
{
    uintptr_t a = (uintptr_t)v;

    return &w->memo[((a >> 4) ^ (a >> 14)) & (MEMO_SLOTS - 1)];
}

static void memo_drop(store_wal_t *w, memo_ent_t *e)
{
    if (e->v == NULL)
        return;
    w->memo_bytes -= e->len;
    json_decref(e->v);
    free(e->text);
    e->v = NULL;
    e->text = NULL;
    e->len = 0;
}

/* Keeps `len` bytes `text`, the JSON text of `v`, in v's slot (replacing what it held). */
static void memo_keep(store_wal_t *w, const json_t *v, const char *text, size_t len)
{
    memo_ent_t *e = memo_slot(w, v);

    memo_drop(w, e);
    if (w->memo_bytes + len > MEMO_MAX_BYTES || (e->text = malloc(len)) == NULL)
        return;
    memcpy(e->text, text, len);
    e->len = len;
    e->v = json_incref((json_t *)v);
    w->memo_bytes += len;
}

/* jsonw_memo_t.find over w's memo. */
static const char *memo_find(void *ctx, const json_t *v, size_t *len)
{
    memo_ent_t *e = memo_slot(ctx, v);

    if (e->v != v)
        return NULL;
    *len = e->len;
    return e->text;
}

/* jsonw_memo_t.keep over w's memo: texts long enough to be worth a copy. */
static void memo_put(void *ctx, const json_t *v, const char *text, size_t len)
{
    if (len >= MEMO_MIN_LEN)
        memo_keep(ctx, v, text, len);
}

/* Appends one encoded record to `b`, through w's memo when `w` is not NULL (caller holds
 * w->mu). Returns its size, or 0 on failure (b unchanged). */
static size_t encode_record(store_wal_t *w, wal_buf_t *b, int type, const json_t *payload)
{
    static const char hdr[REC_HDR];
    const jsonw_memo_t memo = {memo_find, memo_put, w};
    size_t start = b->len, len;
    char *h;
    uint32_t crc;

    if (jsonw_append_raw(b, hdr, REC_HDR) != 0) /* filled in below */
        return 0;
    if ((!json_is_object(payload) && !json_is_array(payload)) ||
        jsonw_append_memo(b, payload, w != NULL ? &memo : NULL) != 0)
        goto Fail;
    len = b->len - start - REC_HDR;
    if (len >= REC_MAX)
        goto Fail;
    h = b->data + start;
    h[12] = (char)type;
    crc = crc32c(0, h + 12, 1 + len);
    put_u32(h, (uint32_t)len);
    put_u32(h + 4, ~(uint32_t)len);
    put_u32(h + 8, crc);
    return b->len - start;
Fail:
    b->len = start;
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * Writes the `n` bytes at `p` to log `fd` at offset `pos` and makes them durable, at most
 * FLUSH_PIECE bytes per fdatasync. Before a piece that would come within ZERO_AHEAD of
 * *zeroed (the end of the zeros already written after the records), ZERO_CHUNK more zeros are
 * written there, so that the piece's fdatasync also commits them (wal.h: the zero reserve).
 * Requires pos <= *zeroed. Returns 0, or errno.
 */
static int write_log(int fd, const char *p, size_t n, uint64_t pos, uint64_t *zeroed)
{
    static char zeros[ZERO_CHUNK]; /* never written (not const: no space in the binary) */
    size_t k;

    while (n > 0) {
        k = n < FLUSH_PIECE ? n : FLUSH_PIECE;
        if (pos + k + ZERO_AHEAD > *zeroed) {
            if (pwrite_all(fd, zeros, ZERO_CHUNK, *zeroed) != 0)
                return errno;
            *zeroed += ZERO_CHUNK;
        }
        if (pwrite_all(fd, p, k, pos) != 0 || fdatasync(fd) != 0)
            return errno;
        p += k;
        pos += k;
        n -= k;
    }
    return 0;
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);

    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *gen_path(const char *dir, const char *kind, uint64_t gen)
{
    char name[64];

    snprintf(name, sizeof(name), "%s-%" PRIu64, kind, gen);
    return path_join(dir, name);
}

static char *msgf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *msgf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

/* ---- flushing ---- */

/*
 * Leads one flush: claims the round, optionally lingers so writers in flight can join, then
 * writes and syncs everything appended so far. Called with w->mu held and no flush running;
 * returns with w->mu held. Wakes exactly the waiters this flush covered, plus one waiter of the
 * next round to lead it (the others of that round sleep until the round they are in ends).
 */
static void lead_flush(store_wal_t *w, int linger)
{
    struct timespec ts;
    wal_buf_t tmp;
    uint64_t target, pos, zeroed;
    unsigned slot;
    int fd, err;

    w->flushing = 1;
    w->round++;
    slot = (unsigned)(w->round & 1);
    w->flush_target = UINT64_MAX; /* until the swap, every append joins this round */
    if (linger) {
        pthread_mutex_unlock(&w->mu);
        ts.tv_sec = 0;
        ts.tv_nsec = (long)w->delay_us * 1000;
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&w->mu);
    }
    tmp = w->pend;
    w->pend = w->spare;
    w->spare = tmp;
    target = w->appended_lsn;
    w->flush_target = target;
    fd = w->fd;
    pos = w->file_size - w->spare.len; /* the records before are written */
    zeroed = w->zeroed_end;
    pthread_mutex_unlock(&w->mu);

    err = write_log(fd, w->spare.data, w->spare.len, pos, &zeroed);

    pthread_mutex_lock(&w->mu);
    w->zeroed_end = zeroed;
    w->spare.len = 0;
    w->flushing = 0;
    if (err != 0) {
        w->failed = 1;
        fprintf(stderr,
                "lgserve: store: writing the log in %s failed: %s; refusing further writes\n",
                w->dir, strerror(err));
        pthread_cond_broadcast(&w->round_cv[slot ^ 1]);
    } else {
        w->durable_lsn = target;
        if (w->next_waiters > 0)
            pthread_cond_signal(&w->round_cv[slot ^ 1]);
    }
    pthread_cond_broadcast(&w->round_cv[slot]);
}

/* Waits (w->mu held) until no flush is running. */
static void wait_idle(store_wal_t *w)
{
    while (w->flushing)
        pthread_cond_wait(&w->round_cv[w->round & 1], &w->mu);
}

/* Writes and syncs everything pending, waiting for a running flush first. w->mu held. */
static void flush_all(store_wal_t *w)
{
    wait_idle(w);
    if (w->pend.len > 0 && !w->failed)
        lead_flush(w, 0);
}

store_rc_t store_wal_append(store_wal_t *w, int type, const json_t *payload, uint64_t *lsn)
{
    store_rc_t rc = STORE_OK;
    size_t n;

    pthread_mutex_lock(&w->mu);
    if (w->failed) {
        rc = store_fail(STORE_IO, "the data directory %s is not writable after an earlier error",
                        w->dir);
        goto Exit;
    }
    if ((n = encode_record(w, &w->pend, type, payload)) == 0) {
        rc = store_fail(STORE_NOMEM, "cannot encode a log record");
        goto Exit;
    }
    w->appended_lsn += n;
    w->file_size += n;
    w->inflight++;
    *lsn = w->appended_lsn;
Exit:
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Returns (w->mu held) once `lsn` is durable or the log has failed, leading or joining
 * flushes as needed. */
static void wait_durable(store_wal_t *w, uint64_t lsn)
{
    int next;

    while (w->durable_lsn < lsn && !w->failed) {
        if (!w->flushing) {
            /* lead; batch lingers when others are mid-write so that they share this sync */
            lead_flush(w, w->policy == STORE_FSYNC_BATCH && w->delay_us > 0 && w->inflight > 1);
            continue;
        }
        /* covered by the running flush, or by the next round (whose leader we may become) */
        next = lsn > w->flush_target;
        w->next_waiters += next;
        pthread_cond_wait(&w->round_cv[(w->round + (uint64_t)next) & 1], &w->mu);
        w->next_waiters -= next;
    }
}

store_rc_t store_wal_wait(store_wal_t *w, uint64_t lsn)
{
    store_rc_t rc = store_wal_sync_to(w, lsn);

    store_wal_nowait(w);
    return rc;
}

store_rc_t store_wal_sync_to(store_wal_t *w, uint64_t lsn)
{
    store_rc_t rc = STORE_OK;

    pthread_mutex_lock(&w->mu);
    wait_durable(w, lsn);
    if (w->durable_lsn < lsn)
        rc = store_fail(STORE_IO, "writing the log in %s failed", w->dir);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

void store_wal_nowait(store_wal_t *w)
{
    pthread_mutex_lock(&w->mu);
    if (w->inflight > 0)
        w->inflight--;
    pthread_mutex_unlock(&w->mu);
}

/*
 * The flusher thread: while waiters are registered, makes the highest waiting position durable
 * (group commit with the blocked writers), then calls back the waiters covered, in order,
 * without `mu`. On close it drains the list before it ends.
 */
static void *flusher_main(void *arg)
{
    store_wal_t *w = arg;
    wal_waiter_t *done, *last, *n;
    uint64_t durable;
    int failed;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->waiters == NULL && !w->flusher_stop)
            pthread_cond_wait(&w->flusher_cv, &w->mu);
        if (w->waiters == NULL)
            break;
        wait_durable(w, w->waiters_tail->lsn);
        /* detach the covered prefix: everything when failed, else lsn <= durable_lsn */
        done = w->waiters;
        last = NULL;
        for (n = w->waiters; n != NULL && (w->failed || n->lsn <= w->durable_lsn); n = n->next)
            last = n;
        if (last == NULL)
            continue;
        w->waiters = last->next;
        if (w->waiters == NULL)
            w->waiters_tail = NULL;
        last->next = NULL;
        durable = w->durable_lsn;
        failed = w->failed;
        pthread_mutex_unlock(&w->mu);
        while (done != NULL) {
            n = done->next;
            /* a failed log may still have made this one durable before it failed */
            done->on_durable(done->user, failed && done->lsn > durable ? STORE_IO : STORE_OK);
            free(done);
            done = n;
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

void store_wal_when_durable(store_wal_t *w, uint64_t lsn, store_on_durable_fn on_durable,
                            void *user)
{
    wal_waiter_t *n = NULL, **pp;
    store_rc_t rc;

    pthread_mutex_lock(&w->mu);
    if (w->durable_lsn >= lsn || w->failed) {
        rc = w->durable_lsn >= lsn ? STORE_OK : STORE_IO;
        goto Now;
    }
    if (!w->flusher_started) {
        if (pthread_create(&w->flusher, NULL, flusher_main, w) != 0)
            goto Block;
        w->flusher_started = 1;
    }
    if ((n = malloc(sizeof(*n))) == NULL)
        goto Block;
    n->lsn = lsn;
    n->on_durable = on_durable;
    n->user = user;
    n->next = NULL;
    if (w->waiters_tail == NULL || w->waiters_tail->lsn <= lsn) {
        if (w->waiters_tail != NULL)
            w->waiters_tail->next = n;
        else
            w->waiters = n;
        w->waiters_tail = n;
    } else {
        for (pp = &w->waiters; (*pp)->lsn <= lsn; pp = &(*pp)->next)
            ;
        n->next = *pp;
        *pp = n;
    }
    /* signalled after the unlock: woken under `mu`, the flusher would only block on it; it
     * cannot miss the waiter, which it looks for under `mu` before it sleeps */
    pthread_mutex_unlock(&w->mu);
    pthread_cond_signal(&w->flusher_cv);
    return;
Block:
    /* no flusher or no memory: make it durable on this thread instead (never skip the wait) */
    wait_durable(w, lsn);
    rc = w->durable_lsn >= lsn ? STORE_OK : STORE_IO;
Now:
    pthread_mutex_unlock(&w->mu);
    on_durable(user, rc);
}

uint64_t store_wal_size(store_wal_t *w)
{
    uint64_t n;

    pthread_mutex_lock(&w->mu);
    n = w->file_size;
    pthread_mutex_unlock(&w->mu);
    return n;
}

/* ---- replay ---- */

/* Reads file `path` entirely into a malloc'd buffer (*data, *len). Returns 0, or -1 with errno. */
static int read_file(const char *path, unsigned char **data, size_t *len)
{
    struct stat st;
    unsigned char *d = NULL;
    size_t got = 0;
    int fd = -1, ret = -1;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0)
        goto Exit;
    if ((d = malloc((size_t)st.st_size + 1)) == NULL)
        goto Exit;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, d + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto Exit;
        got += (size_t)r;
    }
    *data = d;
    *len = got;
    d = NULL;
    ret = 0;
Exit:
    free(d);
    if (fd >= 0)
        close(fd);
    return ret;
}

/*
 * Replays file `path` whose first bytes must be `magic` (`is_log`: a log, else a snapshot). Zeros
 * from a record boundary to the end of the file end it. When `torn_ok` (the last log), a torn
 * write (wal.h) is truncated away with a warning; elsewhere it is corruption. *valid_end
 * receives the size of the good prefix, *file_end the size of the file left (records, then
 * zeros). Returns STORE_OK, STORE_CORRUPT or STORE_IO with *errmsg set (malloc'd).
 */
static store_rc_t replay_file(const char *path, const char *magic, int is_log, int torn_ok,
                              store_wal_apply_fn apply, void *ctx, uint64_t *valid_end,
                              uint64_t *file_end, char **errmsg)
{
    unsigned char *data = NULL;
    size_t len = 0, off, data_end;
    store_rc_t rc = STORE_OK;
    json_t *payload = NULL;
    json_error_t jerr;

    if (read_file(path, &data, &len) != 0) {
        *errmsg = msgf("cannot read %s: %s", path, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    /* just past the last byte that is not zero: a record ends with its JSON text's last byte */
    for (data_end = len; data_end > 0 && data[data_end - 1] == 0; data_end--)
        ;
    if (len < MAGIC_LEN || memcmp(data, magic, MAGIC_LEN) != 0) {
        if (torn_ok && ((len < MAGIC_LEN && memcmp(data, magic, len) == 0) || data_end == 0)) {
            /* Created but never completed: an empty log. */
            off = 0;
            goto Torn;
        }
        *errmsg = msgf("%s: not an lgserve %s file (bad header at byte offset 0)", path,
                       is_log ? "log" : "snapshot");
        rc = STORE_CORRUPT;
        goto Exit;
    }
    off = MAGIC_LEN;
    while (off < data_end) {
        size_t left = data_end - off;
        uint32_t n, crc;
        int type;

        if (left < REC_HDR)
            goto Torn;
        n = get_u32(data + off);
        if (get_u32(data + off + 4) != ~n) {
            if (torn_ok && left <= REC_HDR + FLUSH_PIECE)
                goto Torn;
            *errmsg = msgf("%s: corrupt record header at byte offset %zu", path, off);
            rc = STORE_CORRUPT;
            goto Exit;
        }
        if ((size_t)n > left - REC_HDR)
            goto Torn;
        crc = get_u32(data + off + 8);
        type = data[off + 12];
        if (crc32c(0, data + off + 12, 1 + (size_t)n) != crc) {
            if (torn_ok && left <= REC_HDR + (size_t)n + FLUSH_PIECE)
                goto Torn;
            *errmsg = msgf("%s: corrupt record (checksum mismatch) at byte offset %zu", path, off);
            rc = STORE_CORRUPT;
            goto Exit;
        }
        payload = json_loadb((const char *)data + off + REC_HDR, n, 0, &jerr);
        if (payload == NULL || apply(ctx, type, payload) != 0) {
            *errmsg = msgf("%s: unreadable record of type %d at byte offset %zu", path, type, off);
            rc = STORE_CORRUPT;
            goto Exit;
        }
        json_decref(payload);
        payload = NULL;
        off += REC_HDR + n;
    }
    *valid_end = off;
    *file_end = len;
    goto Exit;

Torn:
    if (!torn_ok) {
        *errmsg = msgf("%s: truncated record at byte offset %zu", path, off);
        rc = STORE_CORRUPT;
        goto Exit;
    }
    fprintf(stderr,
            "lgserve: store: warning: %s: dropping a torn record at byte offset %zu (%zu bytes "
            "after it); truncating the log there\n",
            path, off, data_end - off);
    if (truncate(path, (off_t)off) != 0) {
        *errmsg = msgf("cannot truncate %s: %s", path, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    *valid_end = off;
    *file_end = off;
Exit:
    json_decref(payload);
    free(data);
    return rc;
}

/* mkdir -p `dir` with mode 0700 for what it creates. Returns 0 or -1 (errno). */
static int mkdirs(const char *dir)
{
    char *p = strdup(dir), *s;
    int ret = -1;

    if (p == NULL)
        return -1;
    for (s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            goto Exit;
        *s = '/';
    }
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
        goto Exit;
    ret = 0;
Exit:
    free(p);
    return ret;
}

/* Creates log file `path` holding only the magic, synced. Returns the fd or -1. */
static int create_log(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

    if (fd < 0)
        return -1;
    if (write_all(fd, WAL_MAGIC, MAGIC_LEN) != 0 || fdatasync(fd) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Removes the files of generations before `first` and leftovers *.tmp, then syncs the
 * directory. */
static void remove_stale(store_wal_t *w, uint64_t first)
{
    DIR *d = opendir(w->dir);
    struct dirent *e;
    unsigned long long g;
    char extra;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        int stale = n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0;
        if (!stale && (sscanf(e->d_name, "wal-%llu%c", &g, &extra) == 1 ||
                       sscanf(e->d_name, "snapshot-%llu%c", &g, &extra) == 1))
            stale = g < first;
        if (stale)
            unlinkat(w->dir_fd, e->d_name, 0);
    }
    closedir(d);
    fsync(w->dir_fd);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* The generations >= `from` that have a log in directory `d` (rewound), ascending, in *gens
 * (malloc'd, caller frees; *n of them). Returns 0 or -1 (out of memory). */
static int list_logs(DIR *d, uint64_t from, uint64_t **gens, size_t *n)
{
    struct dirent *e;
    unsigned long long g;
    uint64_t *v = NULL, *nv;
    size_t cap = 0;
    char extra;

    *n = 0;
    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        if (sscanf(e->d_name, "wal-%llu%c", &g, &extra) != 1 || g < from)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
                free(v);
                return -1;
            }
            v = nv;
        }
        v[(*n)++] = g;
    }
    if (*n > 1)
        qsort(v, *n, sizeof(*v), cmp_u64);
    *gens = v;
    return 0;
}

store_rc_t store_wal_open(const char *dir, store_fsync_t policy, unsigned delay_us,
                          store_wal_apply_fn apply, void *ctx, store_wal_t **out, char **errmsg)
{
    store_wal_t *w = NULL;
    store_rc_t rc = STORE_OK;
    char *snap = NULL, *log = NULL, *msg = NULL;
    DIR *d = NULL;
    struct dirent *e;
    unsigned long long g;
    char extra;
    uint64_t end = MAGIC_LEN, phys = MAGIC_LEN, *gens = NULL;
    size_t n_gens = 0, i;
    int have_snap = 0;

    *out = NULL;
    if ((w = calloc(1, sizeof(*w))) == NULL || (w->dir = strdup(dir)) == NULL) {
        msg = msgf("out of memory");
        rc = STORE_NOMEM;
        goto Exit;
    }
    w->fd = -1;
    w->next_fd = -1;
    w->dir_fd = -1;
    w->lock_fd = -1;
    w->policy = policy;
    w->delay_us = delay_us;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->round_cv[0], NULL);
    pthread_cond_init(&w->round_cv[1], NULL);
    pthread_cond_init(&w->flusher_cv, NULL);
    if (mkdirs(dir) != 0 || (w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        msg = msgf("cannot create or open the data directory %s: %s", dir, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    if ((w->lock_fd = openat(w->dir_fd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 ||
        flock(w->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        msg = errno == EWOULDBLOCK
                  ? msgf("the data directory %s is in use by another lgserve process", dir)
                  : msgf("cannot lock the data directory %s: %s", dir, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    if ((d = opendir(dir)) == NULL) {
        msg = msgf("cannot list the data directory %s: %s", dir, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    while ((e = readdir(d)) != NULL) {
        if (sscanf(e->d_name, "snapshot-%llu%c", &g, &extra) == 1 && (!have_snap || g > w->gen)) {
            w->gen = g;
            have_snap = 1;
        }
    }
    if (have_snap) {
        snap = gen_path(dir, "snapshot", w->gen);
        if ((rc = replay_file(snap, SNAP_MAGIC, 0, 0, apply, ctx, &end, &phys, &msg)) != STORE_OK)
            goto Exit;
    }
    if (list_logs(d, w->gen, &gens, &n_gens) != 0) {
        msg = msgf("out of memory");
        rc = STORE_NOMEM;
        goto Exit;
    }
    remove_stale(w, w->gen);
    /* the snapshot's log and every later one, in order; appends continue the last */
    for (i = 0; i < n_gens; i++) {
        free(log);
        if ((log = gen_path(dir, "wal", gens[i])) == NULL) {
            msg = msgf("out of memory");
            rc = STORE_NOMEM;
            goto Exit;
        }
        end = MAGIC_LEN;
        if ((rc = replay_file(log, WAL_MAGIC, 1, i + 1 == n_gens, apply, ctx, &end, &phys,
                              &msg)) != STORE_OK)
            goto Exit;
        w->gen = gens[i];
    }
    if (n_gens == 0) {
        log = gen_path(dir, "wal", w->gen);
        end = phys = MAGIC_LEN;
        w->fd = log != NULL ? create_log(log) : -1;
    } else if (end < MAGIC_LEN) {
        w->fd = create_log(log);
        end = phys = MAGIC_LEN;
    } else if ((w->fd = open(log, O_WRONLY | O_CLOEXEC)) >= 0) {
        fdatasync(w->fd); /* makes a torn-tail truncation durable before new appends */
    }
    if (w->fd < 0) {
        msg = msgf("cannot open the log %s: %s", log, strerror(errno));
        rc = STORE_IO;
        goto Exit;
    }
    fsync(w->dir_fd);
    w->file_size = end;
    w->zeroed_end = phys;
    *out = w;
    w = NULL;
Exit:
    if (d != NULL)
        closedir(d);
    if (rc != STORE_OK && errmsg != NULL) {
        *errmsg = msg;
        msg = NULL;
    }
    free(msg);
    free(snap);
    free(log);
    free(gens);
    store_wal_close(w);
    return rc;
}

/* ---- compaction ---- */

/*
 * Writes the buffered snapshot bytes and keeps the file's dirty pages few: the writeback of
 * this chunk starts now and the previous chunk's is waited for. Otherwise tens of megabytes
 * pile up in the page cache, and the log's next fdatasync (which on ext4 commits the journal
 * and with it other files' dirty data) stalls every writer until they reach the disk.
 */
static int snap_flush(store_wal_snap_t *snap)
{
    off_t start = snap->written;

    if (write_all(snap->fd, snap->buf.data, snap->buf.len) != 0)
        return -1;
    snap->written += (off_t)snap->buf.len;
    snap->buf.len = 0;
    if (snap->synced < start &&
        sync_file_range(snap->fd, snap->synced, start - snap->synced,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) == 0)
        snap->synced = start;
    sync_file_range(snap->fd, start, snap->written - start, SYNC_FILE_RANGE_WRITE);
    return 0;
}

int store_wal_snap_add(store_wal_snap_t *snap, int type, const json_t *payload)
{
    if (encode_record(NULL, &snap->buf, type, payload) == 0)
        return -1;
    return snap->buf.len >= (1u << 20) ? snap_flush(snap) : 0;
}

store_rc_t store_wal_prepare(store_wal_t *w)
{
    char *path = NULL;
    uint64_t next;
    store_rc_t rc = STORE_OK;

    pthread_mutex_lock(&w->mu);
    next = w->gen + 1;
    pthread_mutex_unlock(&w->mu);
    if ((path = gen_path(w->dir, "wal", next)) == NULL) {
        rc = store_fail(STORE_NOMEM, "out of memory");
        goto Exit;
    }
    if ((w->next_fd = create_log(path)) < 0 || fsync(w->dir_fd) != 0) {
        rc = store_fail(STORE_IO, "cannot create log %s: %s", path, strerror(errno));
        goto Exit;
    }
    w->next_gen = next;
Exit:
    if (rc != STORE_OK && w->next_fd >= 0) {
        close(w->next_fd);
        unlink(path);
        w->next_fd = -1;
    }
    free(path);
    return rc;
}

store_rc_t store_wal_rotate(store_wal_t *w)
{
    char *path;
    int old_fd = -1;
    store_rc_t rc = STORE_OK;

    pthread_mutex_lock(&w->mu);
    flush_all(w);
    if (w->failed) {
        rc = store_fail(STORE_IO, "the log in %s failed", w->dir);
    } else {
        old_fd = w->fd;
        w->fd = w->next_fd;
        w->gen = w->next_gen;
        w->file_size = MAGIC_LEN;
        w->zeroed_end = MAGIC_LEN;
        w->next_fd = -1;
    }
    pthread_mutex_unlock(&w->mu);
    if (old_fd >= 0)
        close(old_fd);
    if (rc != STORE_OK && w->next_fd >= 0) {
        close(w->next_fd);
        w->next_fd = -1;
        if ((path = gen_path(w->dir, "wal", w->next_gen)) != NULL)
            unlink(path);
        free(path);
    }
    return rc;
}

store_rc_t store_wal_snapshot(store_wal_t *w, store_wal_dump_fn dump, void *ctx)
{
    store_wal_snap_t snap = {-1, {NULL, 0, 0}, MAGIC_LEN, 0} /* the magic is written first */;
    char *tmp = NULL, *path = NULL;
    uint64_t gen;
    store_rc_t rc = STORE_OK;

    pthread_mutex_lock(&w->mu);
    gen = w->gen;
    pthread_mutex_unlock(&w->mu);
    if ((path = gen_path(w->dir, "snapshot", gen)) == NULL || (tmp = msgf("%s.tmp", path)) == NULL) {
        rc = store_fail(STORE_NOMEM, "out of memory");
        goto Exit;
    }
    snap.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (snap.fd < 0 || write_all(snap.fd, SNAP_MAGIC, MAGIC_LEN) != 0 || dump(ctx, &snap) != 0 ||
        snap_flush(&snap) != 0 || fsync(snap.fd) != 0) {
        rc = store_fail(STORE_IO, "cannot write snapshot %s: %s", tmp, strerror(errno));
        goto Exit;
    }
    close(snap.fd);
    snap.fd = -1;
    /* the commit point: from here a start replays this snapshot and the logs from `gen` on */
    if (rename(tmp, path) != 0) {
        rc = store_fail(STORE_IO, "cannot install snapshot %s: %s", path, strerror(errno));
        unlink(tmp);
        goto Exit;
    }
    if (fsync(w->dir_fd) != 0) {
        /* either generation replays to the same state; keep the older files until next time */
        rc = store_fail(STORE_IO, "cannot sync the data directory %s: %s", w->dir, strerror(errno));
        goto Exit;
    }
    remove_stale(w, gen);
Exit:
    if (snap.fd >= 0) {
        close(snap.fd);
        unlink(tmp);
    }
    free(snap.buf.data);
    free(tmp);
    free(path);
    return rc;
}

void store_wal_close(store_wal_t *w)
{
    size_t i;

    if (w == NULL)
        return;
    if (w->flusher_started) {
        pthread_mutex_lock(&w->mu);
        w->flusher_stop = 1;
        pthread_cond_signal(&w->flusher_cv);
        pthread_mutex_unlock(&w->mu);
        pthread_join(w->flusher, NULL);
    }
    if (w->fd >= 0) {
        pthread_mutex_lock(&w->mu);
        flush_all(w);
        pthread_mutex_unlock(&w->mu);
        close(w->fd);
    }
    if (w->next_fd >= 0)
        close(w->next_fd);
    if (w->dir_fd >= 0)
        close(w->dir_fd);
    if (w->lock_fd >= 0)
        close(w->lock_fd);
    pthread_cond_destroy(&w->round_cv[0]);
    pthread_cond_destroy(&w->round_cv[1]);
    pthread_cond_destroy(&w->flusher_cv);
    pthread_mutex_destroy(&w->mu);
    for (i = 0; i < MEMO_SLOTS; i++)
        memo_drop(w, &w->memo[i]);
    free(w->pend.data);
    free(w->spare.data);
    free(w->dir);
    free(w);
}
