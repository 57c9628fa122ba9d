// GGUF reader edge cases: valid files of every shape the format allows, and one typed error
// for every way a header can be wrong. Faulty files are valid files from GgufWriter with one
// field patched at the position GgufLayout recorded for it.
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"

using namespace alloy;

namespace {

struct Built {
  std::vector<uint8_t> bytes;
  GgufLayout layout;
};

Built build(const GgufWriter& w) {
  Built b;
  b.bytes = w.write_bytes(&b.layout);
  return b;
}

GgufFile parse(const std::vector<uint8_t>& bytes) {
  return GgufFile::parse(MappedFile::from_bytes(bytes.data(), bytes.size()));
}

std::vector<uint8_t> patched(std::vector<uint8_t> bytes, const GgufField& field, uint64_t value) {
  for (uint32_t i = 0; i < field.size; ++i) bytes.at(field.offset + i) = static_cast<uint8_t>(value >> (8 * i));
  return bytes;
}

std::vector<uint8_t> filled(size_t n, uint8_t first) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(first + i);
  return out;
}

// Two metadata keys of equal length ("ka", "kb"), a string array, and two tensors of equal
// name length ("ta" Q8_0 [64, 2], "tb" F32 [4]).
GgufWriter small_model(uint32_t version = 3) {
  GgufWriter w(version);
  w.add("ka", GgufMetaValue::u32(7));
  w.add("kb", GgufMetaValue::string("hello"));
  w.add("kc", GgufMetaValue::string_array(std::vector<std::string>{"x", "", "yz"}));
  w.add("kd", GgufMetaValue::array(GgufValueType::FLOAT32, std::vector<float>{1.5f, -2.0f}));
  w.add("ke", GgufMetaValue::boolean(true));
  w.add_tensor("ta", GgmlType::Q8_0, {64, 2}, filled(2 * 2 * 34, 1));
  w.add_tensor("tb", GgmlType::F32, {4}, filled(16, 100));
  return w;
}

GgufField field(const Built& b, GgufFieldKind kind, size_t index = 0) { return b.layout.fields_of(kind).at(index); }

// Value copies for CHECK_EQ, which binds references (no temporaries of optionals).
uint64_t uint_or(std::optional<uint64_t> v) { return v.value_or(0xDEADull); }

}  // namespace

TEST_CASE("a valid file reads back with views into the mapping") {
  const Built b = build(small_model());
  const GgufFile f = parse(b.bytes);
  CHECK_EQ(f.version(), 3u);
  CHECK_EQ(f.alignment(), 32u);
  CHECK_EQ(f.data_offset(), b.layout.data_offset);
  CHECK_EQ(f.metadata().size(), 5u);
  CHECK_EQ(f.tensors().size(), 2u);
  CHECK_EQ(f.file_bytes().size(), b.bytes.size());
  const GgufTensorInfo* ta = f.find_tensor("ta");
  CHECK(ta != nullptr);
  if (ta == nullptr) return;
  CHECK(ta->type == GgmlType::Q8_0);
  CHECK_EQ(ta->n_bytes, 136u);
  CHECK_EQ(ta->n_elements(), 128u);
  const ByteSpan view = f.tensor_bytes(*ta);
  CHECK(view.data() == f.file_bytes().data() + f.data_offset() + ta->offset);
  CHECK(std::memcmp(view.data(), filled(136, 1).data(), 136) == 0);
  CHECK(f.find_tensor("nope") == nullptr);
  CHECK(f.find("nope") == nullptr);
}

