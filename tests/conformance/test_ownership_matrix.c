/*
 * tests/conformance/test_ownership_matrix.c — the ownership matrix: the real binary in JWT mode
 * (SUPABASE_JWT_SECRET, HS256 tokens minted here for users A and B), then in api-key mode
 * (LGSERVE_API_KEYS, x-api-key). A creates one of every object (an assistant, a thread with a
 * finished run and a checkpoint, a pending run, a store item), then every row of
 * generated/ownership/ownership_cases.def (codegen/emit_ownership.lua, one or more per operation
 * of the spec) is sent as B, and B's answer is checked: 404 like a missing object, B's own
 * unchanged list, a refusal or a no-op, never anything carrying A's marker or a credential.
 * After each row A reads the views it could touch, and at the end all of them: any difference
 * from A's snapshot is a leak. Every row sent without credentials must get 401; the public
 * operations answer without. Runs use bench/mock_llm (LGSERVE_MOCK_LLM) when set, else an
 * unreachable LLM (the run then ends in error, which still leaves a run and a checkpoint).
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

#include <openssl/rand.h>

#include "harness.h"
#include "../unit/support/mock_llm_proc.c"

#define SECRET "ownership-matrix-secret-at-least-32-bytes-long"
#define NS_JSON "[\"matrix\", \"notes\"]"
#define NS_DOTTED "matrix.notes"
#define ITEM_KEY "k1"
#define USER_A "user-a-matrix"
#define USER_B "user-b-matrix"

/* A's views: groups of reads whose answers must not change. */
enum { OWN_V_ASSISTANT = 1, OWN_V_THREAD = 2, OWN_V_RUNS = 4, OWN_V_STORE = 8, OWN_V_CRONS = 16 };
/* What B must get back. */
typedef enum {
    OWN_NOT_FOUND, /* 404 */
    OWN_ABSENT,    /* 200 null or 404 */
    OWN_BASELINE,  /* 200 and the same JSON as B's answer before A's objects existed */
    OWN_REFUSED,   /* 403, 404, 409 or 422 */
    OWN_NOOP,      /* 2xx or 404 */
    OWN_NO_PLANT,  /* any answer but a 5xx: what matters is that A's views stay unchanged */
} own_expect_t;

typedef struct own_case {
    const char *op_id, *method, *path, *body;
    own_expect_t expect;
    int views;
    const char *what;
} own_case_t;

typedef struct own_public {
    const char *op_id, *method, *path;
} own_public_t;

#define OWN_CASE(op, m, p, b, e, v, w) {#op, m, p, b, e, v, w},
#define OWN_PUBLIC(op, m, p)
#define OWN_SKIPPED(op, m, p, why)
static const own_case_t cases[] = {
#include "../../generated/ownership/ownership_cases.def"
};
#undef OWN_CASE
#undef OWN_PUBLIC
#define OWN_CASE(op, m, p, b, e, v, w)
#define OWN_PUBLIC(op, m, p) {#op, m, p},
static const own_public_t publics[] = {
#include "../../generated/ownership/ownership_cases.def"
};
#undef OWN_CASE
#undef OWN_PUBLIC
#undef OWN_SKIPPED

#define N_CASES (sizeof(cases) / sizeof(cases[0]))
#define N_PUBLICS (sizeof(publics) / sizeof(publics[0]))

/* One read of A's: the request and the answer A got when the snapshot was taken. */
typedef struct view_read {
    int view;
    const char *method, *path, *body; /* with placeholders */
    long status;
    json_t *json; /* owned */
} view_read_t;

