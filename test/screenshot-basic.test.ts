// captureScreenshot end to end on the real dev server against the simulated Qlik: the stored files,
// the sidecar, the result, search attributes, and what QPS and the proxy saw.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { QlikAppId, QlikUserDirectory, QlikUserId, ScreenshotOutcome } from '../common/search-attributes';
import { PNG_1X1 } from '../demo/simulated-qlik/simulated-qlik';
import { screenshotEvent, startTestbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { activityTries } from './helpers/workflow-history';

test('userTicket: a screenshot is stored atomically in every target with a sidecar', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  const event = screenshotEvent(bed.qlik.url('/tempcontent/basic-1/shot.png'), 'UserDirectory=LAB; UserId=anna');
  const { handle, workflowId } = await startCaptureScreenshot(env.client, bed.taskQueue, event);
  const result = await handle.result();

  assert.equal(workflowId, `screenshot-${event.eventId}`);
  assert.equal(result.status, 'stored');
  assert.equal(result.workflowId, workflowId);
  assert.equal(result.bytes, PNG_1X1.length);
  assert.equal(result.sha256, createHash('sha256').update(PNG_1X1).digest('hex'));
  assert.equal(result.contentType, 'image/png');
  const expectedName = `20261122T101530.123Z_${event.eventId}_${event.correlationId}.png`;
  assert.deepEqual(result.savedPaths, [path.join(bed.dir, 'a', expectedName), path.join(bed.dir, 'b', expectedName)]);
  for (const file of result.savedPaths) {
    assert.deepEqual(readFileSync(file), PNG_1X1);
    const sidecar = JSON.parse(readFileSync(`${file}.json`, 'utf8'));
    assert.equal(sidecar.eventId, event.eventId);
    assert.equal(sidecar.user, 'UserDirectory=LAB; UserId=anna');
    assert.equal(sidecar.appId, event.payload.context.appId);
    assert.equal(sidecar.sheetName, 'Overview');
    assert.equal(sidecar.objectId, 'obj-7');
    assert.equal(sidecar.url, event.payload.event.screenshotUrl);
    assert.doesNotMatch(JSON.stringify(sidecar), /qlikTicket/);
    assert.equal(sidecar.sha256, result.sha256);
    assert.equal(typeof sidecar.timings.totalMs, 'number');
  }
  for (const target of ['a', 'b']) {
    assert.deepEqual(readdirSync(path.join(bed.dir, target)).filter((f) => f.startsWith('.')), [], 'no temporary file left');
  }
  assert.deepEqual(bed.qlik.issuedTickets.at(-1), { userDirectory: 'LAB', userId: 'anna', virtualProxy: '' });

  const description = await handle.describe();
  assert.equal(description.typedSearchAttributes.get(QlikUserId), 'anna');
  assert.equal(description.typedSearchAttributes.get(QlikUserDirectory), 'LAB');
  assert.equal(description.typedSearchAttributes.get(QlikAppId), event.payload.context.appId);
  assert.equal(description.typedSearchAttributes.get(ScreenshotOutcome), 'stored');
});

test('a run started without search attributes (e.g. by the temporal CLI) still gets them from the workflow', async () => {
  const env = await devServer();
  const bed = await startTestbed(env);
  const event = screenshotEvent(bed.qlik.url('/tempcontent/bare-start.png'), 'LAB\\barestart');
  const handle = await env.client.workflow.start('captureScreenshot', { taskQueue: bed.taskQueue, workflowId: `screenshot-${event.eventId}`, args: [event] });
  assert.equal((await handle.result()).status, 'stored');
  const attributes = (await handle.describe()).typedSearchAttributes;
  assert.equal(attributes.get(QlikUserId), 'barestart');
  assert.equal(attributes.get(QlikUserDirectory), 'LAB');
  assert.equal(attributes.get(QlikAppId), event.payload.context.appId);
  assert.equal(attributes.get(ScreenshotOutcome), 'stored');
});

/** What one run cost the server: workflow tasks, activity tasks and history events. */
async function serverWork(handle: WorkflowHandle) {
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
    activityTasks: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    events: events.length,
    /** Patch markers (each comes with a TemporalChangeVersion search-attribute upsert: a visibility write). */
    patches: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch').length,
  };
}

test('the fast path: a screenshot costs one workflow task and no activity task; fastPathMs 0 turns it off', async () => {
  const env = await devServer();
  const fast = await startTestbed(env);
  const { handle } = await startCaptureScreenshot(env.client, fast.taskQueue, screenshotEvent(fast.qlik.url('/tempcontent/fast.png'), 'LAB\\fast'));
  assert.equal((await handle.result()).status, 'stored');
  const work = await serverWork(handle);
  assert.equal(work.workflowTasks, 1, 'identity, ticket, download and outcome in one workflow task');
  assert.equal(work.activityTasks, 0, 'no task-queue round trip for the download');
  assert.equal(work.patches, 0, 'no patch markers: the steps follow from the recorded plan');
  assert.ok(work.events <= 10, `a short history (${work.events} events)`);
  assert.deepEqual(await activityTries(handle, 'downloadAndStoreScreenshot'), { fastPath: 'completed', attempts: [] });
  assert.equal((await handle.describe()).typedSearchAttributes.get(ScreenshotOutcome), 'stored');

  const regular = await startTestbed(env, { fastPathMs: 0 });
  const { handle: slow } = await startCaptureScreenshot(env.client, regular.taskQueue, screenshotEvent(regular.qlik.url('/tempcontent/regular.png'), 'LAB\\regular'));
  assert.equal((await slow.result()).status, 'stored');
  const before = await serverWork(slow);
  assert.equal(before.activityTasks, 1);
  assert.ok(before.workflowTasks >= 2, `the regular activity needs a second workflow task (${before.workflowTasks})`);
  assert.ok(work.events < before.events, `fewer history events with the fast path (${work.events} vs ${before.events})`);
  assert.deepEqual(await activityTries(slow, 'downloadAndStoreScreenshot'), { fastPath: 'none', attempts: [1] });
});
