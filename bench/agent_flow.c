/*
 * bench/agent_flow.c — load driver of the agent flow (DESIGN §10) against a running lgserve.
 *
 * Each of --concurrency client threads repeats, until --duration seconds have passed, one flow:
 * create an assistant (graph `agent`), create a thread, run wait, run stream (values, updates,
 * messages-tuple), get the thread state, a stateless run wait, store put/get/search/delete,
 * delete the thread, delete the assistant. Every step checks its status code and the shape of
 * its answer (a run must end with an AI message; a stream must end without an `error` event);
 * a failed step ends its flow, which is then counted as failed. After --warmup seconds of
 * unrecorded flows it prints flows/s and the p50/p95/p99 latency of every step and of the
 * whole flow (successful steps and flows only).
 *
 * With --hold-streams N it instead starts one long background run (model --hold-model, default
 * openai:mock-slow-3600000) and opens N join streams (GET /threads/{tid}/runs/{rid}/stream) on
 * it with libcurl multi, prints "holding N streams" once all have answered with headers, keeps
 * them open for --duration seconds and then cancels the run; meanwhile the server's RSS can be
 * read with ps.
 *
 * Each client thread owns one curl easy handle, so its connection is kept alive across steps.
 * Memory: response bodies grow in per-thread buffers; latencies in per-thread arrays merged at
 * the end.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

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

/* A growable array of latencies in microseconds. */
typedef struct lat_vec {
    uint32_t *v;
    size_t n, cap;
} lat_vec_t;

/* A response body. */
typedef struct body {
    char *data;
    size_t len, cap;
} body_t;

