// GGUF parsing: one forward pass over the mapped bytes through a bounds-checked cursor.
// Counts and lengths read from the file are checked against the bytes that remain before
// anything is allocated, so a corrupt header can neither overflow nor exhaust memory.
#include <algorithm>
#include <cstring>
#include <new>
#include <limits>
#include <string>
#include <utility>

#include "error.h"
#include "gguf.h"

namespace alloy {

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kDefaultAlignment = 32;
constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kReserveLimit = 1 << 18;  // entries reserved up front, at most

// Reads little-endian values from a ByteSpan. Invariant: pos_ <= bytes_.size(); every read
// checks that the requested length fits before copying, and throws truncated_file if not.
class Cursor {
 public:
  explicit Cursor(ByteSpan bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  T read(const char* what) {
    T value;
    std::memcpy(&value, take(sizeof(T), what), sizeof(T));
    return value;
  }
  std::string_view read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    const uint8_t* p = take(len, what);
    return std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
  }
  const uint8_t* take(uint64_t len, const char* what) {
    if (len > remaining()) {
      throw Error(ErrorKind::truncated_file, std::string("file ends inside ") + what + " (needs " +
                                                 std::to_string(len) + " bytes at offset " +
                                                 std::to_string(pos_) + ", " +
                                                 std::to_string(remaining()) + " left)");
    }
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += len;
    return p;
  }

 private:
  ByteSpan bytes_;
  uint64_t pos_ = 0;
};

// The advice appended to a parse error, so every message says what the user can do.
std::string what_to_do(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::truncated_file:
    case ErrorKind::tensor_out_of_bounds:
      return " - the file is truncated or corrupt; download it again";
    case ErrorKind::bad_magic:
      return " - choose a GGUF model file (.gguf)";
    case ErrorKind::unsupported_version:
      return " - convert the model again with a current llama.cpp";
    case ErrorKind::invalid_metadata:
    case ErrorKind::duplicate_key:
    case ErrorKind::unknown_tensor_type:
    case ErrorKind::invalid_tensor:
      return " - the file is corrupt or was written by a newer GGUF tool; download it again or update Alloy";
    case ErrorKind::io_error: case ErrorKind::missing_key: case ErrorKind::unsupported_architecture:
    case ErrorKind::unsupported_tensor_type: case ErrorKind::unsupported_tokenizer:
    case ErrorKind::invalid_argument: case ErrorKind::prompt_too_long: case ErrorKind::out_of_memory:
    case ErrorKind::backend_unavailable: case ErrorKind::internal:
      return "";
  }
  return "";
}

bool is_known_value_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufValueType::FLOAT64); }

}  // namespace

std::string_view gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: return "u8";
    case GgufValueType::INT8: return "i8";
    case GgufValueType::UINT16: return "u16";
    case GgufValueType::INT16: return "i16";
    case GgufValueType::UINT32: return "u32";
    case GgufValueType::INT32: return "i32";
    case GgufValueType::FLOAT32: return "f32";
    case GgufValueType::BOOL: return "bool";
    case GgufValueType::STRING: return "string";
    case GgufValueType::ARRAY: return "array";
    case GgufValueType::UINT64: return "u64";
    case GgufValueType::INT64: return "i64";
    case GgufValueType::FLOAT64: return "f64";
  }
  return "?";
}

uint32_t gguf_scalar_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::BOOL: return 1;
    case GgufValueType::UINT16: case GgufValueType::INT16: return 2;
    case GgufValueType::UINT32: case GgufValueType::INT32: case GgufValueType::FLOAT32: return 4;
    case GgufValueType::UINT64: case GgufValueType::INT64: case GgufValueType::FLOAT64: return 8;
    case GgufValueType::STRING: case GgufValueType::ARRAY: return 0;
  }
  return 0;
}

// Parses a mapped file into a GgufFile. A friend of GgufFile; used only by GgufFile::parse.
class GgufParser {
 public:
  explicit GgufParser(GgufFile& out) : out_(out), cur_(out.file_.bytes()) {}

  void run() {
    parse_header();
    for (uint64_t i = 0; i < n_kv_; ++i) parse_kv();
    apply_alignment();
    for (uint64_t i = 0; i < n_tensors_; ++i) parse_tensor_info();
    place_data_section();
  }

