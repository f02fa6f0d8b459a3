/*
 * tests/conformance/test_durability.c — durability of the embedded store seen over HTTP: what
 * a response acknowledged survives `kill -9` (also with 64 creations in flight at once, which
 * the server acknowledges asynchronously as their group commit completes, and while log
 * compactions run under them); a log cut short in its last record (a crash mid-write) is
 * repaired at start with a warning; a damaged record with more than the last write piece (64
 * KiB) of data after it makes the server refuse to start, naming the file and the byte offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define N_ITEMS 200
#define N_THREADS 50
#define N_CLIENTS 64 /* concurrent clients of the in-flight test */
#define N_PER_CLIENT 8
#define REC_HDR 13 /* u32 len | u32 ~len | u32 crc | u8 type (runtime/store/wal.h) */
#define WAL_MAGIC_LEN 8

/* The server of the running test; the teardown stops it even when an assertion failed. */
static harness_server_t srv;

static int stop_server(void **state)
{
    (void)state;
    if (srv.data_dir[0] != '\0')
        harness_stop(&srv, 0);
    memset(&srv, 0, sizeof(srv));
    return 0;
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const harness_server_t *s, const char *method, const char *path, const char *body, long status)
{
    return harness_expect(s, method, path, body, status);
}

/* PUT item dur/<i%10>/k<i> = {"i": i}, acknowledged with 204. */
static void put_item(const harness_server_t *s, int i)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"namespace\":[\"dur\",\"n%d\"],\"key\":\"k%d\",\"value\":{\"i\":%d}}", i % 10, i, i);
    harness_resp_t r = req(s, "PUT", "/store/items", body, 204);
    harness_resp_free(&r);
}

/* 1 when item k<i> is there with value {"i": i}, 0 when the server answers null. */
static int has_item(const harness_server_t *s, int i)
{
    char path[256];
    json_t *body;
    int found;
    snprintf(path, sizeof(path), "/store/items?namespace=dur.n%d&key=k%d", i % 10, i);
    harness_resp_t r = req(s, "GET", path, NULL, 200);
    body = json_loadb(r.body, r.body_len, JSON_DECODE_ANY, NULL);
    assert_non_null(body);
    found = !json_is_null(body);
    if (found)
        assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "value"), "i")), i);
    json_decref(body);
    harness_resp_free(&r);
    return found;
}

/* Number of items under namespace prefix ["dur"]. */
static size_t count_items(const harness_server_t *s)
{
    harness_resp_t r = req(s, "POST", "/store/items/search", "{\"namespace_prefix\":[\"dur\"],\"limit\":100000}", 200);
    size_t n = json_array_size(json_object_get(r.json, "items"));
    harness_resp_free(&r);
    return n;
}

/* The path of the newest log file (highest wal-<gen>) of the data directory into buf. */
static void wal_path(const harness_server_t *s, char *buf, size_t cap)
{
    DIR *d = opendir(s->data_dir);
    struct dirent *e;
    long best = -1, gen;
    char *end;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "wal-", 4) != 0)
            continue;
        gen = strtol(e->d_name + 4, &end, 10);
        if (*end == '\0' && gen > best)
            best = gen;
    }
    closedir(d);
    assert_true(best >= 0);
    snprintf(buf, cap, "%s/wal-%ld", s->data_dir, best);
}

/* Reads file `path` into a malloc'd buffer (caller frees); *len receives its size. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *p;
    struct stat st;

    assert_non_null(f);
    assert_int_equal(fstat(fileno(f), &st), 0);
    p = malloc((size_t)st.st_size + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    *len = (size_t)st.st_size;
    return p;
}

/* Byte offset of the last record of log `path`; asserts the log holds at least `min` records.
 * *end receives the log's logical end: the zeros after the records are its reserve (wal.h). */
static size_t last_record_offset(const char *path, size_t min, size_t *end)
{
    size_t len, off = WAL_MAGIC_LEN, last = 0, n = 0;
    unsigned char *p = read_all(path, &len);

    while (len > 0 && p[len - 1] == 0)
        len--;
    *end = len;
    while (off + REC_HDR <= len) {
        uint32_t rlen = (uint32_t)p[off] | (uint32_t)p[off + 1] << 8 | (uint32_t)p[off + 2] << 16 | (uint32_t)p[off + 3] << 24;
        last = off;
        off += REC_HDR + rlen;
        ++n;
    }
    assert_int_equal(off, len);
    assert_true(n >= min);
    free(p);
    return last;
}

/* 1 when the server log of `s` contains `needle`. */
static int log_contains(const harness_server_t *s, const char *needle)
{
    size_t len;
    unsigned char *p = read_all(s->log_path, &len);
    int found;
    p[len] = '\0';
    found = strstr((char *)p, needle) != NULL;
    free(p);
    return found;
}

