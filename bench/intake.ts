// Benchmark: events per second from POST /api/v1/audit-event to a durable workflow start on the
// real Temporal dev server, against the same number of bare `client.workflow.start` calls (the same
// start options) in the same run as the baseline. Two receivers: plain HTTP, and the production
// shape — HTTPS (eventApi.tls), CORS on, a bearer token, each post with an Origin header as a
// browser sends it. No worker runs: this measures intake only.
//
// Then encryption on against off (issue 28): the same HTTP receiver, its client sealing every payload
// with temporal.encryption (AES-256-GCM), in alternating rounds against the unsealed one.
//
// Then the audit trail (SPEC 6): a mixed run, 80% non-screenshot events (committed to PostgreSQL by
// group commit before each 202) and 20% screenshot events (workflow starts) posted at the same time,
// against a bare server in the same run: Fastify with one route that puts the same rows into the same
// table by a bare batched INSERT (no validation, CORS, token, metrics or logging).
//
// Then the store (issue 23): the same non-screenshot load through the receiver into the embedded
// PostgreSQL we ship and into the external one (--store), in alternating rounds.
//
//   npm run bench:intake [-- --events 2000 --concurrency 50 --mixed 10000 --store postgres://… --sections intake,mixed,embedded]
import { mkdtempSync, rmSync } from 'node:fs';
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
import { screenshotEvent, sessionEvents } from '../demo/sample-events';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from '@temporalio/client';
import { dataConverterFor } from '../common/encryption-codec';
import Fastify from 'fastify';
import type { AuditEvent } from '../common/audit-event';
import { eventRow, insertEvents, type EventRow } from '../store/audit-events';
import { createEventWriter } from '../store/event-writer';
import { openStore, type AuditStore } from '../store/store';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '50' },
    mixed: { type: 'string', default: '10000' },
    store: { type: 'string', default: process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test' },
    sections: { type: 'string', default: 'intake,mixed,embedded' },
  },
});
const SECTIONS = new Set((values.sections as string).split(',').map((s) => s.trim()));
const EVENTS = Number(values.events);
const CONCURRENCY = Number(values.concurrency);
const MIXED = Number(values.mixed);
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
  const sealedConfig = parseConfig(
    { temporal: { taskQueue: 'intake-bench', encryption: { keys: [{ id: 'bench', key: randomBytes(32).toString('base64') }] } }, eventApi: { rateLimitPerMinute: 1_000_000 } },
    { source: 'bench', baseDir: dir },
  );
  const sealedClient = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: dataConverterFor(sealedConfig) });
  const logger = createLogger('bench', { level: 'warn' });
  const schema = `bench_intake_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const store = await openStore(`${values.store}?schema=${schema}`);
  const writer = createEventWriter(store);
  const plain = await createReceiver({ config: plainConfig, client: env.client, taskQueue: 'intake-bench', logger, events: writer });
  const sealed = await createReceiver({ config: sealedConfig, client: sealedClient, taskQueue: 'intake-bench', logger, events: writer });
  const secure = await createReceiver({ config: tlsConfig, client: env.client, taskQueue: 'intake-bench', logger, tls: loadReceiverTls(tlsConfig), events: writer });
  const bare = await bareInsertServer(store);
  // The same receiver, its events committed to an embedded store (a fresh folder, its server started now).
  const embeddedDir = mkdtempSync(path.join(tmpdir(), 'qa-intake-embedded-'));
  const embeddedStore = SECTIONS.has('embedded') ? await openStore(`embedded:${embeddedDir}`) : undefined;
  const embeddedWriter = embeddedStore ? createEventWriter(embeddedStore) : undefined;
  const onEmbedded = embeddedWriter ? await createReceiver({ config: plainConfig, client: env.client, taskQueue: 'intake-bench', logger, events: embeddedWriter }) : undefined;
  const port = async (app: typeof plain) => {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  };
  const http = new Pool(`http://127.0.0.1:${await port(plain)}`, { connections: CONCURRENCY });
  const https = new Pool(`https://127.0.0.1:${await port(secure)}`, { connections: CONCURRENCY, connect: { ca: readFileSync(pki.files.clientCertCA) } });
  const bareHttp = new Pool(`http://127.0.0.1:${await port(bare)}`, { connections: CONCURRENCY });
  const sealedHttp = new Pool(`http://127.0.0.1:${await port(sealed)}`, { connections: CONCURRENCY });
  const embeddedHttp = onEmbedded ? new Pool(`http://127.0.0.1:${await port(onEmbedded)}`, { connections: CONCURRENCY }) : undefined;

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
    say(`${name.padEnd(42)} ${rate.toFixed(0).padStart(6)} events/s   p50 ${percentile(latency, 50).toFixed(1)} ms   p95 ${percentile(latency, 95).toFixed(1)} ms${extra}`);
  const trail = (tag: string, n: number) => Array.from({ length: n }, (_, i) => sessionEvents(`UserDirectory=LAB; UserId=${tag}${i % 200}`, new Date(Date.UTC(2026, 10, 1) + i * 1000)).events[i % 7] as AuditEvent).map((e) => ({ ...e, eventId: randomUUID() }));
  const post = async (client: Pool, items: unknown[], concurrency: number, headers: Record<string, string> = {}) => {
    const latency: number[] = [];
    let failures = 0;
    const start = performance.now();
    await pool(items, concurrency, async (event) => {
      const t0 = performance.now();
      const response = await client.request({ method: 'POST', path: '/api/v1/audit-event', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event) });
      await response.body.dump();
      if (response.statusCode !== 202) failures++;
      latency.push(performance.now() - t0);
    });
    return { rate: items.length / ((performance.now() - start) / 1000), latency, failures };
  };
  const ROUNDS = 3;
  const median = <T extends { rate: number }>(runs: T[]) => [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)] as T;
  try {
    if (SECTIONS.has('intake')) await intakeSection();
    if (SECTIONS.has('mixed')) await mixedSection();
    if (embeddedHttp && embeddedStore) {
      // --- The embedded store against the external one: the same receiver, the same load ----------
      say('');
      const n = Math.round(MIXED * 0.8);
      say(`store: ${n} non-screenshot events through the receiver into the embedded PostgreSQL (${embeddedDir}) and into ${values.store}, ${CONCURRENCY} in flight, alternating rounds`);
      await post(http, trail('warmext', 500), 20);
      await post(embeddedHttp, trail('warmemb', 500), 20);
      const external = [];
      const embedded = [];
      for (let round = 0; round < ROUNDS; round++) {
        external.push(await post(http, trail(`ext${round}`, n), CONCURRENCY));
        embedded.push(await post(embeddedHttp, trail(`emb${round}`, n), CONCURRENCY));
      }
      const [ext, emb] = [median(external), median(embedded)];
      line(`external PostgreSQL (median of ${ROUNDS})`, ext.rate, ext.latency, `   non-202: ${external.reduce((s, r) => s + r.failures, 0)}`);
      line(`embedded PostgreSQL (median of ${ROUNDS})`, emb.rate, emb.latency, `   non-202: ${embedded.reduce((s, r) => s + r.failures, 0)}`);
      say(`  rounds: external ${external.map((r) => r.rate.toFixed(0)).join(', ')}; embedded ${embedded.map((r) => r.rate.toFixed(0)).join(', ')} events/s`);
      const stored = Number((await embeddedStore.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).rows[0]?.n);
      say(`stored in the embedded store: ${stored} of ${500 + n * ROUNDS} acknowledged ${stored === 500 + n * ROUNDS ? '(all)' : 'MISMATCH'}`);
      say(`ratio embedded / external: ${(emb.rate / ext.rate).toFixed(2)} (goal >= 0.9 ${emb.rate / ext.rate >= 0.9 ? 'MET' : 'MISSED'})`);
      say(JSON.stringify({ storeBench: true, externalRate: ext.rate, embeddedRate: emb.rate, ratio: emb.rate / ext.rate, stored }));
    }
  } finally {
    await http.close();
    await https.close();
    await bareHttp.close();
    await sealedHttp.close();
    await sealed.close();
    await embeddedHttp?.close();
    await plain.close();
    await secure.close();
    await bare.close();
    await onEmbedded?.close();
    await writer.close();
    await embeddedWriter?.close();
    await store.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await store.close();
    await embeddedStore?.close();
    rmSync(embeddedDir, { recursive: true, force: true });
    await env.teardown();
  }

  async function intakeSection() {
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
    // Encryption on against off: the same receiver over HTTP, alternating rounds, the median counts.
    say('');
    const offRuns = [];
    const onRuns = [];
    for (let round = 0; round < ROUNDS; round++) {
      offRuns.push(await intake(http, `off${round}`, {}));
      onRuns.push(await intake(sealedHttp, `on${round}`, {}));
    }
    const [off, on] = [median(offRuns), median(onRuns)];
    line(`HTTP, encryption off (median of ${ROUNDS})`, off.rate, off.latency, `   non-202: ${offRuns.reduce((n, r) => n + r.failures, 0)}`);
    line(`HTTP, encryption on (median of ${ROUNDS})`, on.rate, on.latency, `   non-202: ${onRuns.reduce((n, r) => n + r.failures, 0)}`);
    say(`  rounds: off ${offRuns.map((r) => r.rate.toFixed(0)).join(', ')}; on ${onRuns.map((r) => r.rate.toFixed(0)).join(', ')} events/s`);
    const cost = 1 - on.rate / off.rate;
    say(`encryption cost at intake: ${(cost * 100).toFixed(1)}% (goal <= 5% ${cost <= 0.05 ? 'MET' : 'MISSED'})`);
    say(JSON.stringify({ encryption: true, offRate: off.rate, onRate: on.rate, cost }));
  }

  async function mixedSection() {
    // --- The audit trail: non-screenshot events stored durably before 202 -------------------------
    say('');
    say(`mixed run: ${MIXED} events, 80% non-screenshot (stored in PostgreSQL, schema ${schema}) + 20% screenshot (workflow start), ${CONCURRENCY} in flight`);
    await post(http, trail('warm', 500), 20);
    await post(bareHttp, trail('warmbare', 500), 20);
    const nonShots = Math.round(MIXED * 0.8);
    const shots = MIXED - nonShots;
    // The same non-screenshot load alone, against the bare server and against the receiver, in
    // alternating rounds (this machine's speed drifts by ±15% between runs): the median round counts.
    const bareRuns = [];
    const aloneRuns = [];
    for (let round = 0; round < ROUNDS; round++) {
      bareRuns.push(await post(bareHttp, trail(`bare${round}`, nonShots), CONCURRENCY));
      aloneRuns.push(await post(http, trail(`alone${round}`, nonShots), CONCURRENCY));
    }
    const bareRun = median(bareRuns);
    const aloneRun = median(aloneRuns);
    line(`bare batched INSERT server (median of ${ROUNDS})`, bareRun.rate, bareRun.latency, `   non-202: ${bareRuns.reduce((n, r) => n + r.failures, 0)}`);
    line(`receiver, non-screenshot only (median)`, aloneRun.rate, aloneRun.latency, `   non-202: ${aloneRuns.reduce((n, r) => n + r.failures, 0)}`);
    say(`  rounds: bare ${bareRuns.map((r) => r.rate.toFixed(0)).join(', ')}; receiver ${aloneRuns.map((r) => r.rate.toFixed(0)).join(', ')} events/s`);
    // Mixed: the screenshot share posted at the same time, with a fifth of the connections.
    const shotConcurrency = Math.max(1, Math.round(CONCURRENCY / 5));
    const [mixedTrail, mixedShots] = await Promise.all([
      post(http, trail('mixed', nonShots), CONCURRENCY - shotConcurrency),
      post(http, events('mixed').slice(0, shots), shotConcurrency),
    ]);
    line('mixed: non-screenshot events', mixedTrail.rate, mixedTrail.latency, `   non-202: ${mixedTrail.failures}`);
    line('mixed: screenshot events', mixedShots.rate, mixedShots.latency, `   non-202: ${mixedShots.failures}`);
    const stored = Number((await store.query<{ n: string }>('SELECT count(*) AS n FROM audit_events')).rows[0]?.n);
    const expected = 1000 + nonShots * (2 * ROUNDS + 1); // warm-ups (receiver, bare) + the rounds + mixed
    say(`stored events: ${stored} of ${expected} acknowledged ${stored === expected ? '(all)' : 'MISMATCH'}`);
    const p95 = percentile(mixedTrail.latency, 95);
    const ratio = aloneRun.rate / bareRun.rate;
    say(`ratio receiver / bare batched INSERT (same load): ${ratio.toFixed(2)}; mixed / bare: ${(mixedTrail.rate / bareRun.rate).toFixed(2)}`);
    say(
      `goals: >= 1000 non-screenshot events/s in the mixed run ${mixedTrail.rate >= 1000 ? 'MET' : 'MISSED'}; p95 < 100 ms ${p95 < 100 ? 'MET' : 'MISSED'}; ` +
        `>= 0.8 of the bare batched INSERT ${ratio >= 0.8 ? 'MET' : 'MISSED'}`,
    );
    say(JSON.stringify({ mixed: MIXED, bareInsertRate: bareRun.rate, receiverRate: aloneRun.rate, mixedNonScreenshotRate: mixedTrail.rate, mixedP95: p95, mixedScreenshotRate: mixedShots.rate, ratio, stored }));
  }
}

/** The baseline: one route, the same rows into the same table by a bare batched INSERT, nothing else. */
async function bareInsertServer(store: AuditStore) {
  const app = Fastify({ bodyLimit: 256 * 1024 });
  let queue: { row: EventRow; done: () => void; fail: (err: unknown) => void }[] = [];
  let busy = false;
  const flush = async () => {
    if (busy || queue.length === 0) return;
    busy = true;
    const batch = queue;
    queue = [];
    try {
      await insertEvents(store, batch.map((p) => p.row), '0'); // the baseline: a bare batched INSERT, no chain entry
      for (const p of batch) p.done();
    } catch (err) {
      for (const p of batch) p.fail(err);
    }
    busy = false;
    void flush();
  };
  app.post('/api/v1/audit-event', async (request, reply) => {
    const event = request.body as AuditEvent;
    await new Promise<void>((done, fail) => {
      queue.push({ row: eventRow(event), done, fail });
      void flush();
    });
    return reply.code(202).send({ status: 'accepted', eventId: event.eventId, workflowId: null });
  });
  return app;
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/intake failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
