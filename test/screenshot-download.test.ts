// Downloads: every redirect hop allow-listed (each block reason, with its log line), relative and
// multi-host chains, the 50 MiB cap, content types, retried statuses visible in history, SSRF tricks,
// and duplicate starts — on the real dev server against the simulated Qlik.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { startCaptureScreenshot } from '../client/start-screenshot';
import type { ScreenshotEvent } from '../common/audit-event';
import { screenshotEvent, startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { activityTries } from './helpers/workflow-history';
import { devServer } from './helpers/temporal';

async function capture(bed: Testbed, event: ScreenshotEvent) {
  const env = await devServer();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  return { handle, result: await handle.result() };
}

async function failure(bed: Testbed, event: ScreenshotEvent) {
  const env = await devServer();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  const err = await handle.result().then(
    () => assert.fail('expected the run to fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure && err.cause.cause instanceof ApplicationFailure);
  return { handle, failure: err.cause.cause };
}

function leftovers(bed: Testbed): string[] {
  return ['a', 'b'].flatMap((t) => (existsSync(path.join(bed.dir, t)) ? readdirSync(path.join(bed.dir, t)) : []));
}

let bed: Testbed;
test('setup', async () => {
  bed = await startTestbed(await devServer());
});

test('a redirect chain across allowed hosts, relative and absolute, is followed', async () => {
  const { qlik } = bed;
  qlik.routes.set('/chain/start.png', { kind: 'redirect', status: 302, location: qlik.url('/chain/two.png', '127.0.0.2') });
  qlik.routes.set('/chain/two.png', { kind: 'redirect', status: 307, location: 'three.png' });
  qlik.routes.set('/chain/three.png', { kind: 'redirect', status: 301, location: qlik.url('/chain/final.png', '127.0.0.3') });
  const { result } = await capture(bed, screenshotEvent(qlik.url('/chain/start.png'), 'LAB\\chain'));
  assert.equal(result.status, 'stored');
  const sidecar = JSON.parse((await import('node:fs')).readFileSync(`${result.savedPaths[0]}.json`, 'utf8'));
  assert.deepEqual(
    sidecar.redirectHosts,
    // the proxy's own ticket redirect, then our chain
    [`127.0.0.1:${qlik.port('127.0.0.1')}`, `127.0.0.1:${qlik.port('127.0.0.1')}`, `127.0.0.2:${qlik.port('127.0.0.2')}`, `127.0.0.2:${qlik.port('127.0.0.2')}`, `127.0.0.3:${qlik.port('127.0.0.3')}`],
  );
  const finalHop = qlik.requests.find((r) => r.path === '/chain/final.png');
  assert.equal(finalHop?.clientCert, true, 'the same mutual TLS identity on every hop');
  assert.equal(finalHop?.hadTicket, false, 'the ticket goes to the first URL only');
});

test('five redirects are followed, the sixth is blocked as max-redirects', async () => {
  const { qlik } = bed;
  // On a content host (no ticket round trip), so every hop is one of ours.
  for (let i = 0; i < 6; i++) qlik.routes.set(`/max/r${i}.png`, { kind: 'redirect', location: `r${i + 1}.png` });
  for (let i = 0; i < 5; i++) qlik.routes.set(`/max5/r${i}.png`, { kind: 'redirect', location: `r${i + 1}.png` });
  assert.equal((await capture(bed, screenshotEvent(qlik.url('/max5/r0.png', '127.0.0.2'), 'LAB\\redir'))).result.status, 'stored');
  const { result } = await capture(bed, screenshotEvent(qlik.url('/max/r0.png', '127.0.0.2'), 'LAB\\redir'));
  assert.deepEqual([result.status, result.reason], ['blocked', 'max-redirects']);
  assert.equal(qlik.requests.filter((r) => r.path === '/max/r6.png').length, 0);
});

test('every redirect block reason ends the run blocked and logs the reason and host', async () => {
  const { qlik } = bed;
  const cases = [
    ['missing-location', { kind: 'redirect', location: undefined }, '127.0.0.1'],
    ['invalid-location', { kind: 'redirect', location: 'https://[bad' }, '127.0.0.1'],
    ['invalid-scheme', { kind: 'redirect', location: 'file:///etc/passwd' }, 'etc'],
    ['host-not-allowed', { kind: 'redirect', location: qlik.url('/x.png', qlik.outsideHost) }, qlik.outsideHost],
    ['invalid-location', { kind: 'redirect', location: `https://127.0.0.2@${qlik.outsideHost}:${qlik.port(qlik.outsideHost)}/x.png` }, qlik.outsideHost],
  ] as const;
  for (const [reason, route, host] of cases) {
    const routePath = `/block/${reason}-${Math.random().toString(36).slice(2)}.png`;
    qlik.routes.set(routePath, route as never);
    const { result, handle } = await capture(bed, screenshotEvent(qlik.url(routePath), 'LAB\\blocked'));
    assert.deepEqual([result.status, result.reason, result.savedPaths], ['blocked', reason, []], routePath);
    const line = bed.logs.find((l) => l.workflowId === handle.workflowId && typeof l.msg === 'string' && l.msg.startsWith('redirect blocked'));
    assert.equal(line?.msg, `redirect blocked reason=${reason} host=${reason === 'invalid-scheme' ? '' : host}`);
  }
  assert.equal(qlik.requestsTo(qlik.outsideHost).length, 0, 'nothing reached the outside host');
  assert.deepEqual(leftovers(bed).filter((f) => f.startsWith('.')), []);
});

test('a first URL outside the allow-list is blocked before any ticket is redeemed', async () => {
  const { qlik } = bed;
  const ticketsBefore = qlik.issuedTickets.length;
  const tricks = [
    qlik.url('/first.png', qlik.outsideHost),
    `https://127.0.0.1@${qlik.outsideHost}:${qlik.port(qlik.outsideHost)}/first.png`,
    `https://0x7f.0.0.9:${qlik.port(qlik.outsideHost)}/first.png`,
    `https://2130706441:${qlik.port(qlik.outsideHost)}/first.png`,
    `https://127.0.0.9.:${qlik.port(qlik.outsideHost)}/first.png`,
  ];
  for (const url of tricks) {
    const { result } = await capture(bed, screenshotEvent(url, 'LAB\\ssrf'));
    assert.equal(result.status, 'blocked', url);
    assert.ok(result.reason === 'host-not-allowed' || result.reason === 'invalid-location', `${url}: ${result.reason}`);
  }
  assert.equal(qlik.issuedTickets.length, ticketsBefore, 'no ticket redeemed for a refused URL');
  assert.equal(qlik.requestsTo(qlik.outsideHost).length, 0);
});

test('IP-literal spellings of an allowed host are allowed (the same host, canonical form)', async () => {
  const { qlik } = bed;
  const port = qlik.port('127.0.0.2');
  for (const host of ['0x7f.0.0.2', '2130706434', '127.0.2', '0177.0.0.2']) {
    const { result } = await capture(bed, screenshotEvent(`https://${host}:${port}/content/ip-${host}.png`, 'LAB\\iplit'));
    assert.equal(result.status, 'stored', host);
  }
});

test('a body over 50 MiB is aborted at the cap: no file, no temporary file, no retry', async () => {
  const { qlik } = bed;
  qlik.routes.set('/big/huge.png', { kind: 'stream', bytes: 60 * 1024 * 1024 });
  qlik.routes.set('/big/announced.png', { kind: 'stream', bytes: 60 * 1024 * 1024, announceLength: true });
  for (const p of ['/big/huge.png', '/big/announced.png']) {
    const before = leftovers(bed);
    const { failure: f, handle } = await failure(bed, screenshotEvent(qlik.url(p), 'LAB\\big'));
    assert.equal(f.type, 'ImageTooLarge');
    const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
    assert.deepEqual(tries.attempts, [], 'not retried');
    assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /cap/, 'the one try: the fast path');
    assert.deepEqual(leftovers(bed), before, 'nothing written');
  }
});

test('a 2xx that is not an image fails without retry; a missing content-type is sniffed', async () => {
  const { qlik } = bed;
  qlik.routes.set('/type/html.png', { kind: 'image', contentType: 'text/html; charset=utf-8', body: Buffer.from('<html>login</html>') });
  const { failure: f } = await failure(bed, screenshotEvent(qlik.url('/type/html.png'), 'LAB\\types'));
  assert.equal(f.type, 'NotAnImage');
  assert.match(f.message, /content-type text\/html/);

  qlik.routes.set('/type/none', { kind: 'image', contentType: null });
  const { result } = await capture(bed, screenshotEvent(qlik.url('/type/none'), 'LAB\\types'));
  assert.equal(result.status, 'stored');
  assert.match(result.savedPaths[0] ?? '', /\.png$/, 'PNG recognised by its signature');
});

test('404 then 200: the download is retried and the retry is visible in history', async () => {
  const { qlik } = bed;
  qlik.routes.set('/flaky/404.png', { kind: 'statuses', statuses: [404] });
  const { result, handle } = await capture(bed, screenshotEvent(qlik.url('/flaky/404.png'), 'LAB\\flaky'));
  assert.equal(result.status, 'stored');
  // The fast path's try got the 404 (its failure is in the marker event); the regular activity's first attempt stored.
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /answered 404/);
  assert.deepEqual(tries.attempts, [1]);
});

test('QPS answering 503 three times: retried with backoff, then stored; attempts visible in history', async () => {
  const { qlik } = bed;
  qlik.faults.ticketStatuses.push(503, 503, 503);
  const { result, handle } = await capture(bed, screenshotEvent(qlik.url('/flaky/qps.png'), 'LAB\\qps503'));
  assert.equal(result.status, 'stored');
  // The first 503 to the fast path, two to the regular activity's attempts 1 and 2, attempt 3 stored.
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /503/);
  assert.deepEqual(tries.attempts, [3]);
  const described = await handle.describe();
  assert.equal(described.status.name, 'COMPLETED');
});

