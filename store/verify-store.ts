// `logs verify-store` (SPEC 5.6): recomputes the digest chain over every stored batch — its rows and
// findings as the database returns them, its link to the batch before, its digest (under the key, if
// the chain is keyed) — and checks the chain against anchors kept outside the database (each ingest
// run's result in Temporal history, or given by hand), which catches what a consistent chain cannot
// show on its own: the newest batches deleted together with their rows, or a chain recomputed whole.
import { batchDigest, findingLine, GENESIS_DIGEST, lineChecksum, listHash, rowChecksum, type DigestKey } from './digest';
import type { AuditStore, Sql } from './store';
import { itemsHash, TRAIL_BY_SERVICE, TRAIL_SOURCES, tombstoneHash, type TrailSource, type Tombstone } from './trail-chain';
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
  | 'store-replaced' // the anchors are of another store id: another or a re-created database, or its id rewritten
  | 'anchor-log-broken' // the anchor file's own chain does not hold: an entry removed, put in, edited, or written without the key
  | 'trail-changed' // an Audit.qs event, screenshot outcome or purge record differs from what was stored
  | 'trail-deleted' // one was deleted without a purge accounting for it
  | 'trail-added' // one was put in after the fact, or belongs to no chain entry
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
  /** The store the anchor was written for (absent for --anchor). */
  storeId?: string;
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
  /** Chain entries newer than the newest anchor (held by the chain alone until the next ingest run anchors them). */
  unanchored?: number;
  /** Audit.qs events, screenshot outcomes and purge records checked (and purged items accounted for). */
  trailItems?: number;
  /** The operators' recorded re-anchorings (`logs reanchor`): anchors before the newest are not checked. */
  reanchored?: { n: number; at: string; by: string; reason: string; batches: number }[];
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
  /** Problems of the anchor log itself (reported as they are). */
  anchorProblems?: StoreProblem[];
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
async function unexplainedSteps(store: Sql, sequenceMax: number): Promise<{ machine: string; service: string; file_name: string; line: number; sequence: string; prev_seq: string }[]> {
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
  // Across files of a chain (machine, service), in ingestion order: where a file's stored rows begin,
  // a step forward from the last row stored before it (say a whole file marked complete before it was
  // read) must be explained by a finding at the top of this file or at the end of the one before.
  // A step back is a restart (explained by its finding when it is not to 1) or an archive that came
  // late and fills a gap already named: not a hole.
  const { rows: across } = await store.query<{ machine: string; service: string; file_name: string; line: number; sequence: string; prev_seq: string }>(
    `WITH steps AS (
       SELECT machine, service, file_name, line, sequence, batch_id,
              lag(sequence) OVER w AS prev_seq, lag(line) OVER w AS prev_line, lag(file_name) OVER w AS prev_file
       FROM audit_rows WINDOW w AS (PARTITION BY machine, service ORDER BY batch_id, line))
     SELECT machine, service, file_name, line, sequence, prev_seq FROM steps s
     WHERE prev_file IS NOT NULL AND file_name <> prev_file AND sequence > prev_seq + 1 AND NOT (prev_seq = $1 AND sequence = 1)
       AND NOT EXISTS (SELECT 1 FROM audit_findings f
                       WHERE f.machine = s.machine AND f.service = s.service
                         AND ((f.file_name = s.file_name AND f.line <= s.line) OR (f.file_name = s.prev_file AND f.line > s.prev_line)))
     ORDER BY machine, service, file_name, line
     LIMIT ${MAX_PROBLEMS}`,
    [sequenceMax],
  );
  return [...rows, ...across];
}

/** The trail items of a page of chain entries, fetched at once (an entry per receiver commit: many, small). */
interface TrailPage {
  items: Map<string, Record<string, unknown>[]>;
  /** Tombstones by the entry that stored the item, and by the purge that left them (in id order). */
  tombstones: Map<string, Tombstone[]>;
  purged: Map<string, Tombstone[]>;
}

