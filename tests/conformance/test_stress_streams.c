/*
 * tests/conformance/test_stress_streams.c — concurrency regression test for the
 * event loops: many clients at once run the `agent` graph on bench/mock_llm
 * (LGSERVE_MOCK_LLM) against a server with two loops, and most of them leave
 * early: SSE run streams closed after the first event or before it, /wait
 * requests abandoned right after being sent, join streams of background runs
 * dropped mid-run, streams with on_disconnect "cancel". Stream wake-ups come
 * from run workers and durable acks from the log flusher, so every cross-thread
 * hand-off to a loop is exercised; memory of one loop touched by another thread
 * corrupted h2o's per-thread buffer lists and crashed the server under this
 * kind of load. Afterwards the server must still answer (a run wait gives the
 * whole conversation) and exit 0 on SIGTERM. The amount of work is bounded
 * (clients x rounds) and so is its time (a deadline and socket timeouts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
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

#define STRESS_CLIENTS 16
#define STRESS_ROUNDS 40
#define STRESS_DEADLINE_S 90
#define STRESS_MODES 6

static harness_server_t srv;
static pid_t mock_pid;
static char mock_dir[64], mock_url[64];
static time_t stress_deadline;

/* What one client thread did: complete answers it needed and got. */
typedef struct client {
    int index;
    int full_wanted, full_ok;
    char failure[256];
} client_t;

/* Starts bench/mock_llm, 5 ms between streamed words (a streamed answer lasts
 * ~0.2 s, so clients leave in the middle of runs). Returns 0 or -1. */
static int mock_start(void)
{
    const char *bin = getenv("LGSERVE_MOCK_LLM");
    char port_file[96], port[16] = {0};
    FILE *f;
    int i;

    if (bin == NULL) {
        fprintf(stderr, "LGSERVE_MOCK_LLM is not set\n");
        return -1;
    }
    snprintf(mock_dir, sizeof(mock_dir), "/tmp/lgserve-mock-XXXXXX");
    if (mkdtemp(mock_dir) == NULL)
        return -1;
    snprintf(port_file, sizeof(port_file), "%s/port", mock_dir);
    if ((mock_pid = fork()) == 0) {
        execl(bin, bin, "--port", "0", "--port-file", port_file, "--chunk-ms", "5", (char *)NULL);
        _exit(127);
    }
    for (i = 0; i != 500; ++i) {
        if ((f = fopen(port_file, "r")) != NULL) {
            int ok = fgets(port, sizeof(port), f) != NULL;
            fclose(f);
            if (ok) {
                port[strcspn(port, "\n")] = '\0';
                snprintf(mock_url, sizeof(mock_url), "http://127.0.0.1:%s/v1", port);
                return 0;
            }
        }
        usleep(10000);
    }
    fprintf(stderr, "mock_llm (%s) did not start\n", bin);
    return -1;
}

static void mock_stop(void)
{
    char port_file[96];

    if (mock_pid > 0) {
        kill(mock_pid, SIGTERM);
        waitpid(mock_pid, NULL, 0);
        mock_pid = 0;
    }
    snprintf(port_file, sizeof(port_file), "%s/port", mock_dir);
    unlink(port_file);
    rmdir(mock_dir);
}

/* Connects to the server and sends one HTTP/1.0 request (the answer ends at
 * EOF, unchunked). Returns the socket (caller closes) or -1. Every read on it
 * times out after 10 s. */
