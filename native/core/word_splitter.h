// The scanners behind PreTokenizedText: cut a decoded text into words for one pre-tokenizer
// type, reproducing llama.cpp's unicode_regex_split stage by stage (its hand-written GPT-2 and
// llama3/qwen2 splitters, and the std::regex lists it runs over category-collapsed text).
#pragma once

#include <cstdint>
#include <vector>

#include "pretokenizer.h"
#include "unicode.h"

namespace alloy {

// codepoints and flags describe the text (same length). On entry `ends` holds the end of each
// chunk to split (normally just codepoints.size()); on return, the end (one past the last code
// point) of each word, in order. `scratch` is working storage; both keep their capacity.
void split_words(PreTokenizer type, const std::vector<uint32_t>& codepoints, const std::vector<CodepointFlags>& flags,
                 std::vector<uint32_t>& ends, std::vector<uint32_t>& scratch);

}  // namespace alloy
