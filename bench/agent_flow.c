/*
 * bench/agent_flow.c — load driver of the agent flow (DESIGN §10) against a running lgserve.
 *
 * Each of --concurrency client threads repeats, until --duration seconds have passed, one flow:
 * create an assistant (graph `agent`), create a thread, run wait, run stream (values, updates,
 * messages-tuple), get the thread state, a stateless run wait, store put/get/search/delete,
 * delete the thread, delete the assistant. Every step checks its status code and the shape of
 * its answer (answers must be valid JSON with the ids and values the flow expects; a run must
 * carry no __error__ and end with an AI message; a stream must have `values` and `messages`
 * events and no `error` event); a failed step ends its flow, which is then counted as failed. After --warmup seconds of
 * unrecorded flows it prints flows/s and the p50/p95/p99 latency of every step and of the
 * whole flow (successful steps and flows only).
 *
 * With --hold-streams N it instead starts one long background run (model --hold-model, default
 * openai:mock-slow-3600000) and opens N join streams (GET /threads/{tid}/runs/{rid}/stream) on
 * it with libcurl multi, prints "holding N streams" once all have answered with headers, keeps
 * them open for --duration seconds and then cancels the run; meanwhile the server's RSS can be
 * read with ps.
 *
 * The driver shares the benchmark machine's CPUs with lgserve, so it is kept lean. Since
 * 2026-11-27 each client thread speaks HTTP/1.1 itself over one blocking keep-alive TCP socket
 * (TCP_NODELAY; one send per request; status line, headers, Content-Length and chunked bodies
 * read into one reusable buffer, chunks decoded in place) instead of a libcurl easy handle per
 * thread, and reads what it checks from the JSON text in place instead of parsing it with
 * jansson: its CPU per flow went from ~1.6 ms to ~0.5 ms (0.1 user, 0.4 sys, mostly loopback TCP)
 * on a loaded machine; results/agent_flow.md. The request bytes are those curl sent (method,
 * path, Host, Accept, Content-Type: application/json, Content-Length), so the server's work is
 * unchanged. A connection the server closed is reopened once per request; a second failure fails
 * the step. Only --hold-streams still uses libcurl (multi).
 *
 * Memory: each client owns its socket and its receive buffer (grown as needed, kept across
 * requests); latencies grow in per-thread arrays merged at the end.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

/* The steps of one flow, in order. */
#define FLOW_STEPS(X)                                                                              \
    X(CREATE_ASSISTANT, "create_assistant")                                                        \
    X(CREATE_THREAD, "create_thread")                                                              \
    X(RUN_WAIT, "run_wait")                                                                        \
    X(RUN_STREAM, "run_stream")                                                                    \
    X(GET_STATE, "get_state")                                                                      \
    X(STATELESS_WAIT, "stateless_wait")                                                            \
    X(STORE_PUT, "store_put")                                                                      \
    X(STORE_GET, "store_get")                                                                      \
    X(STORE_SEARCH, "store_search")                                                                \
    X(STORE_DELETE, "store_delete")                                                                \
    X(DELETE_THREAD, "delete_thread")                                                              \
    X(DELETE_ASSISTANT, "delete_assistant")

#define FLOW_ENUM(id, name) STEP_##id,
enum { FLOW_STEPS(FLOW_ENUM) STEP_COUNT };
#define FLOW_NAME(id, name) name,
static const char *const step_names[STEP_COUNT] = {FLOW_STEPS(FLOW_NAME)};

/* Options. */
static struct {
    const char *url;
    int concurrency;
    double duration_s;
    double warmup_s;
    const char *model;
    int hold_streams;
    const char *hold_model;
} opt = {.url = "http://127.0.0.1:2024", .concurrency = 5, .duration_s = 10, .warmup_s = 2,
         .model = "openai:mock", .hold_model = "openai:mock-slow-3600000"};

/* The server of opt.url, resolved once by main: Host header, path prefix, addresses. */
static struct {
    char authority[256];     /* host[:port] as written in the URL: the Host header */
    const char *prefix;      /* borrowed from opt.url: the path before every request path */
    struct addrinfo *addrs;  /* owned by main */
} server;

/* A growable array of latencies in microseconds. */
typedef struct lat_vec {
    uint32_t *v;
    size_t n, cap;
} lat_vec_t;

/* A response body (libcurl, --hold-streams only). */
typedef struct body {
    char *data;
    size_t len, cap;
} body_t;

/*
 * The keep-alive connection of one client thread and its last answer. `buf` (owned) holds the
 * request while it is sent, then the response head followed by the decoded body; `body` points
 * into it (NUL-terminated, `body_len` bytes; NULL when there is no answer).
 */
typedef struct conn {
    int fd; /* -1 when closed */
    char *buf;
    size_t cap;
    const char *body;
    size_t body_len;
} conn_t;

/* One client thread. */
typedef struct client {
    pthread_t thread;
    int index;
    conn_t conn;
    lat_vec_t steps[STEP_COUNT];
    lat_vec_t flows;
    long flows_failed;
    long step_failures[STEP_COUNT];
    char last_error[512];
} client_t;

