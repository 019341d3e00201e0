// Audit store and log source errors typed by cause (the ApplicationFailure `type`): configuration
// (a bad URL, credentials, an unknown database, a store of an old format) is non-retryable and names
// the key; a connection refused or lost, a server restarting (the embedded one included), a share not
// mounted are retried — a PostgreSQL restart must not fail the whole ingest run.
import type { ApplicationFailure } from '@temporalio/activity';
import { EmbeddedServerError, LockLostError, StoreFormatError } from '../store/store';
import { UnreadablePathError } from '../audit-log/log-files';
import { AnchorFileError } from '../store/anchor-log';
import { errorCode, permanent, transient } from '../common/failures';

/** SQLSTATEs that no retry fixes: credentials, unknown database or schema, missing privileges. */
const CONFIG_SQLSTATES = new Set(['28P01', '28000', '3D000', '3F000', '42501']);

const firstLine = (err: unknown): string => (err instanceof Error ? (err.message.split('\n')[0] ?? err.name) : String(err));

export function storeFailure(err: unknown): ApplicationFailure {
  if (err instanceof StoreFormatError) return permanent('ConfigInvalid', `auditSecurityLog.store: ${err.message}`);
  if (err instanceof EmbeddedServerError) return transient('StoreUnavailable', err.message);
  if (err instanceof LockLostError) return transient('LockLost', err.message);
  if (err instanceof AnchorFileError) return transient('StoreUnavailable', err.message);
  const code = errorCode(err);
  if (code && CONFIG_SQLSTATES.has(code)) return permanent('ConfigInvalid', `auditSecurityLog.store: ${firstLine(err)} (PostgreSQL ${code}): check the user, password, database and its privileges`);
  if (/^auditSecurityLog\.store: /.test(firstLine(err))) return permanent('ConfigInvalid', firstLine(err));
  return transient('StoreUnavailable', `audit store: ${firstLine(err)}${code ? ` (${code})` : ''}`);
}

export function sourceFailure(err: unknown): ApplicationFailure {
  if (err instanceof UnreadablePathError) return transient('SourceUnavailable', `auditSecurityLog.sources: ${err.message} (retried: a share may be remounted)`);
  return storeFailure(err);
}
