// Starting captureScreenshot for one event — the only place that does it, used by the CLI and the
// event receiver. The workflow id is `screenshot-{eventId}`: a second start of the same event,
// whether the first run is still going or finished, returns that run and downloads nothing — unless
// it failed, when a repost starts a fresh one.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { parseQlikIdentity } from '../common/qlik-identity';
import { eventContext, screenshotWorkflowId, type ScreenshotEvent } from '../common/audit-event';
import { QlikAppId, QlikUserDirectory, QlikUserId } from '../common/search-attributes';
import type { captureScreenshot } from '../workflows';

export interface StartedScreenshot {
  workflowId: string;
  runId: string;
  handle: WorkflowHandle<typeof captureScreenshot>;
}

/** One line the Temporal UI shows in the run list: user, app, sheet. */
export function screenshotSummary(event: ScreenshotEvent): string {
  const { user, appName, sheetName } = eventContext(event);
  return `Screenshot for ${user || '(no user)'} in app ${appName || '(no app)'} / sheet ${sheetName || '(no sheet)'}`.slice(0, 200);
}

export async function startCaptureScreenshot(client: Client, taskQueue: string, event: ScreenshotEvent): Promise<StartedScreenshot> {
  const workflowId = screenshotWorkflowId(event.eventId);
  const context = eventContext(event);
  const user = parseQlikIdentity(context.user ?? '');
  try {
    const handle = await client.workflow.start<typeof captureScreenshot>('captureScreenshot', {
      taskQueue,
      workflowId,
      args: [event],
      workflowIdConflictPolicy: 'USE_EXISTING', // running: return it
      // Completed (stored, skipped, blocked): never again. Failed — its retry window ran out, or it
      // was refused — a repost starts a fresh run (e.g. after the outage or the access fix).
      workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY',
      staticSummary: screenshotSummary(event),
      staticDetails: `Audit.qs event ${event.eventId} (correlation ${event.correlationId || 'none'}) at ${event.timestamp}`,
      typedSearchAttributes: [
        ...(context.appId ? [{ key: QlikAppId, value: context.appId }] : []),
        ...(user
          ? [
              { key: QlikUserDirectory, value: user.userDirectory },
              { key: QlikUserId, value: user.userId },
            ]
          : []),
      ],
    });
    return { workflowId, runId: handle.firstExecutionRunId, handle };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof captureScreenshot>(workflowId);
    const { runId } = await handle.describe(); // the finished run of the same event
    return { workflowId, runId, handle };
  }
}