static double t_start, t_record, t_end; /* monotonic seconds */

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void lat_push(lat_vec_t *l, double seconds)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        uint32_t *v = realloc(l->v, cap * sizeof(*v));

        if (v == NULL)
            return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = (uint32_t)(seconds * 1e6 + 0.5);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    body_t *b = user;
    size_t n = size * nmemb;

    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *d;

        while (cap < b->len + n + 1)
            cap *= 2;
        d = realloc(b->data, cap);
        if (d == NULL)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/*
 * Splits opt.url (http://host[:port][/prefix]) into `server` and resolves the host. Returns 0,
 * or -1 after a message on stderr.
 */
static int server_resolve(void)
{
    const char *auth = opt.url + strlen("http://"), *end, *colon;
    char host[256], port[16] = "80";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc;

    if (strncmp(opt.url, "http://", 7) != 0) {
        fprintf(stderr, "agent_flow: --url must start with http://\n");
        return -1;
    }
    end = auth + strcspn(auth, "/");
    if ((size_t)(end - auth) >= sizeof server.authority || end == auth ||
        memchr(auth, '@', (size_t)(end - auth)) != NULL) {
        fprintf(stderr, "agent_flow: --url: bad host '%.*s'\n", (int)(end - auth), auth);
        return -1;
    }
    memcpy(server.authority, auth, (size_t)(end - auth));
    server.authority[end - auth] = '\0';
    server.prefix = end;
    if (auth[0] == '[') { /* [v6 address][:port] */
        const char *close = memchr(auth, ']', (size_t)(end - auth));

        if (close == NULL || close - auth - 1 >= (long)sizeof host) {
            fprintf(stderr, "agent_flow: --url: bad host '%s'\n", server.authority);
            return -1;
        }
        snprintf(host, sizeof host, "%.*s", (int)(close - auth - 1), auth + 1);
        colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(auth, ':', (size_t)(end - auth));
        snprintf(host, sizeof host, "%.*s", (int)((colon ? colon : end) - auth), auth);
    }
    if (colon != NULL)
        snprintf(port, sizeof port, "%.*s", (int)(end - colon - 1), colon + 1);
    rc = getaddrinfo(host, port, &hints, &server.addrs);
    if (rc != 0) {
        fprintf(stderr, "agent_flow: --url: %s: %s\n", server.authority, gai_strerror(rc));
        return -1;
    }
    return 0;
}

/* Closes the client's connection, if open. */
static void conn_close(conn_t *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
}

/* Opens the client's connection to the server. Returns 0, or -1 with errno set. */
static int conn_open(conn_t *k)
{
    struct timeval tv = {60, 0}; /* a step gives up after a minute without progress */
    int one = 1, err = ECONNREFUSED;

    for (const struct addrinfo *a = server.addrs; a != NULL; a = a->ai_next) {
        k->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (k->fd < 0) {
            err = errno;
            continue;
        }
        setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(k->fd, a->ai_addr, a->ai_addrlen) == 0)
            return 0;
        err = errno;
        conn_close(k);
    }
    errno = err;
    return -1;
}

/* Makes room for `need` more bytes after the first `len` of k->buf. Returns 0 or -1. */
static int conn_reserve(conn_t *k, size_t len, size_t need)
{
    size_t cap = k->cap ? k->cap : 65536;
    char *b;

    if (len + need + 1 <= k->cap)
        return 0;
    while (cap < len + need + 1)
        cap *= 2;
    b = realloc(k->buf, cap);
    if (b == NULL)
        return -1;
    k->buf = b;
    k->cap = cap;
    return 0;
}

