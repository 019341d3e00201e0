// Starting captureScreenshot for one event — the only place that does it, used by the CLI and the
// event receiver. The workflow id is `screenshot-{eventId}`: a second start of the same event,
// whether the first run is still going or long finished, returns the first run and downloads nothing.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { parseQlikIdentity } from '../activities/identity';
import { screenshotWorkflowId, type ScreenshotEvent } from '../common/audit-event';
import { QlikAppId, QlikUserDirectory, QlikUserId } from '../common/search-attributes';
import type { captureScreenshot } from '../workflows';

export interface StartedScreenshot {
  workflowId: string;
  runId: string;
  handle: WorkflowHandle<typeof captureScreenshot>;
}

/** One line the Temporal UI shows in the run list: user, app, sheet. */
export function screenshotSummary(event: ScreenshotEvent): string {
  const { user, appName, sheetName } = event.payload.context;
  return `Screenshot for ${user || '(no user)'} in app ${appName} / sheet ${sheetName}`.slice(0, 200);
}

export async function startCaptureScreenshot(client: Client, taskQueue: string, event: ScreenshotEvent): Promise<StartedScreenshot> {
  const workflowId = screenshotWorkflowId(event.eventId);
  const user = parseQlikIdentity(event.payload.context.user);
  try {
    const handle = await client.workflow.start<typeof captureScreenshot>('captureScreenshot', {
      taskQueue,
      workflowId,
      args: [event],
      workflowIdConflictPolicy: 'USE_EXISTING', // running: return it
      workflowIdReusePolicy: 'REJECT_DUPLICATE', // finished: never run again
      staticSummary: screenshotSummary(event),
      staticDetails: `Audit.qs event ${event.eventId} (correlation ${event.correlationId}) at ${event.timestamp}`,
      typedSearchAttributes: [
        { key: QlikAppId, value: event.payload.context.appId },
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
