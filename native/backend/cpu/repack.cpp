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

// Bytes of one packed block of 16 rows (see repack.h).
size_t packed_block_bytes(GgmlType type) {
  if (type == GgmlType::Q8_0) return kScaleBytes + 8 * kWordBytes;
  if (type == GgmlType::Q4_0) return kScaleBytes + 4 * kWordBytes;
  if (type == GgmlType::Q5_0) return kScaleBytes + 5 * kWordBytes;
  if (type == GgmlType::Q4_K) return 2 * kScaleBytes + 2 * 8 * kPackRows + 32 * kWordBytes;
  if (type == GgmlType::Q6_K) return kScaleBytes + 16 * kPackRows + 48 * kWordBytes;
  return 0;  // not packed
}

int64_t block_elems(GgmlType type) { return type == GgmlType::Q4_K || type == GgmlType::Q6_K ? kQK_K : kQK; }

// Copies 4 bytes of each of the 16 rows into one 64-byte word.
void put_word(uint8_t* word, int r, const uint8_t* four) { std::memcpy(word + 4 * static_cast<size_t>(r), four, 4); }

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
    for (size_t j = 0; j < kQK / 8; ++j) put_word(out + kScaleBytes + j * kWordBytes, r, block.qs + 4 * j);
  }
}

void pack_q5_0_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  uint8_t* high_bits = out + kScaleBytes;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ5_0& block = reinterpret_cast<const BlockQ5_0*>(rows[r])[b];
    std::memcpy(out + 2 * r, block.d, 2);
    const uint32_t qh = load_u32(block.qh);
    uint8_t four[4];
    for (int e = 0; e < 4; ++e) {
      uint8_t byte = 0;
      for (int j = 0; j < 4; ++j) {
        byte = static_cast<uint8_t>(byte | (((qh >> (4 * j + e)) & 1u) << j) | (((qh >> (16 + 4 * j + e)) & 1u) << (4 + j)));
      }
      four[e] = byte;
    }
    put_word(high_bits, r, four);
    for (size_t j = 0; j < kQK / 8; ++j) put_word(out + kScaleBytes + (j + 1) * kWordBytes, r, block.qs + 4 * j);
  }
}

void pack_q4_k_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  uint8_t* scales = out + 2 * kScaleBytes;
  uint8_t* mins = scales + 8 * kPackRows;
  uint8_t* words = mins + 8 * kPackRows;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ4_K& block = reinterpret_cast<const BlockQ4_K*>(rows[r])[b];
    std::memcpy(out + 2 * r, block.d, 2);
    std::memcpy(out + kScaleBytes + 2 * r, block.dmin, 2);
    for (int s = 0; s < 8; ++s) {
      const ScaleMin sm = k4_scale_min(block.scales, s);
      scales[s * kPackRows + r] = static_cast<uint8_t>(sm.scale);
      mins[s * kPackRows + r] = static_cast<uint8_t>(sm.min);
    }
    for (size_t w = 0; w < 32; ++w) put_word(words + w * kWordBytes, r, block.qs + 4 * w);  // word 8p + g = bytes 32p + 4g
  }
}

void pack_q6_k_block(const uint8_t* const* rows, int64_t b, uint8_t* out) {
  uint8_t* scales = out + kScaleBytes;
  uint8_t* ql_words = scales + 16 * kPackRows;
  uint8_t* qh_words = ql_words + 32 * kWordBytes;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ6_K& block = reinterpret_cast<const BlockQ6_K*>(rows[r])[b];
    std::memcpy(out + 2 * r, block.d, 2);
    for (int s = 0; s < 16; ++s) scales[s * kPackRows + r] = static_cast<uint8_t>(block.scales[s]);
    for (size_t w = 0; w < 32; ++w) put_word(ql_words + w * kWordBytes, r, block.ql + 4 * w);  // 16h + 8kk + lw
    for (size_t w = 0; w < 16; ++w) put_word(qh_words + w * kWordBytes, r, block.qh + 4 * w);  // 8h + lw
  }
}

}  // namespace

bool packable(const WeightView& w) {
  return packed_block_bytes(w.type) != 0 && w.n_rows % kPackRows == 0 && w.n_cols % block_elems(w.type) == 0;
}

