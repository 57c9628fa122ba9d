// The forward pass: stories260K reproduces llama.cpp's greedy continuation and logits;
// batching, threads, keep_prefix and token-by-token evaluation give bit-identical logits;
// bad input is refused with invalid_argument; models the graph cannot run faithfully are
// refused at load with a typed error naming what; each debug fault changes the output.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "core/context.h"
#include "core/error.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "core/model.h"
#include "core/random_model.h"

using namespace alloy;

namespace {

std::string stories_path() { return alloy_test::shared_models_dir() + "/stories260K.gguf"; }

// "Once upon a time" with BOS, and llama.cpp's 40 greedy tokens after it (models/README.md).
const std::vector<int32_t> kStoriesPrompt = {1, 403, 407, 261, 378};
const std::vector<int32_t> kStoriesGreedy = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
                                             267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
                                             328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426};

int32_t argmax(const float* logits, int n) { return static_cast<int32_t>(std::max_element(logits, logits + n) - logits); }

std::vector<float> eval_copy(Context& ctx, const std::vector<int32_t>& tokens, bool all) {
  const std::vector<float>& l = ctx.eval(tokens, all);
  return std::vector<float>(l.begin(), l.end());
}

// A copy of `src` with edits: another architecture name, one tensor left out, one tensor
// stored with another type (zero data) or another first dimension, one tensor added as a
// copy of another.
struct FileEdit {
  std::string arch;
  std::string drop;
  std::string retype;
  GgmlType new_type = GgmlType::F32;
  std::string reshape;
  int64_t new_ne0 = 0;
  std::string add_name;
  std::string add_copy_of;
};

std::shared_ptr<const GgufFile> edited(const GgufFile& src, const FileEdit& edit) {
  GgufWriter w(src.version());
  for (const GgufKv& kv : src.metadata()) {
    if (kv.key == "general.architecture" && !edit.arch.empty()) {
      w.add(std::string(kv.key), GgufMetaValue::string(edit.arch));
    } else {
      w.add(std::string(kv.key), GgufMetaValue::copy_of(kv.value));
    }
  }
  auto copy_tensor = [&](const std::string& name, const GgufTensorInfo& t) {
    std::vector<int64_t> shape(t.ne, t.ne + t.n_dims);
    if (name == edit.retype) {
      w.add_tensor(name, edit.new_type, shape, [](std::vector<uint8_t>&) {});
    } else if (name == edit.reshape) {
      shape[0] = edit.new_ne0;
      w.add_tensor(name, t.type, shape, [](std::vector<uint8_t>&) {});
    } else {
      const ByteSpan b = src.tensor_bytes(t);
      w.add_tensor(name, t.type, shape, std::vector<uint8_t>(b.data(), b.data() + b.size()));
    }
  };
  for (const GgufTensorInfo& t : src.tensors()) {
    if (t.name != edit.drop) copy_tensor(std::string(t.name), t);
  }
  if (!edit.add_name.empty()) copy_tensor(edit.add_name, *src.find_tensor(edit.add_copy_of));
  const std::vector<uint8_t> bytes = w.write_bytes();
  return std::make_shared<const GgufFile>(GgufFile::parse(MappedFile::from_bytes(bytes.data(), bytes.size())));
}

std::shared_ptr<const GgufFile> open_file(const std::string& path) {
  return std::make_shared<const GgufFile>(GgufFile::open(path));
}

// A small qwen2 model (NEOX RoPE, q/k/v biases, GQA) with peaked attention, written once.
std::string random_qwen2_path(GgmlType type, bool tied) {
  RandomModelConfig c;
  c.arch = "qwen2";
  c.n_vocab = 300;
  c.n_embd = 256;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.n_ff = 512;
  c.weight_type = type;
  c.tied_output = tied;
  c.qk_std = 0.15f;
  c.bias_std = 0.5f;
  c.norm_std = 0.3f;
  c.embd_std = 0.5f;
  c.seed = 7;
  const std::string path = alloy_test::temp_dir() + "/forward-qwen2-" + std::string(ggml_type_name(type)) +
                           (tied ? "-tied" : "") + ".gguf";
  write_random_model(c, path);
  return path;
}

