/* SPDX-License-Identifier: MIT */
/* The safetensors reader: a real file (ResNet-20 from the EC2T authors),
 * every accepted variant of the format, and every way a file can be
 * malformed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

#include "safetensors-private.h"

/* An image: u64 little-endian header length, the JSON, then data_len bytes
 * of data (data may be NULL: zeros). Returns the length. */
static size_t
st_image(uint8_t *buf, size_t cap, const char *json, size_t json_len, const void *data,
         size_t data_len)
{
    ck_assert_uint_le(8 + json_len + data_len, cap);
    for (int i = 0; i < 8; i++)
        buf[i] = (uint8_t)((uint64_t)json_len >> (8 * i));
    memcpy(buf + 8, json, json_len);
    if (data)
        memcpy(buf + 8 + json_len, data, data_len);
    else
        memset(buf + 8 + json_len, 0, data_len);
    return 8 + json_len + data_len;
}

/* An allocator that remembers the largest request, to show that nothing is
 * allocated from a length the file cannot back. */
typedef struct big_alloc {
    test_alloc ta;
    size_t max_size;
} big_alloc;

static void *
big_alloc_fn(void *user, size_t size, size_t align)
{
    big_alloc *b = user;
    if (size > b->max_size)
        b->max_size = size;
    return test_alloc_fn(&b->ta, size, align);
}

static void
big_release_fn(void *user, void *ptr)
{
    big_alloc *b = user;
    test_release_fn(&b->ta, ptr);
}

/* Open bytes; on failure the handle stays NULL, the message names the file
 * and holds expect_in_msg (if given). Nothing leaks, no allocation is above
 * 8 bytes per file byte (plus 4 KiB for the first list). */
static ec2t_status
open_bytes(const uint8_t *buf, size_t len, const char *expect_in_msg, char *msg, size_t msg_cap)
{
    big_alloc ba;
    ec2t_context *ctx = NULL;
    ec2t__st_file *f = (ec2t__st_file *)&ba;
    ec2t_status st;
    memset(&ba, 0, sizeof ba);
    ba.ta.fail_at = -1;
    ck_assert_ok(ec2t_context_new_with_allocator(big_alloc_fn, big_release_fn, &ba, &ctx));
    st = ec2t__st_open_mem(ctx, buf, len, "crafted", &f);
    snprintf(msg, msg_cap, "%s", ec2t_context_errmsg(ctx));
    if (st != EC2T_OK) {
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(msg, "crafted") != NULL, "message does not name the file: %s", msg);
        if (expect_in_msg)
            ck_assert_msg(strstr(msg, expect_in_msg) != NULL, "message lacks '%s': %s",
                          expect_in_msg, msg);
    }
    ec2t__st_free(f);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ba.ta.live, 0);
    ck_assert_msg(ba.max_size <= 8 * len + 4096, "an allocation of %zu bytes for a %zu-byte file",
                  ba.max_size, len);
    return st;
}

typedef struct st_case {
    const char *json;
    size_t data_len;
    const char *msg; /* a part of the expected message */
} st_case;

/* Every case is EC2T_E_FORMAT with its message. */
static void
expect_all_rejected(const st_case *cases, size_t n)
{
    static uint8_t buf[8192];
    char msg[600];
    for (size_t i = 0; i < n; i++) {
        size_t len = st_image(buf, sizeof buf, cases[i].json, strlen(cases[i].json), NULL,
                              cases[i].data_len);
        ec2t_status st = open_bytes(buf, len, cases[i].msg, msg, sizeof msg);
        ck_assert_msg(st == EC2T_E_FORMAT, "case %zu (%s) gave %s: %s", i, cases[i].json,
                      ec2t_status_string(st), msg);
    }
}

/* Reference values read with /usr/bin/python3 (json + struct, stdlib only):
 *   n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n])
 *   struct.unpack('<%df' % k, b[8+n+begin:8+n+end]) ... float.hex()
 * The file has 97 tensors, all F32 (no num_batches_tracked entries), the
 * header is 8336 bytes, and __metadata__ holds four strings. */
