// GGUF (versions 2 and 3) reader: maps the file once, parses the header, metadata and
// tensor table in one pass, validates every tensor, and hands out zero-copy views.
// Strings and tensor data point into the mapping, so a GgufFile must outlive them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ggml_type.h"
#include "mapped_file.h"

namespace alloy {

enum class GgufValueType : uint32_t {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6,
  BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
};

std::string_view gguf_value_type_name(GgufValueType type);
// Size in bytes of one scalar of a fixed-size type; 0 for STRING and ARRAY.
uint32_t gguf_scalar_size(GgufValueType type);

// One metadata value. Scalars live in the fields; strings and arrays are views into the map.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  uint64_t u64 = 0;          // unsigned integer types and BOOL (0/1)
  int64_t i64 = 0;           // signed integer types
  double f64 = 0;            // FLOAT32, FLOAT64
  std::string_view str;      // STRING
  // ARRAY: element type, count, and either the raw packed elements (fixed-size types)
  // or one view per element (STRING arrays). Arrays of arrays are rejected.
  GgufValueType array_type = GgufValueType::UINT8;
  uint64_t array_count = 0;
  ByteSpan array_raw;
  std::vector<std::string_view> array_strings;

  std::optional<uint64_t> as_uint() const;   // any integer type holding a value >= 0
  std::optional<int64_t> as_int() const;     // any integer type that fits int64
  std::optional<double> as_float() const;    // FLOAT32/FLOAT64 or any integer
  std::optional<bool> as_bool() const;       // BOOL only
  std::optional<std::string_view> as_string() const;  // STRING only
  // Numeric array element i (i < array_count) converted to the requested form; nullopt if
  // the value is not an array of a compatible type.
  std::optional<std::vector<float>> array_as_floats() const;
  std::optional<std::vector<int32_t>> array_as_ints() const;
};

struct GgufKv {
  std::string_view key;
  GgufValue value;
};

struct GgufTensorInfo {
  std::string_view name;
  uint32_t n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ggml order: ne[0] is the row length
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;   // relative to the start of the data section
  uint64_t n_bytes = 0;  // storage size
  uint64_t n_elements() const { return static_cast<uint64_t>(ne[0]) * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path);  // throws alloy::Error
  static GgufFile parse(MappedFile file);         // throws alloy::Error

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  // Absolute start of the tensor data: aligned, except in a tensor-less file that ends
  // before the padding, where it is the file size.
  uint64_t data_offset() const { return data_offset_; }
  ByteSpan file_bytes() const { return file_.bytes(); }
  // MappedFile::drop_resident for a span of file_bytes().
  void drop_resident(ByteSpan inner) const { file_.drop_resident(inner); }
  const std::string& path() const { return file_.path(); }

  const std::vector<GgufKv>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;
  std::optional<std::string_view> get_string(std::string_view key) const;
  std::optional<uint64_t> get_uint(std::string_view key) const;
  std::optional<double> get_float(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  // Required forms: throw Error(missing_key) if absent, Error(invalid_metadata) if the
  // value has the wrong type.
  std::string_view require_string(std::string_view key) const;
  uint64_t require_uint(std::string_view key) const;
  double require_float(std::string_view key) const;
  const GgufValue& require_array(std::string_view key, GgufValueType elem_type) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  ByteSpan tensor_bytes(const GgufTensorInfo& tensor) const;  // zero-copy view

  GgufFile(GgufFile&&) noexcept = default;
  GgufFile& operator=(GgufFile&&) noexcept = default;

 private:
  GgufFile() = default;
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::unordered_map<std::string_view, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string_view, size_t> tensor_index_;
  friend class GgufParser;
};

}  // namespace alloy
