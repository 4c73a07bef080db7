#include "model/dropout.h"

#include <algorithm>

#include "backend/ops.h"

namespace bertkit::model {

DropoutMasks::DropoutMasks(const BertConfig& c, std::int64_t B_, std::int64_t S_,
                           bool classifier_only, Storage storage)
    : B(B_), S(S_), storage_(std::move(storage)) {
  const std::int64_t H = c.hidden_size, NH = c.num_attention_heads, L = c.num_hidden_layers;
  const std::int64_t N = B * S, P = B * NH * S * S;
  hidden_p = static_cast<float>(c.hidden_dropout_prob);
  attention_p = static_cast<float>(c.attention_probs_dropout_prob);
  classifier_p = static_cast<float>(c.classifier_dropout.value_or(c.hidden_dropout_prob));
  const bool hid = !classifier_only && hidden_p > 0, att = !classifier_only && attention_p > 0;
  const bool cls = classifier_p > 0;
  storage_.bytes.assign((hid ? N * H * (1 + 2 * L) : 0) + (att ? P * L : 0) + (cls ? B * H : 0), 0);
  storage_.floats.resize((att ? P * L : 0) + (cls ? B * H : 0));
  BufferCarver<std::uint8_t> bytes(storage_.bytes.data());
  BufferCarver<float> floats(storage_.floats.data());
  if (hid) embeddings = bytes.take(N * H);
  layers.resize(L);
  for (auto& l : layers) {
    if (att) {
      l.probs = bytes.take(P);
      l.probs_dropped = floats.take(P);
    }
    if (hid) {
      l.attn_out = bytes.take(N * H);
      l.out = bytes.take(N * H);
    }
  }
  if (cls) {
    classifier = bytes.take(B * H);
    pooled_dropped = floats.take(B * H);
  }
  zeros.assign(std::max(c.hidden_size, c.intermediate_size), 0.0f);
}

void DropoutMasks::sample(std::uint64_t seed, std::uint64_t step, std::int64_t H, std::int64_t NH) {
  const std::int64_t N = B * S;
  // One stream per (step, site): sites are 0 (embeddings), 1 + 3l .. 3 + 3l (layer l), and the
  // last one the classifier.
  const std::uint64_t sites = 2 + 3 * layers.size();
  auto stream = [&](std::uint64_t site) { return step * sites + site; };
  if (embeddings) ops::dropout_mask(embeddings, N * H, hidden_p, seed, stream(0));
  for (std::size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].probs)
      ops::dropout_mask(layers[l].probs, B * NH * S * S, attention_p, seed, stream(1 + 3 * l));
    if (layers[l].attn_out)
      ops::dropout_mask(layers[l].attn_out, N * H, hidden_p, seed, stream(2 + 3 * l));
    if (layers[l].out) ops::dropout_mask(layers[l].out, N * H, hidden_p, seed, stream(3 + 3 * l));
  }
  if (classifier) ops::dropout_mask(classifier, B * H, classifier_p, seed, stream(sites - 1));
}

}  // namespace bertkit::model
