// Tokenizer facade against llama.cpp: the 46 x 5 test vectors, special tokens per vocab,
// FIM and code prompts with special-token parsing, llama.cpp's text-detection and
// attribute rules on synthetic vocabularies, and load errors.
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/gguf_writer.h"
#include "core/mapped_file.h"
#include "tokenizer_fixtures.h"

using alloy::ErrorKind;
using alloy::GgufFile;
using alloy::GgufMetaValue;
using alloy::GgufValueType;
using alloy::GgufWriter;
using alloy::Tokenizer;
using alloy::TokenizerModel;
using Ids = std::vector<int32_t>;

namespace {


// --- synthetic SentencePiece vocabularies for llama.cpp's name / text based rules ---------

struct SynthToken {
  std::string text;
  int32_t type;  // tokenizer.ggml.token_type
};

struct SynthVocab {
  std::vector<std::string> texts;
  std::vector<int32_t> types;
  std::vector<float> scores;
};

// <unk> <s> </s>, the 256 byte tokens, "▁", a..z, a few word pieces, then `extra`.
// Scores favour longer pieces.
SynthVocab synthetic_spm_vocab(const std::vector<SynthToken>& extra) {
  SynthVocab v{{"<unk>", "<s>", "</s>"}, {2, 3, 3}, {}};
  const auto add = [&](const std::string& text, int32_t type) {
    v.texts.push_back(text);
    v.types.push_back(type);
  };
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    add(name, 6);
  }
  const std::string space = "\xe2\x96\x81";
  add(space, 1);
  for (char c = 'a'; c <= 'z'; ++c) add(std::string(1, c), 1);
  for (const char* word : {"hi", "x", "b", "a", "y"}) add(space + word, 1);
  for (const SynthToken& t : extra) add(t.text, t.type);
  v.scores.assign(v.texts.size(), 0.0f);
  for (size_t i = 259; i < v.texts.size(); ++i) v.scores[i] = static_cast<float>(v.texts[i].size()) - 10.0f;
  return v;
}

// GGUF bytes for a vocabulary; empty parts are left out, `edit` adds further keys.
std::vector<uint8_t> to_gguf(const SynthVocab& v, const std::string& model, const std::string& general_name,
                             const std::function<void(GgufWriter&)>& edit) {
  GgufWriter writer;
  writer.add("general.architecture", GgufMetaValue::string("llama"));
  writer.add("general.name", GgufMetaValue::string(general_name));
  if (!model.empty()) writer.add("tokenizer.ggml.model", GgufMetaValue::string(model));
  if (!v.texts.empty()) writer.add("tokenizer.ggml.tokens", GgufMetaValue::string_array(v.texts));
  if (!v.scores.empty()) writer.add("tokenizer.ggml.scores", GgufMetaValue::array(GgufValueType::FLOAT32, v.scores));
  if (!v.types.empty()) writer.add("tokenizer.ggml.token_type", GgufMetaValue::array(GgufValueType::INT32, v.types));
  if (edit) edit(writer);
  return writer.write_bytes();
}

std::vector<uint8_t> synthetic_spm_gguf(const std::string& general_name, const std::vector<SynthToken>& extra,
                                        const std::function<void(GgufWriter&)>& edit) {
  return to_gguf(synthetic_spm_vocab(extra), "llama", general_name, edit);
}

struct SyntheticTokenizer {
  GgufFile file;
  Tokenizer tokenizer;
  int32_t id(const std::string& text) const {
    for (int32_t i = 0; i < tokenizer.n_vocab(); ++i) {
      if (tokenizer.token_text(i) == text) return i;
    }
    return -1;
  }
};

// Also writes the file into the test temp dir, so it can be fed to llama.cpp by hand.
SyntheticTokenizer load_synthetic(const std::string& file_name, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen((alloy_test::temp_dir() + "/" + file_name).c_str(), "wb");
  if (f != nullptr) {
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
  GgufFile file = GgufFile::parse(alloy::MappedFile::from_bytes(bytes.data(), bytes.size()));
  Tokenizer tokenizer = Tokenizer::load(file);
  return SyntheticTokenizer{std::move(file), std::move(tokenizer)};
}

}  // namespace

