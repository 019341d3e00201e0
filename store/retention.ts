// Retention of the audit trail (auditTrail.retentionDays, SPEC 3.1/6): Audit.qs events and screenshot
// outcomes older than the cutoff are deleted, with the screenshot files they name; AuditSecurity rows
// never are (they are Qlik's own record, under the digest chain), nor anything of a user or app under
// legal hold. Every purge is itself recorded in audit_purges: when, the cutoff, what went, the range
// it covered and who configured it — a purge that leaves no trace would itself be a gap in the trail.
import type { PurgeResult, RetentionPolicy } from '../common/audit-trail-types';
import type { AuditStore } from './store';
import { screenshotFiles } from '../common/stored-files';

export interface PurgeRequest {
  policy: RetentionPolicy;
  /** Who set the policy, and how (recorded with the purge). */
  configuredBy: string;
  /** The run doing it (the workflow id). */
  runId: string;
  now?: Date;
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
    const shots = await sql.query<{ saved_paths: string[]; event_time: Date | string }>(
      `DELETE FROM screenshot_outcomes WHERE event_time < $1 AND ${HOLD} RETURNING saved_paths, event_time`,
      params,
    );
    const events = await sql.query<{ n: string | number; oldest: Date | string | null; newest: Date | string | null }>(
      `WITH gone AS (DELETE FROM audit_events WHERE event_time < $1 AND ${HOLD} RETURNING event_time)
       SELECT count(*) AS n, min(event_time) AS oldest, max(event_time) AS newest FROM gone`,
      params,
    );
    const eventsDeleted = Number(events.rows[0]?.n ?? 0);
    let oldest = events.rows[0]?.oldest ? new Date(events.rows[0].oldest).getTime() : Infinity;
    let newest = events.rows[0]?.newest ? new Date(events.rows[0].newest).getTime() : -Infinity;
    for (const r of shots.rows) {
      const t = new Date(r.event_time).getTime();
      if (t < oldest) oldest = t;
      if (t > newest) newest = t;
    }
    const range = Number.isFinite(oldest) ? { oldest: new Date(oldest).toISOString(), newest: new Date(newest).toISOString() } : { oldest: null, newest: null };
    const files = shots.rows.flatMap((r) => r.saved_paths.flatMap(screenshotFiles)); // image, sidecar, _metadata.png
    const { rows } = await sql.query<{ id: string | number }>(
      `INSERT INTO audit_purges (run_id, cutoff, retention_days, legal_hold, configured_by, events_deleted, screenshots_deleted, oldest, newest)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9) RETURNING id`,
      [request.runId, cutoff, policy.retentionDays, JSON.stringify(policy.legalHold), request.configuredBy, eventsDeleted, shots.rows.length, range.oldest, range.newest],
    );
    return { purgeId: Number(rows[0]?.id), cutoff, eventsDeleted, screenshotsDeleted: shots.rows.length, ...range, files };
  });
}

/** Records how many files were actually deleted (after the rows' commit). */
export async function recordFilesDeleted(store: AuditStore, purgeId: number, deleted: number, failed: number): Promise<void> {
  await store.query('UPDATE audit_purges SET files_deleted = $2, files_failed = $3 WHERE id = $1', [purgeId, deleted, failed]);
}