async function trailPage(store: Sql, batches: BatchRow[]): Promise<TrailPage> {
  const page: TrailPage = { items: new Map(), tombstones: new Map(), purged: new Map() };
  const push = <T>(map: Map<string, T[]>, key: string, value: T) => map.set(key, [...(map.get(key) ?? []), value]);
  const ids = (service: string) => batches.filter((b) => b.machine === '' && b.service === service).map((b) => b.id);
  for (const source of Object.values(TRAIL_SOURCES)) {
    const of = ids(source.service);
    if (of.length === 0) continue;
    const { rows } = await store.query<Record<string, unknown>>(`SELECT * FROM ${source.table} WHERE batch_id = ANY($1::bigint[])`, [of]);
    for (const row of rows) push(page.items, String(row.batch_id), row);
  }
  const stored = [...ids(TRAIL_SOURCES.events.service), ...ids(TRAIL_SOURCES.outcomes.service)];
  if (stored.length > 0) {
    const { rows } = await store.query<Tombstone>('SELECT batch_id, item_key, item_hash FROM audit_tombstones WHERE batch_id = ANY($1::bigint[])', [stored]);
    for (const t of rows) push(page.tombstones, String(t.batch_id), t);
  }
  const purges = ids(TRAIL_SOURCES.purges.service);
  if (purges.length > 0) {
    const { rows } = await store.query<Tombstone & { purge_batch: string }>('SELECT purge_batch, batch_id, item_key, item_hash FROM audit_tombstones WHERE purge_batch = ANY($1::bigint[]) ORDER BY id', [purges]);
    for (const { purge_batch, ...t } of rows) push(page.purged, String(purge_batch), t);
  }
  return page;
}

/** One trail entry against its items (and the tombstones of those purged); returns the items it covers. */
function checkTrailEntry(batch: BatchRow, source: TrailSource, page: TrailPage, problem: (p: StoreProblem) => void, counted: Map<string, number>): number {
  const id = String(batch.id);
  const where = `entry ${id} (${source.service})`;
  const items = page.items.get(id) ?? [];
  const isPurge = source === TRAIL_SOURCES.purges;
  const gone = isPurge ? [] : (page.tombstones.get(id) ?? []);
  counted.set(source.table, (counted.get(source.table) ?? 0) + items.length);
  const held = items.length + gone.length;
  if (itemsHash(source, items, gone) !== batch.rows_hash) {
    const kind: ProblemKind = held < batch.row_count ? 'trail-deleted' : held > batch.row_count ? 'trail-added' : 'trail-changed';
    const what = source.label;
    problem({
      kind,
      batch: Number(batch.id),
      detail: `${where}: ${kind === 'trail-changed' ? `a stored ${what} was changed` : `accounts for ${held} ${what}(s) (${gone.length} purged), ${batch.row_count} were stored`}${kind === 'trail-deleted' ? ': deleted without a purge' : ''}`,
    });
  }
  if (isPurge) {
    const tombstones = page.purged.get(id) ?? [];
    counted.set('audit_tombstones', (counted.get('audit_tombstones') ?? 0) + tombstones.length);
    if (listHash(tombstones.map(tombstoneHash)) !== batch.findings_hash) {
      const kind: ProblemKind = tombstones.length < batch.finding_count ? 'trail-deleted' : tombstones.length > batch.finding_count ? 'trail-added' : 'trail-changed';
      problem({ kind, batch: Number(batch.id), detail: `${where}: its tombstones (what the purge deleted) hold ${tombstones.length}, the purge left ${batch.finding_count}${kind === 'trail-changed' ? ', and one was changed' : ''}` });
    }
    return held + tombstones.length;
  }
  return held;
}

export type VerifyOptions = { key?: DigestKey; anchors?: Anchor[]; onProgress?: (batches: number) => void; sequenceMax?: number } & AnchorRequirement;

/**
 * Verifies the store as of one moment: every query in one read-only REPEATABLE READ transaction, so
 * events the receiver commits, an ingest run or a purge going on meanwhile are simply not seen (not
 * half-seen as stray rows).
 */
export function verifyStore(store: Pick<AuditStore, 'transaction'>, options: VerifyOptions = {}): Promise<StoreVerification> {
  return store.transaction((sql) => verifySnapshot(sql, options), { snapshot: true });
}

