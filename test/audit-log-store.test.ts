// The store keeps what Qlik wrote, exactly, in an embedded store of its own and on the suite's PostgreSQL: rows go in by
// COPY, so every character COPY treats specially must come back unchanged; a row already stored
// (a replayed row) is stored once; and the digest chain still catches any change, even '' to NULL,
// and rows that no batch vouches for.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pg from 'pg';
import path from 'node:path';
import { test } from 'node:test';
import { ingestChain } from '../store/ingest-chain';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { openStore, type AuditStore } from '../store/store';
import { verifyStore } from '../store/verify-store';
import { auditFile, auditRow, HEADER, withValidChecksum } from './helpers/audit-log-factory';

import { POSTGRES } from './helpers/postgres';

/** A schema of its own on the suite's PostgreSQL, and how to drop it afterwards. */
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

for (const kind of ['embedded', 'postgres'] as const) {
  test(`${kind}: fields come back exactly as Qlik wrote them; a replayed row is stored once; verify-store catches '' → NULL`, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'qa-store-'));
    const lines = [row(1, {}), row(2, tricky), row(3, { Timestamp: 'not a time' }), row(4, {})];
    const replayed = lines[1] as string;
    writeFileSync(path.join(dir, 'NODE1_AuditSecurity_Proxy.txt'), `\ufeff${WITH_TENANT}\r\n${[...lines, replayed, row(5, {})].join('\r\n')}\r\n`);
    const scratch = scratchSchema();
    const store = await openStore(kind === 'embedded' ? `embedded:${mkdtempSync(path.join(tmpdir(), 'qa-embedded-'))}` : scratch.url);
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
      assert.deepEqual(await verifyStore(store), { ok: true, keyed: false, batches: 1, rows: 5, anchorsChecked: 0, problems: [], trailItems: 0 });

      await store.query(`UPDATE audit_rows SET description = NULL WHERE sequence = 2`);
      const changed = await verifyStore(store);
      assert.equal(changed.ok, false, "'' and NULL are different values");
      assert.deepEqual(changed.problems.map((p) => p.kind), ['rows-changed']);

      // A row slipped in afterwards under a batch id of its own: no batch vouches for it.
      await store.query(`INSERT INTO audit_rows (machine, service, file_name, sequence, ts_text, checksum, checksum_valid, header_ok, line, batch_id)
                         SELECT machine, service, file_name, 99, ts_text, checksum, true, true, 99, 424242 FROM audit_rows WHERE sequence = 1`);
      assert.match((await verifyStore(store)).problems.find((p) => p.kind === 'rows-added')?.detail ?? '', /^1 stored rows belong to no batch/);
    } finally {
      if (kind === 'postgres') await scratch.drop(store);
      await store.close();
    }
  });
}

