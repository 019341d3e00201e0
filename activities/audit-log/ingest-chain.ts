// Ingesting one chain (one machine and service) into the store, resumably:
//   - each file is read from its checkpoint (byte offset, line, verifier state), stored per batch in
//     one transaction with its rows, findings and digest-chain entry, so a killed worker loses and
//     doubles nothing;
//   - when Qlik rolls the live .txt into an archived .log, the archive continues from the live file's
//     checkpoint (the bytes are the same), and rows already stored are never stored twice;
//   - a batch's rows go in with one COPY (row-encoding.ts); another process ingesting the same chain
//     waits its turn.
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { readLines } from './line-reader';
import type { LogFile } from './log-files';
import { parseHeader, parseRow } from './rows';
import { LogFileScanner, newChainState, type ChainState, type Finding, type FileProgress, type ScanItem } from './scanner';
import { batchDigest, GENESIS_DIGEST } from './digest';
import { COPY_COLUMNS, copyBatch, encodeRow, filePrefix, noNul, type EncodedRow } from './row-encoding';
import type { AuditStore, TxSql } from './store';

export interface IngestOptions {
  runId: string;
  sequenceMax: number;
  batchSize?: number;
  /** Called after every committed batch (the activity heartbeats from it). */
  onProgress?: (progress: { file: string; offset: number; line: number; rowsStored: number }) => void;
  /** Called about once a second while another process ingests this chain (the activity heartbeats). */
  onWait?: () => void;
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
    return row.ok ? noNul(row.checksum) : undefined; // as stored
  }
  return undefined;
}

/** A row already stored (same machine, service, sequence and checksum) makes a COPY fail as a whole. */
const isDuplicateRow = (err: unknown) => (err as { code?: string }).code === '23505'; // unique_violation

