/*
 * runtime/http/valid.c — the helpers of valid.h used by the generated request validators
 * (generated/validators.c) and the router: error formatting, JSON path building and the two
 * string formats the contract checks (uuid, RFC 3339 date-time). No allocation, no I/O.
 */
#include "http/valid.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int valid_fail(valid_error_t *err, const char *path, const char *fmt, ...)
{
    va_list ap;
    int n = 0;

    err->status = 422;
    if (path != NULL && path[0] != '\0') {
        n = snprintf(err->detail, sizeof(err->detail), "%s: ", path);
        if (n < 0 || (size_t)n >= sizeof(err->detail))
            return -1;
    }
    va_start(ap, fmt);
    vsnprintf(err->detail + n, sizeof(err->detail) - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Appends `n` bytes of `s` at buf[*len] within `cap` (keeping room for the NUL). */
static void path_put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(buf + *len, s, n);
    *len += n;
}

const char *valid_path_key(char *buf, size_t cap, const char *path, const char *key)
{
    size_t len = 0;

    if (cap == 0)
        return buf;
    if (path != NULL && path[0] != '\0') {
        path_put(buf, cap, &len, path, strlen(path));
        path_put(buf, cap, &len, ".", 1);
    }
    path_put(buf, cap, &len, key, strlen(key));
    buf[len] = '\0';
    return buf;
}

const char *valid_path_index(char *buf, size_t cap, const char *path, size_t index)
{
    char digits[24];
    size_t len = 0, n = sizeof(digits);

    if (cap == 0)
        return buf;
    do
        digits[--n] = (char)('0' + index % 10);
    while ((index /= 10) != 0);
    if (path != NULL)
        path_put(buf, cap, &len, path, strlen(path));
    path_put(buf, cap, &len, "[", 1);
    path_put(buf, cap, &len, digits + n, sizeof(digits) - n);
    path_put(buf, cap, &len, "]", 1);
    buf[len] = '\0';
    return buf;
}

int valid_is_uuid(const char *s)
{
    /* 8-4-4-4-12 hex digits, either case; nothing else (no braces, no urn: prefix). */
    static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    size_t i;

    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return 0;
    for (i = 0; shape[i] != '\0'; i++) {
        if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* Reads exactly `n` decimal digits at *s into *out and advances *s; returns 0 when they are not all there. */
static int read_digits(const char **s, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return 0;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return 1;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

int valid_is_date_time(const char *s)
{
    /* RFC 3339 §5.6 date-time: full-date "T" full-time, with "Z" or a numeric offset. */
    int year, month, day, hour, minute, second, oh, om;

    if (s == NULL)
        return 0;
    if (!read_digits(&s, 4, &year) || *s++ != '-' || !read_digits(&s, 2, &month) || *s++ != '-' ||
        !read_digits(&s, 2, &day))
        return 0;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return 0;
    if (*s != 'T' && *s != 't')
        return 0;
    s++;
    if (!read_digits(&s, 2, &hour) || *s++ != ':' || !read_digits(&s, 2, &minute) || *s++ != ':' ||
        !read_digits(&s, 2, &second))
        return 0;
    if (hour > 23 || minute > 59 || second > 60) /* 60: a leap second */
        return 0;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return 0;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'Z' || *s == 'z')
        return s[1] == '\0';
    if (*s != '+' && *s != '-')
        return 0;
    s++;
    if (!read_digits(&s, 2, &oh) || *s++ != ':' || !read_digits(&s, 2, &om))
        return 0;
    return oh <= 23 && om <= 59 && *s == '\0';
}
