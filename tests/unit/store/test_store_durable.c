/*
 * tests/unit/store/test_store_durable.c — durability of the embedded backend's data directory:
 * reopen after close (both fsync policies), acknowledged writes surviving SIGKILL of a writing
 * process, the zeros after a log's records read as its end, a torn write (cut short, bad checksum,
 * damage within the last 64 KiB of data) dropped with a warning, damage with more data after it
 * refused with the file and byte offset, a write larger than one 64 KiB piece, and compaction (explicit,
 * automatic, interrupted at each crash point, concurrent with writers) preserving exactly the
 * same contents.
 */
#include "store_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store/store.h"
#include "util/uuid.h"

#define N_OBJECTS 300
#define REC_HDR_LEN 13 /* u32 len | u32 ~len | u32 crc | u8 type (runtime/store/wal.h) */

typedef struct dfx {
    char *dir;
    const store_ops_t *o;
} dfx_t;

static int setup(void **state)
{
    dfx_t *f = calloc(1, sizeof(*f));

    f->o = store_mem_ops();
    if ((f->dir = store_test_mkdtemp()) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    dfx_t *f = *state;

    store_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static store_t *open_store(dfx_t *f, store_fsync_t policy, uint64_t compact_bytes)
{
    store_config_t cfg = {0};
    store_t *s = NULL;
    char *err = NULL;

    cfg.data_dir = f->dir;
    cfg.fsync = policy;
    cfg.compact_bytes = compact_bytes;
    if (f->o->open(&cfg, &s, &err) != STORE_OK)
        fail_msg("open %s: %s", f->dir, err ? err : "?");
    return s;
}

/* Opens expecting failure; returns the code and stores the message in *msg (caller frees). */
static store_rc_t open_fails(dfx_t *f, char **msg)
{
    store_config_t cfg = {0};
    store_t *s = NULL;
    store_rc_t rc;

    cfg.data_dir = f->dir;
    rc = f->o->open(&cfg, &s, msg);
    if (rc == STORE_OK) {
        f->o->close(s);
        fail_msg("open of a corrupt store succeeded");
    }
    assert_null(s);
    return rc;
}

static char *file_path(dfx_t *f, const char *name)
{
    char *p = NULL;

    assert_true(asprintf(&p, "%s/%s", f->dir, name) > 0);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

/* The logical end of log `path`: just past its last byte that is not zero (its last record;
 * the zeros after it are the log's reserve, wal.h). */
static off_t log_end(const char *path)
{
    int fd = open(path, O_RDONLY);
    off_t end = file_size(path);
    unsigned char buf[4096];
    ssize_t n, i;

    assert_true(fd >= 0);
    while (end > 0) {
        off_t from = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
        n = pread(fd, buf, (size_t)(end - from), from);
        assert_int_equal(n, end - from);
        for (i = n; i > 0 && buf[i - 1] == 0; i--)
            ;
        if (i > 0) {
            end = from + i;
            break;
        }
        end = from;
    }
    close(fd);
    return end;
}

/* Writes a mix of every kind of object and some updates and deletes. */
static void populate(dfx_t *f, store_t *s, int n)
{
    json_t *in, *out = NULL, *ns, *v, *p, *shared;
    char key[32];
    int i;

    for (i = 0; i < n; i++) {
        in = json_pack("{s{si}}", "metadata", "i", i);
        assert_int_equal(f->o->thread_create(s, in, STORE_IF_EXISTS_RAISE, NULL, &out), STORE_OK);
        json_decref(in);
        if (i % 10 == 0) {
            const char *tid = json_string_value(json_object_get(out, "thread_id"));
            json_t *run = NULL, *cp;
            in = json_pack("{ssss}", "thread_id", tid, "assistant_id", "agent");
            assert_int_equal(f->o->run_create(s, in, 0, &run), STORE_OK);
            json_decref(in);
            cp = json_pack("{sssss{si}}", "thread_id", tid, "run_id",
                           json_string_value(json_object_get(run, "run_id")), "values", "i", i);
            assert_int_equal(f->o->checkpoint_put(s, cp, NULL), STORE_OK);
            json_decref(cp);
            /* the same containers in several records (the log writes a shared container's
             * text once and copies it after): a later checkpoint, the thread's values */
            shared = json_pack("{s[{ssss}{ssss}]}", "messages", "id", "m1", "content",
                               "a message long enough for its text to be kept and reused",
                               "id", "m2", "content", "and another one, shared by two records");
            cp = json_pack("{sssss{sOsO}}", "thread_id", tid, "checkpoint_id", "c2", "values",
                           "messages", json_object_get(shared, "messages"), "same", shared);
            assert_int_equal(f->o->checkpoint_put(s, cp, NULL), STORE_OK);
            json_decref(cp);
            p = json_pack("{sO}", "values", shared);
            assert_int_equal(f->o->thread_patch(s, tid, p, NULL, NULL), STORE_OK);
            json_decref(p);
            json_decref(shared);
            /* status changes are logged as changes, claims too */
            if (i % 20 == 0) {
                json_t *claimed = NULL;
                assert_int_equal(f->o->run_claim(s, INT64_MAX, &claimed), STORE_OK);
                json_decref(claimed);
            }
            if (i % 30 == 0)
                assert_int_equal(f->o->run_set_status(s, json_string_value(json_object_get(run, "run_id")),
                                                      "success", NULL, NULL),
                                 STORE_OK);
            json_decref(run);
        }
        if (i % 9 == 4) { /* a ttl set, then removed on every other one */
            const char *tid = json_string_value(json_object_get(out, "thread_id"));
            p = json_pack("{s{sssi}s{s[{ss}]}}", "ttl", "strategy", "delete", "ttl", 60, "values",
                          "messages", "id", "m1");
            assert_int_equal(f->o->thread_patch(s, tid, p, NULL, NULL), STORE_OK);
            json_decref(p);
            if (i % 2 == 0) {
                p = json_pack("{sns{si}}", "ttl", "metadata", "later", i);
                assert_int_equal(f->o->thread_patch(s, tid, p, NULL, NULL), STORE_OK);
                json_decref(p);
            }
        }
        if (i % 7 == 3) {
            p = json_pack("{s{ss}ss}", "metadata", "touched", "yes", "status", "busy");
            assert_int_equal(
                f->o->thread_patch(s, json_string_value(json_object_get(out, "thread_id")), p, NULL,
                                   NULL),
                STORE_OK);
            json_decref(p);
        }
        if (i % 11 == 5)
            assert_int_equal(
                f->o->thread_delete(s, json_string_value(json_object_get(out, "thread_id")), NULL),
                STORE_OK);
        json_decref(out);
        out = NULL;

        snprintf(key, sizeof(key), "k%d", i);
        ns = json_pack("[ss]", "mem", i % 2 ? "odd" : "even");
        v = json_pack("{si}", "i", i);
        assert_int_equal(
            f->o->item_put(s, i % 3 ? NULL : "scoped", ns, key, v, i % 5 ? 0 : 60, NULL), STORE_OK);
        json_decref(ns);
        json_decref(v);
    }
    for (i = 0; i < n / 20; i++) {
        json_t *a = NULL;
        in = json_pack("{sss{si}}", "graph_id", "agent", "metadata", "i", i);
        assert_int_equal(f->o->assistant_create(s, in, STORE_IF_EXISTS_RAISE, NULL, &a), STORE_OK);
        json_decref(in);
        p = json_pack("{ss}", "name", "patched");
        assert_int_equal(
            f->o->assistant_patch(s, json_string_value(json_object_get(a, "assistant_id")), p, NULL,
                                  NULL),
            STORE_OK);
        json_decref(p);
        if (i % 2)
            assert_int_equal(
                f->o->assistant_set_latest(s, json_string_value(json_object_get(a, "assistant_id")),
                                           1, NULL, NULL),
                STORE_OK);
        json_decref(a);
        in = json_pack("{sssss{si}}", "assistant_id", "agent", "schedule", "* * * * *", "metadata",
                       "i", i);
        assert_int_equal(f->o->cron_create(s, in, NULL), STORE_OK);
        json_decref(in);
    }
}

/* Everything the store holds, as one JSON value (new reference), for before/after equality. */
static json_t *snapshot_of(dfx_t *f, store_t *s)
{
    store_thread_query_t tq = {0};
    store_assistant_query_t aq = {0};
    store_cron_query_t cq = {0};
    store_item_query_t iq = {0};
    json_t *all = json_object(), *list = NULL, *t, *sub = NULL, *per = json_object();
    size_t i;

    tq.sort_by = aq.sort_by = cq.sort_by = "created_at";
    tq.sort_order = aq.sort_order = cq.sort_order = "asc";
    cq.enabled = -1;
    assert_int_equal(f->o->thread_search(s, &tq, NULL, &list, NULL), STORE_OK);
    json_array_foreach(list, i, t) {
        const char *id = json_string_value(json_object_get(t, "thread_id"));
        json_t *entry = json_object();
        assert_int_equal(f->o->run_list(s, id, NULL, 0, 0, NULL, &sub, NULL), STORE_OK);
        json_object_set_new(entry, "runs", sub);
        assert_int_equal(f->o->checkpoint_list(s, id, NULL, NULL, NULL, 0, &sub), STORE_OK);
        json_object_set_new(entry, "checkpoints", sub);
        json_object_set_new(per, id, entry);
    }
    json_object_set_new(all, "threads", list);
    json_object_set_new(all, "per_thread", per);
    assert_int_equal(f->o->assistant_search(s, &aq, NULL, &list, NULL), STORE_OK);
    json_array_foreach(list, i, t) {
        assert_int_equal(
            f->o->assistant_versions(s, json_string_value(json_object_get(t, "assistant_id")), NULL,
                                     0, 0, NULL, &sub, NULL),
            STORE_OK);
        json_object_set_new(t, "_versions", sub);
    }
    json_object_set_new(all, "assistants", list);
    assert_int_equal(f->o->cron_search(s, &cq, NULL, &list, NULL), STORE_OK);
    json_object_set_new(all, "crons", list);
    assert_int_equal(f->o->item_search(s, NULL, &iq, &list, NULL), STORE_OK);
    json_object_set_new(all, "items", list);
    assert_int_equal(f->o->item_search(s, "scoped", &iq, &list, NULL), STORE_OK);
    json_object_set_new(all, "items_scoped", list);
    assert_int_equal(f->o->run_active(s, NULL, &list), STORE_OK);
    json_object_set_new(all, "active", list);
    return all;
}

/* Equal contents, members in the same order (clients see the stored order). */
static void assert_same(json_t *a, json_t *b)
{
    char *x = json_dumps(a, JSON_COMPACT), *y = json_dumps(b, JSON_COMPACT);

    if (!json_equal(a, b) || strcmp(x, y) != 0) {
        size_t i = 0;
        while (x[i] && x[i] == y[i])
            i++;
        fail_msg("contents differ at char %zu: ...%.80s... vs ...%.80s...", i,
                 x + (i > 20 ? i - 20 : 0), y + (i > 20 ? i - 20 : 0));
    }
    free(x);
    free(y);
}

static void reopen_roundtrip(void **state, store_fsync_t policy)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, policy, 0);
    json_t *before, *after;
    int64_t n;

    populate(f, s, N_OBJECTS);
    before = snapshot_of(f, s);
    f->o->close(s);
    s = open_store(f, policy == STORE_FSYNC_BATCH ? STORE_FSYNC_ALWAYS : STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    assert_int_equal(f->o->thread_count(s, NULL, NULL, &n), STORE_OK);
    assert_int_equal(n, json_array_size(json_object_get(before, "threads")));
    assert_true(n > N_OBJECTS * 8 / 10);
    f->o->close(s);
    json_decref(before);
    json_decref(after);
}

static void test_reopen_batch(void **state)
{
    reopen_roundtrip(state, STORE_FSYNC_BATCH);
}

static void test_reopen_always(void **state)
{
    reopen_roundtrip(state, STORE_FSYNC_ALWAYS);
}

/* ---- SIGKILL ---- */

#define KILL_WRITERS 4
#define KILL_AFTER 400

typedef struct kill_ctx {
    const store_ops_t *o;
    store_t *s;
    int fd;
    pthread_mutex_t mu;
    int acked;
} kill_ctx_t;

static void *kill_writer(void *p)
{
    kill_ctx_t *k = p;
    char line[UUID_STR_SIZE + 1];

    for (;;) {
        json_t *out = NULL;
        if (k->o->thread_create(k->s, NULL, STORE_IF_EXISTS_RAISE, NULL, &out) != STORE_OK)
            _exit(3);
        /* acknowledged: report it, then count it */
        snprintf(line, sizeof(line), "%s\n", json_string_value(json_object_get(out, "thread_id")));
        json_decref(out);
        pthread_mutex_lock(&k->mu);
        if (write(k->fd, line, UUID_STR_SIZE) != UUID_STR_SIZE)
            _exit(4);
        if (++k->acked == KILL_AFTER)
            kill(getpid(), SIGKILL); /* the other writers are mid-flight */
        pthread_mutex_unlock(&k->mu);
    }
    return NULL;
}

static void kill_child(dfx_t *f, int fd, store_fsync_t policy)
{
    store_config_t cfg = {0};
    kill_ctx_t k = {f->o, NULL, fd, PTHREAD_MUTEX_INITIALIZER, 0};
    pthread_t th[KILL_WRITERS];
    int i;

    cfg.data_dir = f->dir;
    cfg.fsync = policy;
    cfg.batch_delay_us = 2000; /* batch: writers linger for company; always ignores it */
    if (f->o->open(&cfg, &k.s, NULL) != STORE_OK)
        _exit(2);
    for (i = 0; i < KILL_WRITERS; i++)
        pthread_create(&th[i], NULL, kill_writer, &k);
    for (;;)
        pause();
}

static void sigkill_survival(void **state, store_fsync_t policy)
{
    dfx_t *f = *state;
    char buf[UUID_STR_SIZE * (KILL_AFTER + KILL_WRITERS + 8)];
    size_t got = 0, i;
    int fds[2], status;
    pid_t pid;
    store_t *s;
    int64_t n;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        kill_child(f, fds[1], policy);
    }
    close(fds[1]);
    for (;;) {
        ssize_t r = read(fds[0], buf + got, sizeof(buf) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    assert_int_equal(got % UUID_STR_SIZE, 0);
    assert_true(got / UUID_STR_SIZE >= KILL_AFTER);

    s = open_store(f, STORE_FSYNC_BATCH, 0);
    for (i = 0; i < got; i += UUID_STR_SIZE) {
        json_t *t = NULL;
        buf[i + UUID_STR_SIZE - 1] = '\0';
        if (f->o->thread_get(s, buf + i, NULL, &t) != STORE_OK)
            fail_msg("acknowledged thread %s lost after SIGKILL", buf + i);
        json_decref(t);
    }
    assert_int_equal(f->o->thread_count(s, NULL, NULL, &n), STORE_OK);
    assert_true(n >= (int64_t)(got / UUID_STR_SIZE));
    f->o->close(s);
}

static void test_sigkill_batch(void **state)
{
    sigkill_survival(state, STORE_FSYNC_BATCH);
}

static void test_sigkill_always(void **state)
{
    sigkill_survival(state, STORE_FSYNC_ALWAYS);
}

/* ---- torn tails and corruption ---- */

/* Runs `fn` with stderr captured; returns what was written (malloc'd, caller frees). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char tmpl[] = "/tmp/lgserve-stderr-XXXXXX", *text = calloc(1, 4096);
    int fd = mkstemp(tmpl), saved = dup(2);
    ssize_t n;

    fflush(stderr);
    dup2(fd, 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, text, 4095);
    text[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(tmpl);
    return text;
}

typedef struct reopen_arg {
    dfx_t *f;
    int64_t threads;
} reopen_arg_t;

static void reopen_count(void *p)
{
    reopen_arg_t *a = p;
    store_t *s = open_store(a->f, STORE_FSYNC_BATCH, 0);

    assert_int_equal(a->f->o->thread_count(s, NULL, NULL, &a->threads), STORE_OK);
    a->f->o->close(s);
}

/* Writes `n` threads with one record each, each with `pad` bytes of metadata text; returns the
 * logical end of the log after each (malloc'd array). */
static off_t *write_threads_pad(dfx_t *f, int n, size_t pad)
{
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0);
    char *log = file_path(f, "wal-0"), *text = malloc(pad + 1);
    off_t *sizes = calloc((size_t)n + 1, sizeof(*sizes));
    json_t *in;
    int i;

    memset(text, 'p', pad);
    text[pad] = '\0';
    sizes[0] = log_end(log);
    for (i = 0; i < n; i++) {
        in = pad > 0 ? json_pack("{s{ss}}", "metadata", "pad", text) : NULL;
        assert_int_equal(f->o->thread_create(s, in, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
        json_decref(in);
        sizes[i + 1] = log_end(log);
    }
    f->o->close(s);
    free(text);
    free(log);
    return sizes;
}

static off_t *write_threads(dfx_t *f, int n)
{
    return write_threads_pad(f, n, 0);
}

static void test_torn_tail_truncated(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads(f, 20);
    char *log = file_path(f, "wal-0"), *err;
    reopen_arg_t a = {f, -1};

    /* cut the last record in the middle of its payload */
    assert_int_equal(truncate(log, sizes[20] - 7), 0);
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 19);
    assert_non_null(strstr(err, "torn record"));
    assert_non_null(strstr(err, log));
    assert_int_equal(file_size(log), sizes[19]);
    free(err);
    /* cut inside the header of the next one */
    assert_int_equal(truncate(log, sizes[18] + 5), 0);
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 18);
    assert_non_null(strstr(err, "torn record"));
    free(err);
    /* and it keeps working after the repair */
    free(write_threads(f, 2));
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 20);
    assert_null(strstr(err, "torn"));
    free(err);
    free(log);
    free(sizes);
}

static void flip_byte(const char *path, off_t at)
{
    int fd = open(path, O_RDWR);
    unsigned char c;

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
}

static void test_torn_tail_bad_checksum(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads(f, 10);
    char *log = file_path(f, "wal-0"), *err;
    reopen_arg_t a = {f, -1};

    flip_byte(log, sizes[10] - 3); /* inside the last payload */
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 9);
    assert_non_null(strstr(err, "torn record"));
    assert_int_equal(file_size(log), sizes[9]);
    free(err);
    free(log);
    free(sizes);
}

