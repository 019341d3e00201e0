// `qlik-audit logs <verify|…>`: Qlik AuditSecurity logs (SPEC 5).
import { verifyScreenshotFiles } from '../store/verify-files';
import { storageDirectories } from '../common/stored-files';
import { buildChains, discoverLogFiles, UnreadablePathError } from '../audit-log/log-files';
import { verifyChains, type Finding, type FileSummary } from '../audit-log/scanner';
import { hostname, userInfo } from 'node:os';
import { chainAnchor, openStore, storeId } from '../store/store';
import { AnchorFileError, appendAnchor, readAnchorLog } from '../store/anchor-log';
import { notAnchored } from '../store/anchor-check';
import { unprovenOnly, verifyStore } from '../store/verify-store';
import { configuredDigestKey, DIGEST_CHAIN_LOCK, type DigestKey } from '../store/digest';
import { collectAnchors, parseAnchor, type CollectedAnchors } from '../client/ingest-anchors';
import type { Config } from '../common/config';
import { withClient } from '../client/connect';
import { waitWithWorkerWatch } from '../client/worker-watch';
import { startIngestNow, upsertIngestSchedule, INGEST_SCHEDULE_ID } from '../client/ingest-schedule';
import { DETECTION_SCHEDULE_ID, upsertDetectionSchedule } from '../client/detection-schedule';
import { parseCommand, printHelp, requireConfig, runSubcommand } from './args';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './errors';

const verifySpec = {
  usage: 'qlik-audit logs verify PATH... [--json] [--sequence-max N] [--columns A,B,...]',
  help: `
Verifies Qlik Sense AuditSecurity log files offline (no Temporal, no database). PATH is a file or a
folder (searched recursively, e.g. C:\\ProgramData\\Qlik\\Sense\\Log or the ArchivedLogs share).
Files of one machine and service form a chain: archives by close time, then the live .txt file.

Checks: the header (exactly Qlik's documented columns, in order: it is covered by no checksum);
every row's SHA-1 checksum; Sequence# continuity within files and across the chain
(restarts at 1 are reported as info, wrap-around after --sequence-max is fine); a Signature line
on every archived file that was rolled over (presence and format only: Qlik's signature algorithm
is not public, so its value cannot be verified).

Exit codes: 0 no error findings, 1 error findings, 2 bad usage, an unreadable path, or no
AuditSecurity file at all in the paths (nothing verified is not OK).

Options:
  --json             print {"ok","files","findings"} (docs/integrity.md); with no file
                     found {"ok":false,"files":[],"findings":[],"reason"}
  --sequence-max N   highest Sequence# before it wraps to 1 (default 2147483647)
  --columns A,B,...  the AuditSecurity columns your site logs, if it changed the log4net layout
                     (default: Qlik's documented layout; any other header is a bad-header error)
  -h, --help         this help`,
  options: { json: { type: 'boolean' }, 'sequence-max': { type: 'string' }, columns: { type: 'string' } },
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
  if (files.length === 0) {
    // A typo in a path must not read as a clean audit.
    const reason = `no AuditSecurity log file in ${positionals.join(', ')} (looked for <Machine>_AuditSecurity_<Service>.txt and <Machine>_AuditSecurity_<Service>_<YYYY-MM-DDTHH.mm.ss>Z.log, in sub-folders too)`;
    if (values.json) process.stdout.write(`${JSON.stringify({ ok: false, files: [], findings: [], reason })}\n`);
    process.stderr.write(`qlik-audit logs verify: ${reason}\n`);
    return EXIT_USAGE;
  }
  const progress = !values.json && process.stderr.isTTY;
  const columns = values.columns ? values.columns.split(',').map((c) => c.trim()).filter(Boolean) : undefined;
  const result = await verifyChains(buildChains(files), { sequenceMax, columns, onFile: progress ? (f) => process.stderr.write(`verified ${f.path}\n`) : undefined });
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else printHuman(result);
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

const ingestSpec = {
  usage: 'qlik-audit logs ingest --config <file> [--wait]',
  help: `
Starts one ingestAuditSecurityLogs run now (workflow id ${INGEST_SCHEDULE_ID}-manual; while one runs, a second
start returns it). Prints {"workflowId","runId"}, or with --wait the summary:
{"runId","chains","files","rowsStored","findings":{kind:count},"durationMs","anchor":{"storeId","chainHead",
"batches","rows","anchorLog","anchorNumber","anchorFile"}} — the anchor, also appended to the anchor log
(auditSecurityLog.anchorFile), is what 'logs verify-store' checks the store against. A run fails
with StoreTampered, appending nothing, when the chain no longer holds the last anchor ('logs reanchor').

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
    const warn = (line: string) => process.stderr.write(`qlik-audit logs ingest: ${line}\n`);
    const output = values.wait ? await waitWithWorkerWatch(client, taskQueue, handle.result(), warn) : { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    process.stdout.write(`${JSON.stringify(output)}\n`);
    return EXIT_OK;
  });
}

const scheduleSpec = {
  usage: 'qlik-audit logs schedule --config <file>',
  help: `
Creates or updates the Temporal Schedule "${INGEST_SCHEDULE_ID}": ingestAuditSecurityLogs every
auditSecurityLog.every; a run still going when the next is due is not overlapped (SKIP); runs missed
while Temporal was down are caught up within 1 hour. Also creates or updates the detection schedule
(detect-alerts, every detections.every): see 'qlik-audit alerts --help'. See both in the Web UI
under Schedules.

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
    const detections = await upsertDetectionSchedule(client, config, taskQueue);
    process.stdout.write(`${JSON.stringify({ scheduleId: INGEST_SCHEDULE_ID, outcome, every: config.auditSecurityLog.every, detections: { scheduleId: DETECTION_SCHEDULE_ID, outcome: detections, every: config.detections.every } })}\n`);
    return EXIT_OK;
  });
}