 private:
  void parse_header() {
    if (cur_.remaining() < 4) {
      throw Error(ErrorKind::bad_magic, "file is too small to be GGUF (" + std::to_string(cur_.remaining()) + " bytes)");
    }
    const uint32_t magic = cur_.read<uint32_t>("magic");
    if (magic != kGgufMagic) throw Error(ErrorKind::bad_magic, "not a GGUF file (bad magic)");
    out_.version_ = cur_.read<uint32_t>("header");
    if (out_.version_ != 2 && out_.version_ != 3) {
      throw Error(ErrorKind::unsupported_version,
                  "GGUF version " + std::to_string(out_.version_) + " is not supported (2 and 3 are)");
    }
    n_tensors_ = cur_.read<uint64_t>("header");
    n_kv_ = cur_.read<uint64_t>("header");
    // Smallest encodings: a kv is 8 (key length) + 4 (type) + 1 (u8 value) bytes; a tensor
    // info is 8 + 4 + 4 + 8 bytes. More entries than that cannot fit in the rest of the file.
    if (n_kv_ > cur_.remaining() / 13) {
      throw Error(ErrorKind::truncated_file, "metadata count " + std::to_string(n_kv_) + " exceeds the file size");
    }
    if (n_tensors_ > cur_.remaining() / 24) {
      throw Error(ErrorKind::truncated_file, "tensor count " + std::to_string(n_tensors_) + " exceeds the file size");
    }
    // Counts are only bounded by the file size, and an entry takes more memory than file
    // bytes, so reserve no more than a typical model needs; real content grows the rest.
    out_.kvs_.reserve(static_cast<size_t>(std::min<uint64_t>(n_kv_, kReserveLimit)));
    out_.tensors_.reserve(static_cast<size_t>(std::min<uint64_t>(n_tensors_, kReserveLimit)));
  }

  GgufValueType read_value_type(const char* what) {
    const uint32_t raw = cur_.read<uint32_t>(what);
    if (!is_known_value_type(raw)) {
      throw Error(ErrorKind::invalid_metadata, std::string("unknown metadata value type ") + std::to_string(raw) + " in " + what);
    }
    return static_cast<GgufValueType>(raw);
  }

  void read_scalar(GgufValueType type, GgufValue& v) {
    switch (type) {
      case GgufValueType::UINT8: v.u64 = cur_.read<uint8_t>("metadata value"); break;
      case GgufValueType::INT8: v.i64 = cur_.read<int8_t>("metadata value"); break;
      case GgufValueType::UINT16: v.u64 = cur_.read<uint16_t>("metadata value"); break;
      case GgufValueType::INT16: v.i64 = cur_.read<int16_t>("metadata value"); break;
      case GgufValueType::UINT32: v.u64 = cur_.read<uint32_t>("metadata value"); break;
      case GgufValueType::INT32: v.i64 = cur_.read<int32_t>("metadata value"); break;
      case GgufValueType::UINT64: v.u64 = cur_.read<uint64_t>("metadata value"); break;
      case GgufValueType::INT64: v.i64 = cur_.read<int64_t>("metadata value"); break;
      case GgufValueType::FLOAT32: v.f64 = cur_.read<float>("metadata value"); break;
      case GgufValueType::FLOAT64: v.f64 = cur_.read<double>("metadata value"); break;
      case GgufValueType::BOOL: {
        const uint8_t b = cur_.read<uint8_t>("metadata value");
        if (b > 1) throw Error(ErrorKind::invalid_metadata, "bool metadata value is " + std::to_string(b));
        v.u64 = b;
        break;
      }
      case GgufValueType::STRING: v.str = cur_.read_string("metadata string"); break;
      case GgufValueType::ARRAY: read_array(v); break;
    }
  }

  void read_array(GgufValue& v) {
    v.array_type = read_value_type("array element type");
    v.array_count = cur_.read<uint64_t>("array length");
    switch (v.array_type) {
      case GgufValueType::ARRAY:
        throw Error(ErrorKind::invalid_metadata, "arrays of arrays are not supported");
      case GgufValueType::STRING: {
        if (v.array_count > cur_.remaining() / 8) {
          throw Error(ErrorKind::truncated_file, "string array length " + std::to_string(v.array_count) + " exceeds the file size");
        }
        v.array_strings.reserve(static_cast<size_t>(std::min<uint64_t>(v.array_count, kReserveLimit)));
        for (uint64_t i = 0; i < v.array_count; ++i) v.array_strings.push_back(cur_.read_string("string array"));
        break;
      }
      case GgufValueType::UINT8: case GgufValueType::INT8: case GgufValueType::UINT16:
      case GgufValueType::INT16: case GgufValueType::UINT32: case GgufValueType::INT32:
      case GgufValueType::FLOAT32: case GgufValueType::BOOL: case GgufValueType::UINT64:
      case GgufValueType::INT64: case GgufValueType::FLOAT64: {
        const uint64_t elem = gguf_scalar_size(v.array_type);
        if (v.array_count > cur_.remaining() / elem) {
          throw Error(ErrorKind::truncated_file, "array length " + std::to_string(v.array_count) + " exceeds the file size");
        }
        const uint64_t n = v.array_count * elem;
        const uint64_t start = cur_.pos();
        cur_.take(n, "array");
        v.array_raw = out_.file_.bytes().subspan(start, n);
        break;
      }
    }
  }

  void parse_kv() {
    GgufKv kv;
    kv.key = cur_.read_string("metadata key");
    kv.value.type = read_value_type("metadata value type");
    read_scalar(kv.value.type, kv.value);
    if (!out_.kv_index_.emplace(kv.key, out_.kvs_.size()).second) {
      throw Error(ErrorKind::duplicate_key, "metadata key '" + std::string(kv.key) + "' appears twice");
    }
    out_.kvs_.push_back(std::move(kv));
  }

