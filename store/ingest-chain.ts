// Ingesting one chain (one machine and service) into the store, resumably:
//   - each file is read from its checkpoint (byte offset, line, verifier state), stored per batch in
//     one transaction with its rows, findings and digest-chain entry, so a killed worker loses and
//     doubles nothing;
//   - when Qlik rolls the live .txt into an archived .log, the archive continues from the live file's
//     checkpoint (the bytes are the same), and rows already stored are never stored twice;
//   - a batch's rows go in with one COPY (row-encoding.ts); batches of small files share a transaction
//     (ChainCommitter), each keeping its own chain entry and checkpoint; small archives are read a few
//     files ahead (ReadAhead); another process ingesting the same chain waits its turn.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { readLines, readSmallFile } from '../audit-log/line-reader';
import type { LogFile } from '../audit-log/log-files';
import { parseHeader, parseRow } from '../audit-log/rows';
import { LogFileScanner, newChainState, type ChainState, type Finding, type FileProgress, type ScanItem } from '../audit-log/scanner';
import { batchDigest, DIGEST_CHAIN_LOCK, findingLine, lineChecksum, listHash, reserveEntries, type DigestKey } from './digest';
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
  /** The HMAC key of the digest chain; without one, the chain is plain SHA-256. */
  digestKey?: DigestKey;
  /** The site's AuditSecurity columns, if it changed the log4net layout (auditSecurityLog.columns). */
  columns?: readonly string[];
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

/**
 * The rows of `rows` not stored yet (a replayed row, or a live file's row met again), each once;
 * `seen` carries the rows kept by earlier batches of the same transaction.
 */
