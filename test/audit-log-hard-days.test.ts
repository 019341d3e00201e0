// Hard days for audit log ingestion (SPEC 5.5): PostgreSQL connections killed mid-ingest (the run
// retries and completes, every row once); a live file rolled over while its archive is not among the
// sources (the gap is named by range and filled, without loss, once the archive appears); a live file
// cut shorter than what was stored (an error finding); and a hostile file of 5 million malformed lines
// verified and ingested in constant memory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { ingestChain } from '../store/ingest-chain';
import { openStore, type AuditStore } from '../store/store';
import { verifyStore } from '../store/verify-store';
import { startIngestNow } from '../client/ingest-schedule';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { createWorker } from '../worker/create-worker';
import { auditFile, HEADER } from './helpers/audit-log-factory';
import { POSTGRES } from './helpers/postgres';
import { workflowBundle } from './helpers/screenshot-testbed';
import { beforeServerTeardown, devServer } from './helpers/temporal';

const scratchUrl = (extra = '') => `${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}${extra}`;
const count = async (store: AuditStore) => Number((await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_rows')).rows[0]?.n);
const findings = async (store: AuditStore) => (await store.query<{ kind: string; severity: string; detail: string; file_name: string }>('SELECT kind, severity, detail, file_name FROM audit_findings ORDER BY id')).rows;

async function ingestOnce(store: AuditStore, sources: string, runId: string) {
  const [chain] = buildChains(await discoverLogFiles([sources]));
  return ingestChain(store, chain ?? [], { runId, sequenceMax: 2147483647 });
}

test('PostgreSQL connections killed mid-ingest: the run retries and completes, every row stored once', async () => {
  const env = await devServer();
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-kill-'));
  const rows = 300_000;
  writeFileSync(path.join(sources, 'NODE9_AuditSecurity_Proxy.txt'), auditFile(1, rows));
  const app = `qa_kill_${randomUUID().slice(0, 8)}`;
  const taskQueue = `kill-${app}`;
  const config = parseConfig({ temporal: { taskQueue }, auditSecurityLog: { sources: [{ directory: sources }], store: scratchUrl(`&application_name=${app}`) } }, { source: 'test', baseDir: sources });
  const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, deps: { config, logger: createLogger('test', { level: 'error' }) }, workflowBundle: await workflowBundle() });
  const running = worker.run();
  beforeServerTeardown(async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  });
  const admin = new pg.Client({ connectionString: POSTGRES });
  await admin.connect();
  const store = await openStore(config.auditSecurityLog.store.replace(`&application_name=${app}`, '')); // the test's own connections are spared
  try {
    const handle = await startIngestNow(env.client, taskQueue);
    const started = Date.now();
    while ((await count(store).catch(() => 0)) < 20_000) {
      assert.ok(Date.now() - started < 60_000, 'ingestion got going');
      await sleep(50);
    }
    const { rows: killed } = await admin.query<{ ok: boolean }>('SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()', [app]);
    assert.ok(killed.length >= 2, `the ingest's connections were killed (${killed.length}): the pool's and the chain lock's`);
    const summary = await handle.result();
    assert.equal(await count(store), rows, 'every row, once');
    assert.ok(summary.rowsStored <= rows);
    assert.equal((await verifyStore(store)).ok, true);
    const { rows: attempts } = await admin.query('SELECT 1'); // the admin connection was left alone
    assert.equal(attempts.length, 1);
  } finally {
    await admin.end();
    await store.close();
  }
});

