/* SPDX-License-Identifier: MIT */
/* Weights from and to PyTorch: a safetensors file's tensors copied by name
 * into a network, and a network's named tensors written as one. */
#include <string.h>

#include "net-private.h"
#include "safetensors-private.h"

/* The file tensor for a network tensor, or a message saying what is wrong. */
static ec2t_status
match(ec2t_net *net, const ec2t__st_file *f, const char *name, const ec2t_tensor *t,
      const ec2t__st_tensor **out)
{
    const ec2t__st_tensor *s = ec2t__st_find(f, name);
    const char *what = ec2t__st_what(f);
    int same = s && s->ndim == t->rank;
    for (int32_t d = 0; same && d < t->rank; d++)
        same = s->dims[d] == t->dims[d];
    if (!s)
        return ec2t__error(net->ctx, EC2T_E_FORMAT, "%s: no tensor '%s'", what, name);
    if (strcmp(s->dtype, "F32") != 0)
        return ec2t__error(net->ctx, EC2T_E_FORMAT, "%s: '%s' is %s, not F32", what, name, s->dtype);
    if (!same)
        return ec2t__error(net->ctx, EC2T_E_FORMAT, "%s: '%s' has another shape than the network's",
                           what, name);
    *out = s;
    return EC2T_OK;
}

EC2T_API ec2t_status
ec2t_net_import_safetensors(ec2t_net *net, const char *path, uint32_t flags)
{
    ec2t__st_file *f = NULL;
    const ec2t__st_tensor *s;
    ec2t_status st;
    if (!net)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_import_safetensors: bad argument");
    if ((st = ec2t__st_open_file(net->ctx, path, &f)) != EC2T_OK)
        return st;
    /* check every tensor before changing any, so a bad file changes nothing */
    for (int32_t i = 0; i < net->n_params && st == EC2T_OK; i++) {
        const ec2t__param_entry *e = &net->params[i];
        st = match(net, f, e->name, net->layers[e->layer]->param[e->role], &s);
    }
    for (int32_t i = 0; i < net->n_params && st == EC2T_OK; i++) {
        const ec2t__param_entry *e = &net->params[i];
        ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        st = match(net, f, e->name, t, &s);
        if (st == EC2T_OK)
            st = ec2t__st_read_f32(f, s, t->data);
    }
    ec2t__st_free(f);
    return st;
}

EC2T_API ec2t_status
ec2t_net_export_safetensors(const ec2t_net *net, const char *path, uint32_t flags)
{
    ec2t__st_writer *w = NULL;
    ec2t_status st;
    if (!net)
        return EC2T_E_INVAL;
    if (!path || flags != 0)
        return ec2t__error(net->ctx, EC2T_E_INVAL, "ec2t_net_export_safetensors: bad argument");
    st = ec2t__st_writer_new(net->ctx, &w);
    for (int32_t i = 0; i < net->n_params && st == EC2T_OK; i++) {
        const ec2t__param_entry *e = &net->params[i];
        const ec2t_tensor *t = net->layers[e->layer]->param[e->role];
        st = ec2t__st_add_f32(w, e->name, t->rank, t->dims, t->data);
    }
    if (st == EC2T_OK)
        st = ec2t__st_write_file(w, path);
    ec2t__st_writer_free(w);
    return st;
}