/* Sends the first `len` bytes of k->buf. Returns 0, or -1 with errno set. */
static int conn_send(conn_t *k, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = send(k->fd, k->buf + off, len - off, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

/*
 * Receives more of the response into k->buf after its first `*len` bytes, growing it when less
 * than 4 KiB is free. Returns the bytes received, 0 at the end of the stream, or -1 with errno
 * set (ETIMEDOUT after 60 s without a byte).
 */
static ssize_t conn_recv(conn_t *k, size_t *len)
{
    ssize_t n;

    if (conn_reserve(k, *len, 4096) != 0) {
        errno = ENOMEM;
        return -1;
    }
    do
        n = recv(k->fd, k->buf + *len, k->cap - *len - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        *len += (size_t)n;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        errno = ETIMEDOUT;
    return n;
}

/* The value of header `name` (lower case, with the colon) in the head line [p, eol), or NULL. */
static const char *header_value(const char *p, const char *eol, const char *name, size_t n)
{
    if ((size_t)(eol - p) < n || strncasecmp(p, name, n) != 0)
        return NULL;
    for (p += n; p < eol && (*p == ' ' || *p == '\t'); p++)
        ;
    return p;
}

/* The \r\n\r\n that ends a response head in [p, end), or NULL. */
static char *find_eoh(char *start, char *end)
{
    char *p = start, *nl;

    while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        if (nl - start >= 3 && nl[-1] == '\r' && nl[-2] == '\n' && nl[-3] == '\r')
            return nl - 3;
        p = nl + 1;
    }
    return NULL;
}

/* Outcomes of conn_response besides 0. */
enum { RESP_ERROR = -1, RESP_CLOSED = -2 /* closed before the first byte: may be retried */ };

/*
 * Reads one response from the connection into k->buf: sets *status, k->body and k->body_len.
 * Bodies are delimited by Content-Length, by chunked transfer-encoding (decoded in place) or by
 * the end of the connection; the connection is closed when the server asked for it or the body
 * ended with it. Returns 0, RESP_CLOSED, or RESP_ERROR with *why set (a static string).
 */
static int conn_response(conn_t *k, long *status, const char **why)
{
    size_t len = 0, head = 0, start, w, r;
    char *eoh = NULL;
    unsigned long long clen = 0;
    int chunked, has_len, close_after;
    ssize_t n;

Head:
    *why = "bad response";
    while ((eoh = find_eoh(k->buf + head, k->buf + len)) == NULL) {
        n = conn_recv(k, &len);
        if (n == 0 && len == 0)
            return RESP_CLOSED;
        if (n < 0 && len == 0 && (errno == ECONNRESET || errno == EPIPE))
            return RESP_CLOSED;
        if (n <= 0) {
            *why = n == 0 ? "connection closed in the response head" : strerror(errno);
            goto Fail;
        }
        if (len - head > 65536) {
            *why = "response head over 64 KiB";
            goto Fail;
        }
    }
    k->buf[len] = '\0';
    if (strncmp(k->buf + head, "HTTP/1.", 7) != 0 || k->buf[head + 8] != ' ')
        goto Fail;
    *status = strtol(k->buf + head + 9, NULL, 10);
    if (*status < 100 || *status > 599)
        goto Fail;
    chunked = has_len = 0;
    close_after = k->buf[head + 7] == '0';
    for (char *p = (char *)memchr(k->buf + head, '\n', len - head) + 1; p < eoh + 2;) {
        /* the head's lines end with \r\n (find_eoh found one) */
        char *eol = (char *)memchr(p, '\n', (size_t)(eoh + 2 - p)) - 1;
        const char *v;

        if ((*p | 0x20) != 'c' && (*p | 0x20) != 't') {
            p = eol + 2;
            continue; /* none of the headers read here */
        }
        if ((v = header_value(p, eol, "content-length:", 15)) != NULL) {
            clen = strtoull(v, NULL, 10);
            has_len = 1;
        } else if ((v = header_value(p, eol, "transfer-encoding:", 18)) != NULL) {
            chunked = memmem(v, (size_t)(eol - v), "chunked", 7) != NULL;
        } else if ((v = header_value(p, eol, "connection:", 11)) != NULL) {
            close_after = strncasecmp(v, "close", 5) == 0 ? 1 : close_after;
        }
        p = eol + 2;
    }
    if (*status < 200) { /* an interim answer (100 Continue): the real one follows */
        head = (size_t)(eoh + 4 - k->buf);
        goto Head;
    }
    start = w = r = (size_t)(eoh + 4 - k->buf);
    if (*status == 204 || *status == 304) {
        len = w;
    } else if (chunked) {
        for (;;) { /* [head][decoded body, up to w][unparsed, from r to len] */
            char *line = k->buf + r, *eol, *end;
            unsigned long long size;

            k->buf[len] = '\0';
            eol = memmem(line, len - r, "\r\n", 2);
            if (eol != NULL) {
                size = strtoull(line, &end, 16);
                if (!isxdigit((unsigned char)*line) || (*end != ';' && *end != '\r') ||
                    size > (1ULL << 30))
                    goto Fail;
                if (size == 0) { /* the last chunk: skip the trailers up to an empty line */
                    char *t = eol + 2, *tl;

                    while ((tl = memmem(t, (size_t)(k->buf + len - t), "\r\n", 2)) != NULL &&
                           tl != t)
                        t = tl + 2;
                    if (tl != NULL)
                        break;
                } else if ((size_t)(eol + 2 - k->buf) + size + 2 <= len) {
                    char *data = eol + 2;

                    if (data[size] != '\r' || data[size + 1] != '\n')
                        goto Fail;
                    memmove(k->buf + w, data, size);
                    w += size;
                    r = (size_t)(data - k->buf) + size + 2;
                    continue;
                }
            } else if (len - r > 1024) {
                goto Fail; /* no chunk-size line is that long */
            }
            if (k->cap - len < 4096 && r > w) { /* compact before growing */
                memmove(k->buf + w, k->buf + r, len - r);
                len -= r - w;
                r = w;
            }
            n = conn_recv(k, &len);
            if (n <= 0) {
                *why = n == 0 ? "connection closed in a chunked body" : strerror(errno);
                goto Fail;
            }
        }
        len = w;
    } else if (has_len) {
        if (clen > (1ULL << 30))
            goto Fail;
        if (conn_reserve(k, w, (size_t)clen) != 0) {
            *why = "out of memory";
            goto Fail;
        }
        while (len < w + clen) {
            n = conn_recv(k, &len);
            if (n <= 0) {
                *why = n == 0 ? "connection closed in the body" : strerror(errno);
                goto Fail;
            }
        }
        len = w + (size_t)clen;
    } else { /* the body ends with the connection */
        while ((n = conn_recv(k, &len)) > 0)
            ;
        if (n < 0) {
            *why = strerror(errno);
            goto Fail;
        }
        close_after = 1;
    }
    k->buf[len] = '\0';
    k->body = k->buf + start;
    k->body_len = len - start;
    if (close_after)
        conn_close(k);
    return 0;
Fail:
    conn_close(k);
    return RESP_ERROR;
}

/* Copies `s` (without its NUL) to `q`; returns the byte after it. */
static char *put(char *q, const char *s)
{
    size_t n = strlen(s);

    memcpy(q, s, n);
    return q + n;
}

/*
 * One request: `method` to the server's prefix + `path` (borrowed) with `payload` (borrowed
 * JSON text or NULL), accepting an event stream when `sse`. Opens the connection when it is
 * closed and, when the server closed it before answering, reopens it and sends once more. The
 * body lands in c->conn.body (owned by the client). Returns the HTTP status, or -1 with
 * c->last_error set.
 */
static long request(client_t *c, const char *method, const char *path, const char *payload,
                    int sse)
{
    conn_t *k = &c->conn;
    size_t plen = payload != NULL ? strlen(payload) : 0, len;
    long status = -1;
    int rc = RESP_CLOSED;
    char *q;
    const char *why = "";
    char err[64] = "";

    k->body = NULL;
    k->body_len = 0;
    if (conn_reserve(k, 0, plen + strlen(path) + strlen(server.prefix) + 512) != 0) {
        snprintf(err, sizeof err, "out of memory");
        goto Exit;
    }
    q = put(k->buf, method);
    q = put(q, " ");
    q = put(q, server.prefix);
    q = put(q, path);
    q = put(q, " HTTP/1.1\r\nHost: ");
    q = put(q, server.authority);
    q = put(q, sse ? "\r\nAccept: text/event-stream" : "\r\nAccept: */*");
    q = put(q, "\r\nContent-Type: application/json\r\n");
    if (payload != NULL) {
        char digits[24], *d = digits + sizeof digits;

        *--d = '\0';
        for (size_t v = plen; d == digits + sizeof digits - 1 || v > 0; v /= 10)
            *--d = (char)('0' + v % 10);
        q = put(q, "Content-Length: ");
        q = put(q, d);
        q = put(q, "\r\n");
    }
    q = put(q, "\r\n");
    memcpy(q, payload != NULL ? payload : "", plen);
    len = (size_t)(q - k->buf) + plen;
    for (int attempt = 0; attempt < 2 && rc == RESP_CLOSED; attempt++) {
        if (k->fd < 0 && conn_open(k) != 0) {
            snprintf(err, sizeof err, "connect: %s", strerror(errno));
            goto Exit;
        }
        if (conn_send(k, len) != 0) {
            snprintf(err, sizeof err, "send: %s", strerror(errno));
            conn_close(k);
            continue; /* the server closed the kept-alive connection: once more on a new one */
        }
        rc = conn_response(k, &status, &why);
        if (rc == RESP_CLOSED) {
            snprintf(err, sizeof err, "connection closed before the response");
            conn_close(k);
        }
    }
    if (rc == RESP_ERROR)
        snprintf(err, sizeof err, "%s", why);
    if (rc != 0)
        status = -1;
Exit:
    if (status < 0)
        snprintf(c->last_error, sizeof c->last_error, "%s %.200s: %s", method, path, err);
    return status;
}

/*
 * The answers are checked by walking their JSON text in place, without building values: a
 * jspan_t is a value that starts at p in a body whose JSON text ends at `end`; p is NULL for
 * none. The body is validated as a whole first (js_body); the lookups then trust its syntax and
 * walk only what lies before what they look for. Strings are scanned up to the next
 * byte js_stop marks (quote, backslash, control byte): the NUL after every body ends them too.
 */
typedef struct jspan {
    const char *p, *end;
} jspan_t;

static const char *js_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* 1 for the bytes that end a run of plain string bytes; filled by js_init. */
static unsigned char js_stop[256];

static void js_init(void)
{
    for (int ch = 0; ch < 0x20; ch++)
        js_stop[ch] = 1;
    js_stop['"'] = js_stop['\\'] = 1;
}

/*
 * `p` at a string's opening quote in a NUL-terminated body: returns the byte after its closing
 * quote, or NULL.
 */
static const char *js_str_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        while (!js_stop[(unsigned char)*p])
            p++;
        if (*p == '"')
            return p + 1;
        if (*p != '\\' || p + 1 >= end)
            return NULL;
        p++; /* the escaped byte; \u's four digits are plain bytes */
    }
    return NULL;
}

