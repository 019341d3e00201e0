// Auth modes, identity forms, virtual proxies and the session cache, end to end on the real dev
// server against the simulated Qlik (QPS over mutual TLS, proxy with tickets and session cookies).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { startCaptureScreenshot } from '../client/start-screenshot';
import type { ScreenshotEvent } from '../common/audit-event';
import { QlikUserId, ScreenshotOutcome } from '../common/search-attributes';
import { screenshotEvent, startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { activityTries } from './helpers/workflow-history';
import { devServer } from './helpers/temporal';
import { openStore } from '../store/store';
import { until } from './helpers/until';

async function capture(bed: Testbed, event: ScreenshotEvent) {
  const env = await devServer();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  return { handle, result: await handle.result() };
}

test('userTicket: every parseable identity form gets a ticket for that user', async () => {
  const bed = await startTestbed(await devServer());
  for (const [user, expected] of [
    ['UserDirectory=LAB; UserId=form1', 'form1'],
    ['LAB; UserId=form2', 'form2'],
    ['LAB\\form3', 'form3'],
  ] as const) {
    const { result, handle } = await capture(bed, screenshotEvent(bed.qlik.url(`/tempcontent/${expected}.png`), user));
    assert.equal(result.status, 'stored', user);
    assert.deepEqual(bed.qlik.issuedTickets.at(-1), { userDirectory: 'LAB', userId: expected, virtualProxy: '' });
    assert.equal((await handle.describe()).typedSearchAttributes.get(QlikUserId), expected);
  }
});

test('userTicket: unparseable identities end skipped with no HTTP request at all', async () => {
  const bed = await startTestbed(await devServer());
  for (const user of ['anna@lab.example.com', 'ACME/jdoe', '', 'N/A', 'jdoe']) {
    const ticketsBefore = bed.qlik.issuedTickets.length;
    const path = `/tempcontent/unparseable-${encodeURIComponent(user || 'empty')}.png`;
    const { result, handle } = await capture(bed, screenshotEvent(bed.qlik.url(path), user));
    assert.equal(result.status, 'skipped', user);
    assert.equal(result.reason, 'identity-unparseable');
    assert.deepEqual(result.savedPaths, []);
    assert.equal(bed.qlik.issuedTickets.length, ticketsBefore, `no ticket for '${user}'`);
    assert.equal(bed.qlik.requests.filter((r) => r.path.startsWith(path)).length, 0, `no download for '${user}'`);
    assert.equal((await handle.describe()).typedSearchAttributes.get(ScreenshotOutcome), 'skipped');
    assert.deepEqual(await activityTries(handle, 'downloadAndStoreScreenshot'), { fastPath: 'none', attempts: [] }, 'the download activity never ran');
  }
});

test('userTicket: the virtual proxy comes from the URL; an invalid one is skipped', async () => {
  const bed = await startTestbed(await devServer());
  const cases = [
    ['/tempcontent/vp-default.png', ''],
    ['/analytics/tempcontent/vp-analytics.png', 'analytics'],
    ['/qps/vp9/content/vp9.png', 'vp9'],
  ] as const;
  for (const [path, vp] of cases) {
    const { result } = await capture(bed, screenshotEvent(bed.qlik.url(path), `LAB\\vp-${vp || 'default'}`));
    assert.equal(result.status, 'stored', path);
    assert.equal(bed.qlik.issuedTickets.at(-1)?.virtualProxy, vp, path);
  }
  const ticketsBefore = bed.qlik.issuedTickets.length;
  const { result } = await capture(bed, screenshotEvent(bed.qlik.url('/bad%20vp/x.png'), 'LAB\\vp-bad'));
  assert.equal(result.status, 'skipped');
  assert.equal(result.reason, 'virtual-proxy-invalid');
  assert.equal(bed.qlik.issuedTickets.length, ticketsBefore);
});

test('userTicket: a Qlik service account (INTERNAL) named in an event never gets a ticket; allowedUserDirectories narrows further', async () => {
  const bed = await startTestbed(await devServer(), { auth: { allowedUserDirectories: ['LAB', 'acme'] } });
  for (const [user, reason] of [
    ['INTERNAL\\sa_repository', /^INTERNAL\\sa_repository is a Qlik service account: userTicket mode never redeems a ticket for it$/],
    ['UserDirectory=internal; UserId=sa_scheduler', /^INTERNAL\\sa_scheduler is a Qlik service account/],
    ['OTHER\\jdoe', /^user directory OTHER is not in screenshots\.auth\.allowedUserDirectories$/],
  ] as const) {
    const ticketsBefore = bed.qlik.issuedTickets.length;
    const path = `/tempcontent/dir-${user.length}.png`;
    const { result, handle } = await capture(bed, screenshotEvent(bed.qlik.url(path), user));
    assert.deepEqual([result.status, result.reason], ['skipped', 'directory-not-allowed'], user);
    assert.equal(bed.qlik.issuedTickets.length, ticketsBefore, `no ticket for ${user}`);
    assert.equal(bed.qlik.requests.filter((r) => r.path.startsWith(path)).length, 0, `no download for ${user}`);
    // The why is in the run's history (the identity step's result), for whoever opens it in the Web UI.
    const payloads = [...JSON.stringify((await handle.fetchHistory()).events).matchAll(/"data":"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1] as string, 'base64').toString('utf8'));
    const detail = payloads.map((p) => /"detail":"((?:[^"\\]|\\.)*)"/.exec(p)?.[1]).find(Boolean);
    assert.match(JSON.parse(`"${detail}"`), reason, user);
  }
  assert.equal((await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/acme.png'), 'ACME\\jdoe'))).result.status, 'stored', 'directories compared case-insensitively');
});

test('userTicket: a ticket only for a user signed in to Qlik: an administrator named in another user’s event, not signed in, is skipped with no ticket', async () => {
  const bed = await startTestbed(await devServer());
  bed.qlik.signedOut.add('lab\\admin');
  const ticketsBefore = bed.qlik.issuedTickets.length;
  const path = '/analytics/tempcontent/admin-view.png';
  const { result } = await capture(bed, screenshotEvent(bed.qlik.url(path), 'LAB\\Admin'));
  assert.deepEqual([result.status, result.reason, result.savedPaths], ['skipped', 'no-active-session', []]);
  assert.equal(bed.qlik.issuedTickets.length, ticketsBefore, 'no ticket redeemed');
  assert.equal(bed.qlik.requests.filter((r) => r.path.startsWith(path)).length, 0, 'nothing downloaded');
  assert.deepEqual(bed.qlik.userLookups.at(-1), { userDirectory: 'LAB', userId: 'Admin', virtualProxy: 'analytics' }, 'asked on the URL’s virtual proxy');

  // A user who is signed in gets the screenshot; a burst of theirs asks QPS once.
  const lookups = bed.qlik.userLookups.length;
  for (const n of [1, 2, 3]) assert.equal((await capture(bed, screenshotEvent(bed.qlik.url(`/tempcontent/signed-in-${n}.png`), 'LAB\\anna'))).result.status, 'stored');
  assert.equal(bed.qlik.userLookups.length, lookups + 1);
  // The audit trail says which screenshots were taken while the user named was signed in.
  const store = await openStore(bed.config.auditSecurityLog.store);
  try {
    const { rows } = await store.query<{ user_id: string; session_verified: boolean | null }>(`SELECT DISTINCT user_id, session_verified FROM screenshot_outcomes WHERE user_id IN ('Admin', 'anna') ORDER BY user_id`);
    assert.deepEqual(rows, [{ user_id: 'Admin', session_verified: false }, { user_id: 'anna', session_verified: true }]);
  } finally {
    await store.close();
  }
});

test('only the Printing Service’s images: a /qrs/ or hub URL on an allowed host is blocked before any ticket or request', async () => {
  const bed = await startTestbed(await devServer(), { allowedImagePaths: ['/tempcontent/'] });
  for (const path of ['/qrs/app/full', '/hub/stream/everyone', '/analytics/qrs/about', '/tempcontent/../qrs/user', '/tempcontent/%2e%2e/qrs/user', '/qps/user/LAB/admin']) {
    const ticketsBefore = bed.qlik.issuedTickets.length;
    const { result } = await capture(bed, screenshotEvent(bed.qlik.url(path), 'LAB\\prober'));
    assert.deepEqual([result.status, result.reason], ['blocked', 'path-not-allowed'], path);
    assert.equal(bed.qlik.issuedTickets.length, ticketsBefore, `no ticket for ${path}`);
  }
  for (const path of ['/tempcontent/a.png', '/analytics/tempcontent/b.png', '/TempContent/c.png']) {
    assert.equal((await capture(bed, screenshotEvent(bed.qlik.url(path), 'LAB\\viewer'))).result.status, 'stored', path);
  }
});

test('qpsTicket: the configured user and virtual proxy are used whatever the event says', async () => {
  const bed = await startTestbed(await devServer(), {
    auth: { mode: 'qpsTicket', qps: { userDirectory: 'INTERNAL', userId: 'sa_scheduler', virtualProxy: 'analytics' } },
  });
  const { result } = await capture(bed, screenshotEvent(bed.qlik.url('/analytics/tempcontent/fixed.png'), 'ACME/jdoe'));
  assert.equal(result.status, 'stored');
  assert.deepEqual(bed.qlik.issuedTickets.at(-1), { userDirectory: 'INTERNAL', userId: 'sa_scheduler', virtualProxy: 'analytics' });

  // Butler SOS accepts an event without context, correlation id or source: it is captured too,
  // named with `none` for the correlation id as Butler SOS names it.
  const bare = screenshotEvent(bed.qlik.url('/analytics/tempcontent/bare.png'), 'LAB\\bare') as Partial<ReturnType<typeof screenshotEvent>>;
  delete bare.correlationId;
  delete bare.source;
  delete (bare.payload as { context?: unknown }).context;
  const captured = await capture(bed, bare as ReturnType<typeof screenshotEvent>);
  assert.equal(captured.result.status, 'stored');
  assert.match(captured.result.savedPaths[0] ?? '', new RegExp(`_${bare.eventId}_none\\.png$`));
  const sidecar = JSON.parse(readFileSync(`${captured.result.savedPaths[0]}.json`, 'utf8'));
  assert.deepEqual([sidecar.user, sidecar.appId, sidecar.correlationId], [null, null, null]);
});

test('userTicket: an event without payload.context names no user: skipped, no HTTP request', async () => {
  const bed = await startTestbed(await devServer());
  const event = screenshotEvent(bed.qlik.url('/tempcontent/no-context.png'), 'LAB\\someone');
  delete (event.payload as { context?: unknown }).context;
  const { result } = await capture(bed, event);
  assert.deepEqual([result.status, result.reason], ['skipped', 'identity-unparseable']);
  assert.equal(bed.qlik.requests.filter((r) => r.path === '/tempcontent/no-context.png').length, 0);
});

test('none: no ticket and no client certificate are sent', async () => {
  const bed = await startTestbed(await devServer(), { auth: { mode: 'none' } });
  const ticketsBefore = bed.qlik.issuedTickets.length;
  const { result } = await capture(bed, screenshotEvent(bed.qlik.url('/content/none-mode.png', '127.0.0.2'), 'LAB\\nobody'));
  assert.equal(result.status, 'stored');
  assert.equal(bed.qlik.issuedTickets.length, ticketsBefore);
  const seen = bed.qlik.requests.find((r) => r.path === '/content/none-mode.png');
  assert.equal(seen?.hadTicket, false);
  assert.equal(seen?.clientCert, false);
});

test('session cache: a second screenshot of the same user reuses the proxy session', async () => {
  const bed = await startTestbed(await devServer());
  const ticketsBefore = bed.qlik.issuedTickets.length;
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/hit-1.png'), 'LAB\\cachehit'));
  const { result } = await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/hit-2.png'), 'LAB\\cachehit'));
  assert.equal(result.status, 'stored');
  assert.equal(bed.qlik.issuedTickets.length - ticketsBefore, 1, 'one ticket for two screenshots');
  const second = bed.qlik.requests.find((r) => r.path === '/tempcontent/hit-2.png');
  assert.equal(second?.hadTicket, false);
  assert.equal(second?.hadSessionCookie, true);
  assert.equal(second?.clientCert, true, 'the mutual TLS identity is used on the proxy too');
});

test('session cache: an expired session is closed at QPS and a new ticket redeemed', async () => {
  const bed = await startTestbed(await devServer(), { auth: { sessionCache: { ttlSeconds: 0.5 } } });
  const ticketsBefore = bed.qlik.issuedTickets.length;
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/exp-1.png'), 'LAB\\expiry'));
  const session = bed.qlik.issuedSessions.at(-1);
  await sleep(800);
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/exp-2.png'), 'LAB\\expiry'));
  assert.equal(bed.qlik.issuedTickets.length - ticketsBefore, 2);
  assert.ok(session && bed.qlik.deletedSessions.includes(session.id), 'the expired session was deleted via QPS');
  assert.ok(bed.logs.some((l) => l.msg === 'qlik session closed' && l.reason === 'expired'));
});

test('session cache: at maxEntries the least recently used session is evicted and deleted', async () => {
  const bed = await startTestbed(await devServer(), { auth: { sessionCache: { maxEntries: 1 } } });
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/ev-1.png'), 'LAB\\evict-a'));
  const first = bed.qlik.issuedSessions.at(-1);
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/ev-2.png'), 'LAB\\evict-b'));
  // The DELETE is sent in the background: wait for it (and its log line), up to 10 s.
  const closed = () => !!first && bed.qlik.deletedSessions.includes(first.id) && bed.logs.some((l) => l.msg === 'qlik session closed' && l.reason === 'evicted');
  await until(closed, 10_000);
  assert.ok(first && bed.qlik.deletedSessions.includes(first.id));
  assert.ok(bed.logs.some((l) => l.msg === 'qlik session closed' && l.reason === 'evicted' && l.userId === 'evict-a'));
});

test('worker shutdown closes every cached Qlik session at QPS', async () => {
  const bed = await startTestbed(await devServer());
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/bye-1.png'), 'LAB\\bye-a'));
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/bye-2.png'), 'LAB\\bye-b'));
  const open = bed.qlik.issuedSessions.slice(-2).map((s) => s.id);
  assert.ok(open.every((id) => !bed.qlik.deletedSessions.includes(id)), 'cached while the worker runs');
  await bed.stop();
  assert.deepEqual(open.filter((id) => bed.qlik.deletedSessions.includes(id)), open, 'both closed before stop() returned');
  assert.deepEqual(bed.logs.filter((l) => l.msg === 'qlik session closed' && l.reason === 'shutdown').map((l) => l.userId).sort(), ['bye-a', 'bye-b']);
});

test('session cache: a cached session answered with 403 is evicted and a fresh ticket redeemed', async () => {
  const bed = await startTestbed(await devServer());
  await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/stale-1.png'), 'LAB\\stale'));
  const ticketsBefore = bed.qlik.issuedTickets.length;
  bed.qlik.invalidateSessions(); // e.g. the proxy was restarted
  const { result, handle } = await capture(bed, screenshotEvent(bed.qlik.url('/tempcontent/stale-2.png'), 'LAB\\stale'));
  assert.equal(result.status, 'stored');
  assert.equal(bed.qlik.issuedTickets.length - ticketsBefore, 1);
  const tries = bed.qlik.requests.filter((r) => r.path === '/tempcontent/stale-2.png');
  // stale cookie → 403; fresh ticket → 302 with a new cookie; new cookie → the image
  assert.deepEqual(tries.map((r) => [r.hadSessionCookie, r.hadTicket]), [[true, false], [false, true], [true, false]]);
  assert.deepEqual(await activityTries(handle, 'downloadAndStoreScreenshot'), { fastPath: 'completed', attempts: [] }, 'handled inside one attempt (the fast path), not a failure');
});

test('QPS refusing the ticket request (4xx) fails fast, without retries, naming QPS', async () => {
  const bed = await startTestbed(await devServer());
  bed.qlik.faults.refuseUsers.add('LAB\\refused');
  const env = await devServer();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/tempcontent/refused.png'), 'LAB\\refused'));
  await assert.rejects(handle.result(), (err: unknown) => {
    assert.ok(err instanceof WorkflowFailedError);
    assert.ok(err.cause instanceof ActivityFailure);
    const cause = err.cause.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'QpsTicketRejected');
    assert.equal(cause.nonRetryable, true);
    assert.match(cause.message, /QPS 127\.0\.0\.1:\d+ refused the ticket request for LAB\\refused with 403/);
    return true;
  });
  // One try: the fast path's, whose failure is final; no regular activity retries it.
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.deepEqual(tries.attempts, []);
  assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /refused the ticket request/);
  assert.equal((await handle.describe()).typedSearchAttributes.get(ScreenshotOutcome), 'failed');
});
