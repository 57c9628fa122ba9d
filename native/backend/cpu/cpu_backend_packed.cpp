// The CPU backend's matmuls over repacked weights (repack.h, packed_matmul.h): the per-token
// tables the kernels read (activation block sums; for AMX also the block scales and the
// quants in tile order), the split of 16-row groups across the pool, and matmul_shared_input,
// which runs the products of several packed weights that read one input in a single pool
// pass: the input is converted and its tables computed once, and the threads wait once.
#include <algorithm>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant_blocks.h"
#include "core/error.h"

namespace alloy::cpu {

namespace {

// `base` (the tables of one input) for matrix m writing to out.
PackedMatmulArgs with_matrix(PackedMatmulArgs base, const PackedMatrix& m, float* out) {
  base.type = m.type;
  base.packed = m.data.get();
  base.group_bytes = m.group_bytes;
  base.block_bytes = m.block_bytes;
  base.out = out;
  base.out_stride = static_cast<size_t>(m.n_rows);
  return base;
}

}  // namespace

// Every thread needs the tables of every token, so they are complete before any product.
PackedMatmulArgs CpuBackend::prepare_packed(const PackedMatrix& m, const uint8_t* acts, size_t act_row_bytes,
                                            int n_tokens, float* out, bool odd_groups) {
  const bool legacy = activation_type_for(m.type) == ActType::q8_0;  // Q8_0 / Q4_0 / Q5_0: sums from here
  const int64_t n_blocks = m.n_cols / (legacy ? kQK : kQK_K);
  const int groups = packed_sum_groups(m.type);
  const size_t sums_stride = static_cast<size_t>(n_blocks * groups);
  const bool amx = amx_ && amx::handles(m.type) && n_tokens >= kAmxMinTokens;
  const bool sums = !amx || odd_groups;  // the AMX kernel needs none (it multiplies signed quants)
  if (legacy) {
    if (n_blocks * groups > max_packed_sums_) throw Error(ErrorKind::internal, "packed matmul wider than planned");
    const int offset = packed_quant_offset(m.type);
    for_rows(n_tokens, [&](int, int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        const uint8_t* row = acts + static_cast<size_t>(t) * act_row_bytes;
        if (sums) activation_block_sums(row, n_blocks, offset, groups, block_sums_.get() + static_cast<size_t>(t) * sums_stride);
        if (!amx) continue;
        activation_block_scales(row, n_blocks, act_scales_.get() + static_cast<size_t>(t) * sums_stride);
        activation_tiles(row, static_cast<int>(t), n_blocks, act_tiles_.get());
      }
    });
    // The AMX kernel computes whole tiles of 16 tokens: the rows past the last token get zeros.
    const int padded = amx ? (n_tokens + kAmxTileTokens - 1) / kAmxTileTokens * kAmxTileTokens : n_tokens;
    for (int t = n_tokens; t < padded; ++t) {
      padding_tile_row(t, n_blocks, act_tiles_.get(), act_scales_.get() + static_cast<size_t>(t) * sums_stride);
    }
  }
  PackedMatmulArgs args{m.type,        m.data.get(), m.group_bytes, m.block_bytes, n_blocks,
                        acts,          act_row_bytes, legacy ? block_sums_.get() : nullptr, sums_stride,
                        out,           static_cast<size_t>(m.n_rows)};
  if (amx) {
    args.act_scales = act_scales_.get();
    args.act_tiles = act_tiles_.get();
  }
  return args;
}

