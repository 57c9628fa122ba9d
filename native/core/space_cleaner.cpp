// Streaming form of llama.cpp's three clean_up_tokenization_spaces passes (see the header).
#include "space_cleaner.h"

namespace alloy {

void SpaceCleaner::PassState::release_space(std::string& out) {
  if (holding_space) out.push_back(' ');
  holding_space = false;
}

void SpaceCleaner::PassState::emit(char c, std::string& out) {
  release_space(out);
  if (c == ' ') {
    holding_space = true;
  } else {
    out.push_back(c);
  }
}

bool SpaceCleaner::PassState::hold_quote_or_emit(char c, std::string& out) {
  if (started && c == '\'' && prev == ' ') return true;
  emit(c, out);
  prev = c;
  started = true;
  return false;
}

void SpaceCleaner::PunctuationPass::push(char c, std::string& out) {
  const bool punct = c == '?' || c == '!' || c == '.' || c == ',';
  if (s.started && s.prev == ' ' && punct) s.holding_space = false;
  s.emit(c, out);
  s.prev = c;
  s.started = true;
}

void SpaceCleaner::LoneQuotePass::push(char c, std::string& out) {
  if (quote_pending) {
    quote_pending = false;
    if (c == ' ') {
      // " ' ": the space before goes, the quote stays, this space is skipped and the byte
      // after it sees no space before it (llama.cpp overwrites it with NUL).
      s.holding_space = false;
      out.push_back('\'');
      s.prev = '\0';
      return;
    }
    s.emit('\'', out);
    s.prev = '\'';
  }
  quote_pending = s.hold_quote_or_emit(c, out);
}

void SpaceCleaner::LoneQuotePass::finish(std::string& out) {
  if (quote_pending) {  // a quote at the very end is kept with its space
    s.emit('\'', out);
    quote_pending = false;
  }
  s.release_space(out);
}

void SpaceCleaner::ContractionPass::resolve(bool drop_space, std::string& out) {
  quote_pending = false;
  if (drop_space) s.holding_space = false;
  s.emit('\'', out);
  s.prev = '\'';
  const std::string replay = std::move(lookahead);
  lookahead.clear();
  for (const char c : replay) push(c, out);
}

void SpaceCleaner::ContractionPass::push(char c, std::string& out) {
  if (quote_pending) {
    lookahead.push_back(c);
    const char x1 = lookahead[0];
    if (x1 == 's' || x1 == 'm') {
      resolve(true, out);
    } else if (x1 == 't' || x1 == 'd') {
      resolve(false, out);
    } else if (lookahead.size() == 2) {
      resolve(lookahead[1] == 'e' && (x1 == 'r' || x1 == 'v'), out);
    }
    return;
  }
  quote_pending = s.hold_quote_or_emit(c, out);
}

void SpaceCleaner::ContractionPass::finish(std::string& out) {
  // With fewer than the needed bytes after the quote, llama.cpp keeps the space.
  while (quote_pending) resolve(false, out);
  s.release_space(out);
}

void SpaceCleaner::push(char c, std::string& out) {
  stage1_.clear();
  punctuation_.push(c, stage1_);
  feed_later_passes(stage1_, out);
}

void SpaceCleaner::push(std::string_view bytes, std::string& out) {
  for (const char c : bytes) push(c, out);
}

void SpaceCleaner::feed_later_passes(const std::string& bytes, std::string& out) {
  stage2_.clear();
  for (const char c : bytes) lone_quote_.push(c, stage2_);
  for (const char c : stage2_) contraction_.push(c, out);
}

void SpaceCleaner::finish(std::string& out) {
  stage1_.clear();
  punctuation_.finish(stage1_);
  feed_later_passes(stage1_, out);
  stage2_.clear();
  lone_quote_.finish(stage2_);
  for (const char c : stage2_) contraction_.push(c, out);
  contraction_.finish(out);
}

}  // namespace alloy