/* `p` at a value: returns the byte after it, or NULL when it is not valid JSON. */
static const char *js_skip(const char *p, const char *end, int depth)
{
    const char *q;
    char close;

    if (p >= end || depth > 128)
        return NULL;
    switch (*p) {
    case '"':
        return js_str_end(p, end);
    case '{':
    case '[':
        close = *p == '{' ? '}' : ']';
        p = js_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (p >= end || *p != '"' || (p = js_str_end(p, end)) == NULL)
                    return NULL;
                p = js_ws(p, end);
                if (p >= end || *p != ':')
                    return NULL;
                p = js_ws(p + 1, end);
            }
            if ((p = js_skip(p, end, depth + 1)) == NULL)
                return NULL;
            p = js_ws(p, end);
            if (p < end && *p == close)
                return p + 1;
            if (p >= end || *p != ',')
                return NULL;
            p = js_ws(p + 1, end);
        }
    case 't':
        return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: /* a number: digits first, then any of fraction and exponent */
        q = p + (*p == '-');
        if (q >= end || !isdigit((unsigned char)*q))
            return NULL;
        while (q < end && (isdigit((unsigned char)*q) || *q == '.' || *q == 'e' || *q == 'E' ||
                           *q == '+' || *q == '-'))
            q++;
        return q;
    }
}

