/*
 * runtime/http/server.c — listeners, one h2o evloop per thread, and graceful shutdown (see
 * server.h).
 *
 * Shutdown: the main thread blocks SIGTERM/SIGINT in every thread and waits for them with
 * sigwait; on one it posts a message to each loop. The loop then closes its listener, asks h2o
 * to wind down its connections, and stops once its in-flight count is zero or the grace period
 * has passed, and reports to the main thread, which returns from server_run once all have. A
 * 100 ms tick per loop also flushes the thread's access-log buffer.
 *
 * Each loop's evloop and h2o context are created on the loop's own thread (server_start starts
 * the threads, which then wait for server_run): h2o gives a socket the read-buffer allocator of
 * the thread that creates it (a thread-local free list), so the message queue's pipe, created
 * with the context, must belong to the thread that reads it; created on the main thread, both
 * loops would share the main thread's free list without a lock.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include "http/metrics.h"
#include "http/request.h"
#include "http/server.h"
#include "util/log.h"

#define SERVER_TICK_MS 100

typedef struct server_loop {
    size_t index;
    pthread_t thread;
    h2o_evloop_t *loop;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int fd;
    h2o_socket_t *listener;
    h2o_timeout_t tick;
    h2o_timeout_entry_t tick_entry;
    h2o_multithread_receiver_t shutdown_receiver;
    h2o_multithread_message_t shutdown_message;
    int stopping;
    int done;
    struct timespec deadline;
} server_loop_t;

/* Start-up hand-shake between server_start/server_run and the loop threads (under
 * server_done_lock / server_done_cond). */
static size_t server_n_started, server_n_ready;
static int server_go;

static h2o_globalconf_t server_globalconf;
static server_loop_t *server_loops;
static size_t server_n_loops;
static const config_t *server_cfg;
static sigset_t server_signals;
static __thread size_t server_my_loop = SIZE_MAX;
static pthread_mutex_t server_done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t server_done_cond = PTHREAD_COND_INITIALIZER;
static size_t server_n_done;

size_t server_loop_count(void)
{
    return server_n_loops;
}

h2o_context_t *server_loop_context(size_t i)
{
    return i < server_n_loops ? &server_loops[i].ctx : NULL;
}

h2o_multithread_queue_t *server_loop_queue(size_t i)
{
    return i < server_n_loops ? server_loops[i].ctx.queue : NULL;
}

size_t server_current_loop(void)
{
    return server_my_loop;
}

/* Creates a socket for `ai`, binds it and (when `reuseport`) listens. Returns the fd or -1
 * with errno set. */
static int bind_one(const struct addrinfo *ai, int reuseport)
{
    int fd, on = 1, saved;

    if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol)) < 0)
        goto Exit;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || (reuseport && listen(fd, SOMAXCONN) != 0)) {
        saved = errno;
        close(fd);
        errno = saved;
        fd = -1;
        goto Exit;
    }
    if (reuseport) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
Exit:
    return fd;
}

/*
 * Binds cfg->workers SO_REUSEPORT listeners into server_loops[i].fd. A plain bind first makes
 * sure nobody else owns the port (SO_REUSEPORT alone would share it with another process of
 * the same user). Returns 0 or -1 after logging one line.
 */
static int bind_all(void)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    char port[16];
    size_t i;
    int gai, probe, rc = -1;

    snprintf(port, sizeof(port), "%d", server_cfg->port);
    if ((gai = getaddrinfo(server_cfg->host, port, &hints, &ai)) != 0) {
        log_error("cannot listen on %s:%s: %s", server_cfg->host, port, gai_strerror(gai));
        goto Exit;
    }
    if ((probe = bind_one(ai, 0)) < 0) {
        log_error("cannot listen on %s:%s: %s", server_cfg->host, port, strerror(errno));
        goto Exit;
    }
    close(probe);
    for (i = 0; i != server_n_loops; ++i) {
        if ((server_loops[i].fd = bind_one(ai, 1)) < 0) {
            log_error("cannot listen on %s:%s: %s", server_cfg->host, port, strerror(errno));
            goto Exit;
        }
    }
    rc = 0;
Exit:
    if (ai != NULL)
        freeaddrinfo(ai);
    return rc;
}

