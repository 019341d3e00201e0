// The store's integrity check as an auditor gets it (evidence bundles, the auditor's view): the
// digest chain recomputed and proven against the anchors kept outside the database — the anchor log
// and Temporal's copies — failing closed when none can be read, as `logs verify-store` does.
import type { Config } from '../common/config';
import { configuredDigestKey } from '../store/digest';
import { storeId, type AuditStore } from '../store/store';
import { verifyStore, type StoreVerification } from '../store/verify-store';
import { collectAnchors } from './ingest-anchors';

export interface StoreCheck {
  report: StoreVerification;
  /** Said to the user (e.g. Temporal unreachable while the anchor log was read). */
  notes: string[];
}

export async function checkStore(config: Config, store: AuditStore): Promise<StoreCheck> {
  const key = configuredDigestKey(config.auditSecurityLog.digestKey);
  const found = await collectAnchors(config, key, { storeId: await storeId(store) });
  const notes = [...found.notes];
  if (found.unavailable) notes.push(`the store is not proven: no anchor could be checked (${found.unavailable})`);
  const report = await verifyStore(store, {
    key,
    anchors: found.anchors,
    anchorProblems: found.problems,
    required: true,
    anchorsUnavailable: found.unavailable,
    sequenceMax: config.auditSecurityLog.sequenceMax,
  });
  if (found.reanchored.length) report.reanchored = found.reanchored;
  return { report, notes };
}
