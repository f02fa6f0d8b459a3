/*
 * tests/conformance/test_threads.c — black-box checks of the Threads operations against the
 * real binary: create (if_exists, ttl, supersteps errors), get (include=ttl in both SDK
 * encodings), patch, delete, search (containment, ids, status, sort, select, pagination
 * headers), count, copy, prune, storage, the state views of a thread without checkpoints, the
 * PATCH state error cases, TTL expiry through the sweeper, and that rejected requests change
 * nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MISSING "00000000-0000-4000-8000-000000000000"

static harness_server_t srv;

static int group_setup(void **state)
{
    static const char *const args[] = {"--sweep-interval", "1", NULL};
    (void)state;
    return harness_start(&srv, args, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    return 0;
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const char *method, const char *path, const char *body, long status)
{
    return harness_expect(&srv, method, path, body, status);
}

/* Asserts a request is answered `status` with exactly `detail`. */
static void expect_error(const char *method, const char *path, const char *body, long status, const char *detail)
{
    harness_resp_t r = req(method, path, body, status);
    assert_non_null(r.json);
    if (detail != NULL)
        assert_string_equal(harness_detail(&r), detail);
    else
        assert_true(strlen(harness_detail(&r)) > 0);
    harness_resp_free(&r);
}

/* Creates a thread from `body`; copies its id into `id` (37 bytes). */
static void create(const char *body, char *id)
{
    harness_resp_t r = req("POST", "/threads", body, 200);
    const char *tid = json_string_value(json_object_get(r.json, "thread_id"));
    assert_non_null(tid);
    assert_int_equal(strlen(tid), 36);
    memcpy(id, tid, 37);
    harness_resp_free(&r);
}

/* Formats a path into a static buffer. */
static const char *path(const char *fmt, ...)
{
    static char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return buf;
}

/* The answer to POST /threads/count with `body` (a bare JSON integer). */
static json_int_t count(const char *body)
{
    harness_resp_t r = req("POST", "/threads/count", body, 200);
    json_t *v = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
    json_int_t n;
    assert_true(json_is_integer(v));
    n = json_integer_value(v);
    json_decref(v);
    harness_resp_free(&r);
    return n;
}

static void test_create_and_get(void **state)
{
    char id[37], ct[128];
    (void)state;
    harness_resp_t r = req("POST", "/threads", "{\"metadata\": {\"suite\": \"create\", \"n\": 1}}", 200);
    assert_non_null(harness_header(&r, "content-type", ct, sizeof(ct)));
    assert_non_null(strstr(ct, "application/json"));
    memcpy(id, json_string_value(json_object_get(r.json, "thread_id")), 37);
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "idle");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "n")), 1);
    assert_true(json_is_object(json_object_get(r.json, "config")));
    assert_true(json_is_string(json_object_get(r.json, "created_at")));
    assert_true(json_is_string(json_object_get(r.json, "updated_at")));
    assert_null(json_object_get(r.json, "ttl"));
    harness_resp_free(&r);

    r = req("GET", path("/threads/%s", id), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "thread_id")), id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "suite")), "create");
    harness_resp_free(&r);

    expect_error("GET", "/threads/" MISSING, NULL, 404, "Thread " MISSING " not found");
    expect_error("GET", "/threads/not-a-uuid", NULL, 422, NULL);
}

static void test_create_with_id_and_if_exists(void **state)
{
    static const char tid[] = "6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01";
    char created_at[64];
    (void)state;
    harness_resp_t r = req("POST", "/threads", "{\"thread_id\": \"6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01\", \"metadata\": {\"v\": 1}}", 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "thread_id")), tid);
    snprintf(created_at, sizeof(created_at), "%s", json_string_value(json_object_get(r.json, "created_at")));
    harness_resp_free(&r);

    expect_error("POST", "/threads", "{\"thread_id\": \"6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01\", \"metadata\": {\"v\": 2}}", 409,
                 "Thread 6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01 already exists");
    expect_error("POST", "/threads",
                 "{\"thread_id\": \"6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01\", \"if_exists\": \"raise\", \"metadata\": {\"v\": 2}}",
                 409, NULL);

    /* do_nothing answers the existing thread, unchanged */
    r = req("POST", "/threads",
            "{\"thread_id\": \"6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d01\", \"if_exists\": \"do_nothing\", \"metadata\": {\"v\": 3}}",
            200);
    assert_string_equal(json_string_value(json_object_get(r.json, "thread_id")), tid);
    assert_string_equal(json_string_value(json_object_get(r.json, "created_at")), created_at);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "v")), 1);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s", tid), NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "v")), 1);
    harness_resp_free(&r);
}