static view_read_t reads[] = {
    {OWN_V_ASSISTANT, "GET", "/assistants/@A_ASSISTANT@", NULL, 0, NULL},
    {OWN_V_ASSISTANT, "POST", "/assistants/@A_ASSISTANT@/versions", "{}", 0, NULL},
    {OWN_V_ASSISTANT, "POST", "/assistants/search", "{}", 0, NULL},
    {OWN_V_ASSISTANT, "POST", "/assistants/count", "{}", 0, NULL},
    {OWN_V_THREAD, "GET", "/threads/@A_THREAD@", NULL, 0, NULL},
    {OWN_V_THREAD, "GET", "/threads/@A_THREAD@/state", NULL, 0, NULL},
    {OWN_V_THREAD, "GET", "/threads/@A_THREAD@/state/@A_CHECKPOINT@", NULL, 0, NULL},
    {OWN_V_THREAD, "GET", "/threads/@A_THREAD@/history", NULL, 0, NULL},
    {OWN_V_THREAD, "POST", "/threads/search", "{}", 0, NULL},
    {OWN_V_THREAD, "POST", "/threads/count", "{}", 0, NULL},
    {OWN_V_RUNS, "GET", "/threads/@A_THREAD@/runs", NULL, 0, NULL},
    {OWN_V_RUNS, "GET", "/threads/@A_THREAD@/runs/@A_RUN@", NULL, 0, NULL},
    {OWN_V_RUNS, "GET", "/threads/@A_THREAD@/runs/@A_PENDING_RUN@", NULL, 0, NULL},
    {OWN_V_STORE, "GET", "/store/items?namespace=" NS_DOTTED "&key=" ITEM_KEY, NULL, 0, NULL},
    {OWN_V_STORE, "POST", "/store/items/search", "{}", 0, NULL},
    {OWN_V_STORE, "POST", "/store/namespaces", "{}", 0, NULL},
};
#define N_READS (sizeof(reads) / sizeof(reads[0]))

static harness_server_t srv;
/* An auth mode the matrix runs in: how the server is configured and how a caller presents its
 * credential (a printf format of one header). */
typedef struct own_mode {
    const char *name;
    const char *env;    /* the server's auth configuration, one NAME=value */
    const char *header; /* "Name: ...%s" */
    const char *key_a, *key_b; /* A's and B's credentials; NULL: JWTs minted for USER_A, USER_B */
} own_mode_t;

#define KEY_A "matrix-key-of-user-a-0123456789"
#define KEY_B "matrix-key-of-user-b-0123456789"
static char jwt_env[128];
static const own_mode_t modes[] = {
    {"jwt (HS256, Authorization: Bearer)", jwt_env, "Authorization: Bearer %s", NULL, NULL},
    {"api-key (x-api-key)", "LGSERVE_API_KEYS=" KEY_A "=" USER_A "," KEY_B "=" USER_B, "x-api-key: %s", KEY_A, KEY_B},
};
static const own_mode_t *mode; /* the one running */

static char token_a[512], token_b[512];
static char mark[64];
/* Placeholder values; an empty one is not known (yet). */
static char a_thread[37], a_assistant[37], a_run[37], a_pending_run[37], a_checkpoint[64], b_thread[37],
    b_assistant[37];
static json_t *baseline[sizeof(cases) / sizeof(cases[0])]; /* B's answers before A's objects; owned */
static long baseline_status[sizeof(cases) / sizeof(cases[0])];
static char baseline_total[sizeof(cases) / sizeof(cases[0])][32]; /* X-Pagination-Total, "" when none */
static int leaks;

/* An HS256 JWT for user `sub` valid for an hour, as Supabase issues them, into out (cap 512). */
static void mint(const char *sub, char *out)
{
    char payload[256];
    long now = (long)time(NULL);

    snprintf(payload, sizeof(payload),
             "{\"sub\":\"%s\",\"aud\":\"authenticated\",\"role\":\"authenticated\",\"iat\":%ld,\"exp\":%ld}", sub, now,
             now + 3600);
    assert_int_equal(harness_jwt_hs256(SECRET, payload, out, 512), 0);
}

