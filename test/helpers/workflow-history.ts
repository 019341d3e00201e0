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
