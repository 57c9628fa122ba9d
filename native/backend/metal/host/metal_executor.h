// The PlanExecutor of macOS arm64 builds: runs plans on the GPU through the Metal host
// (metal_host.h). Compiled on every platform (it is plain C++ over the host's C interface) but
// linked and run only where the host exists (ALLOY_HAS_METAL_HOST).
#pragma once

#include <memory>
#include <vector>

#include "backend/metal/plan/plan_executor.h"
#include "core/model.h"

namespace alloy::metal {

// Opens the default GPU, compiles the embedded kernels the plans use, wraps the model's mapped
// file and allocates every scratch buffer at the largest size the plans need. Throws
// Error(backend_unavailable) with Metal's reason when any of that fails or the model and its
// buffers exceed the GPU's recommended working set.
std::unique_ptr<PlanExecutor> create_host_executor(const Model& model, const std::vector<Plan>& plans);

}  // namespace alloy::metal
