// config.json parsing/writing, checkpoint-to-arena mapping (names, dtypes, shapes, missing and
// extra tensors), HF-style init, save_pretrained round trip, and input validation errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bertkit/error.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "support/paths.h"

namespace {

using bertkit::BertConfig;
using bertkit::BertForSequenceClassification;
using bertkit::BertModel;
using bertkit::StateDict;
using bertkit::Tensor;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BertConfig tiny_config() {
  return BertConfig::from_pretrained(bertkit::testing::fixture("golden/tiny"));
}
StateDict tiny_weights() {
  return bertkit::load_safetensors(bertkit::testing::fixture("golden/tiny/model.safetensors"));
}

template <class E>
std::string error_of(auto&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  ADD_FAILURE() << "no exception of the expected type";
  return {};
}

TEST(BertConfigTest, ReadsTheGoldenConfig) {
  const BertConfig c = tiny_config();
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.intermediate_size, 64);
  EXPECT_EQ(c.max_position_embeddings, 64);
  EXPECT_EQ(c.vocab_size, 1024);
  EXPECT_EQ(c.hidden_act, bertkit::Activation::kGelu);
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-12);
  EXPECT_EQ(c.num_labels(), 2);
  EXPECT_FALSE(c.classifier_dropout.has_value());
  EXPECT_EQ(c.architectures, std::vector<std::string>{"BertForSequenceClassification"});
  EXPECT_EQ(c.torch_dtype, "float32");
  EXPECT_TRUE(c.extra.empty());
}

TEST(BertConfigTest, WritesWhatItReadsIncludingUnknownKeys) {
  const std::string golden = read_file(bertkit::testing::fixture("golden/tiny/config.json"));
  // The golden file is save_pretrained output: bertkit writes it back byte for byte.
  EXPECT_EQ(tiny_config().to_json_string(), golden);

  auto j = nlohmann::json::parse(golden);
  j["my_custom_field"] = {{"a", 1}, {"b", {1, 2, 3}}};
  j["id2label"] = {{"0", "NEGATIVE"}, {"1", "NEUTRAL"}, {"2", "POSITIVE"}};
  j["problem_type"] = "single_label_classification";
  const BertConfig c = BertConfig::from_json_string(j.dump());
  EXPECT_EQ(c.num_labels(), 3);
  EXPECT_EQ(c.id2label.at(2), "POSITIVE");
  EXPECT_EQ(c.label2id().at("NEUTRAL"), 1);
  const auto back = nlohmann::json::parse(c.to_json_string());
  EXPECT_EQ(back["my_custom_field"], j["my_custom_field"]);
  EXPECT_EQ(back["id2label"], j["id2label"]);
  EXPECT_EQ(back["label2id"]["POSITIVE"], 2);
  EXPECT_EQ(back["problem_type"], "single_label_classification");
}

TEST(BertConfigTest, ReadsRealHubConfigs) {
  const BertConfig base =
      BertConfig::from_pretrained(bertkit::testing::fixture("bert-base-uncased"));
  EXPECT_EQ(base.hidden_size, 768);
  EXPECT_EQ(base.num_hidden_layers, 12);
  const BertConfig mini =
      BertConfig::from_pretrained(bertkit::testing::fixture("bert-mini-tokenizer"));
  EXPECT_GT(mini.hidden_size, 0);
}

TEST(BertConfigTest, NumLabelsOverridesDefaultLabels) {
  const BertConfig c = BertConfig::from_json_string(R"({"num_labels": 5})");
  EXPECT_EQ(c.num_labels(), 5);
  EXPECT_EQ(c.id2label.at(4), "LABEL_4");
}

