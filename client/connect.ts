// A Temporal client for the commands that start workflows, with an error that names the address.
import { Client } from '@temporalio/client';
import type { Config } from '../common/config';
import { connectClient, temporalTarget } from '../common/temporal-connection';

async function createClient(config: Config): Promise<{ client: Client; taskQueue: string; close(): Promise<void> }> {
  const target = temporalTarget(config);
  let connection;
  try {
    connection = await connectClient(target);
  } catch (err) {
    throw new Error(`cannot connect to Temporal at ${target.address} (temporal.address / TEMPORAL_ADDRESS): ${(err as Error).message.split('\n')[0]}`);
  }
  return { client: new Client({ connection, namespace: target.namespace }), taskQueue: target.taskQueue, close: () => connection.close() };
}

/** Runs `fn` with a connected client and closes the connection afterwards. */
export async function withClient<T>(config: Config, fn: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  const { client, taskQueue, close } = await createClient(config);
  try {
    return await fn(client, taskQueue);
  } finally {
    await close();
  }
}