static void on_accept(h2o_socket_t *listener, const char *err)
{
    server_loop_t *l = listener->data;
    h2o_socket_t *sock;

    if (err != NULL)
        return;
    if ((sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(&l->accept_ctx, sock);
}

/* The 100 ms tick: flushes the access log and, while stopping, decides when the loop ends. */
static void on_tick(h2o_timeout_entry_t *entry)
{
    server_loop_t *l = H2O_STRUCT_FROM_MEMBER(server_loop_t, tick_entry, entry);
    struct timespec now;

    log_flush();
    if (l->stopping) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (metrics_inflight_thread() <= 0 || now.tv_sec > l->deadline.tv_sec ||
            (now.tv_sec == l->deadline.tv_sec && now.tv_nsec >= l->deadline.tv_nsec)) {
            if (metrics_inflight_thread() > 0)
                log_warn("loop %zu: %ld requests still in flight after the grace period", l->index, metrics_inflight_thread());
            l->done = 1;
        }
    }
    if (!l->done)
        h2o_timeout_link(l->ctx.loop, &l->tick, &l->tick_entry);
}

/* Runs on loop l when shutdown was requested: stop accepting and start draining. */
static void on_shutdown(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    server_loop_t *l = H2O_STRUCT_FROM_MEMBER(server_loop_t, shutdown_receiver, receiver);

    while (!h2o_linklist_is_empty(messages))
        h2o_linklist_unlink(messages->next);
    if (l->stopping)
        return;
    l->stopping = 1;
    clock_gettime(CLOCK_MONOTONIC, &l->deadline);
    l->deadline.tv_sec += server_cfg->shutdown_grace;
    if (l->listener != NULL) {
        h2o_socket_read_stop(l->listener);
        h2o_socket_close(l->listener);
        l->listener = NULL;
    }
    h2o_context_request_shutdown(&l->ctx);
}

static void *loop_main(void *arg)
{
    server_loop_t *l = arg;

    server_my_loop = l->index;
    l->loop = h2o_evloop_create();
    h2o_context_init(&l->ctx, l->loop, &server_globalconf);
    l->accept_ctx.ctx = &l->ctx;
    l->accept_ctx.hosts = server_globalconf.hosts;
    h2o_timeout_init(l->loop, &l->tick, SERVER_TICK_MS);
    l->tick_entry.cb = on_tick;
    h2o_multithread_register_receiver(l->ctx.queue, &l->shutdown_receiver, on_shutdown);
    pthread_mutex_lock(&server_done_lock);
    ++server_n_ready;
    pthread_cond_broadcast(&server_done_cond);
    while (!server_go)
        pthread_cond_wait(&server_done_cond, &server_done_lock);
    pthread_mutex_unlock(&server_done_lock);

    l->listener = h2o_evloop_socket_create(l->loop, l->fd, H2O_SOCKET_FLAG_DONT_READ);
    l->listener->data = l;
    h2o_socket_read_start(l->listener, on_accept);
    h2o_timeout_link(l->ctx.loop, &l->tick, &l->tick_entry);
    while (!l->done)
        h2o_evloop_run(l->loop, INT32_MAX);
    log_flush();
    pthread_mutex_lock(&server_done_lock);
    ++server_n_done;
    pthread_cond_signal(&server_done_cond);
    pthread_mutex_unlock(&server_done_lock);
    /* parked until the process exits: h2o keeps recycled buffers in thread-local free lists,
     * which would be reported as leaks if the thread ended first */
    for (;;)
        pause();
    return NULL;
}

int server_start(const config_t *cfg)
{
    http_settings_t settings = {cfg->max_body_size, cfg->cors_allow_origins};
    h2o_hostconf_t *hostconf;
    h2o_pathconf_t *pathconf;
    size_t i;
    int rc = -1;

    server_cfg = cfg;
    signal(SIGPIPE, SIG_IGN);
    http_request_configure(&settings);
    metrics_start();
    metrics_set_workers(cfg->workers);
    server_n_loops = (size_t)cfg->workers;
    if ((server_loops = calloc(server_n_loops, sizeof(*server_loops))) == NULL) {
        log_error("out of memory");
        goto Exit;
    }
    for (i = 0; i != server_n_loops; ++i)
        server_loops[i].fd = -1;
    if (bind_all() != 0)
        goto Exit;

    h2o_config_init(&server_globalconf);
    server_globalconf.server_name = h2o_iovec_init(H2O_STRLIT("lgserve"));
    /* h2o's own limit sits above ours, so bodies just over the limit reach the pipeline and get
     * its JSON 413 also on HTTP/2 (where h2o refuses the stream instead of answering); far larger
     * ones are cut off by h2o early, and the response filter gives its HTTP/1 413 a JSON body */
    server_globalconf.max_request_entity_size =
        cfg->max_body_size <= SIZE_MAX / 4 ? cfg->max_body_size * 2 + 1 : cfg->max_body_size;
    hostconf = h2o_config_register_host(&server_globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    pathconf = h2o_config_register_path(hostconf, "/", 0);
    http_request_register(pathconf, &hostconf->fallback_path);

    /* the loop threads inherit the blocked signals; server_run waits for them with sigwait */
    sigemptyset(&server_signals);
    sigaddset(&server_signals, SIGTERM);
    sigaddset(&server_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &server_signals, NULL);
    for (i = 0; i != server_n_loops; ++i) {
        server_loops[i].index = i;
        if (pthread_create(&server_loops[i].thread, NULL, loop_main, &server_loops[i]) != 0) {
            /* the threads already started stay parked until the process exits */
            log_error("cannot start loop thread %zu: %s", i, strerror(errno));
            goto Exit;
        }
        ++server_n_started;
    }
    pthread_mutex_lock(&server_done_lock);
    while (server_n_ready != server_n_loops)
        pthread_cond_wait(&server_done_cond, &server_done_lock);
    pthread_mutex_unlock(&server_done_lock);
    if (http_request_start_loops() != 0) {
        log_error("out of memory");
        goto Exit;
    }
    rc = 0;
Exit:
    if (rc != 0 && server_loops != NULL && server_n_started == 0) {
        for (i = 0; i != server_n_loops; ++i)
            if (server_loops[i].fd >= 0)
                close(server_loops[i].fd);
        free(server_loops);
        server_loops = NULL;
        server_n_loops = 0;
    }
    return rc;
}

int server_run(void)
{
    size_t i, started = server_n_started;
    int sig;

    pthread_mutex_lock(&server_done_lock);
    server_go = 1;
    pthread_cond_broadcast(&server_done_cond);
    pthread_mutex_unlock(&server_done_lock);
    while (sigwait(&server_signals, &sig) != 0)
        ;
    log_info("received %s: draining (grace %d s)", sig == SIGTERM ? "SIGTERM" : "SIGINT", server_cfg->shutdown_grace);
    for (i = 0; i != started; ++i)
        h2o_multithread_send_message(&server_loops[i].shutdown_receiver, &server_loops[i].shutdown_message);
    pthread_mutex_lock(&server_done_lock);
    while (server_n_done != started)
        pthread_cond_wait(&server_done_cond, &server_done_lock);
    pthread_mutex_unlock(&server_done_lock);
    log_flush();
    return 0;
}
