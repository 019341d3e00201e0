// The Audit.qs event envelope (SPEC 3.2): one zod schema, used by the CLI, the receiver and tests.
// Extra fields are kept (looseObject), so newer Audit.qs versions pass through unharmed.
import { z } from 'zod';

export const SCREENSHOT_EVENT_TYPE = 'screenshot.url.received';

const absoluteHttpUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'http:' || url.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'expected an absolute http(s) URL');

/** The envelope every Audit.qs event shares. */
export const auditEventSchema = z.looseObject({
  schemaVersion: z.union([z.string().min(1).max(32), z.number()]),
  eventId: z.guid(),
  correlationId: z.string().min(1).max(64),
  timestamp: z.iso.datetime({ offset: true }),
  type: z.string().min(1).max(128),
  source: z.looseObject({
    kind: z.literal('qlik-sense-extension'),
    name: z.literal('audit-qs'),
    version: z.string().min(1).max(64),
  }),
  payload: z.looseObject({}),
});

/** The `screenshot.url.received` event. */
export const screenshotEventSchema = auditEventSchema.extend({
  type: z.literal(SCREENSHOT_EVENT_TYPE),
  payload: z.looseObject({
    context: z.looseObject({
      user: z.string().max(256),
      appId: z.guid(),
      appName: z.string().max(1024),
      sheetId: z.string().max(256),
      sheetName: z.string().max(1024),
      userAgent: z.string().max(2048),
    }),
    event: z.looseObject({
      screenshotUrl: absoluteHttpUrl,
      selectionTxnId: z.guid(),
      objectId: z.string().max(256).optional(),
      crop: z.unknown().optional(),
    }),
  }),
});

export type AuditEvent = z.infer<typeof auditEventSchema>;
export type ScreenshotEvent = z.infer<typeof screenshotEventSchema>;

/** `screenshot-{eventId}`: one workflow per event, so a re-sent event never downloads twice. */
export function screenshotWorkflowId(eventId: string): string {
  return `screenshot-${eventId}`;
}
