// Durability and secrets: a worker SIGKILLed mid-download is replaced and the run ends with exactly
// one complete file per target; tickets and session ids never reach history or logs; and the
// `qlik-audit screenshot` command as a user runs it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { runCli, startCli } from './helpers/cli';
import { screenshotEvent, startTestbed, workflowBundle } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { activityTries, historyText } from './helpers/workflow-history';

/**
 * Kills a `qlik-audit worker` process once the `n`th download request for `route` is under way, starts
 * a second worker, and returns the run's result and how long the whole run took.
 */
async function killMidDownload(route: string, bytes: number, chunkDelayMs: number, n: number) {
  const env = await devServer();
  const bed = await startTestbed(env, { startWorker: false });
  await workflowBundle(); // built now, so the replacement worker's start is not timed with it
  bed.qlik.routes.set(route, { kind: 'stream', bytes, chunkDelayMs });

  // First worker: a separate process, as in production, killed without warning.
  const doomed = startCli(['worker', '--config', bed.configFile], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: env.address } });
  await doomed.ready;
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url(route), 'LAB\\durable'));
  const started = Date.now();
  while (bed.qlik.requests.filter((r) => r.path === route && !r.hadTicket).length < n) {
    assert.ok(Date.now() - started < 30_000, `download ${n} started`);
    await sleep(50);
  }
  // Mid-stream: once the temporary file is there (the stream takes seconds more).
  const parts = () => readdirSync(path.join(bed.dir, 'a')).filter((f) => f.endsWith('.part'));
  while (parts().length === 0) {
    assert.ok(Date.now() - started < 30_000, 'a temporary file was opened');
    await sleep(50);
  }
  doomed.child.kill('SIGKILL');
  await doomed.exited;
  const partial = readdirSync(path.join(bed.dir, 'a')).filter((f) => f.endsWith('.part'));
  assert.ok(partial.length >= 1, 'the killed worker left a partial temporary file behind');

  await bed.startWorker();
  const result = await handle.result();
  assert.equal(result.status, 'stored');
  assert.equal(result.bytes, bytes);
  for (const target of ['a', 'b']) {
    const files = readdirSync(path.join(bed.dir, target)).sort();
    assert.equal(files.length, 2, `${target}: ${files.join(', ')}`);
    assert.match(files[0] ?? '', /^\d{8}T\d{6}\.\d{3}Z_.+\.png$/);
    assert.equal(files[1], `${files[0]}.json`);
    assert.equal(readFileSync(path.join(bed.dir, target, files[0] ?? '')).length, bytes, 'complete');
  }
  return { handle, seconds: (Date.now() - started) / 1000 };
}

test('a worker killed in the fast path is replaced: its workflow task times out, the next worker runs it; one complete file per target', async () => {
  // 2 MiB in ~2 s: the fast path (5 s) would finish it.
  const { handle, seconds } = await killMidDownload('/slow/killed-fast.png', 2 * 1024 * 1024, 60, 1);
  assert.deepEqual(await activityTries(handle, 'downloadAndStoreScreenshot'), { fastPath: 'completed', attempts: [] });
  assert.ok(seconds < 40, `noticed within the workflow task timeout (${seconds} s)`);
});

test('a worker killed in the regular activity is replaced within the heartbeat timeout; one complete file per target', async () => {
  // 2 MiB in ~6.4 s: the fast path gives up at 5 s, the regular activity downloads it again.
  const { handle, seconds } = await killMidDownload('/slow/killed.png', 2 * 1024 * 1024, 200, 2);
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.notEqual(tries.fastPath, 'completed');
  assert.deepEqual(tries.attempts, [2], 'the second attempt, on the second worker');
  assert.ok(seconds < 60, `noticed within a minute (${seconds} s)`);
});

