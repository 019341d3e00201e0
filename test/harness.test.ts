// The test harness itself: real Temporal servers, real workers, real workflows with activities.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import * as activities from './fixtures/harness-activities';
import { retryWithBackoff } from './fixtures/harness-workflows';
import { devServer, timeSkippingServer } from './helpers/temporal';

async function runRetryWorkflow(env: TestWorkflowEnvironment, taskQueue: string, interval: string, succeedOn: number) {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowsPath: require.resolve('./fixtures/harness-workflows'),
    activities,
  });
  return worker.runUntil(
    env.client.workflow.execute(retryWithBackoff, { taskQueue, workflowId: `${taskQueue}-${Date.now()}`, args: [interval, succeedOn] }),
  );
}

test('dev server: a workflow retries its activity and completes', async () => {
  const env = await devServer();
  assert.equal(env.supportsTimeSkipping, false);
  const attempt = await runRetryWorkflow(env, 'harness-dev', '100ms', 3);
  assert.equal(attempt, 3);
});

test('time-skipping server: two one-hour retry backoffs pass without waiting', async () => {
  const env = await timeSkippingServer();
  assert.equal(env.supportsTimeSkipping, true);
  const wallStart = Date.now();
  const workflowStart = await env.currentTimeMs();
  const attempt = await runRetryWorkflow(env, 'harness-skip', '1 hour', 3);
  assert.equal(attempt, 3);
  const skippedMs = (await env.currentTimeMs()) - workflowStart;
  assert.ok(skippedMs >= 2 * 3600_000, `server time advanced ${skippedMs} ms, expected at least two hours`);
  assert.ok(Date.now() - wallStart < 60_000, 'the backoffs were skipped, not waited out');
});
