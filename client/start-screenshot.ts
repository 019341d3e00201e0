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
  /** The server handed the run's first workflow task straight to a worker of this process. */
  eagerlyStarted?: boolean;
}

export interface StartOptions {
  /**
   * Eager workflow start: the start request asks the server to hand the first workflow task back
   * in its response to a worker polling the task queue in this process, skipping one round trip
   * through matching. Needs a client on that worker's NativeConnection (`qlik-audit dev`, `serve`).
   */
  eager?: boolean;
}

/** One line the Temporal UI shows in the run list: user, app, sheet. */
export function screenshotSummary(event: ScreenshotEvent): string {
  const { user, appName, sheetName } = eventContext(event);
  return `Screenshot for ${user || '(no user)'} in app ${appName || '(no app)'} / sheet ${sheetName || '(no sheet)'}`.slice(0, 200);
}

export async function startCaptureScreenshot(client: Client, taskQueue: string, event: ScreenshotEvent, options: StartOptions = {}): Promise<StartedScreenshot> {
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
      ...(options.eager ? { requestEagerStart: true } : {}),
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
    return { workflowId, runId: handle.firstExecutionRunId, handle, eagerlyStarted: handle.eagerlyStarted };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    const handle = client.workflow.getHandle<typeof captureScreenshot>(workflowId);
    const { runId } = await handle.describe(); // the finished run of the same event
    return { workflowId, runId, handle };
  }
}
