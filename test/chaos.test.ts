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

test('chaos: every acknowledged event is stored exactly once despite QPS faults, worker kills and a Temporal restart', async () => {
  // Session cache off: every event redeems a ticket, so every event meets the faulty QPS.
  const bed = await startTestbed(await devServer(), { startWorker: false, auth: { sessionCache: { enable: false } } });
  const { qlik } = bed;
  qlik.faults.ticketFailureRate = 0.3;
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
      return screenshotEvent(qlik.url(routePath), `LAB\\chaos${i % 10}`);
    });
    const acknowledged: string[] = [];

    // Audit.qs posting at ~20/s; on 503 it waits for Retry-After (shortened here) and posts again.
    const poster = (async () => {
      for (const event of events) {
        for (;;) {
          const answer = await fetch(receiverUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) }).catch(() => undefined);
          if (answer?.status === 202) {
            acknowledged.push(event.eventId);
            break;
          }
          if (answer?.status === 503) faults.answered503++;
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

    // Every acknowledged event completes.
    const results = await Promise.all(acknowledged.map((id) => client.workflow.getHandle(`screenshot-${id}`).result()));
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
    process.stdout.write(
      `chaos: ${EVENTS} events acknowledged, ${results.length} stored, files ${EVENTS} per target, duplicates 0; ` +
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
