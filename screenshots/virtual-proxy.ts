// Which Qlik virtual proxy a screenshot URL goes through (userTicket mode, SPEC 3.3): the ticket must
// be redeemed at the QPS of the same virtual proxy, or the proxy will not accept it.

/** First path segments that belong to the default proxy, not to a virtual proxy prefix. */
const DEFAULT_PROXY_SEGMENTS = new Set(['api', 'hub', 'printing', 'resources', 'sense', 'tempcontent']);
const VALID_PREFIX = /^[A-Za-z0-9._~-]+$/;

export type VirtualProxy = { ok: true; prefix: string } | { ok: false; value: string };

/** '' is the default proxy. A prefix that is not a plain URL segment is refused (it would be put in a QPS path). */
export function virtualProxyFromUrl(screenshotUrl: string): VirtualProxy {
  const segments = new URL(screenshotUrl).pathname.split('/').slice(1);
  let candidate = segments[0] ?? '';
  if (candidate === 'qps') candidate = segments[1] === 'ticket' || segments[1] === 'session' ? '' : (segments[1] ?? ''); // /qps/ticket is the default proxy's QPS
  if (candidate === '' || DEFAULT_PROXY_SEGMENTS.has(candidate.toLowerCase()) || segments.length === 1) {
    return { ok: true, prefix: '' };
  }
  return VALID_PREFIX.test(candidate) ? { ok: true, prefix: candidate } : { ok: false, value: candidate };
}
