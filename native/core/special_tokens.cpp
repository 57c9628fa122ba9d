// Derivation of special token ids, add_bos/add_eos, the end-of-generation set and per-token
// attributes, in the order llama.cpp's llama_vocab::impl::load applies its rules.
#include "special_tokens.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <string_view>

#include "error.h"

namespace alloy {

namespace {

constexpr int32_t kNoToken = -1;

// A view of a constant list of names.
class Names {
 public:
  template <size_t N>
  constexpr Names(const std::string_view (&names)[N]) : begin_(names), end_(names + N) {}  // NOLINT: implicit
  const std::string_view* begin() const { return begin_; }
  const std::string_view* end() const { return end_; }

 private:
  const std::string_view* begin_;
  const std::string_view* end_;
};

bool one_of(std::string_view value, Names names) {
  return std::find(names.begin(), names.end(), value) != names.end();
}

bool contains_any(std::string_view haystack, Names needles) {
  return std::any_of(needles.begin(), needles.end(),
                     [&](std::string_view n) { return haystack.find(n) != std::string_view::npos; });
}

// BPE pre-tokenizer names whose llama.cpp defaults differ from the plain BPE defaults
// (clean_spaces on, no BOS added, no whitespace escaping). Which pre-tokenizers exist at
// all is the BPE model's business (bpe.cpp); unknown names simply keep the defaults here.
constexpr std::string_view kPreKeepSpaces[] = {"deepseek-llm", "deepseek-coder", "deepseek-v3", "spark2_5",
    "youtu", "sarvam-moe", "command-r", "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "qwen35",
    "poro-chat", "viking", "tekken", "smollm", "chameleon", "gpt-4o", "llama4", "kanana2", "talkie",
    "granite-embed-multi-97m", "tiny_aya", "cohere2moe", "superbpe", "trillion", "granite-docling",
    "bailingmoe", "bailingmoe2", "llada-moe", "seed-coder", "hunyuan", "hunyuan-dense", "hy_v4", "joyai-llm",
    "kimi-k2", "ufakzeka", "grok-2", "afmoe", "laguna", "minimax-m2", "solar-open"};
constexpr std::string_view kPreAddBos[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
    "pixtral", "midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon"};
constexpr std::string_view kPreNoBos[] = {"glm4", "chatglm-bpe"};
constexpr std::string_view kPreGemma4[] = {"gemma4", "granite-embed-multi-311m"};
constexpr std::string_view kPreEscapeWhitespace[] = {"gemma4", "granite-embed-multi-311m", "sarvam-moe"};

// Texts llama.cpp recognises when the matching *_token_id key is absent.
constexpr std::string_view kEotTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
    "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "<end_of_utterance>"};
constexpr std::string_view kEomTexts[] = {"<|eom_id|>"};
constexpr std::string_view kFimPrefixTexts[] = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>",
    "<|prefix|>"};
constexpr std::string_view kFimSuffixTexts[] = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>",
    "<|suffix|>"};
constexpr std::string_view kFimMiddleTexts[] = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
    "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>",
    "<|middle|>"};
