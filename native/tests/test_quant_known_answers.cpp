// Bit-exactness with llama.cpp: outputs of llama.cpp's own CPU backend on fixed inputs
// (quant_test_inputs.h), pinned here. They were produced by calling node-llama-cpp 3.22.1's
// libggml-cpu-haswell.so (the x86-64 AVX2 build of llama.cpp de3ff815ea7d) directly:
// ggml_get_type_traits_cpu(T)->from_float and ->vec_dot, and libggml-base.so's to_float for
// dequantization. The quantized results are the same in its sapphirerapids build; for
// F32 / F16 / BF16 that build accumulates in 16 lanes and can differ in the last bits.
#include <cstdio>
#include <string>
#include <vector>

#include "backend/cpu/quant.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/vec_dot.h"
#include "check.h"
#include "quant_test_inputs.h"

using namespace alloy;
using namespace alloy::cpu;
using alloy_test::float_bits;
using alloy_test::fnv1a;

namespace {

constexpr uint64_t kActivationRowHash = 0x9afda2451c1da018ull;

struct KnownDot {
  GgmlType type;
  int64_t n;
  uint64_t weight_row_hash;  // the input, so a change of the generator is told apart
  uint32_t vec_dot_bits;     // llama.cpp's vec_dot(weight row, activation row converted to T's vec_dot type)
  uint64_t dequantized_hash; // the n floats of llama.cpp's dequantization (to_float) of the weight row
};

const KnownDot kKnownDots[] = {
    {GgmlType::F32, 512, 0x90752f0aa59b97a4ull, 0xc143238cu /* -12.1961784 */, 0x90752f0aa59b97a4ull},
    {GgmlType::F16, 512, 0xfabc8647f2b48b6bull, 0xbfcfb8cau /* -1.62282681 */, 0x9befbf2c3bde0dcfull},
    {GgmlType::BF16, 512, 0x626aa24967d1559aull, 0x3ffb8a0eu /* 1.96515059 */, 0x8327f0d905e62a8aull},
    {GgmlType::Q8_0, 512, 0x290a979f4104e426ull, 0xc119ff4bu /* -9.62482738 */, 0xbd6ae3716b1f345aull},
    {GgmlType::Q4_0, 512, 0xdf38cd9027164562ull, 0xc114870cu /* -9.28297043 */, 0xf24eb82c337b7baaull},
    {GgmlType::Q4_1, 512, 0x62f0dcaacd64d494ull, 0xbfa4d7eau /* -1.28783917 */, 0xd9c86074d102c849ull},
    {GgmlType::Q5_0, 512, 0x59d2001d24114eb5ull, 0x40e86612u /* 7.26245975 */, 0xb9d30e25046662e8ull},
    {GgmlType::Q5_1, 512, 0xd6a2064f8b698c42ull, 0xc0f165d2u /* -7.54367924 */, 0xd88b8bbc48bf9625ull},
    {GgmlType::Q2_K, 512, 0x4b4fbbb934e26b06ull, 0x40921df0u /* 4.56615448 */, 0xc9b0f2876c2b43afull},
    {GgmlType::Q3_K, 512, 0x1e3e66b3a7cc9f6bull, 0x3f0b098cu /* 0.543114424 */, 0x7c646eff33003c27ull},
    {GgmlType::Q4_K, 512, 0xb2ea94449fa1f426ull, 0x41b30f06u /* 22.3823357 */, 0x4a160c2141ad0fc2ull},
    {GgmlType::Q5_K, 512, 0x6f5d47d55ebaf612ull, 0x3fd729c2u /* 1.68096185 */, 0x1f949d28f3e93fa0ull},
    {GgmlType::Q6_K, 512, 0x80c62116000465b3ull, 0x40a3317cu /* 5.09979057 */, 0x4829b569b6f667abull},
    // 172 = 5 * 32 + 12 (stories260K's n_ff): the plain types' tail after the 32-element steps.
    {GgmlType::F32, 172, 0x38a6c3e126933a57ull, 0xc1223397u /* -10.1375952 */, 0x38a6c3e126933a57ull},
    {GgmlType::F16, 172, 0x73d43cf3565152b3ull, 0x3fc561ebu /* 1.54205072 */, 0xd21abadc2f98c6f8ull},
    {GgmlType::BF16, 172, 0x9f09b382910b050aull, 0xc0a64f66u /* -5.19719219 */, 0x002e291236017582ull},
};

std::vector<uint8_t> converted(ActType type, const std::vector<float>& x, int64_t n) {
  std::vector<uint8_t> out(activation_row_bytes(type, n));
  quantize_activation_row(type, x.data(), n, out.data());
  return out;
}

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 3) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

}  // namespace