async function verifySnapshot(store: Sql, options: VerifyOptions): Promise<StoreVerification> {
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
  let trailItems = 0;
  const trailCounted = new Map<string, number>();

  for (;;) {
    const { rows: batches } = await store.query<BatchRow>(
      'SELECT id, machine, service, file_name, row_count, finding_count, rows_hash, findings_hash, keyed, key_id, prev_digest, digest FROM audit_batches WHERE id > $1 ORDER BY id LIMIT 500',
      [lastId],
    );
    if (batches.length === 0) break;
    const trail = await trailPage(store, batches);
    for (const batch of batches) {
      const id = Number(batch.id);
      result.batches++;
      const source = batch.machine === '' ? TRAIL_BY_SERVICE.get(batch.service) : undefined;
      if (source) {
        trailItems += checkTrailEntry(batch, source, trail, problem, trailCounted);
      } else {
      const where = `batch ${id} (${batch.machine}/${batch.service} ${batch.file_name})`;
      const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM audit_rows WHERE batch_id = $1 ORDER BY line', [batch.id]);
      const { rows: findings } = await store.query<Record<string, unknown>>('SELECT * FROM audit_findings WHERE batch_id = $1 ORDER BY id', [batch.id]);
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
      }
      const where = source ? `entry ${id} (${source.service})` : `batch ${id} (${batch.machine}/${batch.service} ${batch.file_name})`;
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

  // Entries newer than the newest anchor are held by the chain alone until the next ingest run anchors them.
  const newest = Math.max(0, ...anchors.map((a) => a.batches));
  if (anchors.length > 0 && result.batches > newest) result.unanchored = result.batches - newest;
  const dbStoreId = (await store.query<{ store_id: string }>('SELECT store_id FROM audit_store LIMIT 1').catch(() => ({ rows: [] }))).rows[0]?.store_id;
  const foreign = anchors.find((a) => a.storeId !== undefined && a.storeId !== dbStoreId);
  if (foreign) {
    problem({ kind: 'store-replaced', detail: `${foreign.source} was written for store ${foreign.storeId}; this database is ${dbStoreId ? `store ${dbStoreId}` : 'no store (its id is gone: emptied or re-created)'}: another database, or its id was rewritten` });
  }
  for (const problemOfLog of options.anchorProblems ?? []) problem(problemOfLog);
  for (const anchor of anchors) {
    if (anchor.batches === 0) continue; // the empty chain: every chain begins with it, so it proves nothing
    result.anchorsChecked++;
    const at = digestAt.get(anchor.batches);
    if (anchor.batches > result.batches) {
      problem({ kind: 'truncated', detail: `${anchor.source} recorded a chain of ${anchor.batches} batches (head ${anchor.chainHead.slice(0, 16)}…); the store has ${result.batches}: the newest batches were deleted` });
    } else if (at !== anchor.chainHead) {
      problem({ kind: 'anchor-mismatch', detail: `${anchor.source} recorded batch #${anchor.batches} with digest ${anchor.chainHead.slice(0, 16)}…; the store's is ${(at ?? '(none)').slice(0, 16)}…: the chain was rewritten` });
    }
  }

  if (options.required && !options.offline && result.anchorsChecked === 0 && result.batches > 0) {
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
  for (const source of Object.values(TRAIL_SOURCES)) {
    const stray = (await count(source.table)) - (trailCounted.get(source.table) ?? 0);
    if (stray > 0) problem({ kind: 'trail-added', detail: `${stray} stored ${source.table} row(s) belong to no chain entry: put in after the fact, or their entry was deleted` });
  }
  const strayTombstones = (await count('audit_tombstones')) - (trailCounted.get('audit_tombstones') ?? 0);
  if (strayTombstones > 0) problem({ kind: 'trail-added', detail: `${strayTombstones} tombstone(s) belong to no purge of the chain: a deletion passed off as a purge` });
  result.trailItems = trailItems;
  const unkeyed = result.problems.find((p) => p.kind === 'unkeyed-batch');
  if (unkeyed && unkeyedUnderKey > 1) unkeyed.detail += ` (${unkeyedUnderKey} of ${result.batches} batches are unkeyed)`;
  if (omitted > 0) result.problemsNotListed = omitted;
  result.ok = result.problems.length === 0 && !omitted;
  return result;
}
