// The anchors of the digest chain kept outside the database: each completed ingest run's result, in
// Temporal history. `logs verify-store` checks the store against the newest of them.
import type { Client } from '@temporalio/client';
import type { IngestSummary } from '../common/ingest-types';
import type { Anchor } from '../store/verify-store';

/** Up to `count` anchors of store `storeId` from the newest completed ingestAuditSecurityLogs runs. */
export async function latestAnchors(client: Client, storeId: string, count = 5): Promise<Anchor[]> {
  const anchors: Anchor[] = [];
  const runs = client.workflow.list({ query: `WorkflowType = 'ingestAuditSecurityLogs' AND ExecutionStatus = 'Completed'` });
  for await (const run of runs) {
    const summary = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as IngestSummary;
    if (summary?.anchor && summary.anchor.storeId === storeId) anchors.push({ ...summary.anchor, source: `ingest run ${run.workflowId} (${run.closeTime?.toISOString() ?? 'closed'})` });
    if (anchors.length >= count) break;
  }
  return anchors;
}

/** `--anchor HEAD:BATCHES` as given on the command line (e.g. copied from an earlier run's result). */
export function parseAnchor(text: string): Anchor | undefined {
  const match = /^([0-9a-f]{64}):(\d+)$/.exec(text.trim());
  return match ? { chainHead: match[1] as string, batches: Number(match[2]), source: `--anchor ${text.trim().slice(0, 16)}…:${match[2]}` } : undefined;
}
