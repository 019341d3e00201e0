// Prints the resident memory of the whole `npm start` stack once it is ready: the qlik-audit dev
// process and every process below it (the Temporal dev server). Starts `qlik-audit dev --demo` in a
// fresh folder (a first run: stores are created) and again in the same folder (a second run).
//
//   npx tsx scripts/demo-memory.ts
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const BIN = path.resolve(__dirname, '..', 'bin', 'qlik-audit.js');

function rssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
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

async function measure(varDir: string, label: string): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'dev', '--demo', '--var', varDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready.')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`qlik-audit dev exited with ${code}:\n${out}`)));
  });
  await new Promise((r) => setTimeout(r, 5000)); // settle
  const parts = [child.pid as number, ...descendants(child.pid as number)].map((pid) => ({ pid, mb: rssMb(pid), cmd: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).map((a) => path.basename(a)).join(' ') }));
  const total = parts.reduce((n, p) => n + p.mb, 0);
  process.stdout.write(`${label}: ${total.toFixed(0)} MB RSS after Ready (${parts.map((p) => `${p.cmd}: ${p.mb.toFixed(0)} MB`).join(', ')})\n`);
  child.kill('SIGINT');
  await new Promise((r) => child.once('exit', r));
}

async function main() {
  const varDir = mkdtempSync(path.join(tmpdir(), 'qa-demo-memory-'));
  await measure(varDir, 'first run ');
  await measure(varDir, 'second run');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
});
