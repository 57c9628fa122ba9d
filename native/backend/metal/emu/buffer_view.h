// Bounds-checked memory for emulated kernels (metal_emu.h): a Region is one block a kernel may
// address (a device buffer or one threadgroup allocation), and Ptr<T> is what a .metal kernel's
// `device_ptr<T>` / `threadgroup_ptr<T>` parameter becomes in C++: a region plus a byte offset
// with the pointer arithmetic of T*. Every dereference checks that the whole element lies
// inside the region and is aligned for T; a violation throws AccessFault, which the runtime
// turns into a dispatch error naming the region, the byte range and the lane.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace alloy::metal_emu {

class AccessFault : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class AddressSpace { device, threadgroup };

// Bytes aligned like the start of a Metal buffer (kRegionAlignment), owned.
class AlignedBytes {
 public:
  static constexpr size_t kRegionAlignment = 256;
  explicit AlignedBytes(size_t size = 0)
      : data_(static_cast<uint8_t*>(::operator new(size == 0 ? 1 : size, std::align_val_t{kRegionAlignment}))), size_(size) {
    std::memset(data_, 0, size == 0 ? 1 : size);
  }
  ~AlignedBytes() { ::operator delete(data_, std::align_val_t{kRegionAlignment}); }
  AlignedBytes(const AlignedBytes&) = delete;
  AlignedBytes& operator=(const AlignedBytes&) = delete;
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_;
  size_t size_;
};

struct Region {
  std::string name;
  AddressSpace space = AddressSpace::device;
  uint8_t* data = nullptr;
  size_t size = 0;
};

inline const char* space_name(AddressSpace space) { return space == AddressSpace::device ? "device" : "threadgroup"; }

// A checked pointer. Invariant: region_ is null or outlives the pointer (buffers and
// threadgroup memory outlive the dispatch). Offsets wrap like unsigned arithmetic and are only
// judged when dereferenced, so forming a pointer past the end is allowed, as in C++.
template <class T>
class Ptr {
 public:
  Ptr() = default;
  Ptr(const Region* region, uint64_t byte_offset) : region_(region), offset_(byte_offset) {}
  // T* from U* where C++ converts implicitly (adding const).
  template <class U, std::enable_if_t<std::is_convertible_v<U*, T*>, int> = 0>
  Ptr(const Ptr<U>& other) : region_(other.region()), offset_(other.byte_offset()) {}
  // Any other pointer cast, as `(device_ptr<const float4>)p` in a kernel: explicit only.
  template <class U, std::enable_if_t<!std::is_convertible_v<U*, T*>, int> = 0>
  explicit Ptr(const Ptr<U>& other) : region_(other.region()), offset_(other.byte_offset()) {}

  template <class I>
  T& operator[](I index) const {
    static_assert(std::is_integral_v<I>, "pointer index must be an integer");
    return *at(offset_ + static_cast<uint64_t>(index) * sizeof(T));
  }
  T& operator*() const { return *at(offset_); }
  T* operator->() const { return at(offset_); }

  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  Ptr operator+(I n) const { return Ptr(region_, offset_ + static_cast<uint64_t>(n) * sizeof(T)); }
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  friend Ptr operator+(I n, const Ptr& p) { return p + n; }
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  Ptr operator-(I n) const { return Ptr(region_, offset_ - static_cast<uint64_t>(n) * sizeof(T)); }
  template <class I>
  Ptr& operator+=(I n) { return *this = *this + n; }
  template <class I>
  Ptr& operator-=(I n) { return *this = *this - n; }
  Ptr& operator++() { return *this += 1; }
  Ptr& operator--() { return *this -= 1; }
  Ptr operator++(int) {
    Ptr old = *this;
    *this += 1;
    return old;
  }
  // Elements between two pointers into the same region.
  int64_t operator-(const Ptr& other) const {
    if (region_ != other.region_) throw AccessFault("difference of pointers into different regions");
    return static_cast<int64_t>(offset_ - other.offset_) / static_cast<int64_t>(sizeof(T));
  }
  bool operator==(const Ptr& o) const { return region_ == o.region_ && offset_ == o.offset_; }
  bool operator!=(const Ptr& o) const { return !(*this == o); }
  bool operator<(const Ptr& o) const { return static_cast<int64_t>(offset_ - o.offset_) < 0; }

  const Region* region() const { return region_; }
  uint64_t byte_offset() const { return offset_; }

 private:
  T* at(uint64_t offset) const {
    if (region_ == nullptr) throw AccessFault("dereference of a null pointer");
    const auto first = static_cast<int64_t>(offset);
    const bool inside = first >= 0 && static_cast<uint64_t>(first) <= region_->size &&
                        region_->size - static_cast<uint64_t>(first) >= sizeof(T);
    if (!inside) {
      throw AccessFault("out-of-bounds access to " + std::string(space_name(region_->space)) + " memory '" + region_->name +
                        "': bytes [" + std::to_string(first) + ", " + std::to_string(first + static_cast<int64_t>(sizeof(T))) +
                        ") of " + std::to_string(region_->size));
    }
    if (reinterpret_cast<uintptr_t>(region_->data + offset) % alignof(T) != 0) {
      throw AccessFault("misaligned access to '" + region_->name + "' at byte " + std::to_string(first) +
                        " (alignment " + std::to_string(alignof(T)) + ")");
    }
    // In bounds and aligned (checked above); the bytes are plain data of trivially copyable
    // kernel types, which MSL accesses through any pointer type the same way.
    return reinterpret_cast<T*>(region_->data + offset);
  }

  const Region* region_ = nullptr;
  uint64_t offset_ = 0;
};

// A device buffer: zero-filled aligned bytes with a name for error messages. Views stay valid
// while the buffer lives, also across moves (the region lives on the heap).
class Buffer {
 public:
  Buffer(std::string name, size_t bytes) : storage_(new AlignedBytes(bytes)), region_(new Region) {
    region_->name = std::move(name);
    region_->space = AddressSpace::device;
    region_->data = storage_->data();
    region_->size = bytes;
  }
  template <class T>
  static Buffer of(std::string name, const std::vector<T>& values) {
    static_assert(std::is_trivially_copyable_v<T>, "buffer contents are plain data");
    Buffer b(std::move(name), values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(b.region_->data, values.data(), values.size() * sizeof(T));
    return b;
  }

  template <class T>
  Ptr<T> view() const { return Ptr<T>(region_.get(), 0); }
  // The contents as values of T (size a multiple of sizeof(T)).
  template <class T>
  std::vector<T> to_vector() const {
    std::vector<T> out(region_->size / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), region_->data, out.size() * sizeof(T));
    return out;
  }
  uint8_t* bytes() const { return region_->data; }
  size_t size() const { return region_->size; }

 private:
  std::unique_ptr<AlignedBytes> storage_;
  std::unique_ptr<Region> region_;
};

}  // namespace alloy::metal_emu
