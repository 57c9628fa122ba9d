// The conversion of the Metal dispatch plan into the host's C structs
// (backend/metal/host/plan_encoding.h -> metal_host.h): every dispatch converted in order with
// its pipeline index, grid, args bytes, bindings (through a non-identity buffer table) and
// threadgroup memory preserved; the pipeline list deduplicated and complete over decode and
// prefill plans; every supported weight type encodable; and typed refusals of what the Metal
// host could not run.
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "backend/metal/host/plan_encoding.h"
#include "backend/metal/plan/forward_plan.h"
#include "check.h"
#include "core/model.h"
#include "core/random_model.h"
#include "metal_plan_models.h"

using namespace alloy;
using namespace alloy::metal;
using alloy_test::small_qwen2;

namespace {

// Host ids in reverse order of BufferId, so that a conversion that ignored the table shows.
HostBufferIds reversed_ids() {
  HostBufferIds ids{};
  for (int b = 0; b < kBufferCount; ++b) ids[static_cast<size_t>(b)] = static_cast<uint32_t>(kBufferCount - 1 - b);
  return ids;
}

// Every field of every converted dispatch against the plan's.
void check_encoded(const Plan& plan, const EncodedPlan& encoded, const std::vector<std::string>& names, const HostBufferIds& ids) {
  CHECK_EQ(encoded.dispatches().size(), plan.dispatches.size());
  if (encoded.dispatches().size() != plan.dispatches.size()) return;
  for (size_t i = 0; i < plan.dispatches.size(); ++i) {
    const Dispatch& d = plan.dispatches[i];
    const AlloyMetalDispatch& c = encoded.dispatches()[i];
    CHECK(c.pipeline < names.size() && names[c.pipeline] == d.pipeline);
    CHECK(c.threadgroups[0] == d.threadgroups.x && c.threadgroups[1] == d.threadgroups.y && c.threadgroups[2] == d.threadgroups.z);
    CHECK(c.threads_per_threadgroup[0] == d.threads_per_threadgroup.x && c.threads_per_threadgroup[1] == d.threads_per_threadgroup.y &&
          c.threads_per_threadgroup[2] == d.threads_per_threadgroup.z);
    CHECK_EQ(c.args_bytes, d.args.size());
    CHECK(c.args_bytes > 0 && std::memcmp(c.args, d.args.data(), d.args.size()) == 0);
    CHECK_EQ(c.n_bindings, d.bindings.size());
    for (size_t b = 0; b < d.bindings.size() && b < c.n_bindings; ++b) {
      CHECK_EQ(c.bindings[b].slot, d.bindings[b].slot);
      CHECK_EQ(c.bindings[b].buffer, ids[static_cast<size_t>(d.bindings[b].buffer)]);
      CHECK_EQ(c.bindings[b].offset, d.bindings[b].offset);
    }
    CHECK_EQ(c.n_threadgroup_memory, d.threadgroup_memory.size());
    for (size_t m = 0; m < d.threadgroup_memory.size() && m < c.n_threadgroup_memory; ++m) {
      CHECK_EQ(c.threadgroup_memory[m], d.threadgroup_memory[m]);
    }
  }
}

}  // namespace

TEST_CASE("decode and prefill plans: one deduplicated, complete pipeline list, every dispatch converted") {
  const auto model = alloy_test::random_plan_model("encoding-q8_0", small_qwen2(GgmlType::Q8_0, 24));
  const Plan decode = plan_step(*model, StepShape{1, 17, 256, false});
  const Plan prefill = plan_step(*model, StepShape{7, 0, 256, true});
  std::vector<std::string> names;
  add_pipelines(decode, names);
  const size_t decode_names = names.size();
  add_pipelines(prefill, names);
  add_pipelines(decode, names);  // idempotent
  std::set<std::string> used;
  for (const Plan* p : {&decode, &prefill}) {
    for (const Dispatch& d : p->dispatches) used.insert(d.pipeline);
  }
  CHECK_EQ(names.size(), used.size());                          // complete and no duplicates
  CHECK(std::set<std::string>(names.begin(), names.end()) == used);
  CHECK_EQ(names.size(), decode_names + 1);                     // prefill adds its attention kernel
  CHECK_EQ(names.front(), decode.dispatches.front().pipeline);  // first-use order
  std::printf("pipelines: %zu (decode %zu), decode dispatches %zu\n", names.size(), decode_names, decode.dispatches.size());

  const std::vector<const char*> pointers = pipeline_name_pointers(names);
  CHECK_EQ(pointers.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) CHECK(pointers[i] == names[i].c_str());

  const HostBufferIds ids = reversed_ids();
  for (const Plan* p : {&decode, &prefill}) check_encoded(*p, encode_plan(*p, names, ids), names, ids);
  const HostBufferIds identity = identity_buffer_ids();
  for (int b = 0; b < kBufferCount; ++b) CHECK_EQ(identity[static_cast<size_t>(b)], static_cast<uint32_t>(b));
  check_encoded(decode, encode_plan(decode, names, identity), names, identity);
}

