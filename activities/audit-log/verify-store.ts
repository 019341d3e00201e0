// `logs verify-store`: recomputes the digest chain over every stored batch and reports the first batch
// whose rows were changed, deleted or added after ingestion (or whose predecessor was removed), and
// counts rows that belong to no batch of the chain.
import { batchDigest, GENESIS_DIGEST, rowChecksum } from './digest';
import type { AuditStore } from './store';

export interface StoreVerification {
  ok: boolean;
  batches: number;
  rows: number;
  brokenBatches: number;
  /** Rows whose batch is not in the chain: inserted after ingestion (or their batch was deleted). */
  strayRows: number;
  firstBroken?: { batchId: number; machine: string; service: string; fileName: string; reason: string };
}

interface BatchRow {
  id: string;
  machine: string;
  service: string;
  file_name: string;
  row_count: number;
  prev_digest: string;
  digest: string;
}

export async function verifyStore(store: AuditStore, onProgress?: (batches: number) => void): Promise<StoreVerification> {
  const result: StoreVerification = { ok: true, batches: 0, rows: 0, brokenBatches: 0, strayRows: 0 };
  let previous = GENESIS_DIGEST;
  let lastId = 0;
  for (;;) {
    const { rows: batches } = await store.query<BatchRow>('SELECT id, machine, service, file_name, row_count, prev_digest, digest FROM audit_batches WHERE id > $1 ORDER BY id LIMIT 500', [lastId]);
    if (batches.length === 0) break;
    for (const batch of batches) {
      const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM audit_rows WHERE batch_id = $1 ORDER BY line', [batch.id]);
      result.batches++;
      result.rows += rows.length;
      let reason: string | undefined;
      if (batch.prev_digest !== previous) reason = 'the batch before it was deleted or changed';
      else if (rows.length < batch.row_count) reason = `${batch.row_count - rows.length} of its ${batch.row_count} rows were deleted`;
      else if (rows.length > batch.row_count) reason = `${rows.length - batch.row_count} rows were added to it`;
      else if (batchDigest(previous, rows.map(rowChecksum)) !== batch.digest) reason = 'a stored row was changed';
      if (reason) {
        result.ok = false;
        result.brokenBatches++;
        result.firstBroken ??= { batchId: Number(batch.id), machine: batch.machine, service: batch.service, fileName: batch.file_name, reason };
      }
      previous = batch.digest;
      lastId = Number(batch.id);
    }
    onProgress?.(result.batches);
  }
  const { rows: total } = await store.query<{ n: string | number }>('SELECT count(*) AS n FROM audit_rows');
  result.strayRows = Number(total[0]?.n ?? 0) - result.rows;
  if (result.strayRows !== 0) result.ok = false;
  return result;
}