TEST(BertConfigTest, RefusesWhatItCannotRun) {
  auto with = [](const std::string& key, nlohmann::json value) {
    auto j = nlohmann::json::parse(read_file(bertkit::testing::fixture("golden/tiny/config.json")));
    j[key] = value;
    return j.dump();
  };
  auto msg = error_of<bertkit::InvalidArgument>(
      [&] { BertConfig::from_json_string(with("hidden_act", "mish")); });
  EXPECT_NE(msg.find("hidden_act \"mish\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("gelu_new"), std::string::npos) << msg;
  msg = error_of<bertkit::InvalidArgument>(
      [&] { BertConfig::from_json_string(with("position_embedding_type", "relative_key")); });
  EXPECT_NE(msg.find("relative_key"), std::string::npos) << msg;
  msg = error_of<bertkit::InvalidArgument>(
      [&] { BertConfig::from_json_string(with("num_attention_heads", 5)); });
  EXPECT_NE(msg.find("not a multiple of the number of attention heads (5)"), std::string::npos)
      << msg;
  msg = error_of<bertkit::InvalidArgument>(
      [&] { BertConfig::from_json_string(with("num_hidden_layers", 0)); });
  EXPECT_NE(msg.find("num_hidden_layers must be positive"), std::string::npos) << msg;
  msg = error_of<bertkit::FormatError>(
      [&] { BertConfig::from_json_string(with("hidden_size", "big")); });
  EXPECT_NE(msg.find("hidden_size"), std::string::npos) << msg;
  EXPECT_THROW(BertConfig::from_json_string("{not json"), bertkit::FormatError);
  EXPECT_THROW(BertConfig::from_json_string("[1, 2]"), bertkit::FormatError);
  EXPECT_THROW(BertConfig::from_json_file("/nonexistent/config.json"), bertkit::IoError);
}

TEST(CheckpointLoadingTest, WrongShapeNamesTheTensorAndBothShapes) {
  BertConfig c = tiny_config();
  c.intermediate_size = 65;
  const auto msg = error_of<bertkit::InvalidArgument>(
      [&] { BertForSequenceClassification::from_state_dict(c, tiny_weights(), {}, "tiny"); });
  EXPECT_NE(msg.find("bert.encoder.layer.0.intermediate.dense.weight"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[64, 32]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[65, 32]"), std::string::npos) << msg;
}

TEST(CheckpointLoadingTest, MissingTensorIsAnError) {
  StateDict sd = tiny_weights();
  sd.erase("bert.encoder.layer.1.output.dense.bias");
  const auto msg = error_of<bertkit::FormatError>(
      [&] { BertModel::from_state_dict(tiny_config(), sd, {}, "tiny"); });
  EXPECT_NE(msg.find("encoder.layer.1.output.dense.bias"), std::string::npos) << msg;
}

TEST(CheckpointLoadingTest, MissingClassifierIsInitialisedAndAnnounced) {
  StateDict sd = tiny_weights();
  sd.erase("classifier.weight");
  sd.erase("classifier.bias");
  sd.emplace("cls.predictions.bias", Tensor(bertkit::DType::kF32, {1024}));
  ::testing::internal::CaptureStderr();
  auto model = BertForSequenceClassification::from_state_dict(tiny_config(), sd, {}, "tiny");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Some weights of BertForSequenceClassification were not initialized from the "
                     "model checkpoint at tiny and are newly initialized: ['classifier.bias', "
                     "'classifier.weight']"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("cls.predictions.bias"), std::string::npos) << err;
  const StateDict got = model.state_dict();
  for (float v : got.at("classifier.bias").span<float>()) EXPECT_EQ(v, 0.0f);
  double sq = 0.0;
  for (float v : got.at("classifier.weight").span<float>()) sq += double(v) * v;
  EXPECT_GT(sq, 0.0);
  EXPECT_LT(std::sqrt(sq / 64.0), 0.05);  // std ~ initializer_range 0.02
}

TEST(CheckpointLoadingTest, MissingPoolerIsInitialisedLikeHf) {
  StateDict sd = tiny_weights();
  sd.erase("bert.pooler.dense.weight");
  sd.erase("bert.pooler.dense.bias");
  ::testing::internal::CaptureStderr();
  auto model = BertModel::from_state_dict(tiny_config(), sd, {}, "mlm");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("Some weights of BertModel were not initialized from the model checkpoint at "
                     "mlm and are newly initialized: ['pooler.dense.bias', 'pooler.dense.weight']"),
            std::string::npos)
      << err;
}

TEST(CheckpointLoadingTest, UnprefixedAndOldLayerNormNamesLoad) {
  const StateDict sd = tiny_weights();
  StateDict renamed;
  for (const auto& [name, t] : sd) {
    std::string n = name;
    if (n.rfind("bert.", 0) == 0) n = n.substr(5);
    auto ln = n.find("LayerNorm.weight");
    if (ln != std::string::npos) n = n.substr(0, ln) + "LayerNorm.gamma";
    ln = n.find("LayerNorm.bias");
    if (ln != std::string::npos) n = n.substr(0, ln) + "LayerNorm.beta";
    renamed.emplace(n, t);
  }
  renamed.emplace("embeddings.position_ids", Tensor(bertkit::DType::kI64, {1, 64}));
  auto a = BertForSequenceClassification::from_state_dict(tiny_config(), sd, {}, "a");
  auto b = BertForSequenceClassification::from_state_dict(tiny_config(), renamed, {}, "b");
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [name, t] : sa) {
    ASSERT_EQ(std::memcmp(t.data(), sb.at(name).data(), t.nbytes()), 0) << name;
  }
}

TEST(CheckpointLoadingTest, Bf16WeightsAreConverted) {
  StateDict sd = tiny_weights();
  StateDict bf;
  for (const auto& [name, t] : sd) {
    Tensor h(bertkit::DType::kBF16, t.shape());
    auto src = t.span<float>();
    auto* dst = reinterpret_cast<std::uint16_t*>(h.mutable_data());
    for (std::size_t i = 0; i < src.size(); ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, &src[i], 4);
      dst[i] = static_cast<std::uint16_t>(bits >> 16);
    }
    bf.emplace(name, std::move(h));
  }
  auto model = BertForSequenceClassification::from_state_dict(tiny_config(), bf, {}, "bf16");
  const StateDict loaded = model.state_dict();
  const auto got = loaded.at("bert.pooler.dense.weight").span<float>();
  const auto want = sd.at("bert.pooler.dense.weight").span<float>();
  for (std::size_t i = 0; i < got.size(); ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, &want[i], 4);
    bits &= 0xFFFF0000u;
    float w;
    std::memcpy(&w, &bits, 4);
    ASSERT_EQ(got[i], w);
  }
}

