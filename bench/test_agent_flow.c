/*
 * bench/test_agent_flow.c — self-test of the load driver bench/agent_flow (argv[1]: its binary).
 *
 * A scripted fake lgserve, a thread of this test, answers every step of the agent flow; the
 * driver runs against it (one client for a fraction of a second) and the test reads the
 * driver's table and exit status. The fake checks the bytes of every request head (method,
 * path, Host, Accept, Content-Type, Content-Length, as curl sent them) and that bodies are JSON,
 * and answers anything else with 400. It frames its answers the ways HTTP/1.1 allows: with
 * Content-Length, chunked with extensions and trailers in small sends, after a 100 Continue,
 * and it silently closes the connection after some answers (the driver must reconnect). Every
 * faulty answer (a run with __error__, a run not ending with an AI message, a stream with an
 * error event or without a messages event, a short state, invalid JSON, a wrong store value, a
 * server that hangs up) must be counted as failed steps of the right row and make the driver
 * exit with status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

/* What the fake gets wrong on purpose. */
typedef enum fault {
    FAULT_NONE,
    FAULT_RUN_ERROR,          /* run answers carry __error__ */
    FAULT_RUN_NOT_AI,         /* run answers end with a human message */
    FAULT_STREAM_ERROR,       /* the stream has an error event */
    FAULT_STREAM_NO_MESSAGES, /* the stream has no messages event (only the words in a data line) */
    FAULT_SHORT_STATE,        /* the state has 3 messages */
    FAULT_BAD_JSON,           /* the created thread is cut short */
    FAULT_STORE_VALUE,        /* the stored item has another value */
    FAULT_HANG_UP,            /* every connection is closed before it is read */
} fault_t;

/* The fake server. Owned by the test; its thread serves one connection at a time. */
typedef struct fake {
    int listen_fd, port;
    fault_t fault;
    pthread_t thread;
    int bad_requests; /* requests it did not expect (answered 400); read after the join */
    long answers;
    long stored_n; /* the value of the last store put */
} fake_t;

static const char *driver_bin;

static const char *const messages4 =
    "[{\"type\":\"human\",\"content\":\"hello \\\"agent\\\" \\\\ \\u00e9 \xc3\xa9\"},"
    "{\"type\":\"ai\",\"content\":\"hi\",\"response_metadata\":{\"type\":\"human\"}},"
    "{\"type\":\"human\",\"content\":\"again\"},{\"type\":\"ai\",\"content\":\"hi\",\"n\":-1.5e3}]";

/* Sends all of [p, p + n) in pieces of at most `piece` bytes. Returns 0 or -1. */
static int send_all(int fd, const char *p, size_t n, size_t piece)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n < piece ? n : piece, MSG_NOSIGNAL);

        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Sends `body` (borrowed) with Content-Length, or only the status line when body is NULL. */
static int answer_plain(int fd, int status, const char *body)
{
    char head[256];
    int n =
        snprintf(head, sizeof head, "HTTP/1.1 %d X\r\nServer: fake\r\nCONTENT-LENGTH:  %zu\r\n\r\n",
                 status, body != NULL ? strlen(body) : 0);

    if (send_all(fd, head, (size_t)n, (size_t)n) != 0)
        return -1;
    return body != NULL ? send_all(fd, body, strlen(body), strlen(body)) : 0;
}

/* Sends `body` (borrowed) chunked in 7-byte chunks, the first with an extension, then trailers;
 * after a 100 Continue when `cont`; in 5-byte sends. */
static int answer_chunked(int fd, const char *type, const char *body, int cont)
{
    size_t len = strlen(body), cap = len * 3 + 512, n = 0;
    char *out = malloc(cap);
    int rc;

    if (out == NULL)
        return -1;
    if (cont)
        n += (size_t)snprintf(out + n, cap - n, "HTTP/1.1 100 Continue\r\n\r\n");
    n += (size_t)snprintf(
        out + n, cap - n,
        "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", type);
    for (size_t i = 0; i < len; i += 7) {
        size_t k = len - i < 7 ? len - i : 7;

        n += (size_t)snprintf(out + n, cap - n, i == 0 ? "%zx;name=value\r\n" : "%zX\r\n", k);
        memcpy(out + n, body + i, k);
        n += k;
        memcpy(out + n, "\r\n", 2);
        n += 2;
    }
    n += (size_t)snprintf(out + n, cap - n, "0\r\nX-Trailer: 1\r\n\r\n");
    rc = send_all(fd, out, n, 5);
    free(out);
    return rc;
}

