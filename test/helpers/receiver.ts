// The event receiver on a free port, on a testbed's config (with eventApi overrides), its log lines
// collected: what the receiver tests post to. Closed before the servers at the end of the file.
import type { Client } from '@temporalio/client';
import { createReceiver } from '../../client/receiver/server';
import { loadReceiverTls } from '../../client/receiver/tls';
import { parseConfig } from '../../common/config';
import { createLogger } from '../../common/logger';
import { eventStoreFor } from './event-store';
import type { Testbed } from './screenshot-testbed';
import { beforeServerTeardown, devServer } from './temporal';

export interface Posted {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

export async function receiverFor(bed: Testbed, eventApi: object = {}, options: { client?: Client; tls?: boolean } = {}) {
  const env = await devServer();
  const logs: Record<string, unknown>[] = [];
  const config = parseConfig({ ...bed.config, eventApi: { ...bed.config.eventApi, ...eventApi } }, { source: 'test', baseDir: bed.dir });
  const app = await createReceiver({
    config,
    events: (await eventStoreFor(config)).events,
    client: options.client ?? env.client,
    taskQueue: bed.taskQueue,
    logger: createLogger('test-receiver', { destination: { write: (line: string) => void logs.push(JSON.parse(line)) } }),
    tls: options.tls ? loadReceiverTls(config) : undefined,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  beforeServerTeardown(() => app.close()); // also when a test fails before closing it (an open server keeps the file running)
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const base = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  /** A JSON post to the event route (plain HTTP). */
  const post = async (body: unknown, headers: Record<string, string> = {}): Promise<Posted> => {
    const response = await fetch(`${base}/api/v1/audit-event`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
  };
  return { app, port, base, post, logs };
}
