// The operations a BERT needs, over raw float32 buffers with explicit sizes (llm.c style):
// B = batch, S = sequence length, H = hidden size, N = rows (B*S). Row-major everywhere.
// Linear weights are HF's [out, in] so a Linear is out = inp W^T + bias.
//
// bertkit::ops is the fast CPU path (OpenBLAS GEMMs, OpenMP, vectorisable loops);
// bertkit::ops::reference holds plain loops defining the same results, used by the tests to
// check the fast kernels. Forward functions write what the matching backward will read
// (LayerNorm mean/rstd, pre-activation values, attention probabilities).
#pragma once

#include <cstdint>

#include "bertkit/config.h"

namespace bertkit::ops {

// --- threads ---------------------------------------------------------------------------------
// Threads used by every op (OpenMP and OpenBLAS). n <= 0 means all cores.
void set_num_threads(int n);
int num_threads();

// --- GEMM (OpenBLAS) -------------------------------------------------------------------------
// C[M,N] = alpha * op(A) op(B) + beta * C, row-major, leading dimensions explicit.
void gemm(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, float alpha,
          const float* A, std::int64_t lda, const float* B, std::int64_t ldb, float beta, float* C,
          std::int64_t ldc);
// `batch` independent GEMMs, operand i starting at A + i*stride_a (likewise B, C).
void gemm_strided_batched(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N,
                          std::int64_t K, float alpha, const float* A, std::int64_t lda,
                          std::int64_t stride_a, const float* B, std::int64_t ldb,
                          std::int64_t stride_b, float beta, float* C, std::int64_t ldc,
                          std::int64_t stride_c, std::int64_t batch);

// out[N,OC] = inp[N,C] W[OC,C]^T (+ bias[OC] when bias is not null). `ldi`/`ldo` are the row
// strides of inp/out (0 = dense), so strided rows (the [CLS] row of each sequence) need no copy.
void matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                    std::int64_t N, std::int64_t C, std::int64_t OC, std::int64_t ldi = 0,
                    std::int64_t ldo = 0);

// --- element-wise ----------------------------------------------------------------------------
// pre[N,C] += bias[C] (in place), then act[N,C] = activation(pre). The GEMM's bias epilogue
// fused with the activation: one pass over the intermediate activations.
void bias_activation_forward(float* act, float* pre, const float* bias, std::int64_t N,
                             std::int64_t C, Activation activation);
void activation_forward(float* out, const float* inp, std::int64_t n, Activation activation);
void tanh_forward(float* out, const float* inp, std::int64_t n);

// --- embeddings ------------------------------------------------------------------------------
// out[B,S,H] = wte[input_ids] + wtt[token_type_ids] + wpe[position s] (HF's order: word +
// token_type, then + position). Ids must already be validated against the table sizes.
void embeddings_forward(float* out, const std::int32_t* input_ids,
                        const std::int32_t* token_type_ids, const float* wte, const float* wpe,
                        const float* wtt, std::int64_t B, std::int64_t S, std::int64_t H);

// --- LayerNorm -------------------------------------------------------------------------------
// out = (inp - mean) * rstd * weight + bias per row; mean/rstd [N] saved for backward.
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, std::int64_t N, std::int64_t C, float eps);
// HF's BertSelfOutput/BertOutput tail: pre = (x + bias) + residual (kept: LayerNorm backward
// input), out = LayerNorm(pre). `x` is the bias-less GEMM result.
void residual_layernorm_forward(float* out, float* pre, float* mean, float* rstd, const float* x,
                                const float* bias, const float* residual, const float* weight,
                                const float* ln_bias, std::int64_t N, std::int64_t C, float eps);

// --- attention -------------------------------------------------------------------------------
// HF's extended attention mask: additive[b,s] = (1 - mask[b,s]) * float32 lowest, so masked
// keys get probability exactly 0 after softmax.
void attention_mask_forward(float* additive, const std::int32_t* mask, std::int64_t n);
// Eager BertSelfAttention over the fused projection qkv[B,S,3H] (Q | K | V per row, head h at
// columns h*d..h*d+d of each part): probs[B,NH,S,S] = softmax(Q K^T / sqrt(d) + additive mask),
// ctx[B,S,H] = probs V with heads concatenated.
void attention_forward(float* ctx, float* probs, const float* qkv, const float* additive_mask,
                       std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d);

// --- loss ------------------------------------------------------------------------------------
// Mean cross-entropy of logits[B,C] against labels[B] (torch's CrossEntropyLoss, reduction mean;
// label -100 is ignored like torch's ignore_index). Returns the mean; 0 if every row is ignored.
float cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t B,
                            std::int64_t C);
// probs[B,C] = softmax(logits) per row.
void softmax_forward(float* probs, const float* logits, std::int64_t B, std::int64_t C);

// --- backward (llm.c style: parameter gradients accumulate with +=) --------------------------
// Linear out = inp W^T + bias: dinp[N,C] = dout W (or += when accumulate_dinp: a residual
// branch already wrote its part), dweight[OC,C] += dout^T inp, dbias[OC] += sum_n dout.
// Null dinp/dweight/dbias skip that gradient. `ldi` is the row stride of inp and dinp.
void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, std::int64_t N, std::int64_t C, std::int64_t OC,
                     bool accumulate_dinp = false, std::int64_t ldi = 0);
// dinp = dout * act'(pre) (dinp may alias dout).
void activation_backward(float* dinp, const float* pre, const float* dout, std::int64_t n,
                         Activation activation);
