/*
 * tests/conformance/test_ownership.c — ownership isolation against the real binary in JWT mode
 * (SUPABASE_JWT_SECRET; HS256 tokens for two users minted here with harness_jwt_hs256) and the
 * agent graph on bench/mock_llm (LGSERVE_MOCK_LLM). User B, against user A's assistants,
 * threads, runs and store items, gets exactly what a missing object gets (same status, same
 * detail once ids are masked) and changes nothing; client-chosen ids that belong to someone else
 * answer 409 as for one's own; metadata.owner cannot be set or changed by a client; system
 * assistants are readable and runnable by both users and changeable by neither (403); the
 * store is scoped per user with namespaces as written; the run's graph sees the caller
 * (checkpoint metadata user_id / langgraph_auth_user_id / owner); and no credential (the
 * bearer tokens, an x-supabase-access-token header) appears in any response, in the data
 * directory or in the server log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "../unit/support/mock_llm_proc.c"

#define JWT_SECRET "ownership-test-secret-0123456789abcdef"
#define HDR_SECRET "hdr-credential-7f3a9c2e" /* sent by user A as x-supabase-access-token */
#define USER_A "user-a"
#define USER_B "user-b"

typedef enum who { NOBODY, ALICE, BOB } who_t;

static harness_server_t srv;
static char tok[3][512];     /* [ALICE], [BOB]: compact JWTs */
static char auth_hdr[3][600]; /* "Authorization: Bearer <jwt>" */
static char sys_id[37];       /* the agent graph's system assistant */
static int llm_up;            /* the mock LLM runs: runs must succeed */

/* ---- tokens ---- */

/* An HS256 JWT for `sub` as Supabase issues them, valid for an hour, into `out` (512 bytes). */
static void mint(const char *sub, char *out)
{
    long now = (long)time(NULL);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "sub", sub, "email", "x@example.com", "aud",
                               "authenticated", "role", "authenticated", "iat", (json_int_t)now, "exp",
                               (json_int_t)now + 3600);
    char *payload = json_dumps(claims, JSON_COMPACT);

    assert_int_equal(harness_jwt_hs256(JWT_SECRET, payload, out, 512), 0);
    free(payload);
    json_decref(claims);
}

/* ---- requests ---- */

/* Formats into one of four rotating static buffers. */
static const char *fmt(const char *f, ...)
{
    static char bufs[4][4096];
    static int which;
    char *buf = bufs[which = (which + 1) % 4];
    va_list ap;

    va_start(ap, f);
    vsnprintf(buf, sizeof(bufs[0]), f, ap);
    va_end(ap);
    return buf;
}

/* One request as `who`, with `extra` header (may be NULL). Never fails the test by itself. */
static harness_resp_t send_as(who_t who, const char *method, const char *path, const char *body, const char *extra)
{
    const char *headers[3] = {NULL, NULL, NULL};
    harness_resp_t r;
    int n = 0;

    if (who != NOBODY)
        headers[n++] = auth_hdr[who];
    if (extra != NULL)
        headers[n++] = extra;
    assert_int_equal(harness_request(&srv, method, path, headers, body, body != NULL ? strlen(body) : 0, &r), 0);
    return r;
}

/* A request as `who` that must be answered `status`; the response is the caller's. */
static harness_resp_t call(who_t who, const char *method, const char *path, const char *body, long status)
{
    harness_resp_t r = send_as(who, method, path, body, NULL);

    if (r.status != status)
        fprintf(stderr, "%s %s as %d: got %ld, want %ld: %.400s\n", method, path, (int)who, r.status, status, r.body);
    assert_int_equal(r.status, status);
    return r;
}

/* call() for a request whose answer is not needed. */
static void expect(who_t who, const char *method, const char *path, const char *body, long status)
{
    harness_resp_t r = call(who, method, path, body, status);
    harness_resp_free(&r);
}

