// Opens an HTTPS GET for a download, following redirects, with no VS Code import. HTTPS only:
// plain HTTP is accepted for this machine's own addresses (a local mirror, the tests) and
// nowhere else, and a redirect may not leave HTTPS. Hugging Face answers the first request
// with a redirect to its CDN that carries the file's SHA-256 and size (`X-Linked-Etag`,
// `X-Linked-Size`); those are collected from every hop.
import * as http from 'node:http';
import * as https from 'node:https';

import { DownloadError } from './download-error';

const MAX_REDIRECTS = 8;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SHA256_ETAG = /^(?:W\/)?"?([0-9a-f]{64})"?$/i;

export interface OpenOptions {
  /** Hosts the first URL may name (the catalogue's); any host when absent (a URL the user typed). */
  allowedHosts?: readonly string[] | undefined;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
  userAgent: string;
}

export interface OpenedResponse {
  response: http.IncomingMessage;
  /** The URL that answered (after redirects). */
  finalUrl: string;
  /** SHA-256 (hex, lower case) the server published for the file, when it did. */
  publishedSha256?: string | undefined;
  /** Size the server published for the whole file (X-Linked-Size), when it did. */
  publishedSize?: number | undefined;
}

/** Throws DownloadError('insecure_url') unless `url` is HTTPS, or HTTP to this machine. */
export function checkSecureUrl(url: URL): void {
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return;
  throw new DownloadError('insecure_url', `${url.origin} is not HTTPS; models are downloaded over HTTPS only`);
}

function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function get(url: URL, options: OpenOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers: { 'User-Agent': options.userAgent, ...options.headers }, signal: options.signal }, resolve);
    req.on('error', (e) => {
      if (options.signal?.aborted) reject(new DownloadError('cancelled', 'the download was cancelled'));
      else reject(new DownloadError('network', `cannot reach ${url.host}: ${e.message}`));
    });
  });
}

export async function openDownload(rawUrl: string, options: OpenOptions): Promise<OpenedResponse> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new DownloadError('insecure_url', `'${rawUrl}' is not a URL`);
  }
  checkSecureUrl(url);
  if (options.allowedHosts && !options.allowedHosts.includes(url.host)) {
    throw new DownloadError('host_not_allowed', `${url.host} is not one of the catalogue's hosts (${options.allowedHosts.join(', ')})`);
  }
  let publishedSha256: string | undefined;
  let publishedSize: number | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await get(url, options);
    const linked = SHA256_ETAG.exec(header(response, 'x-linked-etag') ?? '');
    if (linked?.[1] && publishedSha256 === undefined) publishedSha256 = linked[1].toLowerCase();
    const size = Number(header(response, 'x-linked-size'));
    if (Number.isSafeInteger(size) && size > 0 && publishedSize === undefined) publishedSize = size;
    const status = response.statusCode ?? 0;
    const location = header(response, 'location');
    if (status >= 300 && status < 400 && location) {
      response.resume();
      url = new URL(location, url);
      checkSecureUrl(url);
      continue;
    }
    return { response, finalUrl: url.toString(), publishedSha256, publishedSize };
  }
  throw new DownloadError('too_many_redirects', `more than ${MAX_REDIRECTS} redirects from ${rawUrl}`);
}
