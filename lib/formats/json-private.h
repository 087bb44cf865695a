/* SPDX-License-Identifier: MIT */
/* A minimal pull tokenizer for JSON (RFC 8259) text that is already in
 * memory, for readers of JSON headers (safetensors). The caller drives the
 * grammar: it asks for the token it expects and the tokenizer checks it.
 * The first failure is kept in the tokenizer (what and where), every later
 * call then fails too, so a caller can check once at the end of a loop.
 * Nothing is allocated. Also holds the UTF-8 validator that other readers
 * share. */
#ifndef EC2T_JSON_PRIVATE_H
#define EC2T_JSON_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#define EC2T__JSON_MAX_DEPTH 64

typedef struct ec2t__json {
    const char *start; /* the whole text, for positions in messages */
    const char *p;     /* the next unread byte */
    const char *end;
    size_t err_pos;    /* byte offset of the first error */
    char err[96];      /* description of the first error; empty while all is well */
} ec2t__json;

void ec2t__json_init(ec2t__json *j, const char *text, size_t len);
/* 1 once something has failed. */
int ec2t__json_failed(const ec2t__json *j);
/* Record a failure found by the caller (e.g. a value of the wrong kind) at
 * the current position; only the first failure is kept. */
void ec2t__json_fail(ec2t__json *j, const char *msg);
/* The next byte after JSON whitespace, without consuming it; -1 at the end. */
int ec2t__json_peek(ec2t__json *j);
/* Consume the byte c after whitespace; on anything else fail and return 0. */
int ec2t__json_expect(ec2t__json *j, char c);
/* Iterate over the members of an object or the elements of an array whose
 * opening bracket has been consumed: returns 1 when another item follows (its
 * separating comma consumed), 0 after consuming the closing bracket `close`
 * or on failure. *first must be 1 before the first call. Trailing commas are
 * rejected. */
int ec2t__json_next(ec2t__json *j, char close, int *first);
/* A string: escapes decoded (\uXXXX and surrogate pairs to UTF-8), the raw
 * bytes checked to be UTF-8 without control characters. The decoded bytes go
 * to dst (cap bytes, NUL-terminated; the decoded length never exceeds the
 * length of the quoted text minus 1) and their count to *len; dst may be
 * NULL to only check the string. A \u0000 escape decodes to a NUL byte, so
 * callers that want C strings compare *len with strlen(dst). */
int ec2t__json_string(ec2t__json *j, char *dst, size_t cap, size_t *len);
/* A non-negative integer without sign, fraction or exponent (leading zeros
 * rejected, as JSON does), up to UINT64_MAX. */
int ec2t__json_uint(ec2t__json *j, uint64_t *v);
/* Check and skip any value, nested at most EC2T__JSON_MAX_DEPTH deep. */
int ec2t__json_skip_value(ec2t__json *j);

/* 1 if the n bytes at s are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). NUL bytes count as valid. */
int ec2t__utf8_valid(const char *s, size_t n);

#endif /* EC2T_JSON_PRIVATE_H */
