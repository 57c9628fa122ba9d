#include "backend/cpu/repack.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "backend/cpu/quant_blocks.h"
#include "core/error.h"

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace alloy::cpu {

namespace {

constexpr size_t kScaleBytes = kPackRows * 2;
constexpr size_t kWordBytes = kPackRows * 4;
constexpr size_t kAlignment = 64;
constexpr size_t kHugePage = 2u << 20;

size_t quant_words(GgmlType type) { return type == GgmlType::Q8_0 ? kQK / 4 : kQK / 8; }

// Memory for the packed matrix: aligned to huge pages when it is large, so the kernel can
// back it with 2 MiB pages (fewer TLB misses while streaming weights in decode).
std::unique_ptr<uint8_t, void (*)(void*)> allocate(size_t bytes) {
  const size_t alignment = bytes >= kHugePage ? kHugePage : kAlignment;
  const size_t rounded = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (alignment == kHugePage) madvise(p, rounded, MADV_HUGEPAGE);  // a hint; failure is harmless
#endif
  return {static_cast<uint8_t*>(p), std::free};
}

void pack_q8_0_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ8_0& block = reinterpret_cast<const BlockQ8_0*>(rows[r])[b];
    std::memcpy(out + 2 * r, block.d, 2);
    for (size_t j = 0; j < kQK / 4; ++j) {
      for (int e = 0; e < 4; ++e) {
        const uint8_t q = static_cast<uint8_t>(block.qs[4 * j + static_cast<size_t>(e)]);
        out[kScaleBytes + j * kWordBytes + 4 * static_cast<size_t>(r) + static_cast<size_t>(e)] = q ^ 0x80u;
      }
    }
  }
}

void pack_q4_0_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ4_0& block = reinterpret_cast<const BlockQ4_0*>(rows[r])[b];
    std::memcpy(out + 2 * r, block.d, 2);
    for (size_t j = 0; j < kQK / 8; ++j) {
      std::memcpy(out + kScaleBytes + j * kWordBytes + 4 * static_cast<size_t>(r), block.qs + 4 * j, 4);
    }
  }
}

}  // namespace

bool packable(const WeightView& w) {
  return (w.type == GgmlType::Q8_0 || w.type == GgmlType::Q4_0) && w.n_rows % kPackRows == 0 && w.n_cols % kQK == 0;
}

PackedMatrix pack_matrix(const WeightView& w, ThreadPool& pool) {
  if (!packable(w)) throw Error(ErrorKind::internal, "matrix cannot be packed");
  PackedMatrix m;
  m.type = w.type;
  m.n_rows = w.n_rows;
  m.n_cols = w.n_cols;
  m.block_bytes = kScaleBytes + quant_words(w.type) * kWordBytes;
  m.group_bytes = static_cast<size_t>(w.n_cols / kQK) * m.block_bytes;
  const int64_t n_groups = w.n_rows / kPackRows;
  m.data = allocate(m.group_bytes * static_cast<size_t>(n_groups));
  const bool q8 = w.type == GgmlType::Q8_0;
  auto pack = [&](int index, int count) {
    int64_t begin = 0, end = 0;
    ThreadPool::split(n_groups, index, count, begin, end);
    for (int64_t g = begin; g < end; ++g) {
      const uint8_t* rows[kPackRows];
      for (int r = 0; r < kPackRows; ++r) rows[r] = w.row(g * kPackRows + r);
      uint8_t* out = m.data.get() + static_cast<size_t>(g) * m.group_bytes;
      for (int64_t b = 0; b < w.n_cols / kQK; ++b, out += m.block_bytes) {
        if (q8) {
          pack_q8_0_block(rows, b, out);
        } else {
          pack_q4_0_block(rows, b, out);
        }
      }
    }
  };
  pool.run(pack);
  return m;
}

uint8_t packed_quant(const PackedMatrix& m, int64_t r, int64_t i) {
  const uint8_t* block = m.group(r / kPackRows) + static_cast<size_t>(i / kQK) * m.block_bytes + kScaleBytes;
  const size_t lane = 4 * static_cast<size_t>(r % kPackRows);
  const int64_t k = i % kQK;
  if (m.type == GgmlType::Q8_0) return block[static_cast<size_t>(k / 4) * kWordBytes + lane + static_cast<size_t>(k % 4)];
  const int64_t low = k % 16;  // Q4_0: elements k and k + 16 share a byte
  const uint8_t byte = block[static_cast<size_t>(low / 4) * kWordBytes + lane + static_cast<size_t>(low % 4)];
  return k < 16 ? static_cast<uint8_t>(byte & 0xF) : static_cast<uint8_t>(byte >> 4);
}

}  // namespace alloy::cpu
