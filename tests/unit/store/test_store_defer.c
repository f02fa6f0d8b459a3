/*
 * tests/unit/store/test_store_defer.c — deferred durability of the embedded backend
 * (store_defer_begin/end and when_durable): deferred writes return before the disk and report
 * their log position; callbacks come exactly once, in position order, for both fsync policies;
 * a registration for a durable position is answered at once on the caller's thread; closing
 * the store answers pending ones; a failing fdatasync reaches every waiter as STORE_IO.
 *
 * fdatasync is interposed by this program (the log's calls bind to the definition below), so
 * a test can make the disk fail.
 */
#include "store_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>

#include "store/store.h"

#define N_WRITES 50

static atomic_int fail_sync; /* when set, fdatasync fails with EIO */

int fdatasync(int fd)
{
    if (atomic_load(&fail_sync)) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* What the callbacks saw (shared with the flusher thread; guarded by mu). */
typedef struct seen {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t pos[N_WRITES + 1]; /* positions in callback order */
    store_rc_t rc[N_WRITES + 1];
    pthread_t thread[N_WRITES + 1];
    int n;
} seen_t;

/* One registration: the position and the shared record. */
typedef struct reg {
    seen_t *seen;
    uint64_t pos;
} reg_t;

typedef struct fx {
    char *dir;
    const store_ops_t *o;
    seen_t seen;
    reg_t regs[N_WRITES + 1];
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));

    f->o = store_mem_ops();
    pthread_mutex_init(&f->seen.mu, NULL);
    pthread_cond_init(&f->seen.cv, NULL);
    if ((f->dir = store_test_mkdtemp()) == NULL) {
        free(f);
        return -1;
    }
    atomic_store(&fail_sync, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;

    atomic_store(&fail_sync, 0);
    store_test_rmtree(f->dir);
    pthread_cond_destroy(&f->seen.cv);
    pthread_mutex_destroy(&f->seen.mu);
    free(f->dir);
    free(f);
    return 0;
}

static store_t *open_store(fx_t *f, store_fsync_t policy)
{
    store_config_t cfg = {0};
    store_t *s = NULL;
    char *err = NULL;

    cfg.data_dir = f->dir;
    cfg.fsync = policy;
    if (f->o->open(&cfg, &s, &err) != STORE_OK)
        fail_msg("open %s: %s", f->dir, err ? err : "?");
    return s;
}

static void on_durable(void *user, store_rc_t rc)
{
    reg_t *r = user;
    seen_t *sn = r->seen;

    pthread_mutex_lock(&sn->mu);
    sn->pos[sn->n] = r->pos;
    sn->rc[sn->n] = rc;
    sn->thread[sn->n] = pthread_self();
    sn->n++;
    pthread_cond_broadcast(&sn->cv);
    pthread_mutex_unlock(&sn->mu);
}

/* Waits until `n` callbacks have come. */
static void wait_seen(seen_t *sn, int n)
{
    pthread_mutex_lock(&sn->mu);
    while (sn->n < n)
        pthread_cond_wait(&sn->cv, &sn->mu);
    pthread_mutex_unlock(&sn->mu);
}

/* One deferred thread creation; returns its position (asserting it is new). */
static uint64_t deferred_create(fx_t *f, store_t *s, store_rc_t want)
{
    json_t *in = json_object(), *out = NULL;
    uint64_t pos;

    store_defer_begin();
    assert_int_equal(f->o->thread_create(s, in, STORE_IF_EXISTS_RAISE, NULL, &out), want);
    pos = store_defer_end();
    json_decref(in);
    json_decref(out);
    return pos;
}

