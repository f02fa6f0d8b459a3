/*
 * runtime/util/uuid.h — UUIDs as the contract uses them: random (v4) for client-visible ids that
 * need no order, name-based (v5, SHA-1) for the default assistant of a graph, time-ordered (v7)
 * for runs and checkpoints; plus the canonical 36-character text form.
 *
 * All functions are thread-safe. Text output is always lower case; parsing accepts either case.
 */
#ifndef LG_UTIL_UUID_H
#define LG_UTIL_UUID_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of the canonical text form plus the NUL. */
#define UUID_STR_SIZE 37

/* A UUID in network byte order (RFC 9562 field layout). */
typedef struct uuid_bytes {
    uint8_t b[16];
} uuid_bytes_t;

/* The RFC 9562 namespaces for v5 names. */
extern const uuid_bytes_t uuid_ns_dns; /* 6ba7b810-9dad-11d1-80b4-00c04fd430c8 */
extern const uuid_bytes_t uuid_ns_url; /* 6ba7b811-9dad-11d1-80b4-00c04fd430c8 */

/* Fills *out with a random version-4 UUID from the OpenSSL CSPRNG. Returns 0, or -1 when the
 * generator failed (out is then unchanged). */
int uuid_v4(uuid_bytes_t *out);

/* Fills *out with the version-5 UUID of `name` (`len` bytes, borrowed) in namespace `ns`
 * (borrowed): SHA-1 over ns || name, version and variant bits set. Deterministic. */
void uuid_v5(uuid_bytes_t *out, const uuid_bytes_t *ns, const char *name, size_t len);

/* Fills *out with a version-7 UUID: 48-bit Unix milliseconds then a 42-bit counter seeded at
 * random each millisecond, so ids made by this process sort (as bytes or as text) in the order
 * they were made, even across threads and within one millisecond. Returns 0 or -1 (CSPRNG). */
int uuid_v7(uuid_bytes_t *out);

/* Writes the canonical lower-case form ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL) of `u`
 * (borrowed) into `out`, which has UUID_STR_SIZE bytes. Returns out. */
char *uuid_format(const uuid_bytes_t *u, char out[UUID_STR_SIZE]);

/* Parses the canonical 36-character form (hex digits in either case, nothing before or after)
 * of `s` (borrowed, NUL-terminated) into *out. Returns 0, or -1 when `s` is not one. */
int uuid_parse(const char *s, uuid_bytes_t *out);

/* Returns 1 when `s` (borrowed, may be NULL) is a canonical UUID string, else 0. */
int uuid_is_valid(const char *s);

/* Returns the version nibble (1..8) of `u` (borrowed). */
int uuid_version(const uuid_bytes_t *u);

/* Convenience: a new v4 / v7 id in text form written into `out` (UUID_STR_SIZE bytes).
 * Return 0, or -1 when the CSPRNG failed. */
int uuid_v4_str(char out[UUID_STR_SIZE]);
int uuid_v7_str(char out[UUID_STR_SIZE]);

#endif