/* A random UUID v4 into out (37 bytes). */
static void uuid4(char *out)
{
    unsigned char b[16];

    assert_int_equal(RAND_bytes(b, sizeof(b)), 1);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Replaces the placeholders of `tmpl` into out (cap bytes). Returns 0, or -1 naming the first
 * placeholder that is unknown or has no value yet in `missing` (cap 64). */
static int expand(const char *tmpl, char *out, size_t cap, char *missing)
{
    static const struct {
        const char *name;
        const char *value;
    } vars[] = {
        {"A_THREAD", a_thread},           {"A_ASSISTANT", a_assistant},   {"A_RUN", a_run},
        {"A_PENDING_RUN", a_pending_run}, {"A_CHECKPOINT", a_checkpoint}, {"A_KEY", ITEM_KEY},
        {"A_NS_JSON", NS_JSON},           {"A_NS_DOTTED", NS_DOTTED},     {"A_SUB", USER_A},
        {"B_THREAD", b_thread},           {"B_ASSISTANT", b_assistant},   {"MARK", mark},
    };
    size_t o = 0, i;

    while (*tmpl != '\0') {
        const char *end = tmpl[0] == '@' ? strchr(tmpl + 1, '@') : NULL;
        const char *value = NULL;

        if (end == NULL) {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *tmpl++;
            continue;
        }
        for (i = 0; i != sizeof(vars) / sizeof(vars[0]); ++i) {
            if (strlen(vars[i].name) == (size_t)(end - tmpl - 1) &&
                strncmp(vars[i].name, tmpl + 1, strlen(vars[i].name)) == 0)
                value = vars[i].value;
        }
        if (value == NULL || value[0] == '\0') {
            snprintf(missing, 64, "%.*s", (int)(end - tmpl + 1), tmpl);
            return -1;
        }
        if (o + strlen(value) + 1 >= cap)
            return -1;
        memcpy(out + o, value, strlen(value));
        o += strlen(value);
        tmpl = end + 1;
    }
    out[o] = '\0';
    return 0;
}

/* Sends `method path body` (placeholders expanded) with `token` (NULL: no credentials). No
 * answer within harness_timeout_s gives status 0 and an empty body. r->json is parsed with
 * JSON_DECODE_ANY (a count is a bare number, a missing item `null`). */
static void send_as(const char *token, const char *method, const char *path_t, const char *body_t, harness_resp_t *r)
{
    char path[1024], body[2048], missing[64] = "", auth[600];
    const char *headers[] = {auth, NULL};

    if (expand(path_t, path, sizeof(path), missing) != 0 ||
        (body_t != NULL && expand(body_t, body, sizeof(body), missing) != 0))
        fail_msg("no value for placeholder %s in %s %s: create that fixture in the driver", missing, method, path_t);
    snprintf(auth, sizeof(auth), mode->header, token != NULL ? token : "");
    if (harness_request(&srv, method, path, token != NULL ? headers : NULL, body_t != NULL ? body : NULL,
                        body_t != NULL ? strlen(body) : 0, r) != 0) {
        printf("%s %s: no answer in %ld s\n", method, path, harness_timeout_s);
        r->body = strdup("");
        r->headers = strdup("");
        return;
    }
    if (r->json == NULL)
        r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL);
}

/* Sends as A and asserts the status; returns the response. */
static harness_resp_t as_a(const char *method, const char *path, const char *body, long status)
{
    harness_resp_t r;

    send_as(token_a, method, path, body, &r);
    if (r.status != status)
        fail_msg("as A: %s %s: got %ld, want %ld: %.300s", method, path, r.status, status, r.body);
    return r;
}

/* Copies the run id at the end of the Content-Location of `r` into out (37 bytes). */
static void run_id_of(const harness_resp_t *r, char *out)
{
    char loc[256];
    const char *slash;

    assert_non_null(harness_header(r, "content-location", loc, sizeof(loc)));
    slash = strrchr(loc, '/');
    assert_non_null(slash);
    assert_int_equal(strlen(slash + 1), 36);
    memcpy(out, slash + 1, 37);
}

/* Takes (take = 1) or compares (take = 0) A's reads of the views in `mask`; a difference is
 * reported as a leak caused by `after`. */
static void views_check(int mask, int take, const char *after)
{
    int covered = 0;
    size_t i;

    for (i = 0; i != N_READS; ++i)
        covered |= reads[i].view;
    if (mask != ~0 && (mask & ~covered) != 0)
        fail_msg("after %s: A has no read of view 0x%x: add one to reads[]", after, mask & ~covered);

    for (i = 0; i != N_READS; ++i) {
        harness_resp_t r;

        if ((reads[i].view & mask) == 0)
            continue;
        send_as(token_a, reads[i].method, reads[i].path, reads[i].body, &r);
        if (strstr(r.body, token_a) != NULL) {
            printf("LEAK: A's %s %s shows A's bearer token\n", reads[i].method, reads[i].path);
            ++leaks;
        }
        if (take) {
            if (r.status != 200 || r.json == NULL || json_is_null(r.json))
                fail_msg("A's snapshot: %s %s: %ld %.300s", reads[i].method, reads[i].path, r.status, r.body);
            reads[i].status = r.status;
            reads[i].json = json_incref(r.json);
        } else if (r.status != reads[i].status || !json_equal(r.json, reads[i].json)) {
            char *was = json_dumps(reads[i].json, JSON_COMPACT);
            printf("LEAK after %s: A's %s %s changed\n  was %ld %.600s\n  now %ld %.600s\n", after,
                   reads[i].method, reads[i].path, reads[i].status, was != NULL ? was : "", r.status, r.body);
            free(was);
            ++leaks;
            /* report each change once: the next comparisons are against what A sees now */
            json_decref(reads[i].json);
            reads[i].status = r.status;
            reads[i].json = json_incref(r.json);
        }
        harness_resp_free(&r);
    }
}

