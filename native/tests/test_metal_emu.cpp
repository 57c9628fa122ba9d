// The Metal emulator (backend/metal/emu/): barriers that really wait, SIMD-group operations
// that really exchange values between lanes (also in partial SIMD groups and after lanes have
// returned), threadgroup memory shared by one threadgroup and fresh for the next, the lane
// attribute values, half, and the errors a kernel must not get past: out-of-bounds and
// misaligned accesses, partial and divergent barriers, divergent SIMD operations; and the
// SIMD-group matrices (simdgroup_matrix.h): exact loads, stores and multiplies, and their
// uniformity and bounds errors.
#include <cstdint>
#include <string>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "check.h"

using namespace alloy::metal_emu;

namespace {

DispatchConfig config(uint32_t groups, uint32_t threads, std::vector<size_t> memory = {}, LaneOrder order = LaneOrder::forward) {
  DispatchConfig c;
  c.threadgroups = metal::uint3(groups, 1u, 1u);
  c.threads_per_threadgroup = metal::uint3(threads, 1u, 1u);
  c.threadgroup_memory = std::move(memory);
  c.order = order;
  return c;
}

// Each lane stores tid + 1, then reads its neighbour's slot; with or without a barrier between.
std::vector<uint32_t> neighbour_exchange(bool with_barrier, LaneOrder order, DispatchReport& report) {
  const uint32_t n = 96;
  Buffer out("out", n * sizeof(uint32_t));
  const Ptr<uint32_t> o = out.view<uint32_t>();
  report = dispatch(config(2, n, {n * sizeof(uint32_t)}, order), [&](const Lane& l) {
    const Ptr<uint32_t> shared = l.threadgroup_memory<uint32_t>(0);
    const uint32_t tid = l.thread_index_in_threadgroup;
    shared[tid] = tid + 1;
    if (with_barrier) metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    o[tid] = shared[(tid + 1) % n];
  });
  return out.to_vector<uint32_t>();
}

}  // namespace

TEST_CASE("a threadgroup barrier holds every lane until all have arrived") {
  for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
    DispatchReport report;
    const std::vector<uint32_t> out = neighbour_exchange(true, order, report);
    CHECK(report.ok());
    CHECK_EQ(report.barriers, 2u);  // one per threadgroup
    CHECK_EQ(report.threadgroups, 2u);
    bool all = true;
    for (uint32_t t = 0; t < out.size(); ++t) all &= out[t] == (t + 1) % 96 + 1;
    CHECK(all);
  }
  // Without the barrier the first lane to run reads a slot no lane has written yet: the
  // emulator interleaves lanes only at synchronisation points, so the race shows.
  DispatchReport report;
  const std::vector<uint32_t> racy = neighbour_exchange(false, LaneOrder::forward, report);
  CHECK(report.ok());
  CHECK_EQ(racy[0], static_cast<uint32_t>(0xFFFFFFFFu));  // fresh threadgroup memory
}

TEST_CASE("simd_sum, simd_max and simd_min reduce over the active lanes of each SIMD group") {
  const uint32_t n = 40;  // SIMD group 1 has 8 lanes
  Buffer sums("sums", n * sizeof(float)), maxes("maxes", n * sizeof(int)), mins("mins", n * sizeof(uint32_t));
  const auto s = sums.view<float>();
  const auto mx = maxes.view<int>();
  const auto mn = mins.view<uint32_t>();
  const DispatchReport report = dispatch(config(1, n), [&](const Lane& l) {
    const uint32_t t = l.thread_index_in_threadgroup;
    s[t] = metal::simd_sum(static_cast<float>(t + 1));
    mx[t] = metal::simd_max(static_cast<int>(t % 7) - 3);
    mn[t] = metal::simd_min(100u - t);
  });
  CHECK(report.ok());
  CHECK_EQ(report.simd_ops, 6u);  // 3 operations x 2 SIMD groups
  const auto sv = sums.to_vector<float>();
  const auto xv = maxes.to_vector<int>();
  const auto nv = mins.to_vector<uint32_t>();
  CHECK_EQ(sv[0], 528.0f);   // 1 + ... + 32
  CHECK_EQ(sv[31], 528.0f);
  CHECK_EQ(sv[32], 292.0f);  // 33 + ... + 40
  CHECK_EQ(sv[39], 292.0f);
  CHECK_EQ(xv[5], 3);
  CHECK_EQ(xv[35], 3);  // t % 7 over 32..39 reaches 6
  CHECK_EQ(nv[0], 69u);
  CHECK_EQ(nv[39], 61u);
}

