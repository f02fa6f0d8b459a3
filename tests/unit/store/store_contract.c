/*
 * tests/unit/store/store_contract.c — the storage contract suite (see store_contract.h). Every
 * test gets a fresh store from the environment and talks to it only through store_ops_t:
 * shapes and defaults, if_exists, versions, containment filters, sort orders, pagination totals,
 * cascades, the run queue, checkpoints, store item filters and namespaces, TTLs, crons, owner
 * isolation and concurrent writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_contract.h"
#include "util/time.h"
#include "util/uuid.h"

static const store_contract_env_t *contract_env;

typedef struct fx {
    const store_ops_t *o;
    store_t *s;
} fx_t;

#define OK(expr) assert_int_equal((expr), STORE_OK)
#define RC(expr, rc) assert_int_equal((expr), (rc))

/* Parses JSON text (new reference); fails the test on bad text. */
static json_t *J(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);

    if (v == NULL)
        fail_msg("bad JSON in test: %s: %s", text, err.text);
    return v;
}

static const char *S(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t I(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));

    f->o = contract_env->ops;
    if (contract_env->open_fresh(contract_env->ctx, &f->s) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;

    contract_env->dispose(contract_env->ctx, f->s);
    free(f);
    return 0;
}

/* Creates an assistant from JSON text; returns its id in `id`. */
static void mk_assistant(fx_t *f, const char *text, char id[UUID_STR_SIZE])
{
    json_t *in = J(text), *out = NULL;

    OK(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &out));
    snprintf(id, UUID_STR_SIZE, "%s", S(out, "assistant_id"));
    json_decref(in);
    json_decref(out);
}

static void mk_thread(fx_t *f, const char *text, char id[UUID_STR_SIZE])
{
    json_t *in = J(text), *out = NULL;

    OK(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &out));
    snprintf(id, UUID_STR_SIZE, "%s", S(out, "thread_id"));
    json_decref(in);
    json_decref(out);
}

static void mk_run(fx_t *f, const char *thread_id, const char *extra_meta, int64_t not_before,
                   char id[UUID_STR_SIZE])
{
    json_t *in = json_pack("{sssss{}}", "thread_id", thread_id, "assistant_id", "agent", "kwargs");
    json_t *out = NULL;

    if (extra_meta != NULL)
        json_object_set_new(in, "metadata", J(extra_meta));
    OK(f->o->run_create(f->s, in, not_before, &out));
    snprintf(id, UUID_STR_SIZE, "%s", S(out, "run_id"));
    json_decref(in);
    json_decref(out);
}

static void mk_ckpt(fx_t *f, const char *thread_id, const char *cid, const char *parent,
                    const char *run_id, const char *ns, const char *meta)
{
    json_t *cp = json_pack("{sssssss{s[]}}", "thread_id", thread_id, "checkpoint_id", cid,
                           "checkpoint_ns", ns, "values", "messages");

    json_object_set_new(cp, "parent_checkpoint_id", parent ? json_string(parent) : json_null());
    json_object_set_new(cp, "run_id", run_id ? json_string(run_id) : json_null());
    json_object_set_new(cp, "metadata", J(meta ? meta : "{}"));
    OK(f->o->checkpoint_put(f->s, cp, NULL));
    json_decref(cp);
}

/* Asserts that array `arr` holds objects whose `key` fields are exactly `want` (NULL-terminated). */
static void assert_ids(const json_t *arr, const char *key, const char *const *want)
{
    size_t i, n = 0;

    while (want[n] != NULL)
        n++;
    assert_true(json_is_array(arr));
    if (json_array_size(arr) != n)
        fail_msg("expected %zu results, got %zu", n, json_array_size(arr));
    for (i = 0; i < n; i++)
        assert_string_equal(S(json_array_get(arr, i), key), want[i]);
}

static int is_rfc3339(const char *s)
{
    int64_t us;

    return s != NULL && time_parse_rfc3339(s, &us, NULL) == 0 && strlen(s) > 20;
}

/* ---- assistants ---- */

static void test_assistant_create_shape(void **state)
{
    fx_t *f = *state;
    json_t *in = J("{\"graph_id\":\"agent\",\"config\":{\"configurable\":{\"a\":1}},"
                   "\"metadata\":{\"k\":\"v\"}}");
    json_t *a = NULL, *g = NULL;
    static const char *keys[] = {"assistant_id", "graph_id", "config",  "context", "created_at",
                                 "updated_at",   "metadata", "version", "name",    "description"};
    size_t i;

    OK(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &a));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(a, keys[i]));
    assert_int_equal(json_object_size(a), 10);
    assert_true(uuid_is_valid(S(a, "assistant_id")));
    assert_string_equal(S(a, "graph_id"), "agent");
    assert_string_equal(S(a, "name"), "Untitled");
    assert_true(json_is_null(json_object_get(a, "description")));
    assert_int_equal(I(a, "version"), 1);
    assert_true(json_is_object(json_object_get(a, "context")));
    assert_int_equal(I(json_object_get(json_object_get(a, "config"), "configurable"), "a"), 1);
    assert_true(is_rfc3339(S(a, "created_at")));
    assert_string_equal(S(a, "created_at"), S(a, "updated_at"));

    OK(f->o->assistant_get(f->s, S(a, "assistant_id"), NULL, &g));
    assert_true(json_equal(a, g));
    json_decref(g);
    g = NULL;
    RC(f->o->assistant_get(f->s, "00000000-0000-4000-8000-000000000000", NULL, &g),
       STORE_NOT_FOUND);
    assert_null(g);
    RC(f->o->assistant_get(f->s, "not-a-uuid", NULL, &g), STORE_NOT_FOUND);
    json_decref(in);

    in = J("{\"name\":\"x\"}");
    RC(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_INVALID);
    json_decref(in);
    in = J("{\"graph_id\":\"agent\",\"assistant_id\":\"nope\"}");
    RC(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, NULL), STORE_INVALID);
    assert_true(strlen(store_last_error()) > 0);
    json_decref(in);
    json_decref(a);
}

static void test_assistant_if_exists(void **state)
{
    fx_t *f = *state;
    json_t *first = J("{\"assistant_id\":\"5A1D0C0E-1111-4222-8333-444455556666\","
                      "\"graph_id\":\"agent\",\"name\":\"first\"}");
    json_t *second = J("{\"assistant_id\":\"5a1d0c0e-1111-4222-8333-444455556666\","
                       "\"graph_id\":\"other\",\"name\":\"second\"}");
    json_t *out = NULL;
    int64_t n;

    OK(f->o->assistant_create(f->s, first, STORE_IF_EXISTS_RAISE, NULL, &out));
    assert_string_equal(S(out, "assistant_id"), "5a1d0c0e-1111-4222-8333-444455556666");
    json_decref(out);
    out = NULL;
    RC(f->o->assistant_create(f->s, second, STORE_IF_EXISTS_RAISE, NULL, &out), STORE_CONFLICT);
    assert_null(out);
    OK(f->o->assistant_create(f->s, second, STORE_IF_EXISTS_DO_NOTHING, NULL, &out));
    assert_string_equal(S(out, "name"), "first");
    assert_string_equal(S(out, "graph_id"), "agent");
    OK(f->o->assistant_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, 1);
    json_decref(out);
    json_decref(first);
    json_decref(second);
}

static void test_assistant_versions(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE];
    json_t *patch, *out = NULL, *list = NULL;
    int64_t total = -1;

    mk_assistant(f,
                 "{\"graph_id\":\"agent\",\"name\":\"v1\",\"metadata\":{\"a\":1,\"tag\":\"x\"},"
                 "\"config\":{\"configurable\":{\"m\":\"one\"}}}",
                 id);
    patch = J("{\"name\":\"v2\",\"metadata\":{\"b\":2,\"tag\":\"y\"}}");
    OK(f->o->assistant_patch(f->s, id, patch, NULL, &out));
    assert_int_equal(I(out, "version"), 2);
    assert_string_equal(S(out, "name"), "v2");
    assert_int_equal(I(json_object_get(out, "metadata"), "a"), 1);
    assert_int_equal(I(json_object_get(out, "metadata"), "b"), 2);
    assert_string_equal(S(json_object_get(out, "metadata"), "tag"), "y");
    assert_string_equal(S(json_object_get(json_object_get(out, "config"), "configurable"), "m"),
                        "one");
    json_decref(out);
    json_decref(patch);

    OK(f->o->assistant_get(f->s, id, NULL, &out));
    assert_int_equal(I(out, "version"), 2);
    json_decref(out);
    OK(f->o->assistant_get_version(f->s, id, 1, NULL, &out));
    assert_string_equal(S(out, "name"), "v1");
    json_decref(out);
    RC(f->o->assistant_get_version(f->s, id, 7, NULL, &out), STORE_NOT_FOUND);

    OK(f->o->assistant_versions(f->s, id, NULL, 10, 0, NULL, &list, &total));
    assert_int_equal(total, 2);
    assert_int_equal(json_array_size(list), 2);
    assert_int_equal(I(json_array_get(list, 0), "version"), 2);
    assert_int_equal(I(json_array_get(list, 1), "version"), 1);
    json_decref(list);
    patch = J("{\"tag\":\"x\"}");
    OK(f->o->assistant_versions(f->s, id, patch, 10, 0, NULL, &list, &total));
    assert_int_equal(total, 1);
    assert_int_equal(I(json_array_get(list, 0), "version"), 1);
    json_decref(list);
    json_decref(patch);
    OK(f->o->assistant_versions(f->s, id, NULL, 1, 1, NULL, &list, &total));
    assert_int_equal(total, 2);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(I(json_array_get(list, 0), "version"), 1);
    json_decref(list);
    RC(f->o->assistant_versions(f->s, "00000000-0000-4000-8000-000000000000", NULL, 10, 0, NULL,
                                &list, NULL),
       STORE_NOT_FOUND);

    OK(f->o->assistant_set_latest(f->s, id, 1, NULL, &out));
    assert_int_equal(I(out, "version"), 1);
    json_decref(out);
    OK(f->o->assistant_get(f->s, id, NULL, &out));
    assert_int_equal(I(out, "version"), 1);
    assert_string_equal(S(out, "name"), "v1");
    json_decref(out);
    RC(f->o->assistant_set_latest(f->s, id, 9, NULL, &out), STORE_NOT_FOUND);

    /* a patch after going back still makes a new highest version, from the latest one */
    patch = J("{\"description\":\"third\"}");
    OK(f->o->assistant_patch(f->s, id, patch, NULL, &out));
    assert_int_equal(I(out, "version"), 3);
    assert_string_equal(S(out, "name"), "v1");
    assert_string_equal(S(out, "description"), "third");
    json_decref(out);
    json_decref(patch);
    patch = J("{\"config\":\"nope\"}");
    RC(f->o->assistant_patch(f->s, id, patch, NULL, &out), STORE_INVALID);
    json_decref(patch);
    OK(f->o->assistant_get(f->s, id, NULL, &out));
    assert_int_equal(I(out, "version"), 3);
    json_decref(out);
}

