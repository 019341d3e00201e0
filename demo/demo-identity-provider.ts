// A local OpenID Connect provider for `dev --demo` and the tests (oidc-provider, certified by the
// OpenID Foundation): any login name and any password sign in; the name decides the groups claim —
// `auditor` → qlik-auditors, `operator` → qlik-operators, anyone else no group (and no access). It
// stands where Entra ID, ADFS, Keycloak or Okta stand at a real site.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Groups by login name: `auditor` and `operator`; anyone else signs in with none (and gets no access). */
const DEMO_GROUPS: Record<string, string[]> = {
  auditor: ['qlik-auditors'],
  operator: ['qlik-operators'],
};

export interface DemoIdentityProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

export interface DemoIdpOptions {
  host?: string;
  port?: number;
  redirectUris: string[];
}

let quieted = false;
/**
 * oidc-provider warns on the console about what makes it a demo (in-memory state, development keys,
 * the built-in login pages, a Node.js before 22): true, and said in the demo's own words instead, so
 * the demo's terminal shows its summary, not these.
 */
function quietOidcProviderWarnings(): void {
  if (quieted) return;
  quieted = true;
  for (const level of ['warn', 'info'] as const) {
    const original = console[level].bind(console);
    console[level] = (...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].includes('oidc-provider ')) return;
      original(...args);
    };
  }
}

export async function startDemoIdentityProvider(options: DemoIdpOptions): Promise<DemoIdentityProvider> {
  quietOidcProviderWarnings();
  // oidc-provider is an ES module; this package is CommonJS.
  const { default: Provider } = await import('oidc-provider');
  const host = options.host ?? '127.0.0.1';
  const clientId = 'qlik-audit-demo';
  const clientSecret = randomBytes(24).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(options.port ?? 0, host, () => resolve()));
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`;
  const provider = new Provider(issuer, {
    clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: options.redirectUris, grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' }],
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username', 'groups'], email: ['email'] },
    // Put the claims in the ID token (the way most sites configure their group claim).
    conformIdTokenClaims: false,
    findAccount: async (_ctx: unknown, id: string) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: id, preferred_username: id, email: `${id}@demo.example`, groups: DEMO_GROUPS[id] ?? [] }),
    }),
    // A first-party app: no consent screen.
    loadExistingGrant: async (ctx: { oidc: { provider: { Grant: new (o: object) => { addOIDCScope(s: string): void; addOIDCClaims(c: string[]): void; save(): Promise<string> } }; client?: { clientId: string }; session?: { accountId?: string } } }) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client?.clientId, accountId: ctx.oidc.session?.accountId });
      grant.addOIDCScope('openid profile email');
      grant.addOIDCClaims(['name', 'preferred_username', 'groups', 'email']);
      await grant.save();
      return grant;
    },
    features: { devInteractions: { enabled: true } },
    ttl: { Session: 8 * 3600, Interaction: 600, Grant: 8 * 3600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    pkce: { required: () => true },
  } as never);
  // oidc-provider warns on stdout about its development defaults (the demo knows).
  provider.on('server_error', () => undefined);
  server.on('request', provider.callback());
  return {
    issuer,
    clientId,
    clientSecret,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
