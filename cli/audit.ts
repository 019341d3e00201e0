// `qlik-audit audit <timeline|evidence|schedule>`: the audit trail (SPEC 6) for auditors.
import { parseQlikIdentity } from '../common/qlik-identity';
import type { Config } from '../common/config';
import { redactStoreUrl } from '../common/store-url';
import { storageDirectories } from '../common/stored-files';
import { withClient } from '../client/connect';
import { RETENTION_SCHEDULE_ID, upsertRetentionSchedule } from '../client/retention-schedule';
import { writeEvidence } from '../audit-trail/evidence';
import { openStore, type AuditStore } from '../store/store';
import { timeline, type TimelineEntry } from '../store/timeline';
import { unprovenOnly, type StoreVerification } from '../store/verify-store';
import { checkStore } from '../client/store-check';
import { instant, parseCommand, printHelp, requireConfig, runSubcommand } from './args';
import { EXIT_OK, UsageError } from './errors';

const timelineSpec = {
  usage: 'qlik-audit audit timeline --config <file> --user DIR\\ID [--from T] [--to T] [--json]',
  help: `
One user's audit trail from the store, oldest first, merged from three sources:
  audit-qs      what they did in the app (Audit.qs events: selections, sheets, objects, bookmarks, ...)
  screenshot    what they saw (each screenshot run: stored with its file and sha256, or why not)
  security-log  what Qlik Sense recorded (AuditSecurity rows, with their checksum verification)
matched on the Qlik user (UserDirectory and UserId, exactly as Qlik writes them).

Options:
  --user DIR\\ID     the Qlik user, e.g. ACME\\jdoe (or 'UserDirectory=ACME; UserId=jdoe')
  --from T          from this time on (inclusive): 2026-11-01, 2026-11-01T08:00:00Z, ...
  --to T            up to this time (exclusive); dates without a time zone are UTC
  --json            one JSON object per line: {"time","source","type","app","detail","user",...}
  --config <file>   YAML configuration (auditSecurityLog.store is read)
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, user: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, json: { type: 'boolean' } },
} as const;

const evidenceSpec = {
  usage: 'qlik-audit audit evidence --config <file> --user DIR\\ID --from T --to T --out FILE.zip',
  help: `
Writes an evidence bundle for an auditor: one zip with the user's timeline (JSON lines and CSV),
every screenshot of the period with its sidecar, the user's AuditSecurity rows with their
verification results and the findings on their files, the store's verify-store report, a
README.txt on how to check it, and MANIFEST.sha256 over all of it (sha256sum -c MANIFEST.sha256).
Prints the sha256 of the zip: keep it with the request, it pins the bundle.

Options:
  --user DIR\\ID     the Qlik user
  --from T / --to T the period (from inclusive, to exclusive)
  --out FILE.zip    where to write it (written under FILE.zip.part, renamed when complete)
  --json            print the summary as JSON
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: {
    config: { type: 'string', short: 'c' },
    user: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' },
  },
} as const;

const scheduleSpec = {
  usage: 'qlik-audit audit schedule --config <file>',
  help: `
Creates or updates the Temporal Schedule "${RETENTION_SCHEDULE_ID}" from auditTrail: every
auditTrail.every (default 1d) it deletes Audit.qs events and screenshot files older than
auditTrail.retentionDays, except for users and apps under auditTrail.legalHold. AuditSecurity rows
are never purged. Each purge is recorded in the store (audit_purges) with who configured it.
With retentionDays 0 (keep forever) the schedule is removed.

Options:
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' } },
} as const;

function userOption(text: string | undefined, usage: string) {
  if (!text) throw new UsageError(`missing --user DIR\\ID (usage: ${usage})`);
  const user = parseQlikIdentity(text);
  if (!user) throw new UsageError(`--user '${text}': expected DIRECTORY\\userid, e.g. ACME\\jdoe`);
  return user;
}

async function withStore<T>(config: Config, fn: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await openStore(config.auditSecurityLog.store);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A progress line on stderr while a long query runs (terminals only; cleared at the end). */
function progressLine() {
  const tty = process.stderr.isTTY;
  let shown = false;
  return {
    show(text: string) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K${text}`);
      shown = true;
    },
    clear() {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}

const SOURCE_LABEL: Record<string, string> = { 'audit-qs': 'Audit.qs', screenshot: 'screenshot', 'security-log': 'security log' };

function tableLine(entry: TimelineEntry, width: number): string {
  const time = entry.time.replace('T', ' ').replace('Z', '');
  const head = `${time}  ${(SOURCE_LABEL[entry.source] ?? entry.source).padEnd(12)}  ${entry.type.slice(0, 36).padEnd(36)}  ${entry.app.slice(0, 20).padEnd(20)}  `;
  const room = Math.max(30, width - head.length);
  return `${head}${entry.detail.length > room ? `${entry.detail.slice(0, room - 1)}…` : entry.detail}`;
}