static void test_assistant_search(void **state)
{
    fx_t *f = *state;
    char a[5][UUID_STR_SIZE];
    store_assistant_query_t q = {0};
    json_t *list = NULL, *meta;
    int64_t total = -1, n = -1;

    mk_assistant(f,
                 "{\"graph_id\":\"agent\",\"name\":\"Bravo "
                 "helper\",\"metadata\":{\"team\":{\"id\":1,\"x\":2}}}",
                 a[0]);
    mk_assistant(
        f, "{\"graph_id\":\"agent\",\"name\":\"alpha\",\"metadata\":{\"team\":{\"id\":2}}}", a[1]);
    mk_assistant(f,
                 "{\"graph_id\":\"other\",\"name\":\"charlie "
                 "HELPER\",\"metadata\":{\"tags\":[\"a\",\"b\"]}}",
                 a[2]);
    mk_assistant(f, "{\"graph_id\":\"agent\",\"name\":\"delta\"}", a[3]);
    mk_assistant(f, "{\"graph_id\":\"other\",\"name\":\"echo\",\"metadata\":{\"n\":1.0}}", a[4]);

    /* default: created_at desc */
    OK(f->o->assistant_search(f->s, NULL, NULL, &list, &total));
    assert_int_equal(total, 5);
    assert_ids(list, "assistant_id", (const char *[]){a[4], a[3], a[2], a[1], a[0], NULL});
    json_decref(list);

    q.graph_id = "agent";
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_int_equal(total, 3);
    json_decref(list);
    OK(f->o->assistant_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 3);

    memset(&q, 0, sizeof(q));
    q.name = "helper";
    q.sort_by = "name";
    q.sort_order = "asc";
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "assistant_id", (const char *[]){a[0], a[2], NULL});
    json_decref(list);
    q.sort_order = "desc";
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "assistant_id", (const char *[]){a[2], a[0], NULL});
    json_decref(list);

    memset(&q, 0, sizeof(q));
    meta = J("{\"team\":{\"id\":1}}");
    q.metadata = meta;
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "assistant_id", (const char *[]){a[0], NULL});
    json_decref(list);
    json_decref(meta);
    meta = J("{\"tags\":[\"b\"]}");
    q.metadata = meta;
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "assistant_id", (const char *[]){a[2], NULL});
    json_decref(list);
    json_decref(meta);
    meta = J("{\"n\":1}");
    q.metadata = meta;
    OK(f->o->assistant_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 1);
    json_decref(meta);

    memset(&q, 0, sizeof(q));
    q.sort_by = "name";
    q.sort_order = "asc";
    q.limit = 2;
    q.offset = 1;
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_int_equal(total, 5);
    /* byte order: "Bravo helper" < "alpha" < "charlie HELPER" < "delta" < "echo" */
    assert_ids(list, "assistant_id", (const char *[]){a[1], a[2], NULL});
    json_decref(list);
    q.offset = 10;
    OK(f->o->assistant_search(f->s, &q, NULL, &list, &total));
    assert_int_equal(json_array_size(list), 0);
    assert_int_equal(total, 5);
    json_decref(list);

    memset(&q, 0, sizeof(q));
    q.sort_by = "assistant_id";
    q.sort_order = "asc";
    OK(f->o->assistant_search(f->s, &q, NULL, &list, NULL));
    for (size_t i = 1; i < json_array_size(list); i++)
        assert_true(strcmp(S(json_array_get(list, i - 1), "assistant_id"),
                           S(json_array_get(list, i), "assistant_id")) < 0);
    json_decref(list);
    q.sort_by = "bogus";
    RC(f->o->assistant_search(f->s, &q, NULL, &list, NULL), STORE_INVALID);
    q.sort_by = "name";
    q.sort_order = "sideways";
    RC(f->o->assistant_search(f->s, &q, NULL, &list, NULL), STORE_INVALID);
}

static void test_assistant_delete(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE];
    json_t *out = NULL, *p = J("{\"name\":\"n2\"}");
    int64_t n;

    mk_assistant(f, "{\"graph_id\":\"agent\"}", id);
    OK(f->o->assistant_patch(f->s, id, p, NULL, NULL));
    OK(f->o->assistant_delete(f->s, id, NULL));
    RC(f->o->assistant_get(f->s, id, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->assistant_get_version(f->s, id, 1, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->assistant_delete(f->s, id, NULL), STORE_NOT_FOUND);
    OK(f->o->assistant_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, 0);
    json_decref(p);
}

static void test_assistant_owner(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE];
    json_t *out = NULL, *list = NULL, *p = J("{\"name\":\"hijack\"}"), *in;
    int64_t n = -1, total = -1;

    mk_assistant(f, "{\"graph_id\":\"agent\",\"name\":\"mine\",\"metadata\":{\"owner\":\"alice\"}}",
                 id);
    RC(f->o->assistant_get(f->s, id, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_get_version(f->s, id, 1, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_patch(f->s, id, p, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_set_latest(f->s, id, 1, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_versions(f->s, id, NULL, 10, 0, "bob", &list, NULL), STORE_NOT_FOUND);
    RC(f->o->assistant_delete(f->s, id, "bob"), STORE_NOT_FOUND);
    OK(f->o->assistant_search(f->s, NULL, "bob", &list, &total));
    assert_int_equal(json_array_size(list), 0);
    assert_int_equal(total, 0);
    json_decref(list);
    OK(f->o->assistant_count(f->s, NULL, "bob", &n));
    assert_int_equal(n, 0);
    in = json_pack("{ssss}", "assistant_id", id, "graph_id", "agent");
    RC(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_DO_NOTHING, "bob", &out), STORE_CONFLICT);
    json_decref(in);

    OK(f->o->assistant_get(f->s, id, "alice", &out));
    assert_string_equal(S(out, "name"), "mine");
    assert_int_equal(I(out, "version"), 1);
    json_decref(out);
    OK(f->o->assistant_count(f->s, NULL, "alice", &n));
    assert_int_equal(n, 1);
    OK(f->o->assistant_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, 1);
    OK(f->o->assistant_delete(f->s, id, "alice"));
    json_decref(p);
}

/* A system assistant (created_by "system", no owner) is readable by every owner and
 * changeable by none; one that also carries an owner is an ordinary assistant. */
static void test_assistant_system(void **state)
{
    fx_t *f = *state;
    char sys[UUID_STR_SIZE], fake[UUID_STR_SIZE];
    json_t *out = NULL, *list = NULL, *p = J("{\"name\":\"hijack\"}"), *in;
    int64_t n = -1, total = -1;

    mk_assistant(f, "{\"graph_id\":\"agent\",\"name\":\"sys\",\"metadata\":{\"created_by\":\"system\"}}", sys);
    mk_assistant(f,
                 "{\"graph_id\":\"agent\",\"name\":\"fake\",\"metadata\":{\"created_by\":\"system\","
                 "\"owner\":\"alice\"}}",
                 fake);
    OK(f->o->assistant_get(f->s, sys, "bob", &out));
    assert_string_equal(S(out, "name"), "sys");
    json_decref(out);
    OK(f->o->assistant_get_version(f->s, sys, 1, "bob", &out));
    json_decref(out);
    OK(f->o->assistant_versions(f->s, sys, NULL, 10, 0, "bob", &list, NULL));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);
    OK(f->o->assistant_search(f->s, NULL, "bob", &list, &total));
    assert_ids(list, "assistant_id", (const char *[]){sys, NULL});
    assert_int_equal(total, 1);
    json_decref(list);
    OK(f->o->assistant_count(f->s, NULL, "bob", &n));
    assert_int_equal(n, 1);
    in = json_pack("{ssss}", "assistant_id", sys, "graph_id", "agent");
    OK(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_DO_NOTHING, "bob", &out));
    assert_string_equal(S(out, "name"), "sys");
    json_decref(out);
    RC(f->o->assistant_create(f->s, in, STORE_IF_EXISTS_RAISE, "bob", &out), STORE_CONFLICT);
    json_decref(in);
    RC(f->o->assistant_patch(f->s, sys, p, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_set_latest(f->s, sys, 1, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->assistant_delete(f->s, sys, "bob"), STORE_NOT_FOUND);
    RC(f->o->assistant_get(f->s, fake, "bob", &out), STORE_NOT_FOUND);
    OK(f->o->assistant_get(f->s, sys, NULL, &out));
    assert_string_equal(S(out, "name"), "sys");
    assert_int_equal(I(out, "version"), 1);
    json_decref(out);
    json_decref(p);
}

/* ---- threads ---- */

static void test_thread_create_shape(void **state)
{
    fx_t *f = *state;
    json_t *in = J("{\"metadata\":{\"purpose\":\"shapes\"}}"), *t = NULL, *g = NULL;
    static const char *keys[] = {"thread_id", "created_at", "updated_at", "state_updated_at",
                                 "metadata",  "status",     "config",     "interrupts"};
    size_t i;

    OK(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &t));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(t, keys[i]));
    assert_null(json_object_get(t, "ttl"));
    assert_string_equal(S(t, "status"), "idle");
    assert_true(uuid_is_valid(S(t, "thread_id")));
    assert_true(is_rfc3339(S(t, "created_at")));
    assert_string_equal(S(json_object_get(t, "metadata"), "purpose"), "shapes");
    OK(f->o->thread_get(f->s, S(t, "thread_id"), NULL, &g));
    assert_true(json_equal(t, g));
    json_decref(g);
    json_decref(in);

    in = json_pack("{ss}", "thread_id", S(t, "thread_id"));
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &g), STORE_CONFLICT);
    OK(f->o->thread_create(f->s, in, STORE_IF_EXISTS_DO_NOTHING, NULL, &g));
    assert_true(json_equal(t, g));
    json_decref(g);
    json_decref(in);
    in = J("{\"thread_id\":\"zzz\"}");
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &g), STORE_INVALID);
    json_decref(in);
    in = J("{\"metadata\":[1]}");
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &g), STORE_INVALID);
    json_decref(in);
    OK(f->o->thread_create(f->s, NULL, STORE_IF_EXISTS_RAISE, NULL, NULL));
    RC(f->o->thread_get(f->s, "00000000-0000-4000-8000-000000000000", NULL, &g), STORE_NOT_FOUND);
    json_decref(t);
}

