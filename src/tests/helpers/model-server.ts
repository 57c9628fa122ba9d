// A real HTTP server on 127.0.0.1 that serves one file the way Hugging Face does, for the
// download tests: `/resolve/NAME` answers 302 to `/cdn/NAME` with the file's SHA-256 and size in
// X-Linked-Etag / X-Linked-Size, and `/cdn/NAME` serves the bytes with an ETag and HTTP Range
// support (206 + Content-Range). Faults on request: drop the connection after some bytes
// (once), send slowly, publish a wrong SHA-256, redirect to a plain-HTTP foreign host.
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServerFaults {
  /** The next body response destroys its socket after this many bytes (then the fault clears). */
  dropAfterBytes?: number | undefined;
  /** Bytes per 10 ms tick (default: all at once). */
  throttleBytesPerTick?: number;
  /** Publish this SHA-256 instead of the file's. */
  publishedSha256?: string;
  /** /resolve/ redirects to this URL instead. */
  redirectTo?: string;
}

export interface ServedRequest {
  path: string;
  range?: string;
  ifRange?: string;
}

export class ModelServer {
  readonly requests: ServedRequest[] = [];
  faults: ServerFaults = {};
  readonly sha256: string;
  private readonly server: http.Server;
  private readonly etag: string;

  constructor(
    private readonly name: string,
    private readonly bytes: Buffer,
  ) {
    this.sha256 = createHash('sha256').update(bytes).digest('hex');
    this.etag = `"${this.sha256.slice(0, 16)}"`;
    this.server = http.createServer((req, res) => this.handle(req, res));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The URL a catalogue entry would name. */
  get resolveUrl(): string {
    return `${this.origin}/resolve/${this.name}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'] as string | undefined;
    this.requests.push({ path: req.url ?? '', ...(range ? { range } : {}), ...(ifRange ? { ifRange } : {}) });
    if (req.url === `/resolve/${this.name}`) {
      res.writeHead(302, {
        Location: this.faults.redirectTo ?? `/cdn/${this.name}`,
        'X-Linked-Etag': `"${this.faults.publishedSha256 ?? this.sha256}"`,
        'X-Linked-Size': String(this.bytes.length),
      });
      res.end();
      return;
    }
    if (req.url !== `/cdn/${this.name}`) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(range ?? '');
    if (m && (ifRange === undefined || ifRange === this.etag)) {
      start = Number(m[1]);
      if (start >= this.bytes.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${this.bytes.length}` }).end();
        return;
      }
      res.writeHead(206, {
        'Content-Length': String(this.bytes.length - start),
        'Content-Range': `bytes ${start}-${this.bytes.length - 1}/${this.bytes.length}`,
        ETag: this.etag,
      });
    } else {
      res.writeHead(200, { 'Content-Length': String(this.bytes.length), ETag: this.etag, 'Accept-Ranges': 'bytes' });
    }
    this.send(res, this.bytes.subarray(start));
  }

  private send(res: http.ServerResponse, body: Buffer): void {
    const drop = this.faults.dropAfterBytes;
    if (drop !== undefined) this.faults = { ...this.faults, dropAfterBytes: undefined };
    const limit = drop ?? body.length;
    const tick = this.faults.throttleBytesPerTick ?? body.length;
    let sent = 0;
    const step = (): void => {
      if (res.destroyed) return;
      const end = Math.min(sent + tick, limit, body.length);
      res.write(body.subarray(sent, end));
      sent = end;
      if (sent >= body.length) {
        res.end();
      } else if (sent >= limit) {
        // Flush what was written, then cut the connection mid-body.
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        setTimeout(step, tick === body.length ? 0 : 10);
      }
    };
    step();
  }
}
