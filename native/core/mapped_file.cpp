#include "mapped_file.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

namespace alloy {

ByteSpan ByteSpan::subspan(uint64_t offset, uint64_t length) const {
  if (!contains(offset, length)) {
    throw Error(ErrorKind::internal, "byte span read out of bounds");
  }
  return ByteSpan(data_ + offset, static_cast<size_t>(length));
}

MappedFile MappedFile::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    throw Error(ErrorKind::io_error, "cannot open '" + path + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::io_error, "'" + path + "' is not a regular file");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<size_t>(st.st_size);
  if (file.size_ > 0) {
    void* addr = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      throw Error(ErrorKind::io_error, "cannot map '" + path + "': " + std::strerror(err));
    }
    file.addr_ = addr;
    file.file_backed_ = true;
  }
  ::close(fd);
  return file;
}

MappedFile MappedFile::from_bytes(const uint8_t* data, size_t size) {
  MappedFile file;
  file.path_ = "<memory>";
  file.size_ = size;
  if (size > 0) {
    void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (addr == MAP_FAILED) throw Error(ErrorKind::io_error, "cannot allocate a memory mapping");
    std::memcpy(addr, data, size);
    ::mprotect(addr, size, PROT_READ);
    file.addr_ = addr;
  }
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)),
      file_backed_(std::exchange(other.file_backed_, false)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
    file_backed_ = std::exchange(other.file_backed_, false);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::drop_resident(ByteSpan inner) const {
  const uint8_t* base = static_cast<const uint8_t*>(addr_);
  if (inner.size() == 0) return;
  if (inner.data() < base || inner.size() > size_ || inner.data() - base > static_cast<ptrdiff_t>(size_ - inner.size())) {
    throw Error(ErrorKind::internal, "drop_resident outside the mapping");
  }
  if (!file_backed_) return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(inner.data()) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(inner.data()) + inner.size()) / page * page;
  if (begin < end) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice: failure is harmless
}

void MappedFile::release() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
  file_backed_ = false;
}

}  // namespace alloy
