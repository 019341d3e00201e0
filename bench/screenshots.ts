// Benchmark: 1,000 screenshot events over 20 users through the real Temporal dev server and the
// simulated Qlik (session cache on), against the same activities called in-process without Temporal
// as the baseline, measured in the same run. Prints figures and the ratio.
//
// Three figures for the workflows:
//   - throughput at saturation: all events offered at once (`--concurrency` starts in flight);
//   - event-to-file latency at a sustainable paced load (`--rate` events/s for `--paced` events);
//   - QPS tickets per event (the session cache at work).
// And two baselines from the same run: the activities in-process without Temporal (what our code
// costs), and a bare one-activity workflow (what the Temporal server itself can do on this machine).
// The workflow figures are taken for each way of running it: the regular activity only
// (fastPathMs 0, as before the fast path), the fast path, and the fast path with eager workflow
// start (a client on the worker's connection, as `qlik-audit dev` and `serve` run it). Each phase
// gets a fresh dev server.
//
//   npm run bench:screenshots [-- --events 1000 --users 20 --concurrency 100 --rate 20 --paced 300]
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { dataConverterFor } from '../common/encryption-codec';
import { captureInProcess, percentile, pool } from './concurrency';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { startCaptureScreenshot } from '../client/start-screenshot';
import type { ScreenshotEvent } from '../common/audit-event';
import { parseConfig, type Config } from '../common/config';
import { createLogger } from '../common/logger';
import { searchAttributes } from '../common/search-attributes';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { createWorker } from '../worker/create-worker';
import { createPki } from '../demo/simulated-qlik/pki';
import { SimulatedQlik } from '../demo/simulated-qlik/simulated-qlik';
import { screenshotEvent } from '../demo/sample-events';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000' },
    users: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '100' },
    rate: { type: 'string', default: '20' },
    paced: { type: 'string', default: '300' },
    // Which ways of running to measure: regular, fast, eager, encrypted (default all).
    variants: { type: 'string', default: 'regular,fast,eager,encrypted' },
  },
});
const EVENTS = Number(values.events);
const USERS = Number(values.users);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const PACED = Number(values.paced);

const say = (line: string) => process.stdout.write(`${line}\n`);
const STORE = process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test';


function makeEvents(qlik: SimulatedQlik, tag: string, count = EVENTS): ScreenshotEvent[] {
  return Array.from({ length: count }, (_, i) => screenshotEvent(qlik.url(`/tempcontent/${tag}/${i}.png`), `LAB\\user${i % USERS}`));
}

/** How the captureScreenshot runs of one phase are started and run. */
interface Variant {
  name: string;
  /** screenshots.fastPathMs (0: the download is always a regular activity, as before the fast path). */
  fastPathMs?: number;
  /** Eager workflow start through a client on the worker's connection (as `qlik-audit dev` does). */
  eager?: boolean;
  /** Payloads encrypted (temporal.encryption) by the client and the worker. */
  encrypted?: boolean;
  id: string;
}

function makeConfig(dir: string, qlik: SimulatedQlik, certs: ReturnType<typeof createPki>['files'], taskQueue: string, fastPathMs?: number, encrypted = false): Config {
  return parseConfig(
    {
      temporal: { taskQueue, ...(encrypted ? { encryption: { keys: [{ id: 'bench', key: randomBytes(32).toString('base64') }] } } : {}) },
      qlik: { cert: certs },
      screenshots: {
        allowedImageDownloadHosts: ['127.0.0.1'],
        ...(fastPathMs === undefined ? {} : { fastPathMs }),
        storageTargets: [{ type: 'flat', directory: path.join(dir, 'shots') }],
        auth: { mode: 'userTicket', qps: { host: '127.0.0.1', port: qlik.qpsPort }, sessionCache: { enable: true, ttlSeconds: 120, maxEntries: 100 } },
      },
      // Each run's outcome goes to the audit trail, as in production: PostgreSQL, a schema of the run's own.
      auditSecurityLog: { store: `${STORE}?schema=bench_shots_${randomUUID().replace(/-/g, '').slice(0, 10)}` },
    },
    { source: 'bench', baseDir: dir },
  );
}


interface Figures {
  seconds: number;
  perSecond: number;
  p50: number;
  p95: number;
  ticketsPerEvent: number;
  ticketsPerUser: number;
}

function figures(latencies: number[], seconds: number, tickets: number): Figures {
  return { seconds, perSecond: latencies.length / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95), ticketsPerEvent: tickets / latencies.length, ticketsPerUser: tickets / USERS };
}

function print(name: string, f: Figures): void {
  say(
    `${name.padEnd(26)} ${f.perSecond.toFixed(1).padStart(7)} screenshots/s   p50 ${f.p50.toFixed(0).padStart(5)} ms   p95 ${f.p95.toFixed(0).padStart(5)} ms   ` +
      `QPS tickets/event ${f.ticketsPerEvent.toFixed(3)} (${f.ticketsPerUser.toFixed(2)} per user)`,
  );
}