START_TEST(test_safetensors_reads_resnet20)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__st_file *f = NULL;
    const ec2t__st_tensor *t;
    float conv1[16 * 3 * 3 * 3], var[16], lw[10 * 64], lb[10];
    size_t running_vars = 0;
    ck_assert_ok(ec2t__st_open_file(ctx, test_data_path("resnet20-cifar10/resnet20_fp.safetensors"),
                                    &f));
    ck_assert_uint_eq(ec2t__st_count(f), 97);
    ck_assert_str_eq(ec2t__st_at(f, 0)->name, "bn1.bias"); /* header order */
    ck_assert_str_eq(ec2t__st_at(f, 4)->name, "conv1.weight");
    ck_assert_str_eq(ec2t__st_at(f, 96)->name, "linear.weight");
    ck_assert_ptr_null(ec2t__st_at(f, 97));
    for (size_t i = 0; i < ec2t__st_count(f); i++) {
        t = ec2t__st_at(f, i);
        ck_assert_str_eq(t->dtype, "F32");
        ck_assert_ptr_eq(ec2t__st_find(f, t->name), t);
        if (strstr(t->name, ".running_var"))
            running_vars++;
    }
    ck_assert_uint_eq(running_vars, 19);
    ck_assert_ptr_null(ec2t__st_find(f, "bn1.num_batches_tracked"));
    ck_assert_ptr_null(ec2t__st_find(f, "__metadata__"));

    t = ec2t__st_find(f, "conv1.weight");
    ck_assert_int_eq(t->ndim, 4);
    ck_assert(t->dims[0] == 16 && t->dims[1] == 3 && t->dims[2] == 3 && t->dims[3] == 3);
    ck_assert_uint_eq(t->nbytes, sizeof conv1);
    ck_assert_ok(ec2t__st_read_f32(f, t, conv1));
    ck_assert(conv1[0] == -0x1.1afee2p-3f);
    ck_assert(conv1[1] == -0x1.4ca1a4p-3f);
    ck_assert(conv1[431] == 0x1.3c1e86p-2f);

    t = ec2t__st_find(f, "layer1.0.bn1.running_var");
    ck_assert_int_eq(t->ndim, 1);
    ck_assert_int_eq(t->dims[0], 16);
    ck_assert_ok(ec2t__st_read_f32(f, t, var));
    ck_assert(var[0] == 0x1.e5fdbcp+0f);
    ck_assert(var[1] == 0x1.c54776p+0f);
    ck_assert(var[15] == 0x1.afbd9ap+1f);

    t = ec2t__st_find(f, "linear.weight");
    ck_assert(t->ndim == 2 && t->dims[0] == 10 && t->dims[1] == 64);
    ck_assert_ok(ec2t__st_read_f32(f, t, lw));
    ck_assert(lw[0] == -0x1.0f4fep+0f);
    ck_assert(lw[1] == 0x1.234156p-1f);
    ck_assert(lw[639] == 0x1.d03c04p-3f);

    t = ec2t__st_find(f, "linear.bias");
    ck_assert(t->ndim == 1 && t->dims[0] == 10);
    ck_assert_ok(ec2t__st_read_f32(f, t, lb));
    ck_assert(lb[0] == 0x1.8c68b2p-3f);
    ck_assert(lb[1] == -0x1.5f55d6p-2f);
    ck_assert(lb[9] == -0x1.14bee2p-2f);

    ck_assert_str_eq(ec2t__st_metadata(f, "architecture"), "resnet20-cifar (option A shortcut)");
    ck_assert_str_eq(ec2t__st_metadata(f, "license"), "MIT, Copyright (c) 2020 Daniel Becking");
    ck_assert_ptr_null(ec2t__st_metadata(f, "nope"));
    ck_assert_ptr_nonnull(strstr(ec2t__st_what(f), "resnet20_fp.safetensors"));
    ec2t__st_free(f);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_safetensors_accepts_variants)
{
    /* escapes, whitespace, fields in any order, unknown fields, a scalar I64
     * (as PyTorch writes num_batches_tracked), an empty tensor, many dtypes,
     * and trailing spaces */
    static const char json[] =
        "{ \"__metadata__\" : { \"format\" : \"pt\", \"k\\u00e9y\" : \"v\\\"q\\\\\\/\\n\\t\" } ,\n"
        "  \"a\\u00e9\\ud83d\\ude00\" : { \"shape\" : [ 2 ] ,\r\n"
        " \"data_offsets\" : [ 0 , 8 ] , \"dtype\" : \"F32\","
        " \"extra\" : {\"x\": [1, -2.5e+3, 0.5E-1, true, false, null, \"s\"]} },"
        "  \"\\u20AC\xf0\x9f\x98\x80\\u00C9\":"
        " {\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "  \"n.num_batches_tracked\": {\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]},"
        "  \"empty\": {\"dtype\":\"F16\",\"shape\":[0,3],\"data_offsets\":[16,16]},"
        "  \"b\": {\"dtype\":\"BF16\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[16,20]},"
        "  \"m\": {\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[20,23]},"
        "  \"d\": {\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[23,31]},"
        "  \"i\": {\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[31,32]},"
        "  \"\": {\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[32,32]}"
        "}     ";
    static const char padded[] = "{ \"__metadata__\": {} }      ";
    uint8_t data[32], buf[2048];
    float fa[2] = {1.5f, -3.0f}, got[2];
    int64_t five = 5;
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__st_file *f = NULL;
    const ec2t__st_tensor *t;
    size_t len;
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
        uint32_t u;
        memcpy(&u, &fa[i], 4);
        for (int k = 0; k < 4; k++)
            data[4 * i + k] = (uint8_t)(u >> (8 * k));
    }
    for (int k = 0; k < 8; k++)
        data[8 + k] = (uint8_t)((uint64_t)five >> (8 * k));
    len = st_image(buf, sizeof buf, json, sizeof json - 1, data, sizeof data);
    ck_assert_ok(ec2t__st_open_mem(ctx, buf, len, NULL, &f));
    memset(buf, 0xee, sizeof buf); /* the reader keeps its own copy */
    ck_assert_str_eq(ec2t__st_what(f), "safetensors buffer");
    ck_assert_uint_eq(ec2t__st_count(f), 9);
    t = ec2t__st_at(f, 0);
    ck_assert_str_eq(t->name, "a\xc3\xa9\xf0\x9f\x98\x80");
    ck_assert_str_eq(t->dtype, "F32");
    ck_assert_ok(ec2t__st_read_f32(f, t, got));
    ck_assert(got[0] == 1.5f && got[1] == -3.0f);
    /* \u20AC, a raw 4-byte sequence and \u00C9 */
    ck_assert_str_eq(ec2t__st_at(f, 1)->name, "\xe2\x82\xac\xf0\x9f\x98\x80\xc3\x89");
    t = ec2t__st_find(f, "n.num_batches_tracked");
    ck_assert_ptr_eq(t, ec2t__st_at(f, 2));
    ck_assert_int_eq(t->ndim, 0);
    ck_assert_uint_eq(t->nbytes, 8);
    ck_assert_int_eq(t->data[0], 5);
    ck_assert_status(ec2t__st_read_f32(f, t, got), EC2T_E_FORMAT);
    t = ec2t__st_find(f, "empty");
    ck_assert(t->ndim == 2 && t->dims[0] == 0 && t->dims[1] == 3 && t->nbytes == 0);
    t = ec2t__st_find(f, "b");
    ck_assert(t->ndim == 8 && t->dims[7] == 2 && t->nbytes == 4);
    ck_assert_str_eq(ec2t__st_find(f, "m")->dtype, "BOOL");
    ck_assert_uint_eq(ec2t__st_find(f, "d")->nbytes, 8);
    ck_assert_uint_eq(ec2t__st_find(f, "i")->nbytes, 1);
    ck_assert_uint_eq(ec2t__st_find(f, "")->nbytes, 0);
    ck_assert_ptr_null(ec2t__st_find(f, "a"));
    ck_assert_str_eq(ec2t__st_metadata(f, "format"), "pt");
    ck_assert_str_eq(ec2t__st_metadata(f, "k\xc3\xa9y"), "v\"q\\/\n\t");
    ec2t__st_free(f);

    /* no tensors at all, with and without padding */
    len = st_image(buf, sizeof buf, "{}", 2, NULL, 0);
    ck_assert_ok(ec2t__st_open_mem(ctx, buf, len, "empty", &f));
    ck_assert_uint_eq(ec2t__st_count(f), 0);
    ck_assert_ptr_null(ec2t__st_find(f, "x"));
    ck_assert_ptr_null(ec2t__st_metadata(f, "x"));
    ec2t__st_free(f);
    len = st_image(buf, sizeof buf, padded, strlen(padded), NULL, 0);
    ck_assert_ok(ec2t__st_open_mem(ctx, buf, len, "empty", &f));
    ck_assert_uint_eq(ec2t__st_count(f), 0);
    ec2t__st_free(f);
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

