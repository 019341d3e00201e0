// Never re-anchored over tampering (SPEC 5.6): before an ingest run appends to the digest chain, and
// again before it anchors the chain's new head, the chain must still hold the last anchor — the same
// store, at least as many batches, the same digest at the anchor's position. Otherwise the run appends
// nothing and anchors nothing, and fails (StoreTampered) until an operator runs `logs reanchor`.
import type { AnchorEntry } from './anchor-log';
import type { Sql } from './store';

/** Why the chain does not hold `last` (one line, naming what was found), or undefined when it does. */
export async function notAnchored(store: Sql, last: AnchorEntry | undefined, anchorFile: string): Promise<string | undefined> {
  const { rows } = await store.query<{ batches: string | number; log_batches: boolean; store_id: string | null; at: string | null }>(
    `SELECT (SELECT count(*) FROM audit_batches) AS batches,
            EXISTS (SELECT 1 FROM audit_batches WHERE machine <> '') AS log_batches,
            (SELECT store_id FROM audit_store LIMIT 1) AS store_id,
            (SELECT digest FROM audit_batches ORDER BY id OFFSET greatest($1::bigint - 1, 0) LIMIT 1) AS at`,
    [last?.batches ?? 0],
  );
  const found = rows[0];
  const batches = Number(found?.batches ?? 0);
  if (!last) {
    // Audit.qs events may come before the first ingest run; ingested log batches may not come without an anchor.
    return found?.log_batches
      ? `the store holds ${batches} chain entries with ingested log rows, but the anchor file ${anchorFile} holds no anchor: it was deleted or moved, auditSecurityLog.anchorFile changed, or this worker's anchorFile is not the share the other workers use (it must be one file for all of them)`
      : undefined;
  }
  const since = `the last anchor (#${last.n}, ${last.at}, ${last.batches} batches, head ${last.chainHead.slice(0, 16)}…)`;
  if ((found?.store_id ?? '') !== last.storeId) {
    return `the anchors in ${anchorFile} are of store ${last.storeId}; this database is ${found?.store_id ? `store ${found.store_id}` : 'no store (its id is gone)'}: another or a re-created database, or its id was rewritten (a new store on purpose needs an auditSecurityLog.anchorFile of its own)`;
  }
  if (batches < last.batches) return `the chain has ${batches} batches, ${since} recorded ${last.batches}: batches were deleted`;
  if (last.batches > 0 && found?.at !== last.chainHead) {
    return `the chain's batch #${last.batches} has digest ${(found?.at ?? '(none)').slice(0, 16)}…, not ${since}'s: the chain was rewritten`;
  }
  return undefined;
}

/** The message of a refused run: what was found, and what the operator can do. */
export const refusalMessage = (why: string) =>
  `the digest chain no longer holds its last anchor, so nothing is appended or anchored: ${why}. Run \`qlik-audit logs verify-store\` to see what changed; once the cause is known (a restore from backup, say), \`qlik-audit logs reanchor --reason "…"\` records the decision and lets ingestion go on`;
