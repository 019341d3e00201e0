// Downloading one screenshot (SPEC 3.3 "Download" and "Response"): redirects are followed by hand so
// every hop is checked against the allow-list before we connect to it; the body is streamed to a
// temporary file with a hard size cap and hashed on the way.
import { createHash } from 'node:crypto';
import { open, unlink } from 'node:fs/promises';
import { parse as parseSetCookie } from 'set-cookie-parser';
import { request, type Dispatcher } from 'undici';
import type { BlockReason } from '../common/screenshot-result';
import type { AllowList } from './allow-list';
import { describeNetworkError, isTlsTrustError, permanent, transient } from '../common/failures';

export const MAX_IMAGE_BYTES = 50 * 1024 * 1024;
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const RETRYABLE_STATUSES = new Set([404, 408, 425, 429, 500, 502, 503, 504]);

export interface SessionCookie {
  name: string;
  /** Secret: the proxy session id. */
  value: string;
}

export interface DownloadRequest {
  url: URL;
  /** Appended as `qlikTicket` to the first URL only. Secret. */
  ticket?: string;
  /** A cached proxy session: sent only to hops on the first URL's origin. */
  cookie?: SessionCookie;
  dispatcher: Dispatcher;
  allowList: AllowList;
  timeoutMs: number;
  maxBytes?: number;
  tempFile: string;
  signal?: AbortSignal;
  /** Called as bytes arrive (the activity heartbeats from it). */
  onProgress?: (bytes: number) => void;
  /** Called when the proxy opens a session (Set-Cookie) — also if the download then fails — so the caller can close it. */
  onSessionCookie?: (cookie: SessionCookie) => void;
}

export type DownloadOutcome =
  | { kind: 'blocked'; reason: BlockReason; host: string; hop: number }
  /** userTicket mode: the user has no live Qlik session of their own, so no ticket was redeemed. */
  | { kind: 'no-session' }
  | { kind: 'unauthorized'; status: number; host: string }
  | {
      kind: 'image';
      contentType: string;
      extension: string;
      bytes: number;
      sha256: string;
      /** Hosts of every hop, first URL included. */
      hosts: string[];
      /** A proxy session cookie set by the first URL's origin, if any. */
      sessionCookie?: SessionCookie;
    };