/*
 * Writes N_ITEMS store items and N_THREADS threads with fsync policy `policy`, kills the server
 * with SIGKILL right after the last acknowledgement, restarts it on the same data directory and
 * finds every one of them.
 */
static void kill9_keeps_everything(const char *policy)
{
    const char *const args[] = {"--workers", "2", "--fsync", policy, NULL};
    char thread_ids[N_THREADS][64], path[128];
    harness_server_t *s = &srv;
    int i;

    assert_int_equal(harness_start(s, args, NULL), 0);
    for (i = 0; i < N_ITEMS; i++)
        put_item(s, i);
    for (i = 0; i < N_THREADS; i++) {
        harness_resp_t t = req(s, "POST", "/threads", "{\"metadata\":{\"durability\":true}}", 200);
        snprintf(thread_ids[i], sizeof(thread_ids[0]), "%s", json_string_value(json_object_get(t.json, "thread_id")));
        harness_resp_free(&t);
    }
    harness_kill9(s);

    assert_int_equal(harness_restart(s, args, NULL), 0);
    assert_int_equal(count_items(s), N_ITEMS);
    for (i = 0; i < N_ITEMS; i++)
        assert_true(has_item(s, i));
    for (i = 0; i < N_THREADS; i++) {
        snprintf(path, sizeof(path), "/threads/%.63s", thread_ids[i]);
        harness_resp_t r = req(s, "GET", path, NULL, 200);
        harness_resp_free(&r);
    }
}

static void test_kill9_fsync_batch(void **state)
{
    (void)state;
    kill9_keeps_everything("batch");
}

static void test_kill9_fsync_always(void **state)
{
    (void)state;
    kill9_keeps_everything("always");
}

/* One client of the in-flight test: N_PER_CLIENT creations, in order; ids and failures kept. */
typedef struct client {
    pthread_t thread;
    char ids[N_PER_CLIENT][64];
    int failures;
} client_t;

static void *client_main(void *arg)
{
    client_t *c = arg;
    harness_resp_t r;
    const char *id;
    int i;

    for (i = 0; i < N_PER_CLIENT; i++) {
        c->ids[i][0] = '\0';
        if (harness_request(&srv, "POST", "/threads", NULL, "{\"metadata\":{\"inflight\":true}}", 30, &r) != 0) {
            c->failures++;
            continue;
        }
        id = json_string_value(json_object_get(r.json, "thread_id"));
        if (r.status != 200 || id == NULL)
            c->failures++;
        else
            snprintf(c->ids[i], sizeof(c->ids[i]), "%s", id);
        harness_resp_free(&r);
    }
    return NULL;
}

/* 1 when the data directory of `s` holds a snapshot (a compaction completed). */
static int has_snapshot(const harness_server_t *s)
{
    DIR *d = opendir(s->data_dir);
    struct dirent *e;
    int found = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        found |= strncmp(e->d_name, "snapshot-", 9) == 0 && strstr(e->d_name, ".tmp") == NULL;
    closedir(d);
    return found;
}

/*
 * N_CLIENTS clients create threads concurrently with fsync `policy` (and log compactions every
 * `compact_size` bytes when not NULL, so several run while they write); every creation
 * succeeds; SIGKILL right after the last answer; after a restart every acknowledged thread is
 * there.
 */
static void inflight_kill9_keeps_acknowledged(const char *policy, const char *compact_size)
{
    const char *const args[] = {"--workers", "2", "--fsync", policy, compact_size ? "--compact-size" : NULL, compact_size, NULL};
    static client_t clients[N_CLIENTS];
    char path[128];
    int i, j, failures = 0;

    memset(clients, 0, sizeof(clients));
    assert_int_equal(harness_start(&srv, args, NULL), 0);
    for (i = 0; i < N_CLIENTS; i++)
        assert_int_equal(pthread_create(&clients[i].thread, NULL, client_main, &clients[i]), 0);
    for (i = 0; i < N_CLIENTS; i++) {
        pthread_join(clients[i].thread, NULL);
        failures += clients[i].failures;
    }
    harness_kill9(&srv);
    assert_int_equal(failures, 0);
    if (compact_size != NULL)
        assert_true(has_snapshot(&srv));

    assert_int_equal(harness_restart(&srv, args, NULL), 0);
    for (i = 0; i < N_CLIENTS; i++) {
        for (j = 0; j < N_PER_CLIENT; j++) {
            snprintf(path, sizeof(path), "/threads/%.63s", clients[i].ids[j]);
            harness_resp_t r = req(&srv, "GET", path, NULL, 200);
            assert_string_equal(json_string_value(json_object_get(r.json, "thread_id")), clients[i].ids[j]);
            harness_resp_free(&r);
        }
    }
}

static void test_inflight_kill9_batch(void **state)
{
    (void)state;
    inflight_kill9_keeps_acknowledged("batch", NULL);
}

static void test_inflight_kill9_always(void **state)
{
    (void)state;
    inflight_kill9_keeps_acknowledged("always", NULL);
}

