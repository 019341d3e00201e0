// The store's proof against insiders (SPEC 5.6), tried as they would try it — a database user with
// write access, someone who can delete Temporal's histories, someone who can edit the anchor file but
// has no key — on the suite's PostgreSQL (the embedded server), through a worker and the CLI, keyed
// and unkeyed. Each attack must fail `logs verify-store` (exit 1) with a problem naming it; a clean
// store keeps passing, also once Temporal's histories of the ingest runs are gone.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { startIngestNow } from '../client/ingest-schedule';
import type { IngestSummary } from '../common/ingest-types';
import { auditQsEvent, screenshotEvent } from '../demo/sample-events';
import { eventRow, storeEvents } from '../store/audit-events';
import { batchDigest, digestKey, findingLine, lineChecksum, listHash, rowChecksum, type DigestKey } from '../store/digest';
import { purgeExpired } from '../store/retention';
import { recordScreenshotOutcome } from '../store/screenshot-outcomes';
import { openStore, type AuditStore } from '../store/store';
import { verifyStore, type ProblemKind } from '../store/verify-store';
import { auditFile, copySamples } from './helpers/audit-log-factory';
import { runCli } from './helpers/cli';
import { ingestBed } from './helpers/ingest-bed';
import { POSTGRES } from './helpers/postgres';