/* Reads one request head and body from fd into buf (cap bytes, NUL-terminated). Returns the
 * head length (including the blank line) and sets *body_len, or -1 at the end of the
 * connection. */
static int read_request(int fd, char *buf, size_t cap, size_t *body_len)
{
    size_t len = 0, head;
    char *eoh, *cl;

    buf[0] = '\0';
    while ((eoh = strstr(buf, "\r\n\r\n")) == NULL) {
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);

        if (k <= 0)
            return -1;
        len += (size_t)k;
        buf[len] = '\0';
    }
    head = (size_t)(eoh + 4 - buf);
    cl = strstr(buf, "Content-Length: ");
    *body_len = cl != NULL && cl < eoh ? strtoul(cl + 16, NULL, 10) : 0;
    while (len < head + *body_len) {
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);

        if (k <= 0)
            return -1;
        len += (size_t)k;
    }
    buf[head + *body_len] = '\0';
    return (int)head;
}

/* Answers one request (head + body in buf) on fd. Returns 0, or -1 to close the connection. */
static int answer(fake_t *f, int fd, char *buf, size_t head, size_t body_len)
{
    char method[16], path[256], expect[1024], text[2048];
    const char *body = buf + head;
    int sse, has_body;
    json_t *j;

    if (sscanf(buf, "%15s %255s ", method, path) != 2)
        goto Bad;
    sse = strcmp(path, "/threads/t-1/runs/stream") == 0;
    has_body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
               strcmp(path, "/store/items") == 0;
    snprintf(
        expect, sizeof expect,
        "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAccept: %s\r\nContent-Type: application/json\r\n",
        method, path, f->port, sse ? "text/event-stream" : "*/*");
    if (has_body)
        snprintf(expect + strlen(expect), sizeof expect - strlen(expect), "Content-Length: %zu\r\n",
                 body_len);
    strcat(expect, "\r\n");
    if (strlen(expect) != head || memcmp(buf, expect, head) != 0)
        goto Bad;
    if (has_body) {
        if ((j = json_loads(body, 0, NULL)) == NULL)
            goto Bad;
        json_decref(j);
    }
    f->answers++;
    if (strcmp(method, "POST") == 0 && strcmp(path, "/assistants") == 0)
        return answer_plain(fd, 200,
                            "{\"assistant_id\":\"a-1\",\"graph_id\":\"agent\",\"config\":"
                            "{\"configurable\":{\"assistant_id\":\"decoy\"}}}");
    if (strcmp(method, "POST") == 0 && strcmp(path, "/threads") == 0)
        return answer_plain(fd, 200,
                            f->fault == FAULT_BAD_JSON
                                ? "{\"metadata\":{},\"thread_id\":\"t-1\""
                                : "{\"metadata\":{\"thread_id\":\"decoy\"},\"thread_id\":\"t-1\"}");
    if (strcmp(method, "POST") == 0 &&
        (strcmp(path, "/threads/t-1/runs/wait") == 0 || strcmp(path, "/runs/wait") == 0)) {
        if (f->fault == FAULT_RUN_ERROR)
            snprintf(text, sizeof text, "{\"messages\":%s,\"__error__\":{\"error\":\"E\"}}",
                     messages4);
        else if (f->fault == FAULT_RUN_NOT_AI)
            snprintf(text, sizeof text, "{\"messages\":[{\"type\":\"ai\"},{\"type\":\"human\"}]}");
        else
            snprintf(text, sizeof text, "{\"messages\":%s}", messages4);
        return answer_chunked(fd, "application/json", text, 1);
    }
    if (strcmp(method, "POST") == 0 && sse) {
        snprintf(text, sizeof text,
                 ": welcome\n\nevent: metadata\ndata: {\"run_id\":\"r\"}\nid: 1\n\n"
                 "event: values\ndata: {\"messages\":%s}\nid: 2\n\n%s%s",
                 messages4,
                 f->fault == FAULT_STREAM_NO_MESSAGES
                     ? "event: updates\ndata: {\"text\":\"\\nevent: messages\"}\n\n"
                     : "event: messages\ndata: [{\"content\":\"hi\"},{}]\nid: 3\n\n",
                 f->fault == FAULT_STREAM_ERROR ? "event: error\ndata: {\"error\":\"E\"}\n\n" : "");
        return answer_chunked(fd, "text/event-stream", text, 0);
    }
    if (strcmp(method, "GET") == 0 && strcmp(path, "/threads/t-1/state") == 0) {
        snprintf(text, sizeof text, "{\"values\":{\"messages\":%s%s},\"next\":[]}",
                 f->fault == FAULT_SHORT_STATE ? "[1,{\"a\":[2]},\"3\"]" : messages4, "");
        return answer_plain(fd, 200, text);
    }
    if (strcmp(method, "PUT") == 0 && strcmp(path, "/store/items") == 0) {
        const char *n = strstr(body, "\"n\": ");

        f->stored_n = n != NULL ? strtol(n + 5, NULL, 10) : -1;
        return answer_plain(fd, 204, NULL);
    }
    if (strcmp(method, "GET") == 0 && strcmp(path, "/store/items?namespace=bench.t-1&key=k") == 0) {
        snprintf(text, sizeof text,
                 "{\"namespace\":[\"bench\",\"t-1\"],\"key\":\"k\",\"value\":{\"m\":{\"n\":0},"
                 "\"n\":%ld}}",
                 f->fault == FAULT_STORE_VALUE ? f->stored_n * 10 : f->stored_n);
        return answer_plain(fd, 200, text);
    }
    if (strcmp(method, "POST") == 0 && strcmp(path, "/store/items/search") == 0)
        return answer_plain(fd, 200, "{\"items\":[{\"key\":\"k\",\"value\":{\"items\":[1,2]}}]}");
    if (strcmp(method, "DELETE") == 0 &&
        (strcmp(path, "/store/items") == 0 || strcmp(path, "/threads/t-1") == 0 ||
         strcmp(path, "/assistants/a-1") == 0))
        return answer_plain(fd, 204, NULL);
    f->answers--;
Bad:
    f->bad_requests++;
    fprintf(stderr, "fake: unexpected request:\n%s\n", buf);
    return answer_plain(fd, 400, "{\"detail\":\"unexpected\"}");
}

