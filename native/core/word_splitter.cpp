#include "word_splitter.h"

#include <algorithm>
#include <utility>

#include "error.h"

namespace alloy {

namespace {

constexpr uint32_t kNoCodepoint = 0xFFFFFFFF;

bool is_newline(uint32_t cp) { return cp == '\r' || cp == '\n'; }
bool is_ascii_digit(uint32_t cp) { return cp >= '0' && cp <= '9'; }
bool is_ascii_letter(uint32_t cp) { return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z'); }
// [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]: ASCII punctuation and symbols.
bool is_ascii_punct_or_symbol(uint32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}
// The GPT-2 "other" class [^\s\p{L}\p{N}], for a code point inside the chunk.
bool is_other(CodepointFlags f) { return f.present() && !f.is_whitespace() && !f.is_letter() && !f.is_number(); }

// Cuts chunks of a decoded text into smaller chunks. Positions are code point indices; a chunk
// is [begin, end) and a stage only looks inside the chunk it is given (llama.cpp runs every
// regex per chunk, so a chunk end acts as the end of the text). Each stage appends the end of
// every piece it cuts, in order, to `out`.
class ChunkSplitter {
 public:
  ChunkSplitter(const std::vector<uint32_t>& cps, const std::vector<CodepointFlags>& flags,
                std::vector<uint32_t>& ends, std::vector<uint32_t>& scratch)
      : cps_(cps), flags_(flags), ends_(ends), out_(scratch) {}

  void run(PreTokenizer type) {
    switch (type) {
      case PreTokenizer::bpe_default:
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_default_punct_run); });
        apply([&](uint32_t b, uint32_t e) { split_gpt2(b, e); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_number_run); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_ascii_digit_triple); });
        return;
      case PreTokenizer::gpt2:
        apply([&](uint32_t b, uint32_t e) { split_gpt2(b, e); });
        return;
      case PreTokenizer::llama3:
        apply([&](uint32_t b, uint32_t e) { split_llama3(b, e, 3); });
        return;
      case PreTokenizer::qwen2:
        apply([&](uint32_t b, uint32_t e) { split_llama3(b, e, 1); });
        return;
      case PreTokenizer::deepseek_coder:
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_newline); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_space_letters); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_space_punctuation); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_coder_cjk_run); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_one_number); });
        return;
      case PreTokenizer::deepseek3_llm:
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_number_triple); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_han_kana_run); });
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_deepseek3_word); });
        return;
      case PreTokenizer::starcoder:
        apply([&](uint32_t b, uint32_t e) { split_matches(b, e, &ChunkSplitter::match_one_number); });
        apply([&](uint32_t b, uint32_t e) { split_gpt2(b, e); });
        return;
    }
    throw Error(ErrorKind::internal, "unhandled pre-tokenizer type");
  }

 private:
  using Matcher = uint32_t (ChunkSplitter::*)(uint32_t pos, uint32_t end) const;

  template <typename Stage>
  void apply(Stage stage) {
    out_.clear();
    uint32_t begin = 0;
    for (uint32_t end : ends_) {
      stage(begin, end);
      begin = end;
    }
    std::swap(ends_, out_);
  }

  uint32_t cp_at(uint32_t pos, uint32_t end) const { return pos < end ? cps_[pos] : kNoCodepoint; }
  CodepointFlags flags_at(uint32_t pos, uint32_t end) const {
    return pos < end ? flags_[pos] : CodepointFlags::absent();
  }
  void emit(uint32_t end) { out_.push_back(end); }

  template <typename Pred>
  uint32_t run_end(uint32_t pos, uint32_t end, Pred pred) const {
    while (pos < end && pred(pos)) ++pos;
    return pos;
  }
  uint32_t letters_end(uint32_t pos, uint32_t end) const {
    return run_end(pos, end, [&](uint32_t p) { return flags_[p].is_letter(); });
  }

  // A std::regex stage: every leftmost match becomes a piece, and so does every non-empty run
  // of text between matches. `match` returns the end of the match starting at pos, or pos.
  void split_matches(uint32_t begin, uint32_t end, Matcher match) {
    uint32_t gap_begin = begin;
    for (uint32_t pos = begin; pos < end;) {
      const uint32_t match_end = (this->*match)(pos, end);
      if (match_end == pos) {
        ++pos;
        continue;
      }
      if (pos > gap_begin) emit(pos);
      emit(match_end);
      pos = gap_begin = match_end;
    }
    if (end > gap_begin) emit(end);
  }

  // 's|'t|'re|'ve|'m|'ll|'d at pos (a '\''), optionally ignoring case; its length or 0.
  uint32_t contraction_length(uint32_t pos, uint32_t end, bool ignore_case) const {
    auto letter = [&](uint32_t p) {
      const uint32_t cp = cp_at(p, end);
      return ignore_case ? ascii_to_lower(cp) : cp;
    };
    const uint32_t next = letter(pos + 1);
    if (next == 's' || next == 't' || next == 'm' || next == 'd') return 2;
    if (pos + 2 < end) {
      const uint32_t next2 = letter(pos + 2);
      if ((next == 'r' && next2 == 'e') || (next == 'v' && next2 == 'e') || (next == 'l' && next2 == 'l')) return 3;
    }
    return 0;
  }

  // llama.cpp's hand-written GPT-2 splitter:
  // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  void split_gpt2(uint32_t begin, uint32_t end) {
    for (uint32_t pos = begin; pos < end;) {
      const uint32_t cp = cps_[pos];
      if (cp == '\'' && pos + 1 < end) {
        const uint32_t length = contraction_length(pos, end, false);
        if (length > 0) {
          pos += length;
          emit(pos);
          continue;
        }
      }
      const uint32_t body = pos + (cp == ' ' ? 1 : 0);  // where the class run starts after " ?"
      const CodepointFlags first = flags_at(body, end);
      if (first.is_letter()) {
        pos = letters_end(body, end);
      } else if (first.is_number()) {
        pos = run_end(body, end, [&](uint32_t p) { return flags_[p].is_number(); });
      } else if (is_other(first)) {
        pos = run_end(body, end, [&](uint32_t p) { return is_other(flags_[p]); });
      } else {
        pos = whitespace_piece_end(pos, end, false);
      }
      emit(pos);
    }
  }

  // The whitespace tail shared by the GPT-2 and llama3 splitters at pos:
  // (\s*[\r\n]+ when with_newlines)|\s+(?!\S)|\s+, or a single code point when none matches.
  uint32_t whitespace_piece_end(uint32_t pos, uint32_t end, bool with_newlines) const {
    uint32_t ws_end = pos;
    uint32_t newline_end = 0;  // one past the last \r or \n of the run, 0 if none
    while (ws_end < end && flags_[ws_end].is_whitespace()) {
      if (is_newline(cps_[ws_end])) newline_end = ws_end + 1;
      ++ws_end;
    }
    if (with_newlines && newline_end > 0) return newline_end;
    const uint32_t count = ws_end - pos;
    if (count > 1 && ws_end < end) return ws_end - 1;
    if (count > 0) return ws_end;
    return pos + 1;
  }

  // llama.cpp's hand-written llama3 (max_digits 3) and qwen2 (max_digits 1) splitter:
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max}| ?[^\s\p{L}\p{N}]+[\r\n]*
  // |\s*[\r\n]+|\s+(?!\S)|\s+
  void split_llama3(uint32_t begin, uint32_t end, uint32_t max_digits) {
    for (uint32_t pos = begin; pos < end;) {
      const uint32_t cp = cps_[pos];
      const CodepointFlags flags = flags_[pos];
      if (cp == '\'' && pos + 1 < end) {
        const uint32_t length = contraction_length(pos, end, true);
        if (length > 0) {
          pos += length;
          emit(pos);
          continue;
        }
      }
      if (!is_newline(cp) && !flags.is_number() && (flags.is_letter() || flags_at(pos + 1, end).is_letter())) {
        pos = letters_end(pos + 1, end);
        emit(pos);
        continue;
      }
      if (flags.is_number()) {
        const uint32_t numbers_end = match_number_run(pos, end);
        while (pos < numbers_end) {
          pos = std::min(pos + max_digits, numbers_end);
          emit(pos);
        }
        continue;
      }
      const uint32_t body = pos + (cp == ' ' ? 1 : 0);
      const CodepointFlags first = flags_at(body, end);
      if (!first.is_whitespace() && !first.is_letter() && !first.is_number()) {
        // Also taken for a lone ' ' at the chunk end (first is absent): the piece is " ".
        pos = run_end(body, end, [&](uint32_t p) { return is_other(flags_[p]); });
        pos = run_end(pos, end, [&](uint32_t p) { return is_newline(cps_[p]); });
        emit(pos);
        continue;
      }
      pos = whitespace_piece_end(pos, end, true);
      emit(pos);
    }
  }

  // Matchers for the std::regex stages. llama.cpp runs them over text where every non-ASCII
  // code point is collapsed to one byte standing for its class (whitespace first), so \s, \p{L},
  // \p{N}, \p{P}, \p{M} and \p{S} there mean exactly the flags below.

  // [\r\n]
  uint32_t match_newline(uint32_t pos, uint32_t) const { return is_newline(cps_[pos]) ? pos + 1 : pos; }
  // \p{N}
  uint32_t match_one_number(uint32_t pos, uint32_t) const { return flags_[pos].is_number() ? pos + 1 : pos; }
  // \p{N}+
  uint32_t match_number_run(uint32_t pos, uint32_t end) const {
    return run_end(pos, end, [&](uint32_t p) { return flags_[p].is_number(); });
  }
  // \p{N}{1,3}
  uint32_t match_number_triple(uint32_t pos, uint32_t end) const {
    return std::min(match_number_run(pos, end), pos + 3);
  }
  // [0-9][0-9][0-9]
  uint32_t match_ascii_digit_triple(uint32_t pos, uint32_t end) const {
    const bool three = pos + 3 <= end && is_ascii_digit(cps_[pos]) && is_ascii_digit(cps_[pos + 1]) &&
                       is_ascii_digit(cps_[pos + 2]);
    return three ? pos + 3 : pos;
  }
  // [\p{P}\$\+<=>\^~\|]+
  uint32_t match_default_punct_run(uint32_t pos, uint32_t end) const {
    return run_end(pos, end, [&](uint32_t p) {
      const uint32_t cp = cps_[p];
      return flags_[p].is_punctuation() || cp == '$' || cp == '+' || cp == '<' || cp == '=' || cp == '>' ||
             cp == '^' || cp == '~' || cp == '|';
    });
  }
  // \s?\p{L}+
  uint32_t match_space_letters(uint32_t pos, uint32_t end) const {
    if (flags_[pos].is_letter()) return letters_end(pos, end);
    if (flags_[pos].is_whitespace() && flags_at(pos + 1, end).is_letter()) return letters_end(pos + 1, end);
    return pos;
  }
  // \s?\p{P}+
  uint32_t match_space_punctuation(uint32_t pos, uint32_t end) const {
    auto punct_end = [&](uint32_t from) {
      return run_end(from, end, [&](uint32_t p) { return flags_[p].is_punctuation(); });
    };
    if (flags_[pos].is_punctuation()) return punct_end(pos);
    if (flags_[pos].is_whitespace() && flags_at(pos + 1, end).is_punctuation()) return punct_end(pos + 1);
    return pos;
  }
  // A literal code point range class run. llama.cpp matches these with std::wregex on the code
  // points after replacing non-ASCII whitespace by U+000B, so such whitespace never matches.
  template <size_t N>
  uint32_t range_run_end(uint32_t pos, uint32_t end, const std::pair<uint32_t, uint32_t> (&ranges)[N]) const {
    return run_end(pos, end, [&](uint32_t p) {
      const uint32_t cp = cps_[p];
      if (cp > 0x7F && flags_[p].is_whitespace()) return false;
      for (const auto& range : ranges) {
        if (cp >= range.first && cp <= range.second) return true;
      }
      return false;
    });
  }
  // [一-龥ࠀ-一가-퟿]+
  uint32_t match_coder_cjk_run(uint32_t pos, uint32_t end) const {
    static constexpr std::pair<uint32_t, uint32_t> kRanges[] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};
    return range_run_end(pos, end, kRanges);
  }
  // [一-龥぀-ゟ゠-ヿ]+
  uint32_t match_han_kana_run(uint32_t pos, uint32_t end) const {
    static constexpr std::pair<uint32_t, uint32_t> kRanges[] = {{0x4E00, 0x9FA5}, {0x3040, 0x309F}, {0x30A0, 0x30FF}};
    return range_run_end(pos, end, kRanges);
  }
  // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
  // | ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   (first alternative that matches wins)
  uint32_t match_deepseek3_word(uint32_t pos, uint32_t end) const {
    const uint32_t cp = cps_[pos];
    const CodepointFlags flags = flags_[pos];
    const CodepointFlags next = flags_at(pos + 1, end);
    if (is_ascii_punct_or_symbol(cp) && is_ascii_letter(cp_at(pos + 1, end))) {
      return run_end(pos + 1, end, [&](uint32_t p) { return is_ascii_letter(cps_[p]); });
    }
    auto letter_or_mark = [](CodepointFlags f) { return f.is_letter() || f.is_mark(); };
    auto letters_marks_end = [&](uint32_t from) {
      return run_end(from, end, [&](uint32_t p) { return letter_or_mark(flags_[p]); });
    };
    const bool optional_prefix = !is_newline(cp) && !flags.is_letter() && !flags.is_punctuation() && !flags.is_symbol();
    if (optional_prefix && letter_or_mark(next)) return letters_marks_end(pos + 1);
    if (letter_or_mark(flags)) return letters_marks_end(pos);
    auto punct_or_symbol = [](CodepointFlags f) { return f.is_punctuation() || f.is_symbol(); };
    const uint32_t body = (cp == ' ' && punct_or_symbol(next)) ? pos + 1 : pos;
    if (punct_or_symbol(flags_[body])) {
      const uint32_t run = run_end(body, end, [&](uint32_t p) { return punct_or_symbol(flags_[p]); });
      return run_end(run, end, [&](uint32_t p) { return is_newline(cps_[p]); });
    }
    if (!flags.is_whitespace()) return pos;
    return whitespace_piece_end(pos, end, true);
  }

  const std::vector<uint32_t>& cps_;
  const std::vector<CodepointFlags>& flags_;
  std::vector<uint32_t>& ends_;
  std::vector<uint32_t>& out_;
};

}  // namespace

void split_words(PreTokenizer type, const std::vector<uint32_t>& codepoints, const std::vector<CodepointFlags>& flags,
                 std::vector<uint32_t>& ends, std::vector<uint32_t>& scratch) {
  ChunkSplitter(codepoints, flags, ends, scratch).run(type);
}

}  // namespace alloy
