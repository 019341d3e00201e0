// Starts the auditor's view (SPEC 6.3) on its own listener (auditUi.host:port), for `serve` and
// `dev`. The identity provider is discovered on first sign-in, so the web app starts while it is down.
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { loadListenerTls } from '../client/receiver/tls';
import { configuredDigestKey } from '../store/digest';
import type { AuditStore } from '../store/store';
import { OidcSignIn } from './oidc-sign-in';
import { createAuditUi } from './server';
import { Sessions } from './sessions';
import { StoreStatus } from './store-status';
import { Thumbnails } from './thumbnails';

export interface RunningAuditUi {
  url: string;
  close(): Promise<void>;
}

export interface StartAuditUiOptions {
  /** The sessions' clock (tests of expiry). */
  now?: () => number;
  port?: number;
}

export async function startAuditUi(config: Config, store: AuditStore, logger: Logger, options: StartAuditUiOptions = {}): Promise<RunningAuditUi> {
  const ui = config.auditUi;
  const https = loadListenerTls(ui.tls, 'auditUi.tls');
  const clientSecret = process.env.QLIK_AUDIT_OIDC_CLIENT_SECRET || ui.oidc.clientSecret || undefined;
  const app = await createAuditUi({
    config,
    store,
    logger,
    signIn: new OidcSignIn(ui.oidc, clientSecret),
    sessions: new Sessions(ui.sessionMinutes * 60_000, options.now),
    status: new StoreStatus(config, store, logger),
    thumbnails: new Thumbnails(),
    digestKey: configuredDigestKey(config.auditSecurityLog.digestKey),
    https: https && { cert: https.cert, key: https.key, ca: https.ca, passphrase: https.passphrase },
  });
  const port = options.port ?? ui.port;
  try {
    await app.listen({ host: ui.host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`the auditor's view cannot listen on ${ui.host}:${port} (auditUi.host/port): ${code === 'EADDRINUSE' ? 'the port is in use' : (err as Error).message}`, { cause: err });
  }
  const address = app.server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const url = `${https ? 'https' : 'http'}://${ui.host.includes(':') ? `[${ui.host}]` : ui.host}:${bound}`;
  logger.info({ url, issuer: ui.oidc.issuer, roles: ui.oidc.rolesClaim }, "auditor's view listening");
  return { url, close: () => app.close() };
}
