// The arguments of the Metal kernels, shared by the host (C++ / Objective-C++, which fills
// them and binds them with setBytes:length:atIndex:) and the kernels (MSL, which read them from
// the `constant` address space), and by the emulator on Linux. Plain data only: fixed-width
// integers and float, 64-bit fields at 8-byte offsets, no pointers, so both compilers lay
// them out identically; the static_asserts pin every size and offset.
//
// Each kernel's tuning constants live here too, because the host's grid sizes must agree with
// how the kernel splits its work.
#pragma once

#if !defined(__METAL_VERSION__)
#include <cstddef>
#include <cstdint>
#endif

namespace kargs {

// rms_norm.metal: y = x * (1 / sqrt(mean(x^2) + eps)) * weight, one threadgroup per row.
struct RmsNorm {
  int32_t n;           // floats per row
  int32_t has_weight;  // 0: the weight buffer is not read (all ones)
  float eps;
  int32_t reserved;    // keeps row_stride 8-aligned in both languages; write 0
  uint64_t row_stride;  // floats from one row to the next, in x and in y
};

// Threads per RMSNorm threadgroup at most; the kernel's threadgroup memory holds one partial
// sum per SIMD group (32 floats, the most a threadgroup of 1024 can have).
enum : int32_t { kRmsNormMaxThreads = 1024, kRmsNormPartials = 32 };

// matvec_*.metal: y[t][r] = dot(weight row r, x[t]) for the rows of a quantized weight matrix
// (ggml layout: row r is row_bytes bytes of blocks) and the F32 activation rows of the tokens.
struct MatVec {
  int32_t n_cols;      // elements per weight row (the dot-product length)
  int32_t n_rows;      // weight rows = outputs per token
  uint64_t row_bytes;  // bytes from one weight row to the next
  uint64_t x_stride;   // floats from one token's activation row to the next
  uint64_t y_stride;   // floats from one token's output row to the next
};

// matvec_q8_0.metal: each SIMD group computes kMatVecQ8_0Rows consecutive rows; a threadgroup
// holds kMatVecQ8_0Simdgroups SIMD groups. Grid: (ceil(n_rows / (rows * simdgroups)),
// n_tokens, 1) threadgroups of 32 * kMatVecQ8_0Simdgroups threads.
enum : int32_t { kMatVecQ8_0Rows = 4, kMatVecQ8_0Simdgroups = 2 };

// matvec_template.h, the fused decode kernels kernel_mv_<type>_<input>_<output> of every
// weight type (input: x as is, or norm = RMSNorm-ed on the fly with the norm weight and eps;
// output: store y = W.x + b, add y += W.x + b, or swiglu y = silu(Wg.x + bg) * (Wu.x + bu)
// with the gate and up matrices in two weight buffers of the same shape and the bias buffer
// holding the gate's n_rows biases, then the up's). Each SIMD group computes kMatVec<type>Rows
// consecutive rows (kMatVecQ8_0Rows for Q8_0); a threadgroup holds kMatVecSimdgroups SIMD
// groups. Grid: (ceil(n_rows / (rows * kMatVecSimdgroups)), n_tokens, 1) threadgroups of
// 32 * kMatVecSimdgroups threads; threadgroup memory 0: kMatVecPartials floats.
struct MatVecFused {
  MatVec shape;
  float eps;         // norm variants: the RMSNorm epsilon
  int32_t has_bias;  // 0: the bias buffer is not read
};

enum : int32_t {
  kMatVecSimdgroups = 2,
  kMatVecPartials = 4,  // one float per SIMD group, rounded up to setThreadgroupMemoryLength's 16 bytes
  kMatVecF32Rows = 4,
  kMatVecF16Rows = 4,
  kMatVecBF16Rows = 4,
  kMatVecQ4_0Rows = 4,
  kMatVecQ4_1Rows = 4,
  kMatVecQ5_0Rows = 4,
  kMatVecQ5_1Rows = 4,
  kMatVecQ2_KRows = 2,
  kMatVecQ3_KRows = 2,
  kMatVecQ4_KRows = 2,
  kMatVecQ5_KRows = 2,
  kMatVecQ6_KRows = 2,
};

static_assert(sizeof(MatVecFused) == 40, "kargs::MatVecFused layout");
static_assert(kMatVecPartials >= kMatVecSimdgroups && kMatVecPartials % 4 == 0, "kMatVecPartials: 16-byte granules");
static_assert(int32_t(kMatVecQ8_0Simdgroups) == int32_t(kMatVecSimdgroups), "Q8_0 runs on the shared matvec template");
#if !defined(__METAL_VERSION__)
static_assert(offsetof(MatVecFused, shape) == 0 && offsetof(MatVecFused, eps) == 32 && offsetof(MatVecFused, has_bias) == 36,
              "kargs::MatVecFused field offsets");
#endif

// matvec_template.h, kernel_mv_<type>_<x|norm>_qkv: the Q, K and V projections of one input in
// one dispatch, each as the store output of MatVecFused: three weight matrices of the same type
// and row length (Q: q.shape.n_rows rows, K and V: n_kv_rows rows each), each with its own
// optional bias and its own output. q holds the shared n_cols, row_bytes, x_stride and eps, Q's
// rows, output stride and has_bias. Buffers: 0 args, 1 Q weights, 2 K weights, 3 x, 4 norm
// weight, 5 Q bias, 6 Q out (1-6 as kernel_mv's weights, weights_up, x, norm_weight, bias, y),
// 7 V weights, 8 K bias, 9 V bias, 10 K out, 11 V out; unused ones (norm weight of x_qkv,
// biases without their flag) are never read. Grid: (gq + 2 * gkv, n_tokens, 1) threadgroups,
// gq = ceil(q.shape.n_rows / (rows * kMatVecSimdgroups)) and gkv likewise for n_kv_rows (Q's
// threadgroups first, then K's, then V's); threads and threadgroup memory as MatVecFused.
struct MatVecQkv {
  MatVecFused q;
  int32_t n_kv_rows;     // rows of K and of V
  int32_t has_bias_k;    // 0: K's bias buffer is not read
  int32_t has_bias_v;    // 0: V's bias buffer is not read
  int32_t reserved;      // write 0
  uint64_t kv_y_stride;  // floats from one token's K (and V) output row to the next
};

static_assert(sizeof(MatVecQkv) == 64, "kargs::MatVecQkv layout");
#if !defined(__METAL_VERSION__)
static_assert(offsetof(MatVecQkv, q) == 0 && offsetof(MatVecQkv, n_kv_rows) == 40 && offsetof(MatVecQkv, has_bias_k) == 44 &&
                  offsetof(MatVecQkv, has_bias_v) == 48 && offsetof(MatVecQkv, reserved) == 52 &&
                  offsetof(MatVecQkv, kv_y_stride) == 56,
              "kargs::MatVecQkv field offsets");
#endif

static_assert(sizeof(RmsNorm) == 24, "kargs::RmsNorm layout");
static_assert(sizeof(MatVec) == 32, "kargs::MatVec layout");

#if !defined(__METAL_VERSION__)
static_assert(offsetof(RmsNorm, n) == 0 && offsetof(RmsNorm, has_weight) == 4 && offsetof(RmsNorm, eps) == 8 &&
                  offsetof(RmsNorm, reserved) == 12 && offsetof(RmsNorm, row_stride) == 16,
              "kargs::RmsNorm field offsets");
static_assert(offsetof(MatVec, n_cols) == 0 && offsetof(MatVec, n_rows) == 4 && offsetof(MatVec, row_bytes) == 8 &&
                  offsetof(MatVec, x_stride) == 16 && offsetof(MatVec, y_stride) == 24,
              "kargs::MatVec field offsets");
#endif

// rope.metal: rotates the first n_rot values of every head of n_tokens rows in place, token t
// at position positions[t] (CPU reference: rope_cache / rope_head in backend/cpu/cpu_kernels.cpp).
// theta_scale is freq_base^(-2 / n_rot) computed by the host exactly as rope_cache does
// (std::pow in float), so the angles are the CPU's bit for bit. Grid:
// (ceil(n_heads * n_rot / 2 / ntg), n_tokens, 1) threadgroups of any ntg; a thread per pair.
struct Rope {
  int32_t n_heads;      // heads per token row
  int32_t head_dim;     // floats from one head to the next
  int32_t n_rot;        // leading values of each head that rotate (even, <= head_dim)
  int32_t mode;         // kRopeModeNormal or kRopeModeNeox
  float theta_scale;    // freq_base^(-2 / n_rot)
  float freq_scale;
  float attn_factor;
  int32_t reserved;     // keeps row_stride 8-aligned in both languages; write 0
  uint64_t row_stride;  // floats from one token's row to the next
};
enum : int32_t { kRopeModeNormal = 0, kRopeModeNeox = 1 };

// kv_store.metal: F32 K and V rows of n_tokens tokens into the F16 KV cache at positions
// pos0 .. pos0 + n_tokens - 1 (CPU reference: CpuBackend::store_kv): K one row of n_embd_kv per
// position, V transposed (channel c of position p at v[c * capacity + p]).
// Grid: (ceil(n_embd_kv / ntg), n_tokens, 1) threadgroups of any ntg; a thread per channel.
struct KvStore {
  int32_t n_embd_kv;  // channels per K (and V) row
  int32_t pos0;       // cache position of the first token
  int32_t capacity;   // positions of the cache (the length of a V channel row)
  int32_t reserved;   // write 0
  uint64_t k_stride;  // floats from one token's K row to the next in the input
  uint64_t v_stride;  // floats from one token's V row to the next in the input
};

// rope_store.metal, kernel_rope_store_f16: rope.metal on Q (in place) and on K, and
// kv_store.metal on the rotated K and on V, in one dispatch. rope: the rotation and Q's rows
// (n_heads: Q's heads, row_stride: Q's); K's heads share its head_dim, n_rot, mode and angle
// parameters. store: as KvStore, for the F32 K and V rows (n_embd_kv: K's heads * head_dim).
// Buffers: 0 args, 1 Q positions, 2 K positions (an int per token; bind one buffer twice unless
// K's positions differ), 3 Q (F32, rotated in place), 4 K (F32, only read), 5 V (F32), 6 K
// cache, 7 V cache (F16, KvStore's layout). Grid: (ceil((n_heads * n_rot / 2 + n_embd_kv) /
// ntg), n_tokens, 1) threadgroups of any ntg: a thread per Q pair, then per K/V channel.
struct RopeStore {
  Rope rope;
  KvStore store;
};

// attention.metal: causal attention of n_tokens query rows (query t at position pos0 + t) over
// the F16 cache positions 0 .. pos0 + t, grouped-query (query head h reads KV head
// h / (n_head / n_head_kv)). q and out rows hold n_head heads of head_dim floats.
struct Attention {
  int32_t n_tokens;
  int32_t n_head;
  int32_t n_head_kv;  // divides n_head
  int32_t head_dim;   // <= kAttentionMaxHeadDim
  int32_t pos0;
  int32_t capacity;   // positions of the cache (the length of a V channel row)
  float scale;        // applied to K.Q before the softmax
  int32_t reserved;   // write 0
  uint64_t q_stride;    // floats from one token's query row to the next
  uint64_t out_stride;  // floats from one token's output row to the next
  uint64_t k_stride;    // halves from one position's K row to the next (n_embd_kv)
};
// Positions are taken kAttentionBlock at a time (one per lane of a SIMD group). A lane owns the
// channels lane + 32 k of the output, k < kAttentionChannelsPerLane.
// Decode (kernel_attention_decode_f16): one threadgroup per (query head, token) of
// 32 * kAttentionDecodeSimdgroups threads whose SIMD groups take every nsg-th block and merge.
//   Grid (n_head, n_tokens, 1); threadgroup memory 0: kAttentionMaxHeadDim halves,
//   1: kAttentionDecodeSimdgroups * kAttentionBlock floats,
//   2: kAttentionDecodeSimdgroups * kAttentionMergeStride floats.
// Prefill (kernel_attention_prefill_f16): one SIMD group per (query head, token), the
// kAttentionPrefillSimdgroups SIMD groups of a threadgroup on consecutive tokens of one head.
//   Grid (n_head, ceil(n_tokens / kAttentionPrefillSimdgroups), 1) threadgroups of
//   32 * kAttentionPrefillSimdgroups threads; threadgroup memory 0:
//   kAttentionPrefillSimdgroups * kAttentionMaxHeadDim halves, 1: kAttentionPrefillSimdgroups *
//   kAttentionBlock floats.
enum : int32_t {
  kAttentionBlock = 32,
  kAttentionMaxHeadDim = 256,
  kAttentionChannelsPerLane = kAttentionMaxHeadDim / kAttentionBlock,
  kAttentionDecodeSimdgroups = 4,
  kAttentionPrefillSimdgroups = 4,
  kAttentionMergeStride = kAttentionMaxHeadDim + 4,  // m, l, 2 unused, then the channel sums
};

// swiglu.metal: out = silu(gate) * up per row of n floats (CPU reference: swiglu_row); out may
// alias gate. Grid: (ceil(n / ntg), n_rows, 1) threadgroups of any ntg.
struct Swiglu {
  int32_t n;
  int32_t reserved;  // write 0
  uint64_t gate_stride;  // floats from one row to the next, in gate / up / out
  uint64_t up_stride;
  uint64_t out_stride;
};

// add.metal: kernel_add_f32 y[i] += x[i] for i < n (grid: ceil(n / ntg) threadgroups, n < 2^32);
// kernel_add_bias_f32 y[r][i] += bias[i] (grid: (ceil(n / ntg), n_rows, 1) threadgroups).
struct Add {
  uint64_t n;
};
struct AddBias {
  int32_t n;         // floats per row
  int32_t reserved;  // write 0
  uint64_t row_stride;  // floats from one row of y to the next
};

// get_rows.metal: out[i] = row ids[i] of a weight matrix as floats (CPU reference:
// CpuBackend::get_rows / dequantize_row). Grid: (1, n_ids, 1) threadgroups of any ntg: one
// threadgroup per id, whose threads take the row's chunks (of the type's dequantization policy)
// tid, tid + ntg, ...
struct GetRows {
  int32_t n_cols;       // elements per weight row
  int32_t reserved;     // write 0
  uint64_t row_bytes;   // bytes from one weight row to the next
  uint64_t out_stride;  // floats from one output row to the next
};

static_assert(sizeof(Rope) == 40, "kargs::Rope layout");
static_assert(sizeof(KvStore) == 32, "kargs::KvStore layout");
static_assert(sizeof(RopeStore) == 72, "kargs::RopeStore layout");
static_assert(sizeof(Attention) == 56, "kargs::Attention layout");
static_assert(sizeof(Swiglu) == 32, "kargs::Swiglu layout");
static_assert(sizeof(Add) == 8, "kargs::Add layout");
static_assert(sizeof(AddBias) == 16, "kargs::AddBias layout");
static_assert(sizeof(GetRows) == 24, "kargs::GetRows layout");

#if !defined(__METAL_VERSION__)
static_assert(offsetof(Rope, n_heads) == 0 && offsetof(Rope, head_dim) == 4 && offsetof(Rope, n_rot) == 8 &&
                  offsetof(Rope, mode) == 12 && offsetof(Rope, theta_scale) == 16 && offsetof(Rope, freq_scale) == 20 &&
                  offsetof(Rope, attn_factor) == 24 && offsetof(Rope, reserved) == 28 && offsetof(Rope, row_stride) == 32,
              "kargs::Rope field offsets");
static_assert(offsetof(KvStore, n_embd_kv) == 0 && offsetof(KvStore, pos0) == 4 && offsetof(KvStore, capacity) == 8 &&
                  offsetof(KvStore, reserved) == 12 && offsetof(KvStore, k_stride) == 16 && offsetof(KvStore, v_stride) == 24,
              "kargs::KvStore field offsets");
static_assert(offsetof(RopeStore, rope) == 0 && offsetof(RopeStore, store) == 40, "kargs::RopeStore field offsets");
static_assert(offsetof(Attention, n_tokens) == 0 && offsetof(Attention, n_head) == 4 && offsetof(Attention, n_head_kv) == 8 &&
                  offsetof(Attention, head_dim) == 12 && offsetof(Attention, pos0) == 16 &&
                  offsetof(Attention, capacity) == 20 && offsetof(Attention, scale) == 24 &&
                  offsetof(Attention, reserved) == 28 && offsetof(Attention, q_stride) == 32 &&
                  offsetof(Attention, out_stride) == 40 && offsetof(Attention, k_stride) == 48,
              "kargs::Attention field offsets");
static_assert(offsetof(Swiglu, n) == 0 && offsetof(Swiglu, reserved) == 4 && offsetof(Swiglu, gate_stride) == 8 &&
                  offsetof(Swiglu, up_stride) == 16 && offsetof(Swiglu, out_stride) == 24,
              "kargs::Swiglu field offsets");
static_assert(offsetof(Add, n) == 0, "kargs::Add field offsets");
static_assert(offsetof(AddBias, n) == 0 && offsetof(AddBias, reserved) == 4 && offsetof(AddBias, row_stride) == 8,
              "kargs::AddBias field offsets");
static_assert(offsetof(GetRows, n_cols) == 0 && offsetof(GetRows, reserved) == 4 && offsetof(GetRows, row_bytes) == 8 &&
                  offsetof(GetRows, out_stride) == 16,
              "kargs::GetRows field offsets");
#endif

// matmul.metal (matmul_template.h), kernel_mm_<type>: the prompt matrix-matrix product of
// every weight type, y[t][r] (+)= dot(weight row r, x[t]) (+ bias[r]) for the F32 activation
// rows of n_tokens tokens at once, on SIMD-group matrices. A threadgroup computes a tile of
// kMatMulRows weight rows x kMatMulTokens tokens, kMatMulK elements of the rows at a time; each
// of its kMatMulSimdgroups SIMD groups owns half the tile's rows and half its tokens (4 x 2
// accumulators of 8x8). flags: kMatMulBias adds bias[r] (without it the bias buffer is not
// read), kMatMulAdd adds into y (y[t][r] += W.x + b; without it y is only written).
// Buffers: 0 args, 1 weights, 2 x, 3 bias, 4 y. Grid: (ceil(n_rows / kMatMulRows),
// ceil(n_tokens / kMatMulTokens), 1) threadgroups of 32 * kMatMulSimdgroups threads.
// Threadgroup memory 0: the weight tile, kMatMulRows * kMatMulK elements of the type's tile
// element (float for F32 and BF16, half for the others: matmul.metal), 1: the activation tile,
// kMatMulTokens * kMatMulK floats, 2: the output tile, kMatMulTokens * kMatMulRows floats.
struct MatMul {
  int32_t n_cols;    // elements per weight row (the dot-product length)
  int32_t n_rows;    // weight rows = outputs per token
  int32_t n_tokens;  // activation rows
  int32_t flags;     // kMatMulBias | kMatMulAdd
  uint64_t row_bytes;  // bytes from one weight row to the next
  uint64_t x_stride;   // floats from one token's activation row to the next
  uint64_t y_stride;   // floats from one token's output row to the next
};

// Prompt steps of at least kMatMulMinTokens tokens take the mm kernels, shorter ones (and
// decode) the matvec kernels: llama.cpp's Metal backend takes kernel_mul_mm for more than
// ne11_mm_min = 8 tokens, its measured break-even. A 32-token tile is then over a quarter
// full; below it, the matvec kernels' pass over the weights per token costs less than
// dequantizing a whole weight tile into threadgroup memory for a few tokens.
enum : int32_t {
  kMatMulRows = 64,
  kMatMulTokens = 32,
  kMatMulK = 32,
  kMatMulSimdgroups = 4,
  kMatMulBias = 1,
  kMatMulAdd = 2,
  kMatMulMinTokens = 9,
};

static_assert(sizeof(MatMul) == 40, "kargs::MatMul layout");
static_assert(kMatMulRows % 16 == 0 && kMatMulTokens % 16 == 0 && kMatMulK % 16 == 0 && kMatMulSimdgroups == 4,
              "kargs::MatMul tiles: 2 x 2 SIMD groups of 8x8 matrices, K steps a multiple of every chunk");
#if !defined(__METAL_VERSION__)
static_assert(offsetof(MatMul, n_cols) == 0 && offsetof(MatMul, n_rows) == 4 && offsetof(MatMul, n_tokens) == 8 &&
                  offsetof(MatMul, flags) == 12 && offsetof(MatMul, row_bytes) == 16 && offsetof(MatMul, x_stride) == 24 &&
                  offsetof(MatMul, y_stride) == 32,
              "kargs::MatMul field offsets");
#endif

}  // namespace kargs
