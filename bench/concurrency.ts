// Small helpers shared by the benchmarks.
import { MockActivityEnvironment } from '@temporalio/testing';
import type { createActivities } from '../activities';
import type { ScreenshotEvent } from '../common/audit-event';
import type { CaptureIdentity, ScreenshotResult } from '../common/screenshot-result';

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

/** The p-th percentile (0–100) of the values. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** One screenshot through the real activities in-process (no Temporal): parseIdentity, then the download. */
export async function captureInProcess(activities: ReturnType<typeof createActivities>, event: ScreenshotEvent): Promise<ScreenshotResult> {
  const env = new MockActivityEnvironment({ workflowExecution: { workflowId: `screenshot-${event.eventId}`, runId: 'bench' } } as never);
  const identity = (await env.run(activities.parseIdentity, event)) as CaptureIdentity;
  if (identity.status !== 'ok') throw new Error(`unexpected ${identity.status}`);
  const result = (await env.run(activities.downloadAndStoreScreenshot as (input: unknown) => Promise<ScreenshotResult>, { event, identity })) as ScreenshotResult;
  if (result.status !== 'stored') throw new Error(`unexpected ${result.status}`);
  return result;
}
