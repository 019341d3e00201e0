// Benchmark: Butler SOS's image work on realistic screenshots. 1920×1080 table renders are downloaded
// from the simulated Qlik over mutual TLS and stored by the real activities in-process (no Temporal),
// once as received (the baseline) and once cropped to what the user saw with a `_metadata.png` header
// band — in the same run. Prints images/s of both, their ratio, and the event-loop delay (p50/p99/max,
// perf_hooks.monitorEventLoopDelay) while each runs at full rate: image work must not stall the loop
// that heartbeats, polls and serves every other activity (Butler SOS stalls its loop 215–512 ms per image).
//
//   npm run bench:image [-- --images 200 --concurrency 8]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createActivities } from '../activities';
import type { ScreenshotEvent } from '../common/audit-event';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { createPki } from '../demo/simulated-qlik/pki';
import { sheetObjectRender, VISIBLE_CROP } from '../demo/simulated-qlik/renders';
import { SimulatedQlik } from '../demo/simulated-qlik/simulated-qlik';
import { screenshotEvent, withCrop } from '../demo/sample-events';
import { captureInProcess, percentile, pool } from './concurrency';

const { values } = parseArgs({ options: { images: { type: 'string', default: '200' }, concurrency: { type: 'string', default: '8' } } });
const IMAGES = Number(values.images);
const CONCURRENCY = Number(values.concurrency);
const say = (line: string) => process.stdout.write(`${line}\n`);
const CROP = VISIBLE_CROP;
const ALL_FIELDS = { date: true, eventId: true, correlationId: true, selectionTxnId: true, user: true, appId: true, appName: true, sheetName: true, viewingDuration: true };

async function run(qlik: SimulatedQlik, certs: ReturnType<typeof createPki>['files'], withImageWork: boolean) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-bench-image-'));
  const config = parseConfig(
    {
      qlik: { cert: certs },
      screenshots: {
        allowedImageDownloadHosts: ['127.0.0.1'],
        storageTargets: [{ type: 'flat', directory: path.join(dir, 'shots') }],
        auth: { mode: 'userTicket', qps: { host: '127.0.0.1', port: qlik.qpsPort } },
        addInImageMetadata: { enable: withImageWork, fields: ALL_FIELDS },
      },
    },
    { source: 'bench', baseDir: dir },
  );
  const activities = createActivities({ config, logger: createLogger('bench', { level: 'warn' }) });
  const tag = withImageWork ? 'work' : 'plain';
  const events: ScreenshotEvent[] = Array.from({ length: IMAGES }, (_, i) => {
    const event = screenshotEvent(qlik.url(`/tempcontent/${tag}/${i}.png`), `LAB\\user${i % 20}`);
    return withImageWork ? withCrop(event, CROP) : event;
  });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  const latencies: number[] = [];
  delay.enable();
  const start = performance.now();
  await pool(events, CONCURRENCY, async (event) => {
    const t0 = performance.now();
    await captureInProcess(activities, event);
    latencies.push(performance.now() - t0);
  });
  const seconds = (performance.now() - start) / 1000;
  delay.disable();
  const ms = (ns: number) => ns / 1e6;
  return { perSecond: IMAGES / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95), loopP50: ms(delay.percentile(50)), loopP99: ms(delay.percentile(99)), loopMax: ms(delay.max) };
}

async function main() {
  const pki = createPki(mkdtempSync(path.join(tmpdir(), 'qa-bench-image-pki-')));
  const qlik = await new SimulatedQlik({ pki }).start();
  const render = await sheetObjectRender();
  for (const tag of ['plain', 'work', 'warm']) for (let i = 0; i < IMAGES; i++) qlik.routes.set(`/tempcontent/${tag}/${i}.png`, { kind: 'image', body: render });
  say(`bench/image: ${IMAGES} screenshots of ${render.length} bytes (1920×1080 PNG), ${CONCURRENCY} at a time, in-process (no Temporal); sharp thread pool: ${(await import('sharp')).default.concurrency()} thread(s)`);
  try {
    await run(qlik, pki.files, true); // warm-up: TLS sessions, sharp, the font
    const plain = await run(qlik, pki.files, false);
    const work = await run(qlik, pki.files, true);
    const line = (name: string, r: typeof plain) =>
      say(`${name.padEnd(36)} ${r.perSecond.toFixed(1).padStart(6)} images/s   p50 ${r.p50.toFixed(0).padStart(4)} ms   p95 ${r.p95.toFixed(0).padStart(4)} ms   event loop delay p50 ${r.loopP50.toFixed(1)} ms, p99 ${r.loopP99.toFixed(1)} ms, max ${r.loopMax.toFixed(1)} ms`);
    line('stored as received (baseline)', plain);
    line('cropped + _metadata.png', work);
    const cost = 1 - work.perSecond / plain.perSecond;
    say(`ratio with / without image work: ${(work.perSecond / plain.perSecond).toFixed(2)} (image work costs ${(cost * 100).toFixed(0)}% of the throughput)`);
    say(`goals: event-loop delay p99 < 20 ms ${work.loopP99 < 20 ? 'MET' : 'MISSED'}; image work <= 30% of the in-process throughput ${cost <= 0.3 ? 'MET' : 'MISSED'}`);
    say(JSON.stringify({ images: IMAGES, concurrency: CONCURRENCY, plain, work }));
  } finally {
    await qlik.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/image failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