TEST_CASE("typed accessors convert only what fits") {
  GgufWriter w;
  w.add("neg", GgufMetaValue::i32(-5));
  w.add("big", GgufMetaValue::u64(std::numeric_limits<uint64_t>::max()));
  w.add("f", GgufMetaValue::f32(0.25f));
  w.add("b", GgufMetaValue::boolean(false));
  w.add("s", GgufMetaValue::string("x"));
  w.add("i32s", GgufMetaValue::array(GgufValueType::INT32, std::vector<int32_t>{-1, 5}));
  w.add("u32s", GgufMetaValue::array(GgufValueType::UINT32, std::vector<uint32_t>{1, 0x80000000u}));
  w.add("f64s", GgufMetaValue::array(GgufValueType::FLOAT64, std::vector<double>{0.5}));
  w.add("u64s", GgufMetaValue::array(GgufValueType::UINT64, std::vector<uint64_t>{1}));
  w.add("strs", GgufMetaValue::string_array(std::vector<std::string>{"a"}));
  const GgufFile f = parse(w.write_bytes());
  const GgufValue& neg = *f.find("neg");
  CHECK(!neg.as_uint());
  CHECK(neg.as_int() == std::optional<int64_t>(-5));
  CHECK(neg.as_float() == std::optional<double>(-5.0));
  CHECK(!neg.as_bool() && !neg.as_string());
  const GgufValue& big = *f.find("big");
  CHECK(!big.as_int());
  CHECK_EQ(uint_or(big.as_uint()), std::numeric_limits<uint64_t>::max());
  CHECK(f.find("f")->as_float() == std::optional<double>(0.25));
  CHECK(!f.find("f")->as_uint());
  CHECK(f.get_bool("b") == std::optional<bool>(false));
  CHECK(!f.get_bool("s") && !f.get_string("b"));
  CHECK(*f.find("i32s")->array_as_floats() == (std::vector<float>{-1.0f, 5.0f}));
  CHECK(!f.find("u32s")->array_as_ints());  // 0x80000000 does not fit int32
  CHECK(*f.find("f64s")->array_as_floats() == (std::vector<float>{0.5f}));
  CHECK(!f.find("u64s")->array_as_ints() && !f.find("u64s")->array_as_floats());
  CHECK(!f.find("strs")->array_as_ints() && !f.find("strs")->array_as_floats());
  CHECK(!f.find("neg")->array_as_ints());
  CHECK_EQ(f.require_float("neg"), -5.0);
  CHECK_THROWS_KIND(f.require_uint("neg"), ErrorKind::invalid_metadata);
  CHECK_THROWS_KIND(f.require_string("neg"), ErrorKind::invalid_metadata);
  CHECK_THROWS_KIND(f.require_float("s"), ErrorKind::invalid_metadata);
  CHECK_THROWS_KIND(f.require_array("i32s", GgufValueType::UINT32), ErrorKind::invalid_metadata);
  CHECK_THROWS_KIND(f.require_array("s", GgufValueType::STRING), ErrorKind::invalid_metadata);
  CHECK_EQ(f.require_array("strs", GgufValueType::STRING).array_strings.at(0), std::string_view("a"));
}

TEST_CASE("missing keys are missing_key through every require_ form") {
  const GgufFile f = parse(build(small_model()).bytes);
  CHECK_THROWS_KIND(f.require_string("general.architecture"), ErrorKind::missing_key);
  CHECK_THROWS_KIND(f.require_uint("llama.block_count"), ErrorKind::missing_key);
  CHECK_THROWS_KIND(f.require_float("llama.rope.freq_base"), ErrorKind::missing_key);
  CHECK_THROWS_KIND(f.require_array("tokenizer.ggml.tokens", GgufValueType::STRING), ErrorKind::missing_key);
  CHECK(!f.get_uint("absent") && !f.get_float("absent") && !f.get_string("absent") && !f.get_bool("absent"));
}

TEST_CASE("empty arrays of every element type and string arrays") {
  GgufWriter w;
  for (uint32_t t = 0; t <= 12; ++t) {
    const GgufValueType type = static_cast<GgufValueType>(t);
    if (type == GgufValueType::ARRAY) continue;
    const std::string key = "empty." + std::to_string(t);
    w.add(key, type == GgufValueType::STRING ? GgufMetaValue::string_array(std::vector<std::string>{})
                                             : GgufMetaValue::raw_array(type, ByteSpan(), 0));
  }
  w.add("strings", GgufMetaValue::string_array(std::vector<std::string>{"", "a", std::string(1000, 'z'), ""}));
  const GgufFile f = parse(w.write_bytes());
  for (const GgufKv& kv : f.metadata()) {
    if (kv.key.substr(0, 6) != "empty.") continue;
    CHECK(kv.value.type == GgufValueType::ARRAY);
    CHECK_EQ(kv.value.array_count, 0u);
    CHECK(kv.value.array_strings.empty());
    CHECK_EQ(kv.value.array_raw.size(), 0u);
  }
  const GgufValue& strings = f.require_array("strings", GgufValueType::STRING);
  CHECK_EQ(strings.array_count, 4u);
  CHECK_EQ(strings.array_strings.size(), 4u);
  CHECK_EQ(strings.array_strings.at(2).size(), 1000u);
  CHECK(strings.array_strings.at(3).empty());
}

