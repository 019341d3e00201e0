// One line of an AuditSecurity log (SPEC 5.2): UTF-8 (BOM on the first line), TAB-separated, no
// quoting, columns mapped by header name case-insensitively. Qlik writes TAB/LF/FF/CR inside fields as
// ⇔ ↓ → ↵ and we keep that raw text. The row checksum (SPEC 5.3) is the lower-case hex SHA-1 of the
// row's bytes up to and including the TAB before the Checksum field.
import { hash } from 'node:crypto';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const TAB = 0x09;
export const REQUIRED_COLUMNS = ['sequence#', 'timestamp', 'checksum'] as const;

/**
 * Qlik's documented AuditSecurity columns, in Qlik's order (SPEC 5.2). The header line is covered by
 * no checksum, so it is checked against this (or auditSecurityLog.columns): a renamed or swapped
 * column would otherwise attribute every action to the wrong field while every row checksum holds.
 */
export const QLIK_AUDIT_SECURITY_COLUMNS = [
  'Sequence#', 'ProductVersion', 'Timestamp', 'HostName', 'Id', 'Description', 'ProxySessionId', 'ProxyPackageId', 'RequestSequenceId',
  'UserDirectory', 'UserId', 'ObjectId', 'ObjectName', 'SecurityClass', 'ClientHostAddress', 'Service', 'Origin', 'Context', 'Command',
  'Result', 'Message', 'Checksum',
] as const;

/** The first difference between a header and the expected layout (names compared case-insensitively), or undefined. */
export function headerDeviation(header: Header, expected: readonly string[]): string | undefined {
  const found = header.columns.map((c) => c.trim());
  for (let i = 0; i < Math.max(found.length, expected.length); i++) {
    const want = expected[i];
    const got = found[i];
    if (want !== undefined && got !== undefined && want.toLowerCase() === got.toLowerCase()) continue;
    const at = `column ${i + 1}`;
    if (got === undefined) return `${at}: ${want} is missing (the header ends after ${found.at(-1) ?? 'nothing'})`;
    if (want === undefined) return `${at}: ${got} is one column too many (the layout ends with ${expected.at(-1)})`;
    const elsewhere = found.findIndex((name, j) => j !== i && name.toLowerCase() === want.toLowerCase());
    return `${at} is ${got}, expected ${want}${elsewhere >= 0 ? ` (found as column ${elsewhere + 1})` : ''}`;
  }
  return undefined;
}

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

const digit = (text: string, i: number) => {
  const d = text.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};
const num = (text: string, from: number, length: number) => {
  let value = 0;
  for (let i = from; i < from + length; i++) value = value * 10 + digit(text, i);
  return value;
};

const dayStart = new Map<string, number>(); // 'YYYYMMDD' → Date.UTC of that day, or NaN if no such day

function utcDayStart(text: string): number {
  const key = text.slice(0, 8);
  let start = dayStart.get(key);
  if (start === undefined) {
    const y = num(text, 0, 4), mo = num(text, 4, 2), d = num(text, 6, 2);
    const candidate = Date.UTC(y, mo - 1, d);
    const check = new Date(candidate);
    start = mo >= 1 && mo <= 12 && check.getUTCDate() === d && check.getUTCMonth() === mo - 1 ? candidate : NaN; // no 31 February
    if (dayStart.size > 10_000) dayStart.clear();
    dayStart.set(key, start);
  }
  return start;
}

/**
 * `20190131T161855.589+0100` (or `+01:00`, either sign) → epoch milliseconds (UTC); undefined if
 * invalid. Parsed by position, with the calendar check cached per day: it runs for every row.
 */
export function parseQlikTimestampMs(text: string): number | undefined {
  if ((text.length !== 24 && text.length !== 25) || text.charCodeAt(8) !== 84 /* T */ || text.charCodeAt(15) !== 46 /* . */) return undefined;
  const sign = text.charCodeAt(19);
  if (sign !== 43 && sign !== 45) return undefined;
  if (text.length === 25 && text.charCodeAt(22) !== 58 /* : */) return undefined;
  const h = num(text, 9, 2), mi = num(text, 11, 2), s = num(text, 13, 2), ms = num(text, 16, 3);
  const oh = num(text, 20, 2), om = num(text, text.length === 25 ? 23 : 22, 2);
  if (!(h <= 23 && mi <= 59 && s <= 59 && ms >= 0 && oh <= 23 && om <= 59)) return undefined; // also false for NaN
  const day = utcDayStart(text);
  if (Number.isNaN(day)) return undefined;
  return day + ((h * 60 + mi) * 60 + s) * 1000 + ms - (sign === 45 ? -1 : 1) * (oh * 60 + om) * 60_000;
}

/** The same as an ISO string (`2019-01-31T15:18:55.589Z`). */
export function parseQlikTimestamp(text: string): string | undefined {
  const ms = parseQlikTimestampMs(text);
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export type ParsedRow =
  | {
      ok: true;
      sequence: number;
      timestamp: string;
      /** UTC epoch milliseconds, or undefined when the timestamp is not valid. */
      timestampMs: number | undefined;
      checksum: string;
      /** SHA-1 we computed over the row bytes. */
      computedChecksum: string;
    }
  | { ok: false; detail: string; sequence: number | undefined };

function sequenceOf(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

const MAX_FIELDS = 256;
const starts = new Int32Array(MAX_FIELDS + 1); // field start offsets, reused for every row

function field(bytes: Buffer, i: number, fieldCount: number): string | undefined {
  if (i >= fieldCount || i >= MAX_FIELDS) return undefined;
  return bytes.toString('utf8', starts[i], i + 1 < fieldCount ? (starts[i + 1] as number) - 1 : bytes.length);
}

/** Reads only what verification needs (sequence, timestamp, checksum); ingestion splits the rest. */
export function parseRow(bytes: Buffer, header: Header): ParsedRow {
  let fieldCount = 1;
  starts[0] = 0;
  for (let tab = bytes.indexOf(TAB); tab !== -1; tab = bytes.indexOf(TAB, tab + 1)) {
    if (fieldCount < MAX_FIELDS) starts[fieldCount] = tab + 1;
    fieldCount++;
  }
  const sequence = sequenceOf(field(bytes, header.sequence, fieldCount));
  if (fieldCount !== header.columns.length) {
    return { ok: false, detail: `${fieldCount} fields, the header has ${header.columns.length}`, sequence };
  }
  if (sequence === undefined) return { ok: false, detail: `Sequence# '${(field(bytes, header.sequence, fieldCount) ?? '').slice(0, 40)}' is not a number`, sequence };
  const timestamp = field(bytes, header.timestamp, fieldCount) ?? '';
  return {
    ok: true,
    sequence,
    timestamp,
    timestampMs: parseQlikTimestampMs(timestamp),
    checksum: field(bytes, header.checksum, fieldCount) ?? '',
    // The row bytes up to and including the TAB before the Checksum field.
    computedChecksum: hash('sha1', bytes.subarray(0, header.checksum === 0 ? 0 : starts[header.checksum]), 'hex'),
  };
}
