// Benchmark: events per second from POST /api/v1/audit-event to a durable workflow start on the
// real Temporal dev server, against the same number of bare `client.workflow.start` calls (the same
// start options) in the same run as the baseline. Two receivers: plain HTTP, and the production
// shape — HTTPS (eventApi.tls), CORS on, a bearer token, each post with an Origin header as a
// browser sends it. No worker runs: this measures intake only.
//
//   npm run bench:intake [-- --events 2000 --concurrency 50]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { percentile, pool } from './concurrency';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { createReceiver } from '../client/receiver/server';
import { loadReceiverTls } from '../client/receiver/tls';
import { createPki } from '../demo/simulated-qlik/pki';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { searchAttributes } from '../common/search-attributes';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { screenshotEvent } from '../demo/sample-events';

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
  const pki = createPki(path.join(dir, 'pki'));
  const HUB = 'https://qlik.example.com';
  const TOKEN = 'bench-token';
  const plainConfig = parseConfig({ temporal: { taskQueue: 'intake-bench' }, eventApi: { rateLimitPerMinute: 1_000_000 } }, { source: 'bench', baseDir: dir });
  const tlsConfig = parseConfig(
    {
      temporal: { taskQueue: 'intake-bench' },
      eventApi: { rateLimitPerMinute: 1_000_000, apiToken: TOKEN, cors: { allowedOrigins: [HUB] }, tls: { enable: true, cert: path.join(pki.dir, 'server.pem'), key: path.join(pki.dir, 'server_key.pem') } },
    },
    { source: 'bench', baseDir: dir },
  );
  const logger = createLogger('bench', { level: 'warn' });
  const plain = await createReceiver({ config: plainConfig, client: env.client, taskQueue: 'intake-bench', logger });
  const secure = await createReceiver({ config: tlsConfig, client: env.client, taskQueue: 'intake-bench', logger, tls: loadReceiverTls(tlsConfig) });
  const port = async (app: typeof plain) => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const http = new Pool(`http://127.0.0.1:${await port(plain)}`, { connections: CONCURRENCY });
  const https = new Pool(`https://127.0.0.1:${await port(secure)}`, { connections: CONCURRENCY, connect: { ca: readFileSync(pki.files.clientCertCA) } });

  /** Posts every event; returns events/s, latencies and how many were not 202. */
  async function intake(client: Pool, tag: string, headers: Record<string, string>) {
    const latency: number[] = [];
    let failures = 0;
    const start = performance.now();
    await pool(events(tag), CONCURRENCY, async (event) => {
      const t0 = performance.now();
      const response = await client.request({ method: 'POST', path: '/api/v1/audit-event', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event) });
      await response.body.dump();
      if (response.statusCode !== 202) failures++;
      latency.push(performance.now() - t0);
    });
    return { rate: EVENTS / ((performance.now() - start) / 1000), latency, failures };
  }
  const line = (name: string, rate: number, latency: number[], extra = '') =>
    say(`${name.padEnd(34)} ${rate.toFixed(0).padStart(6)} events/s   p50 ${percentile(latency, 50).toFixed(1)} ms   p95 ${percentile(latency, 95).toFixed(1)} ms${extra}`);
  try {
    // Warm-up: connections, TLS sessions, the namespace cache.
    await pool(events('warmup').slice(0, 100), 10, async (e) => void (await startCaptureScreenshot(env.client, 'intake-bench', e)));
    await intake(https, 'warmup-tls', { origin: HUB, authorization: `Bearer ${TOKEN}` }).catch(() => undefined);

    const bareLatency: number[] = [];
    const start = performance.now();
    await pool(events('bare'), CONCURRENCY, async (event) => {
      const t0 = performance.now();
      await startCaptureScreenshot(env.client, 'intake-bench', event);
      bareLatency.push(performance.now() - t0);
    });
    const bareRate = EVENTS / ((performance.now() - start) / 1000);
    line('bare client.workflow.start', bareRate, bareLatency);
    const overHttp = await intake(http, 'http', {});
    line('HTTP post -> 202 (durable)', overHttp.rate, overHttp.latency, `   non-202: ${overHttp.failures}`);
    const overHttps = await intake(https, 'https', { origin: HUB, authorization: `Bearer ${TOKEN}` });
    line('HTTPS + CORS + token -> 202', overHttps.rate, overHttps.latency, `   non-202: ${overHttps.failures}`);
    say(`ratio HTTP / bare client: ${(overHttp.rate / bareRate).toFixed(2)}; HTTPS+CORS / bare client: ${(overHttps.rate / bareRate).toFixed(2)}`);
    say(`goals: >= 0.8 of the bare-client rate over HTTPS with CORS ${overHttps.rate / bareRate >= 0.8 ? 'MET' : 'MISSED'}; >= 300 events/s ${overHttps.rate >= 300 ? 'MET' : 'MISSED'}`);
    say(JSON.stringify({ events: EVENTS, concurrency: CONCURRENCY, bareRate, httpRate: overHttp.rate, httpsRate: overHttps.rate, httpsRatio: overHttps.rate / bareRate, failures: overHttp.failures + overHttps.failures }));
  } finally {
    await http.close();
    await https.close();
    await plain.close();
    await secure.close();
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
