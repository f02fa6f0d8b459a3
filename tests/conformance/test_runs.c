/*
 * tests/conformance/test_runs.c — black-box checks of the run operations on the wire, against
 * the real binary running the `agent` graph on bench/mock_llm (LGSERVE_MOCK_LLM): SSE headers,
 * the first comment frame and event ids, /wait keep-alive newlines before the JSON, join
 * streams resumed with a raw Last-Event-ID header and filtered by stream_mode, on_disconnect
 * cancel when the client goes away, deleting (or pruning) a thread with a running and a queued
 * run (both stopped and gone, their streams ended), an unreachable LLM (error event, run error, server fine),
 * the error answers of bad requests, x-* headers passed into config.configurable, and that the
 * first bytes of a run stream or /wait acknowledge a durable run (kill -9 right then loses nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MISSING "00000000-0000-4000-8000-000000000000"

typedef struct mock {
    pid_t pid;
    char dir[64];
    char url[64];
} mock_t;

static harness_server_t srv;
static mock_t fast_mock, slow_mock;
static char skip_reason[512];

/* Starts bench/mock_llm with `extra` (NULL-terminated, may be NULL). Returns 0 or -1. */
static int mock_start(mock_t *m, const char *extra)
{
    const char *bin = getenv("LGSERVE_MOCK_LLM");
    char port_file[96], port[16] = {0};
    FILE *f;
    int i;

    if (bin == NULL) {
        fprintf(stderr, "LGSERVE_MOCK_LLM is not set\n");
        return -1;
    }
    snprintf(m->dir, sizeof(m->dir), "/tmp/lgserve-mock-XXXXXX");
    if (mkdtemp(m->dir) == NULL)
        return -1;
    snprintf(port_file, sizeof(port_file), "%s/port", m->dir);
    if ((m->pid = fork()) == 0) {
        if (extra != NULL)
            execl(bin, bin, "--port", "0", "--port-file", port_file, "--chunk-ms", extra, (char *)NULL);
        else
            execl(bin, bin, "--port", "0", "--port-file", port_file, (char *)NULL);
        _exit(127);
    }
    for (i = 0; i != 500; ++i) {
        if ((f = fopen(port_file, "r")) != NULL) {
            int ok = fgets(port, sizeof(port), f) != NULL;
            fclose(f);
            if (ok) {
                port[strcspn(port, "\n")] = '\0';
                snprintf(m->url, sizeof(m->url), "http://127.0.0.1:%s/v1", port);
                return 0;
            }
        }
        usleep(10000);
    }
    fprintf(stderr, "mock_llm (%s) did not start\n", bin);
    return -1;
}

static void mock_stop(mock_t *m)
{
    char port_file[96];

    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
        m->pid = 0;
    }
    snprintf(port_file, sizeof(port_file), "%s/port", m->dir);
    unlink(port_file);
    rmdir(m->dir);
}

/* Sends a request and asserts its status; returns the response for further checks. */
static harness_resp_t req(const char *method, const char *path, const char *body, long status)
{
    return harness_expect(&srv, method, path, body, status);
}

/* Formats into a static buffer (one of two, so two can be used in one call). */
static const char *fmt(const char *f, ...)
{
    static char bufs[2][2048];
    static int which;
    char *buf = bufs[which ^= 1];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof(bufs[0]), f, ap);
    va_end(ap);
    return buf;
}

/* Creates a thread; copies its id into `id` (37 bytes). */
static void create_thread(char *id)
{
    harness_resp_t r = req("POST", "/threads", "{}", 200);
    memcpy(id, json_string_value(json_object_get(r.json, "thread_id")), 37);
    harness_resp_free(&r);
}

/* The status of run `run_id` of thread `tid`. Copied into a static buffer. */
static const char *run_status(const char *tid, const char *run_id)
{
    static char status[32];
    harness_resp_t r = req("GET", fmt("/threads/%s/runs/%s", tid, run_id), NULL, 200);
    snprintf(status, sizeof(status), "%s", json_string_value(json_object_get(r.json, "status")));
    harness_resp_free(&r);
    return status;
}