static void test_create_rejected_changes_nothing(void **state)
{
    json_int_t before;
    (void)state;
    before = count("{}");
    expect_error("POST", "/threads", "{\"supersteps\": [{\"updates\": [{\"values\": {}, \"as_node\": \"agent\"}]}]}", 400,
                 "supersteps: the thread has no graph ID; set metadata.graph_id");
    expect_error("POST", "/threads",
                 "{\"metadata\": {\"graph_id\": \"agent\"}, \"supersteps\": [{\"updates\": [{\"values\": "
                 "{\"messages\": []}, \"as_node\": \"agent\"}, {\"values\": {\"bogus\": 1}, \"as_node\": \"tools\"}]}]}",
                 422, "supersteps[0].updates[1].values: 'bogus' is not a state channel of graph agent");
    expect_error("POST", "/threads", "{\"metadata\": {\"graph_id\": \"agent\"}, \"supersteps\": [{\"updates\": [{}]}]}",
                 422, NULL);
    expect_error("POST", "/threads", "{\"metadata\": \"nope\"}", 422, NULL);
    expect_error("POST", "/threads", "{\"thread_id\": \"abc\"}", 422, NULL);
    expect_error("POST", "/threads", "{\"if_exists\": \"sometimes\"}", 422, NULL);
    expect_error("POST", "/threads", "{\"ttl\": {\"ttl\": -1}}", 422, NULL);
    expect_error("POST", "/threads", "{\"ttl\": {\"ttl\": 5, \"strategy\": \"forever\"}}", 422, NULL);
    expect_error("POST", "/threads", "{not json", 422, NULL);
    assert_int_equal(count("{}"), before);
}

static void test_include_ttl(void **state)
{
    char id[37];
    harness_resp_t r;
    (void)state;
    create("{\"ttl\": {\"strategy\": \"delete\", \"ttl\": 60}}", id);

    r = req("GET", path("/threads/%s", id), NULL, 200);
    assert_null(json_object_get(r.json, "ttl"));
    harness_resp_free(&r);

    /* Python SDK encoding: a plain (comma) list */
    r = req("GET", path("/threads/%s?include=ttl", id), NULL, 200);
    json_t *ttl = json_object_get(r.json, "ttl");
    assert_true(json_is_object(ttl));
    assert_string_equal(json_string_value(json_object_get(ttl, "strategy")), "delete");
    assert_true(json_number_value(json_object_get(ttl, "ttl_minutes")) == 60.0);
    assert_true(json_is_string(json_object_get(ttl, "expires_at")));
    harness_resp_free(&r);

    /* JS SDK encoding: a JSON array */
    r = req("GET", path("/threads/%s?include=%%5B%%22ttl%%22%%5D", id), NULL, 200);
    assert_true(json_is_object(json_object_get(r.json, "ttl")));
    harness_resp_free(&r);

    /* a longer comma list, and the key repeated */
    r = req("GET", path("/threads/%s?include=values,ttl", id), NULL, 200);
    assert_true(json_is_object(json_object_get(r.json, "ttl")));
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s?include=values&include=ttl", id), NULL, 200);
    assert_true(json_is_object(json_object_get(r.json, "ttl")));
    harness_resp_free(&r);

    r = req("GET", path("/threads/%s?include=values", id), NULL, 200);
    assert_null(json_object_get(r.json, "ttl"));
    harness_resp_free(&r);
}

