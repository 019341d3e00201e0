// A Temporal connection for the commands (CLI), with an error that names the address.
import { Client, type Connection } from '@temporalio/client';
import type { Config } from '../common/config';
import { dataConverterFor } from '../common/encryption-codec';
import { connectClient, temporalTarget, type TemporalTarget } from './temporal-target';

/** Runs `fn` with a connection to the configured Temporal and closes it afterwards. */
export async function withConnection<T>(config: Config, fn: (connection: Connection, target: TemporalTarget) => Promise<T>): Promise<T> {
  const target = temporalTarget(config);
  let connection: Connection;
  try {
    connection = await connectClient(target);
  } catch (err) {
    throw new Error(`cannot connect to Temporal at ${target.address} (temporal.address / TEMPORAL_ADDRESS): ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    return await fn(connection, target);
  } finally {
    await connection.close();
  }
}

/** A client of the target's namespace on `connection`, with our payload codec when the config sets one. */
export const clientOn = (connection: Connection, target: TemporalTarget, config: Config) => new Client({ connection, namespace: target.namespace, dataConverter: dataConverterFor(config) });

/** Runs `fn` with a connected client and closes the connection afterwards. */
export function withClient<T>(config: Config, fn: (client: Client, taskQueue: string) => Promise<T>): Promise<T> {
  return withConnection(config, (connection, target) => fn(clientOn(connection, target, config), target.taskQueue));
}
