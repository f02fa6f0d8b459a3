/*
 * tests/unit/exec/test_exec.c — unit tests of runtime/exec over the embedded store in a
 * temporary directory, with small graphs registered here: `x_echo` (one node that streams two
 * message chunks and writes the message), `x_hold` (a node that, when the state says hold,
 * waits until the test opens a gate or the run is cancelled), `x_fail` (a node that fails).
 * Covers runs to success, the broker's event sequence and replay after an id, message modes,
 * errors, the four multitask strategies, cancel interrupt/rollback (pending and running),
 * after_seconds ordering, recovery at start, webhooks (a tiny local HTTP listener), stateless
 * runs with on_completion, unsubscribe with cancel, run timeouts, and the run's durability
 * (sync, async, exit: fewer fdatasyncs when deferred, everything on disk after a reopen, a
 * failing disk ends the run `error`). No timing is asserted: waits are bounded and only guard
 * against hangs.
 *
 * fdatasync is interposed by this program (the store's log binds to the definition below): it
 * counts the syncs and fails with EIO while `fail_sync` is set.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/exec.h"
#include "exec/exec_internal.h"
#include "graph/engine.h"
#include "store/store.h"
#include "store/store_test_util.h"
#include "util/time.h"
#include "support/json_assert.h"

#define OK_SCHEMA "{\"type\": \"object\", \"properties\": {}}"
#define SCHEMAS                                                                                  \
    .input_schema = OK_SCHEMA, .output_schema = OK_SCHEMA, .state_schema = OK_SCHEMA,            \
    .config_schema = OK_SCHEMA, .context_schema = OK_SCHEMA
#define WAIT_US (20 * 1000000LL) /* bound on any wait: a hang guard, not a timing assertion */

static const graph_channel_t channels[] = {
    {.name = "log", .reducer = GRAPH_REDUCER_APPEND},
    {.name = "value", .reducer = GRAPH_REDUCER_REPLACE},
    {.name = "hold", .reducer = GRAPH_REDUCER_REPLACE},
    {.name = "messages", .reducer = GRAPH_REDUCER_ADD_MESSAGES},
};
#define CHANNELS .channels = channels, .channel_count = sizeof(channels) / sizeof(channels[0])

/* Order in which node tasks ran, across runs: "<node>:<value>" strings. */
static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *order;
static json_t *echo_conf; /* the configurable the last echo task saw (under order_mu) */
static atomic_int gate;        /* opens every waiting hold node */
static atomic_int hold_entered; /* hold nodes that started waiting */

static void record(const char *node, const json_t *state)
{
    char buf[128];

    snprintf(buf, sizeof(buf), "%s:%s", node, json_string_value(json_object_get(state, "value")) ?: "-");
    pthread_mutex_lock(&order_mu);
    json_array_append_new(order, json_string(buf));
    pthread_mutex_unlock(&order_mu);
}

static int node_echo(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    json_t *c1 = json_pack("{s:s, s:s, s:s, s:[]}", "type", "ai", "id", "m1", "content", "Hello ", "tool_call_chunks");
    json_t *c2 = json_pack("{s:s, s:s, s:s, s:[]}", "type", "ai", "id", "m1", "content", "world", "tool_call_chunks");

    record("echo", state);
    pthread_mutex_lock(&order_mu);
    json_decref(echo_conf);
    echo_conf = json_deep_copy(graph_node_configurable(ctx));
    pthread_mutex_unlock(&order_mu);
    graph_node_emit_message(ctx, c1, NULL);
    graph_node_emit_message(ctx, c2, NULL);
    json_decref(c1);
    json_decref(c2);
    *update = json_pack("{s:[s], s:[{s:s, s:s, s:s}]}", "log", "echo", "messages", "type", "ai", "id", "m1", "content",
                        "Hello world");
    return GRAPH_NODE_OK;
}

static int node_hold(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    record("hold", state);
    if (json_is_true(json_object_get(state, "hold"))) {
        atomic_fetch_add(&hold_entered, 1);
        while (!atomic_load(&gate)) {
            if (graph_node_cancelled(ctx))
                return graph_node_fail(ctx, "cancelled");
            usleep(1000);
        }
    }
    *update = json_pack("{s:[O]}", "log", json_object_get(state, "value") ?: json_null());
    return GRAPH_NODE_OK;
}

static int node_fail(graph_node_ctx_t *ctx, const json_t *state, json_t **update)
{
    (void)state, (void)update;
    return graph_node_fail(ctx, "boom at %s", graph_node_name(ctx));
}

static const graph_node_t echo_nodes[] = {{.name = "echo", .run = node_echo}};
static const graph_edge_t echo_edges[] = {{.source = GRAPH_START, .target = "echo"},
                                          {.source = "echo", .target = GRAPH_END}};
static const graph_spec_t echo_spec = {.graph_id = "x_echo", .nodes = echo_nodes, .node_count = 1,
                                       .edges = echo_edges, .edge_count = 2, CHANNELS, SCHEMAS};
static const graph_node_t hold_nodes[] = {{.name = "hold", .run = node_hold}};
static const graph_edge_t hold_edges[] = {{.source = GRAPH_START, .target = "hold"},
                                          {.source = "hold", .target = GRAPH_END}};
static const graph_spec_t hold_spec = {.graph_id = "x_hold", .nodes = hold_nodes, .node_count = 1,
                                       .edges = hold_edges, .edge_count = 2, CHANNELS, SCHEMAS};
static const graph_node_t fail_nodes[] = {{.name = "breaker", .run = node_fail}};
static const graph_edge_t fail_edges[] = {{.source = GRAPH_START, .target = "breaker"},
                                          {.source = "breaker", .target = GRAPH_END}};
static const graph_spec_t fail_spec = {.graph_id = "x_fail", .nodes = fail_nodes, .node_count = 1,
                                       .edges = fail_edges, .edge_count = 2, CHANNELS, SCHEMAS};

typedef struct fixture {
    char *dir;
    const store_ops_t *ops;
    store_t *s;
    char echo_id[UUID_STR_SIZE], hold_id[UUID_STR_SIZE], fail_id[UUID_STR_SIZE];
} fixture_t;

static fixture_t *F;

static int open_store(fixture_t *f)
{
    store_config_t cfg = {0};
    char *msg = NULL;

    cfg.data_dir = f->dir;
    f->ops = store_mem_ops();
    if (f->ops->open(&cfg, &f->s, &msg) != STORE_OK) {
        print_error("%s\n", msg ? msg : "open failed");
        free(msg);
        return -1;
    }
    return 0;
}

static int add_assistant(fixture_t *f, const char *graph_id, char *out)
{
    json_t *in;
    store_rc_t rc;

    uuid_v4_str(out);
    in = json_pack("{s:s, s:s, s:{s:s}}", "assistant_id", out, "graph_id", graph_id, "metadata", "created_by", "system");
    rc = f->ops->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL);
    json_decref(in);
    return rc == STORE_OK ? 0 : -1;
}

static int webhook_retries = -1;

