// Output is never lost (SPEC 2): `qlik-audit … --json | jq` gets the whole report however slowly it
// reads. Each command that prints is run twice — into a file, and into a pipe read slowly, in small
// bites with pauses — and the two outputs must be the same bytes, with the same exit code.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { auditFile } from './helpers/audit-log-factory';
import { BIN } from './helpers/cli';

/** A tree of 60 machines × 50 daily files: a report of a few megabytes. */
function logTree(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'qa-tree-'));
  for (let machine = 0; machine < 60; machine++) {
    const dir = path.join(root, `node${machine}`, 'Repository', 'Audit');
    mkdirSync(dir, { recursive: true });
    for (let day = 0; day < 50; day++) {
      const start = new Date(Date.UTC(2026, 0, 1 + day));
      const name = day === 49 ? `NODE${machine}_AuditSecurity_Repository.txt` : `NODE${machine}_AuditSecurity_Repository_${new Date(start.getTime() + 86_399_000).toISOString().slice(0, 19).replace(/:/g, '.')}Z.log`;
      // Each file restarts at 1: a service-restart finding per file makes the report long.
      writeFileSync(path.join(dir, name), auditFile(1, 20, { start }));
    }
  }
  return root;
}

function toFile(args: string[]): Promise<{ status: number | null; bytes: Buffer }> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'qa-out-')), 'out');
  const fd = openSync(file, 'w');
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'ignore'] });
  return new Promise((resolve) =>
    child.once('exit', (status) => {
      closeSync(fd);
      resolve({ status, bytes: readFileSync(file) });
    }),
  );
}

/** Reads the child's stdout only after a pause, then with a pause after every chunk. */
async function throughSlowPipe(args: string[]): Promise<{ status: number | null; bytes: Buffer }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const chunks: Buffer[] = [];
  const stdout = child.stdout;
  const ended = new Promise((resolve) => stdout.once('end', resolve));
  // (A listener from the start: Node discards the output of a child whose stdout nobody listens to.)
  stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    stdout.pause();
    // The first bite waits long enough for the command to fill the pipe and want to finish.
    setTimeout(() => stdout.resume(), chunks.length === 1 ? 300 : 5);
  });
  await ended;
  return { status: await exited, bytes: Buffer.concat(chunks) };
}

test('every printing command delivers the same bytes into a slow pipe as into a file', async () => {
  const tree = logTree();
  const commands = [
    ['logs', 'verify', tree, '--json'],
    ['logs', 'verify', tree],
    ['--help'],
    ...['dev', 'worker', 'receiver', 'setup', 'screenshot'].map((c) => [c, '--help']),
    ...['verify', 'ingest', 'schedule', 'verify-store'].map((c) => ['logs', c, '--help']),
  ];
  for (const args of commands) {
    const [file, pipe] = await Promise.all([toFile(args), throughSlowPipe(args)]);
    assert.equal(pipe.status, file.status, args.join(' '));
    assert.ok(file.bytes.length > 0, `${args.join(' ')} printed something`);
    assert.equal(pipe.bytes.length, file.bytes.length, `${args.join(' ')}: ${pipe.bytes.length} of ${file.bytes.length} bytes through the pipe`);
    assert.ok(pipe.bytes.equals(file.bytes), `${args.join(' ')}: the same bytes`);
  }
  const report = (await toFile(['logs', 'verify', tree, '--json'])).bytes;
  assert.ok(report.length > 1_000_000, `a multi-megabyte report (${report.length} bytes)`);
  assert.equal(JSON.parse(report.toString()).files.length, 60 * 50);
});
