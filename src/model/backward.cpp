#include "model/backward.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backend/ops.h"

namespace bertkit::model {

ActivationGrads::ActivationGrads(const BertConfig& c, std::int64_t B_, std::int64_t S_,
                                 FloatArena storage)
    : B(B_), S(S_), arena(std::move(storage)) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, NH = c.num_attention_heads;
  const std::int64_t N = B * S;
  arena.resize(5 * N * H + N * I + 3 * N * H + B * NH * S * S + B * H + B * c.num_labels());
  BufferCarver<float> carver(arena.data());
  hidden = carver.take(N * H);
  out_pre = carver.take(N * H);
  inter = carver.take(N * I);
  attn_out = carver.take(N * H);
  attn_pre = carver.take(N * H);
  context = carver.take(N * H);
  qkv = carver.take(3 * N * H);
  probs = carver.take(B * NH * S * S);
  pooled = carver.take(B * H);
  logits = carver.take(B * c.num_labels());
}

namespace {

// HF picks regression (MSELoss) for num_labels == 1, with the labels as float targets.
std::vector<float> regression_targets(LabelSpan labels) {
  if (!labels.values.empty()) return {labels.values.begin(), labels.values.end()};
  return {labels.ids.begin(), labels.ids.end()};
}

}  // namespace

float loss_forward(const BertConfig& c, const float* logits, std::int64_t B, LabelSpan labels) {
  const std::int64_t C = c.num_labels();
  if (C == 1) return ops::mse_forward(logits, regression_targets(labels).data(), B);
  return ops::cross_entropy_forward(logits, labels.ids.data(), B, C);
}

float loss_forward_backward(const BertConfig& c, const Activations& a, LabelSpan labels,
                            ActivationGrads& d) {
  return loss_forward_backward(c, a.logits, a.B, labels, d.logits);
}

float loss_forward_backward(const BertConfig& c, const float* logits, std::int64_t B,
                            LabelSpan labels, float* dlogits) {
  const std::int64_t C = c.num_labels();
  if (C == 1) {
    const std::vector<float> target = regression_targets(labels);
    ops::mse_backward(dlogits, logits, target.data(), B);
    return ops::mse_forward(logits, target.data(), B);
  }
  ops::cross_entropy_backward(dlogits, logits, labels.ids.data(), B, C);
  return ops::cross_entropy_forward(logits, labels.ids.data(), B, C);
}

void classifier_backward(const BertConfig& c, const Weights& w, const Weights& g,
                         const Activations& a, ActivationGrads& d, bool need_dinp,
                         const DropoutMasks* drop) {
  classifier_backward(c, w, g, a.pooled, d.logits, need_dinp ? d.pooled : nullptr, a.B, drop);
}

void classifier_backward(const BertConfig& c, const Weights& w, const Weights& g,
                         const float* pooled, const float* dlogits, float* dpooled, std::int64_t B,
                         const DropoutMasks* drop) {
  const bool dropped = drop && drop->classifier;
  ops::matmul_backward(dpooled, g.classifier_weight, g.classifier_bias, dlogits,
                       dropped ? drop->pooled_dropped : pooled, w.classifier_weight, B,
                       c.hidden_size, c.num_labels());
  if (dropped && dpooled)
    ops::dropout_apply(dpooled, dpooled, drop->classifier, B * c.hidden_size, drop->classifier_p);
}

void pooler_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                     ActivationGrads& d) {
  const std::int64_t H = c.hidden_size, N = a.B * a.S;
  // a.pooled holds tanh's output, which is all tanh' needs.
  ops::tanh_backward(d.pooled, a.pooled, d.pooled, a.B * H);
  // Only the [CLS] rows feed the pooler: the other rows of d.hidden start (and stay) zero.
  std::fill(d.hidden, d.hidden + N * H, 0.0f);
  ops::matmul_backward(d.hidden, g.pooler_weight, g.pooler_bias, d.pooled,
                       a.hidden[c.num_hidden_layers], w.pooler_weight, a.B, H, H, true, a.S * H);
}