/* The client's last body as a JSON value when it is valid JSON, else none. */
static jspan_t js_body(const client_t *c)
{
    jspan_t v = {NULL, NULL};
    const char *end = c->conn.body + c->conn.body_len, *p, *q;

    if (c->conn.body == NULL)
        return v;
    p = js_ws(c->conn.body, end);
    q = js_skip(p, end, 0);
    if (q != NULL && js_ws(q, end) == end) {
        v.p = p;
        v.end = q;
    }
    return v;
}

/* Member `key` (written without escapes) of `obj` when it is an object that has it, else none. */
static jspan_t js_get(jspan_t obj, const char *key)
{
    jspan_t v = {NULL, NULL};
    size_t klen = strlen(key);
    const char *p;

    if (obj.p == NULL || *obj.p != '{')
        return v;
    for (p = js_ws(obj.p + 1, obj.end); *p == '"';) {
        const char *k = p + 1, *kend = js_str_end(p, obj.end) - 1;
        const char *val = js_ws(js_ws(kend + 1, obj.end) + 1, obj.end);

        if ((size_t)(kend - k) == klen && memcmp(k, key, klen) == 0) {
            v.p = val;
            v.end = obj.end;
            return v;
        }
        p = js_ws(js_skip(val, obj.end, 0), obj.end);
        if (*p != ',')
            break;
        p = js_ws(p + 1, obj.end);
    }
    return v;
}

/* The number of elements of `arr`, -1 when it is not an array; *last (if not NULL) = the last. */
static long js_array(jspan_t arr, jspan_t *last)
{
    const char *p;
    long n = 0;

    if (arr.p == NULL || *arr.p != '[')
        return -1;
    for (p = js_ws(arr.p + 1, arr.end); *p != ']';) {
        const char *e = js_skip(p, arr.end, 0);

        if (last != NULL) {
            last->p = p;
            last->end = arr.end;
        }
        n++;
        p = js_ws(e, arr.end);
        if (*p == ',')
            p = js_ws(p + 1, arr.end);
    }
    return n;
}

/* 1 when `v` is the string `s` (written without escapes). */
static int js_is_str(jspan_t v, const char *s)
{
    size_t n = strlen(s);

    return v.p != NULL && *v.p == '"' && (size_t)(v.end - v.p) >= n + 2 &&
           memcmp(v.p + 1, s, n) == 0 && v.p[n + 1] == '"';
}

/* Copies string `v` without escapes into dst (`cap` bytes). Returns 0, or -1 for anything else. */
static int js_copy_str(jspan_t v, char *dst, size_t cap)
{
    size_t n;

    if (v.p == NULL || *v.p != '"')
        return -1;
    n = (size_t)(js_str_end(v.p, v.end) - v.p) - 2;
    if (n == 0 || n >= cap || memchr(v.p + 1, '\\', n) != NULL)
        return -1;
    memcpy(dst, v.p + 1, n);
    dst[n] = '\0';
    return 0;
}

/* 1 when `v` is the integer `n` (written as an integer). */
static int js_is_int(jspan_t v, long n)
{
    char text[32];
    int len = snprintf(text, sizeof text, "%ld", n);

    return v.p != NULL && v.end - v.p >= len && memcmp(v.p, text, (size_t)len) == 0 &&
           (v.p + len == v.end || memchr("0123456789.eE+-", v.p[len], 15) == NULL);
}

/* 1 when `run` (a run's final values) carries no __error__ and ends with an AI message. */
static int ends_with_ai(jspan_t run)
{
    jspan_t last = {NULL, NULL};

    return js_get(run, "__error__").p == NULL &&
           js_array(js_get(run, "messages"), &last) > 0 && js_is_str(js_get(last, "type"), "ai");
}

/*
 * 1 when the event stream `body` (borrowed, `len` bytes, or NULL) has a `values` event and a
 * `messages...` event and no `error...` event, reading only its `event:` lines.
 */
static int stream_ok(const char *body, size_t len)
{
    const char *p = body, *end = body + len, *eol;
    int values = 0, messages = 0;

    if (body == NULL)
        return 0;
    for (; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        if (eol - p < 7 || memcmp(p, "event: ", 7) != 0)
            continue;
        p += 7;
        if (eol - p >= 5 && memcmp(p, "error", 5) == 0)
            return 0;
        if (eol - p >= 6 && memcmp(p, "values", 6) == 0)
            values = 1;
        else if (eol - p >= 8 && memcmp(p, "messages", 8) == 0)
            messages = 1;
    }
    return values && messages;
}

/* Records a step failure with its status and the start of the body; returns -1. */
static int step_fail(client_t *c, int step, long status, const char *why)
{
    if (step < 0 || step >= STEP_COUNT)
        return -1;
    c->step_failures[step]++;
    if (status >= 0)
        snprintf(c->last_error, sizeof c->last_error, "%s: %s (status %ld): %.300s",
                 step_names[step], why, status, c->conn.body ? c->conn.body : "");
    return -1;
}

/*
 * Runs step `step` of flow number `n` of client `c`. `assistant_id` and `thread_id` (64-byte
 * buffers owned by the caller) are filled by the create steps and read by the others. Returns
 * 0, or -1 (counted in step_failures, described in last_error).
 */
