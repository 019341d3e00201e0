// Benchmark: events per second from HTTP POST /api/v1/audit-event to a durable workflow start on the
// real Temporal dev server, against the same number of bare `client.workflow.start` calls (the same
// start options) in the same run as the baseline. No worker runs: this measures intake only.
//
//   npm run bench:intake [-- --events 2000 --concurrency 50]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, pool } from './concurrency';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Pool } from 'undici';
import { createReceiver } from '../client/receiver/server';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { searchAttributes } from '../common/search-attributes';
import { resolveTemporalBinaries } from '../common/temporal-cli';
import { screenshotEvent } from '../test/helpers/events';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000' }, concurrency: { type: 'string', default: '50' } } });
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const say = (line: string) => process.stdout.write(`${line}\n`);



const events = (tag: string) => Array.from({ length: EVENTS }, (_, i) => screenshotEvent(`https://qlik.example.com/tempcontent/${tag}/${i}.png`, `LAB\\user${i % 20}`));

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  say(`bench/intake: ${EVENTS} events, ${CONCURRENCY} in flight, Temporal dev server, no worker`);
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: resolveTemporalBinaries().cli }, ip: '127.0.0.1', searchAttributes, log: { format: 'json', level: 'error' } },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-intake-'));
  const config = parseConfig({ temporal: { taskQueue: 'intake-bench' }, eventApi: { rateLimitPerMinute: 1_000_000 } }, { source: 'bench', baseDir: dir });
  const app = await createReceiver({ config, client: env.client, taskQueue: 'intake-bench', logger: createLogger('bench', { level: 'warn' }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const http = new Pool(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, { connections: CONCURRENCY });
  try {
    // Warm-up: connections, the namespace cache.
    await pool(events('warmup').slice(0, 100), 10, async (e) => void (await startCaptureScreenshot(env.client, 'intake-bench', e)));

    const bareLatency: number[] = [];
    let start = performance.now();
    await pool(events('bare'), CONCURRENCY, async (event) => {
      const t0 = performance.now();
      await startCaptureScreenshot(env.client, 'intake-bench', event);
      bareLatency.push(performance.now() - t0);
    });
    const bareRate = EVENTS / ((performance.now() - start) / 1000);
    say(`bare client.workflow.start   ${bareRate.toFixed(0).padStart(6)} starts/s   p50 ${percentile(bareLatency, 50).toFixed(1)} ms   p95 ${percentile(bareLatency, 95).toFixed(1)} ms`);

    const httpLatency: number[] = [];
    let failures = 0;
    start = performance.now();
    await pool(events('http'), CONCURRENCY, async (event) => {
      const t0 = performance.now();
      const response = await http.request({ method: 'POST', path: '/api/v1/audit-event', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
      await response.body.dump();
      if (response.statusCode !== 202) failures++;
      httpLatency.push(performance.now() - t0);
    });
    const httpRate = EVENTS / ((performance.now() - start) / 1000);
    say(`HTTP post -> 202 (durable)   ${httpRate.toFixed(0).padStart(6)} events/s   p50 ${percentile(httpLatency, 50).toFixed(1)} ms   p95 ${percentile(httpLatency, 95).toFixed(1)} ms   non-202: ${failures}`);
    say(`ratio HTTP intake / bare client: ${(httpRate / bareRate).toFixed(2)}`);
    say(`goals: >= 300 events/s ${httpRate >= 300 ? 'MET' : 'MISSED'}; >= 0.8 of the bare-client rate ${httpRate / bareRate >= 0.8 ? 'MET' : 'MISSED'}`);
    say(JSON.stringify({ events: EVENTS, concurrency: CONCURRENCY, bareRate, httpRate, ratio: httpRate / bareRate, failures }));
  } finally {
    await http.close();
    await app.close();
    await env.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/intake failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