const std::vector<int32_t> kRandomPrompt = {5, 77, 123, 9, 250, 31, 31, 200, 3, 18, 64, 101};

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("stories260K: 40 greedy tokens are llama.cpp's, logits after the prompt match its top 5") {
  const std::shared_ptr<const Model> model = Model::open(stories_path());
  CHECK_EQ(model->hparams().rope.mode == RopeMode::normal, true);
  CHECK_EQ(model->hparams().rope.freq_base, 10000.0f);
  CHECK_EQ(model->tied_output(), false);
  Context ctx(*model, ContextParams{});
  std::vector<float> logits = eval_copy(ctx, kStoriesPrompt, false);
  const struct {
    int32_t id;
    float logit;
  } top5[] = {{432, 17.7989f}, {383, 14.2825f}, {322, 9.7098f}, {353, 9.5861f}, {323, 9.1355f}};
  for (const auto& t : top5) CHECK(std::fabs(logits[static_cast<size_t>(t.id)] - t.logit) < 2e-4f);
  std::vector<int32_t> generated;
  for (size_t step = 0; step < kStoriesGreedy.size(); ++step) {
    const int32_t id = argmax(logits.data(), ctx.n_vocab());
    generated.push_back(id);
    logits = eval_copy(ctx, {id}, false);
  }
  CHECK(generated == kStoriesGreedy);
  CHECK_EQ(ctx.n_past(), static_cast<int>(kStoriesPrompt.size() + kStoriesGreedy.size()));
}

TEST_CASE("batch splits and thread counts give bit-identical logits; token by token agrees closely") {
  for (const std::string& path : {stories_path(), random_qwen2_path(GgmlType::Q8_0, false)}) {
    const std::shared_ptr<const Model> model = Model::open(path);
    const std::vector<int32_t> prompt = path == stories_path() ? kStoriesPrompt : kRandomPrompt;
    Context whole(*model, ContextParams{});
    const std::vector<float> all = eval_copy(whole, prompt, true);
    CHECK_EQ(all.size(), prompt.size() * static_cast<size_t>(model->hparams().n_vocab));
    // Every row is computed on its own, with the kernels of a multi-token batch (llama.cpp
    // switches attention kernels between batches of one token and larger ones).
    ContextParams small;
    small.n_batch = 3;  // 5 = 3 + 2 and 12 = 4 x 3 tokens: every batch has 2 or more
    small.n_threads = 3;
    Context chunked(*model, small);
    CHECK(eval_copy(chunked, prompt, true) == all);
    // A batch size that would leave one token over (5 = 4 + 1) splits 3 + 2 instead
    // (next_step_size): a one-token step would run the decode kernels.
    ContextParams four;
    four.n_batch = 4;
    Context split(*model, four);
    Context whole_last(*model, ContextParams{});
    CHECK(eval_copy(split, prompt, false) == eval_copy(whole_last, prompt, false));
    Context one_by_one(*model, ContextParams{});
    const size_t n_vocab = static_cast<size_t>(model->hparams().n_vocab);
    float max_logit = 0;
    for (const float v : all) max_logit = std::max(max_logit, std::fabs(v));
    for (size_t i = 0; i < prompt.size(); ++i) {
      const std::vector<float> row = eval_copy(one_by_one, {prompt[i]}, false);
      const std::vector<float> expected(all.begin() + static_cast<std::ptrdiff_t>(i * n_vocab),
                                        all.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_vocab));
      CHECK(max_abs_diff(row, expected) <= 1e-5f * max_logit);
    }
  }
}

