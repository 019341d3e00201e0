// `qlik-audit setup --config F`: prepares the Temporal namespace (SPEC 2, 3.5). Idempotent.
import { DETECTION_SCHEDULE_ID, upsertDetectionSchedule } from '../client/detection-schedule';
import { setupNamespace } from '../client/namespace-setup';
import { clientOn, withConnection } from '../client/connect';
import { parseCommand, printHelp, requireConfig } from './args';
import { EXIT_FAILED, EXIT_OK } from './errors';

const spec = {
  usage: 'qlik-audit setup --config <file> [--json]',
  help: `
Prepares the configured Temporal namespace for qlik-audit: registers the search attributes
QlikUserId, QlikUserDirectory, QlikAppId and ScreenshotOutcome (Keyword), which make runs findable
in the Web UI and which every screenshot run sets. Safe to run again: what exists is left alone.
Run it once per namespace, before the first 'qlik-audit worker' / 'receiver'.

Self-hosted clusters and dev servers: registered through the Operator service (the client needs
the right to; a cluster admin can run it). Temporal Cloud does not allow that API: setup exits 1
and prints the tcld command to run instead (or add them in the Cloud UI: Namespace → Search Attributes).

Also creates or updates the detection schedule detect-alerts (detections.every; see 'qlik-audit
alerts --help').

Exit codes: 0 ready, 1 could not (the message says what to do), 2 bad usage or config.

Options:
  --config <file>   YAML configuration (temporal.*; TEMPORAL_* variables override it)
  --json            print {"namespace","registered","alreadyPresent","schedules"} instead of text
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
} as const;

export async function setupCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), EXIT_OK;
  const config = requireConfig(values.config, spec.usage);
  return withConnection(config, async (connection, target) => {
    const outcome = await setupNamespace(connection, target.namespace);
    if (!outcome.ok) {
      process.stderr.write(`qlik-audit setup: ${outcome.message}\n`);
      return EXIT_FAILED;
    }
    const { namespace, registered, alreadyPresent } = outcome;
    // The detection schedule (SPEC 7): alerts need no other step once a worker runs.
    const detections = await upsertDetectionSchedule(clientOn(connection, target, config), config, config.temporal.taskQueue);
    if (values.json) process.stdout.write(`${JSON.stringify({ namespace, registered, alreadyPresent, schedules: { [DETECTION_SCHEDULE_ID]: detections } })}\n`);
    else {
      const say = (line: string) => process.stdout.write(`${line}\n`);
      say(`Temporal ${target.address}, namespace ${namespace}:`);
      for (const name of registered) say(`  registered search attribute ${name} (Keyword)`);
      for (const name of alreadyPresent) say(`  search attribute ${name} (Keyword) already present`);
      say(`  schedule ${DETECTION_SCHEDULE_ID} ${detections} (detections every ${config.detections.every}; alerts to ${config.alerts.sinks.map((x) => x.name).join(', ') || 'no sink yet: set alerts.sinks'})`);
      say('Ready: start qlik-audit worker and qlik-audit receiver.');
    }
    return EXIT_OK;
  });
}