/* `s` with every occurrence of `from` replaced by `to` (malloc'd; caller frees). */
static char *replace_all(const char *s, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), n = 0;
    const char *p;
    char *out, *o;

    for (p = s; (p = strstr(p, from)) != NULL; p += nf)
        ++n;
    out = o = malloc(strlen(s) + n * (nt > nf ? nt - nf : 0) + 1);
    for (p = s; *p != '\0';) {
        if (strncmp(p, from, nf) == 0) {
            memcpy(o, to, nt);
            o += nt, p += nf;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* A random (v4) UUID into `out` (37 bytes). */
static void random_uuid(char *out)
{
    unsigned char b[16];
    FILE *f = fopen("/dev/urandom", "rb");

    assert_non_null(f);
    assert_int_equal(fread(b, 1, sizeof(b), f), sizeof(b));
    fclose(f);
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4],
             b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* Replaces each id of `ids` (n) in `text` (malloc'd, freed) by `with[i]`. Returns malloc'd. */
static char *swap_ids(char *text, const char *const *ids, char (*with)[37], size_t n)
{
    size_t i;

    for (i = 0; i != n; ++i) {
        char *t = replace_all(text, ids[i], with[i]);
        free(text);
        text = t;
    }
    return text;
}

/*
 * B sends `method path body`, which names A's objects by `ids` (NULL-terminated), then the same
 * request with each of those ids replaced by a fresh random UUID: both answers must have status
 * `status` and the same detail once the ids are masked, i.e. B cannot tell A's object from a
 * missing one.
 */
static void as_missing(const char *method, const char *path, const char *body, const char *const *ids, long status)
{
    char fresh[4][37], masks[4][37];
    harness_resp_t real, miss;
    char *p2, *b2 = NULL, *d1, *d2;
    size_t n = 0, i;

    while (ids[n] != NULL)
        ++n;
    assert_true(n <= 4);
    for (i = 0; i != n; ++i) {
        random_uuid(fresh[i]);
        snprintf(masks[i], sizeof(masks[i]), "<id%zu>", i);
    }
    p2 = swap_ids(strdup(path), ids, fresh, n);
    if (body != NULL)
        b2 = swap_ids(strdup(body), ids, fresh, n);
    real = call(BOB, method, path, body, status);
    miss = call(BOB, method, p2, b2, status);
    d1 = swap_ids(strdup(harness_detail(&real)), ids, masks, n);
    d2 = swap_ids(strdup(harness_detail(&miss)), (const char *const[]){fresh[0], fresh[1], fresh[2], fresh[3]}, masks, n);
    if (strcmp(d1, d2) != 0)
        fprintf(stderr, "%s %s: B's answer on A's object differs from a missing one: '%s' vs '%s'\n", method, path, d1, d2);
    assert_string_equal(d1, d2);
    assert_true(d1[0] != '\0' || status < 400);
    free(d1), free(d2), free(p2), free(b2);
    harness_resp_free(&real);
    harness_resp_free(&miss);
}

/* ---- credentials never leak ---- */

/* 1 when `len` bytes at `p` contain a credential: a bearer token, its signature, the header
 * credential. */
static int has_secret(const char *p, size_t len)
{
    const char *needles[5] = {tok[ALICE], tok[BOB], strrchr(tok[ALICE], '.') + 1, strrchr(tok[BOB], '.') + 1, HDR_SECRET};
    size_t i;

    for (i = 0; i != 5; ++i) {
        if (p != NULL && memmem(p, len, needles[i], strlen(needles[i])) != NULL)
            return 1;
    }
    return 0;
}

static void assert_no_secret(const harness_resp_t *r)
{
    if (has_secret(r->body, r->body_len) || has_secret(r->headers, r->headers != NULL ? strlen(r->headers) : 0))
        fprintf(stderr, "a credential appears in: %.600s\n", r->body);
    assert_false(has_secret(r->body, r->body_len));
    assert_false(has_secret(r->headers, r->headers != NULL ? strlen(r->headers) : 0));
}

static char leaked_in[512];

/* nftw callback: records the first regular file holding a credential. */
static int scan_file(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    FILE *f;
    char *buf;

    (void)ftw;
    if (flag != FTW_F || sb->st_size == 0 || (f = fopen(path, "rb")) == NULL)
        return 0;
    buf = malloc((size_t)sb->st_size);
    if (buf != NULL && fread(buf, 1, (size_t)sb->st_size, f) == (size_t)sb->st_size &&
        has_secret(buf, (size_t)sb->st_size) && leaked_in[0] == '\0')
        snprintf(leaked_in, sizeof(leaked_in), "%s", path);
    free(buf);
    fclose(f);
    return 0;
}

/* ---- fixtures ---- */

/* Creates a thread as `who` with `metadata` (JSON); its id into `id`. */
static void new_thread(who_t who, const char *metadata, char *id)
{
    harness_resp_t r = call(who, "POST", "/threads", fmt("{\"metadata\": %s}", metadata), 200);

    snprintf(id, 37, "%s", json_string_value(json_object_get(r.json, "thread_id")));
    harness_resp_free(&r);
}

/* The run-create body for the agent (or assistant `assistant`) saying `text`, plus `extra`. */
static const char *run_body(const char *assistant, const char *text, const char *extra)
{
    return fmt("{\"assistant_id\": \"%s\", \"input\": {\"messages\": [{\"role\": \"user\", \"content\": \"%s\"}]}%s%s}",
               assistant, text, extra != NULL ? ", " : "", extra != NULL ? extra : "");
}

/* A's finished run on a new thread of A: thread id, run id and latest checkpoint id. */
static char a_thread[37], a_run[37], a_checkpoint[128], a_assistant[37];

static int group_setup(void **state)
{
    static char env_secret[128], env_url[128];
    static const char search[] = "{\"graph_id\": \"agent\"}";
    const char *env[] = {env_secret, env_url, "OPENAI_API_KEY=test-key", NULL};
    harness_resp_t r;
    const char *headers[2] = {NULL, NULL};
    who_t w;

    (void)state;
    mint(USER_A, tok[ALICE]);
    mint(USER_B, tok[BOB]);
    for (w = ALICE; w <= BOB; ++w)
        snprintf(auth_hdr[w], sizeof(auth_hdr[w]), "Authorization: Bearer %s", tok[w]);
    if (mock_llm_start("ownership") != 0)
        return -1;
    llm_up = mock.port > 0;
    snprintf(env_secret, sizeof(env_secret), "SUPABASE_JWT_SECRET=%s", JWT_SECRET);
    snprintf(env_url, sizeof(env_url), "OPENAI_BASE_URL=%s", llm_up ? mock.base_url : "http://127.0.0.1:9/v1");
    if (harness_start(&srv, NULL, env) != 0)
        return -1;
    headers[0] = auth_hdr[ALICE];
    if (harness_request(&srv, "POST", "/assistants/search", headers, search, strlen(search), &r) != 0 ||
        r.status != 200 || json_array_size(r.json) != 1) {
        fprintf(stderr, "cannot find the agent's system assistant as user A: %ld %.300s\n", r.status, r.body);
        harness_resp_free(&r);
        return -1;
    }
    snprintf(sys_id, sizeof(sys_id), "%s", json_string_value(json_object_get(json_array_get(r.json, 0), "assistant_id")));
    harness_resp_free(&r);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    harness_stop(&srv, 0);
    mock_llm_stop();
    return 0;
}

/* ---- tests ---- */

/* Auth is really on: without a token the resources answer 401, public paths answer. */
static void test_auth_is_on(void **state)
{
    (void)state;
    expect(NOBODY, "POST", "/threads/search", "{}", 401);
    expect(NOBODY, "GET", "/ok", NULL, 200);
}

/* A client cannot set or change metadata.owner: it is overwritten with the caller's id on every
 * write path (assistant and thread create/patch, run metadata, copy). */
static void test_owner_is_stamped(void **state)
{
    harness_resp_t r;
    char tid[37], aid[37];

    (void)state;
    r = call(ALICE, "POST", "/assistants",
             "{\"graph_id\": \"agent\", \"name\": \"a-bot\", \"metadata\": {\"owner\": \"user-b\", \"suite\": \"own\"}}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    snprintf(aid, sizeof(aid), "%s", json_string_value(json_object_get(r.json, "assistant_id")));
    harness_resp_free(&r);
    r = call(ALICE, "PATCH", fmt("/assistants/%s", aid), "{\"metadata\": {\"owner\": \"user-b\"}}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
    expect(BOB, "GET", fmt("/assistants/%s", aid), NULL, 404);

    new_thread(ALICE, "{\"owner\": \"user-b\", \"suite\": \"own\"}", tid);
    r = call(ALICE, "GET", fmt("/threads/%s", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
    r = call(ALICE, "PATCH", fmt("/threads/%s", tid), "{\"metadata\": {\"owner\": \"user-b\"}}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
    expect(BOB, "GET", fmt("/threads/%s", tid), NULL, 404);

    r = call(ALICE, "POST", fmt("/threads/%s/copy", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    expect(BOB, "GET", fmt("/threads/%s", json_string_value(json_object_get(r.json, "thread_id"))), NULL, 404);
    harness_resp_free(&r);

    r = call(ALICE, "POST", fmt("/threads/%s/runs", tid), run_body("agent", "stamp", "\"metadata\": {\"owner\": \"user-b\"}"),
             200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
}

/* A's run on A's thread: the graph sees the caller, and no credential shows anywhere in what A
 * reads back (run, lists, waits, streams, thread, state, history). */
static void test_run_as_a(void **state)
{
    char hdr[128];
    harness_resp_t r, h;
    size_t i;

    (void)state;
    snprintf(hdr, sizeof(hdr), "x-supabase-access-token: %s", HDR_SECRET);
    new_thread(ALICE, "{\"suite\": \"own\"}", a_thread);
    r = send_as(ALICE, "POST", fmt("/threads/%s/runs/wait", a_thread), run_body("agent", "hello", NULL), hdr);
    assert_int_equal(r.status, 200);
    assert_no_secret(&r);
    if (llm_up)
        assert_int_equal(json_array_size(json_object_get(r.json, "messages")), 2);
    harness_resp_free(&r);
    r = send_as(ALICE, "POST", fmt("/threads/%s/runs/stream", a_thread),
                run_body("agent", "again", "\"stream_mode\": [\"values\", \"updates\", \"messages-tuple\", \"debug\", \"events\"]"),
                hdr);
    assert_int_equal(r.status, 200);
    assert_no_secret(&r);
    harness_resp_free(&r);

    r = call(ALICE, "GET", fmt("/threads/%s/runs", a_thread), NULL, 200);
    assert_no_secret(&r);
    assert_int_equal(json_array_size(r.json), 2);
    snprintf(a_run, sizeof(a_run), "%s", json_string_value(json_object_get(json_array_get(r.json, 0), "run_id")));
    for (i = 0; i != json_array_size(r.json); ++i) {
        const json_t *conf = json_object_get(
            json_object_get(json_object_get(json_array_get(r.json, i), "kwargs"), "config"), "configurable");
        assert_null(json_object_get(conf, "x-supabase-access-token"));
        assert_string_equal(json_string_value(json_object_get(conf, "user_id")), USER_A);
        if (llm_up)
            assert_string_equal(json_string_value(json_object_get(json_array_get(r.json, i), "status")), "success");
    }
    harness_resp_free(&r);
    r = call(ALICE, "GET", fmt("/threads/%s/runs/%s", a_thread, a_run), NULL, 200);
    assert_no_secret(&r);
    harness_resp_free(&r);
    r = call(ALICE, "GET", fmt("/threads/%s/runs/%s/join", a_thread, a_run), NULL, 200);
    assert_no_secret(&r);
    harness_resp_free(&r);
    r = call(ALICE, "GET", fmt("/threads/%s", a_thread), NULL, 200);
    assert_no_secret(&r);
    harness_resp_free(&r);
    r = call(ALICE, "GET", fmt("/threads/%s/state", a_thread), NULL, 200);
    assert_no_secret(&r);
    snprintf(a_checkpoint, sizeof(a_checkpoint), "%s",
             json_string_value(json_object_get(json_object_get(r.json, "checkpoint"), "checkpoint_id")));
    harness_resp_free(&r);

    /* the graph saw the caller: the engine copies configurable scalars into checkpoint
     * metadata, secrets excepted */
    h = call(ALICE, "GET", fmt("/threads/%s/history?limit=100", a_thread), NULL, 200);
    assert_no_secret(&h);
    assert_true(json_array_size(h.json) >= 2);
    for (i = 0; i != json_array_size(h.json); ++i) {
        const json_t *md = json_object_get(json_array_get(h.json, i), "metadata");
        assert_string_equal(json_string_value(json_object_get(md, "user_id")), USER_A);
        assert_string_equal(json_string_value(json_object_get(md, "langgraph_auth_user_id")), USER_A);
        assert_string_equal(json_string_value(json_object_get(md, "owner")), USER_A);
        assert_null(json_object_get(md, "x-supabase-access-token"));
    }
    harness_resp_free(&h);

    /* PATCH state cannot move the checkpoint's owner either */
    expect(ALICE, "PATCH", fmt("/threads/%s/state", a_thread), "{\"metadata\": {\"owner\": \"user-b\", \"tag\": 1}}", 204);
    h = call(ALICE, "POST", fmt("/threads/%s/history", a_thread), "{\"limit\": 1}", 200);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(h.json, 0), "metadata"), "owner")), USER_A);
    harness_resp_free(&h);
}

/* B against A's thread and runs: every operation answers as for a missing object. */
static void test_b_on_a_threads_and_runs(void **state)
{
    const char *const t[] = {a_thread, NULL};
    const char *const tr[] = {a_thread, a_run, NULL};
    const char *const tc[] = {a_thread, a_checkpoint, NULL};
    const char *const run_only[] = {a_run, NULL};
    harness_resp_t before, after, hist_before, hist_after, r;

    (void)state;
    assert_true(a_thread[0] != '\0' && a_run[0] != '\0');
    before = call(ALICE, "GET", fmt("/threads/%s", a_thread), NULL, 200);
    hist_before = call(ALICE, "GET", fmt("/threads/%s/history?limit=100", a_thread), NULL, 200);

    as_missing("GET", fmt("/threads/%s", a_thread), NULL, t, 404);
    as_missing("PATCH", fmt("/threads/%s", a_thread), "{\"metadata\": {\"x\": \"b\"}}", t, 404);
    as_missing("DELETE", fmt("/threads/%s", a_thread), NULL, t, 404);
    as_missing("POST", fmt("/threads/%s/copy", a_thread), NULL, t, 404);
    as_missing("GET", fmt("/threads/%s/state", a_thread), NULL, t, 404);
    as_missing("GET", fmt("/threads/%s/state/%s", a_thread, a_checkpoint), NULL, tc, 404);
    as_missing("POST", fmt("/threads/%s/state/checkpoint", a_thread),
               fmt("{\"checkpoint\": {\"checkpoint_id\": \"%s\"}}", a_checkpoint), tc, 404);
    as_missing("POST", fmt("/threads/%s/state", a_thread), "{\"values\": {\"messages\": []}}", t, 404);
    as_missing("PATCH", fmt("/threads/%s/state", a_thread), "{\"metadata\": {\"x\": \"b\"}}", t, 404);
    as_missing("GET", fmt("/threads/%s/history", a_thread), NULL, t, 404);
    as_missing("POST", fmt("/threads/%s/history", a_thread), "{\"limit\": 5}", t, 404);
    as_missing("GET", fmt("/threads/%s/storage", a_thread), NULL, t, 404);
    as_missing("GET", fmt("/threads/%s/stream", a_thread), NULL, t, 404);
    as_missing("GET", fmt("/threads/%s/runs", a_thread), NULL, t, 404);
    as_missing("POST", fmt("/threads/%s/runs", a_thread), run_body("agent", "b", NULL), t, 404);
    as_missing("POST", fmt("/threads/%s/runs/wait", a_thread), run_body("agent", "b", NULL), t, 404);
    as_missing("POST", fmt("/threads/%s/runs/stream", a_thread), run_body("agent", "b", NULL), t, 404);
    as_missing("GET", fmt("/threads/%s/runs/%s", a_thread, a_run), NULL, tr, 404);
    as_missing("GET", fmt("/threads/%s/runs/%s/join", a_thread, a_run), NULL, tr, 404);
    as_missing("GET", fmt("/threads/%s/runs/%s/stream", a_thread, a_run), NULL, tr, 404);
    as_missing("POST", fmt("/threads/%s/runs/%s/cancel", a_thread, a_run), NULL, tr, 404);
    as_missing("POST", fmt("/threads/%s/runs/%s/cancel?action=rollback", a_thread, a_run), NULL, tr, 404);
    as_missing("DELETE", fmt("/threads/%s/runs/%s", a_thread, a_run), NULL, tr, 404);
    as_missing("GET", fmt("/runs/%s/stream", a_run), NULL, run_only, 404);
    as_missing("POST", "/runs/cancel", fmt("{\"thread_id\": \"%s\", \"run_ids\": [\"%s\"]}", a_thread, a_run), tr, 404);
    expect(BOB, "POST", "/runs/cancel", "{\"status\": \"all\"}", 204);

    /* lists, counts and prune see nothing of A's */
    r = call(BOB, "POST", "/threads/search", fmt("{\"ids\": [\"%s\"]}", a_thread), 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/threads/search", "{\"metadata\": {\"suite\": \"own\"}}", 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/threads/count", "{\"metadata\": {\"suite\": \"own\"}}", 200);
    assert_int_equal(json_integer_value(r.json), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/threads/prune", fmt("{\"thread_ids\": [\"%s\"]}", a_thread), 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pruned_count")), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/threads/prune", fmt("{\"thread_ids\": [\"%s\"], \"strategy\": \"keep_latest\"}", a_thread), 200);
    assert_int_equal(json_integer_value(json_object_get(r.json, "pruned_count")), 0);
    harness_resp_free(&r);

    /* A sees everything as it was */
    after = call(ALICE, "GET", fmt("/threads/%s", a_thread), NULL, 200);
    hist_after = call(ALICE, "GET", fmt("/threads/%s/history?limit=100", a_thread), NULL, 200);
    assert_true(json_equal(before.json, after.json));
    assert_true(json_equal(hist_before.json, hist_after.json));
    r = call(ALICE, "GET", fmt("/threads/%s/runs", a_thread), NULL, 200);
    assert_int_equal(json_array_size(r.json), 2);
    harness_resp_free(&r);
    harness_resp_free(&before), harness_resp_free(&after);
    harness_resp_free(&hist_before), harness_resp_free(&hist_after);
}

/* B names A's checkpoint on B's own thread: a checkpoint id selects only within the thread of
 * the path, so every view answers exactly as for an id that was never used (no value, task or
 * metadata of A's), and nothing of A's changes. */
static void test_b_own_thread_a_checkpoint(void **state)
{
    static const char *const views[] = {"values", "next", "tasks", "metadata", "parent_checkpoint", "interrupts"};
    static const char never[] = "00000000-0000-0000-0000-000000000000";
    harness_resp_t theirs, none, hist_before, hist_after;
    char tid[37];
    size_t i;

    (void)state;
    assert_true(a_checkpoint[0] != '\0');
    hist_before = call(ALICE, "GET", fmt("/threads/%s/history?limit=100", a_thread), NULL, 200);
    new_thread(BOB, "{\"suite\": \"cp\"}", tid);
    theirs = call(BOB, "GET", fmt("/threads/%s/state/%s", tid, a_checkpoint), NULL, 200);
    none = call(BOB, "GET", fmt("/threads/%s/state/%s", tid, never), NULL, 200);
    for (i = 0; i != sizeof(views) / sizeof(views[0]); ++i)
        assert_true(json_equal(json_object_get(theirs.json, views[i]), json_object_get(none.json, views[i])));
    harness_resp_free(&theirs);
    harness_resp_free(&none);
    theirs = call(BOB, "POST", fmt("/threads/%s/state/checkpoint", tid),
                  fmt("{\"checkpoint\": {\"checkpoint_id\": \"%s\"}}", a_checkpoint), 200);
    none = call(BOB, "POST", fmt("/threads/%s/state/checkpoint", tid), fmt("{\"checkpoint\": {\"checkpoint_id\": \"%s\"}}", never),
                200);
    for (i = 0; i != sizeof(views) / sizeof(views[0]); ++i)
        assert_true(json_equal(json_object_get(theirs.json, views[i]), json_object_get(none.json, views[i])));
    harness_resp_free(&theirs);
    harness_resp_free(&none);
    expect(BOB, "POST", fmt("/threads/%s/history", tid),
           fmt("{\"before\": {\"configurable\": {\"checkpoint_id\": \"%s\"}}}", a_checkpoint), 404);
    theirs = send_as(BOB, "POST", fmt("/threads/%s/state", tid), fmt("{\"values\": {}, \"checkpoint_id\": \"%s\"}", a_checkpoint),
                     NULL);
    none = send_as(BOB, "POST", fmt("/threads/%s/state", tid), fmt("{\"values\": {}, \"checkpoint_id\": \"%s\"}", never), NULL);
    assert_true(theirs.status >= 400 && theirs.status == none.status);
    harness_resp_free(&theirs);
    harness_resp_free(&none);
    hist_after = call(ALICE, "GET", fmt("/threads/%s/history?limit=100", a_thread), NULL, 200);
    assert_true(json_equal(hist_before.json, hist_after.json));
    harness_resp_free(&hist_before);
    harness_resp_free(&hist_after);
}

/* Create with a client-chosen id that is someone else's: 409 with the very wording the owner
 * gets for its own id, for both if_exists modes; nothing of A's is returned or changed. */
static void test_client_chosen_ids(void **state)
{
    harness_resp_t mine, theirs, keep, r;
    char tid[37], aid[37];

    (void)state;
    new_thread(ALICE, "{\"suite\": \"ids\"}", tid);
    keep = call(ALICE, "GET", fmt("/threads/%s", tid), NULL, 200);
    mine = call(ALICE, "POST", "/threads", fmt("{\"thread_id\": \"%s\"}", tid), 409);
    theirs = call(BOB, "POST", "/threads", fmt("{\"thread_id\": \"%s\", \"metadata\": {\"x\": 1}}", tid), 409);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    harness_resp_free(&theirs);
    theirs = call(BOB, "POST", "/threads", fmt("{\"thread_id\": \"%s\", \"if_exists\": \"do_nothing\"}", tid), 409);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    assert_null(json_object_get(theirs.json, "thread_id"));
    harness_resp_free(&theirs);
    /* supersteps on A's id: refused before any checkpoint is written */
    theirs = call(BOB, "POST", "/threads",
                  fmt("{\"thread_id\": \"%s\", \"metadata\": {\"graph_id\": \"agent\"}, \"supersteps\": [{\"updates\": "
                      "[{\"values\": {\"messages\": [{\"role\": \"user\", \"content\": \"planted\"}]}, \"as_node\": \"agent\"}]}]}",
                      tid),
                  409);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    harness_resp_free(&theirs);
    harness_resp_free(&mine);
    /* a run with if_not_exists=create on A's thread id cannot create, reveal or change it: it
     * answers what a run on a missing thread without if_not_exists answers */
    mine = call(BOB, "POST", fmt("/threads/%s/runs/wait", tid), run_body("agent", "x", "\"if_not_exists\": \"create\""), 404);
    theirs = call(BOB, "POST", fmt("/threads/%s/runs/wait", tid), run_body("agent", "x", NULL), 404);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    harness_resp_free(&theirs);
    harness_resp_free(&mine);
    r = call(ALICE, "GET", fmt("/threads/%s", tid), NULL, 200);
    assert_true(json_equal(keep.json, r.json));
    harness_resp_free(&r);
    harness_resp_free(&keep);
    r = call(ALICE, "GET", fmt("/threads/%s/history", tid), NULL, 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);

    r = call(ALICE, "POST", "/assistants", "{\"graph_id\": \"agent\", \"name\": \"keep\", \"metadata\": {\"suite\": \"ids\"}}",
             200);
    snprintf(aid, sizeof(aid), "%s", json_string_value(json_object_get(r.json, "assistant_id")));
    harness_resp_free(&r);
    mine = call(ALICE, "POST", "/assistants", fmt("{\"assistant_id\": \"%s\", \"graph_id\": \"agent\"}", aid), 409);
    theirs = call(BOB, "POST", "/assistants", fmt("{\"assistant_id\": \"%s\", \"graph_id\": \"agent\", \"name\": \"b\"}", aid),
                  409);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    harness_resp_free(&theirs);
    theirs = call(BOB, "POST", "/assistants",
                  fmt("{\"assistant_id\": \"%s\", \"graph_id\": \"agent\", \"if_exists\": \"do_nothing\"}", aid), 409);
    assert_string_equal(harness_detail(&mine), harness_detail(&theirs));
    harness_resp_free(&theirs);
    harness_resp_free(&mine);
    r = call(ALICE, "GET", fmt("/assistants/%s", aid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(r.json, "name")), "keep");
    assert_int_equal(json_integer_value(json_object_get(r.json, "version")), 1);
    harness_resp_free(&r);
}

/* B against A's assistant: missing for every operation, including naming it in a run. */
static void test_b_on_a_assistant(void **state)
{
    const char *const a[] = {a_assistant, NULL};
    harness_resp_t r, before;
    char tid[37];

    (void)state;
    r = call(ALICE, "POST", "/assistants",
             "{\"graph_id\": \"agent\", \"name\": \"private\", \"config\": {\"configurable\": {\"system_prompt\": \"a\"}}, "
             "\"metadata\": {\"suite\": \"asst\"}}",
             200);
    snprintf(a_assistant, sizeof(a_assistant), "%s", json_string_value(json_object_get(r.json, "assistant_id")));
    harness_resp_free(&r);
    before = call(ALICE, "GET", fmt("/assistants/%s", a_assistant), NULL, 200);

    as_missing("GET", fmt("/assistants/%s", a_assistant), NULL, a, 404);
    as_missing("PATCH", fmt("/assistants/%s", a_assistant), "{\"name\": \"stolen\"}", a, 404);
    as_missing("DELETE", fmt("/assistants/%s", a_assistant), NULL, a, 404);
    as_missing("POST", fmt("/assistants/%s/versions", a_assistant), "{}", a, 404);
    as_missing("POST", fmt("/assistants/%s/latest", a_assistant), "{\"version\": 1}", a, 404);
    as_missing("GET", fmt("/assistants/%s/graph", a_assistant), NULL, a, 404);
    as_missing("GET", fmt("/assistants/%s/schemas", a_assistant), NULL, a, 404);
    as_missing("GET", fmt("/assistants/%s/subgraphs", a_assistant), NULL, a, 404);
    new_thread(BOB, "{}", tid);
    as_missing("POST", fmt("/threads/%s/runs", tid), run_body(a_assistant, "b", NULL), a, 404);
    as_missing("POST", "/runs/wait", run_body(a_assistant, "b", NULL), a, 404);
    as_missing("POST", "/runs/batch", fmt("[%s]", run_body(a_assistant, "b", NULL)), a, 404);

    r = call(BOB, "POST", "/assistants/search", "{\"metadata\": {\"suite\": \"asst\"}}", 200);
    assert_int_equal(json_array_size(r.json), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/assistants/count", "{\"metadata\": {\"suite\": \"asst\"}}", 200);
    assert_int_equal(json_integer_value(r.json), 0);
    harness_resp_free(&r);

    r = call(ALICE, "GET", fmt("/assistants/%s", a_assistant), NULL, 200);
    assert_true(json_equal(before.json, r.json));
    harness_resp_free(&r);
    r = call(ALICE, "POST", fmt("/assistants/%s/versions", a_assistant), "{}", 200);
    assert_int_equal(json_array_size(r.json), 1);
    harness_resp_free(&r);
    harness_resp_free(&before);
    /* A runs its own assistant */
    expect(ALICE, "POST", "/runs/wait", run_body(a_assistant, "mine", NULL), 200);
}

/* System assistants: readable, searchable and runnable by every user; changeable by none
 * (403, and nothing changes). */
static void test_system_assistant(void **state)
{
    harness_resp_t r, before;
    size_t i;
    int seen = 0;
    who_t w;

    (void)state;
    before = call(ALICE, "GET", fmt("/assistants/%s", sys_id), NULL, 200);
    for (w = ALICE; w <= BOB; ++w) {
        r = call(w, "GET", fmt("/assistants/%s", sys_id), NULL, 200);
        assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "created_by")), "system");
        harness_resp_free(&r);
        r = call(w, "POST", "/assistants/search", "{\"graph_id\": \"agent\", \"limit\": 100}", 200);
        for (seen = 0, i = 0; i != json_array_size(r.json); ++i)
            seen |= strcmp(json_string_value(json_object_get(json_array_get(r.json, i), "assistant_id")), sys_id) == 0;
        assert_true(seen);
        harness_resp_free(&r);
        expect(w, "GET", fmt("/assistants/%s/schemas", sys_id), NULL, 200);
        expect(w, "POST", fmt("/assistants/%s/versions", sys_id), "{}", 200);
        expect(w, "PATCH", fmt("/assistants/%s", sys_id), "{\"name\": \"mine now\"}", 403);
        expect(w, "DELETE", fmt("/assistants/%s", sys_id), NULL, 403);
        expect(w, "POST", fmt("/assistants/%s/latest", sys_id), "{\"version\": 1}", 403);
        r = call(w, "POST", "/runs/wait", run_body(sys_id, "sys", NULL), 200);
        assert_no_secret(&r);
        harness_resp_free(&r);
    }
    r = call(BOB, "GET", fmt("/assistants/%s", sys_id), NULL, 200);
    assert_true(json_equal(before.json, r.json));
    harness_resp_free(&r);
    harness_resp_free(&before);
    /* a user cannot make a system assistant: metadata.created_by is only a label on an
     * assistant that has an owner */
    r = call(BOB, "POST", "/assistants", "{\"graph_id\": \"agent\", \"metadata\": {\"created_by\": \"system\"}}", 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_B);
    expect(ALICE, "GET", fmt("/assistants/%s", json_string_value(json_object_get(r.json, "assistant_id"))), NULL, 404);
    expect(BOB, "PATCH", fmt("/assistants/%s", json_string_value(json_object_get(r.json, "assistant_id"))),
           "{\"name\": \"still mine\"}", 200);
    harness_resp_free(&r);
}

/* Stateless runs: their ephemeral (kept) threads and the runs are the caller's; batches too. */
static void test_stateless(void **state)
{
    harness_resp_t r;
    char tid[37], rid[37];
    size_t i;

    (void)state;
    r = call(ALICE, "POST", "/runs", run_body("agent", "keep me", "\"on_completion\": \"keep\""), 200);
    assert_no_secret(&r);
    snprintf(tid, sizeof(tid), "%s", json_string_value(json_object_get(r.json, "thread_id")));
    snprintf(rid, sizeof(rid), "%s", json_string_value(json_object_get(r.json, "run_id")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
    as_missing("GET", fmt("/runs/%s/stream", rid), NULL, (const char *const[]){rid, NULL}, 404);
    expect(ALICE, "GET", fmt("/threads/%s/runs/%s/join", tid, rid), NULL, 200);
    r = call(ALICE, "GET", fmt("/threads/%s", tid), NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "metadata"), "owner")), USER_A);
    harness_resp_free(&r);
    as_missing("GET", fmt("/threads/%s", tid), NULL, (const char *const[]){tid, NULL}, 404);
    as_missing("GET", fmt("/threads/%s/runs/%s", tid, rid), NULL, (const char *const[]){tid, rid, NULL}, 404);

    r = call(BOB, "POST", "/runs/batch",
             fmt("[%s, %s]", run_body("agent", "one", "\"on_completion\": \"keep\""), run_body("agent", "two", NULL)), 200);
    assert_int_equal(json_array_size(r.json), 2);
    for (i = 0; i != 2; ++i)
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(json_array_get(r.json, i), "metadata"), "owner")), USER_B);
    expect(ALICE, "GET",
           fmt("/threads/%s", json_string_value(json_object_get(json_array_get(r.json, 0), "thread_id"))), NULL, 404);
    harness_resp_free(&r);
}

/* The store: each user's items in its own scope, namespaces exactly as written. */
static void test_store_scopes(void **state)
{
    /* namespace listings of every shape: A's namespace matches each, B's scope has none */
    static const char *const ns_queries[] = {"{\"max_depth\": 1}", "{\"suffix\": [\"ui\"]}", "{\"prefix\": [\"prefs\"], \"max_depth\": 2}",
                                             "{\"prefix\": [\"prefs\"], \"suffix\": [\"ui\"]}"};
    harness_resp_t r;
    size_t i;

    (void)state;
    expect(ALICE, "PUT", "/store/items", "{\"namespace\": [\"prefs\", \"ui\"], \"key\": \"k\", \"value\": {\"v\": \"a\"}}", 204);
    r = call(BOB, "GET", "/store/items?namespace=prefs.ui&key=k", NULL, 200);
    assert_string_equal(r.body, "null");
    harness_resp_free(&r);
    r = call(BOB, "POST", "/store/items/search", "{\"namespace_prefix\": [\"prefs\"]}", 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    harness_resp_free(&r);
    r = call(BOB, "POST", "/store/namespaces", "{}", 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "namespaces")), 0);
    harness_resp_free(&r);
    for (i = 0; i != sizeof(ns_queries) / sizeof(ns_queries[0]); ++i) {
        r = call(BOB, "POST", "/store/namespaces", ns_queries[i], 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "namespaces")), 0);
        harness_resp_free(&r);
        r = call(ALICE, "POST", "/store/namespaces", ns_queries[i], 200);
        assert_int_equal(json_array_size(json_object_get(r.json, "namespaces")), 1);
        harness_resp_free(&r);
    }
    r = call(BOB, "POST", "/store/items/search", "{\"namespace_prefix\": [\"prefs\", \"ui\"], \"filter\": {\"v\": \"a\"}}", 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 0);
    harness_resp_free(&r);
    expect(BOB, "DELETE", "/store/items", "{\"namespace\": [\"prefs\", \"ui\"], \"key\": \"k\"}", 204);
    expect(BOB, "PUT", "/store/items", "{\"namespace\": [\"prefs\", \"ui\"], \"key\": \"k\", \"value\": {\"v\": \"b\"}}", 204);

    r = call(ALICE, "GET", "/store/items?namespace=prefs.ui&key=k", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "value"), "v")), "a");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "namespace"), 0)), "prefs");
    assert_int_equal(json_array_size(json_object_get(r.json, "namespace")), 2);
    harness_resp_free(&r);
    r = call(ALICE, "POST", "/store/namespaces", "{}", 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "namespaces")), 1);
    assert_int_equal(json_array_size(json_array_get(json_object_get(r.json, "namespaces"), 0)), 2);
    assert_string_equal(json_string_value(json_array_get(json_array_get(json_object_get(r.json, "namespaces"), 0), 1)), "ui");
    harness_resp_free(&r);
    r = call(ALICE, "POST", "/store/items/search", "{\"namespace_prefix\": [\"prefs\"]}", 200);
    assert_int_equal(json_array_size(json_object_get(r.json, "items")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json_array_get(json_object_get(r.json, "items"), 0), "value"), "v")),
        "a");
    harness_resp_free(&r);
    r = call(BOB, "GET", "/store/items?namespace=prefs.ui&key=k", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "value"), "v")), "b");
    harness_resp_free(&r);
    expect(BOB, "DELETE", "/store/items", "{\"namespace\": [\"prefs\", \"ui\"], \"key\": \"k\"}", 204);
    r = call(ALICE, "GET", "/store/items?namespace=prefs.ui&key=k", NULL, 200);
    assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "value"), "v")), "a");
    harness_resp_free(&r);
}

