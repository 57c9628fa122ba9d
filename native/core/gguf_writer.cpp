#include "gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

#include "error.h"

namespace alloy {
namespace {

constexpr uint64_t kDefaultAlignment = 32;
constexpr std::string_view kAlignmentKey = "general.alignment";

uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorKind::invalid_argument, message); }

}  // namespace

std::string_view gguf_field_kind_name(GgufFieldKind kind) {
  switch (kind) {
    case GgufFieldKind::magic: return "magic";
    case GgufFieldKind::version: return "version";
    case GgufFieldKind::tensor_count: return "tensor_count";
    case GgufFieldKind::kv_count: return "kv_count";
    case GgufFieldKind::key_length: return "key_length";
    case GgufFieldKind::value_type: return "value_type";
    case GgufFieldKind::scalar_value: return "scalar_value";
    case GgufFieldKind::string_length: return "string_length";
    case GgufFieldKind::array_type: return "array_type";
    case GgufFieldKind::array_count: return "array_count";
    case GgufFieldKind::tensor_name_length: return "tensor_name_length";
    case GgufFieldKind::n_dims: return "n_dims";
    case GgufFieldKind::dim: return "dim";
    case GgufFieldKind::tensor_type: return "tensor_type";
    case GgufFieldKind::tensor_offset: return "tensor_offset";
  }
  return "unknown";
}