static void test_patch(void **state)
{
    char id[37], updated[64];
    harness_resp_t r;
    (void)state;
    create("{\"metadata\": {\"a\": 1, \"b\": 1}}", id);
    r = req("GET", path("/threads/%s", id), NULL, 200);
    snprintf(updated, sizeof(updated), "%s", json_string_value(json_object_get(r.json, "updated_at")));
    harness_resp_free(&r);
    usleep(2000);

    r = req("PATCH", path("/threads/%s", id), "{\"metadata\": {\"b\": 2, \"c\": 3}}", 200);
    json_t *m = json_object_get(r.json, "metadata");
    assert_int_equal(json_integer_value(json_object_get(m, "a")), 1);
    assert_int_equal(json_integer_value(json_object_get(m, "b")), 2);
    assert_int_equal(json_integer_value(json_object_get(m, "c")), 3);
    assert_string_not_equal(json_string_value(json_object_get(r.json, "updated_at")), updated);
    assert_null(json_object_get(r.json, "ttl"));
    harness_resp_free(&r);

    r = req("PATCH", path("/threads/%s", id), "{\"ttl\": {\"ttl\": 30, \"strategy\": \"keep_latest\"}}", 200);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s?include=ttl", id), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "ttl"), "strategy")), "keep_latest");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "c")), 3);
    harness_resp_free(&r);

    /* rejected patches change nothing */
    expect_error("PATCH", path("/threads/%s", id), "{\"metadata\": \"x\"}", 422, NULL);
    expect_error("PATCH", path("/threads/%s", id), "{\"metadata\": {\"a\": 9}, \"ttl\": {\"ttl\": 0}}", 422, NULL);
    r = req("GET", path("/threads/%s", id), NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r.json, "metadata"), "a")), 1);
    harness_resp_free(&r);

    expect_error("PATCH", "/threads/" MISSING, "{\"metadata\": {}}", 404, "Thread " MISSING " not found");
}

static void test_delete(void **state)
{
    char id[37];
    harness_resp_t r;
    (void)state;
    create("{}", id);
    r = req("DELETE", path("/threads/%s", id), NULL, 204);
    assert_int_equal(r.body_len, 0);
    harness_resp_free(&r);
    expect_error("GET", path("/threads/%s", id), NULL, 404, NULL);
    expect_error("DELETE", path("/threads/%s", id), NULL, 404, NULL);
    expect_error("DELETE", "/threads/" MISSING, NULL, 404, "Thread " MISSING " not found");
}

/* The thread ids of a search answer, in order, comma-joined into buf. */
static const char *ids_of(const json_t *list, char *buf, size_t cap)
{
    size_t i, off = 0;
    json_t *t;
    buf[0] = '\0';
    json_array_foreach(list, i, t)
    {
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "", json_string_value(json_object_get(t, "thread_id")));
        assert_true(off < cap);
    }
    return buf;
}

