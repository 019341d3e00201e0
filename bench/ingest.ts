// Benchmark: realistic AuditSecurity files (valid checksums and sequences, 8 MB roll-overs, signed)
// measured in phases in one run, each in its own process so its peak RSS and CPU are its own:
//   read    the files line by line without parsing (the I/O floor, the baseline)
//   verify  `logs verify` (checksums, sequences, signatures)
//   ingest  ingestion into the local PostgreSQL (rows, findings, digest chain, checkpoints)
//   keyed   the same ingestion with a digest key (HMAC-SHA256 chain): its cost against `ingest`
//   copy    PostgreSQL's floor: one plain COPY of the same rows, already encoded, into a fresh table
//           of audit_rows' shape (ingest / copy is the goal of issue 17)
//   embedded the same ingestion into the embedded PostgreSQL we ship (a fresh folder, its server
//           started before the clock starts): against `ingest` on the external server (issue 23)
// Every file but the first restarts its sequence at 1 (a service restart), so each file brings a
// finding that the digest chain covers.
//
//   npm run bench:ingest [-- --mb 1024 --file-mb 8 --store postgres://postgres@127.0.0.1:5432/test]
//   npm run bench:ingest -- --dir /tmp/logs --phases ingest,copy   (generates into /tmp/logs once, then reuses it)
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readLines } from '../audit-log/line-reader';
import { buildChains, discoverLogFiles } from '../audit-log/log-files';
import { ingestChain } from '../store/ingest-chain';
import { verifyChains } from '../audit-log/scanner';
import { openStore } from '../store/store';
import { digestKey } from '../store/digest';
import { COPY_COLUMNS } from '../store/row-encoding';
import { auditRow, HEADER } from '../test/helpers/audit-log-factory';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '1024' },
    'file-mb': { type: 'string', default: '8' },
    store: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    phase: { type: 'string' },
    dir: { type: 'string' },
    'batch-size': { type: 'string' },
    phases: { type: 'string', default: 'read,verify,ingest,keyed,copy,embedded' },
    help: { type: 'boolean', short: 'h' },
  },
});

const USAGE = `Usage: npm run bench:ingest -- [options]
  --mb N           MB of AuditSecurity logs to generate (default 1024)
  --file-mb N      size of each rolled file (default 8)
  --store URL      the external PostgreSQL, postgres://... (default the local test database)
  --phases LIST    which of read,verify,ingest,keyed,copy,embedded to run (default all)
  --dir DIR        generate into DIR if it is empty and keep it, else reuse the logs in it
  --batch-size N   rows per commit (default the activity's)
`;

/** Writes ~`mb` MB of logs as a chain of signed `fileMb` archives and a live file; returns the row count. */
function generate(dir: string, mb: number, fileMb: number): number {
  const fileBytes = fileMb * 1024 * 1024;
  const total = mb * 1024 * 1024;
  let written = 0;
  let sequence = 1;
  let rows = 0;
  let fileIndex = 0;
  const start = Date.UTC(2026, 0, 1);
  while (written < total) {
    const last = written + fileBytes >= total;
    const closed = new Date(start + (fileIndex + 1) * 3600_000).toISOString().replace(/:/g, '.').replace(/\.\d{3}Z$/, 'Z');
    const name = last ? 'BENCHNODE_AuditSecurity_Repository.txt' : `BENCHNODE_AuditSecurity_Repository_${closed}.log`;
    const fd = openSync(path.join(dir, name), 'w');
    let size = 0;
    sequence = 1; // a service restart: one finding per file
    const chunk: string[] = [`\ufeff${HEADER}\r\n`];
    while (size < fileBytes && written + size < total) {
      const line = `${auditRow(sequence, new Date(start + rows * 10))}\r\n`;
      sequence++;
      rows++;
      size += Buffer.byteLength(line);
      chunk.push(line);
      if (chunk.length >= 5000) writeSync(fd, chunk.splice(0).join(''));
    }
    // Closed by a restart (the next file starts at 1 again): no signature line.
    writeSync(fd, chunk.join(''));
    closeSync(fd);
    written += size;
    fileIndex++;
  }
  return rows;
}

/**
 * Flushes PostgreSQL's dirty pages before a timed phase, so no phase pays for a checkpoint the WAL of
 * the phases before it made due (with max_wal_size 1 GB, a 256 MB run's earlier phases write enough to
 * land one in the next). Needs a superuser or pg_checkpoint; without, it is skipped (noted).
 */
