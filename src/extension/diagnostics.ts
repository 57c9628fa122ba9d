// The diagnostics report (command "Alloy: Show Diagnostics"): pure formatting, no vscode.
import type { InitializeResult } from '../engine/protocol';

export type EngineStatus =
  | { ok: true; protocolVersion: number; engineVersion: string; cpuFeatures: string[]; pid: number }
  | { ok: false; error: string };

export interface Diagnostics {
  extensionVersion: string;
  platform: string;
  arch: string;
  engine: EngineStatus;
}

export function engineStatusFromInitialize(init: InitializeResult): EngineStatus {
  return { ok: true, protocolVersion: init.protocolVersion, engineVersion: init.engineVersion, cpuFeatures: init.simd, pid: init.pid };
}

export function formatDiagnostics(d: Diagnostics): string {
  const engine = d.engine.ok
    ? `engine ${d.engine.engineVersion} (protocol ${d.engine.protocolVersion}), CPU features: ${d.engine.cpuFeatures.join(', ') || 'none'}`
    : `engine not available: ${d.engine.error}`;
  return [`Alloy ${d.extensionVersion} on ${d.platform}-${d.arch}`, engine].join('\n');
}