static void test_search(void **state)
{
    char ids[5][37], buf[512], want[512], hdr[64], body[512];
    harness_resp_t r;
    size_t i;
    (void)state;
    for (i = 0; i < 5; i++) {
        snprintf(body, sizeof(body), "{\"metadata\": {\"suite\": \"search\", \"i\": %zu, \"tags\": {\"even\": %s}}}", i,
                 i % 2 == 0 ? "true" : "false");
        create(body, ids[i]);
        usleep(1500);
    }

    /* containment, default order created_at desc */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"limit\": 10}", 200);
    assert_int_equal(json_array_size(r.json), 5);
    snprintf(want, sizeof(want), "%s,%s,%s,%s,%s", ids[4], ids[3], ids[2], ids[1], ids[0]);
    assert_string_equal(ids_of(r.json, buf, sizeof(buf)), want);
    assert_non_null(harness_header(&r, "x-pagination-total", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "5");
    assert_null(harness_header(&r, "x-pagination-next", hdr, sizeof(hdr)));
    assert_null(json_object_get(json_array_get(r.json, 0), "ttl"));
    harness_resp_free(&r);

    /* nested containment */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\", \"tags\": {\"even\": true}}}", 200);
    assert_int_equal(json_array_size(r.json), 3);
    harness_resp_free(&r);

    /* pagination: limit/offset with X-Pagination-Total and X-Pagination-Next */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"limit\": 2, \"offset\": 1, \"sort_order\": \"asc\"}",
            200);
    snprintf(want, sizeof(want), "%s,%s", ids[1], ids[2]);
    assert_string_equal(ids_of(r.json, buf, sizeof(buf)), want);
    assert_non_null(harness_header(&r, "x-pagination-total", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "5");
    assert_non_null(harness_header(&r, "x-pagination-next", hdr, sizeof(hdr)));
    assert_string_equal(hdr, "3");
    harness_resp_free(&r);
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"limit\": 2, \"offset\": 3}", 200);
    assert_int_equal(json_array_size(r.json), 2);
    assert_null(harness_header(&r, "x-pagination-next", hdr, sizeof(hdr)));
    harness_resp_free(&r);

    /* ids */
    snprintf(body, sizeof(body), "{\"ids\": [\"%s\", \"%s\", \"" MISSING "\"], \"sort_by\": \"created_at\", \"sort_order\": \"asc\"}",
             ids[3], ids[0]);
    r = req("POST", "/threads/search", body, 200);
    snprintf(want, sizeof(want), "%s,%s", ids[0], ids[3]);
    assert_string_equal(ids_of(r.json, buf, sizeof(buf)), want);
    harness_resp_free(&r);

    /* sort_by thread_id */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"sort_by\": \"thread_id\", \"sort_order\": \"asc\"}", 200);
    for (i = 1; i < json_array_size(r.json); i++)
        assert_true(strcmp(json_string_value(json_object_get(json_array_get(r.json, i - 1), "thread_id")),
                           json_string_value(json_object_get(json_array_get(r.json, i), "thread_id"))) < 0);
    harness_resp_free(&r);

    /* status */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"status\": \"idle\"}", 200);
    assert_int_equal(json_array_size(r.json), 5);
    harness_resp_free(&r);
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"status\": \"busy\"}", 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);

    /* values containment: these threads have no values yet */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"values\": {\"messages\": []}}", 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);

    /* select */
    r = req("POST", "/threads/search", "{\"metadata\": {\"suite\": \"search\"}, \"select\": [\"thread_id\", \"status\"]}", 200);
    assert_int_equal(json_array_size(r.json), 5);
    for (i = 0; i < 5; i++) {
        json_t *t = json_array_get(r.json, i);
        assert_int_equal(json_object_size(t), 2);
        assert_non_null(json_object_get(t, "thread_id"));
        assert_non_null(json_object_get(t, "status"));
    }
    harness_resp_free(&r);

    /* bad input: 422 */
    expect_error("POST", "/threads/search", "{\"status\": \"sleeping\"}", 422, "status: expected one of idle, busy, interrupted, error");
    expect_error("POST", "/threads/search", "{\"sort_by\": \"name\"}", 422, NULL);
    expect_error("POST", "/threads/search", "{\"sort_order\": \"up\"}", 422, NULL);
    expect_error("POST", "/threads/search", "{\"select\": [\"ttl\"]}", 422, NULL);
    expect_error("POST", "/threads/search", "{\"limit\": 0}", 422, NULL);
    expect_error("POST", "/threads/search", "{\"ids\": [\"nope\"]}", 422, NULL);
    expect_error("POST", "/threads/search", "{\"extract\": {\"last\": \"values.messages\"}}", 422,
                 "extract: not supported by lgserve yet");
}

static void test_count(void **state)
{
    char id[37];
    (void)state;
    create("{\"metadata\": {\"suite\": \"count\", \"k\": 1}}", id);
    create("{\"metadata\": {\"suite\": \"count\", \"k\": 2}}", id);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"count\"}}"), 2);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"count\", \"k\": 2}}"), 1);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"count\"}, \"status\": \"idle\"}"), 2);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"count\"}, \"status\": \"error\"}"), 0);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"count\"}, \"values\": {\"x\": 1}}"), 0);
    expect_error("POST", "/threads/count", "{\"status\": \"sleeping\"}", 422, NULL);
}

static void test_copy(void **state)
{
    char id[37], copy_id[37];
    harness_resp_t r;
    (void)state;
    create("{\"metadata\": {\"suite\": \"copy\", \"who\": \"source\"}, \"ttl\": {\"ttl\": 90}}", id);
    r = req("POST", path("/threads/%s/copy", id), NULL, 200);
    memcpy(copy_id, json_string_value(json_object_get(r.json, "thread_id")), 37);
    assert_string_not_equal(copy_id, id);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "who")), "source");
    assert_string_equal(json_string_value(json_object_get(r.json, "status")), "idle");
    assert_null(json_object_get(r.json, "ttl"));
    harness_resp_free(&r);

    r = req("GET", path("/threads/%s", copy_id), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "suite")), "copy");
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/history", copy_id), NULL, 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"copy\"}}"), 2);

    expect_error("POST", "/threads/" MISSING "/copy", NULL, 404, "Thread " MISSING " not found");
    assert_int_equal(count("{\"metadata\": {\"suite\": \"copy\"}}"), 2);
}

