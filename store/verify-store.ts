// `logs verify-store` (SPEC 5.6): recomputes the digest chain over every stored batch — its rows and
// findings as the database returns them, its link to the batch before, its digest (under the key, if
// the chain is keyed) — and checks the chain against anchors kept outside the database (each ingest
// run's result in Temporal history, or given by hand), which catches what a consistent chain cannot
// show on its own: the newest batches deleted together with their rows, or a chain recomputed whole.
import { batchDigest, findingLine, GENESIS_DIGEST, lineChecksum, listHash, rowChecksum, type DigestKey } from './digest';
import type { AuditStore } from './store';
import type { FileProblemKind } from './verify-files';

export type ProblemKind =
  | 'rows-changed' // a stored row differs from what was ingested
  | 'rows-deleted'
  | 'rows-added' // in a batch, or belonging to no batch of the chain
  | 'findings-changed'
  | 'findings-deleted'
  | 'findings-added'
  | 'chain-broken' // a batch does not link to the one before (a batch deleted or its entry edited)
  | 'digest-mismatch' // a batch's digest does not follow from it (entry edited, or the chain recomputed without the key)
  | 'unkeyed-after-keyed' // a plain SHA-256 batch after keyed ones: recomputed by someone without the key
  | 'unkeyed-batch' // verified with a key, a batch is plain SHA-256: with a key configured every batch must be keyed
  | 'key-missing' // keyed chain, no key given: digests cannot be checked
  | 'key-wrong' // the key given is not the one the chain was written with
  | 'truncated' // the chain is shorter than an anchor says it was
  | 'anchor-mismatch' // the chain's batch at an anchor's position has another digest
  | 'anchors-unchecked' // no anchor could be checked (unreachable, or none found for this store): not provable
  | FileProblemKind // with --files: a stored screenshot file changed, missing, or named outside the storage targets
  | 'rows-missing'; // stored rows of a file skip sequence numbers and no finding explains it: never ingested (a checkpoint moved forward) or deleted

export interface StoreProblem {
  kind: ProblemKind;
  /** The batch's id (its position in the chain for anchor problems is in `detail`). */
  batch?: number;
  detail: string;
}

/** What an ingest run recorded outside the database: the chain head after the run and the chain's length. */
export interface Anchor {
  chainHead: string;
  batches: number;
  rows?: number;
  /** Where the anchor came from (a workflow run, or the command line), for messages. */
  source: string;
}

export interface StoreVerification {
  ok: boolean;
  /** True when the chain's batches are HMAC-SHA256 under a key; false: plain SHA-256. */
  keyed: boolean;
  batches: number;
  rows: number;
  anchorsChecked: number;
  problems: StoreProblem[];
  /** Problems beyond the first 200 (only present when there are any). */
  problemsNotListed?: number;
  /** Present when the chain alone was checked, on request (`--offline`): nothing was proven against anchors. */
  offline?: true;
  /** With `--files`: stored screenshot files hashed again. */
  filesChecked?: number;
}

/** Nothing found wrong, but nothing outside the database proves it either: "not proven", not "tampered". */
export function unprovenOnly(report: StoreVerification): boolean {
  return !report.ok && report.problems.length > 0 && report.problems.every((p) => p.kind === 'anchors-unchecked');
}

/**
 * How the anchors are required. `required`: a check that cannot compare the chain with any anchor
 * proves nothing and fails (`anchorsUnavailable` says why none could be read). `offline`: the chain
 * alone, and the result says so. Neither (the default, for callers that pass anchors they hold):
 * the anchors given, if any.
 */
export interface AnchorRequirement {
  required?: boolean;
  offline?: boolean;
  anchorsUnavailable?: string;
}

interface BatchRow {
  id: string;
  machine: string;
  service: string;
  file_name: string;
  row_count: number;
  finding_count: number;
  rows_hash: string;
  findings_hash: string;
  keyed: boolean;
  key_id: string | null;
  prev_digest: string;
  digest: string;
}

const MAX_PROBLEMS = 200;

function countKind(prefix: 'rows' | 'findings', stored: number, recorded: number): ProblemKind {
  if (stored < recorded) return `${prefix}-deleted`;
  if (stored > recorded) return `${prefix}-added`;
  return `${prefix}-changed`;
}

