/*
 * runtime/http/metrics.c — per-thread counter blocks merged on read (see metrics.h).
 *
 * A block is written only by its own thread, with relaxed atomic loads and stores (plain moves
 * on the usual targets); readers load the same words relaxed, so a sum may be a few requests
 * behind but is never torn. Blocks live until exit: threads are few and long-lived.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "http/metrics.h"
#include "http/router.h"

#define METRICS_MAX_THREADS 1100
#define METRICS_CLASSES 6 /* 1xx..5xx, other */

typedef struct metrics_block {
    uint64_t by_class[METRICS_CLASSES];
    int64_t in_flight;
    size_t n_routes;
    uint64_t routes[]; /* n_routes * METRICS_CLASSES */
} metrics_block_t;

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static metrics_block_t *metrics_blocks[METRICS_MAX_THREADS];
static size_t metrics_n_blocks;
static struct timespec metrics_started;
static int metrics_workers;
static __thread metrics_block_t *metrics_mine;

static const char *const metrics_class_names[METRICS_CLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define BUMP(x, d) __atomic_store_n(&(x), LOAD(x) + (d), __ATOMIC_RELAXED)

void metrics_start(void)
{
    clock_gettime(CLOCK_MONOTONIC, &metrics_started);
}

void metrics_set_workers(int n)
{
    metrics_workers = n;
}

/* Returns this thread's block, registering it on first use; NULL when out of memory or slots. */
static metrics_block_t *mine(void)
{
    size_t n_routes;

    if (metrics_mine != NULL)
        return metrics_mine;
    router_routes(&n_routes);
    pthread_mutex_lock(&metrics_lock);
    if (metrics_n_blocks < METRICS_MAX_THREADS &&
        (metrics_mine = calloc(1, sizeof(metrics_block_t) + n_routes * METRICS_CLASSES * sizeof(uint64_t))) != NULL) {
        metrics_mine->n_routes = n_routes;
        __atomic_store_n(&metrics_blocks[metrics_n_blocks], metrics_mine, __ATOMIC_RELEASE);
        __atomic_store_n(&metrics_n_blocks, metrics_n_blocks + 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&metrics_lock);
    return metrics_mine;
}

static size_t class_of(int status)
{
    return status >= 100 && status < 600 ? (size_t)(status / 100 - 1) : METRICS_CLASSES - 1;
}

void metrics_request_begin(void)
{
    metrics_block_t *b = mine();

    if (b != NULL)
        BUMP(b->in_flight, 1);
}

void metrics_request_end(size_t route, int status)
{
    metrics_block_t *b = mine();

    if (b == NULL)
        return;
    BUMP(b->in_flight, -1);
    if (route < b->n_routes)
        BUMP(b->routes[route * METRICS_CLASSES + class_of(status)], 1);
}

void metrics_response(int status)
{
    metrics_block_t *b = mine();

    if (b != NULL)
        BUMP(b->by_class[class_of(status)], 1);
}

long metrics_inflight_thread(void)
{
    return metrics_mine != NULL ? (long)LOAD(metrics_mine->in_flight) : 0;
}

/* The merged view of all blocks. */
typedef struct metrics_sum {
    uint64_t by_class[METRICS_CLASSES];
    uint64_t total;
    int64_t in_flight;
    size_t n_routes;
    uint64_t *routes; /* malloc'd, n_routes * METRICS_CLASSES */
    double uptime;
} metrics_sum_t;

/* Sums every block into s; s->routes is malloc'd (caller frees). Returns -1 on OOM. */
static int sum(metrics_sum_t *s)
{
    size_t n = __atomic_load_n(&metrics_n_blocks, __ATOMIC_ACQUIRE), i, k;
    struct timespec now;

    router_routes(&s->n_routes);
    memset(s->by_class, 0, sizeof(s->by_class));
    s->total = 0;
    s->in_flight = 0;
    if ((s->routes = calloc(s->n_routes * METRICS_CLASSES + 1, sizeof(uint64_t))) == NULL)
        return -1;
    for (i = 0; i != n; ++i) {
        metrics_block_t *b = __atomic_load_n(&metrics_blocks[i], __ATOMIC_ACQUIRE);
        for (k = 0; k != METRICS_CLASSES; ++k)
            s->by_class[k] += LOAD(b->by_class[k]);
        s->in_flight += LOAD(b->in_flight);
        for (k = 0; k != b->n_routes * METRICS_CLASSES && k != s->n_routes * METRICS_CLASSES; ++k)
            s->routes[k] += LOAD(b->routes[k]);
    }
    for (k = 0; k != METRICS_CLASSES; ++k)
        s->total += s->by_class[k];
    clock_gettime(CLOCK_MONOTONIC, &now);
    s->uptime = (double)(now.tv_sec - metrics_started.tv_sec) + (double)(now.tv_nsec - metrics_started.tv_nsec) / 1e9;
    return 0;
}

json_t *metrics_json(void)
{
    const router_route_t *table;
    metrics_sum_t s = {0};
    json_t *out = NULL, *classes, *routes;
    size_t n, i, k;

    if (sum(&s) != 0)
        goto Exit;
    table = router_routes(&n);
    classes = json_object();
    routes = json_array();
    for (k = 0; k != METRICS_CLASSES; ++k)
        json_object_set_new(classes, metrics_class_names[k], json_integer((json_int_t)s.by_class[k]));
    for (i = 0; i != n; ++i) {
        json_t *rc = json_object();
        uint64_t count = 0;
        for (k = 0; k != METRICS_CLASSES; ++k) {
            uint64_t c = s.routes[i * METRICS_CLASSES + k];
            count += c;
            if (c != 0)
                json_object_set_new(rc, metrics_class_names[k], json_integer((json_int_t)c));
        }
        if (count == 0) {
            json_decref(rc);
            continue;
        }
        json_array_append_new(routes, json_pack("{s:s, s:s, s:s, s:I, s:o}", "operation", table[i].op_id, "method",
                                                http_method_name(table[i].method), "path", table[i].path, "count",
                                                (json_int_t)count, "by_status", rc));
    }
    out = json_pack("{s:I, s:i, s:{s:I, s:I, s:o}, s:o}", "uptime_seconds", (json_int_t)s.uptime, "workers", metrics_workers, "http",
                    "requests_total", (json_int_t)s.total, "in_flight", (json_int_t)s.in_flight, "by_status", classes,
                    "routes", routes);
Exit:
    free(s.routes);
    return out;
}

/* printf-appends to the growing malloc'd buffer *buf; returns -1 on OOM. */
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    int w;

    for (;;) {
        va_start(ap, fmt);
        w = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (w < 0)
            return -1;
        if ((size_t)w < *cap - *len)
            break;
        char *nb = realloc(*buf, *cap * 2 + (size_t)w);
        if (nb == NULL)
            return -1;
        *buf = nb;
        *cap = *cap * 2 + (size_t)w;
    }
    *len += (size_t)w;
    return 0;
}

char *metrics_prometheus(size_t *len_out)
{
    const router_route_t *table;
    metrics_sum_t s = {0};
    size_t n, i, k, len = 0, cap = 4096;
    char *buf = NULL;
    int ok = 0;

    if (sum(&s) != 0 || (buf = malloc(cap)) == NULL)
        goto Exit;
    buf[0] = '\0';
    table = router_routes(&n);
    if (appendf(&buf, &len, &cap,
                "# HELP lg_api_http_requests_total HTTP responses, by status class.\n"
                "# TYPE lg_api_http_requests_total counter\n") != 0)
        goto Exit;
    for (k = 0; k != METRICS_CLASSES; ++k)
        if (appendf(&buf, &len, &cap, "lg_api_http_requests_total{status=\"%s\"} %llu\n", metrics_class_names[k],
                    (unsigned long long)s.by_class[k]) != 0)
            goto Exit;
    if (appendf(&buf, &len, &cap,
                "# HELP lg_api_http_route_requests_total HTTP requests routed to an operation, by status class.\n"
                "# TYPE lg_api_http_route_requests_total counter\n") != 0)
        goto Exit;
    for (i = 0; i != n; ++i)
        for (k = 0; k != METRICS_CLASSES; ++k)
            if (s.routes[i * METRICS_CLASSES + k] != 0 &&
                appendf(&buf, &len, &cap,
                        "lg_api_http_route_requests_total{operation=\"%s\",method=\"%s\",path=\"%s\",status=\"%s\"} %llu\n",
                        table[i].op_id, http_method_name(table[i].method), table[i].path, metrics_class_names[k],
                        (unsigned long long)s.routes[i * METRICS_CLASSES + k]) != 0)
                goto Exit;
    if (appendf(&buf, &len, &cap,
                "# HELP lg_api_http_requests_in_flight HTTP requests being processed.\n"
                "# TYPE lg_api_http_requests_in_flight gauge\n"
                "lg_api_http_requests_in_flight %lld\n"
                "# HELP lg_api_http_workers HTTP event-loop threads.\n"
                "# TYPE lg_api_http_workers gauge\n"
                "lg_api_http_workers %d\n"
                "# HELP lg_api_uptime_seconds Seconds since the server started.\n"
                "# TYPE lg_api_uptime_seconds gauge\n"
                "lg_api_uptime_seconds %.3f\n",
                (long long)s.in_flight, metrics_workers, s.uptime) != 0)
        goto Exit;
    ok = 1;
Exit:
    free(s.routes);
    if (!ok) {
        free(buf);
        buf = NULL;
        len = 0;
    }
    *len_out = len;
    return buf;
}
