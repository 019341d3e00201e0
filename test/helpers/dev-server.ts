// A Temporal dev server of a test's own (a SQLite file, so it can be stopped and started again on the
// same ports). Tests run two at a time and the dev server picks free ports for its internal services
// itself, so a port chosen here can be taken by the other test's server before ours binds it: a start
// that dies before gRPC is tried again (fresh ports on the first start, the same ports on a restart).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startDevServer, type DevServer, type DevServerOptions } from '../../worker/dev-server';
import { resolveTemporalBinaries } from '../../worker/temporal-cli';
import { freePort } from './ports';

const ATTEMPTS = 4;

export interface OwnDevServer {
  current: DevServer;
  options: DevServerOptions;
  /** Starts it again on the same ports and database after `stop()`. */
  start(): Promise<DevServer>;
  stop(): Promise<void>;
}

async function startWithRetry(options: () => Promise<DevServerOptions>): Promise<{ server: DevServer; options: DevServerOptions }> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const chosen = await options();
    try {
      return { server: await startDevServer(chosen), options: chosen };
    } catch (err) {
      lastError = err;
      if (!/exited with code|already in use/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
  throw lastError;
}

export async function ownDevServer(prefix: string): Promise<OwnDevServer> {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const cli = resolveTemporalBinaries().cli;
  const started = await startWithRetry(async () => ({
    cli, ip: '127.0.0.1', port: await freePort(), uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'temporal.log'),
  }));
  const own: OwnDevServer = {
    current: started.server,
    options: started.options,
    async start() {
      own.current = (await startWithRetry(async () => own.options)).server;
      return own.current;
    },
    stop: () => own.current.stop(),
  };
  return own;
}
