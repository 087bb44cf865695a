/* SPDX-License-Identifier: MIT */
/* A network inside a container: shared by model files and checkpoints. */
#ifndef EC2T_NET_IO_PRIVATE_H
#define EC2T_NET_IO_PRIVATE_H

#include "container-private.h"
#include "net-private.h"

/* Add the architecture keys (ec2t.net.*, ec2t.layer.*) and every named tensor. */
ec2t_status ec2t__net_write(const ec2t_net *net, ec2t__cwriter *w);
/* Rebuild a network from those keys and tensors. */
ec2t_status ec2t__net_read(ec2t_context *ctx, const ec2t__creader *r, ec2t_net **out);
/* Copy the file's tensors into an existing network of the same architecture. */
ec2t_status ec2t__net_read_tensors(ec2t_net *net, const ec2t__creader *r);

#endif /* EC2T_NET_IO_PRIVATE_H */
