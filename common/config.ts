// The YAML configuration (SPEC 3.1), one zod schema used by every command. Keys follow Butler SOS
// where it has them, so its users can copy their settings. Unknown keys are errors, never ignored:
// a typo in a security setting must not silently fall back to a default.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import semver from 'semver';
import { z } from 'zod';
import { canonicalHostName } from './host-names';
import { describeIssues } from './validation';
import { PGLITE_MOVED } from './store-url';

const hostName = z.string().min(1).max(253);
const port = z.number().int().min(1).max(65535);
const durationMs = z.number().int().positive();

/** A list that may be written as `null` (Butler SOS does, for a list whose entries are all
 *  commented out), which means empty; absent means `fallback`. */
function list<T extends z.ZodTypeAny>(item: T, fallback: z.output<T>[] = []) {
  return z
    .array(item)
    .nullable()
    .transform((value) => value ?? [])
    .default(fallback);
}

/** An allow-list entry: a bare host name or IP address, as Butler SOS compares them (port ignored). */
const allowedHost = z.string().transform((entry, ctx) => {
  const value = entry.trim();
  const problem = /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
    ? 'has a scheme'
    : /[/?#@]/.test(value)
      ? 'has a path or user part'
      : /^[^[\]:]+:\d*$/.test(value) || /^\[.*\]:\d*$/.test(value)
        ? 'has a port'
        : value === '' || !canonicalHostName(value)
          ? 'is not a host name or IP address'
          : undefined;
  if (problem) {
    const bare = bareHostOf(value);
    ctx.addIssue({ code: 'custom', message: `'${entry}' ${problem}: write the bare host name or IP${bare ? `, e.g. ${bare}` : ''} (ports are ignored when matching)` });
    return z.NEVER;
  }
  return value;
});

/** The host of a URL-ish entry such as `https://qlik.example.com:443/hub`, to suggest in an error. */
function bareHostOf(value: string): string | undefined {
  try {
    return new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Butler SOS's virtual proxy normalisation: surrounding slashes and spaces dropped; `/` alone is the default proxy. */
const virtualProxy = z.string().transform((value, ctx) => {
  const normalized = value.trim().replace(/^\/+|\/+$/g, '');
  if (normalized === '' || /^[A-Za-z0-9._~-]+$/.test(normalized)) return normalized;
  ctx.addIssue({ code: 'custom', message: `'${value}' is not a virtual proxy prefix: letters, digits and . _ ~ - only (e.g. analytics for https://qlik.example.com/analytics/hub)` });
  return z.NEVER;
});

/** `https://qlik.example.com` or `*`: what a browser sends as Origin (scheme, host, port; no path). */
const corsOrigin = z.string().transform((entry, ctx) => {
  if (entry.trim() === '*') return '*';
  let url: URL | undefined;
  try {
    url = new URL(entry.trim());
  } catch {
    url = undefined;
  }
  const origin = url?.origin;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.pathname.replace(/\/$/, '') !== '' || url.search || url.hash || url.username) {
    ctx.addIssue({ code: 'custom', message: `'${entry}' is not an origin: write the hub's scheme and host, e.g. https://qlik.example.com (a port only if it is not the default)` });
    return z.NEVER;
  }
  return origin as string;
});

/** Fastify trustProxy as a list: IP addresses, CIDR ranges, or proxy-addr's names. */
const trustedProxyList = z
  .union([z.string(), z.array(z.string())])
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter(Boolean))
  .superRefine((entries, ctx) => {
    for (const entry of entries) {
      if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) continue;
      const [ip = '', bits, ...rest] = entry.split('/');
      const family = isIP(ip);
      const max = family === 6 ? 128 : 32;
      if (family === 0 || rest.length > 0 || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
        ctx.addIssue({ code: 'custom', message: `'${entry}' is not an IP address or CIDR range (e.g. 10.0.0.0/8), nor loopback/linklocal/uniquelocal` });
      }
    }
  });

const TRUST_ANY_REFUSED =
  "believes X-Forwarded-For from anyone who reaches the receiver's port, so a client picks its own IP and is never rate limited: list the proxy's addresses or CIDR ranges instead, e.g. [127.0.0.1] or ['10.0.0.0/8']";

