// captureScreenshot: one durable run per Audit.qs `screenshot.url.received` event (SPEC 3).
//   1. parseIdentity (local activity): who is the user, which virtual proxy? Unusable → `skipped`, no HTTP at all.
//   2. downloadAndStoreScreenshot: QPS ticket (or cached proxy session) over mutual TLS, download with
//      every redirect hop allow-listed, atomic write to every storage target. The first attempt runs
//      as a local activity in the same workflow task (the fast path: one workflow task per screenshot,
//      no activity task); if it is slow or fails transiently, the run continues with the regular
//      activity: retries with backoff, heartbeats that let another worker take over within ~20 s.
//   3. recordScreenshotOutcome (local activity): the outcome (stored, skipped, blocked or failed) into the audit trail.
// The outcome is put where operators look: search attributes, current details, the result, the store.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, isCancellation, log, proxyActivities, proxyLocalActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ScreenshotEvent } from '../common/audit-event';
import { NON_RETRYABLE_TYPES } from '../common/failure-types';
import type { CaptureIdentity, DownloadPolicy, ScreenshotResult } from '../common/screenshot-result';
import { QlikAppId, QlikUserDirectory, QlikUserId, ScreenshotOutcome } from '../common/search-attributes';

// A local activity: pure and quick (it only needs the worker's config), so it runs in the worker
// without a round trip through the task queue; its result is still recorded in history.
const { parseIdentity } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 3, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Parse the Qlik user identity and virtual proxy',
});

// A local activity: one INSERT, run by the worker that ran the workflow task, so recording the outcome
// costs no round trip through the task queue (it is still recorded in history, and retried). The store
// may be down for a while (a PostgreSQL restart): it is retried for a day before the run gives up on
// indexing it; the screenshot itself is stored either way.
const recordOptions = {
  startToCloseTimeout: '1 minute',
  scheduleToCloseTimeout: '24 hours',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Record the outcome in the audit trail',
} as const;
const recordLocally = proxyLocalActivities<Activities>(recordOptions).recordScreenshotOutcome;

/**
 * Transient failures (QPS or the proxy down, 404 while a large render is not ready) are retried with
 * backoff capped at 5 minutes for the worker's retry window (screenshots.retryWindowMinutes, 24 h by
 * default): an outage of hours loses nothing. Then the run fails with the last cause.
 */
function downloadActivity(summary: string, policy: DownloadPolicy) {
  return proxyActivities<Activities>({
    scheduleToCloseTimeout: policy.retryWindowMs,
    startToCloseTimeout: policy.attemptTimeoutMs,
    heartbeatTimeout: policy.heartbeatTimeoutMs,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
    summary,
  }).downloadAndStoreScreenshot;
}

/**
 * The fast path: one attempt as a local activity, in the workflow task that parsed the identity, so
 * the common screenshot costs one workflow task and no activity task. Never retried here: a slow or
 * failed attempt is handed to the regular activity, whose retries and heartbeats are in history.
 */
