// Small random-weight qwen2 models for the Metal plan tests (test_metal_plan,
// test_metal_encoding): the 0.5B's structure (14 / 2 heads becomes 4 / 2, biases, tied output)
// at a small width, written once per name into the test's scratch directory.
#pragma once

#include <memory>
#include <string>

#include "check.h"
#include "core/model.h"
#include "core/random_model.h"

namespace alloy_test {

inline std::shared_ptr<const alloy::Model> random_plan_model(const std::string& name, const alloy::RandomModelConfig& config) {
  const std::string path = temp_dir() + "/" + name + ".gguf";
  alloy::write_random_model(config, path);
  return alloy::Model::open(path);
}

// `n_layer` layers of `type` weights; the embedding (and tied output) Q8_0 unless `embd_too`,
// so that a plan mixes two weight types as Q4_K_M files do.
inline alloy::RandomModelConfig small_qwen2(alloy::GgmlType type, int n_layer, bool embd_too = false) {
  alloy::RandomModelConfig c;
  c.arch = "qwen2";
  c.n_layer = n_layer;
  c.n_embd = 256;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.n_ff = 512;
  c.n_vocab = 512;
  c.weight_type = type;
  if (!embd_too) c.tensor_types["token_embd.weight"] = alloy::GgmlType::Q8_0;
  c.tied_output = true;
  return c;
}

}  // namespace alloy_test
