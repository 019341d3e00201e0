// The event API (SPEC 4), compatible with Butler SOS: Audit.qs posts its events here from the user's
// browser, cross-origin, from inside the Qlik hub.
//   POST /api/v1/audit-event     202 only once the event is durable (a screenshot: Temporal accepted the start)
//   GET  /api/v1/test-connection
//   GET  /metrics                Prometheus (needs the token too when eventApi.apiToken is set)
// Screenshot events start a workflow (Temporal is their durable record); every other event is
// committed to the audit store by group commit (store/event-writer.ts) before its 202.
// Order of checks: CORS preflight (answered first: a browser sends no token with it), rate limit,
// the bearer token on whatever route the router matched, then the envelope.
// Status codes: 400 bad envelope, 401 bad/missing token, 413 too large, 422 rule broken (with the
// failing field paths) or an incompatible Audit.qs version, 429 rate limit, 503 Temporal or the audit
// store unreachable (with Retry-After), 500 Temporal misconfigured (the body names the cause and the fix).
// Every answer is Butler SOS's — {status, receivedAt, outcome, reason?, details?} with its reason
// strings — beside ours: eventId, workflowId, error, fields.
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isScreenshotEvent, screenshotWorkflowId, validateAuditEvent } from '../../common/audit-event';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { eventRow } from '../../store/audit-events';
import type { EventWriter } from '../../store/event-writer';
import { startCaptureScreenshot } from '../start-screenshot';
import { inSpan } from '../../common/tracing';
import { classifyTemporalError } from '../temporal-errors';
import { auditQsVersionOf, checkAuditQsVersion, missingVersionWarnings, versionLabels } from './audit-qs-version';
import { PRODUCT_VERSION } from '../../common/product-version';
import { bearerTokenChecker } from './bearer-token';
import { createReceiverMetrics, type EventOutcome, type ReceiverMetrics } from './metrics';
import type { ReceiverTls } from './tls';

export const BODY_LIMIT_BYTES = 256 * 1024;
/** How long one workflow start may take before we answer 503 (Temporal unreachable). */
const START_DEADLINE_MS = 5000;
const RETRY_AFTER_SECONDS = 5;
/** Browsers cache a preflight this long (Chromium caps it at 2 h), so most posts need none. */
const PREFLIGHT_MAX_AGE_SECONDS = 3600;
export const AUDIT_EVENT_ROUTE = '/api/v1/audit-event';

export interface ReceiverOptions {
  config: Config;
  client: Client;
  taskQueue: string;
  logger: Logger;
  metrics?: ReceiverMetrics;
  /** Commits non-screenshot events to the audit store (SPEC 6.1). */
  events: EventWriter;
  /** The HTTPS certificate (eventApi.tls), already loaded and checked. */
  tls?: ReceiverTls;
  /** Where Temporal is, for error messages. */
  temporal?: { address: string; namespace: string };
  /** Eager workflow start: `client` is on the connection of a worker in this process (dev, serve). */
  eagerStart?: boolean;
}

/** `origin` for @fastify/cors: the request's origin when allowed, else false (then no CORS header at all). */
function corsOrigin(allowed: readonly string[]) {
  const any = allowed.includes('*');
  const set = new Set(allowed);
  return (origin: string | undefined, callback: (err: Error | null, value: string | boolean) => void) => {
    if (!origin || allowed.length === 0) return callback(null, false);
    if (any) return callback(null, '*');
    callback(null, set.has(origin) ? origin : false);
  };
}

/**
 * Slow clients (SPEC 4): a connection that sends nothing for CONNECTION_IDLE_MS is closed; the
 * headers must arrive within HEADERS_TIMEOUT_MS and the whole request (a body trickled byte by byte)
 * within REQUEST_TIMEOUT_MS, else 408 and the socket is closed. An Audit.qs event is a few KB.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
const HEADERS_TIMEOUT_MS = 5_000;
const CONNECTION_IDLE_MS = 15_000;
const TIMEOUT_CHECK_MS = 1_000;

/** Butler SOS's part of every answer: what happened to the event, and why, in its words. */
interface Contract {
  outcome: 'processed' | 'dropped' | 'error';
  reason?: string;
  details?: object;
}

