// Ingesting one chain (one machine and service) into the store, resumably:
//   - each file is read from its checkpoint (byte offset, line, verifier state), stored per batch in
//     one transaction with its rows, findings and digest-chain entry, so a killed worker loses and
//     doubles nothing;
//   - when Qlik rolls the live .txt into an archived .log, the archive continues from the live file's
//     checkpoint (the bytes are the same), and rows already stored are never stored twice.
import path from 'node:path';
import { readLines } from './line-reader';
import type { LogFile } from './log-files';
import { parseHeader, parseRow, splitFields, type Header } from './rows';
import { LogFileScanner, newChainState, type ChainState, type Finding, type FileProgress, type VerifiedRow } from './scanner';
import { batchDigest, GENESIS_DIGEST, rowChecksum } from './digest';
import { ROW_COLUMNS, type AuditStore, type Sql } from './store';

export interface IngestOptions {
  runId: string;
  sequenceMax: number;
  batchSize?: number;
  /** Called after every committed batch (the activity heartbeats from it). */
  onProgress?: (progress: { file: string; offset: number; line: number; rowsStored: number }) => void;
  signal?: AbortSignal;
}

export interface ChainResult {
  files: number;
  rowsStored: number;
  findings: Record<string, number>;
}

interface FileRecord {
  file_name: string;
  live: boolean;
  checkpoint_offset: string | number;
  checkpoint_line: number;
  chain_state: ChainState | null;
  first_checksum: string | null;
  complete: boolean;
}

const INSERT_COLUMNS = [
  'batch_id', 'machine', 'service', 'sequence', 'ts_utc', 'ts_text', ...Object.values(ROW_COLUMNS), 'extra', 'checksum', 'checksum_valid', 'raw', 'file_name', 'line',
];
const KNOWN = new Set(['sequence#', 'timestamp', 'checksum']);

/** The checksum of a file's first row (to recognise a rolled live file), if it has one. */
async function firstRowChecksum(file: string): Promise<string | undefined> {
  let header;
  for await (const line of readLines(file, { maxLineBytes: 1024 * 1024 })) {
    if (!line.complete) return undefined;
    if (!header) {
      const parsed = parseHeader(line.bytes);
      if ('error' in parsed) return undefined;
      header = parsed;
      continue;
    }
    const row = parseRow(line.bytes, header);
    return row.ok ? row.checksum : undefined;
  }
  return undefined;
}

// PostgreSQL text cannot hold NUL: a hostile or damaged file must not make every retry fail.
const noNul = (text: string) => (text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text);

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

function rowValues(batchId: string, file: LogFile, row: VerifiedRow): unknown[] {
  const fields = splitFields(row.bytes);
  const { typed, extra } = layoutOf(row.header);
  const extras = extra.length ? JSON.stringify(Object.fromEntries(extra.map(([name, i]) => [name, noNul(fields[i] ?? '')]))) : null;
  return [
    batchId, file.machine, file.service, row.sequence, row.timestampMs === undefined ? null : new Date(row.timestampMs).toISOString(), noNul(row.timestamp),
    ...typed.map((i) => (i < 0 ? null : noNul(fields[i] ?? ''))),
    extras, noNul(row.checksum), row.checksumValid, noNul(row.bytes.toString('utf8')), path.basename(file.path), row.line,
  ];
}

const COLUMN_TYPES: Record<string, string> = { batch_id: 'bigint', sequence: 'bigint', ts_utc: 'timestamptz', extra: 'jsonb', checksum_valid: 'boolean', line: 'integer' };

/**
 * One INSERT for the whole batch: a parameter per column (an array), unnested by the server. Returns
 * the rows actually inserted (a row already stored, e.g. from the live file, is skipped), in order.
 */
