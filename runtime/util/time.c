/*
 * runtime/util/time.c — clocks and RFC 3339 conversion (see time.h). Calendar arithmetic uses
 * the proleptic Gregorian days-from-civil algorithm, so neither timegm nor TZ is involved.
 */
#include "util/time.h"

#include <time.h>

#define US_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)

int64_t time_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t time_mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

/* Days since 1970-01-01 of the civil date y-m-d (m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dim[m - 1];
}

/* Floor division and modulo for possibly negative values. */
static int64_t floordiv(int64_t a, int64_t b)
{
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

/* Writes `v` as exactly `n` decimal digits at `p`; returns p + n. */
static char *put_digits(char *p, long v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

size_t time_format_rfc3339(int64_t us, int offset_min, char *buf, size_t size)
{
    int64_t local, secs, days, sod, y;
    int m, d, frac, off;
    char *p = buf;

    if (size < TIME_RFC3339_SIZE || offset_min <= -1440 || offset_min >= 1440)
        return 0;
    local = us + (int64_t)offset_min * 60 * US_PER_SEC;
    secs = floordiv(local, US_PER_SEC);
    frac = (int)(local - secs * US_PER_SEC);
    days = floordiv(secs, SEC_PER_DAY);
    sod = secs - days * SEC_PER_DAY;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return 0;
    off = offset_min < 0 ? -offset_min : offset_min;
    /* by hand rather than snprintf: every stored object carries a few of these */
    p = put_digits(p, (long)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, (long)(sod / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (long)(sod / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (long)(sod % 60), 2);
    *p++ = '.';
    p = put_digits(p, frac, 6);
    *p++ = offset_min < 0 ? '-' : '+';
    p = put_digits(p, off / 60, 2);
    *p++ = ':';
    p = put_digits(p, off % 60, 2);
    *p = '\0';
    return (size_t)(p - buf);
}

/* Reads exactly `n` digits at *p into *out, advancing *p. Returns 0 or -1. */
static int digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int time_parse_rfc3339(const char *s, int64_t *out_us, int *offset_min)
{
    const char *p = s;
    int y, mo, d, h, mi, se, oh, om, off = 0, frac = 0, scale = 100000;
    int64_t secs;

    if (s == NULL || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return -1;
        while (*p >= '0' && *p <= '9') {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int neg = *p == '-';
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = (oh * 60 + om) * (neg ? -1 : 1);
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
        return -1;
    if (se == 60)
        se = 59;
    secs = days_from_civil(y, mo, d) * SEC_PER_DAY + h * 3600 + mi * 60 + se - (int64_t)off * 60;
    *out_us = secs * US_PER_SEC + frac;
    if (offset_min != NULL)
        *offset_min = off;
    return 0;
}