TEST_CASE("lanes that returned are inactive in later SIMD operations") {
  Buffer out("out", 32 * sizeof(float));
  const auto o = out.view<float>();
  const DispatchReport report = dispatch(config(1, 32), [&](const Lane& l) {
    if (l.thread_index_in_simdgroup >= 20) return;
    o[l.thread_index_in_simdgroup] = metal::simd_sum(1.0f);
  });
  CHECK(report.ok());
  CHECK_EQ(out.to_vector<float>()[0], 20.0f);
}

TEST_CASE("SIMD shuffles move values between lanes") {
  const uint32_t n = 64;
  Buffer out("out", n * 6 * sizeof(float));
  const auto o = out.view<float>();
  const DispatchReport report = dispatch(config(1, n), [&](const Lane& l) {
    const uint32_t t = l.thread_index_in_threadgroup, lane = l.thread_index_in_simdgroup;
    const float v = static_cast<float>(t);
    o[t * 6 + 0] = metal::simd_shuffle(v, static_cast<metal::ushort>(31 - lane));
    o[t * 6 + 1] = metal::simd_shuffle_down(v, 1);
    o[t * 6 + 2] = metal::simd_shuffle_up(v, 2);
    o[t * 6 + 3] = metal::simd_shuffle_xor(v, 5);
    o[t * 6 + 4] = metal::simd_broadcast(v, 7);
    const metal::float4 w = metal::simd_shuffle_down(metal::float4(v, 2 * v, 3 * v, 4 * v), 16);
    o[t * 6 + 5] = w.w;
  });
  CHECK(report.ok());
  const auto r = out.to_vector<float>();
  for (uint32_t t : {0u, 1u, 30u, 31u, 32u, 45u, 63u}) {
    const uint32_t base = t - t % 32, lane = t % 32;
    CHECK_EQ(r[t * 6 + 0], static_cast<float>(base + 31 - lane));
    CHECK_EQ(r[t * 6 + 1], static_cast<float>(lane == 31 ? t : t + 1));  // the top lane keeps its value
    CHECK_EQ(r[t * 6 + 2], static_cast<float>(lane < 2 ? t : t - 2));
    CHECK_EQ(r[t * 6 + 3], static_cast<float>(base + (lane ^ 5)));
    CHECK_EQ(r[t * 6 + 4], static_cast<float>(base + 7));
    CHECK_EQ(r[t * 6 + 5], 4.0f * static_cast<float>(lane < 16 ? t + 16 : t));
  }
}

TEST_CASE("a shuffle from a lane that does not exist is an error") {
  const DispatchReport report = dispatch(config(1, 40), [&](const Lane&) { (void)metal::simd_shuffle_down(1.0f, 8); });
  CHECK(!report.ok());
  CHECK(report.mentions("inactive lane"));
}

