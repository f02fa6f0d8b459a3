/*
 * runtime/util/log.h — leveled logging and the access log, both to stderr, as text lines or as
 * JSON lines (LOG_JSON=true). Every line leaves in a single write(2), so lines from different
 * threads never interleave.
 *
 * Leveled lines (log_info & co.) are written at once. Access lines are appended to a per-thread
 * buffer and written when it fills or when the owner of the thread calls log_flush (the HTTP
 * loops do so every 100 ms), so the request path takes no lock and usually makes no syscall.
 * Callers never pass Authorization headers or request bodies to either.
 */
#ifndef LG_UTIL_LOG_H
#define LG_UTIL_LOG_H

#include <stddef.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* One finished request, as the access log records it. All strings are borrowed. */
typedef struct log_access {
    const char *method;
    size_t method_len;
    const char *path; /* without the query string */
    size_t path_len;
    int status;
    size_t bytes; /* body bytes sent */
    double duration_ms;
    const char *request_id;
    size_t request_id_len;
} log_access_t;

/* Sets the format and the lowest level written. Call before starting threads. */
void log_configure(int json, log_level_t min_level);
/* Parses "debug", "info", "warn"/"warning", "error" (case-insensitive); returns -1 if unknown. */
int log_level_parse(const char *s, log_level_t *out);

void log_write(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* Appends one access line to this thread's buffer (written when full or on log_flush). */
void log_access(const log_access_t *a);
/* Writes whatever this thread has buffered. Returns the number of bytes that were pending. */
size_t log_flush(void);

#endif