async function storeRows(sql: Sql, batchId: string, file: LogFile, rows: VerifiedRow[]): Promise<Record<string, unknown>[]> {
  if (rows.length === 0) return [];
  const values = rows.map((row) => rowValues(batchId, file, row));
  const columns: unknown[][] = INSERT_COLUMNS.map((_, i) => values.map((v) => v[i]));
  const { rows: inserted } = await sql.query<{ sequence: string | number; checksum: string }>(
    `INSERT INTO audit_rows (${INSERT_COLUMNS.join(',')})
     SELECT * FROM unnest(${INSERT_COLUMNS.map((c, i) => `$${i + 1}::${COLUMN_TYPES[c] ?? 'text'}[]`).join(',')})
     ON CONFLICT (machine, service, sequence, checksum) DO NOTHING RETURNING sequence, checksum`,
    columns,
  );
  const stored = new Set(inserted.map((r) => `${r.sequence}\u0000${r.checksum}`));
  return values
    .filter((v) => stored.has(`${v[3]}\u0000${v[INSERT_COLUMNS.indexOf('checksum')]}`))
    .map((v) => Object.fromEntries(INSERT_COLUMNS.map((c, i) => [c, c === 'extra' && typeof v[i] === 'string' ? JSON.parse(v[i] as string) : v[i]])));
}

/** Rows, findings, digest and checkpoint of one batch: all or nothing. */
async function commitBatch(
  store: AuditStore,
  file: LogFile,
  batch: { rows: VerifiedRow[]; findings: Finding[]; progress: FileProgress; state: ChainState; complete: boolean; summary: LogFileScanner['summary'] },
  runId: string,
): Promise<number> {
  const fileName = path.basename(file.path);
  return store.transaction(async (sql) => {
    if (store.kind === 'postgres') await sql.query('SELECT pg_advisory_xact_lock(7223372036)'); // one digest chain: one writer at a time
    const previous = (await sql.query<{ digest: string }>('SELECT digest FROM audit_batches ORDER BY id DESC LIMIT 1')).rows[0]?.digest ?? GENESIS_DIGEST;
    const { rows: created } = await sql.query<{ id: string }>(
      `INSERT INTO audit_batches (run_id, machine, service, file_name, row_count, prev_digest, digest) VALUES ($1,$2,$3,$4,0,$5,'') RETURNING id`,
      [runId, file.machine, file.service, fileName, previous],
    );
    const batchId = String(created[0]?.id);
    const stored = await storeRows(sql, batchId, file, batch.rows);
    if (stored.length === 0) await sql.query('DELETE FROM audit_batches WHERE id = $1', [batchId]);
    else await sql.query('UPDATE audit_batches SET row_count = $1, digest = $2 WHERE id = $3', [stored.length, batchDigest(previous, stored.map(rowChecksum)), batchId]);
    for (const f of batch.findings) {
      await sql.query(
        `INSERT INTO audit_findings (run_id, kind, severity, machine, service, file_name, path, line, sequence, detail)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (machine, service, file_name, line, kind) DO NOTHING`,
        [runId, f.kind, f.severity, file.machine, file.service, path.basename(f.file), f.file, f.line, f.sequence ?? null, f.detail],
      );
    }
    const first = batch.rows[0];
    await sql.query(
      `INSERT INTO audit_files (machine, service, file_name, path, live, closed_at, checkpoint_offset, checkpoint_line, chain_state, first_checksum, complete, rows, first_sequence, last_sequence, signature)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
       ON CONFLICT (machine, service, file_name) DO UPDATE SET
         path = EXCLUDED.path, live = EXCLUDED.live, closed_at = EXCLUDED.closed_at,
         checkpoint_offset = EXCLUDED.checkpoint_offset, checkpoint_line = EXCLUDED.checkpoint_line, chain_state = EXCLUDED.chain_state,
         first_checksum = COALESCE(audit_files.first_checksum, EXCLUDED.first_checksum), complete = EXCLUDED.complete,
         rows = audit_files.rows + $16, first_sequence = COALESCE(audit_files.first_sequence, EXCLUDED.first_sequence),
         last_sequence = COALESCE(EXCLUDED.last_sequence, audit_files.last_sequence), signature = EXCLUDED.signature, updated_at = now()`,
      [
        file.machine, file.service, fileName, file.path, file.live, file.closedAt, batch.progress.offset, batch.progress.line, JSON.stringify(batch.state),
        first?.checksum ?? null, batch.complete, batch.rows.length, first?.sequence ?? null, batch.rows.at(-1)?.sequence ?? null, batch.summary.signature, batch.rows.length,
      ],
    );
    return stored.length;
  });
}

