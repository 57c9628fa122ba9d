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
  config.tensor_types["token_embd.weight"] = GgmlType::Q8_0;  // get_rows has no K-quant kernel yet
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

TEST_CASE("typed refusals: a step past the cache, a weight type without a kernel") {
  const auto model = alloy_test::random_plan_model("plan-q8_0-small", shape_05b(GgmlType::Q8_0));
  CHECK_THROWS_KIND(plan_step(*model, StepShape{8, 60, 64, false}), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(plan_step(*model, StepShape{0, 0, 64, false}), ErrorKind::invalid_argument);
  RandomModelConfig bf16 = shape_05b(GgmlType::BF16);
  bf16.n_layer = 1;
  const auto bf16_model = alloy_test::random_plan_model("plan-bf16", bf16);
  CHECK_THROWS_KIND(plan_step(*bf16_model, StepShape{1, 0, 64, false}), ErrorKind::unsupported_tensor_type);
}