static void test_thread_patch(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE];
    json_t *p, *t = NULL, *before = NULL;

    mk_thread(f, "{\"metadata\":{\"a\":1,\"b\":{\"c\":1}}}", id);
    OK(f->o->thread_get(f->s, id, NULL, &before));
    usleep(2000);
    p = J("{\"metadata\":{\"b\":{\"d\":2},\"e\":3}}");
    OK(f->o->thread_patch(f->s, id, p, NULL, &t));
    assert_int_equal(I(json_object_get(t, "metadata"), "a"), 1);
    assert_int_equal(I(json_object_get(json_object_get(t, "metadata"), "b"), "d"), 2);
    assert_null(json_object_get(json_object_get(json_object_get(t, "metadata"), "b"), "c"));
    assert_int_equal(I(json_object_get(t, "metadata"), "e"), 3);
    assert_string_not_equal(S(t, "updated_at"), S(before, "updated_at"));
    assert_string_equal(S(t, "state_updated_at"), S(before, "state_updated_at"));
    assert_string_equal(S(t, "created_at"), S(before, "created_at"));
    json_decref(t);
    json_decref(p);

    p = J("{\"status\":\"busy\",\"values\":{\"messages\":[{\"id\":\"m1\"}]},\"interrupts\":{\"t\":["
          "]}}");
    OK(f->o->thread_patch(f->s, id, p, NULL, &t));
    assert_string_equal(S(t, "status"), "busy");
    assert_string_not_equal(S(t, "state_updated_at"), S(before, "state_updated_at"));
    json_decref(t);
    json_decref(p);
    OK(f->o->thread_get(f->s, id, NULL, &t));
    assert_string_equal(S(t, "status"), "busy");
    assert_string_equal(
        S(json_array_get(json_object_get(json_object_get(t, "values"), "messages"), 0), "id"),
        "m1");
    json_decref(t);

    /* the answer shares nothing with the store, and the patch's own members are the caller's */
    p = J("{\"metadata\":{\"k\":{\"n\":1}},\"values\":{\"messages\":[{\"id\":\"m2\"}]}}");
    OK(f->o->thread_patch(f->s, id, p, NULL, &t));
    json_object_set_new(p, "values", json_object());
    json_object_set_new(json_object_get(json_object_get(t, "metadata"), "k"), "n", json_integer(9));
    json_array_clear(json_object_get(json_object_get(t, "values"), "messages"));
    json_decref(t);
    json_decref(p);
    OK(f->o->thread_get(f->s, id, NULL, &t));
    assert_int_equal(I(json_object_get(json_object_get(t, "metadata"), "k"), "n"), 1);
    assert_int_equal(I(json_object_get(t, "metadata"), "a"), 1);
    assert_string_equal(S(t, "status"), "busy");
    assert_string_equal(
        S(json_array_get(json_object_get(json_object_get(t, "values"), "messages"), 0), "id"),
        "m2");
    json_decref(t);

    p = J("{\"metadata\":\"x\"}");
    RC(f->o->thread_patch(f->s, id, p, NULL, &t), STORE_INVALID);
    json_decref(p);
    p = J("{}");
    RC(f->o->thread_patch(f->s, "00000000-0000-4000-8000-000000000000", p, NULL, &t),
       STORE_NOT_FOUND);
    json_decref(p);
    json_decref(before);
}

static void test_thread_search(void **state)
{
    fx_t *f = *state;
    char t[4][UUID_STR_SIZE];
    store_thread_query_t q = {0};
    json_t *list = NULL, *v, *ids, *p;
    int64_t total = -1, n = -1;

    mk_thread(f, "{\"metadata\":{\"user\":\"u1\",\"kind\":\"chat\"}}", t[0]);
    mk_thread(f, "{\"metadata\":{\"user\":\"u2\",\"kind\":\"chat\"}}", t[1]);
    mk_thread(f, "{\"metadata\":{\"user\":\"u1\"}}", t[2]);
    mk_thread(f, "{}", t[3]);
    p = J("{\"status\":\"interrupted\",\"values\":{\"topic\":\"cats\",\"n\":[1,2,3]}}");
    OK(f->o->thread_patch(f->s, t[1], p, NULL, NULL));
    json_decref(p);

    OK(f->o->thread_search(f->s, NULL, NULL, &list, &total));
    assert_int_equal(total, 4);
    assert_ids(list, "thread_id", (const char *[]){t[3], t[2], t[1], t[0], NULL});
    json_decref(list);

    v = J("{\"user\":\"u1\"}");
    q.metadata = v;
    q.sort_order = "asc";
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "thread_id", (const char *[]){t[0], t[2], NULL});
    json_decref(list);
    OK(f->o->thread_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 2);
    json_decref(v);

    memset(&q, 0, sizeof(q));
    v = J("{\"n\":[3]}");
    q.values = v;
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "thread_id", (const char *[]){t[1], NULL});
    json_decref(list);
    json_decref(v);

    memset(&q, 0, sizeof(q));
    q.status = "interrupted";
    OK(f->o->thread_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 1);
    q.status = "idle";
    OK(f->o->thread_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 3);

    memset(&q, 0, sizeof(q));
    ids = json_pack("[sss]", t[0], t[3], "00000000-0000-4000-8000-000000000000");
    q.ids = ids;
    q.sort_by = "created_at";
    q.sort_order = "asc";
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "thread_id", (const char *[]){t[0], t[3], NULL});
    json_decref(list);
    json_decref(ids);

    memset(&q, 0, sizeof(q));
    q.sort_by = "updated_at";
    q.sort_order = "desc";
    q.limit = 1;
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_int_equal(total, 4);
    assert_ids(list, "thread_id", (const char *[]){t[1], NULL});
    json_decref(list);
    q.sort_by = "state_updated_at";
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "thread_id", (const char *[]){t[1], NULL});
    json_decref(list);

    memset(&q, 0, sizeof(q));
    q.sort_by = "status";
    q.sort_order = "asc";
    q.limit = 2;
    q.offset = 2;
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    assert_int_equal(total, 4);
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(S(json_array_get(list, 1), "status"), "interrupted");
    json_decref(list);
    q.sort_by = "thread_id";
    q.limit = 0;
    q.offset = 0;
    OK(f->o->thread_search(f->s, &q, NULL, &list, &total));
    for (size_t i = 1; i < json_array_size(list); i++)
        assert_true(strcmp(S(json_array_get(list, i - 1), "thread_id"),
                           S(json_array_get(list, i), "thread_id")) < 0);
    json_decref(list);
    q.sort_by = "values";
    RC(f->o->thread_search(f->s, &q, NULL, &list, &total), STORE_INVALID);
}

static void test_thread_copy(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE];
    json_t *c = NULL, *h = NULL, *p, *again = NULL;

    mk_thread(f, "{\"metadata\":{\"k\":\"v\"}}", id);
    p = J("{\"values\":{\"x\":1},\"status\":\"interrupted\"}");
    OK(f->o->thread_patch(f->s, id, p, NULL, NULL));
    json_decref(p);
    mk_ckpt(f, id, "c1", NULL, NULL, "", "{\"step\":0}");
    mk_ckpt(f, id, "c2", "c1", NULL, "", "{\"step\":1}");

    OK(f->o->thread_copy(f->s, id, NULL, NULL, &c));
    assert_string_not_equal(S(c, "thread_id"), id);
    assert_string_equal(S(json_object_get(c, "metadata"), "k"), "v");
    assert_int_equal(I(json_object_get(c, "values"), "x"), 1);
    assert_string_equal(S(c, "status"), "idle");
    OK(f->o->checkpoint_list(f->s, S(c, "thread_id"), NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c2", "c1", NULL});
    assert_string_equal(S(json_array_get(h, 0), "thread_id"), S(c, "thread_id"));
    assert_string_equal(S(json_array_get(h, 0), "parent_checkpoint_id"), "c1");
    json_decref(h);
    /* the source is untouched */
    OK(f->o->checkpoint_list(f->s, id, NULL, NULL, NULL, 0, &h));
    assert_int_equal(json_array_size(h), 2);
    json_decref(h);

    RC(f->o->thread_copy(f->s, id, S(c, "thread_id"), NULL, &again), STORE_CONFLICT);
    OK(f->o->thread_copy(f->s, id, "11111111-2222-4333-8444-555555555555", NULL, &again));
    assert_string_equal(S(again, "thread_id"), "11111111-2222-4333-8444-555555555555");
    json_decref(again);
    RC(f->o->thread_copy(f->s, "00000000-0000-4000-8000-000000000000", NULL, NULL, &again),
       STORE_NOT_FOUND);
    json_decref(c);
}

static void test_thread_delete_cascades(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE], other[UUID_STR_SIZE], r1[UUID_STR_SIZE], r2[UUID_STR_SIZE];
    json_t *out = NULL;

    mk_thread(f, "{}", id);
    mk_thread(f, "{}", other);
    mk_run(f, id, NULL, 0, r1);
    mk_run(f, other, NULL, 0, r2);
    mk_ckpt(f, id, "c1", NULL, r1, "", NULL);
    OK(f->o->thread_delete(f->s, id, NULL));
    RC(f->o->thread_get(f->s, id, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->run_get(f->s, NULL, r1, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->checkpoint_get(f->s, id, NULL, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->run_list(f->s, id, NULL, 10, 0, NULL, &out, NULL), STORE_NOT_FOUND);
    OK(f->o->run_active(f->s, NULL, &out));
    assert_ids(out, "run_id", (const char *[]){r2, NULL});
    json_decref(out);
    RC(f->o->thread_delete(f->s, id, NULL), STORE_NOT_FOUND);
    OK(f->o->run_get(f->s, other, r2, NULL, &out));
    json_decref(out);
}

static void test_thread_prune(void **state)
{
    fx_t *f = *state;
    char a[UUID_STR_SIZE], b[UUID_STR_SIZE], c[UUID_STR_SIZE];
    json_t *ids, *h = NULL, *out = NULL;
    int64_t n = -1;

    mk_thread(f, "{}", a);
    mk_thread(f, "{}", b);
    mk_thread(f, "{\"metadata\":{\"owner\":\"alice\"}}", c);
    mk_ckpt(f, b, "b1", NULL, NULL, "", NULL);
    mk_ckpt(f, b, "b2", "b1", NULL, "", NULL);
    mk_ckpt(f, b, "s1", NULL, NULL, "sub", NULL);
    mk_ckpt(f, b, "b3", "b2", NULL, "", NULL);

    ids = json_pack("[ss]", b, "00000000-0000-4000-8000-000000000000");
    OK(f->o->thread_prune(f->s, ids, "keep_latest", NULL, &n));
    assert_int_equal(n, 1);
    OK(f->o->checkpoint_list(f->s, b, NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"b3", NULL});
    json_decref(h);
    OK(f->o->checkpoint_list(f->s, b, "sub", NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"s1", NULL});
    json_decref(h);
    json_decref(ids);

    ids = json_pack("[sss]", a, b, c);
    OK(f->o->thread_prune(f->s, ids, "delete", "alice", &n));
    assert_int_equal(n, 1); /* only c is alice's */
    RC(f->o->thread_get(f->s, c, NULL, &out), STORE_NOT_FOUND);
    OK(f->o->thread_get(f->s, a, NULL, &out));
    json_decref(out);
    OK(f->o->thread_prune(f->s, ids, NULL, NULL, &n));
    assert_int_equal(n, 2);
    OK(f->o->thread_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, 0);
    RC(f->o->thread_prune(f->s, ids, "shred", NULL, &n), STORE_INVALID);
    json_decref(ids);
}

static void test_thread_ttl(void **state)
{
    fx_t *f = *state;
    char a[UUID_STR_SIZE], b[UUID_STR_SIZE], c[UUID_STR_SIZE];
    json_t *t = NULL, *list = NULL, *p, *in;
    int64_t now = time_now_us(), exp;

    mk_thread(f, "{\"ttl\":{\"strategy\":\"delete\",\"ttl\":1}}", a);
    mk_thread(f, "{\"ttl\":{\"strategy\":\"keep_latest\",\"ttl\":10}}", b);
    mk_thread(f, "{}", c);
    OK(f->o->thread_get(f->s, a, NULL, &t));
    assert_string_equal(S(json_object_get(t, "ttl"), "strategy"), "delete");
    assert_int_equal(I(json_object_get(t, "ttl"), "ttl_minutes"), 1);
    assert_int_equal(time_parse_rfc3339(S(json_object_get(t, "ttl"), "expires_at"), &exp, NULL), 0);
    assert_true(exp >= now + 59000000 && exp <= time_now_us() + 60000000);
    json_decref(t);

    OK(f->o->thread_expired(f->s, now, 0, &list));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    OK(f->o->thread_expired(f->s, now + 2 * 60000000LL, 0, &list));
    assert_ids(list, "thread_id", (const char *[]){a, NULL});
    assert_string_equal(S(json_array_get(list, 0), "strategy"), "delete");
    json_decref(list);
    OK(f->o->thread_expired(f->s, now + 20 * 60000000LL, 0, &list));
    assert_ids(list, "thread_id", (const char *[]){a, b, NULL});
    assert_string_equal(S(json_array_get(list, 1), "strategy"), "keep_latest");
    json_decref(list);
    OK(f->o->thread_expired(f->s, now + 20 * 60000000LL, 1, &list));
    assert_int_equal(json_array_size(list), 1);
    json_decref(list);

    p = J("{\"ttl\":null}");
    OK(f->o->thread_patch(f->s, a, p, NULL, &t));
    assert_null(json_object_get(t, "ttl"));
    json_decref(t);
    json_decref(p);
    OK(f->o->thread_expired(f->s, now + 2 * 60000000LL, 0, &list));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);

    in = J("{\"ttl\":{\"ttl\":-3}}");
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &t), STORE_INVALID);
    json_decref(in);
    in = J("{\"ttl\":{\"ttl\":3,\"strategy\":\"forever\"}}");
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_RAISE, NULL, &t), STORE_INVALID);
    json_decref(in);
}

