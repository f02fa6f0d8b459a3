/*
 * runtime/util/uuid.c — UUID generation (v4, v5, v7), formatting and parsing (see uuid.h).
 *
 * v7 monotonicity: one process-wide (millisecond, counter) pair behind a mutex. A new
 * millisecond reseeds the 42-bit counter with random bits whose top bit is clear, leaving room
 * to count up; a clock that steps back, or a counter that overflows, keeps the last
 * millisecond (or advances it by one) so the order never breaks.
 *
 * Random bits come from OpenSSL's generator 256 bytes at a time into a per-thread pool (one
 * RAND_bytes call, with its locking and fork check, per ~16 UUIDs instead of one per UUID); bytes
 * handed out are wiped from the pool.
 */
#include "util/uuid.h"
#include "util/hex.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/evp.h>

const uuid_bytes_t uuid_ns_dns = {{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00,
                                   0xc0, 0x4f, 0xd4, 0x30, 0xc8}};
const uuid_bytes_t uuid_ns_url = {{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00,
                                   0xc0, 0x4f, 0xd4, 0x30, 0xc8}};

static pthread_mutex_t v7_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t v7_last_ms;
static uint64_t v7_counter; /* 42 bits */

#define V7_COUNTER_BITS 42
#define V7_COUNTER_MAX ((UINT64_C(1) << V7_COUNTER_BITS) - 1)

#define RAND_POOL_SIZE 256

static _Thread_local unsigned char rand_pool[RAND_POOL_SIZE];
static _Thread_local size_t rand_left; /* unused bytes, at the start of rand_pool */

/* Fills `out` with `n` (at most RAND_POOL_SIZE) random bytes. Returns 0, or -1 when the
 * generator fails. */
static int rand_take(uint8_t *out, size_t n)
{
    if (n > rand_left) {
        if (RAND_bytes(rand_pool, RAND_POOL_SIZE) != 1)
            return -1;
        rand_left = RAND_POOL_SIZE;
    }
    rand_left -= n;
    memcpy(out, rand_pool + rand_left, n);
    memset(rand_pool + rand_left, 0, n);
    return 0;
}

static void set_version(uuid_bytes_t *u, int version)
{
    u->b[6] = (uint8_t)((u->b[6] & 0x0f) | (version << 4));
    u->b[8] = (uint8_t)((u->b[8] & 0x3f) | 0x80);
}

int uuid_v4(uuid_bytes_t *out)
{
    uuid_bytes_t u;

    if (rand_take(u.b, sizeof(u.b)) != 0)
        return -1;
    set_version(&u, 4);
    *out = u;
    return 0;
}

void uuid_v5(uuid_bytes_t *out, const uuid_bytes_t *ns, const char *name, size_t len)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();

    /* SHA-1 cannot fail on in-memory input short of allocation failure; a zero digest then
     * still yields a well-formed (if wrong) UUID rather than undefined bytes. */
    memset(digest, 0, sizeof(digest));
    if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, ns->b, sizeof(ns->b)) == 1 && EVP_DigestUpdate(ctx, name, len) == 1)
        EVP_DigestFinal_ex(ctx, digest, &dlen);
    EVP_MD_CTX_free(ctx);
    memcpy(out->b, digest, sizeof(out->b));
    set_version(out, 5);
}

int uuid_v7(uuid_bytes_t *out)
{
    struct timespec ts;
    uint8_t rnd[10];
    uint64_t ms, counter, seed;
    int i;

    if (rand_take(rnd, sizeof(rnd)) != 0)
        return -1;
    clock_gettime(CLOCK_REALTIME, &ts);
    ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    seed = 0;
    for (i = 0; i < 6; i++)
        seed = (seed << 8) | rnd[i];

    pthread_mutex_lock(&v7_lock);
    if (ms > v7_last_ms) {
        v7_last_ms = ms;
        v7_counter = seed & (V7_COUNTER_MAX >> 1);
    } else if (v7_counter == V7_COUNTER_MAX) {
        v7_last_ms++;
        v7_counter = seed & (V7_COUNTER_MAX >> 1);
    } else {
        v7_counter++;
    }
    ms = v7_last_ms;
    counter = v7_counter;
    pthread_mutex_unlock(&v7_lock);

    /* 48 bits of ms | ver(4) counter[41..30] (12) | var(2) counter[29..0] (30) rand (32) */
    for (i = 0; i < 6; i++)
        out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
    out->b[6] = (uint8_t)(0x70 | ((counter >> 38) & 0x0f));
    out->b[7] = (uint8_t)(counter >> 30);
    out->b[8] = (uint8_t)(0x80 | ((counter >> 24) & 0x3f));
    out->b[9] = (uint8_t)(counter >> 16);
    out->b[10] = (uint8_t)(counter >> 8);
    out->b[11] = (uint8_t)counter;
    memcpy(out->b + 12, rnd + 6, 4);
    return 0;
}

char *uuid_format(const uuid_bytes_t *u, char out[UUID_STR_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    int i;

    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *p++ = '-';
        *p++ = hex[u->b[i] >> 4];
        *p++ = hex[u->b[i] & 0x0f];
    }
    *p = '\0';
    return out;
}

int uuid_parse(const char *s, uuid_bytes_t *out)
{
    uuid_bytes_t u;
    int i, pos = 0, hi, lo;

    if (s == NULL)
        return -1;
    for (i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            if (s[pos] != '-')
                return -1;
            pos++;
        }
        if ((hi = hex_digit_value((unsigned char)s[pos])) < 0 || (lo = hex_digit_value((unsigned char)s[pos + 1])) < 0)
            return -1;
        u.b[i] = (uint8_t)(hi << 4 | lo);
        pos += 2;
    }
    if (s[pos] != '\0')
        return -1;
    *out = u;
    return 0;
}

int uuid_is_valid(const char *s)
{
    uuid_bytes_t u;

    return uuid_parse(s, &u) == 0;
}

int uuid_version(const uuid_bytes_t *u)
{
    return u->b[6] >> 4;
}

int uuid_v4_str(char out[UUID_STR_SIZE])
{
    uuid_bytes_t u;

    if (uuid_v4(&u) != 0)
        return -1;
    uuid_format(&u, out);
    return 0;
}

int uuid_v7_str(char out[UUID_STR_SIZE])
{
    uuid_bytes_t u;

    if (uuid_v7(&u) != 0)
        return -1;
    uuid_format(&u, out);
    return 0;
}
