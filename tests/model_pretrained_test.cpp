// from_pretrained on model folders: model.safetensors and pytorch_model.bin give the same
// model and the goldens; the CLI's `embed --input-ids` writes tensors equal to the goldens.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bertkit/error.h"
#include "bertkit/model.h"
#include "bertkit/serialization.h"
#include "support/paths.h"

namespace {

using bertkit::BertForSequenceClassification;
using bertkit::BertModel;
using bertkit::StateDict;
using bertkit::Tensor;
namespace fs = std::filesystem;

double max_abs_err(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  auto x = a.span<float>();
  auto y = b.span<float>();
  double m = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(double(x[i]) - y[i]));
  return m;
}

// A folder with config.json and only the given weights file.
fs::path folder_with(const std::string& model, const std::string& weights) {
  const fs::path src = bertkit::testing::fixture("golden/" + model);
  const fs::path dir = bertkit::testing::make_temp_dir("bertkit-" + model);
  for (const char* f :
       {"config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    fs::copy_file(src / f, dir / f);
  }
  fs::copy_file(src / weights, dir / weights);
  return dir;
}

class Pretrained : public ::testing::TestWithParam<std::string> {};

TEST_P(Pretrained, SafetensorsAndPytorchBinGiveTheSameModel) {
  const std::string name = GetParam();
  const fs::path st = folder_with(name, "model.safetensors");
  const fs::path bin = folder_with(name, "pytorch_model.bin");
  auto a = BertForSequenceClassification::from_pretrained(st.string());
  auto b = BertForSequenceClassification::from_pretrained(bin.string());
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [n, t] : sa) {
    ASSERT_EQ(std::memcmp(t.data(), sb.at(n).data(), t.nbytes()), 0) << n;
  }
  const StateDict golden = bertkit::load_safetensors(
      bertkit::testing::fixture("golden/" + name + "/outputs.safetensors"));
  const auto out =
      b.forward(golden.at("input_ids"), golden.at("attention_mask"), golden.at("token_type_ids"));
  const double err = max_abs_err(out.logits, golden.at("logits"));
  std::printf("  %s from pytorch_model.bin: logits max abs err %.3g\n", name.c_str(), err);
  EXPECT_LT(err, 1e-5);
  auto base = BertModel::from_pretrained(bin.string(), {.verbose = false});
  const auto bout = base.forward(golden.at("input_ids"), golden.at("attention_mask"),
                                 golden.at("token_type_ids"));
  EXPECT_LT(max_abs_err(bout.pooler_output, golden.at("bert.pooler_output")), 1e-5);
  fs::remove_all(st);
  fs::remove_all(bin);
}

TEST_P(Pretrained, MissingFolderIsAnIoError) {
  EXPECT_THROW(BertModel::from_pretrained("/nonexistent/model/folder"), bertkit::Error);
}

std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

TEST_P(Pretrained, CliEmbedWritesTheGoldenTensors) {
  const std::string name = GetParam();
  const fs::path model = bertkit::testing::fixture("golden/" + name);
  const fs::path tmp = bertkit::testing::make_temp_dir("bertkit-embed");
  const fs::path out = tmp / "out.safetensors";
  int status = 0;
  const std::string log =
      run(bertkit::testing::cli_path().string() + " embed --model " + model.string() +
              " --input-ids " + (model / "outputs.safetensors").string() +
              " --output-hidden-states --output-attentions --pooling cls --output " + out.string(),
          &status);
  ASSERT_EQ(status, 0) << log;
  const StateDict got = bertkit::load_safetensors(out);
  const StateDict want = bertkit::load_safetensors(model / "outputs.safetensors");
  const std::int64_t L = want.count("hidden_states.4") ? 4 : 2;
  EXPECT_NE(log.find("last hidden:[3, 12, " + std::to_string(want.at("hidden_states.0").dim(2)) +
                     "] hidden layers:" + std::to_string(L + 1)),
            std::string::npos)
      << log;
  EXPECT_LT(max_abs_err(got.at("last_hidden_state"), want.at("bert.last_hidden_state")), 1e-5);
  EXPECT_LT(max_abs_err(got.at("pooler_output"), want.at("bert.pooler_output")), 1e-5);
  EXPECT_LT(max_abs_err(got.at("logits"), want.at("logits")), 1e-5);
  for (std::int64_t l = 0; l <= L; ++l) {
    const std::string n = "hidden_states." + std::to_string(l);
    EXPECT_LT(max_abs_err(got.at(n), want.at(n)), 1e-5) << n;
  }
  for (std::int64_t l = 0; l < L; ++l) {
    const std::string n = "attentions." + std::to_string(l);
    EXPECT_LT(max_abs_err(got.at(n), want.at(n)), 1e-6) << n;
  }
  // cls pooling = last_hidden_state[:, 0]
  const Tensor& emb = got.at("embeddings");
  const std::int64_t H = emb.dim(1);
  for (std::int64_t b = 0; b < 3; ++b) {
    for (std::int64_t h = 0; h < H; ++h) {
      ASSERT_EQ(emb.span<float>()[b * H + h],
                got.at("last_hidden_state").span<float>()[b * 12 * H + h]);
    }
  }
  fs::remove_all(tmp);
}

TEST_P(Pretrained, CliEmbedTextToNpyAndJsonlAndPredict) {
  const fs::path model = bertkit::testing::fixture("golden/" + GetParam());
  const fs::path tmp = bertkit::testing::make_temp_dir("bertkit-embed");
  const std::string cli = bertkit::testing::cli_path().string();
  int status = 0;
  std::string log =
      run(cli + " embed --model " + model.string() + " --pooling mean --normalize --output " +
              (tmp / "e.jsonl").string() + " 'i love kathmandu' 'mount everest'",
          &status);
  ASSERT_EQ(status, 0) << log;
  std::ifstream in(tmp / "e.jsonl");
  std::string line;
  int rows = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    double sq = 0.0;
    for (double v : j["embedding"]) sq += v * v;
    EXPECT_NEAR(sq, 1.0, 1e-5);
    ++rows;
  }
  EXPECT_EQ(rows, 2);
  log = run("printf 'first line\\nsecond\\nthird\\n' | " + cli + " embed --model " +
                model.string() + " --output " + (tmp / "e.npy").string(),
            &status);
  ASSERT_EQ(status, 0) << log;
  EXPECT_NE(log.find("CLS: [3, "), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(tmp / "e.npy"));
  log = run(cli + " predict --model " + model.string() + " 'i love kathmandu'", &status);
  ASSERT_EQ(status, 0) << log;
  EXPECT_NE(log.find("LABEL_0="), std::string::npos) << log;
  EXPECT_NE(log.find("i love kathmandu"), std::string::npos) << log;
  log = run(cli + " embed --model /nonexistent/folder hi", &status);
  EXPECT_NE(status, 0);
  EXPECT_NE(log.find("bertkit: error:"), std::string::npos) << log;
  fs::remove_all(tmp);
}

INSTANTIATE_TEST_SUITE_P(Models, Pretrained, ::testing::Values("tiny", "small"));

}  // namespace