const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/jpg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/** File extension from the content type, else from the first bytes; `bin` when neither tells. */
export function imageExtension(contentType: string, head: Buffer): string {
  const byType = EXTENSIONS[contentType.split(';')[0]?.trim().toLowerCase() ?? ''];
  if (byType) return byType;
  if (head.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpg';
  if (head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  if (head.subarray(0, 4).toString('latin1') === 'GIF8') return 'gif';
  return 'bin';
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The Qlik proxy's session cookie (`X-Qlik-Session`, `X-Qlik-Session-{vp}`) among Set-Cookie headers. */
function qlikSessionCookie(headers: Dispatcher.ResponseData['headers']): SessionCookie | undefined {
  const raw = headers['set-cookie'];
  const cookies = parseSetCookie(Array.isArray(raw) ? raw : raw ? [raw] : [], { decodeValues: false });
  const session = cookies.find((c) => c.name.toLowerCase().startsWith('x-qlik-session') && c.value);
  return session ? { name: session.name, value: session.value } : undefined;
}

/** Follows at most MAX_REDIRECTS allow-listed hops and streams the image into `tempFile`. */
export async function downloadScreenshot(req: DownloadRequest): Promise<DownloadOutcome> {
  const maxBytes = req.maxBytes ?? MAX_IMAGE_BYTES;
  const timeout = AbortSignal.timeout(req.timeoutMs);
  const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  const origin = req.url.origin;
  const hosts: string[] = [];
  // The proxy answers a ticket with Set-Cookie (and usually a redirect to the URL without the
  // ticket): like a browser, later hops to the same origin carry that session cookie.
  let sessionCookie: SessionCookie | undefined;
  let current = req.url;

  for (let hop = 0; ; hop++) {
    const blocked = req.allowList.check(current);
    if (blocked) return { kind: 'blocked', reason: blocked, host: current.hostname, hop };
    hosts.push(current.host);

    const target = new URL(current);
    if (hop === 0 && req.ticket) target.searchParams.set('qlikTicket', req.ticket);
    const headers: Record<string, string> = { accept: 'image/*' };
    const cookie = sessionCookie ?? req.cookie;
    if (cookie && current.origin === origin) headers.cookie = `${cookie.name}=${cookie.value}`;

    let response: Dispatcher.ResponseData;
    try {
      response = await request(target, { method: 'GET', dispatcher: req.dispatcher, headers, signal });
    } catch (err) {
      if (isTlsTrustError(err)) {
        throw permanent('TlsFailure', `image host ${current.host}: TLS failed (${describeNetworkError(err)}); check qlik.cert.clientCertCA`);
      }
      throw transient('DownloadUnavailable', `image host ${current.host} unreachable: ${describeNetworkError(err)}`);
    }
    const { statusCode } = response;
    if (current.origin === origin) {
      const opened = qlikSessionCookie(response.headers);
      if (opened && opened.value !== sessionCookie?.value) req.onSessionCookie?.(opened);
      sessionCookie = opened ?? sessionCookie;
    }

    if (REDIRECT_STATUSES.has(statusCode)) {
      await response.body.dump();
      if (hop === MAX_REDIRECTS) return { kind: 'blocked', reason: 'max-redirects', host: current.hostname, hop };
      const location = header(response.headers, 'location');
      if (!location) return { kind: 'blocked', reason: 'missing-location', host: current.hostname, hop };
      try {
        current = new URL(location, current);
      } catch {
        return { kind: 'blocked', reason: 'invalid-location', host: current.hostname, hop };
      }
      continue;
    }
    if (statusCode === 401 || statusCode === 403) {
      await response.body.dump();
      return { kind: 'unauthorized', status: statusCode, host: current.host };
    }
    if (statusCode < 200 || statusCode >= 300) {
      await response.body.dump();
      if (RETRYABLE_STATUSES.has(statusCode)) throw transient('DownloadUnavailable', `image host ${current.host} answered ${statusCode}`);
      throw permanent('DownloadRejected', `image host ${current.host} answered ${statusCode}`);
    }

    const contentType = header(response.headers, 'content-type') ?? '';
    if (contentType && !contentType.trim().toLowerCase().startsWith('image/')) {
      await response.body.dump();
      throw permanent('NotAnImage', `image host ${current.host} answered ${statusCode} with content-type ${contentType.slice(0, 100)}, not an image`);
    }
    const declared = Number(header(response.headers, 'content-length') ?? NaN);
    if (declared > maxBytes) {
      response.body.destroy();
      throw permanent('ImageTooLarge', `image host ${current.host} announced ${declared} bytes, over the ${maxBytes}-byte cap`);
    }
    const { bytes, sha256, head } = await streamToFile(response, req, maxBytes, current.host);
    return { kind: 'image', contentType, extension: imageExtension(contentType, head), bytes, sha256, hosts, sessionCookie };
  }
}

/** Streams the body to req.tempFile, aborting at the cap; the file is removed on any failure. */
async function streamToFile(response: Dispatcher.ResponseData, req: DownloadRequest, maxBytes: number, host: string) {
  const hash = createHash('sha256');
  const file = await open(req.tempFile, 'wx'); // this attempt's own file: never shared with another writer
  let bytes = 0;
  let head = Buffer.alloc(0);
  try {
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        if (bytes > maxBytes) {
          response.body.destroy();
          throw permanent('ImageTooLarge', `image from ${host} exceeded the ${maxBytes}-byte cap; download aborted`);
        }
        if (head.length < 16) head = Buffer.concat([head, chunk.subarray(0, 16)]);
        hash.update(chunk);
        await file.write(chunk);
        req.onProgress?.(bytes);
      }
    } catch (err) {
      if ((err as { type?: string }).type === 'ImageTooLarge') throw err;
      throw transient('DownloadUnavailable', `image download from ${host} broke off after ${bytes} bytes: ${describeNetworkError(err)}`);
    }
    await file.sync();
    await file.close();
    return { bytes, sha256: hash.digest('hex'), head };
  } catch (err) {
    await file.close().catch(() => undefined);
    await unlink(req.tempFile).catch(() => undefined);
    throw err;
  }
}
