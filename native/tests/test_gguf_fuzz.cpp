// Mutation fuzzing of the GGUF reader. Two small valid models made in memory by the writer
// are mutated with a fixed seed (truncations at every section boundary and at random
// lengths, byte flips, huge or odd values planted in count/length/type fields, random u64s
// at random offsets, and combinations). Every mutant must either parse into a file whose
// tensor views all lie inside it, or throw alloy::Error; anything else (another exception,
// a sanitizer report, a crash) fails. Prints how many mutants parsed and how many were
// rejected with each error kind.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <map>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/gguf.h"
#include "core/gguf_writer.h"
#include "core/random_model.h"
#include "core/rng.h"

using namespace alloy;

namespace {

struct Base {
  std::vector<uint8_t> bytes;
  GgufLayout layout;
};

// A tiny llama model (Q8_0, synthetic 259-token vocab, v3, alignment 32).
Base llama_base() {
  RandomModelConfig c;
  c.arch = "llama";
  c.n_vocab = 259;
  c.n_embd = 32;
  c.n_head = 2;
  c.n_head_kv = 1;
  c.n_ff = 64;
  c.n_layer = 1;
  c.weight_type = GgmlType::Q8_0;
  Base b;
  b.bytes = build_random_model(c).write_bytes(&b.layout);
  return b;
}

// A tiny qwen2 model (F16, biases, tied) in a v2 file with alignment 64 and metadata of
// every value type, including empty arrays.
Base qwen2_base() {
  RandomModelConfig c;
  c.arch = "qwen2";
  c.n_vocab = 262;
  c.n_embd = 16;
  c.n_head = 2;
  c.n_head_kv = 2;
  c.n_ff = 32;
  c.n_layer = 1;
  c.tied_output = true;
  c.weight_type = GgmlType::F16;
  GgufWriter w = build_random_model(c);
  w.add("general.alignment", GgufMetaValue::u32(64));
  w.add("fuzz.u8", GgufMetaValue::u8(200));
  w.add("fuzz.i8", GgufMetaValue::i8(-3));
  w.add("fuzz.u16", GgufMetaValue::u16(60000));
  w.add("fuzz.i16", GgufMetaValue::i16(-300));
  w.add("fuzz.i32", GgufMetaValue::i32(-70000));
  w.add("fuzz.u64", GgufMetaValue::u64(1ull << 40));
  w.add("fuzz.i64", GgufMetaValue::i64(-(1ll << 40)));
  w.add("fuzz.f64", GgufMetaValue::f64(0.125));
  w.add("fuzz.u64s", GgufMetaValue::array(GgufValueType::UINT64, std::vector<uint64_t>{1, 2, 3}));
  w.add("fuzz.f64s", GgufMetaValue::array(GgufValueType::FLOAT64, std::vector<double>{1.0}));
  w.add("fuzz.bools", GgufMetaValue::array(GgufValueType::BOOL, std::vector<uint8_t>{1, 0}));
  w.add("fuzz.empty", GgufMetaValue::raw_array(GgufValueType::INT16, ByteSpan(), 0));
  w.add("fuzz.no_strings", GgufMetaValue::string_array(std::vector<std::string>{}));
  Base b;
  b.bytes = w.write_bytes(&b.layout);
  b.bytes[4] = 2;  // version 2: same encoding as v3
  return b;
}

const std::vector<GgufFieldKind> kPlantable = {
    GgufFieldKind::tensor_count,  GgufFieldKind::kv_count,   GgufFieldKind::key_length,
    GgufFieldKind::value_type,    GgufFieldKind::string_length, GgufFieldKind::array_type,
    GgufFieldKind::array_count,   GgufFieldKind::tensor_name_length, GgufFieldKind::n_dims,
    GgufFieldKind::dim,           GgufFieldKind::tensor_type, GgufFieldKind::tensor_offset,
    GgufFieldKind::scalar_value,  GgufFieldKind::version,
};

class Fuzzer {
 public:
  explicit Fuzzer(uint64_t seed) : rng_(seed) {}