TEST_CASE("threadgroup memory is shared within a threadgroup and fresh for each") {
  const uint32_t groups = 3, n = 64;
  Buffer seen("seen", groups * sizeof(uint32_t)), out("out", groups * n * sizeof(uint32_t));
  const auto sv = seen.view<uint32_t>();
  const auto ov = out.view<uint32_t>();
  const DispatchReport report = dispatch(config(groups, n, {16, 256}), [&](const Lane& l) {
    const auto a = l.threadgroup_memory<uint32_t>(0);
    const auto b = l.threadgroup_memory<uint32_t>(1);
    const uint32_t g = l.threadgroup_position_in_grid.x, t = l.thread_index_in_threadgroup;
    if (t == 0) {
      sv[g] = a[0];  // before any write: the poison pattern, not the last threadgroup's value
      a[0] = 7 + g;
    }
    b[t] = t;
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    ov[g * n + t] = a[0] * 1000 + b[n - 1 - t];
  });
  CHECK(report.ok());
  const auto s = seen.to_vector<uint32_t>();
  const auto o = out.to_vector<uint32_t>();
  for (uint32_t g = 0; g < groups; ++g) {
    CHECK_EQ(s[g], 0xFFFFFFFFu);
    CHECK_EQ(o[g * n + 5], (7 + g) * 1000 + (n - 1 - 5));
  }
}

TEST_CASE("each lane sees its own attribute values") {
  DispatchConfig c;
  c.threadgroups = metal::uint3(2u, 3u, 1u);
  c.threads_per_threadgroup = metal::uint3(8u, 5u, 2u);  // 80 threads: 3 SIMD groups
  Buffer out("out", 2 * 3 * 80 * 4 * sizeof(uint32_t));
  const auto o = out.view<uint32_t>();
  const DispatchReport report = dispatch(c, [&](const Lane& l) {
    const metal::uint3 p = l.thread_position_in_grid;
    const uint32_t flat = (p.y * 16 + p.x) * 2 + p.z;  // unique over the 16 x 15 x 2 grid
    o[flat * 4 + 0] = l.thread_index_in_threadgroup;
    o[flat * 4 + 1] = l.simdgroup_index_in_threadgroup * 100 + l.thread_index_in_simdgroup;
    o[flat * 4 + 2] = l.threadgroup_position_in_grid.x + 10 * l.threadgroup_position_in_grid.y;
    o[flat * 4 + 3] = l.simdgroups_per_threadgroup;
  });
  CHECK(report.ok());
  CHECK_EQ(report.lanes, 480u);
  const auto r = out.to_vector<uint32_t>();
  // Thread (3, 4, 1) of threadgroup (1, 2): grid position (11, 14, 1), index 3 + 8 * (4 + 5 * 1) = 75.
  const uint32_t flat = (14 * 16 + 11) * 2 + 1;
  CHECK_EQ(r[flat * 4 + 0], 75u);
  CHECK_EQ(r[flat * 4 + 1], 211u);
  CHECK_EQ(r[flat * 4 + 2], 21u);
  CHECK_EQ(r[flat * 4 + 3], 3u);
}

TEST_CASE("half converts and rounds as IEEE binary16, to nearest even") {
  const metal::half a = 0.1f;
  CHECK_EQ(a.bits(), alloy::float_to_f16_bits(0.1f));
  const metal::half one = 1.0f, tiny = 0.00048828125f;  // 2^-11: half an ulp of 1
  CHECK_EQ(static_cast<float>(one + tiny), 1.0f);         // tie, to even
  const metal::half three_tiny = 0.00146484375f;          // 3 * 2^-11
  CHECK_EQ(static_cast<float>(one + three_tiny), 1.001953125f);  // 1 + 2^-9: tie, to even
  CHECK_EQ(static_cast<float>(metal::half(65520.0f)), INFINITY);
  const float mixed = one + 0.25f;  // half + float is a float addition
  CHECK_EQ(mixed, 1.25f);
  const metal::half4 v(1.0f, 2.0f, 3.0f, 4.0f);
  const metal::float4 f(v);
  CHECK_EQ(metal::dot(f, f), 30.0f);
}

