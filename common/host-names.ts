// Host names in the one form the allow-list compares (SPEC 3.3): the WHATWG URL parser's canonical
// form — the same form undici connects to — so `0x7f.1`, `2130706433`, `%2e`, upper case or a
// trailing dot cannot make an allowed-looking URL reach another host.

/** The WHATWG canonical form of a bare host or IP (IPv6 with or without brackets), or undefined. */
export function canonicalHostName(host: string): string | undefined {
  const bare = host.trim();
  if (!bare) return undefined;
  const forUrl = bare.includes(':') && !bare.startsWith('[') ? `[${bare}]` : bare;
  try {
    const url = new URL(`http://${forUrl}/`);
    if (url.username || url.password || url.port || url.pathname !== '/') return undefined;
    return url.hostname.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}
