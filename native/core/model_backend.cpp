#include "model_backend.h"

#include <string>

#include "backend/cpu/cpu_backend.h"
#include "error.h"

namespace alloy {

void validate_eval_sizes(int n_ctx, int n_threads, int n_batch) {
  if (n_ctx < 1) throw Error(ErrorKind::invalid_argument, "n_ctx must be at least 1 (got " + std::to_string(n_ctx) + ")");
  if (n_threads < 1 || n_threads > kMaxThreads) {
    throw Error(ErrorKind::invalid_argument, "threads must be between 1 and " + std::to_string(kMaxThreads) +
                                                 " (got " + std::to_string(n_threads) + ")");
  }
  if (n_batch < 1) throw Error(ErrorKind::invalid_argument, "n_batch must be at least 1 (got " + std::to_string(n_batch) + ")");
}

std::unique_ptr<Backend> create_backend(const Model& model, const BackendSizing& sizing) {
  const HyperParams& hp = model.hparams();
  cpu::CpuBackendConfig config;
  config.n_threads = sizing.n_threads;
  config.max_tokens = sizing.max_tokens;
  config.max_kv = sizing.max_kv;
  config.max_heads = hp.n_head;
  config.max_head_dim = hp.head_dim;
  config.wrong_block_scale_type = sizing.wrong_block_scale_type;
  auto backend = std::make_unique<cpu::CpuBackend>(config, model.matrices());
  // Repacked weights are read from their copy; the mapped originals can leave memory (the
  // embedding lookup of a tied output matrix maps its few rows back on demand).
  for (const ByteSpan& source : backend->packed_sources()) model.file().drop_resident(source);
  return backend;
}

}  // namespace alloy