TEST_CASE("out-of-bounds device reads and writes end the dispatch with an error") {
  Buffer in("activations", 100 * sizeof(float)), out("results", 100 * sizeof(float));
  const auto i = in.view<const float>();
  const auto o = out.view<float>();
  // Threadgroups of 32 over 100 elements: the fourth reads elements 100..127.
  const DispatchReport read = dispatch(config(4, 32), [&](const Lane& l) {
    const uint32_t t = l.thread_position_in_grid.x;
    const float v = i[t];
    if (t < 100) o[t] = v;
  });
  CHECK(!read.ok());
  CHECK(read.mentions("out-of-bounds access to device memory 'activations': bytes [400, 404) of 400"));
  CHECK(read.mentions("threadgroup (3,0,0) thread 4"));
  CHECK_EQ(read.threadgroups, 4u);

  const DispatchReport write = dispatch(config(1, 32), [&](const Lane& l) { o[l.thread_index_in_threadgroup + 99] = 1.0f; });
  CHECK(write.mentions("'results': bytes [400, 404)"));
  // An index that wrapped below zero (unsigned arithmetic) is caught too.
  const DispatchReport under = dispatch(config(1, 32), [&](const Lane& l) { o[l.thread_index_in_threadgroup - 1u] = 1.0f; });
  CHECK(under.mentions("out-of-bounds access to device memory 'results'"));
  // A view cast to a wider type: the last float4 would reach past the end.
  const DispatchReport wide = dispatch(config(1, 32), [&](const Lane& l) {
    const Ptr<const metal::float4> v4 = static_cast<Ptr<const metal::float4>>(i + 1);
    (void)v4[l.thread_index_in_threadgroup];
  });
  CHECK(wide.mentions("misaligned access to 'activations'"));
  const DispatchReport past = dispatch(config(1, 32), [&](const Lane& l) {
    const Ptr<const metal::float4> v4 = static_cast<Ptr<const metal::float4>>(i);
    (void)v4[l.thread_index_in_threadgroup];
  });
  CHECK(past.mentions("bytes [400, 416) of 400"));
  // The emulator is usable again after a dispatch it abandoned mid-way.
  const DispatchReport again = dispatch(config(1, 32), [&](const Lane& l) { o[l.thread_index_in_threadgroup] = 2.0f; });
  CHECK(again.ok());
}

TEST_CASE("out-of-bounds threadgroup memory accesses are errors") {
  const DispatchReport report = dispatch(config(1, 64, {128}), [&](const Lane& l) {
    l.threadgroup_memory<float>(0)[l.thread_index_in_threadgroup] = 0.0f;  // 32 floats, 64 threads
  });
  CHECK(report.mentions("out-of-bounds access to threadgroup memory 'threadgroup(0)': bytes [128, 132) of 128"));
  const DispatchReport missing = dispatch(config(1, 32), [&](const Lane& l) { (void)l.threadgroup_memory<float>(0); });
  CHECK(missing.mentions("no threadgroup memory at index 0"));
}

TEST_CASE("a barrier that only some threads reach is an error, not a hang") {
  for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
    const DispatchReport report = dispatch(config(2, 64, {}, order), [&](const Lane& l) {
      if (l.thread_index_in_threadgroup >= 40) return;
      metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    });
    CHECK(!report.ok());
    CHECK(report.mentions("partial barrier in threadgroup (0,0,0)"));
    CHECK(report.mentions("reached by 40 of 64 threads (24 returned without it)"));
  }
  const DispatchReport split = dispatch(config(1, 64), [&](const Lane& l) {
    if (l.thread_index_in_threadgroup % 2 == 0) {
      metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    } else {
      metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
  });
  CHECK(split.mentions("can never proceed (0 returned; 32 at threadgroup_barrier at "));
}

