/*
 * runtime/util/jsoncopy.h — a copy of a jansson value for a caller that will modify it, without
 * json_deep_copy's per-call overhead (jansson 2.14 keeps a hash set of visited containers keyed
 * by a snprintf'd pointer to detect cycles, and allocates every scalar again).
 *
 * Values must not contain cycles (nothing here builds any); nesting deeper than
 * JSONCOPY_MAX_DEPTH fails instead of recursing on. Thread-safe: no shared state.
 */
#ifndef LG_UTIL_JSONCOPY_H
#define LG_UTIL_JSONCOPY_H

#include <jansson.h>

/* Deepest nesting accepted (jansson's parser stops at 2048). */
#define JSONCOPY_MAX_DEPTH 4096

/*
 * Copies `v` (borrowed): every object and array is new, with the same keys in the same order;
 * strings, numbers and the constants are shared with `v` (a new reference each), since nothing
 * modifies a scalar in place (no json_string_set & co. on values that may be shared). Returns a
 * new reference, or NULL when `v` is NULL, memory runs out or it is nested too deep.
 */
json_t *jsoncopy_containers(const json_t *v);

#endif
