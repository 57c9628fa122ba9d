#include "unicode.h"

namespace alloy {

namespace {

bool is_continuation(std::string_view text, size_t index) {
  return index < text.size() && (static_cast<uint8_t>(text[index]) & 0xC0) == 0x80;
}

uint32_t continuation_bits(std::string_view text, size_t index) {
  return static_cast<uint8_t>(text[index]) & 0x3Fu;
}

}  // namespace

uint32_t decode_utf8(std::string_view text, size_t& offset) {
  // Every read below is guarded by is_continuation(), which checks the index against size.
  const uint8_t lead = static_cast<uint8_t>(text[offset]);
  if (lead < 0x80) {
    offset += 1;
    return lead;
  }
  if (lead >= 0xC0 && lead < 0xE0 && is_continuation(text, offset + 1)) {
    const uint32_t cp = ((lead & 0x1Fu) << 6) | continuation_bits(text, offset + 1);
    offset += 2;
    return cp;
  }
  if (lead >= 0xE0 && lead < 0xF0 && is_continuation(text, offset + 1) && is_continuation(text, offset + 2)) {
    const uint32_t cp = ((lead & 0x0Fu) << 12) | (continuation_bits(text, offset + 1) << 6) |
                        continuation_bits(text, offset + 2);
    offset += 3;
    return cp;
  }
  if (lead >= 0xF0 && lead < 0xF8 && is_continuation(text, offset + 1) && is_continuation(text, offset + 2) &&
      is_continuation(text, offset + 3)) {
    const uint32_t cp = ((lead & 0x07u) << 18) | (continuation_bits(text, offset + 1) << 12) |
                        (continuation_bits(text, offset + 2) << 6) | continuation_bits(text, offset + 3);
    offset += 4;
    return cp <= kMaxCodepoint ? cp : kReplacementCodepoint;
  }
  offset += 1;
  return kReplacementCodepoint;
}

size_t encode_utf8(uint32_t cp, char out[4]) {
  if (cp > kMaxCodepoint) cp = kReplacementCodepoint;
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

void append_utf8(uint32_t cp, std::string& out) {
  char buf[4];
  out.append(buf, encode_utf8(cp, buf));
}

size_t utf8_sequence_length(uint8_t lead) {
  static constexpr uint8_t kLengthByHighNibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengthByHighNibble[lead >> 4];
}

}  // namespace alloy
