/* SPDX-License-Identifier: MIT */
/**
 * @file report.h
 * @brief ec2t_report: storage and operation counts of a network, in the
 *        MicroNet challenge units the EC2T work reports (Becking's thesis
 *        §4.3, Table 5.3).
 *
 * A report is a snapshot: ec2t_report_new() reads the network's weights once
 * and computes every number; later changes to the network do not change it.
 * It counts the convolution and dense layers ("counted layers"), each either
 * ternary or full precision, and attributes to each the batchnorm bias folded
 * into it, the ReLU after it and the residual addition it feeds.
 *
 * Units: one "param" or storage word is 32 bits (a 16-bit value is 1/2 word,
 * a mask bit 1/32 word); one "op" is a 32-bit operation (a 16-bit multiply
 * is 1/2 op, a tree-adder addition of b bits is b/32 op). doc/METRICS.md
 * gives every rule, why it is so, and the figures of the thesis that
 * the conventions reproduce.
 *
 * Thread safety: a report is read-only after its creation; any number of
 * threads may query one report at once.
 */
#ifndef EC2T_REPORT_H
#define EC2T_REPORT_H

#include <ec2t/common.h>
#include <ec2t/net.h>

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The counts of one network (read only). */
typedef struct ec2t_report ec2t_report;

/**
 * @brief Flag of ec2t_report_new(): count the additions of ternary layers
 *        with a tree adder (each level does half of the remaining additions
 *        at one more bit, from the value width of 16 bits, or 32 with
 *        EC2T_REPORT_STORE_32BIT, up to 32; an addition of b bits is b/32 op).
 *        Without it, every addition is one op.
 */
#define EC2T_REPORT_TREE_ADDER 1u
/**
 * @brief Flag of ec2t_report_new(): ternary layers may also be stored as CSR,
 *        CER or "ternary-2" (location mask plus one sign bit per non-zero);
 *        without it, only the MicroNet format and "ternary-1" (two full masks)
 *        compete.
 */
#define EC2T_REPORT_COMPRESSED_FORMATS 2u
/** @brief Flag of ec2t_report_new(): store values (weights, biases, centroids) in 32 bits, not 16. */
#define EC2T_REPORT_STORE_32BIT 4u
/** @brief Flag of ec2t_report_new(): multiplications are 32-bit (1 op each), not 16-bit (1/2 op). */
#define EC2T_REPORT_MULT_32BIT 8u

/** @brief The storage formats of a layer's weights (EC2T_REPORT_FORMAT). Append only. */
typedef enum ec2t_report_format {
    /** 16-bit (or 32-bit) non-zero values plus a 1-bit location mask (the mask only when
     *  there are zeros): the MicroNet challenge's rule, and the only format of full-precision layers */
    EC2T_REPORT_FORMAT_MICRONET = 0,
    /** compressed sparse rows: value and one bit per non-zero, a 16-bit pointer per row + 1, two 16-bit sizes */
    EC2T_REPORT_FORMAT_CSR = 1,
    /** compressed entry rows: value per non-zero, two 16-bit pointers per row + 1, two 16-bit sizes */
    EC2T_REPORT_FORMAT_CER = 2,
    /** ternary-1: two full bit masks (for +w_p and -w_n) and the two centroids */
    EC2T_REPORT_FORMAT_TERNARY_1 = 3,
    /** ternary-2: a location mask, one sign bit per non-zero and the two centroids */
    EC2T_REPORT_FORMAT_TERNARY_2 = 4
} ec2t_report_format;

/**
 * @brief What ec2t_report_get() returns. Append only.
 *
 * "Layer" keys take a counted-layer index; "total" keys take -1; keys marked
 * both take either (the total is the sum over the layers, plus the ops and
 * biases that belong to no counted layer). "Kept" means after removing dead
 * channels: output channels whose weights are all zero, and the input channels
 * fed by the dead output channels of the producing convolution.
 */