/* After everything above: no credential in any file of the data directory or in the log. */
static void test_no_secret_on_disk(void **state)
{
    (void)state;
    leaked_in[0] = '\0';
    assert_int_equal(nftw(srv.data_dir, scan_file, 16, FTW_PHYS), 0);
    if (leaked_in[0] == '\0')
        nftw(srv.log_path, scan_file, 1, FTW_PHYS);
    if (leaked_in[0] != '\0')
        fprintf(stderr, "a credential was written to %s\n", leaked_in);
    assert_string_equal(leaked_in, "");
}

int main(int argc, char **argv)
{
    harness_init(argc, argv);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_is_on),
        cmocka_unit_test(test_owner_is_stamped),
        cmocka_unit_test(test_run_as_a),
        cmocka_unit_test(test_b_on_a_threads_and_runs),
        cmocka_unit_test(test_b_own_thread_a_checkpoint),
        cmocka_unit_test(test_client_chosen_ids),
        cmocka_unit_test(test_b_on_a_assistant),
        cmocka_unit_test(test_system_assistant),
        cmocka_unit_test(test_stateless),
        cmocka_unit_test(test_store_scopes),
        cmocka_unit_test(test_no_secret_on_disk),
    };
    return cmocka_run_group_tests_name("conformance_ownership", tests, group_setup, group_teardown);
}