async function baseline(qlik: SimulatedQlik, certs: ReturnType<typeof createPki>['files']): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-bench-base-'));
  const activities = createActivities({ config: makeConfig(dir, qlik, certs, 'unused'), logger: createLogger('bench', { level: 'warn' }) });
  const events = makeEvents(qlik, 'baseline');
  const ticketsBefore = qlik.issuedTickets.length;
  const latencies: number[] = [];
  const start = performance.now();
  await pool(events, CONCURRENCY, async (event) => {
    const t0 = performance.now();
    await captureInProcess(activities, event);
    latencies.push(performance.now() - t0);
  });
  return figures(latencies, (performance.now() - start) / 1000, qlik.issuedTickets.length - ticketsBefore);
}

/**
 * Starts the events through Temporal and waits until every file is stored. `rate` paces the starts
 * (events per second); without it `CONCURRENCY` starts are kept in flight.
 */
async function throughTemporal(qlik: SimulatedQlik, certs: ReturnType<typeof createPki>['files'], env: TestWorkflowEnvironment, events: ScreenshotEvent[], variant: Variant, rate?: number): Promise<Figures> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-bench-wf-'));
  const taskQueue = `bench-screenshots-${randomUUID().slice(0, 8)}`;
  const config = makeConfig(dir, qlik, certs, taskQueue, variant.fastPathMs, variant.encrypted);
  // Eager start needs the client on the worker's own (native) connection.
  const client = variant.eager
    ? new Client({ connection: env.nativeConnection, namespace: 'default' })
    : variant.encrypted
      ? new Client({ connection: env.connection, namespace: 'default', dataConverter: dataConverterFor(config) })
      : env.client;
  let eagerlyStarted = 0;
  const worker = await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, deps: { config, logger: createLogger('bench', { level: 'warn' }) } });
  const running = worker.run();
  const startedAt = new Map<string, number>();
  const ticketsBefore = qlik.issuedTickets.length;
  const shots = path.join(dir, 'shots');
  const start = Date.now();
  const startOne = async (event: ScreenshotEvent) => {
    startedAt.set(event.eventId, Date.now());
    const started = await startCaptureScreenshot(client, taskQueue, event, { eager: variant.eager });
    if (started.eagerlyStarted) eagerlyStarted++;
  };
  if (rate) {
    const starts: Promise<void>[] = [];
    for (const [i, event] of events.entries()) {
      const due = start + (i * 1000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      starts.push(startOne(event));
    }
    await Promise.all(starts);
  } else {
    await pool(events, CONCURRENCY, startOne);
  }
  // Event-to-file latency: from the start request to the moment the file was stored (sidecar).
  const sidecars = () => (existsSync(shots) ? readdirSync(shots).filter((f) => f.endsWith('.json')) : []);
  for (;;) {
    const done = sidecars().length;
    if (done >= events.length) break;
    if (Date.now() - start > 600_000) throw new Error(`only ${done} of ${events.length} stored after 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const latencies: number[] = [];
  let last = 0;
  for (const file of sidecars()) {
    const sidecar = JSON.parse(readFileSync(path.join(shots, file), 'utf8')) as { eventId: string; storedAt: string };
    const stored = Date.parse(sidecar.storedAt);
    last = Math.max(last, stored);
    latencies.push(stored - (startedAt.get(sidecar.eventId) ?? NaN));
  }
  worker.shutdown();
  await running;
  if (variant.eager) say(`  (${eagerlyStarted} of ${events.length} runs started eagerly)`);
  return figures(latencies, (last - start) / 1000, qlik.issuedTickets.length - ticketsBefore);
}

/** The Temporal server's own ceiling here: bare one-activity workflows, offered like the screenshots. */
async function bareWorkflows(env: TestWorkflowEnvironment): Promise<number> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: 'bench-bare',
    workflowsPath: require.resolve('./bare-workflow'),
    activities: { async noop() {} },
  });
  const running = worker.run();
  const ids = Array.from({ length: EVENTS }, (_, i) => `bare-${i}`);
  const start = Date.now();
  await pool(ids, CONCURRENCY, async (workflowId) => {
    await env.client.workflow.start('bareOneActivity', { taskQueue: 'bench-bare', workflowId });
  });
  await pool(ids, CONCURRENCY, async (workflowId) => env.client.workflow.getHandle(workflowId).result());
  const perSecond = EVENTS / ((Date.now() - start) / 1000);
  worker.shutdown();
  await running;
  return perSecond;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  say(`bench/screenshots: ${EVENTS} events over ${USERS} users, ${CONCURRENCY} in flight, session cache on`);
  const pki = createPki(mkdtempSync(path.join(tmpdir(), 'qa-bench-pki-')));
  const qlik = await new SimulatedQlik({ pki }).start();
  const { cli } = resolveTemporalBinaries();
  // Every phase gets a fresh dev server: the server's in-memory store grows with each run, and a
  // phase measured later would otherwise pay for the ones before it.
  const freshServer = () =>
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        ip: '127.0.0.1',
        searchAttributes,
        log: { format: 'json', level: 'error' },
        // As `qlik-audit dev` runs it: eager activity dispatch and eager workflow start on (BENCH_DEV_SERVER_ARGS adds more).
        extraArgs: [
          ...['--dynamic-config-value', 'system.enableActivityEagerExecution=true', '--dynamic-config-value', 'system.enableEagerWorkflowStart=true'],
          ...(process.env.BENCH_DEV_SERVER_ARGS ?? '').split(' ').filter(Boolean),
        ],
      },
    });
  const onFreshServer = async <T>(fn: (env: TestWorkflowEnvironment) => Promise<T>): Promise<T> => {
    const env = await freshServer();
    try {
      return await fn(env);
    } finally {
      await env.teardown();
    }
  };
  try {
    say('baseline: the same activities in-process, no Temporal ...');
    const base = await baseline(qlik, pki.files);
    print('in-process (baseline)', base);
    say('bare one-activity workflows on a fresh dev server (the platform ceiling) ...');
    const bare = await onFreshServer(bareWorkflows);
    say(`${'bare workflow (ceiling)'.padEnd(26)} ${bare.toFixed(1).padStart(7)} workflows/s`);
    // Each option measured in this run, against the same baselines: the regular activity alone (as
    // before the fast path), the fast path, and the fast path with eager workflow start.
    const wanted = new Set(values.variants.split(','));
    const variants: Variant[] = [
      { id: 'regular', name: 'regular activity only', fastPathMs: 0 },
      { id: 'fast', name: 'fast path', fastPathMs: 5000 },
      { id: 'eager', name: 'fast path + eager start', fastPathMs: 5000, eager: true },
      { id: 'encrypted', name: 'fast path, encrypted', fastPathMs: 5000, encrypted: true },
    ].filter((v) => wanted.has(v.id));
    const saturated: Record<string, Figures> = {};
    const paced: Record<string, Figures> = {};
    for (const variant of variants) {
      say(`captureScreenshot, ${variant.name}: ${EVENTS} offered at once, then ${PACED} paced at ${RATE}/s (fresh dev server) ...`);
      const n = Object.keys(saturated).length;
      await onFreshServer(async (env) => {
        const s = (saturated[variant.name] = await throughTemporal(qlik, pki.files, env, makeEvents(qlik, `saturated-${n}`), variant));
        print(`  saturated`, s);
        const p = (paced[variant.name] = await throughTemporal(qlik, pki.files, env, makeEvents(qlik, `paced-${n}`, PACED), variant, RATE));
        print(`  paced ${RATE}/s`, p);
      });
    }
    for (const variant of variants) {
      const f = saturated[variant.name] as Figures;
      say(`ratio ${variant.name.padEnd(24)} / bare workflow ceiling: ${(f.perSecond / bare).toFixed(2)}   / in-process: ${(f.perSecond / base.perSecond).toFixed(2)}`);
    }
    const tickets = [...Object.values(saturated), ...Object.values(paced)].every((f) => f.ticketsPerUser <= 1);
    for (const variant of variants.slice(1)) {
      const f = saturated[variant.name] as Figures;
      const p = paced[variant.name] as Figures;
      say(
        `goals (${variant.name}): >= 1.0x bare ceiling ${f.perSecond >= bare ? 'MET' : 'MISSED'}; >= 50 screenshots/s ${f.perSecond >= 50 ? 'MET' : 'MISSED'}; ` +
          `p95 < 200 ms at ${RATE}/s ${p.p95 < 200 ? 'MET' : 'MISSED'}; <= 1 ticket per user per TTL window ${tickets ? 'MET' : 'MISSED'}`,
      );
    }
    const fast = saturated['fast path'];
    const sealed = saturated['fast path, encrypted'];
    if (fast && sealed) {
      const cost = 1 - sealed.perSecond / fast.perSecond;
      say(`encryption: ${sealed.perSecond.toFixed(1)}/s against ${fast.perSecond.toFixed(1)}/s unencrypted, same run: cost ${(cost * 100).toFixed(1)}% (goal <= 5%: ${cost <= 0.05 ? 'MET' : 'MISSED'})`);
    }
    say(JSON.stringify({ events: EVENTS, users: USERS, concurrency: CONCURRENCY, rate: RATE, baseline: base, bareWorkflowsPerSecond: bare, saturated, paced }));
  } finally {
    await qlik.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/screenshots failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
