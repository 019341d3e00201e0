// Verifying AuditSecurity logs (SPEC 5.3), one file at a time with a state carried along the chain, so
// the same code serves `logs verify` (whole chains, offline) and ingestion (resuming mid-file from a
// checkpoint). Memory is constant: only the previous row's sequence and checksum are kept.
//   - row checksum: SHA-1 of the row bytes up to the TAB before Checksum
//   - Sequence# rises by 1 within a file and across the chain; 1 again is a service restart (info);
//     after sequenceMax comes 1; anything else is a gap or a regression (or an exact duplicate)
//   - an archived file whose successor continues its sequence was rolled and must end with
//     `Signature:<TAB><40 hex>`; its value cannot be verified (Qlik's algorithm is not public)
import { readLineBatches, readLines } from './line-reader';
import type { LogFile } from './log-files';
import { headerDeviation, parseHeader, parseRow, QLIK_AUDIT_SECURITY_COLUMNS, type Header } from './rows';

export type FindingKind =
  | 'checksum-mismatch'
  | 'sequence-gap'
  | 'sequence-regression'
  | 'duplicate-row'
  | 'missing-signature'
  | 'malformed-signature'
  | 'malformed-row'
  | 'bad-header'
  | 'bad-timestamp'
  | 'truncated-file'
  | 'service-restart'
  | 'incomplete-row';

export const INFO_KINDS: ReadonlySet<FindingKind> = new Set(['service-restart', 'incomplete-row']);

export interface Finding {
  kind: FindingKind;
  severity: 'error' | 'info';
  file: string;
  /** 1-based line number in the file; the header is line 1. */
  line: number;
  sequence?: number;
  detail: string;
}

export interface FileSummary {
  path: string;
  machine: string;
  service: string;
  live: boolean;
  closedAt: string | null;
  rows: number;
  firstSequence: number | null;
  lastSequence: number | null;
  signature: 'present' | 'absent' | 'malformed';
}

/** What is carried from one file (or checkpoint) to the next; plain JSON, so it can be stored. */
export interface ChainState {
  lastSequence: number | null;
  lastChecksum: string | null;
  /** The previous archived file, until the next row tells whether it was rolled (needs a signature). */
  pendingSignature: { file: string; line: number; present: boolean } | null;
  /** Findings of each kind met so far in the current file (the first FINDINGS_LISTED_PER_KIND are listed). */
  fileFindings?: Record<string, number>;
}

/**
 * Findings of one kind listed one by one per file; beyond, they are counted in one summary finding
 * per kind and scan: a hostile file of millions of malformed lines is verified and ingested in
 * constant memory, and the report stays readable.
 */
export const FINDINGS_LISTED_PER_KIND = 1000;

export const newChainState = (): ChainState => ({ lastSequence: null, lastChecksum: null, pendingSignature: null });

/** Where to continue reading a file: the byte offset and 1-based line number of the next line. */
export interface FileProgress {
  offset: number;
  line: number;
}

export interface VerifiedRow {
  line: number;
  offset: number;
  /** The row's bytes (without CR LF). */
  bytes: Buffer;
  header: Header;
  sequence: number;
  timestamp: string;
  timestampMs: number | undefined;
  checksum: string;
  checksumValid: boolean;
  /** False when the file's header deviates from the expected layout: the row's fields may be misattributed. */
  headerOk: boolean;
}

export type ScanItem = { type: 'row'; row: VerifiedRow; progress: FileProgress } | { type: 'finding'; finding: Finding; progress: FileProgress };

const SIGNATURE = /^Signature:\t[0-9a-fA-F]{40}$/;

export class LogFileScanner {
  readonly summary: FileSummary;
  /** After scan(): where complete data ends (an incomplete last row is left for later). */
  progress: FileProgress;

  constructor(
    private readonly file: LogFile,
    private readonly state: ChainState,
    /** `content`: the whole file, already read (small files, read ahead by ingestion); otherwise it is streamed. */
    private readonly options: { sequenceMax: number; resume?: FileProgress; columns?: readonly string[]; content?: Buffer },
  ) {
    this.summary = { ...file, rows: 0, firstSequence: null, lastSequence: null, signature: 'absent' };
    this.progress = options.resume ?? { offset: 0, line: 1 };
    if (!options.resume) state.fileFindings = {}; // a new file: its own counts
  }

  /** Findings beyond the listed ones in this scan, per kind: how many, and on which lines. */
  private readonly suppressed = new Map<FindingKind, { count: number; first: number; last: number; severity: Finding['severity'] }>();

