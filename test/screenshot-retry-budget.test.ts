// QPS unreachable: the download activity retries with backoff until its budget is spent, then the run
// fails with a message naming QPS. On the time-skipping server, minutes of backoff pass instantly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure } from '@temporalio/common';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { screenshotEvent, startTestbed } from './helpers/screenshot-testbed';
import { timeSkippingServer } from './helpers/temporal';
import { activityAttempts } from './helpers/workflow-history';

test('QPS unreachable: a clear failure after the retry budget, backoff skipped in server time', async () => {
  const env = await timeSkippingServer();
  const bed = await startTestbed(env, { auth: { qps: { port: 1 } } }); // nothing listens on port 1
  const wallStart = Date.now();
  const serverStart = await env.currentTimeMs();
  const { handle } = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/tempcontent/unreachable.png'), 'LAB\\budget'));
  const err = await handle.result().then(
    () => assert.fail('expected failure'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ActivityFailure);
  const cause = err.cause.cause;
  assert.ok(cause instanceof ApplicationFailure);
  assert.equal(cause.type, 'QpsUnavailable');
  assert.match(cause.message, /^QPS 127\.0\.0\.1:1 unreachable: ECONNREFUSED$/);
  assert.deepEqual(await activityAttempts(handle, 'downloadAndStoreScreenshot'), [10], 'the whole budget of 10 attempts');
  const serverElapsed = (await env.currentTimeMs()) - serverStart;
  assert.ok(serverElapsed >= 1 + 2 + 4 + 8 + 16 + 30 * 4, `backoff 1 s doubling to 30 s: ${serverElapsed} ms of server time`);
  assert.ok(Date.now() - wallStart < 60_000, 'and none of it waited for real');
});