static void test_prune(void **state)
{
    char a[37], b[37], c[37], body[256];
    harness_resp_t r;
    (void)state;
    create("{\"metadata\": {\"suite\": \"prune\"}}", a);
    create("{\"metadata\": {\"suite\": \"prune\"}}", b);
    create("{\"metadata\": {\"suite\": \"prune\"}}", c);

    snprintf(body, sizeof(body), "{\"thread_ids\": [\"%s\", \"%s\", \"" MISSING "\"]}", a, b);
    r = req("POST", "/threads/prune", body, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pruned_count")), 2);
    harness_resp_free(&r);
    expect_error("GET", path("/threads/%s", a), NULL, 404, NULL);
    expect_error("GET", path("/threads/%s", b), NULL, 404, NULL);

    /* keep_latest trims checkpoints and keeps the thread */
    snprintf(body, sizeof(body), "{\"thread_ids\": [\"%s\"], \"strategy\": \"keep_latest\"}", c);
    r = req("POST", "/threads/prune", body, 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pruned_count")), 1);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s", c), NULL, 200);
    harness_resp_free(&r);

    snprintf(body, sizeof(body), "{\"thread_ids\": [\"%s\"], \"strategy\": \"shred\"}", c);
    expect_error("POST", "/threads/prune", body, 422, NULL);
    expect_error("POST", "/threads/prune", "{}", 422, NULL);
    expect_error("POST", "/threads/prune", "{\"thread_ids\": [\"not-a-uuid\"]}", 422, NULL);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"prune\"}}"), 1);
}

static void test_storage(void **state)
{
    char id[37];
    json_t *want;
    harness_resp_t r;
    (void)state;
    create("{}", id);
    r = req("GET", path("/threads/%s/storage", id), NULL, 200);
    want = json_pack("{s:s, s:i, s:{s:i, s:i}, s:{s:i, s:i, s:{}}, s:{s:i, s:i}}", "thread_id", id, "total_bytes", 0,
                     "checkpoints", "count", 0, "bytes", 0, "channel_values", "count", 0, "bytes", 0, "by_channel",
                     "pending_writes", "count", 0, "bytes", 0);
    assert_true(json_equal(r.json, want));
    json_decref(want);
    harness_resp_free(&r);
    expect_error("GET", "/threads/" MISSING "/storage", NULL, 404, "Thread " MISSING " not found");
}

/* The state of a thread without checkpoints, as the official server answers it. */
static json_t *empty_state(const char *id, const char *checkpoint_id)
{
    return json_pack("{s:{}, s:[], s:[], s:{}, s:n, s:{s:s, s:s, s:o, s:n}, s:n, s:[]}", "values", "next", "tasks",
                     "metadata", "created_at", "checkpoint", "thread_id", id, "checkpoint_ns", "", "checkpoint_id",
                     checkpoint_id != NULL ? json_string(checkpoint_id) : json_null(), "checkpoint_map",
                     "parent_checkpoint", "interrupts");
}

static void assert_state(const harness_resp_t *r, const char *id, const char *checkpoint_id)
{
    json_t *want = empty_state(id, checkpoint_id);
    if (!json_equal(r->json, want))
        fprintf(stderr, "state: %s\n", r->body);
    assert_true(json_equal(r->json, want));
    json_decref(want);
}

static void test_state_without_runs(void **state)
{
    static const char cp[] = "6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d99";
    char id[37];
    harness_resp_t r;
    (void)state;
    create("{}", id);

    r = req("GET", path("/threads/%s/state", id), NULL, 200);
    assert_state(&r, id, NULL);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/state?subgraphs=true", id), NULL, 200);
    assert_state(&r, id, NULL);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/state/%s", id, cp), NULL, 200);
    assert_state(&r, id, cp);
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/state/checkpoint", id), "{\"checkpoint\": {\"checkpoint_ns\": \"\"}}", 200);
    assert_state(&r, id, NULL);
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/state/checkpoint", id),
            "{\"checkpoint\": {\"checkpoint_id\": \"6f1c3a1e-6b0e-4a8f-9d7e-0f6a3c2b1d99\"}, \"subgraphs\": false}", 200);
    assert_state(&r, id, cp);
    harness_resp_free(&r);

    expect_error("GET", "/threads/" MISSING "/state", NULL, 404, "Thread " MISSING " not found");
    expect_error("GET", path("/threads/" MISSING "/state/%s", cp), NULL, 404, "Thread " MISSING " not found");
    expect_error("POST", "/threads/" MISSING "/state/checkpoint", "{\"checkpoint\": {}}", 404, NULL);
    expect_error("GET", path("/threads/%s/state/not-a-uuid", id), NULL, 422, NULL);
    expect_error("POST", path("/threads/%s/state/checkpoint", id), "{}", 422, NULL);
}

