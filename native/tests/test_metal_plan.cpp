// The Metal dispatch plan (backend/metal/plan/forward_plan.h) for random-weight models: the
// dispatch count per token, every binding inside its buffer and written before it is read,
// grids that cover every output row, and typed refusals.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/metal/kernels/kernel_args.h"
#include "backend/metal/plan/forward_plan.h"
#include "check.h"
#include "core/model.h"
#include "core/random_model.h"
#include "metal_plan_models.h"

using namespace alloy;
using namespace alloy::metal;

namespace {

// A 0.5B-shaped model's structure (24 layers) at a small width, all weights of `type`.
RandomModelConfig shape_05b(GgmlType type) { return alloy_test::small_qwen2(type, 24, true); }

int count_layer(const Plan& plan, int layer) {
  int n = 0;
  for (const Dispatch& d : plan.dispatches) n += d.layer == layer ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("decode plan: 6 dispatches per layer + 2 (issue 8's bound: 6 + 4), valid bindings and dataflow") {
  const auto model = alloy_test::random_plan_model("plan-q8_0", shape_05b(GgmlType::Q8_0));
  const Plan plan = plan_step(*model, StepShape{1, 17, 256, false});
  check_plan(plan);
  const int per_layer = count_layer(plan, 0);
  const int total = static_cast<int>(plan.dispatches.size());
  std::printf("decode: %d dispatches per layer, %d per token (24 layers)\n", per_layer, total);
  CHECK_EQ(per_layer, 6);
  for (int il = 0; il < 24; ++il) CHECK_EQ(count_layer(plan, il), per_layer);
  CHECK_EQ(total, 24 * per_layer + 2);
  CHECK_EQ(plan.dispatches.front().pipeline, std::string("kernel_get_rows_q8_0"));
  CHECK_EQ(plan.dispatches.back().pipeline, std::string("kernel_mv_q8_0_norm_store"));
}

namespace {

// Threadgroups that cover n_rows once: ceil(n_rows / rows per threadgroup).
int64_t groups_for(int64_t n_rows, int rows_per_group) { return (n_rows + rows_per_group - 1) / rows_per_group; }

}  // namespace

TEST_CASE("matvec grids cover every output row once, attention picks decode or prefill") {
  RandomModelConfig config = shape_05b(GgmlType::Q4_K);
  config.tensor_types["token_embd.weight"] = GgmlType::Q8_0;  // the tied output: a second matvec type
  const auto model = alloy_test::random_plan_model("plan-q4_k", config);
  int qkv_dispatches = 0;
  for (int n_tokens : {1, 5}) {
    const Plan plan = plan_step(*model, StepShape{n_tokens, 3, 64, n_tokens > 1});
    check_plan(plan);
    for (const Dispatch& d : plan.dispatches) {
      if (d.pipeline.rfind("kernel_mv_", 0) == 0) {
        const bool q8 = d.pipeline.rfind("kernel_mv_q8_0", 0) == 0;  // the tied output
        const int rows_per_group = (q8 ? int{kargs::kMatVecQ8_0Rows} : int{kargs::kMatVecQ4_KRows}) * kargs::kMatVecSimdgroups;
        int64_t expected = 0;
        if (d.pipeline.size() > 4 && d.pipeline.compare(d.pipeline.size() - 4, 4, "_qkv") == 0) {  // Q's, then K's and V's groups
          kargs::MatVecQkv args{};
          std::memcpy(&args, d.args.data(), sizeof args);
          expected = groups_for(args.q.shape.n_rows, rows_per_group) + 2 * groups_for(args.n_kv_rows, rows_per_group);
          ++qkv_dispatches;
        } else {
          kargs::MatVecFused args{};
          std::memcpy(&args, d.args.data(), sizeof args);
          expected = groups_for(args.shape.n_rows, rows_per_group);
        }
        CHECK_EQ(static_cast<int64_t>(d.threadgroups.x), expected);
        CHECK_EQ(static_cast<int>(d.threadgroups.y), n_tokens);
      }
      if (d.pipeline.rfind("kernel_attention_", 0) == 0) {
        CHECK_EQ(d.pipeline, std::string(n_tokens == 1 ? "kernel_attention_decode_f16" : "kernel_attention_prefill_f16"));
      }
    }
  }
  CHECK_EQ(qkv_dispatches, 2 * 24);
}

// Prompt steps of kargs::kMatMulMinTokens tokens or more: the mm kernels with the RMSNorm and
// SwiGLU they do not fuse, 12 dispatches per layer; the output too when every token's logits
// are wanted. One token fewer keeps the matvec plan.
TEST_CASE("prompt plan: kMatMulMinTokens tokens or more take kernel_mm, with grids over row and token tiles") {
  const auto model = alloy_test::random_plan_model("plan-mm-q4_k", alloy_test::small_qwen2(GgmlType::Q4_K, 2));
  const int n_min = kargs::kMatMulMinTokens;
  const Plan below = plan_step(*model, StepShape{n_min - 1, 0, 64, true});
  check_plan(below);
  CHECK_EQ(count_layer(below, 0), 6);
  const std::vector<std::string> layer = {"kernel_rms_norm_f32", "kernel_mm_q4_K", "kernel_mm_q4_K", "kernel_mm_q4_K",
                                          "kernel_rope_store_f16", "kernel_attention_prefill_f16", "kernel_mm_q4_K",
                                          "kernel_rms_norm_f32", "kernel_mm_q4_K", "kernel_mm_q4_K", "kernel_swiglu_f32",
                                          "kernel_mm_q4_K"};
  for (int n_tokens : {n_min, 40}) {
    const Plan plan = plan_step(*model, StepShape{n_tokens, 3, 64, true});
    check_plan(plan);
    std::vector<std::string> layer0;
    for (const Dispatch& d : plan.dispatches) {
      if (d.layer == 0) layer0.push_back(d.pipeline);
      CHECK(d.pipeline.rfind("kernel_mv_", 0) != 0);
      if (d.pipeline.rfind("kernel_mm_", 0) != 0) continue;
      kargs::MatMul args{};
      std::memcpy(&args, d.args.data(), sizeof args);
      CHECK_EQ(static_cast<int64_t>(d.threadgroups.x), groups_for(args.n_rows, kargs::kMatMulRows));
      CHECK_EQ(static_cast<int64_t>(d.threadgroups.y), groups_for(n_tokens, kargs::kMatMulTokens));
      CHECK_EQ(args.n_tokens, n_tokens);
    }
    CHECK(layer0 == layer);
    CHECK_EQ(count_layer(plan, 1), 12);
    CHECK_EQ(plan.dispatches.back().pipeline, std::string("kernel_mm_q8_0"));  // the tied Q8_0 output, every token
  }
  const Plan last_only = plan_step(*model, StepShape{40, 0, 64, false});
  check_plan(last_only);
  CHECK_EQ(last_only.dispatches.back().pipeline, std::string("kernel_mv_q8_0_norm_store"));
}

TEST_CASE("check_plan catches a binding past its buffer and a read before any write") {
  const auto model = alloy_test::random_plan_model("plan-f16", shape_05b(GgmlType::F16));
  Plan plan = plan_step(*model, StepShape{2, 0, 32, false});
  check_plan(plan);
  Plan too_far = plan;
  too_far.dispatches[1].bindings[2].offset += 4;  // the first matvec's input row range
  CHECK_THROWS_KIND(check_plan(too_far), ErrorKind::internal);
  Plan unordered = plan;
  std::swap(unordered.dispatches[0], unordered.dispatches[1]);  // a matvec before the embedding
  CHECK_THROWS_KIND(check_plan(unordered), ErrorKind::internal);
}

// Every weight type a model can hold (the CPU backend's) has Metal kernels, BF16 included; the
// type refusal left is a gate / up pair of two types (one kernel reads both).
TEST_CASE("typed refusals: a step past the cache, gate and up weights of two types") {
  const auto model = alloy_test::random_plan_model("plan-q8_0-small", shape_05b(GgmlType::Q8_0));
  CHECK_THROWS_KIND(plan_step(*model, StepShape{8, 60, 64, false}), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(plan_step(*model, StepShape{0, 0, 64, false}), ErrorKind::invalid_argument);
  RandomModelConfig bf16 = shape_05b(GgmlType::BF16);
  bf16.n_layer = 1;
  const auto bf16_model = alloy_test::random_plan_model("plan-bf16", bf16);
  const Plan bf16_plan = plan_step(*bf16_model, StepShape{1, 0, 64, false});
  check_plan(bf16_plan);
  CHECK_EQ(bf16_plan.dispatches.front().pipeline, std::string("kernel_get_rows_bf16"));
  CHECK_EQ(bf16_plan.dispatches.back().pipeline, std::string("kernel_mv_bf16_norm_store"));
  bf16.tensor_types["blk.0.ffn_up.weight"] = GgmlType::Q8_0;
  const auto mixed_model = alloy_test::random_plan_model("plan-bf16-mixed-ffn", bf16);
  CHECK_THROWS_KIND(plan_step(*mixed_model, StepShape{1, 0, 64, false}), ErrorKind::unsupported_tensor_type);
}
