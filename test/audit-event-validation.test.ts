// The Audit.qs envelope, rule for rule as Butler SOS validates it (SPEC 3.2): everything Butler SOS
// accepts is accepted, everything it refuses is refused with the same class — 400 for the shape,
// 422 for a rule — and names the failing fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateAuditEvent, type AuditEvent } from '../common/audit-event';
import { screenshotEvent } from '../demo/sample-events';

type Mutable = Record<string, unknown> & { payload: Record<string, unknown> & { context?: Record<string, unknown>; event?: Record<string, unknown> } };
const base = (): Mutable => JSON.parse(JSON.stringify(screenshotEvent('https://qlik.example.com/tempcontent/a.png'))) as Mutable;
const withContext = (patch: Record<string, unknown>) => {
  const e = base();
  e.payload.context = { ...e.payload.context, ...patch };
  return e;
};
const withEvent = (patch: Record<string, unknown>) => {
  const e = base();
  e.payload.event = { ...e.payload.event, ...patch };
  return e;
};
const other = (type: string, payload: Record<string, unknown> = {}) => ({ ...base(), type, payload });

function accepted(body: unknown): AuditEvent {
  const result = validateAuditEvent(body);
  assert.ok(result.ok, `expected accepted, got ${JSON.stringify(result)}`);
  return result.event;
}

function refused(body: unknown, status: 400 | 422, field?: string) {
  const result = validateAuditEvent(body);
  assert.ok(!result.ok, `expected ${status} for ${JSON.stringify(body).slice(0, 200)}`);
  assert.equal(result.status, status, result.error);
  if (field) assert.ok(result.fields.includes(field), `fields ${JSON.stringify(result.fields)} should name ${field}`);
  return result;
}

test('what Butler SOS accepts is accepted: optional correlationId, source, context and its fields, objectId null', () => {
  const noCorrelation = base();
  delete noCorrelation.correlationId;
  accepted(noCorrelation);
  const noSource = base();
  delete noSource.source;
  accepted(noSource);
  accepted({ ...base(), source: {} });
  accepted(withEvent({ objectId: null }));
  accepted(withEvent({ objectId: '' }));
  const noObject = base();
  delete noObject.payload.event?.objectId;
  accepted(noObject);
  accepted(withContext({ appName: undefined, sheetId: undefined, sheetName: undefined, userAgent: undefined }));
  const noContext = base();
  delete noContext.payload.context;
  accepted(noContext);
  accepted(withEvent({ crop: { top: 10.5, left: 0, width: 800.7, height: 400, scrollTop: 3, scrollAreaOffsetY: 0, renderingOverflow: 12 } }));
  accepted(withEvent({ futureField: { nested: true } }));
  // Lengths in code points, as Butler SOS counts them: 64 emoji are 128 UTF-16 units.
  accepted(withContext({ appName: '😀'.repeat(64) }));
});

test('scalars are converted as Butler SOS converts them; unknown keys of source are dropped, others kept', () => {
  assert.equal(accepted({ ...base(), schemaVersion: '1' }).schemaVersion, 1);
  assert.equal(accepted({ ...base(), schemaVersion: 2 }).schemaVersion, 2);
  assert.equal(accepted({ ...base(), correlationId: null }).correlationId, '');
  assert.equal(accepted({ ...base(), correlationId: 42 }).correlationId, '42');
  const event = accepted({ ...base(), source: { kind: 'qlik-sense-extension', name: 'audit-qs', version: '0.4.0', build: 'x' }, extra: 1 });
  assert.deepEqual(event.source, { kind: 'qlik-sense-extension', name: 'audit-qs', version: '0.4.0' });
  assert.equal((event as Record<string, unknown>).extra, 1);
});

test('RFC 3339 timestamps in every form Butler SOS accepts', () => {
  for (const timestamp of ['2026-11-22T10:15:30Z', '2026-11-22t10:15:30z', '2026-11-22 10:15:30.123456+01:00', '2026-11-22T10:15:30+0100', '2026-11-22T10:15:30-05', '2016-12-31T23:59:60Z']) {
    accepted({ ...base(), timestamp });
  }
  for (const timestamp of ['2026-11-22T10:15:30', '2026-02-30T10:00:00Z', '2026-11-22T10:15Z', '22.11.2026 10:15', '2026-11-22T12:59:60Z', 1763806530000]) {
    refused({ ...base(), timestamp }, 400, 'timestamp');
  }
});

test('400 for the shape: not an object, a required field missing or of the wrong type', () => {
  for (const body of [null, [], 'text', 42]) refused(body, 400);
  for (const key of ['schemaVersion', 'eventId', 'timestamp', 'type', 'payload']) {
    const e = base();
    delete e[key];
    refused(e, 400, key);
  }
  refused({ ...base(), schemaVersion: 0 }, 400, 'schemaVersion');
  refused({ ...base(), schemaVersion: 1.5 }, 400, 'schemaVersion');
  refused({ ...base(), schemaVersion: 'one' }, 400, 'schemaVersion');
  refused({ ...base(), eventId: null }, 400, 'eventId'); // null → "" → too short
  refused({ ...base(), payload: null }, 400, 'payload');
  refused({ ...base(), payload: [] }, 400, 'payload');
  refused({ ...base(), source: null }, 400, 'source');
  refused({ ...base(), source: { kind: 'browser' } }, 400, 'source.kind');
  refused({ ...base(), source: { name: 'other' } }, 400, 'source.name');
  refused({ ...base(), correlationId: { id: 1 } }, 400, 'correlationId');
});