static int raw_send(const char *method, const char *path, const char *body)
{
    struct sockaddr_in sa = {0};
    struct timeval tv = {10, 0};
    char head[512];
    size_t blen = body != NULL ? strlen(body) : 0;
    int fd, n;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)srv.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    n = snprintf(head, sizeof(head),
                 "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                 method, path, blen);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
        (blen != 0 && send(fd, body, blen, MSG_NOSIGNAL) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads from `fd` into `buf` (NUL-terminated) until `until` appears (NULL:
 * until EOF), the buffer is full, or an error/timeout. Returns the bytes read.
 */
static size_t raw_read(int fd, char *buf, size_t cap, const char *until)
{
    size_t len = 0;
    ssize_t n;

    buf[0] = '\0';
    while (len + 1 < cap) {
        if ((n = recv(fd, buf + len, cap - 1 - len, 0)) <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (until != NULL && strstr(buf, until) != NULL)
            break;
    }
    return len;
}

/* Whether the response head in `buf` has status 200. */
static int is_ok(const char *buf)
{
    return strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 8, " 200 ", 5) == 0;
}

/* A complete request; returns the parsed JSON body of a 200 answer (caller
 * decrefs) or NULL. */
static json_t *raw_json(const char *method, const char *path, const char *body)
{
    static const size_t cap = 1 << 16;
    char *buf = malloc(cap);
    const char *p;
    json_t *out = NULL;
    int fd = raw_send(method, path, body);

    if (fd >= 0 && buf != NULL) {
        raw_read(fd, buf, cap, NULL);
        if (is_ok(buf) && (p = strstr(buf, "\r\n\r\n")) != NULL)
            out = json_loads(p + 4, 0, NULL);
    }
    if (fd >= 0)
        close(fd);
    free(buf);
    return out;
}

/* Records the first failure of client `c` (`what` borrowed). */
static void client_fail(client_t *c, const char *what)
{
    if (c->failure[0] == '\0')
        snprintf(c->failure, sizeof(c->failure), "client %d: %s", c->index, what);
}

/* One client: STRESS_ROUNDS requests cycling through the ways to use and leave
 * a stream. */
static void *client_main(void *arg)
{
    static const char run[] = "{\"assistant_id\": \"agent\", \"input\": "
                              "{\"messages\": [{\"role\": \"user\", "
                              "\"content\": \"hello\"}]}, \"stream_mode\": "
                              "[\"values\", \"messages-tuple\"]%s}";
    client_t *c = arg;
    char body[512], path[192], *buf = malloc(1 << 16);
    char tid[64] = "";
    json_t *j;
    int round, fd;

    if (buf == NULL) {
        client_fail(c, "out of memory");
        return NULL;
    }
    if ((j = raw_json("POST", "/threads", "{}")) != NULL) {
        snprintf(tid, sizeof(tid), "%s", json_string_value(json_object_get(j, "thread_id")));
        json_decref(j);
    }
    if (tid[0] == '\0') {
        client_fail(c, "POST /threads failed");
        goto Exit;
    }
    for (round = 0; round != STRESS_ROUNDS && time(NULL) < stress_deadline; ++round) {
        switch ((c->index + round) % STRESS_MODES) {
        case 0: /* stateless SSE stream, left after its first event */
            snprintf(body, sizeof(body), run, "");
            if ((fd = raw_send("POST", "/runs/stream", body)) >= 0) {
                raw_read(fd, buf, 1 << 16, "event: ");
                close(fd);
            }
            break;
        case 1: /* stateless wait, left before any answer */
            snprintf(body, sizeof(body), run, "");
            if ((fd = raw_send("POST", "/runs/wait", body)) >= 0)
                close(fd);
            break;
        case 2: /* stateless SSE stream read to its end */
            ++c->full_wanted;
            snprintf(body, sizeof(body), run, "");
            if ((fd = raw_send("POST", "/runs/stream", body)) >= 0) {
                raw_read(fd, buf, 1 << 16, NULL);
                close(fd);
                if (is_ok(buf) && strstr(buf, "event: values") != NULL &&
                    strstr(buf, "event: error") == NULL)
                    ++c->full_ok;
                else
                    client_fail(c, "a full stateless stream did not end with values and "
                                   "without error");
            }
            break;
        case 3: /* background run on the thread: join stream dropped mid-run, then
                   join to the end */
            snprintf(body, sizeof(body), run, ", \"multitask_strategy\": \"enqueue\"");
            snprintf(path, sizeof(path), "/threads/%s/runs", tid);
            if ((j = raw_json("POST", path, body)) == NULL) {
                client_fail(c, "POST /threads/{id}/runs failed");
                break;
            }
            ++c->full_wanted;
            snprintf(path, sizeof(path), "/threads/%s/runs/%s/stream", tid,
                     json_string_value(json_object_get(j, "run_id")));
            if ((fd = raw_send("GET", path, NULL)) >= 0) {
                raw_read(fd, buf, 1 << 16, ": welcome");
                close(fd);
            }
            snprintf(path, sizeof(path), "/threads/%s/runs/%s/join", tid,
                     json_string_value(json_object_get(j, "run_id")));
            json_decref(j);
            if ((j = raw_json("GET", path, NULL)) != NULL &&
                json_array_size(json_object_get(j, "messages")) >= 2)
                ++c->full_ok;
            else
                client_fail(c, "join of a background run did not give the conversation");
            json_decref(j);
            break;
        case 4: /* thread stream cancelled by leaving (on_disconnect cancel) just
                   after its headers */
            snprintf(body, sizeof(body), run,
                     ", \"on_disconnect\": \"cancel\", \"multitask_strategy\": "
                     "\"enqueue\"");
            snprintf(path, sizeof(path), "/threads/%s/runs/stream", tid);
            if ((fd = raw_send("POST", path, body)) >= 0) {
                raw_read(fd, buf, 1 << 16, "\r\n\r\n");
                close(fd);
            }
            break;
        default: /* the thread's own stream, left after a moment */
            snprintf(path, sizeof(path), "/threads/%s/stream", tid);
            if ((fd = raw_send("GET", path, NULL)) >= 0) {
                raw_read(fd, buf, 1 << 16, ": welcome");
                close(fd);
            }
            break;
        }
    }
Exit:
    free(buf);
    return NULL;
}

/* Prints the server's log (what a crash left there). */
static void print_log(void)
{
    char line[1024];
    FILE *f = fopen(srv.log_path, "r");

    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

static int group_setup(void **state)
{
    char env_url[128];
    const char *env[] = {env_url, "OPENAI_API_KEY=test-key", NULL};
    const char *args[] = {"--workers", "2", "--run-workers", "8", NULL};
    (void)state;

    if (mock_start() != 0)
        return -1;
    snprintf(env_url, sizeof(env_url), "OPENAI_BASE_URL=%s", mock_url);
    return harness_start(&srv, args, env);
}

static int group_teardown(void **state)
{
    (void)state;
    if (srv.pid > 0)
        harness_stop(&srv, 0);
    mock_stop();
    return 0;
}

static void test_many_streams_with_early_disconnects(void **state)
{
    static const char probe[] = "{\"assistant_id\": \"agent\", \"input\": "
                                "{\"messages\": [{\"role\": \"user\", "
                                "\"content\": \"still there?\"}]}}";
    pthread_t threads[STRESS_CLIENTS];
    client_t clients[STRESS_CLIENTS];
    harness_resp_t r;
    int i, full_wanted = 0, full_ok = 0, status;
    (void)state;

    stress_deadline = time(NULL) + STRESS_DEADLINE_S;
    memset(clients, 0, sizeof(clients));
    for (i = 0; i != STRESS_CLIENTS; ++i) {
        clients[i].index = i;
        assert_int_equal(pthread_create(&threads[i], NULL, client_main, &clients[i]), 0);
    }
    for (i = 0; i != STRESS_CLIENTS; ++i) {
        pthread_join(threads[i], NULL);
        if (clients[i].failure[0] != '\0')
            fprintf(stderr, "%s\n", clients[i].failure);
        full_wanted += clients[i].full_wanted;
        full_ok += clients[i].full_ok;
    }
    /* the server is alive and still runs the agent */
    if (waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
        print_log();
        srv.pid = 0;
        fail_msg("the server died under the load (wait status %d)", status);
    }
    assert_int_equal(harness_request(&srv, "GET", "/ok", NULL, NULL, 0, &r), 0);
    assert_int_equal(r.status, 200);
    harness_resp_free(&r);
    assert_int_equal(harness_request(&srv, "POST", "/runs/wait", NULL, probe, strlen(probe), &r),
                     0);
    assert_int_equal(r.status, 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "messages")), 2);
    harness_resp_free(&r);
    /* every answer read to its end was complete */
    assert_true(full_wanted > 0);
    assert_int_equal(full_ok, full_wanted);
    /* and it drains and exits cleanly */
    status = harness_stop(&srv, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_streams_with_early_disconnects),
    };
    harness_init(argc, argv);
    return cmocka_run_group_tests_name("conformance_stress_streams", tests, group_setup,
                                       group_teardown);
}