static int setup_cfg(void **state, int timeout_s, size_t max_events, int retention_s)
{
    static int registered;
    const graph_spec_t *specs[] = {&echo_spec, &hold_spec, &fail_spec};
    exec_config_t cfg = {.workers = 2, .retention_s = retention_s, .retention_events = max_events,
                         .webhook_timeout_s = 5, .webhook_retries = webhook_retries, .run_timeout_s = timeout_s};
    fixture_t *f = calloc(1, sizeof(*f));
    char err[256];
    size_t i;

    if (!registered) {
        for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
            if (graph_register(specs[i], err, sizeof(err)) != 0) {
                print_error("%s\n", err);
                return -1;
            }
        registered = 1;
    }
    f->dir = store_test_mkdtemp();
    if (f->dir == NULL || open_store(f) != 0 || add_assistant(f, "x_echo", f->echo_id) != 0 ||
        add_assistant(f, "x_hold", f->hold_id) != 0 || add_assistant(f, "x_fail", f->fail_id) != 0)
        return -1;
    atomic_store(&gate, 0);
    atomic_store(&hold_entered, 0);
    json_decref(order);
    order = json_array();
    if (exec_start(&cfg, f->ops, f->s) != 0)
        return -1;
    F = f;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_cfg(state, 0, 0, 300);
}

static int setup_timeout(void **state)
{
    return setup_cfg(state, 1, 0, 300);
}

static int setup_retry(void **state)
{
    webhook_retries = 1;
    int rc = setup_cfg(state, 0, 0, 300);
    webhook_retries = -1;
    return rc;
}

/* Three retained events per run, one second of retention after the end. */
static int setup_retention(void **state)
{
    return setup_cfg(state, 0, 3, 1);
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    atomic_store(&gate, 1);
    exec_stop(0);
    f->ops->close(f->s);
    store_test_rmtree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* ---- waiting on a subscription ---- */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int woken;
} waiter_t;

static void on_notify(void *user)
{
    waiter_t *w = user;

    pthread_mutex_lock(&w->mu);
    w->woken = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Collects every event of run `run_id` after `after_id` until the run ends: an array of
 * {id, event, data (parsed), frame}; *status gets the final status. */
static json_t *collect(const char *thread_id, const char *run_id, uint64_t after_id, const char **status)
{
    waiter_t w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    exec_error_t err;
    exec_sub_t *sub = exec_subscribe(thread_id, run_id, after_id, NULL, on_notify, &w, &err);
    json_t *out = json_array();
    int64_t deadline = time_mono_us() + WAIT_US;
    int ended = 0;

    assert_non_null(sub);
    while (!ended) {
        const exec_event_t *evs[8];
        size_t n, i;
        pthread_mutex_lock(&w.mu);
        w.woken = 0;
        pthread_mutex_unlock(&w.mu);
        n = exec_sub_poll(sub, evs, 8, &ended, status);
        for (i = 0; i != n; ++i) {
            json_array_append_new(out, json_pack("{s:I, s:s, s:o, s:s%}", "id", (json_int_t)evs[i]->id, "event",
                                                 evs[i]->event, "data", json_loadb(evs[i]->data, evs[i]->data_len, JSON_DECODE_ANY, NULL),
                                                 "frame", evs[i]->frame, evs[i]->frame_len));
            exec_event_release(evs[i]);
        }
        if (ended || n > 0)
            continue;
        pthread_mutex_lock(&w.mu);
        while (!w.woken && time_mono_us() < deadline) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 50 * 1000000L;
            if (ts.tv_nsec >= 1000000000L)
                ts.tv_sec += 1, ts.tv_nsec -= 1000000000L;
            pthread_cond_timedwait(&w.cv, &w.mu, &ts);
        }
        pthread_mutex_unlock(&w.mu);
        assert_true(time_mono_us() < deadline);
    }
    exec_unsubscribe(sub, 0);
    return out;
}

/* A notify callback that counts its calls in an atomic_int. */
static void atomic_fetch_add_one(void *user)
{
    atomic_fetch_add((atomic_int *)user, 1);
}

/* Waits until `n` hold nodes are waiting on the gate. */
static void wait_held(int n)
{
    int64_t deadline = time_mono_us() + WAIT_US;

    while (atomic_load(&hold_entered) < n) {
        assert_true(time_mono_us() < deadline);
        usleep(1000);
    }
}

/* Creates a run; returns it (new reference). */
static json_t *create(const char *thread_id, const char *assistant_id, const char *body_text)
{
    json_t *body = J(body_text), *run = NULL;
    exec_error_t err = {0};

    if (exec_run_create(thread_id, assistant_id, body, NULL, NULL, NULL, NULL, &run, &err) != 0)
        print_error("exec_run_create: %d %s\n", err.status, err.detail);
    json_decref(body);
    assert_non_null(run);
    return run;
}

static const char *id_of(const json_t *run)
{
    return json_string_value(json_object_get(run, "run_id"));
}

static const char *tid_of(const json_t *run)
{
    return json_string_value(json_object_get(run, "thread_id"));
}

static char *new_thread(void)
{
    char *id = malloc(UUID_STR_SIZE);
    json_t *in;

    uuid_v4_str(id);
    in = json_pack("{s:s}", "thread_id", id);
    assert_int_equal(F->ops->thread_create(F->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    json_decref(in);
    return id;
}

static const char *stored_status(const char *run_id, json_t **keep)
{
    json_t *run = NULL;

    if (F->ops->run_get(F->s, NULL, run_id, NULL, &run) != STORE_OK)
        return NULL;
    *keep = run;
    return json_string_value(json_object_get(run, "status"));
}

static void assert_run_status(const char *run_id, const char *expected)
{
    json_t *keep = NULL;
    const char *st = stored_status(run_id, &keep);

    if (expected == NULL)
        assert_null(st);
    else
        assert_string_equal(st != NULL ? st : "(missing)", expected);
    json_decref(keep);
}

static void assert_thread_status(const char *thread_id, const char *expected)
{
    json_t *t = NULL;

    assert_int_equal(F->ops->thread_get(F->s, thread_id, NULL, &t), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(t, "status")), expected);
    json_decref(t);
}

/* ---- tests ---- */

static void test_run_success_and_events(void **state)
{
    json_t *run = create(NULL, F->echo_id, "{\"if_not_exists\": \"create\", \"input\": {\"value\": \"v1\"}, "
                                           "\"stream_mode\": [\"values\", \"updates\"], \"on_completion\": \"keep\", "
                                           "\"metadata\": {\"k\": 1}, \"config\": {\"configurable\": {\"c\": 2}}}");
    const char *status = NULL;
    json_t *evs, *last, *result = NULL, *t = NULL;
    exec_error_t err;
    size_t i;

    (void)state;
    assert_string_equal(json_string_value(json_object_get(run, "status")), "pending");
    assert_string_equal(json_string_value(json_object_get(run, "multitask_strategy")), "enqueue");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(run, "metadata"), "k")), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(run, "metadata"), "graph_id")), "x_echo");
    {
        json_t *conf = json_object_get(json_object_get(json_object_get(run, "kwargs"), "config"), "configurable");
        assert_int_equal(json_integer_value(json_object_get(conf, "c")), 2);
        assert_string_equal(json_string_value(json_object_get(conf, "run_id")), id_of(run));
        assert_string_equal(json_string_value(json_object_get(conf, "thread_id")), tid_of(run));
        assert_true(json_is_true(json_object_get(json_object_get(run, "kwargs"), "temporary")) == 0);
        assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(run, "kwargs"), "stream_mode"), 1)),
                            "updates");
    }
    evs = collect(NULL, id_of(run), 0, &status);
    assert_string_equal(status, "success");
    assert_true(json_array_size(evs) >= 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 0), "event")), "metadata");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(evs, 0), "data"), "run_id")),
                        id_of(run));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(evs, 0), "data"), "attempt")), 1);
    for (i = 0; i != json_array_size(evs); ++i) {
        json_t *e = json_array_get(evs, i);
        char want[64];
        assert_int_equal(json_integer_value(json_object_get(e, "id")), (json_int_t)i + 1);
        snprintf(want, sizeof(want), "\nid: %zu\n\n", i + 1);
        assert_non_null(strstr(json_string_value(json_object_get(e, "frame")), want));
        assert_true(strncmp(json_string_value(json_object_get(e, "frame")), "event: ", 7) == 0);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 1), "event")), "values");
    assert_string_equal(json_string_value(json_object_get(json_array_get(evs, 2), "event")), "updates");
    assert_non_null(json_object_get(json_object_get(json_array_get(evs, 2), "data"), "echo"));
    last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "values");
    assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(last, "data"), "log"), 0)), "echo");
    assert_run_status(id_of(run), "success");
    assert_thread_status(tid_of(run), "idle");
    assert_int_equal(F->ops->thread_get(F->s, tid_of(run), NULL, &t), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "values"), "value")), "v1");
    assert_int_equal(exec_run_result(NULL, id_of(run), NULL, &result, &err), 0);
    assert_true(json_equal(result, json_object_get(last, "data")));
    json_decref(result);
    json_decref(t);
    json_decref(evs);
    json_decref(run);
}

