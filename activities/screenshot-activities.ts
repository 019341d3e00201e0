// The activities of captureScreenshot, wired from the worker's config:
//   parseIdentity              who the event is about and who we download as (no I/O): capture-plan.ts
//   downloadAndStoreScreenshot QPS ticket (or cached session) → allow-listed download → atomic storage
// Ticket redemption and download share one activity on purpose: the ticket and the session cookie
// never leave the worker process, so they never reach workflow history (which every operator can
// read in the Temporal UI). Retries are still per step in effect: each failure has its own type.
// The activity heartbeats on a timer for as long as it runs. Its first attempt usually runs as a local
// activity (the fast path, see workflows/capture-screenshot.ts), where there is nothing to heartbeat.
import { Context } from '@temporalio/activity';
import { screenshotWorkflowId, type ScreenshotEvent } from '../common/audit-event';
import type { CaptureIdentity, ScreenshotResult } from '../common/screenshot-result';
import { ScreenshotCapture } from '../screenshots/capture';
import { downloadPolicy, planCapture } from '../screenshots/capture-plan';
import { QlikDownloader } from '../screenshots/qlik-download';
import type { ActivityDeps } from './deps';
import { startHeartbeat, type HeartbeatTimer } from './heartbeat';

const noHeartbeat: HeartbeatTimer = { progress() {}, stop() {} };

export interface DownloadAndStoreInput {
  event: ScreenshotEvent;
  identity: Extract<CaptureIdentity, { status: 'ok' }>;
}

export function createScreenshotActivities({ config, logger, cleanup }: ActivityDeps) {
  const settings = config.screenshots;
  const downloader = new QlikDownloader(config.qlik, settings, logger);
  const capture = new ScreenshotCapture(settings, downloader);
  // A stopped worker leaves no session open at Qlik for a user who never logged in there.
  cleanup?.add(() => downloader.close());
  const heartbeatTimeoutMs = downloadPolicy(settings).heartbeatTimeoutMs;

  async function parseIdentity(event: ScreenshotEvent): Promise<CaptureIdentity> {
    return planCapture(event, settings);
  }

  async function downloadAndStoreScreenshot({ event, identity }: DownloadAndStoreInput): Promise<ScreenshotResult> {
    const ctx = Context.current();
    const workflowId = ctx.info.workflowExecution?.workflowId ?? screenshotWorkflowId(event.eventId);
    // As a local activity (the fast path) it is bounded by a few seconds and the workflow task, and
    // Temporal keeps no heartbeats for it: progress is only reported by the regular activity.
    const beat = ctx.info.isLocal ? noHeartbeat : startHeartbeat(ctx, ctx.info.heartbeatTimeoutMs ?? heartbeatTimeoutMs, { step: 'start' });
    try {
      return await capture.capture(event, identity, {
        workflowId,
        number: ctx.info.attempt,
        signal: ctx.cancellationSignal,
        progress: beat.progress,
        log: logger.child({ workflowId, eventId: event.eventId, attempt: ctx.info.attempt }),
      });
    } finally {
      beat.stop();
    }
  }

  return { parseIdentity, downloadAndStoreScreenshot };
}