test('tickets and session ids never appear in workflow history or logs', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  bed.qlik.routes.set('/secret/hop.png', { kind: 'redirect', location: bed.qlik.url('/secret/final.png', '127.0.0.2') });
  const handles = [];
  for (const [p, user] of [['/secret/one.png', 'LAB\\secret'], ['/secret/two.png', 'LAB\\secret'], ['/secret/hop.png', 'LAB\\other']]) {
    const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url(p as string), user));
    assert.equal((await handle.result()).status, 'stored');
    handles.push(handle);
  }
  bed.qlik.invalidateSessions();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/secret/three.png'), 'LAB\\secret'));
  await handle.result();
  handles.push(handle);

  const secrets = [...bed.qlik.tickets.keys(), ...bed.qlik.issuedSessions.map((s) => s.id)];
  assert.ok(secrets.length >= 6, 'tickets and sessions were issued');
  const histories = (await Promise.all(handles.map(historyText))).join('\n');
  const logs = JSON.stringify(bed.logs);
  for (const secret of secrets) {
    assert.ok(!histories.includes(secret), 'no ticket or session id in history');
    assert.ok(!logs.includes(secret), 'no ticket or session id in logs');
  }
  assert.ok(histories.includes('/secret/one.png'), 'payloads are decoded (the event URL is readable), so the check is meaningful');
});

test('qlik-audit screenshot: starts, waits, prints the result; bad event files exit 2', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  const cliEnv = { TEMPORAL_ADDRESS: env.address };
  const event = screenshotEvent(bed.qlik.url('/cli/shot.png'), 'LAB\\cli');
  const eventFile = path.join(bed.dir, 'event.json');
  writeFileSync(eventFile, JSON.stringify(event));

  const waited = await runCli(['screenshot', '--config', bed.configFile, '--event', eventFile, '--wait'], { env: cliEnv });
  assert.equal(waited.status, 0, waited.stderr);
  const result = JSON.parse(waited.stdout);
  assert.equal(result.workflowId, `screenshot-${event.eventId}`);
  assert.equal(result.status, 'stored');
  assert.equal(result.savedPaths.length, 2);

  const again = await runCli(['screenshot', '--config', bed.configFile, '--event', eventFile], { env: cliEnv });
  assert.equal(again.status, 0, again.stderr);
  const started = JSON.parse(again.stdout);
  assert.deepEqual(Object.keys(started).sort(), ['runId', 'workflowId']);
  assert.equal(started.workflowId, result.workflowId, 'the same event maps to the same run');

  const bad = path.join(bed.dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...event, payload: { ...event.payload, context: { ...event.payload.context, appId: 'nope' } } }));
  const invalid = await runCli(['screenshot', '--config', bed.configFile, '--event', bad], { env: cliEnv });
  assert.equal(invalid.status, 2);
  assert.match(invalid.stderr, /bad\.json is not a valid Audit\.qs event: event breaks a rule: payload\.context\.appId: must be a UUID/);
  assert.equal((await runCli(['screenshot', '--config', bed.configFile, '--event', '/nope.json'], { env: cliEnv })).status, 2);

  bed.qlik.faults.refuseUsers.add('LAB\\clifail');
  writeFileSync(eventFile, JSON.stringify(screenshotEvent(bed.qlik.url('/cli/fail.png'), 'LAB\\clifail')));
  const failed = await runCli(['screenshot', '--config', bed.configFile, '--event', eventFile, '--wait'], { env: cliEnv });
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /failed: QPS 127\.0\.0\.1:\d+ .*refused the ticket request for LAB\\clifail with 403/);
});

test('screenshot --wait with no worker on the task queue says so on stderr, and keeps waiting until one comes', async () => {
  const env = await devServer();
  const bed = await startTestbed(env, { startWorker: false });
  const eventFile = path.join(bed.dir, 'waiting.json');
  writeFileSync(eventFile, JSON.stringify(screenshotEvent(bed.qlik.url('/cli/waiting.png'), 'LAB\\waiting')));
  const waiting = startCli(['screenshot', '--config', bed.configFile, '--event', eventFile, '--wait'], 'no worker polls', { env: { TEMPORAL_ADDRESS: env.address } });
  await waiting.ready;
  assert.match(waiting.output().stderr, new RegExp(`no worker polls task queue '${bed.taskQueue}' \\(namespace default\\): start one with 'qlik-audit worker --config <file>'.*still waiting`));
  await bed.startWorker();
  assert.equal(await waiting.exited, 0, waiting.output().stderr);
  assert.equal(JSON.parse(waiting.output().stdout).status, 'stored');
});
