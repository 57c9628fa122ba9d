// GgufWriter, checked by reading its output back with the GGUF reader: every metadata value
// type, tensors of every ggml type and shape with alignment, the recorded layout, and the
// inputs it refuses. (Random models built on it: test_random_model.cpp.)
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "core/rng.h"

using namespace alloy;

namespace {

GgufFile parse_bytes(const std::vector<uint8_t>& bytes) {
  return GgufFile::parse(MappedFile::from_bytes(bytes.data(), bytes.size()));
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint8_t> out(n);
  for (uint8_t& b : out) b = rng.next_byte();
  return out;
}

std::vector<uint8_t> span_bytes(ByteSpan s) { return std::vector<uint8_t>(s.data(), s.data() + s.size()); }

std::vector<uint8_t> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Every ggml type id the reader knows.
std::vector<GgmlType> all_ggml_types() {
  std::vector<GgmlType> out;
  for (uint32_t id = 0; id < 64; ++id) {
    if (ggml_type_traits(id)) out.push_back(static_cast<GgmlType>(id));
  }
  return out;
}

template <typename T>
T load_le(ByteSpan s, size_t offset) {
  T v;
  std::memcpy(&v, s.subspan(offset, sizeof(T)).data(), sizeof(T));
  return v;
}

// Values by copy: CHECK_EQ binds references, so it must not see a temporary optional.
uint64_t uint_of(const GgufFile& f, std::string_view key) { return f.get_uint(key).value_or(~0ull); }
int64_t int_of(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.find(key);
  return v != nullptr && v->as_int() ? *v->as_int() : -12345;
}
double float_of(const GgufFile& f, std::string_view key) { return f.get_float(key).value_or(-12345.0); }
int bool_of(const GgufFile& f, std::string_view key) { return f.get_bool(key) ? (*f.get_bool(key) ? 1 : 0) : -1; }
std::string_view string_of(const GgufFile& f, std::string_view key) { return f.get_string(key).value_or("<absent>"); }

}  // namespace

