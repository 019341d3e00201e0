// The retention schedule (auditTrail.retentionDays): purgeAuditTrail every auditTrail.every, overlaps
// skipped. `retentionDays: 0` (keep forever) removes the schedule. The policy and who set it are the
// schedule's arguments, so every run's history (and the purge row in the store) says what it applied.
import { userInfo, hostname } from 'node:os';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { upsertSchedule } from './upsert-schedule';
import type { PurgeInput } from '../common/audit-trail-types';
import type { Config } from '../common/config';

export const RETENTION_SCHEDULE_ID = 'purge-audit-trail';

/** `user@host via <how>`: recorded with every purge this schedule makes. */
export function configuredBy(how: string): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return `${user}@${hostname()} via ${how} at ${new Date().toISOString()}`;
}

export async function upsertRetentionSchedule(client: Client, config: Config, taskQueue: string, how: string): Promise<'created' | 'updated' | 'deleted' | 'none'> {
  const handle = client.schedule.getHandle(RETENTION_SCHEDULE_ID);
  const { retentionDays, legalHold, every } = config.auditTrail;
  if (retentionDays === 0) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) return 'none';
      throw err;
    }
  }
  const input: PurgeInput = { policy: { retentionDays, legalHold }, configuredBy: configuredBy(how) };
  const spec = { intervals: [{ every: every as `${number}d` }] };
  const action = { type: 'startWorkflow' as const, workflowType: 'purgeAuditTrail', taskQueue, args: [input], workflowId: `${RETENTION_SCHEDULE_ID}-scheduled` };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' };
  return upsertSchedule(client, { scheduleId: RETENTION_SCHEDULE_ID, spec, action, policies, description: `Purge Audit.qs events and screenshots older than ${retentionDays} days` });
}