static void test_replay_after_id(void **state)
{
    json_t *run = create(NULL, F->echo_id, "{\"input\": {\"value\": \"x\"}, \"stream_mode\": [\"values\", \"updates\"]}");
    const char *status = NULL;
    json_t *all = collect(NULL, id_of(run), 0, &status), *rest;
    size_t i;

    (void)state;
    rest = collect(NULL, id_of(run), 2, &status);
    assert_int_equal(json_array_size(rest), json_array_size(all) - 2);
    for (i = 0; i != json_array_size(rest); ++i)
        assert_true(json_equal(json_array_get(rest, i), json_array_get(all, i + 2)));
    json_decref(rest);
    rest = collect(NULL, id_of(run), json_array_size(all), &status);
    assert_int_equal(json_array_size(rest), 0);
    assert_string_equal(status, "success");
    json_decref(rest);
    json_decref(all);
    json_decref(run);
}

static void test_message_modes(void **state)
{
    json_t *run = create(NULL, F->echo_id, "{\"input\": {}, \"stream_mode\": [\"messages-tuple\", \"messages\"]}");
    const char *status = NULL;
    json_t *evs = collect(NULL, id_of(run), 0, &status), *e, *partial = NULL;
    int tuples = 0, meta = 0, partials = 0, completes = 0;
    size_t i;

    (void)state;
    json_array_foreach(evs, i, e) {
        const char *name = json_string_value(json_object_get(e, "event"));
        json_t *d = json_object_get(e, "data");
        if (strcmp(name, "messages") == 0) {
            ++tuples;
            assert_int_equal(json_array_size(d), 2);
            /* each chunk with the same metadata (written once, reused for the second) */
            assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "content")),
                                tuples == 1 ? "Hello " : "world");
            assert_string_equal(json_string_value(json_object_get(json_array_get(d, 1), "langgraph_node")), "echo");
            assert_int_equal(json_integer_value(json_object_get(json_array_get(d, 1), "langgraph_step")), 1);
        } else if (strcmp(name, "messages/metadata") == 0) {
            ++meta;
            assert_non_null(json_object_get(json_object_get(d, "m1"), "metadata"));
        } else if (strcmp(name, "messages/partial") == 0) {
            ++partials;
            partial = json_array_get(d, 0);
        } else if (strcmp(name, "messages/complete") == 0) {
            ++completes;
            assert_int_equal(partials, 2); /* after the chunks */
            assert_string_equal(json_string_value(json_object_get(json_array_get(d, 0), "content")), "Hello world");
        } else {
            assert_string_equal(name, "metadata");
        }
    }
    assert_int_equal(tuples, 2);
    assert_int_equal(meta, 1);
    assert_int_equal(partials, 2);
    assert_int_equal(completes, 1); /* and no `updates` event: it was not asked for */
    assert_string_equal(json_string_value(json_object_get(partial, "content")), "Hello world");
    json_decref(evs);
    json_decref(run);
}

static void test_node_error(void **state)
{
    json_t *run = create(NULL, F->fail_id, "{\"input\": {}, \"on_completion\": \"keep\"}");
    const char *status = NULL;
    json_t *evs = collect(NULL, id_of(run), 0, &status), *last, *result = NULL;
    exec_error_t err;

    (void)state;
    assert_string_equal(status, "error");
    last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "error");
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(last, "data"), "message")), "boom at breaker"));
    assert_non_null(json_string_value(json_object_get(json_object_get(last, "data"), "error")));
    assert_run_status(id_of(run), "error");
    assert_thread_status(tid_of(run), "error");
    assert_int_equal(exec_run_result(NULL, id_of(run), NULL, &result, &err), 0);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(result, "__error__"), "message")), "boom"));
    json_decref(result);
    json_decref(evs);
    json_decref(run);
}

/* A run stopped by interrupt_before ends `success` and leaves the thread `interrupted`; a run
 * without input continues it. */
static void test_interrupt_before(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"value\": \"i\"}, \"interrupt_before\": [\"hold\"]}"), *b;
    const char *status = NULL;

    (void)state;
    json_decref(collect(tid, id_of(a), 0, &status));
    assert_string_equal(status, "success");
    assert_thread_status(tid, "interrupted");
    pthread_mutex_lock(&order_mu);
    assert_int_equal(json_array_size(order), 0);
    pthread_mutex_unlock(&order_mu);
    b = create(tid, F->hold_id, "{}");
    json_decref(collect(tid, id_of(b), 0, &status));
    assert_string_equal(status, "success");
    assert_thread_status(tid, "idle");
    pthread_mutex_lock(&order_mu);
    assert_int_equal(json_array_size(order), 1);
    assert_string_equal(json_string_value(json_array_get(order, 0)), "hold:i");
    pthread_mutex_unlock(&order_mu);
    json_decref(a);
    json_decref(b);
    free(tid);
}

static void test_multitask_reject(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *b = NULL, *body;
    exec_error_t err = {0};
    const char *status = NULL;
    json_t *evs;

    (void)state;
    wait_held(1);
    assert_thread_status(tid, "busy");
    body = J("{\"input\": {\"value\": \"b\"}, \"multitask_strategy\": \"reject\"}");
    assert_int_equal(exec_run_create(tid, F->hold_id, body, NULL, NULL, NULL, NULL, &b, &err), -1);
    assert_int_equal(err.status, 409);
    assert_non_null(strstr(err.detail, "already running"));
    assert_null(b);
    atomic_store(&gate, 1);
    evs = collect(tid, id_of(a), 0, &status);
    assert_string_equal(status, "success");
    assert_thread_status(tid, "idle");
    json_decref(evs);
    json_decref(body);
    json_decref(a);
    free(tid);
}

static void test_multitask_interrupt(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *b, *evs, *t = NULL;
    const char *status = NULL;

    (void)state;
    wait_held(1);
    b = create(tid, F->hold_id, "{\"input\": {\"hold\": false, \"value\": \"b\"}, \"multitask_strategy\": \"interrupt\"}");
    evs = collect(tid, id_of(a), 0, &status);
    assert_string_equal(status, "interrupted");
    json_decref(evs);
    evs = collect(tid, id_of(b), 0, &status);
    assert_string_equal(status, "success");
    assert_run_status(id_of(a), "interrupted");
    assert_run_status(id_of(b), "success");
    assert_int_equal(F->ops->thread_get(F->s, tid, NULL, &t), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "values"), "value")), "b");
    json_decref(t);
    json_decref(evs);
    json_decref(a);
    json_decref(b);
    free(tid);
}

