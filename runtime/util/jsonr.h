/*
 * runtime/util/jsonr.h — a fast reader of JSON request bodies into jansson values.
 *
 * jsonr_loadb gives exactly what json_loadb(buf, len, JSON_DECODE_ANY, err) gives: the same
 * values (objects with keys in document order, a repeated key keeping its first position and
 * its last value, integers as integers), and for any text it does not accept the same NULL and
 * error. It parses the common subset itself in one pass over the bytes (jansson reads through a
 * per-character stream with a string buffer); anything outside it — reals, integers of more
 * than 18 digits, \u escapes of surrogates or NUL, nesting deeper than jansson allows, and every
 * malformed text — is handed to json_loadb as a whole, so jansson stays the judge of errors.
 *
 * Thread-safe: no shared state.
 */
#ifndef LG_UTIL_JSONR_H
#define LG_UTIL_JSONR_H

#include <stddef.h>
#include <jansson.h>

/* Parses `len` bytes at `buf` (borrowed) as one JSON value of any type with optional
 * surrounding whitespace. Returns a new reference, or NULL with `err` (may be NULL) filled as
 * json_loadb fills it. */
json_t *jsonr_loadb(const char *buf, size_t len, json_error_t *err);

/*
 * The same reader for code that picks a few fields out of a text without building values (the
 * LLM client's stream chunks). A cursor *p moves over the text up to `end`. A function that
 * returns 0 read something jsonr_loadb accepts as it is (with the bytes given); -1 means not
 * sure (the text may still be valid: jsonr_loadb over the whole text then decides), *p
 * unchanged.
 */

/* Moves *p past JSON whitespace (inline: the cursor's readers call it between every token). */
static inline void jsonr_skip_ws(const char **p, const char *end)
{
    const char *q = *p;

    while (q < end && (*q == ' ' || *q == '\n' || *q == '\r' || *q == '\t'))
        q++;
    *p = q;
}

/* Reads the string whose opening quote *p points at and moves past its closing quote. Its
 * decoded bytes are *out / *out_len: in the text itself when it has no escapes (*tmp NULL),
 * else in *tmp (malloc'd, caller frees). Returns 0 or -1 (then *tmp is NULL). */
int jsonr_read_string(const char **p, const char *end, const char **out, size_t *out_len, char **tmp);

/* Checks the value after optional whitespace at *p, building nothing, and moves past it.
 * Returns 0 or -1. */
int jsonr_skip_value(const char **p, const char *end);

#endif