  void apply_alignment() {
    const GgufValue* v = out_.find("general.alignment");
    if (v == nullptr) return;
    const std::optional<uint64_t> a = v->as_uint();
    if (v->type != GgufValueType::UINT32 || !a || *a == 0 || (*a & (*a - 1)) != 0) {
      throw Error(ErrorKind::invalid_metadata, "general.alignment must be a u32 power of two");
    }
    out_.alignment_ = *a;
  }

  void parse_tensor_info() {
    GgufTensorInfo t;
    t.name = cur_.read_string("tensor name");
    const std::string name(t.name);
    t.n_dims = cur_.read<uint32_t>("tensor info");
    if (t.n_dims == 0 || t.n_dims > kMaxDims) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' has " + std::to_string(t.n_dims) + " dimensions (1 to 4 allowed)");
    }
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < t.n_dims; ++d) {
      const int64_t ne = cur_.read<int64_t>("tensor info");
      if (ne <= 0) {
        throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' has dimension " + std::to_string(ne));
      }
      if (static_cast<uint64_t>(ne) > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / n_elements) {
        throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' has too many elements");
      }
      n_elements *= static_cast<uint64_t>(ne);
      t.ne[d] = ne;
    }
    const uint32_t raw_type = cur_.read<uint32_t>("tensor info");
    const std::optional<GgmlTypeTraits> traits = ggml_type_traits(raw_type);
    if (!traits) {
      throw Error(ErrorKind::unknown_tensor_type, "tensor '" + name + "' has unknown type " + std::to_string(raw_type));
    }
    t.type = static_cast<GgmlType>(raw_type);
    t.offset = cur_.read<uint64_t>("tensor info");
    if (t.ne[0] % traits->block_elems != 0) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "': row of " + std::to_string(t.ne[0]) + " elements is not a multiple of the " +
                                                 std::string(traits->name) + " block size " + std::to_string(traits->block_elems));
    }
    const std::optional<uint64_t> row = ggml_row_bytes(t.type, static_cast<uint64_t>(t.ne[0]));
    const uint64_t rows = n_elements / static_cast<uint64_t>(t.ne[0]);
    if (!row || (rows != 0 && *row > std::numeric_limits<uint64_t>::max() / rows)) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' size overflows");
    }
    t.n_bytes = *row * rows;
    if (t.offset % out_.alignment_ != 0) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' data offset " + std::to_string(t.offset) +
                                                 " is not a multiple of the alignment " + std::to_string(out_.alignment_));
    }
    if (!out_.tensor_index_.emplace(t.name, out_.tensors_.size()).second) {
      throw Error(ErrorKind::invalid_tensor, "tensor name '" + name + "' appears twice");
    }
    out_.tensors_.push_back(t);
  }

  void place_data_section() {
    const uint64_t pos = cur_.pos();
    const uint64_t size = out_.file_.bytes().size();
    const uint64_t pad = (out_.alignment_ - pos % out_.alignment_) % out_.alignment_;
    // A file with no tensors may end right after its metadata (vocab-only files do).
    if (out_.tensors_.empty()) {
      out_.data_offset_ = pos + pad <= size ? pos + pad : size;
      return;
    }
    if (pad > size - pos) throw Error(ErrorKind::truncated_file, "file ends before its tensor data section");
    out_.data_offset_ = pos + pad;
    const uint64_t data_size = size - out_.data_offset_;
    for (const GgufTensorInfo& t : out_.tensors_) {
      if (t.offset > data_size || t.n_bytes > data_size - t.offset) {
        throw Error(ErrorKind::tensor_out_of_bounds,
                    "tensor '" + std::string(t.name) + "' (" + std::to_string(t.n_bytes) + " bytes at data offset " +
                        std::to_string(t.offset) + ") extends past the end of the file (data section is " +
                        std::to_string(data_size) + " bytes)");
      }
    }
  }

  GgufFile& out_;
  Cursor cur_;
  uint64_t n_kv_ = 0;
  uint64_t n_tensors_ = 0;
};

GgufFile GgufFile::open(const std::string& path) { return parse(MappedFile::open(path)); }

GgufFile GgufFile::parse(MappedFile file) {
  GgufFile out;
  out.file_ = std::move(file);
  out.alignment_ = kDefaultAlignment;
  try {
    GgufParser(out).run();
  } catch (const Error& e) {
    throw Error(e.kind(), std::string(e.what()) + what_to_do(e.kind()));
  } catch (const std::bad_alloc&) {
    // Only a file whose metadata claims more entries than memory holds gets here.
    throw Error(ErrorKind::out_of_memory, "not enough memory to read the metadata of '" + out.path() + "'");
  }
  return out;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  const auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  const auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

ByteSpan GgufFile::tensor_bytes(const GgufTensorInfo& tensor) const {
  // Bounds were validated at parse time; subspan re-checks them.
  return file_.bytes().subspan(data_offset_ + tensor.offset, tensor.n_bytes);
}

}  // namespace alloy