static int run_step(client_t *c, int step, char *assistant_id, char *thread_id, int n)
{
    char path[512], payload[1024];
    const char *input = "{\"messages\": [{\"role\": \"user\", \"content\": \"hello agent\"}]}";
    long st;
    int rc = -1;

    switch (step) {
    case STEP_CREATE_ASSISTANT:
        snprintf(payload, sizeof payload,
                 "{\"graph_id\": \"agent\", \"name\": \"bench-%d-%d\", \"config\": "
                 "{\"configurable\": {\"model_name\": \"%s\"}}}",
                 c->index, n, opt.model);
        st = request(c, "POST", "/assistants", payload, 0);
        if (st != 200 || js_copy_str(js_get(js_body(c), "assistant_id"), assistant_id, 64) != 0)
            goto Fail;
        break;
    case STEP_CREATE_THREAD:
        st = request(c, "POST", "/threads", "{\"metadata\": {\"bench\": \"agent_flow\"}}", 0);
        if (st != 200 || js_copy_str(js_get(js_body(c), "thread_id"), thread_id, 64) != 0)
            goto Fail;
        break;
    case STEP_RUN_WAIT:
    case STEP_STATELESS_WAIT:
        if (step == STEP_RUN_WAIT)
            snprintf(path, sizeof path, "/threads/%s/runs/wait", thread_id);
        else
            snprintf(path, sizeof path, "/runs/wait");
        snprintf(payload, sizeof payload, "{\"assistant_id\": \"%s\", \"input\": %s}",
                 assistant_id, input);
        st = request(c, "POST", path, payload, 0);
        if (st != 200 || !ends_with_ai(js_body(c)))
            goto Fail;
        break;
    case STEP_RUN_STREAM:
        snprintf(path, sizeof path, "/threads/%s/runs/stream", thread_id);
        snprintf(payload, sizeof payload,
                 "{\"assistant_id\": \"%s\", \"input\": %s, \"stream_mode\": [\"values\", "
                 "\"updates\", \"messages-tuple\"]}",
                 assistant_id, input);
        st = request(c, "POST", path, payload, 1);
        if (st != 200 || !stream_ok(c->conn.body, c->conn.body_len))
            goto Fail;
        break;
    case STEP_GET_STATE:
        snprintf(path, sizeof path, "/threads/%s/state", thread_id);
        st = request(c, "GET", path, NULL, 0);
        if (st != 200 || js_array(js_get(js_get(js_body(c), "values"), "messages"), NULL) != 4)
            goto Fail;
        break;
    case STEP_STORE_PUT:
        snprintf(payload, sizeof payload,
                 "{\"namespace\": [\"bench\", \"%s\"], \"key\": \"k\", \"value\": {\"n\": %d}}",
                 thread_id, n);
        st = request(c, "PUT", "/store/items", payload, 0);
        if (st != 204 && st != 200)
            goto Fail;
        break;
    case STEP_STORE_GET:
        snprintf(path, sizeof path, "/store/items?namespace=bench.%s&key=k", thread_id);
        st = request(c, "GET", path, NULL, 0);
        if (st != 200 || !js_is_int(js_get(js_get(js_body(c), "value"), "n"), n))
            goto Fail;
        break;
    case STEP_STORE_SEARCH:
        snprintf(payload, sizeof payload, "{\"namespace_prefix\": [\"bench\", \"%s\"]}",
                 thread_id);
        st = request(c, "POST", "/store/items/search", payload, 0);
        if (st != 200 || js_array(js_get(js_body(c), "items"), NULL) != 1)
            goto Fail;
        break;
    case STEP_STORE_DELETE:
        snprintf(payload, sizeof payload, "{\"namespace\": [\"bench\", \"%s\"], \"key\": \"k\"}",
                 thread_id);
        st = request(c, "DELETE", "/store/items", payload, 0);
        if (st != 204 && st != 200)
            goto Fail;
        break;
    case STEP_DELETE_THREAD:
        snprintf(path, sizeof path, "/threads/%s", thread_id);
        st = request(c, "DELETE", path, NULL, 0);
        if (st != 204 && st != 200)
            goto Fail;
        break;
    case STEP_DELETE_ASSISTANT:
        snprintf(path, sizeof path, "/assistants/%s", assistant_id);
        st = request(c, "DELETE", path, NULL, 0);
        if (st != 204 && st != 200)
            goto Fail;
        break;
    default:
        st = -1;
        goto Fail;
    }
    rc = 0;
    goto Exit;
Fail:
    rc = step_fail(c, step, st, "unexpected answer");
Exit:
    return rc;
}