PackedMatrix pack_matrix(const WeightView& w, ThreadPool& pool) {
  if (!packable(w)) throw Error(ErrorKind::internal, "matrix cannot be packed");
  PackedMatrix m;
  m.type = w.type;
  m.n_rows = w.n_rows;
  m.n_cols = w.n_cols;
  m.block_bytes = packed_block_bytes(w.type);
  m.group_bytes = static_cast<size_t>(w.n_cols / block_elems(w.type)) * m.block_bytes;
  const int64_t n_groups = w.n_rows / kPackRows;
  m.data = allocate(m.group_bytes * static_cast<size_t>(n_groups));
  void (*pack_block)(const uint8_t* const*, int64_t, uint8_t*) = pack_q8_0_block;
  if (w.type == GgmlType::Q4_0) pack_block = pack_q4_0_block;
  if (w.type == GgmlType::Q5_0) pack_block = pack_q5_0_block;
  if (w.type == GgmlType::Q4_K) pack_block = pack_q4_k_block;
  if (w.type == GgmlType::Q6_K) pack_block = pack_q6_k_block;
  auto pack = [&](int index, int count) {
    int64_t begin = 0, end = 0;
    ThreadPool::split(n_groups, index, count, begin, end);
    for (int64_t g = begin; g < end; ++g) {
      const uint8_t* rows[kPackRows];
      for (int r = 0; r < kPackRows; ++r) rows[r] = w.row(g * kPackRows + r);
      uint8_t* out = m.data.get() + static_cast<size_t>(g) * m.group_bytes;
      for (int64_t b = 0; b < w.n_cols / block_elems(w.type); ++b, out += m.block_bytes) pack_block(rows, b, out);
    }
  };
  pool.run(pack);
  return m;
}

uint8_t packed_quant(const PackedMatrix& m, int64_t r, int64_t i) {
  const int64_t elems = block_elems(m.type);
  const uint8_t* block = m.group(r / kPackRows) + static_cast<size_t>(i / elems) * m.block_bytes;
  const size_t lane = 4 * static_cast<size_t>(r % kPackRows);
  const int64_t k = i % elems;
  auto byte_of = [&](const uint8_t* words, int64_t word, int64_t e) { return words[static_cast<size_t>(word) * kWordBytes + lane + static_cast<size_t>(e)]; };
  if (m.type == GgmlType::Q8_0) return byte_of(block + kScaleBytes, k / 4, k % 4);
  if (m.type == GgmlType::Q4_0) {  // elements k and k + 16 share a byte
    const uint8_t byte = byte_of(block + kScaleBytes, (k % 16) / 4, k % 4);
    return k < 16 ? static_cast<uint8_t>(byte & 0xF) : static_cast<uint8_t>(byte >> 4);
  }
  if (m.type == GgmlType::Q5_0) {  // nibble as Q4_0 (words 1..4), fifth bit from word 0
    const uint8_t byte = byte_of(block + kScaleBytes, 1 + (k % 16) / 4, k % 4);
    const uint8_t bits = byte_of(block + kScaleBytes, 0, k % 4);
    const int j = static_cast<int>((k % 16) / 4);
    return k < 16 ? static_cast<uint8_t>((byte & 0xF) | (((bits >> j) & 1) << 4))
                  : static_cast<uint8_t>((byte >> 4) | (((bits >> (4 + j)) & 1) << 4));
  }
  if (m.type == GgmlType::Q4_K) {  // element 64p + 32h + 4g + e: nibble h of word 8p + g
    const uint8_t* words = block + 2 * kScaleBytes + 16 * kPackRows;
    const uint8_t byte = byte_of(words, 8 * (k / 64) + (k % 32) / 4, k % 4);
    return (k % 64) < 32 ? static_cast<uint8_t>(byte & 0xF) : static_cast<uint8_t>(byte >> 4);
  }
  // Q6_K: element 128h + 32kk + 4lw + e (q6_k_quant in quant_blocks.h)
  const uint8_t* ql_words = block + kScaleBytes + 16 * kPackRows;
  const uint8_t* qh_words = ql_words + 32 * kWordBytes;
  const int64_t h = k / 128, kk = (k / 32) % 4, lw = (k % 32) / 4, e = k % 4;
  const uint8_t low_byte = byte_of(ql_words, 16 * h + 8 * (kk & 1) + lw, e);
  const int low = kk < 2 ? low_byte & 0xF : low_byte >> 4;
  const int high = (byte_of(qh_words, 8 * h + lw, e) >> (2 * kk)) & 3;
  return static_cast<uint8_t>(low | (high << 4));
}

}  // namespace alloy::cpu