test('a live file rolled over with its archive not among the sources: the gap is named; the rows are stored when the archive appears', async () => {
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-rolled-'));
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'qa-archive-'));
  const live = path.join(sources, 'NODE3_AuditSecurity_Proxy.txt');
  writeFileSync(live, auditFile(1, 100));
  const store = await openStore(scratchUrl());
  try {
    assert.equal((await ingestOnce(store, sources, 'before-roll')).rowsStored, 100);
    // Qlik rolls the live file at row 123 (into an archive the sources do not hold) and starts a new one.
    const archiveName = 'NODE3_AuditSecurity_Proxy_2026-01-01T00.02.03Z.log';
    writeFileSync(path.join(elsewhere, archiveName), auditFile(1, 123, { signed: true }));
    writeFileSync(live, auditFile(124, 150, { start: new Date(Date.UTC(2026, 0, 1, 0, 2, 4)) }));
    const afterRoll = await ingestOnce(store, sources, 'after-roll');
    assert.equal(afterRoll.rowsStored, 27);
    const gap = (await findings(store)).filter((f) => f.kind === 'sequence-gap');
    assert.equal(gap.length, 1);
    assert.equal(gap[0]?.severity, 'error');
    assert.equal(
      gap[0]?.detail,
      'expected 101: rows 101..123 are missing: NODE3_AuditSecurity_Proxy.txt was rolled over after row 100 was stored, and its archive is not in the sources; they are stored when it appears',
    );
    assert.equal((await ingestOnce(store, sources, 'still-missing')).rowsStored, 0, 'nothing new, nothing lost meanwhile');

    copyFileSync(path.join(elsewhere, archiveName), path.join(sources, archiveName)); // the archive share is mounted
    const filled = await ingestOnce(store, sources, 'archive-appears');
    assert.equal(filled.rowsStored, 23, 'rows 101..123, from where the live file had stopped');
    assert.equal(await count(store), 150, 'every row once');
    const { rows: sequences } = await store.query<{ n: string; min: string; max: string }>('SELECT count(DISTINCT sequence) AS n, min(sequence) AS min, max(sequence) AS max FROM audit_rows');
    assert.deepEqual(sequences[0], { n: '150', min: '1', max: '150' });
    assert.equal((await verifyStore(store)).ok, true);
  } finally {
    await store.close();
  }
});

test('a live file cut shorter than what was already stored is a truncated-file error; nothing stored is touched', async () => {
  const sources = mkdtempSync(path.join(tmpdir(), 'qa-truncated-'));
  const live = path.join(sources, 'NODE4_AuditSecurity_Proxy.txt');
  writeFileSync(live, auditFile(1, 50));
  const store = await openStore(scratchUrl());
  try {
    await ingestOnce(store, sources, 'full');
    writeFileSync(live, auditFile(1, 30)); // rows 31..50 removed from the live file
    const result = await ingestOnce(store, sources, 'cut');
    assert.deepEqual(result.findings, { 'truncated-file': 1 });
    const [finding] = (await findings(store)).filter((f) => f.kind === 'truncated-file');
    assert.equal(finding?.severity, 'error');
    assert.match(finding?.detail ?? '', /^the live file is \d+ bytes, shorter than the \d+ bytes already stored \(through line 51\): rows were removed from it/);
    assert.equal(await count(store), 50);
    assert.equal((await verifyStore(store)).ok, true);
  } finally {
    await store.close();
  }
});

test('5 million malformed lines: logs verify and ingestion stay under 200 MB RSS, findings listed up to a cap and counted beyond', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-hostile-'));
  const file = path.join(dir, 'EVIL_AuditSecurity_Proxy.txt');
  const lines = 5_000_000;
  const chunk = Buffer.from('garbage\r\n'.repeat(100_000));
  writeFileSync(file, `\ufeff${HEADER}\r\n`);
  for (let i = 0; i < lines / 100_000; i++) writeFileSync(file, chunk, { flag: 'a' });
  const measure = (mode: string, store = '') =>
    JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'hostile-log-rss.ts'), mode, file, store], { encoding: 'utf8', maxBuffer: 1 << 20 })) as { maxRssMb: number; listed: number; counted: number };
  const verified = measure('verify');
  assert.ok(verified.maxRssMb < 200, `logs verify peak RSS ${verified.maxRssMb} MB`);
  assert.equal(verified.listed, 1000, 'the first 1000 malformed rows are listed');
  assert.equal(verified.counted, lines - 1000, 'the rest counted in one summary finding');
  const ingested = measure('ingest', scratchUrl());
  assert.ok(ingested.maxRssMb < 200, `ingest peak RSS ${ingested.maxRssMb} MB`);
  assert.equal(ingested.listed, 1000);
  assert.equal(ingested.counted, lines - 1000);
});