async function checkpoint(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CHECKPOINT');
  } catch (err) {
    process.stderr.write(`bench/ingest: CHECKPOINT before the phase skipped (${(err as Error).message})\n`);
  } finally {
    await client.end();
  }
}

async function phase(name: string, dir: string): Promise<{ rows: number; seconds: number; cpuSeconds?: number }> {
  if (name === 'ingest' || name === 'keyed') await checkpoint(values.store as string);
  const started = performance.now();
  const files = buildChains(await discoverLogFiles([dir]));
  let rows = 0;
  if (name === 'read') {
    for (const chain of files) for (const file of chain) for await (const _line of readLines(file.path)) rows++;
    rows -= files.flat().length * 1; // headers
  } else if (name === 'verify') {
    const result = await verifyChains(files, { sequenceMax: 2147483647 });
    rows = result.files.reduce((n, f) => n + f.rows, 0);
    if (!result.ok) throw new Error(`generated files did not verify: ${JSON.stringify(result.findings.slice(0, 3))}`);
  } else if (name === 'copy') {
    // The floor: a plain COPY of the same rows, already encoded, into a fresh table of audit_rows' shape
    // (same primary key and indexes). The rows are ingested (untimed) into one schema and exported to a
    // file; only the COPY from that file into a second schema is timed.
    const { default: pg } = await import('pg');
    const { from: copyFrom, to: copyTo } = await import('pg-copy-streams');
    const source = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const target = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const file = path.join(dir, '..', `${target}.copy`);
    const columns = COPY_COLUMNS.join(', ');
    for (const schema of [source, target]) await (await openStore(`${values.store}?schema=${schema}`)).close();
    const client = new pg.Client({ connectionString: values.store });
    await client.connect();
    try {
      const store = await openStore(`${values.store}?schema=${source}`);
      for (const chain of files) await ingestChain(store, chain, { runId: 'bench', sequenceMax: 2147483647 });
      await store.close();
      await pipeline(client.query(copyTo(`COPY ${source}.audit_rows (${columns}) TO STDOUT`)), createWriteStream(file));
      await checkpoint(values.store as string);
      const cpu = process.cpuUsage();
      const start = performance.now();
      await pipeline(createReadStream(file), client.query(copyFrom(`COPY ${target}.audit_rows (${columns}) FROM STDIN`)));
      const seconds = (performance.now() - start) / 1000;
      const { user, system } = process.cpuUsage(cpu); // the timed COPY only, not the untimed ingest before it
      rows = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${target}.audit_rows`)).rows[0]?.n);
      return { rows, seconds, cpuSeconds: (user + system) / 1e6 };
    } finally {
      for (const schema of [source, target]) await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
      rmSync(file, { force: true });
    }
  } else if (name === 'ingest' || name === 'keyed' || name === 'embedded') {
    // A schema of its own on the external server, a fresh folder for the embedded one; opened before
    // the clock starts (the embedded server's initdb and start are not ingestion), dropped afterwards.
    const embedded = name === 'embedded';
    const schema = `bench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
    const folder = embedded ? mkdtempSync(path.join(tmpdir(), 'qa-bench-embedded-')) : '';
    const store = await openStore(embedded ? `embedded:${folder}` : `${values.store}?schema=${schema}`);
    try {
      const batchSize = values['batch-size'] ? Number(values['batch-size']) : undefined; // default: the activity's
      const key = name === 'keyed' ? digestKey('bench digest key') : undefined;
      const timed = performance.now();
      for (const chain of buildChains(await discoverLogFiles([dir]))) rows += (await ingestChain(store, chain, { runId: 'bench', sequenceMax: 2147483647, batchSize, digestKey: key })).rowsStored;
      return { rows, seconds: (performance.now() - timed) / 1000 };
    } finally {
      if (!embedded) await store.query(`DROP SCHEMA ${schema} CASCADE`);
      await store.close();
      if (embedded) rmSync(folder, { recursive: true, force: true });
    }
  }
  return { rows, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.phase && values.dir) {
    const cpu = process.cpuUsage();
    const result = await phase(values.phase, values.dir);
    const { user, system } = process.cpuUsage(cpu);
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (user + system) / 1e6, ...result, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
    return;
  }
  const mb = Number(values.mb);
  const kept = values.dir !== undefined;
  const dir = kept ? path.resolve(values.dir as string) : mkdtempSync(path.join(tmpdir(), 'qa-bench-ingest-'));
  try {
    let rows = 0;
    if (kept && existsSync(dir) && readdirSync(dir).length > 0) process.stdout.write(`bench/ingest: reusing the logs in ${dir}\n`);
    else {
      mkdirSync(dir, { recursive: true });
      process.stdout.write(`bench/ingest: generating ${mb} MB of AuditSecurity logs in ${values['file-mb']} MB files ...\n`);
      rows = generate(dir, mb, Number(values['file-mb']));
      process.stdout.write(`  ${rows} rows\n`);
    }
    const results: Record<string, { rows: number; seconds: number; cpuSeconds: number; maxRssMb: number }> = {};
    const phases = (values.phases as string).split(',').map((p) => p.trim());
    const unknown = phases.filter((p) => !['read', 'verify', 'ingest', 'keyed', 'copy', 'embedded'].includes(p));
    if (unknown.length > 0) throw new Error(`--phases: unknown phase ${unknown.join(', ')} (use read, verify, ingest, keyed, copy, embedded)`);
    for (const name of phases) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', __filename, '--phase', name, '--dir', dir, '--store', values.store as string, ...(values['batch-size'] ? ['--batch-size', values['batch-size']] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
      const r = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
      results[name] = r;
      process.stdout.write(`${name.padEnd(7)} ${String(Math.round(r.rows / r.seconds)).padStart(9)} rows/s  ${r.seconds.toFixed(1).padStart(6)} s  this process's CPU ${r.cpuSeconds.toFixed(1).padStart(5)} s  peak RSS ${r.maxRssMb.toFixed(0)} MB\n`);
    }
    rows ||= Math.max(...Object.values(results).map((r) => r.rows));
    const rate = (name: string) => (results[name] ? (results[name].rows as number) / (results[name].seconds as number) : undefined);
    const [readRate, verifyRate, ingestRate, keyedRate, copyRate, embeddedRate] = ['read', 'verify', 'ingest', 'keyed', 'copy', 'embedded'].map(rate);
    const ratios: string[] = [];
    if (readRate && verifyRate) ratios.push(`verify / read floor: ${(verifyRate / readRate).toFixed(2)}`);
    if (readRate && ingestRate) ratios.push(`ingest / read floor: ${(ingestRate / readRate).toFixed(2)}`);
    if (ingestRate && keyedRate) ratios.push(`keyed / unkeyed ingest: ${(keyedRate / ingestRate).toFixed(3)}`);
    if (ratios.length > 0) process.stdout.write(`ratio ${ratios.join('; ')}\n`);
    if (ingestRate && copyRate) {
      process.stdout.write(`ratio ingest / plain COPY of the same rows into the same table shape: ${(ingestRate / copyRate).toFixed(2)} (goal >= 0.8 ${ingestRate / copyRate >= 0.8 ? 'MET' : 'MISSED'})\n`);
    }
    if (ingestRate && embeddedRate) {
      process.stdout.write(`ratio ingest into the embedded PostgreSQL / into the external one (${values.store}): ${(embeddedRate / ingestRate).toFixed(2)} (goal >= 0.9 ${embeddedRate / ingestRate >= 0.9 ? 'MET' : 'MISSED'})\n`);
    }
    const rss = Math.max(...Object.values(results).map((r) => r.maxRssMb));
    const goals = [`peak RSS < 200 MB ${rss < 200 ? 'MET' : 'MISSED'}`];
    if (verifyRate) goals.push(`verify >= 250,000 rows/s ${verifyRate >= 250_000 ? 'MET' : 'MISSED'}`);
    if (ingestRate) goals.push(`ingest >= 50,000 rows/s ${ingestRate >= 50_000 ? 'MET' : 'MISSED'}`);
    if (ingestRate && keyedRate) goals.push(`keyed chain costs <= 5% ${keyedRate >= 0.95 * ingestRate ? 'MET' : 'MISSED'}`);
    process.stdout.write(`goals: ${goals.join('; ')}\n`);
    process.stdout.write(`${JSON.stringify({ mb, rows, results })}\n`);
  } finally {
    if (!kept) rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/ingest failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
