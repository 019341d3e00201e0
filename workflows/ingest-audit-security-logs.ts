// ingestAuditSecurityLogs: one ingestion run over every AuditSecurity chain in the configured sources
// (SPEC 5.5), started by a Temporal Schedule or on demand. Each chain is one long activity that
// resumes from its stored checkpoints and heartbeats its progress; rows never pass through history,
// only a summary. A backfill with many chains continues as new, so history stays bounded.
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../common/failure-types';
import type { IngestSummary, IngestWorkflowInput } from '../common/ingest-types';

const { planAuditLogIngestion, recordIngestRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes', // walking a large ArchivedLogs share; heartbeats say it is alive
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

const { ingestAuditLogChain } = proxyActivities<Activities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Read, verify and store new rows of one machine/service chain',
});

/** Chains per run before continuing as new (keeps history small on a large backfill). */
const CHAINS_PER_RUN = 100;

export async function ingestAuditSecurityLogs(input: IngestWorkflowInput = {}): Promise<IngestSummary> {
  const info = workflowInfo();
  const runId = input.runId ?? `${info.workflowId}/${info.runId}`;
  const startedAt = input.startedAt ?? info.runStartTime.getTime();
  const chains = input.remaining ?? (await planAuditLogIngestion());
  const done = input.done ?? { chains: 0, files: 0, rowsStored: 0, findings: {} };

  for (let i = 0; i < chains.length; i++) {
    if (i >= CHAINS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      return continueAsNew<typeof ingestAuditSecurityLogs>({ runId, remaining: chains.slice(i), done, startedAt });
    }
    const chain = chains[i] as (typeof chains)[number];
    const result = await ingestAuditLogChain({ machine: chain.machine, service: chain.service, runId });
    done.chains++;
    done.files += result.files;
    done.rowsStored += result.rowsStored;
    for (const [kind, count] of Object.entries(result.findings)) done.findings[kind] = (done.findings[kind] ?? 0) + count;
  }

  const summary: IngestSummary = { runId, ...done, durationMs: new Date().getTime() - startedAt };
  // The chain's head after this run, kept here in history, outside the database: verify-store's anchor.
  const anchor = await recordIngestRun(summary);
  return anchor ? { ...summary, anchor } : summary;
}