async function timelineCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(timelineSpec, argv);
  if (values.help) return printHelp(timelineSpec), EXIT_OK;
  const config = requireConfig(values.config, timelineSpec.usage);
  const user = userOption(values.user, timelineSpec.usage);
  const from = instant('from', values.from);
  const to = instant('to', values.to);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  return withStore(config, async (store) => {
    const progress = progressLine();
    const width = process.stdout.isTTY ? process.stdout.columns || 160 : 1000;
    if (!values.json) out(`${'TIME (UTC)'.padEnd(23)}  ${'SOURCE'.padEnd(12)}  ${'TYPE'.padEnd(36)}  ${'APP'.padEnd(20)}  DETAIL`);
    let count = 0;
    const counts: Record<string, number> = {};
    let last = Date.now();
    for await (const entry of timeline(store, { ...user, from, to })) {
      count++;
      counts[entry.source] = (counts[entry.source] ?? 0) + 1;
      if (Date.now() - last > 300) {
        last = Date.now();
        progress.show(`reading ... ${count} entries (at ${entry.time})`);
      }
      if (values.json) out(JSON.stringify(entry));
      else out(tableLine(entry, width));
    }
    progress.clear();
    if (!values.json) {
      const parts = Object.entries(counts).map(([source, n]) => `${n} ${SOURCE_LABEL[source] ?? source}`);
      out(`${count} entries for ${user.userDirectory}\\${user.userId}${from || to ? ` from ${from ?? 'the start'} to ${to ?? 'now'}` : ''}${parts.length ? `: ${parts.join(', ')}` : ''}`);
    }
    return EXIT_OK;
  });
}

/** The store check in one phrase: intact only when proven against anchors. */
function storeCheck(report: StoreVerification): string {
  if (report.ok) return `intact (proven against ${report.anchorsChecked} anchor(s))`;
  if (unprovenOnly(report)) return `NOT proven: ${report.problems[0]?.detail ?? 'no anchor checked'}`;
  return `NOT intact (${report.problems.length} problem(s); see verify-store.json in the bundle)`;
}

async function evidenceCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(evidenceSpec, argv);
  if (values.help) return printHelp(evidenceSpec), EXIT_OK;
  const config = requireConfig(values.config, evidenceSpec.usage);
  const user = userOption(values.user, evidenceSpec.usage);
  const from = instant('from', values.from);
  const to = instant('to', values.to);
  if (!from || !to) throw new UsageError(`--from and --to are required: an evidence bundle covers a stated period (usage: ${evidenceSpec.usage})`);
  if (from >= to) throw new UsageError(`--from ${from} is not before --to ${to}`);
  if (!values.out) throw new UsageError(`missing --out FILE.zip (usage: ${evidenceSpec.usage})`);
  const out = values.out;
  const note = (line: string) => process.stderr.write(`qlik-audit audit evidence: ${line}\n`);
  return withStore(config, async (store) => {
    // "intact" only when proven against anchors: fails closed, as verify-store does.
    const { report: verifyReport, notes } = await checkStore(config, store);
    for (const line of notes) note(line);
    const progress = progressLine();
    const summary = await writeEvidence(store, {
      query: { ...user, from, to },
      verifyReport,
      out,
      producer: `qlik-audit audit evidence (store ${redactStoreUrl(config.auditSecurityLog.store)})`,
      storageDirectories: storageDirectories(config),
      anchorFile: config.auditSecurityLog.anchorFile,
      progress: (s) => progress.show(`writing ... ${s.entries} entries, ${s.screenshots} screenshots`),
    });
    progress.clear();
    if (values.json) process.stdout.write(`${JSON.stringify({ ...summary, storeIntact: verifyReport.ok })}\n`);
    else {
      process.stdout.write(
        `wrote ${summary.out}: ${summary.entries} timeline entries, ${summary.screenshots} screenshots, ${summary.securityRows} AuditSecurity rows, ${summary.files} files\n` +
          `  store check: ${storeCheck(verifyReport)}\n` +
          (summary.screenshotsRefused.length ? `  ${summary.screenshotsRefused.length} screenshot path(s) outside the storage targets refused, not read (listed in screenshots/REFUSED.txt)\n` : '') +
          (summary.screenshotsMissing.length ? `  ${summary.screenshotsMissing.length} screenshot file(s) not found (listed in screenshots/MISSING.txt)\n` : '') +
          `  sha256 of the bundle: ${summary.zipSha256}  (keep it: it pins this bundle)\n` +
          `  check it: unzip it, then sha256sum -c MANIFEST.sha256\n`,
      );
    }
    return EXIT_OK;
  });
}

async function scheduleCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(scheduleSpec, argv);
  if (values.help) return printHelp(scheduleSpec), EXIT_OK;
  const config = requireConfig(values.config, scheduleSpec.usage);
  return withClient(config, async (client, taskQueue) => {
    const outcome = await upsertRetentionSchedule(client, config, taskQueue, `qlik-audit audit schedule --config ${values.config}`);
    const { retentionDays, legalHold, every } = config.auditTrail;
    process.stdout.write(`${JSON.stringify({ scheduleId: RETENTION_SCHEDULE_ID, outcome, retentionDays, every, legalHold })}\n`);
    return EXIT_OK;
  });
}

const subcommands: Record<string, (argv: string[]) => Promise<number>> = {
  timeline: timelineCommand,
  evidence: evidenceCommand,
  schedule: scheduleCommand,
};

export function auditCommand(argv: string[]): Promise<number> {
  return runSubcommand(
    'audit',
    subcommands,
    "  timeline --config F --user DIR\\ID [--from T] [--to T] [--json]   one user's audit trail\n" +
      '  evidence --config F --user DIR\\ID --from T --to T --out F.zip    an evidence bundle for an auditor\n' +
      '  schedule --config F                                              create/update the retention schedule\n',
    argv,
  );
}
