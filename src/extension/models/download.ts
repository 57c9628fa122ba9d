// Downloads a model file into the models folder, with no VS Code import: progress (bytes, speed,
// time left), cancellation, resume of a partial file with an HTTP Range request (automatically
// after a dropped connection, a few times, and on the next call after a cancel), the SHA-256
// checked against the published one, and the free disk space checked before the body is read.
// The file appears under its final name only when complete and verified; a failed or partial
// download never replaces a good file.
import type { Hash } from 'node:crypto';
import * as fs from 'node:fs';

import { DownloadError } from './download-error';
import { freeBytes, hashOfPart, partFiles, pathInFolder, readPartRecord, removePart, safeModelFileName, writePartRecord, type PartFiles, type PartRecord } from './download-files';
import { openDownload } from './http-open';

export { DownloadError, type DownloadErrorKind } from './download-error';

export interface DownloadProgress {
  receivedBytes: number;
  /** null while the server has not said. */
  totalBytes: number | null;
  bytesPerSecond: number;
  /** null while the total or the speed is unknown. */
  secondsLeft: number | null;
  /** Bytes that were already on disk from an earlier attempt. */
  resumedFrom: number;
}

export interface DownloadRequest {
  url: string;
  /** The models folder (created when missing). */
  folder: string;
  /** The file name (sanitised; default: the URL's last path segment). */
  fileName?: string;
  /** Expected SHA-256 (hex); default: the one the server publishes (Hugging Face's X-Linked-Etag). */
  sha256?: string;
  /** Hosts the URL may name (the catalogue's); any when absent (a URL the user typed). */
  allowedHosts?: readonly string[];
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Automatic resumes after a dropped connection (default 3). */
  retries?: number;
  /** Free space to leave on the disk after the download (default 256 MiB). */
  spareBytes?: number;
  /** For the server's logs. */
  userAgent?: string;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Whether the SHA-256 was checked against a published one (false: nobody published one). */
  verified: boolean;
  /** Bytes that came from earlier attempts instead of the network. */
  resumedBytes: number;
}

const PROGRESS_INTERVAL_MS = 100;
const RETRY_DELAY_MS = 500;
const DEFAULT_SPARE_BYTES = 256 * 1024 * 1024;

function ensureFolder(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
}