/* Zeros after the records are the normal end of a log: its reserve, a log without one (as
 * older versions left it), or more zeros appended; nothing is warned about or changed. */
static void test_zero_filled_tail(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads(f, 5), phys;
    char *log = file_path(f, "wal-0"), *err;
    reopen_arg_t a = {f, -1};
    char zeros[4096] = {0};
    int fd, round;

    assert_true(file_size(log) > sizes[5]); /* the reserve */
    for (round = 0; round < 3; round++) {
        if (round == 1) /* no reserve */
            assert_int_equal(truncate(log, sizes[5]), 0);
        if (round == 2) {
            fd = open(log, O_WRONLY | O_APPEND);
            assert_int_equal(write(fd, zeros, sizeof(zeros)), (ssize_t)sizeof(zeros));
            close(fd);
        }
        phys = file_size(log);
        err = capture_stderr(reopen_count, &a);
        assert_int_equal(a.threads, 5);
        assert_null(strstr(err, "torn"));
        assert_int_equal(file_size(log), phys);
        assert_int_equal(log_end(log), sizes[5]);
        free(err);
    }
    /* and appends continue after the records */
    free(write_threads(f, 1));
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 6);
    assert_null(strstr(err, "torn"));
    free(err);
    free(log);
    free(sizes);
}