START_TEST(test_safetensors_rejects_bad_prefix)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    static const char ok[] = "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    uint8_t buf[512];
    char msg[600];
    size_t len = st_image(buf, sizeof buf, ok, sizeof ok - 1, "x", 1);
    ck_assert_ok(open_bytes(buf, len, NULL, msg, sizeof msg));
    ck_assert_status(open_bytes(buf, 7, "too short", msg, sizeof msg), EC2T_E_FORMAT);
    ck_assert_status(open_bytes(NULL, 0, "too short", msg, sizeof msg), EC2T_E_FORMAT);
    /* header length past the end, above the cap, huge, too small */
    buf[0] = (uint8_t)(sizeof ok); /* one more than the JSON: the data byte 'x' */
    ck_assert_status(open_bytes(buf, len, "past the data", msg, sizeof msg), EC2T_E_FORMAT);
    buf[0] = (uint8_t)(sizeof ok + 1);
    ck_assert_status(open_bytes(buf, len, "past the end", msg, sizeof msg), EC2T_E_FORMAT);
    memcpy(buf, "\x01\x00\x40\x06\x00\x00\x00\x00", 8); /* 100 MiB + 1 */
    ck_assert_status(open_bytes(buf, len, "100 MiB", msg, sizeof msg), EC2T_E_FORMAT);
    memcpy(buf, "\xff\xff\xff\xff\xff\xff\xff\xff", 8);
    ck_assert_status(open_bytes(buf, len, "100 MiB", msg, sizeof msg), EC2T_E_FORMAT);
    memcpy(buf, "\x01\x00\x00\x00\x00\x00\x00\x00", 8);
    ck_assert_status(open_bytes(buf, len, "'{'", msg, sizeof msg), EC2T_E_FORMAT);
    memcpy(buf, "\x00\x00\x00\x00\x00\x00\x00\x00", 8);
    ck_assert_status(open_bytes(buf, len, "'{'", msg, sizeof msg), EC2T_E_FORMAT);
    /* the JSON must start with '{' right away */
    len = st_image(buf, sizeof buf, " {}", 3, NULL, 0);
    ck_assert_status(open_bytes(buf, len, "'{'", msg, sizeof msg), EC2T_E_FORMAT);
    len = st_image(buf, sizeof buf, "[]", 2, NULL, 0);
    ck_assert_status(open_bytes(buf, len, "'{'", msg, sizeof msg), EC2T_E_FORMAT);
    /* I/O and arguments */
    {
        ec2t__st_file *f = (ec2t__st_file *)&ta;
        ck_assert_status(ec2t__st_open_file(ctx, test_tmpfile(0, "missing.safetensors"), &f),
                         EC2T_E_IO);
        ck_assert_ptr_null(f);
        ck_assert_status(ec2t__st_open_file(ctx, test_tmpdir(), &f), EC2T_E_IO);
        ck_assert_status(ec2t__st_open_file(ctx, NULL, &f), EC2T_E_INVAL);
        ck_assert_status(ec2t__st_open_file(ctx, "x", NULL), EC2T_E_INVAL);
        ck_assert_status(ec2t__st_open_file(NULL, "x", &f), EC2T_E_INVAL);
        ck_assert_status(ec2t__st_open_mem(ctx, NULL, 3, "x", &f), EC2T_E_INVAL);
        ck_assert_status(ec2t__st_open_mem(NULL, buf, 3, "x", &f), EC2T_E_INVAL);
        ck_assert_status(ec2t__st_read_f32(NULL, NULL, NULL), EC2T_E_INVAL);
        len = st_image(buf, sizeof buf, "{}", 2, NULL, 0);
        ck_assert_ok(ec2t__st_open_mem(ctx, buf, len, "ok", &f));
        ck_assert_status(ec2t__st_read_f32(f, NULL, NULL), EC2T_E_INVAL);
        ec2t__st_free(f);
        f = NULL;
        ck_assert_ptr_null(f);
        ck_assert_uint_eq(ec2t__st_count(NULL), 0);
        ck_assert_ptr_null(ec2t__st_at(NULL, 0));
        ck_assert_ptr_null(ec2t__st_find(NULL, "x"));
        ck_assert_ptr_null(ec2t__st_metadata(NULL, "x"));
        ck_assert_str_eq(ec2t__st_what(NULL), "");
        ec2t__st_free(NULL);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

#define T8 "\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]"

START_TEST(test_safetensors_rejects_bad_json)
{
    static const st_case cases[] = {
        {"{\"a\":{" T8 "}", 8, "JSON"},                      /* no closing brace */
        {"{\"a\":{" T8 "},}", 8, "JSON"},                    /* trailing comma */
        {"{\"a\":{" T8 ",}}", 8, "JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2,],\"data_offsets\":[0,8]}}", 8, "JSON"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2] \"data_offsets\":[0,8]}}", 8, "','"},
        {"{\"a\" {" T8 "}}", 8, "':'"},                      /* no colon */
        {"{'a':{" T8 "}}", 8, "string"},                     /* single quotes */
        {"{a:{" T8 "}}", 8, "string"},                       /* bare key */
        {"{\"a\":5}", 8, "'{'"},                             /* a tensor that is no object */
        {"{\"a\":{\"dtype\":F32,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "string"},
        {"{\"a\\x\":{" T8 "}}", 8, "escape"},
        {"{\"a\\u12G4\":{" T8 "}}", 8, "hex"},
        {"{\"a\\u12\":{" T8 "}}", 8, "hex"},
        {"{\"\\ud800\":{" T8 "}}", 8, "surrogate"},
        {"{\"\\ud800\\u0041\":{" T8 "}}", 8, "surrogate"},
        {"{\"\\udc00x\":{" T8 "}}", 8, "surrogate"},
        {"{\"a\tb\":{" T8 "}}", 8, "control"},
        {"{\"a\xff\":{" T8 "}}", 8, "UTF-8"},
        {"{\"a\xc0\x80\":{" T8 "}}", 8, "UTF-8"},              /* overlong NUL */
        {"{\"a\xed\xa0\x80\":{" T8 "}}", 8, "UTF-8"},          /* encoded surrogate */
        {"{\"a\xe2\x82\":{" T8 "}}", 8, "UTF-8"},              /* cut sequence */
        {"{\"a\xf4\x90\x80\x80\":{" T8 "}}", 8, "UTF-8"},      /* above U+10FFFF */
        {"{\"a\xf0\x80\x80\x80\":{" T8 "}}", 8, "UTF-8"},      /* overlong */
        {"{\"a\\", 0, "unterminated"},                      /* ends in an escape */
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "'['"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":8}}", 8, "'['"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}}", 8, "integer"},
        {"{\"__metadata__\":{\"k\" \"v\"}}", 0, "':'"},
        {"{\"a\\u0000b\":{" T8 "}}", 8, "NUL"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[02],\"data_offsets\":[0,8]}}", 8, "leading zero"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "fraction"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2e0],\"data_offsets\":[0,8]}}", 8, "exponent"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8, "integer"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,18446744073709551616]}}", 8,
         "2^64"},
        {"{\"a\":{" T8 ",\"x\":tru}}", 8, "JSON"},
        {"{\"a\":{" T8 ",\"x\":01}}", 8, "leading zero"},
        {"{\"a\":{" T8 ",\"x\":-}}", 8, "number"},
        {"{\"a\":{" T8 ",\"x\":1.}}", 8, "number"},
        {"{\"a\":{" T8 ",\"x\":1e}}", 8, "number"},
        {"{\"a\":{" T8 ",\"x\":\"open}}", 8, "unterminated"},
        {"{\"a\":{" T8 ",\"x\":[1 2]}}", 8, "','"},
        {"{\"a\":{" T8 ",\"x\":{\"k\" 1}}}", 8, "':'"},
        {"{\"a\":{" T8 ",\"x\":}}", 8, "unexpected"},
        {"{\"a\":{" T8 "}}x", 8, "spaces"},
        {"{\"a\":{" T8 "}}\n", 8, "spaces"},
        {"{\"a\":{" T8 "}} {}", 8, "spaces"},
        {"{\"__metadata__\":{\"k\":1},\"a\":{" T8 "}}", 8, "not a string"},
        {"{\"__metadata__\":{\"k\":[\"v\"]},\"a\":{" T8 "}}", 8, "not a string"},
        {"{\"__metadata__\":[],\"a\":{" T8 "}}", 8, "'{'"},
        {"{\"__metadata__\":{\"k\\u0000\":\"v\"}}", 0, "NUL"},
        {"{\"__metadata__\":{\"k\":\"v\\u0000\"}}", 0, "NUL"},
        {"{\"__metadata__\":{\"k\":\"v\",}}", 0, "string"},
    };
    expect_all_rejected(cases, sizeof cases / sizeof cases[0]);
}
END_TEST

