// Audit.qs events for the demo, tests and benchmarks (no side effects: safe to import anywhere).
import { randomUUID } from 'node:crypto';
import { SCREENSHOT_EVENT_TYPE, type AuditEvent, type ScreenshotEvent } from '../common/audit-event';

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

/** Any Audit.qs event (not a screenshot): `event` is its payload.event, `context` overrides the default one. */
export function auditQsEvent(type: string, user: string, timestamp: string, event: Record<string, unknown>, context: Record<string, unknown> = {}): AuditEvent {
  counter++;
  return {
    schemaVersion: 1,
    eventId: randomUUID(),
    correlationId: `corr-${counter}`,
    timestamp,
    type,
    source: { kind: 'qlik-sense-extension', name: 'audit-qs', version: '0.4.0' },
    payload: {
      context: { user, appId: SALES_APP_ID, appName: 'Sales Analysis', sheetId: 'sheet-1', sheetName: 'Overview', userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)', ...context },
      event,
    },
  };
}

const SALES_APP_ID = '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718';

/**
 * What one user does in an app, as Audit.qs reports it, starting at `start`: opens a sheet, selects,
 * looks at objects, bookmarks; `screenshotAt` is when the screenshot of the selection is taken.
 */
export function sessionEvents(user: string, start: Date): { events: AuditEvent[]; screenshotAt: string } {
  const at = (seconds: number) => new Date(start.getTime() + seconds * 1000).toISOString();
  const txn = randomUUID();
  const events = [
    auditQsEvent('navigation.sheet.loaded', user, at(0), { sheetId: 'sheet-1', loadMs: 840 }),
    auditQsEvent('selection.state.changed', user, at(6), { selectionTxnId: txn, details: [{ field: 'Region', values: ['Nordics'] }, { field: 'Year', values: ['2019'] }] }),
    auditQsEvent('app.model.validated', user, at(7), { selectionTxnId: txn, dataStateId: 42, captureScheduled: true }),
    auditQsEvent('object.view.duration', user, at(21), { objectId: 'obj-7', duration: 13.5, enteredAt: at(7.5), leftAt: at(21), visible: true, selectionTxnId: txn }),
    auditQsEvent('event.bookmark', user, at(24), { bookmarkId: 'bm-nordics-2019', title: 'Nordics 2019', action: 'created' }),
    auditQsEvent('navigation.sheet.loaded', user, at(30), { sheetId: 'sheet-2', loadMs: 610 }, { sheetId: 'sheet-2', sheetName: 'Customers' }),
    auditQsEvent('object.visibility.changed', user, at(31), { objectId: 'obj-12', visible: true }, { sheetId: 'sheet-2', sheetName: 'Customers' }),
  ];
  return { events, screenshotAt: at(8) };
}

/** The event with Audit.qs's `crop` (what part of the rendered object the user saw). */
export function withCrop<E extends ScreenshotEvent>(event: E, crop: NonNullable<ScreenshotEvent['payload']['event']['crop']>): E {
  return { ...event, payload: { ...event.payload, event: { ...event.payload.event, crop } } };
}
