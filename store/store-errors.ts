// Errors of the audit store that callers tell apart by class (the activities map them to failure types).

/** The connection holding a chain's advisory lock was lost while the chain was being ingested. */
export class LockLostError extends Error {
  override name = 'LockLostError';
}

/**
 * A store that cannot be used as it is: written by an earlier development version (its rows and
 * digests are laid out differently), or an embedded folder of another engine or PostgreSQL version.
 */
export class StoreFormatError extends Error {
  override name = 'StoreFormatError';
}

/** The embedded PostgreSQL cannot be set up or started here (binaries, permissions, its own log says why). */
export class EmbeddedServerError extends Error {
  override name = 'EmbeddedServerError';
}
