/*
 * runtime/http/server.h — the HTTP server: one h2o event loop per worker thread, each with its
 * own SO_REUSEPORT listener, all bound before any serves. SIGTERM/SIGINT close the listeners,
 * let in-flight requests finish within the configured grace period, then server_run returns.
 *
 * Other modules (the run executor, stream brokers) post work to a loop through its
 * h2o_multithread_queue_t: register an h2o_multithread_receiver_t on server_loop_queue(i)
 * (before server_run, or from that loop's own thread), then h2o_multithread_send_message()
 * from any thread; the receiver's callback runs on loop i. server_current_loop() tells a
 * handler which loop it runs on, so it can ask to be woken there.
 */
#ifndef LG_HTTP_SERVER_H
#define LG_HTTP_SERVER_H

#include <stddef.h>
#include <h2o.h>
#include "util/config.h"

/*
 * Binds cfg->workers listeners on cfg->host:cfg->port and prepares one loop per listener
 * (not yet serving). `cfg` is borrowed and must outlive the server. Returns 0, or -1 after
 * logging one line ("cannot listen on 127.0.0.1:2024: Address already in use").
 */
int server_start(const config_t *cfg);
/*
 * Serves on every loop until SIGTERM or SIGINT, then drains (no new connections; in-flight
 * requests get cfg->shutdown_grace seconds) and returns 0 once every loop has stopped. Blocks
 * the calling thread; call from the main thread after server_start.
 */
int server_run(void);

/* Number of loops (valid after server_start). */
size_t server_loop_count(void);
/* Loop i's h2o context (borrowed; valid until exit). */
h2o_context_t *server_loop_context(size_t i);
/* Loop i's message queue for h2o_multithread receivers (borrowed; valid until exit). */
h2o_multithread_queue_t *server_loop_queue(size_t i);
/* Index of the loop the calling thread runs, or SIZE_MAX on a thread that is not a loop. */
size_t server_current_loop(void);

#endif
