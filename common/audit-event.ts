// The Audit.qs event (SPEC 3.2), validated exactly as Butler SOS validates it (ptarmiganlabs/butler-sos
// master a22dcec, 2026-08-14, src/lib/audit-events-api.js), so what Butler SOS accepts we accept and
// what it refuses we refuse with the same class:
//   400  the envelope's shape: required schemaVersion (integer ≥ 1), eventId, timestamp (RFC 3339),
//        type, payload (an object); optional correlationId, source {kind, name, version}. Scalars are
//        converted as Butler SOS's validator does ("1" → 1, 12345 → "12345", null → "").
//   422  its rules: eventId and payload.context.appId are UUIDs, correlationId ≤ 64, a known type,
//        and the payload schema of the five types Butler SOS checks (lengths in Unicode code points).
// Extra fields are kept (Butler SOS strips unknown keys of `source` only).
import { z } from 'zod';

export const SCREENSHOT_EVENT_TYPE = 'screenshot.url.received';

/** Event types Butler SOS accepts; besides these, any `event.<something>`. */
export const KNOWN_EVENT_TYPES = [
  'selection.state.changed',
  'object.visibility.changed',
  'object.view.duration',
  'navigation.sheet.loaded',
  'app.model.validated',
  SCREENSHOT_EVENT_TYPE,
  'event.bookmark',
  'event.unsupported.visualization',
  'audit.event',
] as const;
const KNOWN_TYPES = new Set<string>(KNOWN_EVENT_TYPES);
const CUSTOM_EVENT_TYPE = /^event\..+$/;