/* One client thread. */
typedef struct client {
    pthread_t thread;
    int index;
    CURL *curl;
    struct curl_slist *json_headers;
    struct curl_slist *sse_headers;
    body_t body;
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
 * One request: `method` to opt.url + `path` (borrowed) with `payload` (borrowed JSON text or
 * NULL), accepting an event stream when `sse`. The body lands in c->body (owned by the client).
 * Returns the HTTP status, or -1 with c->last_error set.
 */
static long request(client_t *c, const char *method, const char *path, const char *payload,
                    int sse)
{
    char url[1024];
    long status = -1;
    CURLcode rc;

    snprintf(url, sizeof url, "%s%s", opt.url, path);
    c->body.len = 0;
    if (c->body.data != NULL)
        c->body.data[0] = '\0';
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, sse ? c->sse_headers : c->json_headers);
    if (payload != NULL) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
    } else {
        curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L); /* no body, never the read callback */
    }
    curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
    rc = curl_easy_perform(c->curl);
    if (rc != CURLE_OK) {
        snprintf(c->last_error, sizeof c->last_error, "%s %s: %s", method, path,
                 curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The body as JSON (new reference) or NULL. */
static json_t *body_json(const client_t *c)
{
    return c->body.data != NULL ? json_loadb(c->body.data, c->body.len, 0, NULL) : NULL;
}

/* 1 when `values` (borrowed, a run's final values) ends with an AI message. */
static int ends_with_ai(const json_t *values)
{
    const json_t *msgs = json_object_get(values, "messages");
    const json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);
    const char *type = json_string_value(json_object_get(last, "type"));

    return type != NULL && strcmp(type, "ai") == 0;
}

/* Records a step failure with its status and the start of the body; returns -1. */
static int step_fail(client_t *c, int step, long status, const char *why)
{
    if (step < 0 || step >= STEP_COUNT)
        return -1;
    c->step_failures[step]++;
    if (status >= 0)
        snprintf(c->last_error, sizeof c->last_error, "%s: %s (status %ld): %.300s",
                 step_names[step], why, status, c->body.data ? c->body.data : "");
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
    json_t *j = NULL;
    long st;
    int rc = -1;

    switch (step) {
    case STEP_CREATE_ASSISTANT:
        snprintf(payload, sizeof payload,
                 "{\"graph_id\": \"agent\", \"name\": \"bench-%d-%d\", \"config\": "
                 "{\"configurable\": {\"model_name\": \"%s\"}}}",
                 c->index, n, opt.model);
        st = request(c, "POST", "/assistants", payload, 0);
        j = body_json(c);
        if (st != 200 || json_string_value(json_object_get(j, "assistant_id")) == NULL)
            goto Fail;
        snprintf(assistant_id, 64, "%s", json_string_value(json_object_get(j, "assistant_id")));
        break;
    case STEP_CREATE_THREAD:
        st = request(c, "POST", "/threads", "{\"metadata\": {\"bench\": \"agent_flow\"}}", 0);
        j = body_json(c);
        if (st != 200 || json_string_value(json_object_get(j, "thread_id")) == NULL)
            goto Fail;
        snprintf(thread_id, 64, "%s", json_string_value(json_object_get(j, "thread_id")));
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
        j = body_json(c);
        if (st != 200 || json_object_get(j, "__error__") != NULL || !ends_with_ai(j))
            goto Fail;
        break;
    case STEP_RUN_STREAM:
        snprintf(path, sizeof path, "/threads/%s/runs/stream", thread_id);
        snprintf(payload, sizeof payload,
                 "{\"assistant_id\": \"%s\", \"input\": %s, \"stream_mode\": [\"values\", "
                 "\"updates\", \"messages-tuple\"]}",
                 assistant_id, input);
        st = request(c, "POST", path, payload, 1);
        if (st != 200 || c->body.data == NULL || strstr(c->body.data, "event: error") != NULL ||
            strstr(c->body.data, "event: messages") == NULL ||
            strstr(c->body.data, "event: values") == NULL)
            goto Fail;
        break;
    case STEP_GET_STATE:
        snprintf(path, sizeof path, "/threads/%s/state", thread_id);
        st = request(c, "GET", path, NULL, 0);
        j = body_json(c);
        if (st != 200 || json_array_size(json_object_get(json_object_get(j, "values"), "messages")) != 4)
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
        j = body_json(c);
        if (st != 200 || json_integer_value(json_object_get(json_object_get(j, "value"), "n")) != n)
            goto Fail;
        break;
    case STEP_STORE_SEARCH:
        snprintf(payload, sizeof payload, "{\"namespace_prefix\": [\"bench\", \"%s\"]}",
                 thread_id);
        st = request(c, "POST", "/store/items/search", payload, 0);
        j = body_json(c);
        if (st != 200 || json_array_size(json_object_get(j, "items")) != 1)
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
    json_decref(j);
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

static int client_init(client_t *c, int index)
{
    memset(c, 0, sizeof(*c));
    c->index = index;
    c->curl = curl_easy_init();
    if (c->curl == NULL)
        return -1;
    c->json_headers = curl_slist_append(NULL, "content-type: application/json");
    c->sse_headers = curl_slist_append(NULL, "content-type: application/json");
    c->sse_headers = curl_slist_append(c->sse_headers, "accept: text/event-stream");
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &c->body);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
    return 0;
}

static void client_free(client_t *c)
{
    curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->json_headers);
    curl_slist_free_all(c->sse_headers);
    free(c->body.data);
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
        if (client_init(&clients[i], i) != 0 ||
            pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0) {
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
    json_t *j = NULL;
    double until;
    int running = 0, rc = 1, announced = 0;
    long st;

    if (multi == NULL || easy == NULL || bodies == NULL || client_init(&c, 0) != 0) {
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
    j = body_json(&c);
    if (st != 200 || json_string_value(json_object_get(j, "run_id")) == NULL) {
        fprintf(stderr, "agent_flow: creating the background run answered %ld: %.300s\n", st,
                c.body.data ? c.body.data : c.last_error);
        goto Exit;
    }
    snprintf(run_id, sizeof run_id, "%s", json_string_value(json_object_get(j, "run_id")));
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
    json_decref(j);
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
            "  --url           lgserve base URL (default http://127.0.0.1:2024)\n"
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
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rc = opt.hold_streams > 0 ? hold_streams() : run_flows();
    curl_global_cleanup();
    return rc;
}