std::vector<uint64_t> GgufLayout::boundaries() const {
  std::vector<uint64_t> out;
  for (const GgufField& f : fields) {
    out.push_back(f.offset);
    out.push_back(f.offset + f.size);
  }
  out.insert(out.end(), kv_offsets.begin(), kv_offsets.end());
  out.insert(out.end(), tensor_info_offsets.begin(), tensor_info_offsets.end());
  out.push_back(tensor_infos_end);
  out.push_back(data_offset);
  out.insert(out.end(), tensor_data_offsets.begin(), tensor_data_offsets.end());
  out.insert(out.end(), tensor_data_ends.begin(), tensor_data_ends.end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  out.erase(std::lower_bound(out.begin(), out.end(), file_size), out.end());
  return out;
}

std::vector<GgufField> GgufLayout::fields_of(GgufFieldKind kind) const {
  std::vector<GgufField> out;
  for (const GgufField& f : fields) {
    if (f.kind == kind) out.push_back(f);
  }
  return out;
}

// ---- GgufEncoder ----

void GgufEncoder::le(uint64_t v, uint32_t n_bytes) {
  for (uint32_t i = 0; i < n_bytes; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void GgufEncoder::raw(ByteSpan data) {
  if (data.size() > 0) bytes_.insert(bytes_.end(), data.data(), data.data() + data.size());
}

void GgufEncoder::raw(std::string_view data) { bytes_.insert(bytes_.end(), data.begin(), data.end()); }

void GgufEncoder::zeros(uint64_t count) { bytes_.resize(bytes_.size() + count, 0); }

void GgufEncoder::pad_to(uint64_t alignment) { zeros(padded(size(), alignment) - size()); }

void GgufEncoder::field_le(GgufFieldKind kind, uint64_t v, uint32_t n_bytes) {
  mark(kind, n_bytes);
  le(v, n_bytes);
}

void GgufEncoder::field_raw(GgufFieldKind kind, std::string_view data) {
  mark(kind, static_cast<uint32_t>(data.size()));
  raw(data);
}

void GgufEncoder::string(GgufFieldKind length_kind, std::string_view s) {
  field_le(length_kind, s.size(), 8);
  raw(s);
}

void GgufEncoder::append(const GgufEncoder& other) {
  const uint64_t base = size();
  bytes_.insert(bytes_.end(), other.bytes_.begin(), other.bytes_.end());
  for (const GgufField& f : other.fields_) fields_.push_back({f.kind, base + f.offset, f.size});
}

// ---- GgufMetaValue ----

namespace {

uint64_t float_bits(float v) {
  uint32_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

uint64_t double_bits(double v) {
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof bits);
  return bits;
}

}  // namespace

#define ALLOY_SCALAR_MAKER(fn, ctype, gguf_type, bits_expr, n_bytes) \
  GgufMetaValue GgufMetaValue::fn(ctype v) {                         \
    GgufMetaValue m(GgufValueType::gguf_type);                       \
    m.payload_.field_le(GgufFieldKind::scalar_value, bits_expr, n_bytes); \
    return m;                                                        \
  }
ALLOY_SCALAR_MAKER(u8, uint8_t, UINT8, v, 1)
ALLOY_SCALAR_MAKER(i8, int8_t, INT8, static_cast<uint8_t>(v), 1)
ALLOY_SCALAR_MAKER(u16, uint16_t, UINT16, v, 2)
ALLOY_SCALAR_MAKER(i16, int16_t, INT16, static_cast<uint16_t>(v), 2)
ALLOY_SCALAR_MAKER(u32, uint32_t, UINT32, v, 4)
ALLOY_SCALAR_MAKER(i32, int32_t, INT32, static_cast<uint32_t>(v), 4)
ALLOY_SCALAR_MAKER(f32, float, FLOAT32, float_bits(v), 4)
ALLOY_SCALAR_MAKER(boolean, bool, BOOL, v ? 1u : 0u, 1)
ALLOY_SCALAR_MAKER(u64, uint64_t, UINT64, v, 8)
ALLOY_SCALAR_MAKER(i64, int64_t, INT64, static_cast<uint64_t>(v), 8)
ALLOY_SCALAR_MAKER(f64, double, FLOAT64, double_bits(v), 8)
#undef ALLOY_SCALAR_MAKER

GgufMetaValue GgufMetaValue::string(std::string_view v) {
  GgufMetaValue m(GgufValueType::STRING);
  m.payload_.string(GgufFieldKind::string_length, v);
  return m;
}

GgufMetaValue GgufMetaValue::raw_array(GgufValueType elem_type, ByteSpan elements, uint64_t count) {
  const uint32_t elem_size = gguf_scalar_size(elem_type);
  if (elem_size == 0) {
    invalid("array element type " + std::string(gguf_value_type_name(elem_type)) +
            " is not a fixed-size scalar (use string_array; arrays of arrays are not allowed)");
  }
  if (count > std::numeric_limits<uint64_t>::max() / elem_size || count * elem_size != elements.size()) {
    invalid("array of " + std::to_string(count) + " elements does not match its " +
            std::to_string(elements.size()) + " bytes");
  }
  GgufMetaValue m(GgufValueType::ARRAY);
  m.payload_.field_le(GgufFieldKind::array_type, static_cast<uint32_t>(elem_type), 4);
  m.payload_.field_le(GgufFieldKind::array_count, count, 8);
  m.payload_.raw(elements);
  return m;
}

GgufMetaValue GgufMetaValue::string_array(const std::vector<std::string_view>& values) {
  GgufMetaValue m(GgufValueType::ARRAY);
  m.payload_.field_le(GgufFieldKind::array_type, static_cast<uint32_t>(GgufValueType::STRING), 4);
  m.payload_.field_le(GgufFieldKind::array_count, values.size(), 8);
  for (std::string_view s : values) m.payload_.string(GgufFieldKind::string_length, s);
  return m;
}

GgufMetaValue GgufMetaValue::string_array(const std::vector<std::string>& values) {
  return string_array(std::vector<std::string_view>(values.begin(), values.end()));
}

GgufMetaValue GgufMetaValue::copy_of(const GgufValue& value) {
  switch (value.type) {
    case GgufValueType::UINT8: return u8(static_cast<uint8_t>(value.u64));
    case GgufValueType::INT8: return i8(static_cast<int8_t>(value.i64));
    case GgufValueType::UINT16: return u16(static_cast<uint16_t>(value.u64));
    case GgufValueType::INT16: return i16(static_cast<int16_t>(value.i64));
    case GgufValueType::UINT32: return u32(static_cast<uint32_t>(value.u64));
    case GgufValueType::INT32: return i32(static_cast<int32_t>(value.i64));
    case GgufValueType::FLOAT32: return f32(static_cast<float>(value.f64));
    case GgufValueType::BOOL: return boolean(value.u64 != 0);
    case GgufValueType::STRING: return string(value.str);
    case GgufValueType::UINT64: return u64(value.u64);
    case GgufValueType::INT64: return i64(value.i64);
    case GgufValueType::FLOAT64: return f64(value.f64);
    case GgufValueType::ARRAY:
      if (value.array_type == GgufValueType::STRING) return string_array(value.array_strings);
      return raw_array(value.array_type, value.array_raw, value.array_count);
  }
  invalid("cannot copy a metadata value of unknown type " + std::to_string(static_cast<uint32_t>(value.type)));
}

// ---- GgufWriter ----

GgufWriter::GgufWriter(uint32_t version) : version_(version) {
  if (version != 2 && version != 3) invalid("GGUF version " + std::to_string(version) + " cannot be written");
}

void GgufWriter::add(std::string key, GgufMetaValue value) {
  if (key.empty()) invalid("empty metadata key");
  if (!keys_.insert(key).second) invalid("duplicate metadata key '" + key + "'");
  kvs_.push_back({std::move(key), std::move(value)});
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, TensorFill fill) {
  if (name.empty()) invalid("empty tensor name");
  if (shape.empty() || shape.size() > 4) {
    invalid("tensor '" + name + "' has " + std::to_string(shape.size()) + " dimensions (1 to 4 allowed)");
  }
  for (int64_t d : shape) {
    if (d <= 0) invalid("tensor '" + name + "' has a dimension " + std::to_string(d));
  }
  std::optional<uint64_t> n_bytes = ggml_row_bytes(type, static_cast<uint64_t>(shape[0]));
  if (!n_bytes) {
    invalid("tensor '" + name + "' row of " + std::to_string(shape[0]) + " elements is not a multiple of the " +
            std::string(ggml_type_name(type)) + " block size");
  }
  for (size_t i = 1; i < shape.size(); ++i) {
    const uint64_t d = static_cast<uint64_t>(shape[i]);
    if (*n_bytes > std::numeric_limits<uint64_t>::max() / 2 / d) invalid("tensor '" + name + "' is too large");
    *n_bytes *= d;
  }
  if (!fill) invalid("tensor '" + name + "' has no data source");
  if (tensor_names_.count(name) != 0) invalid("duplicate tensor name '" + name + "'");
  tensor_names_.insert(name);
  tensors_.push_back({std::move(name), type, std::move(shape), *n_bytes, std::move(fill)});
}

void GgufWriter::add_tensor(std::string name, GgmlType type, std::vector<int64_t> shape, std::vector<uint8_t> data) {
  const std::string label = name;
  auto shared = std::make_shared<std::vector<uint8_t>>(std::move(data));
  add_tensor(std::move(name), type, std::move(shape), [shared, label](std::vector<uint8_t>& bytes) {
    if (shared->size() != bytes.size()) {
      invalid("tensor '" + label + "' has " + std::to_string(shared->size()) + " bytes of data, its shape needs " +
              std::to_string(bytes.size()));
    }
    bytes = *shared;
  });
}

uint64_t GgufWriter::alignment() const {
  for (const Kv& kv : kvs_) {
    if (kv.key != kAlignmentKey || kv.value.type() != GgufValueType::UINT32) continue;
    const std::vector<uint8_t>& b = kv.value.payload().bytes();
    const uint64_t value = uint64_t{b[0]} | uint64_t{b[1]} << 8 | uint64_t{b[2]} << 16 | uint64_t{b[3]} << 24;
    return is_power_of_two(value) ? value : kDefaultAlignment;
  }
  return kDefaultAlignment;
}

GgufEncoder GgufWriter::encode_header(GgufLayout& layout) const {
  GgufEncoder e;
  e.field_raw(GgufFieldKind::magic, "GGUF");
  e.field_le(GgufFieldKind::version, version_, 4);
  e.field_le(GgufFieldKind::tensor_count, tensors_.size(), 8);
  e.field_le(GgufFieldKind::kv_count, kvs_.size(), 8);
  for (const Kv& kv : kvs_) {
    layout.kv_offsets.push_back(e.size());
    e.string(GgufFieldKind::key_length, kv.key);
    e.field_le(GgufFieldKind::value_type, static_cast<uint32_t>(kv.value.type()), 4);
    e.append(kv.value.payload());
  }
  const uint64_t align = alignment();
  uint64_t data_cursor = 0;
  for (const Tensor& t : tensors_) {
    layout.tensor_info_offsets.push_back(e.size());
    e.string(GgufFieldKind::tensor_name_length, t.name);
    e.field_le(GgufFieldKind::n_dims, t.shape.size(), 4);
    for (int64_t d : t.shape) e.field_le(GgufFieldKind::dim, static_cast<uint64_t>(d), 8);
    e.field_le(GgufFieldKind::tensor_type, static_cast<uint32_t>(t.type), 4);
    e.field_le(GgufFieldKind::tensor_offset, data_cursor, 8);
    data_cursor += padded(t.n_bytes, align);
  }
  layout.tensor_infos_end = e.size();
  e.pad_to(align);
  layout.data_offset = e.size();
  layout.fields = e.fields();
  return e;
}

GgufLayout GgufWriter::write_to(const std::function<void(ByteSpan)>& emit) const {
  GgufLayout layout;
  const GgufEncoder header = encode_header(layout);
  emit(ByteSpan(header.bytes().data(), header.bytes().size()));
  const uint64_t align = alignment();
  uint64_t position = header.size();
  const std::vector<uint8_t> zero_padding(align, 0);
  std::vector<uint8_t> data;
  for (const Tensor& t : tensors_) {
    data.assign(t.n_bytes, 0);
    t.fill(data);
    if (data.size() != t.n_bytes) {
      throw Error(ErrorKind::internal, "the data source of tensor '" + t.name + "' changed its size");
    }
    layout.tensor_data_offsets.push_back(position);
    emit(ByteSpan(data.data(), data.size()));
    position += t.n_bytes;
    layout.tensor_data_ends.push_back(position);
    const uint64_t pad = padded(position, align) - position;
    emit(ByteSpan(zero_padding.data(), pad));
    position += pad;
  }
  layout.file_size = position;
  return layout;
}

std::vector<uint8_t> GgufWriter::write_bytes(GgufLayout* layout) const {
  std::vector<uint8_t> out;
  GgufLayout written = write_to([&out](ByteSpan bytes) {
    if (bytes.size() > 0) out.insert(out.end(), bytes.data(), bytes.data() + bytes.size());
  });
  if (layout != nullptr) *layout = std::move(written);
  return out;
}

GgufLayout GgufWriter::write_file(const std::string& path) const {
  struct CloseFile {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, CloseFile> file(std::fopen(path.c_str(), "wb"));
  if (!file) throw Error(ErrorKind::io_error, "cannot create '" + path + "': " + std::strerror(errno));
  const auto fail = [&path](const char* what) {
    throw Error(ErrorKind::io_error, std::string(what) + " '" + path + "': " + std::strerror(errno));
  };
  GgufLayout layout;
  try {
    layout = write_to([&](ByteSpan bytes) {
      if (bytes.size() > 0 && std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size()) {
        fail("cannot write");
      }
    });
    if (std::fclose(file.release()) != 0) fail("cannot finish writing");
  } catch (...) {
    file.reset();
    std::remove(path.c_str());
    throw;
  }
  return layout;
}

}  // namespace alloy
