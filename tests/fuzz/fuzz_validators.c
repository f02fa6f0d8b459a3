/*
 * tests/fuzz/fuzz_validators.c — libFuzzer driver for the generated request validators
 * (generated/validators.c through valid_op_t.check_body and check_params), linked against the
 * whole project. Built and run by scripts/fuzz-smoke.sh.
 *
 * Input: byte 0 picks the validator: with bit 7 clear, the body check of one of the operations
 * of the route table that take a JSON body; with it set, the parameter check of any operation
 * (given arbitrary objects, not only the coerced ones params.c builds). The rest is the value,
 * parsed as the request pipeline parses a body (json_loadb with JSON_DECODE_ANY). Inputs that do
 * not parse, and non-objects for a parameter check, are skipped. Properties checked, aborting on
 * a violation:
 *   1. the validator answers 0, or -1 with status 422 or 500 and a non-empty detail that is
 *      NUL-terminated inside its buffer;
 *   2. the verdict is deterministic: a fresh parse of the same body gets the same answer, status
 *      and detail, and after a 0 the same defaults filled in;
 *   3. after a 0, validating the same (now default-filled) value again answers 0 and changes
 *      nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/router.h"
#include "http/valid.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Parses [s, s+len) as the pipeline does; returns a new reference or NULL. */
static json_t *parse(const char *s, size_t len)
{
    return json_loadb(s, len, JSON_DECODE_ANY, NULL);
}

/* Runs `fn` on `inst` (borrowed) with a cleared error; checks property 1. */
static int validate(valid_fn fn, json_t *inst, valid_error_t *err)
{
    int rc;

    memset(err, 0, sizeof(*err));
    rc = fn(inst, "", err);
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        size_t n = strnlen(err->detail, sizeof(err->detail));
        CHECK(n > 0 && n < sizeof(err->detail));
        CHECK(err->status == 422 || err->status == 500);
    }
    return rc;
}

static char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    CHECK(s != NULL);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static valid_fn bodies[256];
    static size_t n_bodies, n_routes;
    static const router_route_t *routes;
    valid_fn fn;
    const char *body = (const char *)data + 1;
    valid_error_t err1, err2;
    json_t *inst = NULL, *again = NULL;
    char *before = NULL, *after = NULL;
    size_t i, len;
    int rc;

    if (routes == NULL) {
        routes = router_routes(&n_routes);
        for (i = 0; i != n_routes && n_bodies != sizeof(bodies) / sizeof(bodies[0]); ++i)
            if (routes[i].valid->check_body != NULL)
                bodies[n_bodies++] = routes[i].valid->check_body;
        CHECK(n_bodies > 0);
    }
    if (size == 0)
        return 0;
    fn = data[0] & 0x80 ? routes[(data[0] & 0x7f) % n_routes].valid->check_params : bodies[data[0] % n_bodies];
    len = size - 1;
    if ((inst = parse(body, len)) == NULL || ((data[0] & 0x80) && !json_is_object(inst)))
        goto Exit;

    rc = validate(fn, inst, &err1);
    again = parse(body, len);
    CHECK(again != NULL);
    CHECK(validate(fn, again, &err2) == rc);
    if (rc != 0) {
        CHECK(err1.status == err2.status && strcmp(err1.detail, err2.detail) == 0);
        goto Exit;
    }
    before = dump(inst);
    after = dump(again);
    CHECK(strcmp(before, after) == 0);
    free(after);
    CHECK(validate(fn, inst, &err1) == 0);
    after = dump(inst);
    CHECK(strcmp(before, after) == 0);
Exit:
    free(before);
    free(after);
    json_decref(inst);
    json_decref(again);
    return 0;
}
