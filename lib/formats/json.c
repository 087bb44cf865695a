/* SPDX-License-Identifier: MIT */
/* A minimal JSON pull tokenizer (see json-private.h) and a UTF-8 validator.
 * It trusts nothing in the text: every read is bounded by the end pointer. */
#include <stdio.h>
#include <string.h>

#include "json-private.h"

/* Length of the well-formed UTF-8 sequence at p (avail bytes readable), or 0.
 * The second-byte ranges exclude overlong forms, surrogates and code points
 * above U+10FFFF (RFC 3629, table 3-7 of the Unicode standard). */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

int
ec2t__utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return 0;
        i += k;
    }
    return 1;
}

void
ec2t__json_init(ec2t__json *j, const char *text, size_t len)
{
    j->start = text;
    j->p = text;
    j->end = text + len;
    j->err_pos = 0;
    j->err[0] = '\0';
}

int
ec2t__json_failed(const ec2t__json *j)
{
    return j->err[0] != '\0';
}

void
ec2t__json_fail(ec2t__json *j, const char *msg)
{
    if (ec2t__json_failed(j))
        return;
    snprintf(j->err, sizeof j->err, "%s", msg[0] ? msg : "error");
    j->err_pos = (size_t)(j->p - j->start);
}

int
ec2t__json_peek(ec2t__json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
    return j->p < j->end ? (unsigned char)*j->p : -1;
}

int
ec2t__json_expect(ec2t__json *j, char c)
{
    char msg[32];
    if (ec2t__json_failed(j))
        return 0;
    if (ec2t__json_peek(j) == (unsigned char)c) {
        j->p++;
        return 1;
    }
    snprintf(msg, sizeof msg, "expected '%c'", c);
    ec2t__json_fail(j, msg);
    return 0;
}

int
ec2t__json_next(ec2t__json *j, char close, int *first)
{
    char msg[32];
    int c;
    if (ec2t__json_failed(j))
        return 0;
    c = ec2t__json_peek(j);
    if (c == (unsigned char)close) {
        /* Here we are right after the opening bracket or after an item, where
         * closing is fine; after a comma the caller parses an item instead,
         * so "[1,]" fails there. */
        j->p++;
        *first = 0;
        return 0;
    }
    if (*first) {
        *first = 0;
        return 1;
    }
    if (c != ',') {
        snprintf(msg, sizeof msg, "expected ',' or '%c'", close);
        ec2t__json_fail(j, msg);
        return 0;
    }
    j->p++;
    return 1;
}

/* Four hex digits at p (bounded by end) into *v. */
static int
hex4(const char *p, const char *end, uint32_t *v)
{
    uint32_t x = 0;
    if (end - p < 4)
        return 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t)(c - 'A' + 10);
        else
            return 0;
        x = x << 4 | d;
    }
    *v = x;
    return 1;
}