/* A bad header followed by valid records within the last 64 KiB of data, as a power loss
 * leaves it when the disk wrote the pages of the last piece out of order: a torn write. The
 * records before it stay, it and the later ones go, and the log takes new writes. */
static void test_torn_within_piece(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads(f, 20);
    char *log = file_path(f, "wal-0"), *err, zeros[REC_HDR_LEN] = {0};
    reopen_arg_t a = {f, -1};
    int fd = open(log, O_WRONLY);

    /* the header of record 15 never reached the disk; records 16..19 did */
    assert_true(sizes[20] - sizes[15] < 64 * 1024);
    assert_int_equal(pwrite(fd, zeros, sizeof(zeros), sizes[15]), (ssize_t)sizeof(zeros));
    close(fd);
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 15);
    assert_non_null(strstr(err, "torn record"));
    assert_non_null(strstr(err, log));
    assert_int_equal(file_size(log), sizes[15]);
    free(err);
    free(write_threads(f, 3));
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 18);
    assert_null(strstr(err, "torn"));
    free(err);
    free(log);
    free(sizes);
}

/* One record larger than a write piece (64 KiB) is written in several pieces and synced; it
 * replays, and so do the small records around it. */
static void test_large_record(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_ALWAYS, 0);
    char *log = file_path(f, "wal-0"), *text = malloc(300 * 1024 + 1), *err;
    json_t *in, *out = NULL, *got = NULL;
    reopen_arg_t a = {f, -1};
    char id[64];

    memset(text, 'x', 300 * 1024);
    text[300 * 1024] = '\0';
    assert_int_equal(f->o->thread_create(s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    in = json_pack("{s{ss}}", "metadata", "big", text);
    assert_int_equal(f->o->thread_create(s, in, STORE_IF_EXISTS_RAISE, NULL, &out), STORE_OK);
    json_decref(in);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(out, "thread_id")));
    json_decref(out);
    assert_int_equal(f->o->thread_create(s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    assert_true(log_end(log) > 300 * 1024);
    f->o->close(s);
    err = capture_stderr(reopen_count, &a);
    assert_int_equal(a.threads, 3);
    assert_null(strstr(err, "torn"));
    free(err);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    assert_int_equal(f->o->thread_get(s, id, NULL, &got), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(got, "metadata"), "big")),
                        text);
    json_decref(got);
    f->o->close(s);
    free(text);
    free(log);
}

