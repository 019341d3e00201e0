// The audit trail (SPEC 6): every accepted Audit.qs event stored once before its 202 (on PostgreSQL
// and an embedded store), a receiver killed right after a 202 loses nothing, screenshot outcomes indexed once per run,
// one user's timeline merging Audit.qs events, screenshots and the real sample AuditSecurity rows in
// time order, an evidence bundle an auditor checks with sha256sum, and retention that purges only
// what it should and records that it did.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { KNOWN_EVENT_TYPES, validateAuditEvent, type AuditEvent } from '../common/audit-event';
import { createReceiver } from '../client/receiver/server';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { createLogger } from '../common/logger';
import type { PurgeResult } from '../common/audit-trail-types';
import { auditQsEvent, screenshotEvent, sessionEvents } from '../demo/sample-events';
import { eventRow } from '../store/audit-events';
import { createEventWriter } from '../store/event-writer';
import { verifyStore } from '../store/verify-store';
import { ingestChain } from '../store/ingest-chain';
import { recordScreenshotOutcome } from '../store/screenshot-outcomes';
import { openStore, type AuditStore } from '../store/store';
import { runCli, startCli } from './helpers/cli';
import { eventStoreFor } from './helpers/event-store';
import { freePort } from './helpers/ports';
import { scratchStoreUrl } from './helpers/postgres';
import { startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';

const SAMPLE_LOGS = path.resolve(__dirname, '../demo/qlik-logs');
const ADMIN = 'UserDirectory=DOMAIN; UserId=administrator';

/** One valid event of every type Butler SOS knows (and a custom `event.*`), as Audit.qs sends them. */
function everyType(): AuditEvent[] {
  const { events } = sessionEvents('LAB\\anna', new Date('2026-11-20T09:00:00.000Z'));
  const byType = new Map(events.map((e) => [e.type, e]));
  const extra: AuditEvent[] = [
    screenshotEvent('https://qlik.example.com/tempcontent/x.png', 'LAB\\anna', { timestamp: '2026-11-20T09:00:40.000Z' }),
    auditQsEvent('event.unsupported.visualization', 'LAB\\anna', '2026-11-20T09:00:41.000+01:00', { vizType: 'sn-org-chart', selectionTxnId: randomUUID(), objectId: 'obj-9', title: 'Org' }),
    auditQsEvent('audit.event', 'LAB\\anna', '2026-11-20T09:00:42Z', { action: 'export', objectId: 'obj-7' }),
    auditQsEvent('event.custom.export', 'LAB\\anna', '2026-11-20T09:00:43Z', { format: 'xlsx', rows: 1200 }),
  ];
  const all = [...KNOWN_EVENT_TYPES.map((type) => byType.get(type) ?? extra.find((e) => e.type === type)), extra[3]].filter((e): e is AuditEvent => e !== undefined);
  for (const event of all) assert.ok(validateAuditEvent(event).ok, `${event.type} sample is a valid Audit.qs event`);
  return all;
}

for (const kind of ['postgres', 'embedded'] as const) {
  test(`${kind}: every event type is stored once — the fields people query as columns, the envelope as sent`, async () => {
    const store = await openStore(kind === 'embedded' ? `embedded:${mkdtempSync(path.join(tmpdir(), 'qa-trail-'))}` : scratchStoreUrl());
    try {
      const writer = createEventWriter(store);
      const events = everyType();
      assert.equal(new Set(events.map((e) => e.type)).size, KNOWN_EVENT_TYPES.length + 1);
      // A hostile one: NUL and a lone surrogate, which PostgreSQL cannot store, must not fail its batch.
      const hostile = auditQsEvent('event.bookmark', 'LAB\\anna\u0000', '2026-11-20T09:01:00Z', { title: 'x\ud800y' });
      const written = await Promise.all([...events, hostile].map((e) => writer.write(eventRow(e))));
      assert.deepEqual(written, [...events, hostile].map(() => true));
      const reposted = await Promise.all([...events, hostile].map((e) => writer.write(eventRow(e))));
      assert.deepEqual(reposted, [...events, hostile].map(() => false), 'a repost is a no-op');

      const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM audit_events ORDER BY event_time, event_id');
      assert.equal(rows.length, events.length + 1, 'stored once each');
      for (const event of events) {
        const row = rows.find((r) => r.event_id === event.eventId) as Record<string, unknown>;
        const context = (event.payload as { context: Record<string, string> }).context;
        assert.equal(row.type, event.type);
        assert.equal((row.event_time as Date).toISOString(), new Date(event.timestamp).toISOString());
        assert.deepEqual([row.user_directory, row.user_id, row.user_text], ['LAB', 'anna', 'LAB\\anna']);
        assert.deepEqual([row.app_id, row.app_name, row.sheet_id, row.sheet_name, row.correlation_id], [context.appId, context.appName, context.sheetId, context.sheetName, event.correlationId]);
        assert.deepEqual(row.envelope, JSON.parse(JSON.stringify(event)), `${event.type}: the envelope as sent`);
      }
      const stored = rows.find((r) => r.event_id === hostile.eventId) as { envelope: { payload: { context: { user: string }; event: { title: string } } } };
      assert.equal(stored.envelope.payload.context.user, 'LAB\\anna\ufffd');
      assert.equal(stored.envelope.payload.event.title, 'x\ufffdy');
      await writer.close();
    } finally {
      await store.close();
    }
  });
}

let bed: Testbed;
test('setup: a worker on the real dev server, its store a PostgreSQL schema of its own', async () => {
  // The worker's own retention policy: a purge may not delete more (the retention test asks for exactly this).
  bed = await startTestbed(await devServer(), { rawConfig: { auditTrail: { retentionDays: 30, legalHold: { users: ['LAB\\Held'], apps: ['Board Pack'] } } } });
});

test('the receiver answers 202 only once the event is committed; reposts are no-ops; a store outage is a 503', async () => {
  const env = await devServer();
  const { store, events: writer } = await eventStoreFor(bed.config);
  const logger = createLogger('trail', { level: 'silent' });
  const app = await createReceiver({ config: bed.config, client: env.client, taskQueue: bed.taskQueue, logger, events: writer });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const post = async (event: unknown) => {
    const answer = await fetch(`${base}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    return { status: answer.status, body: (await answer.json()) as Record<string, unknown>, retryAfter: answer.headers.get('retry-after') };
  };
  try {
    const events = everyType().filter((e) => e.type !== 'screenshot.url.received');
    for (const event of events) {
      const answer = await post(event);
      assert.equal(answer.status, 202, `${event.type}: ${JSON.stringify(answer.body)}`);
      assert.deepEqual({ ...answer.body, receivedAt: undefined }, { status: 'accepted', receivedAt: undefined, outcome: 'processed', eventId: event.eventId, workflowId: null });
      // Committed by the time the 202 arrived: visible on another connection at once.
      const { rows } = await store.query('SELECT type FROM audit_events WHERE event_id = $1', [event.eventId]);
      assert.deepEqual(rows, [{ type: event.type }]);
    }
    const repost = events[1] as AuditEvent;
    assert.equal((await post(repost)).status, 202, 'a repost is acknowledged');
    const count = await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_events WHERE event_id = ANY($1)', [events.map((e) => e.eventId)]);
    assert.equal(Number(count.rows[0]?.n), events.length, 'and stored once');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    assert.match(metrics, new RegExp(`qlik_audit_receiver_events_total\\{type="${repost.type}",outcome="stored"\\} 1`));
    assert.match(metrics, new RegExp(`qlik_audit_receiver_events_total\\{type="${repost.type}",outcome="duplicate"\\} 1`));
    assert.match(metrics, /qlik_audit_receiver_event_store_seconds_count \d+/);

    // The store goes away: Audit.qs is told to retry, nothing is claimed stored.
    const gone = await openStore(bed.config.auditSecurityLog.store);
    await gone.close();
    const down = await createReceiver({ config: bed.config, client: env.client, taskQueue: bed.taskQueue, logger, events: createEventWriter(gone) });
    const lost = auditQsEvent('navigation.sheet.loaded', 'LAB\\anna', new Date().toISOString(), { sheetId: 's' });
    const answer = await down.inject({ method: 'POST', url: '/api/v1/audit-event', payload: lost });
    assert.equal(answer.statusCode, 503, answer.body);
    assert.equal(answer.headers['retry-after'], '5');
    assert.match(answer.json().error, /the audit store is unavailable; retry later/);
    await down.close();
  } finally {
    await app.close();
  }
});

test('a receiver killed right after its 202 lost nothing, on PostgreSQL and beside a worker on an embedded store', async () => {
  const env = await devServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-kill-receiver-'));
  const storeUrl = scratchStoreUrl();
  const port = await freePort();
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, `temporal: { address: '${env.address}', taskQueue: ${bed.taskQueue} }\neventApi: { port: ${port} }\nauditSecurityLog: { store: '${storeUrl}' }\n`);
  const receiver = startCli(['receiver', '--config', configFile, '--log-format', 'json'], '"msg":"receiver listening"');
  await receiver.ready;
  const event = auditQsEvent('selection.state.changed', ADMIN, new Date().toISOString(), { selectionTxnId: randomUUID(), details: [{ field: 'Region', values: ['Nordics'] }] });
  const answer = await fetch(`http://127.0.0.1:${port}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  receiver.child.kill('SIGKILL'); // the moment the 202 is in
  assert.equal(answer.status, 202);
  await receiver.exited;
  const store = await openStore(storeUrl);
  try {
    const { rows } = await store.query('SELECT type, user_directory, user_id FROM audit_events WHERE event_id = $1', [event.eventId]);
    assert.deepEqual(rows, [{ type: 'selection.state.changed', user_directory: 'DOMAIN', user_id: 'administrator' }]);
  } finally {
    await store.close();
  }

  // The embedded store is shared: a receiver process of its own beside a worker (here: this process,
  // holding the store open) commits into the same server; its 202 means the event is there.
  const embedded = mkdtempSync(path.join(tmpdir(), 'qa-embedded-'));
  const held = await openStore(`embedded:${embedded}`);
  try {
    writeFileSync(configFile, `temporal: { address: '${env.address}', taskQueue: ${bed.taskQueue} }\neventApi: { port: ${port} }\nauditSecurityLog: { store: 'embedded:${embedded}' }\n`);
    const beside = startCli(['receiver', '--config', configFile, '--log-format', 'json'], '"msg":"receiver listening"');
    await beside.ready;
    const second = auditQsEvent('navigation.sheet.loaded', ADMIN, new Date().toISOString(), { sheetId: 'sheet-2' });
    const posted = await fetch(`http://127.0.0.1:${port}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(second) });
    beside.child.kill('SIGKILL');
    assert.equal(posted.status, 202);
    await beside.exited;
    const { rows } = await held.query('SELECT type FROM audit_events WHERE event_id = $1', [second.eventId]);
    assert.deepEqual(rows, [{ type: 'navigation.sheet.loaded' }]);
  } finally {
    await held.close();
  }
});

test('qlik-audit serve: worker and receiver in one process share an embedded store; screenshot runs start eagerly; SIGTERM stops both', async () => {
  const env = await devServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-serve-'));
  const port = await freePort();
  const taskQueue = `serve-${randomUUID()}`;
  const raw = parseYaml(readFileSync(bed.configFile, 'utf8')) as Record<string, Record<string, unknown>>;
  const configFile = path.join(dir, 'config.yaml');
  const embedded = mkdtempSync(path.join(tmpdir(), 'qa-embedded-'));
  writeFileSync(configFile, stringifyYaml({ ...raw, temporal: { address: env.address, taskQueue }, eventApi: { port }, auditSecurityLog: { store: `embedded:${embedded}` } }));
  const serve = startCli(['serve', '--config', configFile, '--log-format', 'json'], '"msg":"receiver listening"');
  await serve.ready;
  const post = (event: object) => fetch(`http://127.0.0.1:${port}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
  const shot = screenshotEvent(bed.qlik.url('/tempcontent/serve/shot.png'), ADMIN);
  const selection = auditQsEvent('selection.state.changed', ADMIN, new Date().toISOString(), { selectionTxnId: randomUUID(), details: [{ field: 'Region', values: ['Nordics'] }] });
  try {
    const accepted = await post(shot);
    assert.equal(accepted.status, 202);
    const { workflowId } = (await accepted.json()) as { workflowId: string };
    assert.equal(((await env.client.workflow.getHandle(workflowId).result()) as { status: string }).status, 'stored');
    assert.equal((await post(selection)).status, 202);
    const started = serve.output().stderr.split('\n').find((line) => line.includes('"msg":"screenshot workflow started"')) ?? '';
    assert.match(started, /"eager":true/, `the run was started eagerly on this process's worker: ${started}`);
  } finally {
    serve.child.kill('SIGTERM');
  }
  assert.equal(await serve.exited, 0, serve.output().stderr);
  // Both wrote to the one embedded store; serve stopped its server on the way out (no other user).
  assert.equal(existsSync(path.join(embedded, 'postmaster.pid')), false, 'the embedded server stopped with its last user');
  const store = await openStore(`embedded:${embedded}`);
  try {
    const { rows: events } = await store.query<{ type: string }>('SELECT type FROM audit_events WHERE event_id = $1', [selection.eventId]);
    assert.deepEqual(events, [{ type: 'selection.state.changed' }], 'the receiver stored the event');
    const { rows: outcomes } = await store.query<{ status: string }>('SELECT status FROM screenshot_outcomes WHERE event_id = $1', [shot.eventId]);
    assert.deepEqual(outcomes, [{ status: 'stored' }], 'the worker recorded the outcome');
  } finally {
    await store.close();
  }
});

test('each finished screenshot run writes one outcome row — stored, blocked or skipped — with its event', async () => {
  const env = await devServer();
  const { qlik } = bed;
  qlik.routes.set('/tempcontent/trail/out.png', { kind: 'redirect', location: qlik.url('/steal.png', qlik.outsideHost) });
  const cases = [
    screenshotEvent(qlik.url('/tempcontent/trail/stored.png'), ADMIN),
    screenshotEvent(qlik.url('/tempcontent/trail/out.png'), 'LAB\\mallory'),
    screenshotEvent(qlik.url('/tempcontent/trail/skip.png'), 'carol@example.com'),
  ];
  const results = [];
  for (const event of cases) {
    const started = await startCaptureScreenshot(env.client, bed.taskQueue, event);
    results.push(await env.client.workflow.getHandle(started.workflowId).result());
  }
  assert.deepEqual(results.map((r) => r.status), ['stored', 'blocked', 'skipped']);
  const store = await openStore(bed.config.auditSecurityLog.store);
  try {
    const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM screenshot_outcomes WHERE event_id = ANY($1) ORDER BY started_at', [cases.map((e) => e.eventId)]);
    assert.equal(rows.length, 3, 'one row per run');
    for (const [i, result] of results.entries()) {
      const row = rows.find((r) => r.workflow_id === result.workflowId) as Record<string, unknown>;
      assert.equal(row.status, result.status);
      assert.equal(row.reason ?? undefined, result.reason);
      assert.deepEqual(row.saved_paths, result.savedPaths);
      assert.equal(row.sha256 ?? undefined, result.sha256);
      assert.equal(row.bytes === null ? undefined : Number(row.bytes), result.bytes);
      assert.ok((row.finished_at as Date) >= (row.started_at as Date));
      assert.equal(row.event_id, (cases[i] as AuditEvent).eventId);
    }
    assert.deepEqual(rows.map((r) => [r.user_directory, r.user_id]).sort(), [['DOMAIN', 'administrator'], ['LAB', 'mallory'], [null, null]].sort());
    const envelopes = await store.query('SELECT count(*)::int AS n FROM audit_events WHERE event_id = ANY($1) AND type = $2', [cases.map((e) => e.eventId), 'screenshot.url.received']);
    assert.deepEqual(envelopes.rows, [{ n: 3 }], 'the screenshot events are in the trail too');

    // The activity is retried (or replayed): the same run never writes a second row.
    const first = rows[0] as Record<string, unknown>;
    const again = await recordScreenshotOutcome(store, cases[0] as AuditEvent, {
      workflowId: String(first.workflow_id), runId: String(first.run_id), status: 'stored', savedPaths: [], startedAt: new Date().toISOString(), finishedAt: new Date().toISOString(),
    });
    assert.equal(again, false);
    const after = await store.query('SELECT count(*)::int AS n FROM screenshot_outcomes WHERE run_id = $1', [first.run_id]);
    assert.deepEqual(after.rows, [{ n: 1 }]);
  } finally {
    await store.close();
  }
});

// --- Timeline and evidence over the real sample logs --------------------------------------------------

let trailStore: AuditStore;
let trailConfig: string;
let screenshotFile: string;
const SESSION_START = new Date('2019-02-01T10:07:20.000Z'); // just before DOMAIN\administrator's 11:07:30 (+01:00) rows

/** The sample rows of one user, read straight from the files (not through our parser). */
function sampleRowsOf(userDirectory: string, userId: string): number {
  let n = 0;
  for (const folder of ['archived', 'current']) {
    for (const name of readdirSync(path.join(SAMPLE_LOGS, folder)).filter((f) => f.includes('_AuditSecurity_'))) {
      for (const line of readFileSync(path.join(SAMPLE_LOGS, folder, name), 'utf8').split('\n').slice(1)) {
        const fields = line.split('\t');
        if (fields[9] === userDirectory && fields[10] === userId) n++;
      }
    }
  }
  return n;
}

test('timeline: Audit.qs events, the screenshot and the real AuditSecurity rows of one user, in time order', async () => {
  const env = await devServer();
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-timeline-'));
  const storeUrl = scratchStoreUrl();
  trailStore = await openStore(storeUrl);
  for (const chain of buildChains(await discoverLogFiles([SAMPLE_LOGS]))) await ingestChain(trailStore, chain, { runId: 'timeline', sequenceMax: 2147483647 });
  const writer = createEventWriter(trailStore);
  const session = sessionEvents(ADMIN, SESSION_START);
  for (const event of session.events) await writer.write(eventRow(event));
  await writer.write(eventRow(auditQsEvent('navigation.sheet.loaded', 'DOMAIN\\someoneelse', '2019-02-01T10:07:35Z', { sheetId: 's' })));
  const shot = screenshotEvent('https://qlik.example.com/tempcontent/s.png', ADMIN, { timestamp: session.screenshotAt });
  mkdirSync(path.join(dir, 'shots'));
  screenshotFile = path.join(dir, 'shots', `${shot.eventId}.png`);
  const image = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
  writeFileSync(screenshotFile, image);
  const sha256 = createHash('sha256').update(image).digest('hex');
  writeFileSync(`${screenshotFile}.json`, JSON.stringify({ eventId: shot.eventId, sha256, bytes: image.length }));
  await recordScreenshotOutcome(trailStore, shot, {
    workflowId: `screenshot-${shot.eventId}`, runId: randomUUID(), status: 'stored', savedPaths: [screenshotFile], sha256, bytes: image.length, contentType: 'image/png',
    startedAt: session.screenshotAt, finishedAt: session.screenshotAt,
  });
  trailConfig = path.join(dir, 'config.yaml');
  writeFileSync(trailConfig, `temporal: { address: '${env.address}' }\nauditSecurityLog: { store: '${storeUrl}' }\nscreenshots: { storageTargets: [ { type: flat, directory: '${path.join(dir, 'shots')}' } ] }\n`);

  const all = await runCli(['audit', 'timeline', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--json']);
  assert.equal(all.status, 0, all.stderr);
  const entries = all.stdout.trim().split('\n').map((l) => JSON.parse(l) as { time: string; source: string; type: string; app: string; detail: string; user: string });
  assert.deepEqual(entries.map((e) => e.time), entries.map((e) => e.time).sort(), 'oldest first');
  assert.equal(entries.filter((e) => e.source === 'security-log').length, sampleRowsOf('DOMAIN', 'administrator'), 'every AuditSecurity row of the user');
  assert.equal(entries.filter((e) => e.source === 'audit-qs').length, session.events.length, 'their events only');
  assert.equal(entries.filter((e) => e.source === 'screenshot').length, 1);
  for (const e of entries) assert.deepEqual(Object.keys(e).slice(0, 6), ['time', 'source', 'type', 'app', 'detail', 'user']);
  // Claims marked as claims: what a browser reported, and what Qlik's own log recorded.
  const whose = (e: Record<string, unknown>) => `${e.source}:${e.reportedBy}`;
  assert.deepEqual([...new Set(entries.map(whose))].sort(), ['audit-qs:browser', 'screenshot:browser', 'security-log:qlik']);
  assert.equal((entries.find((e) => e.source === 'screenshot') as Record<string, unknown> | undefined)?.sessionVerified, null, 'recorded without a session check');

  const window = await runCli(['audit', 'timeline', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--from', '2019-02-01T10:07:00Z', '--to', '2019-02-01T10:08:00Z', '--json']);
  const merged = window.stdout.trim().split('\n').map((l) => JSON.parse(l) as { time: string; source: string; type: string; detail: string });
  assert.deepEqual(merged.map((e) => `${e.time.slice(11, 23)} ${e.source} ${e.type}`), [
    '10:07:20.000 audit-qs navigation.sheet.loaded',
    '10:07:26.000 audit-qs selection.state.changed',
    '10:07:27.000 audit-qs app.model.validated',
    '10:07:28.000 screenshot screenshot.url.received',
    '10:07:30.965 security-log License professional access request',
    '10:07:30.971 security-log License professional access',
    '10:07:41.000 audit-qs object.view.duration',
    '10:07:44.000 audit-qs event.bookmark',
    '10:07:50.000 audit-qs navigation.sheet.loaded',
    '10:07:51.000 audit-qs object.visibility.changed',
  ]);
  assert.match(merged[3]?.detail ?? '', new RegExp(`stored .*${shot.eventId}\\.png \\(\\d+ bytes, sha256 ${sha256.slice(0, 12)}…\\)`));
  assert.match(merged[4]?.detail ?? '', /result 0.*\[QLIKSERVER1\/Repository #239, checksum ok\]/);

  const human = await runCli(['audit', 'timeline', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--from', '2019-02-01T10:07:00Z', '--to', '2019-02-01T10:08:00Z']);
  assert.equal(human.status, 0);
  const lines = human.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^TIME \(UTC\) +SOURCE +TYPE +APP +DETAIL$/);
  assert.match(lines[5] ?? '', /^2019-02-01 10:07:30\.965 {2}security log {2}License professional access request/);
  assert.match(lines.at(-1) ?? '', /^10 entries for DOMAIN\\administrator from 2019-02-01T10:07:00\.000Z to 2019-02-01T10:08:00\.000Z: 7 Audit\.qs, 1 screenshot, 2 security log$/);

  for (const [args, message] of [
    [['--user', 'administrator'], /--user 'administrator': expected DIRECTORY\\userid/],
    [['--user', 'DOMAIN\\administrator', '--from', 'yesterday'], /--from 'yesterday': expected a date or time/],
  ] as const) {
    const bad = await runCli(['audit', 'timeline', '--config', trailConfig, ...args]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, message);
  }
});

test('evidence: a zip whose manifest verifies with sha256sum -c, and a flipped byte is caught; a path edited to another file is refused', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-evidence-'));
  const zip = path.join(dir, 'bundle.zip');
  // A database user edits a screenshot row to name the QPS client key: the bundle must not carry it.
  const secret = path.join(dir, 'client_key.pem');
  writeFileSync(secret, '-----BEGIN PRIVATE KEY-----\nnot for auditors\n');
  const edited = screenshotEvent('https://qlik.example.com/tempcontent/k.png', ADMIN, { timestamp: '2019-02-01T10:20:00Z' });
  const escape = path.join(path.dirname(screenshotFile), '..', 'client_key.pem');
  await recordScreenshotOutcome(trailStore, edited, { workflowId: `screenshot-${edited.eventId}`, runId: randomUUID(), status: 'stored', savedPaths: [secret, escape], startedAt: edited.timestamp, finishedAt: edited.timestamp });
  const made = await runCli(['audit', 'evidence', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--from', '2019-01-01', '--to', '2019-03-01', '--out', zip]);
  assert.equal(made.status, 0, made.stderr);
  const printed = /sha256 of the bundle: ([0-9a-f]{64})/.exec(made.stdout)?.[1];
  assert.equal(printed, createHash('sha256').update(readFileSync(zip)).digest('hex'), 'the printed sha256 pins the zip');
  // These rows were stored without an ingest run, so no anchor vouches for them: not proven (fails closed).
  assert.match(made.stdout, /store check: NOT proven: no anchor could be checked: the anchor file \S+ does not exist/);
  assert.match(made.stdout, /2 screenshot path\(s\) outside the storage targets refused, not read/);
  assert.ok(!existsSync(`${zip}.part`));

  const unpacked = path.join(dir, 'bundle');
  const unzip = spawnSync('python3', ['-m', 'zipfile', '-e', zip, unpacked], { encoding: 'utf8' });
  assert.equal(unzip.status, 0, unzip.stderr);
  const check = spawnSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: unpacked, encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const checked = check.stdout.trim().split('\n');
  const name = path.basename(screenshotFile);
  assert.ok(!checked.some((line) => line.includes('client_key')), `the key is not in the bundle: ${check.stdout}`);
  assert.deepEqual(readFileSync(path.join(unpacked, 'screenshots', 'REFUSED.txt'), 'utf8').trim().split('\n').slice(1), [secret, escape]);
  for (const file of ['README.txt', 'timeline.jsonl', 'timeline.csv', 'security-log/rows.csv', 'security-log/findings.jsonl', 'verify-store.json', `screenshots/${name}`, `screenshots/${name}.json`]) {
    assert.ok(checked.includes(`${file}: OK`), `${file} in the manifest: ${check.stdout}`);
  }
  // The bundle's timeline is the command's timeline; the rows carry their verification results.
  const timeline = await runCli(['audit', 'timeline', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--from', '2019-01-01', '--to', '2019-03-01', '--json']);
  assert.equal(readFileSync(path.join(unpacked, 'timeline.jsonl'), 'utf8'), timeline.stdout);
  const rows = readFileSync(path.join(unpacked, 'security-log/rows.csv'), 'utf8').trim().split('\r\n');
  assert.match(rows[0] ?? '', /^machine,service,file_name,line,sequence,.*,checksum,checksum_valid,header_ok,batch_id$/);
  assert.equal(rows.length - 1, sampleRowsOf('DOMAIN', 'administrator'));
  const report = JSON.parse(readFileSync(path.join(unpacked, 'verify-store.json'), 'utf8')) as { ok: boolean; problems: { kind: string }[] };
  assert.deepEqual([report.ok, report.problems.map((p) => p.kind)], [false, ['anchors-unchecked']], 'the chain holds, but nothing outside the database proves it');
  assert.match(readFileSync(path.join(unpacked, 'README.txt'), 'utf8'), /sha256sum -c MANIFEST\.sha256/);

  const image = path.join(unpacked, 'screenshots', name);
  const bytes = readFileSync(image);
  bytes[10] = (bytes[10] ?? 0) ^ 0xff;
  writeFileSync(image, bytes);
  const tampered = spawnSync('sha256sum', ['-c', 'MANIFEST.sha256'], { cwd: unpacked, encoding: 'utf8' });
  assert.equal(tampered.status, 1);
  assert.match(tampered.stdout, new RegExp(`screenshots/${name}: FAILED`));

  const usage = await runCli(['audit', 'evidence', '--config', trailConfig, '--user', 'DOMAIN\\administrator', '--out', zip]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--from and --to are required/);

  // verify-store --files hashes every stored screenshot again: the edited row's paths are refused
  // unread, a screenshot changed on disk or deleted is named.
  const files = async () => {
    const run = await runCli(['logs', 'verify-store', '--config', trailConfig, '--offline', '--files', '--json']);
    const report = JSON.parse(run.stdout) as { ok: boolean; filesChecked: number; problems: { kind: string; detail: string }[] };
    return { status: run.status, filesChecked: report.filesChecked, kinds: report.problems.map((p) => p.kind), details: report.problems.map((p) => p.detail).join('\n') };
  };
  const first = await files();
  assert.deepEqual([first.status, first.filesChecked, first.kinds], [1, 1, ['file-outside-targets', 'file-outside-targets']], first.details);
  const original = readFileSync(screenshotFile);
  const flipped = Buffer.from(original);
  flipped[12] = (flipped[12] ?? 0) ^ 0xff;
  writeFileSync(screenshotFile, flipped);
  const changed = await files();
  assert.ok(changed.kinds.includes('file-changed'), changed.details);
  assert.match(changed.details, new RegExp(`${path.basename(screenshotFile).replace(/\./g, '\\.')} has sha256 [0-9a-f]{16}…, stored as [0-9a-f]{16}…: the image was replaced or edited`));
  rmSync(screenshotFile);
  assert.ok((await files()).kinds.includes('file-missing'));
  writeFileSync(screenshotFile, original);
  await trailStore.close();
});

test('retention: the purge deletes only expired events and screenshots not under legal hold, and records itself', async () => {
  const env = await devServer();
  const store = await openStore(bed.config.auditSecurityLog.store);
  try {
    // AuditSecurity rows of 2019: far past any retention, never purged.
    for (const chain of buildChains(await discoverLogFiles([SAMPLE_LOGS]))) await ingestChain(store, chain, { runId: 'retention', sequenceMax: 2147483647 });
    const securityRows = async () => Number((await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_rows')).rows[0]?.n);
    const before = await securityRows();
    const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
    const writer = createEventWriter(store);
    const expired = auditQsEvent('navigation.sheet.loaded', 'LAB\\gone', daysAgo(60), { sheetId: 's' });
    const heldUser = auditQsEvent('navigation.sheet.loaded', 'LAB\\Held', daysAgo(60), { sheetId: 's' });
    const heldApp = auditQsEvent('navigation.sheet.loaded', 'LAB\\gone', daysAgo(60), { sheetId: 's' }, { appName: 'Board Pack', appId: randomUUID() });
    const recent = auditQsEvent('navigation.sheet.loaded', 'LAB\\gone', daysAgo(1), { sheetId: 's' });
    for (const e of [expired, heldUser, heldApp, recent]) await writer.write(eventRow(e));
    await writer.close();
    const dir = bed.config.screenshots.storageTargets[0]?.directory as string; // the worker's storage target
    mkdirSync(dir, { recursive: true });
    const oldShot = screenshotEvent('https://qlik.example.com/x.png', 'LAB\\gone', { timestamp: daysAgo(45) });
    const file = path.join(dir, `${oldShot.eventId}.png`);
    writeFileSync(file, 'png');
    writeFileSync(`${file}.json`, '{}');
    writeFileSync(path.join(dir, `${oldShot.eventId}_metadata.png`), 'png with its header band');
    // An expired row a database user edited to name a file elsewhere: the purge must not delete it.
    const victim = path.join(mkdtempSync(path.join(tmpdir(), 'qa-victim-')), 'important.conf');
    writeFileSync(victim, 'keep me');
    await recordScreenshotOutcome(store, oldShot, { workflowId: 'w', runId: randomUUID(), status: 'stored', savedPaths: [file, victim], startedAt: daysAgo(45), finishedAt: daysAgo(45) });

    const policy = { retentionDays: 30, legalHold: { users: ['lab\\held'], apps: ['Board Pack'] } };
    const purge = (id: string) => env.client.workflow.execute('purgeAuditTrail', { taskQueue: bed.taskQueue, workflowId: id, args: [{ policy, configuredBy: 'auditor@test via the test' }] }) as Promise<PurgeResult>;
    // Whoever can start a workflow (a Temporal operator) cannot purge more than the worker's configuration allows.
    for (const looser of [{ retentionDays: 1, legalHold: policy.legalHold }, { retentionDays: 30, legalHold: { users: [], apps: ['Board Pack'] } }]) {
      const wipe = env.client.workflow.execute('purgeAuditTrail', { taskQueue: bed.taskQueue, workflowId: `purge-${randomUUID()}`, args: [{ policy: looser, configuredBy: 'an operator' }] });
      await assert.rejects(wipe, (err: Error & { cause?: { cause?: { type?: string; message?: string } } }) => {
        assert.equal(err.cause?.cause?.type, 'ConfigInvalid');
        assert.match(err.cause?.cause?.message ?? '', /^refused: the purge asks to (keep 1 days, this worker's auditTrail\.retentionDays is 30|lift the legal hold on LAB\\Held \(auditTrail\.legalHold\)); a purge may not delete more/);
        return true;
      });
    }
    const result = await purge(`purge-${randomUUID()}`);
    assert.equal(result.eventsDeleted, 2, 'the expired event and the old screenshot event');
    assert.equal(result.screenshotsDeleted, 1);
    assert.equal(result.filesDeleted, 3, 'the image, its sidecar and its _metadata.png');
    assert.ok(!existsSync(file) && !existsSync(`${file}.json`) && !existsSync(path.join(dir, `${oldShot.eventId}_metadata.png`)));
    assert.equal(result.filesRefused, 3, 'the victim, and the sidecar and header names made from it');
    assert.equal(readFileSync(victim, 'utf8'), 'keep me', 'a file outside the storage targets is never deleted');
    const left = (await store.query<{ event_id: string }>('SELECT event_id FROM audit_events WHERE event_id = ANY($1)', [[expired, heldUser, heldApp, recent, oldShot].map((e) => e.eventId)])).rows.map((r) => r.event_id);
    assert.deepEqual(left.sort(), [heldUser, heldApp, recent].map((e) => e.eventId).sort());
    assert.equal(await securityRows(), before, 'AuditSecurity rows are never purged');
    const again = await purge(`purge-${randomUUID()}`);
    assert.equal(again.eventsDeleted, 0);
    const { rows } = await store.query<Record<string, unknown>>('SELECT * FROM audit_purges ORDER BY id');
    assert.equal(rows.length, 2, 'every purge is recorded, also one that deleted nothing');
    assert.equal(rows[0]?.events_deleted, 2);
    assert.equal(rows[0]?.screenshots_deleted, 1);
    assert.equal(rows[0]?.files_deleted, 3);
    assert.equal(rows[0]?.files_failed, 3, 'the refused ones are recorded as not deleted');
    assert.equal(rows[0]?.retention_days, 30);
    assert.equal(rows[0]?.configured_by, 'auditor@test via the test');
    assert.deepEqual(rows[0]?.legal_hold, policy.legalHold);
    assert.deepEqual([(rows[0]?.oldest as Date).toISOString(), (rows[0]?.newest as Date).toISOString()], [expired.timestamp, oldShot.timestamp], 'the range it covered');
    // Everything this file's tests wrote to the store (events through receivers, outcomes, two purges)
    // is under the digest chain, and what the purges deleted is accounted for by their tombstones.
    const chain = await verifyStore(store, {});
    assert.deepEqual(chain.problems, [], JSON.stringify(chain.problems));
    assert.ok((chain.trailItems ?? 0) > 10, `trail items checked: ${chain.trailItems}`);
  } finally {
    await store.close();
  }

  // `audit schedule` creates the schedule from auditTrail, and removes it when retention is off.
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-retention-schedule-'));
  const configFile = path.join(dir, 'config.yaml');
  const write = (days: number) => writeFileSync(configFile, `temporal: { address: '${env.address}', taskQueue: ${bed.taskQueue} }\nauditTrail: { retentionDays: ${days}, legalHold: { users: ['LAB\\held'] } }\n`);
  write(90);
  const created = await runCli(['audit', 'schedule', '--config', configFile]);
  assert.equal(created.status, 0, created.stderr);
  assert.deepEqual(JSON.parse(created.stdout), { scheduleId: 'purge-audit-trail', outcome: 'created', retentionDays: 90, every: '1d', legalHold: { users: ['LAB\\held'], apps: [] } });
  const description = await env.client.schedule.getHandle('purge-audit-trail').describe();
  const args = (description.action as unknown as { args: [{ policy: unknown; configuredBy: string }] }).args[0];
  assert.deepEqual(args.policy, { retentionDays: 90, legalHold: { users: ['LAB\\held'], apps: [] } });
  assert.match(args.configuredBy, new RegExp(`via qlik-audit audit schedule --config ${configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at `));
  write(0);
  const removed = await runCli(['audit', 'schedule', '--config', configFile]);
  assert.equal(JSON.parse(removed.stdout).outcome, 'deleted');
});

test('group commit: concurrent writes share INSERTs; a commit that hangs is given up after the deadline', async () => {
  const statements: number[] = [];
  let release: (() => void) | undefined;
  // The writer's transaction, seen from the store: the chain entry's id, the INSERT (the first one slow), the entry.
  const slowSql = {
    async query(text: string, params?: unknown[]) {
      if (text.includes('nextval')) return { rows: [{ id: '1', previous: '0'.repeat(64) }] } as never;
      if (!text.includes('INSERT INTO audit_events')) return { rows: [] } as never;
      const rows = JSON.parse(String(params?.[0])) as { event_id: string }[];
      statements.push(rows.length);
      if (statements.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return { rows: rows.map((r) => ({ event_id: r.event_id })) } as never;
    },
  };
  const slow = { transaction: <T>(fn: (sql: never) => Promise<T>) => fn(slowSql as never) };
  const writer = createEventWriter(slow, { inFlight: 1, deadlineMs: 60_000 });
  const events = Array.from({ length: 50 }, (_, i) => auditQsEvent('navigation.sheet.loaded', 'LAB\\anna', new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(), { sheetId: 's' }));
  const first = writer.write(eventRow(events[0] as AuditEvent));
  const rest = events.slice(1).map((e) => writer.write(eventRow(e)));
  await new Promise((r) => setTimeout(r, 50));
  release?.();
  assert.deepEqual(await Promise.all([first, ...rest]), events.map(() => true));
  assert.deepEqual(statements, [1, 49], 'the 49 that arrived during the first INSERT went in one');

  const hung = createEventWriter({ transaction: () => new Promise<never>(() => undefined) }, { deadlineMs: 300 });
  const started = Date.now();
  await assert.rejects(hung.write(eventRow(events[0] as AuditEvent)), /no commit within 0\.3 s/);
  assert.ok(Date.now() - started < 2000);
});