/* A code point (not a surrogate, at most U+10FFFF) as UTF-8; returns the length. */
static size_t
utf8_encode(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The \u escape at j->p ("\uXXXX", or a surrogate pair of two) as UTF-8. */
static size_t
read_unicode_escape(ec2t__json *j, unsigned char *out)
{
    uint32_t cp, lo;
    if (!hex4(j->p + 2, j->end, &cp)) {
        ec2t__json_fail(j, "\\u is not followed by four hex digits");
        return 0;
    }
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        ec2t__json_fail(j, "unpaired low surrogate in a \\u escape");
        return 0;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        /* UTF-16 high surrogate: a low one must follow as a second escape. */
        if (j->end - j->p < 12 || j->p[6] != '\\' || j->p[7] != 'u' ||
            !hex4(j->p + 8, j->end, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
            ec2t__json_fail(j, "unpaired high surrogate in a \\u escape");
            return 0;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        j->p += 6;
    }
    j->p += 6;
    return utf8_encode(cp, out);
}

/* The escape sequence at j->p (a backslash) decoded into out; returns its length. */
static size_t
read_escape(ec2t__json *j, unsigned char *out)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    const char *hit;
    if (j->end - j->p < 2) {
        ec2t__json_fail(j, "unterminated string");
        return 0;
    }
    if (j->p[1] == 'u')
        return read_unicode_escape(j, out);
    hit = j->p[1] ? strchr(from, j->p[1]) : NULL;
    if (!hit) {
        ec2t__json_fail(j, "invalid escape sequence in a string");
        return 0;
    }
    out[0] = (unsigned char)to[hit - from];
    j->p += 2;
    return 1;
}

/* The next character of a string body into out (decoded); returns its length. */
static size_t
read_string_char(ec2t__json *j, unsigned char *out)
{
    unsigned char c = (unsigned char)*j->p;
    size_t k;
    if (c == '\\')
        return read_escape(j, out);
    if (c < 0x20) {
        ec2t__json_fail(j, "control character inside a string");
        return 0;
    }
    k = utf8_seq((const unsigned char *)j->p, (size_t)(j->end - j->p));
    if (k == 0) {
        ec2t__json_fail(j, "invalid UTF-8 inside a string");
        return 0;
    }
    memcpy(out, j->p, k);
    j->p += k;
    return k;
}

int
ec2t__json_string(ec2t__json *j, char *dst, size_t cap, size_t *len)
{
    size_t n = 0;
    if (ec2t__json_failed(j))
        return 0;
    if (ec2t__json_peek(j) != '"') {
        ec2t__json_fail(j, "expected a string");
        return 0;
    }
    j->p++;
    for (;;) {
        unsigned char buf[4];
        size_t k;
        if (j->p >= j->end) {
            ec2t__json_fail(j, "unterminated string");
            return 0;
        }
        if (*j->p == '"')
            break;
        k = read_string_char(j, buf);
        if (k == 0)
            return 0;
        if (dst) {
            if (k >= cap - n) {
                ec2t__json_fail(j, "string longer than its buffer");
                return 0;
            }
            memcpy(dst + n, buf, k);
        }
        n += k;
    }
    j->p++;
    if (dst) {
        if (cap == 0) {
            ec2t__json_fail(j, "string longer than its buffer");
            return 0;
        }
        dst[n] = '\0';
    }
    if (len)
        *len = n;
    return 1;
}

static int
is_digit(const ec2t__json *j, const char *p)
{
    return p < j->end && *p >= '0' && *p <= '9';
}

int
ec2t__json_uint(ec2t__json *j, uint64_t *v)
{
    uint64_t x = 0;
    int c;
    if (ec2t__json_failed(j))
        return 0;
    c = ec2t__json_peek(j);
    if (c < '0' || c > '9') {
        ec2t__json_fail(j, c == '-' ? "expected a non-negative integer" : "expected an integer");
        return 0;
    }
    if (c == '0' && is_digit(j, j->p + 1)) {
        ec2t__json_fail(j, "leading zero in a number");
        return 0;
    }
    while (is_digit(j, j->p)) {
        uint64_t d = (uint64_t)(*j->p - '0');
        if (x > (UINT64_MAX - d) / 10) {
            ec2t__json_fail(j, "integer above 2^64 - 1");
            return 0;
        }
        x = x * 10 + d;
        j->p++;
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E')) {
        ec2t__json_fail(j, "expected an integer, found a fraction or an exponent");
        return 0;
    }
    *v = x;
    return 1;
}

/* Skip digits; fail unless there is at least one. */
static int
skip_digits(ec2t__json *j)
{
    if (!is_digit(j, j->p)) {
        ec2t__json_fail(j, "malformed number");
        return 0;
    }
    while (is_digit(j, j->p))
        j->p++;
    return 1;
}

/* Any JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
skip_number(ec2t__json *j)
{
    if (*j->p == '-')
        j->p++;
    if (is_digit(j, j->p) && *j->p == '0') {
        j->p++;
        if (is_digit(j, j->p)) {
            ec2t__json_fail(j, "leading zero in a number");
            return 0;
        }
    } else if (!skip_digits(j)) {
        return 0;
    }
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!skip_digits(j))
            return 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!skip_digits(j))
            return 0;
    }
    return 1;
}

static int
skip_literal(ec2t__json *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0) {
        ec2t__json_fail(j, "unexpected character");
        return 0;
    }
    j->p += n;
    return 1;
}

static int skip_depth(ec2t__json *j, int depth);

static int
skip_object(ec2t__json *j, int depth)
{
    int first = 1;
    j->p++;
    while (ec2t__json_next(j, '}', &first)) {
        if (!ec2t__json_string(j, NULL, 0, NULL) || !ec2t__json_expect(j, ':') ||
            !skip_depth(j, depth + 1))
            return 0;
    }
    return !ec2t__json_failed(j);
}

static int
skip_array(ec2t__json *j, int depth)
{
    int first = 1;
    j->p++;
    while (ec2t__json_next(j, ']', &first))
        if (!skip_depth(j, depth + 1))
            return 0;
    return !ec2t__json_failed(j);
}

/* Recursion is bounded by EC2T__JSON_MAX_DEPTH, so crafted text cannot exhaust the stack. */
static int
skip_depth(ec2t__json *j, int depth)
{
    int c;
    if (ec2t__json_failed(j))
        return 0;
    if (depth >= EC2T__JSON_MAX_DEPTH) {
        ec2t__json_fail(j, "values nested too deeply");
        return 0;
    }
    c = ec2t__json_peek(j);
    switch (c) {
    case '{':
        return skip_object(j, depth);
    case '[':
        return skip_array(j, depth);
    case '"':
        return ec2t__json_string(j, NULL, 0, NULL);
    case 't':
        return skip_literal(j, "true");
    case 'f':
        return skip_literal(j, "false");
    case 'n':
        return skip_literal(j, "null");
    default:
        if (c == '-' || (c >= '0' && c <= '9'))
            return skip_number(j);
        ec2t__json_fail(j, c < 0 ? "unexpected end of text" : "unexpected character");
        return 0;
    }
}

int
ec2t__json_skip_value(ec2t__json *j)
{
    return skip_depth(j, 0);
}
