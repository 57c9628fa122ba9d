// GGUF (version 2 or 3) writer: metadata of every value type, tensors of any ggml type,
// written in one streaming pass (header, then each tensor's data produced on demand), to a
// file or to memory. The layout follows llama.cpp's writer exactly: the data section starts
// at the next multiple of the alignment, every tensor starts at a multiple of it, and every
// tensor's data is zero-padded to it (the last one too). The writer also reports where each
// header field went (GgufLayout), so tests and fuzzers can plant faults in a valid file.
// Host byte order must be little-endian (true of every platform Alloy targets).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_set>
#include <vector>

#include "ggml_type.h"
#include "gguf.h"

namespace alloy {

// What a recorded header field holds.
enum class GgufFieldKind {
  magic,               // the 4 bytes "GGUF"
  version,             // u32
  tensor_count,        // u64
  kv_count,            // u64
  key_length,          // u64 length of a metadata key
  value_type,          // u32 GgufValueType of a metadata value
  scalar_value,        // the bytes of a non-string scalar metadata value
  string_length,       // u64 length of a string value or of one string-array element
  array_type,          // u32 element type of an array value
  array_count,         // u64 element count of an array value
  tensor_name_length,  // u64
  n_dims,              // u32
  dim,                 // i64, one per dimension
  tensor_type,         // u32 ggml type id
  tensor_offset,       // u64, relative to the data section
};
std::string_view gguf_field_kind_name(GgufFieldKind kind);

struct GgufField {
  GgufFieldKind kind;
  uint64_t offset;  // absolute position in the file (relative to the encoder in GgufEncoder)
  uint32_t size;    // bytes
};

// Where everything went in a written file (all offsets absolute).
struct GgufLayout {
  std::vector<GgufField> fields;               // every fixed-size header field, in file order
  std::vector<uint64_t> kv_offsets;            // start of each metadata entry
  std::vector<uint64_t> tensor_info_offsets;   // start of each tensor-info entry
  uint64_t tensor_infos_end = 0;               // end of the tensor table, before padding
  uint64_t data_offset = 0;                    // start of the aligned data section
  std::vector<uint64_t> tensor_data_offsets;   // start of each tensor's data
  std::vector<uint64_t> tensor_data_ends;      // end of each tensor's data, before padding
  uint64_t file_size = 0;

  // Every offset where a header field, an entry or a section starts or ends, sorted, unique,
  // each < file_size.
  std::vector<uint64_t> boundaries() const;
  // Fields of one kind, in file order.
  std::vector<GgufField> fields_of(GgufFieldKind kind) const;
};

// Little-endian GGUF primitives appended to a byte vector; the field_* forms also record
// the field's position. Public so tests can hand-craft files the writer refuses to make.
class GgufEncoder {
 public:
  void le(uint64_t v, uint32_t n_bytes);  // the low n_bytes of v, least significant first
  void u8(uint8_t v) { le(v, 1); }
  void u32(uint32_t v) { le(v, 4); }
  void u64(uint64_t v) { le(v, 8); }
  void raw(ByteSpan data);
  void raw(std::string_view data);
  void zeros(uint64_t count);
  void pad_to(uint64_t alignment);  // zero bytes up to the next multiple of alignment

  void field_le(GgufFieldKind kind, uint64_t v, uint32_t n_bytes);
  void field_raw(GgufFieldKind kind, std::string_view data);
  // u64 length (recorded as `length_kind`) followed by the bytes.
  void string(GgufFieldKind length_kind, std::string_view s);
  // Appends another encoder's bytes, shifting its recorded fields.
  void append(const GgufEncoder& other);

  uint64_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  const std::vector<GgufField>& fields() const { return fields_; }

