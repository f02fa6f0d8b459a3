/*
 * runtime/util/jsonw.h — a fast writer of compact JSON text from jansson values, for the hot
 * paths (stream events, log records, response bodies).
 *
 * The text is byte for byte what json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) writes with
 * jansson 2.14: object keys in insertion order, "," and ":" without spaces, strings escaped as
 * jansson does (\" \\ \b \f \n \r \t, other control characters as \u00XX in upper-case hex,
 * everything else, UTF-8 included, as is), integers in decimal, reals through jansson itself.
 * It fails where jansson fails: a string that is not valid UTF-8, a NULL value, and (instead of
 * jansson's cycle check, which costs a hash-table insert and a snprintf per container) nesting
 * deeper than JSONW_MAX_DEPTH, which only a cycle reaches.
 *
 * Pure functions over the value; thread-safe as long as nobody changes the value meanwhile.
 */
#ifndef LG_UTIL_JSONW_H
#define LG_UTIL_JSONW_H

#include <stddef.h>
#include <jansson.h>

/* Containers nested deeper than this fail the write (jansson's parser stops at 2048). */
#define JSONW_MAX_DEPTH 4096

/* A growable text buffer. Zero-initialise; release with jsonw_buf_free. `data` is malloc'd and
 * NUL-terminated after every successful append (the NUL is not counted in `len`). */
typedef struct jsonw_buf {
    char *data;
    size_t len, cap;
} jsonw_buf_t;

/* Appends the JSON text of `v` (borrowed) to `b`. Returns 0, or -1 (out of memory, invalid
 * UTF-8, NULL value, too deep) with b->len as it was before the call. */
int jsonw_append(jsonw_buf_t *b, const json_t *v);

/* A memo of the texts of shared containers, for jsonw_append_memo. */
typedef struct jsonw_memo {
    /* The text of container `v` kept earlier (*len bytes, borrowed until the append returns),
     * or NULL. */
    const char *(*find)(void *ctx, const json_t *v, size_t *len);
    /* `len` bytes `text` (borrowed) were just written for container `v`. */
    void (*keep)(void *ctx, const json_t *v, const char *text, size_t len);
    void *ctx;
} jsonw_memo_t;

/* jsonw_append, except that for every container below the top whose reference count is above
 * one (a shared value) `m` (borrowed; NULL = none) is asked for its text first, and told it
 * after writing it. Only for values that nobody changes while their texts are kept: the memo
 * owner's business (store/wal.c keeps references to the containers it remembers). */
int jsonw_append_memo(jsonw_buf_t *b, const json_t *v, const jsonw_memo_t *m);

/* Appends string `s` (`n` bytes, borrowed) quoted and escaped as jsonw_append writes a string
 * value. Returns 0, or -1 (out of memory, invalid UTF-8) with b->len as it was. */
int jsonw_append_string(jsonw_buf_t *b, const char *s, size_t n);

/* Appends `n` raw bytes `s` (borrowed) to `b`. Returns 0, or -1 when out of memory. */
int jsonw_append_raw(jsonw_buf_t *b, const char *s, size_t n);

/* Frees what `b` holds and zeroes it. NULL is a no-op. */
void jsonw_buf_free(jsonw_buf_t *b);

/* The JSON text of `v` (borrowed) as a malloc'd NUL-terminated string (caller frees); its
 * length in *len when len is not NULL. NULL on failure (as jsonw_append). */
char *jsonw_dumps(const json_t *v, size_t *len);

#endif