/** Ingests the files of one chain (already ordered: archives by close time, then the live file). */
export async function ingestChain(store: AuditStore, chain: LogFile[], options: IngestOptions): Promise<ChainResult> {
  const batchSize = options.batchSize ?? 1000;
  const result: ChainResult = { files: 0, rowsStored: 0, findings: {} };
  const first = chain[0];
  if (!first) return result;
  const { rows } = await store.query<FileRecord>('SELECT file_name, live, checkpoint_offset, checkpoint_line, chain_state, first_checksum, complete FROM audit_files WHERE machine = $1 AND service = $2', [first.machine, first.service]);
  const records = new Map(rows.map((r) => [r.file_name, r]));
  let liveRecord = rows.find((r) => r.live);
  let state = newChainState();

  for (const file of chain) {
    options.signal?.throwIfAborted();
    const fileName = path.basename(file.path);
    let record = records.get(fileName);
    if (!record && !file.live && liveRecord?.first_checksum && (await firstRowChecksum(file.path)) === liveRecord.first_checksum) {
      // Qlik rolled the live file into this archive: same bytes, so continue from its checkpoint.
      await store.query('UPDATE audit_files SET file_name = $1, path = $2, live = false, closed_at = $3 WHERE machine = $4 AND service = $5 AND file_name = $6', [
        fileName, file.path, file.closedAt, file.machine, file.service, liveRecord.file_name,
      ]);
      records.delete(liveRecord.file_name);
      record = { ...liveRecord, file_name: fileName, live: false };
      liveRecord = undefined;
    }
    if (record && file.live && record.first_checksum && (await firstRowChecksum(file.path)) !== record.first_checksum) {
      // A new live file (the old one was rolled, but its archive is not visible here): start it over.
      await store.query('DELETE FROM audit_files WHERE machine = $1 AND service = $2 AND file_name = $3', [file.machine, file.service, fileName]);
      record = undefined;
    }
    if (record?.complete) {
      state = record.chain_state ?? state;
      continue;
    }
    result.files++;
    state = record?.chain_state ?? state;
    const resume = record ? { offset: Number(record.checkpoint_offset), line: record.checkpoint_line } : undefined;
    const scanner = new LogFileScanner(file, state, { sequenceMax: options.sequenceMax, resume: resume && resume.offset > 0 ? resume : undefined });
    let pendingRows: VerifiedRow[] = [];
    let pendingFindings: Finding[] = [];
    // One commit in flight while the next chunk is read and parsed: PostgreSQL and this process work
    // at the same time. Commits stay in order, so checkpoints only ever move forward.
    let inFlight: Promise<void> = Promise.resolve();
    const flush = async (progress: FileProgress, complete: boolean) => {
      const batch = { rows: pendingRows, findings: pendingFindings, progress, state: structuredClone(state), complete, summary: { ...scanner.summary } };
      pendingRows = [];
      pendingFindings = [];
      await inFlight;
      options.signal?.throwIfAborted(); // cancelled (or heartbeat lost) while waiting: start no new commit
      inFlight = commitBatch(store, file, batch, options.runId).then((stored) => {
        result.rowsStored += stored;
        for (const f of batch.findings) result.findings[f.kind] = (result.findings[f.kind] ?? 0) + 1;
        options.onProgress?.({ file: file.path, offset: progress.offset, line: progress.line, rowsStored: result.rowsStored });
      });
      inFlight.catch(() => undefined); // awaited by the next flush or at the end of the file
    };
    try {
      for await (const items of scanner.scan()) {
        // The scanner has already moved the chain state past this chunk, so a batch is committed at a
        // chunk boundary: its checkpoint, state and rows then all describe the same point in the file.
        for (const item of items) {
          if (item.type === 'row') pendingRows.push(item.row);
          else pendingFindings.push(item.finding);
        }
        const last = items.at(-1);
        if (last && pendingRows.length >= batchSize) {
          await flush(last.progress, false);
        }
      }
      await flush(scanner.progress, !file.live);
    } finally {
      await inFlight.catch(() => undefined); // never leave a commit running behind a failed or aborted scan
    }
    await inFlight;
  }
  return result;
}