// Every thread takes its share of each product's groups, in the same order: one contiguous
// stream of weights per thread and product; a thread that finishes early takes chunks from the
// end of the other threads' shares (stealing_ranges.h). (Decode, 0.5B-shape Q8_0: threads
// taking 256 KiB chunks from one shared cursor, which breaks the streams, ran at 39.2 t/s
// against 40.8 with fixed contiguous shares.)
void CpuBackend::run_packed(const PackedMatmulArgs* args, const int64_t* n_groups, int n, int n_tokens) {
  const bool amx = args[0].act_tiles != nullptr;
  const int64_t grain = amx ? 2 : 1;  // AMX takes pairs of groups
  int64_t n_units[StealingRanges::kMaxProducts] = {};
  for (int i = 0; i < n; ++i) {
    if ((args[i].act_tiles != nullptr) != amx) throw Error(ErrorKind::internal, "AMX and VNNI products in one pass");
    n_units[i] = (n_groups[i] + grain - 1) / grain;
  }
  // Decode claims as many groups as its kernel reads side by side; AMX the pairs of its L2
  // chunk (amx::kChunkBytes); other prompts about kStealChunkBytes of weight bytes times tokens.
  const int64_t unit_bytes = static_cast<int64_t>(args[0].group_bytes) * grain;
  int64_t chunk = std::max<int64_t>(1, kStealChunkBytes / (unit_bytes * n_tokens));
#if defined(ALLOY_CPU_HAS_AMX_KERNELS)
  if (amx) chunk = amx::chunk_groups(args[0].group_bytes) / 2;
#endif
  // The last claims of a range shrink to one unit, except in decode, whose kernel reads
  // whole claims side by side.
  int64_t smallest = 1;
#if defined(__x86_64__) || defined(_M_X64)
  if (n_tokens == 1) chunk = smallest = avx512::decode_streams(args[0].type);
#endif
  stealing_.reset(n_units, n);
  auto multiply = [&](int index, int count) {
    (void)count;
    stealing_.run(index, chunk, smallest, [&](int i, int64_t unit_begin, int64_t unit_end) {
      const int64_t begin = unit_begin * grain;
      const int64_t end = unit_end * grain < n_groups[i] ? unit_end * grain : n_groups[i];
#if defined(ALLOY_CPU_HAS_AMX_KERNELS)
      if (amx) {
        amx::packed_matmul(args[i], begin, end, n_tokens, scratch_[static_cast<size_t>(index)].amx_operands.get());
        return;
      }
#endif
#if defined(__x86_64__) || defined(_M_X64)
      avx512::packed_matmul(args[i], begin, end, n_tokens);
#endif
    });
  };
  pool_.run(multiply);
}

void CpuBackend::multiply_packed(const PackedMatrix& m, const uint8_t* acts, size_t act_row_bytes, int n_tokens,
                                 float* out) {
  const int64_t n_groups = m.n_rows / kPackRows;
  const PackedMatmulArgs args = prepare_packed(m, acts, act_row_bytes, n_tokens, out, n_groups % 2 != 0);
  run_packed(&args, &n_groups, 1, n_tokens);
}

void CpuBackend::matmul_shared_input(const MatmulTarget* targets, int n_targets, const float* x, int n_tokens) {
  // One pass needs every weight packed, of one width and activation type, and of one type
  // where the tables depend on it (Q8_0 / Q4_0 / Q5_0: the offset of the block sums).
  const PackedMatrix* mats[kMaxSharedInputs] = {};
  bool one_pass = n_targets >= 1 && n_targets <= kMaxSharedInputs && !config_.wrong_block_scale_type;
  for (int i = 0; one_pass && i < n_targets; ++i) {
    const auto found = packed_.find(targets[i].w->bytes.data());
    if (found == packed_.end()) {
      one_pass = false;
      break;
    }
    mats[i] = &found->second;
    const ActType act = activation_type_for(mats[i]->type);
    one_pass = mats[i]->n_cols == mats[0]->n_cols && act == activation_type_for(mats[0]->type) &&
               (act != ActType::q8_0 || mats[i]->type == mats[0]->type);
  }
  if (!one_pass) return Backend::matmul_shared_input(targets, n_targets, x, n_tokens);
  check_rows(n_tokens);
  size_t row_bytes = 0;
  const uint8_t* acts = convert_activations(activation_type_for(mats[0]->type), x, mats[0]->n_cols, n_tokens, row_bytes);
  int64_t n_groups[kMaxSharedInputs] = {};
  bool odd_groups = false;
  for (int i = 0; i < n_targets; ++i) {
    n_groups[i] = mats[i]->n_rows / kPackRows;
    odd_groups = odd_groups || n_groups[i] % 2 != 0;
  }
  PackedMatmulArgs args[kMaxSharedInputs];
  args[0] = prepare_packed(*mats[0], acts, row_bytes, n_tokens, targets[0].out, odd_groups);
  for (int i = 1; i < n_targets; ++i) args[i] = with_matrix(args[0], *mats[i], targets[i].out);
  run_packed(args, n_groups, n_targets, n_tokens);
}

}  // namespace alloy::cpu
