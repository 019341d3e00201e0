// Reading a finished run the way an operator would in the Temporal UI: its history events.
import type { WorkflowHandle } from '@temporalio/client';

/** Every string and decoded payload of the history, joined — what an operator can read in the UI. */
export async function historyText(handle: WorkflowHandle): Promise<string> {
  const history = await handle.fetchHistory();
  const parts: string[] = [];
  const seen = new Set<unknown>();
  // Walk the objects themselves: protobuf's toJSON would turn payload bytes into base64.
  const walk = (value: unknown): void => {
    if (typeof value === 'string') parts.push(value);
    else if (value instanceof Uint8Array) parts.push(Buffer.from(value).toString('utf8'));
    else if (value && typeof value === 'object' && !seen.has(value)) {
      seen.add(value);
      for (const child of Object.values(value)) walk(child);
    }
  };
  walk(history);
  return parts.join('\n');
}

/** Attempt numbers of every started activity of the given type, in order. */
export async function activityAttempts(handle: WorkflowHandle, activityType: string): Promise<number[]> {
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  const scheduled = new Map<string, string>();
  const attempts: number[] = [];
  for (const event of events) {
    if (event.activityTaskScheduledEventAttributes) {
      scheduled.set(String(event.eventId), event.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    }
    const started = event.activityTaskStartedEventAttributes;
    if (started && scheduled.get(String(started.scheduledEventId)) === activityType) attempts.push(started.attempt ?? 0);
  }
  return attempts;
}

export interface DownloadTries {
  /** The fast path (one local-activity attempt in the workflow task): not taken, stored, or failed with this cause. */
  fastPath: 'none' | 'completed' | { failed: string };
  /** Attempt numbers of every regular (task-queue) activity started afterwards, as activityAttempts. */
  attempts: number[];
}

/**
 * Every try of an activity as an operator reads it in the UI: the local-activity attempt (a marker
 * event, with its failure) and the regular activity's attempts.
 */
export async function activityTries(handle: WorkflowHandle, activityType: string): Promise<DownloadTries> {
  const history = await handle.fetchHistory();
  let fastPath: DownloadTries['fastPath'] = 'none';
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') continue;
    const data = marker.details?.data?.payloads?.[0]?.data;
    const info = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type?: string }) : {};
    if (info.activity_type !== activityType) continue;
    fastPath = marker.failure ? { failed: failureText(marker.failure) } : 'completed';
  }
  return { fastPath, attempts: await activityAttempts(handle, activityType) };
}

function failureText(failure: { message?: string | null; cause?: unknown }): string {
  const cause = failure.cause as { message?: string | null; cause?: unknown } | null | undefined;
  return cause ? `${failure.message ?? ''}: ${failureText(cause)}` : (failure.message ?? '');
}
