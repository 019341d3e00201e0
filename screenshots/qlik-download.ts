// Downloading a screenshot as a Qlik user (SPEC 3.3 "QPS ticket", "Download", "Session cache"): a
// cached proxy session when there is one, else a fresh QPS ticket over mutual TLS; one ticket per user
// at a time (concurrent misses wait for it); sessions that leave the cache, or never enter it, are
// closed at QPS. One instance per worker process: it owns the connection pools and the cache.
import type { Agent } from 'undici';
import { permanent } from '../common/failures';
import type { QlikConfig, ScreenshotsConfig } from '../common/config';
import type { Logger } from '../common/logger';
import type { CaptureIdentity, QlikUser } from '../common/screenshot-result';
import { createMutualTlsAgent, createPlainAgent } from '../qlik/mtls-agent';
import { deleteQpsSession } from '../qlik/qps-session';
import { redeemQpsTicket, type QpsEndpoint } from '../qlik/qps-ticket';
import { SessionCache, sessionKey } from '../qlik/session-cache';
import { userSessionIds } from '../qlik/qps-user-sessions';
import { LRUCache } from 'lru-cache';

/** How long a user seen signed in is taken as signed in (seconds: a burst of screenshots, not a day). */
const SIGNED_IN_TTL_MS = 30_000;
import { downloadScreenshot, type DownloadOutcome, type DownloadRequest, type SessionCookie } from './download';

export type DownloadIdentity = Extract<CaptureIdentity, { status: 'ok' }>;

export class QlikDownloader {
  private mtlsAgent: Agent | undefined;
  private plainAgent: Agent | undefined;
  private readonly sessions: SessionCache;
  /** Ticket redemptions under way, per session key: misses for the same user wait for it. */
  private readonly pending = new Map<string, Promise<DownloadOutcome>>();
  /** DELETEs under way, awaited at worker shutdown. */
  private readonly closing = new Set<Promise<void>>();
  private readonly cacheEnabled: boolean;
  /** Users seen signed in (userTicket mode), for a short while: a burst of one user's screenshots asks QPS once. */
  private readonly signedIn = new LRUCache<string, true>({ max: 1000, ttl: SIGNED_IN_TTL_MS });
  /** Session ids being closed at QPS: ours, not the user's. */
  private readonly closingIds = new Set<string>();

  constructor(
    private readonly qlik: QlikConfig,
    private readonly settings: ScreenshotsConfig,
    private readonly logger: Logger,
  ) {
    this.cacheEnabled = settings.auth.sessionCache.enable;
    this.sessions = new SessionCache({
      ttlSeconds: settings.auth.sessionCache.ttlSeconds,
      maxEntries: settings.auth.sessionCache.maxEntries,
      onDrop: (session, reason) => this.closeSession(session.sessionId, session.parts, reason),
    });
  }

  /** The connection pool for an auth mode, made on first use (a `none` setup needs no certificates). */
  agentFor(mode: string): Agent {
    if (mode === 'none') return (this.plainAgent ??= createPlainAgent(this.qlik));
    return (this.mtlsAgent ??= createMutualTlsAgent(this.qlik));
  }

  private qpsEndpoint(virtualProxy: string): QpsEndpoint {
    const { qps } = this.settings.auth;
    return { host: qps.host, port: qps.port, virtualProxy, timeoutMs: qps.ticketTimeoutMs, dispatcher: this.agentFor('qpsTicket') };
  }

  /** Closes a proxy session at QPS (in the background; awaited by close()). */
  private closeSession(sessionId: string, parts: { host: string; virtualProxy: string; userDirectory: string; userId: string }, reason: string): void {
    const { host, virtualProxy, userDirectory, userId } = parts;
    this.closingIds.add(sessionId);
    const closed = deleteQpsSession(this.qpsEndpoint(virtualProxy), sessionId).then((status) => {
      this.closingIds.delete(sessionId);
      this.logger.info({ reason, host, virtualProxy, userDirectory, userId, qpsStatus: status }, 'qlik session closed');
    });
    this.closing.add(closed);
    void closed.finally(() => this.closing.delete(closed));
  }

