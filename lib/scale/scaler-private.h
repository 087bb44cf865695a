/* SPDX-License-Identifier: MIT */
#ifndef EC2T_SCALER_PRIVATE_H
#define EC2T_SCALER_PRIVATE_H

#include <ec2t/scaler.h>

#include "net-private.h"
#include "settings-private.h"

/* EC2T_SCALE_NOISE's default (scaler.h). */
#define EC2T__SCALE_NOISE_DEFAULT 0.01

struct ec2t_scaler {
    ec2t_context *ctx;
    double phi, depth, width, noise;
    int64_t transfer, seed;
};

/* The scaler's settings (scaler.c). */
extern const ec2t__settings ec2t__scaler_settings;

/* A network of the base's family with the given stages (fresh weights). */
ec2t_status ec2t__scaler_build(ec2t_context *ctx, const ec2t_net *base, const ec2t__arch *arch,
                               ec2t_net **out);
/* Copy the base's function into the freshly built, wider and deeper big. */
ec2t_status ec2t__scaler_transfer(const ec2t_scaler *s, const ec2t_net *base,
                                  const ec2t__arch *base_arch, ec2t_net *big);
/* The channel count of the rounding rule for c * mult. */
int32_t ec2t__scaler_round_width(double cw);

#endif /* EC2T_SCALER_PRIVATE_H */
