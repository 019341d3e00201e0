// `qlik-audit alerts <list|test|detect>`: detections and alerts (SPEC 7).
import { randomUUID } from 'node:crypto';
import { sendAlert } from '../alerts/send-alert';
import { withClient } from '../client/connect';
import { startDetectionNow } from '../client/detection-schedule';
import { listAlerts, type Alert } from '../store/detections';
import { openStore } from '../store/store';
import { instant, parseCommand, printHelp, requireConfig, runSubcommand } from './args';
import { EXIT_OK, UsageError } from './errors';

const listSpec = {
  usage: 'qlik-audit alerts list --config <file> [--since T] [--json]',
  help: `
The alerts the detections raised, newest first, with the sinks that acknowledged each. Stored in
auditSecurityLog.store (audit_alerts, under the digest chain).

Options:
  --since T         only alerts raised since T (2026-11-01, 2026-11-01T08:00:00Z; UTC without a zone)
  --json            one JSON object per line: {"id","rule","severity","key","summary","firstSeen","lastSeen","count","evidence","createdAt","deliveredTo"}
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, since: { type: 'string' }, json: { type: 'boolean' } },
} as const;

const testSpec = {
  usage: 'qlik-audit alerts test --config <file> --sink NAME',
  help: `
Sends a test alert (rule "test", severity low, not stored) to the sink NAME of alerts.sinks, now,
from this machine, and says whether the sink took it: the webhook's signature, the SIEM's syslog
listener and the SMTP server are checked the way real alerts use them.

Options:
  --sink NAME       the sink's name in alerts.sinks
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, sink: { type: 'string' } },
} as const;

const detectSpec = {
  usage: 'qlik-audit alerts detect --config <file> [--wait]',
  help: `
Starts one detection run now (the schedule detect-alerts runs them every detections.every; create it
with 'qlik-audit logs schedule'). With --wait, prints the run's summary JSON.

Options:
  --wait            wait for the run and print its result
  --config <file>   YAML configuration
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, wait: { type: 'boolean' } },
} as const;

async function listCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(listSpec, argv);
  if (values.help) return printHelp(listSpec), EXIT_OK;
  const config = requireConfig(values.config, listSpec.usage);
  const from = instant('since', values.since);
  const store = await openStore(config.auditSecurityLog.store);
  try {
    const alerts = await listAlerts(store, from);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    if (values.json) for (const a of alerts) out(JSON.stringify(a));
    else {
      out(`${'RAISED (UTC)'.padEnd(20)}  ${'SEVERITY'.padEnd(8)}  ${'RULE'.padEnd(20)}  ${'DELIVERED TO'.padEnd(16)}  SUMMARY`);
      for (const a of alerts) out(`${a.createdAt.slice(0, 19).replace('T', ' ')}  ${a.severity.padEnd(8)}  ${a.rule.padEnd(20)}  ${(a.deliveredTo.join(',') || '-').padEnd(16)}  ${a.summary}`);
      out(`${alerts.length} alert(s)${from ? ` since ${from}` : ''}`);
    }
    return EXIT_OK;
  } finally {
    await store.close();
  }
}

async function testCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(testSpec, argv);
  if (values.help) return printHelp(testSpec), EXIT_OK;
  const config = requireConfig(values.config, testSpec.usage);
  if (!values.sink) throw new UsageError(`missing --sink NAME (usage: ${testSpec.usage})`);
  const sink = config.alerts.sinks.find((s) => s.name === values.sink);
  if (!sink) throw new UsageError(`--sink ${values.sink}: alerts.sinks has ${config.alerts.sinks.length ? `only ${config.alerts.sinks.map((s) => s.name).join(', ')}` : 'no sinks'}`);
  const now = new Date().toISOString();
  const alert: Alert = { id: `test-${randomUUID()}`, rule: 'test', severity: 'low', key: 'test', summary: `A test alert from qlik-audit alerts test: sink ${sink.name} (${sink.type}) is reachable`, firstSeen: now, lastSeen: now, count: 1, evidence: [] };
  try {
    await sendAlert(sink, alert);
  } catch (err) {
    process.stderr.write(`qlik-audit alerts test: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${JSON.stringify({ sink: sink.name, type: sink.type, sent: true, alertId: alert.id })}\n`);
  return EXIT_OK;
}

async function detectCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(detectSpec, argv);
  if (values.help) return printHelp(detectSpec), EXIT_OK;
  const config = requireConfig(values.config, detectSpec.usage);
  return withClient(config, async (client, taskQueue) => {
    const handle = await startDetectionNow(client, taskQueue);
    process.stdout.write(`${JSON.stringify(values.wait ? await handle.result() : { workflowId: handle.workflowId, runId: handle.firstExecutionRunId })}\n`);
    return EXIT_OK;
  });
}

export function alertsCommand(argv: string[]): Promise<number> {
  return runSubcommand(
    'alerts',
    { list: listCommand, test: testCommand, detect: detectCommand },
    '  list --config F [--since T] [--json]   the alerts raised, with the sinks that acknowledged each\n' +
      '  test --config F --sink NAME            send a test alert to one sink now\n' +
      '  detect --config F [--wait]             run the detections now\n',
    argv,
  );
}
