// A simulated Qlik Sense at the network boundary, for tests and the demo. Real HTTPS servers on
// loopback addresses (127.0.0.x are distinct hosts), with real client-certificate checks:
//   - QPS on 127.0.0.1: POST /qps[/vp]/ticket, DELETE /qps[/vp]/session/{id}, GET /qps[/vp]/user/{dir}/{id}
//     (the user's sessions: a browser session unless the test signed the user out); demands the client cert
//   - the Qlik proxy on 127.0.0.1: redeems `qlikTicket` once, sets X-Qlik-Session[-vp] cookies,
//     serves images only to a valid ticket or session
//   - content hosts on 127.0.0.2, 127.0.0.3, … (for redirect chains), no auth
//   - an "outside" host that must never be reached (to prove the allow-list holds)
// Behaviour per path and fault injection (QPS 503s, slow answers, huge bodies, wrong content types)
// are set by the test. Every request is recorded, without ticket values.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Pki } from './pki';

/** A 1×1 PNG. */
export const PNG_1X1 = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' + '1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082',
  'hex',
);

export type Route =
  | { kind: 'image'; contentType?: string | null; body?: Buffer; delayMs?: number }
  /** `bytes` of one fill byte (7; with `fillPerRequest`, a different byte for each request of the path). */
  | { kind: 'stream'; bytes: number; contentType?: string; announceLength?: boolean; chunkDelayMs?: number; fillPerRequest?: boolean }
  | { kind: 'redirect'; status?: number; location?: string }
  /** Answers the listed statuses in turn, then behaves like `then` (an image by default). */
  | { kind: 'statuses'; statuses: number[]; then?: Route };

export interface RecordedRequest {
  host: string;
  port: number;
  method: string;
  /** Path and query with any qlikTicket value removed. */
  path: string;
  hadTicket: boolean;
  hadSessionCookie: boolean;
  clientCert: boolean;
  at: number;
}

interface Ticket {
  userDirectory: string;
  userId: string;
  virtualProxy: string;
  expiresAt: number;
  used: boolean;
}

interface Session {
  userDirectory: string;
  userId: string;
  virtualProxy: string;
}

export interface SimulatedQlikOptions {
  pki: Pki;
  /** IP of QPS and the proxy. */
  qlikHost?: string;
  /** IPs of extra content hosts, in order. */
  contentHosts?: string[];
  /** IP of a host that is never on any allow-list. */
  outsideHost?: string;
  ticketLifetimeMs?: number;
}

interface Listener {
  host: string;
  server: https.Server;
  port: number;
}

export class SimulatedQlik {
  readonly requests: RecordedRequest[] = [];
  readonly tickets = new Map<string, Ticket>();
  readonly sessions = new Map<string, Session>();
  readonly deletedSessions: string[] = [];
  readonly issuedTickets: { userDirectory: string; userId: string; virtualProxy: string }[] = [];
  readonly issuedSessions: { id: string; userDirectory: string; userId: string; virtualProxy: string }[] = [];
  readonly routes = new Map<string, Route>();
  /** Users (`DIR\\id`, lower case) with no browser session of their own: not signed in to Qlik. */
  readonly signedOut = new Set<string>();
  /** Every QPS user-session lookup (GET /qps[/vp]/user/{dir}/{id}). */
  readonly userLookups: { userDirectory: string; userId: string; virtualProxy: string }[] = [];
  /**
   * Fault injection for QPS ticket requests: the next `ticketStatuses`, then 503 at `ticketFailureRate`
   * but never more than `maxFailuresInARow` times in a row for one user (a longer run is an outage).
   */
  readonly faults = { ticketStatuses: [] as number[], ticketFailureRate: 0, maxFailuresInARow: Infinity, ticketDelayMs: 0, refuseUsers: new Set<string>() };
  /** What QPS was asked and how many of those answers were injected faults. */
  readonly stats = { ticketRequests: 0, injectedFaults: 0 };
  readonly qlikHost: string;
  private readonly statusCounters = new Map<string, number>();
  /** Injected random ticket failures in a row, by user (`dir\\id`, lower case). */
  private readonly failuresInARow = new Map<string, number>();
  private readonly listeners: Listener[] = [];
  private qpsListener?: Listener;

  constructor(private readonly options: SimulatedQlikOptions) {
    this.qlikHost = options.qlikHost ?? '127.0.0.1';
  }

