// detectAlerts: the detection schedule's run (SPEC 7). One activity reads what was stored since the
// checkpoint and stores the alerts it raises; then each alert goes to each sink in a workflow of its
// own (deliverAlert), so a sink that is down for hours holds up nothing: the next detection runs on
// schedule, and the delivery is visible — and retried — in the Web UI on its own.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { ParentClosePolicy, proxyActivities, startChild } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { DeliveryInput, DeliveryResult, DetectionResult } from '../common/detection-types';
import { NON_RETRYABLE_TYPES } from '../common/failure-types';

const { detectNewAlerts } = proxyActivities<Activities>({
  startToCloseTimeout: '1 hour',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '10 seconds', maximumInterval: '5 minutes', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Read what was stored since the checkpoint, raise and store alerts',
});

const { sendAlertToSink } = proxyActivities<Activities>({
  // Above the sinks' own timeouts (e-mail: connect, greeting, socket), so an attempt is never retried while it still runs.
  startToCloseTimeout: '3 minutes',
  heartbeatTimeout: '30 seconds',
  // Retried for two days: a SIEM down for a weekend still gets every alert once it is back.
  scheduleToCloseTimeout: '48 hours',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
  summary: 'Send one alert to one sink',
});

export async function deliverAlert(input: DeliveryInput): Promise<DeliveryResult> {
  return sendAlertToSink(input);
}

/** Starts one delivery; one already running (or done) under that id is left alone. */
async function deliver(storeId: string, alertId: string, sink: string, what: string): Promise<void> {
  try {
    await startChild(deliverAlert, {
      workflowId: `alert-${storeId.slice(0, 8)}-${alertId}-${sink}`,
      args: [{ alertId, sink }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Alert ${alertId} (${what}) to ${sink}`,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

export async function detectAlerts(): Promise<DetectionResult> {
  const result = await detectNewAlerts();
  for (const alert of result.alerts) for (const sink of result.sinks) await deliver(result.storeId, alert.id, sink, `${alert.severity} ${alert.rule}`);
  for (const pending of result.pending) for (const sink of pending.sinks) await deliver(result.storeId, pending.id, sink, 'not yet acknowledged');
  return result;
}
