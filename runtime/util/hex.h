/*
 * runtime/util/hex.h — the value of one hexadecimal digit, shared by the parsers that decode
 * hex (JSON \u escapes in util/jsonr, percent-encoding in http/params, UUIDs in util/uuid).
 * Header-only: it sits in their per-byte loops.
 */
#ifndef LG_UTIL_HEX_H
#define LG_UTIL_HEX_H

/* 0..15 for a hexadecimal digit (either case), -1 for any other byte value. */
static inline int hex_digit_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
