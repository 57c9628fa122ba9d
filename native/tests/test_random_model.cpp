// The random-model generator: f16/bf16 rounding, random weights of every weight type, and
// complete llama / qwen2 files for every weight type, tied and untied, read back with the
// GGUF reader (metadata, tensor names / order / shapes / types, finite scales, determinism,
// per-tensor scales, tokenizer copied from a vocab file).
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/gguf.h"
#include "core/random_model.h"
#include "core/random_weights.h"
#include "core/rng.h"
#include "core/synthetic_vocab.h"

using namespace alloy;

namespace {

GgufFile parse_bytes(const std::vector<uint8_t>& bytes) {
  return GgufFile::parse(MappedFile::from_bytes(bytes.data(), bytes.size()));
}

std::vector<uint8_t> span_bytes(ByteSpan s) { return std::vector<uint8_t>(s.data(), s.data() + s.size()); }

const std::vector<GgmlType> kWeightTypes = {
    GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
    GgmlType::Q5_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
};

template <typename T>
T load_le(ByteSpan s, size_t offset) {
  T v;
  std::memcpy(&v, s.subspan(offset, sizeof(T)).data(), sizeof(T));
  return v;
}

bool f16_is_finite(uint16_t bits) { return (bits & 0x7C00u) != 0x7C00u; }

// Byte offsets of the f16 fields (d, and min/dmin) inside one block, per block type.
std::vector<uint32_t> f16_field_offsets(GgmlType type) {
  static const std::map<GgmlType, std::vector<uint32_t>> offsets = {
      {GgmlType::Q8_0, {0}},     {GgmlType::Q4_0, {0}},      {GgmlType::Q5_0, {0}},
      {GgmlType::Q4_1, {0, 2}},  {GgmlType::Q5_1, {0, 2}},   {GgmlType::Q4_K, {0, 2}},
      {GgmlType::Q5_K, {0, 2}},  {GgmlType::Q2_K, {80, 82}}, {GgmlType::Q3_K, {108}},
      {GgmlType::Q6_K, {208}},
  };
  const auto it = offsets.find(type);
  return it == offsets.end() ? std::vector<uint32_t>{} : it->second;
}

// A value copy: CHECK_EQ binds references, so it must not see a temporary optional.
std::string_view string_of(const GgufFile& f, std::string_view key) { return f.get_string(key).value_or("<absent>"); }

}  // namespace