  /** Counts a finding of `kind` on `line`: true when it is to be listed, false when only counted. */
  private listed(kind: FindingKind, line: number): boolean {
    const counts = (this.state.fileFindings ??= {});
    const n = (counts[kind] ?? 0) + 1;
    counts[kind] = n;
    if (n <= FINDINGS_LISTED_PER_KIND) return true;
    const s = this.suppressed.get(kind) ?? { count: 0, first: line, last: line, severity: INFO_KINDS.has(kind) ? 'info' : 'error' };
    s.count++;
    s.last = Math.max(s.last, line);
    s.first = Math.min(s.first, line);
    this.suppressed.set(kind, s);
    return false;
  }

  private finding(kind: FindingKind, line: number, detail: string, sequence?: number): Finding {
    return { kind, severity: INFO_KINDS.has(kind) ? 'info' : 'error', file: this.file.path, line, ...(sequence !== undefined ? { sequence } : {}), detail };
  }

  /** Sequence continuity for a row (or a malformed row whose Sequence# could be read): a finding, if any. */
  private checkSequence(sequence: number, checksum: string | null, line: number): Finding | undefined {
    const { state } = this;
    const last = state.lastSequence;
    const pending = state.pendingSignature;
    state.pendingSignature = null;
    let finding: Finding | undefined;
    if (last !== null) {
      const continues = sequence === last + 1 || (last === this.options.sequenceMax && sequence === 1);
      if (continues) {
        if (pending && !pending.present) {
          finding = { ...this.finding('missing-signature', pending.line, 'the next file continues the sequence, so this file was rolled and must end with a Signature line'), file: pending.file };
        }
      } else if (sequence === 1) {
        finding = this.finding('service-restart', line, `sequence starts again at 1 after ${last}`, sequence);
      } else if (sequence > last) {
        finding = this.finding('sequence-gap', line, `expected ${last + 1}`, sequence);
      } else if (sequence === last && checksum !== null && checksum === state.lastChecksum) {
        return this.finding('duplicate-row', line, `row ${sequence} appears again`, sequence);
      } else {
        return this.finding('sequence-regression', line, `expected ${last + 1}`, sequence); // keep the highest sequence, so one inserted row is one finding
      }
    }
    state.lastSequence = sequence;
    state.lastChecksum = checksum;
    return finding;
  }

