/*
 * tests/conformance/harness.h — black-box test harness: starts the real lgserve binary on a
 * free loopback port with a throwaway data directory, sends HTTP requests with libcurl, and
 * stops the server by PID. Every wait is bounded.
 */
#ifndef LG_TEST_HARNESS_H
#define LG_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

typedef struct harness_server {
    pid_t pid;
    int port;
    char data_dir[256]; /* mkdtemp'd; removed by harness_stop */
    char log_path[300]; /* server stdout+stderr */
    char base_url[64];
} harness_server_t;

typedef struct harness_resp {
    long status;
    char *body;         /* NUL-terminated; freed by harness_resp_free */
    size_t body_len;
    char *headers;      /* raw header block, lower-cased names; freed by harness_resp_free */
    json_t *json;       /* parsed body or NULL; freed by harness_resp_free */
} harness_resp_t;

/* Path of the binary under test: argv[1] of the test program (set by harness_init). */
extern const char *harness_bin;
void harness_init(int argc, char **argv);

/* Starts the server with `extra` arguments (NULL-terminated, may be NULL) and environment
 * assignments `env` ("NAME=value", NULL-terminated, may be NULL); waits until GET /ok answers.
 * Returns 0, or -1 with the server log printed. */
int harness_start(harness_server_t *s, const char *const *extra, const char *const *env);
/* Starts the server again on the data directory (and log file) of `s`, which must be stopped
 * (harness_stop with keep_data, or harness_kill9); same arguments and result as harness_start. */
int harness_restart(harness_server_t *s, const char *const *extra, const char *const *env);
/* Sends SIGTERM, waits up to 15 s (then SIGKILL); returns the exit status as waitpid reports it
 * (decode with WIFEXITED/WEXITSTATUS) and removes the data directory unless `keep_data`. */
int harness_stop(harness_server_t *s, int keep_data);
/* Sends SIGKILL and reaps; keeps the data directory. */
void harness_kill9(harness_server_t *s);

/* The longest a request may take, in seconds (default 30); a test may lower it. */
extern long harness_timeout_s;

/* One request. `headers` is NULL-terminated "Name: value" strings or NULL; `body` may be NULL.
 * Returns 0 when a response (any status) arrived, -1 on transport failure or timeout. */
int harness_request(const harness_server_t *s, const char *method, const char *path,
                    const char *const *headers, const char *body, size_t body_len, harness_resp_t *r);
void harness_resp_free(harness_resp_t *r);
/* One request with JSON text `body` (or NULL) and no extra headers that must answer `status`:
 * otherwise the running cmocka test fails, after printing the method, path, body and answer.
 * Returns the response (the caller frees it). */
harness_resp_t harness_expect(const harness_server_t *s, const char *method, const char *path,
                              const char *body, long status);
/* The value of response header `name` (lower-case) copied into buf, or NULL when absent. */
const char *harness_header(const harness_resp_t *r, const char *name, char *buf, size_t cap);
/* The "detail" string of a JSON error body, or "" (borrowed from r). */
const char *harness_detail(const harness_resp_t *r);

/* A compact JWT of `payload_json` (the claims, as sent) signed HS256 with `secret`, as Supabase
 * issues them, into `out` (NUL-terminated). Returns 0, or -1 when it does not fit in `cap`. */
int harness_jwt_hs256(const char *secret, const char *payload_json, char *out, size_t cap);

/* Runs `bin` with `args` (NULL-terminated, argv[0] excluded) for at most `timeout_s`; captures
 * stderr into `err` (NUL-terminated, truncated to cap). Returns the exit status as waitpid. */
int harness_run(const char *const *args, const char *const *env, int timeout_s, char *err, size_t cap);

#endif
