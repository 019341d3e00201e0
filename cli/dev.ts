// `qlik-audit dev [--demo] [--config F]`: the whole stack on one machine — the real Temporal dev
// server (Web UI on :8233, state in ./var/temporal.sqlite), a worker, and (with --demo) sample data.
import path from 'node:path';
import { loadConfig, parseConfig, type Config } from '../common/config';
import { createLogger } from '../common/logger';
import { resolveTemporalBinaries } from '../common/temporal-cli';
import { startDevServer } from '../worker/dev-server';
import { installRuntime } from '../worker/runtime';
import { startWorker } from '../worker/start-worker';
import { parseCommand, printHelp } from './args';

const spec = {
  usage: 'qlik-audit dev [--demo] [--config <file>]',
  help: `
Starts a local stack for trying qlik-audit or developing it:
  - the Temporal dev server: gRPC 127.0.0.1:7233, Web UI http://127.0.0.1:8233,
    state kept in ./var/temporal.sqlite (workflows survive a restart), log in ./var/temporal-dev.log
  - a worker for all qlik-audit workflows
Ctrl-C stops everything.

Options:
  --demo            also run the demo (simulated Qlik Sense, sample events and logs)
  --config <file>   YAML configuration; without it embedded defaults are used (everything under ./var)
  --var <dir>       folder for state and logs (default ./var)
  --verbose         show stack traces on errors
  -h, --help        this help`,
  options: { demo: { type: 'boolean' }, config: { type: 'string', short: 'c' }, var: { type: 'string' } },
} as const;

const DEV_IP = '127.0.0.1';
const DEV_PORT = 7233;
const DEV_UI_PORT = 8233;

export async function devCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), 0;
  const varDir = path.resolve(values.var ?? 'var');
  const config: Config = values.config ? loadConfig(values.config) : parseConfig({}, { source: '(embedded defaults)', baseDir: process.cwd() });
  const say = (line: string) => process.stdout.write(`${line}\n`);

  say('qlik-audit dev: starting (Ctrl-C to stop)');
  say('  [1/3] locating the Temporal CLI ...');
  const { cli } = resolveTemporalBinaries({ log: (line) => say(`        ${line}`) });
  say(`  [2/3] starting the Temporal dev server (${cli}) ...`);
  const server = await startDevServer({
    cli,
    ip: DEV_IP,
    port: DEV_PORT,
    uiPort: DEV_UI_PORT,
    dbFile: path.join(varDir, 'temporal.sqlite'),
    logFile: path.join(varDir, 'temporal-dev.log'),
    namespaces: config.temporal.namespace === 'default' ? [] : [config.temporal.namespace],
  });
  // The dev server is local: point the worker at it whatever the config says.
  process.env.TEMPORAL_ADDRESS = server.address;

  const logger = createLogger('qlik-audit-dev');
  installRuntime(logger);
  let worker;
  try {
    say('  [3/3] starting the worker ...');
    worker = await startWorker(config, logger);
  } catch (err) {
    await server.stop();
    throw err;
  }

  say('');
  say(`Temporal Web UI:  ${server.uiUrl}`);
  say(`Temporal gRPC:    ${server.address}  (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`);
  if (values.demo) say('Demo: the simulated Qlik Sense and sample data are not part of this build yet.');
  say('Ready. Press Ctrl-C to stop.');

  // Ctrl-C / SIGTERM: the SDK shuts the worker down on these signals; then we stop the server.
  // Every caller waits for the same stop, so the process never exits before the server is gone.
  let stopped: Promise<void> | undefined;
  const stopAll = () =>
    (stopped ??= (async () => {
      say('Stopping ...');
      await worker.shutdown().catch(() => undefined);
      await server.stop();
    })());
  process.once('SIGINT', stopAll);
  process.once('SIGTERM', stopAll);
  const serverExited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  const serverDied = await Promise.race([worker.done.then(() => false), serverExited.then(() => stopped === undefined)]);
  await stopAll();
  if (serverDied) logger.error(`Temporal dev server exited unexpectedly; see ${path.join(varDir, 'temporal-dev.log')}`);
  say('Stopped.');
  return serverDied ? 1 : 0;
}
