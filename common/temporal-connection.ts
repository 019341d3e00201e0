// Where to reach Temporal: `temporal.*` from the YAML config, overridden by Temporal's standard
// environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
// TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE), read by @temporalio/envconfig exactly as the CLI reads them.
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import type { Config } from './config';

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: ReturnType<typeof toClientOptions>['connectionOptions']['tls'];
}

export function temporalTarget(config: Config, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const profile = loadClientConfigProfile({ disableFile: !env.TEMPORAL_CONFIG_FILE, overrideEnvVars: env as Record<string, string> });
  const { connectionOptions, namespace } = toClientOptions(profile);
  return {
    address: connectionOptions.address ?? config.temporal.address,
    namespace: namespace ?? config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    apiKey: connectionOptions.apiKey,
    tls: connectionOptions.tls,
  };
}

/** gRPC connection for clients (CLI, receiver). */
export function connectClient(target: TemporalTarget): Promise<Connection> {
  return Connection.connect({ address: target.address, apiKey: target.apiKey, tls: target.tls, connectTimeout: '10s' });
}

/** Native (Rust core) connection for workers. */
export function connectWorker(target: TemporalTarget): Promise<NativeConnection> {
  return NativeConnection.connect({ address: target.address, apiKey: target.apiKey, tls: target.tls });
}
