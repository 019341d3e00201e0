// The audit store's URL (auditSecurityLog.store): what earlier versions accepted and this one does not.

/** One line for a `pglite:` URL: the engine earlier versions embedded, and how to move. */
export const PGLITE_MOVED =
  'pglite: stores are gone: the embedded store is now a real PostgreSQL server (embedded:<folder>, e.g. embedded:./var/auditdb-pg). Move by ingesting again: the log files are the source; Audit.qs events and screenshot outcomes of a PGlite store are not carried over';

/**
 * The store URL without secrets, for logs, messages and evidence bundles: a postgres:// URL is parsed
 * (a password may hold `@`, `/` or `?`) and loses its password and any password-like query parameter.
 */
export function redactStoreUrl(url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${url.slice(0, url.indexOf('//') + 2)}[an unparseable URL]`;
  }
  if (parsed.password) parsed.password = '';
  for (const name of [...parsed.searchParams.keys()]) {
    if (/pass|secret|key|token/i.test(name)) parsed.searchParams.set(name, '[redacted]');
  }
  return parsed.toString();
}