/* An unknown field of `levels` nested arrays. */
static size_t
deep_file(uint8_t *buf, size_t cap, int levels)
{
    char json[512];
    size_t n = (size_t)snprintf(json, sizeof json, "{\"a\":{" T8 ",\"x\":");
    ck_assert_uint_lt(n + 2 * (size_t)levels + 3, sizeof json);
    for (int i = 0; i < 2 * levels; i++)
        json[n++] = i < levels ? '[' : ']';
    json[n++] = '}';
    json[n++] = '}';
    return st_image(buf, cap, json, n, NULL, 8);
}

START_TEST(test_safetensors_nesting_is_bounded)
{
    uint8_t buf[1024];
    char msg[600];
    size_t len = deep_file(buf, sizeof buf, 64);
    ck_assert_ok(open_bytes(buf, len, NULL, msg, sizeof msg));
    len = deep_file(buf, sizeof buf, 65);
    ck_assert_status(open_bytes(buf, len, "deeply", msg, sizeof msg), EC2T_E_FORMAT);
    len = deep_file(buf, sizeof buf, 200);
    ck_assert_status(open_bytes(buf, len, "deeply", msg, sizeof msg), EC2T_E_FORMAT);
}
END_TEST

START_TEST(test_safetensors_rejects_bad_tensors)
{
    static const st_case cases[] = {
        {"{\"a\":{}}", 0, "lacks dtype"},
        {"{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "lacks dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "lacks shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "lacks data_offsets"},
        {"{\"a\":{" T8 ",\"dtype\":\"F32\"}}", 8, "twice"},
        {"{\"a\":{" T8 ",\"shape\":[2]}}", 8, "twice"},
        {"{\"a\":{\"dtype\":\"F4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "need 12"},
        {"{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "need 16"},
        {"{\"a\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "need 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,8]}}", 8, "need 0"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "before begin"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "past the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8, "past the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[18446744073709551608,"
         "18446744073709551615]}}", 8, "past the data"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}", 8, "not 2"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}}", 8, "not 2"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[]}}", 8, "not 2"},
        {"{\"a\":{" T8 "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
         "overlap"},
        {"{\"a\":{" T8 "},\"b\":{" T8 "}}", 8, "overlap"},
        {"{\"a\":{" T8 "},\"z\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 8,
         "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "holes"},
        {"{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "holes"},
        {"{\"a\":{" T8 "}}", 12, "follow"},
        {"{}", 1, "follow"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "'a' appears twice"},
        {"{\"__metadata__\":{},\"__metadata__\":{}}", 0, "twice"},
        {"{\"__metadata__\":{\"k\":\"v\",\"j\":\"w\",\"k\":\"x\"}}", 0, "'k' appears twice"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],"
         "\"data_offsets\":[0,8]}}", 8, "overflows"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}", 8,
         "overflows"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,8],\"data_offsets\":[0,8]}}", 8,
         "more than 8"},
        {"{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775808],\"data_offsets\":[0,8]}}", 8,
         "extent"},
    };
    expect_all_rejected(cases, sizeof cases / sizeof cases[0]);
}
END_TEST

