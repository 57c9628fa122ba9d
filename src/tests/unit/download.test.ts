// Model downloads end to end against a real HTTP server on 127.0.0.1 (helpers/model-server.ts),
// no mocks: redirects with the published SHA-256, progress, a dropped connection resumed with a
// Range request, cancel then resume, a wrong published hash rejected with the old model kept,
// and the refusals (insecure URLs, foreign hosts, unsafe names, no disk space).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { downloadModel, type DownloadProgress } from '../../extension/models/download';
import { DownloadError } from '../../extension/models/download-error';
import { safeModelFileName } from '../../extension/models/download-files';
import { makeTempDir, sharedModels } from '../helpers/paths';
import { ModelServer } from '../helpers/model-server';

const NAME = 'stories260K.gguf';
const source = fs.readFileSync(path.join(sharedModels, NAME));

async function rejection(p: Promise<unknown>): Promise<DownloadError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DownloadError);
    return e as DownloadError;
  }
  throw new Error('the download did not fail');
}

describe('model download against a local server', () => {
  const server = new ModelServer(NAME, source);
  let folder: string;
  beforeAll(() => server.listen());
  afterAll(() => server.close());
  beforeEach(() => {
    folder = makeTempDir('download');
    server.faults = {};
    server.requests.length = 0;
  });

  it('follows the redirect, reports progress and checks the published SHA-256', async () => {
    const progress: DownloadProgress[] = [];
    server.faults = { throttleBytesPerTick: 128 * 1024 };
    const result = await downloadModel({ url: server.resolveUrl, folder, onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ path: path.join(folder, NAME), bytes: source.length, sha256: server.sha256, verified: true, resumedBytes: 0 });
    expect(fs.readFileSync(result.path).equals(source)).toBe(true);
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toMatchObject({ receivedBytes: source.length, totalBytes: source.length, secondsLeft: 0 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.receivedBytes).toBeGreaterThanOrEqual(progress[i - 1]!.receivedBytes);
    expect(progress.some((p) => p.bytesPerSecond > 0 && p.secondsLeft !== null)).toBe(true);
    expect(fs.readdirSync(folder)).toEqual([NAME]); // no partial files left
  });

  it('a connection dropped mid-file leaves a partial file that the next call resumes with a Range request', async () => {
    server.faults = { dropAfterBytes: 400_000 };
    const dropped = await rejection(downloadModel({ url: server.resolveUrl, folder, retries: 0 }));
    expect(dropped.kind).toBe('network');
    expect(fs.existsSync(path.join(folder, NAME))).toBe(false);
    const partBytes = fs.statSync(path.join(folder, `${NAME}.part`)).size;
    expect(partBytes).toBeGreaterThan(0);
    expect(partBytes).toBeLessThan(source.length);

    const result = await downloadModel({ url: server.resolveUrl, folder, retries: 0 });
    expect(result.resumedBytes).toBe(partBytes);
    expect(result.verified).toBe(true);
    expect(fs.readFileSync(result.path).equals(source)).toBe(true);
    const resumed = server.requests.filter((r) => r.range !== undefined);
    expect(resumed.map((r) => r.range)).toContain(`bytes=${partBytes}-`);
    expect(resumed.every((r) => r.ifRange !== undefined)).toBe(true); // only the same file is resumed
  });

  it('resumes by itself after a drop when retries are allowed', async () => {
    server.faults = { dropAfterBytes: 300_000 };
    const result = await downloadModel({ url: server.resolveUrl, folder });
    expect(fs.readFileSync(result.path).equals(source)).toBe(true);
    expect(server.requests.some((r) => r.range !== undefined)).toBe(true);
  });

  it('cancel stops the download, keeps the partial file, and a later call finishes it', async () => {
    server.faults = { throttleBytesPerTick: 16 * 1024 };
    const controller = new AbortController();
    const cancelled = await rejection(
      downloadModel({
        url: server.resolveUrl,
        folder,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.receivedBytes > 100_000) controller.abort();
        },
      }),
    );
    expect(cancelled.kind).toBe('cancelled');
    expect(fs.existsSync(path.join(folder, NAME))).toBe(false);
    expect(fs.statSync(path.join(folder, `${NAME}.part`)).size).toBeGreaterThan(0);
    server.faults = {};
    const result = await downloadModel({ url: server.resolveUrl, folder });
    expect(result.resumedBytes).toBeGreaterThan(0);
    expect(fs.readFileSync(result.path).equals(source)).toBe(true);
  });

  it('a file that does not match the published SHA-256 is discarded and the old model is kept', async () => {
    const target = path.join(folder, NAME);
    fs.writeFileSync(target, 'the good old model');
    server.faults = { publishedSha256: 'ab'.repeat(32) };
    const mismatch = await rejection(downloadModel({ url: server.resolveUrl, folder }));
    expect(mismatch.kind).toBe('checksum_mismatch');
    expect(fs.readFileSync(target, 'utf8')).toBe('the good old model');
    expect(fs.readdirSync(folder)).toEqual([NAME]);
  });

  it('refuses insecure URLs and redirects, foreign hosts, unsafe names, and a download the disk cannot hold', async () => {
    expect((await rejection(downloadModel({ url: `http://example.com/${NAME}`, folder }))).kind).toBe('insecure_url');
    server.faults = { redirectTo: `http://example.com/cdn/${NAME}` };
    expect((await rejection(downloadModel({ url: server.resolveUrl, folder }))).kind).toBe('insecure_url');
    server.faults = {};
    expect((await rejection(downloadModel({ url: server.resolveUrl, folder, allowedHosts: ['huggingface.co'] }))).kind).toBe('host_not_allowed');
    expect((await rejection(downloadModel({ url: server.resolveUrl, folder, spareBytes: Number.MAX_SAFE_INTEGER }))).kind).toBe('no_space');
    expect(fs.readdirSync(folder)).toEqual([]);
    for (const bad of ['..%2Fevil.gguf', '..', 'a\\b.gguf', '.hidden.gguf', 'model.bin', 'a b.gguf', '']) {
      expect(() => safeModelFileName(bad), bad).toThrow(expect.objectContaining({ kind: 'bad_file_name' }));
    }
    expect(safeModelFileName('../../evil.gguf')).toBe('evil.gguf'); // only the last segment is ever used
    expect(safeModelFileName('https://huggingface.co/Qwen/x/resolve/main/qwen2.5-coder-0.5b-q8_0.gguf?download=true')).toBe('qwen2.5-coder-0.5b-q8_0.gguf');
  });
});
