// The lines of the `_metadata.png` header band (Butler SOS `addInImageMetadata.fields`), in Butler SOS's
// order: one `KEY: value` per enabled field; a value the event does not carry is `n/a`.
import { eventContext, parseEventTime, type ScreenshotEvent } from '../common/audit-event';
import type { ScreenshotsConfig } from '../common/config';

type Fields = ScreenshotsConfig['addInImageMetadata']['fields'];

/** `2026-11-22 10:15:30.123` in the given zone (the worker's own when none). */
function formatDate(ms: number, timeZone?: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', fractionalSecondDigits: 3, timeZoneName: 'short' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}.${parts.fractionalSecond} ${parts.timeZoneName}`;
}

export function anyMetadataField(fields: Fields): boolean {
  return Object.values(fields).some(Boolean);
}

export function metadataLines(event: ScreenshotEvent, fields: Fields, timeZone?: string): string[] {
  const context = eventContext(event);
  const payload = event.payload.event as { selectionTxnId?: unknown; duration?: unknown };
  const value = (v: unknown) => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : 'n/a');
  const ms = parseEventTime(event.timestamp);
  const lines: string[] = [];
  if (fields.date) lines.push(`DATE (UTC): ${formatDate(ms, 'UTC')}`, `DATE (LOCAL): ${formatDate(ms, timeZone)}`);
  if (fields.eventId) lines.push(`EVENT ID: ${event.eventId}`);
  if (fields.correlationId) lines.push(`CORRELATION ID: ${value(event.correlationId)}`);
  if (fields.selectionTxnId) lines.push(`SELECTION TXN ID: ${value(payload.selectionTxnId)}`);
  if (fields.user) lines.push(`USER: ${value(context.user)}`);
  if (fields.appId) lines.push(`APP ID: ${value(context.appId)}`);
  if (fields.appName) lines.push(`APP NAME: ${value(context.appName)}`);
  if (fields.sheetName) lines.push(`SHEET NAME: ${value(context.sheetName)}`);
  if (fields.viewingDuration) lines.push(`VIEWING DURATION (s): ${value(payload.duration)}`);
  return lines;
}