TEST_CASE("SIMD operations not reached by the whole SIMD group are errors") {
  const DispatchReport mixed = dispatch(config(1, 32), [&](const Lane& l) {
    if (l.thread_index_in_simdgroup < 16) {
      (void)metal::simd_sum(1.0f);
    } else {
      metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    }
  });
  CHECK(mixed.mentions("can never proceed (0 returned; 16 at SIMD-group operation at "));
  const DispatchReport two_sites = dispatch(config(1, 32), [&](const Lane& l) {
    if (l.thread_index_in_simdgroup < 16) {
      (void)metal::simd_sum(1.0f);
    } else {
      (void)metal::simd_sum(2.0f);
    }
  });
  CHECK(two_sites.mentions("divergent SIMD-group operations in SIMD group 0"));
}

namespace {

using metal::simdgroup_float8x8;
using metal::simdgroup_half8x8;

// Small integers and halves: every product and sum below is exact in float, so the emulated
// multiply must give the double reference bit for bit.
float small_value(uint32_t i) { return static_cast<float>(static_cast<int>(i % 7) - 3) + (i % 2 == 0 ? 0.5f : 0.0f); }

}  // namespace

TEST_CASE("SIMD-group matrices: strided, offset and transposed loads, mixed-type multiply-accumulate, stores") {
  const uint32_t n = 64, a_epr = 12, b_epr = 9;  // two SIMD groups; A: 10 x 12 floats, B: 8 x 9 halves
  std::vector<metal::half> b_values;
  for (uint32_t i = 0; i < 8 * b_epr; ++i) b_values.push_back(metal::half(small_value(i * 5 + 1)));
  const Buffer b_src = Buffer::of("b", b_values);
  Buffer out("out", 2 * 64 * sizeof(float)), out_t("out_t", 2 * 9 * 10 * sizeof(float)), out_p("out_p", 2 * 64 * sizeof(float));
  const auto bv = b_src.view<const metal::half>();
  const auto ov = out.view<float>(), otv = out_t.view<float>(), opv = out_p.view<float>();
  const DispatchReport report = dispatch(config(1, n, {10 * a_epr * sizeof(float)}), [&](const Lane& l) {
    const auto a_src = l.threadgroup_memory<float>(0);
    for (uint32_t i = l.thread_index_in_threadgroup; i < 10 * a_epr; i += n) a_src[i] = small_value(i);
    metal::threadgroup_barrier(metal::mem_flags::mem_threadgroup);
    const uint32_t g = l.simdgroup_index_in_threadgroup;
    simdgroup_float8x8 a, c = metal::make_filled_simdgroup_matrix<float, 8, 8>(0.5f), d;
    simdgroup_half8x8 b;
    metal::simdgroup_load(a, a_src, a_epr, metal::ulong2(2 + g, 1));  // a(i, j) = A[1 + i][2 + g + j]
    metal::simdgroup_load(b, bv, b_epr, metal::ulong2(0ul), true);  // b(i, j) = B[j][i]
    metal::simdgroup_multiply_accumulate(d, a, b, c);
    metal::simdgroup_store(d, ov + g * 64, 8);
    metal::simdgroup_store(d, otv + g * 90, 10, metal::ulong2(1, 1), true);  // d(i, j) at [1 + j][1 + i]
    simdgroup_float8x8 p;
    metal::simdgroup_multiply(p, a, b);  // a * b, no accumulator
    metal::simdgroup_store(p, opv + g * 64);
  });
  CHECK(report.ok());
  CHECK_EQ(report.simd_ops, 2u * 7u);
  const auto o = out.to_vector<float>(), ot = out_t.to_vector<float>(), op = out_p.to_vector<float>();
  bool exact = true, transposed = true;
  for (uint32_t g = 0; g < 2; ++g) {
    for (uint32_t i = 0; i < 8; ++i) {
      for (uint32_t j = 0; j < 8; ++j) {
        double ref = 0.5;
        for (uint32_t k = 0; k < 8; ++k) ref += static_cast<double>(small_value((1 + i) * a_epr + 2 + g + k)) * float(b_values[j * b_epr + k]);
        exact &= o[g * 64 + i * 8 + j] == ref;
        transposed &= ot[g * 90 + (1 + j) * 10 + 1 + i] == ref;
        exact &= op[g * 64 + i * 8 + j] == ref - 0.5;
      }
    }
  }
  CHECK(exact);
  CHECK(transposed);
  const simdgroup_float8x8 diagonal(2.0f);  // MSL: the constructor makes v * I
  CHECK_EQ(diagonal.e[3][3], 2.0f);
  CHECK_EQ(diagonal.e[3][4], 0.0f);
}

