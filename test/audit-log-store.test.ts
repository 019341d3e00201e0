// The store keeps what Qlik wrote, exactly, in PGlite and in the local PostgreSQL: rows go in by
// COPY, so every character COPY treats specially must come back unchanged; a row already stored
// (a replayed row) is stored once; and the digest chain still catches any change, even '' to NULL,
// and rows that no batch vouches for.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ingestChain } from '../activities/audit-log/ingest-chain';
import { buildChains, discoverLogFiles } from '../activities/audit-log/log-files';
import { openStore, type AuditStore } from '../activities/audit-log/store';
import { verifyStore } from '../activities/audit-log/verify-store';
import { auditFile, HEADER, withValidChecksum } from './helpers/audit-log-factory';

const POSTGRES = 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own on the local PostgreSQL, and how to drop it afterwards. */
function scratchSchema() {
  const schema = `qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  return { url: `${POSTGRES}?schema=${schema}`, drop: (store: AuditStore) => store.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}
const COLUMNS = HEADER.split('\t');
// An extra column Qlik may add in a later release: kept in `extra`.
const WITH_TENANT = [...COLUMNS.slice(0, -1), 'TenantId', 'Checksum'].join('\t');

/** A row line with a valid checksum, from field values by column name. */
function row(sequence: number, values: Record<string, string>): string {
  const fields = [...COLUMNS.slice(0, -1), 'TenantId'].map((name) => {
    if (name === 'Sequence#') return String(sequence);
    if (name === 'Timestamp') return values.Timestamp ?? `20260301T10${String(sequence).padStart(2, '0')}00.000+0100`;
    return values[name] ?? `${name.toLowerCase()}-${sequence}`;
  });
  return withValidChecksum(`${fields.join('\t')}\t`);
}

const tricky = {
  UserId: 'svc\\backslash\\N',
  Message: 'tab ⇔ kept as Qlik wrote it; CR\rinside; back\\\\slashes; \\t not a tab',
  ObjectName: 'NUL\u0000byte',
  Description: '',
  TenantId: '{"json": "in a field"}',
};

for (const kind of ['pglite', 'postgres'] as const) {
  test(`${kind}: fields come back exactly as Qlik wrote them; a replayed row is stored once; verify-store catches '' → NULL`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qa-store-'));
    const lines = [row(1, {}), row(2, tricky), row(3, { Timestamp: 'not a time' }), row(4, {})];
    const replayed = lines[1] as string;
    writeFileSync(path.join(dir, 'NODE1_AuditSecurity_Proxy.txt'), `\ufeff${WITH_TENANT}\r\n${[...lines, replayed, row(5, {})].join('\r\n')}\r\n`);
    const scratch = scratchSchema();
    const store = await openStore(kind === 'pglite' ? `pglite:${mkdtempSync(path.join(tmpdir(), 'qa-pglite-'))}` : scratch.url);
    try {
      const [chain] = buildChains(await discoverLogFiles([dir]));
      const result = await ingestChain(store, chain ?? [], { runId: 'store-test', sequenceMax: 2147483647 });
      assert.equal(result.rowsStored, 5, 'six rows in the file, the replayed one stored once (one COPY fails, then goes again without it)');
      assert.ok((result.findings['duplicate-row'] ?? 0) + (result.findings['sequence-regression'] ?? 0) >= 1, JSON.stringify(result.findings));

      const stored = (await store.query<Record<string, unknown>>('SELECT * FROM audit_rows ORDER BY sequence, line')).rows;
      assert.deepEqual(stored.map((r) => [Number(r.sequence), r.line]), [[1, 2], [2, 3], [3, 4], [4, 5], [5, 7]]);
      const two = stored[1] as Record<string, unknown>;
      assert.equal(two.user_id, tricky.UserId);
      assert.equal(two.message, tricky.Message);
      assert.equal(two.object_name, 'NUL\ufffdbyte', 'PostgreSQL text cannot hold NUL: replaced, not dropped');
      assert.equal(two.description, '');
      assert.deepEqual(two.extra, { TenantId: tricky.TenantId });
      assert.equal(two.checksum_valid, true);
      assert.equal(stored[2]?.ts_utc, null, 'an invalid timestamp is stored as text only');
      assert.equal(stored[2]?.ts_text, 'not a time');
      assert.deepEqual(await verifyStore(store), { ok: true, batches: 1, rows: 5, brokenBatches: 0, strayRows: 0 });

      await store.query(`UPDATE audit_rows SET description = NULL WHERE sequence = 2`);
      const changed = await verifyStore(store);
      assert.equal(changed.ok, false, "'' and NULL are different values");
      assert.equal(changed.firstBroken?.reason, 'a stored row was changed');

      // A row slipped in afterwards under a batch id of its own: no batch vouches for it.
      await store.query(`INSERT INTO audit_rows (machine, service, file_name, sequence, ts_text, checksum, checksum_valid, line, batch_id)
                         SELECT machine, service, file_name, 99, ts_text, checksum, true, 99, 424242 FROM audit_rows WHERE sequence = 1`);
      assert.equal((await verifyStore(store)).strayRows, 1);
    } finally {
      if (kind === 'postgres') await scratch.drop(store);
      await store.close();
    }
  });
}

test('a store written by an earlier development format is refused with a clear message, not misread', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-pglite-'));
  const { PGlite } = await import('@electric-sql/pglite');
  const old = await PGlite.create(dir);
  await old.query('CREATE TABLE audit_rows (id BIGSERIAL PRIMARY KEY, raw TEXT NOT NULL)');
  await old.close();
  await assert.rejects(openStore(`pglite:${dir}`), /earlier development version \(format 1, now 2\): point auditSecurityLog\.store at a new/);
});

test('postgres: two workers ingesting the same chain at once take turns: every row once, counts not doubled', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-store-'));
  writeFileSync(path.join(dir, 'NODE2_AuditSecurity_Repository.txt'), auditFile(1, 30_000));
  const scratch = scratchSchema();
  // Two stores are two connection pools: as far as PostgreSQL can tell, two worker processes.
  const [one, two] = [await openStore(scratch.url), await openStore(scratch.url)];
  try {
    const [chain] = buildChains(await discoverLogFiles([dir]));
    let waits = 0;
    const options = { runId: 'concurrent', sequenceMax: 2147483647, onWait: () => waits++ };
    const results = await Promise.all([ingestChain(one, chain ?? [], options), ingestChain(two, chain ?? [], options)]);
    assert.deepEqual(results.map((r) => r.rowsStored).sort((a, b) => a - b), [0, 30_000], 'one run stored everything; the other found nothing new');
    assert.ok(waits >= 1, 'the second run waited for the first');
    const files = (await one.query<{ rows: number; checkpoint_line: number }>('SELECT rows, checkpoint_line FROM audit_files')).rows;
    assert.deepEqual(files, [{ rows: 30_000, checkpoint_line: 30_002 }]);
    assert.equal((await verifyStore(one)).ok, true);
  } finally {
    await scratch.drop(one);
    await Promise.all([one.close(), two.close()]);
  }
});
