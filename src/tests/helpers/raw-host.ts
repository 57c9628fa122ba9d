// Drives the built engine host (dist/engine-host.js) at the byte level: writes any frame,
// well-formed or not, and records every message the host writes, in order (responses and
// notifications), read with vscode-jsonrpc's own reader as an independent check of framing.
import { spawn, type ChildProcess } from 'node:child_process';

import { StreamMessageReader } from 'vscode-jsonrpc/node';

import { engineHostPath } from './paths';

export interface WireError {
  code: number;
  message: string;
  data?: { kind: string };
}

export interface WireMessage {
  jsonrpc: string;
  id?: string | number | null;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: WireError;
}

export function frame(body: string): string {
  return `Content-Length: ${Buffer.byteLength(body, 'utf8')}\r\n\r\n${body}`;
}

export class RawHost {
  readonly child: ChildProcess;
  /** Everything the host wrote, in order. */
  readonly received: WireMessage[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private nextId = 1000;
  private listeners: Array<() => void> = [];

  constructor(env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [engineHostPath], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (text: string) => this.stderr.push(text));
    this.child.stdin?.on('error', () => undefined);
    if (!this.child.stdout) throw new Error('no stdout');
    new StreamMessageReader(this.child.stdout).listen((message) => {
      this.received.push(message as WireMessage);
      for (const listener of [...this.listeners]) listener();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Raw bytes, exactly as given. */
  write(raw: string): void {
    this.child.stdin?.write(raw);
  }

  /** One framed message (an object is JSON-encoded; a string is sent as the body as is). */
  send(message: object | string): void {
    this.write(frame(typeof message === 'string' ? message : JSON.stringify(message)));
  }

  /** Sends a request and waits for the message answering it. */
  async request(method: string, params?: unknown): Promise<WireMessage> {
    const id = this.nextId++;
    this.send(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params });
    return this.waitFor((m) => m.id === id && m.method === undefined);
  }

  /** A request that must succeed: its result. */
  async call<T>(method: string, params?: unknown): Promise<T> {
    const answer = await this.request(method, params);
    if (answer.error) throw new Error(`${method} failed: ${answer.error.data?.kind ?? answer.error.code}: ${answer.error.message}`);
    return answer.result as T;
  }

  /** A request that must fail: its error. */
  async fail(method: string, params?: unknown): Promise<WireError> {
    const answer = await this.request(method, params);
    if (!answer.error) throw new Error(`${method} succeeded but should have failed: ${JSON.stringify(answer.result)}`);
    return answer.error;
  }

  /** The first message (already received or still to come) that matches. */
  waitFor(match: (message: WireMessage) => boolean, timeoutMs = 60_000): Promise<WireMessage> {
    const found = this.received.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners = this.listeners.filter((l) => l !== check);
        reject(new Error(`no matching message from the engine host within ${timeoutMs} ms; stderr: ${this.stderr.join('')}`));
      }, timeoutMs);
      const check = () => {
        const hit = this.received.find(match);
        if (!hit) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve(hit);
      };
      this.listeners.push(check);
    });
  }

  /** `tokens` notifications of one request, in arrival order. */
  tokens(requestId: string): Array<{ text: string; ids: number[]; index: number }> {
    return this.received
      .filter((m) => m.method === 'tokens' && (m.params as { requestId: string }).requestId === requestId)
      .map((m) => m.params as { text: string; ids: number[]; index: number });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}