/* Waits (up to 20 s) for A's run to leave pending/running. */
static void wait_run_done(const char *run_id)
{
    char path[160];
    int i;

    snprintf(path, sizeof(path), "/threads/@A_THREAD@/runs/%s", run_id);
    for (i = 0; i != 200; ++i) {
        harness_resp_t r = as_a("GET", path, NULL, 200);
        const char *st = json_string_value(json_object_get(r.json, "status"));
        int done = st != NULL && strcmp(st, "pending") != 0 && strcmp(st, "running") != 0;

        harness_resp_free(&r);
        if (done)
            return;
        usleep(100000);
    }
    fail_msg("A's run %s did not finish in 20 s", run_id);
}

/* Waits (up to 10 s) until B's thread is idle again: a case may rightly start a run there,
 * which must not make the next case meet a busy thread. */
static void wait_b_idle(void)
{
    int i;

    for (i = 0; i != 100; ++i) {
        harness_resp_t r;
        int idle;

        send_as(token_b, "GET", "/threads/@B_THREAD@", NULL, &r);
        idle = r.status != 200 || json_string_value(json_object_get(r.json, "status")) == NULL ||
               strcmp(json_string_value(json_object_get(r.json, "status")), "busy") != 0;
        harness_resp_free(&r);
        if (idle)
            return;
        usleep(100000);
    }
    printf("B's thread stayed busy for 10 s\n");
}

/* A's objects: an assistant and a thread with client-chosen ids, a finished run (and so a
 * checkpoint), a pending run (after_seconds) and a store item, each carrying the marker. */
static void create_a_objects(void)
{
    char body[1024];
    harness_resp_t r;

    snprintf(body, sizeof(body),
             "{\"assistant_id\": \"%s\", \"graph_id\": \"agent\", \"name\": \"matrix %s\", "
             "\"metadata\": {\"mark\": \"%s\"}}",
             a_assistant, mark, mark);
    r = as_a("POST", "/assistants", body, 200);
    harness_resp_free(&r);
    snprintf(body, sizeof(body), "{\"thread_id\": \"%s\", \"metadata\": {\"mark\": \"%s\"}}", a_thread, mark);
    r = as_a("POST", "/threads", body, 200);
    harness_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"assistant_id\": \"%s\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}]}}",
             a_assistant, mark);
    r = as_a("POST", "/threads/@A_THREAD@/runs", body, 200);
    run_id_of(&r, a_run);
    harness_resp_free(&r);
    wait_run_done(a_run);
    r = as_a("GET", "/threads/@A_THREAD@/state", NULL, 200);
    assert_non_null(json_string_value(json_object_get(json_object_get(r.json, "checkpoint"), "checkpoint_id")));
    snprintf(a_checkpoint, sizeof(a_checkpoint), "%s",
             json_string_value(json_object_get(json_object_get(r.json, "checkpoint"), "checkpoint_id")));
    harness_resp_free(&r);
    snprintf(body, sizeof(body),
             "{\"assistant_id\": \"%s\", \"after_seconds\": 3600, \"input\": {\"messages\": [{\"role\": \"user\", "
             "\"content\": \"%s later\"}]}}",
             a_assistant, mark);
    r = as_a("POST", "/threads/@A_THREAD@/runs", body, 200);
    run_id_of(&r, a_pending_run);
    harness_resp_free(&r);
    snprintf(body, sizeof(body), "{\"namespace\": %s, \"key\": \"%s\", \"value\": {\"mark\": \"%s\"}}", NS_JSON,
             ITEM_KEY, mark);
    r = as_a("PUT", "/store/items", body, 204);
    harness_resp_free(&r);
}