static void test_multitask_rollback(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *b, *evs, *cps = NULL, *cp;
    const char *status = NULL;
    size_t i;

    (void)state;
    wait_held(1);
    b = create(tid, F->hold_id, "{\"input\": {\"hold\": false, \"value\": \"b\"}, \"multitask_strategy\": \"rollback\"}");
    evs = collect(tid, id_of(b), 0, &status);
    assert_string_equal(status, "success");
    assert_run_status(id_of(a), NULL); /* deleted */
    assert_int_equal(F->ops->checkpoint_list(F->s, tid, NULL, NULL, NULL, 0, &cps), STORE_OK);
    assert_true(json_array_size(cps) > 0);
    json_array_foreach(cps, i, cp) assert_string_equal(json_string_value(json_object_get(cp, "run_id")), id_of(b));
    json_decref(cps);
    json_decref(evs);
    json_decref(a);
    json_decref(b);
    free(tid);
}

static void test_multitask_enqueue(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *b, *evs;
    const char *status = NULL;

    (void)state;
    wait_held(1);
    b = create(tid, F->hold_id, "{\"input\": {\"hold\": false, \"value\": \"b\"}, \"multitask_strategy\": \"enqueue\"}");
    assert_run_status(id_of(b), "pending");
    atomic_store(&gate, 1);
    evs = collect(tid, id_of(b), 0, &status);
    assert_string_equal(status, "success");
    assert_run_status(id_of(a), "success");
    pthread_mutex_lock(&order_mu);
    assert_int_equal(json_array_size(order), 2);
    assert_string_equal(json_string_value(json_array_get(order, 0)), "hold:a");
    assert_string_equal(json_string_value(json_array_get(order, 1)), "hold:b");
    pthread_mutex_unlock(&order_mu);
    json_decref(evs);
    json_decref(a);
    json_decref(b);
    free(tid);
}

static void test_cancel(void **state)
{
    char *tid = new_thread(), *tid2 = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *p, *q, *evs;
    exec_error_t err = {0};
    const char *status = NULL;

    (void)state;
    wait_held(1);
    /* running, interrupt */
    assert_int_equal(exec_run_cancel(tid, id_of(a), "interrupt", NULL, &err), 0);
    evs = collect(tid, id_of(a), 0, &status);
    assert_string_equal(status, "interrupted");
    json_decref(evs);
    assert_run_status(id_of(a), "interrupted");
    assert_thread_status(tid, "idle");
    /* finished: a no-op */
    assert_int_equal(exec_run_cancel(tid, id_of(a), "rollback", NULL, &err), 0);
    assert_run_status(id_of(a), "interrupted");
    /* pending (delayed), interrupt and rollback */
    p = create(tid2, F->echo_id, "{\"input\": {}, \"after_seconds\": 3600}");
    q = create(tid2, F->echo_id, "{\"input\": {}, \"after_seconds\": 3600}");
    assert_int_equal(exec_run_cancel(NULL, id_of(p), NULL, NULL, &err), 0);
    assert_run_status(id_of(p), "interrupted");
    evs = collect(NULL, id_of(p), 0, &status);
    assert_string_equal(status, "interrupted");
    json_decref(evs);
    assert_int_equal(exec_run_cancel(tid2, id_of(q), "rollback", NULL, &err), 0);
    assert_run_status(id_of(q), NULL);
    assert_thread_status(tid2, "idle");
    /* unknown, wrong thread, bad action */
    assert_int_equal(exec_run_cancel(NULL, "00000000-0000-4000-8000-000000000000", NULL, NULL, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_cancel(tid2, id_of(a), NULL, NULL, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_cancel(tid, id_of(a), "explode", NULL, &err), -1);
    assert_int_equal(err.status, 422);
    json_decref(a);
    json_decref(p);
    json_decref(q);
    free(tid);
    free(tid2);
}

static void test_thread_cancel(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}");
    json_t *b = create(tid, F->hold_id, "{\"input\": {\"value\": \"b\"}}");
    exec_error_t err = {0};
    const char *status = NULL;
    char missing[UUID_STR_SIZE];

    (void)state;
    wait_held(1);
    assert_int_equal(exec_thread_cancel(tid, NULL, NULL, &err), 2);
    json_decref(collect(tid, id_of(a), 0, &status));
    assert_string_equal(status, "interrupted");
    json_decref(collect(tid, id_of(b), 0, &status));
    assert_string_equal(status, "interrupted");
    assert_run_status(id_of(b), "interrupted");
    assert_thread_status(tid, "idle");
    assert_int_equal(exec_thread_cancel(tid, "rollback", NULL, &err), 0);
    uuid_v4_str(missing);
    assert_int_equal(exec_thread_cancel(missing, NULL, NULL, &err), -1);
    assert_int_equal(err.status, 404);
    json_decref(a);
    json_decref(b);
    free(tid);
}

static void test_after_seconds_order(void **state)
{
    char *t1 = new_thread(), *t2 = new_thread();
    json_t *a = create(t1, F->hold_id, "{\"input\": {\"value\": \"late\"}, \"after_seconds\": 1}");
    json_t *b = create(t2, F->hold_id, "{\"input\": {\"value\": \"now\"}}"), *evs;
    const char *status = NULL;

    (void)state;
    evs = collect(t2, id_of(b), 0, &status);
    json_decref(evs);
    assert_string_equal(status, "success");
    json_decref(collect(t1, id_of(a), 0, &status));
    assert_string_equal(status, "success");
    pthread_mutex_lock(&order_mu);
    assert_int_equal(json_array_size(order), 2);
    assert_string_equal(json_string_value(json_array_get(order, 0)), "hold:now");
    assert_string_equal(json_string_value(json_array_get(order, 1)), "hold:late");
    pthread_mutex_unlock(&order_mu);
    json_decref(a);
    json_decref(b);
    free(t1);
    free(t2);
}

static void test_stateless(void **state)
{
    json_t *d = create(NULL, F->echo_id, "{\"input\": {\"value\": \"s\"}}");
    json_t *k = create(NULL, F->echo_id, "{\"input\": {\"value\": \"s\"}, \"on_completion\": \"keep\"}");
    json_t *t = NULL, *result = NULL;
    const char *status = NULL;
    exec_error_t err;

    (void)state;
    json_decref(collect(NULL, id_of(d), 0, &status));
    assert_string_equal(status, "success");
    json_decref(collect(NULL, id_of(k), 0, &status));
    assert_string_equal(status, "success");
    assert_int_equal(F->ops->thread_get(F->s, tid_of(d), NULL, &t), STORE_NOT_FOUND);
    assert_int_equal(exec_run_result(NULL, id_of(d), NULL, &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "value")), "s");
    json_decref(result);
    assert_thread_status(tid_of(k), "idle");
    json_decref(d);
    json_decref(k);
}

