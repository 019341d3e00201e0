// Every recorded 1.0 history must replay with the current workflow code: a run in flight during an
// upgrade is continued by the new worker from its history, and a change that is not deterministic
// against it fails that run. test/fixtures/histories/1.0 holds one history of each way a
// captureScreenshot run ends (stored, blocked, skipped, retried then stored, failed) and a run of
// ingestAuditSecurityLogs, detectAlerts and purgeAuditTrail, recorded by scripts/record-histories.ts
// from 1.0. A later release that changes a workflow does it behind patched('<change>') (README,
// "Upgrades") and adds its own recorded histories here; all of them keep replaying.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { temporal } from '@temporalio/proto';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';

Runtime.install({ logger: new DefaultLogger('WARN') });

const FIXTURES = path.join(__dirname, 'fixtures', 'histories');

test('the recorded histories of every release (1.0 on) replay with the current workflow code', async () => {
  const histories = readdirSync(FIXTURES).flatMap((version) =>
    readdirSync(path.join(FIXTURES, version)).map((file) => ({
      workflowId: `${version}/${file.replace(/\.bin$/, '')}`,
      history: temporal.api.history.v1.History.decode(readFileSync(path.join(FIXTURES, version, file))),
    })),
  );
  const names = histories.map((h) => h.workflowId).sort();
  for (const name of ['1.0/stored', '1.0/blocked', '1.0/skipped', '1.0/retried-then-stored', '1.0/failed', '1.0/ingest', '1.0/detect', '1.0/purge']) assert.ok(names.includes(name), `${name} is recorded (${names.join(', ')})`);
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../workflows') }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  assert.deepEqual(failures, []);
});
