// Chaos: 300 screenshot events through the receiver while the simulated QPS fails 30% of ticket
// requests with 503 and some downloads redirect across allowed hosts; meanwhile the worker process is
// SIGKILLed twice and the Temporal dev server (SQLite file) is stopped and restarted once. Afterwards
// every acknowledged event has exactly one file per target, no temporary file, one run per event, and
// no ticket in any history. (A log ingestion killed mid-file is in audit-log-ingest.test.ts.)
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { createReceiver } from '../client/receiver/server';
import { createLogger } from '../common/logger';
import { startCli } from './helpers/cli';
import { screenshotEvent } from '../demo/sample-events';
import { ownDevServer } from './helpers/dev-server';
import { eventStoreFor } from './helpers/event-store';
import { startTestbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';
import { historyText } from './helpers/workflow-history';

const EVENTS = 300;
// Alone the test takes ~40 s; these bound each phase well inside the suite's 5-minute timeout, so a
// stall fails with what was stuck instead of the runner's bare timeout.
const POSTING_MS = 150_000;
const RESULTS_MS = 100_000;

/** How long the slowest run took (first to last history event) and the most attempts any download needed. */
async function slowestRun(client: Client, workflowIds: string[]) {
  let seconds = 0;
  let attempts = 0;
  for (const id of workflowIds) {
    const events = (await client.workflow.getHandle(id).fetchHistory()).events ?? [];
    seconds = Math.max(seconds, (tsToMs(events.at(-1)?.eventTime) - tsToMs(events[0]?.eventTime)) / 1000);
    for (const event of events) attempts = Math.max(attempts, event.activityTaskStartedEventAttributes?.attempt ?? 0);
  }
  return { seconds, attempts };
}

/** Every run's result; past `ms`, fails describing the unfinished runs (pending activity, attempt, last failure). */
async function resultsWithin(client: Client, workflowIds: string[], ms: number, workerLog: () => string) {
  const done = new Set<string>();
  const all = Promise.all(workflowIds.map(async (id) => {
    const result = await client.workflow.getHandle(id).result();
    done.add(id);
    return result;
  }));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), ms)));
  const first = await Promise.race([all, expired]).finally(() => clearTimeout(timer));
  if (first !== 'expired') return first;
  const unfinished = workflowIds.filter((id) => !done.has(id));
  const described = await Promise.all(unfinished.slice(0, 5).map(async (id) => {
    const { raw, historyLength, status } = await client.workflow.getHandle(id).describe();
    const activities = (raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} attempt ${a.attempt} state ${a.state}${a.lastFailure ? ` last failure "${a.lastFailure.message}"` : ''}`);
    const task = raw.pendingWorkflowTask ? `workflow task ${raw.pendingWorkflowTask.state} attempt ${raw.pendingWorkflowTask.attempt}` : 'no workflow task';
    return `${id}: ${status.name}, ${historyLength} events, ${task}; ${activities.join('; ') || 'no pending activity'}`;
  }));
  throw new Error(`${unfinished.length} of ${workflowIds.length} runs unfinished after ${ms} ms:\n${described.join('\n')}\nworker log tail:\n${workerLog().slice(-3000)}`);
}

test('chaos: every acknowledged event is stored exactly once despite QPS faults, worker kills and a Temporal restart', async () => {
  // Session cache off: every event redeems a ticket, so every event meets the faulty QPS.
  const bed = await startTestbed(await devServer(), { startWorker: false, auth: { sessionCache: { enable: false } } });
  const { qlik } = bed;
  // 30% of ticket requests fail, at most twice in a row for one event (each event has its own user).
  // Unbounded, one event in ~15 runs met 7 failures in a row: its next retry waited 128 s (backoff
  // doubles from 1 s up to 5 min, as it should for an outage) and the test outlasted the suite's
  // timeout. A QPS down for minutes is the outage tests' subject, not this one's.
  qlik.faults.ticketFailureRate = 0.3;
  qlik.faults.maxFailuresInARow = 2;
  const server = await ownDevServer('qa-chaos-');
  const startWorker = () => startCli(['worker', '--config', bed.configFile], '"msg":"worker started"', { env: { TEMPORAL_ADDRESS: server.current.address }, timeoutMs: 60_000 });
  let worker = startWorker();
  await worker.ready;

  const connection = Connection.lazy({ address: server.current.address });
  const client = new Client({ connection });
  const app = await createReceiver({ config: { ...bed.config, eventApi: { ...bed.config.eventApi, rateLimitPerMinute: 100_000 } }, events: (await eventStoreFor(bed.config)).events, client, taskQueue: bed.taskQueue, logger: createLogger('chaos', { level: 'silent' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/v1/audit-event`;
  const faults = { workerKills: 0, temporalRestarts: 0, answered503: 0 };

  try {
    const events = Array.from({ length: EVENTS }, (_, i) => {
      const routePath = `/tempcontent/chaos/${i}.png`;
      // Every fifth download goes through a redirect to a second allowed host; all take a moment.
      if (i % 5 === 0) qlik.routes.set(routePath, { kind: 'redirect', location: qlik.url(`/content/chaos/${i}.png`, '127.0.0.2') });
      else qlik.routes.set(routePath, { kind: 'image', delayMs: 150 });
      return screenshotEvent(qlik.url(routePath), `LAB\\chaos${i}`);
    });
    const acknowledged: string[] = [];

    // Audit.qs posting at ~20/s; on 503 it waits for Retry-After (shortened here) and posts again.
    const postingDeadline = Date.now() + POSTING_MS;
    const poster = (async () => {
      for (const event of events) {
        for (let answers: string[] = []; ; ) {
          const answer = await fetch(receiverUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event), signal: AbortSignal.timeout(30_000) }).catch((err: Error) => err);
          if (!(answer instanceof Error) && answer.status === 202) {
            acknowledged.push(event.eventId);
            break;
          }
          if (!(answer instanceof Error) && answer.status === 503) faults.answered503++;
          answers = [...answers.slice(-4), answer instanceof Error ? answer.message : `${answer.status} ${await answer.text()}`];
          if (Date.now() > postingDeadline) throw new Error(`posting: ${acknowledged.length} of ${EVENTS} acknowledged within ${POSTING_MS} ms; the receiver's last answers: ${answers.join(' | ')}`);
          await sleep(500);
        }
        await sleep(50);
      }
    })();

    const chaos = (async () => {
      for (const step of ['kill', 'restart', 'kill'] as const) {
        await sleep(3500);
        if (step === 'kill') {
          worker.child.kill('SIGKILL');
          await worker.exited;
          faults.workerKills++;
          worker = startWorker();
          await worker.ready;
        } else {
          await server.stop();
          await sleep(2000);
          await server.start();
          faults.temporalRestarts++;
        }
      }
    })();
    await Promise.all([poster, chaos]);

    // Every acknowledged event completes (a run that does not is described, not waited for forever).
    const results = await resultsWithin(client, acknowledged.map((id) => `screenshot-${id}`), RESULTS_MS, () => { const { stdout, stderr } = worker.output(); return stdout + stderr; });
    assert.equal(acknowledged.length, EVENTS);
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['stored']));

    for (const target of ['a', 'b']) {
      const files = readdirSync(path.join(bed.dir, target));
      assert.equal(files.filter((f) => f.endsWith('.png')).length, EVENTS, `${target}: one image per event`);
      assert.equal(files.filter((f) => f.endsWith('.png.json')).length, EVENTS, `${target}: one sidecar per event`);
      assert.deepEqual(files.filter((f) => f.startsWith('.')), [], `${target}: no temporary file`);
    }
    const runs = await client.workflow.count(`WorkflowType = 'captureScreenshot'`);
    assert.equal(runs.count, EVENTS, 'exactly one run per event');

    const tickets = [...qlik.tickets.keys()];
    const histories = (await Promise.all(acknowledged.map((id) => historyText(client.workflow.getHandle(`screenshot-${id}`))))).join('\n');
    for (const ticket of tickets) assert.ok(!histories.includes(ticket), 'no ticket in any history');

    assert.ok(qlik.stats.injectedFaults > 0, 'QPS faults were injected');
    const slowest = await slowestRun(client, acknowledged.map((id) => `screenshot-${id}`));
    process.stdout.write(
      `chaos: ${EVENTS} events acknowledged, ${results.length} stored, files ${EVENTS} per target, duplicates 0; ` +
        `slowest run ${slowest.seconds.toFixed(1)} s, most download attempts ${slowest.attempts}; ` +
        `faults: ${faults.workerKills} worker SIGKILLs, ${faults.temporalRestarts} Temporal restart, ${faults.answered503} answers 503 while it was down, ` +
        `QPS answered 503 to ${qlik.stats.injectedFaults} of ${qlik.stats.ticketRequests} ticket requests\n`,
    );
  } finally {
    await app.close();
    worker.child.kill('SIGKILL');
    await connection.close();
    await server.stop();
  }
});
