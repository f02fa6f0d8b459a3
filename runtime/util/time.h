/*
 * runtime/util/time.h — wall-clock and monotonic time in microseconds, and RFC 3339 timestamps
 * with an explicit offset ("2026-11-26T21:22:34.875123+00:00"), the form every timestamp of the
 * contract takes. Pure functions over integers; thread-safe; no locale, no TZ lookups.
 */
#ifndef LG_UTIL_TIME_H
#define LG_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed by time_format_rfc3339 for any year 0000..9999, including the NUL. */
#define TIME_RFC3339_SIZE 33

/* Microseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t time_now_us(void);

/* Microseconds of CLOCK_MONOTONIC: for durations and deadlines, never for timestamps. */
int64_t time_mono_us(void);

/*
 * Writes `us` (µs since the epoch) as RFC 3339 local time at UTC offset `offset_min` minutes
 * (-1439..1439), always with six fraction digits and a "+HH:MM"/"-HH:MM" offset:
 * "2026-11-26T21:22:34.875123+00:00". `buf` (borrowed) has `size` bytes, at least
 * TIME_RFC3339_SIZE. Returns the length written (excluding the NUL), or 0 when the time or
 * offset is out of range or the buffer too small.
 */
size_t time_format_rfc3339(int64_t us, int offset_min, char *buf, size_t size);

/*
 * Parses an RFC 3339 date-time from `s` (borrowed, NUL-terminated): "YYYY-MM-DDTHH:MM:SS",
 * 't' or ' ' accepted for 'T', an optional fraction of 1..9 digits (truncated to µs), then 'Z',
 * 'z' or "±HH:MM". Stores µs since the epoch (UTC) in *out_us and, when `offset_min` is not
 * NULL, the offset in minutes. Returns 0, or -1 when `s` is not such a timestamp (field ranges
 * are checked, including the day of the month; a leap second ":60" is accepted as ":59").
 */
int time_parse_rfc3339(const char *s, int64_t *out_us, int *offset_min);

#endif
