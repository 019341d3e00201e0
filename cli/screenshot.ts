// `qlik-audit screenshot --config F --event E [--wait]`: start captureScreenshot for one event file.
import { readFileSync } from 'node:fs';
import { WorkflowFailedError } from '@temporalio/client';
import { isScreenshotEvent, SCREENSHOT_EVENT_TYPE, validateAuditEvent, type ScreenshotEvent } from '../common/audit-event';
import { withClient } from '../client/connect';
import { waitWithWorkerWatch } from '../client/worker-watch';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { parseCommand, printHelp, requireConfig } from './args';
import { EXIT_FAILED, EXIT_OK, UsageError } from './errors';

const spec = {
  usage: 'qlik-audit screenshot --config <file> --event <event.json> [--wait]',
  help: `
Starts the captureScreenshot workflow for one Audit.qs screenshot.url.received event (a JSON file).
The workflow id is screenshot-<eventId>: starting the same event again returns the existing run
and never downloads twice.

Prints one JSON object on stdout:
  without --wait  {"workflowId","runId"}
  with --wait     the result: {"workflowId","status":"stored"|"skipped"|"blocked","reason"?,
                  "savedPaths","sha256"?,"bytes"?,"contentType"?}
Exit codes: 0 started / completed (any status), 1 the workflow failed, 2 bad input.

Options:
  --config <file>   YAML configuration
  --event <file>    the event JSON
  --wait            wait for the result
  --verbose         show stack traces on errors
  -h, --help        this help`,
  options: { config: { type: 'string', short: 'c' }, event: { type: 'string', short: 'e' }, wait: { type: 'boolean' } },
} as const;

function readEvent(file: string): ScreenshotEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message.split('\n')[0];
    throw new UsageError(`cannot read event file ${file}: ${reason}`);
  }
  const validated = validateAuditEvent(raw);
  if (!validated.ok) throw new UsageError(`event file ${file} is not a valid Audit.qs event: ${validated.error}`);
  if (!isScreenshotEvent(validated.event)) throw new UsageError(`event file ${file} is a ${validated.event.type} event, not ${SCREENSHOT_EVENT_TYPE}`);
  return validated.event;
}

export async function screenshotCommand(argv: string[]): Promise<number> {
  const { values } = parseCommand(spec, argv);
  if (values.help) return printHelp(spec), EXIT_OK;
  const config = requireConfig(values.config, spec.usage);
  if (!values.event) throw new UsageError(`missing --event <file> (usage: ${spec.usage})`);
  const event = readEvent(values.event);
  return withClient(config, async (client, taskQueue) => {
    const started = await startCaptureScreenshot(client, taskQueue, event);
    if (!values.wait) {
      process.stdout.write(`${JSON.stringify({ workflowId: started.workflowId, runId: started.runId })}\n`);
      return EXIT_OK;
    }
    try {
      const warn = (line: string) => process.stderr.write(`qlik-audit screenshot: ${line}\n`);
      process.stdout.write(`${JSON.stringify(await waitWithWorkerWatch(client, taskQueue, started.handle.result(), warn))}\n`);
      return EXIT_OK;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const cause = (err.cause?.cause ?? err.cause) as Error | undefined;
      process.stderr.write(`qlik-audit screenshot: workflow ${started.workflowId} failed: ${cause?.message ?? err.message}\n`);
      return EXIT_FAILED;
    }
  });
}