/* The same while compactions switch logs and write snapshots under the writers. */
static void test_inflight_kill9_compacting(void **state)
{
    (void)state;
    inflight_kill9_keeps_acknowledged("batch", "16K");
}

/* Cuts the last record of the log in two: the server starts, warns, and drops only that one. */
static void test_torn_tail(void **state)
{
    harness_server_t *s = &srv;
    char wal[400], needle[512];
    size_t last, end;
    int i;
    (void)state;

    assert_int_equal(harness_start(s, NULL, NULL), 0);
    for (i = 0; i < 10; i++)
        put_item(s, i);
    assert_int_equal(harness_stop(s, 1), 0);
    wal_path(s, wal, sizeof(wal));
    last = last_record_offset(wal, 10, &end);
    /* keep the header and half of the payload of the last record (item 9) */
    assert_int_equal(truncate(wal, (off_t)(last + REC_HDR + (end - last - REC_HDR) / 2)), 0);

    assert_int_equal(harness_restart(s, NULL, NULL), 0);
    snprintf(needle, sizeof(needle), "%s: dropping a torn record at byte offset %zu", wal, last);
    if (!log_contains(s, needle))
        fprintf(stderr, "server log %s lacks: %s\n", s->log_path, needle);
    assert_true(log_contains(s, "warning"));
    assert_true(log_contains(s, needle));
    for (i = 0; i < 9; i++)
        assert_true(has_item(s, i));
    assert_false(has_item(s, 9));
    assert_int_equal(count_items(s), 9);
    /* the repaired log takes new writes that survive another restart */
    put_item(s, 9);
    harness_kill9(s);
    assert_int_equal(harness_restart(s, NULL, NULL), 0);
    assert_int_equal(count_items(s), 10);
    }

/* Flips one byte inside the first record, with more than 64 KiB of records after it (less is a
 * torn write): the server refuses to start, naming file and offset. */
static void test_corruption_refuses_start(void **state)
{
    harness_server_t *s = &srv;
    char wal[400], port[16], err[4096], needle[512], *body;
    unsigned char *p;
    size_t len, end, i_pad;
    FILE *f;
    int i, status;
    (void)state;

    assert_int_equal(harness_start(s, NULL, NULL), 0);
    for (i = 0; i < 10; i++)
        put_item(s, i);
    /* one item of 100 KiB (more than one write piece) */
    body = malloc(100 * 1024 + 128);
    assert_non_null(body);
    len = (size_t)sprintf(body, "{\"namespace\":[\"pad\"],\"key\":\"big\",\"value\":{\"pad\":\"");
    for (i_pad = 0; i_pad < 100 * 1024; i_pad++)
        body[len++] = 'p';
    strcpy(body + len, "\"}}");
    {
        harness_resp_t r = req(s, "PUT", "/store/items", body, 204);
        harness_resp_free(&r);
    }
    free(body);
    assert_int_equal(harness_stop(s, 1), 0);
    wal_path(s, wal, sizeof(wal));
    last_record_offset(wal, 11, &end);
    assert_true(end > WAL_MAGIC_LEN + 100 * 1024);
    p = read_all(wal, &len);
    p[WAL_MAGIC_LEN + REC_HDR + 2] ^= 0x20;
    f = fopen(wal, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    fclose(f);

    snprintf(port, sizeof(port), "%d", s->port);
    {
        const char *const args[] = {"--host", "127.0.0.1", "--port", port, "--data-dir", s->data_dir, NULL};
        status = harness_run(args, NULL, 10, err, sizeof(err));
    }
    assert_true(WIFEXITED(status));
    assert_int_not_equal(WEXITSTATUS(status), 0);
    snprintf(needle, sizeof(needle), "%s: corrupt record (checksum mismatch) at byte offset %d", wal, WAL_MAGIC_LEN);
    if (strstr(err, needle) == NULL)
        fprintf(stderr, "stderr lacks \"%s\":\n%s\n", needle, err);
    assert_non_null(strstr(err, needle));
    /* the damaged file is left as it was, for inspection */
    {
        size_t len2;
        unsigned char *q = read_all(wal, &len2);
        assert_int_equal(len2, len);
        assert_memory_equal(q, p, len);
        free(q);
    }
    free(p);
    }

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_kill9_fsync_batch, stop_server),
        cmocka_unit_test_teardown(test_kill9_fsync_always, stop_server),
        cmocka_unit_test_teardown(test_inflight_kill9_batch, stop_server),
        cmocka_unit_test_teardown(test_inflight_kill9_always, stop_server),
        cmocka_unit_test_teardown(test_inflight_kill9_compacting, stop_server),
        cmocka_unit_test_teardown(test_torn_tail, stop_server),
        cmocka_unit_test_teardown(test_corruption_refuses_start, stop_server),
    };
    return cmocka_run_group_tests_name("conformance_durability", tests, NULL, NULL);
}
