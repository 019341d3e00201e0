// Where to reach Temporal: `temporal.*` from the YAML config, overridden by Temporal's standard
// environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
// TEMPORAL_CONFIG_FILE/TEMPORAL_PROFILE), read by @temporalio/envconfig exactly as the CLI reads them.
import { loadClientConfigProfile, toClientOptions } from '@temporalio/envconfig';
import { Connection } from '@temporalio/client';
import type { Config } from '../common/config';

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: ReturnType<typeof toClientOptions>['connectionOptions']['tls'];
}

export function temporalTarget(config: Config, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  // An empty variable (`TEMPORAL_ADDRESS=`) means unset, as in a shell, not "connect to ''".
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== '')) as Record<string, string>;
  const profile = loadClientConfigProfile({ disableFile: !set.TEMPORAL_CONFIG_FILE, overrideEnvVars: set });
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
