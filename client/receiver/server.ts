// The event API (SPEC 4), compatible with Butler SOS: Audit.qs posts its events here.
//   POST /api/v1/audit-event     202 only after Temporal durably accepted the workflow start
//   GET  /api/v1/test-connection
//   GET  /metrics                Prometheus
// Status codes: 400 bad envelope, 401 bad/missing token, 413 too large, 422 semantic errors (with the
// failing field paths), 429 rate limit, 503 Temporal unreachable (with Retry-After).
import rateLimit from '@fastify/rate-limit';
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { auditEventSchema, screenshotEventSchema, screenshotWorkflowId, SCREENSHOT_EVENT_TYPE } from '../../common/audit-event';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { issuePaths } from '../../common/validation';
import { startCaptureScreenshot } from '../start-screenshot';
import { bearerTokenChecker } from './bearer-token';
import { createReceiverMetrics, type EventOutcome, type ReceiverMetrics } from './metrics';

export const BODY_LIMIT_BYTES = 256 * 1024;
/** How long one workflow start may take before we answer 503 (Temporal unreachable). */
const START_DEADLINE_MS = 5000;
const RETRY_AFTER_SECONDS = 5;

export interface ReceiverOptions {
  config: Config;
  client: Client;
  taskQueue: string;
  logger: Logger;
  metrics?: ReceiverMetrics;
}

export async function createReceiver(options: ReceiverOptions): Promise<FastifyInstance> {
  const { config, client, taskQueue } = options;
  const metrics = options.metrics ?? createReceiverMetrics();
  const tokenOk = bearerTokenChecker(config.eventApi.apiToken);
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }), // we log each event once, with its ids
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: false,
  });

  const reject = (reply: FastifyReply, status: number, type: string | undefined, outcome: EventOutcome, body: object) => {
    metrics.count(type, outcome);
    return reply.code(status).send({ status: 'error', ...body });
  };

  // Errors Fastify raises itself (body too large, bad JSON, wrong content type) keep their 4xx status.
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error({ err }, 'receiver error');
    if (request.url.startsWith('/api/v1/audit-event')) metrics.count(undefined, 'invalid');
    const message = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? `body larger than ${BODY_LIMIT_BYTES} bytes` : err.message;
    return reply.code(status).send({ status: 'error', error: status === 500 ? 'internal error' : message });
  });

  await app.register(rateLimit, {
    max: config.eventApi.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => request.ip,
    allowList: (request) => request.url === '/metrics',
    errorResponseBuilder: (_request, context) => ({ statusCode: 429, status: 'error', error: `rate limit of ${context.max} requests per minute exceeded` }),
    onExceeded: () => metrics.count(undefined, 'rate-limited'),
  });

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    if (!tokenOk(request.headers.authorization)) {
      return reject(reply, 401, undefined, 'unauthorized', { error: 'missing or wrong bearer token (eventApi.apiToken)' });
    }
  });

  app.get('/api/v1/test-connection', async () => ({ status: 'ok', service: 'qlik-audit', message: 'qlik-audit event receiver is reachable' }));

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post('/api/v1/audit-event', async (request, reply) => {
    const envelope = auditEventSchema.safeParse(request.body);
    if (!envelope.success) {
      const type = (request.body as { type?: unknown } | null)?.type;
      return reject(reply, 400, typeof type === 'string' ? type : undefined, 'invalid', { error: 'invalid event envelope', fields: issuePaths(envelope.error) });
    }
    const { eventId, type } = envelope.data;
    const log = request.log.child({ eventId, eventType: type });
    if (type !== SCREENSHOT_EVENT_TYPE) {
      metrics.count(type, 'ignored');
      log.info('event acknowledged (no workflow for this type)');
      return reply.code(202).send({ status: 'accepted', eventId, workflowId: null });
    }
    const event = screenshotEventSchema.safeParse(request.body);
    if (!event.success) {
      const fields = issuePaths(event.error);
      log.info({ fields }, 'screenshot event rejected');
      return reject(reply, 422, type, 'invalid', { error: 'invalid screenshot.url.received event', eventId, fields });
    }
    const workflowId = screenshotWorkflowId(eventId);
    const started = performance.now();
    try {
      await client.connection.withDeadline(Date.now() + START_DEADLINE_MS, () => startCaptureScreenshot(client, taskQueue, event.data));
    } catch (err) {
      log.warn({ workflowId, err: (err as Error).message.split('\n')[0] }, 'Temporal did not accept the workflow start');
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      return reject(reply, 503, type, 'temporal-unavailable', { error: 'Temporal is unreachable; retry later', eventId });
    }
    metrics.observeStart((performance.now() - started) / 1000);
    metrics.count(type, 'accepted');
    log.info({ workflowId }, 'screenshot workflow started');
    return reply.code(202).send({ status: 'accepted', eventId, workflowId });
  });

  return app;
}
