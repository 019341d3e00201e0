// The tamper-evident store (SPEC 5.6, beyond Qlik): every stored batch appends
//   digest = sha256(previous digest ‖ the batch's row checksums in order)
// where a row's checksum here covers every stored column (Qlik's Checksum included), computed from
// the row exactly as the database returns it, so an UPDATE of any column or a DELETE of any row
// after ingestion breaks the chain from that batch on.
import { createHash, hash } from 'node:crypto';

export const GENESIS_DIGEST = '0'.repeat(64);

const HASHED_COLUMNS = [
  'machine', 'service', 'sequence', 'ts_utc', 'ts_text', 'product_version', 'hostname', 'event_id', 'description',
  'proxy_session_id', 'proxy_package_id', 'request_sequence_id', 'user_directory', 'user_id', 'object_id', 'object_name',
  'security_class', 'client_host_address', 'origin_service', 'origin', 'context', 'command', 'result', 'message', 'extra',
  'checksum', 'checksum_valid', 'raw', 'file_name', 'line',
] as const;

function canonical(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return JSON.stringify(Object.fromEntries(entries));
  }
  return String(value);
}

/**
 * sha256 over every stored column of a row. Ingestion computes it from the values it inserts,
 * verify-store from the values the database returns: the canonical form makes them equal, so any
 * difference is a change made in the database.
 */
export function rowChecksum(row: Record<string, unknown>): string {
  let text = '';
  for (const column of HASHED_COLUMNS) text += `${canonical(row[column])}\u001f`;
  return hash('sha256', text, 'hex');
}

export function batchDigest(previous: string, rowChecksums: string[]): string {
  return createHash('sha256').update(previous).update('\n').update(rowChecksums.join('\n')).digest('hex');
}
