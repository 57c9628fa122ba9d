// Read-only memory map of a whole file, plus a bounds-checked byte view over it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace alloy {

// A view of bytes [data, data + size). Invariant: every read through a ByteSpan stays
// inside it; subspan() and read helpers check offsets against size before touching memory.
class ByteSpan {
 public:
  ByteSpan() = default;
  ByteSpan(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool contains(uint64_t offset, uint64_t length) const {
    return offset <= size_ && length <= size_ - offset;
  }
  // Precondition checked: contains(offset, length); throws alloy::Error(internal) if not.
  ByteSpan subspan(uint64_t offset, uint64_t length) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Owns a read-only, private mapping of a file. Move-only. An empty file maps to an empty span.
class MappedFile {
 public:
  static MappedFile open(const std::string& path);  // throws alloy::Error(io_error)
  // A mapping over bytes already in memory (tests, fuzzing): copies them into an
  // anonymous mapping so the same code paths and bounds apply.
  static MappedFile from_bytes(const uint8_t* data, size_t size);
  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  ByteSpan bytes() const { return ByteSpan(static_cast<const uint8_t*>(addr_), size_); }
  // Tells the kernel this process no longer needs the resident pages wholly inside `inner`
  // (a span of bytes()), which lowers its resident memory; a later read maps them again from
  // the page cache. A mapping of a file only: an in-memory copy (from_bytes) is left alone,
  // since dropping its pages would lose its contents. Throws Error(internal) if `inner` is
  // not inside the mapping.
  void drop_resident(ByteSpan inner) const;
  const std::string& path() const { return path_; }

 private:
  void release();
  void* addr_ = nullptr;
  size_t size_ = 0;
  std::string path_;
  bool file_backed_ = false;
};

}  // namespace alloy
