// Benchmark: audit log ingestion over many small chains (a site's ArchivedLogs share: daily files of
// few rows per machine and service), through the real workflow on the Temporal dev server, into
// PostgreSQL. For each setup, the first run (everything new) and a steady-state run (nothing new):
// chains one at a time (parallelChains 1, the baseline), parallelChains 4 on one worker, and on two
// workers (this process and a `qlik-audit worker` process). Each run also prints how many of the
// machine's cores were busy (all processes: workers, PostgreSQL, the dev server) and how many this
// process used (its worker): a second worker can only help where one leaves cores idle.
//
//   npm run bench:ingest-chains [-- --chains 60 --files 60 --rows 20]
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, type Worker } from '@temporalio/worker';
import { bundleWorkflowCode } from '@temporalio/worker';
import { startIngestNow } from '../client/ingest-schedule';
import { parseConfig } from '../common/config';
import type { IngestSummary } from '../common/ingest-types';
import { createLogger } from '../common/logger';
import { searchAttributes } from '../common/search-attributes';
import { createWorker } from '../worker/create-worker';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { openStore } from '../store/store';
import { auditFile } from '../test/helpers/audit-log-factory';

const { values } = parseArgs({
  options: {
    chains: { type: 'string', default: '60' },
    files: { type: 'string', default: '60' },
    rows: { type: 'string', default: '20' },
    store: { type: 'string', default: process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(`Usage: npm run bench:ingest-chains -- [--chains 60] [--files 60] [--rows 20] [--store postgres://...]
  chains × files daily AuditSecurity files of \`rows\` rows, ingested through the workflow on the Temporal
  dev server into PostgreSQL: chains one at a time, parallelChains 4 on one worker, and on two workers.
`);
  process.exit(0);
}
const CHAINS = Number(values.chains);
const FILES = Number(values.files);
const ROWS = Number(values.rows);
const say = (line: string) => process.stdout.write(`${line}\n`);

/** CPU seconds a child process has used so far (Linux /proc; 0 elsewhere). */
function childCpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

/** Busy and total CPU time of the whole machine so far (every process), summed over its cores. */
function machineCpu(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

function generate(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qa-bench-chains-'));
  for (let c = 0; c < CHAINS; c++) {
    const machine = `NODE${Math.floor(c / 6) + 1}`;
    const service = ['Repository', 'Proxy', 'Engine', 'Scheduler', 'Printing', 'Hub'][c % 6];
    for (let f = 0; f < FILES - 1; f++) {
      const day = new Date(Date.UTC(2025, 0, 1 + f));
      const stamp = day.toISOString().slice(0, 10);
      writeFileSync(path.join(dir, `${machine}_AuditSecurity_${service}_${stamp}T00.00.00Z.log`), auditFile(f * ROWS + 1, (f + 1) * ROWS, { signed: true, start: day }));
    }
    writeFileSync(path.join(dir, `${machine}_AuditSecurity_${service}.txt`), auditFile((FILES - 1) * ROWS + 1, FILES * ROWS, { start: new Date(Date.UTC(2025, 0, FILES)) }));
  }
  return dir;
}

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const sources = generate();
  const totalRows = CHAINS * FILES * ROWS;
  say(`bench/ingest-chains: ${CHAINS} chains × ${FILES} files × ${ROWS} rows = ${CHAINS * FILES} files, ${totalRows} rows; PostgreSQL; Temporal dev server`);
  const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: resolveTemporalBinaries().cli }, ip: '127.0.0.1', searchAttributes, log: { format: 'json', level: 'error' } } });
  const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } as never });
  const results: Record<string, { first: number; steady: number }> = {};
  try {
    for (const setup of [
      { name: 'one chain at a time (baseline)', parallel: 1, workers: 1 },
      { name: 'parallelChains 4, one worker', parallel: 4, workers: 1 },
      { name: 'parallelChains 4, two workers', parallel: 4, workers: 2 },
    ]) {
      const schema = `bench_chains_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
      const taskQueue = `bench-chains-${schema}`;
      const config = parseConfig({ temporal: { taskQueue }, auditSecurityLog: { sources: [{ directory: sources }], store: `${values.store}?schema=${schema}`, parallelChains: setup.parallel } }, { source: 'bench', baseDir: sources });
      const workers: Worker[] = [await createWorker({ connection: env.nativeConnection, namespace: 'default', taskQueue, deps: { config, logger: createLogger('bench', { level: 'error' }) }, workflowBundle })];
      const running = workers.map((w) => w.run());
      // The second worker is a process of its own, as on a second server.
      let child: ChildProcess | undefined;
      if (setup.workers === 2) {
        const file = path.join(sources, `${schema}.yaml`);
        writeFileSync(file, `temporal: { address: '${env.address}', taskQueue: ${taskQueue} }\nauditSecurityLog: { sources: [ { directory: '${sources}' } ], store: '${config.auditSecurityLog.store}', parallelChains: ${setup.parallel} }\n`);
        child = spawn(process.execPath, [path.resolve(__dirname, '../bin/qlik-audit.js'), 'worker', '--config', file, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
        await new Promise<void>((resolve, reject) => {
          let out = '';
          const onData = (d: Buffer) => ((out += d), out.includes('"msg":"worker started"') && resolve());
          child?.stdout?.on('data', onData);
          child?.stderr?.on('data', onData);
          child?.once('exit', (code) => reject(new Error(`second worker exited with ${code}: ${out}`)));
        });
      }
      const run = async () => {
        const start = performance.now();
        const cpu = machineCpu();
        const own = process.cpuUsage();
        const second = childCpuSeconds(child?.pid);
        const summary = (await (await startIngestNow(env.client, taskQueue)).result()) as IngestSummary;
        const after = machineCpu();
        const { user, system } = process.cpuUsage(own);
        const seconds = (performance.now() - start) / 1000;
        // Cores busy on average during the run: busy share of the machine's CPU time × its cores;
        // and this process's share (the first worker, and the client awaiting the run).
        const coresBusy = ((after.busy - cpu.busy) / Math.max(1, after.total - cpu.total)) * cpus().length;
        return { seconds, summary, coresBusy, workerCores: (user + system) / 1e6 / seconds, secondCores: child ? (childCpuSeconds(child.pid) - second) / seconds : undefined };
      };
      const first = await run();
      const steady = await run();
      if (first.summary.rowsStored !== totalRows || steady.summary.rowsStored !== 0) throw new Error(`${setup.name}: stored ${first.summary.rowsStored} then ${steady.summary.rowsStored}`);
      const busy = (r: { coresBusy: number; workerCores: number; secondCores?: number }) =>
        `${r.coresBusy.toFixed(1)} of ${cpus().length} cores busy, ${r.workerCores.toFixed(1)} in this worker${r.secondCores === undefined ? '' : `, ${r.secondCores.toFixed(1)} in the second`}`;
      say(`${setup.name.padEnd(34)} first run ${first.seconds.toFixed(1).padStart(6)} s (${(totalRows / first.seconds).toFixed(0)} rows/s, ${busy(first)})   steady state ${steady.seconds.toFixed(1).padStart(5)} s (${busy(steady)})`);
      results[setup.name] = { first: first.seconds, steady: steady.seconds };
      for (const w of workers) w.shutdown();
      await Promise.all(running);
      if (child) {
        child.kill('SIGTERM');
        await new Promise((resolve) => child?.once('exit', resolve));
      }
      const store = await openStore(config.auditSecurityLog.store);
      await store.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
      await store.close();
    }
    const [base, one, two] = Object.values(results) as { first: number; steady: number }[];
    if (base && one && two) {
      say(`ratio first run vs one chain at a time: parallelChains 4 ${(one.first / base.first).toFixed(2)}, two workers ${(two.first / base.first).toFixed(2)}; two workers vs one ${(two.first / one.first).toFixed(2)}`);
      say(`goals: first run on small files >= 20,000 rows/s (one worker) ${totalRows / one.first >= 20000 ? 'MET' : 'MISSED'}; two workers <= 0.7 of one ${two.first / one.first <= 0.7 ? 'MET' : 'MISSED'}`);
    }
    say(JSON.stringify({ chains: CHAINS, files: FILES, rows: ROWS, results }));
  } finally {
    await env.teardown();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench/ingest-chains failed: ${(err as Error).stack}\n`);
    process.exit(1);
  },
);