static void test_thread_owner(void **state)
{
    fx_t *f = *state;
    char id[UUID_STR_SIZE], copy[UUID_STR_SIZE];
    json_t *out = NULL, *list = NULL, *p = J("{\"metadata\":{\"x\":1}}"), *in;
    store_thread_query_t q = {0};
    int64_t n = -1, total = -1;

    mk_thread(f, "{\"metadata\":{\"owner\":\"alice\"}}", id);
    RC(f->o->thread_get(f->s, id, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->thread_patch(f->s, id, p, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->thread_delete(f->s, id, "bob"), STORE_NOT_FOUND);
    RC(f->o->thread_copy(f->s, id, NULL, "bob", &out), STORE_NOT_FOUND);
    OK(f->o->thread_search(f->s, &q, "bob", &list, &total));
    assert_int_equal(json_array_size(list), 0);
    assert_int_equal(total, 0);
    json_decref(list);
    OK(f->o->thread_count(f->s, NULL, "bob", &n));
    assert_int_equal(n, 0);
    in = json_pack("{ss}", "thread_id", id);
    RC(f->o->thread_create(f->s, in, STORE_IF_EXISTS_DO_NOTHING, "bob", &out), STORE_CONFLICT);
    json_decref(in);

    OK(f->o->thread_get(f->s, id, "alice", &out));
    assert_null(json_object_get(json_object_get(out, "metadata"), "x"));
    json_decref(out);
    OK(f->o->thread_copy(f->s, id, NULL, "alice", &out));
    snprintf(copy, sizeof(copy), "%s", S(out, "thread_id"));
    json_decref(out);
    OK(f->o->thread_count(f->s, NULL, "alice", &n));
    assert_int_equal(n, 2); /* the copy keeps metadata, owner included */
    OK(f->o->thread_patch(f->s, id, p, "alice", NULL));
    OK(f->o->thread_delete(f->s, copy, "alice"));
    json_decref(p);
}

/* ---- runs ---- */

static void test_run_crud(void **state)
{
    fx_t *f = *state;
    char t[UUID_STR_SIZE], t2[UUID_STR_SIZE], r[3][UUID_STR_SIZE];
    json_t *out = NULL, *list = NULL, *in;
    static const char *keys[] = {"run_id",     "thread_id",  "assistant_id",
                                 "created_at", "updated_at", "status",
                                 "metadata",   "kwargs",     "multitask_strategy"};
    int64_t total = -1;
    size_t i;

    mk_thread(f, "{}", t);
    mk_thread(f, "{}", t2);
    for (i = 0; i < 3; i++)
        mk_run(f, t, NULL, 0, r[i]);

    OK(f->o->run_get(f->s, t, r[0], NULL, &out));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(out, keys[i]));
    assert_string_equal(S(out, "status"), "pending");
    assert_string_equal(S(out, "multitask_strategy"), "enqueue");
    assert_string_equal(S(out, "thread_id"), t);
    json_decref(out);
    OK(f->o->run_get(f->s, NULL, r[0], NULL, &out));
    json_decref(out);
    RC(f->o->run_get(f->s, t2, r[0], NULL, &out), STORE_NOT_FOUND);

    OK(f->o->run_set_status(f->s, r[1], "success", NULL, &out));
    assert_string_equal(S(out, "status"), "success");
    json_decref(out);

    OK(f->o->run_list(f->s, t, NULL, 10, 0, NULL, &list, &total));
    assert_int_equal(total, 3);
    assert_ids(list, "run_id", (const char *[]){r[2], r[1], r[0], NULL});
    json_decref(list);
    OK(f->o->run_list(f->s, t, "pending", 10, 0, NULL, &list, &total));
    assert_int_equal(total, 2);
    assert_ids(list, "run_id", (const char *[]){r[2], r[0], NULL});
    json_decref(list);
    OK(f->o->run_list(f->s, t, NULL, 1, 1, NULL, &list, &total));
    assert_ids(list, "run_id", (const char *[]){r[1], NULL});
    json_decref(list);
    OK(f->o->run_list(f->s, t2, NULL, 10, 0, NULL, &list, &total));
    assert_int_equal(total, 0);
    json_decref(list);

    RC(f->o->run_delete(f->s, t2, r[0], NULL), STORE_NOT_FOUND);
    OK(f->o->run_delete(f->s, t, r[0], NULL));
    RC(f->o->run_get(f->s, t, r[0], NULL, &out), STORE_NOT_FOUND);
    RC(f->o->run_set_status(f->s, r[0], "error", NULL, &out), STORE_NOT_FOUND);

    /* the answer shares nothing with the store, and `in`'s own members are the caller's */
    in = J("{\"assistant_id\":\"a\",\"metadata\":{\"k\":{\"n\":1}},\"kwargs\":{\"input\":{\"n\":2}}}");
    json_object_set_new(in, "thread_id", json_string(t));
    OK(f->o->run_create(f->s, in, 0, &out));
    json_object_set_new(in, "kwargs", json_object());
    json_object_set_new(json_object_get(json_object_get(out, "metadata"), "k"), "n", json_integer(9));
    json_object_set_new(json_object_get(json_object_get(out, "kwargs"), "input"), "n", json_integer(9));
    json_decref(in);
    OK(f->o->run_get(f->s, t, S(out, "run_id"), NULL, &list));
    json_decref(out);
    assert_int_equal(I(json_object_get(json_object_get(list, "metadata"), "k"), "n"), 1);
    assert_int_equal(I(json_object_get(json_object_get(list, "kwargs"), "input"), "n"), 2);
    json_decref(list);

    in = json_pack("{ssss}", "thread_id", "00000000-0000-4000-8000-000000000000", "assistant_id",
                   "a");
    RC(f->o->run_create(f->s, in, 0, &out), STORE_NOT_FOUND);
    json_decref(in);
    in = json_pack("{ssssss}", "thread_id", t, "assistant_id", "a", "run_id", r[1]);
    RC(f->o->run_create(f->s, in, 0, &out), STORE_CONFLICT);
    json_decref(in);
    in = json_pack("{ss}", "thread_id", t);
    RC(f->o->run_create(f->s, in, 0, &out), STORE_INVALID);
    json_decref(in);
}

static void test_run_claim_order(void **state)
{
    fx_t *f = *state;
    char ta[UUID_STR_SIZE], tb[UUID_STR_SIZE], a1[UUID_STR_SIZE], a2[UUID_STR_SIZE],
        b1[UUID_STR_SIZE], b2[UUID_STR_SIZE];
    int64_t now = time_now_us();
    json_t *out = NULL, *snap;

    mk_thread(f, "{}", ta);
    mk_thread(f, "{}", tb);
    mk_run(f, ta, NULL, 0, a1);
    mk_run(f, ta, NULL, 0, a2);
    mk_run(f, tb, NULL, now + 3600000000LL, b1); /* due in an hour */
    mk_run(f, tb, NULL, 0, b2);

    OK(f->o->run_claim(f->s, now, &out));
    assert_string_equal(S(out, "run_id"), a1);
    assert_string_equal(S(out, "status"), "running");
    json_decref(out);
    /* a2 waits for a1; b1 is not due and b2 queues behind it */
    RC(f->o->run_claim(f->s, now, &out), STORE_NOT_FOUND);
    assert_null(out);
    OK(f->o->run_active(f->s, ta, &out));
    assert_ids(out, "run_id", (const char *[]){a1, a2, NULL});
    json_decref(out);
    OK(f->o->run_active(f->s, NULL, &out));
    assert_ids(out, "run_id", (const char *[]){a1, a2, b1, b2, NULL});
    json_decref(out);

    OK(f->o->run_set_status(f->s, a1, "success", NULL, NULL));
    OK(f->o->run_claim(f->s, now, &out));
    assert_string_equal(S(out, "run_id"), a2);
    json_decref(out);
    OK(f->o->run_claim(f->s, now + 3600000001LL, &out));
    assert_string_equal(S(out, "run_id"), b1);
    json_decref(out);
    OK(f->o->run_set_status(f->s, b1, "interrupted", NULL, NULL));
    OK(f->o->run_claim(f->s, now, &out));
    assert_string_equal(S(out, "run_id"), b2);
    /* the claimed run (maybe the stored object, read only) never changes under its holder */
    snap = json_deep_copy(out);
    OK(f->o->run_set_status(f->s, b2, "pending", NULL, NULL));
    assert_true(json_equal(out, snap));
    assert_string_equal(S(out, "status"), "running");
    json_decref(snap);
    json_decref(out);
    OK(f->o->run_get(f->s, ta, a2, NULL, &out));
    assert_string_equal(S(out, "status"), "running");
    json_decref(out);
    OK(f->o->run_active(f->s, NULL, &out));
    assert_ids(out, "run_id", (const char *[]){a2, b2, NULL});
    json_decref(out);
    /* back to pending keeps the queue place */
    OK(f->o->run_set_status(f->s, a2, "pending", NULL, NULL));
    OK(f->o->run_active(f->s, NULL, &out));
    assert_ids(out, "run_id", (const char *[]){a2, b2, NULL});
    json_decref(out);
    RC(f->o->run_active(f->s, "00000000-0000-4000-8000-000000000000", &out), STORE_NOT_FOUND);
}

static void test_run_owner(void **state)
{
    fx_t *f = *state;
    char t[UUID_STR_SIZE], ra[UUID_STR_SIZE], rb[UUID_STR_SIZE];
    json_t *out = NULL, *list = NULL;
    int64_t total = -1;

    mk_thread(f, "{}", t);
    mk_run(f, t, "{\"owner\":\"alice\"}", 0, ra);
    mk_run(f, t, "{\"owner\":\"bob\"}", 0, rb);
    RC(f->o->run_get(f->s, t, ra, "bob", &out), STORE_NOT_FOUND);
    RC(f->o->run_set_status(f->s, ra, "error", "bob", &out), STORE_NOT_FOUND);
    RC(f->o->run_delete(f->s, t, ra, "bob"), STORE_NOT_FOUND);
    OK(f->o->run_list(f->s, t, NULL, 10, 0, "bob", &list, &total));
    assert_ids(list, "run_id", (const char *[]){rb, NULL});
    assert_int_equal(total, 1);
    json_decref(list);
    OK(f->o->run_get(f->s, t, ra, "alice", &out));
    assert_string_equal(S(out, "status"), "pending");
    json_decref(out);
}

/* ---- checkpoints ---- */

static void test_checkpoints(void **state)
{
    fx_t *f = *state;
    char t[UUID_STR_SIZE], upper[UUID_STR_SIZE];
    json_t *out = NULL, *h = NULL, *m, *cp;
    size_t i;

    mk_thread(f, "{}", t);
    RC(f->o->checkpoint_get(f->s, t, NULL, NULL, &out), STORE_NOT_FOUND);
    mk_ckpt(f, t, "c1", NULL, NULL, "", "{\"source\":\"input\",\"step\":-1}");
    mk_ckpt(f, t, "c2", "c1", NULL, "", "{\"source\":\"loop\",\"step\":0}");
    mk_ckpt(f, t, "s1", NULL, NULL, "child:1", "{\"source\":\"loop\"}");
    mk_ckpt(f, t, "c3", "c2", NULL, "", "{\"source\":\"loop\",\"step\":1}");

    OK(f->o->checkpoint_get(f->s, t, NULL, NULL, &out));
    assert_string_equal(S(out, "checkpoint_id"), "c3");
    assert_string_equal(S(out, "parent_checkpoint_id"), "c2");
    assert_string_equal(S(out, "checkpoint_ns"), "");
    assert_string_equal(S(out, "thread_id"), t);
    assert_true(is_rfc3339(S(out, "created_at")));
    assert_true(json_is_array(json_object_get(json_object_get(out, "values"), "messages")));
    json_decref(out);
    OK(f->o->checkpoint_get(f->s, t, "", "c1", &out));
    assert_true(json_is_null(json_object_get(out, "parent_checkpoint_id")));
    json_decref(out);
    OK(f->o->checkpoint_get(f->s, t, "child:1", NULL, &out));
    assert_string_equal(S(out, "checkpoint_id"), "s1");
    json_decref(out);
    RC(f->o->checkpoint_get(f->s, t, "", "s1", &out), STORE_NOT_FOUND);

    OK(f->o->checkpoint_list(f->s, t, NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c3", "c2", "c1", NULL});
    json_decref(h);
    OK(f->o->checkpoint_list(f->s, t, NULL, NULL, NULL, 2, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c3", "c2", NULL});
    json_decref(h);
    OK(f->o->checkpoint_list(f->s, t, NULL, "c3", NULL, 10, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c2", "c1", NULL});
    json_decref(h);
    m = J("{\"source\":\"loop\"}");
    OK(f->o->checkpoint_list(f->s, t, "", NULL, m, 10, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c3", "c2", NULL});
    json_decref(h);
    json_decref(m);
    RC(f->o->checkpoint_list(f->s, t, NULL, "nope", NULL, 10, &h), STORE_NOT_FOUND);
    RC(f->o->checkpoint_list(f->s, "00000000-0000-4000-8000-000000000000", NULL, NULL, NULL, 10,
                             &h),
       STORE_NOT_FOUND);

    /* same id again replaces in place */
    mk_ckpt(f, t, "c2", "c1", NULL, "", "{\"source\":\"update\"}");
    OK(f->o->checkpoint_list(f->s, t, NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c3", "c2", "c1", NULL});
    assert_string_equal(S(json_object_get(json_array_get(h, 1), "metadata"), "source"), "update");
    json_decref(h);

    /* generated ids are time-ordered */
    cp = json_pack("{ss}", "thread_id", t);
    OK(f->o->checkpoint_put(f->s, cp, &out));
    assert_true(uuid_is_valid(S(out, "checkpoint_id")));
    assert_true(json_is_object(json_object_get(out, "metadata")));
    json_decref(out);
    json_decref(cp);
    cp = json_pack("{ss}", "thread_id", "00000000-0000-4000-8000-000000000000");
    RC(f->o->checkpoint_put(f->s, cp, &out), STORE_NOT_FOUND);
    json_decref(cp);
    cp = J("{\"checkpoint_id\":\"x\"}");
    RC(f->o->checkpoint_put(f->s, cp, &out), STORE_INVALID);
    json_decref(cp);

    /* the store never changes the caller's checkpoint: one it must complete is stored as a
     * completed copy (upper-case thread id made canonical, defaults, generated fields) */
    for (i = 0; t[i] != '\0'; i++)
        upper[i] = (char)(t[i] >= 'a' && t[i] <= 'f' ? t[i] - 'a' + 'A' : t[i]);
    upper[i] = '\0';
    cp = json_pack("{ss ss s{ss}}", "thread_id", upper, "checkpoint_id", "c9", "metadata",
                   "source", "loop");
    OK(f->o->checkpoint_put(f->s, cp, NULL));
    assert_int_equal(json_object_size(cp), 3);
    assert_string_equal(S(cp, "thread_id"), upper);
    assert_int_equal(json_object_size(json_object_get(cp, "metadata")), 1);
    OK(f->o->checkpoint_get(f->s, t, "", "c9", &out));
    assert_string_equal(S(out, "thread_id"), t);
    assert_string_equal(S(out, "checkpoint_ns"), "");
    assert_true(is_rfc3339(S(out, "created_at")));
    assert_true(json_is_null(json_object_get(out, "run_id")));
    assert_string_equal(S(json_object_get(out, "metadata"), "source"), "loop");
    json_decref(out);
    json_decref(cp);
}

/* The shared reads, through the backend's ops (`ops`: f->o, or a copy without the shared
 * reads, which must fall back to copies): the same answers as thread_get / checkpoint_get, the
 * same visibility, and an answer that later changes never alter. */
static void check_shared_reads(fx_t *f, const store_ops_t *ops)
{
    const char *cid = "shared";
    char t[UUID_STR_SIZE];
    json_t *sh = NULL, *cp = NULL, *copy = NULL, *snap = NULL, *p;

    mk_thread(f, "{\"metadata\":{\"owner\":\"alice\"},\"values\":{\"messages\":[{\"id\":\"m0\"}]}}", t);
    RC(store_checkpoint_get_shared(ops, f->s, t, NULL, NULL, &sh), STORE_NOT_FOUND);
    assert_null(sh);
    mk_ckpt(f, t, cid, NULL, NULL, "", "{\"source\":\"loop\",\"step\":1}");

    OK(store_checkpoint_get_shared(ops, f->s, t, "", NULL, &sh));
    OK(f->o->checkpoint_get(f->s, t, "", cid, &copy));
    assert_true(json_equal(sh, copy));
    snap = json_deep_copy(sh);
    json_decref(copy);
    /* a later put of the same id replaces the checkpoint, not what the reader holds */
    cp = json_pack("{ss ss s{s[{ss}]} s{ss}}", "thread_id", t, "checkpoint_id", cid, "values",
                   "messages", "id", "m9", "metadata", "source", "update");
    OK(f->o->checkpoint_put(f->s, cp, NULL));
    json_decref(cp);
    assert_true(json_equal(sh, snap));
    json_decref(sh);
    json_decref(snap);
    OK(store_checkpoint_get_shared(ops, f->s, t, NULL, cid, &sh));
    assert_string_equal(S(json_object_get(sh, "metadata"), "source"), "update");
    json_decref(sh);
    sh = NULL;
    RC(store_checkpoint_get_shared(ops, f->s, t, "", "nope", &sh), STORE_NOT_FOUND);
    RC(store_checkpoint_get_shared(ops, f->s, t, "child:1", NULL, &sh), STORE_NOT_FOUND);
    assert_null(sh);

    OK(store_thread_get_shared(ops, f->s, t, "alice", &sh));
    OK(f->o->thread_get(f->s, t, "alice", &copy));
    assert_true(json_equal(sh, copy));
    snap = json_deep_copy(sh);
    json_decref(copy);
    p = J("{\"status\":\"busy\",\"metadata\":{\"k\":1},\"values\":{\"messages\":[]}}");
    OK(f->o->thread_patch(f->s, t, p, NULL, NULL));
    json_decref(p);
    assert_true(json_equal(sh, snap));
    json_decref(sh);
    json_decref(snap);
    OK(store_thread_get_shared(ops, f->s, t, NULL, &sh));
    assert_string_equal(S(sh, "status"), "busy");
    json_decref(sh);
    sh = NULL;
    RC(store_thread_get_shared(ops, f->s, t, "bob", &sh), STORE_NOT_FOUND);
    RC(store_thread_get_shared(ops, f->s, "00000000-0000-4000-8000-000000000000", NULL, &sh),
       STORE_NOT_FOUND);
    assert_null(sh);
}

static void test_shared_reads(void **state)
{
    fx_t *f = *state;
    store_ops_t copying = *f->o;

    check_shared_reads(f, f->o);
    copying.thread_get_shared = NULL;
    copying.checkpoint_get_shared = NULL;
    check_shared_reads(f, &copying);
}

/* The shared assistant read through `ops` (f->o, or a copy without it, which must fall back to
 * a copy): the same answer as assistant_get, the same readability (own, or a system assistant
 * for anyone), and an answer that a later patch never alters. */
static void check_assistant_shared_read(fx_t *f, const store_ops_t *ops)
{
    char a[UUID_STR_SIZE], sys[UUID_STR_SIZE];
    json_t *sh = NULL, *copy = NULL, *snap, *p;

    mk_assistant(f, "{\"graph_id\":\"agent\",\"config\":{\"configurable\":{\"k\":1}},\"metadata\":{\"owner\":\"alice\"}}", a);
    mk_assistant(f, "{\"graph_id\":\"agent\",\"metadata\":{\"created_by\":\"system\"}}", sys);
    OK(store_assistant_get_shared(ops, f->s, a, "alice", &sh));
    OK(f->o->assistant_get(f->s, a, "alice", &copy));
    assert_true(json_equal(sh, copy));
    json_decref(copy);
    snap = json_deep_copy(sh);
    p = J("{\"config\":{\"configurable\":{\"k\":2}},\"metadata\":{\"m\":1},\"name\":\"renamed\"}");
    OK(f->o->assistant_patch(f->s, a, p, NULL, NULL));
    json_decref(p);
    assert_true(json_equal(sh, snap));
    json_decref(sh);
    json_decref(snap);
    OK(store_assistant_get_shared(ops, f->s, a, NULL, &sh));
    assert_string_equal(S(sh, "name"), "renamed");
    assert_int_equal(I(json_object_get(json_object_get(sh, "config"), "configurable"), "k"), 2);
    json_decref(sh);
    sh = NULL;
    RC(store_assistant_get_shared(ops, f->s, a, "bob", &sh), STORE_NOT_FOUND);
    assert_null(sh);
    OK(store_assistant_get_shared(ops, f->s, sys, "bob", &sh));
    assert_string_equal(S(sh, "assistant_id"), sys);
    json_decref(sh);
    sh = NULL;
    RC(store_assistant_get_shared(ops, f->s, "00000000-0000-4000-8000-000000000000", NULL, &sh),
       STORE_NOT_FOUND);
    assert_null(sh);
}

static void test_assistant_shared_read(void **state)
{
    fx_t *f = *state;
    store_ops_t copying = *f->o;

    check_assistant_shared_read(f, f->o);
    copying.assistant_get_shared = NULL;
    check_assistant_shared_read(f, &copying);
}

static void test_checkpoint_delete_copy(void **state)
{
    fx_t *f = *state;
    char t[UUID_STR_SIZE], t2[UUID_STR_SIZE], r1[UUID_STR_SIZE], r2[UUID_STR_SIZE];
    json_t *h = NULL;
    int64_t n = -1;

    mk_thread(f, "{}", t);
    mk_thread(f, "{}", t2);
    mk_run(f, t, NULL, 0, r1);
    mk_run(f, t, NULL, 0, r2);
    mk_ckpt(f, t, "c1", NULL, r1, "", NULL);
    mk_ckpt(f, t, "c2", "c1", r1, "", NULL);
    mk_ckpt(f, t, "c3", "c2", r2, "", NULL);
    mk_ckpt(f, t, "c4", "c3", r2, "sub", NULL);

    OK(f->o->checkpoint_copy(f->s, t, t2));
    OK(f->o->checkpoint_list(f->s, t2, NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c3", "c2", "c1", NULL});
    json_decref(h);
    RC(f->o->checkpoint_copy(f->s, t, "00000000-0000-4000-8000-000000000000"), STORE_NOT_FOUND);

    OK(f->o->checkpoint_delete(f->s, t, r2, &n)); /* rollback of run r2 */
    assert_int_equal(n, 2);
    OK(f->o->checkpoint_list(f->s, t, NULL, NULL, NULL, 0, &h));
    assert_ids(h, "checkpoint_id", (const char *[]){"c2", "c1", NULL});
    json_decref(h);
    RC(f->o->checkpoint_get(f->s, t, "sub", NULL, &h), STORE_NOT_FOUND);
    OK(f->o->checkpoint_delete(f->s, t, NULL, &n));
    assert_int_equal(n, 2);
    RC(f->o->checkpoint_get(f->s, t, NULL, NULL, &h), STORE_NOT_FOUND);
    OK(f->o->checkpoint_delete(f->s, t, NULL, &n));
    assert_int_equal(n, 0);
    /* the copy was independent */
    OK(f->o->checkpoint_list(f->s, t2, NULL, NULL, NULL, 0, &h));
    assert_int_equal(json_array_size(h), 3);
    json_decref(h);
}

/* ---- store items ---- */

static void put_item(fx_t *f, const char *scope, const char *ns, const char *key, const char *value,
                     double ttl)
{
    json_t *n = J(ns), *v = J(value);

    OK(f->o->item_put(f->s, scope, n, key, v, ttl, NULL));
    json_decref(n);
    json_decref(v);
}

static void test_items_crud(void **state)
{
    fx_t *f = *state;
    json_t *ns = J("[\"users\",\"u1\"]"), *out = NULL, *again = NULL, *bad, *v;

    put_item(f, NULL, "[\"users\",\"u1\"]", "prefs", "{\"theme\":\"dark\"}", 0);
    OK(f->o->item_get(f->s, NULL, ns, "prefs", 0, &out));
    assert_string_equal(S(json_object_get(out, "value"), "theme"), "dark");
    assert_string_equal(S(out, "key"), "prefs");
    assert_true(json_equal(json_object_get(out, "namespace"), ns));
    assert_true(is_rfc3339(S(out, "created_at")));
    assert_int_equal(json_object_size(out), 5);
    usleep(2000);
    put_item(f, "", "[\"users\",\"u1\"]", "prefs", "{\"theme\":\"light\"}", 0);
    OK(f->o->item_get(f->s, "", ns, "prefs", 0, &again));
    assert_string_equal(S(json_object_get(again, "value"), "theme"), "light");
    assert_string_equal(S(again, "created_at"), S(out, "created_at"));
    assert_string_not_equal(S(again, "updated_at"), S(out, "updated_at"));
    json_decref(out);
    json_decref(again);

    /* scopes are separate partitions */
    RC(f->o->item_get(f->s, "bob", ns, "prefs", 0, &out), STORE_NOT_FOUND);
    assert_null(out);
    put_item(f, "bob", "[\"users\",\"u1\"]", "prefs", "{\"theme\":\"bob\"}", 0);
    OK(f->o->item_get(f->s, "bob", ns, "prefs", 0, &out));
    assert_string_equal(S(json_object_get(out, "value"), "theme"), "bob");
    json_decref(out);
    OK(f->o->item_get(f->s, NULL, ns, "prefs", 0, &out));
    assert_string_equal(S(json_object_get(out, "value"), "theme"), "light");
    json_decref(out);

    RC(f->o->item_delete(f->s, "alice", ns, "prefs"), STORE_NOT_FOUND);
    OK(f->o->item_delete(f->s, NULL, ns, "prefs"));
    RC(f->o->item_get(f->s, NULL, ns, "prefs", 0, &out), STORE_NOT_FOUND);
    RC(f->o->item_delete(f->s, NULL, ns, "prefs"), STORE_NOT_FOUND);
    OK(f->o->item_get(f->s, "bob", ns, "prefs", 0, &out));
    json_decref(out);

    v = J("{}");
    bad = J("[]");
    RC(f->o->item_put(f->s, NULL, bad, "k", v, 0, NULL), STORE_INVALID);
    json_decref(bad);
    bad = J("[\"a\",\"\"]");
    RC(f->o->item_put(f->s, NULL, bad, "k", v, 0, NULL), STORE_INVALID);
    json_decref(bad);
    bad = J("[\"a\",1]");
    RC(f->o->item_put(f->s, NULL, bad, "k", v, 0, NULL), STORE_INVALID);
    json_decref(bad);
    bad = J("[1]");
    RC(f->o->item_put(f->s, NULL, ns, "k", bad, 0, NULL), STORE_INVALID);
    RC(f->o->item_put(f->s, NULL, ns, "", v, 0, NULL), STORE_INVALID);
    json_decref(bad);
    json_decref(v);
    json_decref(ns);
}

static void test_items_search(void **state)
{
    fx_t *f = *state;
    store_item_query_t q = {0};
    json_t *list = NULL, *pre, *flt;
    int64_t total = -1;

    put_item(f, NULL, "[\"docs\",\"a\"]", "k1",
             "{\"n\":1,\"s\":\"apple\",\"tag\":\"x\",\"d\":{\"e\":1}}", 0);
    usleep(1000);
    put_item(f, NULL, "[\"docs\",\"a\"]", "k2", "{\"n\":5,\"s\":\"banana\",\"tag\":\"y\"}", 0);
    usleep(1000);
    put_item(f, NULL, "[\"docs\",\"b\"]", "k3", "{\"n\":10,\"s\":\"cherry\",\"tag\":\"x\"}", 0);
    usleep(1000);
    put_item(f, NULL, "[\"other\"]", "k4", "{\"n\":7}", 0);
    put_item(f, "bob", "[\"docs\",\"a\"]", "k9", "{\"n\":3}", 0);

    OK(f->o->item_search(f->s, NULL, &q, &list, &total));
    assert_int_equal(total, 4);
    assert_ids(list, "key", (const char *[]){"k4", "k3", "k2", "k1", NULL});
    json_decref(list);

    pre = J("[\"docs\"]");
    q.namespace_prefix = pre;
    OK(f->o->item_search(f->s, NULL, &q, &list, &total));
    assert_ids(list, "key", (const char *[]){"k3", "k2", "k1", NULL});
    json_decref(list);
    q.limit = 1;
    q.offset = 1;
    OK(f->o->item_search(f->s, NULL, &q, &list, &total));
    assert_int_equal(total, 3);
    assert_ids(list, "key", (const char *[]){"k2", NULL});
    json_decref(list);
    q.limit = 0;
    q.offset = 0;
    json_decref(pre);
    pre = J("[\"docs\",\"a\"]");
    q.namespace_prefix = pre;
    OK(f->o->item_search(f->s, NULL, &q, &list, &total));
    assert_ids(list, "key", (const char *[]){"k2", "k1", NULL});
    json_decref(list);
    json_decref(pre);
    pre = J("[\"doc\"]"); /* labels match whole, not by string prefix */
    q.namespace_prefix = pre;
    OK(f->o->item_search(f->s, NULL, &q, &list, &total));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    json_decref(pre);
    pre = J("[\"docs\"]");
    q.namespace_prefix = pre;

#define FILTER(text, ...)                                                                          \
    do {                                                                                           \
        flt = J(text);                                                                             \
        q.filter = flt;                                                                            \
        OK(f->o->item_search(f->s, NULL, &q, &list, &total));                                      \
        assert_ids(list, "key", (const char *[]){__VA_ARGS__, NULL});                              \
        json_decref(list);                                                                         \
        json_decref(flt);                                                                          \
    } while (0)

    FILTER("{\"tag\":\"x\"}", "k3", "k1");
    FILTER("{\"tag\":{\"$eq\":\"y\"}}", "k2");
    FILTER("{\"tag\":{\"$ne\":\"x\"}}", "k2");
    FILTER("{\"n\":{\"$gt\":1}}", "k3", "k2");
    FILTER("{\"n\":{\"$gte\":5}}", "k3", "k2");
    FILTER("{\"n\":{\"$lt\":5}}", "k1");
    FILTER("{\"n\":{\"$lte\":5.0}}", "k2", "k1");
    FILTER("{\"n\":{\"$gt\":1,\"$lt\":10}}", "k2");
    FILTER("{\"s\":{\"$gte\":\"banana\"}}", "k3", "k2");
    FILTER("{\"tag\":\"x\",\"n\":{\"$gt\":2}}", "k3");
    FILTER("{\"d.e\":1}", "k1");
    FILTER("{\"missing\":{\"$ne\":1}}", "k3", "k2", "k1");
    flt = J("{\"n\":{\"$regex\":\"x\"}}");
    q.filter = flt;
    RC(f->o->item_search(f->s, NULL, &q, &list, &total), STORE_INVALID);
    json_decref(flt);
    flt = J("{\"n\":{\"$gt\":1}}");
    q.filter = flt;
    OK(f->o->item_search(f->s, "bob", &q, &list, &total));
    assert_ids(list, "key", (const char *[]){"k9", NULL});
    json_decref(list);
    json_decref(flt);
    json_decref(pre);
#undef FILTER
}

static void test_items_namespaces(void **state)
{
    fx_t *f = *state;
    store_ns_query_t q = {0};
    json_t *list = NULL, *p, *want;

    put_item(f, NULL, "[\"a\",\"b\",\"c\"]", "k", "{}", 0);
    put_item(f, NULL, "[\"a\",\"b\",\"d\"]", "k", "{}", 0);
    put_item(f, NULL, "[\"a\",\"b\",\"d\"]", "k2", "{}", 0);
    put_item(f, NULL, "[\"a\",\"x\"]", "k", "{}", 0);
    put_item(f, NULL, "[\"z\",\"d\"]", "k", "{}", 0);
    put_item(f, "bob", "[\"bob\"]", "k", "{}", 0);

    OK(f->o->item_namespaces(f->s, NULL, &q, &list));
    want = J("[[\"a\",\"b\",\"c\"],[\"a\",\"b\",\"d\"],[\"a\",\"x\"],[\"z\",\"d\"]]");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);

    p = J("[\"a\"]");
    q.prefix = p;
    q.max_depth = 2;
    OK(f->o->item_namespaces(f->s, NULL, &q, &list));
    want = J("[[\"a\",\"b\"],[\"a\",\"x\"]]");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);
    json_decref(p);

    memset(&q, 0, sizeof(q));
    p = J("[\"d\"]");
    q.suffix = p;
    OK(f->o->item_namespaces(f->s, NULL, &q, &list));
    want = J("[[\"a\",\"b\",\"d\"],[\"z\",\"d\"]]");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);
    json_decref(p);

    memset(&q, 0, sizeof(q));
    p = J("[\"*\",\"b\"]");
    q.prefix = p;
    q.limit = 1;
    q.offset = 1;
    OK(f->o->item_namespaces(f->s, NULL, &q, &list));
    want = J("[[\"a\",\"b\",\"d\"]]");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);
    json_decref(p);

    memset(&q, 0, sizeof(q));
    OK(f->o->item_namespaces(f->s, "bob", &q, &list));
    want = J("[[\"bob\"]]");
    assert_true(json_equal(list, want));
    json_decref(want);
    json_decref(list);
}

static void test_items_ttl(void **state)
{
    fx_t *f = *state;
    json_t *ns = J("[\"ttl\"]"), *out = NULL, *list = NULL;
    store_item_query_t q = {0};
    int64_t n = -1;

    put_item(f, NULL, "[\"ttl\"]", "short", "{}", 0.01); /* 600 ms */
    put_item(f, NULL, "[\"ttl\"]", "refreshed", "{}", 0.01);
    put_item(f, NULL, "[\"ttl\"]", "hour", "{}", 60);
    put_item(f, NULL, "[\"ttl\"]", "forever", "{}", 0);
    OK(f->o->item_get(f->s, NULL, ns, "short", 0, &out));
    json_decref(out);
    usleep(400000);
    OK(f->o->item_get(f->s, NULL, ns, "refreshed", 1, &out)); /* now lives until ~1000 ms */
    json_decref(out);
    usleep(400000); /* ~800 ms */
    RC(f->o->item_get(f->s, NULL, ns, "short", 0, &out), STORE_NOT_FOUND);
    OK(f->o->item_get(f->s, NULL, ns, "refreshed", 0, &out));
    json_decref(out);
    OK(f->o->item_search(f->s, NULL, &q, &list, &n));
    assert_int_equal(n, 3);
    json_decref(list);

    /* search with refresh_ttl refreshes what it returns */
    q.refresh_ttl = 1;
    OK(f->o->item_search(f->s, NULL, &q, &list, &n));
    json_decref(list);
    usleep(400000); /* ~1200 ms: alive only thanks to the search refresh at ~800 ms */
    OK(f->o->item_get(f->s, NULL, ns, "refreshed", 0, &out));
    json_decref(out);

    OK(f->o->sweep(f->s, time_now_us(), &n));
    assert_int_equal(n, 1); /* "short" */
    OK(f->o->sweep(f->s, time_now_us() + 2 * 3600000000LL, &n));
    assert_int_equal(n, 2); /* "refreshed" and "hour" */
    RC(f->o->item_get(f->s, NULL, ns, "hour", 0, &out), STORE_NOT_FOUND);
    OK(f->o->item_get(f->s, NULL, ns, "forever", 0, &out));
    json_decref(out);
    json_decref(ns);
}

/* ---- crons ---- */

static void test_crons(void **state)
{
    fx_t *f = *state;
    char t[UUID_STR_SIZE], c1[UUID_STR_SIZE], c2[UUID_STR_SIZE], c3[UUID_STR_SIZE];
    json_t *in, *out = NULL, *list = NULL, *p, *m;
    store_cron_query_t q = {0};
    int64_t n = -1, total = -1;
    static const char *keys[] = {"cron_id",  "assistant_id",  "thread_id",  "end_time",
                                 "schedule", "created_at",    "updated_at", "user_id",
                                 "payload",  "next_run_date", "metadata",   "enabled"};
    size_t i;

    mk_thread(f, "{}", t);
    in = J("{\"assistant_id\":\"asst-1\",\"schedule\":\"*/5 * * * *\","
           "\"next_run_date\":\"2030-01-01T00:05:00+00:00\",\"payload\":{\"input\":{}},"
           "\"metadata\":{\"env\":\"prod\"}}");
    OK(f->o->cron_create(f->s, in, &out));
    json_decref(in);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(json_object_get(out, keys[i]));
    assert_true(json_is_true(json_object_get(out, "enabled")));
    assert_true(json_is_null(json_object_get(out, "thread_id")));
    assert_true(json_is_null(json_object_get(out, "end_time")));
    snprintf(c1, sizeof(c1), "%s", S(out, "cron_id"));
    json_decref(out);
    in =
        json_pack("{sssssssss{ss}}", "assistant_id", "asst-2", "schedule", "0 * * * *", "thread_id",
                  t, "next_run_date", "2030-01-01T00:01:00+01:00", "metadata", "owner", "alice");
    OK(f->o->cron_create(f->s, in, &out));
    json_decref(in);
    snprintf(c2, sizeof(c2), "%s", S(out, "cron_id"));
    json_decref(out);
    in = J("{\"assistant_id\":\"asst-1\",\"schedule\":\"@daily\",\"enabled\":false,"
           "\"next_run_date\":\"2029-01-01T00:00:00Z\"}");
    OK(f->o->cron_create(f->s, in, &out));
    json_decref(in);
    snprintf(c3, sizeof(c3), "%s", S(out, "cron_id"));
    json_decref(out);

    in = json_pack("{ssss}", "cron_id", c1, "schedule", "x");
    RC(f->o->cron_create(f->s, in, &out), STORE_CONFLICT);
    json_decref(in);
    in = J("{\"assistant_id\":\"a\"}");
    RC(f->o->cron_create(f->s, in, &out), STORE_INVALID);
    json_decref(in);
    in = J("{\"schedule\":\"x\",\"end_time\":\"tomorrow\"}");
    RC(f->o->cron_create(f->s, in, &out), STORE_INVALID);
    json_decref(in);

    OK(f->o->cron_search(f->s, NULL, NULL, &list, &total));
    assert_int_equal(total, 3);
    assert_ids(list, "cron_id", (const char *[]){c3, c2, c1, NULL});
    json_decref(list);
    q.assistant_id = "asst-1";
    q.enabled = -1;
    OK(f->o->cron_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 2);
    q.enabled = 1;
    OK(f->o->cron_count(f->s, &q, NULL, &n));
    assert_int_equal(n, 1);
    memset(&q, 0, sizeof(q));
    q.enabled = -1;
    q.thread_id = t;
    OK(f->o->cron_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "cron_id", (const char *[]){c2, NULL});
    json_decref(list);
    memset(&q, 0, sizeof(q));
    q.enabled = -1;
    q.sort_by = "next_run_date";
    q.sort_order = "asc";
    OK(f->o->cron_search(f->s, &q, NULL, &list, &total));
    /* 2029-01-01Z < 2029-12-31T23:01Z (= 2030-01-01T00:01+01:00) < 2030-01-01T00:05Z */
    assert_ids(list, "cron_id", (const char *[]){c3, c2, c1, NULL});
    json_decref(list);
    m = J("{\"env\":\"prod\"}");
    q.metadata = m;
    OK(f->o->cron_search(f->s, &q, NULL, &list, &total));
    assert_ids(list, "cron_id", (const char *[]){c1, NULL});
    json_decref(list);
    json_decref(m);

    OK(f->o->cron_due(f->s, time_now_us(), 0, &list));
    assert_int_equal(json_array_size(list), 0);
    json_decref(list);
    {
        int64_t at;
        assert_int_equal(time_parse_rfc3339("2030-06-01T00:00:00Z", &at, NULL), 0);
        OK(f->o->cron_due(f->s, at, 0, &list));
        assert_ids(list, "cron_id", (const char *[]){c2, c1, NULL}); /* c3 is disabled */
        json_decref(list);
        OK(f->o->cron_due(f->s, at, 1, &list));
        assert_ids(list, "cron_id", (const char *[]){c2, NULL});
        json_decref(list);
    }

    p = J("{\"enabled\":false,\"metadata\":{\"tier\":2},\"end_time\":\"2031-01-01T00:00:00Z\"}");
    OK(f->o->cron_patch(f->s, c1, p, NULL, &out));
    assert_false(json_is_true(json_object_get(out, "enabled")));
    assert_string_equal(S(json_object_get(out, "metadata"), "env"), "prod");
    assert_int_equal(I(json_object_get(out, "metadata"), "tier"), 2);
    assert_string_equal(S(out, "end_time"), "2031-01-01T00:00:00Z");
    assert_string_equal(S(out, "schedule"), "*/5 * * * *");
    json_decref(out);
    json_decref(p);
    p = J("{\"enabled\":\"yes\"}");
    RC(f->o->cron_patch(f->s, c1, p, NULL, &out), STORE_INVALID);
    json_decref(p);

    /* owner */
    RC(f->o->cron_get(f->s, c2, "bob", &out), STORE_NOT_FOUND);
    p = J("{\"enabled\":false}");
    RC(f->o->cron_patch(f->s, c2, p, "bob", &out), STORE_NOT_FOUND);
    json_decref(p);
    RC(f->o->cron_delete(f->s, c2, "bob"), STORE_NOT_FOUND);
    OK(f->o->cron_search(f->s, NULL, "bob", &list, &total));
    assert_int_equal(total, 0);
    json_decref(list);
    OK(f->o->cron_count(f->s, NULL, "alice", &n));
    assert_int_equal(n, 1);
    OK(f->o->cron_get(f->s, c2, "alice", &out));
    json_decref(out);

    OK(f->o->cron_delete(f->s, c1, NULL));
    RC(f->o->cron_get(f->s, c1, NULL, &out), STORE_NOT_FOUND);
    RC(f->o->cron_delete(f->s, c1, NULL), STORE_NOT_FOUND);
    OK(f->o->cron_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, 2);
}

/* ---- maintenance ---- */

static void test_compact_keeps_everything(void **state)
{
    fx_t *f = *state;
    char a[UUID_STR_SIZE], t[UUID_STR_SIZE], r[UUID_STR_SIZE];
    json_t *p = J("{\"name\":\"v2\"}"), *out = NULL, *ns = J("[\"n\"]");
    int64_t n = -1;

    mk_assistant(f, "{\"graph_id\":\"agent\"}", a);
    OK(f->o->assistant_patch(f->s, a, p, NULL, NULL));
    OK(f->o->assistant_set_latest(f->s, a, 1, NULL, NULL));
    mk_thread(f, "{\"ttl\":{\"ttl\":5}}", t);
    mk_run(f, t, NULL, 0, r);
    mk_ckpt(f, t, "c1", NULL, r, "", NULL);
    put_item(f, "scope", "[\"n\"]", "k", "{\"v\":1}", 30);
    OK(f->o->compact(f->s));
    OK(f->o->assistant_get(f->s, a, NULL, &out));
    assert_int_equal(I(out, "version"), 1);
    json_decref(out);
    OK(f->o->assistant_versions(f->s, a, NULL, 0, 0, NULL, &out, &n));
    assert_int_equal(n, 2);
    json_decref(out);
    OK(f->o->thread_get(f->s, t, NULL, &out));
    assert_non_null(json_object_get(out, "ttl"));
    json_decref(out);
    OK(f->o->run_get(f->s, t, r, NULL, &out));
    json_decref(out);
    OK(f->o->checkpoint_get(f->s, t, NULL, "c1", &out));
    json_decref(out);
    OK(f->o->item_get(f->s, "scope", ns, "k", 0, &out));
    json_decref(out);
    OK(f->o->run_claim(f->s, time_now_us(), &out)); /* the queue survived too */
    assert_string_equal(S(out, "run_id"), r);
    json_decref(out);
    json_decref(p);
    json_decref(ns);
}

/* ---- concurrency: writers, readers and compactions at once ---- */

#define CONC_THREADS 8
#define CONC_EACH 100

typedef struct conc_arg {
    fx_t *f;
    int idx;
    int failures;
} conc_arg_t;

static void *conc_worker(void *p)
{
    conc_arg_t *a = p;
    char key[32];
    int i;

    for (i = 0; i < CONC_EACH; i++) {
        json_t *in = json_pack("{s{si}}", "metadata", "w", a->idx), *out = NULL, *ns, *v;
        a->failures +=
            a->f->o->thread_create(a->f->s, in, STORE_IF_EXISTS_RAISE, NULL, &out) != STORE_OK;
        if (out != NULL) {
            json_t *ck = json_pack("{ss}", "thread_id",
                                   json_string_value(json_object_get(out, "thread_id")));
            a->failures += a->f->o->checkpoint_put(a->f->s, ck, NULL) != STORE_OK;
            json_decref(ck);
        }
        snprintf(key, sizeof(key), "k%d", i);
        ns = json_pack("[si]", "w", a->idx);
        json_array_set_new(ns, 1, json_sprintf("%d", a->idx));
        v = json_pack("{si}", "i", i);
        a->failures += a->f->o->item_put(a->f->s, NULL, ns, key, v, 0, NULL) != STORE_OK;
        json_decref(ns);
        json_decref(v);
        json_decref(in);
        json_decref(out);
    }
    return NULL;
}

typedef struct reader_arg {
    fx_t *f;
    int stop; /* read and written with __atomic builtins */
    int failures, rounds;
} reader_arg_t;

/* Searches and reads while the writers write: results must always be well-formed. */
static void *conc_reader(void *p)
{
    reader_arg_t *a = p;
    store_thread_query_t tq = {0};
    store_item_query_t iq = {0};
    json_t *list, *t, *one;
    size_t i;

    tq.limit = 50;
    iq.limit = 50;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        list = NULL;
        a->failures += a->f->o->thread_search(a->f->s, &tq, NULL, &list, NULL) != STORE_OK;
        json_array_foreach(list, i, t) {
            one = NULL;
            a->failures +=
                a->f->o->thread_get(a->f->s, json_string_value(json_object_get(t, "thread_id")),
                                    NULL, &one) != STORE_OK;
            a->failures += !json_is_string(json_object_get(one, "created_at"));
            json_decref(one);
        }
        json_decref(list);
        list = NULL;
        a->failures += a->f->o->item_search(a->f->s, NULL, &iq, &list, NULL) != STORE_OK;
        json_decref(list);
        a->rounds++;
        usleep(500); /* leave the writers CPU on small machines */
    }
    return NULL;
}

/* Compacts now and then while the others work (a no-op for backends without compaction). */
static void *conc_compactor(void *p)
{
    reader_arg_t *a = p;

    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        a->failures += a->f->o->compact(a->f->s) != STORE_OK;
        a->rounds++;
        usleep(20000);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    fx_t *f = *state;
    pthread_t th[CONC_THREADS], rd[3];
    conc_arg_t args[CONC_THREADS];
    reader_arg_t readers[3] = {{f, 0, 0, 0}, {f, 0, 0, 0}, {f, 0, 0, 0}};
    store_item_query_t q = {0};
    store_thread_query_t tq = {0};
    json_t *list = NULL, *m;
    int64_t n = -1;
    int i;

    for (i = 0; i < 3; i++)
        pthread_create(&rd[i], NULL, i < 2 ? conc_reader : conc_compactor, &readers[i]);
    for (i = 0; i < CONC_THREADS; i++) {
        args[i] = (conc_arg_t){f, i, 0};
        pthread_create(&th[i], NULL, conc_worker, &args[i]);
    }
    for (i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    for (i = 0; i < 3; i++) {
        __atomic_store_n(&readers[i].stop, 1, __ATOMIC_RELEASE);
        pthread_join(rd[i], NULL);
        assert_int_equal(readers[i].failures, 0);
        assert_true(readers[i].rounds > 0);
    }
    OK(f->o->thread_count(f->s, NULL, NULL, &n));
    assert_int_equal(n, CONC_THREADS * CONC_EACH);
    m = J("{\"w\":3}");
    tq.metadata = m;
    OK(f->o->thread_count(f->s, &tq, NULL, &n));
    assert_int_equal(n, CONC_EACH);
    json_decref(m);
    OK(f->o->item_search(f->s, NULL, &q, &list, &n));
    assert_int_equal(n, CONC_THREADS * CONC_EACH);
    json_decref(list);
}

int store_contract_run(const char *name, const store_contract_env_t *env)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_assistant_create_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_if_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_system, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_create_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_delete_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_claim_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shared_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assistant_shared_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkpoint_delete_copy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_search, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_items_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_keeps_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
    };

    contract_env = env;
    return _cmocka_run_group_tests(name, tests, sizeof(tests) / sizeof(tests[0]), NULL, NULL);
}
