// One line of an AuditSecurity log (SPEC 5.2): UTF-8 (BOM on the first line), TAB-separated, no
// quoting, columns mapped by header name case-insensitively. Qlik writes TAB/LF/FF/CR inside fields as
// ⇔ ↓ → ↵ and we keep that raw text. The row checksum (SPEC 5.3) is the lower-case hex SHA-1 of the
// row's bytes up to and including the TAB before the Checksum field.
import { hash } from 'node:crypto';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const TAB = 0x09;
export const REQUIRED_COLUMNS = ['sequence#', 'timestamp', 'checksum'] as const;

export interface Header {
  columns: string[];
  /** Column index by lower-case name. */
  index: Map<string, number>;
  sequence: number;
  timestamp: number;
  checksum: number;
}

export function parseHeader(line: Buffer): Header | { error: string } {
  const bytes = line.subarray(0, 3).equals(BOM) ? line.subarray(3) : line;
  const columns = bytes.toString('utf8').split('\t');
  const index = new Map(columns.map((name, i) => [name.trim().toLowerCase(), i]));
  const missing = REQUIRED_COLUMNS.filter((name) => !index.has(name));
  if (missing.length > 0) return { error: `header has no ${missing.join(', ')} column (found: ${columns.slice(0, 30).join(', ').slice(0, 300)})` };
  return { columns, index, sequence: index.get('sequence#') as number, timestamp: index.get('timestamp') as number, checksum: index.get('checksum') as number };
}

const TIMESTAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})([+-])(\d{2}):?(\d{2})$/;

/** `20190131T161855.589+0100` (or `+01:00`, either sign) → `2019-01-31T15:18:55.589Z`; undefined if invalid. */
export function parseQlikTimestamp(text: string): string | undefined {
  const m = TIMESTAMP.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms, sign, oh, om] = m.map((v, i) => (i === 8 ? v : Number(v))) as [unknown, number, number, number, number, number, number, number, string, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return undefined;
  const local = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const check = new Date(local);
  if (check.getUTCDate() !== d || check.getUTCMonth() !== mo - 1) return undefined; // 31 February
  const offsetMs = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  return new Date(local - offsetMs).toISOString();
}

export type ParsedRow =
  | {
      ok: true;
      fields: string[];
      sequence: number;
      timestamp: string;
      /** UTC ISO time, or undefined when the timestamp is not valid. */
      timestampUtc: string | undefined;
      checksum: string;
      /** SHA-1 we computed over the row bytes. */
      computedChecksum: string;
    }
  | { ok: false; detail: string; sequence: number | undefined };

function sequenceOf(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

export function parseRow(bytes: Buffer, header: Header): ParsedRow {
  // Byte position where the Checksum field starts (just after the TAB before it), and the field count.
  let fieldCount = 1;
  let checksumStart = header.checksum === 0 ? 0 : -1;
  for (let tab = bytes.indexOf(TAB); tab !== -1; tab = bytes.indexOf(TAB, tab + 1)) {
    if (fieldCount === header.checksum) checksumStart = tab + 1;
    fieldCount++;
  }
  const fields = bytes.toString('utf8').split('\t');
  const sequence = sequenceOf(fields[header.sequence]);
  if (fieldCount !== header.columns.length) {
    return { ok: false, detail: `${fieldCount} fields, the header has ${header.columns.length}`, sequence };
  }
  if (sequence === undefined) return { ok: false, detail: `Sequence# '${(fields[header.sequence] ?? '').slice(0, 40)}' is not a number`, sequence };
  const timestamp = fields[header.timestamp] ?? '';
  return {
    ok: true,
    fields,
    sequence,
    timestamp,
    timestampUtc: parseQlikTimestamp(timestamp),
    checksum: fields[header.checksum] ?? '',
    computedChecksum: hash('sha1', bytes.subarray(0, checksumStart), 'hex'),
  };
}
