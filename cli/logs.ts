// `qlik-audit logs <verify|…>`: Qlik AuditSecurity logs (SPEC 5).
import { buildChains, discoverLogFiles, UnreadablePathError } from '../activities/audit-log/log-files';
import { verifyChains, type Finding, type FileSummary } from '../activities/audit-log/scanner';
import { openStore } from '../activities/audit-log/store';
import { verifyStore } from '../activities/audit-log/verify-store';
import { withClient } from '../client/connect';
import { startIngestNow, upsertIngestSchedule, INGEST_SCHEDULE_ID } from '../client/ingest-schedule';
import { parseCommand, printHelp, requireConfig } from './args';
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

const ingestSpec = {
  usage: 'qlik-audit logs ingest --config <file> [--wait]',
  help: `
Starts one ingestAuditSecurityLogs run now (workflow id ${INGEST_SCHEDULE_ID}-manual; while one runs, a second
start returns it). Prints {"workflowId","runId"}, or with --wait the summary:
{"runId","chains","files","rowsStored","findings":{kind:count},"durationMs"}.

Options:
  --config <file>   YAML configuration (auditSecurityLog.sources, auditSecurityLog.store)
  --wait            wait for the summary
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, wait: { type: 'boolean' } },
} as const;

async function ingestCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(ingestSpec, argv);
  if (values.help) return printHelp(ingestSpec), EXIT_OK;
  const config = requireConfig(values.config, ingestSpec.usage);
  return withClient(config, async (client, taskQueue) => {
    const handle = await startIngestNow(client, taskQueue);
    const output = values.wait ? await handle.result() : { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    process.stdout.write(`${JSON.stringify(output)}\n`);
    return EXIT_OK;
  });
}

const scheduleSpec = {
  usage: 'qlik-audit logs schedule --config <file>',
  help: `
Creates or updates the Temporal Schedule "${INGEST_SCHEDULE_ID}": ingestAuditSecurityLogs every
auditSecurityLog.every; a run still going when the next is due is not overlapped (SKIP); runs missed
while Temporal was down are caught up within 1 hour. See it in the Web UI under Schedules.

Options:
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' } },
} as const;

async function scheduleCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(scheduleSpec, argv);
  if (values.help) return printHelp(scheduleSpec), EXIT_OK;
  const config = requireConfig(values.config, scheduleSpec.usage);
  return withClient(config, async (client, taskQueue) => {
    const outcome = await upsertIngestSchedule(client, config, taskQueue);
    process.stdout.write(`${JSON.stringify({ scheduleId: INGEST_SCHEDULE_ID, outcome, every: config.auditSecurityLog.every })}\n`);
    return EXIT_OK;
  });
}

const verifyStoreSpec = {
  usage: 'qlik-audit logs verify-store --config <file> [--json]',
  help: `
Recomputes the store's digest chain (auditSecurityLog.store) and reports the first batch whose rows
were changed, deleted or added after ingestion, and rows that belong to no batch. Exit 0 intact,
1 tampered, 2 bad usage.
With a pglite: store, stop the worker first (an embedded store has one opener at a time).

Options:
  --config <file>   YAML configuration
  --json            print {"ok","batches","rows","brokenBatches","strayRows","firstBroken"?}
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
} as const;

async function verifyStoreCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(verifyStoreSpec, argv);
  if (values.help) return printHelp(verifyStoreSpec), EXIT_OK;
  const config = requireConfig(values.config, verifyStoreSpec.usage);
  const store = await openStore(config.auditSecurityLog.store);
  try {
    const result = await verifyStore(store);
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (result.ok) process.stdout.write(`OK: ${result.batches} batches, ${result.rows} rows, digest chain intact\n`);
    else {
      const b = result.firstBroken;
      if (b) process.stdout.write(`TAMPERED: ${result.brokenBatches} of ${result.batches} batches broken; first: batch ${b.batchId} (${b.machine}/${b.service} ${b.fileName}): ${b.reason}\n`);
      if (result.strayRows) process.stdout.write(`TAMPERED: ${result.strayRows} stored rows belong to no batch of the digest chain (added after ingestion, or their batch was deleted)\n`);
    }
    return result.ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    await store.close();
  }
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = {
  verify: verifyCommand,
  ingest: ingestCommand,
  schedule: scheduleCommand,
  'verify-store': verifyStoreCommand,
};

export async function logsCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const run = name ? subcommands[name] : undefined;
  if (!run) {
    const help =
      'Usage: qlik-audit logs <command>\n\nCommands:\n' +
      '  verify PATH... [--json]            verify AuditSecurity logs offline\n' +
      '  ingest --config F [--wait]         one ingestion run now\n' +
      '  schedule --config F                create/update the ingestion schedule\n' +
      '  verify-store --config F [--json]   check the store for changes after ingestion\n';
    if (name === '--help' || name === '-h') return process.stdout.write(help), EXIT_OK;
    process.stderr.write(`qlik-audit logs: ${name ? `unknown command '${name}'` : 'missing command'}\n${help}`);
    return EXIT_USAGE;
  }
  return run(rest);
}