/** One attempt: resumes what is on disk, appends the body, returns when the body ended. */
async function attempt(request: DownloadRequest, files: PartFiles, report: (p: DownloadProgress) => void): Promise<{ hash: Hash; record: PartRecord; bytes: number; resumed: number }> {
  const previous = readPartRecord(files, request.url);
  let onDisk = previous ? fs.statSync(files.part).size : 0;
  const headers: Record<string, string> = {};
  if (onDisk > 0) {
    headers.Range = `bytes=${onDisk}-`;
    if (previous?.validator) headers['If-Range'] = previous.validator;
  }
  const opened = await openDownload(request.url, {
    allowedHosts: request.allowedHosts,
    headers,
    signal: request.signal,
    userAgent: request.userAgent ?? 'alloy-vscode',
  });
  const { response } = opened;
  const status = response.statusCode ?? 0;
  if (status === 416 && onDisk > 0) {
    // The range starts at or past the end: the part is stale; start again.
    response.resume();
    removePart(files);
    return attempt(request, files, report);
  }
  if (status !== 200 && status !== 206) {
    response.resume();
    throw new DownloadError('http_status', `${new URL(opened.finalUrl).host} answered ${status} ${response.statusMessage ?? ''}`.trim());
  }
  if (status === 200) onDisk = 0; // the server ignored the range (or the file changed): whole file
  const length = Number(response.headers['content-length']);
  const rangeTotal = /\/(\d+)$/.exec(String(response.headers['content-range'] ?? ''))?.[1];
  const total = rangeTotal !== undefined ? Number(rangeTotal) : Number.isSafeInteger(length) ? onDisk + length : opened.publishedSize;
  const sha256 = request.sha256?.toLowerCase() ?? previous?.sha256 ?? opened.publishedSha256;
  const validator = (response.headers.etag as string | undefined) ?? (response.headers['last-modified'] as string | undefined);
  const record: PartRecord = { url: request.url, ...(validator ? { validator } : {}), ...(sha256 ? { sha256 } : {}), ...(total ? { totalBytes: total } : {}) };
  if (total !== undefined) {
    const free = await freeBytes(request.folder);
    const needed = total - onDisk + (request.spareBytes ?? DEFAULT_SPARE_BYTES);
    if (free < needed) {
      response.resume();
      throw new DownloadError('no_space', `the download needs ${mib(total - onDisk)} MiB and leaves ${mib(request.spareBytes ?? DEFAULT_SPARE_BYTES)} MiB spare, but only ${mib(free)} MiB are free in ${request.folder}`);
    }
  }
  writePartRecord(files, record);
  const hash = await hashOfPart(files.part, onDisk);
  const out = fs.createWriteStream(files.part, { flags: onDisk > 0 ? 'a' : 'w' });
  const resumed = onDisk;
  let received = onDisk;
  const started = Date.now();
  let lastReport = 0;
  const progress = (): DownloadProgress => {
    const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
    const bytesPerSecond = (received - resumed) / seconds;
    const secondsLeft = total !== undefined && bytesPerSecond > 0 ? (total - received) / bytesPerSecond : null;
    return { receivedBytes: received, totalBytes: total ?? null, bytesPerSecond, secondsLeft, resumedFrom: resumed };
  };
  try {
    for await (const chunk of response) {
      const buffer = chunk as Buffer;
      hash.update(buffer);
      received += buffer.length;
      if (!out.write(buffer)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      if (Date.now() - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = Date.now();
        report(progress());
      }
    }
  } catch (e) {
    await new Promise<void>((resolve) => out.end(() => resolve()));
    if (request.signal?.aborted) throw new DownloadError('cancelled', 'the download was cancelled; it resumes where it stopped next time');
    throw new DownloadError('network', `the connection closed after ${mib(received)} MiB: ${e instanceof Error ? e.message : String(e)}`);
  }
  await new Promise<void>((resolve) => out.end(() => resolve()));
  if (!response.complete || (total !== undefined && received < total)) {
    throw new DownloadError('network', `the connection closed after ${mib(received)} of ${total !== undefined ? mib(total) : '?'} MiB`);
  }
  report(progress());
  return { hash, record, bytes: received, resumed };
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/**
 * Downloads `request.url` into `request.folder`. Rejects with DownloadError; after 'cancelled'
 * and 'network' the partial file stays and the next call resumes it.
 */
export async function downloadModel(request: DownloadRequest): Promise<DownloadResult> {
  const name = safeModelFileName(request.fileName ?? new URL(request.url).pathname);
  ensureFolder(request.folder);
  const target = pathInFolder(request.folder, name);
  const files = partFiles(target);
  const retries = request.retries ?? 3;
  const report = (p: DownloadProgress): void => request.onProgress?.(p);
  // What the first attempt found on disk and could resume (a retry resumes this call's own bytes).
  let resumedBytes: number | undefined;
  for (let tries = 0; ; tries++) {
    if (request.signal?.aborted) throw new DownloadError('cancelled', 'the download was cancelled');
    try {
      const done = await attempt(request, files, report);
      resumedBytes ??= done.resumed;
      const sha256 = done.hash.digest('hex');
      if (done.record.totalBytes !== undefined && done.bytes !== done.record.totalBytes) {
        removePart(files);
        throw new DownloadError('size_mismatch', `got ${done.bytes} bytes, expected ${done.record.totalBytes}`);
      }
      if (done.record.sha256 !== undefined && sha256 !== done.record.sha256) {
        removePart(files);
        throw new DownloadError('checksum_mismatch', `${name} does not have the published SHA-256 (got ${sha256}, expected ${done.record.sha256}); it was discarded`);
      }
      fs.renameSync(files.part, target);
      fs.rmSync(files.record, { force: true });
      return { path: target, bytes: done.bytes, sha256, verified: done.record.sha256 !== undefined, resumedBytes };
    } catch (e) {
      resumedBytes ??= 0;
      if (!(e instanceof DownloadError) || e.kind !== 'network' || tries >= retries || request.signal?.aborted) throw e;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * (tries + 1)));
    }
  }
}