TEST_CASE("keep_prefix then evaluating the rest gives the logits of a fresh evaluation") {
  const std::shared_ptr<const Model> model = Model::open(random_qwen2_path(GgmlType::Q4_K, false));
  for (const KvType kv : {KvType::f16, KvType::f32}) {
    ContextParams p;
    p.kv_type = kv;
    Context fresh(*model, p);
    const std::vector<float> expected = eval_copy(fresh, kRandomPrompt, false);
    Context reused(*model, p);
    eval_copy(reused, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, false);
    reused.keep_prefix(0);
    eval_copy(reused, {kRandomPrompt[0], kRandomPrompt[1], kRandomPrompt[2], 42, 43}, false);
    reused.keep_prefix(3);
    CHECK_EQ(reused.n_past(), 3);
    reused.keep_prefix(100);  // nothing past n_past to drop
    CHECK_EQ(reused.n_past(), 3);
    const std::vector<int32_t> rest(kRandomPrompt.begin() + 3, kRandomPrompt.end());
    CHECK(eval_copy(reused, rest, false) == expected);
    CHECK_EQ(reused.n_past(), static_cast<int>(kRandomPrompt.size()));
    CHECK_THROWS_KIND(reused.keep_prefix(-1), ErrorKind::invalid_argument);
  }
}

