/*
 * tests/fuzz/fuzz_auth.c — libFuzzer driver for the credential scanners and JWT verification
 * (runtime/auth). Built and run by scripts/fuzz-smoke.sh.
 *
 * Input: byte 0 picks the scanner (Authorization header, compact JWT, x-api-key) and a small
 * length limit or the real one; the rest is the value. Properties checked, aborting on a
 * violation:
 *   1. the value scanned whole, cut at two places derived from the input, and fed byte by byte
 *      gives the same verdict and spans;
 *   2. on success every span lies inside the value, and the parts have the grammar's shape
 *      (a bearer token is token68, JWT segments are base64url, a key is visible ASCII);
 *   3. the value as a bearer JWT goes through auth_jwt_verify (HS256 policy) without crashing,
 *      and is accepted only when it is a syntactically valid JWT.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"
#include "auth/auth_parse.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Scans `in` in chunks cut at a <= b. */
static auth_scan_rc_t scan_cut(auth_scan_t *s, auth_scan_kind_t kind, size_t max, const char *in, size_t len, size_t a, size_t b)
{
    auth_scan_init(s, kind, max);
    auth_scan_execute(s, in, a);
    auth_scan_execute(s, in + a, b - a);
    auth_scan_execute(s, in + b, len - b);
    return auth_scan_finish(s);
}

static int same(const auth_scan_t *x, auth_scan_rc_t rx, const auth_scan_t *y, auth_scan_rc_t ry)
{
    return rx == ry && (rx != AUTH_SCAN_OK || (memcmp(x->part, y->part, sizeof(x->part)) == 0 && x->bearer == y->bearer));
}

static int all_of(const char *s, size_t len, const char *alphabet)
{
    size_t i;

    for (i = 0; i != len; ++i)
        if (s[i] == '\0' || strchr(alphabet, s[i]) == NULL)
            return 0;
    return 1;
}

#define B64U "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const auth_jwt_policy_t policy = {(const unsigned char *)"fuzz-secret", 11, 0, "iss", "aud", 30, 1};
    auth_scan_kind_t kind;
    auth_scan_t whole, cut;
    auth_scan_rc_t rw, rc;
    const char *in;
    size_t len, max, a, b, i;
    json_t *payload = NULL;

    if (size == 0)
        return 0;
    kind = (auth_scan_kind_t)(data[0] % 3);
    max = data[0] & 0x80 ? (size_t)(data[0] & 0x3f) : kind == AUTH_SCAN_JWT ? AUTH_JWT_MAX : AUTH_HEADER_MAX;
    in = (const char *)data + 1;
    len = size - 1;
    rw = auth_scan(&whole, kind, max, in, len);
    a = len != 0 ? data[len] % (len + 1) : 0;
    b = a + (len != 0 ? (size_t)data[1 + len / 2] % (len - a + 1) : 0);
    rc = scan_cut(&cut, kind, max, in, len, a, b);
    CHECK(same(&whole, rw, &cut, rc));
    auth_scan_init(&cut, kind, max);
    for (i = 0; i != len; ++i)
        auth_scan_execute(&cut, in + i, 1);
    rc = auth_scan_finish(&cut);
    CHECK(same(&whole, rw, &cut, rc));
    if (rw == AUTH_SCAN_OK) {
        CHECK(len <= max);
        for (i = 0; i != 3; ++i)
            CHECK(whole.part[i].at + whole.part[i].len <= len);
        if (kind == AUTH_SCAN_HEADER && whole.bearer)
            CHECK(all_of(in + whole.part[1].at, whole.part[1].len, B64U ".~+/="));
        if (kind == AUTH_SCAN_JWT)
            for (i = 0; i != 3; ++i)
                CHECK(all_of(in + whole.part[i].at, whole.part[i].len, B64U));
        if (kind == AUTH_SCAN_KEY)
            for (i = 0; i != whole.part[0].len; ++i)
                CHECK(in[whole.part[0].at + i] > 0x20 && in[whole.part[0].at + i] < 0x7f);
    }
    if (auth_jwt_verify(&policy, in, len, 1700000000, &payload) == NULL) {
        CHECK(payload != NULL);
        CHECK(auth_scan(&cut, AUTH_SCAN_JWT, AUTH_JWT_MAX, in, len) == AUTH_SCAN_OK);
        json_decref(payload);
    } else {
        CHECK(payload == NULL);
    }
    return 0;
}