/* Damage with more than a write piece (64 KiB) of valid data after it is not a torn write. */
static void test_corruption_refused(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads_pad(f, 40, 4096), phys;
    char *log = file_path(f, "wal-0"), *msg = NULL, want[64];

    assert_true(sizes[40] > sizes[2] + 128 * 1024);
    phys = file_size(log);
    /* a payload byte of the third record: its checksum fails and valid records follow */
    flip_byte(log, sizes[2] + 20);
    assert_int_equal(open_fails(f, &msg), STORE_CORRUPT);
    assert_non_null(msg);
    assert_non_null(strstr(msg, log));
    snprintf(want, sizeof(want), "byte offset %lld", (long long)sizes[2]);
    if (strstr(msg, want) == NULL)
        fail_msg("message '%s' lacks '%s'", msg, want);
    free(msg);
    msg = NULL;
    assert_int_equal(file_size(log), phys); /* nothing was truncated */

    /* a length byte of the second record */
    flip_byte(log, sizes[2] + 20);
    flip_byte(log, sizes[1]);
    assert_int_equal(open_fails(f, &msg), STORE_CORRUPT);
    snprintf(want, sizeof(want), "byte offset %lld", (long long)sizes[1]);
    assert_non_null(strstr(msg, want));
    free(msg);
    free(log);
    free(sizes);
}