/** Sends Butler SOS's answer ({status, receivedAt, outcome, reason?, details?}) with ours beside it. */
function answer(reply: FastifyReply, code: number, contract: Contract, ours: object): FastifyReply {
  return reply.code(code).send({
    status: code >= 400 ? 'error' : 'accepted',
    receivedAt: new Date().toISOString(),
    outcome: contract.outcome,
    ...(contract.reason ? { reason: contract.reason } : {}),
    ...(contract.details ? { details: contract.details } : {}),
    ...ours,
  });
}

/** Butler SOS tells a broken payload rule ("Payload validation failed") from an envelope constraint (UUIDs, lengths, the type). */
const isPayloadRule = (field: string) => field.startsWith('payload.') && field !== 'payload.context.appId';

export async function createReceiver(options: ReceiverOptions): Promise<FastifyInstance> {
  const { config, client, taskQueue } = options;
  const { eventApi } = config;
  const temporal = options.temporal ?? { address: config.temporal.address, namespace: client.options.namespace };
  const metrics = options.metrics ?? createReceiverMetrics();
  const tokenOk = bearerTokenChecker(eventApi.apiToken);
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }), // we log each event once, with its ids
    // No child logger per request (Fastify's default, for a reqId): each costs more than validating the
    // event, and every line about an event carries its eventId instead.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    // Only the configured proxies' X-Forwarded-For is believed (config refuses `true` and hop counts).
    trustProxy: eventApi.trustProxy,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionTimeout: CONNECTION_IDLE_MS,
    keepAliveTimeout: 5_000,
    // Typed as a plain HTTP server: the routes below do not depend on the transport.
    // Node checks the request and headers timeouts every connectionsCheckingInterval (30 s by default).
    ...((options.tls
      ? { https: { cert: options.tls.cert, key: options.tls.key, ca: options.tls.ca, passphrase: options.tls.passphrase, connectionsCheckingInterval: TIMEOUT_CHECK_MS } }
      : { http: { connectionsCheckingInterval: TIMEOUT_CHECK_MS } }) as object),
  }) as unknown as FastifyInstance;
  app.server.headersTimeout = HEADERS_TIMEOUT_MS;
  const us = `qlik-audit ${PRODUCT_VERSION}`;
  const range = eventApi.compatibleAuditQsVersions;
  const label = versionLabels();
  const missing = missingVersionWarnings((ip, count, windowSeconds) =>
    options.logger.warn({ ip, missingVersionCount: count, windowSeconds }, 'Received audit event(s) without version info (X-Audit-QS-Version or source.version): accepted; upgrade Audit.qs'),
  );
  const isEventRoute = (request: FastifyRequest) => request.routeOptions.url === AUDIT_EVENT_ROUTE;

  const reject = (reply: FastifyReply, status: number, type: string | undefined, outcome: EventOutcome, contract: Contract, body: object) => {
    metrics.count(type, outcome);
    return answer(reply, status, contract, body);
  };

  // Errors Fastify raises itself (body too large, bad JSON, wrong content type) keep their 4xx status.
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'receiver error');
    if (isEventRoute(request) && status !== 429) metrics.count(undefined, 'invalid');
    // SPEC 4: a body that is not JSON is a 400 (Fastify says 415 for the content type).
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return answer(reply, 400, { outcome: 'dropped', reason: 'Schema validation failed' }, { error: 'the body must be JSON: send Content-Type: application/json' });
    }
    if (status === 429) return answer(reply, 429, { outcome: 'dropped', reason: 'Rate limit exceeded' }, { error: err.message });
    if (status === 400) return answer(reply, 400, { outcome: 'dropped', reason: 'Schema validation failed' }, { error: err.message });
    const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `body larger than ${BODY_LIMIT_BYTES} bytes` : err.message;
    return answer(reply, status, { outcome: 'error', reason: status === 500 ? 'Internal error while processing event' : 'An unexpected error occurred' }, { error: status === 500 ? 'internal error' : message });
  });

  // Registered first, so a preflight is answered before the rate limit and the token check.
  await app.register(cors, {
    origin: corsOrigin(eventApi.cors.allowedOrigins),
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Audit-QS-Version'],
    // A browser's script may read only the headers named here: Audit.qs needs when to retry a 429/503.
    exposedHeaders: ['Retry-After'],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
  });

  const perMinute = eventApi.rateLimit.maxPerMinute ?? eventApi.rateLimitPerMinute;
  if (eventApi.rateLimit.enable) await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip, // /metrics too: guessing the token there is rate-limited as well
    // Thrown by the plugin, so it reaches the error handler above as an error with this message.
    errorResponseBuilder: (request, context) => ({
      statusCode: 429,
      message: `rate limit exceeded: at most ${context.max} requests per minute per client IP (eventApi.rateLimit.maxPerMinute); ${request.ip} may send again in ${Math.ceil(context.ttl / 1000)} s`,
    }),
    onExceeded: () => metrics.count(undefined, 'rate-limited'),
  });

  // The token guards every route the router serves, checked on the route it matched — never on the
  // raw URL, which the router decodes (`/%61pi/…`). Only the CORS preflight route is left open.
  // Added after the rate limit's own onRoute hook, so it runs after it.
  app.addHook('onRoute', (route) => {
    if (route.method === 'OPTIONS' || (Array.isArray(route.method) && route.method.includes('OPTIONS'))) return;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    route.onRequest = [
      ...existing, // the rate limit first: guessing tokens is rate-limited too
      async (request: FastifyRequest, reply: FastifyReply) => {
        if (tokenOk(request.headers.authorization)) return;
        return reject(reply, 401, undefined, 'unauthorized', { outcome: 'dropped', reason: 'Unauthorized' }, { error: 'missing or wrong bearer token: send "Authorization: Bearer <eventApi.apiToken>"' });
      },
    ];
  });

  // Audit.qs's "Test connection": whether its version is one we take events from (the header only, as Butler SOS).
  app.get('/api/v1/test-connection', async (request) => {
    const auditQsVersion = auditQsVersionOf(request.headers['x-audit-qs-version']);
    const verdict = auditQsVersion ? checkAuditQsVersion(auditQsVersion, range, us) : undefined;
    if (!verdict?.compatible) request.log.warn({ ip: request.ip, auditQsVersion }, auditQsVersion ? `Connection test from incompatible Audit.qs version: ${verdict?.message}` : 'Connection test without Audit.qs version info');
    return {
      status: 'ok',
      message: 'qlik-audit event receiver is reachable',
      timestamp: new Date().toISOString(),
      butlerSosVersion: us, // the field Audit.qs shows; we are not Butler SOS, and say so
      service: 'qlik-audit',
      version: PRODUCT_VERSION,
      auditQsVersion,
      compatible: verdict?.compatible ?? false,
      compatibleAuditQsVersions: range,
    };
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post(AUDIT_EVENT_ROUTE, async (request, reply) => {
    const body = request.body as { source?: { version?: unknown }; type?: unknown; eventId?: unknown } | null;
    const version = auditQsVersionOf(request.headers['x-audit-qs-version'], body?.source?.version);
    metrics.countVersion(label(version));
    const validated = validateAuditEvent(request.body);
    if (!validated.ok) {
      const { status, type, eventId, fields, error } = validated;
      request.log.info({ eventId, eventType: type, auditQsVersion: version, status, fields }, 'event refused');
      const contract: Contract =
        status === 400
          ? { outcome: 'dropped', reason: 'Schema validation failed', details: { errors: fields.map((f) => ({ instancePath: f === '(body)' ? '' : `/${f.replaceAll('.', '/')}`, message: error })) } }
          : { outcome: 'dropped', reason: fields.every(isPayloadRule) ? 'Payload validation failed' : 'One or more constraint violations', details: { errors: fields.map((f) => ({ field: f, message: error })) } };
      return reject(reply, status, type, 'invalid', contract, { error, ...(eventId ? { eventId } : {}), fields });
    }
    const event = validated.event;
    const { eventId, type } = event;
    // The version handshake, after the envelope (as Butler SOS): outside the range, or not x.y.z, refused.
    if (version === null) missing.note(request.ip);
    else {
      const verdict = checkAuditQsVersion(version, range, us);
      if (!verdict.compatible) {
        request.log.warn({ eventId, eventType: type, ip: request.ip, auditQsVersion: version }, `Dropped audit event from incompatible Audit.qs version: ${verdict.message}`);
        return reject(reply, 422, type, 'invalid', { outcome: 'dropped', reason: 'Incompatible Audit.qs version', details: { butlerSosVersion: us, auditQsVersion: version, compatible: false, compatibleAuditQsVersions: range, message: verdict.message } }, {
          error: `${verdict.message} (eventApi.compatibleAuditQsVersions)`,
          eventId,
          fields: ['source.version'],
        });
      }
    }
    // Fields on each line rather than a child logger: a pino child per event costs more than the event's validation.
    const ids = { eventId, eventType: type, auditQsVersion: version };
    const spanAttributes = { 'qlik_audit.event_type': type, 'qlik_audit.event_id': eventId };
    const log = request.log;
    if (!isScreenshotEvent(event)) {
      const started = performance.now();
      let stored: boolean;
      try {
        stored = await inSpan('receive audit event', spanAttributes, () => options.events.write(eventRow(event))); // rejected after 5 s without a commit
      } catch (err) {
        const cause = (err as Error).message.split('\n')[0];
        log.warn({ ...ids, err: cause }, 'the audit store did not commit the event');
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return reject(reply, 503, type, 'store-unavailable', { outcome: 'dropped', reason: 'Audit store unavailable' }, { error: `the audit store is unavailable; retry later (${cause})`, eventId });
      }
      metrics.observeStore((performance.now() - started) / 1000);
      metrics.count(type, stored ? 'stored' : 'duplicate');
      log.info(ids, stored ? 'event stored' : 'event stored before (repost)');
      return answer(reply, 202, { outcome: 'processed' }, { eventId, workflowId: null });
    }
    const workflowId = screenshotWorkflowId(eventId);
    const started = performance.now();
    let eager = false;
    // The deadline bounds each call; the signal bounds the whole start, retries included (a worker's
    // native connection, in `serve` and `dev`, retries an unavailable server by itself).
    const deadline = AbortSignal.timeout(START_DEADLINE_MS);
    try {
      // One trace per event: this span, then (by Temporal's interceptors) the run and each activity.
      ({ eagerlyStarted: eager = false } = await inSpan('receive audit event', spanAttributes, () =>
        client.connection.withAbortSignal(deadline, () =>
          client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => startCaptureScreenshot(client, taskQueue, event, { eager: options.eagerStart })),
        ),
      ));
    } catch (err) {
      const cause = deadline.aborted
        ? { transient: true, code: 'DEADLINE_EXCEEDED', message: `Temporal at ${temporal.address} did not accept the start within ${START_DEADLINE_MS / 1000} s` }
        : classifyTemporalError(err, temporal);
      if (cause.transient) {
        log.warn({ ...ids, workflowId, grpcStatus: cause.code, err: cause.message }, 'Temporal did not accept the workflow start');
        reply.header('retry-after', String(RETRY_AFTER_SECONDS));
        return reject(reply, 503, type, 'temporal-unavailable', { outcome: 'dropped', reason: 'Temporal unavailable' }, { error: `Temporal is unreachable or overloaded; retry later (${cause.message})`, eventId });
      }
      log.error({ ...ids, workflowId, grpcStatus: cause.code }, cause.message);
      return reject(reply, 500, type, 'temporal-misconfigured', { outcome: 'error', reason: 'Internal error while processing event' }, { error: cause.message, eventId });
    }
    metrics.observeStart((performance.now() - started) / 1000);
    metrics.count(type, 'accepted');
    log.info({ ...ids, workflowId, ...(options.eagerStart ? { eager } : {}) }, 'screenshot workflow started');
    return answer(reply, 202, { outcome: 'processed' }, { eventId, workflowId });
  });

  return app;
}