static void *client_main(void *arg)
{
    client_t *c = arg;
    char assistant_id[64], thread_id[64];
    int n = 0;

    while (now_s() < t_end) {
        double f0 = now_s();
        int recording = f0 >= t_record, ok = 1;

        assistant_id[0] = thread_id[0] = '\0';
        n++;
        for (int s = 0; s < STEP_COUNT; s++) {
            double s0 = now_s();

            if (run_step(c, s, assistant_id, thread_id, n) != 0) {
                ok = 0;
                break;
            }
            if (recording)
                lat_push(&c->steps[s], now_s() - s0);
        }
        if (recording) {
            if (ok)
                lat_push(&c->flows, now_s() - f0);
            else
                c->flows_failed++;
        }
        if (!ok) {
            struct timespec ts = {0, 10 * 1000 * 1000}; /* do not spin on a dead server */
            char why[sizeof c->last_error];

            /* best effort, unrecorded: leave nothing of the failed flow behind */
            memcpy(why, c->last_error, sizeof why);
            if (thread_id[0] != '\0')
                run_step(c, STEP_DELETE_THREAD, assistant_id, thread_id, n);
            if (assistant_id[0] != '\0')
                run_step(c, STEP_DELETE_ASSISTANT, assistant_id, thread_id, n);
            memcpy(c->last_error, why, sizeof why);
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* Sorts `all` (borrowed, the merged latencies of one step or of the flow) and prints its row. */
static void print_row(const char *name, lat_vec_t *all, long failures)
{
    double p50 = 0, p95 = 0, p99 = 0, mean = 0;

    if (all->n > 0) {
        qsort(all->v, all->n, sizeof(all->v[0]), cmp_u32);
        p50 = all->v[(size_t)(0.50 * (double)(all->n - 1))] / 1000.0;
        p95 = all->v[(size_t)(0.95 * (double)(all->n - 1))] / 1000.0;
        p99 = all->v[(size_t)(0.99 * (double)(all->n - 1))] / 1000.0;
        for (size_t i = 0; i < all->n; i++)
            mean += all->v[i];
        mean = mean / (double)all->n / 1000.0;
    }
    printf("%-18s %9zu %8ld %9.2f %9.2f %9.2f %9.2f\n", name, all->n, failures, mean, p50, p95,
           p99);
}

static void merge(lat_vec_t *dst, const lat_vec_t *src)
{
    for (size_t i = 0; i < src->n; i++) {
        if (dst->n == dst->cap) {
            size_t cap = dst->cap ? dst->cap * 2 : 1024;
            uint32_t *v = realloc(dst->v, cap * sizeof(*v));

            if (v == NULL)
                return;
            dst->v = v;
            dst->cap = cap;
        }
        dst->v[dst->n++] = src->v[i];
    }
}

static void client_init(client_t *c, int index)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->conn.fd = -1;
}

static void client_free(client_t *c)
{
    conn_close(&c->conn);
    free(c->conn.buf);
    for (int s = 0; s < STEP_COUNT; s++)
        free(c->steps[s].v);
    free(c->flows.v);
}

/* The load run: returns the process exit status. */
static int run_flows(void)
{
    client_t *clients = calloc((size_t)opt.concurrency, sizeof(*clients));
    lat_vec_t all = {0};
    long failed = 0, step_fail_total[STEP_COUNT] = {0};
    size_t ok_flows = 0;
    const char *last_error = NULL;
    int rc = 1;

    if (clients == NULL)
        return 1;
    t_start = now_s();
    t_record = t_start + opt.warmup_s;
    t_end = t_record + opt.duration_s;
    for (int i = 0; i < opt.concurrency; i++) {
        client_init(&clients[i], i);
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0) {
            fprintf(stderr, "agent_flow: cannot start client %d\n", i);
            t_end = 0;
            opt.concurrency = i;
            goto Join;
        }
    }
Join:
    for (int i = 0; i < opt.concurrency; i++)
        pthread_join(clients[i].thread, NULL);

    printf("agent_flow: url %s, concurrency %d, duration %.1f s (after %.1f s warm-up), model %s\n",
           opt.url, opt.concurrency, opt.duration_s, opt.warmup_s, opt.model);
    printf("%-18s %9s %8s %9s %9s %9s %9s\n", "step", "ok", "failed", "mean ms", "p50 ms",
           "p95 ms", "p99 ms");
    for (int s = 0; s < STEP_COUNT; s++) {
        all.n = 0;
        for (int i = 0; i < opt.concurrency; i++) {
            merge(&all, &clients[i].steps[s]);
            step_fail_total[s] += clients[i].step_failures[s];
        }
        print_row(step_names[s], &all, step_fail_total[s]);
    }
    all.n = 0;
    for (int i = 0; i < opt.concurrency; i++) {
        merge(&all, &clients[i].flows);
        failed += clients[i].flows_failed;
        if (clients[i].last_error[0] != '\0')
            last_error = clients[i].last_error;
    }
    ok_flows = all.n;
    print_row("flow", &all, failed);
    printf("flows/s: %.1f (%zu ok, %ld failed in %.1f s)\n", (double)ok_flows / opt.duration_s,
           ok_flows, failed, opt.duration_s);
    if (last_error != NULL)
        printf("last error: %s\n", last_error);
    rc = failed == 0 && ok_flows > 0 ? 0 : 1;
    for (int i = 0; i < opt.concurrency; i++)
        client_free(&clients[i]);
    free(all.v);
    free(clients);
    return rc;
}

/* --hold-streams: one long run and N idle join streams on it. Returns the exit status. */
static int hold_streams(void)
{
    client_t c;
    CURLM *multi = curl_multi_init();
    CURL **easy = calloc((size_t)opt.hold_streams, sizeof(*easy));
    body_t *bodies = calloc((size_t)opt.hold_streams, sizeof(*bodies));
    struct curl_slist *hdr = curl_slist_append(NULL, "accept: text/event-stream");
    char assistant_id[64] = "", thread_id[64] = "", run_id[64] = "", path[512], payload[1024];
    double until;
    int running = 0, rc = 1, announced = 0;
    long st;

    client_init(&c, 0);
    if (multi == NULL || easy == NULL || bodies == NULL) {
        fprintf(stderr, "agent_flow: out of memory\n");
        goto Exit;
    }
    opt.model = opt.hold_model;
    if (run_step(&c, STEP_CREATE_ASSISTANT, assistant_id, thread_id, 1) != 0 ||
        run_step(&c, STEP_CREATE_THREAD, assistant_id, thread_id, 1) != 0) {
        fprintf(stderr, "agent_flow: %s\n", c.last_error);
        goto Exit;
    }
    snprintf(path, sizeof path, "/threads/%s/runs", thread_id);
    snprintf(payload, sizeof payload,
             "{\"assistant_id\": \"%s\", \"input\": {\"messages\": [{\"role\": \"user\", "
             "\"content\": \"wait\"}]}}",
             assistant_id);
    st = request(&c, "POST", path, payload, 0);
    if (st != 200 || js_copy_str(js_get(js_body(&c), "run_id"), run_id, sizeof run_id) != 0) {
        fprintf(stderr, "agent_flow: creating the background run answered %ld: %.300s\n", st,
                c.conn.body ? c.conn.body : c.last_error);
        goto Exit;
    }
    snprintf(path, sizeof path, "%s/threads/%s/runs/%s/stream", opt.url, thread_id, run_id);
    for (int i = 0; i < opt.hold_streams; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, path);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &bodies[i]);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(multi, easy[i]);
    }
    until = now_s() + 3600;
    while (now_s() < until) {
        int connected = 0;

        curl_multi_perform(multi, &running);
        curl_multi_poll(multi, NULL, 0, 100, NULL);
        if (!announced) {
            for (int i = 0; i < opt.hold_streams; i++) {
                long code = 0;

                curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &code);
                connected += code == 200;
            }
            if (connected == opt.hold_streams) {
                printf("holding %d streams (run %s)\n", connected, run_id);
                fflush(stdout);
                announced = 1;
                until = now_s() + opt.duration_s;
            }
        }
        if (running < opt.hold_streams) {
            fprintf(stderr, "agent_flow: %d of %d streams ended early\n",
                    opt.hold_streams - running, opt.hold_streams);
            goto Exit;
        }
    }
    rc = announced ? 0 : 1;
    if (!announced)
        fprintf(stderr, "agent_flow: the streams did not all connect in an hour\n");
