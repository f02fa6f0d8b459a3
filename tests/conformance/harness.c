/*
 * tests/conformance/harness.c — implementation of the black-box harness (see harness.h).
 * Processes are started with fork/exec, watched with bounded waits and stopped by PID; tokens
 * for the auth modes are signed with OpenSSL; harness_expect fails the running cmocka test.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

const char *harness_bin = "build/lgserve";
long harness_timeout_s = 30;

void harness_init(int argc, char **argv)
{
    if (argc > 1)
        harness_bin = argv[1];
    if (getenv("LGSERVE_BIN") != NULL)
        harness_bin = getenv("LGSERVE_BIN");
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Asks the kernel for a free loopback port; returns it or -1. */
static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void print_log(const harness_server_t *s)
{
    char line[1024];
    FILE *f = fopen(s->log_path, "r");
    if (f == NULL)
        return;
    fprintf(stderr, "---- server log %s ----\n", s->log_path);
    while (fgets(line, sizeof(line), f) != NULL)
        fputs(line, stderr);
    fclose(f);
}

/* Starts the server on s->data_dir (which must exist) and waits for GET /ok; see harness_start. */
static int spawn_server(harness_server_t *s, const char *const *extra, const char *const *env)
{
    char port[16];
    const char *argv[64];
    size_t n = 0;

    for (int attempt = 0; attempt < 5; attempt++) {
        s->port = free_port();
        snprintf(port, sizeof(port), "%d", s->port);
        snprintf(s->base_url, sizeof(s->base_url), "http://127.0.0.1:%d", s->port);
        n = 0;
        argv[n++] = harness_bin;
        argv[n++] = "--host";
        argv[n++] = "127.0.0.1";
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--data-dir";
        argv[n++] = s->data_dir;
        for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 62; i++)
            argv[n++] = extra[i];
        argv[n] = NULL;
        pid_t pid = fork();
        if (pid < 0)
            return -1;
        if (pid == 0) {
            int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
            for (size_t i = 0; env != NULL && env[i] != NULL; i++)
                putenv((char *)env[i]);
            execv(harness_bin, (char *const *)argv);
            _exit(127);
        }
        s->pid = pid;
        for (int i = 0; i < 200; i++) { /* up to 10 s */
            harness_resp_t r;
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                s->pid = 0;
                break;
            }
            if (harness_request(s, "GET", "/ok", NULL, NULL, 0, &r) == 0) {
                long st = r.status;
                harness_resp_free(&r);
                if (st == 200)
                    return 0;
            }
            msleep(50);
        }
        if (s->pid != 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, NULL, 0);
            s->pid = 0;
        }
    }
    print_log(s);
    return -1;
}

int harness_start(harness_server_t *s, const char *const *extra, const char *const *env)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->data_dir, sizeof(s->data_dir), "/tmp/lgserve-test-XXXXXX");
    if (mkdtemp(s->data_dir) == NULL)
        return -1;
    snprintf(s->log_path, sizeof(s->log_path), "%s.log", s->data_dir);
    return spawn_server(s, extra, env);
}

