// Reads the real files in ../shared/models and checks what their README states.
#include "check.h"
#include "core/error.h"
#include "core/gguf.h"

using namespace alloy;

TEST_CASE("stories260K header, metadata and tensors") {
  const GgufFile f = GgufFile::open(alloy_test::shared_models_dir() + "/stories260K.gguf");
  CHECK_EQ(f.require_string("general.architecture"), std::string_view("llama"));
  CHECK_EQ(f.require_uint("llama.block_count"), 5u);
  CHECK_EQ(f.require_uint("llama.embedding_length"), 64u);
  CHECK_EQ(f.tensors().size(), 48u);
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  CHECK(emb != nullptr);
  if (emb != nullptr) {
    CHECK(emb->type == GgmlType::F32);
    CHECK_EQ(emb->ne[0], 64);
    CHECK_EQ(emb->ne[1], 512);
    CHECK_EQ(f.tensor_bytes(*emb).size(), 64u * 512u * 4u);
  }
  CHECK_EQ(f.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count, 512u);
}

TEST_CASE("tiny qwen2 Q4_K_M mix types") {
  const GgufFile f = GgufFile::open(alloy_test::shared_models_dir() + "/tiny-qwen2-dscoder-s1-Q4_K_M.gguf");
  int q4k = 0, q6k = 0, f32 = 0;
  for (const auto& t : f.tensors()) {
    q4k += t.type == GgmlType::Q4_K;
    q6k += t.type == GgmlType::Q6_K;
    f32 += t.type == GgmlType::F32;
  }
  CHECK_EQ(q4k, 13);
  CHECK_EQ(q6k, 3);
  CHECK_EQ(f32, 11);
}

TEST_CASE("vocab-only file has no tensors") {
  const GgufFile f = GgufFile::open(alloy_test::shared_models_dir() + "/vocab/ggml-vocab-qwen2.gguf");
  CHECK(f.tensors().empty());
  CHECK_EQ(f.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count, 151936u);
  CHECK_THROWS_KIND(f.require_uint("qwen2.no_such_key"), ErrorKind::missing_key);
}

TEST_CASE("missing file is io_error") {
  CHECK_THROWS_KIND(GgufFile::open("/nonexistent/model.gguf"), ErrorKind::io_error);
}
