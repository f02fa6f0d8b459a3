/*
 * runtime/auth/auth_supabase.c — supabase mode (contracts in auth_internal.h): a bearer token
 * is valid when GET {SUPABASE_URL}/auth/v1/user with `apikey: SUPABASE_KEY` and the token
 * answers 200 with a user object; its `id` is the caller. The call runs on one of a few checker
 * threads (libcurl, a kept-alive handle each), never on an event loop: the request waits parked
 * and the result comes back through auth_async_t.
 *
 * Verdict cache: positive verdicts are kept for the token's remaining lifetime (its `exp`, read
 * without verification only for this purpose), at most CACHE_MAX_TTL seconds, and
 * CACHE_NO_EXP_TTL seconds when it has none. The cache is a fixed array of --auth-cache-size
 * slots keyed by the token's SHA-256 (tokens themselves are not kept): an entry lives in one of
 * CACHE_WAYS slots after its hash, and a new one takes a free or expired slot there, else the
 * one closest to expiry. Refusals and failures are not cached.
 *
 * Checks of one token that arrive while it is being checked (a client firing several requests
 * at once with a new token) wait on the check under way instead of asking the server again:
 * every check queued or running is on the in-flight list, found by the token's SHA-256.
 *
 * Waiting is bounded: a check still queued SUPA_TIMEOUT_S seconds after it was asked for (the
 * auth server answers slower than requests arrive) is answered 503 without asking, as is every
 * check still queued when the mode stops, so a slow or unreachable auth server neither parks
 * requests for longer than about twice the timeout nor holds up shutdown.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include "auth/auth_internal.h"
#include "util/log.h"

#define SUPA_THREADS 4
#define SUPA_QUEUE_MAX 4096
#define SUPA_TIMEOUT_S 10L
#define SUPA_BODY_MAX (256 * 1024)
#define CACHE_WAYS 4
#define CACHE_MAX_TTL 3600
#define CACHE_NO_EXP_TTL 60

typedef struct supa_entry {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    time_t expires; /* 0: free */
    char *id, *email; /* malloc'd */
} supa_entry_t;

typedef struct supa_job {
    struct supa_job *next;     /* in the queue */
    struct supa_job *inflight; /* in the in-flight list */
    auth_async_t *a;           /* the first waiter; others chained by a->_next */
    unsigned char digest[SHA256_DIGEST_LENGTH];
    time_t expires;  /* cache lifetime if the verdict is positive */
    time_t deadline; /* answered 503 without asking when taken off the queue after this */
} supa_job_t;

static struct {
    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t wake;
    char *user_url;   /* malloc'd "{SUPABASE_URL}/auth/v1/user" */
    char *key_header; /* malloc'd "apikey: <key>" */
    supa_entry_t *cache;
    size_t cache_size;
    supa_job_t *head, *tail;
    supa_job_t *inflight; /* every job queued or running */
    size_t queued;
    int stop, n_threads;
    pthread_t threads[SUPA_THREADS];
} supa = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

/* The first slot of the ways of `digest`. */
static size_t cache_slot(const unsigned char *digest)
{
    size_t h;

    memcpy(&h, digest, sizeof(h));
    return h % supa.cache_size;
}

/* Looks `digest` up (lock held): on a live hit copies id/email (malloc'd) and returns 1. */
static int cache_get(const unsigned char *digest, time_t now, char **id, char **email)
{
    size_t i, base = cache_slot(digest);

    for (i = 0; i != CACHE_WAYS; ++i) {
        supa_entry_t *e = &supa.cache[(base + i) % supa.cache_size];
        if (e->expires > now && memcmp(e->digest, digest, sizeof(e->digest)) == 0) {
            *id = strdup(e->id);
            *email = e->email != NULL ? strdup(e->email) : NULL;
            if (*id == NULL || (e->email != NULL && *email == NULL)) {
                free(*id);
                free(*email);
                *id = *email = NULL;
                return 0;
            }
            return 1;
        }
    }
    return 0;
}

/* Stores a positive verdict (lock held); silently skipped when out of memory. */
static void cache_put(const unsigned char *digest, time_t expires, const char *id, const char *email)
{
    size_t i, base = cache_slot(digest);
    supa_entry_t *victim = NULL;
    char *id_copy = strdup(id), *email_copy = email != NULL ? strdup(email) : NULL;

    if (id_copy == NULL || (email != NULL && email_copy == NULL))
        goto Fail;
    for (i = 0; i != CACHE_WAYS; ++i) {
        supa_entry_t *e = &supa.cache[(base + i) % supa.cache_size];
        if (memcmp(e->digest, digest, sizeof(e->digest)) == 0 || e->expires <= time(NULL)) {
            victim = e;
            break;
        }
        if (victim == NULL || e->expires < victim->expires)
            victim = e;
    }
    free(victim->id);
    free(victim->email);
    memcpy(victim->digest, digest, sizeof(victim->digest));
    victim->expires = expires;
    victim->id = id_copy;
    victim->email = email_copy;
    return;
Fail:
    free(id_copy);
    free(email_copy);
}