test('422 for a rule: UUIDs, correlationId length, event types (legacy and unknown)', () => {
  refused({ ...base(), eventId: 'abc' }, 422, 'eventId');
  refused({ ...base(), eventId: 12345 }, 422, 'eventId'); // converted to "12345", then not a UUID
  refused({ ...base(), correlationId: 'c'.repeat(65) }, 422, 'correlationId');
  accepted({ ...base(), correlationId: 'c'.repeat(64) });
  refused(withContext({ appId: 'not-a-uuid' }), 422, 'payload.context.appId');
  refused(withContext({ appId: null }), 422, 'payload.context.appId');
  refused(other('navigation.sheet.loaded', { context: { appId: 'nope' } }), 422, 'payload.context.appId'); // every type
  for (const type of ['selection.transaction.finalized', 'sheet.opened', 'event.', 'EVENT.bookmark']) refused({ ...base(), type }, 422, 'type');
  for (const type of ['navigation.sheet.loaded', 'object.visibility.changed', 'event.bookmark', 'audit.event', 'event.custom.thing']) accepted(other(type, { anything: true }));
});

test('422 for the screenshot payload rules, with every failing field path', () => {
  refused(withEvent({ selectionTxnId: 'txn-1' }), 422, 'payload.event.selectionTxnId');
  refused(withEvent({ selectionTxnId: 'urn:uuid:3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718' }), 422, 'payload.event.selectionTxnId');
  refused(withEvent({ selectionTxnId: undefined }), 422, 'payload.event.selectionTxnId');
  refused(withEvent({ screenshotUrl: undefined }), 422, 'payload.event.screenshotUrl');
  refused(withEvent({ screenshotUrl: 'javascript:alert(1)' }), 422, 'payload.event.screenshotUrl');
  refused(withEvent({ screenshotUrl: 'tempcontent/x.png' }), 422, 'payload.event.screenshotUrl');
  refused(withEvent({ screenshotUrl: `https://qlik.example.com/${'a'.repeat(2040)}` }), 422, 'payload.event.screenshotUrl');
  refused(withEvent({ objectId: 'o'.repeat(65) }), 422, 'payload.event.objectId');
  refused(withContext({ appName: 'a'.repeat(65) }), 422, 'payload.context.appName');
  refused(withContext({ sheetName: 'a'.repeat(65) }), 422, 'payload.context.sheetName');
  refused(withContext({ user: 'u'.repeat(257) }), 422, 'payload.context.user');
  refused(withContext({ userAgent: 'u'.repeat(513) }), 422, 'payload.context.userAgent');
  refused(withContext({ user: 42 }), 422, 'payload.context.user');
  refused(withEvent({ crop: { width: 0, height: 10 } }), 422, 'payload.event.crop.width');
  refused(withEvent({ crop: { width: 10 } }), 422, 'payload.event.crop.height');
  refused(withEvent({ crop: { width: '10', height: 10 } }), 422, 'payload.event.crop.width');
  refused(withEvent({ crop: { width: 10, height: 10, top: -1 } }), 422, 'payload.event.crop.top');
  refused(withEvent({ crop: { width: 40000, height: 10 } }), 422, 'payload.event.crop.width');
  const noEvent = base();
  delete noEvent.payload.event;
  refused(noEvent, 422, 'payload.event');
  const nullContext = base();
  nullContext.payload.context = null as never;
  refused(nullContext, 422, 'payload.context');
  const several = refused(withContext({ appName: 'a'.repeat(65), user: 'u'.repeat(257) }), 422);
  assert.deepEqual(new Set(several.fields), new Set(['payload.context.appName', 'payload.context.user']), 'every failing field, not only the first');
});

test('422 for the payload rules of the other types Butler SOS checks; other types take any payload', () => {
  const txn = '3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718';
  accepted(other('selection.state.changed', { event: { selectionTxnId: txn, details: [] } }));
  refused(other('selection.state.changed', { event: { selectionTxnId: txn, details: Array(501).fill({}) } }), 422, 'payload.event.details');
  refused(other('selection.state.changed', { event: { selectionTxnId: 'x', details: [] } }), 422, 'payload.event.selectionTxnId');
  accepted(other('app.model.validated', { event: { selectionTxnId: txn, dataStateId: null, captureScheduled: true } }));
  refused(other('app.model.validated', { event: { selectionTxnId: txn, dataStateId: '3' } }), 422, 'payload.event.dataStateId');
  accepted(other('event.unsupported.visualization', { event: { vizType: 'sankey', selectionTxnId: txn, title: null, dataStateId: 'x' } }));
  refused(other('event.unsupported.visualization', { event: { selectionTxnId: txn } }), 422, 'payload.event.vizType');
  accepted(other('object.view.duration', { event: { objectId: 'o1', duration: 12.5, leftAt: '2026-11-22T10:00:00Z', selectionTxnId: 'not-a-uuid' } }));
  refused(other('object.view.duration', { event: { objectId: null, duration: 1, leftAt: '2026-11-22T10:00:00Z' } }), 422, 'payload.event.objectId');
  refused(other('object.view.duration', { event: { objectId: 'o1', duration: -1, leftAt: 'yesterday' } }), 422, 'payload.event.leftAt');
  accepted(other('navigation.sheet.loaded', { context: { appName: 'a'.repeat(1000) } })); // no payload schema for this type
  accepted(other('navigation.sheet.loaded', { context: null }));
});
