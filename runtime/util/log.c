/*
 * runtime/util/log.c — leveled log lines and the buffered per-thread access log (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include "util/log.h"

#define LOG_LINE_MAX 2048
#define LOG_BUF_SIZE 16384

static int log_json;
static log_level_t log_min = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};
static const char *const log_level_tags[] = {"DEBUG", "INFO", "WARN", "ERROR"};

/* Per-thread access buffer and a cached "YYYY-MM-DDTHH:MM:SS" for the current second. */
static __thread struct {
    char buf[LOG_BUF_SIZE];
    size_t len;
    time_t ts_sec;
    char ts[24];
} log_tls;

void log_configure(int json, log_level_t min_level)
{
    log_json = json;
    log_min = min_level;
}

int log_level_parse(const char *s, log_level_t *out)
{
    static const struct {
        const char *name;
        log_level_t level;
    } names[] = {{"debug", LOG_DEBUG}, {"info", LOG_INFO}, {"warn", LOG_WARN}, {"warning", LOG_WARN}, {"error", LOG_ERROR}};
    size_t i;

    for (i = 0; i != sizeof(names) / sizeof(names[0]); ++i) {
        if (strcasecmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -1;
}

/* Writes all of [p, p+len) to stderr, retrying short writes. */
static void write_all(const char *p, size_t len)
{
    while (len != 0) {
        ssize_t w = write(STDERR_FILENO, p, len);
        if (w <= 0)
            break;
        p += w;
        len -= (size_t)w;
    }
}

/* Formats the current UTC time with milliseconds ("2026-11-26T22:40:00.123Z") into out[40]. */
static size_t format_ts(char *out)
{
    struct timespec now;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != log_tls.ts_sec || log_tls.ts[0] == '\0') {
        gmtime_r(&now.tv_sec, &tm);
        strftime(log_tls.ts, sizeof(log_tls.ts), "%Y-%m-%dT%H:%M:%S", &tm);
        log_tls.ts_sec = now.tv_sec;
    }
    return (size_t)snprintf(out, 40, "%.19s.%03dZ", log_tls.ts, (int)(now.tv_nsec / 1000000) % 1000);
}

/*
 * Appends [s, s+len) to out (capacity cap, current length *pos): escaped for a JSON string when
 * `json`, else with control characters replaced by '?'. Stops silently when out is full.
 */
static void append_text(char *out, size_t cap, size_t *pos, const char *s, size_t len, int json)
{
    size_t i, p = *pos;

    for (i = 0; i != len && p + 7 < cap; ++i) {
        unsigned char c = (unsigned char)s[i];
        if (json && (c == '"' || c == '\\')) {
            out[p++] = '\\';
            out[p++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            if (json)
                p += (size_t)snprintf(out + p, cap - p, "\\u%04x", c);
            else
                out[p++] = '?';
        } else {
            out[p++] = (char)c;
        }
    }
    *pos = p;
}

/* Appends a formatted fragment; stops silently when out is full. */
static void append_fmt(char *out, size_t cap, size_t *pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append_fmt(char *out, size_t cap, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    int w;

    if (*pos >= cap)
        return;
    va_start(ap, fmt);
    w = vsnprintf(out + *pos, cap - *pos, fmt, ap);
    va_end(ap);
    if (w > 0)
        *pos = (size_t)w < cap - *pos ? *pos + (size_t)w : cap - 1;
}

void log_write(log_level_t level, const char *fmt, ...)
{
    char msg[LOG_LINE_MAX], line[LOG_LINE_MAX * 2], ts[40];
    size_t pos = 0, mlen;
    va_list ap;
    int w;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    w = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mlen = w < 0 ? 0 : (size_t)w < sizeof(msg) ? (size_t)w : sizeof(msg) - 1;
    format_ts(ts);
    if (log_json) {
        append_fmt(line, sizeof(line), &pos, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", ts, log_level_names[level]);
        append_text(line, sizeof(line) - 3, &pos, msg, mlen, 1);
        append_fmt(line, sizeof(line), &pos, "\"}\n");
    } else {
        append_fmt(line, sizeof(line), &pos, "%s %s ", ts, log_level_tags[level]);
        append_text(line, sizeof(line) - 2, &pos, msg, mlen, 0);
        line[pos++] = '\n';
    }
    write_all(line, pos);
}

void log_access(const log_access_t *a)
{
    char line[LOG_LINE_MAX], ts[40];
    size_t pos = 0;

    format_ts(ts);
    if (log_json) {
        append_fmt(line, sizeof(line), &pos, "{\"ts\":\"%s\",\"level\":\"info\",\"msg\":\"access\",\"method\":\"", ts);
        append_text(line, sizeof(line) - 256, &pos, a->method, a->method_len, 1);
        append_fmt(line, sizeof(line), &pos, "\",\"path\":\"");
        append_text(line, sizeof(line) - 256, &pos, a->path, a->path_len, 1);
        append_fmt(line, sizeof(line), &pos, "\",\"status\":%d,\"bytes\":%zu,\"duration_ms\":%.3f,\"request_id\":\"", a->status,
                   a->bytes, a->duration_ms);
        append_text(line, sizeof(line) - 4, &pos, a->request_id, a->request_id_len, 1);
        append_fmt(line, sizeof(line), &pos, "\"}\n");
    } else {
        append_fmt(line, sizeof(line), &pos, "%s ACCESS ", ts);
        append_text(line, sizeof(line) - 256, &pos, a->method, a->method_len, 0);
        line[pos++] = ' ';
        append_text(line, sizeof(line) - 256, &pos, a->path, a->path_len, 0);
        append_fmt(line, sizeof(line), &pos, " %d %zu %.3fms ", a->status, a->bytes, a->duration_ms);
        append_text(line, sizeof(line) - 2, &pos, a->request_id, a->request_id_len, 0);
        line[pos++] = '\n';
    }
    if (log_tls.len + pos > sizeof(log_tls.buf))
        log_flush();
    memcpy(log_tls.buf + log_tls.len, line, pos);
    log_tls.len += pos;
}

size_t log_flush(void)
{
    size_t n = log_tls.len;

    if (n != 0) {
        write_all(log_tls.buf, n);
        log_tls.len = 0;
    }
    return n;
}