TEST_CASE("llama.cpp test vectors: 46 strings x 5 vocabs (add_special=false, parse_special=false)") {
  for (const std::string& name : vector_vocab_names()) {
    const Tokenizer& tokenizer = shared_tokenizer(vocab_file(name));
    const std::vector<std::string> inputs = read_vector_inputs(name);
    const std::vector<Ids> outputs = read_vector_outputs(name);
    CHECK_EQ(inputs.size(), size_t{46});
    CHECK_EQ(outputs.size(), inputs.size());
    int matched = 0;
    for (size_t i = 0; i < inputs.size() && i < outputs.size(); ++i) {
      const Ids ids = tokenizer.tokenize(inputs[i], false, false);
      if (ids == outputs[i]) {
        ++matched;
      } else {
        std::fprintf(stderr, "  %s vector %zu differs\n", name.c_str(), i);
        CHECK_EQ(ids, outputs[i]);
      }
    }
    std::printf("  %-15s %d/%zu vectors match\n", name.c_str(), matched, inputs.size());
  }
}

TEST_CASE("stories260K: SentencePiece with BOS and leading space") {
  const Tokenizer& tokenizer = shared_tokenizer(kStories);
  CHECK(tokenizer.model() == TokenizerModel::spm);
  CHECK_EQ(tokenizer.n_vocab(), 512);
  const Ids prompt = tokenizer.tokenize("Once upon a time", true, false);
  CHECK_EQ(prompt, (Ids{1, 403, 407, 261, 378}));
  CHECK_EQ(tokenizer.tokenize("Once upon a time", false, false), (Ids{403, 407, 261, 378}));
  CHECK_EQ(tokenizer.tokenize("", true, false), (Ids{1}));
  CHECK_EQ(tokenizer.tokenize("", false, false), Ids{});

  // The README's greedy continuation reads back as the documented text.
  const Ids generated = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396,
                         267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385,
                         328, 432, 358, 394, 261, 370, 432, 352, 266, 268, 388, 426};
  Ids all = prompt;
  all.insert(all.end(), generated.begin(), generated.end());
  // BOS renders as nothing and, being first, takes the first-piece space removal with it.
  CHECK_EQ(tokenizer.detokenize(all, false),
           std::string(" Once upon a time, there was a little girl named Lily. She loved to play outside in the park. "
                       "One day, she saw a big, red ball."));
  CHECK_EQ(tokenizer.detokenize(generated, false).substr(0, 12), std::string(", there was "));
  CHECK_EQ(tokenizer.detokenize(prompt, true), std::string("<s> Once upon a time"));
}

TEST_CASE("special tokens per vocab match llama.cpp") {
  struct Expected {
    std::string file;
    int32_t bos, eos, eot;
    bool add_bos;
    int32_t fim_prefix, fim_suffix, fim_middle;
    Ids eog;
  };
  const std::vector<Expected> table = {
      {vocab_file("qwen2"), 151643, 151643, 151645, false, -1, -1, -1, {128247, 151643, 151645}},
      {vocab_file("deepseek-coder"), 32013, 32014, 32014, true, 32016, 32015, 32017, {32014}},
      {vocab_file("starcoder"), 0, 0, 0, false, 1, 3, 2, {0, 4}},
      {vocab_file("llama-spm"), 1, 2, -1, true, -1, -1, -1, {2}},
      {vocab_file("llama-bpe"), 128000, 128001, 128009, true, -1, -1, -1, {128001, 128009}},
      {kQwen25, 151643, 151643, 151645, false, 151659, 151661, 151660,
       {128247, 151643, 151645, 151662, 151663, 151664}},
      {kDsCoder, 32013, 32014, 32014, true, 32016, 32015, 32017, {32014}},
      {kStories, 1, 2, -1, true, -1, -1, -1, {2}},
  };
  for (const Expected& e : table) {
    const alloy::SpecialTokens& s = shared_tokenizer(e.file).special();
    std::printf("  %s\n", e.file.c_str());
    CHECK_EQ(s.bos, e.bos);
    CHECK_EQ(s.eos, e.eos);
    CHECK_EQ(s.eot, e.eot);
    CHECK_EQ(s.add_bos, e.add_bos);
    CHECK_EQ(s.add_eos, false);
    CHECK_EQ(s.fim_prefix, e.fim_prefix);
    CHECK_EQ(s.fim_suffix, e.fim_suffix);
    CHECK_EQ(s.fim_middle, e.fim_middle);
    CHECK_EQ(s.eog, e.eog);
    for (const int32_t id : e.eog) CHECK(shared_tokenizer(e.file).is_eog(id));
  }
  const Tokenizer& qwen25 = shared_tokenizer(kQwen25);
  CHECK_EQ(qwen25.special().fim_pad, 151662);
  CHECK_EQ(qwen25.special().fim_repo, 151663);
  CHECK_EQ(qwen25.special().fim_sep, 151664);
  CHECK_EQ(qwen25.special().pad, 151643);
  CHECK(!qwen25.is_eog(151644));
  CHECK(!qwen25.is_eog(-1));
  CHECK(!qwen25.is_eog(1 << 30));
  // deepseek-coder: the FIM tokens are USER_DEFINED in the file and become CONTROL.
  const Tokenizer& dscoder = shared_tokenizer(kDsCoder);
  CHECK(dscoder.is_control(32015) && dscoder.is_control(32016) && dscoder.is_control(32017));
  CHECK(!dscoder.is_eog(32021));  // <|EOT|> is not end-of-generation in llama.cpp
  CHECK_EQ(shared_tokenizer(vocab_file("starcoder")).special().fim_pad, 4);
  CHECK_EQ(shared_tokenizer(kStories).special().unk, 0);
  CHECK_EQ(shared_tokenizer(kStories).special().pad, -1);  // the file's 0xFFFFFFFF is ignored
}