/* Starts the server in `mode` with fresh fixtures (the ids, the marker, the credentials). */
static int group_setup(void **state)
{
    char llm_url[128];
    const char *env[] = {mode->env, llm_url, "OPENAI_API_KEY=test-key", NULL};
    (void)state;

    memset(baseline, 0, sizeof(baseline));
    a_run[0] = a_pending_run[0] = a_checkpoint[0] = b_thread[0] = b_assistant[0] = '\0';
    snprintf(llm_url, sizeof(llm_url), "OPENAI_BASE_URL=%s", mock.port != 0 ? mock.base_url : "http://127.0.0.1:1/v1");
    if (harness_start(&srv, NULL, env) != 0)
        return -1;
    snprintf(mark, sizeof(mark), "matrix-mark-%d-%ld-%d", (int)getpid(), (long)time(NULL), (int)(mode - modes));
    if (mode->key_a != NULL) {
        snprintf(token_a, sizeof(token_a), "%s", mode->key_a);
        snprintf(token_b, sizeof(token_b), "%s", mode->key_b);
    } else {
        mint(USER_A, token_a);
        mint(USER_B, token_b);
    }
    uuid4(a_thread);
    uuid4(a_assistant);
    return 0;
}

static int group_teardown(void **state)
{
    size_t i;
    (void)state;

    harness_stop(&srv, 0);
    for (i = 0; i != N_CASES; ++i)
        json_decref(baseline[i]);
    for (i = 0; i != N_READS; ++i) {
        json_decref(reads[i].json);
        reads[i].json = NULL;
    }
    return 0;
}

/* B's own thread (with a run and a checkpoint) and assistant, B's list answers before A has
 * anything, then A's objects and A's snapshot. */
static void test_fixtures(void **state)
{
    harness_resp_t r;
    size_t i;
    (void)state;

    send_as(token_b, "POST", "/threads", "{}", &r);
    assert_int_equal(r.status, 200);
    snprintf(b_thread, sizeof(b_thread), "%s", json_string_value(json_object_get(r.json, "thread_id")));
    harness_resp_free(&r);
    send_as(token_b, "POST", "/threads/@B_THREAD@/runs/wait",
            "{\"assistant_id\": \"agent\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"B's\"}]}}",
            &r);
    assert_int_equal(r.status, 200); /* B's thread has a checkpoint too */
    harness_resp_free(&r);
    wait_b_idle();
    send_as(token_b, "POST", "/assistants", "{\"graph_id\": \"agent\", \"name\": \"B's\"}", &r);
    assert_int_equal(r.status, 200);
    snprintf(b_assistant, sizeof(b_assistant), "%s", json_string_value(json_object_get(r.json, "assistant_id")));
    harness_resp_free(&r);
    for (i = 0; i != N_CASES; ++i) {
        if (cases[i].expect != OWN_BASELINE)
            continue;
        send_as(token_b, cases[i].method, cases[i].path, cases[i].body, &r);
        baseline_status[i] = r.status;
        baseline[i] = json_incref(r.json);
        if (harness_header(&r, "x-pagination-total", baseline_total[i], sizeof(baseline_total[i])) == NULL)
            baseline_total[i][0] = '\0';
        harness_resp_free(&r);
    }
    create_a_objects();
    views_check(~0, 1, "");
}

/* Every non-public row without credentials: 401 with a detail and WWW-Authenticate; every
 * public operation answers without. */
static void test_unauthenticated(void **state)
{
    char buf[256];
    harness_resp_t r;
    size_t i;
    (void)state;

    for (i = 0; i != N_CASES; ++i) {
        send_as(NULL, cases[i].method, cases[i].path, cases[i].body, &r);
        if (r.status != 401 || harness_detail(&r)[0] == '\0' ||
            harness_header(&r, "www-authenticate", buf, sizeof(buf)) == NULL) {
            printf("LEAK: %s %s %s without credentials: %ld %.300s (want 401 with detail and WWW-Authenticate)\n",
                   cases[i].op_id, cases[i].method, cases[i].path, r.status, r.body);
            ++leaks;
        }
        harness_resp_free(&r);
    }
    for (i = 0; i != N_PUBLICS; ++i) {
        send_as(NULL, publics[i].method, publics[i].path, NULL, &r);
        if (r.status == 401) {
            printf("public %s %s answered 401 without credentials\n", publics[i].method, publics[i].path);
            ++leaks;
        }
        harness_resp_free(&r);
    }
    views_check(~0, 0, "the requests without credentials");
    assert_int_equal(leaks, 0);
}

