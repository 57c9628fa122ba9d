// The Metal dispatch plan (backend/metal/plan/forward_plan.h) for random-weight models: the
// dispatch count per token, every binding inside its buffer and written before it is read,
// grids that cover every output row, and typed refusals.
#include <cstdio>
#include <cstring>
#include <string>

#include "backend/metal/kernels/kernel_args.h"
#include "backend/metal/plan/forward_plan.h"
#include "check.h"
#include "core/model.h"
#include "core/random_model.h"

using namespace alloy;
using namespace alloy::metal;

namespace {

std::shared_ptr<const Model> random_model(const std::string& name, RandomModelConfig config) {
  const std::string path = alloy_test::temp_dir() + "/" + name + ".gguf";
  write_random_model(config, path);
  return Model::open(path);
}

// A 0.5B-shaped model's structure (24 layers, 14 / 2 heads, biases) at a small width.
RandomModelConfig shape_05b(GgmlType type) {
  RandomModelConfig c;
  c.arch = "qwen2";
  c.n_layer = 24;
  c.n_embd = 256;
  c.n_head = 4;
  c.n_head_kv = 2;
  c.n_ff = 512;
  c.n_vocab = 512;
  c.weight_type = type;
  c.tied_output = true;
  return c;
}

int count_layer(const Plan& plan, int layer) {
  int n = 0;
  for (const Dispatch& d : plan.dispatches) n += d.layer == layer ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("decode plan: dispatches per layer and per token, valid bindings and dataflow") {
  const auto model = random_model("plan-q8_0", shape_05b(GgmlType::Q8_0));
  const Plan plan = plan_step(*model, StepShape{1, 17, 256, false});
  check_plan(plan);
  const int per_layer = count_layer(plan, 0);
  const int total = static_cast<int>(plan.dispatches.size());
  std::printf("decode: %d dispatches per layer, %d per token (24 layers)\n", per_layer, total);
  for (int il = 0; il < 24; ++il) CHECK_EQ(count_layer(plan, il), per_layer);
  CHECK_EQ(total, 24 * per_layer + 2);
  CHECK_EQ(plan.dispatches.front().pipeline, std::string("kernel_get_rows_q8_0"));
  CHECK_EQ(plan.dispatches.back().pipeline, std::string("kernel_mv_q8_0_norm_store"));
}

TEST_CASE("matvec grids cover every output row once, attention picks decode or prefill") {
  RandomModelConfig config = shape_05b(GgmlType::Q4_K);
  config.tensor_types["token_embd.weight"] = GgmlType::Q8_0;  // get_rows has no K-quant kernel yet
  const auto model = random_model("plan-q4_k", config);
  for (int n_tokens : {1, 5}) {
    const Plan plan = plan_step(*model, StepShape{n_tokens, 3, 64, n_tokens > 1});
    check_plan(plan);
    for (const Dispatch& d : plan.dispatches) {
      if (d.pipeline.rfind("kernel_mv_", 0) == 0) {
        kargs::MatVecFused args{};
        std::memcpy(&args, d.args.data(), sizeof args);
        const bool q8 = d.pipeline.rfind("kernel_mv_q8_0", 0) == 0;  // the tied output
        const int rows_per_group = (q8 ? int{kargs::kMatVecQ8_0Rows} : int{kargs::kMatVecQ4_KRows}) * kargs::kMatVecSimdgroups;
        CHECK(static_cast<int64_t>(d.threadgroups.x) * rows_per_group >= args.shape.n_rows);
        CHECK(static_cast<int64_t>(d.threadgroups.x - 1) * rows_per_group < args.shape.n_rows);
        CHECK(d.threadgroups.y >= 1);
      }
      if (d.pipeline.rfind("kernel_attention_", 0) == 0) {
        CHECK_EQ(d.pipeline, std::string(n_tokens == 1 ? "kernel_attention_decode_f16" : "kernel_attention_prefill_f16"));
      }
    }
  }
}

TEST_CASE("check_plan catches a binding past its buffer and a read before any write") {
  const auto model = random_model("plan-f16", shape_05b(GgmlType::F16));
  Plan plan = plan_step(*model, StepShape{2, 0, 32, false});
  check_plan(plan);
  Plan too_far = plan;
  too_far.dispatches[1].bindings[2].offset += 4;  // the first matvec's input row range
  CHECK_THROWS_KIND(check_plan(too_far), ErrorKind::internal);
  Plan unordered = plan;
  std::swap(unordered.dispatches[0], unordered.dispatches[1]);  // a matvec before the embedding
  CHECK_THROWS_KIND(check_plan(unordered), ErrorKind::internal);
}

TEST_CASE("typed refusals: a step past the cache, a weight type without a kernel") {
  const auto model = random_model("plan-q8_0-small", shape_05b(GgmlType::Q8_0));
  CHECK_THROWS_KIND(plan_step(*model, StepShape{8, 60, 64, false}), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(plan_step(*model, StepShape{0, 0, 64, false}), ErrorKind::invalid_argument);
  RandomModelConfig bf16 = shape_05b(GgmlType::BF16);
  bf16.n_layer = 1;
  const auto bf16_model = random_model("plan-bf16", bf16);
  CHECK_THROWS_KIND(plan_step(*bf16_model, StepShape{1, 0, 64, false}), ErrorKind::unsupported_tensor_type);
}
