// `qlik-audit`: the command line (SPEC section 2). Each command lives in its own file.
import { describeError, EXIT_USAGE, exitCodeFor } from './errors';

type Command = (argv: string[]) => Promise<number>;

// Each command is loaded only when it runs: `logs verify` or `--help` need neither the Temporal
// worker nor the HTTP server. (require, not import(): this is a CommonJS package run through tsx's
// CommonJS hook.)
/* eslint-disable @typescript-eslint/no-require-imports */
const commands: Record<string, { load: () => Promise<Command>; summary: string }> = {
  dev: { load: async () => (require('./dev') as typeof import('./dev')).devCommand, summary: 'local stack: Temporal dev server + UI, worker (--demo: with sample data)' },
  worker: { load: async () => (require('./worker') as typeof import('./worker')).workerCommand, summary: 'run a worker for all workflows and activities' },
  receiver: { load: async () => (require('./receiver') as typeof import('./receiver')).receiverCommand, summary: 'run the event API (POST /api/v1/audit-event, Butler SOS compatible)' },
  serve: { load: async () => (require('./serve') as typeof import('./serve')).serveCommand, summary: 'worker and event API in one process (screenshot runs start eagerly on it)' },
  setup: { load: async () => (require('./setup') as typeof import('./setup')).setupCommand, summary: 'prepare the Temporal namespace (search attributes); run once per namespace' },
  logs: { load: async () => (require('./logs') as typeof import('./logs')).logsCommand, summary: 'AuditSecurity logs: verify, ingest, schedule, verify-store' },
  audit: { load: async () => (require('./audit') as typeof import('./audit')).auditCommand, summary: "the audit trail: a user's timeline, evidence bundles, the retention schedule" },
  'codec-server': { load: async () => (require('./codec-server') as typeof import('./codec-server')).codecServerCommand, summary: "the Temporal Web UI's remote codec endpoint (decodes encrypted payloads for operators)" },
  alerts: { load: async () => (require('./alerts') as typeof import('./alerts')).alertsCommand, summary: 'detections and alerts: list them, send a test alert, run the detections now' },
  screenshot: { load: async () => (require('./screenshot') as typeof import('./screenshot')).screenshotCommand, summary: 'start captureScreenshot for an event file (--wait for the result)' },
};
/* eslint-enable @typescript-eslint/no-require-imports */

const HELP = `Usage: qlik-audit <command> [options]

Durable Temporal workflows for the Qlik Sense audit trail.

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run 'qlik-audit <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : EXIT_USAGE;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    process.stderr.write(`qlik-audit: unknown command '${name}' (see qlik-audit --help)\n`);
    return EXIT_USAGE;
  }
  try {
    return await (await command.load())(rest);
  } catch (err) {
    process.stderr.write(`qlik-audit ${name}: ${describeError(err, rest.includes('--verbose'))}\n`);
    return exitCodeFor(err);
  }
}

/** Resolves once everything written to `stream` so far has reached the reader (a pipe may lag behind). */
function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.once('error', () => resolve()); // EPIPE: the reader went away (`| head`); nothing more to deliver
    stream.write('', () => resolve());
  });
}

/**
 * Ends the process with `code` once stdout and stderr have drained: `… --json | jq` gets the whole
 * report, however slowly it reads. Then exits explicitly, so a connection or timer a command left
 * open cannot keep a finished command alive.
 */
async function finish(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

main(process.argv.slice(2)).then(finish, (err) => {
  process.stderr.write(`qlik-audit: ${describeError(err, true)}\n`);
  return finish(1);
});