test('a non-retryable status (410) fails fast', async () => {
  const { qlik } = bed;
  qlik.routes.set('/gone.png', { kind: 'statuses', statuses: [410, 410] });
  const { failure: f } = await failure(bed, screenshotEvent(qlik.url('/gone.png'), 'LAB\\gone'));
  assert.equal(f.type, 'DownloadRejected');
  assert.match(f.message, /answered 410/);
});

test('starting the same event twice (also concurrently and after completion) downloads once', async () => {
  const env = await devServer();
  const { qlik } = bed;
  qlik.routes.set('/dup/once.png', { kind: 'image', delayMs: 300 });
  const event = screenshotEvent(qlik.url('/dup/once.png'), 'LAB\\dup');
  const starts = await Promise.all([1, 2, 3].map(() => startCaptureScreenshot(env.client, bed.taskQueue, event)));
  assert.equal(new Set(starts.map((s) => s.runId)).size, 1, 'one run');
  await starts[0]?.handle.result();
  const again = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  assert.equal(again.runId, starts[0]?.runId, 'a finished event is not run again');
  const requests = qlik.requests.filter((r) => r.path === '/dup/once.png');
  assert.equal(requests.filter((r) => r.hadTicket).length, 1, 'one ticket redeemed');
  assert.equal(requests.filter((r) => !r.hadTicket).length, 1, 'one image download');
});
