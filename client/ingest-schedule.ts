// Starting ingestAuditSecurityLogs: on a Temporal Schedule (every auditSecurityLog.every, overlapping
// runs skipped, missed runs caught up within a window) or once, now.
import { ScheduleOverlapPolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule';
import type { Config } from '../common/config';
import type { ingestAuditSecurityLogs } from '../workflows';

export const INGEST_SCHEDULE_ID = 'ingest-audit-security-logs';
/** After an outage, runs missed within this window are still made (one, as overlaps are skipped). */
const CATCHUP_WINDOW = '1 hour';

export async function upsertIngestSchedule(client: Client, config: Config, taskQueue: string): Promise<'created' | 'updated'> {
  const spec = { intervals: [{ every: config.auditSecurityLog.every as `${number}m` }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'ingestAuditSecurityLogs', taskQueue, args: [{}], workflowId: `${INGEST_SCHEDULE_ID}-scheduled` };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW };
  return upsertSchedule(client, { scheduleId: INGEST_SCHEDULE_ID, spec, action, policies, description: 'Read, verify and store new Qlik AuditSecurity log rows' });
}

/** One run now. Two on-demand runs never overlap: a second start returns the one still running. */
export async function startIngestNow(client: Client, taskQueue: string): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ingestAuditSecurityLogs>> {
  return client.workflow.start<typeof ingestAuditSecurityLogs>('ingestAuditSecurityLogs', {
    taskQueue,
    workflowId: `${INGEST_SCHEDULE_ID}-manual`,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [{}],
    staticSummary: 'On-demand ingestion of Qlik AuditSecurity logs',
  });
}
