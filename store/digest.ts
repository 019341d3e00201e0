// The tamper-evident store (SPEC 5.6, beyond Qlik): every stored batch appends
//   digest = H(previous digest ‖ the batch's file ‖ its row hashes ‖ its finding hashes, in order)
// with H = HMAC-SHA256 under auditSecurityLog.digestKey (or QLIK_AUDIT_DIGEST_KEY), else SHA-256.
// A row's hash is sha256 of the row's line in PostgreSQL COPY text format: every stored column
// (Qlik's Checksum included) but the batch id, escaped, `\N` for NULL; a finding's likewise. Ingestion
// hashes what it sends; verify-store re-encodes what the database returns. So an UPDATE of any column
// (even '' to NULL), a DELETE or an INSERT of any row or finding after ingestion breaks the chain from
// that batch on — and with a key, nobody without it can compute a chain that holds.
import { createHash, createHmac, hash } from 'node:crypto';
import { ROW_COLUMNS, type Sql } from './store';

export const GENESIS_DIGEST = '0'.repeat(64);

/** One digest chain: one writer at a time (ingest, the audit trail's writers, anchoring): a transaction advisory lock. */
export const DIGEST_CHAIN_LOCK = 7223372036;

/** Every stored column of a row but its batch, in COPY order (those the same for a whole file first). */
export const HASHED_COLUMNS = [
  'machine', 'service', 'file_name', 'sequence', 'ts_utc', 'ts_text', ...Object.values(ROW_COLUMNS), 'extra',
  'checksum', 'checksum_valid', 'header_ok', 'line',
] as const;

/** The stored columns of a finding that its hash covers. */
export const FINDING_COLUMNS = ['kind', 'severity', 'machine', 'service', 'file_name', 'path', 'line', 'sequence', 'detail'] as const;

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Text escaped for COPY (backslash, TAB, LF, CR). */
export const copyEscape = (text: string) => (/[\\\t\n\r]/.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c] as string) : text);

/**
 * Every field of a TAB-separated line escaped at once (its TABs stay separators). Backslashes first,
 * so the escapes added for CR and LF are not doubled; plain replaceAll, as this runs for every row
 * ingested (a Qlik row holds DOMAIN\\user, so it is rarely a no-op).
 */
export function copyEscapeFields(line: string): string {
  let text = line.includes('\\') ? line.replaceAll('\\', '\\\\') : line;
  if (text.includes('\r')) text = text.replaceAll('\r', '\\r');
  if (text.includes('\n')) text = text.replaceAll('\n', '\\n');
  return text;
}

/** JSON with its keys sorted: a jsonb column returns keys in its own order. */
export function sortedJson(value: object): string {
  return JSON.stringify(Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** A value in COPY text form (`\\N` for NULL, dates ISO 8601, JSON with sorted keys). */
export function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (value instanceof Date) return value.toISOString();
  return copyEscape(typeof value === 'object' ? sortedJson(value) : String(value));
}

/** A stored row (as the database returns it) in COPY text format, without the batch id. */
export function rowLine(row: Record<string, unknown>): string {
  return HASHED_COLUMNS.map((column) => copyValue(row[column])).join('\t');
}

/** SHA-256 of a line, as text or already encoded to UTF-8 (the same digest either way). */
export const lineChecksum = (line: string | Buffer) => hash('sha256', line, 'hex');

export const rowChecksum = (row: Record<string, unknown>) => lineChecksum(rowLine(row));

export const findingLine = (finding: Record<string, unknown>) => FINDING_COLUMNS.map((column) => copyValue(finding[column])).join('\t');

/** The HMAC key of the chain, and its public id (a keyed hash of a constant: names the key, reveals nothing). */
export interface DigestKey {
  key: Buffer;
  id: string;
}

export function digestKey(secret: string | undefined): DigestKey | undefined {
  if (!secret) return undefined;
  const key = Buffer.from(secret, 'utf8');
  return { key, id: createHmac('sha256', key).update('qlik-audit digest key id').digest('hex').slice(0, 16) };
}

/** The digest key from QLIK_AUDIT_DIGEST_KEY, else auditSecurityLog.digestKey. Never logged, never stored. */
export function configuredDigestKey(configKey: string, env: NodeJS.ProcessEnv = process.env): DigestKey | undefined {
  return digestKey(env.QLIK_AUDIT_DIGEST_KEY || configKey || undefined);
}

/** sha256 over a list of hex hashes (a batch's rows, or its findings), in order. */
export const listHash = (hashes: string[]) => createHash('sha256').update(hashes.join('\n')).digest('hex');

/** What a batch's chain entry binds: where it came from, and what it holds. */
export interface BatchContent {
  machine: string;
  service: string;
  fileName: string;
  rowCount: number;
  findingCount: number;
  rowsHash: string;
  findingsHash: string;
}

/**
 * The ids of the next `count` chain entries, in chain order, and the digest they follow. The caller's
 * transaction holds DIGEST_CHAIN_LOCK, so no other entry comes in between.
 */
export async function reserveEntries(sql: Sql, count: number): Promise<{ ids: string[]; previous: string }> {
  const { rows } = await sql.query<{ ids: string[]; previous: string }>(
    `SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('audit_batches', 'id')) FROM generate_series(1, $2::int)) AS ids,
            COALESCE((SELECT digest FROM audit_batches ORDER BY id DESC LIMIT 1), $1) AS previous`,
    [GENESIS_DIGEST, count],
  );
  // In chain order: verify-store walks the entries by id.
  return { ids: (rows[0]?.ids ?? []).map(String).sort((a, b) => Number(a) - Number(b)), previous: rows[0]?.previous ?? GENESIS_DIGEST };
}

export function batchDigest(previous: string, content: BatchContent, key: DigestKey | undefined): string {
  const h = key ? createHmac('sha256', key.key) : createHash('sha256');
  const { machine, service, fileName, rowCount, findingCount, rowsHash, findingsHash } = content;
  return h.update([previous, machine, service, fileName, rowCount, findingCount, rowsHash, findingsHash].join('\n')).digest('hex');
}
