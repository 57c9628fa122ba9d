// Unit tests of the byte-level BPE pieces: UTF-8 decoding (with llama.cpp's leniency), the
// code point flags, the pre-tokenizer splits (expected words produced by llama.cpp's own
// unicode_regex_split at commit de3ff815ea7d) and the merge loop on a small hand-made vocab.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "check.h"
#include "core/bpe.h"
#include "core/error.h"
#include "core/pretokenizer.h"
#include "core/unicode.h"

using namespace alloy;

namespace {

// Decodes every code point of bytes copied into an exact-size heap buffer, so that a read past
// the end is caught by the sanitizer build.
std::vector<uint32_t> decode_all(const std::string& bytes, std::vector<size_t>* lengths = nullptr) {
  std::unique_ptr<char[]> exact(new char[bytes.size() + (bytes.empty() ? 1 : 0)]);
  std::copy(bytes.begin(), bytes.end(), exact.get());
  const std::string_view view(exact.get(), bytes.size());
  std::vector<uint32_t> cps;
  for (size_t offset = 0; offset < view.size();) {
    const size_t before = offset;
    cps.push_back(decode_utf8(view, offset));
    if (lengths != nullptr) lengths->push_back(offset - before);
  }
  return cps;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string joined;
  for (const auto& word : words) joined += "[" + word + "]";
  return joined;
}

}  // namespace

TEST_CASE("utf8: valid sequences of every length") {
  std::vector<size_t> lengths;
  CHECK(decode_all("a\xc3\xa9\xe4\xb8\xad\xf0\x9f\xa6\x99", &lengths) ==
        (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F999}));
  CHECK(lengths == (std::vector<size_t>{1, 2, 3, 4}));
}

TEST_CASE("utf8: invalid bytes decode to U+FFFD one byte at a time, never past the end") {
  const uint32_t R = kReplacementCodepoint;
  std::vector<size_t> lengths;
  CHECK(decode_all("\x80", &lengths) == std::vector<uint32_t>{R});         // stray continuation
  CHECK(decode_all("\xff\xf8", &lengths) == (std::vector<uint32_t>{R, R}));  // never-valid leads
  CHECK(decode_all("\xc3") == std::vector<uint32_t>{R});                     // truncated at the end
  CHECK(decode_all("\xe4\xb8") == (std::vector<uint32_t>{R, R}));
  CHECK(decode_all("\xf0\x9f\xa6") == (std::vector<uint32_t>{R, R, R}));
  CHECK(decode_all("\xe4x\xb8") == (std::vector<uint32_t>{R, 'x', R}));      // bad continuation
  CHECK(decode_all("") == std::vector<uint32_t>{});
}

TEST_CASE("utf8: overlong forms and surrogates decode like llama.cpp") {
  CHECK(decode_all("\xc0\xaf") == std::vector<uint32_t>{0x2F});
  CHECK(decode_all("\xe0\x80\xaf") == std::vector<uint32_t>{0x2F});
  CHECK(decode_all("\xed\xa0\x80") == std::vector<uint32_t>{0xD800});
  std::vector<size_t> lengths;  // above U+10FFFF: U+FFFD for the whole form (llama.cpp throws)
  CHECK(decode_all("\xf4\x90\x80\x80", &lengths) == std::vector<uint32_t>{kReplacementCodepoint});
  CHECK(lengths == std::vector<size_t>{4});
}

TEST_CASE("utf8: encode/decode round trip over all code points") {
  int mismatches = 0;
  for (uint32_t cp = 0; cp <= kMaxCodepoint; ++cp) {
    char buf[4];
    const size_t length = encode_utf8(cp, buf);
    size_t offset = 0;
    if (decode_utf8(std::string_view(buf, length), offset) != cp || offset != length) ++mismatches;
  }
  CHECK_EQ(mismatches, 0);
  std::string out;
  append_utf8(0x110000, out);
  CHECK_EQ(out, std::string("\xef\xbf\xbd"));
  CHECK_EQ(utf8_sequence_length(0x41), 1u);
  CHECK_EQ(utf8_sequence_length(0x80), 1u);
  CHECK_EQ(utf8_sequence_length(0xC3), 2u);
  CHECK_EQ(utf8_sequence_length(0xE4), 3u);
  CHECK_EQ(utf8_sequence_length(0xF0), 4u);
}