TEST_CASE("FIM and code prompts with special-token parsing match llama.cpp") {
  const std::string fim_deepseek =
      "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>def add(a, b):\n    <\xef\xbd\x9c" "fim\xe2\x96\x81"
      "hole\xef\xbd\x9c>\n\nprint(add(1, 2))<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>";
  CHECK_EQ(shared_tokenizer(kDsCoder).tokenize(fim_deepseek, true, true),
           (Ids{32013, 32016, 1551, 957, 7, 64, 11, 270, 1772, 185, 251, 32015, 185, 185, 4128, 7, 1761, 7, 16, 11,
                207, 17, 1435, 32017}));
  const std::string fim_qwen = "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>";
  CHECK_EQ(shared_tokenizer(kQwen25).tokenize(fim_qwen, true, true),
           (Ids{151659, 750, 912, 2877, 11, 293, 982, 257, 151661, 271, 1350, 25906, 7, 16, 11, 220, 17, 593, 151660}));
  const std::string fim_starcoder = "<fim_prefix>def add(a, b):\n    <fim_suffix>\n\nprint(add(1, 2))<fim_middle>";
  CHECK_EQ(shared_tokenizer(vocab_file("starcoder")).tokenize(fim_starcoder, true, true),
           (Ids{1, 610, 1035, 45, 102, 49, 342, 731, 294, 3, 222, 222, 1243, 45, 688, 45, 54, 49, 244, 55, 509, 2}));

  const std::string code = "def fibonacci(n):\n    ";
  CHECK_EQ(shared_tokenizer(kDsCoder).tokenize(code, true, false),
           (Ids{32013, 1551, 12606, 249, 305, 2711, 7, 77, 1772, 185, 251}));
  CHECK_EQ(shared_tokenizer(kQwen25).tokenize(code, true, false), (Ids{750, 75698, 1445, 982, 257}));
}

TEST_CASE("special-token parsing: CONTROL only when asked, USER_DEFINED always") {
  const Tokenizer& qwen25 = shared_tokenizer(kQwen25);
  const std::string chat = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
  CHECK_EQ(qwen25.tokenize(chat, false, true), (Ids{151644, 872, 198, 9707, 151645, 198, 151644, 77091, 198}));
  CHECK_EQ(qwen25.tokenize("<|im_end|>", false, false), (Ids{27, 91, 318, 6213, 91, 29}));
  CHECK_EQ(qwen25.tokenize("x <|im_end|>  y", false, true), (Ids{87, 220, 151645, 220, 379}));
  // <tool_call> is USER_DEFINED: split off even without parse_special.
  CHECK_EQ(qwen25.tokenize("<pad> <tool_call>x</tool_call>", false, false),
           (Ids{7926, 329, 29, 220, 151657, 87, 151658}));
  // SentencePiece: the text after a special token gets its own leading space.
  CHECK_EQ(shared_tokenizer(vocab_file("llama-spm")).tokenize("<s>Hello</s> world <unk> x", false, true),
           (Ids{1, 15043, 2, 29871, 3186, 29871, 0, 29871, 921}));
  CHECK_EQ(shared_tokenizer(vocab_file("llama-spm")).tokenize("<s>Hello</s> world <unk> x", true, true),
           (Ids{1, 1, 15043, 2, 29871, 3186, 29871, 0, 29871, 921}));
}

