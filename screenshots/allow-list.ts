// The download allow-list (SPEC 3.3): every URL we fetch — the first one and every redirect hop —
// must name an allowed host. Hosts are compared in the WHATWG URL parser's canonical form, the same
// form undici connects to, so tricks like `0x7f.1`, `2130706433`, `%2e`, upper case, a trailing dot
// or `user@host` cannot make an allowed-looking URL reach another host.
import { canonicalHostName } from '../common/host-names';
import type { BlockReason } from '../common/screenshot-result';

export class AllowList {
  private readonly hosts: Set<string>;

  constructor(entries: readonly string[]) {
    this.hosts = new Set(entries.map(canonicalHostName).filter((h): h is string => h !== undefined));
  }

  get size(): number {
    return this.hosts.size;
  }

  /** Undefined when the URL may be fetched, else why not. Port is ignored. */
  check(url: URL): BlockReason | undefined {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'invalid-scheme';
    if (url.username || url.password) return 'invalid-location';
    const host = canonicalHostName(url.hostname);
    return host !== undefined && this.hosts.has(host) ? undefined : 'host-not-allowed';
  }
}

/**
 * Only where Qlik's Printing Service renders images (SPEC 3.3): the event's own URL — not a redirect
 * hop, which keeps the host rule only — must name a path under one of `allowed` (default
 * `/tempcontent/`), after an optional virtual-proxy prefix. A `/qrs/…` or hub URL on an allowed host
 * would otherwise be fetched with the user's ticket. Compared after the URL parser has resolved
 * `..` and `%2e%2e`, case-insensitively (Qlik's paths are).
 */
export function imagePathAllowed(url: URL, virtualProxyPrefix: string, allowed: readonly string[]): boolean {
  const path = url.pathname.toLowerCase();
  const prefix = virtualProxyPrefix ? `/${virtualProxyPrefix.toLowerCase()}` : '';
  const rest = prefix && path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
  return allowed.some((p) => rest.startsWith(p.toLowerCase()));
}