TEST_CASE("every metadata value type round-trips") {
  GgufWriter w;
  w.add("u8", GgufMetaValue::u8(255));
  w.add("i8", GgufMetaValue::i8(-128));
  w.add("u16", GgufMetaValue::u16(65535));
  w.add("i16", GgufMetaValue::i16(-32768));
  w.add("u32", GgufMetaValue::u32(4294967295u));
  w.add("i32", GgufMetaValue::i32(std::numeric_limits<int32_t>::min()));
  w.add("f32", GgufMetaValue::f32(-1.5e-7f));
  w.add("bool.true", GgufMetaValue::boolean(true));
  w.add("bool.false", GgufMetaValue::boolean(false));
  w.add("u64", GgufMetaValue::u64(std::numeric_limits<uint64_t>::max()));
  w.add("i64", GgufMetaValue::i64(std::numeric_limits<int64_t>::min()));
  w.add("f64", GgufMetaValue::f64(3.141592653589793));
  w.add("str.empty", GgufMetaValue::string(""));
  w.add("str.utf8", GgufMetaValue::string("h\xC3\xA9llo \xE2\x96\x81 \xF0\x9F\x98\x80"));
  w.add("str.nul", GgufMetaValue::string(std::string_view("a\0b", 3)));
  w.add("arr.u8", GgufMetaValue::array(GgufValueType::UINT8, std::vector<uint8_t>{0, 1, 255}));
  w.add("arr.i8", GgufMetaValue::array(GgufValueType::INT8, std::vector<int8_t>{-128, 0, 127}));
  w.add("arr.u16", GgufMetaValue::array(GgufValueType::UINT16, std::vector<uint16_t>{1, 65535}));
  w.add("arr.i16", GgufMetaValue::array(GgufValueType::INT16, std::vector<int16_t>{-32768, 7}));
  w.add("arr.u32", GgufMetaValue::array(GgufValueType::UINT32, std::vector<uint32_t>{7, 4294967295u}));
  w.add("arr.i32", GgufMetaValue::array(GgufValueType::INT32, std::vector<int32_t>{-1, 2, -3}));
  w.add("arr.f32", GgufMetaValue::array(GgufValueType::FLOAT32, std::vector<float>{0.5f, -2.0f}));
  w.add("arr.bool", GgufMetaValue::array(GgufValueType::BOOL, std::vector<uint8_t>{1, 0, 1}));
  w.add("arr.u64", GgufMetaValue::array(GgufValueType::UINT64, std::vector<uint64_t>{1ull << 63}));
  w.add("arr.i64", GgufMetaValue::array(GgufValueType::INT64, std::vector<int64_t>{-(1ll << 62)}));
  w.add("arr.f64", GgufMetaValue::array(GgufValueType::FLOAT64, std::vector<double>{1e300, -0.25}));
  w.add("arr.str", GgufMetaValue::string_array(std::vector<std::string>{"a", "", "\xE2\x96\x81x"}));
  const std::vector<GgufValueType> elem_types = {
      GgufValueType::UINT8, GgufValueType::INT8,  GgufValueType::UINT16, GgufValueType::INT16,
      GgufValueType::UINT32, GgufValueType::INT32, GgufValueType::FLOAT32, GgufValueType::BOOL,
      GgufValueType::UINT64, GgufValueType::INT64, GgufValueType::FLOAT64};
  for (GgufValueType t : elem_types) {
    w.add("empty." + std::string(gguf_value_type_name(t)), GgufMetaValue::raw_array(t, ByteSpan(), 0));
  }
  w.add("empty.string", GgufMetaValue::string_array(std::vector<std::string>{}));

  const std::vector<uint8_t> bytes = w.write_bytes();
  const GgufFile f = parse_bytes(bytes);
  CHECK_EQ(f.version(), 3u);
  CHECK_EQ(f.metadata().size(), w.kv_count());
  CHECK(f.tensors().empty());
  CHECK_EQ(f.metadata()[0].key, std::string_view("u8"));  // insertion order kept
  CHECK_EQ(uint_of(f, "u8"), 255u);
  CHECK_EQ(int_of(f, "i8"), -128);
  CHECK_EQ(uint_of(f, "u16"), 65535u);
  CHECK_EQ(int_of(f, "i16"), -32768);
  CHECK_EQ(uint_of(f, "u32"), 4294967295u);
  CHECK_EQ(int_of(f, "i32"), std::numeric_limits<int32_t>::min());
  CHECK_EQ(float_of(f, "f32"), static_cast<double>(-1.5e-7f));
  CHECK(f.find("f32")->type == GgufValueType::FLOAT32);
  CHECK_EQ(bool_of(f, "bool.true"), 1);
  CHECK_EQ(bool_of(f, "bool.false"), 0);
  CHECK_EQ(uint_of(f, "u64"), std::numeric_limits<uint64_t>::max());
  CHECK_EQ(int_of(f, "i64"), std::numeric_limits<int64_t>::min());
  CHECK_EQ(float_of(f, "f64"), 3.141592653589793);
  CHECK_EQ(string_of(f, "str.empty"), std::string_view(""));
  CHECK_EQ(string_of(f, "str.utf8"), std::string_view("h\xC3\xA9llo \xE2\x96\x81 \xF0\x9F\x98\x80"));
  CHECK_EQ(string_of(f, "str.nul"), std::string_view("a\0b", 3));
  CHECK(*f.find("arr.i32")->array_as_ints() == (std::vector<int32_t>{-1, 2, -3}));
  CHECK(*f.find("arr.f32")->array_as_floats() == (std::vector<float>{0.5f, -2.0f}));
  CHECK(*f.find("arr.i8")->array_as_ints() == (std::vector<int32_t>{-128, 0, 127}));
  CHECK(*f.find("arr.u16")->array_as_ints() == (std::vector<int32_t>{1, 65535}));
  CHECK(*f.find("arr.i16")->array_as_ints() == (std::vector<int32_t>{-32768, 7}));
  const GgufValue& u64s = f.require_array("arr.u64", GgufValueType::UINT64);
  CHECK_EQ(load_le<uint64_t>(u64s.array_raw, 0), 1ull << 63);
  const GgufValue& f64s = f.require_array("arr.f64", GgufValueType::FLOAT64);
  CHECK_EQ(f64s.array_count, 2u);
  CHECK_EQ(load_le<double>(f64s.array_raw, 8), -0.25);
  const GgufValue& bools = f.require_array("arr.bool", GgufValueType::BOOL);
  CHECK(span_bytes(bools.array_raw) == (std::vector<uint8_t>{1, 0, 1}));
  const GgufValue& strs = f.require_array("arr.str", GgufValueType::STRING);
  CHECK_EQ(strs.array_count, 3u);
  CHECK(strs.array_strings == (std::vector<std::string_view>{"a", "", "\xE2\x96\x81x"}));
  for (GgufValueType t : elem_types) {
    const GgufValue& v = f.require_array("empty." + std::string(gguf_value_type_name(t)), t);
    CHECK_EQ(v.array_count, 0u);
    CHECK_EQ(v.array_raw.size(), 0u);
  }
  CHECK_EQ(f.require_array("empty.string", GgufValueType::STRING).array_count, 0u);

  // copy_of reproduces every value byte for byte.
  GgufWriter copy;
  for (const GgufKv& kv : f.metadata()) copy.add(std::string(kv.key), GgufMetaValue::copy_of(kv.value));
  CHECK(copy.write_bytes() == bytes);
}

