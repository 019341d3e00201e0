// Routes the Temporal SDK's own logs (worker, workflow and activity loggers) into our JSON logger,
// and optionally exposes Prometheus metrics. Runtime.install may be called once per process.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../common/logger';

let installed = false;

/**
 * `handleSignals: false` leaves SIGINT/SIGTERM to the caller (`qlik-audit dev` stops its whole stack
 * itself); otherwise the SDK shuts the workers down on them.
 */
export function installRuntime(logger: Logger, options: { prometheusBindAddress?: string; handleSignals?: boolean } = {}): void {
  if (installed) return;
  installed = true;
  const sdkLogger = new DefaultLogger((process.env.TEMPORAL_LOG_LEVEL ?? 'INFO') as LogLevel, (entry) => {
    const level = entry.level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    const fn = (logger[level] ?? logger.info).bind(logger);
    fn({ ...entry.meta, sdk: true }, entry.message);
  });
  Runtime.install({
    logger: sdkLogger,
    ...(options.handleSignals === false ? { shutdownSignals: [] } : {}),
    telemetryOptions: {
      // The SDK core's own warnings go through our logger too (readable on a terminal, JSON for
      // services, the log file under `qlik-audit dev`), not straight to the console.
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(options.prometheusBindAddress ? { metrics: { prometheus: { bindAddress: options.prometheusBindAddress } } } : {}),
    },
  });
}