TEST_CASE("flags: categories and whitespace (Unicode 15.1, as llama.cpp)") {
  auto category = [](uint32_t cp) { return CodepointFlags::of(cp).category(); };
  CHECK(category('a') == CodepointCategory::letter);
  CHECK(category('7') == CodepointCategory::number);
  CHECK(category('!') == CodepointCategory::punctuation);
  CHECK(category('$') == CodepointCategory::symbol);
  CHECK(category(0x0301) == CodepointCategory::mark);
  CHECK(category(0x00BD) == CodepointCategory::number);  // ½
  CHECK(category(0x4E2D) == CodepointCategory::letter);
  CHECK(category(0x1F999) == CodepointCategory::symbol);
  CHECK(category(0xE000) == CodepointCategory::control);
  CHECK(category(0xD800) == CodepointCategory::control);
  CHECK(category(0x0378) == CodepointCategory::undefined);
  CHECK(category(0x110000) == CodepointCategory::undefined);
  CHECK(category(0x2EBF0) == CodepointCategory::letter);     // CJK Ext. I, new in 15.1
  CHECK(category(0x1FAE9) == CodepointCategory::undefined);  // an emoji of Unicode 16
  CHECK(CodepointFlags::of(' ').is_whitespace() && CodepointFlags::of(' ').is_separator());
  CHECK(CodepointFlags::of('\t').is_whitespace() && CodepointFlags::of('\t').is_control());
  CHECK(CodepointFlags::of(0x85).is_whitespace() && CodepointFlags::of(0x3000).is_whitespace());
  CHECK(!CodepointFlags::of(0x200B).is_whitespace() && !CodepointFlags::of(0x1C).is_whitespace());
  const CodepointFlags none = CodepointFlags::absent();
  CHECK(!none.present() && !none.is_undefined() && !none.is_letter() && !none.is_whitespace());
  CHECK(CodepointFlags::of(0x0378).present() && CodepointFlags::of(0x0378).is_undefined());
  CHECK_EQ(ascii_to_lower('Q'), static_cast<uint32_t>('q'));
  CHECK_EQ(ascii_to_lower(0x130), 0x130u);
}

TEST_CASE("pre-tokenizer names") {
  CHECK(pre_tokenizer_from_name("qwen2") == PreTokenizer::qwen2);
  CHECK(pre_tokenizer_from_name("deepseek-coder") == PreTokenizer::deepseek_coder);
  CHECK(pre_tokenizer_from_name("starcoder") == PreTokenizer::starcoder);
  CHECK(pre_tokenizer_from_name("refact") == PreTokenizer::starcoder);
  CHECK(pre_tokenizer_from_name("llama-bpe") == PreTokenizer::llama3);
  CHECK(pre_tokenizer_from_name("llama3") == PreTokenizer::llama3);
  CHECK(pre_tokenizer_from_name("gpt-2") == PreTokenizer::gpt2);
  CHECK(pre_tokenizer_from_name("default") == PreTokenizer::bpe_default);
  CHECK(pre_tokenizer_from_name("") == PreTokenizer::bpe_default);
  CHECK(pre_tokenizer_from_name("deepseek-v3") == PreTokenizer::deepseek3_llm);
  CHECK_THROWS_KIND(pre_tokenizer_from_name("tekken"), ErrorKind::unsupported_tokenizer);
  CHECK_THROWS_KIND(pre_tokenizer_from_name("Qwen2"), ErrorKind::unsupported_tokenizer);
  CHECK(pre_tokenizer_traits(PreTokenizer::llama3).ignore_merges);
  CHECK(!pre_tokenizer_traits(PreTokenizer::qwen2).ignore_merges);
  CHECK(!pre_tokenizer_traits(PreTokenizer::deepseek_coder).clean_spaces);
  for (PreTokenizer type : {PreTokenizer::bpe_default, PreTokenizer::gpt2, PreTokenizer::llama3, PreTokenizer::qwen2,
                            PreTokenizer::deepseek_coder, PreTokenizer::deepseek3_llm, PreTokenizer::starcoder}) {
    CHECK(pre_tokenizer_from_name(pre_tokenizer_name(type)) == type);
  }
}

