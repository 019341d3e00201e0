// Audit.qs events for the demo, tests and benchmarks (no side effects: safe to import anywhere).
import { randomUUID } from 'node:crypto';
import { SCREENSHOT_EVENT_TYPE, type ScreenshotEvent } from '../common/audit-event';

/** A screenshot event with every optional part present (tests read them back). */
export type FullScreenshotEvent = ScreenshotEvent & {
  correlationId: string;
  payload: ScreenshotEvent['payload'] & { context: { user: string; appId: string; appName: string; sheetId: string; sheetName: string; userAgent: string } };
};

let counter = 0;
/** A valid Audit.qs screenshot event; `url` is the screenshot URL. Fixed timestamp unless given. */
export function screenshotEvent(url: string, user = 'UserDirectory=LAB; UserId=anna', extra: { eventId?: string; timestamp?: string } = {}): FullScreenshotEvent {
  counter++;
  return {
    schemaVersion: 1,
    eventId: extra.eventId ?? randomUUID(),
    correlationId: `corr-${counter}`,
    timestamp: extra.timestamp ?? '2026-11-22T10:15:30.123Z',
    type: SCREENSHOT_EVENT_TYPE,
    source: { kind: 'qlik-sense-extension', name: 'audit-qs', version: '0.4.0' },
    payload: {
      context: {
        user,
        appId: '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718',
        appName: 'Sales Analysis',
        sheetId: 'sheet-1',
        sheetName: 'Overview',
        userAgent: 'Mozilla/5.0',
      },
      event: { screenshotUrl: url, selectionTxnId: randomUUID(), objectId: 'obj-7' },
    },
  };
}