TEST_CASE("SIMD-group matrix operations must be reached by all 32 lanes, at one site, with one set of arguments") {
  const auto m = [] { return metal::make_filled_simdgroup_matrix<float, 8, 8>(1.0f); };
  Buffer buf("buf", 256 * sizeof(float));
  const auto bv = buf.view<float>();
  const DispatchReport two_sites = dispatch(config(1, 32), [&](const Lane& l) {
    simdgroup_float8x8 a;
    if (l.thread_index_in_simdgroup < 16) {
      metal::simdgroup_load(a, bv, 8);
    } else {
      metal::simdgroup_load(a, bv, 8);
    }
  });
  CHECK(two_sites.mentions("divergent SIMD-group operations in SIMD group 0"));
  const DispatchReport returned = dispatch(config(1, 32), [&](const Lane& l) {
    if (l.thread_index_in_simdgroup >= 20) return;
    simdgroup_float8x8 d;
    metal::simdgroup_multiply_accumulate(d, m(), m(), m());
  });
  CHECK(returned.mentions("simdgroup_multiply_accumulate needs all 32 lanes of the SIMD group, lane 20 has returned"));
  const DispatchReport partial_group = dispatch(config(1, 40), [&](const Lane&) { metal::simdgroup_store(m(), bv, 8); });
  CHECK(partial_group.mentions("simdgroup_store needs all 32 lanes of the SIMD group, lane 8 does not exist"));
  const DispatchReport per_lane = dispatch(config(1, 32), [&](const Lane& l) {
    simdgroup_float8x8 a;
    metal::simdgroup_load(a, bv + l.thread_index_in_simdgroup, 8);
  });
  CHECK(per_lane.mentions("simdgroup_load: lane 1 passes other arguments than lane 0"));
}

TEST_CASE("SIMD-group matrix loads and stores outside their memory are errors") {
  const DispatchReport load = dispatch(config(1, 32, {60 * sizeof(float)}), [&](const Lane& l) {
    simdgroup_float8x8 a;
    metal::simdgroup_load(a, l.threadgroup_memory<float>(0), 8);  // reads 64 floats of 60
  });
  CHECK(load.mentions("simdgroup_load: out-of-bounds access to threadgroup memory 'threadgroup(0)': bytes [240, 244) of 240"));
  Buffer small("small", 64 * sizeof(float));
  const auto sv = small.view<float>();
  const DispatchReport store = dispatch(config(1, 32), [&](const Lane&) {
    metal::simdgroup_store(metal::make_filled_simdgroup_matrix<float, 8, 8>(0.0f), sv, 8, metal::ulong2(1, 0));
  });
  CHECK(store.mentions("simdgroup_store: out-of-bounds access to device memory 'small': bytes [256, 260) of 256"));
}

TEST_CASE("dispatches outside Metal's limits are rejected") {
  const auto nothing = [](const Lane&) {};
  CHECK(dispatch(config(1, 1025), nothing).mentions("more than 1024 threads per threadgroup"));
  CHECK(dispatch(config(1, 32, {20}), nothing).mentions("not a multiple of 16 bytes"));
  CHECK(dispatch(config(1, 32, {16384, 16400}), nothing).mentions("more than 32 KiB"));
  CHECK(dispatch(config(0, 32), nothing).mentions("empty grid"));
}
