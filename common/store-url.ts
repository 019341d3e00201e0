// The audit store's URL (auditSecurityLog.store): what earlier versions accepted and this one does not.

/** One line for a `pglite:` URL: the engine earlier versions embedded, and how to move. */
export const PGLITE_MOVED =
  'pglite: stores are gone: the embedded store is now a real PostgreSQL server (embedded:<folder>, e.g. embedded:./var/auditdb-pg). Move by ingesting again: the log files are the source; Audit.qs events and screenshot outcomes of a PGlite store are not carried over';
