// `qlik-audit logs <verify|…>`: Qlik AuditSecurity logs (SPEC 5).
import { buildChains, discoverLogFiles, UnreadablePathError } from '../activities/audit-log/log-files';
import { verifyChains, type Finding, type FileSummary } from '../activities/audit-log/scanner';
import { printHelp, parseCommand } from './args';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';

const verifySpec = {
  usage: 'qlik-audit logs verify PATH... [--json] [--sequence-max N]',
  help: `
Verifies Qlik Sense AuditSecurity log files offline (no Temporal, no database). PATH is a file or a
folder (searched recursively, e.g. C:\\ProgramData\\Qlik\\Sense\\Log or the ArchivedLogs share).
Files of one machine and service form a chain: archives by close time, then the live .txt file.

Checks: every row's SHA-1 checksum; Sequence# continuity within files and across the chain
(restarts at 1 are reported as info, wrap-around after --sequence-max is fine); a Signature line
on every archived file that was rolled over (presence and format only: Qlik's signature algorithm
is not public, so its value cannot be verified).

Exit codes: 0 no error findings, 1 error findings, 2 bad usage or an unreadable path.

Options:
  --json             print {"ok","files","findings"} (README: "Verify output")
  --sequence-max N   highest Sequence# before it wraps to 1 (default 2147483647)
  -h, --help         this help`,
  options: { json: { type: 'boolean' }, 'sequence-max': { type: 'string' } },
  positionals: true,
} as const;

function printHuman(result: { ok: boolean; files: FileSummary[]; findings: Finding[] }): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${result.files.length} file(s)`);
  for (const f of result.files) {
    const range = f.firstSequence === null ? 'no rows' : `rows ${f.rows}, sequence ${f.firstSequence}..${f.lastSequence}`;
    out(`  ${f.live ? 'live    ' : 'archived'} ${f.path}\n           ${f.machine}/${f.service}${f.closedAt ? `, closed ${f.closedAt}` : ''}, ${range}, signature ${f.signature}`);
  }
  for (const severity of ['error', 'info'] as const) {
    const list = result.findings.filter((x) => x.severity === severity);
    if (list.length === 0) continue;
    out(`${severity === 'error' ? 'Errors' : 'Info'} (${list.length}):`);
    for (const x of list) out(`  ${x.kind.padEnd(20)} ${x.file}:${x.line}${x.sequence !== undefined ? ` seq ${x.sequence}` : ''}  ${x.detail}`);
  }
  out(result.ok ? 'OK: no error findings' : `NOT OK: ${result.findings.filter((x) => x.severity === 'error').length} error finding(s)`);
}

async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(verifySpec, argv);
  if (values.help) return printHelp(verifySpec), EXIT_OK;
  if (positionals.length === 0) throw new UsageError(`no PATH given (usage: ${verifySpec.usage})`);
  const sequenceMax = values['sequence-max'] === undefined ? 2147483647 : Number(values['sequence-max']);
  if (!Number.isInteger(sequenceMax) || sequenceMax < 1) throw new UsageError('--sequence-max must be a positive whole number');
  let files;
  try {
    files = await discoverLogFiles(positionals);
  } catch (err) {
    if (err instanceof UnreadablePathError) throw new UsageError(err.message);
    throw err;
  }
  const progress = !values.json && process.stderr.isTTY;
  const result = await verifyChains(buildChains(files), sequenceMax, progress ? (f) => process.stderr.write(`verified ${f.path}\n`) : undefined);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printHuman(result);
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = { verify: verifyCommand };

export async function logsCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const run = name ? subcommands[name] : undefined;
  if (!run) {
    const help = `Usage: qlik-audit logs <command>\n\nCommands:\n  verify PATH... [--json]   verify AuditSecurity logs offline\n`;
    if (name === '--help' || name === '-h') return process.stdout.write(help), EXIT_OK;
    process.stderr.write(`qlik-audit logs: ${name ? `unknown command '${name}'` : 'missing command'}\n${help}`);
    return EXIT_USAGE;
  }
  return run(rest);
}