TEST_CASE("an encoded plan keeps its pointers valid when moved") {
  const auto model = alloy_test::random_plan_model("encoding-f16", small_qwen2(GgmlType::F16, 2));
  const Plan plan = plan_step(*model, StepShape{3, 5, 64, false});
  std::vector<std::string> names;
  add_pipelines(plan, names);
  EncodedPlan first = encode_plan(plan, names, identity_buffer_ids());
  EncodedPlan moved = std::move(first);
  check_encoded(plan, moved, names, identity_buffer_ids());
  EncodedPlan assigned;
  assigned = std::move(moved);
  check_encoded(plan, assigned, names, identity_buffer_ids());
}

TEST_CASE("every weight type with a Metal matvec kernel encodes (aligned offsets, 16-byte threadgroup memory)") {
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1,
                            GgmlType::Q8_0, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};
  for (GgmlType type : types) {
    const auto model = alloy_test::random_plan_model(std::string("encoding-") + std::string(ggml_type_name(type)), small_qwen2(type, 1));
    for (int n_tokens : {1, 4}) {
      const Plan plan = plan_step(*model, StepShape{n_tokens, 0, 64, false});
      std::vector<std::string> names;
      add_pipelines(plan, names);
      check_encoded(plan, encode_plan(plan, names, identity_buffer_ids()), names, identity_buffer_ids());
    }
  }
}

TEST_CASE("refuses what the Metal host could not run") {
  const auto model = alloy_test::random_plan_model("encoding-refusals", small_qwen2(GgmlType::Q4_0, 1));
  const Plan plan = plan_step(*model, StepShape{1, 0, 64, false});
  std::vector<std::string> names;
  add_pipelines(plan, names);
  const HostBufferIds ids = identity_buffer_ids();
  CHECK_THROWS_KIND(encode_plan(plan, std::vector<std::string>(names.begin() + 1, names.end()), ids), ErrorKind::internal);
  HostBufferIds out_of_range = ids;
  out_of_range[static_cast<size_t>(BufferId::x)] = kAlloyMetalMaxBuffers;
  CHECK_THROWS_KIND(encode_plan(plan, names, out_of_range), ErrorKind::internal);
  size_t mv = 0;  // the first matvec: six bindings and threadgroup memory
  while (mv < plan.dispatches.size() && plan.dispatches[mv].pipeline.rfind("kernel_mv_", 0) != 0) ++mv;
  CHECK(mv < plan.dispatches.size());
  if (mv == plan.dispatches.size()) return;
  Plan slot_zero = plan;
  slot_zero.dispatches[mv].bindings[0].slot = 0;
  CHECK_THROWS_KIND(encode_plan(slot_zero, names, ids), ErrorKind::internal);
  Plan slot_high = plan;
  slot_high.dispatches[mv].bindings[0].slot = kAlloyMetalMaxSlots;
  CHECK_THROWS_KIND(encode_plan(slot_high, names, ids), ErrorKind::internal);
  Plan unaligned = plan;
  unaligned.dispatches[mv].bindings[2].offset += 2;
  CHECK_THROWS_KIND(encode_plan(unaligned, names, ids), ErrorKind::internal);
  Plan odd_memory = plan;
  odd_memory.dispatches[mv].threadgroup_memory[0] = 20;
  CHECK_THROWS_KIND(encode_plan(odd_memory, names, ids), ErrorKind::internal);
  Plan big_args = plan;
  big_args.dispatches[mv].args.resize(kAlloyMetalMaxArgsBytes + 1);
  CHECK_THROWS_KIND(encode_plan(big_args, names, ids), ErrorKind::internal);
}