function fastDownloadActivity(summary: string, timeoutMs: number) {
  return proxyLocalActivities<Activities>({
    startToCloseTimeout: timeoutMs,
    retry: { maximumAttempts: 1, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
    summary: `${summary} (fast path)`,
  }).downloadAndStoreScreenshot;
}

/** The activity's own failure (a regular activity's comes wrapped in an ActivityFailure, a local one's may not). */
const causeOf = (err: unknown): unknown => (err instanceof ActivityFailure ? err.cause : err);

/** A failure no retry can fix (bad input or config), or the run's own cancellation: no fallback. */
function isFinal(err: unknown): boolean {
  if (isCancellation(err)) return true;
  const cause = causeOf(err);
  return cause instanceof ApplicationFailure && (cause.nonRetryable || NON_RETRYABLE_TYPES.includes(cause.type ?? ''));
}

/**
 * A local activity's final failure reaches the workflow unwrapped; wrapped like the regular
 * activity's, a failed run looks the same to its clients whichever path failed.
 */
function asActivityFailure(err: unknown): unknown {
  if (!(err instanceof ApplicationFailure)) return err;
  return new ActivityFailure('Activity task failed', 'downloadAndStoreScreenshot', undefined, 'NON_RETRYABLE_FAILURE', undefined, err);
}

async function downloadAndStore(event: ScreenshotEvent, identity: Extract<CaptureIdentity, { status: 'ok' }>): Promise<ScreenshotResult> {
  const summary = describeDownload(identity, new URL(event.payload.event.screenshotUrl).host);
  const { policy } = identity;
  const fastPathMs = policy.fastPathMs;
  // The budget comes from parseIdentity's recorded result, so a replay takes the same branch.
  if (fastPathMs) {
    try {
      return await fastDownloadActivity(summary, fastPathMs)({ event, identity });
    } catch (err) {
      if (isFinal(err)) throw asActivityFailure(err);
      // Visible in the UI while the regular activity retries: why the fast path did not do it.
      const why = causeOf(err) instanceof TimeoutFailure ? `no result within screenshots.fastPathMs (${fastPathMs} ms)` : describeFailure(err);
      log.info('fast path did not finish; continuing with the regular activity', { cause: why });
      setCurrentDetails(`fast path did not finish (${why}); continuing as a regular activity`);
    }
  }
  return downloadActivity(summary, policy)({ event, identity });
}

function describeDownload(identity: Extract<CaptureIdentity, { status: 'ok' }>, host: string): string {
  if (!identity.ticketUser) return `Download from ${host} (no ticket) and store`;
  const user = `${identity.ticketUser.userDirectory}\\${identity.ticketUser.userId}`;
  const proxy = identity.virtualProxy ? ` via virtual proxy '${identity.virtualProxy}'` : '';
  return `QPS ticket for ${user}${proxy}, download from ${host} (redirects allow-listed), store`;
}

export async function captureScreenshot(event: ScreenshotEvent): Promise<ScreenshotResult> {
  const { workflowId } = workflowInfo();
  const context = event.payload.context ?? {}; // optional in Audit.qs events, as is each field

  const identity = await parseIdentity(event);
  // Our client sets QlikUserId / QlikUserDirectory / QlikAppId at start (same parsing rules), so a
  // run is findable while it waits; a run started another way (e.g. `temporal workflow start`) gets them here.
  const attributes = workflowInfo().typedSearchAttributes;
  if (attributes.get(QlikAppId) === undefined && attributes.get(QlikUserId) === undefined) {
    const missing = [
      ...(context.appId ? [{ key: QlikAppId, value: context.appId }] : []),
      ...(identity.eventUser
        ? [
            { key: QlikUserDirectory, value: identity.eventUser.userDirectory },
            { key: QlikUserId, value: identity.eventUser.userId },
          ]
        : []),
    ];
    if (missing.length > 0) upsertSearchAttributes(missing);
  }

  let result: ScreenshotResult;
  if (identity.status === 'skipped') {
    result = { workflowId, status: 'skipped', reason: identity.reason, savedPaths: [] };
  } else {
    try {
      result = await downloadAndStore(event, identity);
    } catch (err) {
      upsertSearchAttributes([{ key: ScreenshotOutcome, value: 'failed' }]);
      setCurrentDetails(`**failed** ${describeFailure(err)}`);
      await recordOutcome(event, { failure: describeFailure(err) });
      throw err;
    }
  }

  upsertSearchAttributes([{ key: ScreenshotOutcome, value: result.status }]);
  setCurrentDetails(describeResult(result, context.user || '(no user)', context.appName || '(no app)'));
  await recordOutcome(event, { result });
  return result;
}

/** Indexes the outcome in the audit trail. */
async function recordOutcome(event: ScreenshotEvent, outcome: { result?: ScreenshotResult; failure?: string }): Promise<void> {
  try {
    await recordLocally({ event, ...outcome, startedAt: workflowInfo().startTime.toISOString() });
  } catch (err) {
    // The screenshot's own outcome stands; only its index entry is missing, and the log says so.
    log.error('the outcome could not be recorded in the audit trail', { error: describeFailure(err) });
  }
}

/** The cause an operator needs: the activity's own failure, also when the retry window ran out after it. */
function describeFailure(err: unknown): string {
  const cause = causeOf(err);
  if (cause instanceof TimeoutFailure) {
    const last = cause.cause instanceof ApplicationFailure ? cause.cause : undefined;
    const kind = String(cause.timeoutType ?? 'timeout').toLowerCase().replace(/_/g, '-');
    return `retry window ran out (${kind})${last ? `; last failure ${last.type}: ${last.message}` : ''}`;
  }
  const windowOver = err instanceof ActivityFailure && err.retryState === 'TIMEOUT' ? 'retry window ran out; last failure ' : '';
  return cause instanceof ApplicationFailure ? `${windowOver}${cause.type ?? ''}: ${cause.message}` : String(err);
}

function describeResult(result: ScreenshotResult, user: string, appName: string): string {
  const head = `**${result.status}**${result.reason ? ` (${result.reason})` : ''} — user ${user}, app ${appName}`;
  if (result.status !== 'stored') return head;
  return `${head}\n\n${result.bytes} bytes ${result.contentType || ''}, sha256 ${result.sha256}\n\n${result.savedPaths.join('\n\n')}`;
}
