#include "cpu_kernels.h"

#include <cmath>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/float_dots.h"
#include "core/half.h"

// The fused multiply-adds below are spelled out with std::fma exactly where ggml's build
// (or its intrinsics) fuses them; everywhere else the project compiles with
// -ffp-contract=off, so a * b + c stays two roundings, as in ggml.

namespace alloy::cpu {

float ggml_vector_expf(float x) {
  if (std::isnan(x)) return x;
  const float r = 0x1.8p23f;
  const float z = std::fma(x, 0x1.715476p+0f, r);
  const float n = z - r;  // round(x / ln 2) as an integral float
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  const float u = b * b;
  const float j = std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u,
                                    std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                           u, std::fma(0x1.ffffecp-1f, b, 1.0f));
  return std::ldexp(j, static_cast<int>(n));  // _mm512_scalef_ps: j * 2^n, one rounding
}

void rms_norm_row(const float* x, const float* weight, int n, float eps, float* y) {
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const float square = x[i] * x[i];
    sum += static_cast<double>(square);
  }
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  if (weight) {
    for (int i = 0; i < n; ++i) y[i] = x[i] * scale * weight[i];
  } else {
    for (int i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void rope_cache(int32_t position, const RopeParams& params, float* cache) {
  const float theta_scale = std::pow(params.freq_base, -2.0f / static_cast<float>(params.n_rot));
  float theta = static_cast<float>(position);
  for (int i = 0; i < params.n_rot; i += 2) {
    const float scaled = params.freq_scale * theta;
    cache[i] = std::cos(scaled) * params.attn_factor;
    cache[i + 1] = std::sin(scaled) * params.attn_factor;
    theta *= theta_scale;
  }
}

namespace {

bool use_avx512_rows() {
  static const bool use = has_avx512_vnni(active_simd_level());
  return use;
}

bool use_avx2_rows() {
  static const bool use = has_avx2(active_simd_level());
  return use;
}

}  // namespace

void rope_head(float* x, const float* cache, const RopeParams& params) {
  int first = 0;
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx512_rows()) {
    first = avx512::rope_vector_part(x, cache, params);
  } else if (use_avx2_rows()) {
    first = avx2::rope_vector_part(x, cache, params);
  }
#endif
  rope_head_reference(x, cache, params, first);
}

void rope_head_reference(float* x, const float* cache, const RopeParams& params, int first) {
  const int half = params.n_rot / 2;
  switch (params.mode) {
    case RopeMode::normal:
      for (int p = first; p < half; ++p) {
        const float c = cache[2 * p], s = cache[2 * p + 1];
        const float x0 = x[2 * p], x1 = x[2 * p + 1];
        x[2 * p] = std::fma(x0, c, -(x1 * s));
        x[2 * p + 1] = std::fma(x0, s, x1 * c);
      }
      return;
    case RopeMode::neox:
      for (int p = first; p < half; ++p) {
        const float c = cache[2 * p], s = cache[2 * p + 1];
        const float x0 = x[p], x1 = x[p + half];
        x[p] = std::fma(x0, c, -(x1 * s));
        x[p + half] = std::fma(x0, s, x1 * c);
      }
      return;
  }
}

float reduce_add_16(const float* v) {
  float t8[8], t4[4];
  for (int i = 0; i < 8; ++i) t8[i] = v[i + 8] + v[i];
  for (int i = 0; i < 4; ++i) t4[i] = t8[i + 4] + t8[i];
  const float a = t4[0] + t4[2];
  const float b = t4[1] + t4[3];
  return a + b;
}

namespace {

// ggml's SwiGLU past the last 16-float group: silu with libm's expf, then times up.
void swiglu_tail(const float* gate, const float* up, int from, int n, float* out) {
  for (int i = from; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

}  // namespace

void softmax_row(const float* scores, int n, float scale, float* probs) {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx512_rows()) return avx512::softmax_row(scores, n, scale, probs);
  if (use_avx2_rows()) return avx2::softmax_row(scores, n, scale, probs);
#endif
  softmax_row_reference(scores, n, scale, probs);
}

void softmax_row_reference(const float* scores, int n, float scale, float* probs) {
  float max = -INFINITY;
  for (int i = 0; i < n; ++i) {
    probs[i] = scores[i] * scale;
    max = std::fmax(max, probs[i]);
  }
  // ggml runs over the whole padded KV row, where masked entries contribute exp(-inf) = 0:
  // groups start at index 0 and the last one is completed with zeros.
  double sum = 0.0;
  for (int g = 0; g < n; g += kGgmlVectorWidth) {
    float group[kGgmlVectorWidth] = {};
    const int len = n - g < kGgmlVectorWidth ? n - g : kGgmlVectorWidth;
    for (int i = 0; i < len; ++i) {
      group[i] = ggml_vector_expf(probs[g + i] - max);
      probs[g + i] = group[i];
    }
    sum += static_cast<double>(reduce_add_16(group));
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int i = 0; i < n; ++i) probs[i] *= inv;
}

void swiglu_row(const float* gate, const float* up, int n, float* out) {
#if defined(__x86_64__) || defined(_M_X64)
  if (use_avx512_rows()) {
    swiglu_tail(gate, up, avx512::swiglu_vector_part(gate, up, n, out), n, out);
    return;
  }
  if (use_avx2_rows()) {
    swiglu_tail(gate, up, avx2::swiglu_vector_part(gate, up, n, out), n, out);
    return;
  }
#endif
  swiglu_row_reference(gate, up, n, out);
}

void swiglu_row_reference(const float* gate, const float* up, int n, float* out) {
  const int vector_end = n - n % kGgmlVectorWidth;
  for (int i = 0; i < vector_end; ++i) {
    const float x = gate[i];
    const float silu = x / (1.0f + ggml_vector_expf(0.0f - x));
    out[i] = silu * up[i];
  }
  swiglu_tail(gate, up, vector_end, n, out);
}

void f32_to_f16_row(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
#if defined(__x86_64__) || defined(_M_X64)
  static const bool f16c = has_avx2(active_simd_level());  // AVX2 levels include F16C
  if (f16c) i = avx2::f32_to_f16_vector_part(x, n, out);
#endif
  for (; i < n; ++i) out[i] = f32_to_f16(x[i]);
}

}  // namespace alloy::cpu
