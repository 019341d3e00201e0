// Retention of the audit trail (auditTrail.retentionDays, SPEC 3.1/6): Audit.qs events and screenshot
// outcomes older than the cutoff are deleted, with the screenshot files they name; AuditSecurity rows
// never are (they are Qlik's own record, under the digest chain), nor anything of a user or app under
// legal hold. Every purge is itself recorded in audit_purges: when, the cutoff, what went, the range
// it covered and who configured it — a purge that leaves no trace would itself be a gap in the trail.
import type { PurgeResult, RetentionPolicy } from '../common/audit-trail-types';
import type { AuditStore } from './store';
import { screenshotFiles } from '../common/stored-files';
import { DIGEST_CHAIN_LOCK, type DigestKey } from './digest';
import { appendTrailEntry, itemHash, nextEntry, TRAIL_SOURCES, type Tombstone } from './trail-chain';

export interface PurgeRequest {
  policy: RetentionPolicy;
  /** Who set the policy, and how (recorded with the purge). */
  configuredBy: string;
  /** The run doing it (the workflow id). */
  runId: string;
  now?: Date;
  /** The digest chain's key: the purge record and its tombstones are a chain entry. */
  key?: DigestKey;
}

/** What was deleted, and the screenshot files (and sidecars) to delete now that their rows are gone. */
export type PurgeSummary = Omit<PurgeResult, 'filesDeleted' | 'filesFailed'> & { files: string[] };

const HOLD = `NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($2::jsonb) h(v) WHERE lower(h.v) = lower(coalesce(user_directory, '') || '\\' || coalesce(user_id, '')))
  AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text($3::jsonb) a(v) WHERE lower(a.v) = lower(app_id) OR lower(a.v) = lower(app_name))`;

/** Deletes what is past retention and records the purge, in one transaction. The files are the caller's to delete. */
export async function purgeExpired(store: AuditStore, request: PurgeRequest): Promise<PurgeSummary> {
  const { policy } = request;
  if (!(policy.retentionDays > 0)) throw new Error('auditTrail.retentionDays is 0 (keep forever): nothing to purge');
  const cutoff = new Date((request.now ?? new Date()).getTime() - policy.retentionDays * 86_400_000).toISOString();
  const params = [cutoff, JSON.stringify(policy.legalHold.users), JSON.stringify(policy.legalHold.apps)];
  return store.transaction(async (sql) => {
    const entry = await nextEntry(sql);
    // Each deleted item leaves its hash under the entry that stored it: the chain still accounts for it.
    const shots = await sql.query<Record<string, unknown> & { saved_paths: string[]; event_time: Date | string }>(
      `DELETE FROM screenshot_outcomes WHERE event_time < $1 AND ${HOLD} RETURNING *`,
      params,
    );
    const events = await sql.query<Record<string, unknown> & { event_time: Date | string }>(`DELETE FROM audit_events WHERE event_time < $1 AND ${HOLD} RETURNING *`, params);
    const tombstones: Tombstone[] = [
      ...shots.rows.map((r) => ({ batch_id: String(r.batch_id), item_key: String(r.run_id), item_hash: itemHash(TRAIL_SOURCES.outcomes, r) })),
      ...events.rows.map((r) => ({ batch_id: String(r.batch_id), item_key: String(r.event_id), item_hash: itemHash(TRAIL_SOURCES.events, r) })),
    ];
    const eventsDeleted = events.rows.length;
    let oldest = Infinity;
    let newest = -Infinity;
    for (const r of [...shots.rows, ...events.rows]) {
      const t = new Date(r.event_time).getTime();
      if (t < oldest) oldest = t;
      if (t > newest) newest = t;
    }
    const range = Number.isFinite(oldest) ? { oldest: new Date(oldest).toISOString(), newest: new Date(newest).toISOString() } : { oldest: null, newest: null };
    const files = shots.rows.flatMap((r) => r.saved_paths.flatMap(screenshotFiles)); // image, sidecar, _metadata.png
    const { rows } = await sql.query<Record<string, unknown>>(
      `INSERT INTO audit_purges (run_id, cutoff, retention_days, legal_hold, configured_by, events_deleted, screenshots_deleted, oldest, newest, batch_id)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [request.runId, cutoff, policy.retentionDays, JSON.stringify(policy.legalHold), request.configuredBy, eventsDeleted, shots.rows.length, range.oldest, range.newest, entry.id],
    );
    if (tombstones.length > 0) {
      await sql.query(
        `INSERT INTO audit_tombstones (purge_batch, batch_id, item_key, item_hash)
         SELECT $1, t.batch_id, t.item_key, t.item_hash FROM unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS t(batch_id, item_key, item_hash, n) ORDER BY t.n`,
        [entry.id, tombstones.map((t) => t.batch_id), tombstones.map((t) => t.item_key), tombstones.map((t) => t.item_hash)],
      );
    }
    await appendTrailEntry(sql, TRAIL_SOURCES.purges, entry, rows, { key: request.key, runId: request.runId, tombstones });
    return { purgeId: Number(rows[0]?.id), cutoff, eventsDeleted, screenshotsDeleted: shots.rows.length, ...range, files };
  }, { lock: DIGEST_CHAIN_LOCK });
}

/** Records how many files were actually deleted (after the rows' commit). */
export async function recordFilesDeleted(store: AuditStore, purgeId: number, deleted: number, failed: number): Promise<void> {
  await store.query('UPDATE audit_purges SET files_deleted = $2, files_failed = $3 WHERE id = $1', [purgeId, deleted, failed]);
}
