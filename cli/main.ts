// `qlik-audit`: the command line (SPEC section 2). Each command lives in its own file.
import { describeError, EXIT_USAGE, exitCodeFor } from './errors';
import { devCommand } from './dev';
import { logsCommand } from './logs';
import { receiverCommand } from './receiver';
import { screenshotCommand } from './screenshot';
import { workerCommand } from './worker';

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, { run: Command; summary: string }> = {
  dev: { run: devCommand, summary: 'local stack: Temporal dev server + UI, worker (--demo: with sample data)' },
  worker: { run: workerCommand, summary: 'run a worker for all workflows and activities' },
  receiver: { run: receiverCommand, summary: 'run the event API (POST /api/v1/audit-event, Butler SOS compatible)' },
  logs: { run: logsCommand, summary: 'AuditSecurity logs: verify, ingest, schedule, verify-store' },
  screenshot: { run: screenshotCommand, summary: 'start captureScreenshot for an event file (--wait for the result)' },
};

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
  const command = commands[name];
  if (!command) {
    process.stderr.write(`qlik-audit: unknown command '${name}' (see qlik-audit --help)\n`);
    return EXIT_USAGE;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`qlik-audit ${name}: ${describeError(err, rest.includes('--verbose'))}\n`);
    return exitCodeFor(err);
  }
}

main(process.argv.slice(2)).then(
  // Exit explicitly: a finished command must not be kept alive by a connection or timer left open.
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`qlik-audit: ${describeError(err, true)}\n`);
    process.exit(1);
  },
);