/* The SSE frames of `body`: fills names/ids (up to `cap`) and returns how many events. */
static size_t sse_events(const char *body, char names[][64], long *ids, size_t cap)
{
    size_t n = 0;
    const char *p = body;

    while (p != NULL && *p != '\0' && n < cap) {
        const char *end = strstr(p, "\n\n");
        if (strncmp(p, "event: ", 7) == 0) {
            const char *id = strstr(p, "\nid: ");
            size_t len = strcspn(p + 7, "\n");
            snprintf(names[n], 64, "%.*s", (int)(len < 63 ? len : 63), p + 7);
            ids[n] = id != NULL && (end == NULL || id < end) ? strtol(id + 5, NULL, 10) : -1;
            ++n;
        }
        p = end != NULL ? end + 2 : NULL;
    }
    return n;
}

/* The server's arguments and environment (kept for a restart). */
static char env_url[128];
static const char *const srv_env[] = {env_url, "OPENAI_API_KEY=test-key", NULL};
static const char *const srv_args[] = {"--sweep-interval", "1", NULL};

static int group_setup(void **state)
{
    harness_resp_t r;
    (void)state;

    if (mock_start(&fast_mock, NULL) != 0 || mock_start(&slow_mock, "100") != 0)
        return -1;
    snprintf(env_url, sizeof(env_url), "OPENAI_BASE_URL=%s", fast_mock.url);
    if (harness_start(&srv, srv_args, srv_env) != 0)
        return -1;
    /* probe: the agent node must answer through the LLM for these tests to mean anything */
    static const char probe[] = "{\"assistant_id\": \"agent\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"probe\"}]}}";
    if (harness_request(&srv, "POST", "/runs/wait", NULL, probe, strlen(probe), &r) != 0)
        return -1;
    if (r.status != 200 || json_array_size(json_object_get(r.json, "messages")) != 2)
        snprintf(skip_reason, sizeof(skip_reason), "the agent graph does not answer through the LLM yet (%ld: %.300s)",
                 r.status, r.body);
    harness_resp_free(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    mock_stop(&fast_mock);
    mock_stop(&slow_mock);
    return 0;
}

#define SKIP_WITHOUT_AGENT()                                                                                           \
    do {                                                                                                               \
        if (skip_reason[0] != '\0') {                                                                                  \
            fprintf(stderr, "skipped: %s\n", skip_reason);                                                             \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static const char *run_body(const char *content, const char *extra)
{
    return fmt("{\"assistant_id\": \"agent\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}]}%s%s}",
               content, extra != NULL ? ", " : "", extra != NULL ? extra : "");
}

static void test_stream_wire(void **state)
{
    char tid[37], buf[256], names[256][64], want[300];
    long ids[256];
    size_t n, i;
    (void)state;
    SKIP_WITHOUT_AGENT();
    create_thread(tid);
    harness_resp_t r = req("POST", fmt("/threads/%s/runs/stream", tid),
                           run_body("wire", "\"stream_mode\": [\"values\", \"messages-tuple\"]"), 200);
    assert_string_equal(harness_header(&r, "content-type", buf, sizeof(buf)), "text/event-stream");
    assert_string_equal(harness_header(&r, "cache-control", buf, sizeof(buf)), "no-store");
    assert_string_equal(harness_header(&r, "x-accel-buffering", buf, sizeof(buf)), "no");
    assert_non_null(harness_header(&r, "content-location", buf, sizeof(buf)));
    assert_int_equal(strncmp(buf, fmt("/threads/%s/runs/", tid), 51), 0);
    assert_int_equal(strlen(buf), 51 + 36);
    snprintf(want, sizeof(want), "%s/stream", buf);
    assert_string_equal(harness_header(&r, "location", buf, sizeof(buf)), want);
    assert_int_equal(r.body[0], ':'); /* the comment frame that flushes the headers */
    n = sse_events(r.body, names, ids, 256);
    assert_true(n > 4);
    assert_string_equal(names[0], "metadata");
    for (i = 0; i != n; ++i)
        assert_int_equal(ids[i], (long)i + 1);
    assert_string_equal(names[1], "values");
    assert_string_equal(names[2], "messages");
    assert_string_equal(names[n - 1], "values");
    harness_resp_free(&r);
}

static void test_wait_keepalive(void **state)
{
    char buf[256];
    const char *json;
    json_t *v;
    (void)state;
    SKIP_WITHOUT_AGENT();
    /* ~4 s of answer on the slow mock: at least one newline keep-alive precedes the JSON */
    harness_resp_t r = req("POST", "/runs/wait",
                           run_body("slow", fmt("\"config\": {\"configurable\": {\"base_url\": \"%s\"}}", slow_mock.url)), 200);
    assert_string_equal(harness_header(&r, "content-type", buf, sizeof(buf)), "application/json");
    assert_non_null(harness_header(&r, "content-location", buf, sizeof(buf)));
    assert_int_equal(strncmp(buf, "/runs/", 6), 0);
    assert_null(harness_header(&r, "location", buf, sizeof(buf)));
    assert_int_equal(r.body[0], '\n');
    json = r.body + strspn(r.body, "\n");
    assert_non_null(v = json_loads(json, 0, NULL));
    assert_int_equal(json_array_size(json_object_get(v, "messages")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(v, "messages"), 1), "type")), "ai");
    json_decref(v);
    harness_resp_free(&r);
}

static void test_join_stream_resume(void **state)
{
    char tid[37], rid[37], names[256][64], names2[256][64], hdr[64];
    long ids[256], ids2[256];
    size_t n, n2, i;
    harness_resp_t r, r2;
    (void)state;
    SKIP_WITHOUT_AGENT();
    create_thread(tid);
    r = req("POST", fmt("/threads/%s/runs", tid), run_body("resume", "\"stream_mode\": [\"values\", \"updates\"]"), 200);
    memcpy(rid, json_string_value(json_object_get(r.json, "run_id")), 37);
    harness_resp_free(&r);
    r = req("GET", fmt("/threads/%s/runs/%s/join", tid, rid), NULL, 200);
    harness_resp_free(&r);

    r = req("GET", fmt("/threads/%s/runs/%s/stream", tid, rid), NULL, 200);
    n = sse_events(r.body, names, ids, 256);
    assert_true(n >= 4);
    snprintf(hdr, sizeof(hdr), "Last-Event-ID: %ld", ids[1]);
    const char *headers[] = {hdr, NULL};
    assert_int_equal(harness_request(&srv, "GET", fmt("/threads/%s/runs/%s/stream", tid, rid), headers, NULL, 0, &r2), 0);
    assert_int_equal(r2.status, 200);
    n2 = sse_events(r2.body, names2, ids2, 256);
    assert_int_equal(n2, n - 2);
    for (i = 0; i != n2; ++i) {
        assert_int_equal(ids2[i], ids[i + 2]);
        assert_string_equal(names2[i], names[i + 2]);
    }
    /* the same frames byte for byte: the replay starts where the first event after id 2 starts */
    assert_non_null(strstr(r.body, strstr(r2.body, "event:")));
    harness_resp_free(&r2);

    /* one mode kept */
    r2 = req("GET", fmt("/threads/%s/runs/%s/stream?stream_mode=updates", tid, rid), NULL, 200);
    n2 = sse_events(r2.body, names2, ids2, 256);
    assert_int_equal(n2, 2);
    assert_string_equal(names2[0], "metadata");
    assert_string_equal(names2[1], "updates");
    harness_resp_free(&r2);

    /* Python-style repeated keys keep every mode */
    r2 = req("GET", fmt("/threads/%s/runs/%s/stream?stream_mode=values&stream_mode=updates", tid, rid), NULL, 200);
    n2 = sse_events(r2.body, names2, ids2, 256);
    assert_int_equal(n2, n);
    harness_resp_free(&r2);
    /* so do the JS SDK's JSON array and a comma list */
    r2 = req("GET", fmt("/threads/%s/runs/%s/stream?stream_mode=%%5B%%22values%%22%%2C%%22updates%%22%%5D", tid, rid),
             NULL, 200);
    assert_int_equal(sse_events(r2.body, names2, ids2, 256), n);
    harness_resp_free(&r2);
    r2 = req("GET", fmt("/runs/%s/stream?stream_mode=values,updates", rid), NULL, 200);
    assert_int_equal(sse_events(r2.body, names2, ids2, 256), n);
    harness_resp_free(&r2);
    harness_resp_free(&r);
}

/* Opens a stream on a raw socket and reads its first bytes into `resp` (`cap` bytes, NUL-
 * terminated), asserting a 200. Returns the connected socket. */
static int stream_post(const char *path, const char *body, char *resp, size_t cap)
{
    struct sockaddr_in a = {0};
    char reqbuf[2048];
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t got;

    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    snprintf(reqbuf, sizeof(reqbuf),
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", path,
             strlen(body), body);
    assert_int_equal(write(fd, reqbuf, strlen(reqbuf)), (ssize_t)strlen(reqbuf));
    got = read(fd, resp, cap - 1);
    assert_true(got > 0);
    resp[got] = '\0';
    assert_non_null(strstr(resp, "200 OK"));
    return fd;
}

/* Opens a stream on a raw socket, reads its first bytes and closes the connection. */
static void stream_and_leave(const char *path, const char *body)
{
    char resp[512];

    close(stream_post(path, body, resp, sizeof(resp)));
}

static void test_disconnect_cancels(void **state)
{
    char tid[37], rid[37];
    const char *status = "";
    harness_resp_t r;
    int i;
    (void)state;
    SKIP_WITHOUT_AGENT();
    create_thread(tid);
    /* a 150-word answer at 100 ms a word: the run outlives the client by far */
    stream_and_leave(fmt("/threads/%s/runs/stream", tid),
                     run_body("leave", fmt("\"on_disconnect\": \"cancel\", \"stream_mode\": \"messages-tuple\", "
                                           "\"config\": {\"configurable\": {\"base_url\": \"%s\", "
                                           "\"model_name\": \"openai:mock-words-150\"}}",
                                           slow_mock.url)));
    r = req("GET", fmt("/threads/%s/runs", tid), NULL, 200);
    assert_int_equal(json_array_size(r.json), 1);
    memcpy(rid, json_string_value(json_object_get(json_array_get(r.json, 0), "run_id")), 37);
    harness_resp_free(&r);
    /* the next event written notices the closed socket; the run is cancelled */
    for (i = 0; i != 300; ++i) {
        status = run_status(tid, rid);
        if (strcmp(status, "pending") != 0 && strcmp(status, "running") != 0)
            break;
        usleep(50000);
    }
    assert_string_equal(status, "interrupted");

    /* on_disconnect continue (the default): the run finishes without its client */
    stream_and_leave(fmt("/threads/%s/runs/stream", tid),
                     run_body("stay", fmt("\"config\": {\"configurable\": {\"base_url\": \"%s\"}}", slow_mock.url)));
    r = req("GET", fmt("/threads/%s/runs", tid), NULL, 200);
    memcpy(rid, json_string_value(json_object_get(json_array_get(r.json, 0), "run_id")), 37);
    harness_resp_free(&r);
    r = req("GET", fmt("/threads/%s/runs/%s/join", tid, rid), NULL, 200);
    harness_resp_free(&r);
    assert_string_equal(run_status(tid, rid), "success");
}

static void test_unreachable_llm(void **state)
{
    char tid[37], names[64][64];
    long ids[64];
    size_t n;
    harness_resp_t r;
    (void)state;
    SKIP_WITHOUT_AGENT();
    create_thread(tid);
    r = req("POST", fmt("/threads/%s/runs/stream", tid),
            run_body("fail", "\"config\": {\"configurable\": {\"base_url\": \"http://127.0.0.1:1/v1\"}}"), 200);
    n = sse_events(r.body, names, ids, 64);
    assert_true(n >= 2);
    assert_string_equal(names[n - 1], "error");
    assert_non_null(strstr(r.body, "cannot reach LLM at http://127.0.0.1:1/v1"));
    harness_resp_free(&r);
    r = req("GET", fmt("/threads/%s/runs", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, 0), "status")), "error");
    harness_resp_free(&r);
    r = req("GET", "/ok", NULL, 200);
    harness_resp_free(&r);
}

