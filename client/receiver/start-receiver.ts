// Runs the event API: used by `qlik-audit receiver` and `qlik-audit dev`. The Temporal connection is
// lazy, so the receiver starts (and answers 503) while Temporal is down, and recovers by itself.
// The audit store (auditSecurityLog.store) is opened at start: events other than screenshots are
// committed there (`dev` and `serve` hand over the handle their worker uses).
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { temporalTarget } from '../temporal-target';
import { dataConverterFor } from '../../common/encryption-codec';
import { installTracing } from '../../common/tracing';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NamespaceNotReadyError, requireSearchAttributes } from '../namespace-setup';
import { classifyTemporalError } from '../temporal-errors';
import { createReceiver } from './server';
import { loadReceiverTls } from './tls';
import { openStore, type AuditStore } from '../../store/store';
import { createEventWriter } from '../../store/event-writer';
import { configuredDigestKey } from '../../store/digest';

export interface RunningReceiver {
  url: string;
  close(): Promise<void>;
}

/** Opens the audit store for the receiver, or says in one line why it cannot and what to do. */
async function openReceiverStore(url: string): Promise<AuditStore> {
  try {
    return await openStore(url, { applicationName: 'qlik-audit receiver' });
  } catch (err) {
    const message = (err as Error).message.split('\n')[0];
    throw new Error(`the receiver cannot open the audit store (auditSecurityLog.store): ${message}`, { cause: err });
  }
}

export interface StartReceiverOptions {
  port?: number;
  store?: AuditStore;
  /**
   * The connection of a worker in this process (`dev`, `serve`): screenshot runs are then started
   * eagerly — the server hands the first workflow task back with the start response, to that worker.
   * The worker checked the namespace and closes the connection.
   */
  workerConnection?: NativeConnection;
}

export async function startReceiver(config: Config, logger: Logger, options: StartReceiverOptions = {}): Promise<RunningReceiver> {
  const target = temporalTarget(config);
  const tls = loadReceiverTls(config); // before connecting: a bad certificate is one line, at once
  const shared = options.workerConnection;
  const connection = shared ? undefined : Connection.lazy({ address: target.address, apiKey: target.apiKey, tls: target.tls });
  // Traces: the start carries the request's span into the run (SPEC 8).
  const tracing = installTracing(config, 'qlik-audit-receiver');
  const client = new Client({
    connection: shared ?? connection,
    namespace: target.namespace,
    dataConverter: dataConverterFor(config),
    ...(tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });
  // Missing search attributes would fail every screenshot start: stop now with the fix. Temporal being
  // down is no reason not to start (the receiver answers 503 until it is back).
  if (connection) {
    try {
      await connection.withDeadline(Date.now() + 5000, () => requireSearchAttributes(connection, target.namespace));
    } catch (err) {
      if (err instanceof NamespaceNotReadyError || !classifyTemporalError(err, target).transient) {
        await connection.close();
        throw err;
      }
      logger.warn({ temporal: target.address }, 'could not check the namespace search attributes: Temporal is unreachable; starting anyway (screenshot events get 503 until it is back)');
    }
  }
  let store: AuditStore;
  try {
    store = options.store ?? (await openReceiverStore(config.auditSecurityLog.store));
  } catch (err) {
    await connection?.close();
    throw err;
  }
  const ownStore = options.store ? undefined : store; // closed here only when opened here
  const events = createEventWriter(store, { inFlight: 2, digestKey: configuredDigestKey(config.auditSecurityLog.digestKey) });
  const app = await createReceiver({ config, client, taskQueue: target.taskQueue, logger, tls, temporal: target, events, eagerStart: shared !== undefined });
  const port = options.port ?? config.eventApi.port;
  try {
    await app.listen({ host: config.eventApi.host, port });
  } catch (err) {
    await connection?.close();
    await ownStore?.close();
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
      await app.close(); // no new requests; those in flight finish
      await events.close();
      await connection?.close();
      await ownStore?.close();
    },
  };
}
