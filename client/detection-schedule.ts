// Starting detectAlerts: on a Temporal Schedule (every detections.every, overlapping runs skipped) or
// once, now. The schedule is created beside the ingest schedule (`logs schedule`, `setup`).
import { ScheduleOverlapPolicy, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule';
import type { Config } from '../common/config';
import type { detectAlerts } from '../workflows';

export const DETECTION_SCHEDULE_ID = 'detect-alerts';

export async function upsertDetectionSchedule(client: Client, config: Config, taskQueue: string): Promise<'created' | 'updated'> {
  const spec = { intervals: [{ every: config.detections.every as `${number}m` }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'detectAlerts', taskQueue, args: [], workflowId: `${DETECTION_SCHEDULE_ID}-scheduled` };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '10 minutes' };
  return upsertSchedule(client, { scheduleId: DETECTION_SCHEDULE_ID, spec, action, policies, description: 'Detections over the audit trail; alerts to the configured sinks' });
}

/** One run now (a second start while one runs returns that one). */
export function startDetectionNow(client: Client, taskQueue: string): Promise<WorkflowHandleWithFirstExecutionRunId<typeof detectAlerts>> {
  return client.workflow.start<typeof detectAlerts>('detectAlerts', {
    taskQueue,
    workflowId: `${DETECTION_SCHEDULE_ID}-manual`,
    workflowIdConflictPolicy: 'USE_EXISTING',
    args: [],
    staticSummary: 'On-demand detections over the audit trail',
  });
}