  /**
   * Downloads with a cached proxy session when there is one, else with a fresh QPS ticket. A cached
   * session the proxy refuses (401/403) is dropped and replaced; a refused fresh ticket (consumed or
   * expired) gets one more fresh ticket before the run fails as AccessDenied. Every session the proxy
   * opens for us and the cache does not keep (cache off, a failed or refused download) is closed at
   * QPS afterwards, so none lingers counting against the user.
   */
  async download(request: DownloadRequest, identity: DownloadIdentity, timings: { ticketMs: number }, log: Logger, progress: (details: object) => void): Promise<DownloadOutcome> {
    const user = identity.ticketUser as QlikUser;
    const url = request.url;
    const parts = {
      mode: identity.mode,
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
      virtualProxy: identity.virtualProxy,
      ...user,
    };
    const key = sessionKey(parts);
    const cacheEnabled = this.cacheEnabled;
    const opened: SessionCookie[] = [];
    const cached = new Set<string>();
    const tracked: DownloadRequest = { ...request, onSessionCookie: (cookie) => opened.push(cookie) };
    let refused: DownloadOutcome | undefined;

    // userTicket mode acts as whoever the event names, and any Qlik user can post an event: only a
    // user who is signed in to Qlik on that virtual proxy right now (a session that is not ours) gets one.
    if (identity.mode === 'userTicket' && !this.signedIn.get(key)) {
      progress({ step: 'asking QPS whether the user is signed in' });
      const ours = new Set([this.sessions.peek(key)?.sessionId, ...this.closingIds].filter((id): id is string => id !== undefined));
      const theirs = (await userSessionIds(this.qpsEndpoint(identity.virtualProxy), user, request.signal)).filter((id) => !ours.has(id));
      if (theirs.length === 0) return { kind: 'no-session' };
      this.signedIn.set(key, true);
    }

    try {
      // Bounded: at most two fresh tickets, and a few cached sessions refused along the way.
      for (let round = 0, freshTickets = 0; round < 5 && freshTickets < 2; round++) {
        if (cacheEnabled) {
          const underWay = this.pending.get(key);
          if (underWay) {
            progress({ step: 'waiting for the ticket of another screenshot of this user' });
            await underWay.catch(() => undefined);
          }
          const session = this.sessions.get(key);
          if (session) {
            const outcome = await downloadScreenshot({ ...request, cookie: { name: session.cookieName, value: session.sessionId } });
            if (outcome.kind !== 'unauthorized') return outcome;
            log.info({ status: outcome.status }, 'cached qlik session refused; redeeming a fresh ticket');
            this.sessions.reject(key, session.sessionId);
            continue;
          }
        }
        freshTickets++;
        const attempt = (async () => {
          const ticketStart = Date.now();
          progress({ step: 'redeeming a QPS ticket' });
          const ticket = await redeemQpsTicket(this.qpsEndpoint(identity.virtualProxy), user, request.signal);
          timings.ticketMs += Date.now() - ticketStart;
          progress({ step: 'ticket redeemed; downloading' });
          const outcome = await downloadScreenshot({ ...tracked, ticket });
          if (cacheEnabled && outcome.kind === 'image' && outcome.sessionCookie) {
            this.sessions.set(key, { cookieName: outcome.sessionCookie.name, sessionId: outcome.sessionCookie.value, parts });
            cached.add(outcome.sessionCookie.value);
          }
          return outcome;
        })();
        if (cacheEnabled) this.pending.set(key, attempt);
        try {
          const outcome = await attempt;
          if (outcome.kind !== 'unauthorized') return outcome;
          refused = outcome;
          log.warn({ status: outcome.status }, 'qlik proxy refused a fresh ticket');
        } finally {
          if (this.pending.get(key) === attempt) this.pending.delete(key);
        }
      }
    } finally {
      for (const cookie of opened) if (!cached.has(cookie.value)) this.closeSession(cookie.value, parts, cacheEnabled ? 'not-cached' : 'cache-off');
    }
    const status = refused?.kind === 'unauthorized' ? refused.status : 403;
    throw permanent(
      'AccessDenied',
      `Qlik proxy ${url.host} refused ${user.userDirectory}\\${user.userId} with ${status} even with a fresh ticket; does the user have access to the app?`,
    );
  }

  /** Worker shutdown: every cached session closed at QPS (a user who never logged in keeps none open), pools closed. */
  async close(): Promise<void> {
    this.sessions.clear();
    await Promise.all(this.closing);
    await Promise.all([this.mtlsAgent?.close(), this.plainAgent?.close()]);
  }
}
