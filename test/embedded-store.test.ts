// The embedded store (SPEC 5.6, the default `embedded:./var/auditdb`) as a Qlik administrator runs it:
// a real PostgreSQL server shared by every qlik-audit process — worker and receiver as two services,
// started in either order and restarted on their own, CLI commands beside them — stopped by the last
// one out; durable (fsync on) through kill -9 of every process, the server included; and the
// configurations it replaces or refuses said in one line.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { auditQsEvent } from '../demo/sample-events';
import { loadConfig } from '../common/config';
import { openEmbeddedServer } from '../store/embedded-server';
import { openStore } from '../store/store';
import { verifyStore } from '../store/verify-store';
import { auditFile, copySamples } from './helpers/audit-log-factory';
import { runCli, startCli } from './helpers/cli';
import { freePort } from './helpers/ports';
import { devServer } from './helpers/temporal';

const USER = 'DOMAIN\\administrator';

/** A folder for a site: config.yaml with the default store (./var/auditdb beside it), the sample logs. */
async function site(taskQueue: string, extra = '') {
  const env = await devServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-site-'));
  chmodSync(dir, 0o755); // as root the server runs as user postgres, which must reach ./var/auditdb
  const logs = copySamples();
  const port = await freePort();
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    `temporal: { address: '${env.address}', taskQueue: ${taskQueue} }\neventApi: { port: ${port} }\nauditSecurityLog: { sources: [ { directory: ${logs} } ]${extra} }\n`,
  );
  const dataDir = path.join(dir, 'var', 'auditdb');
  assert.equal(loadConfig(configFile).auditSecurityLog.store, `embedded:${dataDir}`, 'the default store');
  return { env, dir, logs, port, configFile, dataDir };
}

const postmasterPid = (dataDir: string): number | undefined => (existsSync(path.join(dataDir, 'postmaster.pid')) ? Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) : undefined);

