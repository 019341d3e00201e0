// One row per finished captureScreenshot run (SPEC 6.1): what happened to the screenshot, where it
// is and its sha256 — written by the run's last activity, keyed by the run id so a retried activity
// (or a replayed one) never writes twice. The event's envelope is stored beside it, like any event.
import type { AuditEvent } from '../common/audit-event';
import { eventRow, insertChainedEvents } from './audit-events';
import { DIGEST_CHAIN_LOCK, type DigestKey } from './digest';
import type { AuditStore } from './store';
import { appendTrailEntry, nextEntry, TRAIL_SOURCES } from './trail-chain';

export type OutcomeStatus = 'stored' | 'skipped' | 'blocked' | 'failed';

export interface ScreenshotOutcome {
  workflowId: string;
  runId: string;
  status: OutcomeStatus;
  /** Why it was skipped, blocked or failed (a reason code, or the last failure's type and message). */
  reason?: string;
  savedPaths: string[];
  sha256?: string;
  bytes?: number;
  contentType?: string;
  /** userTicket mode: QPS said the user named in the event was signed in when the screenshot was taken (else not checked). */
  sessionVerified?: boolean;
  /** When the run started and when it finished (ISO 8601). */
  startedAt: string;
  finishedAt: string;
}

/** Stores the outcome once per run (and the event, once per event id). Returns false when it was there. */
export async function recordScreenshotOutcome(store: AuditStore, event: AuditEvent, outcome: ScreenshotOutcome, key?: DigestKey): Promise<boolean> {
  const row = eventRow(event);
  const runId = `${outcome.workflowId}/${outcome.runId}`;
  // The event and the outcome, each with its chain entry, in one transaction under the chain's lock.
  return store.transaction(async (sql) => {
    await insertChainedEvents(sql, [row], { key, runId });
    const entry = await nextEntry(sql);
    const { rows } = await sql.query<Record<string, unknown>>(
      `INSERT INTO screenshot_outcomes (run_id, workflow_id, event_id, status, reason, saved_paths, sha256, bytes, content_type,
                                        started_at, finished_at, event_time, user_directory, user_id, app_id, app_name, batch_id, session_verified)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
       ON CONFLICT (run_id) DO NOTHING
       RETURNING *`,
      [
        outcome.runId, outcome.workflowId, row.event_id, outcome.status, outcome.reason ?? null, JSON.stringify(outcome.savedPaths),
        outcome.sha256 ?? null, outcome.bytes ?? null, outcome.contentType ?? null, outcome.startedAt, outcome.finishedAt,
        row.event_time, row.user_directory, row.user_id, row.app_id, row.app_name, entry.id, outcome.sessionVerified ?? null,
      ],
    );
    await appendTrailEntry(sql, TRAIL_SOURCES.outcomes, entry, rows, { key, runId });
    return rows.length > 0;
  }, { lock: DIGEST_CHAIN_LOCK });
}