static void test_history_without_runs(void **state)
{
    char id[37];
    harness_resp_t r;
    (void)state;
    create("{}", id);
    r = req("GET", path("/threads/%s/history", id), NULL, 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = req("GET", path("/threads/%s/history?limit=5", id), NULL, 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/history", id), "{\"limit\": 10, \"metadata\": {\"source\": \"loop\"}}", 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = req("POST", path("/threads/%s/history", id), "{}", 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);

    expect_error("GET", "/threads/" MISSING "/history", NULL, 404, "Thread " MISSING " not found");
    expect_error("POST", "/threads/" MISSING "/history", "{}", 404, "Thread " MISSING " not found");
    expect_error("GET", path("/threads/%s/history?limit=0", id), NULL, 422, NULL);
    expect_error("POST", path("/threads/%s/history", id), "{\"limit\": 0}", 422, NULL);
    expect_error("POST", path("/threads/%s/history", id), "{\"metadata\": 3}", 422, NULL);
}

static void test_state_writes(void **state)
{
    char id[37], detail[128];
    (void)state;
    create("{}", id);
    snprintf(detail, sizeof(detail), "Thread %s has no checkpoint to patch", id);
    expect_error("PATCH", path("/threads/%s/state", id), "{\"metadata\": {\"x\": 1}}", 404, detail);
    expect_error("PATCH", "/threads/" MISSING "/state", "{\"metadata\": {}}", 404, "Thread " MISSING " not found");
    expect_error("PATCH", path("/threads/%s/state", id), "{}", 422, NULL);
    /* a thread that never ran a graph has no reducers to write through */
    snprintf(detail, sizeof(detail), "Thread %s has no graph yet: run an assistant on it before updating its state", id);
    expect_error("POST", path("/threads/%s/state", id), "{\"values\": {}}", 400, detail);
    expect_error("GET", path("/threads/%s/stream?stream_mode=bogus", id), NULL, 422,
                 "stream_mode[0]: expected one of lifecycle, run_modes, state_update");
    expect_error("GET", path("/threads/%s/stream?stream_modes=lifecycle,bogus", id), NULL, 422,
                 "stream_modes[1]: expected one of lifecycle, run_modes, state_update");
    expect_error("GET", "/threads/" MISSING "/stream", NULL, 404, NULL);
}

static void test_ttl_sweeper(void **state)
{
    char doomed[37], kept[37];
    harness_resp_t r;
    struct timespec t0, t1;
    int gone = 0;
    (void)state;
    /* ttl is in minutes and may be fractional: 0.005 min = 0.3 s; the server sweeps every 1 s */
    create("{\"ttl\": {\"strategy\": \"delete\", \"ttl\": 0.005}, \"metadata\": {\"suite\": \"ttl\"}}", doomed);
    create("{\"ttl\": {\"ttl\": 60}, \"metadata\": {\"suite\": \"ttl\"}}", kept);
    r = req("GET", path("/threads/%s", doomed), NULL, 200);
    harness_resp_free(&r);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        assert_int_equal(harness_request(&srv, "GET", path("/threads/%s", doomed), NULL, NULL, 0, &r), 0);
        gone = r.status == 404;
        harness_resp_free(&r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (gone || t1.tv_sec - t0.tv_sec > 5)
            break;
        usleep(100000);
    }
    assert_true(gone);
    r = req("GET", path("/threads/%s", kept), NULL, 200);
    harness_resp_free(&r);
    assert_int_equal(count("{\"metadata\": {\"suite\": \"ttl\"}}"), 1);
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_get),
        cmocka_unit_test(test_create_with_id_and_if_exists),
        cmocka_unit_test(test_create_rejected_changes_nothing),
        cmocka_unit_test(test_include_ttl),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_delete),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_count),
        cmocka_unit_test(test_copy),
        cmocka_unit_test(test_prune),
        cmocka_unit_test(test_storage),
        cmocka_unit_test(test_state_without_runs),
        cmocka_unit_test(test_history_without_runs),
        cmocka_unit_test(test_state_writes),
        cmocka_unit_test(test_ttl_sweeper),
    };
    return cmocka_run_group_tests_name("conformance_threads", tests, group_setup, group_teardown);
}
