// Typed access to GGUF metadata values and the GgufFile lookup helpers built on it.
#include <cstring>
#include <limits>
#include <string>

#include "error.h"
#include "gguf.h"

namespace alloy {

namespace {

bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::UINT8 || t == GgufValueType::UINT16 || t == GgufValueType::UINT32 ||
         t == GgufValueType::UINT64;
}
bool is_signed(GgufValueType t) {
  return t == GgufValueType::INT8 || t == GgufValueType::INT16 || t == GgufValueType::INT32 ||
         t == GgufValueType::INT64;
}

// Reads element i of a packed little-endian array as T. Invariant: i < count and the raw
// span holds count elements of sizeof(T) bytes (checked by the parser).
template <typename T>
T array_elem(const ByteSpan& raw, uint64_t i) {
  T v;
  std::memcpy(&v, raw.subspan(i * sizeof(T), sizeof(T)).data(), sizeof(T));
  return v;
}

[[noreturn]] void wrong_type(std::string_view key, const char* wanted, const GgufValue& v) {
  throw Error(ErrorKind::invalid_metadata, "metadata key '" + std::string(key) + "' should be " + wanted + " but is " +
                                               std::string(gguf_value_type_name(v.type)));
}

}  // namespace

std::optional<uint64_t> GgufValue::as_uint() const {
  if (is_unsigned(type)) return u64;
  if (is_signed(type) && i64 >= 0) return static_cast<uint64_t>(i64);
  return std::nullopt;
}

std::optional<int64_t> GgufValue::as_int() const {
  if (is_signed(type)) return i64;
  if (is_unsigned(type) && u64 <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(u64);
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufValueType::FLOAT32 || type == GgufValueType::FLOAT64) return f64;
  if (is_unsigned(type)) return static_cast<double>(u64);
  if (is_signed(type)) return static_cast<double>(i64);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (type == GgufValueType::BOOL) return u64 != 0;
  return std::nullopt;
}

std::optional<std::string_view> GgufValue::as_string() const {
  if (type == GgufValueType::STRING) return str;
  return std::nullopt;
}

std::optional<std::vector<float>> GgufValue::array_as_floats() const {
  if (type != GgufValueType::ARRAY) return std::nullopt;
  std::vector<float> out;
  out.reserve(static_cast<size_t>(array_count));
  for (uint64_t i = 0; i < array_count; ++i) {
    switch (array_type) {
      case GgufValueType::FLOAT32: out.push_back(array_elem<float>(array_raw, i)); break;
      case GgufValueType::FLOAT64: out.push_back(static_cast<float>(array_elem<double>(array_raw, i))); break;
      case GgufValueType::INT32: out.push_back(static_cast<float>(array_elem<int32_t>(array_raw, i))); break;
      case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16:
      case GgufValueType::INT16: case GgufValueType::UINT32: case GgufValueType::BOOL:
      case GgufValueType::STRING: case GgufValueType::ARRAY: case GgufValueType::UINT64:
      case GgufValueType::INT64:
        return std::nullopt;
    }
  }
  return out;
}

std::optional<std::vector<int32_t>> GgufValue::array_as_ints() const {
  if (type != GgufValueType::ARRAY) return std::nullopt;
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(array_count));
  for (uint64_t i = 0; i < array_count; ++i) {
    switch (array_type) {
      case GgufValueType::INT32: out.push_back(array_elem<int32_t>(array_raw, i)); break;
      case GgufValueType::UINT32: {
        const uint32_t v = array_elem<uint32_t>(array_raw, i);
        if (v > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) return std::nullopt;
        out.push_back(static_cast<int32_t>(v));
        break;
      }
      case GgufValueType::UINT8: out.push_back(array_elem<uint8_t>(array_raw, i)); break;
      case GgufValueType::INT8: out.push_back(array_elem<int8_t>(array_raw, i)); break;
      case GgufValueType::UINT16: out.push_back(array_elem<uint16_t>(array_raw, i)); break;
      case GgufValueType::INT16: out.push_back(array_elem<int16_t>(array_raw, i)); break;
      case GgufValueType::FLOAT32: case GgufValueType::BOOL: case GgufValueType::STRING:
      case GgufValueType::ARRAY: case GgufValueType::UINT64: case GgufValueType::INT64:
      case GgufValueType::FLOAT64:
        return std::nullopt;
    }
  }
  return out;
}

std::optional<std::string_view> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  return v != nullptr ? v->as_string() : std::nullopt;
}

std::optional<uint64_t> GgufFile::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  return v != nullptr ? v->as_uint() : std::nullopt;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v != nullptr ? v->as_float() : std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  return v != nullptr ? v->as_bool() : std::nullopt;
}

static const GgufValue& require(const GgufFile& file, std::string_view key) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) throw Error(ErrorKind::missing_key, "required metadata key '" + std::string(key) + "' is missing");
  return *v;
}

std::string_view GgufFile::require_string(std::string_view key) const {
  const GgufValue& v = require(*this, key);
  if (const auto s = v.as_string()) return *s;
  wrong_type(key, "a string", v);
}

uint64_t GgufFile::require_uint(std::string_view key) const {
  const GgufValue& v = require(*this, key);
  if (const auto u = v.as_uint()) return *u;
  wrong_type(key, "a non-negative integer", v);
}

double GgufFile::require_float(std::string_view key) const {
  const GgufValue& v = require(*this, key);
  if (const auto f = v.as_float()) return *f;
  wrong_type(key, "a number", v);
}

const GgufValue& GgufFile::require_array(std::string_view key, GgufValueType elem_type) const {
  const GgufValue& v = require(*this, key);
  if (v.type != GgufValueType::ARRAY || v.array_type != elem_type) {
    wrong_type(key, (std::string("an array of ") + std::string(gguf_value_type_name(elem_type))).c_str(), v);
  }
  return v;
}

}  // namespace alloy