static void test_if_not_exists(void **state)
{
    json_t *body = J("{\"input\": {}}"), *run = NULL;
    exec_error_t err = {0};
    char tid[UUID_STR_SIZE];

    (void)state;
    uuid_v4_str(tid);
    assert_int_equal(exec_run_create(tid, F->echo_id, body, NULL, NULL, NULL, NULL, &run, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_create(tid, "00000000-0000-4000-8000-000000000000", body, NULL, NULL, NULL, NULL, &run, &err), -1);
    assert_int_equal(err.status, 404);
    json_object_set_new(body, "if_not_exists", json_string("create"));
    assert_int_equal(exec_run_create(tid, F->echo_id, body, NULL, NULL, NULL, NULL, &run, &err), 0);
    assert_string_equal(tid_of(run), tid);
    json_decref(collect(tid, id_of(run), 0, NULL));
    assert_run_status(id_of(run), "success");
    json_decref(run);
    json_decref(body);
}

/* 1,000 subscribers on one run: each is woken at the end and gets the same events, and an
 * event is one shared object (same frame pointer for everyone). */
static void test_many_subscribers(void **state)
{
    enum { N = 1000 };
    static exec_sub_t *subs[N];
    static atomic_int woken[N];
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"m\"}}");
    const exec_event_t *first[8], *evs[8];
    exec_error_t err;
    const char *status = NULL;
    int64_t deadline;
    size_t n0, n, i, j;
    int ended;

    (void)state;
    wait_held(1);
    for (i = 0; i != N; ++i) {
        atomic_store(&woken[i], 0);
        subs[i] = exec_subscribe(tid, id_of(a), 0, NULL, atomic_fetch_add_one, &woken[i], &err);
        assert_non_null(subs[i]);
    }
    atomic_store(&gate, 1);
    json_decref(collect(tid, id_of(a), 0, &status));
    deadline = time_mono_us() + WAIT_US;
    n0 = exec_sub_poll(subs[0], first, 8, &ended, &status);
    assert_true(n0 >= 2);
    for (i = 1; i != N; ++i) {
        assert_true(atomic_load(&woken[i]) > 0);
        n = exec_sub_poll(subs[i], evs, 8, &ended, &status);
        assert_int_equal(n, n0);
        assert_true(ended);
        assert_string_equal(status, "success");
        for (j = 0; j != n; ++j) {
            assert_ptr_equal(evs[j]->frame, first[j]->frame);
            exec_event_release(evs[j]);
        }
        exec_unsubscribe(subs[i], 0);
        assert_true(time_mono_us() < deadline);
    }
    for (j = 0; j != n0; ++j)
        exec_event_release(first[j]);
    exec_unsubscribe(subs[0], 0);
    json_decref(a);
    free(tid);
}

/* An end-only subscriber (a /wait answer) is not woken by the run's events, only once by its
 * end, and its poll skips the events: nothing to take, then ended with the status. */
static void test_end_only_subscriber(void **state)
{
    static atomic_int woken;
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"e\"}}");
    const exec_event_t *evs[8];
    exec_error_t err;
    const char *status = NULL;
    exec_sub_t *sub;
    json_t *all;
    int ended;

    (void)state;
    wait_held(1);
    sub = exec_subscribe(tid, id_of(a), 0, NULL, atomic_fetch_add_one, &woken, &err);
    assert_non_null(sub);
    exec_sub_end_only(sub);
    atomic_store(&woken, 0); /* the subscription may have been woken for `metadata` before */
    assert_int_equal(exec_sub_poll(sub, evs, 8, &ended, &status), 0);
    assert_false(ended);
    atomic_store(&gate, 1);
    all = collect(tid, id_of(a), 0, &status);
    assert_true(json_array_size(all) >= 3); /* events were published meanwhile */
    assert_int_equal(atomic_load(&woken), 1);
    assert_int_equal(exec_sub_poll(sub, evs, 8, &ended, &status), 0);
    assert_true(ended);
    assert_string_equal(status, "success");
    exec_unsubscribe(sub, 0);
    json_decref(all);
    json_decref(a);
    free(tid);
}

/* A thread subscription sees the events of every run of the thread, in order, with its own
 * ids, each run closed by metadata run_done, plus the thread's own events; it resumes after an
 * id, and a subscription without one starts live. */
static void test_thread_stream(void **state)
{
    char *tid = new_thread();
    exec_error_t err;
    exec_sub_t *sub = exec_thread_subscribe(tid, 0, NULL, NULL, NULL, &err), *again, *live;
    json_t *a, *b, *upd = J("{\"state\": {\"values\": {}}}");
    const char *want[] = {"run_id", "run_done", "run_id", "run_done"};
    const exec_event_t *evs[64], *rest[64];
    const char *status = NULL;
    size_t n, m, i, metas = 0;
    int ended = 0;
    char missing[UUID_STR_SIZE];

    (void)state;
    assert_non_null(sub);
    a = create(tid, F->echo_id, "{\"input\": {\"value\": \"t1\"}}");
    json_decref(collect(tid, id_of(a), 0, &status));
    b = create(tid, F->echo_id, "{\"input\": {\"value\": \"t2\"}, \"stream_mode\": \"updates\"}");
    json_decref(collect(tid, id_of(b), 0, &status));
    n = exec_sub_poll(sub, evs, 64, &ended, &status);
    assert_false(ended);
    assert_true(n >= 6);
    for (i = 0; i != n; ++i) {
        assert_int_equal(evs[i]->id, i + 1);
        if (strcmp(evs[i]->event, "metadata") == 0) {
            assert_true(metas < 4);
            assert_non_null(strstr(evs[i]->data, metas < 2 ? id_of(a) : id_of(b)));
            assert_non_null(strstr(evs[i]->data, want[metas++]));
        }
    }
    assert_int_equal(metas, 4);
    assert_string_equal(evs[n - 2]->event, "updates");
    assert_string_equal(evs[n - 1]->event, "metadata");
    again = exec_thread_subscribe(tid, 2, NULL, NULL, NULL, &err);
    m = exec_sub_poll(again, rest, 64, &ended, &status);
    assert_int_equal(m, n - 2);
    assert_ptr_equal(rest[0], evs[2]);
    for (i = 0; i != m; ++i)
        exec_event_release(rest[i]);
    /* no replay without an id; the thread's own events reach every follower */
    live = exec_thread_subscribe(tid, 0, NULL, NULL, NULL, &err);
    assert_int_equal(exec_sub_poll(live, rest, 64, &ended, &status), 0);
    exec_thread_publish(tid, "state_update", upd);
    m = exec_sub_poll(live, rest, 64, &ended, &status);
    assert_int_equal(m, 1);
    assert_string_equal(rest[0]->event, "state_update");
    assert_int_equal(rest[0]->id, n + 1);
    assert_int_equal(rest[0]->data_len, strlen("{\"state\":{\"values\":{}}}"));
    exec_event_release(rest[0]);
    exec_unsubscribe(live, 0);
    for (i = 0; i != n; ++i)
        exec_event_release(evs[i]);
    exec_unsubscribe(again, 1);
    exec_unsubscribe(sub, 0);
    uuid_v4_str(missing);
    assert_null(exec_thread_subscribe(missing, 0, NULL, NULL, NULL, &err));
    assert_int_equal(err.status, 404);
    exec_thread_publish(missing, "state_update", upd); /* nobody follows it: nothing happens */
    json_decref(upd);
    json_decref(a);
    json_decref(b);
    free(tid);
}

