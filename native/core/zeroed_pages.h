// An anonymous, private memory mapping: page-aligned, zero-filled, and not resident until
// touched (like a large calloc). The KV caches live in one, so the Metal host can hand them to
// the GPU without a copy (newBufferWithBytesNoCopy needs page-aligned memory).
#pragma once

#include <cstddef>
#include <cstdint>

namespace alloy {

class ZeroedPages {
 public:
  // Throws Error(out_of_memory) when the mapping cannot be made; 0 bytes maps nothing.
  explicit ZeroedPages(size_t bytes);
  ~ZeroedPages();
  ZeroedPages(const ZeroedPages&) = delete;
  ZeroedPages& operator=(const ZeroedPages&) = delete;

  // Invariant: [data(), data() + bytes()) is readable and writable until destruction.
  uint8_t* data() const { return data_; }
  size_t bytes() const { return bytes_; }

 private:
  uint8_t* data_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace alloy
