// A verified row as the store keeps it: one line of PostgreSQL COPY text (every column but the batch
// id), built once, sent to COPY and hashed for the digest chain — verify-store re-encodes a stored row
// the same way (`rowLine` in digest.ts), so the two must agree to the byte.
import type { LogFile } from '../audit-log/log-files';
import type { Header } from '../audit-log/rows';
import type { VerifiedRow } from '../audit-log/scanner';
import { copyEscape, copyEscapeFields, HASHED_COLUMNS, lineChecksum, sortedJson } from './digest';
import { ROW_COLUMNS } from './store';

const KNOWN = new Set(['sequence#', 'timestamp', 'checksum']);

// PostgreSQL text cannot hold NUL: a hostile or damaged file must not make every retry fail.
export const noNul = (text: string) => (text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text);

const TYPED_COLUMNS = Object.values(ROW_COLUMNS);

/**
 * Where each header column goes, worked out once per header: the typed columns as runs of adjacent
 * header fields (Qlik's layout is two runs: ProductVersion, then HostName..Message), so a row's line
 * is a few slices of its text, not a split and a join of every field; and the names kept in `extra`.
 */
type Part = { from: number; to: number } | null; // header fields from..to (adjacent), or a NULL column
const layouts = new WeakMap<Header, { parts: Part[]; extra: [string, number][] }>();
function layoutOf(header: Header) {
  let layout = layouts.get(header);
  if (!layout) {
    const typed = TYPED_COLUMNS.map(() => -1);
    const extra: [string, number][] = [];
    header.columns.forEach((name, i) => {
      const key = name.trim().toLowerCase();
      if (KNOWN.has(key)) return;
      const column = ROW_COLUMNS[key];
      if (column) typed[TYPED_COLUMNS.indexOf(column)] = i;
      else extra.push([name, i]);
    });
    const parts: Part[] = [];
    for (const i of typed) {
      const last = parts.at(-1);
      if (i >= 0 && last && last.to === i - 1) last.to = i;
      else parts.push(i < 0 ? null : { from: i, to: i });
    }
    layout = { parts, extra };
    layouts.set(header, layout);
  }
  return layout;
}

/** Field start offsets of the row being encoded (reused: this runs for every row). */
let starts = new Int32Array(64);

/** Fields from..to of the row being encoded, with the TABs between them (no closure per row). */
const fields = (line: string, from: number, to: number) => line.slice(starts[from], (starts[to + 1] as number) - 1);

/** The ISO text of the last whole second seen: rows come in time order, many to a second. */
let lastSecond = NaN;
let lastSecondIso = '';
const MAX_CACHED_MS = Date.UTC(9999, 11, 31, 23, 59, 59); // beyond, toISOString has six-digit years

function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms <= MAX_CACHED_MS && Number.isInteger(ms))) return new Date(ms).toISOString();
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondIso = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const fraction = ms - second * 1000;
  return `${lastSecondIso}.${fraction < 10 ? '00' : fraction < 100 ? '0' : ''}${fraction}Z`;
}

/** A row ready to store: its COPY line in UTF-8 (every column but the batch), its key and its digest checksum. */
export interface EncodedRow {
  sequence: number;
  checksum: string;
  copy: Buffer;
  digest: string;
}

// The batch id goes last, so a batch's COPY data is the encoded rows, each followed by it.
export const COPY_COLUMNS = [...HASHED_COLUMNS, 'batch_id'] as const;

/**
 * The row as verify-store will re-encode it (`rowLine` in digest.ts), built straight from the line:
 * fields never hold a TAB or LF (they separate them), so escaping the line once escapes every field,
 * and adjacent columns are one slice of it. This runs for every row ingested.
 */
export function encodeRow(filePrefix: string, row: VerifiedRow): EncodedRow {
  const text = noNul(row.bytes.toString('utf8'));
  const escaped = copyEscapeFields(text);
  const { header } = row;
  const count = header.columns.length; // a verified row has exactly as many fields as its header
  if (starts.length < count + 1) starts = new Int32Array(count + 1);
  starts[0] = 0;
  for (let i = 1, tab = escaped.indexOf('\t'); i < count; i++, tab = escaped.indexOf('\t', tab + 1)) starts[i] = tab + 1;
  starts[count] = escaped.length + 1;
  const { parts, extra } = layoutOf(header);
  let line = `${filePrefix}${row.sequence}\t${row.timestampMs === undefined ? '\\N' : isoTimestamp(row.timestampMs)}\t${fields(escaped, header.timestamp, header.timestamp)}`;
  for (const part of parts) line += part === null ? '\t\\N' : `\t${fields(escaped, part.from, part.to)}`;
  if (extra.length === 0) line += '\t\\N';
  else {
    const plain = text.split('\t');
    line += `\t${copyEscape(sortedJson(Object.fromEntries(extra.map(([name, i]) => [name, plain[i]]))))}`;
  }
  line += `\t${fields(escaped, header.checksum, header.checksum)}\t${row.checksumValid}\t${row.headerOk}\t${row.line}`;
  // Encoded to UTF-8 once: the digest hashes these bytes and the batch's COPY data is made of them.
  const copy = Buffer.from(line);
  return { sequence: row.sequence, checksum: noNul(row.checksum), copy, digest: lineChecksum(copy) };
}

/** A batch's COPY data: each row's line and the batch id, copied once into one buffer. */
export function copyBatch(rows: EncodedRow[], batchId: string): Buffer {
  const suffix = Buffer.from(`\t${batchId}\n`);
  const parts: Buffer[] = [];
  for (const row of rows) parts.push(row.copy, suffix);
  return Buffer.concat(parts);
}

/** The columns a file's rows share (machine, service, file name), encoded once per file. */
export const filePrefix = (file: LogFile, fileName: string) => `${copyEscape(file.machine)}\t${copyEscape(file.service)}\t${copyEscape(fileName)}\t`;