/* Owners: what alice's run creates is stamped hers; bob sees none of it. */
static void test_owner(void **state)
{
    json_t *body = J("{\"input\": {\"value\": \"o\"}, \"if_not_exists\": \"create\"}"), *run = NULL, *other = NULL;
    json_t *t = NULL, *result = NULL;
    exec_error_t err = {0};
    char tid[UUID_STR_SIZE];
    exec_sub_t *sub;

    (void)state;
    uuid_v4_str(tid);
    assert_int_equal(exec_run_create(tid, F->echo_id, body, NULL, "alice", NULL, NULL, &run, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(run, "metadata"), "owner")), "alice");
    assert_int_equal(F->ops->thread_get(F->s, tid, "alice", &t), STORE_OK);
    json_decref(t);
    assert_null(exec_subscribe(tid, id_of(run), 0, "bob", NULL, NULL, &err));
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_cancel(tid, id_of(run), NULL, "bob", &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_create(tid, F->echo_id, body, NULL, "bob", NULL, NULL, &other, &err), -1);
    assert_int_equal(err.status, 404);
    sub = exec_subscribe(tid, id_of(run), 0, "alice", NULL, NULL, &err);
    assert_non_null(sub);
    exec_unsubscribe(sub, 0);
    json_decref(collect(tid, id_of(run), 0, NULL));
    assert_int_equal(exec_run_result(tid, id_of(run), "bob", &result, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_result(tid, id_of(run), "alice", &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "value")), "o");
    json_decref(result);
    json_decref(run);
    json_decref(body);
}

/* The caller reaches the graph: its id as langgraph_auth_user_id, user_id and owner (a body's
 * values overwritten), its credential as x-supabase-access-token in memory only (never in the
 * stored run or its checkpoints, a body's value dropped); a user's own assistant is runnable
 * by that user only. */
static void test_caller_config(void **state)
{
    json_t *body = J("{\"input\": {\"value\": \"c\"}, \"if_not_exists\": \"create\", \"config\": {\"configurable\": "
                     "{\"user_id\": \"mallory\", \"owner\": \"mallory\", \"x-supabase-access-token\": \"body-secret\"}}}");
    json_t *run = NULL, *stored = NULL, *hist = NULL, *conf, *in, *cp;
    exec_error_t err = {0};
    char tid[UUID_STR_SIZE], own[UUID_STR_SIZE];
    char *text;
    size_t i;

    (void)state;
    uuid_v4_str(tid);
    assert_int_equal(exec_run_create(tid, F->echo_id, body, NULL, "alice", "alice-secret", NULL, &run, &err), 0);
    json_decref(collect(tid, id_of(run), 0, NULL));
    pthread_mutex_lock(&order_mu);
    conf = json_incref(echo_conf);
    pthread_mutex_unlock(&order_mu);
    assert_string_equal(json_string_value(json_object_get(conf, "x-supabase-access-token")), "alice-secret");
    assert_string_equal(json_string_value(json_object_get(conf, "langgraph_auth_user_id")), "alice");
    assert_string_equal(json_string_value(json_object_get(conf, "user_id")), "alice");
    assert_string_equal(json_string_value(json_object_get(conf, "owner")), "alice");
    json_decref(conf);
    assert_int_equal(F->ops->run_get(F->s, tid, id_of(run), "alice", &stored), STORE_OK);
    assert_int_equal(F->ops->checkpoint_list(F->s, tid, NULL, NULL, NULL, 0, &hist), STORE_OK);
    assert_true(json_array_size(hist) > 0);
    conf = json_object_get(json_object_get(json_object_get(stored, "kwargs"), "config"), "configurable");
    assert_string_equal(json_string_value(json_object_get(conf, "user_id")), "alice");
    assert_null(json_object_get(conf, "x-supabase-access-token"));
    text = json_dumps(stored, 0);
    assert_null(strstr(text, "secret"));
    free(text);
    json_array_foreach(hist, i, cp)
    {
        assert_string_equal(json_string_value(json_object_get(json_object_get(cp, "metadata"), "user_id")), "alice");
        text = json_dumps(cp, 0);
        assert_null(strstr(text, "secret"));
        free(text);
    }
    json_decref(hist);
    json_decref(stored);
    json_decref(run);

    /* alice's own assistant: bob cannot run it, alice can */
    uuid_v4_str(own);
    in = json_pack("{s:s, s:s, s:{s:s}}", "assistant_id", own, "graph_id", "x_echo", "metadata", "owner", "alice");
    assert_int_equal(F->ops->assistant_create(F->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_OK);
    json_decref(in);
    uuid_v4_str(tid);
    assert_int_equal(exec_run_create(tid, own, body, NULL, "bob", NULL, NULL, &run, &err), -1);
    assert_int_equal(err.status, 404);
    assert_int_equal(exec_run_create(tid, own, body, NULL, "alice", NULL, NULL, &run, &err), 0);
    json_decref(collect(tid, id_of(run), 0, NULL));
    pthread_mutex_lock(&order_mu);
    assert_null(json_object_get(echo_conf, "x-supabase-access-token"));
    pthread_mutex_unlock(&order_mu);
    json_decref(run);
    json_decref(body);
}

static void test_unsubscribe_cancels(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}");
    exec_error_t err;
    exec_sub_t *sub;
    const char *status = NULL;

    (void)state;
    wait_held(1);
    sub = exec_subscribe(tid, id_of(a), 0, NULL, NULL, NULL, &err);
    assert_non_null(sub);
    exec_unsubscribe(sub, 0);
    assert_run_status(id_of(a), "running");
    sub = exec_subscribe(tid, id_of(a), 0, NULL, NULL, NULL, &err);
    exec_unsubscribe(sub, 1);
    json_decref(collect(tid, id_of(a), 0, &status));
    assert_string_equal(status, "interrupted");
    json_decref(a);
    free(tid);
}

/* ---- webhook listener ---- */

typedef struct listener {
    int fd;
    int port;
    int fail_first;   /* answer the first POST 500 */
    int expect;       /* connections to serve */
    char body[65536]; /* the last body received */
    size_t body_len;
    int got;          /* bodies received */
} listener_t;

/* Serves one connection: reads one request with its body, answers `status`. */
static void serve_one(listener_t *l, int c, int status)
{
    char buf[65536], answer[128];
    size_t len = 0;
    int n_answer;

    for (;;) {
        struct pollfd cp = {.fd = c, .events = POLLIN};
        char *hdr_end, *cl;
        ssize_t n;
        if (poll(&cp, 1, 20000) != 1)
            break;
        n = read(c, buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
        cl = strcasestr(buf, "content-length:");
        if (hdr_end != NULL && cl != NULL && len >= (size_t)(hdr_end + 4 - buf) + (size_t)atol(cl + 15)) {
            l->body_len = (size_t)atol(cl + 15);
            memcpy(l->body, hdr_end + 4, l->body_len);
            l->got++;
            break;
        }
    }
    n_answer = snprintf(answer, sizeof(answer), "HTTP/1.1 %d X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        status);
    (void)!write(c, answer, (size_t)n_answer);
    close(c);
}

static void *listener_main(void *arg)
{
    listener_t *l = arg;
    int i;

    for (i = 0; i != l->expect; ++i) {
        struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
        int c;
        if (poll(&pfd, 1, 20000) != 1)
            break;
        c = accept(l->fd, NULL, NULL);
        if (c < 0)
            break;
        serve_one(l, c, i == 0 && l->fail_first ? 500 : 200);
    }
    return NULL;
}

/* POSTs a run with a webhook to a local listener that fails the first `fail_first` POST;
 * returns the last body received (new reference) after `expect` connections. */
static json_t *webhook_run(int fail_first, int expect, const char **run_id_out, json_t **run_out)
{
    listener_t *l = calloc(1, sizeof(*l));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    pthread_t th;
    char body[256];
    json_t *run, *hook;
    const char *status = NULL;

    l->fail_first = fail_first;
    l->expect = expect;
    l->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(l->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(l->fd, 4), 0);
    assert_int_equal(getsockname(l->fd, (struct sockaddr *)&a, &alen), 0);
    l->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&th, NULL, listener_main, l), 0);
    snprintf(body, sizeof(body), "{\"input\": {\"value\": \"w\"}, \"webhook\": \"http://127.0.0.1:%d/hook\"}", l->port);
    run = create(NULL, F->echo_id, body);
    json_decref(collect(NULL, id_of(run), 0, &status));
    pthread_join(th, NULL);
    close(l->fd);
    assert_int_equal(l->got, expect);
    hook = json_loadb(l->body, l->body_len, 0, NULL);
    assert_non_null(hook);
    free(l);
    *run_id_out = id_of(run);
    *run_out = run;
    return hook;
}

