#include "page_in.h"

#include <algorithm>

#include <sys/mman.h>
#include <unistd.h>

namespace alloy {

namespace {

constexpr uint64_t kChunkBytes = 8ull << 20;

uint64_t page_size() {
  const long size = ::sysconf(_SC_PAGESIZE);
  return size > 0 ? static_cast<uint64_t>(size) : 4096;
}

// madvise needs a page-aligned start; widening the range to whole pages stays inside the
// mapping because mappings are page-granular.
void advise_will_need(ByteSpan bytes, uint64_t page) {
  const auto start = reinterpret_cast<uintptr_t>(bytes.data());
  const uintptr_t aligned = start & ~static_cast<uintptr_t>(page - 1);
  ::madvise(reinterpret_cast<void*>(aligned), bytes.size() + (start - aligned), MADV_WILLNEED);
}

}  // namespace

void page_in(ByteSpan bytes, const std::function<bool(uint64_t done, uint64_t total)>& progress) {
  const uint64_t total = bytes.size();
  if (total == 0) {
    progress(0, 0);
    return;
  }
  const uint64_t page = page_size();
  advise_will_need(bytes, page);
  // Volatile reads are side effects the compiler must keep.
  const volatile uint8_t* data = bytes.data();
  for (uint64_t chunk = 0; chunk < total; chunk += kChunkBytes) {
    const uint64_t end = std::min(total, chunk + kChunkBytes);
    for (uint64_t offset = chunk; offset < end; offset += page) static_cast<void>(data[offset]);
    if (!progress(end, total)) break;
  }
}

}  // namespace alloy