/** eventApi.trustProxy: false (the default), or the proxies to believe. */
const trustProxySetting = z
  .unknown()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === null || value === false) return false as const;
    if (value === true || typeof value === 'number') {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} ${TRUST_ANY_REFUSED}` });
      return z.NEVER;
    }
    return value;
  })
  .pipe(z.union([z.literal(false), trustedProxyList]));

// Payloads written to Temporal encrypted (SPEC 8): AES-256-GCM under `current`, decoded with any listed key.
const encryptionSchema = z
  .strictObject({
    keys: z
      .array(
        z
          .strictObject({
            id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a key id of letters, digits, . _ or -'),
            // 32 bytes, base64 (openssl rand -base64 32); or keyFile: a file holding it
            key: z.string().default(''),
            keyFile: z.string().default(''),
          })
          .refine((k) => (k.key === '') !== (k.keyFile === ''), { message: 'set key (32 bytes, base64) or keyFile, not both' }),
      )
      .min(1),
    current: z.string().default(''),
  })
  .superRefine((e, ctx) => {
    const ids = e.keys.map((k) => k.id);
    if (new Set(ids).size !== ids.length) ctx.addIssue({ code: 'custom', path: ['keys'], message: 'two keys have one id' });
    if (e.current && !ids.includes(e.current)) ctx.addIssue({ code: 'custom', path: ['current'], message: `'${e.current}' is not the id of a listed key (${ids.join(', ')})` });
  });

const temporalSchema = z.strictObject({
  address: z.string().min(1).default('127.0.0.1:7233'),
  namespace: z.string().min(1).default('default'),
  taskQueue: z.string().min(1).default('qlik-audit'),
  encryption: encryptionSchema.optional(),
});

// The Temporal Web UI's remote codec endpoint (`qlik-audit codec-server`): decodes payloads for
// operators who hold the token, for the UI's origins only.
const codecServerSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8888),
  // The Web UI's origin(s), e.g. http://127.0.0.1:8233
  allowedOrigins: list(z.string().min(1), ['http://127.0.0.1:8233', 'http://localhost:8233']),
  // or env QLIK_AUDIT_CODEC_TOKEN; required
  token: z.string().default(''),
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

/** Butler SOS's `addInImageMetadata`: a second file with a header band naming these fields. */
const metadataFieldsSchema = z
  .strictObject({
    date: z.boolean().default(false),
    eventId: z.boolean().default(false),
    correlationId: z.boolean().default(false),
    selectionTxnId: z.boolean().default(false),
    user: z.boolean().default(false),
    appId: z.boolean().default(false),
    appName: z.boolean().default(false),
    sheetName: z.boolean().default(false),
    viewingDuration: z.boolean().default(false),
  })
  .prefault({});

const screenshotsSchema = z
  .strictObject({
  enable: z.boolean().default(true),
  downloadTimeoutMs: durationMs.default(15000),
  // Transient failures (QPS or proxy down, 404 while the Printing Service renders) are retried this long.
  retryWindowMinutes: z.number().positive().max(525_600).default(1440),
  // The first attempt runs as a local activity inside the workflow task when it finishes within this
  // (no activity task, no second workflow task); slower or failed attempts continue as the regular
  // heartbeating activity. 0 turns the fast path off. Kept under the 10 s workflow task timeout.
  fastPathMs: z.number().int().min(0).max(8000).default(5000),
  addInImageMetadata: z.strictObject({ enable: z.boolean().default(false), fields: metadataFieldsSchema }).prefault({}),
  allowedImageDownloadHosts: list(allowedHost),
  // The paths an event's screenshot URL may name (after an optional virtual-proxy prefix): where
  // Qlik's Printing Service renders images. Anything else is blocked before any ticket or request.
  allowedImagePaths: list(z.string().regex(/^\//, "expected a path that begins with '/', e.g. /tempcontent/"), ['/tempcontent/']),
  storageTargets: list(storageTargetSchema, [{ enable: true, type: 'flat', directory: './var/screenshots' }]),
  auth: z
    .strictObject({
      mode: z.enum(['none', 'qpsTicket', 'userTicket']).default('userTicket'),
      // userTicket mode: only users of these directories get a ticket (empty: any but INTERNAL, never INTERNAL).
      allowedUserDirectories: list(z.string().trim().min(1)),
      qps: z
        .strictObject({
          host: hostName.default('localhost'),
          port: port.default(4243),
          ticketTimeoutMs: durationMs.default(5000),
          userDirectory: z.string().trim().default(''),
          userId: z.string().trim().default(''),
          virtualProxy: virtualProxy.default(''),
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
  })
  .superRefine((screenshots, ctx) => {
    // Checked at load, not when the first screenshot arrives: Butler SOS requires the fixed user too.
    const { mode, qps } = screenshots.auth;
    if (mode === 'qpsTicket' && (!qps.userDirectory || !qps.userId)) {
      ctx.addIssue({ code: 'custom', path: ['auth', 'qps'], message: 'auth mode qpsTicket downloads as one fixed user: set userDirectory and userId' });
    }
    // One attempt (a ticket and a download) must fit in the retry window, or no attempt could finish.
    const attemptMs = qps.ticketTimeoutMs + screenshots.downloadTimeoutMs;
    if (screenshots.retryWindowMinutes * 60_000 < attemptMs) {
      ctx.addIssue({ code: 'custom', path: ['retryWindowMinutes'], message: `${screenshots.retryWindowMinutes} min is shorter than one attempt (auth.qps.ticketTimeoutMs + downloadTimeoutMs = ${attemptMs} ms)` });
    }
  });

/** The Audit.qs versions Butler SOS 15 takes events from: ours by default. */
export const DEFAULT_AUDIT_QS_RANGE = '>=0.3.0 <0.5.0';

/** An HTTPS listener's certificate (eventApi.tls, auditUi.tls). */
const listenerTls = z
  .strictObject({
    enable: z.boolean().default(false),
    cert: z.string().default(''),
    key: z.string().default(''),
    ca: z.string().default(''),
    passphrase: z.string().default(''),
  })
  .prefault({})
  .refine((tls) => !tls.enable || (tls.cert && tls.key), { message: 'enable is true: set cert and key (PEM files of the HTTPS certificate and its private key)' });

const eventApiSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: port.default(8181),
  apiToken: z.string().default(''),
  // Butler SOS's keys: requests per minute per client IP (rateLimitPerMinute, the earlier key, still accepted).
  rateLimit: z.strictObject({ enable: z.boolean().default(true), maxPerMinute: z.number().int().positive().optional() }).prefault({}),
  rateLimitPerMinute: z.number().int().positive().default(300),
  // The Audit.qs versions this receiver takes events from (a semver range; Butler SOS 15's by default).
  compatibleAuditQsVersions: z
    .string()
    .refine((range) => semver.validRange(range) !== null, "expected a semver range, e.g. '>=0.3.0 <0.6.0'")
    .default(DEFAULT_AUDIT_QS_RANGE),
  cors: z
    .strictObject({
      // Butler SOS key. The Qlik hub origins Audit.qs posts from; '*' = any; [] or null = CORS off.
      allowedOrigins: list(corsOrigin),
    })
    .prefault({}),
  // Butler SOS keys: an HTTPS listener (a hub served over HTTPS cannot post to http://).
  tls: listenerTls,
  // Take the client IP (rate limit, logs) from X-Forwarded-For, but only when the request comes
  // from one of these proxy addresses or CIDR ranges. `true` and hop counts believe whoever reaches
  // the port directly (they choose their own IP, and are never rate limited): refused.
  trustProxy: trustProxySetting,
});

const auditSecurityLogSchema = z.strictObject({
  sources: z.array(z.strictObject({ directory: z.string().min(1) })).default([{ directory: './var/qlik-logs' }]),
  every: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 30s, 5m or 1h')
    .default('5m'),
  store: z
    .string()
    .refine((url) => !url.startsWith('pglite:'), PGLITE_MOVED)
    .regex(/^(embedded:.+|postgres(ql)?:\/\/)/, 'expected embedded:<folder> (the PostgreSQL server shipped with qlik-audit) or postgres://user@host:5432/db')
    .default('embedded:./var/auditdb'),
  sequenceMax: z.number().int().positive().default(2147483647),
  // A site that changed its log4net layout lists its AuditSecurity columns (default: Qlik's documented ones).
  columns: list(z.string().min(1)),
  // HMAC key for the digest chain (or env QLIK_AUDIT_DIGEST_KEY): then nobody without it can recompute the chain.
  digestKey: z.string().default(''),
  // The anchor log: the chain's head after each ingest run, appended outside the database (SPEC 5.6).
  // Put it where the database's users cannot write (a share of its own, append-only where possible).
  anchorFile: z.string().min(1).default('./var/anchors/audit-store.anchors'),
  // Chains ingested at once in one run (each on any worker polling the task queue).
  parallelChains: z.number().int().min(1).max(64).default(4),
});

// The audit trail (SPEC 6): how long Audit.qs events and screenshot files are kept, and what never goes.
const auditTrailSchema = z.strictObject({
  retentionDays: z.number().int().min(0).max(36_500).default(0),
  legalHold: z
    .strictObject({
      // DIR\ID, as Qlik writes a user (compared case-insensitively)
      users: list(z.string().regex(/^[^\\]+\\[^\\]+$/, 'expected DIRECTORY\\userid, e.g. ACME\\jdoe')),
      // an app id (UUID) or an app name
      apps: list(z.string().min(1)),
    })
    .prefault({}),
  // How often the retention schedule runs when retentionDays is set.
  every: z
    .string()
    .regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration such as 6h or 1d')
    .default('1d'),
});

const severity = z.enum(['low', 'medium', 'high', 'critical']);
const duration = (example: string) => z.string().regex(/^\d+(ms|s|m|h|d)$/, `expected a duration such as ${example}`);
/** A rule that counts: at least `threshold` signals for one key within `windowSeconds`. */
const countingRule = (threshold: number, windowSeconds: number, level: z.infer<typeof severity>) =>
  z
    .strictObject({
      enable: z.boolean().default(true),
      threshold: z.number().int().min(1).default(threshold),
      windowSeconds: z.number().int().min(1).max(86_400).default(windowSeconds),
      severity: severity.default(level),
    })
    .prefault({});

// Detections over the stored trail (SPEC 7): a schedule runs them every `every` over what was stored
// since its checkpoint; an alert per rule and key at most once per `suppressionMinutes`.
const detectionsSchema = z.strictObject({
  every: duration('1m or 5m')
    .refine((d) => !/^\d+ms$/.test(d) && !/^0+[smhd]$/.test(d), 'expected at least 1s, e.g. 1m')
    .default('1m'),
  suppressionMinutes: z.number().int().min(0).max(7 * 24 * 60).default(60),
  rules: z
    .strictObject({
      failedLogins: countingRule(5, 300, 'high'),
      accessDenied: countingRule(10, 600, 'medium'),
      serviceAccountRemote: z
        .strictObject({
          enable: z.boolean().default(true),
          severity: severity.default('critical'),
          // The site's own nodes (their service accounts talk across nodes): addresses not alerted on.
          allowedAddresses: list(z.string().min(1)),
        })
        .prefault({}),
      newClientAddress: z.strictObject({ enable: z.boolean().default(false), learningDays: z.number().int().min(0).max(365).default(14), severity: severity.default('low') }).prefault({}),
      integrity: z
        .strictObject({
          enable: z.boolean().default(true),
          severity: severity.default('critical'),
          // A chain that stopped growing: no ingest run has finished for this long (0: 6 × auditSecurityLog.every, at least 30 min).
          silentMinutes: z.number().int().min(0).default(0),
          // The whole store is checked (verify-store) at most this often; new error findings every run.
          verifyEveryMinutes: z.number().int().min(1).default(60),
        })
        .prefault({}),
      screenshotRefusals: countingRule(20, 600, 'medium'),
    })
    .prefault({}),
});

const httpsUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || (url.protocol === 'http:' && (url.hostname === 'localhost' || (isIP(url.hostname) === 4 && url.hostname.startsWith('127.'))));
  } catch {
    return false;
  }
}, 'expected an https:// URL (http:// only to this machine)');
const sinkName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected a name of letters, digits, . _ or - (it names the sink in the Web UI and alerts test)');

// Where alerts go (SPEC 7): each sink gets every alert once, retried for hours while it is down.
const alertsSchema = z.strictObject({
  sinks: list(
    z.discriminatedUnion('type', [
      // HTTPS POST of the alert's JSON, signed: X-Qlik-Audit-Signature: sha256=<HMAC-SHA256 of the body> (secret or env QLIK_AUDIT_ALERT_SECRET_<NAME>)
      z.strictObject({ name: sinkName, type: z.literal('webhook'), url: httpsUrl, secret: z.string().default(''), ca: z.string().default('') }),
      // RFC 5424 over TCP and TLS (RFC 5425 framing), as SIEMs take it
      z.strictObject({ name: sinkName, type: z.literal('syslog'), host: z.string().min(1), port: port.default(6514), tls: z.strictObject({ ca: z.string().default('') }).prefault({}) }),
      // SMTP with STARTTLS (required unless starttls: false), the alert as text with its JSON attached
      z.strictObject({
        name: sinkName,
        type: z.literal('email'),
        from: z.string().min(3),
        to: z.array(z.string().min(3)).min(1),
        smtp: z.strictObject({
          host: z.string().min(1),
          port: port.default(587),
          starttls: z.boolean().default(true),
          user: z.string().default(''),
          // or env QLIK_AUDIT_SMTP_PASSWORD_<NAME>
          password: z.string().default(''),
          ca: z.string().default(''),
        }),
      }),
    ]),
  ),
}).superRefine((alerts, ctx) => {
  const seen = new Set<string>();
  alerts.sinks.forEach((sink, i) => {
    if (seen.has(sink.name)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'name'], message: `'${sink.name}' names two sinks: each needs its own name` });
    seen.add(sink.name);
    if (sink.type === 'email' && !sink.smtp.starttls && sink.smtp.port !== 465 && (sink.smtp.password || sink.smtp.user)) ctx.addIssue({ code: 'custom', path: ['sinks', i, 'smtp', 'starttls'], message: 'starttls is false and a user is set: the password would cross the network in clear; keep starttls: true (or port 465)' });
  });
});

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
/** This machine only: localhost, ::1 or an IPv4 address 127.x.x.x (not a name that starts with 127.). */
const isLoopbackHost = (host: string) => LOOPBACK_HOSTS.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
/** A URL of this machine only (see isLoopbackHost). */
export const isLoopbackUrl = (url: URL) => isLoopbackHost(url.hostname.replace(/^\[|\]$/g, ''));
const urlOrEmpty = z.string().default('');

// The auditor's view (SPEC 6.3): a web app signed in through the site's OpenID Connect provider.
const auditUiSchema = z
  .strictObject({
    enable: z.boolean().default(false),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8282),
    tls: listenerTls,
    oidc: z
      .strictObject({
        // discovery: <issuer>/.well-known/openid-configuration
        issuer: urlOrEmpty,
        clientId: z.string().default(''),
        // or env QLIK_AUDIT_OIDC_CLIENT_SECRET
        clientSecret: z.string().default(''),
        redirectUri: urlOrEmpty,
        // a string or list claim of the ID token (or of userinfo)
        rolesClaim: z.string().min(1).default('groups'),
        auditorValues: list(z.string().min(1)),
        operatorValues: list(z.string().min(1)),
      })
      .prefault({}),
    sessionMinutes: z.number().int().min(5).max(7 * 24 * 60).default(480),
  })
  .superRefine((ui, ctx) => {
    if (!ui.enable) return;
    const oidc = ui.oidc;
    const url = (key: 'issuer' | 'redirectUri'): URL | undefined => {
      try {
        return new URL(oidc[key]);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['oidc', key], message: oidc[key] ? `'${oidc[key]}' is not a URL` : 'enable is true: set it (the web app signs people in through the OpenID Connect provider)' });
        return undefined;
      }
    };
    const issuer = url('issuer');
    // Tokens and codes over plain HTTP only on this machine (a local test provider).
    if (issuer && issuer.protocol !== 'https:' && !isLoopbackUrl(issuer)) ctx.addIssue({ code: 'custom', path: ['oidc', 'issuer'], message: `${oidc.issuer}: an identity provider is reached over https:// (http:// only on this machine)` });
    const redirect = url('redirectUri');
    if (redirect && !/\/auth\/callback$/.test(redirect.pathname)) ctx.addIssue({ code: 'custom', path: ['oidc', 'redirectUri'], message: `${oidc.redirectUri}: expected this web app's address ending in /auth/callback, e.g. https://qlik-audit.example.com:8282/auth/callback` });
    if (redirect && redirect.protocol !== 'https:' && !isLoopbackUrl(redirect)) ctx.addIssue({ code: 'custom', path: ['oidc', 'redirectUri'], message: `${oidc.redirectUri}: beyond this machine the web app is served over https:// (set auditUi.tls)` });
    if (!oidc.clientId) ctx.addIssue({ code: 'custom', path: ['oidc', 'clientId'], message: 'enable is true: set the client id registered at the identity provider' });
    if (oidc.auditorValues.length + oidc.operatorValues.length === 0) ctx.addIssue({ code: 'custom', path: ['oidc', 'auditorValues'], message: `enable is true: name the ${oidc.rolesClaim} values of auditors (and operatorValues of operators); nobody else gets in` });
    // Session cookies must not cross a network in clear.
    if (!ui.tls.enable && !isLoopbackHost(ui.host)) ctx.addIssue({ code: 'custom', path: ['tls', 'enable'], message: `host ${ui.host} serves beyond this machine: enable TLS (or keep 127.0.0.1 behind a TLS reverse proxy)` });
  });

