/* SPDX-License-Identifier: MIT */
/**
 * @file ec2t.h
 * @brief Umbrella header of libec2t: include this one.
 *
 * It declares the stable API only. With EC2T_ENABLE_EXPERIMENTAL defined
 * before it, it also includes <ec2t/experimental.h>, the unstable part.
 */
#ifndef EC2T_EC2T_H
#define EC2T_EC2T_H

#include <ec2t/version.h>
#include <ec2t/common.h>
#include <ec2t/tensor.h>
#include <ec2t/dataset.h>
#include <ec2t/layer.h>
#include <ec2t/net.h>
#include <ec2t/trainer.h>
#include <ec2t/report.h>
#include <ec2t/ternarize.h>
#include <ec2t/engine.h>
#include <ec2t/scaler.h>
#ifdef EC2T_ENABLE_EXPERIMENTAL
#include <ec2t/experimental.h>
#endif

#endif /* EC2T_EC2T_H */