namespace {

SyntheticTokenizer phi3_like() {
  return load_synthetic("alloy-phi3-like.gguf",
                        synthetic_spm_gguf("Phi-3 mini (synthetic)",
                                           {{"<|endoftext|>", 3}, {"<|user|>", 3}, {"<|end|>", 3},
                                            {"<|assistant|>", 3}, {"<|placeholder1|>", 4}},
                                           nullptr));
}

SyntheticTokenizer rules_vocab() {
  const std::string space = "\xe2\x96\x81";
  return load_synthetic(
      "alloy-rules.gguf",
      synthetic_spm_gguf("rules (synthetic)",
                         {{space + "<PRE>", 1}, {space + "<SUF>", 1}, {space + "<MID>", 1}, {"<|im_end|>", 3},
                          {"<|eot_id|>", 3}, {"<|endoftext|>", 1}, {"<|return|>", 3}, {"<|call|>", 3},
                          {"<|end|>", 3}, {"<|tool_response>", 4}, {"<|channel|>", 3}, {"<mask>", 4},
                          {"<|fim_pad|>", 1}, {"[PAD]", 1}, {"<|repo_name|>", 3}, {"<|file_sep|>", 3}},
                         [](GgufWriter& w) {
                           w.add("tokenizer.ggml.pre", GgufMetaValue::string("jina-v2-code"));
                           w.add("tokenizer.ggml.add_bos_token", GgufMetaValue::boolean(false));
                           w.add("tokenizer.ggml.add_eos_token", GgufMetaValue::boolean(true));
                           w.add("tokenizer.ggml.padding_token_id", GgufMetaValue::u32(99999));
                         }));
}

}  // namespace

// Expected values below were produced by llama.cpp (node-llama-cpp 3.22.1) on the very
// files these tests write into the temp dir.
TEST_CASE("synthetic phi-3 vocab: rstrip on special tokens, EOT/EOG by text") {
  const SyntheticTokenizer v = phi3_like();
  const Tokenizer& t = v.tokenizer;
  const int32_t endoftext = v.id("<|endoftext|>"), user = v.id("<|user|>"), end = v.id("<|end|>"),
                assistant = v.id("<|assistant|>"), placeholder = v.id("<|placeholder1|>");
  const int32_t space = v.id("\xe2\x96\x81"), h = v.id("h"), i = v.id("i"), space_x = v.id("\xe2\x96\x81x");
  // Two texts qualify as EOT; llama.cpp's map order picks <|end|>.
  CHECK_EQ(t.special().eot, end);
  CHECK_EQ(t.special().eog, (Ids{2, endoftext, end}));
  CHECK_EQ(t.tokenize("<|user|>  hi<|end|>\n<|assistant|>", true, true), (Ids{1, user, space, h, i, end, assistant}));
  CHECK_EQ(t.tokenize("</s>  x", true, true), (Ids{1, 2, space_x}));          // </s> gets rstrip
  CHECK_EQ(t.tokenize("<s>  x", true, true), (Ids{1, 1, space, space, space_x}));  // <s> does not
  CHECK_EQ(t.tokenize("<|placeholder1|>  hi", false, false), (Ids{placeholder, space, h, i}));
  CHECK_EQ(t.tokenize(" <|end|> x", true, true), (Ids{1, space, space, end, space_x}));
}