  /** Yields the items of each read chunk (128 KiB) together: one asynchronous step per chunk, not per row. */
  async *scan(): AsyncGenerator<ScanItem[]> {
    const header = await this.readHeader();
    if ('error' in header) {
      yield [{ type: 'finding', finding: this.finding('bad-header', 1, header.error), progress: this.progress }];
      return;
    }
    // The header is covered by no checksum: a deviation is reported (once, when the file is read from
    // its start), and its rows are still checked but marked as not trustworthy.
    const deviation = headerDeviation(header, this.options.columns?.length ? this.options.columns : QLIK_AUDIT_SECURITY_COLUMNS);
    const headerOk = deviation === undefined;
    if (this.progress.line === 1) {
      this.progress = { offset: header.end, line: 2 };
      if (deviation) {
        const layout = this.options.columns?.length ? 'the layout in auditSecurityLog.columns' : "Qlik's documented AuditSecurity layout";
        yield [{ type: 'finding', finding: this.finding('bad-header', 1, `${deviation}: the header differs from ${layout}, so its rows' fields cannot be trusted to mean what their names say (set auditSecurityLog.columns if your site changed the log4net layout)`), progress: this.progress }];
      }
    }
    let signatureLine = 0;
    let line = this.progress.line;
    let stop = false;
    for await (const lines of readLineBatches(this.file.path, { start: this.progress.offset, content: this.options.content })) {
      const out: ScanItem[] = [];
      let at: FileProgress = this.progress;
      const found = (finding: Finding) => {
        if (this.listed(finding.kind, finding.line)) out.push({ type: 'finding', finding, progress: at });
      };
      // For findings that may come by the million (one per line): counted before anything is built.
      const report = (kind: FindingKind, line: number, detail: () => string, sequence?: number) => {
        if (this.listed(kind, line)) out.push({ type: 'finding', finding: this.finding(kind, line, detail(), sequence), progress: at });
      };
      for (const raw of lines) {
        at = { offset: raw.end, line: line + 1 };
        if (!raw.complete) {
          if (this.file.live) {
            if (this.listed('incomplete-row', line)) {
              out.push({ type: 'finding', finding: this.finding('incomplete-row', line, 'the last row has no line break yet (still being written); it is read next time'), progress: this.progress });
            }
          } else {
            found(this.finding('malformed-row', line, 'the last row of an archived file is cut off'));
            this.progress = at;
          }
          stop = true;
          break;
        }
        if (!raw.tooLong && raw.bytes[0] === 0x53 && raw.bytes.toString('latin1', 0, 10) === 'Signature:') {
          const valid = SIGNATURE.test(raw.bytes.toString('utf8'));
          this.summary.signature = valid ? 'present' : 'malformed';
          if (!valid) found(this.finding('malformed-signature', line, 'expected Signature:<TAB><40 hex digits>'));
          signatureLine = line;
        } else if (raw.tooLong || raw.bytes.length === 0) {
          report('malformed-row', line, () => (raw.tooLong ? 'line longer than 1 MiB' : 'empty line'));
        } else {
          if (signatureLine) {
            found(this.finding('malformed-signature', signatureLine, `rows follow the Signature line (line ${line})`));
            this.summary.signature = 'malformed';
            signatureLine = 0;
          }
          const parsed = parseRow(raw.bytes, header);
          if (!parsed.ok) {
            report('malformed-row', line, () => parsed.detail, parsed.sequence);
            const f = parsed.sequence === undefined ? undefined : this.checkSequence(parsed.sequence, null, line);
            if (f) found(f);
          } else {
            const f = this.checkSequence(parsed.sequence, parsed.checksum, line);
            if (f) found(f);
            const checksumValid = parsed.checksum === parsed.computedChecksum;
            if (!checksumValid) report('checksum-mismatch', line, () => `Checksum ${parsed.checksum.slice(0, 40)} does not match the row (SHA-1 ${parsed.computedChecksum})`, parsed.sequence);
            if (parsed.timestampMs === undefined) report('bad-timestamp', line, () => `'${parsed.timestamp.slice(0, 40)}' is not YYYYMMDDThhmmss.fff±hhmm`, parsed.sequence);
            this.summary.rows++;
            this.summary.firstSequence ??= parsed.sequence;
            this.summary.lastSequence = parsed.sequence;
            out.push({
              type: 'row',
              row: { line, offset: raw.offset, bytes: raw.bytes, header, sequence: parsed.sequence, timestamp: parsed.timestamp, timestampMs: parsed.timestampMs, checksum: parsed.checksum, checksumValid, headerOk },
              progress: at,
            });
          }
        }
        this.progress = at;
        line++;
      }
      if (out.length > 0) yield out;
      if (stop) break;
    }
    // An archived file waits for its successor to say whether it was rolled (then it needs a signature).
    // A malformed signature is already reported; it is not also "missing".
    if (!this.file.live) this.state.pendingSignature = { file: this.file.path, line: this.progress.line, present: this.summary.signature !== 'absent' };
    if (this.suppressed.size > 0) {
      const summaries: ScanItem[] = [...this.suppressed].map(([kind, s]) => ({
        type: 'finding',
        finding: { kind, severity: s.severity, file: this.file.path, line: s.last, detail: `and ${s.count} more ${kind} findings on lines ${s.first}–${s.last}, not listed one by one (the first ${FINDINGS_LISTED_PER_KIND} of a kind in a file are)` },
        progress: this.progress,
      }));
      this.suppressed.clear();
      yield summaries;
    }
  }

  private async readHeader(): Promise<(Header & { end: number }) | { error: string }> {
    for await (const first of readLines(this.file.path, { maxLineBytes: 64 * 1024, content: this.options.content })) {
      if (!first.complete || first.tooLong) return { error: 'the header line is incomplete or too long' };
      const header = parseHeader(first.bytes);
      return 'error' in header ? header : { ...header, end: first.end };
    }
    return { error: 'the file is empty' };
  }
}

/** Verifies whole chains (offline `logs verify`). */
export async function verifyChains(chains: LogFile[][], options: { sequenceMax: number; columns?: readonly string[]; onFile?: (summary: FileSummary) => void }) {
  const { sequenceMax, columns, onFile } = options;
  const files: FileSummary[] = [];
  const findings: Finding[] = [];
  for (const chain of chains) {
    const state = newChainState();
    for (const file of chain) {
      const scanner = new LogFileScanner(file, state, { sequenceMax, columns });
      for await (const items of scanner.scan()) for (const item of items) if (item.type === 'finding') findings.push(item.finding);
      files.push(scanner.summary);
      onFile?.(scanner.summary);
    }
  }
  return { ok: !findings.some((f) => f.severity === 'error'), files, findings };
}