constexpr std::string_view kFimPadTexts[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
constexpr std::string_view kFimRepoTexts[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
    "<reponame>"};
constexpr std::string_view kFimSepTexts[] = {"<|file_sep|>"};
constexpr std::string_view kEogTexts[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>",
    "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81" "of\xe2\x96\x81" "sentence\xef\xbd\x9c>", "[e~["};

// Names that select llama.cpp's per-model lstrip/rstrip attribute rules.
constexpr std::string_view kLstripMaskPres[] = {"jina-v2-de", "jina-v2-es", "jina-v2-code"};
constexpr std::string_view kLstripMaskArchs[] = {"nomic-bert-moe", "jina-bert-v3"};
constexpr std::string_view kPhi3Names[] = {"phi-3", "phi3"};
constexpr std::string_view kModernBertNames[] = {"modern-bert"};

// gpt-oss: llama.cpp always renders these, whatever their type in the file.
constexpr std::string_view kAlwaysRenderedTexts[] = {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"};

uint32_t attr_from_type(TokenType type) {
  switch (type) {
    case TokenType::undefined: return 0;
    case TokenType::normal: return kAttrNormal;
    case TokenType::unknown: return kAttrUnknown;
    case TokenType::control: return kAttrControl;
    case TokenType::user_defined: return kAttrUserDefined;
    case TokenType::unused: return kAttrUnused;
    case TokenType::byte: return kAttrByte;
  }
  return 0;
}

// The ids llama.cpp tracks while loading that matter for tokenizing, decoding or
// end-of-generation (EOM is not exposed but joins the EOG set; SEP / MASK / CLS matter
// only to BERT-style vocabularies, which Alloy does not load).
struct Roles {
  int32_t bos = kNoToken, eos = kNoToken, eot = kNoToken, eom = kNoToken, unk = kNoToken, pad = kNoToken,
          fim_pre = kNoToken, fim_suf = kNoToken, fim_mid = kNoToken, fim_pad = kNoToken, fim_rep = kNoToken,
          fim_sep = kNoToken;
};

class SpecialTokenDeriver {
 public:
  SpecialTokenDeriver(const GgufFile& file, const Vocab& vocab, TokenizerModel model)
      : file_(file), vocab_(vocab), model_(model), pre_(file.get_string("tokenizer.ggml.pre").value_or("")) {}

  SpecialTokenSetup run() {
    apply_model_defaults();
    if (const auto v = file_.get_bool("tokenizer.ggml.add_space_prefix")) out_.text.add_space_prefix = *v;
    out_.attrs.resize(vocab_.texts.size());
    for (size_t i = 0; i < vocab_.types.size(); ++i) out_.attrs[i] = attr_from_type(vocab_.types[i]);
    read_id_keys();
    read_add_flags();
    detect_roles_by_text();
    build_eog_set();
    apply_name_rules();
    return finish();
  }

 private:
  void apply_model_defaults() {
    switch (model_) {
      case TokenizerModel::spm:
        roles_.bos = 1;
        roles_.eos = 2;
        roles_.unk = 0;
        out_.text = TextSettings{/*add_space_prefix=*/true, /*clean_spaces=*/false, /*escape_whitespaces=*/true};
        add_bos_ = true;
        break;
      case TokenizerModel::bpe:
        roles_.bos = 11;
        roles_.eos = 11;
        out_.text = TextSettings{/*add_space_prefix=*/false, /*clean_spaces=*/!one_of(pre_, kPreKeepSpaces),
                                 /*escape_whitespaces=*/one_of(pre_, kPreEscapeWhitespace)};
        add_bos_ = one_of(pre_, kPreAddBos);
        if (one_of(pre_, kPreNoBos)) roles_.bos = kNoToken;
        break;
    }
  }

  // A key overrides the default only when it names a token inside the vocabulary; a
  // default outside the vocabulary is dropped first. Any non-negative integer type is
  // accepted (llama.cpp wants UINT32 and refuses to load other types).
  void read_id_keys() {
    const std::pair<std::string_view, int32_t*> keys[] = {
        {"tokenizer.ggml.bos_token_id", &roles_.bos},
        {"tokenizer.ggml.eos_token_id", &roles_.eos},
        {"tokenizer.ggml.eot_token_id", &roles_.eot},
        {"tokenizer.ggml.eom_token_id", &roles_.eom},
        {"tokenizer.ggml.unknown_token_id", &roles_.unk},
        {"tokenizer.ggml.padding_token_id", &roles_.pad},
        {"tokenizer.ggml.fim_pre_token_id", &roles_.fim_pre},
        {"tokenizer.ggml.fim_suf_token_id", &roles_.fim_suf},
        {"tokenizer.ggml.fim_mid_token_id", &roles_.fim_mid},
        {"tokenizer.ggml.fim_pad_token_id", &roles_.fim_pad},
        {"tokenizer.ggml.fim_rep_token_id", &roles_.fim_rep},
        {"tokenizer.ggml.fim_sep_token_id", &roles_.fim_sep},
        {"tokenizer.ggml.prefix_token_id", &roles_.fim_pre},  // deprecated spellings
        {"tokenizer.ggml.suffix_token_id", &roles_.fim_suf},
        {"tokenizer.ggml.middle_token_id", &roles_.fim_mid},
    };
    const uint64_t n_vocab = vocab_.texts.size();
    for (const auto& [key, slot] : keys) {
      if (*slot >= 0 && static_cast<uint64_t>(*slot) >= n_vocab) *slot = kNoToken;
      const std::optional<uint64_t> id = file_.get_uint(key);
      if (id && *id < n_vocab) *slot = static_cast<int32_t>(*id);
    }
  }

  void read_add_flags() {
    if (const auto v = file_.get_bool("tokenizer.ggml.add_bos_token")) add_bos_ = *v;
    if (const auto v = file_.get_bool("tokenizer.ggml.add_eos_token")) add_eos_ = *v;
    if (one_of(pre_, kPreGemma4)) add_bos_ = true;
  }

  void mark_control(int32_t id) { out_.attrs[static_cast<size_t>(id)] |= kAttrControl; }

  // Iterates the text index in llama.cpp's map order (see vocab.h): when several texts fit
  // one role, the first one visited wins, as in llama.cpp.
  void detect_roles_by_text() {
    const std::pair<int32_t*, Names> roles[] = {
        {&roles_.eot, kEotTexts},           {&roles_.eom, kEomTexts},
        {&roles_.fim_pre, kFimPrefixTexts}, {&roles_.fim_suf, kFimSuffixTexts},
        {&roles_.fim_mid, kFimMiddleTexts}, {&roles_.fim_pad, kFimPadTexts},
        {&roles_.fim_rep, kFimRepoTexts},   {&roles_.fim_sep, kFimSepTexts},
    };
    for (const auto& [text, id] : vocab_.text_to_id) {
      for (const auto& [slot, texts] : roles) {
        if (*slot == kNoToken && one_of(text, texts)) {
          *slot = id;
          mark_control(id);
        }
      }
    }
  }

  void build_eog_set() {
    for (const int32_t id : {roles_.fim_pad, roles_.fim_rep, roles_.fim_sep}) {
      if (id != kNoToken) eog_.insert(id);
    }
    for (const auto& [text, id] : vocab_.text_to_id) {
      if (one_of(text, kEogTexts)) {
        eog_.insert(id);
        mark_control(id);
      }
    }
    for (const auto& [text, id] : vocab_.text_to_id) {
      if (one_of(text, kAlwaysRenderedTexts)) out_.attrs[static_cast<size_t>(id)] = kAttrUserDefined;
    }
    for (const int32_t id : {roles_.eos, roles_.eot, roles_.eom}) {
      if (id != kNoToken) eog_.insert(id);
    }
    drop_harmony_end_token();
    drop_gemma4_end_of_sentence();
  }

  std::optional<int32_t> eog_with_text(std::string_view text) const {
    for (const int32_t id : eog_) {
      if (vocab_.texts[static_cast<size_t>(id)] == text) return id;
    }
    return std::nullopt;
  }

  // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
  void drop_harmony_end_token() {
    const bool has_return = eog_with_text("<|return|>").has_value();
    const bool has_call = eog_with_text("<|call|>") || eog_with_text("<|calls|>");
    const bool has_flush = eog_with_text("<|flush|>").has_value();
    const std::optional<int32_t> end = eog_with_text("<|end|>");
    if (end && ((has_return && has_call) || (has_call && has_flush))) {
      eog_.erase(*end);
      out_.attrs[static_cast<size_t>(*end)] = kAttrUserDefined;
    }
  }

  // gemma4 / paddleocr: "</s>" is an ordinary token when "<|tool_response>" exists.
  void drop_gemma4_end_of_sentence() {
    const std::optional<int32_t> s = eog_with_text("</s>");
    if (s && eog_with_text("<|tool_response>")) {
      eog_.erase(*s);
      out_.attrs[static_cast<size_t>(*s)] = kAttrNormal;
    }
  }

  int32_t require_id(std::string_view text) const {
    const std::optional<int32_t> id = vocab_.find(text);
    if (!id) {
      throw Error(ErrorKind::invalid_metadata,
                  "vocabulary named like phi-3 lacks the token '" + std::string(text) + "' llama.cpp requires");
    }
    return *id;
  }

  void set_attr(int32_t id, uint32_t bit, bool on) {
    uint32_t& attr = out_.attrs[static_cast<size_t>(id)];
    attr = on ? (attr | bit) : (attr & ~bit);
  }

  // Per-model lstrip/rstrip attributes llama.cpp sets by general.name / pre / architecture.
  void apply_name_rules() {
    std::string name(file_.get_string("general.name").value_or(""));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    const std::string_view arch = file_.get_string("general.architecture").value_or("");
    if (contains_any(pre_, kLstripMaskPres) || contains_any(arch, kLstripMaskArchs)) {
      if (const auto mask = vocab_.find("<mask>")) set_attr(*mask, kAttrLstrip, true);
    } else if (contains_any(name, kPhi3Names)) {
      for (size_t id = 0; id < out_.attrs.size(); ++id) {
        if (out_.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
          set_attr(static_cast<int32_t>(id), kAttrRstrip, true);
        }
      }
      set_attr(require_id("</s>"), kAttrRstrip, true);
      for (const std::string_view text : {"<unk>", "<s>", "<|endoftext|>"}) {
        set_attr(require_id(text), kAttrRstrip, false);
      }
    } else if (contains_any(name, kModernBertNames)) {
      if (const auto mask = vocab_.find("[MASK]")) set_attr(*mask, kAttrLstrip, true);
    }
  }

  SpecialTokenSetup finish() {
    SpecialTokens& s = out_.special;
    s.bos = roles_.bos;
    s.eos = roles_.eos;
    s.eot = roles_.eot;
    s.pad = roles_.pad;
    s.unk = roles_.unk;
    s.fim_prefix = roles_.fim_pre;
    s.fim_suffix = roles_.fim_suf;
    s.fim_middle = roles_.fim_mid;
    s.fim_pad = roles_.fim_pad;
    s.fim_repo = roles_.fim_rep;
    s.fim_sep = roles_.fim_sep;
    s.add_bos = add_bos_;
    s.add_eos = add_eos_;
    s.eog.assign(eog_.begin(), eog_.end());
    return std::move(out_);
  }

  const GgufFile& file_;
  const Vocab& vocab_;
  TokenizerModel model_;
  std::string_view pre_;
  Roles roles_;
  bool add_bos_ = false;
  bool add_eos_ = false;
  std::set<int32_t> eog_;
  SpecialTokenSetup out_;
};

}  // namespace

SpecialTokenSetup derive_special_tokens(const GgufFile& file, const Vocab& vocab, TokenizerModel model) {
  return SpecialTokenDeriver(file, vocab, model).run();
}

}  // namespace alloy
