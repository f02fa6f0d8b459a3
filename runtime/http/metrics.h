/*
 * runtime/http/metrics.h — HTTP counters: requests per status class, per route and status
 * class, requests in flight, uptime. Each thread counts into its own block (registered on its
 * first count) with plain stores, so the request path takes no lock; readers sum the blocks.
 */
#ifndef LG_HTTP_METRICS_H
#define LG_HTTP_METRICS_H

#include <stddef.h>
#include <jansson.h>

/* Records the process start time (call once, before serving). */
void metrics_start(void);
/* A request entered the pipeline on this thread. */
void metrics_request_begin(void);
/* A pipeline request ended: `route` indexes router_routes() (SIZE_MAX: unmatched). */
void metrics_request_end(size_t route, int status);
/* Any response was answered with `status` (pipeline or h2o's own), counted by class. */
void metrics_response(int status);
/* Requests in flight on the calling thread. */
long metrics_inflight_thread(void);
/* Number of HTTP worker loops, shown in the output (set by server_start). */
void metrics_set_workers(int n);

/* The counters as a JSON object. Returns a new reference (NULL on OOM). */
json_t *metrics_json(void);
/* The counters in Prometheus text exposition format. Result is malloc'd; caller frees. */
char *metrics_prometheus(size_t *len);

#endif
