// The backend line of the engine host's log and of the diagnostics report.
import { describe, expect, it } from 'vitest';

import { describeBackend } from '../../engine/backend-report';
import type { BackendReport } from '../../engine/native';

const cpu: BackendReport = { preference: 'auto', kind: 'cpu', device: 'avx2', unifiedMemory: false, dispatchesPerToken: 0, fallbackReason: '' };

describe('describeBackend', () => {
  it('names the GPU, its memory and the dispatches per token on Metal', () => {
    const metal: BackendReport = { ...cpu, kind: 'metal', device: 'Apple M2 Pro', unifiedMemory: true, dispatchesPerToken: 146 };
    expect(describeBackend(metal)).toBe('backend: Metal on Apple M2 Pro (unified memory, 146 dispatches per token)');
  });

  it('says why the CPU runs when Metal was allowed, and that the setting asked for it otherwise', () => {
    expect(describeBackend({ ...cpu, fallbackReason: 'no usable Metal GPU: none found' })).toBe(
      'backend: CPU (avx2 kernels); Metal not used: no usable Metal GPU: none found',
    );
    expect(describeBackend({ ...cpu, preference: 'cpu' })).toBe('backend: CPU (avx2 kernels), as the alloy.backend setting asks');
    expect(describeBackend(cpu)).toBe('backend: CPU (avx2 kernels)');
  });
});
