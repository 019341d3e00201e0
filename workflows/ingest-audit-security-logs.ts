// ingestAuditSecurityLogs: one ingestion run over every AuditSecurity chain in the configured sources
// (SPEC 5.5), started by a Temporal Schedule or on demand.
//   1. planAuditLogRun: the sources are walked once; each chain's files are kept in the store.
//   2. ingestAuditLogChain per chain, auditSecurityLog.parallelChains at a time, on whichever workers
//      poll the task queue: one long activity per chain that resumes from its stored checkpoints and
//      heartbeats its progress (a chain has one writer at a time: a lock in the store).
//   3. recordIngestRun: the summary row, and the chain's head kept in this run's result (the anchor).
// Rows never pass through history, only a summary. A backfill with many chains continues as new, so
// history stays bounded.
import { continueAsNew, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../common/failure-types';
import type { ChainKey, IngestSummary, IngestWorkflowInput } from '../common/ingest-types';

const { planAuditLogRun, recordIngestRun } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes', // walking a large ArchivedLogs share; heartbeats say it is alive
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

const chainOptions = {
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '5 seconds', maximumInterval: '2 minutes', maximumAttempts: 20, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Read, verify and store new rows of one machine/service chain',
} as const;
const { ingestAuditLogChain } = proxyActivities<Activities>(chainOptions);
/**
 * With several lanes, each chain goes through the task queue, so every worker polling it takes a
 * share: eager dispatch (on in `qlik-audit dev`) would hand every chain back to the worker running
 * this workflow, which always has a free slot, and a second worker would sit idle through a backfill.
 * One lane keeps eager dispatch: nothing to share, and it saves a round trip per chain.
 */
const { ingestAuditLogChain: ingestAuditLogChainShared } = proxyActivities<Activities>({ ...chainOptions, allowEagerDispatch: false });

/** Chains per run before continuing as new (keeps history small on a large backfill). */
const CHAINS_PER_RUN = 100;

export async function ingestAuditSecurityLogs(input: IngestWorkflowInput = {}): Promise<IngestSummary> {
  const info = workflowInfo();
  const runId = input.runId ?? `${info.workflowId}/${info.runId}`;
  const startedAt = input.startedAt ?? info.runStartTime.getTime();
  const done = input.done ?? { chains: 0, files: 0, rowsStored: 0, findings: {} };
  const add = (result: { files: number; rowsStored: number; findings: Record<string, number> }) => {
    done.chains++;
    done.files += result.files;
    done.rowsStored += result.rowsStored;
    for (const [kind, count] of Object.entries(result.findings)) done.findings[kind] = (done.findings[kind] ?? 0) + count;
  };

  const plan = input.remaining ? { chains: input.remaining, parallelChains: input.parallelChains ?? 1 } : await planAuditLogRun({ runId });
  const { chains, parallelChains } = plan;
  // A bounded fan-out: `parallelChains` lanes take the next chain as each finishes. After
  // CHAINS_PER_RUN (or when Temporal suggests it) no lane takes another; the rest continue as new.
  let next = 0;
  let started = 0;
  const ingestChain = parallelChains > 1 ? ingestAuditLogChainShared : ingestAuditLogChain;
  const lane = async () => {
    while (next < chains.length && started < CHAINS_PER_RUN && !workflowInfo().continueAsNewSuggested) {
      const chain = chains[next++] as ChainKey;
      started++;
      add(await ingestChain({ machine: chain.machine, service: chain.service, runId, planned: true }));
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelChains, chains.length)) }, lane));
  if (next < chains.length) {
    return continueAsNew<typeof ingestAuditSecurityLogs>({ runId, remaining: chains.slice(next), parallelChains, done, startedAt });
  }

  const summary: IngestSummary = { runId, ...done, durationMs: new Date().getTime() - startedAt };
  // The chain's head after this run, kept here in history, outside the database: verify-store's anchor.
  const anchor = await recordIngestRun(summary);
  return anchor ? { ...summary, anchor } : summary;
}
