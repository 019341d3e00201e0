// Reading a finished run the way an operator would in the Temporal UI: its history events.
import type { WorkflowHandle } from '@temporalio/client';

export async function historyJson(handle: WorkflowHandle): Promise<string> {
  return JSON.stringify(await handle.fetchHistory());
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
