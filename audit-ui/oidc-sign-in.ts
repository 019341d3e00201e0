// Sign-in through the site's OpenID Connect provider (Entra ID, ADFS, Keycloak, Okta): the
// authorization-code flow with PKCE, state and nonce, by openid-client. The provider's metadata is
// discovered on first use and again after a failure, so the web app starts while the provider is
// down and signs people in once it is back.
import { isLoopbackUrl, type Config } from '../common/config';

type OpenIdClient = typeof import('openid-client', { with: { 'resolution-mode': 'import' } });
type Configuration = import('openid-client', { with: { 'resolution-mode': 'import' } }).Configuration;

export type OidcSettings = Config['auditUi']['oidc'];

export interface SignedInPerson {
  subject: string;
  /** A name to show and record: preferred_username, else e-mail, else upn, else name, else the subject. */
  name: string;
  claims: Record<string, unknown>;
}

/** The identity provider could not be reached or said no: the message names which and why. */
export class SignInError extends Error {
  override name = 'SignInError';
}

export class OidcSignIn {
  private lib?: Promise<OpenIdClient>;
  private configuration?: Promise<Configuration>;

  constructor(
    private readonly settings: OidcSettings,
    private readonly clientSecret: string | undefined,
  ) {}

  private client(): Promise<OpenIdClient> {
    // openid-client is an ES module; this package is CommonJS.
    return (this.lib ??= import('openid-client'));
  }

  private discover(): Promise<Configuration> {
    this.configuration ??= (async () => {
      const lib = await this.client();
      const issuer = new URL(this.settings.issuer);
      const auth = this.clientSecret ? lib.ClientSecretBasic(this.clientSecret) : lib.None();
      try {
        // http:// only for a provider on this machine (the demo's, a test's): config validation said so.
        return await lib.discovery(issuer, this.settings.clientId, undefined, auth, { execute: issuer.protocol === 'http:' && isLoopbackUrl(issuer) ? [lib.allowInsecureRequests] : [], timeout: 10 });
      } catch (err) {
        this.configuration = undefined; // try again next time
        throw new SignInError(`the identity provider ${issuer.origin} cannot be reached or has no OpenID Connect discovery document (auditUi.oidc.issuer): ${(err as Error).message}`);
      }
    })();
    return this.configuration;
  }

  /** Where to send the browser, and what to keep until it comes back. */
  async start(): Promise<{ url: string; state: string; nonce: string; verifier: string }> {
    const lib = await this.client();
    const configuration = await this.discover();
    const verifier = lib.randomPKCECodeVerifier();
    const state = lib.randomState();
    const nonce = lib.randomNonce();
    const url = lib.buildAuthorizationUrl(configuration, {
      redirect_uri: this.settings.redirectUri,
      scope: 'openid profile email',
      code_challenge: await lib.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state, nonce, verifier };
  }

  /** Redeems the code of the callback (its query string) for an ID token, checked, and the person it names. */
  async complete(callbackQuery: string, pending: { state: string; nonce: string; verifier: string }): Promise<SignedInPerson> {
    const lib = await this.client();
    const configuration = await this.discover();
    const url = new URL(this.settings.redirectUri);
    url.search = callbackQuery;
    let tokens;
    try {
      tokens = await lib.authorizationCodeGrant(configuration, url, { pkceCodeVerifier: pending.verifier, expectedState: pending.state, expectedNonce: pending.nonce, idTokenExpected: true });
    } catch (err) {
      const e = err as Error & { error?: string; error_description?: string };
      throw new SignInError(`the identity provider did not sign you in: ${e.error_description ?? e.error ?? e.message}`);
    }
    const idClaims = (tokens.claims() ?? {}) as Record<string, unknown>;
    let claims = idClaims;
    // Some providers put groups in userinfo only (Keycloak without a token mapper, Okta by default).
    const top = this.settings.rolesClaim.split('.')[0] as string;
    if (!(top in idClaims) && tokens.access_token) {
      const info = await lib.fetchUserInfo(configuration, tokens.access_token, String(idClaims.sub)).catch(() => undefined);
      if (info) claims = { ...info, ...idClaims };
    }
    const subject = String(idClaims.sub);
    // What the access record names: an account name the provider's administrators assign, before a
    // display name a user may be able to edit (a colleague's name would then stand in the record).
    const name = [claims.preferred_username, claims.email, claims.upn, claims.name, subject].find((v): v is string => typeof v === 'string' && v !== '') ?? subject;
    return { subject, name, claims };
  }
}
