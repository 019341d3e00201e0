// Every version of captureScreenshot that ever ran must replay with the current code: a run in
// flight during an upgrade is continued by the new worker from its history, and a change that is
// not deterministic against it fails that run. The histories under test/fixtures/histories were
// recorded by earlier releases (scripts/record-histories.ts: stored, blocked, skipped, retried then
// stored, failed); each is replayed here with today's workflow code. The versions, by the commit
// that recorded them: 1 retry windows (14bc721), 2 outcome as an activity (af51aea), 3 outcome as a
// local activity (0fbb433), 4 fast path behind a patch (9578968), 5 planned steps without patch
// markers. (Runs of the versions before 14bc721 had no retry window in their plan; the workflow
// still has that branch, but its histories could not be recorded with this script.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FIXTURES = path.join(__dirname, 'fixtures', 'histories');

test('histories of every earlier captureScreenshot version replay with the current workflow code', async () => {
  const histories = readdirSync(FIXTURES).flatMap((version) =>
    readdirSync(path.join(FIXTURES, version)).map((file) => ({
      workflowId: `${version}/${file.replace(/\.bin$/, '')}`,
      history: temporal.api.history.v1.History.decode(readFileSync(path.join(FIXTURES, version, file))),
    })),
  );
  assert.ok(histories.length >= 20, `the fixtures are there (${histories.length})`);
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../workflows') }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  assert.deepEqual(failures, []);
});
