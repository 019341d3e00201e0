// Benchmark: detections (SPEC 7) over one day of a 20-node site — 2,000,000 generated AuditSecurity
// rows (Proxy and Repository logs, 5,000 users, 2% failed logins, refused access checks, service
// accounts, a burst of 30 failed logins from one address every 100,000 rows), in chain entries of 1,000 rows as ingestion writes them — on PostgreSQL. Prints the
// backfill (the whole day at once) and the steady state: runs over 10× the site's per-minute rate
// (13,900 rows a minute), each against a baseline measured in the same run: reading the same rows
// with one plain query (the I/O floor). The goal: a 1-minute schedule never falls behind at 10×.
//
//   npm run bench:detections [-- --rows 2000000 --store postgres://…]
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseConfig } from '../common/config';
import { detectNew } from '../store/detections';
import { openStore, type AuditStore } from '../store/store';
import { percentile } from './concurrency';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    runs: { type: 'string', default: '5' },
    store: { type: 'string', default: process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ROWS = Number(values.rows);
const RUNS = Number(values.runs);
const PER_BATCH = 1000;
const say = (line: string) => process.stdout.write(`${line}\n`);
const DAY_START = Date.UTC(2026, 10, 2);

/** Rows [from, to) of the day as chain entries of PER_BATCH rows (entry ids after the last). */
async function load(store: AuditStore, from: number, to: number, secondsPerRow: number): Promise<void> {
  const firstBatch = Number((await store.query<{ n: string | null }>('SELECT max(id) AS n FROM audit_batches')).rows[0]?.n ?? 0) + 1;
  const batches = Math.ceil((to - from) / PER_BATCH);
  await store.query(
    `INSERT INTO audit_batches (id, run_id, machine, service, file_name, row_count, finding_count, rows_hash, findings_hash, keyed, prev_digest, digest)
     SELECT $1::bigint + b, 'bench', 'NODE' || (b % 20), 'Proxy', 'f', $2, 0, 'x', 'x', false, 'x', 'x' FROM generate_series(0, $3::bigint - 1) b`,
    [firstBatch, PER_BATCH, batches],
  );
  await store.query(`SELECT setval(pg_get_serial_sequence('audit_batches', 'id'), (SELECT max(id) FROM audit_batches))`);
  await store.query(
    `INSERT INTO audit_rows (machine, service, file_name, sequence, ts_utc, ts_text, user_directory, user_id, command, result, message, object_name, object_id,
                             security_class, client_host_address, checksum, checksum_valid, header_ok, line, batch_id)
     SELECT 'NODE' || (g % 20), CASE WHEN g % 3 = 0 THEN 'Repository' ELSE 'Proxy' END, 'f', g,
            to_timestamp($3::double precision / 1000 + g * $4::double precision),
            '20261102T000000.000+0000',
            CASE WHEN g % 997 = 0 THEN 'INTERNAL' ELSE 'ACME' END,
            CASE WHEN g % 997 = 0 THEN 'sa_repository' WHEN g % 100000 < 30 THEN 'victim' ELSE 'user' || (g % 5000) END,
            CASE WHEN g % 3 = 0 AND g % 100000 >= 30 THEN 'Check access' ELSE 'Login' END,
            CASE WHEN g % 100000 < 30 OR g % 50 = 0 THEN '401' WHEN g % 3 = 0 AND g % 40 = 0 THEN '403' ELSE '0' END,
            'm', 'App ' || (g % 300), md5((g % 300)::text),
            'Security',
            -- each user signs in from their own machine; service accounts from the node, one in ten from afar; a burst from one address
            CASE WHEN g % 997 = 0 THEN (CASE WHEN g % 9970 = 0 THEN '[::ffff:203.0.113.9]:443' ELSE '[::1]:4243' END)
                 WHEN g % 100000 < 30 THEN '[::ffff:198.51.100.7]:' || (40000 + g % 20000)
                 ELSE '[::ffff:10.' || ((g % 5000) % 200) || '.' || ((g % 5000) / 200) || '.7]:' || (40000 + g % 20000) END,
            md5(g::text), true, true, g, $5::bigint + ((g - $1::bigint) / $6)
     FROM generate_series($1::bigint, $2::bigint - 1) g`,
    [from, to, DAY_START, secondsPerRow, firstBatch, PER_BATCH],
  );
}

async function main(): Promise<void> {
  const schema = `bench_detect_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
  const store = await openStore(`${values.store}?schema=${schema}`);
  const config = parseConfig({ detections: { rules: { newClientAddress: { enable: true, learningDays: 0 } } } }, { source: 'bench', baseDir: process.cwd() });
  const settings = { rules: config.detections.rules, suppressionMinutes: config.detections.suppressionMinutes, key: undefined };
  try {
    const secondsPerRow = 86_400 / ROWS;
    say(`bench/detections: one day of a 20-node site, ${ROWS} AuditSecurity rows (PostgreSQL, schema ${schema}); every rule on (newClientAddress without learning)`);
    let t0 = performance.now();
    await load(store, 1, ROWS + 1, secondsPerRow);
    await store.query('ANALYZE');
    say(`  loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // The floor: reading the day's rows once, as the detection reads them (by entry, in slices).
    t0 = performance.now();
    for (let b = 0; b < ROWS / PER_BATCH; b += 20) {
      await store.query('SELECT machine, service, sequence, checksum, ts_utc, user_directory, user_id, command, result, message, client_host_address, object_name, object_id FROM audit_rows WHERE batch_id > $1 AND batch_id <= $2 ORDER BY ts_utc, machine, service, sequence', [b, b + 20]);
    }
    const floor = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const backfill = await detectNew(store, settings, 'bench-backfill');
    const took = (performance.now() - t0) / 1000;
    say(`backfill: ${backfill.rows} rows in ${took.toFixed(1)} s = ${Math.round(backfill.rows / took)} rows/s, ${backfill.alerts.length} alerts, ${backfill.slices} slices`);
    say(`baseline: the same rows read by one query per slice: ${floor.toFixed(1)} s = ${Math.round(ROWS / floor)} rows/s (ratio ours/baseline throughput ${(floor / took).toFixed(2)})`);

    // Steady state: each minute, 10× the site's per-minute rate arrives; one detection run reads it.
    const perMinute = Math.round((ROWS / 1440) * 10);
    const times: number[] = [];
    const floors: number[] = [];
    let next = ROWS + 1;
    for (let i = 0; i < RUNS; i++) {
      await load(store, next, next + perMinute, secondsPerRow);
      const cp = Number((await store.query<{ n: string }>("SELECT (value #>> '{}')::bigint AS n FROM detection_state WHERE name = 'checkpoint'")).rows[0]?.n ?? 0);
      let start = performance.now();
      await store.query('SELECT count(*) FROM (SELECT machine, ts_utc, user_id, command, result, client_host_address FROM audit_rows WHERE batch_id > $1 ORDER BY ts_utc) r', [cp]);
      floors.push(performance.now() - start);
      start = performance.now();
      const run = await detectNew(store, settings, `bench-steady-${i}`);
      times.push(performance.now() - start);
      if (run.rows !== perMinute) throw new Error(`run ${i} read ${run.rows} rows, expected ${perMinute}`);
      next += perMinute;
    }
    const p50 = percentile(times, 50);
    const max = Math.max(...times);
    say(`steady state at 10× (${perMinute} new rows a minute), ${RUNS} runs: p50 ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms = ${Math.round(perMinute / (p50 / 1000))} rows/s; baseline read p50 ${percentile(floors, 50).toFixed(0)} ms`);
    say(`goal: a run every minute never falls behind at 10×: the slowest run took ${(max / 1000).toFixed(1)} s of its 60 s (${((max / 60_000) * 100).toFixed(1)}%)`);
    say(JSON.stringify({ rows: ROWS, backfill: { seconds: took, rowsPerSecond: backfill.rows / took, alerts: backfill.alerts.length }, floorSeconds: floor, steady: { perMinute, p50, max } }));
  } finally {
    await store.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
    await store.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/detections failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
