// The tamper-evident store (SPEC 5.6, beyond Qlik): every stored batch appends
//   digest = sha256(previous digest ‖ the batch's row checksums in order)
// where a row's checksum here is sha256 of the row's line in PostgreSQL COPY text format: every stored
// column (Qlik's Checksum included) but the batch id, escaped, `\N` for NULL. Ingestion hashes the
// line it sends to COPY; verify-store re-encodes the row exactly as the database returns it. So an
// UPDATE of any column (even '' to NULL) or a DELETE of any row after ingestion breaks the chain from
// that batch on.
import { createHash, hash } from 'node:crypto';
import { ROW_COLUMNS } from './store';

export const GENESIS_DIGEST = '0'.repeat(64);

/** Every stored column of a row but its batch, in COPY order (those the same for a whole file first). */
export const HASHED_COLUMNS = [
  'machine', 'service', 'file_name', 'sequence', 'ts_utc', 'ts_text', ...Object.values(ROW_COLUMNS), 'extra',
  'checksum', 'checksum_valid', 'line',
] as const;

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Text escaped for COPY (backslash, TAB, LF, CR). */
export const copyEscape = (text: string) => (/[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string) : text);

/** Every field of a TAB-separated line escaped at once (its TABs stay separators). */
export const copyEscapeFields = (line: string) => (/[\\\n\r]/.test(line) ? line.replace(/[\\\n\r]/g, (c) => COPY_ESCAPES[c] as string) : line);

/** JSON with its keys sorted: a jsonb column returns keys in its own order. */
export function sortedJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof Date) return value.toISOString();
  return copyEscape(typeof value === 'object' ? sortedJson(value) : String(value));
}

/** A stored row (as the database returns it) in COPY text format, without the batch id. */
export function rowLine(row: Record<string, unknown>): string {
  return HASHED_COLUMNS.map((column) => copyValue(row[column])).join('\t');
}

export const lineChecksum = (line: string) => hash('sha256', line, 'hex');

export const rowChecksum = (row: Record<string, unknown>) => lineChecksum(rowLine(row));

export function batchDigest(previous: string, rowChecksums: string[]): string {
  return createHash('sha256').update(previous).update('\n').update(rowChecksums.join('\n')).digest('hex');
}