/* A small valid file: two tensors and metadata. */
static size_t
small_file(uint8_t *buf, size_t cap)
{
    static const char json[] = "{\"__metadata__\":{\"k\":\"v\"},"
                               "\"w\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                               "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}}  ";
    static const uint8_t data[16] = {0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 7};
    return st_image(buf, cap, json, sizeof json - 1, data, sizeof data);
}

START_TEST(test_safetensors_rejects_every_truncation)
{
    test_alloc ta;
    ec2t_context *ctx = test_context(&ta);
    ec2t__st_file *f = NULL;
    uint8_t buf[512];
    float w[2];
    size_t len = small_file(buf, sizeof buf);
    ck_assert_ok(ec2t__st_open_mem(ctx, buf, len, "small", &f));
    ck_assert_ok(ec2t__st_read_f32(f, ec2t__st_find(f, "w"), w));
    ck_assert(w[0] == 1.0f && w[1] == 2.0f);
    ec2t__st_free(f);
    for (size_t n = 0; n < len; n++) {
        ck_assert_msg(ec2t__st_open_mem(ctx, buf, n, "cut", &f) == EC2T_E_FORMAT,
                      "a file cut to %zu of %zu bytes: %s", n, len, ec2t_context_errmsg(ctx));
        ck_assert_ptr_null(f);
    }
    ec2t_context_free(ctx);
    ck_assert_int_eq(ta.live, 0);
}
END_TEST

