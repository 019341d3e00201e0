// Runs the event API: used by `qlik-audit receiver` and `qlik-audit dev`. The Temporal connection is
// lazy, so the receiver starts (and answers 503) while Temporal is down, and recovers by itself.
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../../common/config';
import type { Logger } from '../../common/logger';
import { temporalTarget } from '../../common/temporal-connection';
import { createReceiver } from './server';

export interface RunningReceiver {
  url: string;
  close(): Promise<void>;
}

export async function startReceiver(config: Config, logger: Logger, options: { port?: number } = {}): Promise<RunningReceiver> {
  const target = temporalTarget(config);
  const connection = Connection.lazy({ address: target.address, apiKey: target.apiKey, tls: target.tls });
  const client = new Client({ connection, namespace: target.namespace });
  const app = await createReceiver({ config, client, taskQueue: target.taskQueue, logger });
  const port = options.port ?? config.eventApi.port;
  try {
    await app.listen({ host: config.eventApi.host, port });
  } catch (err) {
    await connection.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`cannot listen on ${config.eventApi.host}:${port} (eventApi.host / eventApi.port): ${code ?? (err as Error).message}`);
  }
  const address = app.server.address();
  const url = `http://${config.eventApi.host}:${typeof address === 'object' && address ? address.port : port}`;
  logger.info({ url, temporal: target.address, namespace: target.namespace, taskQueue: target.taskQueue }, 'receiver listening');
  return {
    url,
    async close() {
      await app.close();
      await connection.close();
    },
  };
}
