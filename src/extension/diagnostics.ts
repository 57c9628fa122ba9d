// The diagnostics report (command "Alloy: Show Diagnostics"): what is gathered and how it reads,
// as plain data and Markdown, no vscode import. The command shows it as a document with a
// Copy Report button, for bug reports.
import { describeBackend } from '../engine/backend-report';
import type { BackendReport, InitializeResult, ModelInfo, StatsResult } from '../engine/protocol';
import { LATENCY_BUCKETS_MS, type ErrorRecord, type RequestSummary } from './request-log';

export type EngineStatus =
  | { ok: true; protocolVersion: number; engineVersion: string; cpuFeatures: string[]; pid: number }
  | { ok: false; error: string };

export interface DiagnosticsModel {
  path: string;
  arch: string;
  contextSize: number;
  threads: number;
  /** Tensor count per ggml type. */
  tensorTypes: Record<string, number>;
  fim: boolean;
  chatTemplate: boolean;
  fileSizeBytes: number;
  loadMs: number;
  demo: boolean;
}

export interface DiagnosticsMemory {
  engineRssBytes: number;
  kvBytesInUse: number;
  kvBudgetBytes: number;
}

export interface Diagnostics {
  extensionVersion: string;
  platform: string;
  arch: string;
  engine: EngineStatus;
  /** The loaded model (absent without one). */
  model?: DiagnosticsModel;
  /** The loaded model's backend (absent without a model). */
  backend?: BackendReport;
  memory?: DiagnosticsMemory;
  requests: RequestSummary;
  recentErrors: readonly ErrorRecord[];
}

export function engineStatusFromInitialize(init: InitializeResult): EngineStatus {
  return { ok: true, protocolVersion: init.protocolVersion, engineVersion: init.engineVersion, cpuFeatures: init.simd, pid: init.pid };
}

export function diagnosticsModel(info: ModelInfo, demo: boolean): DiagnosticsModel {
  return {
    path: info.path,
    arch: info.arch,
    contextSize: info.contextSize,
    threads: info.threads,
    tensorTypes: info.tensorTypes,
    fim: info.fim !== null,
    chatTemplate: info.hasChatTemplate,
    fileSizeBytes: info.fileSizeBytes,
    loadMs: info.loadMs,
    demo,
  };
}

export function diagnosticsMemory(stats: StatsResult): DiagnosticsMemory {
  return { engineRssBytes: stats.rssBytes, kvBytesInUse: stats.engine?.kvBytesInUse ?? 0, kvBudgetBytes: stats.engine?.kvBudgetBytes ?? 0 };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function histogramLine(s: RequestSummary): string {
  const labels = LATENCY_BUCKETS_MS.map((b) => `<${b}`).concat(`>=${LATENCY_BUCKETS_MS.at(-1) ?? 0}`);
  return labels.map((l, i) => `${l} ms: ${s.histogram[i] ?? 0}`).join(' · ');
}

function modelLines(m: DiagnosticsModel | undefined): string[] {
  if (!m) return ['- none loaded'];
  const types = Object.entries(m.tensorTypes)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} ×${n}`)
    .join(', ');
  return [
    `- ${m.path}${m.demo ? " (the demo model: children's stories, not code)" : ''}`,
    `- architecture ${m.arch}, ${mib(m.fileSizeBytes)}, loaded in ${Math.round(m.loadMs)} ms`,
    `- tensor types: ${types}`,
    `- context ${m.contextSize} positions per request, ${m.threads} threads`,
    `- fill-in-the-middle: ${m.fim ? 'yes' : 'no (completes from the text before the cursor)'}; chat template: ${m.chatTemplate ? 'yes' : 'no (ChatML is used)'}`,
  ];
}

export function formatDiagnostics(d: Diagnostics): string {
  const engine = d.engine.ok
    ? `engine ${d.engine.engineVersion} (protocol ${d.engine.protocolVersion}, pid ${d.engine.pid}), CPU features: ${d.engine.cpuFeatures.join(', ') || 'none'}`
    : `engine not available: ${d.engine.error}`;
  const r = d.requests;
  const ms = (v: number | null): string => (v === null ? '–' : `${Math.round(v)} ms`);
  const lines = [
    '# Alloy diagnostics',
    '',
    `- Alloy ${d.extensionVersion} on ${d.platform}-${d.arch}`,
    `- ${engine}`,
    `- ${d.backend ? describeBackend(d.backend) : 'backend: chosen when a model loads'}`,
    '',
    '## Model',
    ...modelLines(d.model),
    '',
    '## Memory',
    d.memory
      ? `- engine process ${mib(d.memory.engineRssBytes)} resident; KV cache ${mib(d.memory.kvBytesInUse)} in use of a ${mib(d.memory.kvBudgetBytes)} budget`
      : '- engine not running',
    '',
    `## Recent completions (${r.count})`,
    `- latency p50 ${ms(r.p50Ms)}, p95 ${ms(r.p95Ms)}; ${histogramLine(r)}`,
    `- decode speed ${r.meanTokensPerSecond === null ? '–' : `${r.meanTokensPerSecond.toFixed(1)} tokens/s`}; prefix reuse ${r.prefixReuseRate === null ? '–' : `${(100 * r.prefixReuseRate).toFixed(0)}% of prompt tokens`}`,
    '',
    '## Recent errors',
    ...(d.recentErrors.length === 0 ? ['- none'] : d.recentErrors.map((e) => `- ${e.at} ${e.message}`)),
  ];
  return lines.join('\n');
}
