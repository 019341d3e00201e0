// The YAML configuration (SPEC 3.1), one zod schema used by every command. Keys follow Butler SOS
// where it has them, so its users can copy their settings. Unknown keys are errors, never ignored:
// a typo in a security setting must not silently fall back to a default.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { describeIssues } from './validation';

const hostName = z.string().min(1).max(253);
const port = z.number().int().min(1).max(65535);
const durationMs = z.number().int().positive();

const temporalSchema = z.strictObject({
  address: z.string().min(1).default('127.0.0.1:7233'),
  namespace: z.string().min(1).default('default'),
  taskQueue: z.string().min(1).default('qlik-audit'),
});

const qlikSchema = z.strictObject({
  cert: z
    .strictObject({
      clientCert: z.string().min(1).default('./certs/client.pem'),
      clientCertKey: z.string().min(1).default('./certs/client_key.pem'),
      clientCertCA: z.string().min(1).default('./certs/root.pem'),
      clientCertPassphrase: z.string().default(''),
    })
    .prefault({}),
  rejectUnauthorized: z.boolean().default(true),
});

const storageTargetSchema = z.strictObject({
  enable: z.boolean().default(true),
  type: z.literal('flat'),
  directory: z.string().min(1),
});

const screenshotsSchema = z.strictObject({
  enable: z.boolean().default(true),
  downloadTimeoutMs: durationMs.default(15000),
  allowedImageDownloadHosts: z.array(hostName).default([]),
  storageTargets: z.array(storageTargetSchema).default([{ enable: true, type: 'flat', directory: './var/screenshots' }]),
  auth: z
    .strictObject({
      mode: z.enum(['none', 'qpsTicket', 'userTicket']).default('userTicket'),
      qps: z
        .strictObject({
          host: hostName.default('localhost'),
          port: port.default(4243),
          ticketTimeoutMs: durationMs.default(5000),
          userDirectory: z.string().default(''),
          userId: z.string().default(''),
          virtualProxy: z.string().default(''),
        })
        .prefault({}),
      sessionCache: z
        .strictObject({
          enable: z.boolean().default(true),
          ttlSeconds: z.number().positive().default(120),
          maxEntries: z.number().int().positive().default(100),
        })
        .prefault({}),
    })
    .prefault({}),
});

const eventApiSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8181),
  apiToken: z.string().default(''),
  rateLimitPerMinute: z.number().int().positive().default(300),
});

const auditSecurityLogSchema = z.strictObject({
  sources: z.array(z.strictObject({ directory: z.string().min(1) })).default([{ directory: './var/qlik-logs' }]),
  every: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 30s, 5m or 1h')
    .default('5m'),
  store: z
    .string()
    .regex(/^(pglite:|postgres(ql)?:\/\/)/, 'expected pglite:<folder> or postgres://user@host:5432/db')
    .default('pglite:./var/auditdb'),
  sequenceMax: z.number().int().positive().default(2147483647),
});

export const configSchema = z.strictObject({
  temporal: temporalSchema.prefault({}),
  qlik: qlikSchema.prefault({}),
  screenshots: screenshotsSchema.prefault({}),
  eventApi: eventApiSchema.prefault({}),
  auditSecurityLog: auditSecurityLogSchema.prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ScreenshotsConfig = Config['screenshots'];
export type QlikConfig = Config['qlik'];

/** A configuration problem a user can fix; the message names the file and the key path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Makes relative file and folder settings relative to the config file, not to the current folder. */
function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(baseDir, p));
  const store = config.auditSecurityLog.store;
  return {
    ...config,
    qlik: {
      ...config.qlik,
      cert: {
        ...config.qlik.cert,
        clientCert: abs(config.qlik.cert.clientCert),
        clientCertKey: abs(config.qlik.cert.clientCertKey),
        clientCertCA: abs(config.qlik.cert.clientCertCA),
      },
    },
    screenshots: {
      ...config.screenshots,
      storageTargets: config.screenshots.storageTargets.map((t) => ({ ...t, directory: abs(t.directory) })),
    },
    auditSecurityLog: {
      ...config.auditSecurityLog,
      sources: config.auditSecurityLog.sources.map((s) => ({ directory: abs(s.directory) })),
      store: store.startsWith('pglite:') ? `pglite:${abs(store.slice('pglite:'.length))}` : store,
    },
  };
}

/** Validates an already-parsed object (e.g. the embedded defaults of `qlik-audit dev`). */
export function parseConfig(raw: unknown, options: { source: string; baseDir: string }): Config {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    throw new ConfigError(`invalid config ${options.source}: ${describeIssues(result.error, Infinity)}`);
  }
  return resolvePaths(result.data, options.baseDir);
}

/** Reads and validates a YAML config file. */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    const e = err as { linePos?: { line: number }[]; message: string };
    const line = e.linePos?.[0]?.line;
    throw new ConfigError(`config file ${file}${line ? ` line ${line}` : ''} is not valid YAML: ${e.message.split('\n')[0]}`);
  }
  return parseConfig(raw, { source: file, baseDir: path.dirname(path.resolve(file)) });
}
