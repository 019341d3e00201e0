// The event API (SPEC 4) in front of the real dev server and a real worker: every status code, the
// bearer token, body and rate limits, idempotent and concurrent posts, and Temporal going away and
// coming back.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection, ServiceError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { classifyTemporalError } from '../client/temporal-errors';
import { screenshotEvent } from '../demo/sample-events';
import { ownDevServer } from './helpers/dev-server';
import { startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { devServer, freshNamespace } from './helpers/temporal';
import { activityTries } from './helpers/workflow-history';
import { receiverFor, type Posted } from './helpers/receiver';


let bed: Testbed;
let receiver: Awaited<ReturnType<typeof receiverFor>>;
test('setup', async () => {
  bed = await startTestbed(await devServer());
  receiver = await receiverFor(bed);
});

test('202 only after Temporal accepted the start; the screenshot is then captured', async () => {
  const env = await devServer();
  const event = screenshotEvent(bed.qlik.url('/tempcontent/recv-1.png'), 'LAB\\recv');
  const answer = await receiver.post(event);
  assert.equal(answer.status, 202);
  const { receivedAt, ...rest } = answer.body as { receivedAt: string };
  assert.ok(Math.abs(Date.parse(receivedAt) - Date.now()) < 60_000, 'receivedAt: when the receiver took it (ISO 8601)');
  assert.deepEqual(rest, { status: 'accepted', outcome: 'processed', eventId: event.eventId, workflowId: `screenshot-${event.eventId}` }, 'Butler SOS’s answer, and ours');
  const handle = env.client.workflow.getHandle(`screenshot-${event.eventId}`);
  await handle.describe(); // exists the moment 202 was sent
  assert.equal((await handle.result()).status, 'stored');
  const line = receiver.logs.find((l) => l.msg === 'screenshot workflow started');
  assert.equal(line?.eventId, event.eventId);
  assert.equal(line?.workflowId, `screenshot-${event.eventId}`);
});

test('400 for a bad envelope or body, 422 with field paths for a bad screenshot event', async () => {
  const good = screenshotEvent(bed.qlik.url('/tempcontent/recv-bad.png'));
  assert.equal((await receiver.post('{"not json')).status, 400);
  assert.equal((await receiver.post('[]')).status, 400);
  const noId = await receiver.post({ ...good, eventId: undefined });
  assert.equal(noId.status, 400);
  assert.deepEqual(noId.body.fields, ['eventId']);
  assert.equal((await receiver.post({ ...good, source: { kind: 'browser', name: 'x', version: '1' } })).status, 400);

  const badApp = await receiver.post({ ...good, payload: { ...good.payload, context: { ...good.payload.context, appId: 'not-a-uuid' } } });
  assert.equal(badApp.status, 422);
  assert.deepEqual(badApp.body.fields, ['payload.context.appId']);
  const badUrl = await receiver.post({ ...good, payload: { ...good.payload, event: { ...good.payload.event, screenshotUrl: 'javascript:alert(1)' } } });
  assert.equal(badUrl.status, 422);
  assert.deepEqual(badUrl.body.fields, ['payload.event.screenshotUrl']);
  const wrongType = await fetch(`${receiver.base}/api/v1/audit-event`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
  assert.ok(wrongType.status >= 400 && wrongType.status < 500);
});

test('other event types are stored, then acknowledged with workflowId null, and counted', async () => {
  const other = { ...screenshotEvent('https://127.0.0.1/x.png'), type: 'object.visibility.changed', payload: { anything: true } };
  const answer = await receiver.post(other);
  assert.equal(answer.status, 202);
  assert.deepEqual({ ...answer.body, receivedAt: undefined }, { status: 'accepted', receivedAt: undefined, outcome: 'processed', eventId: other.eventId, workflowId: null });
  const custom = await receiver.post({ ...other, eventId: randomUUID(), type: 'event.my-extension.clicked' });
  assert.equal(custom.status, 202);
  const metrics = await (await fetch(`${receiver.base}/metrics`)).text();
  assert.match(metrics, /qlik_audit_receiver_events_total\{type="object\.visibility\.changed",outcome="stored"\} 1/);
  assert.match(metrics, /qlik_audit_receiver_events_total\{type="other",outcome="stored"\} 1/);
  assert.match(metrics, /qlik_audit_receiver_events_total\{type="screenshot.url.received",outcome="accepted"\} \d+/);
  assert.match(metrics, /qlik_audit_receiver_workflow_start_seconds_count \d+/);
});

test('413 over the body limit', async () => {
  const event = screenshotEvent(bed.qlik.url('/tempcontent/big.png'));
  const answer = await receiver.post({ ...event, padding: 'x'.repeat(300 * 1024) });
  assert.equal(answer.status, 413);
});

test('bearer token: 401 when missing or wrong, 202 when right; test-connection too', async () => {
  const secured = await receiverFor(bed, { apiToken: 's3cret-token' });
  const event = screenshotEvent(bed.qlik.url('/tempcontent/token.png'), 'LAB\\token');
  assert.equal((await secured.post(event)).status, 401);
  assert.equal((await secured.post(event, { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await secured.post(event, { authorization: 's3cret-token' })).status, 401);
  assert.equal((await fetch(`${secured.base}/api/v1/test-connection`)).status, 401);
  assert.equal((await secured.post(event, { authorization: 'Bearer s3cret-token' })).status, 202);
  const ok = await fetch(`${secured.base}/api/v1/test-connection`, { headers: { authorization: 'Bearer s3cret-token' } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { status: string }).status, 'ok');
  assert.equal((await fetch(`${receiver.base}/api/v1/test-connection`)).status, 200, 'no token configured: open');
  await secured.app.close();
});

test('429 with Retry-After over rateLimitPerMinute', async () => {
  const limited = await receiverFor(bed, { rateLimitPerMinute: 3 });
  const statuses: number[] = [];
  let last: Posted | undefined;
  for (let i = 0; i < 5; i++) {
    last = await limited.post({ ...screenshotEvent('https://127.0.0.1/x.png'), type: 'navigation.sheet.loaded', payload: {} });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [202, 202, 202, 429, 429]);
  assert.ok(Number(last?.headers.get('retry-after')) > 0);
  await limited.app.close();
});

test('the same event posted again, also concurrently, gets 202 and one workflow, one download', async () => {
  bed.qlik.routes.set('/tempcontent/dup-post.png', { kind: 'image', delayMs: 200 });
  const event = screenshotEvent(bed.qlik.url('/tempcontent/dup-post.png'), 'LAB\\duppost');
  const answers = await Promise.all(Array.from({ length: 10 }, () => receiver.post(event)));
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]));
  assert.deepEqual(new Set(answers.map((a) => a.body.workflowId)), new Set([`screenshot-${event.eventId}`]));
  const env = await devServer();
  await env.client.workflow.getHandle(`screenshot-${event.eventId}`).result();
  assert.equal((await receiver.post(event)).status, 202, 'a re-post after completion is acknowledged too');
  assert.equal(bed.qlik.requests.filter((r) => r.path === '/tempcontent/dup-post.png' && !r.hadTicket).length, 1);
});

test('200 concurrent posts give 200 workflows and 200 files, no duplicates', async () => {
  const crowd = await startTestbed(await devServer());
  const crowdReceiver = await receiverFor(crowd, { rateLimitPerMinute: 10_000 });
  const events = Array.from({ length: 200 }, (_, i) => screenshotEvent(crowd.qlik.url(`/tempcontent/crowd/${i}.png`), `LAB\\crowd${i % 10}`));
  const answers = await Promise.all(events.map((e) => crowdReceiver.post(e)));
  assert.equal(answers.filter((a) => a.status === 202).length, 200);
  assert.equal(new Set(answers.map((a) => a.body.workflowId)).size, 200);
  const env = await devServer();
  const results = await Promise.all(events.map((e) => env.client.workflow.getHandle(`screenshot-${e.eventId}`).result()));
  assert.equal(results.filter((r) => r.status === 'stored').length, 200);
  const images = readdirSync(path.join(crowd.dir, 'a')).filter((f) => f.endsWith('.png'));
  assert.equal(images.length, 200);
  // Once each, unless a fast path gave up on a loaded machine (then the regular activity downloads again).
  const downloads = crowd.qlik.requests.filter((r) => r.path.startsWith('/tempcontent/crowd/') && !r.hadTicket).length;
  const tries = await Promise.all(events.map((e) => activityTries(env.client.workflow.getHandle(`screenshot-${e.eventId}`), 'downloadAndStoreScreenshot')));
  const gaveUp = tries.filter((t) => t.fastPath !== 'completed').length;
  assert.ok(downloads >= 200 && downloads <= 200 + gaveUp, `each image downloaded once: ${downloads} downloads, ${gaveUp} fast paths gave up`);
  await crowdReceiver.app.close();
});

test('Temporal down: 503 with Retry-After and nothing started; accepted again once it is back', async () => {
  const server = await ownDevServer('qa-down-');
  const connection = Connection.lazy({ address: server.current.address });
  const client = new Client({ connection });
  const own: { app: FastifyInstance; post: (b: unknown) => Promise<Posted> } = await receiverFor(bed, {}, { client });
  try {
    const before = screenshotEvent(bed.qlik.url('/tempcontent/down-0.png'));
    assert.equal((await own.post(before)).status, 202);

    await server.stop();
    const lost = screenshotEvent(bed.qlik.url('/tempcontent/down-1.png'));
    const answer = await own.post(lost);
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get('retry-after'), '5');

    await server.start();
    let recovered: Posted | undefined;
    for (let i = 0; i < 40 && recovered?.status !== 202; i++) {
      recovered = await own.post(screenshotEvent(bed.qlik.url('/tempcontent/down-2.png')));
      if (recovered.status !== 202) await sleep(250);
    }
    assert.equal(recovered?.status, 202, 'accepting again after Temporal is back');
    await client.workflow.getHandle(`screenshot-${before.eventId}`).describe(); // survived the restart (SQLite)
    await assert.rejects(client.workflow.getHandle(`screenshot-${lost.eventId}`).describe(), /not found/i, 'the 503 event was not started');
  } finally {
    await own.app.close();
    await connection.close();
    await server.stop();
  }
});

