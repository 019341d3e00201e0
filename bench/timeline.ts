// Benchmark: `audit timeline` for one user over a store of 1M Audit.qs events, 100k screenshot
// outcomes and 3M AuditSecurity rows (PostgreSQL), 2,000 users. Prints p50/p95 of the whole
// timeline of a user (~2,000 entries) and of a one-day window, against a baseline measured in the
// same run: one plain SQL query (UNION ALL of the three sources, ORDER BY time) for the same users.
// Then the auditor's view on the same store (server time, in process): the first page of a busy
// user's year (100 entries; the look recorded under the chain, the page rendered) and a deep page,
// against the first 100 rows of the baseline query; a cached thumbnail against a static asset.
//
//   npm run bench:timeline [-- --events 1000000 --rows 3000000 --users 2000 --queries 50 --store postgres://…]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { OidcSignIn } from '../audit-ui/oidc-sign-in';
import { createAuditUi } from '../audit-ui/server';
import { Sessions } from '../audit-ui/sessions';
import { StoreStatus } from '../audit-ui/store-status';
import { Thumbnails } from '../audit-ui/thumbnails';
import { parseConfig } from '../common/config';
import { createLogger } from '../common/logger';
import { openStore, type AuditStore } from '../store/store';
import { timeline } from '../store/timeline';
import { percentile } from './concurrency';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    rows: { type: 'string', default: '3000000' },
    shots: { type: 'string', default: '100000' },
    users: { type: 'string', default: '2000' },
    queries: { type: 'string', default: '50' },
    store: { type: 'string', default: process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const EVENTS = Number(values.events);
const ROWS = Number(values.rows);
const SHOTS = Number(values.shots);
const USERS = Number(values.users);
const QUERIES = Number(values.queries);
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const schema = `bench_timeline_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const store = await openStore(`${values.store}?schema=${schema}`);
  try {
    say(`bench/timeline: ${EVENTS} events, ${SHOTS} screenshot outcomes, ${ROWS} AuditSecurity rows, ${USERS} users (PostgreSQL, schema ${schema})`);
    let t0 = performance.now();
    // Spread over one year; every source's rows interleave in time for every user.
    await store.query(
      `INSERT INTO audit_rows (machine, service, file_name, sequence, ts_utc, ts_text, user_directory, user_id, command, result, message,
                               object_name, security_class, checksum, checksum_valid, header_ok, line, batch_id)
       SELECT 'NODE' || (g % 20), 'Repository', 'NODE_AuditSecurity_Repository.txt', g, timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second',
              '20260101T000000.000+0000', 'DIR', 'user' || (g % $2), 'License user access', '0', 'Login access granted for SessionID: ''' || md5(g::text) || '''',
              'Not available', 'License', md5(g::text), true, true, g, 1
       FROM generate_series(1, $1::bigint) g`,
      [ROWS, USERS],
    );
    say(`  ${ROWS} AuditSecurity rows loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    await store.query(
      `INSERT INTO audit_events (event_id, type, event_time, user_text, user_directory, user_id, app_id, app_name, sheet_id, sheet_name, correlation_id, audit_qs_version, envelope, batch_id)
       SELECT md5('e' || g), (ARRAY['selection.state.changed','navigation.sheet.loaded','object.view.duration','app.model.validated','object.visibility.changed'])[1 + g % 5],
              timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second' + interval '3 seconds',
              'DIR\\user' || (g % $2), 'DIR', 'user' || (g % $2), '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718', 'Sales Analysis', 'sheet-1', 'Overview', 'corr-' || g, '0.4.0',
              jsonb_build_object('schemaVersion', 1, 'eventId', md5('e' || g), 'type', 'selection.state.changed', 'timestamp', '2026-01-01T00:00:00Z',
                'payload', jsonb_build_object('context', jsonb_build_object('user', 'DIR\\user' || (g % $2), 'appName', 'Sales Analysis', 'sheetName', 'Overview'),
                  'event', jsonb_build_object('selectionTxnId', md5('t' || g), 'details', jsonb_build_array(jsonb_build_object('field', 'Region', 'values', jsonb_build_array('Nordics')))))), 1
       FROM generate_series(1, $1::bigint) g`,
      [EVENTS, USERS],
    );
    say(`  ${EVENTS} events loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    t0 = performance.now();
    await store.query(
      `INSERT INTO screenshot_outcomes (run_id, workflow_id, event_id, status, saved_paths, sha256, bytes, content_type, started_at, finished_at, event_time, user_directory, user_id, app_id, app_name, batch_id)
       SELECT md5('r' || g), 'screenshot-' || md5('s' || g), md5('s' || g), 'stored', jsonb_build_array('/var/screenshots/' || g || '.png'), md5(g::text) || md5(g::text), 120000, 'image/png',
              now(), now(), timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second' + interval '5 seconds', 'DIR', 'user' || (g % $2), '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718', 'Sales Analysis', 1
       FROM generate_series(1, $1::bigint) g`,
      [SHOTS, USERS],
    );
    await store.query('ANALYZE');
    say(`  ${SHOTS} screenshot outcomes loaded and analysed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    const measureTimes = async (name: string, times: number[], note = '') => {
      const p50 = percentile(times, 50);
      const p95 = percentile(times, 95);
      say(`${name.padEnd(44)} p50 ${p50.toFixed(1).padStart(7)} ms   p95 ${p95.toFixed(1).padStart(7)} ms   ${note}`);
      return { p50, p95 };
    };
    const users = Array.from({ length: QUERIES }, (_, i) => `user${(i * 37) % USERS}`);
    const measure = async (name: string, run: (userId: string) => Promise<number>) => {
      await run('user1'); // warm the cache for the plan, not for the data of the users measured
      const times: number[] = [];
      let entries = 0;
      for (const userId of users) {
        const start = performance.now();
        entries += await run(userId);
        times.push(performance.now() - start);
      }
      const p50 = percentile(times, 50);
      const p95 = percentile(times, 95);
      say(`${name.padEnd(44)} p50 ${p50.toFixed(1).padStart(7)} ms   p95 ${p95.toFixed(1).padStart(7)} ms   ${(entries / users.length).toFixed(0)} entries per user`);
      return { p50, p95 };
    };
    const ours = async (userId: string, from?: string, to?: string) => {
      let n = 0;
      for await (const _entry of timeline(store, { userDirectory: 'DIR', userId, from, to })) n++;
      return n;
    };
    const union = async (userId: string, from = '-infinity', to = 'infinity') => {
      const { rows } = await store.query(
        `SELECT * FROM (
           SELECT event_time AS t, 'audit-qs' AS source, type, envelope::text AS detail FROM audit_events WHERE user_directory = 'DIR' AND user_id = $1 AND event_time >= $2 AND event_time < $3
           UNION ALL SELECT event_time, 'screenshot', status, saved_paths::text FROM screenshot_outcomes WHERE user_directory = 'DIR' AND user_id = $1 AND event_time >= $2 AND event_time < $3
           UNION ALL SELECT ts_utc, 'security-log', command, message FROM audit_rows WHERE user_directory = 'DIR' AND user_id = $1 AND ts_utc >= $2 AND ts_utc < $3
         ) t ORDER BY t`,
        [userId, from, to],
      );
      return rows.length;
    };
    say('');
    const whole = await measure('audit timeline, a user\'s whole year', (u) => ours(u));
    const wholeBase = await measure('baseline: one UNION ALL … ORDER BY query', (u) => union(u));
    const day = await measure('audit timeline, one day', (u) => ours(u, '2026-06-01', '2026-06-02'));
    const dayBase = await measure('baseline, one day', (u) => union(u, '2026-06-01', '2026-06-02'));
    say(`ratio baseline p50 / ours p50: whole year ${(wholeBase.p50 / whole.p50).toFixed(2)}, one day ${(dayBase.p50 / day.p50).toFixed(2)}`);
    const ui = await auditUiBench(store, measureTimes);
    say(JSON.stringify({ events: EVENTS, rows: ROWS, shots: SHOTS, users: USERS, whole, wholeBase, day, dayBase, ui }));
  } finally {
    await store.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await store.close();
  }
}

/** The auditor's view on this store: a busy user's year, first and deep pages, and cached thumbnails. */
async function auditUiBench(store: AuditStore, report: (name: string, times: number[], note?: string) => Promise<{ p50: number; p95: number }>) {
  const BUSY = { events: 100_000, rows: 300_000, shots: 10_000 };
  const t0 = performance.now();
  // One busy user: 410,000 entries in the year (a service account, a power user).
  await store.query(
    `INSERT INTO audit_events (event_id, type, event_time, user_text, user_directory, user_id, app_id, app_name, sheet_id, sheet_name, envelope, batch_id)
     SELECT md5('busy-e' || g), 'selection.state.changed', timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second', 'DIR\\busy', 'DIR', 'busy',
            '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718', 'Sales Analysis', 'sheet-1', 'Overview', '{"payload":{"event":{"selectionTxnId":"x"}}}'::jsonb, 1
     FROM generate_series(1, $1::bigint) g`,
    [BUSY.events],
  );
  await store.query(
    `INSERT INTO audit_rows (machine, service, file_name, sequence, ts_utc, ts_text, user_directory, user_id, command, result, message, object_name, security_class, checksum, checksum_valid, header_ok, line, batch_id)
     SELECT 'BUSY', 'Proxy', 'BUSY_AuditSecurity_Proxy.txt', g, timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second', '20260101T000000.000+0000',
            'DIR', 'busy', 'Login', '0', 'Login access granted', 'Not available', 'License', md5('busy' || g), true, true, g, 1
     FROM generate_series(1, $1::bigint) g`,
    [BUSY.rows],
  );
  // Its screenshots are real files (for thumbnails): a handful of images, shared by the outcomes.
  const shots = mkdtempSync(path.join(tmpdir(), 'bench-ui-shots-'));
  const files: string[] = [];
  for (let i = 0; i < 20; i++) {
    const file = path.join(shots, `shot-${i}.png`);
    await sharp({ create: { width: 1280, height: 800, background: { r: 30 + i * 10, g: 90, b: 160 }, channels: 3 } }).png().toFile(file);
    files.push(file);
  }
  await store.query(
    `INSERT INTO screenshot_outcomes (run_id, workflow_id, event_id, status, saved_paths, sha256, bytes, content_type, started_at, finished_at, event_time, user_directory, user_id, app_id, app_name, batch_id)
     SELECT md5('busy-r' || g), 'screenshot-' || g, md5('busy-s' || g), 'stored', jsonb_build_array(($2::text[])[1 + g % 20]), md5(g::text) || md5(g::text), 120000, 'image/png',
            now(), now(), timestamptz '2026-01-01' + (g * 31536000 / $1::bigint) * interval '1 second' + interval '1 second', 'DIR', 'busy', '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718', 'Sales Analysis', 1
     FROM generate_series(1, $1::bigint) g`,
    [BUSY.shots, files],
  );
  await store.query('ANALYZE');
  say(`  busy user DIR\\busy: ${BUSY.events + BUSY.rows + BUSY.shots} entries in the year, loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const config = parseConfig(
    {
      screenshots: { storageTargets: [{ enable: true, type: 'flat', directory: shots }] },
      auditUi: { enable: true, oidc: { issuer: 'http://127.0.0.1:9/unused', clientId: 'bench', redirectUri: 'http://127.0.0.1:8282/auth/callback', auditorValues: ['a'] } },
    },
    { source: 'bench', baseDir: shots },
  );
  const sessions = new Sessions(3_600_000);
  const logger = createLogger('bench', { level: 'error' });
  const app = await createAuditUi({ config, store, logger, sessions, signIn: new OidcSignIn(config.auditUi.oidc, undefined), status: new StoreStatus(config, store, logger), thumbnails: new Thumbnails(), digestKey: undefined });
  const session = sessions.create({ actor: 'bench', subject: 'bench', role: 'auditor' });
  const cookie = `qa-session=${session.id}`;
  const year = `/trail?user=${encodeURIComponent('DIR\\busy')}&from=2026-01-01&to=2026-12-31`;
  const get = async (url: string) => {
    const start = performance.now();
    const res = await app.inject({ method: 'GET', url, headers: { cookie } });
    const ms = performance.now() - start;
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    return { ms, body: res.body };
  };
  const N = 60;
  say('');
  await get(year);
  const first: number[] = [];
  let body = '';
  for (let i = 0; i < N; i++) {
    const page = await get(year);
    first.push(page.ms);
    body = page.body;
  }
  const firstPage = await report("auditor's view: first page of a busy user's year", first, `(${(body.match(/<tr class="src-/g) ?? []).length} entries, look recorded)`);
  // A page deep in the year: follow "Next page" 50 times, then time that page.
  let next = year;
  for (let i = 0; i < 50; i++) {
    const href = /href="([^"]+)" rel="next"/.exec((await get(next)).body)?.[1];
    if (!href) break;
    next = href.replace(/&amp;/g, '&');
  }
  const deep: number[] = [];
  for (let i = 0; i < N / 2; i++) deep.push((await get(next)).ms);
  const deepPage = await report("auditor's view: page 51 of the same year", deep);
  const base: number[] = [];
  for (let i = 0; i < N; i++) {
    const start = performance.now();
    await store.query(
      `SELECT * FROM (
         SELECT event_time AS t, type, envelope::text AS d FROM audit_events WHERE user_directory = 'DIR' AND user_id = 'busy' AND event_time >= '2026-01-01' AND event_time < '2027-01-01'
         UNION ALL SELECT event_time, status, saved_paths::text FROM screenshot_outcomes WHERE user_directory = 'DIR' AND user_id = 'busy' AND event_time >= '2026-01-01' AND event_time < '2027-01-01'
         UNION ALL SELECT ts_utc, command, message FROM audit_rows WHERE user_directory = 'DIR' AND user_id = 'busy' AND ts_utc >= '2026-01-01' AND ts_utc < '2027-01-01'
       ) t ORDER BY t LIMIT 100`,
    );
    base.push(performance.now() - start);
  }
  const baseline = await report('baseline: first 100 rows of one UNION query', base);
  // Thumbnails of the page just viewed (made once, then from the cache).
  const thumbs = [...new Set([...(await get(year)).body.matchAll(/src="(\/screenshot\/[^"]+\/thumb)"/g)].map((m) => m[1] as string))];
  const made: number[] = [];
  for (const url of thumbs) made.push((await get(url)).ms);
  const cachedTimes: number[] = [];
  for (let i = 0; i < N; i++) for (const url of thumbs) cachedTimes.push((await get(url)).ms);
  const makeThumb = await report(`thumbnail, first view (sharp, ${thumbs.length} thumbnails)`, made);
  const cached = await report('thumbnail, cached', cachedTimes);
  const asset: number[] = [];
  for (let i = 0; i < N * thumbs.length; i++) asset.push((await get('/assets/ui.css')).ms);
  const assetBase = await report('baseline: a static asset from memory', asset);
  say(`goals: first page p95 ${firstPage.p95.toFixed(1)} ms (< 300), cached thumbnail p95 ${cached.p95.toFixed(1)} ms (< 50); ratio baseline p50 / ours p50: first page ${(baseline.p50 / firstPage.p50).toFixed(2)}, thumbnail ${(assetBase.p50 / cached.p50).toFixed(2)}`);
  await app.close();
  rmSync(shots, { recursive: true, force: true });
  return { firstPage, deepPage, baseline, makeThumb, cached, assetBase };
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/timeline failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
