// purgeAuditTrail: the retention schedule's run (auditTrail.retentionDays). One activity deletes the
// Audit.qs events and screenshot outcomes past the cutoff — never AuditSecurity rows, never anything
// under legal hold — records the purge in the store, then deletes the screenshot files. The policy
// and who configured it travel in the schedule's arguments, so history shows what each purge applied.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { PurgeInput, PurgeResult } from '../common/audit-trail-types';
import { NON_RETRYABLE_TYPES } from '../common/failure-types';

const { purgeExpiredAuditTrail } = proxyActivities<Activities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Delete Audit.qs events and screenshots past retention (legal holds kept), record the purge',
});

export async function purgeAuditTrail(input: PurgeInput): Promise<PurgeResult> {
  return purgeExpiredAuditTrail(input);
}