int harness_restart(harness_server_t *s, const char *const *extra, const char *const *env)
{
    if (s->pid > 0)
        return -1;
    return spawn_server(s, extra, env);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int harness_stop(harness_server_t *s, int keep_data)
{
    int status = -1;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        for (int i = 0; i < 300; i++) {
            if (waitpid(s->pid, &status, WNOHANG) == s->pid)
                goto Reaped;
            msleep(50);
        }
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
    Reaped:
        s->pid = 0;
    }
    if (!keep_data) {
        nftw(s->data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        unlink(s->log_path);
    }
    return status;
}

void harness_kill9(harness_server_t *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
}

typedef struct buf {
    char *p;
    size_t n;
} buf_t;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *user)
{
    buf_t *b = user;
    size_t len = size * nmemb;
    char *p = realloc(b->p, b->n + len + 1);
    if (p == NULL)
        return 0;
    memcpy(p + b->n, ptr, len);
    b->p = p;
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

/* Header callback: stores header lines with lower-cased names; resets on a new status line. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user)
{
    buf_t *b = user;
    size_t len = size * nmemb;
    if (len >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
        b->n = 0;
    size_t start = b->n;
    if (on_data(ptr, size, nmemb, user) != len)
        return 0;
    for (size_t i = start; i < b->n && b->p[i] != ':'; i++)
        b->p[i] = (char)tolower((unsigned char)b->p[i]);
    return len;
}

int harness_request(const harness_server_t *s, const char *method, const char *path,
                    const char *const *headers, const char *body, size_t body_len, harness_resp_t *r)
{
    char url[2048];
    buf_t data = {0}, hdr = {0};
    struct curl_slist *list = NULL;
    int ret = -1;
    CURL *c = curl_easy_init();

    memset(r, 0, sizeof(*r));
    if (c == NULL)
        return -1;
    snprintf(url, sizeof(url), "%s%s", s->base_url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, harness_timeout_s);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &data);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body != NULL) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        list = curl_slist_append(list, "Content-Type: application/json");
    }
    list = curl_slist_append(list, "Expect:");
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
        list = curl_slist_append(list, headers[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
    if (curl_easy_perform(c) != CURLE_OK)
        goto Exit;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    r->body = data.p != NULL ? data.p : strdup("");
    r->body_len = data.n;
    r->headers = hdr.p != NULL ? hdr.p : strdup("");
    data.p = hdr.p = NULL;
    r->json = json_loadb(r->body, r->body_len, 0, NULL);
    ret = 0;
Exit:
    free(data.p);
    free(hdr.p);
    curl_slist_free_all(list);
    curl_easy_cleanup(c);
    return ret;
}

harness_resp_t harness_expect(const harness_server_t *s, const char *method, const char *path,
                              const char *body, long status)
{
    harness_resp_t r;

    assert_int_equal(harness_request(s, method, path, NULL, body, body ? strlen(body) : 0, &r), 0);
    if (r.status != status)
        fprintf(stderr, "%s %s %s: got %ld, want %ld: %s\n", method, path, body ? body : "", r.status,
                status, r.body);
    assert_int_equal(r.status, status);
    return r;
}

void harness_resp_free(harness_resp_t *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

const char *harness_header(const harness_resp_t *r, const char *name, char *buf, size_t cap)
{
    size_t nlen = strlen(name);
    const char *p = r->headers;
    while (p != NULL && *p != '\0') {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1;
            while (*v == ' ')
                v++;
            size_t vlen = len - (size_t)(v - p);
            if (vlen >= cap)
                vlen = cap - 1;
            memcpy(buf, v, vlen);
            buf[vlen] = '\0';
            return buf;
        }
        p = eol != NULL ? eol + 2 : NULL;
    }
    return NULL;
}

const char *harness_detail(const harness_resp_t *r)
{
    json_t *d = r->json != NULL ? json_object_get(r->json, "detail") : NULL;
    return json_is_string(d) ? json_string_value(d) : "";
}

/* base64url without padding of `n` bytes into `out`, which has room for 4n/3 + 3 bytes. */
static void b64url(const unsigned char *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t i, o = 0;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i != 0) {
        unsigned v = (unsigned)in[i] << 16 | (n - i == 2 ? (unsigned)in[i + 1] << 8 : 0u);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        if (n - i == 2)
            out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
}

int harness_jwt_hs256(const char *secret, const char *payload_json, char *out, size_t cap)
{
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    size_t plen = strlen(payload_json);
    char *payload = malloc(plen * 4 / 3 + 3), h[64], sig[64];
    int ret = -1;

    if (payload == NULL)
        return -1;
    b64url((const unsigned char *)header, strlen(header), h);
    b64url((const unsigned char *)payload_json, plen, payload);
    if ((size_t)snprintf(out, cap, "%s.%s", h, payload) >= cap)
        goto Exit;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)out, strlen(out), mac, &mac_len);
    b64url(mac, mac_len, sig);
    if (strlen(out) + 1 + strlen(sig) >= cap)
        goto Exit;
    strcat(out, ".");
    strcat(out, sig);
    ret = 0;
Exit:
    free(payload);
    return ret;
}

int harness_run(const char *const *args, const char *const *env, int timeout_s, char *err, size_t cap)
{
    int pipefd[2], status = -1;
    const char *argv[32];
    size_t n = 0, got = 0;

    argv[n++] = harness_bin;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(pipefd) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        close(pipefd[0]);
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(harness_bin, (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    for (int i = 0; i < timeout_s * 20; i++) {
        ssize_t k;
        while (got + 1 < cap && (k = read(pipefd[0], err + got, cap - 1 - got)) > 0)
            got += (size_t)k;
        if (waitpid(pid, &status, WNOHANG) == pid)
            goto Done;
        msleep(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
Done:
    for (ssize_t k; got + 1 < cap && (k = read(pipefd[0], err + got, cap - 1 - got)) > 0;)
        got += (size_t)k;
    err[got] = '\0';
    close(pipefd[0]);
    return status;
}
