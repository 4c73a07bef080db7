#include "model/activations.h"

namespace bertkit::model {

Activations::Activations(const BertConfig& c, std::int64_t B_, std::int64_t S_, bool keep_all,
                         FloatArena storage)
    : B(B_), S(S_), keep_all_layers(keep_all), arena(std::move(storage)) {
  const std::int64_t H = c.hidden_size, I = c.intermediate_size, NH = c.num_attention_heads;
  const std::int64_t L = c.num_hidden_layers, N = B * S;
  const std::int64_t layer_sets = keep_all ? L : 1;
  const std::int64_t per_layer = N * 3 * H + B * NH * S * S + 3 * N * H + 4 * N + 2 * N * I + N * H;
  const std::int64_t total =
      N * H + 2 * N + (L + 1) * N * H + layer_sets * per_layer + N + B * H + B * c.num_labels();
  arena.resize(total);
  BufferCarver<float> carver(arena.data());
  emb_sum = carver.take(N * H);
  emb_mean = carver.take(N);
  emb_rstd = carver.take(N);
  for (std::int64_t l = 0; l <= L; ++l) hidden.push_back(carver.take(N * H));
  for (std::int64_t l = 0; l < layer_sets; ++l) {
    LayerActivations a;
    a.qkv = carver.take(N * 3 * H);
    a.probs = carver.take(B * NH * S * S);
    a.context = carver.take(N * H);
    a.attn_pre = carver.take(N * H);
    a.attn_mean = carver.take(N);
    a.attn_rstd = carver.take(N);
    a.attn_out = carver.take(N * H);
    a.inter_pre = carver.take(N * I);
    a.inter_act = carver.take(N * I);
    a.out_pre = carver.take(N * H);
    a.out_mean = carver.take(N);
    a.out_rstd = carver.take(N);
    layers.push_back(a);
  }
  additive_mask = carver.take(N);
  pooled = carver.take(B * H);
  logits = carver.take(B * c.num_labels());
  input_ids.assign(N, 0);
  token_type_ids.assign(N, 0);
  attention_mask.assign(N, 1);
}

}  // namespace bertkit::model