TEST_CASE("general.alignment is honoured") {
  for (uint32_t alignment : {1u, 2u, 64u, 256u, 4096u}) {
    GgufWriter w = small_model();
    w.add("general.alignment", GgufMetaValue::u32(alignment));
    const Built b = build(w);
    const GgufFile f = parse(b.bytes);
    CHECK_EQ(f.alignment(), alignment);
    CHECK_EQ(f.data_offset(), b.layout.data_offset);
    CHECK_EQ(f.data_offset() % alignment, 0u);
    for (const GgufTensorInfo& t : f.tensors()) {
      CHECK_EQ(t.offset % alignment, 0u);
      CHECK_EQ(f.tensor_bytes(t).size(), t.n_bytes);
    }
  }
}

TEST_CASE("invalid general.alignment values are invalid_metadata") {
  GgufWriter w = small_model();
  w.add("general.alignment", GgufMetaValue::u32(64));
  const Built b = build(w);
  const GgufField value = b.layout.fields_of(GgufFieldKind::scalar_value).back();  // the alignment
  CHECK_EQ(value.size, 4u);
  for (uint64_t bad : {0ull, 3ull, 48ull, 0x80000001ull, 0xFFFFFFFFull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, value, bad)), ErrorKind::invalid_metadata);
  }
  for (GgufMetaValue wrong_type : {GgufMetaValue::u64(32), GgufMetaValue::i32(32), GgufMetaValue::u16(32),
                                   GgufMetaValue::string("32")}) {
    GgufWriter typed = small_model();
    typed.add("general.alignment", wrong_type);
    CHECK_THROWS_KIND(parse(typed.write_bytes()), ErrorKind::invalid_metadata);
  }
}

TEST_CASE("versions 2 and 3 are read; others are unsupported_version") {
  CHECK_EQ(parse(build(small_model(2)).bytes).version(), 2u);
  CHECK_EQ(parse(build(small_model(3)).bytes).version(), 3u);
  const Built b = build(small_model());
  for (uint64_t version : {0ull, 1ull, 4ull, 0x03000000ull /* big-endian v3 */, 0xFFFFFFFFull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::version), version)), ErrorKind::unsupported_version);
  }
}

TEST_CASE("bad magic") {
  const Built b = build(small_model());
  for (size_t i = 0; i < 4; ++i) {
    std::vector<uint8_t> bytes = b.bytes;
    bytes[i] ^= 0x20;
    CHECK_THROWS_KIND(parse(bytes), ErrorKind::bad_magic);
  }
  CHECK_THROWS_KIND(parse({}), ErrorKind::bad_magic);
  CHECK_THROWS_KIND(parse({'G', 'G', 'U'}), ErrorKind::bad_magic);
  CHECK_THROWS_KIND(parse({'G', 'G', 'M', 'L', 0, 0, 0, 0}), ErrorKind::bad_magic);
}

TEST_CASE("truncation at every length is truncated_file or tensor_out_of_bounds") {
  for (uint32_t version : {2u, 3u}) {
    const Built b = build(small_model(version));
    const uint64_t last_data_end = b.layout.tensor_data_ends.back();
    for (size_t cut = 0; cut < b.bytes.size(); ++cut) {
      const std::vector<uint8_t> head(b.bytes.begin(), b.bytes.begin() + static_cast<std::ptrdiff_t>(cut));
      if (cut < 4) {
        CHECK_THROWS_KIND(parse(head), ErrorKind::bad_magic);
      } else if (cut < b.layout.data_offset) {
        CHECK_THROWS_KIND(parse(head), ErrorKind::truncated_file);
      } else if (cut < last_data_end) {
        CHECK_THROWS_KIND(parse(head), ErrorKind::tensor_out_of_bounds);
      } else {
        CHECK_EQ(parse(head).tensors().size(), 2u);  // only the last tensor's padding is missing
      }
    }
    // Every recorded boundary is one of the lengths above; make sure there are many.
    CHECK(b.layout.boundaries().size() > 40);
  }
}

TEST_CASE("a file with no tensors may end right after its metadata") {
  GgufWriter w;
  w.add("k", GgufMetaValue::string("abc"));  // 4+4+8+8 + 8+1+4+8+3 = 48 bytes: not a multiple of 32
  const Built b = build(w);
  CHECK_EQ(b.layout.tensor_infos_end, 48u);
  const std::vector<uint8_t> unpadded(b.bytes.begin(), b.bytes.begin() + 48);
  CHECK_EQ(parse(unpadded).metadata().size(), 1u);
  CHECK_EQ(parse(b.bytes).metadata().size(), 1u);
}