/* ---- compaction ---- */

static void test_compaction_explicit(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0);
    char *wal0 = file_path(f, "wal-0"), *wal1 = file_path(f, "wal-1"),
         *snap1 = file_path(f, "snapshot-1");
    json_t *before, *after;
    struct stat st;

    populate(f, s, N_OBJECTS);
    before = snapshot_of(f, s);
    assert_int_equal(f->o->compact(s), STORE_OK);
    assert_int_equal(stat(wal0, &st), -1);
    assert_int_equal(file_size(wal1), 8);
    assert_true(file_size(snap1) > 8);
    after = snapshot_of(f, s);
    assert_same(before, after);
    json_decref(after);
    /* changes after the compaction land in the new log */
    assert_int_equal(f->o->thread_create(s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    json_decref(before);
    before = snapshot_of(f, s);
    f->o->close(s);

    s = open_store(f, STORE_FSYNC_ALWAYS, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    f->o->close(s);
    json_decref(before);
    json_decref(after);
    free(wal0);
    free(wal1);
    free(snap1);
}

static void test_compaction_automatic(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 32 * 1024);
    json_t *before, *after;
    char *snap;
    int gen, found = 0;

    populate(f, s, N_OBJECTS);
    before = snapshot_of(f, s);
    f->o->close(s);
    for (gen = 1; gen < 1000 && !found; gen++) {
        struct stat st;
        char name[32];
        snprintf(name, sizeof(name), "snapshot-%d", gen);
        snap = file_path(f, name);
        found = stat(snap, &st) == 0;
        free(snap);
    }
    assert_true(found);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    f->o->close(s);
    json_decref(before);
    json_decref(after);
}

/* A crash after the next log was prepared but before the switch to it: the prepared (empty)
 * log and a partial snapshot .tmp are left. The .tmp goes; the empty log simply continues the
 * chain and takes the next appends. A lost log of the current generation starts empty. */
static void test_compaction_interrupted(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0);
    char *tmp = file_path(f, "snapshot-2.tmp"), *wal1 = file_path(f, "wal-1"),
         *wal2 = file_path(f, "wal-2");
    json_t *before, *after;
    struct stat st;
    FILE *fp;

    populate(f, s, 60);
    assert_int_equal(f->o->compact(s), STORE_OK);
    before = snapshot_of(f, s);
    f->o->close(s);
    fp = fopen(tmp, "w");
    fputs("partial", fp);
    fclose(fp);
    fp = fopen(wal2, "w");
    fputs("LGSWAL01", fp);
    fclose(fp);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    assert_int_equal(stat(tmp, &st), -1);
    json_decref(after);
    /* appends continue the last log of the chain */
    assert_int_equal(f->o->thread_create(s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    json_decref(before);
    before = snapshot_of(f, s);
    f->o->close(s);
    assert_true(file_size(wal2) > 8);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    f->o->close(s);
    json_decref(after);
    /* a lost log (its snapshot is complete) is replayed as empty */
    assert_int_equal(unlink(wal2), 0);
    assert_int_equal(unlink(wal1), 0);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    assert_int_equal(f->o->thread_create(s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    f->o->close(s);
    json_decref(before);
    free(tmp);
    free(wal1);
    free(wal2);
}

typedef struct busy_arg {
    dfx_t *f;
    store_t *s;
    int stop; /* __atomic */
    int failures;
} busy_arg_t;

static void *busy_writer(void *p)
{
    busy_arg_t *a = p;
    int i;

    for (i = 0; i < 60; i++) {
        json_t *in = json_pack("{s{si}}", "metadata", "i", i), *ns = json_pack("[s]", "busy"), *v;
        char key[32];
        a->failures +=
            a->f->o->thread_create(a->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL) != STORE_OK;
        snprintf(key, sizeof(key), "k%d-%p", i, (void *)&i);
        v = json_pack("{si}", "i", i);
        a->failures += a->f->o->item_put(a->s, NULL, ns, key, v, 0, NULL) != STORE_OK;
        json_decref(in);
        json_decref(ns);
        json_decref(v);
    }
    return NULL;
}

static void *busy_compactor(void *p)
{
    busy_arg_t *a = p;

    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        a->failures += a->f->o->compact(a->s) != STORE_OK;
        usleep(20000);
    }
    return NULL;
}

/* Compactions racing writers lose nothing, also across a reopen. */
static void test_compaction_concurrent(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 16 * 1024);
    busy_arg_t w[4], c = {f, s, 0, 0};
    pthread_t th[4], ct;
    json_t *before, *after;
    int64_t n;
    int i;

    pthread_create(&ct, NULL, busy_compactor, &c);
    for (i = 0; i < 4; i++) {
        w[i] = (busy_arg_t){f, s, 0, 0};
        pthread_create(&th[i], NULL, busy_writer, &w[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
    pthread_join(ct, NULL);
    assert_int_equal(c.failures, 0);
    assert_int_equal(f->o->thread_count(s, NULL, NULL, &n), STORE_OK);
    assert_int_equal(n, 240);
    before = snapshot_of(f, s);
    f->o->close(s);
    s = open_store(f, STORE_FSYNC_ALWAYS, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    f->o->close(s);
    json_decref(before);
    json_decref(after);
}

static void test_corrupt_snapshot_refused(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0);
    char *snap = file_path(f, "snapshot-1"), *msg = NULL;

    populate(f, s, 40);
    assert_int_equal(f->o->compact(s), STORE_OK);
    f->o->close(s);
    /* a snapshot is complete by construction: even its last record may not be bad */
    flip_byte(snap, file_size(snap) - 2);
    assert_int_equal(open_fails(f, &msg), STORE_CORRUPT);
    assert_non_null(strstr(msg, snap));
    assert_non_null(strstr(msg, "byte offset"));
    free(msg);
    free(snap);
}

/* Copies file `from` to `to` (both borrowed paths). */
static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n;

    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* Removes snapshot-<gen> and wal-<gen>. */
static void unlink_gen(dfx_t *f, int gen)
{
    char name[32], *p;

    snprintf(name, sizeof(name), "snapshot-%d", gen);
    assert_int_equal(unlink(p = file_path(f, name)), 0);
    free(p);
    snprintf(name, sizeof(name), "wal-%d", gen);
    assert_int_equal(unlink(p = file_path(f, name)), 0);
    free(p);
}

/*
 * Crash points of a compaction after its switch to the new log, rebuilt from saved files:
 * (1) the new snapshot was never installed while acknowledged writes already went to the new
 * log: the old snapshot and every log since replay them all; (2) the new snapshot was
 * installed but the old generation not yet removed: it is ignored and removed. A log before
 * the last one that is cut short is corruption, not a torn tail.
 */
static void test_compaction_crash_points(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0);
    char *snap1 = file_path(f, "snapshot-1"), *wal1 = file_path(f, "wal-1"),
         *snap2 = file_path(f, "snapshot-2"), *wal2 = file_path(f, "wal-2"),
         *save_snap1 = file_path(f, "saved-snap1"), *save_wal1 = file_path(f, "saved-wal1"),
         *tmp = file_path(f, "snapshot-2.tmp"), *msg = NULL;
    json_t *before, *after;
    struct stat st;
    FILE *fp;

    populate(f, s, 40);
    assert_int_equal(f->o->compact(s), STORE_OK);
    populate(f, s, 40); /* into wal-1 */
    copy_file(snap1, save_snap1);
    copy_file(wal1, save_wal1);
    assert_int_equal(f->o->compact(s), STORE_OK);
    assert_int_equal(stat(wal1, &st), -1);
    populate(f, s, 40); /* acknowledged, into wal-2 */
    before = snapshot_of(f, s);
    f->o->close(s);

    /* (2) installed, old generation still there */
    copy_file(save_snap1, snap1);
    copy_file(save_wal1, wal1);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    json_decref(after);
    f->o->close(s);
    assert_int_equal(stat(snap1, &st), -1);
    assert_int_equal(stat(wal1, &st), -1);

    /* (1) not installed: snapshot-2 only as a partial .tmp */
    assert_int_equal(unlink(snap2), 0);
    fp = fopen(tmp, "w");
    fputs("LGSSNP01partial", fp);
    fclose(fp);
    copy_file(save_snap1, snap1);
    copy_file(save_wal1, wal1);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    json_decref(after);
    assert_int_equal(stat(tmp, &st), -1);
    assert_int_equal(stat(wal2, &st), 0);
    /* a later compaction leaves one generation */
    assert_int_equal(f->o->compact(s), STORE_OK);
    after = snapshot_of(f, s);
    assert_same(before, after);
    json_decref(after);
    f->o->close(s);
    assert_int_equal(stat(snap1, &st), -1);
    assert_int_equal(stat(wal1, &st), -1);
    assert_int_equal(stat(wal2, &st), -1);
    s = open_store(f, STORE_FSYNC_BATCH, 0);
    after = snapshot_of(f, s);
    assert_same(before, after);
    json_decref(after);
    f->o->close(s);

    /* a cut-short log before the last is refused */
    unlink_gen(f, 3);
    copy_file(save_snap1, snap1);
    copy_file(save_wal1, wal1);
    assert_int_equal(truncate(wal1, log_end(wal1) - 5), 0);
    fp = fopen(wal2, "w");
    fputs("LGSWAL01", fp);
    fclose(fp);
    assert_int_equal(open_fails(f, &msg), STORE_CORRUPT);
    assert_non_null(strstr(msg, wal1));
    free(msg);

    json_decref(before);
    free(snap1);
    free(wal1);
    free(snap2);
    free(wal2);
    free(save_snap1);
    free(save_wal1);
    free(tmp);
}

typedef struct damage_arg {
    dfx_t *f;
    int opened, refused;
} damage_arg_t;

static void quiet_open(void *p)
{
    damage_arg_t *d = p;
    store_config_t cfg = {0};
    store_t *s = NULL;
    char *msg = NULL;
    store_rc_t rc;
    int64_t n;

    cfg.data_dir = d->f->dir;
    rc = d->f->o->open(&cfg, &s, &msg);
    if (rc == STORE_OK) {
        assert_int_equal(d->f->o->thread_count(s, NULL, NULL, &n), STORE_OK);
        assert_true(n <= 30);
        d->f->o->close(s);
        d->opened++;
    } else {
        assert_int_equal(rc, STORE_CORRUPT);
        assert_non_null(strstr(msg, "byte offset"));
        d->refused++;
    }
    free(msg);
}

/* Random damage (a flipped byte anywhere in the file, its zero reserve included, or a cut at a
 * random length) never crashes the replay: the store opens (torn write, fewer objects) or
 * refuses as corrupt with an offset. The records span over 200 KiB, so both happen. */
static void test_random_damage(void **state)
{
    dfx_t *f = *state;
    off_t *sizes = write_threads_pad(f, 30, 8192);
    char *log = file_path(f, "wal-0"), *good = file_path(f, "good"), *err;
    damage_arg_t d = {f, 0, 0};
    unsigned seed = 12345;
    off_t phys = file_size(log);
    int i;

    assert_true(sizes[30] > 200 * 1024);
    copy_file(log, good);
    for (i = 0; i < 300; i++) {
        unsigned r = (unsigned)rand_r(&seed);
        copy_file(good, log);
        if (i % 2)
            flip_byte(log, (off_t)(r % (unsigned)phys));
        else
            assert_int_equal(truncate(log, (off_t)(r % (unsigned)sizes[30])), 0);
        err = capture_stderr(quiet_open, &d);
        free(err);
    }
    assert_true(d.opened > 0);
    assert_true(d.refused > 0);
    free(log);
    free(good);
    free(sizes);
}

static void test_directory_locked(void **state)
{
    dfx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH, 0), *second;
    char *msg = NULL;

    assert_int_equal(open_fails(f, &msg), STORE_IO);
    assert_non_null(strstr(msg, "in use"));
    assert_non_null(strstr(msg, f->dir));
    free(msg);
    f->o->close(s);
    second = open_store(f, STORE_FSYNC_BATCH, 0);
    f->o->close(second);
}

static void test_default_dir_created(void **state)
{
    dfx_t *f = *state;
    char *nested = file_path(f, "a/b/.lgserve");
    store_config_t cfg = {0};
    store_t *s = NULL;
    struct stat st;

    cfg.data_dir = nested;
    assert_int_equal(f->o->open(&cfg, &s, NULL), STORE_OK);
    f->o->close(s);
    assert_int_equal(stat(nested, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0700);
    free(nested);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail_bad_checksum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_filled_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_within_piece, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corruption_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_explicit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_automatic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_crash_points, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_snapshot_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_default_dir_created, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