TEST_CASE("the fixed activation row is unchanged") {
  const std::vector<float> x = alloy_test::known_activation_row();
  CHECK_EQ(fnv1a(x.data(), x.size() * sizeof(float)), kActivationRowHash);
}

TEST_CASE("Q8_0 / Q8_1 activation quantization is llama.cpp's, ties rounded half to even") {
  const std::vector<float> x = alloy_test::known_activation_row();
  const std::vector<uint8_t> q8_0 = converted(ActType::q8_0, x, alloy_test::kKnownRowLength);
  const std::vector<uint8_t> q8_1 = converted(ActType::q8_1, x, alloy_test::kKnownRowLength);
  // Block 0: d = f16 1.0 (0x3c00); quants 127, then 0.5 -> 0, -1, -1.5 -> -2, 2, 2.5 -> 2, -3, -3.5 -> -4, ...
  const std::vector<uint8_t> q8_0_block0 = from_hex(
      "00 3c 7f 00 ff fe 02 02 fd fc 04 04 fb fa 06 06 f9 f8 08 08 f7 f6 0a 0a f5 f4 0c 0c f3 f2 0e 0e f1 f0");
  CHECK(std::vector<uint8_t>(q8_0.begin(), q8_0.begin() + 34) == q8_0_block0);
  CHECK_EQ(fnv1a(q8_0.data(), q8_0.size()), 0xf6a1804d11b3e5ddull);
  // Q8_1 block 0: d = 1.0, s = 103.0 (0x5670), then the same quants.
  const std::vector<uint8_t> q8_1_block0 = from_hex(
      "00 3c 70 56 7f 00 ff fe 02 02 fd fc 04 04 fb fa 06 06 f9 f8 08 08 f7 f6 0a 0a f5 f4 0c 0c f3 f2 0e 0e f1 f0");
  CHECK(std::vector<uint8_t>(q8_1.begin(), q8_1.begin() + 36) == q8_1_block0);
  CHECK_EQ(fnv1a(q8_1.data(), q8_1.size()), 0xf1b04172da5fa180ull);
}

TEST_CASE("Q8_K activation quantization is llama.cpp's, ties rounded half to even") {
  const std::vector<float> x = alloy_test::known_activation_row();
  const std::vector<uint8_t> q = converted(ActType::q8_k, x, alloy_test::kKnownRowLength);
  const auto* blocks = reinterpret_cast<const BlockQ8_K*>(q.data());
  // Block 0: max 127 -> iscale -1, d = -1; x = 0.5, -1, -1.5, 2, 2.5 -> 0, 1, 2, -2, -2.
  const int expected_block0[32] = {-127, 0, 1,  2,  -2,  -2,  3,  4,  -4,  -4,  5,  6,  -6,  -6,  7,  8,
                                   -8,   -8, 9, 10, -10, -10, 11, 12, -12, -12, 13, 14, -14, -14, 15, 16};
  const int expected_bsums0[16] = {-115, 12, 4, 10, 7, -7, -3, -1, 17, -6, -1, -14, 12, -6, 3, -5};
  CHECK_EQ(float_bits(load_q8_k_scale(blocks[0])), 0xbf800000u);
  for (int i = 0; i < 32; ++i) CHECK_EQ(static_cast<int>(blocks[0].qs[i]), expected_block0[i]);
  for (int i = 0; i < 16; ++i) CHECK_EQ(static_cast<int>(load_q8_k_bsum(blocks[0], i)), expected_bsums0[i]);
  // Block 1: max -100 -> iscale 1.27, d = 0.787401557 (0x3f499326).
  const int expected_block1[32] = {-127, 5, -1, -1, -5, -7, -1, 1, 0,  9, -1, 2, 4, -1, -1, -3,
                                   -2,   0, -3, 2,  6,  0,  2,  -1, -8, -6, 3, 8, 1, -2, -1, 3};
  CHECK_EQ(float_bits(load_q8_k_scale(blocks[1])), 0x3f499326u);
  for (int i = 0; i < 32; ++i) CHECK_EQ(static_cast<int>(blocks[1].qs[i]), expected_block1[i]);
  CHECK_EQ(fnv1a(q.data(), q.size()), 0xe8cb1d47acd08892ull);
}

