// Weight repacking for the AVX-512 VNNI matmul (gemm_avx512.cpp), done once when a context is
// created: Q8_0 and Q4_0 matrices are rearranged so that one 64-byte vector holds four
// consecutive quants of 16 rows, the operand layout of VPDPBUSD with a broadcast activation
// word. The packed matrix has the same size as the original; the original mapping stays the
// source of truth (embedding lookups read it) and is only read here.
//
// Layout: groups of 16 rows; a group is n_cols / 32 packed blocks in row-block order; a packed
// block is the 16 rows' f16 scales (32 bytes) and then 64-byte words, word j holding bytes
// 4j..4j+3 of each row's quants (row r at bytes 4r..4r+3 of the word):
//  * Q8_0: 8 words, each quant stored as w + 128 (an unsigned byte);
//  * Q4_0: 4 words of packed nibbles exactly as in the block (low nibble: element i, high
//    nibble: element i + 16), so word j holds elements 4j..4j+3 and 16+4j..16+4j+3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "backend/backend.h"
#include "backend/cpu/thread_pool.h"

namespace alloy::cpu {

constexpr int kPackRows = 16;

// The packed quants of one matrix. Invariant: data holds n_rows / kPackRows groups of
// group_bytes, 64-byte aligned; n_rows is a multiple of kPackRows and n_cols of 32.
struct PackedMatrix {
  GgmlType type = GgmlType::Q8_0;
  int64_t n_rows = 0;
  int64_t n_cols = 0;
  size_t block_bytes = 0;  // one packed block of 16 rows
  size_t group_bytes = 0;  // n_cols / 32 packed blocks
  std::unique_ptr<uint8_t, void (*)(void*)> data{nullptr, nullptr};

  const uint8_t* group(int64_t g) const { return data.get() + static_cast<size_t>(g) * group_bytes; }
};

// Whether `w` can be packed: a Q8_0 or Q4_0 matrix with a multiple of 16 rows.
bool packable(const WeightView& w);

// Packs `w` (precondition: packable(w)), rows split across the pool's threads.
PackedMatrix pack_matrix(const WeightView& w, ThreadPool& pool);

// The quant of row r, element i as the packed layout stores it (for tests): the unsigned
// byte for Q8_0, the nibble value for Q4_0.
uint8_t packed_quant(const PackedMatrix& m, int64_t r, int64_t i);

}  // namespace alloy::cpu