/* ---- allocation failures ---- */

typedef ec2t_status (*scenario_fn)(ec2t_context *ctx);

/* 40 tensors and 20 metadata keys, so that the lists grow more than once. */
static size_t
many_file(uint8_t *buf, size_t cap)
{
    char json[8192];
    float data[40];
    size_t n = 0;
    n += (size_t)snprintf(json + n, sizeof json - n, "{\"__metadata__\":{");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s\"key%02d\":\"value %d\"",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(json + n, sizeof json - n, "}");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(json + n, sizeof json - n,
                              ",\"t%02d\":{\"dtype\":\"F32\",\"shape\":[1],"
                              "\"data_offsets\":[%d,%d]}", i, 4 * i, 4 * i + 4);
        data[i] = (float)i;
    }
    n += (size_t)snprintf(json + n, sizeof json - n, "}");
    ck_assert_uint_lt(n, sizeof json);
    return st_image(buf, cap, json, n, data, sizeof data);
}

static ec2t_status
scenario_mem(ec2t_context *ctx)
{
    static uint8_t buf[8192];
    ec2t__st_file *f = (ec2t__st_file *)ctx; /* a failed open must reset it */
    size_t len = many_file(buf, sizeof buf);
    float v;
    ec2t_status st = ec2t__st_open_mem(ctx, buf, len, "many", &f);
    if (st != EC2T_OK) {
        ck_assert_ptr_null(f);
        return st;
    }
    ck_assert_uint_eq(ec2t__st_count(f), 40);
    ck_assert_ok(ec2t__st_read_f32(f, ec2t__st_find(f, "t33"), &v));
    ck_assert(v == 33.0f);
    ck_assert_str_eq(ec2t__st_metadata(f, "key19"), "value 19");
    ec2t__st_free(f);
    return st;
}