// out = tanh(inp): dinp = dout * (1 - out^2) (dinp may alias dout).
void tanh_backward(float* dinp, const float* out, const float* dout, std::int64_t n);
// LayerNorm with the saved mean/rstd of the forward: dinp = (or += when accumulate_dinp), dweight
// += sum_n dout * xhat, dbias += sum_n dout. Null dweight/dbias skip those.
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        std::int64_t N, std::int64_t C, bool accumulate_dinp = false);
// Backward of attention_forward: dqkv[B,S,3H] = d(Q|K|V) from dctx[B,S,H] and the saved probs.
// dprobs [B,NH,S,S] is scratch. Masked keys have probability 0, so their scores get 0 gradient.
// With attention-probs dropout, probs_dropped/keep/p are the dropped probabilities the forward
// multiplied with V and the mask (see dropout_*); null: no dropout.
void attention_backward(float* dqkv, float* dprobs, const float* dctx, const float* qkv,
                        const float* probs, std::int64_t B, std::int64_t S, std::int64_t NH,
                        std::int64_t d, const float* probs_dropped = nullptr,
                        const std::uint8_t* keep = nullptr, float p = 0.0f);
// Scatter-add of dout[B,S,H] into the three tables (+=); deterministic for any thread count
// (threads split the hidden dimension, each walks the tokens in order). Null tables skip.
void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                         const std::int32_t* input_ids, const std::int32_t* token_type_ids,
                         std::int64_t B, std::int64_t S, std::int64_t H);
// d mean cross-entropy / d logits = (softmax - onehot) / rows counted (-100 rows: 0).
void cross_entropy_backward(float* dlogits, const float* logits, const std::int64_t* labels,
                            std::int64_t B, std::int64_t C);
// --- dropout (training only) ----------------------------------------------------------------
// torch's inverted dropout: kept elements scaled by 1 / (1 - p), the rest 0. The masks come from
// a counter-based generator: keep[i] depends only on (seed, stream, i), so any thread count gives
// the same mask (torch's own generator is not reproduced).
void dropout_mask(std::uint8_t* keep, std::int64_t n, float p, std::uint64_t seed,
                  std::uint64_t stream);
// out[i] = keep[i] ? inp[i] * (1 / (1 - p)) : 0 (out may alias inp). Forward and backward alike.
void dropout_apply(float* out, const float* inp, const std::uint8_t* keep, std::int64_t n, float p);
// x[N,C] = dropout(x + bias): the dense-layer tail before a residual add.
void bias_dropout_forward(float* x, const float* bias, const std::uint8_t* keep, std::int64_t N,
                          std::int64_t C, float p);
// ctx[B,S,H] = probs V per head (the second half of attention_forward, run again on dropped
// probabilities).
void attention_context_forward(float* ctx, const float* probs, const float* qkv, std::int64_t B,
                               std::int64_t S, std::int64_t NH, std::int64_t d);

// torch's MSELoss (mean) of logits[B] against targets[B] (num_labels == 1) and its gradient.
float mse_forward(const float* pred, const float* target, std::int64_t B);
void mse_backward(float* dpred, const float* pred, const float* target, std::int64_t B);

}  // namespace bertkit::ops

// Plain loops: the readable definition of each non-GEMM op. Tests only.
namespace bertkit::ops::reference {

void matmul_forward(float* out, const float* inp, const float* weight, const float* bias,
                    std::int64_t N, std::int64_t C, std::int64_t OC);
void bias_activation_forward(float* act, float* pre, const float* bias, std::int64_t N,
                             std::int64_t C, Activation activation);
void tanh_forward(float* out, const float* inp, std::int64_t n);
void embeddings_forward(float* out, const std::int32_t* input_ids,
                        const std::int32_t* token_type_ids, const float* wte, const float* wpe,
                        const float* wtt, std::int64_t B, std::int64_t S, std::int64_t H);
void layernorm_forward(float* out, float* mean, float* rstd, const float* inp, const float* weight,
                       const float* bias, std::int64_t N, std::int64_t C, float eps);
void residual_layernorm_forward(float* out, float* pre, float* mean, float* rstd, const float* x,
                                const float* bias, const float* residual, const float* weight,
                                const float* ln_bias, std::int64_t N, std::int64_t C, float eps);
void attention_forward(float* ctx, float* probs, const float* qkv, const float* additive_mask,
                       std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d);
float cross_entropy_forward(const float* logits, const std::int64_t* labels, std::int64_t B,
                            std::int64_t C);

void matmul_backward(float* dinp, float* dweight, float* dbias, const float* dout, const float* inp,
                     const float* weight, std::int64_t N, std::int64_t C, std::int64_t OC,
                     bool accumulate_dinp = false);
void activation_backward(float* dinp, const float* pre, const float* dout, std::int64_t n,
                         Activation activation);
void tanh_backward(float* dinp, const float* out, const float* dout, std::int64_t n);
void layernorm_backward(float* dinp, float* dweight, float* dbias, const float* dout,
                        const float* inp, const float* weight, const float* mean, const float* rstd,
                        std::int64_t N, std::int64_t C, bool accumulate_dinp = false);
void attention_backward(float* dqkv, const float* dctx, const float* qkv, const float* probs,
                        std::int64_t B, std::int64_t S, std::int64_t NH, std::int64_t d,
                        const float* probs_dropped = nullptr, const std::uint8_t* keep = nullptr,
                        float p = 0.0f);
void embeddings_backward(float* dwte, float* dwpe, float* dwtt, const float* dout,
                         const std::int32_t* input_ids, const std::int32_t* token_type_ids,
                         std::int64_t B, std::int64_t S, std::int64_t H);
void cross_entropy_backward(float* dlogits, const float* logits, const std::int64_t* labels,
                            std::int64_t B, std::int64_t C);
// Derivative of each activation at x (double precision).
double activation_derivative(double x, Activation activation);

}  // namespace bertkit::ops::reference
