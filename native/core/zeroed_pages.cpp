#include "zeroed_pages.h"

#include <sys/mman.h>

#include <string>

#include "error.h"

namespace alloy {

ZeroedPages::ZeroedPages(size_t bytes) : bytes_(bytes) {
  if (bytes == 0) return;
  void* addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (addr == MAP_FAILED) {
    throw Error(ErrorKind::out_of_memory, "cannot map " + std::to_string(bytes >> 20) + " MiB of memory");
  }
  data_ = static_cast<uint8_t*>(addr);
}

ZeroedPages::~ZeroedPages() {
  if (data_ != nullptr) ::munmap(data_, bytes_);
}

}  // namespace alloy
