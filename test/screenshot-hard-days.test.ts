// Hard days for screenshots (SPEC 3.3 "Durability"), on the real dev server:
//   - a render slower than the heartbeat timeout (the proxy holds its headers) leaves the fast path
//     and is then one attempt: the activity heartbeats while it waits, so no second writer is started;
//   - two attempts that do overlap (the first worker frozen in the fast path past its workflow task
//     timeout, then thawed) leave one intact file per target, described by its sidecar;
//   - a failed run is started afresh when its event is posted again; a completed one never;
//   - proxy sessions the cache does not keep are closed at QPS.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { startCli } from './helpers/cli';
import { screenshotEvent, startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { activityTries } from './helpers/workflow-history';
import { until } from './helpers/until';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Each target holds exactly one image and its sidecar, the sidecar's sha256 is the image's, no temporary file. */
function assertOneIntactFile(bed: Testbed, bytes: number): string[] {
  const hashes: string[] = [];
  for (const target of ['a', 'b']) {
    const dir = path.join(bed.dir, target);
    const files = readdirSync(dir).sort();
    assert.equal(files.length, 2, `${target}: ${files.join(', ')}`);
    const [image, sidecarFile] = files as [string, string];
    assert.equal(sidecarFile, `${image}.json`);
    const sidecar = JSON.parse(readFileSync(path.join(dir, sidecarFile), 'utf8')) as { sha256: string; bytes: number };
    assert.equal(readFileSync(path.join(dir, image)).length, bytes, `${target}: complete`);
    assert.equal(sidecar.sha256, sha256(path.join(dir, image)), `${target}: the sidecar describes the file kept`);
    assert.equal(sidecar.bytes, bytes);
    hashes.push(sidecar.sha256);
  }
  return hashes;
}

test('a render slower than the heartbeat timeout: one attempt, one writer, sidecar matches', async () => {
  const env = await devServer();
  const bed = await startTestbed(env, { downloadTimeoutMs: 40_000 });
  bed.qlik.routes.set('/printing/slow-render.png', { kind: 'image', delayMs: 25_000 }); // headers after 25 s; heartbeat timeout 20 s
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/printing/slow-render.png'), 'LAB\\slowrender'));
  const result = await handle.result();
  assert.equal(result.status, 'stored');
  // The fast path gives up after its 5 s (one request, abandoned); then the regular activity waits
  // the render out in one attempt, heartbeating.
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /timed out|timeout/i);
  assert.deepEqual(tries.attempts, [1], 'no second attempt while the first waited');
  assert.equal(bed.qlik.requests.filter((r) => r.path === '/printing/slow-render.png' && !r.hadTicket).length, 2, 'the fast path\'s request and one download');
  const [hash] = assertOneIntactFile(bed, result.bytes ?? 0);
  assert.equal(hash, result.sha256);
});

test('two overlapping attempts for one event (a frozen worker thawed after its successor stored): one intact file', async () => {
  const env = await devServer();
  const bed = await startTestbed(env, { startWorker: false });
  const bytes = 2 * 1024 * 1024;
  // Every request gets different bytes: two writers on one file would show as a hash neither sent.
  bed.qlik.routes.set('/slow/overlap.png', { kind: 'stream', bytes, chunkDelayMs: 40, fillPerRequest: true });
  const frozen = startCli(['worker', '--config', bed.configFile, '--log-format', 'json'], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: env.address } });
  await frozen.ready;
  try {
    const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/slow/overlap.png'), 'LAB\\overlap'));
    const begun = Date.now();
    while (!bed.qlik.requests.some((r) => r.path === '/slow/overlap.png')) {
      assert.ok(Date.now() - begun < 30_000, 'the first download started');
      await sleep(50);
    }
    await sleep(300);
    frozen.child.kill('SIGSTOP'); // no heartbeats, no progress: presumed dead after 20 s
    await bed.startWorker();
    const result = await handle.result();
    assert.equal(result.status, 'stored');
    // Frozen in the fast path: its workflow task timed out and the other worker ran the run's task
    // again (the frozen worker's open long poll may still be handed, and lose, a task first).
    const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
    assert.deepEqual(tries, { fastPath: 'completed', attempts: [] }, 'stored by the fast path of the second worker');
    assert.ok(bed.qlik.requests.filter((r) => r.path === '/slow/overlap.png').length >= 2, 'both workers downloaded');
    frozen.child.kill('SIGCONT'); // the first attempt wakes up mid-download and finishes or gives up
    const thawed = Date.now();
    const leftovers = () => ['a', 'b'].flatMap((t) => readdirSync(path.join(bed.dir, t)).filter((f) => f.endsWith('.part')));
    await sleep(3000);
    while (leftovers().length > 0) {
      assert.ok(Date.now() - thawed < 30_000, `the thawed attempt cleaned up: ${leftovers().join(', ')}`);
      await sleep(200);
    }
    const hashes = assertOneIntactFile(bed, bytes);
    assert.equal(hashes[0], hashes[1], 'both targets hold the same file');
  } finally {
    frozen.child.kill('SIGCONT');
    frozen.child.kill('SIGTERM');
    await frozen.exited;
  }
});

test('a failed run is started afresh when the event is posted again; a completed one is not', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  bed.qlik.faults.refuseUsers.add('LAB\\later');
  const event = screenshotEvent(bed.qlik.url('/tempcontent/later.png'), 'LAB\\later');
  const first = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  await assert.rejects(first.handle.result(), /Workflow execution failed/);
  bed.qlik.faults.refuseUsers.delete('LAB\\later'); // the access is fixed
  const again = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  assert.notEqual(again.runId, first.runId, 'a fresh run');
  assert.equal((await again.handle.result()).status, 'stored');
  const third = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  assert.equal(third.runId, again.runId, 'a completed run is returned, not repeated');
});

test('proxy sessions the cache does not keep are closed at QPS: cache off, and a download that failed', async () => {
  const env = await devServer();
  const uncached = await startTestbed(env, { auth: { sessionCache: { enable: false } } });
  const user = 'LAB\\nocache';
  for (const n of [1, 2]) {
    const { handle } = await startCaptureScreenshot(env.client, uncached.taskQueue, screenshotEvent(uncached.qlik.url(`/tempcontent/nocache-${n}.png`), user));
    assert.equal((await handle.result()).status, 'stored');
  }
  const opened = uncached.qlik.issuedSessions.filter((s) => s.userId === 'nocache').map((s) => s.id);
  assert.equal(opened.length, 2, 'one session per screenshot without the cache');
  await waitFor(() => opened.every((id) => uncached.qlik.deletedSessions.includes(id)), 'both closed at QPS');

  // With the cache on: the Printing Service answers 404 once (render not ready); the session opened
  // for the failed attempt is closed, the one of the attempt that stored stays cached.
  const cached = await startTestbed(env);
  cached.qlik.routes.set('/printing/not-ready.png', { kind: 'statuses', statuses: [404] });
  const { handle } = await startCaptureScreenshot(env.client, cached.taskQueue, screenshotEvent(cached.qlik.url('/printing/not-ready.png'), 'LAB\\notready'));
  assert.equal((await handle.result()).status, 'stored');
  const sessions = cached.qlik.issuedSessions.filter((s) => s.userId === 'notready').map((s) => s.id);
  assert.equal(sessions.length, 2);
  await waitFor(() => cached.qlik.deletedSessions.includes(sessions[0] ?? ''), 'the failed attempt’s session is closed');
  assert.equal(cached.qlik.deletedSessions.includes(sessions[1] ?? ''), false, 'the cached one stays open');
});

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  assert.ok(await until(condition, 10_000), what);
}
