// The audit trail under the digest chain (SPEC 5.6/6.1/6.3): Audit.qs events, screenshot outcomes,
// purge records and the auditor's view's access records are appended to the same chain as the
// AuditSecurity batches. Each write is one chain entry (machine '', service naming the table) covering the hash of every item it stored — each item's
// columns in COPY text form, as for a log row — so a database user who edits, deletes or adds an event
// or outcome breaks the chain like one who edits a log row. A retention purge deletes items but leaves
// a tombstone (the item's hash) under the entry that stored it, and its own entry covers the purge
// record and the tombstones: a purge is accounted for, a deletion without one is not.
import { batchDigest, copyValue, lineChecksum, listHash, reserveEntries, type DigestKey } from './digest';
import type { Sql } from './store';

export interface TrailSource {
  /** The entry's `service` (its `machine` is ''). */
  service: string;
  table: string;
  /** The item's unique key (orders the items of an entry). */
  key: string;
  /** The hashed columns, in order (all stored columns but batch_id, and what is written later). */
  columns: readonly string[];
  /** One item, in messages. */
  label: string;
}

export const TRAIL_SOURCES = {
  events: {
    service: 'audit-qs-events',
    table: 'audit_events',
    key: 'event_id',
    label: 'Audit.qs event',
    columns: ['event_id', 'type', 'event_time', 'received_at', 'user_text', 'user_directory', 'user_id', 'app_id', 'app_name', 'sheet_id', 'sheet_name', 'correlation_id', 'audit_qs_version', 'envelope'],
  },
  outcomes: {
    service: 'screenshot-outcomes',
    table: 'screenshot_outcomes',
    key: 'run_id',
    label: 'screenshot outcome',
    columns: ['run_id', 'workflow_id', 'event_id', 'status', 'reason', 'saved_paths', 'sha256', 'bytes', 'content_type', 'started_at', 'finished_at', 'event_time', 'user_directory', 'user_id', 'app_id', 'app_name', 'recorded_at', 'session_verified'],
  },
  // files_deleted and files_failed are written after the files are gone (the rows' commit comes first): not covered.
  purges: {
    service: 'audit-purges',
    table: 'audit_purges',
    key: 'id',
    label: 'purge record',
    columns: ['id', 'run_id', 'purged_at', 'cutoff', 'retention_days', 'legal_hold', 'configured_by', 'events_deleted', 'screenshots_deleted', 'oldest', 'newest'],
  },
  // Every look at the trail through the auditor's view (who, what, whose trail, when).
  access: {
    service: 'audit-access',
    table: 'audit_access',
    key: 'id',
    label: 'access record',
    columns: ['id', 'at', 'actor', 'actor_subject', 'role', 'action', 'subject_directory', 'subject_id', 'app', 'period_from', 'period_to', 'detail', 'client_address'],
  },
  // Alerts of the detections (SPEC 7): what was found, when, on which rows.
  alerts: {
    service: 'audit-alerts',
    table: 'audit_alerts',
    key: 'id',
    label: 'alert',
    columns: ['id', 'rule', 'severity', 'alert_key', 'summary', 'first_seen', 'last_seen', 'count', 'evidence', 'user_directory', 'user_id', 'created_at'],
  },
} as const satisfies Record<string, TrailSource>;

export const TRAIL_BY_SERVICE = new Map<string, TrailSource>(Object.values(TRAIL_SOURCES).map((s) => [s.service, s]));

/** A trail item's hash: its columns as a COPY text line. */
export const itemHash = (source: TrailSource, item: Record<string, unknown>) => lineChecksum(source.columns.map((c) => copyValue(item[c])).join('\t'));

export interface Tombstone {
  batch_id: string | number;
  item_key: string;
  item_hash: string;
}
export const tombstoneHash = (t: Tombstone) => lineChecksum([String(t.batch_id), copyValue(t.item_key), t.item_hash].join('\t'));

const byKey = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** The hash list of an entry's items: stored ones hashed, purged ones by their tombstone, in key order. */
export function itemsHash(source: TrailSource, items: Record<string, unknown>[], tombstones: Tombstone[] = []): string {
  const all = [
    ...items.map((item) => ({ key: String(item[source.key]), hash: itemHash(source, item) })),
    ...tombstones.map((t) => ({ key: t.item_key, hash: t.item_hash })),
  ].sort(byKey);
  return listHash(all.map((x) => x.hash));
}

/** The next chain entry's id and the chain's head, to insert items under (the caller holds DIGEST_CHAIN_LOCK). */
export async function nextEntry(sql: Sql): Promise<{ id: string; previous: string }> {
  const { ids, previous } = await reserveEntries(sql, 1);
  return { id: ids[0] as string, previous };
}

/**
 * Appends the entry for `items` (as inserted, RETURNING *) and `tombstones` (a purge's) at `entry`.
 * Nothing stored (every event a repost): no entry.
 */
export async function appendTrailEntry(
  sql: Sql,
  source: TrailSource,
  entry: { id: string; previous: string },
  items: Record<string, unknown>[],
  options: { key: DigestKey | undefined; runId: string; tombstones?: Tombstone[] },
): Promise<void> {
  const tombstones = options.tombstones ?? [];
  if (items.length === 0 && tombstones.length === 0) return;
  const content = {
    machine: '',
    service: source.service,
    fileName: '',
    rowCount: items.length,
    findingCount: tombstones.length,
    rowsHash: itemsHash(source, items),
    findingsHash: listHash(tombstones.map(tombstoneHash)),
  };
  const digest = batchDigest(entry.previous, content, options.key);
  await sql.query(
    `INSERT INTO audit_batches (id, run_id, machine, service, file_name, row_count, finding_count, rows_hash, findings_hash, keyed, key_id, prev_digest, digest)
     VALUES ($1, $2, '', $3, '', $4, $5, $6, $7, $8, $9, $10, $11)`,
    [entry.id, options.runId, source.service, content.rowCount, content.findingCount, content.rowsHash, content.findingsHash, options.key !== undefined, options.key?.id ?? null, entry.previous, digest],
  );
}
