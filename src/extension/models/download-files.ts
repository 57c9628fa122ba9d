// The files of a model download, with no VS Code import: the sanitised file name, the partial
// file (`NAME.part`) and its side record (`NAME.part.json`: where it came from and what it must
// hash to), so an interrupted download resumes only when it is the same file, and a failed one
// never touches the finished model `NAME`.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DownloadError } from './download-error';

const MAX_NAME_LENGTH = 200;

/**
 * The file name a download may write in the models folder: the last segment of `raw` (a URL
 * path or a name), percent-decoded, made only of letters, digits and `._-+`, ending in `.gguf`.
 * Throws DownloadError('bad_file_name') for anything that could leave the folder or is not a
 * GGUF name.
 */
export function safeModelFileName(raw: string): string {
  let name = (raw.split(/[?#]/)[0] ?? '').split('/').pop() ?? '';
  try {
    name = decodeURIComponent(name);
  } catch {
    throw new DownloadError('bad_file_name', `'${raw}' is not a valid file name`);
  }
  if (name.includes('/') || name.includes('\\') || name.startsWith('.') || name.length > MAX_NAME_LENGTH || !/^[\w.+-]+$/.test(name)) {
    throw new DownloadError('bad_file_name', `'${name}' is not a safe file name (letters, digits and . _ - + only)`);
  }
  if (!/\.gguf$/i.test(name)) throw new DownloadError('bad_file_name', `'${name}' is not a .gguf file`);
  return name;
}

/** `folder/name`, checked to stay inside folder. */
export function pathInFolder(folder: string, name: string): string {
  const root = path.resolve(folder);
  const full = path.resolve(root, name);
  if (path.dirname(full) !== root) throw new DownloadError('bad_file_name', `'${name}' would be written outside ${root}`);
  return full;
}

/** What a partial file is a part of. */
export interface PartRecord {
  url: string;
  /** The server's validator (ETag / Last-Modified) for If-Range, when it gave one. */
  validator?: string;
  /** Expected SHA-256 (hex), when known. */
  sha256?: string;
  totalBytes?: number;
}

export interface PartFiles {
  part: string;
  record: string;
}

export function partFiles(target: string): PartFiles {
  return { part: `${target}.part`, record: `${target}.part.json` };
}

/** The record of an existing partial download of `url`, or undefined (none, unreadable, another URL). */
export function readPartRecord(files: PartFiles, url: string): PartRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(files.record, 'utf8')) as PartRecord;
    return record.url === url && fs.existsSync(files.part) ? record : undefined;
  } catch {
    return undefined;
  }
}

export function writePartRecord(files: PartFiles, record: PartRecord): void {
  fs.writeFileSync(files.record, JSON.stringify(record));
}

export function removePart(files: PartFiles): void {
  fs.rmSync(files.part, { force: true });
  fs.rmSync(files.record, { force: true });
}

/** A SHA-256 that has already consumed the first `bytes` bytes of the partial file. */
export async function hashOfPart(part: string, bytes: number): Promise<Hash> {
  const hash = createHash('sha256');
  if (bytes === 0) return hash;
  const stream = fs.createReadStream(part, { start: 0, end: bytes - 1 });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash;
}

/** Bytes free for an unprivileged writer in the file system of `folder`. */
export async function freeBytes(folder: string): Promise<number> {
  const s = await fs.promises.statfs(folder);
  return s.bavail * s.bsize;
}
