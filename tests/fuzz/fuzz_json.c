/*
 * tests/fuzz/fuzz_json.c — libFuzzer driver holding the fast JSON paths to jansson's behaviour
 * (runtime/util/jsonr, jsonw, jsoncopy). Built and run by scripts/fuzz-smoke.sh.
 *
 * Input: the bytes are a request body. Properties checked, aborting on a violation:
 *   1. jsonr_loadb and json_loadb(JSON_DECODE_ANY) both fail, with the same error text, line,
 *      column and position, or both succeed with values that json_dumps writes identically
 *      (keys in the same order);
 *   2. for a parsed value, jsonw_dumps writes byte for byte what json_dumps(JSON_COMPACT |
 *      JSON_ENCODE_ANY) writes;
 *   3. jsoncopy_containers gives a value equal to the original, written the same way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsoncopy.h"
#include "util/jsonr.h"
#include "util/jsonw.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* 1 when both texts are NULL or both equal; frees both. */
static int same_text(char *a, char *b)
{
    int same = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
    free(a);
    free(b);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t e_fast, e_ref;
    json_t *fast = jsonr_loadb((const char *)data, size, &e_fast);
    json_t *ref = json_loadb((const char *)data, size, JSON_DECODE_ANY, &e_ref);
    json_t *copy;

    CHECK((fast == NULL) == (ref == NULL));
    if (ref == NULL) {
        CHECK(strcmp(e_fast.text, e_ref.text) == 0);
        CHECK(e_fast.line == e_ref.line && e_fast.column == e_ref.column && e_fast.position == e_ref.position);
        return 0;
    }
    CHECK(json_equal(fast, ref));
    CHECK(same_text(json_dumps(fast, DUMP_FLAGS), json_dumps(ref, DUMP_FLAGS)));
    CHECK(same_text(jsonw_dumps(ref, NULL), json_dumps(ref, DUMP_FLAGS)));
    copy = jsoncopy_containers(ref);
    CHECK(copy != NULL && json_equal(copy, ref));
    CHECK(same_text(jsonw_dumps(copy, NULL), json_dumps(ref, DUMP_FLAGS)));
    json_decref(copy);
    json_decref(fast);
    json_decref(ref);
    return 0;
}
