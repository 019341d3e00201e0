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

/** Where each header column goes: a typed column's index, or the name to keep in `extra` (once per header). */
const layouts = new WeakMap<Header, { typed: number[]; extra: [string, number][] }>();
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
    layout = { typed, extra };
    layouts.set(header, layout);
  }
  return layout;
}

/** A row ready to store: its COPY line (every column but the batch), its key and its digest checksum. */
export interface EncodedRow {
  sequence: number;
  checksum: string;
  copy: string;
  digest: string;
}

// The batch id goes last, so a batch's COPY text is one join of the encoded rows.
export const COPY_COLUMNS = [...HASHED_COLUMNS, 'batch_id'] as const;

/**
 * The row as verify-store will re-encode it (`rowLine` in digest.ts), built straight from the line:
 * fields never hold a TAB or LF (they separate them), so escaping the line once escapes every field.
 * It runs for every row, hence one regular expression per row, not per field.
 */
export function encodeRow(filePrefix: string, row: VerifiedRow): EncodedRow {
  const text = noNul(row.bytes.toString('utf8'));
  const fields = copyEscapeFields(text).split('\t');
  const { header } = row;
  const { typed, extra } = layoutOf(header);
  let line = `${filePrefix}${row.sequence}\t${row.timestampMs === undefined ? '\\N' : new Date(row.timestampMs).toISOString()}\t${fields[header.timestamp]}`;
  for (const i of typed) line += i < 0 ? '\t\\N' : `\t${fields[i]}`;
  if (extra.length === 0) line += '\t\\N';
  else {
    const plain = text.split('\t');
    line += `\t${copyEscape(sortedJson(Object.fromEntries(extra.map(([name, i]) => [name, plain[i]]))))}`;
  }
  line += `\t${fields[header.checksum]}\t${row.checksumValid}\t${row.headerOk}\t${row.line}`;
  return { sequence: row.sequence, checksum: noNul(row.checksum), copy: line, digest: lineChecksum(line) };
}

export const copyBatch = (rows: EncodedRow[], batchId: string) => `${rows.map((r) => r.copy).join(`\t${batchId}\n`)}\t${batchId}\n`;

/** The columns a file's rows share (machine, service, file name), encoded once per file. */
export const filePrefix = (file: LogFile, fileName: string) => `${copyEscape(file.machine)}\t${copyEscape(file.service)}\t${copyEscape(fileName)}\t`;
