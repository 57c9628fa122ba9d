#include "backend/cpu/packed_matmul.h"

#include "backend/cpu/quant_blocks.h"

namespace alloy::cpu {

int packed_quant_offset(GgmlType type) { return type == GgmlType::Q8_0 ? 128 : 8; }

void activation_block_sums(const uint8_t* act_row, int64_t n_blocks, int offset, int32_t* sums) {
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(act_row);
  for (int64_t b = 0; b < n_blocks; ++b) {
    int32_t sum = 0;
    for (int8_t q : blocks[b].qs) sum += q;
    sums[b] = offset * sum;
  }
}

}  // namespace alloy::cpu
