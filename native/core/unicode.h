// UTF-8 decoding/encoding with llama.cpp's exact leniency, and per-code-point category flags
// (the classes of llama.cpp's unicode_cpt_flags) from the generated tables in unicode_data.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "unicode_data.h"

namespace alloy {

constexpr uint32_t kReplacementCodepoint = 0xFFFD;
constexpr uint32_t kMaxCodepoint = 0x10FFFF;

// Decodes the code point starting at text[offset] and advances offset past it (by 1 to 4).
// Precondition: offset < text.size(). Never reads at or past text.size().
// Matches llama.cpp's unicode_cpts_from_utf8: a lead byte with too few or bad continuation
// bytes, a stray continuation byte and 0xF8..0xFF decode to U+FFFD and consume one byte;
// overlong forms and surrogates (ED A0 80 -> U+D800) are accepted as they decode.
// One deliberate difference: a 4-byte form above U+10FFFF (F4 90.., F5..F7 leads), on which
// llama.cpp's tokenizer throws, decodes to U+FFFD and consumes its four bytes.
uint32_t decode_utf8(std::string_view text, size_t& offset);

// Writes the UTF-8 form of cp (cp <= kMaxCodepoint; surrogates are written as 3 bytes, like
// llama.cpp) into out and returns its length; a larger cp is written as U+FFFD.
size_t encode_utf8(uint32_t cp, char out[4]);
void append_utf8(uint32_t cp, std::string& out);

// Length of the UTF-8 sequence a lead byte announces, from its high 4 bits (llama.cpp's
// unicode_len_utf8): 1 for ASCII and stray continuation bytes, 2, 3 or 4.
size_t utf8_sequence_length(uint8_t lead);

// The flags of one code point, or of "no code point" (a position outside the text being split,
// llama.cpp's empty unicode_cpt_flags{}), for which every predicate is false.
class CodepointFlags {
 public:
  static CodepointFlags absent() { return CodepointFlags(kAbsentBit); }
  static CodepointFlags of(uint32_t cp) {
    if (cp >= unicode_data::kCodepointLimit) return CodepointFlags(0);  // undefined
    return CodepointFlags(unicode_data::kBlocks[unicode_data::kBlockIndex[cp >> unicode_data::kBlockShift]]
                                               [cp & ((1u << unicode_data::kBlockShift) - 1)]);
  }

  bool present() const { return (bits_ & kAbsentBit) == 0; }
  CodepointCategory category() const {
    return static_cast<CodepointCategory>(bits_ & unicode_data::kCategoryMask);
  }
  bool is_undefined() const { return is(CodepointCategory::undefined); }
  bool is_number() const { return is(CodepointCategory::number); }
  bool is_letter() const { return is(CodepointCategory::letter); }
  bool is_separator() const { return is(CodepointCategory::separator); }
  bool is_mark() const { return is(CodepointCategory::mark); }
  bool is_punctuation() const { return is(CodepointCategory::punctuation); }
  bool is_symbol() const { return is(CodepointCategory::symbol); }
  bool is_control() const { return is(CodepointCategory::control); }
  bool is_whitespace() const { return (bits_ & unicode_data::kWhitespaceBit) != 0; }

 private:
  static constexpr uint8_t kAbsentBit = 0x80;
  explicit CodepointFlags(uint8_t bits) : bits_(bits) {}
  bool is(CodepointCategory c) const {
    return (bits_ & (kAbsentBit | unicode_data::kCategoryMask)) == static_cast<uint8_t>(c);
  }
  uint8_t bits_;
};

// Lower-cases ASCII A-Z and returns every other code point unchanged. This is all the
// lower-casing the pre-tokenizers need: they only compare the lower-cased letters after an
// apostrophe with ASCII letters, and scripts/gen-unicode-data.mjs checks that no non-ASCII code
// point lower-cases to one of those.
inline uint32_t ascii_to_lower(uint32_t cp) { return (cp >= 'A' && cp <= 'Z') ? cp + ('a' - 'A') : cp; }

}  // namespace alloy
