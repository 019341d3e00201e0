// ingestAuditSecurityLogs on the real dev server into an embedded store and into the suite's PostgreSQL: counts
// match the files, a second run adds nothing, a live row later archived is stored once, an
// interrupted ingestion resumes with nothing lost or doubled, and verify-store catches UPDATE/DELETE.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { ingestChain } from '../store/ingest-chain';
import { openStore, type AuditStore } from '../store/store';
import { verifyStore } from '../store/verify-store';
import { startIngestNow, upsertIngestSchedule, INGEST_SCHEDULE_ID } from '../client/ingest-schedule';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from '../worker/create-worker';
import { ARCHIVE_1, ARCHIVE_2, LIVE, auditFile, copySamples } from './helpers/audit-log-factory';
import { runCli, startCli } from './helpers/cli';
import { workflowBundle } from './helpers/screenshot-testbed';
import { ingestBed } from './helpers/ingest-bed';
import { devServer } from './helpers/temporal';

import { POSTGRES } from './helpers/postgres';

const count = async (store: AuditStore, where = 'true') => Number((await store.query<{ n: string }>(`SELECT count(*) AS n FROM audit_rows WHERE ${where}`)).rows[0]?.n);

for (const kind of ['embedded', 'postgres'] as const) {
  test(`${kind}: the sample logs are stored row for row; a second run adds nothing; verify-store catches UPDATE and DELETE`, async () => {
    const sources = copySamples();
    const url = kind === 'embedded' ? `embedded:${mkdtempSync(path.join(tmpdir(), 'qa-embedded-'))}` : `${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const bed = await ingestBed(url, sources);

    const first = await bed.ingest();
    assert.deepEqual([first.chains, first.files, first.rowsStored], [1, 3, 281]);
    assert.deepEqual(first.findings, { 'service-restart': 1 });
    assert.equal(await count(bed.store), 281);
    assert.equal(await count(bed.store, `file_name = '${path.basename(ARCHIVE_2)}'`), 141);
    const row = (await bed.store.query<Record<string, unknown>>(`SELECT * FROM audit_rows WHERE sequence = 142`)).rows[0];
    assert.equal(row?.user_id, 'sa_proxy');
    assert.equal(row?.user_directory, 'INTERNAL');
    assert.equal((row?.ts_utc as Date).toISOString(), '2019-02-01T03:59:01.569Z');
    assert.equal(row?.ts_text, '20190201T045901.569+0100');
    assert.equal(row?.line, 2);
    assert.equal(row?.checksum_valid, true);
    const findings = (await bed.store.query<{ kind: string; line: number }>('SELECT kind, line FROM audit_findings')).rows;
    assert.deepEqual(findings.map((f) => [f.kind, f.line]), [['service-restart', 2]]);

    const second = await bed.ingest();
    assert.equal(second.rowsStored, 0, 'nothing new');
    assert.equal(await count(bed.store), 281);
    assert.deepEqual(await verifyStore(bed.store), { ok: true, keyed: false, batches: 3, rows: 281, anchorsChecked: 0, problems: [], trailItems: 0 });

    await bed.store.query(`UPDATE audit_rows SET user_id = 'someone-else' WHERE sequence = 50 AND file_name = '${path.basename(ARCHIVE_2)}'`);
    const changed = await verifyStore(bed.store);
    assert.equal(changed.ok, false);
    assert.deepEqual(changed.problems.map((p) => p.kind), ['rows-changed']);
    assert.match(changed.problems[0]?.detail ?? '', new RegExp(`${path.basename(ARCHIVE_2).replace(/\./g, '\\.')}\\): a stored row was changed`));

    await bed.store.query(`DELETE FROM audit_rows WHERE sequence = 200`);
    const deleted = await verifyStore(bed.store);
    assert.deepEqual(deleted.problems.map((p) => p.kind), ['rows-changed', 'rows-deleted', 'rows-missing'], 'the deleted row, by its batch and by the sequence it leaves behind');
    assert.equal((await bed.store.query('SELECT 1 FROM ingest_runs')).rows.length, 2, 'each run is recorded');
    await bed.stop();
  });
}

test('many chains: the sources are walked once per run, chains run parallelChains at a time, every row stored once', async () => {
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-chains-'));
  let rows = 0;
  for (let m = 1; m <= 6; m++) {
    for (let d = 1; d <= 3; d++) {
      writeFileSync(path.join(sources, `NODE${m}_AuditSecurity_Repository_2026-01-0${d}T00.00.00Z.log`), auditFile((d - 1) * 20 + 1, d * 20, { signed: true, start: new Date(Date.UTC(2026, 0, d)) }));
      rows += 20;
    }
    writeFileSync(path.join(sources, `NODE${m}_AuditSecurity_Repository.txt`), auditFile(61, 70, { start: new Date(Date.UTC(2026, 0, 4)) }));
    rows += 10;
  }
  const bed = await ingestBed(`${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`, sources, { parallelChains: 3 });
  const handle = await startIngestNow(bed.env.client, bed.taskQueue);
  const summary = await handle.result();
  assert.deepEqual([summary.chains, summary.files, summary.rowsStored], [6, 24, rows]);
  assert.equal(await count(bed.store), rows);

  // One plan for the run; six chain activities, never more than three at once.
  const events = (await handle.fetchHistory()).events ?? [];
  const typeOf = new Map<string, string>();
  let running = 0;
  let most = 0;
  const scheduled: string[] = [];
  for (const event of events) {
    const s = event.activityTaskScheduledEventAttributes;
    if (s) {
      typeOf.set(String(event.eventId), s.activityType?.name ?? '');
      scheduled.push(s.activityType?.name ?? '');
      if (s.activityType?.name === 'ingestAuditLogChain') most = Math.max(most, ++running);
    }
    const done = event.activityTaskCompletedEventAttributes;
    if (done && typeOf.get(String(done.scheduledEventId)) === 'ingestAuditLogChain') running--;
  }
  assert.deepEqual(scheduled.filter((t) => t !== 'ingestAuditLogChain'), ['planAuditLogRun', 'recordIngestRun']);
  assert.equal(scheduled.filter((t) => t === 'ingestAuditLogChain').length, 6);
  assert.equal(most, 3, 'parallelChains lanes');
  const plans = await bed.store.query<{ n: string }>('SELECT count(*) AS n FROM ingest_plans');
  assert.equal(Number(plans.rows[0]?.n), 0, 'the plan is removed when the run is recorded');
  assert.equal((await bed.ingest()).rowsStored, 0, 'a second run adds nothing');
  await bed.stop();
});

test('a backfill with several lanes is shared by every worker polling the task queue, not kept by the one running the workflow', async () => {
  // The dev server dispatches activities eagerly (as `qlik-audit dev` does): without care, each chain
  // would go back to the worker that scheduled it, and a second worker would sit idle.
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-shared-'));
  for (let m = 1; m <= 16; m++) writeFileSync(path.join(sources, `NODE${m}_AuditSecurity_Proxy.txt`), auditFile(1, 20, { start: new Date(Date.UTC(2026, 0, 1)) }));
  const bed = await ingestBed(`${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`, sources, { parallelChains: 4 });
  // A connection of its own, as a worker on a second server has.
  const connection = await NativeConnection.connect({ address: bed.env.address });
  const second = await createWorker({
    connection,
    namespace: 'default',
    taskQueue: bed.taskQueue,
    identity: 'second-worker',
    deps: { config: bed.config, logger: createLogger('test', { level: 'warn' }), auditStore: async () => bed.store },
    workflowBundle: await workflowBundle(),
  });
  const running = second.run();
  try {
    const handle = await startIngestNow(bed.env.client, bed.taskQueue);
    assert.equal((await handle.result()).rowsStored, 16 * 20);
    const events = (await handle.fetchHistory()).events ?? [];
    const chainActivities = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'ingestAuditLogChain').map((e) => String(e.eventId)));
    const byWorker = new Map<string, number>();
    for (const e of events) {
      const started = e.activityTaskStartedEventAttributes;
      if (started && chainActivities.has(String(started.scheduledEventId))) byWorker.set(started.identity ?? '', (byWorker.get(started.identity ?? '') ?? 0) + 1);
    }
    assert.equal([...byWorker.values()].reduce((a, b) => a + b, 0), 16);
    assert.equal(byWorker.size, 2, `both workers ingest chains: ${JSON.stringify(Object.fromEntries(byWorker))}`);
  } finally {
    second.shutdown();
    await running;
    await connection.close();
    await bed.stop();
  }
});

test('a row first read from the live file and later from its archived copy is stored once', async () => {
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-roll-'));
  const samples = copySamples();
  mkdirSync(path.join(sources, 'archived'));
  mkdirSync(path.join(sources, 'current'));
  writeFileSync(path.join(sources, ARCHIVE_1), readFileSync(path.join(samples, ARCHIVE_1)));
  // Before the roll: the live file holds the first 100 rows of what becomes ARCHIVE_2.
  const full = readFileSync(path.join(samples, ARCHIVE_2), 'utf8').split('\r\n');
  writeFileSync(path.join(sources, LIVE), `${full.slice(0, 101).join('\r\n')}\r\n`);
  const bed = await ingestBed(`embedded:${mkdtempSync(path.join(tmpdir(), 'qa-embedded-'))}`, sources);
  const before = await bed.ingest();
  assert.equal(before.rowsStored, 102);

  // Qlik rolls: the live file becomes the archive (complete, signed), a new live file starts.
  renameSync(path.join(sources, LIVE), path.join(sources, ARCHIVE_2));
  writeFileSync(path.join(sources, ARCHIVE_2), readFileSync(path.join(samples, ARCHIVE_2)));
  writeFileSync(path.join(sources, LIVE), readFileSync(path.join(samples, LIVE)));
  const after = await bed.ingest();
  assert.equal(after.rowsStored, 41 + 138);
  assert.deepEqual(after.findings, {}, 'no regression or duplicate: the archive continued from the live checkpoint');
  assert.equal(await count(bed.store), 281);
  const files = (await bed.store.query<{ file_name: string; rows: number; signature: string }>('SELECT file_name, rows, signature FROM audit_files ORDER BY id')).rows;
  assert.deepEqual(files.map((f) => [f.file_name, f.rows, f.signature]), [
    [path.basename(ARCHIVE_1), 2, 'absent'],
    [path.basename(ARCHIVE_2), 141, 'present'],
    [path.basename(LIVE), 138, 'absent'],
  ]);
  assert.equal((await verifyStore(bed.store)).ok, true);
  await bed.stop();
});

test('an ingestion interrupted mid-file resumes from its checkpoint: nothing lost, nothing doubled', async () => {
  // Files of several MiB, so a file is committed in several batches.
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-resume-'));
  writeFileSync(path.join(sources, 'NODE1_AuditSecurity_Proxy_2026-01-01T01.00.00Z.log'), auditFile(1, 6000, { signed: true }));
  writeFileSync(path.join(sources, 'NODE1_AuditSecurity_Proxy.txt'), auditFile(1, 6000, { start: new Date(Date.UTC(2026, 0, 1, 2)) }));
  const total = 12000;
  const store = await openStore(`${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`);
  try {
    const [chain] = buildChains(await discoverLogFiles([sources]));
    assert.ok(chain);
    const abort = new AbortController();
    let batches = 0;
    await assert.rejects(
      ingestChain(store, chain, {
        runId: 'interrupted',
        sequenceMax: 2147483647,
        batchSize: 25,
        signal: abort.signal,
        onProgress: () => {
          if (++batches === 2) abort.abort(new Error('worker killed'));
        },
      }),
      /worker killed/,
    );
    const partial = await count(store);
    assert.ok(partial > 0 && partial < 6000, `${partial} rows stored before the interruption, mid-file`);
    const resumed = await ingestChain(store, chain, { runId: 'resumed', sequenceMax: 2147483647, batchSize: 25 });
    assert.equal(partial + resumed.rowsStored, total);
    assert.equal(await count(store), total);
    assert.deepEqual(resumed.findings, { 'service-restart': 1 }, 'the restart is found once, after the resume');
    assert.equal((await store.query('SELECT 1 FROM audit_findings')).rows.length, 1);
    assert.equal((await verifyStore(store)).ok, true);
  } finally {
    await store.close();
  }
});

test('small daily files share transactions, each with its own chain entry and checkpoint; the same archives in a second folder are stored once', async () => {
  const first = mkdtempSync(path.join(tmpdir(), 'qa-small-a-'));
  const second = mkdtempSync(path.join(tmpdir(), 'qa-small-b-'));
  const days = 30;
  for (let d = 0; d < days; d++) {
    const name = `NODE1_AuditSecurity_Proxy_2026-01-${String(d + 1).padStart(2, '0')}T23.59.59Z.log`;
    const content = auditFile(d * 20 + 1, (d + 1) * 20, { signed: true, start: new Date(Date.UTC(2026, 0, d + 1)) });
    writeFileSync(path.join(first, name), content);
    if (d < 10) writeFileSync(path.join(second, name), content); // a copy of the first ten days, e.g. a backup folder
  }
  writeFileSync(path.join(first, 'NODE1_AuditSecurity_Proxy.txt'), auditFile(days * 20 + 1, days * 20 + 20, { start: new Date(Date.UTC(2026, 1, 1)) }));
  const total = (days + 1) * 20;
  const scratch = () => openStore(`${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`);
  const store = await scratch();
  let transactions = 0;
  const transaction = store.transaction.bind(store);
  store.transaction = (fn, options) => (transactions++, transaction(fn, options));
  try {
    const [chain] = buildChains(await discoverLogFiles([first]));
    const result = await ingestChain(store, chain ?? [], { runId: 'small-files', sequenceMax: 2147483647 });
    assert.equal(result.rowsStored, total);
    assert.equal(await count(store), total);
    assert.ok(transactions <= 2, `${transactions} transactions for ${chain?.length} files of 20 rows`);
    const { rows: files } = await store.query<{ file_name: string; complete: boolean }>('SELECT file_name, complete FROM audit_files');
    assert.equal(files.length, days + 1, 'a checkpoint per file');
    assert.ok(files.filter((f) => f.file_name.endsWith('.log')).every((f) => f.complete), 'every archive complete');
    const { rows: entries } = await store.query('SELECT file_name FROM audit_batches WHERE row_count = 20');
    assert.equal(entries.length, days + 1, 'a chain entry per file');
    assert.equal((await verifyStore(store)).ok, true);
    assert.equal((await ingestChain(store, chain ?? [], { runId: 'small-files-2', sequenceMax: 2147483647 })).rowsStored, 0);
  } finally {
    await store.close();
  }

  // The copies sort next to their originals: a group never holds one file name twice.
  const both = await scratch();
  try {
    const [chain] = buildChains(await discoverLogFiles([first, second]));
    assert.equal(chain?.length, days + 10 + 1);
    const result = await ingestChain(both, chain ?? [], { runId: 'copies', sequenceMax: 2147483647 });
    assert.equal(result.rowsStored, total);
    assert.equal(await count(both), total, 'every row once, the copies too');
    assert.equal((await both.query('SELECT 1 FROM audit_files')).rows.length, days + 1);
    assert.equal((await verifyStore(both)).ok, true);
  } finally {
    await both.close();
  }
});

test('logs schedule creates and updates the Temporal Schedule; verify-store and ingest run from the CLI', async () => {
  const sources = copySamples();
  const dbDir = mkdtempSync(path.join(tmpdir(), 'qa-embedded-'));
  const bed = await ingestBed(`embedded:${dbDir}`, sources);
  const created = await upsertIngestSchedule(bed.env.client, bed.config, bed.taskQueue);
  const updated = await upsertIngestSchedule(bed.env.client, { ...bed.config, auditSecurityLog: { ...bed.config.auditSecurityLog, every: '10m' } }, bed.taskQueue);
  assert.deepEqual([created, updated], ['created', 'updated']);
  const schedule = await bed.env.client.schedule.getHandle(INGEST_SCHEDULE_ID).describe();
  assert.equal(schedule.policies.overlap, 'SKIP');
  assert.equal(schedule.spec.intervals?.[0]?.every, 600_000);
  assert.equal(schedule.action.type === 'startWorkflow' && schedule.action.workflowType, 'ingestAuditSecurityLogs');

  const configFile = path.join(sources, 'config.yaml');
  writeFileSync(configFile, `temporal: { taskQueue: ${bed.taskQueue} }\nauditSecurityLog: { sources: [ { directory: ${sources} } ], store: 'embedded:${dbDir}' }\n`);
  const ingest = await runCli(['logs', 'ingest', '--config', configFile, '--wait'], { env: { TEMPORAL_ADDRESS: bed.env.address } });
  assert.equal(ingest.status, 0, ingest.stderr);
  assert.equal(JSON.parse(ingest.stdout).rowsStored, 281);
  // The worker keeps its handle on the embedded store open: the CLI shares the running server.

  const summary = JSON.parse(ingest.stdout);
  assert.match(summary.anchor.chainHead, /^[0-9a-f]{64}$/, 'the run keeps the chain head in its result (Temporal history)');
  assert.equal(summary.anchor.rows, 281);
  const withTemporal = { env: { TEMPORAL_ADDRESS: bed.env.address } };
  const intact = await runCli(['logs', 'verify-store', '--config', configFile, '--json'], withTemporal);
  assert.equal(intact.status, 0, intact.stderr);
  const report = JSON.parse(intact.stdout);
  assert.deepEqual(Object.keys(report), ['ok', 'keyed', 'batches', 'rows', 'anchorsChecked', 'problems', 'trailItems']);
  assert.equal(report.rows, 281);
  assert.ok(report.anchorsChecked >= 2, 'anchors from the anchor file and from Temporal history');

  // Temporal unreachable: the anchor file (outside the database, named by the configuration) still proves it.
  const noTemporal = { env: { TEMPORAL_ADDRESS: '127.0.0.1:1' } };
  const fileOnly = await runCli(['logs', 'verify-store', '--config', configFile, '--json'], noTemporal);
  assert.equal(fileOnly.status, 0, fileOnly.stdout + fileOnly.stderr);
  assert.equal(JSON.parse(fileOnly.stdout).anchorsChecked, 1, 'the run\'s anchor in the file (its first entry, the empty chain written before anything was stored, proves nothing and is not counted)');
  assert.match(fileOnly.stderr, /Temporal's copies of the anchors were not checked: cannot connect to Temporal at 127\.0\.0\.1:1/);
  // Fails closed: with no anchor at all (the anchor file moved away, Temporal unreachable) the store is
  // not proven (exit 1, saying why), unless the chain alone is asked for (--offline), which says so.
  const anchorFile = path.join(sources, 'var', 'anchors', 'audit-store.anchors');
  renameSync(anchorFile, `${anchorFile}.away`);
  const unreachable = await runCli(['logs', 'verify-store', '--config', configFile], noTemporal);
  assert.equal(unreachable.status, 1, unreachable.stdout + unreachable.stderr);
  assert.match(unreachable.stdout, /^NOT PROVEN: \d+ batches, 281 rows, .*0 anchor\(s\) checked\n {2}anchors-unchecked +no anchor could be checked: the anchor file \S+ does not exist, and Temporal's copies of the anchors were not checked: cannot connect to Temporal at 127\.0\.0\.1:1 .*\(--offline checks the chain alone\)\n$/);
  const chainOnly = await runCli(['logs', 'verify-store', '--config', configFile, '--offline', '--json'], noTemporal);
  assert.equal(chainOnly.status, 0, chainOnly.stdout);
  assert.deepEqual([JSON.parse(chainOnly.stdout).ok, JSON.parse(chainOnly.stdout).offline, JSON.parse(chainOnly.stdout).anchorsChecked], [true, true, 0]);
  const chainOnlyText = await runCli(['logs', 'verify-store', '--config', configFile, '--offline'], noTemporal);
  assert.match(chainOnlyText.stdout, /^OK: .*anchors NOT checked \(--offline\): digest chain intact \(the chain alone: not proven against any anchor\)/);
  renameSync(`${anchorFile}.away`, anchorFile);

  // The newest batch deleted with its rows: the chain still holds together; the anchors do not.
  const cut = await openStore(`embedded:${dbDir}`);
  for (const table of ['audit_rows', 'audit_findings']) await cut.query(`DELETE FROM ${table} WHERE batch_id = (SELECT max(id) FROM audit_batches)`);
  await cut.query('DELETE FROM audit_batches WHERE id = (SELECT max(id) FROM audit_batches)');
  await cut.close();
  const truncated = await runCli(['logs', 'verify-store', '--config', configFile, '--json'], withTemporal);
  assert.equal(truncated.status, 1);
  assert.ok(JSON.parse(truncated.stdout).problems.some((p: { kind: string }) => p.kind === 'truncated'), truncated.stdout);
  const offline = await runCli(['logs', 'verify-store', '--config', configFile, '--anchor', `${summary.anchor.chainHead}:${summary.anchor.batches}`]);
  assert.equal(offline.status, 1);
  assert.match(offline.stdout, /truncated +--anchor [0-9a-f]{16}…:\d+ recorded a chain of \d+ batches .*the newest batches were deleted/);
  const store = await openStore(`embedded:${dbDir}`);
  await store.query('DELETE FROM audit_rows WHERE sequence = 7');
  await store.close();
  const tampered = await runCli(['logs', 'verify-store', '--config', configFile], withTemporal);
  assert.equal(tampered.status, 1);
  assert.match(tampered.stdout, /TAMPERED: 2 batches, \d+ rows, unkeyed chain .*\n {2}rows-deleted +batch \d+ \(QLIKSERVER1\/Repository .*\): holds \d+ rows, ingested \d+/);

  // A database user wipes the store (DROP SCHEMA … CASCADE): the empty store that comes back is
  // measured against the anchors, which name another store id and a longer chain.
  const wiper = await openStore(`embedded:${dbDir}`);
  await wiper.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public');
  await wiper.close();
  const wiped = await runCli(['logs', 'verify-store', '--config', configFile, '--json'], withTemporal);
  assert.equal(wiped.status, 1, wiped.stdout);
  const emptied = JSON.parse(wiped.stdout) as { batches: number; problems: { kind: string; detail: string }[] };
  assert.equal(emptied.batches, 0);
  assert.deepEqual([...new Set(emptied.problems.map((p) => p.kind))].sort(), ['store-replaced', 'truncated']);
  assert.match(emptied.problems.find((p) => p.kind === 'store-replaced')?.detail ?? '', /was written for store [0-9a-f-]{36}; this database is no store \(its id is gone: emptied or re-created\)|this database is store [0-9a-f-]{36}/);
  await bed.stop();
});

test('a worker process killed mid-file is replaced; the store then matches the files row for row', async () => {
  const env = await devServer();
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-kill-'));
  writeFileSync(path.join(sources, 'NODE2_AuditSecurity_Engine_2026-01-01T01.00.00Z.log'), auditFile(1, 40000, { signed: true }));
  writeFileSync(path.join(sources, 'NODE2_AuditSecurity_Engine.txt'), auditFile(40001, 60000, { start: new Date(Date.UTC(2026, 0, 1, 2)) }));
  const schema = `qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const storeUrl = `${POSTGRES}?schema=${schema}`;
  const taskQueue = `ingest-kill-${randomUUID()}`;
  const configFile = path.join(sources, 'config.yaml');
  writeFileSync(configFile, `temporal: { taskQueue: ${taskQueue} }\nauditSecurityLog: { sources: [ { directory: ${sources} } ], store: '${storeUrl}' }\n`);
  const store = await openStore(storeUrl);
  try {
    const doomed = startCli(['worker', '--config', configFile], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: env.address } });
    await doomed.ready;
    const handle = await startIngestNow(env.client, taskQueue);
    const started = Date.now();
    while ((await count(store)) === 0) {
      assert.ok(Date.now() - started < 60_000, 'ingestion started');
      await new Promise((r) => setTimeout(r, 100));
    }
    doomed.child.kill('SIGKILL');
    await doomed.exited;
    const atKill = await count(store);
    assert.ok(atKill < 60000, `killed mid-way (${atKill} rows stored)`);

    const config = parseConfig({ temporal: { taskQueue }, auditSecurityLog: { sources: [{ directory: sources }], store: storeUrl } }, { source: 'test', baseDir: sources });
    const worker = await createWorker({
      connection: env.nativeConnection, namespace: 'default', taskQueue,
      deps: { config, logger: createLogger('test', { level: 'warn' }), auditStore: async () => store },
      workflowBundle: await workflowBundle(),
    });
    const summary = await worker.runUntil(handle.result());
    assert.equal(await count(store), 60000, 'every row stored');
    assert.equal(Number((await store.query<{ n: string }>('SELECT count(DISTINCT (sequence, checksum)) AS n FROM audit_rows')).rows[0]?.n), 60000, 'none twice');
    assert.ok(summary.rowsStored <= 60000 - atKill, 'the second worker did not redo stored rows');
    assert.deepEqual((await store.query<{ kind: string }>('SELECT kind FROM audit_findings')).rows, [], 'a clean chain: no finding from the interruption');
    assert.equal((await verifyStore(store)).ok, true);
  } finally {
    await store.close();
  }
});
