#include "model/blocks.h"

#include "backend/ops.h"

namespace bertkit::model {

void embeddings_forward(const BertConfig& c, const Weights& w, Activations& a,
                        const DropoutMasks* drop) {
  const std::int64_t H = c.hidden_size, N = a.B * a.S;
  ops::embeddings_forward(a.emb_sum, a.input_ids.data(), a.token_type_ids.data(), w.word_embeddings,
                          w.position_embeddings, w.token_type_embeddings, a.B, a.S, H);
  ops::layernorm_forward(a.hidden[0], a.emb_mean, a.emb_rstd, a.emb_sum, w.embeddings_ln_weight,
                         w.embeddings_ln_bias, N, H, static_cast<float>(c.layer_norm_eps));
  // LayerNorm backward reads emb_sum, not the LayerNorm output: dropping in place is safe.
  if (drop && drop->embeddings)
    ops::dropout_apply(a.hidden[0], a.hidden[0], drop->embeddings, N * H, drop->hidden_p);
}

void encoder_layer_forward(const BertConfig& c, const LayerWeights& w, Activations& a,
                           std::int64_t l, const DropoutMasks* drop) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, N = a.B * a.S;
  const float eps = static_cast<float>(c.layer_norm_eps);
  LayerActivations& x = a.layer(l);
  const float* in = a.hidden[l];
  float* out = a.hidden[l + 1];
  // BertSelfAttention
  ops::matmul_forward(x.qkv, in, w.qkv_weight, w.qkv_bias, N, H, 3 * H);
  ops::attention_forward(x.context, x.probs, x.qkv, a.additive_mask, a.B, a.S,
                         c.num_attention_heads, c.head_size());
  const DropoutMasks::Layer* m = drop ? &drop->layers[l] : nullptr;
  if (m && m->probs) {
    // Training: the context is recomputed from the dropped probabilities (x.probs stays the
    // softmax output, which the backward pass needs).
    const std::int64_t P = a.B * c.num_attention_heads * a.S * a.S;
    ops::dropout_apply(m->probs_dropped, x.probs, m->probs, P, drop->attention_p);
    ops::attention_context_forward(x.context, m->probs_dropped, x.qkv, a.B, a.S,
                                   c.num_attention_heads, c.head_size());
  }
  // BertSelfOutput: LayerNorm(dropout(dense(context)) + input)
  ops::matmul_forward(x.attn_pre, x.context, w.attn_output_weight, nullptr, N, H, H);
  const float* attn_bias = w.attn_output_bias;
  if (m && m->attn_out) {
    ops::bias_dropout_forward(x.attn_pre, attn_bias, m->attn_out, N, H, drop->hidden_p);
    attn_bias = drop->zeros.data();
  }
  ops::residual_layernorm_forward(x.attn_out, x.attn_pre, x.attn_mean, x.attn_rstd, x.attn_pre,
                                  attn_bias, in, w.attn_ln_weight, w.attn_ln_bias, N, H, eps);
  // BertIntermediate: act(dense(attention_output))
  ops::matmul_forward(x.inter_pre, x.attn_out, w.intermediate_weight, nullptr, N, H, I);
  ops::bias_activation_forward(x.inter_act, x.inter_pre, w.intermediate_bias, N, I, c.hidden_act);
  // BertOutput: LayerNorm(dense(intermediate) + attention_output)
  ops::matmul_forward(x.out_pre, x.inter_act, w.output_weight, nullptr, N, I, H);
  const float* out_bias = w.output_bias;
  if (m && m->out) {
    ops::bias_dropout_forward(x.out_pre, out_bias, m->out, N, H, drop->hidden_p);
    out_bias = drop->zeros.data();
  }
  ops::residual_layernorm_forward(out, x.out_pre, x.out_mean, x.out_rstd, x.out_pre, out_bias,
                                  x.attn_out, w.output_ln_weight, w.output_ln_bias, N, H, eps);
}

void pooler_forward(const BertConfig& c, const Weights& w, Activations& a) {
  const std::int64_t H = c.hidden_size;
  // Row stride S*H picks the first token of each sequence without a copy.
  ops::matmul_forward(a.pooled, a.hidden[c.num_hidden_layers], w.pooler_weight, w.pooler_bias, a.B,
                      H, H, a.S * H, H);
  ops::tanh_forward(a.pooled, a.pooled, a.B * H);
}

void classifier_forward(const BertConfig& c, const Weights& w, Activations& a,
                        const DropoutMasks* drop) {
  // a.pooled stays tanh's output for the pooler backward: dropout writes drop->pooled_dropped.
  classifier_forward(c, w, a.pooled, a.logits, a.B, drop);
}

void classifier_forward(const BertConfig& c, const Weights& w, const float* pooled, float* logits,
                        std::int64_t B, const DropoutMasks* drop) {
  const float* x = pooled;
  if (drop && drop->classifier) {
    ops::dropout_apply(drop->pooled_dropped, pooled, drop->classifier, B * c.hidden_size,
                       drop->classifier_p);
    x = drop->pooled_dropped;
  }
  ops::matmul_forward(logits, x, w.classifier_weight, w.classifier_bias, B, c.hidden_size,
                      c.num_labels());
}

void bert_forward(const BertConfig& c, const Weights& w, Activations& a, const DropoutMasks* drop) {
  ops::attention_mask_forward(a.additive_mask, a.attention_mask.data(), a.B * a.S);
  embeddings_forward(c, w, a, drop);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
    encoder_layer_forward(c, w.layers[l], a, l, drop);
  pooler_forward(c, w, a);
  if (w.classifier_weight) classifier_forward(c, w, a, drop);
}

}  // namespace bertkit::model