TEST(InitTest, FollowsHfInitAndIsSeeded) {
  const BertConfig c = tiny_config();
  auto a = BertForSequenceClassification::init(c, 7);
  auto b = BertForSequenceClassification::init(c, 7);
  auto d = BertForSequenceClassification::init(c, 8);
  bertkit::set_num_threads(1);
  auto single = BertForSequenceClassification::init(c, 7);  // same values on one thread
  bertkit::set_num_threads(0);
  const StateDict s1 = single.state_dict();
  const StateDict sa = a.state_dict(), sb = b.state_dict(), sd = d.state_dict();
  EXPECT_EQ(a.num_parameters(), 53154);  // README: tiny has 53,154 parameters
  for (const auto& [name, t] : sa) {
    EXPECT_EQ(std::memcmp(t.data(), sb.at(name).data(), t.nbytes()), 0) << name;
    EXPECT_EQ(std::memcmp(t.data(), s1.at(name).data(), t.nbytes()), 0) << name;
  }
  EXPECT_NE(std::memcmp(sa.at("classifier.weight").data(), sd.at("classifier.weight").data(),
                        sa.at("classifier.weight").nbytes()),
            0);
  for (float v : sa.at("bert.embeddings.LayerNorm.weight").span<float>()) EXPECT_EQ(v, 1.0f);
  for (float v : sa.at("bert.encoder.layer.1.output.dense.bias").span<float>()) EXPECT_EQ(v, 0.0f);
  auto wte = sa.at("bert.embeddings.word_embeddings.weight").span<float>();
  for (int h = 0; h < 32; ++h) EXPECT_EQ(wte[h], 0.0f);  // [PAD] row (pad_token_id 0)
  double sq = 0.0;
  for (float v : wte) sq += double(v) * v;
  EXPECT_NEAR(std::sqrt(sq / double(wte.size())), 0.02, 0.002);
}

TEST(SavePretrainedTest, RoundTripsThroughTheFolder) {
  const auto dir = bertkit::testing::make_temp_dir("bertkit-save");
  auto model =
      BertForSequenceClassification::from_state_dict(tiny_config(), tiny_weights(), {}, "tiny");
  model.save_pretrained(dir);
  const BertConfig c = BertConfig::from_pretrained(dir);
  EXPECT_EQ(c.to_json_string(), tiny_config().to_json_string());
  const StateDict saved = bertkit::load_safetensors(dir / "model.safetensors");
  const StateDict orig = tiny_weights();
  ASSERT_EQ(saved.size(), orig.size());
  for (const auto& [name, t] : orig) {
    ASSERT_TRUE(saved.count(name)) << name;
    EXPECT_EQ(std::memcmp(t.data(), saved.at(name).data(), t.nbytes()), 0) << name;
  }
  auto base = BertModel::init(tiny_config(), 1);
  base.save_pretrained(dir / "base");
  const StateDict bsd = bertkit::load_safetensors(dir / "base" / "model.safetensors");
  EXPECT_TRUE(bsd.count("embeddings.word_embeddings.weight"));  // BertModel: no "bert." prefix
  EXPECT_FALSE(bsd.count("classifier.weight"));
  std::filesystem::remove_all(dir);
}

TEST(ForwardInputTest, BadInputsAreClearErrors) {
  auto model = BertModel::init(tiny_config(), 1);
  auto msg = error_of<bertkit::InvalidArgument>([&] {
    model.forward(bertkit::ModelInput::from_ids({{101, 5000, 102}}));
  });
  EXPECT_NE(msg.find("input_ids[0, 1] = 5000"), std::string::npos) << msg;
  msg = error_of<bertkit::InvalidArgument>(
      [&] { model.forward(bertkit::ModelInput::from_ids({std::vector<std::int32_t>(65, 5)})); });
  EXPECT_NE(msg.find("max_position_embeddings 64"), std::string::npos) << msg;
  EXPECT_THROW(model.forward(bertkit::ModelInput{}), bertkit::InvalidArgument);
  auto in = bertkit::ModelInput::from_ids({{101, 7, 102}});
  in.token_type_ids = {0, 2, 0};
  EXPECT_THROW(model.forward(in), bertkit::InvalidArgument);
  in.token_type_ids.clear();
  in.labels = {1};
  EXPECT_THROW(model.forward(in), bertkit::InvalidArgument);  // BertModel has no classifier
  Tensor f(bertkit::DType::kF32, {1, 3});
  EXPECT_THROW(model.forward(f), bertkit::InvalidArgument);
}

}  // namespace