static ec2t_status
scenario_file(ec2t_context *ctx)
{
    ec2t__st_file *f = NULL;
    float b[10];
    ec2t_status st = ec2t__st_open_file(
        ctx, test_data_path("resnet20-cifar10/resnet20_fp.safetensors"), &f);
    if (st != EC2T_OK)
        return st;
    ck_assert_ok(ec2t__st_read_f32(f, ec2t__st_find(f, "linear.bias"), b));
    ec2t__st_free(f);
    return st;
}

static void
run_with_failures(const char *name, scenario_fn fn, long min_allocs)
{
    long k;
    for (k = 0;; k++) {
        test_alloc ta = {0, k, 0, 0};
        ec2t_context *ctx = NULL;
        ec2t_status st = ec2t_context_new_with_allocator(test_alloc_fn, test_release_fn, &ta, &ctx);
        if (st == EC2T_OK)
            st = fn(ctx);
        ec2t_context_free(ctx);
        ck_assert_msg(ta.live == 0, "%s: %ld blocks leaked when allocation %ld failed", name,
                      ta.live, k);
        if (test_alloc_pass_done(&ta, st, name, k, 0))
            break;
    }
    ck_assert_msg(k >= min_allocs, "%s: only %ld allocations; the scenario tests nothing", name,
                  k);
}

START_TEST(test_safetensors_allocation_failures)
{
    run_with_failures("safetensors in memory", scenario_mem, 8);
    run_with_failures("safetensors file", scenario_file, 5);
}
END_TEST

Suite *
ec2t_test_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("safetensors");
    tcase_add_test(tc, test_safetensors_reads_resnet20);
    tcase_add_test(tc, test_safetensors_accepts_variants);
    tcase_add_test(tc, test_safetensors_rejects_bad_prefix);
    tcase_add_test(tc, test_safetensors_rejects_bad_json);
    tcase_add_test(tc, test_safetensors_nesting_is_bounded);
    tcase_add_test(tc, test_safetensors_rejects_bad_tensors);
    tcase_add_test(tc, test_safetensors_rejects_every_truncation);
    tcase_add_test(tc, test_safetensors_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