TEST_CASE("F16 / BF16 activation conversion is llama.cpp's") {
  const std::vector<float> x = alloy_test::known_activation_row();
  const std::vector<uint8_t> f16 = converted(ActType::f16, x, alloy_test::kKnownRowLength);
  const std::vector<uint8_t> bf16 = converted(ActType::bf16, x, alloy_test::kKnownRowLength);
  CHECK_EQ(fnv1a(f16.data(), f16.size()), 0xff34c8868821bc0cull);
  CHECK_EQ(fnv1a(bf16.data(), bf16.size()), 0x88485123a7533809ull);
}

TEST_CASE("vec_dot and dequantize_row give llama.cpp's results bit for bit, every weight type") {
  const std::vector<float> x = alloy_test::known_activation_row();
  for (const KnownDot& k : kKnownDots) {
    const std::string label = std::string(ggml_type_name(k.type)) + " n=" + std::to_string(k.n);
    const std::vector<uint8_t> w = alloy_test::known_weight_row(k.type, k.n);
    if (fnv1a(w.data(), w.size()) != k.weight_row_hash) {
      alloy_test::report_failure(__FILE__, __LINE__, label + ": the weight row generator changed; regenerate the answers");
      continue;
    }
    const std::vector<uint8_t> a = converted(activation_type_for(k.type), x, k.n);
    const float got = vec_dot(k.type, w.data(), a.data(), k.n);
    if (float_bits(got) != k.vec_dot_bits) {
      char message[160];
      std::snprintf(message, sizeof message, ": vec_dot bits 0x%08x (%.9g), llama.cpp 0x%08x", float_bits(got), got,
                    k.vec_dot_bits);
      alloy_test::report_failure(__FILE__, __LINE__, label + message);
    }
    std::vector<float> values(static_cast<size_t>(k.n));
    dequantize_row(k.type, w.data(), values.data(), k.n);
    if (fnv1a(values.data(), values.size() * sizeof(float)) != k.dequantized_hash) {
      alloy_test::report_failure(__FILE__, __LINE__, label + ": dequantized values differ from llama.cpp's");
    }
  }
}

TEST_CASE("the scalar reference kernels give llama.cpp's results too") {
  const std::vector<float> x = alloy_test::known_activation_row();
  struct Kernel {
    GgmlType type;
    DotKernel dot;
  };
  const Kernel kernels[] = {
      {GgmlType::F32, scalar::dot_f32},        {GgmlType::F16, scalar::dot_f16},
      {GgmlType::BF16, scalar::dot_bf16},      {GgmlType::Q8_0, scalar::dot_q8_0_q8_0},
      {GgmlType::Q4_0, scalar::dot_q4_0_q8_0}, {GgmlType::Q4_1, scalar::dot_q4_1_q8_1},
      {GgmlType::Q5_0, scalar::dot_q5_0_q8_0}, {GgmlType::Q5_1, scalar::dot_q5_1_q8_1},
      {GgmlType::Q2_K, scalar::dot_q2_k_q8_k}, {GgmlType::Q3_K, scalar::dot_q3_k_q8_k},
      {GgmlType::Q4_K, scalar::dot_q4_k_q8_k}, {GgmlType::Q5_K, scalar::dot_q5_k_q8_k},
      {GgmlType::Q6_K, scalar::dot_q6_k_q8_k},
  };
  for (const KnownDot& k : kKnownDots) {
    for (const Kernel& kernel : kernels) {
      if (kernel.type != k.type) continue;
      const std::vector<uint8_t> w = alloy_test::known_weight_row(k.type, k.n);
      const std::vector<uint8_t> a = converted(activation_type_for(k.type), x, k.n);
      const float got = kernel.dot(w.data(), a.data(), k.n);
      if (float_bits(got) != k.vec_dot_bits) {
        alloy_test::report_failure(__FILE__, __LINE__, std::string(ggml_type_name(k.type)) + " n=" + std::to_string(k.n) +
                                                           ": scalar kernel differs from llama.cpp");
      }
    }
  }
}