static void test_webhook(void **state)
{
    const char *run_id;
    json_t *run, *hook = webhook_run(0, 1, &run_id, &run);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(hook, "run_id")), run_id);
    assert_string_equal(json_string_value(json_object_get(hook, "status")), "success");
    assert_string_equal(json_string_value(json_object_get(json_object_get(hook, "values"), "value")), "w");
    assert_non_null(json_object_get(hook, "run_started_at"));
    assert_non_null(json_object_get(hook, "kwargs"));
    json_decref(hook);
    json_decref(run);
}

/* A failed delivery is retried (webhook_retries 1 here): the second POST carries the run. */
static void test_webhook_retry(void **state)
{
    const char *run_id;
    json_t *run, *hook = webhook_run(1, 2, &run_id, &run);

    (void)state;
    assert_string_equal(json_string_value(json_object_get(hook, "run_id")), run_id);
    assert_string_equal(json_string_value(json_object_get(hook, "status")), "success");
    json_decref(hook);
    json_decref(run);
}

static void test_timeout(void **state)
{
    char *tid = new_thread();
    json_t *a = create(tid, F->hold_id, "{\"input\": {\"hold\": true, \"value\": \"a\"}}"), *evs, *last, *result = NULL;
    const char *status = NULL;
    exec_error_t err;

    (void)state;
    evs = collect(tid, id_of(a), 0, &status);
    assert_string_equal(status, "timeout");
    last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(last, "data"), "error")), "TimeoutError");
    assert_run_status(id_of(a), "timeout");
    assert_thread_status(tid, "error");
    assert_int_equal(exec_run_result(tid, id_of(a), NULL, &result, &err), 0);
    assert_non_null(json_object_get(result, "__error__"));
    json_decref(result);
    json_decref(evs);
    json_decref(a);
    free(tid);
}

/* Retention: at most 3 events are kept (a subscriber from 0 gets the last 3), and once the
 * window after the end passed the record leaves memory: a subscription then ends at once with
 * the stored status and /wait answers the thread's values. */
static void test_retention(void **state)
{
    json_t *run = create(NULL, F->echo_id, "{\"input\": {\"value\": \"r\"}, \"on_completion\": \"keep\", "
                                           "\"stream_mode\": [\"values\", \"updates\", \"messages-tuple\"]}");
    const char *status = NULL;
    json_t *evs = collect(NULL, id_of(run), 0, &status), *result = NULL; /* live: waits for the end */
    int64_t deadline = time_mono_us() + WAIT_US;
    exec_error_t err;
    uint64_t last;

    (void)state;
    assert_string_equal(status, "success");
    json_decref(evs);
    evs = collect(NULL, id_of(run), 0, &status);
    assert_int_equal(json_array_size(evs), 3);
    last = (uint64_t)json_integer_value(json_object_get(json_array_get(evs, 2), "id"));
    assert_true(last > 3); /* metadata, values, 2 messages, updates, values: older ones dropped */
    assert_int_equal(json_integer_value(json_object_get(json_array_get(evs, 0), "id")), (json_int_t)last - 2);
    json_decref(evs);
    for (;;) {
        evs = collect(NULL, id_of(run), 0, &status);
        if (json_array_size(evs) == 0)
            break;
        json_decref(evs);
        assert_true(time_mono_us() < deadline);
        usleep(20000);
    }
    json_decref(evs);
    assert_string_equal(status, "success");
    assert_int_equal(exec_run_result(NULL, id_of(run), NULL, &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "value")), "r");
    json_decref(result);
    json_decref(run);
}

/* Memory a finished run gives back: the worker's message state once the graph returned, and the
 * event log and result of a run that is not resumable once the grace passed (the record stays
 * for its status; /wait and join then answer the thread's values, as after retention). */
static void test_finished_run_memory(void **state)
{
    json_t *run = create(NULL, F->echo_id, "{\"input\": {\"value\": \"m\"}, \"on_completion\": \"keep\", "
                                           "\"stream_mode\": [\"messages-tuple\", \"messages\"]}");
    const char *status = NULL;
    json_t *evs = collect(NULL, id_of(run), 0, &status), *result = NULL;
    exec_run_t *r;
    exec_error_t err;

    (void)state;
    assert_string_equal(status, "success");
    json_decref(evs);
    assert_non_null(r = exec_run_find(id_of(run)));
    pthread_mutex_lock(&r->mu);
    assert_null(r->msg_seen);
    assert_null(r->tuple_meta);
    assert_null(r->tuple_meta_text);
    assert_non_null(r->result);
    pthread_mutex_unlock(&r->mu);
    exec_registry_reap(time_mono_us() + 1000000, INT64_MAX / 4, 0); /* past the grace, within retention */
    pthread_mutex_lock(&r->mu);
    assert_true(r->events_dropped);
    assert_null(r->result);
    assert_int_equal(r->n_events, 0);
    pthread_mutex_unlock(&r->mu);
    exec_run_unref(r);
    assert_non_null(r = exec_run_find(id_of(run))); /* still registered */
    exec_run_unref(r);
    assert_int_equal(exec_run_result(NULL, id_of(run), NULL, &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "value")), "m");
    json_decref(result);
    json_decref(run);
}

/* Recovery: a store holding a running and a pending run, then exec_start. */
static void test_recovery(void **state)
{
    fixture_t *f = *state;
    exec_config_t cfg = {.workers = 1};
    json_t *in, *claimed = NULL, *pending = NULL;
    char *t1, *t2;
    const char *status = NULL;

    exec_stop(0);
    t1 = new_thread();
    t2 = new_thread();
    in = json_pack("{s:s, s:s, s:{s:{s:s}, s:[s]}}", "thread_id", t1, "assistant_id", f->echo_id, "kwargs", "input",
                   "value", "r1", "stream_mode", "values");
    assert_int_equal(f->ops->run_create(f->s, in, 0, NULL), STORE_OK);
    json_decref(in);
    assert_int_equal(f->ops->run_claim(f->s, time_now_us(), &claimed), STORE_OK);
    in = json_pack("{s:s, s:s, s:{s:{s:s}, s:[s]}}", "thread_id", t2, "assistant_id", f->echo_id, "kwargs", "input",
                   "value", "r2", "stream_mode", "values");
    assert_int_equal(f->ops->run_create(f->s, in, 0, &pending), STORE_OK);
    json_decref(in);
    assert_int_equal(exec_start(&cfg, f->ops, f->s), 0);
    assert_run_status(id_of(claimed), "error");
    assert_thread_status(t1, "error");
    json_decref(collect(t2, id_of(pending), 0, &status));
    assert_string_equal(status, "success");
    assert_run_status(id_of(pending), "success");
    json_decref(claimed);
    json_decref(pending);
    free(t1);
    free(t2);
}

/* The credential lives in memory only: a run recovered after a restart runs without it (its
 * caller's id, stored in the run's config, stays). */
