// Reads Content-Length framed JSON-RPC messages from the engine host's stdin, like
// vscode-jsonrpc's StreamMessageReader, but survives bad input. The library's reader, on a
// body that is not JSON, only fires onError (the connection answers nothing), and on a
// header block without Content-Length it stops parsing until more data arrives and then
// reads the stranded body as headers, losing the frames after it. Here every problem is
// reported through `onProblem` (the host answers it with a JSON-RPC error, id null unless
// the message had a usable id) and parsing goes on:
// - a header block without a usable Content-Length is dropped; a bare JSON line (a client
//   that does not frame) is dropped at its newline;
// - junk before a header (e.g. the rest of a frame whose Content-Length was too large) is
//   skipped up to the last `Content-Length:` in the block, which resynchronizes the stream;
// - a body that is not JSON is a parse_error; JSON that is not a JSON-RPC 2.0 message
//   (array/batch, primitive, missing or wrong fields) is an invalid_request.
import type { Readable } from 'node:stream';

import { AbstractMessageReader, type DataCallback, type Disposable, type Message, type MessageReader } from 'vscode-jsonrpc/node';

export interface FrameProblem {
  kind: 'parse_error' | 'invalid_request';
  message: string;
  /** The id to answer with: the message's own when it had a usable one, else null. */
  id: string | number | null;
}

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** A header block longer than this is junk. */
const MAX_HEADER_BYTES = 64 * 1024;
/** Frames above this are refused (the protocol's largest params are a few MiB of prompt). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
const HEADER_LINE = /^[A-Za-z0-9-]+[ \t]*:.*$/;
const CONTENT_LENGTH = /content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$/gim;

export class ResilientMessageReader extends AbstractMessageReader implements MessageReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Length of the body being awaited, or -1 while reading a header block. */
  private bodyLength = -1;
  private callback: DataCallback | undefined;

  constructor(
    private readonly readable: Readable,
    private readonly onProblem: (problem: FrameProblem) => void,
  ) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (data: Buffer) => this.onData(data);
    const onEnd = () => this.fireClose();
    const onError = (error: Error) => this.fireError(error);
    this.readable.on('data', onData);
    this.readable.on('end', onEnd);
    this.readable.on('close', onEnd);
    this.readable.on('error', onError);
    return {
      dispose: () => {
        this.readable.off('data', onData);
        this.readable.off('end', onEnd);
        this.readable.off('close', onEnd);
        this.readable.off('error', onError);
      },
    };
  }

  private onData(data: Buffer): void {
    this.chunks.push(data);
    this.size += data.length;
    for (;;) {
      if (this.bodyLength < 0) {
        if (!this.readHeader()) return;
        continue;
      }
      if (this.size < this.bodyLength) return;
      const body = this.take(this.bodyLength);
      this.bodyLength = -1;
      this.deliver(body);
    }
  }

  /** Consumes one header block; false when none is complete yet. */
  private readHeader(): boolean {
    const buffer = this.flatten();
    const end = buffer.indexOf(HEADER_END);
    if (end < 0) {
      const newline = buffer.indexOf(0x0a);
      if (newline >= 0 && /^\s*[[{]/.test(buffer.subarray(0, Math.min(newline, 16)).toString('latin1'))) {
        // A header block never starts with JSON: a newline-delimited message without framing.
        this.take(newline + 1);
        this.problem('parse_error', "a JSON line without a header was dropped: frame each message as 'Content-Length: N\\r\\n\\r\\n' + N bytes of JSON");
        return true;
      }
      if (buffer.length > MAX_HEADER_BYTES) {
        this.take(buffer.length - (HEADER_END.length - 1));
        this.problem('parse_error', `skipped ${MAX_HEADER_BYTES}+ bytes without a message header (expected 'Content-Length: N\\r\\n\\r\\n' before each JSON body)`);
      }
      return false;
    }
    const block = this.take(end + HEADER_END.length).subarray(0, end).toString('latin1');
    const lengths = [...block.matchAll(CONTENT_LENGTH)];
    const last = lengths[lengths.length - 1];
    if (last === undefined) {
      this.problem('parse_error', `a message header without Content-Length was dropped: ${JSON.stringify(block.slice(0, 200))}`);
      return true;
    }
    const length = Number(last[1]);
    if (!Number.isSafeInteger(length) || length > MAX_FRAME_BYTES) {
      this.problem('parse_error', `a message of ${last[1]} bytes is over the ${MAX_FRAME_BYTES}-byte limit; its header was dropped`);
      return true;
    }
    const startsLine = last.index === 0 || block[last.index - 1] === '\n';
    if (!startsLine || !block.split('\r\n').every((line) => HEADER_LINE.test(line))) {
      this.problem('parse_error', `skipped bytes that were not a message header before ${JSON.stringify(last[0].trim())}`);
    }
    this.bodyLength = length;
    return true;
  }

  private deliver(body: Buffer): void {
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (e) {
      this.problem('parse_error', `a message body is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
      return;
    }
    const problem = checkMessage(value);
    if (problem) this.onProblem(problem);
    else this.callback?.(value as Message);
  }

  private problem(kind: FrameProblem['kind'], message: string): void {
    this.onProblem({ kind, message, id: null });
  }

  /** Joins the buffered chunks into one (only header blocks are searched, so this stays small). */
  private flatten(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Removes and returns the first n buffered bytes. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    const source = first !== undefined && first.length >= n ? first : this.flatten();
    const rest = source.subarray(n);
    if (rest.length > 0) this.chunks[0] = rest;
    else this.chunks.shift();
    this.size -= n;
    return source.subarray(0, n);
  }
}

function invalid(message: string, id: unknown): FrameProblem {
  return { kind: 'invalid_request', message, id: typeof id === 'string' || typeof id === 'number' ? id : null };
}

/** Null for a JSON-RPC 2.0 request, notification or response; otherwise why not. */
export function checkMessage(value: unknown): FrameProblem | null {
  if (Array.isArray(value)) return invalid('batches (JSON arrays) are not supported: send one message per frame', null);
  if (typeof value !== 'object' || value === null) return invalid(`a JSON-RPC message must be an object, got ${value === null ? 'null' : typeof value}`, null);
  const m = value as Record<string, unknown>;
  const id = m['id'];
  if (m['jsonrpc'] !== '2.0') return invalid(`"jsonrpc" must be "2.0", got ${JSON.stringify(m['jsonrpc']) ?? 'nothing'}`, id);
  if ('method' in m) {
    if (typeof m['method'] !== 'string') return invalid(`"method" must be a string, got ${typeof m['method']}`, id);
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') return invalid(`"id" must be a string or a number, got ${id === null ? 'null' : typeof id}`, null);
    return null;
  }
  const isResponse = (m['result'] !== undefined || (typeof m['error'] === 'object' && m['error'] !== null)) && (typeof id === 'string' || typeof id === 'number' || id === null);
  return isResponse ? null : invalid('the message is neither a request, a notification nor a response (no "method", "result" or "error")', id);
}