TEST_CASE("bad input: prompt past context, ids outside the vocabulary, empty input, bad parameters") {
  const std::shared_ptr<const Model> model = Model::open(stories_path());
  ContextParams p;
  p.n_ctx = 8;
  Context ctx(*model, p);
  eval_copy(ctx, {1, 2, 3, 4, 5}, false);
  CHECK_THROWS_KIND(ctx.eval({6, 7, 8, 9}, false), ErrorKind::prompt_too_long);
  CHECK_EQ(ctx.n_past(), 5);
  try {
    ctx.eval({6, 7, 8, 9}, false);
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("prompt past context") != std::string::npos);
  }
  CHECK_THROWS_KIND(ctx.eval({6, 512}, false), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(ctx.eval({-1}, false), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(ctx.eval({}, false), ErrorKind::invalid_argument);
  CHECK_EQ(ctx.n_past(), 5);
  CHECK_EQ(ctx.eval({6, 7, 8}, false).size(), static_cast<size_t>(ctx.n_vocab()));  // exactly fills n_ctx
  for (const auto& bad : {ContextParams{0, 1, KvType::f16, 512, {}}, ContextParams{8, 0, KvType::f16, 512, {}},
                          ContextParams{8, 1, KvType::f16, 0, {}}}) {
    CHECK_THROWS_KIND(Context(*model, bad), ErrorKind::invalid_argument);
  }
  ContextParams unknown_fault;
  unknown_fault.faults.wrong_block_scale_type = "Q9_9";
  CHECK_THROWS_KIND(Context(*model, unknown_fault), ErrorKind::invalid_argument);
}

TEST_CASE("models the graph cannot run faithfully are refused at load") {
  const std::shared_ptr<const GgufFile> stories = open_file(stories_path());
  CHECK(Model::load(stories) != nullptr);
  FileEdit arch;
  arch.arch = "gpt2";
  CHECK_THROWS_KIND(Model::load(edited(*stories, arch)), ErrorKind::unsupported_architecture);
  FileEdit q8_1;
  q8_1.retype = "blk.1.ffn_up.weight";
  q8_1.new_type = GgmlType::Q8_1;
  try {
    Model::load(edited(*stories, q8_1));
    CHECK(false);
  } catch (const Error& e) {
    CHECK_EQ(e.kind() == ErrorKind::unsupported_tensor_type, true);
    const std::string what = e.what();
    CHECK(what.find("blk.1.ffn_up.weight") != std::string::npos && what.find("Q8_1") != std::string::npos);
  }
  const std::shared_ptr<const GgufFile> qwen = open_file(random_qwen2_path(GgmlType::F32, false));
  FileEdit iq2;
  iq2.retype = "blk.0.attn_q.weight";
  iq2.new_type = GgmlType::IQ2_XXS;
  CHECK_THROWS_KIND(Model::load(edited(*qwen, iq2)), ErrorKind::unsupported_tensor_type);
  FileEdit f16_norm;
  f16_norm.retype = "blk.0.attn_norm.weight";
  f16_norm.new_type = GgmlType::F16;
  CHECK_THROWS_KIND(Model::load(edited(*qwen, f16_norm)), ErrorKind::unsupported_tensor_type);
  FileEdit missing;
  missing.drop = "blk.4.ffn_down.weight";
  CHECK_THROWS_KIND(Model::load(edited(*stories, missing)), ErrorKind::invalid_tensor);
  FileEdit shape;
  shape.reshape = "blk.0.attn_k.weight";
  shape.new_ne0 = 32;
  CHECK_THROWS_KIND(Model::load(edited(*stories, shape)), ErrorKind::invalid_tensor);
  FileEdit extra;
  extra.add_name = "rope_freqs.weight";
  extra.add_copy_of = "output_norm.weight";
  CHECK_THROWS_KIND(Model::load(edited(*stories, extra)), ErrorKind::unsupported_architecture);
}

TEST_CASE("qwen2: NEOX RoPE, biases and tied output bind as llama.cpp binds them") {
  const std::shared_ptr<const Model> untied = Model::open(random_qwen2_path(GgmlType::Q8_0, false));
  const HyperParams& hp = untied->hparams();
  CHECK_EQ(hp.rope.mode == RopeMode::neox, true);
  CHECK_EQ(hp.n_head_kv, 2);
  CHECK_EQ(hp.head_dim, 64);
  CHECK(untied->layers()[0].bq.has_value() && untied->layers()[1].bv.has_value());
  // A tied model runs its output projection with token_embd: adding output.weight as a copy
  // of token_embd must not change a single logit.
  const std::shared_ptr<const GgufFile> tied_file = open_file(random_qwen2_path(GgmlType::Q8_0, true));
  const std::shared_ptr<const Model> tied = Model::load(tied_file);
  CHECK(tied->tied_output());
  FileEdit untie;
  untie.add_name = "output.weight";
  untie.add_copy_of = "token_embd.weight";
  const std::shared_ptr<const Model> untied_copy = Model::load(edited(*tied_file, untie));
  CHECK(!untied_copy->tied_output());
  Context a(*tied, ContextParams{});
  Context b(*untied_copy, ContextParams{});
  CHECK(eval_copy(a, kRandomPrompt, true) == eval_copy(b, kRandomPrompt, true));
}

TEST_CASE("every debug fault changes the logits far beyond rounding") {
  const std::shared_ptr<const Model> model = Model::open(random_qwen2_path(GgmlType::Q4_K, false));
  Context clean(*model, ContextParams{});
  const std::vector<float> expected = eval_copy(clean, kRandomPrompt, true);
  float max_logit = 0;
  for (const float v : expected) max_logit = std::max(max_logit, std::fabs(v));
  std::vector<std::function<void(DebugFaults&)>> faults = {
      [](DebugFaults& f) { f.normal_rope_instead_of_neox = true; },
      [](DebugFaults& f) { f.drop_qkv_bias = true; },
      [](DebugFaults& f) { f.kv_position_off_by_one = true; },
      [](DebugFaults& f) { f.skip_norm_weight = true; },
      [](DebugFaults& f) { f.wrong_block_scale_type = "Q4_K"; },
  };
  for (const auto& set : faults) {
    ContextParams p;
    set(p.faults);
    Context faulty(*model, p);
    CHECK(max_abs_diff(eval_copy(faulty, kRandomPrompt, true), expected) > 1e-3f * max_logit);
  }
  ContextParams other_type;
  other_type.faults.wrong_block_scale_type = "Q6_K";  // no Q6_K weights here: no effect
  Context unaffected(*model, other_type);
  CHECK(eval_copy(unaffected, kRandomPrompt, true) == expected);
}