/**
 * Rows never ingested (SPEC 5.6): within each stored file, rows follow each other in Qlik's sequence
 * (+1, or 1 after sequenceMax); any other step must be explained by a finding stored between the two
 * rows (a gap, a restart, a replayed or malformed row). Rows are taken in the order they were
 * ingested; a line number going back is the next generation of a live file (Qlik reuses its name
 * after a roll), whose first row follows the archive, not the file's earlier rows. A step nothing explains means rows were
 * skipped: a checkpoint moved forward, say, which the digest chain cannot see (it covers what was
 * stored, not what was not).
 */
async function unexplainedSteps(store: AuditStore, sequenceMax: number): Promise<{ machine: string; service: string; file_name: string; line: number; sequence: string; prev_seq: string }[]> {
  const { rows } = await store.query<{ machine: string; service: string; file_name: string; line: number; sequence: string; prev_seq: string; prev_line: number }>(
    `WITH steps AS (
       SELECT machine, service, file_name, line, sequence,
              lag(sequence) OVER w AS prev_seq, lag(line) OVER w AS prev_line
       FROM audit_rows WINDOW w AS (PARTITION BY machine, service, file_name ORDER BY batch_id, line))
     SELECT * FROM steps s
     WHERE prev_seq IS NOT NULL AND line > prev_line AND sequence <> prev_seq + 1 AND NOT (prev_seq = $1 AND sequence = 1)
       AND NOT EXISTS (SELECT 1 FROM audit_findings f
                       WHERE f.machine = s.machine AND f.service = s.service AND f.file_name = s.file_name AND f.line > s.prev_line AND f.line <= s.line)
     ORDER BY machine, service, file_name, line
     LIMIT ${MAX_PROBLEMS}`,
    [sequenceMax],
  );
  return rows;
}