Exit:
    if (run_id[0] != '\0') {
        snprintf(path, sizeof path, "/threads/%s/runs/%s/cancel", thread_id, run_id);
        request(&c, "POST", path, "{}", 0);
    }
    if (thread_id[0] != '\0')
        run_step(&c, STEP_DELETE_THREAD, assistant_id, thread_id, 1);
    if (assistant_id[0] != '\0')
        run_step(&c, STEP_DELETE_ASSISTANT, assistant_id, thread_id, 1);
    for (int i = 0; easy != NULL && i < opt.hold_streams; i++) {
        if (easy[i] != NULL) {
            curl_multi_remove_handle(multi, easy[i]);
            curl_easy_cleanup(easy[i]);
        }
        free(bodies[i].data);
    }
    curl_slist_free_all(hdr);
    curl_multi_cleanup(multi);
    client_free(&c);
    free(easy);
    free(bodies);
    return rc;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: agent_flow [--url URL] [--concurrency N] [--duration S] [--warmup S]\n"
            "                  [--model M] [--hold-streams N [--hold-model M]]\n"
            "  --url           lgserve base URL, http:// only (default http://127.0.0.1:2024)\n"
            "  --concurrency   client threads, each running flows back to back (default 5)\n"
            "  --duration      seconds measured (default 10)\n"
            "  --warmup        seconds of unrecorded flows first (default 2)\n"
            "  --model         model_name of the assistants (default openai:mock)\n"
            "  --hold-streams  instead of flows, hold N idle join streams on one long run for\n"
            "                  --duration seconds (model --hold-model, default\n"
            "                  openai:mock-slow-3600000)\n");
}

/* Parses a positive number; exits with status 2 on garbage. */
static double parse_num(const char *flag, const char *s, double min)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || v < min) {
        fprintf(stderr, "agent_flow: %s: expected a number >= %g, got '%s'\n", flag, min, s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"url", required_argument, NULL, 'u'},          {"concurrency", required_argument, NULL, 'c'},
        {"duration", required_argument, NULL, 'd'},     {"warmup", required_argument, NULL, 'w'},
        {"model", required_argument, NULL, 'm'},        {"hold-streams", required_argument, NULL, 'H'},
        {"hold-model", required_argument, NULL, 'M'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int ch, rc;

    while ((ch = getopt_long(argc, argv, "u:c:d:w:m:H:M:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'u':
            opt.url = optarg;
            break;
        case 'c':
            opt.concurrency = (int)parse_num("--concurrency", optarg, 1);
            break;
        case 'd':
            opt.duration_s = parse_num("--duration", optarg, 0.1);
            break;
        case 'w':
            opt.warmup_s = parse_num("--warmup", optarg, 0);
            break;
        case 'm':
            opt.model = optarg;
            break;
        case 'H':
            opt.hold_streams = (int)parse_num("--hold-streams", optarg, 1);
            break;
        case 'M':
            opt.hold_model = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "agent_flow: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (strlen(opt.url) > 0 && opt.url[strlen(opt.url) - 1] == '/') {
        fprintf(stderr, "agent_flow: --url must not end with '/'\n");
        return 2;
    }
    if (server_resolve() != 0)
        return 2;
    js_init();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = opt.hold_streams > 0 ? hold_streams() : run_flows();
    curl_global_cleanup();
    freeaddrinfo(server.addrs);
    return rc;
}