TEST_CASE("pre-tokenizers split tricky strings exactly like llama.cpp") {
  struct Case {
    PreTokenizer type;
    std::string text;
    std::vector<std::string> words;
  };
  const Case cases[] = {
    {PreTokenizer::gpt2, "Hello World's 'RE 'Ll I'M",
     {"Hello", " World", "'s", " '", "RE", " '", "Ll", " I", "'", "M"}},
    {PreTokenizer::gpt2, "  leading   trailing   ",
     {" ", " leading", "  ", " trailing", "   "}},
    {PreTokenizer::gpt2, "a\n\n  b\r\n\tc   \n",
     {"a", "\n\n ", " b", "\r\n", "\t", "c", "   \n"}},
    {PreTokenizer::gpt2, "price: $1234.50!!",
     {"price", ":", " $", "1234", ".", "50", "!!"}},
    {PreTokenizer::gpt2, "\xc2\xa0nbsp\xe3\x80\x80wide  \xe2\x80\x83x",
     {"\xc2\xa0", "nbsp", "\xe3\x80\x80", "wide", "  ", "\xe2\x80\x83", "x"}},
    {PreTokenizer::bpe_default, "a+=b; x<=y ^ z|w ~ `q`",
     {"a", "+=", "b", ";", " x", "<=", "y", " ", "^", " z", "|", "w", " ", "~", " `", "q", "`"}},
    {PreTokenizer::bpe_default, "1234567 89 \xc2\xbd\xc2\xb2",
     {"123", "456", "7", " ", "89", " ", "\xc2\xbd\xc2\xb2"}},
    {PreTokenizer::bpe_default, "(foo) -> {bar}.baz",
     {"(", "foo", ")", " ", "->", " ", "{", "bar", "}.", "baz"}},
    {PreTokenizer::llama3, "Hello World's 'RE 'Ll I'M",
     {"Hello", " World", "'s", " '", "RE", " '", "Ll", " I", "'M"}},
    {PreTokenizer::llama3, "1234567 12 3.14159 x1y22",
     {"123", "456", "7", " ", "12", " ", "3", ".", "141", "59", " x", "1", "y", "22"}},
    {PreTokenizer::llama3, "a\n\n  b\r\n\tc   \n",
     {"a", "\n\n", " ", " b", "\r\n", "\tc", "   \n"}},
    {PreTokenizer::llama3, "  foo(bar)\n\n}\n",
     {" ", " foo", "(bar", ")\n\n", "}\n"}},
    {PreTokenizer::llama3, "\xc2\xa0nbsp\xe3\x80\x80wide \xf0\x9f\xa6\x99\xf0\x9f\xa6\x99 \xe2\x9d\xa4\xef\xb8\x8f",
     {"\xc2\xa0nbsp", "\xe3\x80\x80wide", " \xf0\x9f\xa6\x99\xf0\x9f\xa6\x99", " \xe2\x9d\xa4\xef\xb8\x8f"}},
    {PreTokenizer::qwen2, "1234567 12 3.14159 x1y22",
     {"1", "2", "3", "4", "5", "6", "7", " ", "1", "2", " ", "3", ".", "1", "4", "1", "5", "9", " x", "1", "y", "2", "2"}},
    {PreTokenizer::qwen2, "def f():\r\n\treturn 'It''S'",
     {"def", " f", "():\r\n", "\treturn", " '", "It", "''", "S", "'"}},
    {PreTokenizer::qwen2, "\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95 \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 e\xcc\x81",
     {"\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95", " \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", " e", "\xcc\x81"}},
    {PreTokenizer::deepseek_coder, "int main() {\n  return 0;\n}",
     {"int", " main", "()", " {", "\n", " ", " return", " ", "0", ";", "\n", "}"}},
    {PreTokenizer::deepseek_coder, "\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x80\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a \xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xe0\xa0\x80\xdf\xbf",
     {"\xe4\xb8\xad\xe6\x96\x87\xe6\xb5\x8b\xe8\xaf\x95", "\xe3\x80\x80", "\xe3\x82\xab\xe3\x82\xbf\xe3\x82\xab\xe3\x83\x8a", " ", "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4", " ", "\xe0\xa0\x80", "\xdf\xbf"}},
    {PreTokenizer::deepseek_coder, "x1 = y22 + \xd9\xa3\xd9\xa4;  // \xc2\xbd",
     {"x", "1", " =", " y", "2", "2", " + ", "\xd9\xa3", "\xd9\xa4", ";", " ", " //", " ", "\xc2\xbd"}},
    {PreTokenizer::deepseek_coder, "  hello,  world!! $x",
     {" ", " hello", ",", " ", " world", "!!", " $", "x"}},
    {PreTokenizer::deepseek3_llm, "$foo .bar 1234567 \xe4\xb8\xad\xe6\x96\x87\xe3\x82\xab\xe3\x82\xbf\xe3\x81\x8b\xe3\x81\xaa",
     {"$foo", " .", "bar", " ", "123", "456", "7", " ", "\xe4\xb8\xad\xe6\x96\x87\xe3\x82\xab\xe3\x82\xbf\xe3\x81\x8b\xe3\x81\xaa"}},
    {PreTokenizer::deepseek3_llm, "e\xcc\x81te\xcc\x81 \xcc\x81x  !!\n\n y",
     {"e\xcc\x81te\xcc\x81", " \xcc\x81x", " ", " !!\n\n", " y"}},
    {PreTokenizer::deepseek3_llm, "a\xc2\xa0" "b \xf0\x9f\x98\x80",
     {"a", "\xc2\xa0" "b", " \xf0\x9f\x98\x80"}},
    {PreTokenizer::starcoder, "x = 12345 + y2",
     {"x", " =", " ", "1", "2", "3", "4", "5", " +", " y", "2"}},
    {PreTokenizer::starcoder, "hello   123   world",
     {"hello", "   ", "1", "2", "3", "  ", " world"}},
    {PreTokenizer::starcoder, "it's\tIT'S  \n",
     {"it", "'s", "\t", "IT", "'", "S", "  \n"}},
  };
  for (const Case& c : cases) {
    const std::vector<std::string> words = pre_tokenize(c.type, c.text);
    if (words != c.words) {
      alloy_test::report_failure(__FILE__, __LINE__, std::string(pre_tokenizer_name(c.type)) + " split " +
                                                          join_words(words) + ", expected " + join_words(c.words));
    }
  }
}

