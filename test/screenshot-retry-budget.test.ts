// Outages of hours (SPEC 3.1 retryWindowMinutes): the download activity retries transient failures
// with backoff capped at 5 minutes for the whole retry window, so a QPS outage of 6 hours ends with
// the screenshot stored once; an outage longer than the window ends the run failed, naming the last
// cause. On the time-skipping server the hours of backoff pass instantly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { describeError } from '../cli/errors';
import { screenshotEvent, startTestbed } from './helpers/screenshot-testbed';
import { timeSkippingServer } from './helpers/temporal';
import { activityTries } from './helpers/workflow-history';

const HOUR = 3_600_000;

/** How long the run took in server time (start to close, from Temporal). */
async function runDuration(handle: WorkflowHandle): Promise<number> {
  const { startTime, closeTime } = await handle.describe();
  return (closeTime?.getTime() ?? NaN) - startTime.getTime();
}

test('a 6-hour QPS outage: retried through it, then stored once', async () => {
  const env = await timeSkippingServer();
  const bed = await startTestbed(env);
  // Backoff 1 s doubling to the 5-minute cap: 80 failed attempts span just over 6 hours (plus the
  // fast path's try, which fails first).
  bed.qlik.faults.ticketStatuses.push(...Array<number>(81).fill(503));
  const wallStart = Date.now();
  const path = '/tempcontent/after-outage.png';
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url(path), 'LAB\\outage'));
  const result = await handle.result();
  assert.equal(result.status, 'stored');
  // The fast path got the first 503; then one activity: 80 failed attempts and the one that stored.
  const tries = await activityTries(handle, 'downloadAndStoreScreenshot');
  assert.match(typeof tries.fastPath === 'object' ? tries.fastPath.failed : '', /503/);
  assert.deepEqual(tries.attempts, [81], 'one activity retried through the outage');
  const serverElapsed = await runDuration(handle);
  assert.ok(serverElapsed >= 6 * HOUR, `retried for ${(serverElapsed / HOUR).toFixed(1)} h of server time`);
  assert.equal(bed.qlik.requests.filter((r) => r.path === path && !r.hadTicket).length, 1, 'downloaded once');
  assert.ok(Date.now() - wallStart < 90_000, 'and the hours passed in server time');
});

test('an outage longer than the retry window: the run fails naming the last cause', async () => {
  const env = await timeSkippingServer();
  const bed = await startTestbed(env, { retryWindowMinutes: 60, auth: { qps: { port: 1 } } }); // nothing listens on port 1
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/tempcontent/unreachable.png'), 'LAB\\budget'));
  const err = await handle.result().then(
    () => assert.fail('expected failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure);
  // The server gives up when the next retry would fall outside the window, with the last failure.
  assert.equal(err.cause.retryState, RetryState.TIMEOUT);
  const last = err.cause.cause;
  assert.ok(last instanceof ApplicationFailure, `the last attempt's failure: ${String(last)}`);
  assert.equal(last.type, 'QpsUnavailable');
  assert.match(last.message, /^QPS 127\.0\.0\.1:1 unreachable: ECONNREFUSED$/);
  assert.match(describeError(err, false), /QPS 127\.0\.0\.1:1 unreachable: ECONNREFUSED$/, 'what `screenshot --wait` prints');
  const elapsed = await runDuration(handle);
  assert.ok(elapsed >= 0.9 * HOUR && elapsed <= HOUR, `gave up at the end of the 60-minute window (${(elapsed / 60_000).toFixed(0)} min)`);
  const [attempts] = (await activityTries(handle, 'downloadAndStoreScreenshot')).attempts;
  assert.ok((attempts ?? 0) > 10, `retried all through the window (${attempts} attempts), not only 10 times`);
});