TEST_CASE("huge counts and lengths are rejected before anything is allocated") {
  const Built b = build(small_model());
  const std::vector<uint64_t> huge_values = {1ull << 32, 1ull << 40, 1ull << 62, (1ull << 63) - 1, 1ull << 63,
                                  std::numeric_limits<uint64_t>::max(), b.bytes.size()};
  for (uint64_t huge : huge_values) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::kv_count), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::tensor_count), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::key_length), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::string_length), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::array_count, 0), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::array_count, 1), huge)), ErrorKind::truncated_file);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::tensor_name_length), huge)),
                      ErrorKind::truncated_file);
  }
}

TEST_CASE("metadata value errors are invalid_metadata") {
  const Built b = build(small_model());
  for (uint64_t bad_type : {13ull, 100ull, 0x80000000ull, 0xFFFFFFFFull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::value_type), bad_type)), ErrorKind::invalid_metadata);
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::array_type), bad_type)), ErrorKind::invalid_metadata);
  }
  // Arrays of arrays.
  for (size_t i = 0; i < 2; ++i) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::array_type, i), 9)), ErrorKind::invalid_metadata);
  }
  // A bool other than 0 or 1 (the last scalar is ke = true).
  const GgufField bool_value = b.layout.fields_of(GgufFieldKind::scalar_value).back();
  CHECK_EQ(bool_value.size, 1u);
  CHECK_THROWS_KIND(parse(patched(b.bytes, bool_value, 2)), ErrorKind::invalid_metadata);
  // A hand-made nested array: key "n", ARRAY of ARRAY with one element.
  GgufEncoder e;
  e.raw(std::string_view("GGUF"));
  e.u32(3);
  e.u64(0);
  e.u64(1);
  e.string(GgufFieldKind::key_length, "n");
  e.u32(static_cast<uint32_t>(GgufValueType::ARRAY));
  e.u32(static_cast<uint32_t>(GgufValueType::ARRAY));
  e.u64(1);
  e.u32(static_cast<uint32_t>(GgufValueType::UINT8));
  e.u64(1);
  e.u8(0);
  CHECK_THROWS_KIND(parse(e.bytes()), ErrorKind::invalid_metadata);
}

TEST_CASE("a repeated key is duplicate_key") {
  const Built b = build(small_model());
  const GgufField kb_length = field(b, GgufFieldKind::key_length, 1);
  std::vector<uint8_t> bytes = b.bytes;
  bytes.at(kb_length.offset + 8 + 1) = 'a';  // "kb" -> "ka"
  CHECK_THROWS_KIND(parse(bytes), ErrorKind::duplicate_key);
}

TEST_CASE("unknown tensor type ids are unknown_tensor_type") {
  const Built b = build(small_model());
  for (uint64_t id : {4ull, 5ull, 31ull, 32ull, 33ull, 36ull, 40ull, 1000ull, 0xFFFFFFFFull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::tensor_type), id)), ErrorKind::unknown_tensor_type);
  }
}

TEST_CASE("tensor info errors are invalid_tensor") {
  const Built b = build(small_model());
  // Duplicate name: "tb" -> "ta".
  std::vector<uint8_t> dup = b.bytes;
  dup.at(field(b, GgufFieldKind::tensor_name_length, 1).offset + 8 + 1) = 'a';
  CHECK_THROWS_KIND(parse(dup), ErrorKind::invalid_tensor);
  // Number of dimensions.
  for (uint64_t n_dims : {0ull, 5ull, 100ull, 0xFFFFFFFFull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::n_dims), n_dims)), ErrorKind::invalid_tensor);
  }
  // Zero and negative dimensions, in both dims of "ta".
  for (size_t d = 0; d < 2; ++d) {
    for (uint64_t bad : std::vector<uint64_t>{0, static_cast<uint64_t>(-1ll), uint64_t{1} << 63}) {
      CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::dim, d), bad)), ErrorKind::invalid_tensor);
    }
  }
  // Element count or byte size that overflows: ta is Q8_0 [64, 2].
  std::vector<uint8_t> overflow = patched(b.bytes, field(b, GgufFieldKind::dim, 1), 1ull << 62);
  CHECK_THROWS_KIND(parse(overflow), ErrorKind::invalid_tensor);
  overflow = patched(b.bytes, field(b, GgufFieldKind::dim, 0), 1ull << 61);  // 2^61 * 4 = 2^63 > INT64_MAX
  overflow = patched(overflow, field(b, GgufFieldKind::dim, 1), 4);
  CHECK_THROWS_KIND(parse(overflow), ErrorKind::invalid_tensor);
  // F32 tb [4] with 2^62 elements: the count fits int64, the bytes (2^64) do not.
  CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::dim, 2), 1ull << 62)), ErrorKind::invalid_tensor);
  // Row not a multiple of the Q8_0 block (32).
  for (uint64_t ne0 : {1ull, 31ull, 48ull, 65ull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::dim, 0), ne0)), ErrorKind::invalid_tensor);
  }
  // Misaligned data offsets (alignment 32).
  for (uint64_t offset : {1ull, 16ull, 31ull, 33ull, 0xFFFFFFFFFFFFFFF1ull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::tensor_offset, 1), offset)), ErrorKind::invalid_tensor);
  }
}