/** A process that runs (a zombie — exited, not yet reaped by init — does not count). */
function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A plain connection to the embedded server (no presence: it does not keep the server up, or start it). */
async function peek<T>(dataDir: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ host: dataDir, port: 5432, user: 'postgres', database: 'qlik_audit' });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const post = (port: number, event: object) =>
  fetch(`http://127.0.0.1:${port}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), signal: AbortSignal.timeout(10_000) });

// Every service a test starts is killed when the file ends, also after a failed assertion.
const started: ReturnType<typeof startCli>[] = [];
after(() => {
  for (const s of started) s.child.kill('SIGKILL');
});
const service = (command: 'worker' | 'receiver', configFile: string) => {
  const running = startCli([command, '--config', configFile, '--log-format', 'json'], command === 'worker' ? '"msg":"worker started"' : '"msg":"receiver listening"');
  started.push(running);
  return running;
};

test('worker and receiver as two services on the default embedded store: either order, restarted on their own, the CLI beside them; the last one out stops the server', async () => {
  const { env, port, configFile, dataDir } = await site(`layout-${randomUUID()}`);
  // The receiver first: it creates the store and starts the server.
  let receiver = service('receiver', configFile);
  await receiver.ready;
  const worker = service('worker', configFile);
  await worker.ready;
  const server = postmasterPid(dataDir);
  assert.ok(alive(server), 'the embedded server runs');
  const listening = await peek<{ listen_addresses: string }>(dataDir, 'SHOW listen_addresses');
  assert.deepEqual(listening, [{ listen_addresses: '' }], 'no TCP listener: a Unix socket in the data folder only');

  const first = auditQsEvent('navigation.sheet.loaded', USER, '2019-02-01T10:07:20Z', { sheetId: 'sheet-1' });
  assert.equal((await post(port, first)).status, 202);

  // The receiver restarted on its own: the worker keeps the server up, the new receiver joins it.
  receiver.child.kill('SIGTERM');
  assert.equal(await receiver.exited, 0);
  assert.equal(postmasterPid(dataDir), server, 'the server kept running for the worker');
  receiver = service('receiver', configFile);
  await receiver.ready;
  const second = auditQsEvent('selection.state.changed', USER, '2019-02-01T10:07:26Z', { selectionTxnId: randomUUID(), details: [{ field: 'Region', values: ['Nordics'] }] });
  assert.equal((await post(port, second)).status, 202);

  // CLI commands while both run: an ingest run on the worker, the timeline, verify-store.
  const ingest = await runCli(['logs', 'ingest', '--config', configFile, '--wait']);
  assert.equal(ingest.status, 0, ingest.stderr);
  assert.equal(JSON.parse(ingest.stdout).rowsStored, 281);
  const trail = await runCli(['audit', 'timeline', '--config', configFile, '--user', USER, '--from', '2019-02-01T00:00:00Z', '--to', '2019-02-02T00:00:00Z', '--json']);
  assert.equal(trail.status, 0, trail.stderr);
  const entries = trail.stdout.trim().split('\n').map((line) => JSON.parse(line) as { source: string; type: string });
  assert.deepEqual(entries.filter((e) => e.source === 'audit-qs').map((e) => e.type), ['navigation.sheet.loaded', 'selection.state.changed']);
  assert.ok(entries.filter((e) => e.source === 'security-log').length >= 20, 'AuditSecurity rows of the user, ingested by the worker process');
  const verified = await runCli(['logs', 'verify-store', '--config', configFile, '--json']);
  assert.equal(verified.status, 0, verified.stdout + verified.stderr);
  assert.equal(postmasterPid(dataDir), server, 'CLI commands came and went; the server stayed');

  // The worker restarted while the receiver runs.
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0);
  const again = service('worker', configFile);
  await again.ready;
  const rerun = await runCli(['logs', 'ingest', '--config', configFile, '--wait']);
  assert.equal(JSON.parse(rerun.stdout).rowsStored, 0, 'the restarted worker found its checkpoints');

  // Both stopped: the last one out stops the server; nothing is left running or listening.
  receiver.child.kill('SIGTERM');
  again.child.kill('SIGTERM');
  assert.deepEqual([await receiver.exited, await again.exited], [0, 0]);
  assert.equal(existsSync(path.join(dataDir, 'postmaster.pid')), false, 'the server was stopped');
  assert.equal(alive(server), false);
  assert.equal(existsSync(path.join(dataDir, '.s.PGSQL.5432')), false, 'its socket is gone');
  void env;
});

test('kill -9 of worker, receiver and the embedded PostgreSQL while events are posted and a backfill runs: every 202 is in the store, ingest resumes, every row once, verify-store clean', async (t) => {
  const { env, logs, port, configFile, dataDir } = await site(`durable-${randomUUID()}`);
  writeFileSync(path.join(logs, 'NODE2_AuditSecurity_Engine_2026-01-01T01.00.00Z.log'), auditFile(1, 40000, { signed: true }));
  writeFileSync(path.join(logs, 'NODE2_AuditSecurity_Engine.txt'), auditFile(40001, 60000, { start: new Date(Date.UTC(2026, 0, 1, 2)) }));
  let worker = service('worker', configFile);
  let receiver = service('receiver', configFile);
  await Promise.all([worker.ready, receiver.ready]);

  // Four browsers posting as fast as they are answered; what was answered 202 is what must survive.
  const acknowledged: string[] = [];
  let posting = true;
  const poster = async () => {
    for (let n = 0; posting; n++) {
      const event = auditQsEvent('navigation.sheet.loaded', USER, new Date().toISOString(), { sheetId: `sheet-${n}` });
      try {
        if ((await post(port, event)).status === 202) acknowledged.push(event.eventId);
      } catch {
        await sleep(50); // refused while the receiver is down
      }
    }
  };
  const posters = [poster(), poster(), poster(), poster()];
  const started = await runCli(['logs', 'ingest', '--config', configFile]);
  assert.equal(started.status, 0, started.stderr);
  const { workflowId } = JSON.parse(started.stdout) as { workflowId: string };

  // Kill everything mid-flight: rows of the backfill partly stored, events being committed.
  const since = Date.now();
  let rowsBefore = 0;
  while ((rowsBefore = Number((await peek<{ n: string }>(dataDir, "SELECT count(*) AS n FROM audit_rows WHERE machine = 'NODE2'"))[0]?.n)) === 0 || acknowledged.length < 50) {
    assert.ok(Date.now() - since < 60_000, `the backfill and the posting got going (${acknowledged.length} events)`);
    await sleep(50);
  }
  const server = postmasterPid(dataDir);
  for (const pid of [server, worker.child.pid, receiver.child.pid]) process.kill(pid as number, 'SIGKILL');
  await Promise.all([worker.exited, receiver.exited]);
  const atKill = acknowledged.length;
  await sleep(500);
  assert.equal(alive(server), false, 'the server was killed');

  // The services come back (in the other order); the first to need the server starts it: crash recovery.
  receiver = service('receiver', configFile);
  worker = service('worker', configFile);
  await Promise.all([worker.ready, receiver.ready]);
  const more = Date.now();
  while (acknowledged.length < atKill + 20) {
    assert.ok(Date.now() - more < 60_000, 'events are accepted again');
    await sleep(50);
  }
  posting = false;
  await Promise.all(posters);
  const summary = await env.client.workflow.getHandle(workflowId).result();
  assert.ok(summary, 'the interrupted ingest run completed on the new worker');

  const store = await openStore(`embedded:${dataDir}`);
  try {
    const stored = new Set((await store.query<{ event_id: string }>("SELECT event_id FROM audit_events WHERE type = 'navigation.sheet.loaded'")).rows.map((r) => r.event_id));
    const lost = acknowledged.filter((id) => !stored.has(id));
    assert.deepEqual(lost, [], `every event answered 202 is stored (${acknowledged.length} acknowledged, ${atKill} before the kill)`);
    t.diagnostic(`${atKill} events acknowledged before kill -9 of worker, receiver and PostgreSQL (backfill at ${rowsBefore} of 60000 rows), ${acknowledged.length} in all: none lost`);
    const rows = await store.query<{ n: string; distinct_rows: string }>("SELECT count(*) AS n, count(DISTINCT (sequence, checksum)) AS distinct_rows FROM audit_rows WHERE machine = 'NODE2'");
    assert.deepEqual(rows.rows, [{ n: '60000', distinct_rows: '60000' }], 'every row of the backfill, once');
    const report = await verifyStore(store);
    assert.equal(report.ok, true, JSON.stringify(report.problems));
  } finally {
    await store.close();
  }
  receiver.child.kill('SIGTERM');
  worker.child.kill('SIGTERM');
  await Promise.all([receiver.exited, worker.exited]);
  assert.equal(existsSync(path.join(dataDir, 'postmaster.pid')), false, 'stopped by the last one out');
});

test('the embedded server is durable and private: fsync, synchronous commit and full-page writes on, data checksums, a socket only its user can open', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-embedded-'));
  const server = await openEmbeddedServer(dir);
  try {
    const client = new pg.Client(server.connection);
    await client.connect();
    const show = async (name: string) => ((await client.query(`SHOW ${name}`)).rows[0] as Record<string, string>)[name];
    assert.deepEqual(
      [await show('fsync'), await show('synchronous_commit'), await show('full_page_writes'), await show('data_checksums'), await show('listen_addresses'), await show('server_version_num')].map(String),
      ['on', 'on', 'on', 'on', '', (await show('server_version_num')) as string],
    );
    assert.ok(Number(await show('server_version_num')) >= 180000, 'PostgreSQL 18');
    assert.equal(await show('unix_socket_permissions'), '0700');
    // Another local user cannot reach the socket (trust auth is safe only because of that): a client
    // run as 'nobody' is refused by the file system before PostgreSQL sees it. Without root to switch
    // users, the folder's own mode is what keeps them out.
    assert.equal(statSync(dir).mode & 0o077, 0, 'the data folder (and the socket in it) is its owner’s only');
    if (process.getuid?.() === 0) {
      const nobody = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
      const socket = path.join(String(server.connection.host), `.s.PGSQL.${server.connection.port}`);
      const probe = `require('node:net').connect(${JSON.stringify(socket)}).on('connect', () => (console.log('connected'), process.exit())).on('error', (e) => console.log(e.code))`;
      const attempt = spawnSync(process.execPath, ['-e', probe], { uid: nobody, gid: nobody, encoding: 'utf8', cwd: tmpdir(), timeout: 10_000 });
      assert.equal(attempt.stdout.trim(), 'EACCES', `another user: ${attempt.stdout}${attempt.stderr}`);
    }
    await client.end();
    // Kill the server under a store: the next query finds it gone and starts it again (crash recovery).
    const store = await openStore(`embedded:${dir}`);
    await store.query("CREATE TABLE IF NOT EXISTS survives (v TEXT); INSERT INTO survives VALUES ('committed')");
    process.kill(postmasterPid(dir) as number, 'SIGKILL');
    let answer: { v: string }[] = [];
    for (let attempt = 0; attempt < 50 && answer.length === 0; attempt++) {
      answer = await store.query<{ v: string }>('SELECT v FROM survives').then((r) => r.rows, () => []);
      if (answer.length === 0) await sleep(200);
    }
    assert.deepEqual(answer, [{ v: 'committed' }], 'a committed row survives kill -9 of the server, which is started again');
    await store.close();
  } finally {
    await server.release();
  }
  assert.equal(existsSync(path.join(dir, 'postmaster.pid')), false, 'the last user stopped it');
});

test('what the embedded store refuses, in one line each: a pglite: URL, a PGlite folder, a folder of something else', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-refuse-'));
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, `auditSecurityLog: { store: 'pglite:./var/auditdb' }\n`);
  const pglite = await runCli(['logs', 'verify-store', '--config', configFile]);
  assert.equal(pglite.status, 2);
  assert.equal(pglite.stderr.trim().split('\n').length, 1, pglite.stderr);
  assert.match(pglite.stderr, /auditSecurityLog\.store: pglite: stores are gone: .*embedded:<folder>.*ingesting again: the log files are the source; Audit\.qs events and screenshot outcomes of a PGlite store are not carried over/);

  // The folder an earlier version's PGlite store left at the default path (a PostgreSQL 17 layout).
  const old = path.join(dir, 'var', 'auditdb');
  mkdirSync(path.join(old, 'base'), { recursive: true });
  writeFileSync(path.join(old, 'PG_VERSION'), '17\n');
  writeFileSync(configFile, 'auditSecurityLog: { every: 5m }\n');
  const moved = await runCli(['audit', 'timeline', '--config', configFile, '--user', USER]);
  assert.equal(moved.status, 1);
  assert.equal(moved.stderr.trim().split('\n').length, 1, moved.stderr);
  assert.match(moved.stderr, /holds the PGlite store of an earlier qlik-audit version.*move the folder away and ingest again/);

  const other = mkdtempSync(path.join(tmpdir(), 'qa-other-'));
  writeFileSync(path.join(other, 'notes.txt'), 'not a database');
  await assert.rejects(openStore(`embedded:${other}`), /is not empty and is not an embedded store/);
});

test('a database that does not answer fails the open within a bounded time, naming the store', async () => {
  // A server that accepts connections and never says a word (a hung host, a firewall that black-holes).
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as net.AddressInfo;
  const began = Date.now();
  try {
    await assert.rejects(openStore(`postgres://qa@127.0.0.1:${port}/qa`), /cannot connect to the audit store 127\.0\.0\.1:\d+\/qa \(auditSecurityLog\.store\): .*timeout/i);
    assert.ok(Date.now() - began < 20_000, `gave up after ${Date.now() - began} ms`);
  } finally {
    silent.close();
  }
});

test('the TCP transport (how the embedded server listens on Windows, where node-postgres has no Unix socket): 127.0.0.1 only, a generated password, nothing without it', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-embedded-tcp-'));
  const server = await openEmbeddedServer(dir, { transport: 'tcp' });
  try {
    const { host, port, password } = server.connection;
    assert.equal(host, '127.0.0.1');
    assert.ok(typeof password === 'string' && password.length >= 32, 'a generated password');
    assert.equal(statSync(path.join(dir, 'qlik-audit-embedded.json')).mode & 0o077, 0, 'the password file is its owner’s only');
    const intruder = new pg.Client({ host, port, user: 'postgres', database: 'qlik_audit', password: 'guess' });
    await assert.rejects(intruder.connect(), /password authentication failed/);
    const client = new pg.Client(server.connection);
    await client.connect();
    assert.deepEqual((await client.query('SHOW listen_addresses')).rows, [{ listen_addresses: '127.0.0.1' }]);
    assert.deepEqual((await client.query('SHOW unix_socket_directories')).rows, [{ unix_socket_directories: '' }]);
    await client.end();
  } finally {
    await server.release();
  }
  assert.equal(existsSync(path.join(dir, 'postmaster.pid')), false);
});
