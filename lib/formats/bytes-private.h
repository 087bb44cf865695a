/* SPDX-License-Identifier: MIT */
/* Little-endian encoding, independent of the host's byte order. Every file
 * libec2t reads or writes is little-endian. */
#ifndef EC2T_BYTES_PRIVATE_H
#define EC2T_BYTES_PRIVATE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t
ec2t__le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t
ec2t__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline uint64_t
ec2t__le64(const uint8_t *p)
{
    return (uint64_t)ec2t__le32(p) | ((uint64_t)ec2t__le32(p + 4) << 32);
}

static inline void
ec2t__put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void
ec2t__put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void
ec2t__put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline int
ec2t__host_is_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* n little-endian float32 values from src into dst (unaligned src is fine). */
static inline void
ec2t__load_f32le(float *dst, const uint8_t *src, size_t n)
{
    if (ec2t__host_is_le()) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = ec2t__le32(src + 4 * i);
        memcpy(&dst[i], &u, 4);
    }
}

/* n floats into little-endian bytes. */
static inline void
ec2t__store_f32le(uint8_t *dst, const float *src, size_t n)
{
    if (ec2t__host_is_le()) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        ec2t__put_le32(dst + 4 * i, u);
    }
}

#endif /* EC2T_BYTES_PRIVATE_H */