 private:
  void mark(GgufFieldKind kind, uint32_t size) { fields_.push_back({kind, bytes_.size(), size}); }
  std::vector<uint8_t> bytes_;
  std::vector<GgufField> fields_;
};

// One metadata value ready to be written: its type and its encoded payload (everything
// after the value-type field). Arrays of arrays cannot be made (GGUF readers reject them).
class GgufMetaValue {
 public:
  static GgufMetaValue u8(uint8_t v);
  static GgufMetaValue i8(int8_t v);
  static GgufMetaValue u16(uint16_t v);
  static GgufMetaValue i16(int16_t v);
  static GgufMetaValue u32(uint32_t v);
  static GgufMetaValue i32(int32_t v);
  static GgufMetaValue f32(float v);
  static GgufMetaValue boolean(bool v);
  static GgufMetaValue u64(uint64_t v);
  static GgufMetaValue i64(int64_t v);
  static GgufMetaValue f64(double v);
  static GgufMetaValue string(std::string_view v);
  // Array of fixed-size elements packed little-endian in `elements` (count * element size
  // bytes); throws Error(invalid_argument) for STRING/ARRAY element types or a size mismatch.
  static GgufMetaValue raw_array(GgufValueType elem_type, ByteSpan elements, uint64_t count);
  // Array from host values; sizeof(T) must equal the element type's size (BOOL: uint8_t).
  template <typename T>
  static GgufMetaValue array(GgufValueType elem_type, const std::vector<T>& values) {
    static_assert(std::is_arithmetic<T>::value && !std::is_same<T, bool>::value,
                  "array elements must be plain numbers (use uint8_t for BOOL)");
    return raw_array(elem_type,
                     ByteSpan(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(T)),
                     values.size());
  }
  static GgufMetaValue string_array(const std::vector<std::string>& values);
  static GgufMetaValue string_array(const std::vector<std::string_view>& values);
  // The same value as one read from a file (any type, including arrays).
  static GgufMetaValue copy_of(const GgufValue& value);

  GgufValueType type() const { return type_; }
  const GgufEncoder& payload() const { return payload_; }

 private:
  explicit GgufMetaValue(GgufValueType type) : type_(type) {}
  GgufValueType type_;
  GgufEncoder payload_;
};

// Produces a tensor's data: `bytes` arrives zero-filled with exactly the tensor's storage
// size and must keep that size.
using TensorFill = std::function<void(std::vector<uint8_t>& bytes)>;

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3);  // 2 or 3, else Error(invalid_argument)

  // Metadata entries are written in the order they are added. Throws Error(invalid_argument)
  // for an empty or duplicate key. The alignment is `general.alignment` when it is a UINT32
  // power of two, else 32: other values are written as given (so tests can make such files)
  // but do not change the layout.
  void add(std::string key, GgufMetaValue value);
  // `shape` is in ggml order (shape[0] is the row length), 1 to 4 dimensions, each > 0,
  // shape[0] a multiple of the type's block size; throws Error(invalid_argument) otherwise
  // or for a duplicate name. `fill` runs while the file is written.
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, TensorFill fill);
  void add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, std::vector<uint8_t> data);

  uint64_t alignment() const;
  size_t kv_count() const { return kvs_.size(); }
  size_t tensor_count() const { return tensors_.size(); }

  // Throws Error(io_error) if the file cannot be written.
  GgufLayout write_file(const std::string& path) const;
  std::vector<uint8_t> write_bytes(GgufLayout* layout = nullptr) const;

 private:
  struct Kv {
    std::string key;
    GgufMetaValue value;
  };
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<int64_t> shape;
    uint64_t n_bytes;
    TensorFill fill;
  };
  GgufEncoder encode_header(GgufLayout& layout) const;
  // Streams the whole file through `emit`, in order.
  GgufLayout write_to(const std::function<void(ByteSpan)>& emit) const;

  uint32_t version_;
  std::vector<Kv> kvs_;
  std::unordered_set<std::string> keys_;
  std::vector<Tensor> tensors_;
  std::unordered_set<std::string> tensor_names_;
};

}  // namespace alloy