async function unstoredRows(sql: TxSql, file: LogFile, rows: EncodedRow[], seen = new Set<string>()): Promise<EncodedRow[]> {
  const { rows: existing } = await sql.query<{ sequence: string | number; checksum: string }>(
    'SELECT sequence, checksum FROM audit_rows WHERE machine = $1 AND service = $2 AND sequence = ANY($3::bigint[])',
    [file.machine, file.service, rows.map((r) => r.sequence)],
  );
  for (const r of existing) seen.add(`${r.sequence}\u0000${r.checksum}`);
  return rows.filter((r) => {
    const key = `${r.sequence}\u0000${r.checksum}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}


interface Batch {
  file: LogFile;
  rows: EncodedRow[];
  findings: Finding[];
  progress: FileProgress;
  state: ChainState;
  complete: boolean;
  summary: LogFileScanner['summary'];
}

/**
 * The batches of one transaction, with the rows each stores: small files (a day's 20 rows) share a
 * transaction, so a chain of daily files costs a commit per ~batchSize rows, not per file. Each file
 * keeps its own digest-chain entry and checkpoint, as if committed alone.
 */
type Group = { batch: Batch; rows: EncodedRow[] }[];

/**
 * Rows, findings, digests and checkpoints of a group of batches: all or nothing, in six round trips
 * (all rows in one COPY). Only when a row is already stored does the group go again, without such rows.
 */
async function commitGroup(store: AuditStore, batches: Batch[], runId: string, key: DigestKey | undefined): Promise<number[]> {
  try {
    return await store.transaction((sql) => writeGroup(sql, batches.map((batch) => ({ batch, rows: batch.rows })), runId, key), { lock: DIGEST_CHAIN_LOCK });
  } catch (err) {
    if (!isDuplicateRow(err)) throw err;
    return store.transaction(async (sql) => {
      // One set across the group: two batches of it may hold the same rows (a file and its copy in a second folder).
      const seen = new Set<string>();
      const group: Group = [];
      for (const batch of batches) group.push({ batch, rows: batch.rows.length > 0 ? await unstoredRows(sql, batch.file, batch.rows, seen) : [] });
      return writeGroup(sql, group, runId, key);
    }, { lock: DIGEST_CHAIN_LOCK });
  }
}

/** Query parameters by value: `${p(x)}` in the SQL text becomes `$n`. */
function parameters() {
  const values: unknown[] = [];
  const p = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  return { values, p };
}

/**
 * Rows (one COPY), findings, the digest-chain entries and the checkpoints of a group of batches, in
 * order. Findings already stored (the same kind on the same line, met again) are not stored twice, so
 * each entry covers its findings as inserted, in id order — as verify-store reads them back.
 */
async function writeGroup(sql: TxSql, group: Group, runId: string, key: DigestKey | undefined): Promise<number[]> {
  const reserved = await reserveEntries(sql, group.length);
  const { ids } = reserved;
  let previous = reserved.previous;
  const copy = Buffer.concat(group.map(({ rows }, i) => copyBatch(rows, ids[i] as string)));
  if (copy.length > 0) await sql.copyFrom('audit_rows', COPY_COLUMNS, copy);

  const findings = group.flatMap(({ batch }, i) => batch.findings.map((finding) => ({ finding, file: batch.file, batchId: ids[i] as string })));
  const stored = new Map<string, Record<string, unknown>[]>();
  if (findings.length > 0) {
    const f = parameters();
    const { rows } = await sql.query<Record<string, unknown>>(
      `INSERT INTO audit_findings (run_id, kind, severity, machine, service, file_name, path, line, sequence, detail, batch_id)
       SELECT ${f.p(runId)}, u.kind, u.severity, u.machine, u.service, u.file_name, u.path, u.line, u.sequence, u.detail, u.batch_id
       FROM unnest(${f.p(findings.map((x) => x.finding.kind))}::text[], ${f.p(findings.map((x) => x.finding.severity))}::text[],
                   ${f.p(findings.map((x) => x.file.machine))}::text[], ${f.p(findings.map((x) => x.file.service))}::text[],
                   ${f.p(findings.map((x) => path.basename(x.finding.file)))}::text[], ${f.p(findings.map((x) => x.finding.file))}::text[],
                   ${f.p(findings.map((x) => x.finding.line))}::int[], ${f.p(findings.map((x) => x.finding.sequence ?? null))}::bigint[],
                   ${f.p(findings.map((x) => x.finding.detail))}::text[], ${f.p(findings.map((x) => x.batchId))}::bigint[])
            WITH ORDINALITY AS u(kind, severity, machine, service, file_name, path, line, sequence, detail, batch_id, n)
       ORDER BY u.n
       ON CONFLICT (machine, service, file_name, line, kind) DO NOTHING
       RETURNING id, batch_id, kind, severity, machine, service, file_name, path, line, sequence, detail`,
      f.values,
    );
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    for (const { batch_id, ...finding } of rows) stored.set(String(batch_id), [...(stored.get(String(batch_id)) ?? []), finding]);
  }

  // Each batch's chain entry (when it stored rows or findings) and its file's checkpoint.
  const entries: Record<string, unknown>[] = [];
  const checkpoints: Record<string, unknown>[] = [];
  group.forEach(({ batch, rows }, i) => {
    const { file } = batch;
    const fileName = path.basename(file.path);
    const ours = stored.get(ids[i] as string) ?? [];
    const content = {
      machine: file.machine,
      service: file.service,
      fileName,
      rowCount: rows.length,
      findingCount: ours.length,
      rowsHash: listHash(rows.map((r) => r.digest)),
      findingsHash: listHash(ours.map((x) => lineChecksum(findingLine(x)))),
    };
    if (content.rowCount + content.findingCount > 0) {
      const digest = batchDigest(previous, content, key);
      entries.push({ id: ids[i], machine: content.machine, service: content.service, file_name: fileName, row_count: content.rowCount, finding_count: content.findingCount, rows_hash: content.rowsHash, findings_hash: content.findingsHash, prev_digest: previous, digest });
      previous = digest;
    }
    const first = batch.rows[0];
    checkpoints.push({
      machine: file.machine, service: file.service, file_name: fileName, path: file.path, live: file.live, closed_at: file.closedAt,
      checkpoint_offset: batch.progress.offset, checkpoint_line: batch.progress.line, chain_state: batch.state, first_checksum: first?.checksum ?? null,
      complete: batch.complete, rows: batch.rows.length, first_sequence: first?.sequence ?? null, last_sequence: batch.rows.at(-1)?.sequence ?? null, signature: batch.summary.signature,
    });
  });
  const { values, p } = parameters();
  await sql.query(
    `WITH batch AS (
       INSERT INTO audit_batches (id, run_id, machine, service, file_name, row_count, finding_count, rows_hash, findings_hash, keyed, key_id, prev_digest, digest)
       SELECT e.id, ${p(runId)}, e.machine, e.service, e.file_name, e.row_count, e.finding_count, e.rows_hash, e.findings_hash, ${p(key !== undefined)}, ${p(key?.id ?? null)}, e.prev_digest, e.digest
       FROM jsonb_to_recordset(${p(JSON.stringify(entries))}::jsonb) AS e(id bigint, machine text, service text, file_name text, row_count int, finding_count int,
                                                                   rows_hash text, findings_hash text, prev_digest text, digest text)
       ORDER BY e.id
     )
     INSERT INTO audit_files (machine, service, file_name, path, live, closed_at, checkpoint_offset, checkpoint_line, chain_state, first_checksum, complete, rows, first_sequence, last_sequence, signature)
     SELECT c.machine, c.service, c.file_name, c.path, c.live, c.closed_at, c.checkpoint_offset, c.checkpoint_line, c.chain_state, c.first_checksum, c.complete, c.rows, c.first_sequence, c.last_sequence, c.signature
     FROM jsonb_to_recordset(${p(JSON.stringify(checkpoints))}::jsonb) AS c(machine text, service text, file_name text, path text, live boolean, closed_at timestamptz,
                                                                    checkpoint_offset bigint, checkpoint_line int, chain_state jsonb, first_checksum text, complete boolean,
                                                                    rows int, first_sequence bigint, last_sequence bigint, signature text)
     ON CONFLICT (machine, service, file_name) DO UPDATE SET
       path = EXCLUDED.path, live = EXCLUDED.live, closed_at = EXCLUDED.closed_at,
       checkpoint_offset = EXCLUDED.checkpoint_offset, checkpoint_line = EXCLUDED.checkpoint_line, chain_state = EXCLUDED.chain_state,
       first_checksum = COALESCE(audit_files.first_checksum, EXCLUDED.first_checksum), complete = EXCLUDED.complete,
       rows = audit_files.rows + EXCLUDED.rows, first_sequence = COALESCE(audit_files.first_sequence, EXCLUDED.first_sequence),
       last_sequence = COALESCE(EXCLUDED.last_sequence, audit_files.last_sequence), signature = EXCLUDED.signature, updated_at = now()`,
    values,
  );
  return group.map(({ rows }) => rows.length);
}

/**
 * Commits a chain's batches in order, one transaction in flight while the next chunks are read,
 * parsed and encoded (PostgreSQL and this process work at the same time), so checkpoints only ever
 * move forward. Batches of small files are held back and go together, up to `batchSize` rows.
 */
class ChainCommitter {
  private group: Batch[] = [];
  /** The file names in `group`: one statement upserts their checkpoints, so a name at most once. */
  private names = new Set<string>();
  private rows = 0;
  private findings = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AuditStore,
    private readonly options: IngestOptions & { batchSize: number },
    private readonly result: ChainResult,
  ) {}

  /** Queues a batch; a group that is full (or already has this file) goes first. */
  async add(batch: Batch): Promise<void> {
    // The same archive may sit in two source folders: the second copy waits for the next group.
    const name = path.basename(batch.file.path);
    if (this.names.has(name)) await this.send();
    this.group.push(batch);
    this.names.add(name);
    this.rows += batch.rows.length;
    this.findings += batch.findings.length;
    if (this.rows >= this.options.batchSize || this.findings >= FINDINGS_PER_BATCH) await this.send();
  }

  /** Starts committing what is queued, once the commit in flight is done. */
  async send(): Promise<void> {
    const batches = this.group;
    if (batches.length === 0) return;
    this.group = [];
    this.names.clear();
    this.rows = 0;
    this.findings = 0;
    await this.inFlight;
    this.options.signal?.throwIfAborted(); // cancelled (or the lock lost) while waiting: start no new commit
    this.inFlight = commitGroup(this.store, batches, this.options.runId, this.options.digestKey).then((stored) => {
      batches.forEach((batch, i) => {
        this.result.rowsStored += stored[i] ?? 0;
        for (const f of batch.findings) this.result.findings[f.kind] = (this.result.findings[f.kind] ?? 0) + 1;
      });
      const last = batches.at(-1) as Batch;
      this.options.onProgress?.({ file: last.file.path, offset: last.progress.offset, line: last.progress.line, rowsStored: this.result.rowsStored });
    });
    this.inFlight.catch(() => undefined); // awaited by the next send or by drain
  }

  /** Commits everything queued and waits for it. */
  async drain(): Promise<void> {
    await this.send();
    await this.inFlight;
  }

  /** Waits for the commit in flight without starting another (after a failed or aborted scan). */
  settle(): Promise<void> {
    this.group = [];
    this.names.clear();
    return this.inFlight.catch(() => undefined);
  }
}

/**
 * The first gap after a live file that was rolled away unseen names what is missing and why:
 * `expected 101: rows 101..123 are missing: X.txt was rolled over …`.
 */
function nameMissingRange(finding: Finding, rolled: { liveName: string; lastStored: number }): Finding {
  const next = rolled.lastStored + 1;
  if (finding.kind !== 'sequence-gap' || finding.sequence === undefined || finding.detail !== `expected ${next}`) return finding;
  return {
    ...finding,
    detail: `expected ${next}: rows ${next}..${finding.sequence - 1} are missing: ${rolled.liveName} was rolled over after row ${rolled.lastStored} was stored, and its archive is not in the sources; they are stored when it appears`,
  };
}

/** Ingests the files of one chain (already ordered: archives by close time, then the live file). */
export async function ingestChain(store: AuditStore, chain: LogFile[], options: IngestOptions): Promise<ChainResult> {
  const first = chain[0];
  if (!first) return { files: 0, rowsStored: 0, findings: {} };
  // Runs on other workers (a scheduled and an on-demand one) take the chain in turns, each from the
  // checkpoints the previous one left, so none reads what another is storing.
  const name = `audit-chain:${first.machine.toLowerCase()}/${first.service.toLowerCase()}`;
  return store.exclusive(
    name,
    (lockLost) => ingestChainFiles(store, chain, first, { ...options, signal: options.signal ? AbortSignal.any([options.signal, lockLost]) : lockLost }),
    { onWait: options.onWait, signal: options.signal },
  );
}

/**
 * Reads the next few small files of a chain while the current one is scanned: each read costs a few
 * thread-pool round trips, and a share of daily files is tens of thousands of them. Archives only
 * (they do not change); a file that cannot be read here is read again (streamed) by its scan, which
 * then reports the error.
 */
class ReadAhead {
  private readonly reads = new Map<string, Promise<Buffer | undefined>>();
  private next = 0;

  constructor(private readonly files: LogFile[]) {}

  async take(file: LogFile): Promise<Buffer | undefined> {
    while (this.next < this.files.length && this.reads.size < READ_AHEAD_FILES) {
      const ahead = (this.files[this.next++] as LogFile).path;
      this.reads.set(ahead, readSmallFile(ahead).catch(() => undefined));
    }
    const read = this.reads.get(file.path);
    if (!read) return undefined;
    this.reads.delete(file.path);
    return read;
  }
}
const READ_AHEAD_FILES = 4;

/** A live file Qlik rolled over whose archive has not been seen: its record waits under this name. */
const ROLLED = '#rolled-';
const FINDINGS_PER_BATCH = 1000;

async function ingestChainFiles(store: AuditStore, chain: LogFile[], first: LogFile, options: IngestOptions): Promise<ChainResult> {
  const batchSize = options.batchSize ?? 2000;
  const result: ChainResult = { files: 0, rowsStored: 0, findings: {} };
  const committer = new ChainCommitter(store, { ...options, batchSize }, result);
  try {
    await ingestFiles(store, chain, first, options, batchSize, result, committer);
    await committer.drain();
  } finally {
    await committer.settle(); // never leave a commit running behind a failed or aborted scan
  }
  return result;
}

async function ingestFiles(store: AuditStore, chain: LogFile[], first: LogFile, options: IngestOptions, batchSize: number, result: ChainResult, committer: ChainCommitter): Promise<void> {
  const { rows } = await store.query<FileRecord>('SELECT file_name, live, checkpoint_offset, checkpoint_line, chain_state, first_checksum, complete FROM audit_files WHERE machine = $1 AND service = $2', [first.machine, first.service]);
  const records = new Map(rows.map((r) => [r.file_name, r]));
  /** Records of live files not yet matched to their archive: the live one, and rolled ones waiting. */
  const unarchived = () => [...records.values()].filter((r) => r.live || r.file_name.includes(ROLLED));
  let state = newChainState();
  // Renames happen between files (at a roll-over): what is queued is committed first.
  const rename = async (from: string, to: string, file: LogFile, live: boolean) => {
    await committer.drain();
    await store.query('UPDATE audit_files SET file_name = $1, path = $2, live = $3, closed_at = $4 WHERE machine = $5 AND service = $6 AND file_name = $7', [
      to, file.path, live, file.closedAt, file.machine, file.service, from,
    ]);
  };

  // Small archives not stored yet are read a few files ahead, while the current one is scanned.
  const readAhead = new ReadAhead(chain.filter((f) => !f.live && !records.get(path.basename(f.path))?.complete));

  for (const file of chain) {
    options.signal?.throwIfAborted();
    const fileName = path.basename(file.path);
    let record = records.get(fileName);
    /** Set when this live file follows a rolled one whose archive is missing: the gap is named. */
    let rolledAway: { liveName: string; lastStored: number } | undefined;
    // A new archive may be a live file already (partly) stored; only then is its first row read twice.
    if (!record && !file.live && unarchived().length > 0) {
      const firstChecksum = await firstRowChecksum(file.path);
      const before = firstChecksum ? unarchived().find((r) => r.first_checksum === firstChecksum) : undefined;
      if (before) {
        // Qlik rolled that live file into this archive: same bytes, so continue from its checkpoint.
        await rename(before.file_name, fileName, file, false);
        records.delete(before.file_name);
        record = { ...before, file_name: fileName, live: false };
        records.set(fileName, record);
      }
    }
    if (record && file.live && record.first_checksum) {
      const firstChecksum = await firstRowChecksum(file.path);
      if (firstChecksum !== record.first_checksum) {
        // A new live file: the old one was rolled over, and its archive is not among the sources (yet).
        // Its record waits, with its checkpoint, for the archive; the new file continues the chain
        // from it, so the rows in between are reported missing, by range, and stored once the archive appears.
        const waiting = `${fileName}${ROLLED}${record.first_checksum.slice(0, 12)}`;
        await rename(fileName, waiting, { ...file, path: file.path, closedAt: null }, false);
        records.delete(fileName);
        records.set(waiting, { ...record, file_name: waiting, live: false });
        state = structuredClone(record.chain_state ?? state); // the scanner moves it on; the record keeps its own
        if (state.lastSequence !== null) rolledAway = { liveName: fileName, lastStored: state.lastSequence };
        record = undefined;
      } else if ((await stat(file.path)).size < Number(record.checkpoint_offset)) {
        // The same live file, but shorter than what was already stored: rows were cut from it.
        const size = (await stat(file.path)).size;
        const finding: Finding = {
          kind: 'truncated-file',
          severity: 'error',
          file: file.path,
          line: record.checkpoint_line,
          detail: `the live file is ${size} bytes, shorter than the ${record.checkpoint_offset} bytes already stored (through line ${record.checkpoint_line - 1}): rows were removed from it; nothing more is read from it until it grows past that point`,
        };
        const progress = { offset: Number(record.checkpoint_offset), line: record.checkpoint_line };
        const summary = { ...file, rows: 0, firstSequence: null, lastSequence: null, signature: 'absent' as const };
        await committer.add({ file, rows: [], findings: [finding], progress, state: record.chain_state ?? state, complete: false, summary });
        state = record.chain_state ?? state;
        continue;
      }
    }
    if (record?.complete) {
      state = record.chain_state ?? state;
      continue;
    }
    result.files++;
    state = record?.chain_state ?? state;
    const resume = record ? { offset: Number(record.checkpoint_offset), line: record.checkpoint_line } : undefined;
    const content = await readAhead.take(file);
    const scanner = new LogFileScanner(file, state, { sequenceMax: options.sequenceMax, columns: options.columns, resume: resume && resume.offset > 0 ? resume : undefined, content });
    const prefix = filePrefix(file, fileName);
    let pendingRows: EncodedRow[] = [];
    let pendingFindings: Finding[] = [];
    const flush = async (progress: FileProgress, complete: boolean) => {
      const batch = { file, rows: pendingRows, findings: pendingFindings, progress, state: structuredClone(state), complete, summary: { ...scanner.summary } };
      pendingRows = [];
      pendingFindings = [];
      await committer.add(batch);
    };
    for await (const items of scanner.scan()) {
      // The scanner has already moved the chain state past this chunk, so a batch is committed at a
      // chunk boundary: its checkpoint, state and rows then all describe the same point in the file.
      for (let i = 0; i < items.length; i++) {
        const item = items[i] as ScanItem;
        if (item.type === 'row') pendingRows.push(encodeRow(prefix, item.row));
        else pendingFindings.push(rolledAway ? nameMissingRange(item.finding, rolledAway) : item.finding);
        // Let the event loop turn every ~0.2 ms: the commit in flight streams its COPY data as the
        // socket drains and answers each of its round trips at once, so PostgreSQL works while this
        // process parses (every 128 rows: ~1.1× the time, measured).
        if (i % 16 === 15) await yieldToEventLoop();
      }
      const last = items.at(-1);
      if (last && (pendingRows.length >= batchSize || pendingFindings.length >= FINDINGS_PER_BATCH)) {
        await flush(last.progress, false);
      }
    }
    await flush(scanner.progress, !file.live);
  }
}