const verifyStoreSpec = {
  usage: 'qlik-audit logs verify-store --config <file> [--json] [--offline] [--files] [--anchor HEAD:BATCHES]...',
  help: `
Recomputes the store's digest chain (auditSecurityLog.store): every AuditSecurity batch's rows and
findings, every Audit.qs event, screenshot outcome and purge (purged items by their tombstones) as
stored, each entry's link to the one before, its digest — HMAC-SHA256 under the key when the chain
is keyed (QLIK_AUDIT_DIGEST_KEY or auditSecurityLog.digestKey; a keyed store cannot be checked
without it). Then checks the chain against the anchors kept outside the database: every entry of
the anchor log (auditSecurityLog.anchorFile) since the newest re-anchoring, and the anchors of the
newest ingest runs in Temporal history while retention keeps them — which show the newest entries
deleted, a chain recomputed whole, a store emptied or replaced. It fails closed: when the store holds
entries and no anchor can be read, the store is not proven. Exit 0 intact and proven against the
anchors, 1 tampered or not provable (the output says which), 2 bad usage or configuration (or no
key for a keyed store).

Options:
  --config <file>        YAML configuration
  --anchor HEAD:BATCHES  check against this anchor only (an ingest run's
                         anchor.chainHead and anchor.batches); may be given more than once
  --offline              the chain alone, no anchors: exit 0 when it holds together, and the output
                         says the anchors were not checked
  --files                also hash every stored screenshot file again and compare it with the sha256
                         recorded when it was stored (file-changed, file-missing, file-outside-targets)
  --json                 print {"ok","keyed","batches","rows","anchorsChecked","problems":[{"kind","batch"?,"detail"}],
                         "trailItems"} ("offline": true with --offline; "reanchored": [...] when any)
  -h, --help             this help`,
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, anchor: { type: 'string', multiple: true }, offline: { type: 'boolean' }, files: { type: 'boolean' } },
} as const;

/** Anchors from --anchor (those alone), else the anchor log's and Temporal's (client/ingest-anchors.ts). */
async function anchorsFor(config: Config, key: DigestKey | undefined, given: string[] | undefined, storeId?: string): Promise<CollectedAnchors> {
  if (given?.length) {
    return {
      anchors: given.map((text) => {
        const anchor = parseAnchor(text);
        if (!anchor) throw new UsageError(`--anchor ${text.slice(0, 80)}: expected HEAD:BATCHES, a 64-hex digest and a batch count`);
        return anchor;
      }),
      problems: [],
      reanchored: [],
      notes: [],
    };
  }
  return collectAnchors(config, key, { storeId });
}

async function verifyStoreCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(verifyStoreSpec, argv);
  if (values.help) return printHelp(verifyStoreSpec), EXIT_OK;
  const config = requireConfig(values.config, verifyStoreSpec.usage);
  const key = configuredDigestKey(config.auditSecurityLog.digestKey);
  const store = await openStore(config.auditSecurityLog.store); // first: a store in use elsewhere fails at once
  let result;
  try {
    const found = values.offline ? undefined : await anchorsFor(config, key, values.anchor, await storeId(store));
    for (const note of found?.notes ?? []) process.stderr.write(`qlik-audit logs verify-store: ${note}\n`);
    result = await verifyStore(store, {
      key,
      anchors: found?.anchors ?? [],
      anchorProblems: found?.problems,
      required: true,
      offline: values.offline,
      anchorsUnavailable: found?.unavailable,
      sequenceMax: config.auditSecurityLog.sequenceMax,
    });
    if (found?.reanchored.length) result.reanchored = found.reanchored;
    if (values.files) {
      const files = await verifyScreenshotFiles(store, storageDirectories(config));
      result.filesChecked = files.filesChecked;
      result.problems.push(...files.problems);
      result.ok &&= files.problems.length === 0;
    }
  } finally {
    await store.close();
  }
  const missingKey = result.problems.find((p) => p.kind === 'key-missing');
  if (missingKey) throw new UsageError(missingKey.detail);
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const say = (line: string) => process.stdout.write(`${line}\n`);
    const chain = `${result.batches} batches, ${result.rows} rows, ${result.filesChecked !== undefined ? `${result.filesChecked} screenshot file(s) hashed, ` : ''}${result.keyed ? 'keyed chain (HMAC-SHA256)' : 'unkeyed chain (SHA-256: anyone who can write the database could recompute it; set a digest key)'}, ${result.offline ? 'anchors NOT checked (--offline)' : `${result.anchorsChecked} anchor(s) checked`}`;
    for (const r of result.reanchored ?? []) say(`RE-ANCHORED on ${r.at} by ${r.by} at ${r.batches} batches: ${r.reason} (anchors before it are not checked)`);
    if (result.ok) say(`OK: ${chain}: digest chain intact${result.offline ? ' (the chain alone: not proven against any anchor)' : ''}`);
    else {
      say(`${unprovenOnly(result) ? 'NOT PROVEN' : 'TAMPERED'}: ${chain}`);
      for (const p of result.problems) say(`  ${p.kind.padEnd(20)} ${p.detail}`);
      if (result.problemsNotListed) say(`  and ${result.problemsNotListed} more`);
    }
  }
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