TEST_CASE("tensors of every ggml type, 1 to 4 dims, honour the alignment") {
  for (uint32_t alignment : {0u, 1u, 8u, 64u, 4096u}) {  // 0: no general.alignment key
    GgufWriter w;
    if (alignment != 0) w.add("general.alignment", GgufMetaValue::u32(alignment));
    const uint64_t expected_alignment = alignment == 0 ? 32 : alignment;
    CHECK_EQ(w.alignment(), expected_alignment);
    std::vector<std::vector<uint8_t>> datas;
    int index = 0;
    for (GgmlType type : all_ggml_types()) {
      const GgmlTypeTraits traits = ggml_type_traits(type);
      std::vector<int64_t> shape = {static_cast<int64_t>(traits.block_elems) * (1 + index % 3)};
      for (int d = 1; d <= index % 4; ++d) shape.push_back(1 + (index + d) % 3);
      uint64_t n_bytes = *ggml_row_bytes(type, static_cast<uint64_t>(shape[0]));
      for (size_t d = 1; d < shape.size(); ++d) n_bytes *= static_cast<uint64_t>(shape[d]);
      datas.push_back(random_bytes(n_bytes, 100 + index));
      w.add_tensor("t." + std::string(traits.name), type, shape, datas.back());
      ++index;
    }
    GgufLayout layout;
    const std::vector<uint8_t> bytes = w.write_bytes(&layout);
    const GgufFile f = parse_bytes(bytes);
    CHECK_EQ(f.alignment(), expected_alignment);
    CHECK_EQ(f.data_offset(), layout.data_offset);
    CHECK_EQ(f.data_offset() % expected_alignment, 0u);
    CHECK_EQ(layout.file_size, bytes.size());
    CHECK_EQ(bytes.size() % expected_alignment, 0u);
    CHECK_EQ(f.tensors().size(), datas.size());
    uint64_t expected_offset = 0;  // llama.cpp requires tensors back to back, each padded
    for (size_t i = 0; i < f.tensors().size() && i < datas.size(); ++i) {
      const GgufTensorInfo& t = f.tensors()[i];
      CHECK_EQ(t.offset, expected_offset);
      CHECK_EQ(t.offset % expected_alignment, 0u);
      CHECK_EQ(layout.tensor_data_offsets[i], f.data_offset() + t.offset);
      CHECK(span_bytes(f.tensor_bytes(t)) == datas[i]);
      expected_offset += (t.n_bytes + expected_alignment - 1) / expected_alignment * expected_alignment;
    }
    CHECK_EQ(f.data_offset() + expected_offset, bytes.size());
  }
}

TEST_CASE("shapes and names read back as written") {
  GgufWriter w(2);
  w.add_tensor("one", GgmlType::F32, {5}, random_bytes(20, 1));
  w.add_tensor("four", GgmlType::Q8_0, {64, 2, 3, 4}, random_bytes(2 * 34 * 24, 2));
  w.add_tensor(std::string("\xE2\x96\x81 unicode name"), GgmlType::F16, {3, 1}, random_bytes(6, 3));
  const GgufFile f = parse_bytes(w.write_bytes());
  CHECK_EQ(f.version(), 2u);
  const GgufTensorInfo* four = f.find_tensor("four");
  CHECK(four != nullptr);
  if (four != nullptr) {
    CHECK_EQ(four->n_dims, 4u);
    CHECK_EQ(four->ne[0], 64);
    CHECK_EQ(four->ne[1], 2);
    CHECK_EQ(four->ne[2], 3);
    CHECK_EQ(four->ne[3], 4);
    CHECK_EQ(four->n_bytes, 2u * 34 * 24);
  }
  const GgufTensorInfo* one = f.find_tensor("one");
  CHECK(one != nullptr && one->n_dims == 1 && one->ne[1] == 1);
  const GgufTensorInfo* named = f.find_tensor("\xE2\x96\x81 unicode name");
  CHECK(named != nullptr && named->n_dims == 2 && named->ne[1] == 1);  // trailing 1 kept
}

TEST_CASE("write_file streams the same bytes as write_bytes") {
  GgufWriter w;
  w.add("general.architecture", GgufMetaValue::string("llama"));
  int fills = 0;
  w.add_tensor("lazy", GgmlType::Q4_0, {64, 3}, [&fills](std::vector<uint8_t>& bytes) {
    ++fills;
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
  });
  GgufLayout layout_mem;
  const std::vector<uint8_t> mem = w.write_bytes(&layout_mem);
  const std::string path = alloy_test::temp_dir() + "/writer_stream.gguf";
  const GgufLayout layout_file = w.write_file(path);
  CHECK_EQ(fills, 2);
  CHECK(read_whole_file(path) == mem);
  CHECK_EQ(layout_file.file_size, layout_mem.file_size);
  CHECK_EQ(layout_file.fields.size(), layout_mem.fields.size());
  const GgufFile f = GgufFile::open(path);
  CHECK_EQ(f.tensor_bytes(f.tensors().at(0)).data()[5], static_cast<uint8_t>(35));
  CHECK_THROWS_KIND(w.write_file("/nonexistent-dir/x.gguf"), ErrorKind::io_error);
}

