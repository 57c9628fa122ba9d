// Weight repacking for the AVX-512 VNNI matmul (packed_matmul.h), done once when a context is
// created: Q8_0, Q4_0, Q5_0, Q4_K and Q6_K matrices are rearranged so that one 64-byte vector holds
// four consecutive quant bytes of 16 rows, the operand layout of VPDPBUSD with a broadcast
// activation word. The original mapping stays the source of truth (embedding lookups read
// it) and is only read here.
//
// Layout: groups of 16 rows; a group is its rows' blocks (32 elements, or 256 for the
// K-quants) in order; a packed block holds the 16 rows' scales and then 64-byte words, a
// word holding 4 bytes of each row's quants (row r at bytes 4r..4r+3 of the word):
//  * Q8_0 (32 + 8 x 64 bytes): f16 d x 16; word j = quants 4j..4j+3, stored as w + 128;
//  * Q4_0 (32 + 4 x 64): f16 d x 16; word j = packed bytes 4j..4j+3 (low nibbles: elements
//    4j.., high nibbles: elements 16+4j..);
//  * Q5_0 (32 + 5 x 64): f16 d x 16; word 0 = the fifth bits, byte e of a row holding in bit j
//    the bit of element 4j+e and in bit 4+j that of element 16+4j+e; words 1..4 as Q4_0's;
//  * Q4_K (32 + 32 + 128 + 128 + 32 x 64): f16 d x 16, f16 dmin x 16, the 8 sub-block scales
//    and then the 8 mins as bytes [sub-block][row]; word 8p + g = bytes 32p+4g.. of qs
//    (low nibbles: sub-block 2p, high nibbles: sub-block 2p+1, elements 4g..4g+3 of each);
//  * Q6_K (32 + 256 + 32 x 64 + 16 x 64): f16 d x 16, the 16 int8 scales [sub-block][row];
//    ql word 16h + 8kk + lw = ql bytes 64h+32kk+4lw..; qh word 8h + lw = qh bytes 32h+4lw...
// Packed sizes: Q8_0, Q4_0, Q5_0 and Q6_K as the original; Q4_K 2.8 % more (unpacked 6-bit scales).
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

// Whether `w` can be packed: a Q8_0, Q4_0, Q5_0, Q4_K or Q6_K matrix with a multiple of 16 rows.
bool packable(const WeightView& w);

// Packs `w` (precondition: packable(w)), rows split across the pool's threads.
PackedMatrix pack_matrix(const WeightView& w, ThreadPool& pool);

// The quant of row r, element i as the packed layout stores it (for tests): the unsigned
// byte for Q8_0, the 4-bit value for Q4_0 and Q4_K, the 5-bit value for Q5_0, the 6-bit value
// for Q6_K.
uint8_t packed_quant(const PackedMatrix& m, int64_t r, int64_t i);

}  // namespace alloy::cpu
