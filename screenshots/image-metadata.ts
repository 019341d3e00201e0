// The lines of the `_metadata.png` header band (Butler SOS `addInImageMetadata.fields`), in Butler SOS's
// order: one `KEY: value` per enabled field; a value the event does not carry is `n/a`.
import { eventContext, parseEventTime, type ScreenshotEvent } from '../common/audit-event';
import type { ScreenshotsConfig } from '../common/config';

type Fields = ScreenshotsConfig['addInImageMetadata']['fields'];

/** `2026-11-22 10:15:30` in the given zone (the worker's own when none): Butler SOS's `yyyy-LL-dd HH:mm:ss`. */
function formatDate(ms: number, timeZone?: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

/** Values are capped as Butler SOS caps them (160 characters, the last three `...`): the band grows with its text. */
export const VALUE_MAX_CHARS = 160;

/** A text value as Butler SOS shows it: a non-empty string, capped; anything else `n/a`. */
function text(v: unknown): string {
  if (typeof v !== 'string' || v === '') return 'n/a';
  const chars = Array.from(v);
  return chars.length <= VALUE_MAX_CHARS ? v : `${chars.slice(0, VALUE_MAX_CHARS - 3).join('')}...`;
}

export function anyMetadataField(fields: Fields): boolean {
  return Object.values(fields).some(Boolean);
}

export function metadataLines(event: ScreenshotEvent, fields: Fields, timeZone?: string): string[] {
  const context = eventContext(event);
  const payload = event.payload.event as { selectionTxnId?: unknown; duration?: unknown };
  const ms = parseEventTime(event.timestamp);
  const lines: string[] = [];
  if (fields.date) lines.push(`DATE (UTC): ${formatDate(ms, 'UTC')}`, `DATE (LOCAL): ${formatDate(ms, timeZone)}`);
  if (fields.eventId) lines.push(`EVENT ID: ${text(event.eventId)}`);
  if (fields.correlationId) lines.push(`CORRELATION ID: ${text(event.correlationId)}`);
  if (fields.selectionTxnId) lines.push(`SELECTION TXN ID: ${text(payload.selectionTxnId)}`);
  if (fields.user) lines.push(`USER: ${text(context.user)}`);
  if (fields.appId) lines.push(`APP ID: ${text(context.appId)}`);
  if (fields.appName) lines.push(`APP NAME: ${text(context.appName)}`);
  if (fields.sheetName) lines.push(`SHEET NAME: ${text(context.sheetName)}`);
  // Audit.qs sends the viewing duration in milliseconds; the band shows seconds, as Butler SOS does.
  if (fields.viewingDuration) lines.push(`VIEWING DURATION (s): ${typeof payload.duration === 'number' && Number.isFinite(payload.duration) ? (payload.duration / 1000).toFixed(2) : 'n/a'}`);
  return lines;
}