/* Asks the auth server about job->a->_token with `curl` and fills the verdict in job->a
 * (id and email malloc'd into it); a positive verdict also goes into the cache. */
static void check_token(CURL *curl, supa_job_t *job)
{
    auth_async_t *a = job->a;
    struct curl_slist *headers = NULL, *with_key;
    auth_body_t body = {.max = SUPA_BODY_MAX};
    json_t *user = NULL;
    const char *id, *email;
    char *bearer = NULL;
    long status = 0;
    CURLcode cc;

    a->_status = 503;
    a->_error = NULL;
    a->_detail = "the authentication server could not be reached";
    if ((bearer = malloc(strlen(a->_token) + sizeof("Authorization: Bearer "))) == NULL)
        goto Exit;
    sprintf(bearer, "Authorization: Bearer %s", a->_token);
    if ((with_key = curl_slist_append(NULL, supa.key_header)) == NULL)
        goto Exit;
    headers = with_key;
    if ((with_key = curl_slist_append(headers, bearer)) == NULL)
        goto Exit;
    headers = with_key;
    curl_easy_setopt(curl, CURLOPT_URL, supa.user_url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
        log_warn("auth: supabase user check failed: %s", curl_easy_strerror(cc));
        goto Exit;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 401 || status == 403 || status == 404) {
        a->_status = 401;
        a->_error = "invalid_token";
        a->_detail = "Invalid token or user not found";
        goto Exit;
    }
    if (status != 200) {
        log_warn("auth: supabase user check answered HTTP %ld", status);
        goto Exit;
    }
    user = json_loadb(body.data != NULL ? body.data : "", body.len, 0, NULL);
    id = json_string_value(json_object_get(user, "id"));
    email = json_string_value(json_object_get(user, "email"));
    if (id == NULL || id[0] == '\0' || strlen(id) > 255) {
        log_warn("auth: supabase user check answered 200 without a user id");
        goto Exit;
    }
    if ((a->_id = strdup(id)) == NULL || (email != NULL && (a->_email = strdup(email)) == NULL))
        goto Exit;
    a->_status = 0;
    a->_detail = NULL;
    pthread_mutex_lock(&supa.lock);
    if (supa.cache != NULL)
        cache_put(job->digest, job->expires, id, email);
    pthread_mutex_unlock(&supa.lock);
Exit:
    if (bearer != NULL)
        OPENSSL_cleanse(bearer, strlen(bearer));
    free(bearer);
    curl_slist_free_all(headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    free(body.data);
    json_decref(user);
}

/* Takes `job` off the in-flight list (lock held). */
static void inflight_remove(supa_job_t *job)
{
    supa_job_t **p;

    for (p = &supa.inflight; *p != NULL; p = &(*p)->inflight)
        if (*p == job) {
            *p = job->inflight;
            return;
        }
}

/* Answers every waiter of a checked job with the first one's verdict and frees the job. The
 * job is already off the in-flight list, so no waiter joins meanwhile. */
static void answer_all(supa_job_t *job)
{
    auth_async_t *first = job->a, *w = first->_next, *next;

    first->_next = NULL;
    for (; w != NULL; w = next) {
        next = w->_next;
        w->_next = NULL;
        w->_status = first->_status;
        w->_detail = first->_detail;
        w->_error = first->_error;
        if (first->_status == 0 && ((w->_id = strdup(first->_id)) == NULL ||
                                    (first->_email != NULL && (w->_email = strdup(first->_email)) == NULL))) {
            w->_status = 503;
            w->_detail = "out of memory";
        }
        w->on_done(w); /* may free w: `next` was read before */
    }
    first->on_done(first);
    free(job);
}

/* A checker thread: takes jobs until told to stop, answers each through its on_done. */
static void *on_checker_thread(void *arg)
{
    CURL *curl = curl_easy_init();
    int late;

    (void)arg;
    if (curl != NULL) {
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT, SUPA_TIMEOUT_S);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, auth_body_write);
    }
    pthread_mutex_lock(&supa.lock);
    for (;;) {
        supa_job_t *job;
        while (supa.head == NULL && !supa.stop)
            pthread_cond_wait(&supa.wake, &supa.lock);
        if ((job = supa.head) == NULL)
            break;
        if ((supa.head = job->next) == NULL)
            supa.tail = NULL;
        --supa.queued;
        late = supa.stop || time(NULL) > job->deadline;
        pthread_mutex_unlock(&supa.lock);
        if (curl != NULL && !late) {
            check_token(curl, job);
        } else {
            job->a->_status = 503;
            job->a->_detail =
                late ? "the authentication server is not answering in time" : "the authentication server could not be reached";
        }
        pthread_mutex_lock(&supa.lock);
        inflight_remove(job);
        pthread_mutex_unlock(&supa.lock);
        answer_all(job);
        pthread_mutex_lock(&supa.lock);
    }
    pthread_mutex_unlock(&supa.lock);
    curl_easy_cleanup(curl);
    return NULL;
}