/* N_WRITES deferred writes, registered in reverse order: all called back once, ascending. */
static void check_order(fx_t *f, store_fsync_t policy)
{
    store_t *s = open_store(f, policy);
    uint64_t pos[N_WRITES];
    int i;

    for (i = 0; i < N_WRITES; i++) {
        pos[i] = deferred_create(f, s, STORE_OK);
        assert_true(pos[i] > (i > 0 ? pos[i - 1] : 0));
    }
    for (i = N_WRITES - 1; i >= 0; i--) {
        f->regs[i] = (reg_t){&f->seen, pos[i]};
        f->o->when_durable(s, pos[i], on_durable, &f->regs[i]);
    }
    wait_seen(&f->seen, N_WRITES);
    for (i = 0; i < N_WRITES; i++) {
        assert_int_equal(f->seen.rc[i], STORE_OK);
        if (i > 0)
            assert_true(f->seen.pos[i] >= f->seen.pos[i - 1]);
    }
    /* already durable: answered at once, on this thread */
    f->regs[N_WRITES] = (reg_t){&f->seen, pos[0]};
    f->o->when_durable(s, pos[0], on_durable, &f->regs[N_WRITES]);
    assert_int_equal(f->seen.n, N_WRITES + 1);
    assert_true(pthread_equal(f->seen.thread[N_WRITES], pthread_self()));
    f->o->close(s);
    pthread_mutex_lock(&f->seen.mu);
    assert_int_equal(f->seen.n, N_WRITES + 1);
    pthread_mutex_unlock(&f->seen.mu);
}

static void test_order_batch(void **state)
{
    check_order(*state, STORE_FSYNC_BATCH);
}

static void test_order_always(void **state)
{
    check_order(*state, STORE_FSYNC_ALWAYS);
}

/* Without store_defer_begin nothing is deferred: end reports 0 and the write waited. */
static void test_not_deferred_by_default(void **state)
{
    fx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH);
    json_t *in = json_object(), *out = NULL;

    assert_int_equal(f->o->thread_create(s, in, STORE_IF_EXISTS_RAISE, NULL, &out), STORE_OK);
    assert_int_equal(store_defer_end(), 0);
    store_defer_begin();
    assert_int_equal(store_defer_end(), 0); /* reads and nothing: 0 */
    assert_int_equal(store_wait_durable(f->o, s, 0), STORE_OK);
    assert_int_equal(store_wait_durable(f->o, s, deferred_create(f, s, STORE_OK)), STORE_OK);
    json_decref(in);
    json_decref(out);
    f->o->close(s);
}

/* Pending registrations are answered (durable) when the store closes. */
static void test_close_answers_pending(void **state)
{
    fx_t *f = *state;
    store_t *s = open_store(f, STORE_FSYNC_BATCH);
    store_thread_query_t q = {0};
    int64_t n = -1;
    int i;

    for (i = 0; i < 10; i++) {
        f->regs[i] = (reg_t){&f->seen, deferred_create(f, s, STORE_OK)};
        f->o->when_durable(s, f->regs[i].pos, on_durable, &f->regs[i]);
    }
    f->o->close(s);
    assert_int_equal(f->seen.n, 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(f->seen.rc[i], STORE_OK);
    s = open_store(f, STORE_FSYNC_BATCH);
    assert_int_equal(f->o->thread_count(s, &q, NULL, &n), STORE_OK);
    assert_int_equal(n, 10);
    f->o->close(s);
}

/* A failing sync: every waiter hears STORE_IO, the blocking wait too, later writes fail. */
static void check_failure(fx_t *f, store_fsync_t policy)
{
    store_t *s = open_store(f, policy);
    uint64_t a, b;

    atomic_store(&fail_sync, 1);
    a = deferred_create(f, s, STORE_OK);
    b = deferred_create(f, s, STORE_OK);
    assert_true(a > 0 && b > a);
    f->regs[0] = (reg_t){&f->seen, b};
    f->regs[1] = (reg_t){&f->seen, a};
    f->o->when_durable(s, b, on_durable, &f->regs[0]);
    f->o->when_durable(s, a, on_durable, &f->regs[1]);
    wait_seen(&f->seen, 2);
    assert_int_equal(f->seen.rc[0], STORE_IO);
    assert_int_equal(f->seen.rc[1], STORE_IO);
    assert_int_equal(store_wait_durable(f->o, s, b), STORE_IO);
    assert_int_equal(deferred_create(f, s, STORE_IO), 0);
    /* registered after the failure: answered at once */
    f->regs[2] = (reg_t){&f->seen, b};
    f->o->when_durable(s, b, on_durable, &f->regs[2]);
    assert_int_equal(f->seen.n, 3);
    assert_int_equal(f->seen.rc[2], STORE_IO);
    f->o->close(s);
}

static void test_failure_batch(void **state)
{
    check_failure(*state, STORE_FSYNC_BATCH);
}

static void test_failure_always(void **state)
{
    check_failure(*state, STORE_FSYNC_ALWAYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_order_always, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_deferred_by_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_answers_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failure_always, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