const schemaUrl = () => `${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const SECRET = 'an insider does not have this key';

/** A worker ingesting a copy of the samples, and the config file the CLI uses for the same store and anchor file. */
async function attackBed(keyed: boolean) {
  const sources = copySamples();
  const storeUrl = schemaUrl();
  const bed = await ingestBed(storeUrl, sources, keyed ? { digestKey: SECRET } : {});
  const configFile = path.join(sources, 'config.yaml');
  writeFileSync(configFile, `temporal: { taskQueue: ${bed.taskQueue} }\nauditSecurityLog: { sources: [ { directory: ${sources} } ], store: '${storeUrl}'${keyed ? `, digestKey: '${SECRET}'` : ''} }\n`);
  const cli = (args: string[]) => runCli([...args, '--config', configFile], { env: { TEMPORAL_ADDRESS: bed.env.address } });
  const verify = async () => {
    const run = await cli(['logs', 'verify-store', '--json']);
    return { status: run.status, report: JSON.parse(run.stdout || '{}') as { ok: boolean; anchorsChecked: number; batches: number; problems: { kind: ProblemKind; detail: string }[]; reanchored?: { reason: string; by: string }[] }, stderr: run.stderr };
  };
  const anchorFile = path.join(sources, 'var', 'anchors', 'audit-store.anchors');
  const anchorLines = () => readFileSync(anchorFile, 'utf8').split('\n').filter(Boolean);
  return { ...bed, sources, configFile, cli, verify, anchorFile, anchorLines };
}

const kinds = (problems: { kind: string }[]) => [...new Set(problems.map((p) => p.kind))].sort();
const batches = async (store: AuditStore) => Number((await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_batches')).rows[0]?.n);
const deleteNewestBatch = async (store: AuditStore) => {
  for (const table of ['audit_rows', 'audit_findings']) await store.query(`DELETE FROM ${table} WHERE batch_id = (SELECT max(id) FROM audit_batches)`);
  await store.query('DELETE FROM audit_batches WHERE id = (SELECT max(id) FROM audit_batches)');
};

test('unkeyed: a tampered chain is never re-anchored — ingest runs fail (StoreTampered) and append nothing until an operator re-anchors, which is recorded', async () => {
  const bed = await attackBed(false);
  const first = await bed.ingest();
  assert.equal(first.rowsStored, 281);
  assert.equal(bed.anchorLines().length, 2, 'the run began the anchor log (before storing anything), then anchored the chain');
  assert.deepEqual((await bed.verify()).status, 0);

  // The insider deletes the newest batch with its rows, then waits for ingest runs to launder it.
  await deleteNewestBatch(bed.store);
  const left = await batches(bed.store);
  // New rows arrive meanwhile: they must not be appended over the tampering.
  writeFileSync(path.join(bed.sources, 'NODE9_AuditSecurity_Proxy.txt'), auditFile(1, 10));
  for (let i = 0; i < 6; i++) {
    const handle = await startIngestNow(bed.env.client, bed.taskQueue);
    await assert.rejects(handle.result(), (err: Error & { cause?: { cause?: { type?: string; message?: string } } }) => {
      assert.equal(err.cause?.cause?.type, 'StoreTampered');
      assert.match(err.cause?.cause?.message ?? '', /the digest chain no longer holds its last anchor, so nothing is appended or anchored: the chain has \d+ batches, the last anchor \(#2, .*\) recorded \d+: batches were deleted\. Run `qlik-audit logs verify-store`.*`qlik-audit logs reanchor --reason/);
      return true;
    });
    assert.equal((await handle.describe()).status.name, 'FAILED', 'the run fails visibly (Web UI, schedule)');
  }
  assert.equal(await batches(bed.store), left, 'nothing appended');
  assert.equal(Number((await bed.store.query<{ n: string }>(`SELECT count(*) AS n FROM audit_rows WHERE machine = 'NODE9'`)).rows[0]?.n), 0);
  assert.equal(bed.anchorLines().length, 2, 'nothing anchored');
  const caught = await bed.verify();
  assert.equal(caught.status, 1);
  assert.ok(kinds(caught.report.problems).includes('truncated'), JSON.stringify(caught.report.problems));

  // The operator investigates, then records the decision; ingestion goes on.
  const noReason = await bed.cli(['logs', 'reanchor']);
  assert.equal(noReason.status, 2);
  assert.match(noReason.stderr, /missing --reason/);
  const reanchored = await bed.cli(['logs', 'reanchor', '--reason', 'restored from the 03:00 backup; ticket CHG-1234']);
  assert.equal(reanchored.status, 0, reanchored.stderr);
  assert.match(reanchored.stdout, /^re-anchored: .* entry #3, \d+ batches, head [0-9a-f]{16}…, by \S+@\S+\n {2}found: the chain has \d+ batches, the last anchor .* batches were deleted/);
  const entry = JSON.parse(bed.anchorLines()[2] as string).entry;
  assert.deepEqual([entry.type, entry.reason, entry.batches], ['reanchor', 'restored from the 03:00 backup; ticket CHG-1234', left]);
  const again = await bed.ingest();
  assert.equal(again.rowsStored, 10, 'the new file (the deleted rows stay lost: the re-anchoring accepted that)');
  assert.equal(bed.anchorLines().length, 4);
  const after = await bed.verify();
  assert.equal(after.status, 0, JSON.stringify(after.report));
  assert.equal(after.report.reanchored?.[0]?.reason, 'restored from the 03:00 backup; ticket CHG-1234');
  const human = await bed.cli(['logs', 'verify-store']);
  assert.match(human.stdout, /^RE-ANCHORED on \S+ by \S+ at \d+ batches: restored from the 03:00 backup; ticket CHG-1234 \(anchors before it are not checked\)\nOK: /);
  const nothingToDo = await bed.cli(['logs', 'reanchor', '--reason', 'again']);
  assert.equal(nothingToDo.status, 2);
  assert.match(nothingToDo.stderr, /the chain holds its last anchor .*: nothing to re-anchor/);

  // The anchor file's own chain: an entry edited, or removed from the middle, is caught.
  const original = readFileSync(bed.anchorFile, 'utf8');
  const lines = original.split('\n');
  writeFileSync(bed.anchorFile, lines.map((line, i) => (i === 0 ? line.replace(/"batches":\d+/, '"batches":1') : line)).join('\n'));
  const edited = await bed.verify();
  assert.equal(edited.status, 1);
  assert.match(edited.report.problems.find((p) => p.kind === 'anchor-log-broken')?.detail ?? '', /line 2: does not name the line before it/);
  writeFileSync(bed.anchorFile, [lines[0], ...lines.slice(2)].join('\n'));
  assert.ok(kinds((await bed.verify()).report.problems).includes('anchor-log-broken'));
  // Cut its newest entry (no key needed to cut): Temporal's copy of that entry, in the run's result, shows it.
  writeFileSync(bed.anchorFile, `${lines.filter(Boolean).slice(0, -1).join('\n')}\n`);
  const cutFile = await bed.verify();
  assert.equal(cutFile.status, 1);
  assert.match(cutFile.report.problems.map((p) => p.detail).join('\n'), /ingest run \S+ \(.*\) wrote entry #4 of this anchor log; \S+ ends at #3: its newest entries were cut/);
  writeFileSync(bed.anchorFile, original);

  // Retention deletes the ingest runs' histories (here: at once): the anchor file still proves the store.
  for await (const run of bed.env.client.workflow.list({ query: `TaskQueue = '${bed.taskQueue}'` })) {
    await bed.env.client.workflowService.deleteWorkflowExecution({ namespace: 'default', workflowExecution: { workflowId: run.workflowId, runId: run.runId } });
  }
  const kept = await bed.verify();
  assert.equal(kept.status, 0, JSON.stringify(kept.report));
  assert.ok(kept.report.anchorsChecked >= 2, 'the anchors since the re-anchoring, from the file');
  await deleteNewestBatch(bed.store);
  const cut = await bed.verify();
  assert.equal(cut.status, 1);
  assert.ok(kinds(cut.report.problems).includes('truncated'));

  // A store that has lost its id (its row, or its table) is not given a new one: it is named.
  for (const erase of ['DELETE FROM audit_store', 'DROP TABLE audit_store']) {
    await bed.store.query(erase);
    const nameless = await bed.verify();
    assert.equal(nameless.status, 1, `${erase}: ${nameless.stderr}`);
    assert.match(nameless.report.problems.find((p) => p.kind === 'store-replaced')?.detail ?? '', /this database is no store \(its id is gone: emptied or re-created\)/, erase);
  }
  await assert.rejects(bed.ingest(), (err: Error & { cause?: { cause?: { type?: string } } }) => err.cause?.cause?.type === 'StoreTampered', 'and ingest refuses it');
  await bed.stop();
});