/** The rows of `rows` not stored yet (a replayed row, or a live file's row met again), each once. */
async function unstoredRows(sql: TxSql, file: LogFile, rows: EncodedRow[]): Promise<EncodedRow[]> {
  const { rows: existing } = await sql.query<{ sequence: string | number; checksum: string }>(
    'SELECT sequence, checksum FROM audit_rows WHERE machine = $1 AND service = $2 AND sequence = ANY($3::bigint[])',
    [file.machine, file.service, rows.map((r) => r.sequence)],
  );
  const seen = new Set(existing.map((r) => `${r.sequence}\u0000${r.checksum}`));
  return rows.filter((r) => {
    const key = `${r.sequence}\u0000${r.checksum}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

const DIGEST_CHAIN_LOCK = 7223372036; // one digest chain: one writer at a time

interface Batch {
  rows: EncodedRow[];
  findings: Finding[];
  progress: FileProgress;
  state: ChainState;
  complete: boolean;
  summary: LogFileScanner['summary'];
}

/**
 * Rows, findings, digest and checkpoint of one batch: all or nothing, in five round trips (the rows
 * in one COPY). Only when a row is already stored does the batch go again, without such rows.
 */
async function commitBatch(store: AuditStore, file: LogFile, batch: Batch, runId: string): Promise<number> {
  try {
    return await store.transaction((sql) => writeBatch(sql, file, batch, runId, batch.rows), { lock: DIGEST_CHAIN_LOCK });
  } catch (err) {
    if (!isDuplicateRow(err)) throw err;
    return store.transaction(async (sql) => writeBatch(sql, file, batch, runId, await unstoredRows(sql, file, batch.rows)), { lock: DIGEST_CHAIN_LOCK });
  }
}

async function writeBatch(sql: TxSql, file: LogFile, batch: Batch, runId: string, rows: EncodedRow[]): Promise<number> {
  const fileName = path.basename(file.path);
  const { rows: head } = await sql.query<{ id: string; previous: string }>(
    `SELECT nextval(pg_get_serial_sequence('audit_batches', 'id')) AS id,
            COALESCE((SELECT digest FROM audit_batches ORDER BY id DESC LIMIT 1), $1) AS previous`,
    [GENESIS_DIGEST],
  );
  const batchId = String(head[0]?.id);
  const previous = head[0]?.previous ?? GENESIS_DIGEST;
  if (rows.length > 0) await sql.copyFrom('audit_rows', COPY_COLUMNS, copyBatch(rows, batchId));
  const { findings } = batch;
  const first = batch.rows[0];
  await sql.query(
    `WITH batch AS (
       INSERT INTO audit_batches (id, run_id, machine, service, file_name, row_count, prev_digest, digest)
       SELECT $17, $18, $1, $2, $3, $19, $20, $21 WHERE $19::int > 0
     ), findings AS (
       INSERT INTO audit_findings (run_id, kind, severity, machine, service, file_name, path, line, sequence, detail)
       SELECT $18, f.kind, f.severity, $1, $2, f.file_name, f.path, f.line, f.sequence, f.detail
       FROM unnest($22::text[], $23::text[], $24::text[], $25::text[], $26::int[], $27::bigint[], $28::text[]) AS f(kind, severity, file_name, path, line, sequence, detail)
       ON CONFLICT (machine, service, file_name, line, kind) DO NOTHING
     )
     INSERT INTO audit_files (machine, service, file_name, path, live, closed_at, checkpoint_offset, checkpoint_line, chain_state, first_checksum, complete, rows, first_sequence, last_sequence, signature)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     ON CONFLICT (machine, service, file_name) DO UPDATE SET
       path = EXCLUDED.path, live = EXCLUDED.live, closed_at = EXCLUDED.closed_at,
       checkpoint_offset = EXCLUDED.checkpoint_offset, checkpoint_line = EXCLUDED.checkpoint_line, chain_state = EXCLUDED.chain_state,
       first_checksum = COALESCE(audit_files.first_checksum, EXCLUDED.first_checksum), complete = EXCLUDED.complete,
       rows = audit_files.rows + $16, first_sequence = COALESCE(audit_files.first_sequence, EXCLUDED.first_sequence),
       last_sequence = COALESCE(EXCLUDED.last_sequence, audit_files.last_sequence), signature = EXCLUDED.signature, updated_at = now()`,
    [
      file.machine, file.service, fileName, file.path, file.live, file.closedAt, batch.progress.offset, batch.progress.line, JSON.stringify(batch.state),
      first?.checksum ?? null, batch.complete, batch.rows.length, first?.sequence ?? null, batch.rows.at(-1)?.sequence ?? null, batch.summary.signature, batch.rows.length,
      batchId, runId, rows.length, previous, batchDigest(previous, rows.map((r) => r.digest)),
      findings.map((f) => f.kind), findings.map((f) => f.severity), findings.map((f) => path.basename(f.file)), findings.map((f) => f.file),
      findings.map((f) => f.line), findings.map((f) => f.sequence ?? null), findings.map((f) => f.detail),
    ],
  );
  return rows.length;
}

/** Ingests the files of one chain (already ordered: archives by close time, then the live file). */
export async function ingestChain(store: AuditStore, chain: LogFile[], options: IngestOptions): Promise<ChainResult> {
  const first = chain[0];
  if (!first) return { files: 0, rowsStored: 0, findings: {} };
  // Runs on other workers (a scheduled and an on-demand one) take the chain in turns, each from the
  // checkpoints the previous one left, so none reads what another is storing.
  const name = `audit-chain:${first.machine.toLowerCase()}/${first.service.toLowerCase()}`;
  return store.exclusive(name, () => ingestChainFiles(store, chain, first, options), { onWait: options.onWait, signal: options.signal });
}

async function ingestChainFiles(store: AuditStore, chain: LogFile[], first: LogFile, options: IngestOptions): Promise<ChainResult> {
  const batchSize = options.batchSize ?? 2000;
  const result: ChainResult = { files: 0, rowsStored: 0, findings: {} };
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
    const prefix = filePrefix(file, fileName);
    let pendingRows: EncodedRow[] = [];
    let pendingFindings: Finding[] = [];
    // One commit in flight while the next chunks are read, parsed and encoded: PostgreSQL and this
    // process work at the same time. Commits stay in order, so checkpoints only ever move forward.
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
        for (let i = 0; i < items.length; i++) {
          const item = items[i] as ScanItem;
          if (item.type === 'row') pendingRows.push(encodeRow(prefix, item.row));
          else pendingFindings.push(item.finding);
          // Let the event loop turn every ~1 ms: the commit in flight streams its COPY data as the
          // socket drains, so PostgreSQL works while this process parses.
          if (i % 128 === 127) await yieldToEventLoop();
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