const reanchorSpec = {
  usage: 'qlik-audit logs reanchor --config <file> --reason "<why>" [--json]',
  help: `
When the digest chain no longer holds its last anchor (a restore from backup lost the newest batches,
a database was replaced, or it was tampered with), ingestion refuses to append or anchor anything:
its runs fail with StoreTampered. Once you know why, this command records your decision in the
anchor log (auditSecurityLog.anchorFile) — who (user@host), when, your reason, the chain's head and
what 'logs verify-store --offline' and the anchor check found — and anchors the chain as it is now.
Ingestion then goes on. verify-store lists every re-anchoring and checks the store against the
anchors since the newest one. Nothing in the database is changed, and the key (if any) is needed.

Options:
  --config <file>   YAML configuration
  --reason "<why>"  why the chain may be anchored as it is (required; kept in the anchor log)
  --json            print the anchor log entry written
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, reason: { type: 'string' }, json: { type: 'boolean' } },
} as const;

async function reanchorCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(reanchorSpec, argv);
  if (values.help) return printHelp(reanchorSpec), EXIT_OK;
  const config = requireConfig(values.config, reanchorSpec.usage);
  const reason = values.reason?.trim();
  if (!reason) throw new UsageError(`missing --reason "<why>": a re-anchoring is recorded with its reason (usage: ${reanchorSpec.usage})`);
  const key = configuredDigestKey(config.auditSecurityLog.digestKey);
  const file = config.auditSecurityLog.anchorFile;
  const store = await openStore(config.auditSecurityLog.store);
  try {
    const log = await readAnchorLog(file, key);
    const why = await notAnchored(store, log.entries.at(-1), file);
    if (!why && log.problems.length === 0) throw new UsageError(`the chain holds its last anchor (${file}): nothing to re-anchor`);
    const chain = await verifyStore(store, { key, offline: true, sequenceMax: config.auditSecurityLog.sequenceMax });
    const missingKey = chain.problems.find((p) => p.kind === 'key-missing');
    if (missingKey) throw new UsageError(missingKey.detail);
    const found = [...(why ? [why] : []), ...log.problems.map((p) => p.detail), ...chain.problems.map((p) => `${p.kind}: ${p.detail}`)].slice(0, 50).map((line) => line.slice(0, 500));
    const entry = await store.transaction(async (sql) => {
      const head = await chainAnchor(sql);
      return appendAnchor(file, { type: 'reanchor', ...head, by: `${userInfo().username}@${hostname()}`, reason: reason.slice(0, 2000), found }, key);
    }, { lock: DIGEST_CHAIN_LOCK }).catch((err: unknown) => {
      if (err instanceof AnchorFileError) throw new UsageError(err.message.replace(' (retried)', ''));
      throw new UsageError(`${(err as Error).message.split('\n')[0]}: move the damaged anchor file aside (keep it for the auditors) and run reanchor again`);
    });
    if (values.json) process.stdout.write(`${JSON.stringify(entry)}\n`);
    else {
      process.stdout.write(`re-anchored: ${file} entry #${entry.n}, ${entry.batches} batches, head ${entry.chainHead.slice(0, 16)}…, by ${entry.by}\n`);
      for (const line of found) process.stdout.write(`  found: ${line}\n`);
    }
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = {
  reanchor: reanchorCommand,
  verify: verifyCommand,
  ingest: ingestCommand,
  schedule: scheduleCommand,
  'verify-store': verifyStoreCommand,
};

export function logsCommand(argv: string[]): Promise<number> {
  return runSubcommand(
    'logs',
    subcommands,
    '  verify PATH... [--json]            verify AuditSecurity logs offline\n' +
      '  ingest --config F [--wait]         one ingestion run now\n' +
      '  schedule --config F                create/update the ingestion schedule\n' +
      '  reanchor --config F --reason TEXT  record a decision to anchor the chain as it is\n' +
      '  verify-store --config F [--json]   check the store for changes after ingestion\n',
    argv,
  );
}