  // Parses one mutant and records the outcome.
  void run(const std::string& strategy, const std::vector<uint8_t>& bytes) {
    ++mutants_;
    ++per_strategy_[strategy];
    try {
      const GgufFile f = GgufFile::parse(MappedFile::from_bytes(bytes.data(), bytes.size()));
      check_valid(f);
      ++parsed_ok_;
    } catch (const Error& e) {
      ++rejected_[error_kind_name(e.kind())];
    } catch (const std::exception& e) {
      alloy_test::report_failure(__FILE__, __LINE__, "mutant (" + strategy + ") threw a non-alloy exception: " + e.what());
    }
  }

  std::vector<uint8_t> truncate(const Base& base, uint64_t length) {
    return std::vector<uint8_t>(base.bytes.begin(), base.bytes.begin() + static_cast<std::ptrdiff_t>(length));
  }

  std::vector<uint8_t> flip_bytes(const Base& base, std::vector<uint8_t> bytes) {
    const int flips = 1 + static_cast<int>(rng_.below(8));
    for (int i = 0; i < flips; ++i) {
      // Mostly inside the header, where the structure is.
      const uint64_t limit = rng_.below(5) == 0 ? bytes.size() : base.layout.data_offset;
      bytes[rng_.below(limit)] ^= static_cast<uint8_t>(1 + rng_.below(255));
    }
    return bytes;
  }

  std::vector<uint8_t> plant_field(const Base& base, std::vector<uint8_t> bytes) {
    const std::vector<GgufField> fields = base.layout.fields_of(kPlantable[rng_.below(kPlantable.size())]);
    if (fields.empty()) return bytes;
    const GgufField& f = fields[rng_.below(fields.size())];
    uint64_t old = 0;
    for (uint32_t i = 0; i < f.size; ++i) old |= uint64_t{bytes[f.offset + i]} << (8 * i);
    const uint64_t size = bytes.size();
    const uint64_t candidates[] = {0, 1, 2, 3, 4, 5, 9, 12, 13, 31, 32, 33, 255, 256,
                                   0x7FFFFFFFull, 0x80000000ull, 0xFFFFFFFFull, 1ull << 32, 1ull << 40,
                                   (1ull << 62), (1ull << 63) - 1, 1ull << 63, ~0ull, ~0ull - 31,
                                   size, size - 1, size + 1, size / 2, old + 1, old - 1, old * 2, old + 32,
                                   old - 32, rng_.next_u64(), rng_.below(1024)};
    const uint64_t value = candidates[rng_.below(sizeof candidates / sizeof candidates[0])];
    for (uint32_t i = 0; i < f.size; ++i) bytes[f.offset + i] = static_cast<uint8_t>(value >> (8 * i));
    return bytes;
  }

  std::vector<uint8_t> random_u64(const Base& base, std::vector<uint8_t> bytes) {
    if (bytes.size() < 8) return bytes;
    const uint64_t limit = rng_.below(4) == 0 ? bytes.size() - 8 : std::min<uint64_t>(base.layout.data_offset, bytes.size() - 8);
    const uint64_t offset = rng_.below(limit + 1);
    const uint64_t v = rng_.next_u64();
    for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<uint8_t>(v >> (8 * i));
    return bytes;
  }

  Rng& rng() { return rng_; }

  void print_summary(double seconds) const {
    std::printf("gguf fuzz: %d mutants in %.2f s: %d parsed OK, %d rejected\n", mutants_, seconds, parsed_ok_,
                mutants_ - parsed_ok_);
    for (const auto& [kind, count] : rejected_) std::printf("  rejected %-22s %6d\n", kind.c_str(), count);
    for (const auto& [strategy, count] : per_strategy_) std::printf("  strategy %-22s %6d\n", strategy.c_str(), count);
  }
  int mutants() const { return mutants_; }
  int parsed_ok() const { return parsed_ok_; }
  size_t rejected_kinds() const { return rejected_.size(); }

