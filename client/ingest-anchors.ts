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

/** An anchor as an ingest run's result keeps it in Temporal history. */
export interface TemporalAnchor {
  anchor: Anchor;
  log?: string;
  number?: number;
  file?: string;
}

/**
 * The anchors of the newest completed ingestAuditSecurityLogs runs (up to `count` that `wanted`
 * keeps). A run whose history is gone (retention) is not listed, or fails to load: skipped.
 */
export async function latestAnchors(client: Client, wanted: (a: TemporalAnchor) => boolean, count = 5): Promise<TemporalAnchor[]> {
  const found: TemporalAnchor[] = [];
  const runs = client.workflow.list({ query: `WorkflowType = 'ingestAuditSecurityLogs' AND ExecutionStatus = 'Completed'` });
  for await (const run of runs) {
    const summary = (await client.workflow.getHandle(run.workflowId, run.runId).result().catch(() => undefined)) as IngestSummary | undefined;
    const anchor = summary?.anchor;
    if (!anchor) continue;
    const copy = { anchor: { ...anchor, source: `ingest run ${run.workflowId} (${run.closeTime?.toISOString() ?? 'closed'})` }, log: anchor.anchorLog, number: anchor.anchorNumber, file: anchor.anchorFile };
    if (wanted(copy)) found.push(copy);
    if (found.length >= count) break;
  }
  return found;
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

/**
 * The anchors of this configuration: the anchor log's (since the newest re-anchoring), then Temporal's
 * copies of anchors of this anchor log, of this file, or of the store `storeId` (the database's own
 * word: it can only add anchors to check). A copy of an entry the file no longer holds, or holds
 * otherwise, shows the file's newest entries were cut or rewritten.
 */
export async function collectAnchors(config: Config, key: DigestKey | undefined, options: { temporal?: boolean; storeId?: string } = {}): Promise<CollectedAnchors> {
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
    const logId = log.entries[0]?.log;
    const from = current[0]?.n ?? 0;
    const last = log.entries.at(-1);
    const byNumber = new Map(log.entries.map((e) => [e.n, e]));
    try {
      const copies = await withClient(config, (client) =>
        latestAnchors(client, (c) => (logId !== undefined && c.log === logId) || c.file === file || (options.storeId !== undefined && c.anchor.storeId === options.storeId)),
      );
      for (const copy of copies) {
        const sameLog = logId !== undefined && copy.log === logId && copy.number !== undefined;
        if (sameLog && copy.number! > (last?.n ?? 0)) {
          result.problems.push({ kind: 'anchor-log-broken', detail: `${copy.anchor.source} wrote entry #${copy.number} of this anchor log; ${file} ends at #${last?.n ?? 0}: its newest entries were cut` });
        } else if (sameLog && byNumber.get(copy.number!) && byNumber.get(copy.number!)?.chainHead !== copy.anchor.chainHead) {
          result.problems.push({ kind: 'anchor-log-broken', detail: `${copy.anchor.source} wrote entry #${copy.number} with head ${copy.anchor.chainHead.slice(0, 16)}…; ${file} holds another: the entry was rewritten` });
        }
        // Copies from before the newest re-anchoring describe a chain the operator accepted was changed.
        if (sameLog && copy.number! < from) continue;
        result.anchors.push(copy.anchor);
      }
    } catch (err) {
      result.notes.push(`Temporal's copies of the anchors were not checked: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (result.anchors.length === 0) {
    result.unavailable = `the anchor file ${file} ${log.exists ? 'holds no usable anchor' : 'does not exist'}${result.notes.length ? `, and ${result.notes[0]}` : ', and Temporal holds none of it'}`;
  }
  return result;
}