static void *fake_main(void *arg)
{
    fake_t *f = arg;
    static char buf[65536];
    int fd;

    while ((fd = accept(f->listen_fd, NULL, NULL)) >= 0) {
        size_t body_len;
        int head, one = 1;

        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* its sends are small */
        while (f->fault != FAULT_HANG_UP &&
               (head = read_request(fd, buf, sizeof buf, &body_len)) > 0 &&
               answer(f, fd, buf, (size_t)head, body_len) == 0 && f->answers % 4 != 0)
            ; /* after every 4th answer the connection is closed without a word */
        close(fd);
    }
    return NULL;
}

static void fake_start(fake_t *f, fault_t fault)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;

    memset(f, 0, sizeof *f);
    f->fault = fault;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->listen_fd, 16), 0);
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(fake_t *f)
{
    shutdown(f->listen_fd, SHUT_RDWR); /* accept fails: the thread ends */
    pthread_join(f->thread, NULL);
    close(f->listen_fd);
}

/*
 * Runs the driver against the fake for 0.3 s with one client; its stdout lands in out (cap
 * bytes). Returns its exit status; fails the test when it does not end within 20 s.
 */
static int run_driver(const fake_t *f, char *out, size_t cap)
{
    char url[64], path[] = "/tmp/agent_flow_test.XXXXXX";
    int fd = mkstemp(path), status = -1;
    pid_t pid;
    ssize_t n;

    assert_true(fd >= 0);
    unlink(path);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        execl(driver_bin, driver_bin, "--url", url, "--concurrency", "1", "--duration", "0.3",
              "--warmup", "0", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 2000 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(10000);
    if (waitpid(pid, &status, WNOHANG) == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("agent_flow did not end within 20 s");
    }
    n = pread(fd, out, cap - 1, 0);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The ok and failed counts of row `name` of the driver's table in out; fails when absent. */
static void row(const char *out, const char *name, long *ok, long *failed)
{
    char key[32];
    const char *p;

    snprintf(key, sizeof key, "\n%s ", name);
    p = strstr(out, key);
    if (p == NULL || sscanf(p + strlen(key), "%ld %ld", ok, failed) != 2)
        fail_msg("no row %s in:\n%s", name, out);
}

static const char *const steps[] = {"create_assistant", "create_thread", "run_wait",
                                    "run_stream",       "get_state",     "stateless_wait",
                                    "store_put",        "store_get",     "store_search",
                                    "store_delete",     "delete_thread", "delete_assistant"};

/* Every step and flow succeeds against a correct fake, across reconnects and odd framing. */
static void test_good_flows(void **state)
{
    char out[8192];
    fake_t f;
    long ok, failed;
    int rc;

    (void)state;
    fake_start(&f, FAULT_NONE);
    rc = run_driver(&f, out, sizeof out);
    fake_stop(&f);
    print_message("%s", out);
    assert_int_equal(f.bad_requests, 0);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        row(out, steps[i], &ok, &failed);
        assert_true(ok > 0);
        assert_int_equal(failed, 0);
    }
    row(out, "flow", &ok, &failed);
    assert_true(ok > 0); /* 12 answers a flow: 3 of them end with a silent close */
    assert_int_equal(failed, 0);
}

/* Runs the driver against a fake with `fault`: step `step` must fail and no flow succeed. */
static void expect_failing_step(fault_t fault, const char *step)
{
    char out[8192];
    fake_t f;
    long ok, failed;
    int rc;

    fake_start(&f, fault);
    rc = run_driver(&f, out, sizeof out);
    fake_stop(&f);
    assert_int_equal(f.bad_requests, 0);
    assert_int_equal(rc, 1);
    row(out, step, &ok, &failed);
    if (failed == 0 || ok != 0)
        fail_msg("step %s: %ld ok, %ld failed in:\n%s", step, ok, failed, out);
    row(out, "flow", &ok, &failed);
    assert_int_equal(ok, 0);
    assert_true(failed > 0);
    assert_non_null(strstr(out, "last error: "));
}

static void test_run_error(void **state)
{
    (void)state;
    expect_failing_step(FAULT_RUN_ERROR, "run_wait");
}

static void test_run_not_ai(void **state)
{
    (void)state;
    expect_failing_step(FAULT_RUN_NOT_AI, "run_wait");
}

static void test_stream_error(void **state)
{
    (void)state;
    expect_failing_step(FAULT_STREAM_ERROR, "run_stream");
}

static void test_stream_without_messages(void **state)
{
    (void)state;
    expect_failing_step(FAULT_STREAM_NO_MESSAGES, "run_stream");
}

static void test_short_state(void **state)
{
    (void)state;
    expect_failing_step(FAULT_SHORT_STATE, "get_state");
}

static void test_bad_json(void **state)
{
    (void)state;
    expect_failing_step(FAULT_BAD_JSON, "create_thread");
}

static void test_store_value(void **state)
{
    (void)state;
    expect_failing_step(FAULT_STORE_VALUE, "store_get");
}

static void test_hang_up(void **state)
{
    (void)state;
    expect_failing_step(FAULT_HANG_UP, "create_assistant");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_flows),
        cmocka_unit_test(test_run_error),
        cmocka_unit_test(test_run_not_ai),
        cmocka_unit_test(test_stream_error),
        cmocka_unit_test(test_stream_without_messages),
        cmocka_unit_test(test_short_state),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_store_value),
        cmocka_unit_test(test_hang_up),
    };

    if (argc < 2) {
        fprintf(stderr, "usage: %s <path of agent_flow>\n", argv[0]);
        return 2;
    }
    driver_bin = argv[1];
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