void encoder_layer_backward(const BertConfig& c, const LayerWeights& w, const LayerWeights& g,
                            Activations& a, ActivationGrads& d, std::int64_t l,
                            const DropoutMasks* drop) {
  const DropoutMasks::Layer* m = drop ? &drop->layers[l] : nullptr;
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, N = a.B * a.S;
  LayerActivations& x = a.layer(l);
  const float* in = a.hidden[l];
  // BertOutput: out = LayerNorm(inter_act W_o^T + b_o + attn_out)
  ops::layernorm_backward(d.out_pre, g.output_ln_weight, g.output_ln_bias, d.hidden, x.out_pre,
                          w.output_ln_weight, x.out_mean, x.out_rstd, N, H);
  // With dropout the dense output reaches the sum through the mask; the residual does not.
  // d.hidden is free once the LayerNorm backward has read it.
  const float* d_dense = d.out_pre;
  if (m && m->out) {
    ops::dropout_apply(d.hidden, d.out_pre, m->out, N * H, drop->hidden_p);
    d_dense = d.hidden;
  }
  ops::matmul_backward(d.inter, g.output_weight, g.output_bias, d_dense, x.inter_act,
                       w.output_weight, N, I, H);
  // BertIntermediate: inter_act = act(attn_out W_i^T + b_i)
  ops::activation_backward(d.inter, x.inter_pre, d.inter, N * I, c.hidden_act);
  // attn_out feeds both the intermediate dense and the output residual.
  std::memcpy(d.attn_out, d.out_pre, sizeof(float) * N * H);
  ops::matmul_backward(d.attn_out, g.intermediate_weight, g.intermediate_bias, d.inter, x.attn_out,
                       w.intermediate_weight, N, H, I, true);
  // BertSelfOutput: attn_out = LayerNorm(context W^T + b + in)
  ops::layernorm_backward(d.attn_pre, g.attn_ln_weight, g.attn_ln_bias, d.attn_out, x.attn_pre,
                          w.attn_ln_weight, x.attn_mean, x.attn_rstd, N, H);
  d_dense = d.attn_pre;
  if (m && m->attn_out) {
    ops::dropout_apply(d.attn_out, d.attn_pre, m->attn_out, N * H, drop->hidden_p);
    d_dense = d.attn_out;
  }
  ops::matmul_backward(d.context, g.attn_output_weight, g.attn_output_bias, d_dense, x.context,
                       w.attn_output_weight, N, H, H);
  // BertSelfAttention
  const bool probs_dropped = m && m->probs;
  ops::attention_backward(d.qkv, d.probs, d.context, x.qkv, x.probs, a.B, a.S,
                          c.num_attention_heads, c.head_size(),
                          probs_dropped ? m->probs_dropped : nullptr,
                          probs_dropped ? m->probs : nullptr, drop ? drop->attention_p : 0.0f);
  // `in` feeds the Q|K|V projection and the attention residual.
  std::memcpy(d.hidden, d.attn_pre, sizeof(float) * N * H);
  ops::matmul_backward(d.hidden, g.qkv_weight, g.qkv_bias, d.qkv, in, w.qkv_weight, N, H, 3 * H,
                       true);
}

void embeddings_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                         ActivationGrads& d, const DropoutMasks* drop) {
  const std::int64_t H = c.hidden_size, N = a.B * a.S;
  if (drop && drop->embeddings)
    ops::dropout_apply(d.hidden, d.hidden, drop->embeddings, N * H, drop->hidden_p);
  // d.out_pre is free scratch here: the gradient of the summed embeddings.
  ops::layernorm_backward(d.out_pre, g.embeddings_ln_weight, g.embeddings_ln_bias, d.hidden,
                          a.emb_sum, w.embeddings_ln_weight, a.emb_mean, a.emb_rstd, N, H);
  ops::embeddings_backward(g.word_embeddings, g.position_embeddings, g.token_type_embeddings,
                           d.out_pre, a.input_ids.data(), a.token_type_ids.data(), a.B, a.S, H);
}

float bert_backward(const BertConfig& c, const Weights& w, const Weights& g, Activations& a,
                    ActivationGrads& d, LabelSpan labels, const BackwardOptions& options,
                    const DropoutMasks* drop) {
  const float loss = loss_forward_backward(c, a, labels, d);
  classifier_backward(c, w, g, a, d, !options.freeze_bert, drop);
  if (options.freeze_bert) return loss;
  pooler_backward(c, w, g, a, d);
  for (std::int64_t l = c.num_hidden_layers - 1; l >= 0; --l)
    encoder_layer_backward(c, w.layers[l], g.layers[l], a, d, l, drop);
  embeddings_backward(c, w, g, a, d, drop);
  return loss;
}

}  // namespace bertkit::model