static void expect_error(const char *method, const char *path, const char *body, long status, const char *needle)
{
    harness_resp_t r = req(method, path, body, status);
    if (needle != NULL && strstr(harness_detail(&r), needle) == NULL)
        fprintf(stderr, "%s %s: detail %s lacks %s\n", method, path, harness_detail(&r), needle);
    assert_true(needle == NULL || strstr(harness_detail(&r), needle) != NULL);
    harness_resp_free(&r);
}

static void test_errors(void **state)
{
    char tid[37], rid[37];
    harness_resp_t r;
    (void)state;
    create_thread(tid);
    expect_error("POST", fmt("/threads/%s/runs", tid), "{\"assistant_id\": \"no-such-graph\"}", 404, "no-such-graph");
    expect_error("POST", "/threads/" MISSING "/runs", "{\"assistant_id\": \"agent\"}", 404, "Thread " MISSING " not found");
    expect_error("GET", "/threads/" MISSING "/runs", NULL, 404, "Thread " MISSING " not found");
    expect_error("GET", fmt("/threads/%s/runs/%s", tid, MISSING), NULL, 404, MISSING);
    expect_error("GET", fmt("/threads/%s/runs/%s/join", tid, MISSING), NULL, 404, "Run not found");
    expect_error("GET", fmt("/threads/%s/runs/%s/stream", tid, MISSING), NULL, 404, "Run not found");
    expect_error("GET", "/runs/" MISSING "/stream", NULL, 404, "Run not found");
    expect_error("POST", fmt("/threads/%s/runs/%s/cancel", tid, MISSING), NULL, 404, NULL);
    expect_error("POST", fmt("/threads/%s/runs", tid), "{\"assistant_id\": \"agent\", \"stream_mode\": \"bogus\"}", 422,
                 "stream_mode");
    expect_error("POST", fmt("/threads/%s/runs", tid), "{\"assistant_id\": \"agent\", \"multitask_strategy\": \"nope\"}", 422,
                 "multitask_strategy");
    expect_error("POST", "/runs/cancel", "{}", 422, NULL);
    expect_error("POST", "/runs/cancel", fmt("{\"status\": \"all\", \"thread_id\": \"%s\", \"run_ids\": []}", tid), 422, NULL);
    expect_error("POST", fmt("/threads/%s/state", tid), "{\"values\": {}}", 400, "has no graph yet");
    r = req("POST", "/runs/cancel", "{\"status\": \"pending\"}", 204);
    harness_resp_free(&r);
    if (skip_reason[0] != '\0')
        return;
    /* a busy thread: reject answers 409, delete of the running run answers 409 */
    r = req("POST", fmt("/threads/%s/runs", tid),
            run_body("busy", fmt("\"config\": {\"configurable\": {\"base_url\": \"%s\"}}", slow_mock.url)), 200);
    memcpy(rid, json_string_value(json_object_get(r.json, "run_id")), 37);
    harness_resp_free(&r);
    expect_error("POST", fmt("/threads/%s/runs", tid), run_body("second", "\"multitask_strategy\": \"reject\""), 409,
                 "Thread is already running a task");
    expect_error("DELETE", fmt("/threads/%s/runs/%s", tid, rid), NULL, 409, "cancel it");
    expect_error("POST", fmt("/threads/%s/state", tid), "{\"values\": {\"messages\": []}, \"as_node\": \"nope\"}", 422, NULL);
    r = req("POST", "/runs/cancel", fmt("{\"thread_id\": \"%s\", \"run_ids\": [\"%s\"]}", tid, rid), 204);
    harness_resp_free(&r);
    r = req("GET", fmt("/threads/%s/runs/%s/join", tid, rid), NULL, 200);
    harness_resp_free(&r);
    assert_string_equal(run_status(tid, rid), "interrupted");
    r = req("DELETE", fmt("/threads/%s/runs/%s", tid, rid), NULL, 204);
    harness_resp_free(&r);
    expect_error("GET", fmt("/threads/%s/runs/%s", tid, rid), NULL, 404, rid);
}

