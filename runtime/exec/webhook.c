/*
 * runtime/exec/webhook.c — run-completion webhooks: one thread that POSTs queued payloads
 * (JSON, content-type application/json) with libcurl, off the event loops and the workers.
 * Each delivery gets `timeout_s` per attempt and `retries` more attempts after a failure
 * (a transport error or a status >= 400), waiting 1 s, 2 s, 4 s, ... between them. Failures
 * are logged, never fatal. At stop, what is still queued is tried once.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/exec_internal.h"
#include "util/log.h"

typedef struct hook {
    char *url;
    char *body;
    struct hook *next;
} hook_t;

static pthread_mutex_t hook_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hook_cv = PTHREAD_COND_INITIALIZER;
static hook_t *hook_head, *hook_tail;
static int hook_stopping, hook_started;
static int hook_timeout_s = 10, hook_retries = 2;
static pthread_t hook_thread;

static size_t discard(char *p, size_t sz, size_t n, void *u)
{
    (void)p, (void)u;
    return sz * n;
}

/* One POST attempt. Returns 0 on a 2xx/3xx answer, else -1 with a reason in `why`. */
static int post_once(const char *url, const char *body, char *why, size_t whylen)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hdr = NULL;
    long code = 0;
    CURLcode rc;
    int ret = -1;

    if (c == NULL) {
        snprintf(why, whylen, "cannot create a curl handle");
        return -1;
    }
    hdr = curl_slist_append(hdr, "content-type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)hook_timeout_s);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "%s", curl_easy_strerror(rc));
        goto Exit;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 400) {
        snprintf(why, whylen, "HTTP %ld", code);
        goto Exit;
    }
    ret = 0;
Exit:
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return ret;
}

/* Delivers `h` with retries (none once stopping). */
static void deliver(const hook_t *h)
{
    char why[256] = "";
    int attempt, stopping;

    for (attempt = 0;; ++attempt) {
        if (post_once(h->url, h->body, why, sizeof(why)) == 0)
            return;
        pthread_mutex_lock(&hook_mu);
        stopping = hook_stopping;
        if (!stopping && attempt < hook_retries) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1L << (attempt < 5 ? attempt : 5);
            pthread_cond_timedwait(&hook_cv, &hook_mu, &until);
        }
        pthread_mutex_unlock(&hook_mu);
        if (stopping || attempt >= hook_retries)
            break;
    }
    log_warn("webhook POST to %s failed after %d attempt(s): %s", h->url, attempt + 1, why);
}

static void *hook_main(void *arg)
{
    (void)arg;
    for (;;) {
        hook_t *h;
        pthread_mutex_lock(&hook_mu);
        while (hook_head == NULL && !hook_stopping)
            pthread_cond_wait(&hook_cv, &hook_mu);
        h = hook_head;
        if (h != NULL) {
            hook_head = h->next;
            if (hook_head == NULL)
                hook_tail = NULL;
        }
        pthread_mutex_unlock(&hook_mu);
        if (h == NULL)
            break;
        deliver(h);
        free(h->url);
        free(h->body);
        free(h);
    }
    return NULL;
}

int exec_webhook_start(int timeout_s, int retries)
{
    hook_timeout_s = timeout_s > 0 ? timeout_s : 10;
    hook_retries = retries < 0 ? 0 : retries == 0 ? 2 : retries;
    hook_stopping = 0;
    if (pthread_create(&hook_thread, NULL, hook_main, NULL) != 0) {
        log_error("cannot start the webhook thread");
        return -1;
    }
    hook_started = 1;
    return 0;
}

void exec_webhook_post(const char *url, json_t *payload)
{
    hook_t *h = calloc(1, sizeof(*h));

    if (h != NULL) {
        h->url = strdup(url);
        h->body = json_dumps(payload, JSON_COMPACT);
    }
    json_decref(payload);
    if (h == NULL || h->url == NULL || h->body == NULL) {
        log_error("webhook to %s dropped: out of memory", url);
        if (h != NULL) {
            free(h->url);
            free(h->body);
            free(h);
        }
        return;
    }
    pthread_mutex_lock(&hook_mu);
    if (hook_tail != NULL)
        hook_tail->next = h;
    else
        hook_head = h;
    hook_tail = h;
    pthread_cond_signal(&hook_cv);
    pthread_mutex_unlock(&hook_mu);
}

void exec_webhook_stop(void)
{
    if (!hook_started)
        return;
    pthread_mutex_lock(&hook_mu);
    hook_stopping = 1;
    pthread_cond_broadcast(&hook_cv);
    pthread_mutex_unlock(&hook_mu);
    pthread_join(hook_thread, NULL);
    hook_started = 0;
}