export async function verifyStore(store: AuditStore, options: { key?: DigestKey; anchors?: Anchor[]; onProgress?: (batches: number) => void; sequenceMax?: number } & AnchorRequirement = {}): Promise<StoreVerification> {
  const { key, anchors = [] } = options;
  const result: StoreVerification = { ok: true, keyed: false, batches: 0, rows: 0, anchorsChecked: 0, problems: [], ...(options.offline ? { offline: true as const } : {}) };
  let omitted = 0;
  const problem = (p: StoreProblem) => (result.problems.length < MAX_PROBLEMS ? result.problems.push(p) : omitted++);
  const positions = new Set(anchors.map((a) => a.batches));
  const digestAt = new Map<number, string>();
  let findingsCounted = 0;
  let previous = GENESIS_DIGEST;
  let lastId = 0;
  let sawKeyed = false;
  let unkeyedUnderKey = 0; // reported once, counted in the detail at the end
  let keyReported = false;

  for (;;) {
    const { rows: batches } = await store.query<BatchRow>(
      'SELECT id, machine, service, file_name, row_count, finding_count, rows_hash, findings_hash, keyed, key_id, prev_digest, digest FROM audit_batches WHERE id > $1 ORDER BY id LIMIT 500',
      [lastId],
    );
    if (batches.length === 0) break;
    for (const batch of batches) {
      const id = Number(batch.id);
      const where = `batch ${id} (${batch.machine}/${batch.service} ${batch.file_name})`;
      const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM audit_rows WHERE batch_id = $1 ORDER BY line', [batch.id]);
      const { rows: findings } = await store.query<Record<string, unknown>>('SELECT * FROM audit_findings WHERE batch_id = $1 ORDER BY id', [batch.id]);
      result.batches++;
      result.rows += rows.length;
      findingsCounted += findings.length;

      if (listHash(rows.map(rowChecksum)) !== batch.rows_hash) {
        const kind = countKind('rows', rows.length, batch.row_count);
        problem({ kind, batch: id, detail: `${where}: ${kind === 'rows-changed' ? 'a stored row was changed' : `holds ${rows.length} rows, ingested ${batch.row_count}`}` });
      }
      if (listHash(findings.map((f) => lineChecksum(findingLine(f)))) !== batch.findings_hash) {
        const kind = countKind('findings', findings.length, batch.finding_count);
        problem({ kind, batch: id, detail: `${where}: ${kind === 'findings-changed' ? 'a stored finding was changed' : `holds ${findings.length} findings, ingested ${batch.finding_count}`}` });
      }
      if (batch.prev_digest !== previous) problem({ kind: 'chain-broken', batch: id, detail: `${where}: does not link to the batch before it (a batch was deleted, or its entry edited)` });

      result.keyed ||= batch.keyed;
      if (batch.keyed) sawKeyed = true;
      else if (key) {
        // Anyone can compute a plain SHA-256 chain with the public formula: under a configured key it proves nothing.
        unkeyedUnderKey++;
        if (unkeyedUnderKey === 1) problem({ kind: 'unkeyed-batch', batch: id, detail: `${where}: a plain SHA-256 entry in a store verified with a key (key id ${key.id}): anyone with write access to the database can compute it` });
      } else if (sawKeyed) problem({ kind: 'unkeyed-after-keyed', batch: id, detail: `${where}: a plain SHA-256 entry after keyed ones: the chain was recomputed without the key from here on` });
      let checkDigest = true;
      if (batch.keyed && !key) {
        checkDigest = false;
        if (!keyReported) problem({ kind: 'key-missing', batch: id, detail: `the digest chain is keyed (key id ${batch.key_id}): set QLIK_AUDIT_DIGEST_KEY or auditSecurityLog.digestKey to check its digests` });
        keyReported = true;
      } else if (batch.keyed && key && batch.key_id !== key.id) {
        checkDigest = false;
        if (!keyReported) problem({ kind: 'key-wrong', batch: id, detail: `the chain was written with key id ${batch.key_id}, the key given has id ${key.id}` });
        keyReported = true;
      }
      const content = {
        machine: batch.machine,
        service: batch.service,
        fileName: batch.file_name,
        rowCount: batch.row_count,
        findingCount: batch.finding_count,
        rowsHash: batch.rows_hash,
        findingsHash: batch.findings_hash,
      };
      if (checkDigest && batchDigest(batch.prev_digest, content, batch.keyed ? key : undefined) !== batch.digest) {
        problem({ kind: 'digest-mismatch', batch: id, detail: `${where}: its digest does not follow from its content${batch.keyed ? ' under the key: the chain was recomputed without it, or the entry edited' : ': the entry was edited'}` });
      }
      if (positions.has(result.batches)) digestAt.set(result.batches, batch.digest);
      previous = batch.digest;
      lastId = id;
    }
    options.onProgress?.(result.batches);
  }

  for (const anchor of anchors) {
    result.anchorsChecked++;
    const at = digestAt.get(anchor.batches);
    if (anchor.batches > result.batches) {
      problem({ kind: 'truncated', detail: `${anchor.source} recorded a chain of ${anchor.batches} batches (head ${anchor.chainHead.slice(0, 16)}…); the store has ${result.batches}: the newest batches were deleted` });
    } else if (at !== anchor.chainHead) {
      problem({ kind: 'anchor-mismatch', detail: `${anchor.source} recorded batch #${anchor.batches} with digest ${anchor.chainHead.slice(0, 16)}…; the store's is ${(at ?? '(none)').slice(0, 16)}…: the chain was rewritten` });
    }
  }

  if (options.required && !options.offline && result.anchorsChecked === 0) {
    problem({
      kind: 'anchors-unchecked',
      detail: options.anchorsUnavailable
        ? `no anchor could be checked: ${options.anchorsUnavailable}; the chain alone proves nothing against someone who can rewrite the database (--offline checks the chain alone)`
        : `no anchor of this store was found: no ingest run has anchored it yet, or its anchors are gone (runs deleted, the store emptied or re-identified); the chain alone proves nothing against someone who can rewrite the database (--offline checks the chain alone)`,
    });
  }

  for (const step of await unexplainedSteps(store, options.sequenceMax ?? 2147483647)) {
    problem({
      kind: 'rows-missing',
      detail: `${step.machine}/${step.service} ${step.file_name} line ${step.line}: sequence ${step.sequence} follows ${step.prev_seq} and no stored finding explains the step: rows are missing (never ingested — a checkpoint moved forward? — or deleted), or a row was put in`,
    });
  }

  const count = async (table: string) => Number((await store.query<{ n: string | number }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n ?? 0);
  const strayRows = (await count('audit_rows')) - result.rows;
  if (strayRows > 0) problem({ kind: 'rows-added', detail: `${strayRows} stored rows belong to no batch of the chain (added after ingestion, or their batch was deleted)` });
  const strayFindings = (await count('audit_findings')) - findingsCounted;
  if (strayFindings > 0) problem({ kind: 'findings-added', detail: `${strayFindings} stored findings belong to no batch of the chain` });
  const unkeyed = result.problems.find((p) => p.kind === 'unkeyed-batch');
  if (unkeyed && unkeyedUnderKey > 1) unkeyed.detail += ` (${unkeyedUnderKey} of ${result.batches} batches are unkeyed)`;
  if (omitted > 0) result.problemsNotListed = omitted;
  result.ok = result.problems.length === 0 && !omitted;
  return result;
}