TEST_CASE("layout records every header field where the file has it") {
  GgufWriter w;
  w.add("k", GgufMetaValue::string_array(std::vector<std::string>{"x", "yy"}));
  w.add("general.alignment", GgufMetaValue::u32(64));
  w.add_tensor("t", GgmlType::F32, {2, 3}, random_bytes(24, 9));
  GgufLayout layout;
  const std::vector<uint8_t> bytes = w.write_bytes(&layout);
  const auto kinds_count = [&](GgufFieldKind kind) { return layout.fields_of(kind).size(); };
  CHECK_EQ(kinds_count(GgufFieldKind::magic), 1u);
  CHECK_EQ(kinds_count(GgufFieldKind::key_length), 2u);
  CHECK_EQ(kinds_count(GgufFieldKind::string_length), 2u);
  CHECK_EQ(kinds_count(GgufFieldKind::array_count), 1u);
  CHECK_EQ(kinds_count(GgufFieldKind::scalar_value), 1u);
  CHECK_EQ(kinds_count(GgufFieldKind::dim), 2u);
  const GgufField align_value = layout.fields_of(GgufFieldKind::scalar_value)[0];
  CHECK_EQ(align_value.size, 4u);
  CHECK_EQ(bytes[align_value.offset], 64);
  const GgufField dim1 = layout.fields_of(GgufFieldKind::dim)[1];
  CHECK_EQ(bytes[dim1.offset], 3);
  CHECK_EQ(layout.fields_of(GgufFieldKind::tensor_offset)[0].offset + 8, layout.tensor_infos_end);
  CHECK_EQ(layout.data_offset, 64u * ((layout.tensor_infos_end + 63) / 64));
  const std::vector<uint64_t> cuts = layout.boundaries();
  CHECK(!cuts.empty() && cuts.front() == 0 && cuts.back() < bytes.size());
}

TEST_CASE("writer rejects what it cannot write") {
  CHECK_THROWS_KIND(GgufWriter(1), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(GgufWriter(4), ErrorKind::invalid_argument);
  GgufWriter w;
  w.add("a", GgufMetaValue::u8(1));
  CHECK_THROWS_KIND(w.add("a", GgufMetaValue::u8(2)), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add("", GgufMetaValue::u8(2)), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(GgufMetaValue::raw_array(GgufValueType::STRING, ByteSpan(), 0), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(GgufMetaValue::raw_array(GgufValueType::ARRAY, ByteSpan(), 0), ErrorKind::invalid_argument);
  const std::vector<uint8_t> three(3);
  CHECK_THROWS_KIND(GgufMetaValue::raw_array(GgufValueType::UINT16, ByteSpan(three.data(), 3), 2),
                    ErrorKind::invalid_argument);
  w.add_tensor("t", GgmlType::F32, {4}, std::vector<uint8_t>(16));
  CHECK_THROWS_KIND(w.add_tensor("t", GgmlType::F32, {4}, std::vector<uint8_t>(16)), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("e", GgmlType::F32, {}, std::vector<uint8_t>()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("f", GgmlType::F32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)),
                    ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("z", GgmlType::F32, {4, 0}, std::vector<uint8_t>()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("n", GgmlType::F32, {-4}, std::vector<uint8_t>()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("q", GgmlType::Q8_0, {33}, std::vector<uint8_t>(36)), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(w.add_tensor("huge", GgmlType::F32, {1ll << 40, 1ll << 40}, TensorFill([](std::vector<uint8_t>&) {})),
                    ErrorKind::invalid_argument);
  GgufWriter short_data;
  short_data.add_tensor("s", GgmlType::F32, {4}, std::vector<uint8_t>(15));
  CHECK_THROWS_KIND(short_data.write_bytes(), ErrorKind::invalid_argument);
  GgufWriter resized;
  resized.add_tensor("r", GgmlType::F32, {4}, TensorFill([](std::vector<uint8_t>& b) { b.push_back(0); }));
  CHECK_THROWS_KIND(resized.write_bytes(), ErrorKind::internal);
}

TEST_CASE("invalid general.alignment values are written but keep the default layout") {
  for (uint32_t bad : {0u, 3u, 48u}) {
    GgufWriter w;
    w.add("general.alignment", GgufMetaValue::u32(bad));
    CHECK_EQ(w.alignment(), 32u);
  }
  GgufWriter wrong_type;
  wrong_type.add("general.alignment", GgufMetaValue::u64(64));
  CHECK_EQ(wrong_type.alignment(), 32u);
}