test('a store written by an earlier development format is refused with a clear message, not misread', async () => {
  const scratch = scratchSchema();
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  try {
    const schema = new URL(scratch.url).searchParams.get('schema');
    await admin.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.audit_rows (id BIGSERIAL PRIMARY KEY, raw TEXT NOT NULL)`);
    await assert.rejects(openStore(scratch.url), /earlier development version \(format 1, now 4\): point auditSecurityLog\.store at a new/);
    await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
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

/** One ingest of the chain in `dir`, as a run would make it. */
async function ingestFolder(store: AuditStore, dir: string, runId: string) {
  const [chain] = buildChains(await discoverLogFiles([dir]));
  return ingestChain(store, chain ?? [], { runId, sequenceMax: 2147483647 });
}

test('a checkpoint moved forward by a database user skips rows the chain never saw: verify-store names them (rows-missing)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-store-'));
  const live = path.join(dir, 'NODE9_AuditSecurity_Proxy.txt');
  writeFileSync(live, auditFile(1, 100));
  const scratch = scratchSchema();
  const store = await openStore(scratch.url);
  try {
    const ingest = () => ingestFolder(store, dir, 'checkpoint-attack');
    assert.equal((await ingest()).rowsStored, 100);
    // Qlik writes on; before the next run, the insider moves the checkpoint past rows 101-150, with a
    // sequence state that matches, so the scanner sees nothing wrong when it resumes.
    const text = auditFile(1, 200);
    writeFileSync(live, text);
    const lines = text.split('\r\n');
    const offset = Buffer.byteLength(`${lines.slice(0, 151).join('\r\n')}\r\n`); // the start of line 152: sequence 151
    const row150 = (lines[150] as string).split('\t');
    await store.query(
      `UPDATE audit_files SET checkpoint_offset = $1, checkpoint_line = 152, chain_state = jsonb_set(jsonb_set(chain_state, '{lastSequence}', '150'), '{lastChecksum}', to_jsonb($2::text)) WHERE file_name = $3`,
      [offset, row150.at(-1), path.basename(live)],
    );
    const second = await ingest();
    assert.equal(second.rowsStored, 50, 'rows 151-200 only: 101-150 were skipped');
    assert.deepEqual(second.findings, {}, 'the scanner saw a consistent chain');
    const result = await verifyStore(store);
    assert.equal(result.ok, false);
    assert.deepEqual(result.problems.map((p) => p.kind), ['rows-missing'], 'the digest chain holds (it covers what was stored): the stored sequence shows the hole');
    assert.match(result.problems[0]?.detail ?? '', /^NODE9\/Proxy NODE9_AuditSecurity_Proxy\.txt line 152: sequence 151 follows 100 and no stored finding explains the step/);
  } finally {
    await scratch.drop(store);
    await store.close();
  }
});

test('a whole file marked ingested before it was read (its record forged) leaves a hole across files: verify-store names it (rows-missing)', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-store-'));
  const first = 'NODE8_AuditSecurity_Proxy_2026-01-01T01.00.00Z.log';
  const skipped = 'NODE8_AuditSecurity_Proxy_2026-01-01T02.00.00Z.log';
  writeFileSync(path.join(dir, first), auditFile(1, 100, { signed: true }));
  const scratch = scratchSchema();
  const store = await openStore(scratch.url);
  try {
    const ingest = () => ingestFolder(store, dir, 'file-skip-attack');
    assert.equal((await ingest()).rowsStored, 100);
    // Qlik rolls another archive and writes on; the insider records the new archive as ingested, with
    // a sequence state that leads straight on to the live file, before the next run reads it.
    const text = auditFile(101, 200, { signed: true, start: new Date(Date.UTC(2026, 0, 1, 1, 30)) });
    writeFileSync(path.join(dir, skipped), text);
    writeFileSync(path.join(dir, 'NODE8_AuditSecurity_Proxy.txt'), auditFile(201, 250, { start: new Date(Date.UTC(2026, 0, 1, 2, 30)) }));
    const lastRow = auditRow(200, new Date(Date.UTC(2026, 0, 1, 1, 30) + 99_000)).split('\t');
    assert.ok(text.includes(lastRow.join('\t')));
    await store.query(
      `INSERT INTO audit_files (machine, service, file_name, path, live, checkpoint_offset, checkpoint_line, chain_state, complete, rows)
       SELECT machine, service, $1, path, false, 0, 1, jsonb_set(jsonb_set(chain_state, '{lastSequence}', '200'), '{lastChecksum}', to_jsonb($2::text)), true, 100
       FROM audit_files WHERE file_name = $3`,
      [skipped, lastRow.at(-1), first],
    );
    const second = await ingest();
    assert.equal(second.rowsStored, 50, 'the live file only: the archive was skipped');
    assert.deepEqual(second.findings, {}, 'the scanner saw a consistent chain');
    const result = await verifyStore(store);
    assert.deepEqual(result.problems.map((p) => p.kind), ['rows-missing']);
    assert.match(result.problems[0]?.detail ?? '', /^NODE8\/Proxy NODE8_AuditSecurity_Proxy\.txt line 2: sequence 201 follows 100 and no stored finding explains the step/);
  } finally {
    await scratch.drop(store);
    await store.close();
  }
});
