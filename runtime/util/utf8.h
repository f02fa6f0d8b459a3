/*
 * runtime/util/utf8.h — UTF-8 validation by jansson's rules, shared by the JSON reader and
 * writer (util/jsonr, util/jsonw) so that they accept exactly the strings jansson accepts.
 * Header-only: it sits in their per-byte loops.
 */
#ifndef LG_UTIL_UTF8_H
#define LG_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 for the bytes a JSON string holds as they are, with no escape and no UTF-8 check:
 * printable ASCII other than '"' and '\\'. */
static const unsigned char utf8_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* 0x80..0xFF: UTF-8, checked one sequence at a time (utf8_seq_len) */
};

/* 1 when all 8 bytes of `w` (8 bytes of a string, loaded in any byte order) are plain in the
 * sense of utf8_json_plain: none below 0x20, none at or above 0x80, no '"', no '\\'. Lets the
 * scanners skip plain text a word at a time (bit tricks exact for "is there such a byte": a
 * borrow only starts at a byte that matches). */
static inline int utf8_json_plain8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');

    return ((w | ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
             ((backslash - ones) & ~backslash)) & highs) == 0;
}

/*
 * Length of the valid UTF-8 sequence starting at s[0] (a byte >= 0x80) within `n` bytes
 * (borrowed), or 0 when it is not one. The rules are jansson's: no continuation byte first,
 * no overlong forms, no surrogates, nothing above U+10FFFF.
 */
static inline size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2, cp = s[0] & 0x1Fu;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3, cp = s[0] & 0x0Fu;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4, cp = s[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

#endif