typedef enum ec2t_report_key {
    EC2T_REPORT_LAYER_ID = 700,    /**< layer: id of the layer in the network */
    EC2T_REPORT_TERNARY = 701,     /**< layer: 1 if counted as ternary, else 0; total: number of ternary layers */
    EC2T_REPORT_WEIGHTS = 702,     /**< both: weights of the layer (all of them) */
    EC2T_REPORT_ZEROS = 703,       /**< both: weights equal to 0 (all of them) */
    EC2T_REPORT_DEAD_OUT = 704,    /**< both: dead output channels removed */
    EC2T_REPORT_DEAD_IN = 705,     /**< both: input channels removed with the producer's dead outputs */
    EC2T_REPORT_KEPT_WEIGHTS = 706, /**< both: weights left after removing dead channels */
    EC2T_REPORT_NONZEROS = 707,    /**< both: non-zero weights left after removing dead channels */
    /** layer: 1 - nonzeros / kept weights (1 when nothing is kept);
     *  total: zero scalars over all trained scalars of the network (every
     *  weight and bias, batchnorm gamma and beta included), the script's network sparsity */
    EC2T_REPORT_SPARSITY = 708,
    EC2T_REPORT_FORMAT = 709,      /**< layer: the smallest format, an ec2t_report_format (first one on ties) */
    EC2T_REPORT_WORDS = 710,       /**< both: 32-bit words of the weights in the smallest format */
    EC2T_REPORT_BYTES = 711,       /**< both: bytes of the weights in the smallest format (4 per word) */
    /** both: 32-bit words of the biases (own bias or folded batchnorm, one value per kept output
     *  channel); the total adds batchnorm layers that follow no counted layer */
    EC2T_REPORT_BIAS_WORDS = 712,
    /** layer: words + bias words; total: the scoring params, the integer part of the sum */
    EC2T_REPORT_PARAMS = 713,
    EC2T_REPORT_ADDS = 714,        /**< both: additions in ops (convolution, bias, residual) */
    EC2T_REPORT_MULTS = 715,       /**< both: multiplications in ops (convolution or centroids, ReLU) */
    EC2T_REPORT_FLOPS = 716,       /**< both: adds + mults */
    EC2T_REPORT_W_P = 717,         /**< layer, ternary only: the positive value (0 if there is none) */
    EC2T_REPORT_W_N = 718,         /**< layer, ternary only: the magnitude of the negative value (0 if none) */
    EC2T_REPORT_WORDS_MICRONET = 720,  /**< layer: words of the MicroNet format (may be fractional) */
    EC2T_REPORT_WORDS_CSR = 721,       /**< layer: words of the CSR format */
    EC2T_REPORT_WORDS_CER = 722,       /**< layer: words of the CER format */
    EC2T_REPORT_WORDS_TERNARY_1 = 723, /**< layer: words of the ternary-1 format */
    EC2T_REPORT_WORDS_TERNARY_2 = 724  /**< layer: words of the ternary-2 format */
} ec2t_report_key;

/**
 * @brief Count a network's storage and operations.  CONSTRUCTOR: ec2t_report
 *
 * A dense or convolution layer is ternary when its weights hold at most
 * three values {-a, 0, +b} (a, b > 0, either may be absent) and its
 * EC2T_LAYER_COMPRESSION is neither EC2T_COMPRESS_KEEP nor
 * EC2T_COMPRESS_PRUNE; otherwise it is full precision (sparse when it holds
 * zeros). With @p flags 0 the conventions are: 16-bit storage and
 * multiplications, one op per addition, MicroNet and ternary-1 formats, dead
 * input channels removed only where batchnorm, ReLU, dropout or pooling layers
 * (nothing else) lie between two convolutions, every residual addition
 * counted. The thesis' Table 5.3 adds the scoring script's quirks, an
 * experimental flag (EC2T_REPORT_COMPAT_SCRIPT, <ec2t/experimental.h>).
 * @param net the network (only read; the report does not refer to it afterwards).
 * @param flags 0 or an OR of EC2T_REPORT_TREE_ADDER, EC2T_REPORT_COMPRESSED_FORMATS,
 *        EC2T_REPORT_STORE_32BIT and EC2T_REPORT_MULT_32BIT (experimental flags
 *        use bits 16 and up).
 * @param[out] out the new report; NULL on failure. Free it before the network's context.
 * @return EC2T_OK, EC2T_E_INVAL (NULL argument or unknown flag) or EC2T_E_NOMEM.
 * @threadsafety Not while another thread changes the network.
 */
EC2T_API ec2t_status ec2t_report_new(const ec2t_net *net, uint32_t flags, ec2t_report **out)
    EC2T_WARN_UNUSED;

/**
 * @brief Free a report.  DESTRUCTOR: ec2t_report
 * @param report the report, or NULL (a no-op).
 */
EC2T_API void ec2t_report_free(ec2t_report *report);

/**
 * @brief The number of counted layers (dense and convolution layers, in network order).  METHOD: ec2t_report
 * @param report the report.
 * @return the count, or 0 when @p report is NULL.
 * @threadsafety Any number of threads may query one report at once.
 */
EC2T_API int32_t ec2t_report_layer_count(const ec2t_report *report);

/**
 * @brief One number of the report.  METHOD: ec2t_report
 * @param report the report.
 * @param index 0 to ec2t_report_layer_count() - 1 for a counted layer, or -1
 *        for the whole network.
 * @param key which number (see ec2t_report_key for the keys each level has).
 * @param[out] value receives it.
 * @return EC2T_OK; EC2T_E_INVAL (NULL argument, bad index, a per-layer key
 *         with -1, W_P or W_N of a full-precision layer); EC2T_E_UNSUPPORTED
 *         (unknown key).
 * @threadsafety Any number of threads may query one report at once (a failure's
 *               message goes to the network's context).
 */
EC2T_API ec2t_status ec2t_report_get(const ec2t_report *report, int32_t index,
                                     ec2t_report_key key, double *value);

#ifdef __cplusplus
}
#endif

#endif /* EC2T_REPORT_H */