TEST_CASE("pre-tokenizers: empty text, invalid UTF-8, long runs") {
  CHECK(pre_tokenize(PreTokenizer::qwen2, "").empty());
  // U+FFFD is a symbol: qwen2 lets it lead a letter run, GPT-2 keeps it apart.
  CHECK(pre_tokenize(PreTokenizer::qwen2, "ab\xff" "cd\xc3") ==
        (std::vector<std::string>{"ab", "\xef\xbf\xbd" "cd", "\xef\xbf\xbd"}));
  CHECK(pre_tokenize(PreTokenizer::gpt2, "ab\xff" "cd\xc3") ==
        (std::vector<std::string>{"ab", "\xef\xbf\xbd", "cd", "\xef\xbf\xbd"}));
  CHECK(pre_tokenize(PreTokenizer::gpt2, "a\xc0\xafz") == (std::vector<std::string>{"a", "/", "z"}));
  const std::string spaces(10000, ' ');
  CHECK(pre_tokenize(PreTokenizer::llama3, spaces + "x") ==
        (std::vector<std::string>{std::string(9999, ' '), " x"}));
  const std::vector<std::string> digits = pre_tokenize(PreTokenizer::llama3, std::string(10001, '9'));
  CHECK_EQ(digits.size(), 3334u);
  CHECK_EQ(digits.back(), std::string("99"));
  PreTokenizedText reused;  // a reused instance gives the same words as a fresh one
  reused.split(PreTokenizer::deepseek_coder, "first text, longer than the second");
  reused.split(PreTokenizer::deepseek_coder, "x = 1\n");  // '=' is a symbol, not \p{P}
  CHECK_EQ(reused.word_count(), 4u);
  if (reused.word_count() == 4) {
    CHECK_EQ(reused.word(1), std::string_view(" = "));
    CHECK_EQ(reused.word(3), std::string_view("\n"));
  }
}

TEST_CASE("GPT-2 byte mapping and its inverse") {
  CHECK_EQ(BpeModel::byte_to_token_text(' '), std::string_view("\xc4\xa0"));  // Ġ
  CHECK_EQ(BpeModel::byte_to_token_text('\n'), std::string_view("\xc4\x8a"));  // Ċ
  CHECK_EQ(BpeModel::byte_to_token_text('a'), std::string_view("a"));
  CHECK_EQ(BpeModel::byte_to_token_text(0xAD), std::string_view("\xc5\x83"));   // Ń
  CHECK_EQ(BpeModel::byte_to_token_text(0xE9), std::string_view("\xc3\xa9"));   // é stands for itself
  std::string all_bytes, all_texts;
  for (int b = 0; b < 256; ++b) {
    all_bytes.push_back(static_cast<char>(b));
    all_texts += BpeModel::byte_to_token_text(static_cast<uint8_t>(b));
  }
  CHECK(BpeModel::token_text_to_bytes(all_texts) == all_bytes);
  CHECK_EQ(BpeModel::token_text_to_bytes("\xc4\xa0hello"), std::string(" hello"));
  CHECK_EQ(BpeModel::token_text_to_bytes("a\xe4\xb8\xad"), std::string("a[UNK_BYTE_0xe4b8ada\xe4\xb8\xad]"));
}