/* Checks B's answer to case `i`; returns NULL or what is wrong (static). */
static const char *judge(size_t i, const harness_resp_t *r)
{
    static char why[256];
    char total[32];
    const char *body = r->body != NULL ? r->body : "";
    long st = r->status;

    if (strstr(body, mark) != NULL)
        return "B's answer carries A's marker";
    if (strstr(body, token_a) != NULL || strstr(body, token_b) != NULL)
        return "B's answer shows a bearer token";
    switch (cases[i].expect) {
    case OWN_NOT_FOUND:
        if (st == 404)
            return NULL;
        snprintf(why, sizeof(why), "want 404, got %ld", st);
        return why;
    case OWN_ABSENT:
        if (st == 404 || (st == 200 && json_is_null(r->json)))
            return NULL;
        snprintf(why, sizeof(why), "want null or 404, got %ld", st);
        return why;
    case OWN_BASELINE:
        if (harness_header(r, "x-pagination-total", total, sizeof(total)) == NULL)
            total[0] = '\0';
        if (st == baseline_status[i] && st == 200 && json_equal(r->json, baseline[i]) &&
            strcmp(total, baseline_total[i]) == 0)
            return NULL;
        if (strcmp(total, baseline_total[i]) != 0) {
            snprintf(why, sizeof(why), "X-Pagination-Total %.40s, before A's objects existed %.40s", total,
                     baseline_total[i]);
            return why;
        }
        snprintf(why, sizeof(why), "want B's answer from before A's objects existed (%ld), got %ld",
                 baseline_status[i], st);
        return why;
    case OWN_REFUSED:
        if (st == 403 || st == 404 || st == 409 || st == 422)
            return NULL;
        snprintf(why, sizeof(why), "want 403/404/409/422, got %ld", st);
        return why;
    case OWN_NOOP:
        if ((st >= 200 && st < 300) || st == 404)
            return NULL;
        snprintf(why, sizeof(why), "want 2xx (a no-op) or 404, got %ld", st);
        return why;
    case OWN_NO_PLANT:
        if (st != 0 && st < 500)
            return NULL;
        snprintf(why, sizeof(why), "want an answer below 500, got %ld", st);
        return why;
    }
    return "unknown expectation";
}

/* Every row as B, in the generated order; A's views after each; all of A's views at the end. */
static void test_matrix(void **state)
{
    char after[512];
    size_t i;
    (void)state;

    leaks = 0;
    for (i = 0; i != N_CASES; ++i) {
        harness_resp_t r;
        const char *why;

        send_as(token_b, cases[i].method, cases[i].path, cases[i].body, &r);
        snprintf(after, sizeof(after), "%s %s %s (%s)", cases[i].op_id, cases[i].method, cases[i].path, cases[i].what);
        if ((why = judge(i, &r)) != NULL) {
            printf("LEAK: %s: %s: %.400s\n", after, why, r.body);
            ++leaks;
        } else {
            printf("ok %ld %s\n", r.status, after);
        }
        harness_resp_free(&r);
        views_check(cases[i].views, 0, after);
        wait_b_idle();
    }
    views_check(~0, 0, "the whole matrix");
    printf("%s: %zu cases as B, %zu public operations, %d leaks\n", mode->name, N_CASES, N_PUBLICS, leaks);
    assert_int_equal(leaks, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_unauthenticated),
        cmocka_unit_test(test_matrix),
    };
    size_t i;
    int failed = 0;

    harness_init(argc, argv);
    harness_timeout_s = 10; /* a join that should have been refused waits for a run that never ends */
    snprintf(jwt_env, sizeof(jwt_env), "SUPABASE_JWT_SECRET=%s", SECRET);
    if (mock_llm_start("ownership") != 0)
        return 1;
    for (i = 0; i != sizeof(modes) / sizeof(modes[0]); ++i) {
        mode = &modes[i];
        failed += cmocka_run_group_tests_name(mode->name, tests, group_setup, group_teardown);
    }
    mock_llm_stop();
    return failed;
}