 private:
  // A file that parsed must be internally consistent and every view must be inside it.
  void check_valid(const GgufFile& f) {
    const ByteSpan file = f.file_bytes();
    const bool aligned = f.alignment() != 0 && f.data_offset() % f.alignment() == 0;
    if ((!aligned && !f.tensors().empty()) || f.data_offset() > file.size()) {
      alloy_test::report_failure(__FILE__, __LINE__, "parsed file has an inconsistent data section");
    }
    for (const GgufTensorInfo& t : f.tensors()) {
      const ByteSpan v = f.tensor_bytes(t);
      if (v.size() != t.n_bytes || v.data() < file.data() || v.data() + v.size() > file.data() + file.size() ||
          t.offset % f.alignment() != 0 || ggml_row_bytes(t.type, static_cast<uint64_t>(t.ne[0])).value_or(0) == 0) {
        alloy_test::report_failure(__FILE__, __LINE__, "parsed tensor '" + std::string(t.name) + "' is inconsistent");
      }
      uint64_t sum = 0;  // touch every byte, so a bad view shows up under ASan
      for (size_t i = 0; i < v.size(); ++i) sum += v.data()[i];
      checksum_ += sum;
    }
    for (const GgufKv& kv : f.metadata()) {
      const GgufValue& v = kv.value;
      (void)v.as_uint();
      (void)v.as_int();
      (void)v.as_float();
      (void)v.as_bool();
      (void)v.as_string();
      (void)v.array_as_floats();
      (void)v.array_as_ints();
      for (std::string_view s : v.array_strings) checksum_ += s.size();
    }
  }

  Rng rng_;
  int mutants_ = 0;
  int parsed_ok_ = 0;
  uint64_t checksum_ = 0;
  std::map<std::string, int> rejected_;
  std::map<std::string, int> per_strategy_;
};

}  // namespace

TEST_CASE("GGUF reader survives 10,000+ mutated files") {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<Base> bases = {llama_base(), qwen2_base()};
  for (const Base& base : bases) {  // the bases themselves are valid
    const GgufFile f = GgufFile::parse(MappedFile::from_bytes(base.bytes.data(), base.bytes.size()));
    CHECK(!f.tensors().empty());
  }
  Fuzzer fuzz(0xA110C0FFEEull);
  for (const Base& base : bases) {
    for (uint64_t cut : base.layout.boundaries()) fuzz.run("truncate@boundary", fuzz.truncate(base, cut));
  }
  for (int i = 0; i < 2000; ++i) {
    const Base& base = bases[i % 2];
    fuzz.run("truncate@random", fuzz.truncate(base, fuzz.rng().below(base.bytes.size())));
  }
  for (int i = 0; i < 3000; ++i) {
    const Base& base = bases[i % 2];
    fuzz.run("byte flips", fuzz.flip_bytes(base, base.bytes));
  }
  for (int i = 0; i < 3000; ++i) {
    const Base& base = bases[i % 2];
    fuzz.run("planted field", fuzz.plant_field(base, base.bytes));
  }
  for (int i = 0; i < 1500; ++i) {
    const Base& base = bases[i % 2];
    fuzz.run("random u64", fuzz.random_u64(base, base.bytes));
  }
  for (int i = 0; i < 1500; ++i) {
    const Base& base = bases[i % 2];
    std::vector<uint8_t> bytes = fuzz.plant_field(base, base.bytes);
    bytes = fuzz.flip_bytes(base, std::move(bytes));
    bytes = fuzz.random_u64(base, std::move(bytes));
    if (fuzz.rng().below(2) == 0) bytes.resize(fuzz.rng().below(bytes.size() + 1));
    fuzz.run("combined", bytes);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fuzz.print_summary(seconds);
  CHECK(fuzz.mutants() >= 10000);
  CHECK(fuzz.parsed_ok() > 0);          // some mutations (e.g. in tensor data) leave a valid file
  CHECK(fuzz.rejected_kinds() >= 6);    // and the rest reach many different checks
}