test('a misconfigured Temporal is a 500 naming the cause and the fix, not a 503 Audit.qs would retry forever', async () => {
  const env = await devServer();
  // A fresh namespace has none of our search attributes (as on a new cluster before `qlik-audit setup`).
  const namespace = await freshNamespace('bare');
  const bare = await receiverFor(bed, {}, { client: new Client({ connection: env.connection, namespace }) });
  const event = screenshotEvent(bed.qlik.url('/tempcontent/no-sa.png'), 'LAB\nosa');
  const answer = await bare.post(event);
  assert.equal(answer.status, 500, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('retry-after'), null);
  assert.match(String(answer.body.error), new RegExp(`namespace ${namespace}: .*search attribute.*run 'qlik-audit setup --config <file>'`));
  const line = bare.logs.find((l) => l.level === 'error');
  assert.match(String(line?.msg), /qlik-audit setup/);
  assert.equal(line?.grpcStatus, 'INVALID_ARGUMENT');
  await bare.app.close();

  const unknown = await receiverFor(bed, {}, { client: new Client({ connection: env.connection, namespace: 'no-such-namespace' }) });
  const missing = await unknown.post(screenshotEvent(bed.qlik.url('/tempcontent/no-ns.png')));
  assert.equal(missing.status, 500, JSON.stringify(missing.body));
  assert.match(String(missing.body.error), /namespace no-such-namespace: .*create the namespace or fix temporal\.namespace/);
  await unknown.app.close();
});

test('Temporal errors by gRPC status: unreachable or overloaded is transient; permissions and credentials are not', () => {
  const grpc = (code: number, details: string) => Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} });
  const target = { address: 'temporal.example.com:7233', namespace: 'qlik-audit' };
  for (const code of [14, 4, 8]) assert.equal(classifyTemporalError(new ServiceError('start failed', { cause: grpc(code, 'x') }), target).transient, true, `code ${code}`);
  const denied = classifyTemporalError(grpc(7, 'Request unauthorized.'), target);
  assert.deepEqual([denied.transient, denied.code], [false, 'PERMISSION_DENIED']);
  assert.match(denied.message, /permission denied .*give this API key or client certificate the right to start workflows/);
  const unauthenticated = classifyTemporalError(grpc(16, 'invalid API key'), target);
  assert.deepEqual([unauthenticated.transient, unauthenticated.code], [false, 'UNAUTHENTICATED']);
  assert.match(unauthenticated.message, /check TEMPORAL_API_KEY/);
});

test('teardown', async () => {
  await receiver.app.close();
});
