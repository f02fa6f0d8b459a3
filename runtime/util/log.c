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

    int ms;

    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != log_tls.ts_sec || log_tls.ts[0] == '\0') {
        gmtime_r(&now.tv_sec, &tm);
        strftime(log_tls.ts, sizeof(log_tls.ts), "%Y-%m-%dT%H:%M:%S", &tm);
        log_tls.ts_sec = now.tv_sec;
    }
    ms = (int)(now.tv_nsec / 1000000) % 1000;
    memcpy(out, log_tls.ts, 19);
    out[19] = '.';
    out[20] = (char)('0' + ms / 100);
    out[21] = (char)('0' + ms / 10 % 10);
    out[22] = (char)('0' + ms % 10);
    out[23] = 'Z';
    out[24] = '\0';
    return 24;
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

/* Appends the decimal digits of v; stops silently when out is full. */
static void append_u64(char *out, size_t cap, size_t *pos, unsigned long long v)
{
    char tmp[24];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n != 0 && *pos + 1 < cap)
        out[(*pos)++] = tmp[--n];
}

/* Appends a NUL-terminated literal; stops silently when out is full. */
static void append_lit(char *out, size_t cap, size_t *pos, const char *s)
{
    while (*s != '\0' && *pos + 1 < cap)
        out[(*pos)++] = *s++;
}

/* Appends " <status> <bytes> <ms>.<µs>ms " style numbers without printf (the hot path). */
static void append_numbers(char *out, size_t cap, size_t *pos, const log_access_t *a, const char *const sep[4])
{
    unsigned long long us = a->duration_ms > 0 ? (unsigned long long)(a->duration_ms * 1000.0 + 0.5) : 0;

    append_lit(out, cap, pos, sep[0]);
    append_u64(out, cap, pos, (unsigned long long)(a->status < 0 ? 0 : a->status));
    append_lit(out, cap, pos, sep[1]);
    append_u64(out, cap, pos, (unsigned long long)a->bytes);
    append_lit(out, cap, pos, sep[2]);
    append_u64(out, cap, pos, us / 1000);
    append_lit(out, cap, pos, ".");
    append_lit(out, cap, pos, us % 1000 < 10 ? "00" : us % 1000 < 100 ? "0" : "");
    append_u64(out, cap, pos, us % 1000);
    append_lit(out, cap, pos, sep[3]);
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
    static const char *const json_sep[4] = {"\",\"status\":", ",\"bytes\":", ",\"duration_ms\":", ",\"request_id\":\""};
    static const char *const text_sep[4] = {" ", " ", " ", "ms "};
    char line[LOG_LINE_MAX], ts[40];
    size_t pos = 0;

    if (LOG_INFO < log_min)
        return;
    format_ts(ts);
    if (log_json) {
        append_lit(line, sizeof(line), &pos, "{\"ts\":\"");
        append_lit(line, sizeof(line), &pos, ts);
        append_lit(line, sizeof(line), &pos, "\",\"level\":\"info\",\"msg\":\"access\",\"method\":\"");
        append_text(line, sizeof(line) - 256, &pos, a->method, a->method_len, 1);
        append_lit(line, sizeof(line), &pos, "\",\"path\":\"");
        append_text(line, sizeof(line) - 256, &pos, a->path, a->path_len, 1);
        append_numbers(line, sizeof(line), &pos, a, json_sep);
        append_text(line, sizeof(line) - 4, &pos, a->request_id, a->request_id_len, 1);
        append_lit(line, sizeof(line), &pos, "\"}\n");
    } else {
        append_lit(line, sizeof(line), &pos, ts);
        append_lit(line, sizeof(line), &pos, " ACCESS ");
        append_text(line, sizeof(line) - 256, &pos, a->method, a->method_len, 0);
        line[pos++] = ' ';
        append_text(line, sizeof(line) - 256, &pos, a->path, a->path_len, 0);
        append_numbers(line, sizeof(line), &pos, a, text_sep);
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