/* Opens GET `path` as HTTP/1.0 on a raw socket (the answer ends when the server closes) and
 * waits for the status line. Returns the socket. */
static int stream_open(const char *path)
{
    struct sockaddr_in a = {0};
    struct timeval tv = {30, 0};
    char reqbuf[512];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)srv.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
    snprintf(reqbuf, sizeof(reqbuf), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    assert_int_equal(write(fd, reqbuf, strlen(reqbuf)), (ssize_t)strlen(reqbuf));
    return fd;
}

/* Reads the answer on `fd` until the server closes it (asserting it does within 30 s, heartbeats
 * or not), closes `fd` and returns how many `event: <name>` frames it held. */
static size_t stream_finish(int fd, const char *name)
{
    static char body[1 << 20];
    time_t deadline = time(NULL) + 30;
    size_t len = 0, n = 0;
    char needle[80];
    const char *p;
    ssize_t got = -1;

    while (len < sizeof(body) - 1 && time(NULL) < deadline && (got = read(fd, body + len, sizeof(body) - 1 - len)) > 0)
        len += (size_t)got;
    assert_true(got == 0); /* closed by the server: the stream ended */
    close(fd);
    body[len] = '\0';
    assert_non_null(strstr(body, " 200 "));
    snprintf(needle, sizeof(needle), "event: %s\n", name);
    for (p = body; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        ++n;
    return n;
}

/*
 * Deletes a thread while it has a running and a queued run, with DELETE /threads/{id}, POST
 * /threads/prune, or by letting its TTL (strategy delete) run out under the sweeper (the server
 * sweeps every second); as the official servers, the runs go with the thread: the
 * running run is stopped (its stream ends long before its 150-word answer), the queued one
 * never starts (its stream ends with no message), the streams following either end and so does
 * the thread's own stream, and the thread, its runs and its state stay gone (nothing the
 * stopped run writes brings them back).
 */
enum delete_how { BY_DELETE, BY_PRUNE, BY_TTL };

static void delete_busy_thread(enum delete_how how)
{
    char tid[37], running[37], queued[37], slow[512], body[1024];
    harness_resp_t r;
    int fd_running, fd_queued, fd_thread, i;
    snprintf(slow, sizeof(slow),
             "\"stream_mode\": \"messages-tuple\", \"config\": {\"configurable\": {\"base_url\": \"%s\", "
             "\"model_name\": \"openai:mock-words-150\"}}",
             slow_mock.url);
    if (how == BY_TTL) { /* ttl in minutes: 0.03 = 1.8 s, long enough to see both runs queued */
        r = req("POST", "/threads", "{\"ttl\": {\"strategy\": \"delete\", \"ttl\": 0.03}}", 200);
        memcpy(tid, json_string_value(json_object_get(r.json, "thread_id")), 37);
        harness_resp_free(&r);
    } else {
        create_thread(tid);
    }
    snprintf(body, sizeof(body), "%s", run_body("first", slow));
    r = req("POST", fmt("/threads/%s/runs", tid), body, 200);
    memcpy(running, json_string_value(json_object_get(r.json, "run_id")), 37);
    harness_resp_free(&r);
    snprintf(body, sizeof(body), "%s", run_body("second", fmt("\"multitask_strategy\": \"enqueue\", %s", slow)));
    r = req("POST", fmt("/threads/%s/runs", tid), body, 200);
    memcpy(queued, json_string_value(json_object_get(r.json, "run_id")), 37);
    harness_resp_free(&r);
    for (i = 0; i != 200 && strcmp(run_status(tid, running), "running") != 0; ++i)
        usleep(50000);
    assert_string_equal(run_status(tid, running), "running");
    assert_string_equal(run_status(tid, queued), "pending");
    fd_running = stream_open(fmt("/threads/%s/runs/%s/stream", tid, running));
    fd_queued = stream_open(fmt("/threads/%s/runs/%s/stream", tid, queued));
    fd_thread = stream_open(fmt("/threads/%s/stream", tid));
    usleep(300000);

    if (how == BY_PRUNE) {
        r = req("POST", "/threads/prune", fmt("{\"thread_ids\": [\"%s\"]}", tid), 200);
        assert_int_equal(json_integer_value(json_object_get(r.json, "pruned_count")), 1);
        harness_resp_free(&r);
    } else if (how == BY_DELETE) {
        r = req("DELETE", fmt("/threads/%s", tid), NULL, 204);
        harness_resp_free(&r);
    }
    assert_true(stream_finish(fd_running, "messages") < 100);
    assert_int_equal(stream_finish(fd_queued, "messages"), 0);
    assert_true(stream_finish(fd_thread, "messages") > 0); /* the thread's own stream ends too */
    expect_error("GET", fmt("/threads/%s", tid), NULL, 404, tid);
    expect_error("GET", fmt("/threads/%s/runs/%s", tid, running), NULL, 404, NULL);
    expect_error("GET", fmt("/threads/%s/runs/%s", tid, queued), NULL, 404, NULL);
    /* the stopped run's last writes (status, checkpoint, thread status) do not revive anything */
    usleep(500000);
    expect_error("GET", fmt("/threads/%s", tid), NULL, 404, tid);
    expect_error("GET", fmt("/threads/%s/state", tid), NULL, 404, NULL);
    expect_error("GET", fmt("/threads/%s/runs", tid), NULL, 404, NULL);
    r = req("POST", "/threads/search", fmt("{\"ids\": [\"%s\"]}", tid), 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
}

static void test_delete_busy_thread(void **state)
{
    (void)state;
    SKIP_WITHOUT_AGENT();
    delete_busy_thread(BY_DELETE);
    delete_busy_thread(BY_PRUNE);
    delete_busy_thread(BY_TTL);
}

static void test_headers_in_configurable(void **state)
{
    static const char *const headers[] = {"X-Trace-Label: t-1", "X-Api-Key: not-copied", "User-Agent: runs-test", NULL};
    const char *body = run_body("headers", "\"on_completion\": \"keep\"");
    json_t *conf;
    harness_resp_t r;
    (void)state;
    assert_int_equal(harness_request(&srv, "POST", "/runs", headers, body, strlen(body), &r), 0);
    assert_int_equal(r.status, 200);
    conf = json_object_get(json_object_get(json_object_get(r.json, "kwargs"), "config"), "configurable");
    assert_string_equal(json_string_value(json_object_get(conf, "x-trace-label")), "t-1");
    assert_string_equal(json_string_value(json_object_get(conf, "user-agent")), "runs-test");
    assert_null(json_object_get(conf, "x-api-key"));
    harness_resp_free(&r);
}

/* The first bytes of POST .../runs/`kind` (stream, or wait: its first keep-alive after a
 * second) acknowledge the run: the server answers once the run's creation is durable, not
 * before (the run may execute meanwhile). SIGKILL right after those bytes; the restarted server
 * knows the run (pending again and re-run when its claim was not durable yet, else ended as
 * error). Restarts the server. */
static void ack_is_durable(const char *kind)
{
    char tid[37], rid[37], resp[2048], want[128];
    const char *loc, *status;
    int fd;

    create_thread(tid);
    fd = stream_post(fmt("/threads/%s/runs/%s", tid, kind),
                     run_body("durable", fmt("\"config\": {\"configurable\": {\"base_url\": \"%s\", "
                                             "\"model_name\": \"openai:mock-words-150\"}}",
                                             slow_mock.url)),
                     resp, sizeof(resp));
    snprintf(want, sizeof(want), "content-location: /threads/%s/runs/", tid);
    assert_non_null(loc = strcasestr(resp, want));
    memcpy(rid, loc + strlen(want), 36);
    rid[36] = '\0';
    harness_kill9(&srv);
    close(fd);
    assert_int_equal(harness_restart(&srv, srv_args, srv_env), 0);
    status = run_status(tid, rid); /* 200: the run is known */
    assert_true(strcmp(status, "pending") == 0 || strcmp(status, "running") == 0 || strcmp(status, "error") == 0);
}

static void test_ack_is_durable(void **state)
{
    (void)state;
    SKIP_WITHOUT_AGENT();
    ack_is_durable("stream");
    ack_is_durable("wait");
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_wire),
        cmocka_unit_test(test_wait_keepalive),
        cmocka_unit_test(test_join_stream_resume),
        cmocka_unit_test(test_disconnect_cancels),
        cmocka_unit_test(test_delete_busy_thread),
        cmocka_unit_test(test_unreachable_llm),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_headers_in_configurable),
        cmocka_unit_test(test_ack_is_durable),
    };
    return cmocka_run_group_tests_name("conformance_runs", tests, group_setup, group_teardown);
}
