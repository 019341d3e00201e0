// Runs the event API: used by `qlik-audit receiver` and `qlik-audit dev`. The Temporal connection is
// lazy, so the receiver starts (and answers 503) while Temporal is down, and recovers by itself.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { temporalTarget } from '../temporal-target';
import { NamespaceNotReadyError, requireSearchAttributes } from '../namespace-setup';
import { classifyTemporalError } from '../temporal-errors';
import { createReceiver } from './server';
import { loadReceiverTls } from './tls';

export interface RunningReceiver {
  url: string;
  close(): Promise<void>;
}

export async function startReceiver(config: Config, logger: Logger, options: { port?: number } = {}): Promise<RunningReceiver> {
  const target = temporalTarget(config);
  const tls = loadReceiverTls(config); // before connecting: a bad certificate is one line, at once
  const connection = Connection.lazy({ address: target.address, apiKey: target.apiKey, tls: target.tls });
  const client = new Client({ connection, namespace: target.namespace });
  // Missing search attributes would fail every screenshot start: stop now with the fix. Temporal being
  // down is no reason not to start (the receiver answers 503 until it is back).
  try {
    await connection.withDeadline(Date.now() + 5000, () => requireSearchAttributes(connection, target.namespace));
  } catch (err) {
    if (err instanceof NamespaceNotReadyError || !classifyTemporalError(err, target).transient) {
      await connection.close();
      throw err;
    }
    logger.warn({ temporal: target.address }, 'could not check the namespace search attributes: Temporal is unreachable; starting anyway (events get 503 until it is back)');
  }
  const app = await createReceiver({ config, client, taskQueue: target.taskQueue, logger, tls, temporal: target });
  const port = options.port ?? config.eventApi.port;
  try {
    await app.listen({ host: config.eventApi.host, port });
  } catch (err) {
    await connection.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot listen on ${config.eventApi.host}:${port} (eventApi.host / eventApi.port): ${code ?? (err as Error).message}`);
  }
  const address = app.server.address();
  const url = `${tls ? 'https' : 'http'}://${config.eventApi.host}:${typeof address === 'object' && address ? address.port : port}`;
  logger.info(
    {
      url,
      temporal: target.address,
      namespace: target.namespace,
      taskQueue: target.taskQueue,
      corsOrigins: config.eventApi.cors.allowedOrigins,
      ...(tls ? { certificate: tls.subject, certificateValidTo: tls.validTo.toISOString() } : {}),
    },
    'receiver listening',
  );
  if (tls && tls.validTo.getTime() < Date.now() + 14 * 86_400_000) {
    logger.warn({ certificate: tls.subject, validTo: tls.validTo.toISOString() }, 'the eventApi.tls certificate expires within 14 days (or has expired): browsers will refuse it');
  }
  return {
    url,
    async close() {
      await app.close();
      await connection.close();
    },
  };
}
