#include "context.h"

#include <algorithm>

#include "error.h"
#include "model_backend.h"

namespace alloy {


Context::Context(const Model& model, ContextParams params)
    : Context(model, std::move(params), build_metal_executor_factory()) {}

Context::Context(const Model& model, ContextParams params, MetalExecutorFactory metal_factory)
    : model_(model), params_(std::move(params)) {
  validate_eval_sizes(params_.n_ctx, params_.n_threads, params_.n_batch);
  params_.n_batch = std::min(params_.n_batch, params_.n_ctx);
  const HyperParams& hp = model.hparams();
  cache_ = std::make_unique<KvCache>(hp.n_layer, params_.n_ctx, hp.n_embd_kv(), params_.kv_type);
  EvaluatorConfig config;
  config.sizing.n_threads = params_.n_threads;
  config.sizing.max_tokens = params_.n_batch;
  config.sizing.max_kv = cache_->layer(0).capacity;
  config.sizing.wrong_block_scale_type = params_.faults.wrong_block_scale();
  config.kv_type = params_.kv_type;
  config.preference = params_.backend;
  config.metal_factory = std::move(metal_factory);
  evaluator_ = create_evaluator(model, config, params_.faults);
  logits_.reserve(static_cast<size_t>(hp.n_vocab));
}

Context::~Context() = default;

const std::vector<float>& Context::eval(const std::vector<int32_t>& tokens, bool all_logits) {
  if (tokens.empty()) throw Error(ErrorKind::invalid_argument, "eval needs at least one token");
  const int n_vocab = model_.hparams().n_vocab;
  for (const int32_t id : tokens) {
    if (id < 0 || id >= n_vocab) {
      throw Error(ErrorKind::invalid_argument, "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                                   std::to_string(n_vocab - 1) + ")");
    }
  }
  const int64_t end = static_cast<int64_t>(n_past()) + static_cast<int64_t>(tokens.size());
  if (end > n_ctx()) {
    throw Error(ErrorKind::prompt_too_long, "prompt past context: " + std::to_string(n_past()) + " evaluated + " +
                                                 std::to_string(tokens.size()) + " new tokens > n_ctx " +
                                                 std::to_string(n_ctx()));
  }
  const size_t rows = all_logits ? tokens.size() : 1;
  logits_.resize(rows * static_cast<size_t>(n_vocab));
  evaluator_.step->eval(*cache_, tokens.data(), static_cast<int>(tokens.size()), all_logits, logits_.data());
  return logits_;
}

void Context::keep_prefix(int n) { cache_->keep_prefix(n); }

}  // namespace alloy
