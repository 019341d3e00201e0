// The smallest workflow of captureScreenshot's shape (one activity that does nothing), used by
// bench/screenshots.ts to measure what the Temporal server itself can do on this machine.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function bareOneActivity(): Promise<void> {
  await noop();
}