TEST_CASE("f16 and bf16 conversion rounds to nearest even") {
  CHECK_EQ(float_to_f16_bits(1.0f), 0x3C00);
  CHECK_EQ(float_to_f16_bits(-2.0f), 0xC000);
  CHECK_EQ(float_to_f16_bits(65504.0f), 0x7BFF);
  CHECK_EQ(float_to_f16_bits(65520.0f), 0x7C00);            // rounds up to infinity
  CHECK_EQ(float_to_f16_bits(1.0f + 1.0f / 2048), 0x3C00);  // tie, even stays
  CHECK_EQ(float_to_f16_bits(1.0f + 3.0f / 2048), 0x3C02);  // tie, odd rounds up
  CHECK_EQ(float_to_f16_bits(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
  CHECK_EQ(float_to_f16_bits(std::ldexp(1.0f, -25)), 0x0000);  // tie to even zero
  CHECK_EQ(float_to_f16_bits(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  CHECK_EQ(float_to_f16_bits(std::ldexp(1023.5f, -24)), 0x0400);  // subnormal rounds into normal
  CHECK_EQ(float_to_f16_bits(std::numeric_limits<float>::infinity()), 0x7C00);
  CHECK((float_to_f16_bits(std::numeric_limits<float>::quiet_NaN()) & 0x7FFF) > 0x7C00);
  CHECK_EQ(float_to_bf16_bits(1.0f), 0x3F80);
  CHECK_EQ(float_to_bf16_bits(-3.0f), 0xC040);
  CHECK_EQ(float_to_bf16_bits(1.0f + 1.0f / 256), 0x3F80);  // tie, even stays
  CHECK_EQ(float_to_bf16_bits(1.0f + 3.0f / 256), 0x3F82);
  CHECK((float_to_bf16_bits(std::numeric_limits<float>::quiet_NaN()) & 0x7FFF) > 0x7F80);
}

TEST_CASE("random weights: plain types follow the requested mean and std, block scales are finite") {
  Rng rng(7);
  std::vector<uint8_t> f32(4 * 40000);
  fill_random_weights(GgmlType::F32, 1.0f, 0.5f, rng, f32);
  double sum = 0, sum2 = 0;
  for (size_t i = 0; i < f32.size(); i += 4) {
    float v;
    std::memcpy(&v, &f32[i], 4);
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  const double n = f32.size() / 4.0;
  const double mean = sum / n;
  CHECK(std::fabs(mean - 1.0) < 0.01);
  CHECK(std::fabs(std::sqrt(sum2 / n - mean * mean) - 0.5) < 0.01);
  for (GgmlType type : kWeightTypes) {
    const GgmlTypeTraits traits = ggml_type_traits(type);
    std::vector<uint8_t> data(traits.block_bytes * 64);
    fill_random_weights(type, 0.0f, 0.02f, rng, data);
    const ByteSpan s(data.data(), data.size());
    for (size_t block = 0; block < data.size(); block += traits.block_bytes) {
      for (uint32_t field : f16_field_offsets(type)) CHECK(f16_is_finite(load_le<uint16_t>(s, block + field)));
    }
  }
  std::vector<uint8_t> q(34);
  CHECK_THROWS_KIND(fill_random_weights(GgmlType::Q8_0, 1.0f, 0.02f, rng, q), ErrorKind::invalid_argument);
  std::vector<uint8_t> iq(ggml_type_traits(GgmlType::IQ2_XXS).block_bytes);
  CHECK_THROWS_KIND(fill_random_weights(GgmlType::IQ2_XXS, 0.0f, 0.02f, rng, iq), ErrorKind::unsupported_tensor_type);
  std::vector<uint8_t> odd(35);
  CHECK_THROWS_KIND(fill_random_weights(GgmlType::Q8_0, 0.0f, 0.02f, rng, odd), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(fill_random_weights(GgmlType::F32, 0.0f, -1.0f, rng, f32), ErrorKind::invalid_argument);
}

TEST_CASE("random models: both architectures, every weight type, tied and untied") {
  for (const char* arch : {"llama", "qwen2"}) {
    for (GgmlType type : kWeightTypes) {
      for (bool tied : {false, true}) {
        RandomModelConfig c;
        c.arch = arch;
        c.n_vocab = 300;
        c.n_embd = 256;
        c.n_layer = 2;
        c.n_head = 4;
        c.n_head_kv = 2;
        c.n_ff = 512;
        c.n_ctx_train = 1024;
        c.rope_freq_base = 500000.0f;
        c.rms_eps = 1e-5f;
        c.tied_output = tied;
        c.weight_type = type;
        c.seed = 42;
        const std::string label = std::string(arch) + "/" + std::string(ggml_type_name(type)) + (tied ? "/tied" : "");
        const std::vector<uint8_t> bytes = build_random_model(c).write_bytes();
        const GgufFile f = parse_bytes(bytes);
        const std::string a = arch;
        CHECK_EQ(f.require_string("general.architecture"), std::string_view(arch));
        CHECK_EQ(f.require_uint("general.file_type"), llama_file_type_for(type));
        CHECK_EQ(f.require_uint(a + ".context_length"), 1024u);
        CHECK_EQ(f.require_uint(a + ".embedding_length"), 256u);
        CHECK_EQ(f.require_uint(a + ".block_count"), 2u);
        CHECK_EQ(f.require_uint(a + ".feed_forward_length"), 512u);
        CHECK_EQ(f.require_uint(a + ".attention.head_count"), 4u);
        CHECK_EQ(f.require_uint(a + ".attention.head_count_kv"), 2u);
        CHECK_EQ(f.require_float(a + ".rope.freq_base"), 500000.0);
        CHECK_EQ(f.require_float(a + ".attention.layer_norm_rms_epsilon"), static_cast<double>(1e-5f));
        CHECK(f.find(a + ".rope.dimension_count") == nullptr);
        CHECK_EQ(f.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count, 300u);
        CHECK_EQ(string_of(f, "tokenizer.ggml.model"), std::string_view("llama"));

        const std::vector<RandomTensorSpec> specs = random_model_tensors(c, 300);
        const size_t per_layer = a == "qwen2" ? 12 : 9;
        CHECK_EQ(specs.size(), 1 + 2 * per_layer + 1 + (tied ? 0 : 1));
        CHECK_EQ(f.tensors().size(), specs.size());
        CHECK_EQ(f.find_tensor("output.weight") == nullptr, tied);
        CHECK_EQ(f.find_tensor("blk.1.attn_k.bias") != nullptr, a == "qwen2");
        for (size_t i = 0; i < specs.size() && i < f.tensors().size(); ++i) {
          const GgufTensorInfo& t = f.tensors()[i];
          const RandomTensorSpec& s = specs[i];
          if (t.name != s.name || t.type != s.type || t.n_dims != s.shape.size()) {
            alloy_test::report_failure(__FILE__, __LINE__, label + ": tensor " + std::string(t.name) + " differs");
            continue;
          }
          for (size_t d = 0; d < s.shape.size(); ++d) CHECK_EQ(t.ne[d], s.shape[d]);
          CHECK(t.type == (s.shape.size() == 2 ? type : GgmlType::F32));  // 1-D tensors stay F32
          const ByteSpan data = f.tensor_bytes(t);
          const GgmlTypeTraits traits = ggml_type_traits(t.type);
          for (size_t block = 0; block < data.size(); block += traits.block_bytes) {
            for (uint32_t field : f16_field_offsets(t.type)) {
              if (!f16_is_finite(load_le<uint16_t>(data, block + field))) {
                alloy_test::report_failure(__FILE__, __LINE__, label + ": non-finite scale in " + std::string(t.name));
              }
            }
          }
          if (t.type == GgmlType::F32) {
            for (size_t off = 0; off < data.size(); off += 4) CHECK(std::isfinite(load_le<float>(data, off)));
          }
        }
        if (const GgufTensorInfo* norm = f.find_tensor("output_norm.weight")) {
          const float first = load_le<float>(f.tensor_bytes(*norm), 0);
          CHECK(first > 0.9f && first < 1.1f);
        }
        // Deterministic: the same configuration gives the same bytes.
        CHECK(build_random_model(c).write_bytes() == bytes);
      }
    }
  }
}

TEST_CASE("random models: seeds, scales and n_rot change what they should") {
  RandomModelConfig c;
  c.arch = "llama";
  c.n_vocab = kSyntheticVocabMinSize;
  c.n_embd = 64;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_ff = 128;
  c.n_layer = 1;
  c.n_rot = 16;
  const GgufFile base = parse_bytes(build_random_model(c).write_bytes());
  CHECK_EQ(base.require_uint("llama.rope.dimension_count"), 16u);
  RandomModelConfig reseeded = c;
  reseeded.seed = 2;
  const GgufFile other = parse_bytes(build_random_model(reseeded).write_bytes());
  const auto tensor = [](const GgufFile& f, const char* name) { return span_bytes(f.tensor_bytes(*f.find_tensor(name))); };
  CHECK(tensor(base, "token_embd.weight") != tensor(other, "token_embd.weight"));
  RandomModelConfig sharp = c;
  sharp.qk_std = 0.5f;
  const GgufFile sharp_file = parse_bytes(build_random_model(sharp).write_bytes());
  const auto rms = [](const std::vector<uint8_t>& bytes) {
    double sum2 = 0;
    for (size_t i = 0; i < bytes.size(); i += 4) {
      float v;
      std::memcpy(&v, &bytes[i], 4);
      sum2 += static_cast<double>(v) * v;
    }
    return std::sqrt(sum2 / (bytes.size() / 4));
  };
  CHECK(std::fabs(rms(tensor(sharp_file, "blk.0.attn_q.weight")) - 0.5) < 0.05);
  CHECK(std::fabs(rms(tensor(sharp_file, "blk.0.attn_v.weight")) - 0.02) < 0.005);
  CHECK(tensor(sharp_file, "blk.0.attn_v.weight") == tensor(base, "blk.0.attn_v.weight"));
}

TEST_CASE("random models: per-tensor types override the weight type, file type on request") {
  RandomModelConfig c;
  c.arch = "qwen2";
  c.n_vocab = 300;
  c.n_embd = 128;  // not a multiple of 256: K-quants only fit ffn_down, whose rows are n_ff long
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_ff = 512;
  c.n_layer = 2;
  c.tied_output = true;
  c.weight_type = GgmlType::Q5_0;
  const std::vector<uint8_t> uniform = build_random_model(c).write_bytes();
  RandomModelConfig mixed = c;
  mixed.tensor_types = {
      {"token_embd.weight", GgmlType::Q8_0},
      {"blk.0.attn_v.weight", GgmlType::Q8_0},
      {"blk.0.ffn_down.weight", GgmlType::Q6_K},
      {"blk.1.ffn_down.weight", GgmlType::Q4_K},
  };
  mixed.file_type = 15;  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  const GgufFile f = parse_bytes(build_random_model(mixed).write_bytes());
  CHECK_EQ(f.require_uint("general.file_type"), 15u);
  for (const RandomTensorSpec& spec : random_model_tensors(mixed, 300)) {
    const GgufTensorInfo* t = f.find_tensor(spec.name);
    if (t == nullptr) {
      alloy_test::report_failure(__FILE__, __LINE__, "missing " + spec.name);
      continue;
    }
    const auto it = mixed.tensor_types.find(spec.name);
    const GgmlType expected = spec.shape.size() == 1 ? GgmlType::F32 : it != mixed.tensor_types.end() ? it->second : GgmlType::Q5_0;
    if (t->type != expected) alloy_test::report_failure(__FILE__, __LINE__, spec.name + " has the wrong type");
    const ByteSpan data = f.tensor_bytes(*t);
    for (size_t block = 0; block < data.size(); block += ggml_type_traits(t->type).block_bytes) {
      for (uint32_t field : f16_field_offsets(t->type)) CHECK(f16_is_finite(load_le<uint16_t>(data, block + field)));
    }
  }
  // A tensor's data depends only on the seed, its name and its own type.
  const GgufFile base = parse_bytes(uniform);
  const auto tensor = [](const GgufFile& g, const char* name) { return span_bytes(g.tensor_bytes(*g.find_tensor(name))); };
  CHECK(tensor(f, "blk.0.attn_q.weight") == tensor(base, "blk.0.attn_q.weight"));
  CHECK(tensor(f, "blk.1.attn_v.weight") == tensor(base, "blk.1.attn_v.weight"));
  CHECK_EQ(parse_bytes(uniform).require_uint("general.file_type"), llama_file_type_for(GgmlType::Q5_0));

  const auto rejects = [&c](std::map<std::string, GgmlType> types, ErrorKind kind) {
    RandomModelConfig bad = c;
    bad.tensor_types = std::move(types);
    CHECK_THROWS_KIND(build_random_model(bad), kind);
  };
  rejects({{"blk.2.attn_v.weight", GgmlType::Q8_0}}, ErrorKind::invalid_argument);     // no layer 2
  rejects({{"blk.0.attn_norm.weight", GgmlType::Q8_0}}, ErrorKind::invalid_argument);  // 1-D stays F32
  rejects({{"output.weight", GgmlType::Q8_0}}, ErrorKind::invalid_argument);           // tied: no output
  rejects({{"blk.0.attn_q.weight", GgmlType::Q4_K}}, ErrorKind::invalid_argument);     // 128-long rows
  rejects({{"blk.0.ffn_down.weight", GgmlType::IQ2_XS}}, ErrorKind::unsupported_tensor_type);
}

TEST_CASE("random models reject inconsistent configurations") {
  RandomModelConfig c;
  c.n_vocab = 300;
  const auto rejects = [](RandomModelConfig bad, ErrorKind kind) { CHECK_THROWS_KIND(build_random_model(bad), kind); };
  RandomModelConfig bad = c;
  bad.arch = "gpt2";
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.n_head = 3;  // 256 % 3 != 0
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.n_head_kv = 3;
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.n_vocab = 100;  // below the synthetic minimum
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.n_embd = 128;
  bad.weight_type = GgmlType::Q4_K;  // rows must be multiples of 256
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.weight_type = GgmlType::IQ2_XS;
  rejects(bad, ErrorKind::unsupported_tensor_type);
  bad = c;
  bad.qk_std = std::numeric_limits<float>::infinity();
  rejects(bad, ErrorKind::invalid_argument);
  bad = c;
  bad.vocab_path = alloy_test::shared_models_dir() + "/vocab/ggml-vocab-deepseek-coder.gguf";  // 32256 tokens
  rejects(bad, ErrorKind::invalid_argument);
  bad.vocab_path = "/nonexistent/vocab.gguf";
  bad.n_vocab = 0;
  rejects(bad, ErrorKind::io_error);
}

TEST_CASE("random models copy every tokenizer key of a vocab file") {
  const std::string vocab_path = alloy_test::shared_models_dir() + "/vocab/ggml-vocab-deepseek-coder.gguf";
  RandomModelConfig c;
  c.arch = "qwen2";
  c.n_embd = 64;
  c.n_head = 2;
  c.n_head_kv = 2;
  c.n_ff = 64;
  c.n_layer = 1;
  c.tied_output = true;
  c.weight_type = GgmlType::Q8_0;
  c.vocab_path = vocab_path;
  const std::string path = alloy_test::temp_dir() + "/random_dscoder_vocab.gguf";
  write_random_model(c, path);
  const GgufFile model = GgufFile::open(path);
  const GgufFile vocab = GgufFile::open(vocab_path);
  size_t copied = 0;
  for (const GgufKv& kv : vocab.metadata()) {
    if (kv.key.substr(0, 10) != "tokenizer.") continue;
    ++copied;
    const GgufValue* v = model.find(kv.key);
    if (v == nullptr) {
      alloy_test::report_failure(__FILE__, __LINE__, "missing " + std::string(kv.key));
      continue;
    }
    CHECK(v->type == kv.value.type);
    CHECK_EQ(v->u64, kv.value.u64);
    CHECK_EQ(v->i64, kv.value.i64);
    CHECK_EQ(v->str, kv.value.str);
    CHECK(v->array_type == kv.value.array_type);
    CHECK_EQ(v->array_count, kv.value.array_count);
    CHECK(span_bytes(v->array_raw) == span_bytes(kv.value.array_raw));
    CHECK(v->array_strings == kv.value.array_strings);
  }
  CHECK(copied >= 5);
  const GgufTensorInfo* embd = model.find_tensor("token_embd.weight");
  CHECK(embd != nullptr && embd->ne[0] == 64 && embd->ne[1] == 32256);
  CHECK(model.find("general.alignment") == nullptr);
}