int auth_supabase_start(const char *url, const char *key, int cache_size, char *err, size_t cap)
{
    size_t len = strlen(url);
    int i, rc;

    while (len != 0 && url[len - 1] == '/')
        --len;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        snprintf(err, cap, "SUPABASE_URL must start with http:// or https://");
        return -1;
    }
    if (strpbrk(key, "\r\n") != NULL) {
        snprintf(err, cap, "SUPABASE_KEY must not contain line breaks");
        return -1;
    }
    pthread_mutex_lock(&supa.lock);
    supa.stop = 0;
    supa.cache_size = (size_t)cache_size;
    supa.cache = calloc(supa.cache_size, sizeof(*supa.cache));
    supa.user_url = malloc(len + sizeof("/auth/v1/user"));
    supa.key_header = malloc(strlen(key) + sizeof("apikey: "));
    pthread_mutex_unlock(&supa.lock);
    if (supa.cache == NULL || supa.user_url == NULL || supa.key_header == NULL) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    memcpy(supa.user_url, url, len);
    strcpy(supa.user_url + len, "/auth/v1/user");
    sprintf(supa.key_header, "apikey: %s", key);
    for (i = 0; i != SUPA_THREADS; ++i) {
        if ((rc = pthread_create(&supa.threads[i], NULL, on_checker_thread, NULL)) != 0) {
            snprintf(err, cap, "cannot start the supabase checker threads: %s", strerror(rc));
            return -1;
        }
        supa.n_threads = i + 1;
    }
    return 0;
}

void auth_supabase_stop(void)
{
    size_t i;
    int t;

    pthread_mutex_lock(&supa.lock);
    supa.stop = 1;
    pthread_cond_broadcast(&supa.wake);
    pthread_mutex_unlock(&supa.lock);
    for (t = 0; t != supa.n_threads; ++t)
        pthread_join(supa.threads[t], NULL);
    supa.n_threads = 0;
    for (i = 0; supa.cache != NULL && i != supa.cache_size; ++i) {
        free(supa.cache[i].id);
        free(supa.cache[i].email);
    }
    free(supa.cache);
    if (supa.key_header != NULL)
        OPENSSL_cleanse(supa.key_header, strlen(supa.key_header));
    free(supa.key_header);
    free(supa.user_url);
    supa.cache = NULL;
    supa.key_header = supa.user_url = NULL;
    supa.cache_size = 0;
}

int auth_supabase_check(const char *token, size_t len, auth_async_t *a, char **id, char **email)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    time_t now = time(NULL), expires = now + CACHE_NO_EXP_TTL;
    long long exp;
    supa_job_t *job = NULL, *running;

    SHA256((const unsigned char *)token, len, digest);
    pthread_mutex_lock(&supa.lock);
    if (cache_get(digest, now, id, email)) {
        pthread_mutex_unlock(&supa.lock);
        return 1;
    }
    pthread_mutex_unlock(&supa.lock);
    a->_id = a->_email = NULL;
    a->_next = NULL;
    a->_error = NULL;
    a->_status = 503;
    a->_detail = "too many authentication checks are waiting";
    if ((a->_token = strndup(token, len)) == NULL || (job = calloc(1, sizeof(*job))) == NULL) {
        a->_detail = "out of memory";
        goto Done;
    }
    if (auth_jwt_peek_exp(token, len, &exp) == 0)
        expires = exp < (long long)now ? now : exp > (long long)now + CACHE_MAX_TTL ? now + CACHE_MAX_TTL : (time_t)exp;
    memcpy(job->digest, digest, sizeof(digest));
    job->a = a;
    job->expires = expires;
    job->deadline = now + SUPA_TIMEOUT_S;
    pthread_mutex_lock(&supa.lock);
    for (running = supa.inflight; running != NULL; running = running->inflight)
        if (memcmp(running->digest, digest, sizeof(digest)) == 0) {
            a->_next = running->a->_next;
            running->a->_next = a;
            pthread_mutex_unlock(&supa.lock);
            free(job);
            return 0;
        }
    if (supa.queued >= SUPA_QUEUE_MAX || supa.stop || supa.n_threads == 0) {
        pthread_mutex_unlock(&supa.lock);
        goto Done;
    }
    if (supa.tail != NULL)
        supa.tail->next = job;
    else
        supa.head = job;
    supa.tail = job;
    job->inflight = supa.inflight;
    supa.inflight = job;
    ++supa.queued;
    pthread_cond_signal(&supa.wake);
    pthread_mutex_unlock(&supa.lock);
    return 0;
Done:
    free(job);
    a->on_done(a);
    return 0;
}
