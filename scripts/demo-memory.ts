// Prints the resident memory of the whole `npm start` stack once it is ready, as a user's machine
// pays it: npm, the qlik-audit dev process and every process below it (the Temporal dev server), and
// the embedded PostgreSQL server with its processes (they run in a session of their own, so they
// are not below qlik-audit: found through the data folder's postmaster.pid). Starts `npm start` in a
// fresh folder (a first run: stores are created) and again in the same folder (a second run).
//
// RSS counts memory shared between processes (PostgreSQL's shared buffers, shared libraries) once
// per process, so the sum overstates what the machine pays; PSS shares it out and does not.
//
//   npx tsx scripts/demo-memory.ts [--goal-mb 450]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(__dirname, '..');

function kb(pid: number, file: 'status' | 'smaps_rollup', field: string): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    children = [];
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}

function name(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv[0]?.endsWith('/postgres') || argv[0]?.startsWith('postgres:')) return argv[0].startsWith('postgres:') ? argv[0].replace(/^postgres: /, 'pg ') : 'postgres';
    return argv.slice(0, 3).map((a) => path.basename(a)).join(' ');
  } catch {
    return '?';
  }
}

async function measure(varDir: string, label: string): Promise<number> {
  // A process group of its own: Ctrl-C at a terminal reaches npm and everything it started at once.
  const child = spawn('npm', ['start', '--', '--var', varDir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready.')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
  });
  await new Promise((r) => setTimeout(r, 15_000)); // settled: the demo's extra store connections close after 10 s idle
  const postmaster = Number(readFileSync(path.join(varDir, 'auditdb', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const pids = [child.pid as number, ...descendants(child.pid as number), postmaster, ...descendants(postmaster)];
  const parts = pids.map((pid) => ({ pid, rss: kb(pid, 'status', 'VmRSS') / 1024, pss: kb(pid, 'smaps_rollup', 'Pss') / 1024, cmd: name(pid) }));
  const sum = (key: 'rss' | 'pss', filter: (p: (typeof parts)[number]) => boolean = () => true) => parts.filter(filter).reduce((n, p) => n + p[key], 0);
  const pg = (p: (typeof parts)[number]) => p.cmd.startsWith('pg ') || p.cmd === 'postgres';
  process.stdout.write(
    `${label}: ${sum('rss').toFixed(0)} MB RSS, ${sum('pss').toFixed(0)} MB PSS after Ready, ${parts.length} processes\n` +
      `  ${parts.filter((p) => !pg(p)).map((p) => `${p.cmd}: ${p.rss.toFixed(0)}`).join(', ')}\n` +
      `  embedded PostgreSQL (${parts.filter(pg).length} processes): ${sum('rss', pg).toFixed(0)} MB RSS, ${sum('pss', pg).toFixed(0)} MB PSS\n`,
  );
  const closed = new Promise((r) => child.once('close', r)); // every process holding the output is gone
  process.kill(-(child.pid as number), 'SIGINT'); // as Ctrl-C: qlik-audit dev stops everything, PostgreSQL included
  await closed;
  return sum('rss');
}

async function main() {
  const { values } = parseArgs({ options: { 'goal-mb': { type: 'string', default: '450' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('npx tsx scripts/demo-memory.ts [--goal-mb 450]: the RSS and PSS of the whole npm start stack, first and second run\n');
    return;
  }
  const varDir = mkdtempSync(path.join(tmpdir(), 'qa-demo-memory-'));
  chmodSync(varDir, 0o755); // as root the embedded server runs as user postgres
  const first = await measure(varDir, 'first run ');
  const second = await measure(varDir, 'second run');
  const goal = Number(values['goal-mb']);
  process.stdout.write(`goal < ${goal} MB RSS: ${Math.max(first, second) < goal ? 'met' : 'NOT met'}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
