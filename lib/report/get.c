/* SPDX-License-Identifier: MIT */
/* ec2t_report_get: the numbers of one counted layer or of the network. */
#include <math.h>

#include "report-private.h"

/* Keys with a value per layer only (no meaningful sum). */
static int
per_layer_only(ec2t_report_key key)
{
    return key == EC2T_REPORT_LAYER_ID || key == EC2T_REPORT_FORMAT || key == EC2T_REPORT_W_P ||
           key == EC2T_REPORT_W_N ||
           (key >= EC2T_REPORT_WORDS_MICRONET && key <= EC2T_REPORT_WORDS_TERNARY_2);
}

static int
known(ec2t_report_key key)
{
    return (key >= EC2T_REPORT_LAYER_ID && key <= EC2T_REPORT_W_N) ||
           (key >= EC2T_REPORT_WORDS_MICRONET && key <= EC2T_REPORT_WORDS_TERNARY_2);
}

/* The value of a known key for one layer; EC2T_E_INVAL when the layer has none. */
static ec2t_status
layer_value(const ec2t__report_layer *l, ec2t_report_key key, double *v)
{
    switch (key) {
    case EC2T_REPORT_LAYER_ID: *v = l->id; break;
    case EC2T_REPORT_TERNARY: *v = l->ternary; break;
    case EC2T_REPORT_WEIGHTS: *v = (double)l->weights; break;
    case EC2T_REPORT_ZEROS: *v = (double)l->zeros; break;
    case EC2T_REPORT_DEAD_OUT: *v = (double)l->dead_out; break;
    case EC2T_REPORT_DEAD_IN: *v = (double)l->dead_in; break;
    case EC2T_REPORT_KEPT_WEIGHTS: *v = (double)l->kept; break;
    case EC2T_REPORT_NONZEROS: *v = (double)l->nonzeros; break;
    case EC2T_REPORT_SPARSITY: *v = l->sparsity; break;
    case EC2T_REPORT_FORMAT: *v = l->format; break;
    case EC2T_REPORT_WORDS: *v = l->words; break;
    case EC2T_REPORT_BYTES: *v = 4 * l->words; break;
    case EC2T_REPORT_BIAS_WORDS: *v = l->bias_words; break;
    case EC2T_REPORT_PARAMS: *v = l->words + l->bias_words; break;
    case EC2T_REPORT_ADDS: *v = l->adds; break;
    case EC2T_REPORT_MULTS: *v = l->mults; break;
    case EC2T_REPORT_FLOPS: *v = l->adds + l->mults; break;
    case EC2T_REPORT_W_P:
    case EC2T_REPORT_W_N:
        if (!l->ternary)
            return EC2T_E_INVAL;
        *v = key == EC2T_REPORT_W_P ? l->w_p : l->w_n;
        break;
    default:
        *v = l->fmt_words[key - EC2T_REPORT_WORDS_MICRONET];
        break;
    }
    return EC2T_OK;
}

/* Sum over the layers plus what belongs to no layer. */
static double
total_value(const ec2t_report *r, ec2t_report_key key)
{
    double sum = 0, v = 0;
    if (key == EC2T_REPORT_SPARSITY)
        return r->net_sparsity;
    for (int32_t i = 0; i < r->n_layers; i++) {
        (void)layer_value(&r->layers[i], key, &v); /* summable keys exist for every layer */
        sum += v;
    }
    if (key == EC2T_REPORT_BIAS_WORDS || key == EC2T_REPORT_PARAMS)
        sum += r->extra_bias_words;
    if (key == EC2T_REPORT_ADDS || key == EC2T_REPORT_FLOPS)
        sum += r->extra_adds;
    if (key == EC2T_REPORT_MULTS || key == EC2T_REPORT_FLOPS)
        sum += r->extra_mults;
    /* the script reports int(params); the margin keeps rounding noise of the
     * MicroNet words (n * density is nnz only up to rounding) from costing a word */
    if (key == EC2T_REPORT_PARAMS)
        sum = floor(sum + 1e-6);
    return sum;
}

EC2T_API ec2t_status
ec2t_report_get(const ec2t_report *report, int32_t index, ec2t_report_key key, double *value)
{
    const char *fn = "ec2t_report_get";
    if (!report)
        return EC2T_E_INVAL;
    if (!value)
        return ec2t__error(report->ctx, EC2T_E_INVAL, "%s: value is NULL", fn);
    if (index < -1 || index >= report->n_layers)
        return ec2t__error(report->ctx, EC2T_E_INVAL, "%s: index %d is outside -1..%d", fn,
                           (int)index, (int)report->n_layers - 1);
    if (!known(key))
        return ec2t__error(report->ctx, EC2T_E_UNSUPPORTED, "%s: unknown key %d", fn, (int)key);
    if (index < 0) {
        if (per_layer_only(key))
            return ec2t__error(report->ctx, EC2T_E_INVAL, "%s: key %d has no network total", fn,
                               (int)key);
        *value = total_value(report, key);
        return EC2T_OK;
    }
    if (layer_value(&report->layers[index], key, value) != EC2T_OK)
        return ec2t__error(report->ctx, EC2T_E_INVAL, "%s: layer %d is not ternary: no key %d", fn,
                           (int)index, (int)key);
    return EC2T_OK;
}
