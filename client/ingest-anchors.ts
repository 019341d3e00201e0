// The anchors `logs verify-store` and `audit evidence` check the store against (SPEC 5.6): the anchor
// log (auditSecurityLog.anchorFile — the configuration, not the database, names it), and, while the
// namespace's retention keeps them, the anchors of the newest completed ingest runs in Temporal history
// that name the same anchor log (a second copy, held by another party). Or anchors given by hand.
import type { Client } from '@temporalio/client';
import type { Config } from '../common/config';
import type { IngestSummary } from '../common/ingest-types';
import { currentAnchors, readAnchorLog, type AnchorEntry } from '../store/anchor-log';
import type { DigestKey } from '../store/digest';
import type { Anchor, StoreProblem, StoreVerification } from '../store/verify-store';
import { withClient } from './connect';

/**
 * Up to `count` anchors from the newest completed ingestAuditSecurityLogs runs that wrote to anchor log
 * `log` (entry `from` or later: not before the newest re-anchoring), or — when the anchor log is gone —
 * that wrote to the file `anchorFile`.
 */
export async function latestAnchors(client: Client, belongs: { log?: string; from: number; anchorFile: string }, count = 5): Promise<Anchor[]> {
  const anchors: Anchor[] = [];
  const runs = client.workflow.list({ query: `WorkflowType = 'ingestAuditSecurityLogs' AND ExecutionStatus = 'Completed'` });
  for await (const run of runs) {
    const anchor = ((await client.workflow.getHandle(run.workflowId, run.runId).result()) as IngestSummary | undefined)?.anchor;
    if (!anchor?.anchorLog) continue;
    const ours = belongs.log ? anchor.anchorLog === belongs.log && (anchor.anchorNumber ?? 0) >= belongs.from : anchor.anchorFile === belongs.anchorFile;
    if (ours) anchors.push({ ...anchor, source: `ingest run ${run.workflowId} (${run.closeTime?.toISOString() ?? 'closed'})` });
    if (anchors.length >= count) break;
  }
  return anchors;
}

/** `--anchor HEAD:BATCHES` as given on the command line (e.g. copied from an earlier run's result). */
export function parseAnchor(text: string): Anchor | undefined {
  const match = /^([0-9a-f]{64}):(\d+)$/.exec(text.trim());
  return match ? { chainHead: match[1] as string, batches: Number(match[2]), source: `--anchor ${text.trim().slice(0, 16)}…:${match[2]}` } : undefined;
}

export interface CollectedAnchors {
  anchors: Anchor[];
  /** Why no anchor could be had at all (verify-store then fails closed when the store holds anything). */
  unavailable?: string;
  /** The anchor log's own problems. */
  problems: StoreProblem[];
  reanchored: NonNullable<StoreVerification['reanchored']>;
  /** Said to the user, not a problem (e.g. Temporal not reachable while the anchor log was read). */
  notes: string[];
}

const fromEntry = (file: string) => (e: AnchorEntry): Anchor => ({ chainHead: e.chainHead, batches: e.batches, rows: e.rows, storeId: e.storeId, source: `${file} #${e.n} (${e.type}, ${e.at})` });

/** The anchors of this configuration: the anchor log's (since the newest re-anchoring), then Temporal's. */
export async function collectAnchors(config: Config, key: DigestKey | undefined, options: { temporal?: boolean } = {}): Promise<CollectedAnchors> {
  const file = config.auditSecurityLog.anchorFile;
  const log = await readAnchorLog(file, key);
  const current = currentAnchors(log.entries);
  const result: CollectedAnchors = {
    anchors: current.map(fromEntry(file)),
    problems: log.problems.map((p) => ({ kind: p.kind, detail: p.detail })),
    reanchored: log.entries.filter((e) => e.type === 'reanchor').map((e) => ({ n: e.n, at: e.at, by: e.by, reason: e.reason ?? '', batches: e.batches })),
    notes: [],
  };
  if (options.temporal !== false) {
    try {
      const belongs = { log: log.entries[0]?.log, from: current[0]?.n ?? 0, anchorFile: file };
      result.anchors.push(...(await withClient(config, (client) => latestAnchors(client, belongs))));
    } catch (err) {
      result.notes.push(`Temporal's copies of the anchors were not checked: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (result.anchors.length === 0) {
    result.unavailable = `the anchor file ${file} ${log.exists ? 'holds no usable anchor' : 'does not exist'}${result.notes.length ? `, and ${result.notes[0]}` : ', and Temporal holds none of it'}`;
  }
  return result;
}