static void test_token_not_recovered(void **state)
{
    fixture_t *f = *state;
    exec_config_t cfg = {.workers = 1};
    json_t *body = J("{\"input\": {\"value\": \"t\"}, \"if_not_exists\": \"create\", \"after_seconds\": 1}"), *run = NULL;
    exec_error_t err = {0};
    const char *status = NULL;
    char tid[UUID_STR_SIZE];

    uuid_v4_str(tid);
    assert_int_equal(exec_run_create(tid, f->echo_id, body, NULL, "alice", "alice-secret", NULL, &run, &err), 0);
    exec_stop(0);
    pthread_mutex_lock(&order_mu);
    json_decref(echo_conf);
    echo_conf = NULL;
    pthread_mutex_unlock(&order_mu);
    assert_int_equal(exec_start(&cfg, f->ops, f->s), 0);
    json_decref(collect(tid, id_of(run), 0, &status));
    assert_string_equal(status, "success");
    pthread_mutex_lock(&order_mu);
    assert_non_null(echo_conf);
    assert_string_equal(json_string_value(json_object_get(echo_conf, "user_id")), "alice");
    assert_null(json_object_get(echo_conf, "x-supabase-access-token"));
    pthread_mutex_unlock(&order_mu);
    json_decref(run);
    json_decref(body);
}

/* ---- durability ---- */

static atomic_int n_syncs;   /* fdatasync calls so far */
static atomic_int fail_sync; /* when set, fdatasync fails with EIO */

int fdatasync(int fd)
{
    atomic_fetch_add(&n_syncs, 1);
    if (atomic_load(&fail_sync)) {
        errno = EIO;
        return -1;
    }
    return (int)syscall(SYS_fdatasync, fd);
}

/* Runs x_echo on `thread_id` with durability `durability` and input value `value` to its end
 * (success asserted); returns the run (new reference) and *syncs the fdatasyncs it took. */
static json_t *durable_run(const char *thread_id, const char *options, const char *value, int *syncs)
{
    char body[256];
    const char *status = NULL;
    int before = atomic_load(&n_syncs);
    json_t *run, *result = NULL;
    exec_error_t err;

    snprintf(body, sizeof(body), "{\"input\": {\"value\": \"%s\"}, %s}", value, options);
    run = create(thread_id, F->echo_id, body);
    json_decref(collect(thread_id, id_of(run), 0, &status));
    *syncs = atomic_load(&n_syncs) - before;
    assert_string_equal(status, "success");
    assert_int_equal(exec_run_result(thread_id, id_of(run), NULL, &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(result, "value")), value);
    json_decref(result);
    return run;
}

/* sync, async and exit runs all succeed; the deferred ones sync less than the sync one (each
 * of its writes waits for its own fdatasync); after exec_stop and a reopen of the data dir
 * every run is `success` with its checkpoints (sync and async one per step, exit only its last,
 * whose parent is the previous run's last) and the thread holds the last run's values. The
 * deprecated checkpoint_during maps onto durability (false: exit, true: async) unless
 * durability is given. */
static void test_durability_modes(void **state)
{
    fixture_t *f = *state;
    char *tid = new_thread();
    int s_sync, s_async, s_exit, s_ignored;
    json_t *r_sync = durable_run(tid, "\"durability\": \"sync\"", "d-sync", &s_sync);
    json_t *r_async = durable_run(tid, "\"durability\": \"async\"", "d-async", &s_async);
    json_t *r_during = durable_run(tid, "\"checkpoint_during\": true", "d-during", &s_ignored);
    json_t *r_both = durable_run(tid, "\"checkpoint_during\": false, \"durability\": \"async\"", "d-both", &s_ignored);
    json_t *r_nodur = durable_run(tid, "\"checkpoint_during\": false", "d-nodur", &s_ignored);
    json_t *r_exit = durable_run(tid, "\"durability\": \"exit\"", "d-exit", &s_exit), *cps = NULL, *cp, *t = NULL;
    json_t *runs[6] = {r_sync, r_async, r_during, r_both, r_nodur, r_exit};
    int per_run[6] = {0}, expect_one[6] = {0, 0, 0, 0, 1, 1};
    const char *last_id[6] = {NULL};
    size_t i, j;

    print_message("fdatasyncs per run: sync %d, async %d, exit %d\n", s_sync, s_async, s_exit);
    assert_true(s_async < s_sync);
    assert_true(s_exit < s_sync);
    exec_stop(0);
    f->ops->close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f), 0);
    assert_run_status(id_of(r_sync), "success");
    assert_run_status(id_of(r_async), "success");
    assert_run_status(id_of(r_exit), "success");
    assert_thread_status(tid, "idle");
    assert_int_equal(f->ops->thread_get(f->s, tid, NULL, &t), STORE_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "values"), "value")), "d-exit");
    assert_int_equal(f->ops->checkpoint_list(f->s, tid, NULL, NULL, NULL, 0, &cps), STORE_OK);
    json_array_foreach(cps, i, cp) { /* newest first */
        const char *rid = json_string_value(json_object_get(cp, "run_id")) ?: "";
        for (j = 0; j != 6; ++j)
            if (strcmp(rid, id_of(runs[j])) == 0 && per_run[j]++ == 0)
                last_id[j] = json_string_value(json_object_get(cp, "checkpoint_id"));
    }
    for (j = 0; j != 6; ++j) {
        if (expect_one[j])
            assert_int_equal(per_run[j], 1); /* only the end of the run */
        else
            assert_true(per_run[j] >= 2); /* the input checkpoint and the one after the step */
    }
    cp = json_array_get(cps, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cp, "values"), "value")), "d-exit");
    assert_string_equal(json_string_value(json_object_get(json_object_get(cp, "metadata"), "source")), "loop");
    assert_string_equal(json_string_value(json_object_get(cp, "parent_checkpoint_id")), last_id[4]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(cps, 1), "parent_checkpoint_id")), last_id[3]);
    json_decref(cps);
    json_decref(t);
    for (j = 0; j != 6; ++j)
        json_decref(runs[j]);
    free(tid);
}

/* An async run whose writes cannot reach the disk ends `error` with a StoreError event last
 * (its writes were logged; the one wait at its end fails), and its outcome is that error. */
static void test_durability_failure(void **state)
{
    json_t *run = create(NULL, F->hold_id, "{\"if_not_exists\": \"create\", \"input\": {\"hold\": true, \"value\": \"f\"}}");
    const char *status = NULL;
    json_t *evs, *last, *result = NULL;
    exec_error_t err;

    (void)state;
    wait_held(1);
    atomic_store(&fail_sync, 1);
    atomic_store(&gate, 1);
    evs = collect(NULL, id_of(run), 0, &status);
    atomic_store(&fail_sync, 0);
    assert_string_equal(status, "error");
    last = json_array_get(evs, json_array_size(evs) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "event")), "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(last, "data"), "error")), "StoreError");
    assert_int_equal(exec_run_result(NULL, id_of(run), NULL, &result, &err), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(result, "__error__"), "error")), "StoreError");
    json_decref(result);
    json_decref(evs);
    json_decref(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_success_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay_after_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_before, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multitask_reject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multitask_interrupt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multitask_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multitask_enqueue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_seconds_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stateless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_not_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_subscribers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_only_subscriber, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_caller_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_cancels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook, setup, teardown),
        cmocka_unit_test_setup_teardown(test_webhook_retry, setup_retry, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup_timeout, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup_retention, teardown),
        cmocka_unit_test_setup_teardown(test_finished_run_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_not_recovered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_modes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_failure, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    json_decref(echo_conf);
    json_decref(order);
    return rc;
}