TEST_CASE("tensor data outside the file is tensor_out_of_bounds") {
  const Built b = build(small_model());
  const uint64_t data_size = b.bytes.size() - b.layout.data_offset;
  for (uint64_t offset : std::vector<uint64_t>{data_size, data_size + 32, 1ull << 40, 0xFFFFFFFFFFFFFFE0ull}) {
    CHECK_THROWS_KIND(parse(patched(b.bytes, field(b, GgufFieldKind::tensor_offset, 1), offset)),
                      ErrorKind::tensor_out_of_bounds);
  }
  // A shape larger than the data that follows it: t F32 [8, 2] -> [8, 3].
  const Built tall = [] {
    GgufWriter w;
    w.add_tensor("t", GgmlType::F32, {8, 2}, filled(64, 0));
    return build(w);
  }();
  CHECK_THROWS_KIND(parse(patched(tall.bytes, field(tall, GgufFieldKind::dim, 1), 3)), ErrorKind::tensor_out_of_bounds);
  const GgufFile shorter = parse(patched(tall.bytes, field(tall, GgufFieldKind::dim, 1), 1));
  CHECK_EQ(shorter.tensors().at(0).n_bytes, 32u);
}

TEST_CASE("the shared test models parse and every tensor view is inside its file") {
  for (const char* name : {"stories260K.gguf", "tiny-qwen2-dscoder-s1-Q4_K_M.gguf", "vocab/ggml-vocab-llama-spm.gguf"}) {
    const GgufFile f = GgufFile::open(alloy_test::shared_models_dir() + "/" + name);
    const ByteSpan file = f.file_bytes();
    // (A vocab-only file may end unpadded; then data_offset is its size.)
    CHECK(f.tensors().empty() || f.data_offset() % f.alignment() == 0);
    for (const GgufTensorInfo& t : f.tensors()) {
      const ByteSpan v = f.tensor_bytes(t);
      CHECK(v.data() >= file.data() && v.data() + v.size() <= file.data() + file.size());
      CHECK_EQ(v.size(), t.n_bytes);
    }
  }
}

// A large file whose header claims as many entries as its size allows: the reader must not
// size any allocation by those counts (std::bad_alloc is not an alloy::Error). The file is
// sparse, so it costs no disk space; everything after the header reads as zeros.
TEST_CASE("huge counts in a large (sparse) file are an alloy::Error, not bad_alloc") {
  const uint64_t size = 16ull << 30;
  const std::string path = alloy_test::temp_dir() + "/sparse_huge_counts.gguf";
  for (const bool count_tensors : {false, true}) {
    GgufEncoder e;
    e.raw(std::string_view("GGUF"));
    e.u32(3);
    e.u64(count_tensors ? (size - 24) / 24 : 0);
    e.u64(count_tensors ? 0 : (size - 24) / 13);
    {
      std::FILE* out = std::fopen(path.c_str(), "wb");
      CHECK(out != nullptr);
      if (out == nullptr) return;
      CHECK_EQ(std::fwrite(e.bytes().data(), 1, e.bytes().size(), out), e.bytes().size());
      std::fclose(out);
    }
    std::filesystem::resize_file(path, size);
    try {
      GgufFile::open(path);
      alloy_test::report_failure(__FILE__, __LINE__, "a file of zeros parsed");
    } catch (const Error&) {
      // any typed error is right
    } catch (const std::exception& ex) {
      alloy_test::report_failure(__FILE__, __LINE__, std::string("non-alloy exception: ") + ex.what());
    }
  }
  std::filesystem::remove(path);
}