export function isKnownEventType(type: string): boolean {
  return KNOWN_TYPES.has(type) || CUSTOM_EVENT_TYPE.test(type);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

// --- Butler SOS's type conversion (ajv coerceTypes: 'array') ---------------------------------------

/** A one-element array stands for its element. */
const unwrap = (value: unknown) => (Array.isArray(value) && value.length === 1 ? value[0] : value);

/** Numbers and booleans become strings, null becomes "". */
function toStringLike(value: unknown): unknown {
  const v = unwrap(value);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === null ? '' : v;
}

/** Numeric strings and booleans become numbers, null becomes 0. */
function toIntegerLike(value: unknown): unknown {
  const v = unwrap(value);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (typeof v === 'boolean') return Number(v);
  return v === null ? 0 : v;
}

const coercedString = z.preprocess(toStringLike, z.string());

/** Length as Butler SOS counts it: Unicode code points, not UTF-16 units. */
const codePoints = (max: number) => z.string().refine((s) => [...s].length <= max, `must be at most ${max} characters`);
const uuid = z.string().regex(UUID, 'must be a UUID');

function isRfc3339(value: string): boolean {
  const m = RFC3339.exec(value);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return false;
  if (second === 60) return parseEventTime(value) % 86_400_000 >= 86_399_000; // a leap second is 23:59:60 UTC only
  const offset = m[8] ?? '';
  return !/^[+-]/.test(offset) || (Number(offset.slice(1, 3)) <= 23 && Number(offset.replace(':', '').slice(3) || '0') <= 59);
}

/** Milliseconds since the epoch of an RFC 3339 timestamp in any of the forms Butler SOS accepts. */
export function parseEventTime(timestamp: string): number {
  const m = RFC3339.exec(timestamp);
  if (!m) return Date.parse(timestamp);
  let offset = m[8] ?? 'Z';
  if (/^[+-]\d{2}$/.test(offset)) offset += ':00';
  else if (/^[+-]\d{4}$/.test(offset)) offset = `${offset.slice(0, 3)}:${offset.slice(3)}`;
  const second = m[6] === '60' ? '59' : m[6]; // a leap second: the last instant of the minute
  const fraction = m[6] === '60' ? '.999' : (m[7] ?? '').slice(0, 4);
  return Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${second}${fraction}${offset.toUpperCase()}`);
}

// --- 400: the envelope's shape ----------------------------------------------------------------------

/** Audit.qs's `source`; Butler SOS drops unknown keys in it. */
const sourceSchema = z.object({
  kind: z.literal('qlik-sense-extension').optional(),
  name: z.literal('audit-qs').optional(),
  version: z.preprocess(toStringLike, z.string().min(1)).optional(),
});

/** The envelope every Audit.qs event shares (failures are 400). */
export const auditEventEnvelopeSchema = z.looseObject({
  schemaVersion: z.preprocess(toIntegerLike, z.number().int().min(1)),
  eventId: z.preprocess(toStringLike, z.string().min(1)),
  correlationId: coercedString.optional(),
  timestamp: z.preprocess(toStringLike, z.string().refine(isRfc3339, 'must be an RFC 3339 date-time with a time zone')),
  type: z.preprocess(toStringLike, z.string().min(1)),
  source: sourceSchema.optional(),
  payload: z.looseObject({}),
});

// --- 422: the rules ---------------------------------------------------------------------------------

const contextSchema = z.looseObject({
  appId: z.string().optional(), // a UUID: checked for every type (envelopeRules)
  appName: codePoints(64).optional(),
  sheetId: codePoints(64).optional(),
  sheetName: codePoints(64).optional(),
  user: codePoints(256).optional(),
  userAgent: codePoints(512).optional(),
});

/** The payload of a type: `event` required, `context` optional, both open to extra fields. */
function payloadOf<E extends z.ZodRawShape>(event: E) {
  return z.looseObject({ context: contextSchema.optional(), event: z.looseObject(event) });
}

const selectionTxnId = codePoints(36).min(1).pipe(uuid);
const nullableString = (max: number) => codePoints(max).nullable().optional();
const cropValue = z.number().min(0).max(32767);
const cropSize = z.number().gt(0).max(32767);

/** Butler SOS's Audit.qs crop (SPEC 3.3 "Image"): the visible part of the rendered object. */
export const cropSchema = z.looseObject({
  top: cropValue.optional(),
  left: cropValue.optional(),
  width: cropSize,
  height: cropSize,
  scrollTop: cropValue.optional(),
  scrollAreaOffsetY: cropValue.optional(),
  renderingOverflow: cropValue.optional(),
});

const screenshotUrl = z
  .string()
  .min(1)
  .refine((s) => [...s].length <= 2048, 'must be at most 2048 characters')
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !/[\s{}]/.test(value);
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL');

/** Payload schemas of the types Butler SOS checks; other known types accept any payload object. */
export const payloadSchemas: Record<string, z.ZodType> = {
  [SCREENSHOT_EVENT_TYPE]: payloadOf({
    screenshotUrl,
    selectionTxnId,
    objectId: nullableString(64),
    crop: cropSchema.optional(),
  }),
  'selection.state.changed': payloadOf({ selectionTxnId, details: z.array(z.unknown()).max(500) }),
  'app.model.validated': payloadOf({
    selectionTxnId,
    dataStateId: z.number().int().nullable().optional(),
    captureScheduled: z.boolean().nullable().optional(),
  }),
  'event.unsupported.visualization': payloadOf({
    vizType: codePoints(64).min(1),
    selectionTxnId,
    objectId: nullableString(64),
    title: nullableString(64),
    trigger: nullableString(64),
    dataStateId: z.union([z.number(), z.string()]).nullable().optional(),
  }),
  'object.view.duration': payloadOf({
    objectId: codePoints(64).min(1),
    duration: z.number().min(0),
    leftAt: z.string().refine(isRfc3339, 'must be an RFC 3339 date-time with a time zone'),
    enteredAt: z.string().refine(isRfc3339, 'must be an RFC 3339 date-time with a time zone').nullable().optional(),
    visible: z.boolean().nullable().optional(),
    selectionTxnId: nullableString(36),
    enterSelectionTxnId: nullableString(36),
    leaveSelectionTxnId: nullableString(36),
    dataStateId: z.number().int().nullable().optional(),
  }),
};

/** Rules for every type (Butler SOS checks these in its handler, all at once). */
const envelopeRules = z
  .looseObject({
    eventId: uuid,
    correlationId: z.string().max(64).optional(),
    type: z.string().refine(isKnownEventType, 'is not a recognised Audit.qs event type'),
    payload: z.looseObject({}),
  })
  .superRefine((event, ctx) => {
    // appId, when present in a context, is a UUID for every type (null and numbers are not).
    const context = event.payload.context;
    if (!context || typeof context !== 'object' || !('appId' in context)) return;
    const appId = (context as { appId?: unknown }).appId;
    if (appId !== undefined && !(typeof appId === 'string' && UUID.test(appId))) {
      ctx.addIssue({ code: 'custom', path: ['payload', 'context', 'appId'], message: 'must be a UUID' });
    }
  });

// --- The validated shapes ---------------------------------------------------------------------------

export type AuditEvent = z.infer<typeof auditEventEnvelopeSchema>;
export type CropRequest = z.infer<typeof cropSchema>;

export interface EventContext {
  user?: string;
  appId?: string;
  appName?: string;
  sheetId?: string;
  sheetName?: string;
  userAgent?: string;
  [key: string]: unknown;
}

/** A valid `screenshot.url.received` event. */
export type ScreenshotEvent = AuditEvent & {
  type: typeof SCREENSHOT_EVENT_TYPE;
  payload: {
    context?: EventContext;
    event: { screenshotUrl: string; selectionTxnId: string; objectId?: string | null; crop?: z.infer<typeof cropSchema>; [key: string]: unknown };
    [key: string]: unknown;
  };
};

export function isScreenshotEvent(event: AuditEvent): event is ScreenshotEvent {
  return event.type === SCREENSHOT_EVENT_TYPE;
}

/** The context of any event, or {} (it is optional). */
export function eventContext(event: AuditEvent): EventContext {
  const context = (event.payload as { context?: unknown }).context;
  return context && typeof context === 'object' ? (context as EventContext) : {};
}

export type EventValidation =
  | { ok: true; event: AuditEvent }
  | { ok: false; status: 400 | 422; error: string; type?: string; eventId?: string; fields: string[] };

const paths = (error: z.ZodError) => [...new Set(error.issues.map((issue) => issue.path.join('.') || '(body)'))];

/** Butler SOS's three checks in its order: shape (400), rules and payload schema (422). */
export function validateAuditEvent(body: unknown): EventValidation {
  const shape = auditEventEnvelopeSchema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the body';
    return { ok: false, status: 400, error: `invalid event envelope: ${where}: ${issue?.message ?? 'invalid'}`, fields: paths(shape.error) };
  }
  const event = shape.data;
  const ids = { type: event.type, eventId: event.eventId };
  const rules = envelopeRules.safeParse(event);
  const payload = rules.success ? payloadSchemas[event.type]?.safeParse(event.payload) : undefined;
  const failed = !rules.success ? rules.error : payload && !payload.success ? payload.error : undefined;
  if (failed) {
    const prefix = rules.success ? ['payload'] : []; // payload schemas report paths inside the payload
    const issues = failed.issues.map((issue) => ({ path: [...prefix, ...issue.path].join('.'), message: issue.message }));
    const fields = [...new Set(issues.map((i) => i.path))];
    const list = issues.slice(0, 5).map((i) => `${i.path}: ${i.message}`).join('; ');
    return { ok: false, status: 422, error: `event breaks a rule: ${list}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`, ...ids, fields };
  }
  return { ok: true, event };
}

/** `screenshot-{eventId}`: one workflow per event, so a re-sent event never downloads twice. */
export function screenshotWorkflowId(eventId: string): string {
  return `screenshot-${eventId}`;
}