test('keyed: a store re-identified and recomputed without the key, or an anchor forged without it, fails verify-store; a keyed store never accepts an unkeyed batch', async () => {
  const bed = await attackBed(true);
  const first = (await bed.ingest()) as IngestSummary;
  assert.equal(first.anchor?.anchorNumber, 2, 'after the anchor log’s first entry, made before anything was stored');
  const clean = await bed.verify();
  assert.equal(clean.status, 0, JSON.stringify(clean.report));
  const lastLine = bed.anchorLines().at(-1) as string;
  assert.match(JSON.parse(lastLine).mac, /^[0-9a-f]{64}$/, 'each anchor entry is MACed under the key');

  // The insider edits a row, recomputes every hash and digest as plain SHA-256 with the public
  // formula, and gives the store a new id, so anchors looked up by id would not be found.
  await bed.store.query(`UPDATE audit_rows SET user_id = 'nobody' WHERE sequence = 60`);
  const { rows } = await bed.store.query<Record<string, string | number>>('SELECT * FROM audit_batches ORDER BY id');
  let previous = '0'.repeat(64);
  for (const b of rows) {
    const stored = (await bed.store.query<Record<string, unknown>>('SELECT * FROM audit_rows WHERE batch_id = $1 ORDER BY line', [b.id])).rows;
    const findings = (await bed.store.query<Record<string, unknown>>('SELECT * FROM audit_findings WHERE batch_id = $1 ORDER BY id', [b.id])).rows;
    const content = { machine: String(b.machine), service: String(b.service), fileName: String(b.file_name), rowCount: stored.length, findingCount: findings.length, rowsHash: listHash(stored.map(rowChecksum)), findingsHash: listHash(findings.map((f) => lineChecksum(findingLine(f)))) };
    const digest = batchDigest(previous, content, undefined);
    await bed.store.query('UPDATE audit_batches SET rows_hash = $1, findings_hash = $2, prev_digest = $3, digest = $4, keyed = false, key_id = NULL WHERE id = $5', [content.rowsHash, content.findingsHash, previous, digest, b.id]);
    previous = digest;
  }
  await bed.store.query(`UPDATE audit_store SET store_id = $1`, [randomUUID()]);
  const caught = await bed.verify();
  assert.equal(caught.status, 1);
  for (const kind of ['unkeyed-batch', 'store-replaced', 'anchor-mismatch'] as const) assert.ok(kinds(caught.report.problems).includes(kind), `${kind}: ${JSON.stringify(caught.report.problems)}`);

  // Without the key, the anchor file cannot follow: an entry appended for the forged head does not verify.
  const before = JSON.parse(lastLine).entry;
  const forged = { ...before, n: before.n + 1, prev: lineChecksum(lastLine), chainHead: previous, keyId: null };
  writeFileSync(bed.anchorFile, `${bed.anchorLines().join('\n')}\n${JSON.stringify({ entry: forged, mac: '' })}\n`);
  const forgedRun = await bed.verify();
  assert.equal(forgedRun.status, 1);
  assert.match(forgedRun.report.problems.find((p) => p.kind === 'anchor-log-broken')?.detail ?? '', /line 3: not keyed, in a store verified with a key/);
  // And the next ingest run refuses to append to it.
  await assert.rejects(bed.ingest(), (err: Error & { cause?: { cause?: { type?: string } } }) => err.cause?.cause?.type === 'StoreTampered');
  await bed.stop();
});