TEST_CASE("synthetic vocab: CodeLlama FIM texts, harmony / gemma4 EOG rules, lstrip <mask>") {
  const SyntheticTokenizer v = rules_vocab();
  const Tokenizer& t = v.tokenizer;
  const alloy::SpecialTokens& s = t.special();
  const std::string mark = "\xe2\x96\x81";
  CHECK_EQ(s.fim_prefix, v.id(mark + "<PRE>"));
  CHECK_EQ(s.fim_suffix, v.id(mark + "<SUF>"));
  CHECK_EQ(s.fim_middle, v.id(mark + "<MID>"));
  CHECK(t.is_control(s.fim_prefix));  // NORMAL in the file: "control-looking" override
  CHECK_EQ(s.fim_pad, v.id("<|fim_pad|>"));
  CHECK_EQ(s.fim_repo, v.id("<|repo_name|>"));
  CHECK_EQ(s.fim_sep, v.id("<|file_sep|>"));
  CHECK_EQ(s.eot, v.id("<|end|>"));
  CHECK_EQ(s.pad, -1);  // padding_token_id 99999 is outside the vocabulary
  CHECK_EQ(s.eos, 2);
  CHECK(!s.add_bos);
  CHECK(s.add_eos);
  // <|end|> leaves the EOG set (harmony: <|return|> and <|call|> exist), so does </s>
  // (gemma4: <|tool_response> exists); both stop being control tokens.
  CHECK_EQ(s.eog, (Ids{v.id("<|im_end|>"), v.id("<|eot_id|>"), v.id("<|endoftext|>"), v.id("<|return|>"),
                       v.id("<|call|>"), v.id("<|tool_response>"), v.id("<|fim_pad|>"), v.id("<|repo_name|>"),
                       v.id("<|file_sep|>")}));
  CHECK(!t.is_control(v.id("<|end|>")));
  CHECK(!t.is_control(2));
  CHECK(t.is_control(v.id("<|endoftext|>")));
  CHECK_EQ(t.token_to_piece(2, false), std::string("</s>"));
  const int32_t space = v.id(mark), h = v.id("h"), i = v.id("i"), space_x = v.id(mark + "x");
  // <mask> has lstrip (pre "jina-v2-code"); <|channel|> and <|end|> are now USER_DEFINED.
  CHECK_EQ(t.tokenize("a <mask> b", false, false), (Ids{v.id(mark + "a"), v.id("<mask>"), space, v.id(mark + "b")}));
  CHECK_EQ(t.tokenize("hi", true, false), (Ids{space, h, i, 2}));
  CHECK_EQ(t.tokenize("<|channel|>x", false, false), (Ids{v.id("<|channel|>"), space_x}));
  CHECK_EQ(t.tokenize("<|end|> x", false, false), (Ids{v.id("<|end|>"), space, space_x}));
}

TEST_CASE("load errors: unsupported model, broken token metadata") {
  const auto load_bytes = [](const std::vector<uint8_t>& bytes) {
    GgufFile file = GgufFile::parse(alloy::MappedFile::from_bytes(bytes.data(), bytes.size()));
    Tokenizer::load(file);
  };
  const SynthVocab good = synthetic_spm_vocab({});
  CHECK_THROWS_KIND(load_bytes(to_gguf(good, "bert", "x", nullptr)), ErrorKind::unsupported_tokenizer);
  CHECK_THROWS_KIND(load_bytes(to_gguf(good, "", "x", nullptr)), ErrorKind::missing_key);
  CHECK_THROWS_KIND(load_bytes(to_gguf(SynthVocab{}, "llama", "x", nullptr)), ErrorKind::missing_key);

  SynthVocab duplicate = good;
  duplicate.texts.push_back("a");
  duplicate.types.push_back(1);
  duplicate.scores.push_back(0.0f);
  CHECK_THROWS_KIND(load_bytes(to_gguf(duplicate, "llama", "x", nullptr)), ErrorKind::invalid_metadata);

  SynthVocab short_scores = good;
  short_scores.scores.pop_back();
  CHECK_THROWS_KIND(load_bytes(to_gguf(short_scores, "llama", "x", nullptr)), ErrorKind::invalid_metadata);

  SynthVocab float_types = good;
  float_types.types.clear();
  CHECK_THROWS_KIND(load_bytes(to_gguf(float_types, "llama", "x",
                                       [&](GgufWriter& w) {
                                         w.add("tokenizer.ggml.token_type",
                                               GgufMetaValue::array(GgufValueType::FLOAT32, good.scores));
                                       })),
                    ErrorKind::invalid_metadata);

  // llama.cpp refuses a phi-3 vocabulary without the tokens its attribute rule names.
  CHECK_THROWS_KIND(load_bytes(to_gguf(good, "llama", "phi3-broken", nullptr)), ErrorKind::invalid_metadata);

  // An empty token text is renamed "[EMPTY_<id>]", as in llama.cpp.
  SynthVocab empty_text = good;
  empty_text.texts.push_back("");
  empty_text.types.push_back(1);
  empty_text.scores.push_back(0.0f);
  const std::vector<uint8_t> bytes = to_gguf(empty_text, "llama", "x", nullptr);
  GgufFile file = GgufFile::parse(alloy::MappedFile::from_bytes(bytes.data(), bytes.size()));
  const Tokenizer tokenizer = Tokenizer::load(file);
  const int32_t last = tokenizer.n_vocab() - 1;
  CHECK_EQ(std::string(tokenizer.token_text(last)), "[EMPTY_" + std::to_string(last) + "]");
}
