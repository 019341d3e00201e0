// Runs the real Temporal dev server (`temporal server start-dev`) as a child process for
// `qlik-audit dev`: gRPC and Web UI on fixed local ports, state in a SQLite file so workflows
// survive a restart, our search attributes registered.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerSearchAttributeArgs } from '../common/search-attributes';

export interface DevServerOptions {
  cli: string;
  ip: string;
  port: number;
  uiPort: number;
  dbFile: string;
  logFile: string;
  /** Extra namespaces to create (the "default" one always exists). */
  namespaces?: string[];
  /** Stops waiting for the server to come up (and stops it) when aborted. */
  signal?: AbortSignal;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

function portInUse(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** The server's last words (its fatal error), shortened to one line for the message. */
function lastLogLine(logFile: string): string {
  try {
    const lines = readFileSync(logFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
    const last = lines.at(-1) ?? 'no output';
    return last.length > 300 ? `${last.slice(0, 300)}…` : last;
  } catch {
    return 'no log';
  }
}

async function waitUntil(what: string, deadline: number, probe: () => Promise<boolean>, child: ChildProcess, logFile: string, signal?: AbortSignal) {
  for (;;) {
    signal?.throwIfAborted();
    if (child.exitCode !== null) {
      await new Promise((r) => setTimeout(r, 100)); // let the log stream flush the child's last words
      throw new Error(`Temporal dev server exited with code ${child.exitCode} before ${what}: ${lastLogLine(logFile)}; see ${logFile}`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Temporal dev server: ${what} not ready within 60 s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  for (const port of [options.port, options.uiPort]) {
    if (await portInUse(options.ip, port)) {
      throw new Error(`port ${options.ip}:${port} is already in use: is another Temporal dev server (or qlik-audit dev) running?`);
    }
  }
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const args = [
    'server', 'start-dev',
    '--ip', options.ip,
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--db-filename', options.dbFile,
    '--log-format', 'json',
    '--log-level', 'warn',
    ...devServerSearchAttributeArgs(),
    // Eager activity dispatch: the worker that completes a workflow task may run the activity it just
    // scheduled at once, without a round trip through the task queue (the worker side is on by default).
    '--dynamic-config-value', 'system.enableActivityEagerExecution=true',
    // Eager workflow start: the receiver shares the worker's connection, so a screenshot run's first
    // workflow task comes back with the start response, to this process's worker.
    '--dynamic-config-value', 'system.enableEagerWorkflowStart=true',
    ...(options.namespaces ?? []).flatMap((ns) => ['--namespace', ns]),
  ];
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const address = `${options.ip}:${options.port}`;
  const uiUrl = `http://${options.ip}:${options.uiPort}`;
  const stop = async (graceMs = 8000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    log.end();
  };

  try {
    const deadline = Date.now() + 60_000;
    await waitUntil('gRPC', deadline, async () => {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.getSystemInfo({});
        return true;
      } finally {
        await connection.close();
      }
    }, child, options.logFile, options.signal);
    await waitUntil('Web UI', deadline, async () => (await fetch(uiUrl)).ok, child, options.logFile, options.signal);
  } catch (err) {
    await stop(options.signal?.aborted ? 700 : 2000);
    throw err;
  }
  return { address, uiUrl, child, stop };
}