namespace {

// A hand-made vocabulary; `storage` owns the texts the Vocab views.
struct TinyVocab {
  std::vector<std::string> storage;
  Vocab vocab;
  explicit TinyVocab(std::vector<std::string> texts) : storage(std::move(texts)) {
    for (size_t i = 0; i < storage.size(); ++i) {
      vocab.texts.push_back(storage[i]);
      vocab.types.push_back(TokenType::normal);
      vocab.text_to_id.emplace(storage[i], static_cast<int32_t>(i));
    }
  }
};

std::vector<int32_t> tokenize(const BpeModel& model, std::string_view text) {
  std::vector<int32_t> ids;
  model.tokenize_fragment(text, ids);
  return ids;
}

}  // namespace

TEST_CASE("BPE merges: lowest rank first, leftmost on ties, stale pairs skipped") {
  //                 0    1    2    3     4     5      6      7
  TinyVocab tiny({"a", "b", "c", "ab", "bc", "abc", "aa", "aaaa"});
  const BpeModel b_c_first(tiny.vocab, PreTokenizer::gpt2, {"b c", "a b", "ab c"});
  CHECK(tokenize(b_c_first, "abc") == (std::vector<int32_t>{0, 4}));  // "a bc" is no merge
  const BpeModel a_b_first(tiny.vocab, PreTokenizer::gpt2, {"a b", "b c", "ab c"});
  CHECK(tokenize(a_b_first, "abc") == (std::vector<int32_t>{5}));
  CHECK_EQ(a_b_first.merge_rank("ab", "c"), 2);
  CHECK_EQ(a_b_first.merge_rank("c", "ab"), -1);
  const BpeModel pairs(tiny.vocab, PreTokenizer::gpt2, {"a a", "aa aa", "a a"});
  CHECK(tokenize(pairs, "aaa") == (std::vector<int32_t>{6, 0}));  // leftmost pair first
  CHECK(tokenize(pairs, "aaaaa") == (std::vector<int32_t>{7, 0}));
  CHECK_EQ(pairs.merge_count(), 2u);  // the duplicate "a a" keeps rank 0
  CHECK_EQ(pairs.merge_rank("a", "a"), 0);
}

TEST_CASE("BPE: symbols missing from the vocab fall back to their single-byte tokens") {
  TinyVocab tiny({"a", "b", "\xc4\xa0", "x"});  // "ab" is a merge result but not a token
  const BpeModel model(tiny.vocab, PreTokenizer::gpt2, {"a b"});
  CHECK(tokenize(model, "ab") == (std::vector<int32_t>{0, 1}));
  // "é" is encoded as the symbols "Ã" and "©": neither they nor their single bytes are tokens.
  CHECK(tokenize(model, "\xc3\xa9") == std::vector<int32_t>{});
  CHECK(tokenize(model, " x") == (std::vector<int32_t>{2, 3}));
}

TEST_CASE("BPE: merges through texts that are no tokens") {
  TinyVocab tiny({"a", "b", "c", "abc"});  // "ab" is a merge result but not a token
  const BpeModel model(tiny.vocab, PreTokenizer::gpt2, {"a b", "ab c", "nospace", "b c"});
  CHECK(tokenize(model, "abc") == std::vector<int32_t>{3});
  CHECK_EQ(model.merge_rank("ab", "c"), 1);
  CHECK_EQ(model.merge_rank("b", "c"), 3);
  CHECK_EQ(model.merge_count(), 3u);  // "nospace" names no pair
}

TEST_CASE("BPE: llama3 looks whole words up before merging") {
  TinyVocab tiny({"h", "i", "hi", "\xc4\xa0" "hi"});
  const BpeModel llama3(tiny.vocab, PreTokenizer::llama3, {});
  CHECK(tokenize(llama3, "hi hi") == (std::vector<int32_t>{2, 3}));
  const BpeModel qwen2(tiny.vocab, PreTokenizer::qwen2, {});
  CHECK(tokenize(qwen2, "hi") == (std::vector<int32_t>{0, 1}));
}