export const configSchema = z.strictObject({
  temporal: temporalSchema.prefault({}),
  qlik: qlikSchema.prefault({}),
  screenshots: screenshotsSchema.prefault({}),
  eventApi: eventApiSchema.prefault({}),
  auditSecurityLog: auditSecurityLogSchema.prefault({}),
  auditTrail: auditTrailSchema.prefault({}),
  auditUi: auditUiSchema.prefault({}),
  detections: detectionsSchema.prefault({}),
  alerts: alertsSchema.prefault({}),
  codecServer: codecServerSchema.prefault({}),
  // OpenTelemetry traces (SPEC 8): receiver → workflow → activities, over OTLP/HTTP when set.
  telemetry: z
    .strictObject({
      otlpEndpoint: z
        .string()
        .refine((u) => u === '' || /^https?:\/\/[^/\s]+/.test(u), 'expected the collector\'s OTLP/HTTP base URL, e.g. http://127.0.0.1:4318')
        .default(''),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;
export type ScreenshotsConfig = Config['screenshots'];
export type QlikConfig = Config['qlik'];
export type AlertSink = Config['alerts']['sinks'][number];
export type DetectionRules = Config['detections']['rules'];

/** A configuration problem a user can fix; the message names the file and the key path. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Makes relative file and folder settings relative to the config file, not to the current folder. */
function resolvePaths(config: Config, baseDir: string): Config {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(baseDir, p));
  const store = config.auditSecurityLog.store;
  const absTls = <T extends { cert: string; key: string; ca: string }>(tls: T): T => ({ ...tls, cert: tls.cert && abs(tls.cert), key: tls.key && abs(tls.key), ca: tls.ca && abs(tls.ca) });
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
    eventApi: { ...config.eventApi, tls: absTls(config.eventApi.tls) },
    auditUi: { ...config.auditUi, tls: absTls(config.auditUi.tls) },
    temporal: config.temporal.encryption
      ? { ...config.temporal, encryption: { ...config.temporal.encryption, keys: config.temporal.encryption.keys.map((k) => ({ ...k, keyFile: k.keyFile && abs(k.keyFile) })) } }
      : config.temporal,
    alerts: {
      sinks: config.alerts.sinks.map((sink) =>
        sink.type === 'webhook' ? { ...sink, ca: sink.ca && abs(sink.ca) } : sink.type === 'syslog' ? { ...sink, tls: { ca: sink.tls.ca && abs(sink.tls.ca) } } : { ...sink, smtp: { ...sink.smtp, ca: sink.smtp.ca && abs(sink.smtp.ca) } },
      ),
    },
    auditSecurityLog: {
      ...config.auditSecurityLog,
      sources: config.auditSecurityLog.sources.map((s) => ({ directory: abs(s.directory) })),
      store: store.startsWith('embedded:') ? `embedded:${abs(store.slice('embedded:'.length))}` : store,
      anchorFile: abs(config.auditSecurityLog.anchorFile),
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
