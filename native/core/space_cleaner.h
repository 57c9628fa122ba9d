// llama.cpp's clean_up_tokenization_spaces, applied by llama_detokenize to BPE vocabularies
// that ask for it, as a streaming filter: bytes go in one at a time and come out as soon
// as no later byte can change them. Three passes, chained in llama.cpp's order:
//   1. " ?", " !", " .", " ,"        -> drop the space
//   2. " ' " (quote between spaces)  -> drop both spaces; the byte after the dropped
//                                       second space never sees a space before it
//   3. " 's", " 'm", " 're", " 've"  -> drop the space (" 't", " 'd", " 'll" keep it)
// Each pass only ever removes the byte it emitted last, and only a space, so a pass holds
// back a trailing space (and, in passes 2 and 3, a quote whose fate depends on the next
// one or two bytes) until it knows.
#pragma once

#include <string>
#include <string_view>

namespace alloy {

class SpaceCleaner {
 public:
  void push(char c, std::string& out);
  void push(std::string_view bytes, std::string& out);
  // End of text: releases everything held back.
  void finish(std::string& out);

 private:
  // State shared by the three passes: the byte before the current one as the pass sees it,
  // and whether the pass's last output byte is a space it is still holding back.
  struct PassState {
    bool started = false;
    char prev = 0;
    bool holding_space = false;
    void release_space(std::string& out);
    void emit(char c, std::string& out);  // writes c, holding it back if it is a space
    // Passes 2 and 3: a quote right after a space is held (returns true); any other byte
    // is emitted and becomes `prev`.
    bool hold_quote_or_emit(char c, std::string& out);
  };

  struct PunctuationPass {
    PassState s;
    void push(char c, std::string& out);
    void finish(std::string& out) { s.release_space(out); }
  };

  struct LoneQuotePass {
    PassState s;
    bool quote_pending = false;  // saw " '", the next byte decides
    void push(char c, std::string& out);
    void finish(std::string& out);
  };

  struct ContractionPass {
    PassState s;
    bool quote_pending = false;  // saw " '", up to two more bytes decide
    std::string lookahead;
    void push(char c, std::string& out);
    void finish(std::string& out);
    void resolve(bool drop_space, std::string& out);
  };

  void feed_later_passes(const std::string& bytes, std::string& out);

  PunctuationPass punctuation_;
  LoneQuotePass lone_quote_;
  ContractionPass contraction_;
  std::string stage1_, stage2_;
};

}  // namespace alloy