test('Audit.qs events, screenshot outcomes and purges are under the chain: every edit, deletion or insertion by a database user is found; a purge is accounted for', async () => {
  for (const key of [undefined, digestKey(SECRET) as DigestKey]) {
    const fresh = async () => {
      const store = await openStore(schemaUrl());
      const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
      const events = ['anna', 'bert', 'carl'].map((u, i) => auditQsEvent('navigation.sheet.loaded', `LAB\\${u}`, daysAgo(60 - i), { sheetId: 's' }));
      events.push(auditQsEvent('navigation.sheet.loaded', 'LAB\\dora', daysAgo(1), { sheetId: 's' }));
      await storeEvents(store, events.map(eventRow), { key });
      for (const [i, days] of [90, 2].entries()) {
        const shot = screenshotEvent(`https://qlik.example.com/${i}.png`, 'LAB\\anna', { timestamp: daysAgo(days) });
        await recordScreenshotOutcome(store, shot, { workflowId: `w${i}`, runId: randomUUID(), status: 'stored', savedPaths: [], sha256: 'a'.repeat(64), bytes: 3, startedAt: daysAgo(days), finishedAt: daysAgo(days) }, key);
      }
      const purge = await purgeExpired(store, { policy: { retentionDays: 30, legalHold: { users: [], apps: [] } }, configuredBy: 'test', runId: 'purge-1', key });
      assert.deepEqual([purge.eventsDeleted, purge.screenshotsDeleted], [4, 1], 'three old events and the old screenshot with its event');
      return store;
    };
    const clean = await fresh();
    // Checked while events keep coming in and a purge runs: the check sees one moment of the store.
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) await storeEvents(clean, [eventRow(auditQsEvent('navigation.sheet.loaded', 'LAB\\erik', new Date(Date.now() - (i % 2) * 40 * 86_400_000).toISOString(), { sheetId: `s${i}` }))], { key });
    })();
    const purging = (async () => {
      while (writing) await purgeExpired(clean, { policy: { retentionDays: 30, legalHold: { users: [], apps: [] } }, configuredBy: 'test', runId: 'purge-n', key });
    })();
    for (let round = 0; round < 3; round++) {
      const during = await verifyStore(clean, { key });
      assert.deepEqual(during.problems, [], `round ${round}: a clean store checked while it is written is clean`);
    }
    writing = false;
    await Promise.all([writer, purging]);
    const report = await verifyStore(clean, { key });
    assert.deepEqual([report.ok, report.problems], [true, []], 'a purge leaves the chain accounting for what it deleted');
    assert.ok((report.trailItems ?? 0) > 6 + 2 + 1 + 5, 'events (some purged), outcomes (1 purged), the purges, their tombstones');
    await clean.close();

    const attacks: [string, ProblemKind, string][] = [
      ['edit an event', 'trail-changed', `UPDATE audit_events SET user_id = 'someone' WHERE user_id = 'dora'`],
      ['delete an event', 'trail-deleted', `DELETE FROM audit_events WHERE user_id = 'dora'`],
      ['put an event in', 'trail-added', `INSERT INTO audit_events SELECT 'forged', type, event_time, received_at, user_text, user_directory, user_id, app_id, app_name, sheet_id, sheet_name, correlation_id, audit_qs_version, envelope, batch_id FROM audit_events LIMIT 1`],
      ['put an event in under no entry', 'trail-added', `INSERT INTO audit_events SELECT 'forged', type, event_time, received_at, user_text, user_directory, user_id, app_id, app_name, sheet_id, sheet_name, correlation_id, audit_qs_version, envelope, 999999 FROM audit_events LIMIT 1`],
      ['change a screenshot’s sha256', 'trail-changed', `UPDATE screenshot_outcomes SET sha256 = '${'b'.repeat(64)}'`],
      ['delete a screenshot outcome', 'trail-deleted', `DELETE FROM screenshot_outcomes`],
      ['delete the purge record', 'trail-deleted', `DELETE FROM audit_purges`],
      ['edit what the purge says', 'trail-changed', `UPDATE audit_purges SET configured_by = 'someone else'`],
      ['delete a tombstone', 'trail-deleted', `DELETE FROM audit_tombstones WHERE id = (SELECT min(id) FROM audit_tombstones)`],
      [
        'pass a deletion off as a purge',
        'trail-added',
        `WITH gone AS (DELETE FROM audit_events WHERE user_id = 'dora' RETURNING batch_id, event_id)
         INSERT INTO audit_tombstones (purge_batch, batch_id, item_key, item_hash) SELECT (SELECT max(purge_batch) FROM audit_tombstones), batch_id, event_id, '${'c'.repeat(64)}' FROM gone`,
      ],
    ];
    for (const [name, kind, sql] of attacks) {
      const store = await fresh();
      try {
        await store.query(sql);
        const result = await verifyStore(store, { key });
        assert.equal(result.ok, false, `${name} (${key ? 'keyed' : 'unkeyed'})`);
        assert.ok(kinds(result.problems).includes(kind), `${name}: expected ${kind}, got ${JSON.stringify(result.problems)}`);
      } finally {
        await store.close();
      }
    }
  }
});