  async start(): Promise<this> {
    this.qpsListener = await this.listen(this.qlikHost, (req, res) => this.handleQps(req, res), true);
    await this.listen(this.qlikHost, (req, res) => this.handleProxy(req, res, true), false);
    for (const host of this.options.contentHosts ?? ['127.0.0.2', '127.0.0.3']) {
      await this.listen(host, (req, res) => this.handleProxy(req, res, false), false);
    }
    await this.listen(this.options.outsideHost ?? '127.0.0.9', (req, res) => this.handleProxy(req, res, false), false);
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.listeners.map(
        (l) =>
          new Promise<void>((resolve) => {
            l.server.close(() => resolve());
            l.server.closeAllConnections();
          }),
      ),
    );
  }

  get qpsPort(): number {
    if (!this.qpsListener) throw new Error('not started');
    return this.qpsListener.port;
  }

  /** The proxy (first) or a content host listener by IP. */
  port(host: string): number {
    const found = this.listeners.find((l) => l.host === host && l !== this.qpsListener);
    if (!found) throw new Error(`no simulated host ${host}`);
    return found.port;
  }

  /** https://{host}:{port}{path} on the proxy or a content host. */
  url(path: string, host = this.qlikHost): string {
    return `https://${host}:${this.port(host)}${path}`;
  }

  get outsideHost(): string {
    return this.options.outsideHost ?? '127.0.0.9';
  }

  requestsTo(host: string): RecordedRequest[] {
    return this.requests.filter((r) => r.host === host);
  }

  /** Makes every existing proxy session invalid (as after a proxy restart). */
  invalidateSessions(): void {
    this.sessions.clear();
  }

  private async listen(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void, requireClientCert: boolean): Promise<Listener> {
    const { pki } = this.options;
    const server = https.createServer(
      {
        key: pki.serverKey,
        cert: pki.serverCert,
        ca: pki.caCert,
        requestCert: true,
        rejectUnauthorized: requireClientCert,
      },
      (req, res) => {
        const socket = req.socket as TLSSocket;
        const url = new URL(req.url ?? '/', 'https://x');
        const hadTicket = url.searchParams.has('qlikTicket');
        url.searchParams.delete('qlikTicket');
        this.requests.push({
          host,
          port: (socket.address() as AddressInfo).port,
          method: req.method ?? 'GET',
          path: `${url.pathname}${url.search}`,
          hadTicket,
          hadSessionCookie: /x-qlik-session/i.test(req.headers.cookie ?? ''),
          clientCert: socket.authorized,
          at: Date.now(),
        });
        handler(req, res);
      },
    );
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const listener = { host, server, port: (server.address() as AddressInfo).port };
    this.listeners.push(listener);
    return listener;
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private handleQps(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://x');
    const match = /^\/qps(?:\/([^/]+))?\/(ticket|session\/([^/]+)|user\/([^/]+)\/([^/]+))$/.exec(url.pathname);
    const xrf = url.searchParams.get('Xrfkey');
    if (!match) return this.json(res, 404, { error: 'not found' });
    if (!xrf || xrf.length !== 16 || req.headers['x-qlik-xrfkey'] !== xrf) return this.json(res, 403, { error: 'Xrfkey mismatch' });
    const virtualProxy = match[1] ?? '';
    if (req.method === 'GET' && match[4] && match[5]) {
      // The user's proxy sessions on this virtual proxy: their own browser's (unless signed out), and
      // those opened with tickets for them (ours among them).
      const userDirectory = decodeURIComponent(match[4]);
      const userId = decodeURIComponent(match[5]);
      this.userLookups.push({ userDirectory, userId, virtualProxy });
      const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
      const browser = this.signedOut.has(`${userDirectory}\\${userId}`.toLowerCase())
        ? []
        : [{ UserDirectory: userDirectory, UserId: userId, SessionId: `browser-${virtualProxy || 'default'}-${userDirectory}-${userId}`, Attributes: [] }];
      const opened = [...this.sessions].filter(([, s]) => same(s.userDirectory, userDirectory) && same(s.userId, userId) && s.virtualProxy === virtualProxy);
      return this.json(res, 200, [...browser, ...opened.map(([id, s]) => ({ UserDirectory: s.userDirectory, UserId: s.userId, SessionId: id, Attributes: [] }))]);
    }
    if (req.method === 'DELETE' && match[3]) {
      const id = decodeURIComponent(match[3]);
      this.deletedSessions.push(id);
      const existed = this.sessions.delete(id);
      return this.json(res, existed ? 200 : 404, { SessionId: id });
    }
    if (req.method !== 'POST' || match[2] !== 'ticket') return this.json(res, 405, { error: 'method' });
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const answer = () => {
        this.stats.ticketRequests++;
        let user: { UserDirectory?: unknown; UserId?: unknown } = {};
        try {
          user = JSON.parse(body) ?? {};
        } catch {
          // answered below, unless a fault comes first
        }
        const who = `${user.UserDirectory}\\${user.UserId}`.toLowerCase();
        const inARow = this.failuresInARow.get(who) ?? 0;
        const random = inARow < this.faults.maxFailuresInARow && Math.random() < this.faults.ticketFailureRate;
        const fault = this.faults.ticketStatuses.shift() ?? (random ? 503 : undefined);
        this.failuresInARow.set(who, random ? inARow + 1 : 0);
        if (fault) {
          this.stats.injectedFaults++;
          return this.json(res, fault, { error: 'injected fault' });
        }
        if (typeof user.UserDirectory !== 'string' || typeof user.UserId !== 'string') return this.json(res, 400, { error: 'UserDirectory/UserId' });
        if (this.faults.refuseUsers.has(`${user.UserDirectory}\\${user.UserId}`)) return this.json(res, 403, { error: 'refused' });
        const ticket = randomBytes(12).toString('hex');
        const record = { userDirectory: user.UserDirectory, userId: user.UserId, virtualProxy };
        this.tickets.set(ticket, { ...record, expiresAt: Date.now() + (this.options.ticketLifetimeMs ?? 60_000), used: false });
        this.issuedTickets.push(record);
        this.json(res, 201, { UserDirectory: user.UserDirectory, UserId: user.UserId, Attributes: [], Ticket: ticket, TargetUri: null });
      };
      if (this.faults.ticketDelayMs > 0) setTimeout(answer, this.faults.ticketDelayMs);
      else answer();
    });
  }

  /** The proxy (`authenticate`: needs a ticket or session) and the content hosts (no auth). */
  private handleProxy(req: IncomingMessage, res: ServerResponse, authenticate: boolean): void {
    const url = new URL(req.url ?? '/', 'https://x');
    if (authenticate) {
      const auth = this.authenticate(req, res, url);
      if (auth === 'denied') {
        res.writeHead(403, { 'content-type': 'text/plain' }).end('Forbidden');
        return;
      }
      if (auth === 'ticket') {
        // Like the real proxy: the ticket is consumed, the session cookie set, and the client sent
        // back to the same URL without the ticket.
        url.searchParams.delete('qlikTicket');
        res.writeHead(302, { location: `${url.pathname}${url.search}` }).end();
        return;
      }
    }
    this.serveRoute(res, url.pathname, this.routes.get(url.pathname) ?? { kind: 'image' });
  }

  /** Accepts a valid session cookie, or redeems a valid ticket once and sets the session cookie. */
  private authenticate(req: IncomingMessage, res: ServerResponse, url: URL): 'session' | 'ticket' | 'denied' {
    const segments = url.pathname.split('/');
    const firstSegment = (segments[1] === 'qps' ? segments[2] : segments[1]) ?? '';
    for (const cookie of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = cookie.trim().split('=');
      if (name?.toLowerCase().startsWith('x-qlik-session') && value && this.sessions.has(value)) return 'session';
    }
    const ticketId = url.searchParams.get('qlikTicket');
    const ticket = ticketId ? this.tickets.get(ticketId) : undefined;
    if (!ticket || ticket.used || ticket.expiresAt < Date.now()) return 'denied';
    if (ticket.virtualProxy && ticket.virtualProxy !== firstSegment) return 'denied';
    ticket.used = true;
    const sessionId = randomBytes(16).toString('hex');
    const session = { userDirectory: ticket.userDirectory, userId: ticket.userId, virtualProxy: ticket.virtualProxy };
    this.sessions.set(sessionId, session);
    this.issuedSessions.push({ id: sessionId, ...session });
    const cookieName = `X-Qlik-Session${ticket.virtualProxy ? `-${ticket.virtualProxy}` : ''}`;
    res.setHeader('set-cookie', `${cookieName}=${sessionId}; Path=/; HttpOnly; Secure`);
    return 'ticket';
  }

  private serveRoute(res: ServerResponse, path: string, route: Route): void {
    switch (route.kind) {
      case 'image': {
        const send = () => {
          const headers: Record<string, string> = {};
          if (route.contentType !== null) headers['content-type'] = route.contentType ?? 'image/png';
          res.writeHead(200, headers).end(route.body ?? PNG_1X1);
        };
        if (route.delayMs) setTimeout(send, route.delayMs);
        else send();
        return;
      }
      case 'stream': {
        res.writeHead(200, { 'content-type': route.contentType ?? 'image/png', ...(route.announceLength ? { 'content-length': String(route.bytes) } : {}) });
        const served = this.statusCounters.get(path) ?? 0;
        this.statusCounters.set(path, served + 1);
        const chunk = Buffer.alloc(64 * 1024, route.fillPerRequest ? 1 + (served % 250) : 7);
        let sent = 0;
        const pump = () => {
          while (sent < route.bytes && !res.destroyed) {
            const piece = chunk.subarray(0, Math.min(chunk.length, route.bytes - sent));
            sent += piece.length;
            if (route.chunkDelayMs) {
              res.write(piece);
              setTimeout(pump, route.chunkDelayMs);
              return;
            }
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        pump();
        return;
      }
      case 'redirect': {
        const headers: Record<string, string> = {};
        if (route.location !== undefined) headers.location = route.location;
        res.writeHead(route.status ?? 302, headers).end();
        return;
      }
      case 'statuses': {
        const served = this.statusCounters.get(path) ?? 0;
        this.statusCounters.set(path, served + 1);
        const status = route.statuses[served];
        if (status === undefined) return this.serveRoute(res, path, route.then ?? { kind: 'image' });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
        return;
      }
    }
  }
}
