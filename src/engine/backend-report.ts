// One line that says which backend runs the model and, when Metal was allowed but is not in
// use, why: what the engine host logs at load and the diagnostics report shows.
import type { BackendReport } from './native';

export function describeBackend(b: BackendReport): string {
  switch (b.kind) {
    case 'metal': {
      const memory = b.unifiedMemory ? 'unified memory' : 'discrete memory';
      return `backend: Metal on ${b.device} (${memory}, ${b.dispatchesPerToken} dispatches per token)`;
    }
    case 'cpu': {
      const cpu = `backend: CPU (${b.device || 'scalar'} kernels)`;
      if (b.preference === 'cpu') return `${cpu}, as the alloy.backend setting asks`;
      return b.fallbackReason ? `${cpu}; Metal not used: ${b.fallbackReason}` : cpu;
    }
  }
}
