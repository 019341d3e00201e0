// The auditor's view (SPEC 6.3): a web app on its own listener. Every route says who may use it
// (`access`); a route that says nothing needs a signed-in session (fail closed). Trails and
// screenshots are for auditors; the store's status for auditors and operators. Each look at a trail
// is recorded under the digest chain before anything of it is sent, and one that cannot be recorded
// is not served.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../common/config';
import type { Logger } from '../common/logger';
import { parseQlikIdentity } from '../common/qlik-identity';
import { fileSha256, insideStorageTargets, storageDirectories } from '../common/stored-files';
import { writeEvidence } from '../audit-trail/evidence';
import { checkStore } from '../client/store-check';
import { accessesOf, accessesOfApp, recentAccesses, recordAccess, type AccessRecord } from '../store/access-records';
import { readAnchorLog } from '../store/anchor-log';
import type { DigestKey } from '../store/digest';
import type { AuditStore } from '../store/store';
import { timelinePage, type TimelineSource } from '../store/timeline';
import { appName, appUsage, findingsAtLines, findingsByFile, knownApps, knownUsers, lastIngestRuns, outcomeFacts, type KnownApp, type KnownUser } from '../store/trail-lookups';
import { html, query } from './html';
import type { OidcSignIn } from './oidc-sign-in';
import { appPage, messagePage, screenshotPage, searchPage, signInPage, statusPage, trailPage, userText, type Frame } from './pages';
import { CAN, roleFromClaims, type Role } from './roles';
import type { Session, Sessions } from './sessions';
import type { StoreStatus } from './store-status';
import type { Thumbnails } from './thumbnails';

export interface AuditUiDeps {
  config: Config;
  store: AuditStore;
  logger: Logger;
  signIn: OidcSignIn;
  sessions: Sessions;
  status: StoreStatus;
  thumbnails: Thumbnails;
  digestKey: DigestKey | undefined;
  https?: { cert: Buffer; key: Buffer; ca?: Buffer; passphrase?: string };
}

/** Who may use a route: anyone, anyone signed in, auditors (trails, screenshots), or both roles (store status). */
type Access = 'public' | 'signed-in' | 'trails' | 'status';
declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

const PAGE_SIZE = 100;
const ASSETS: Record<string, { type: string; body: Buffer }> = {
  'ui.css': { type: 'text/css; charset=utf-8', body: readFileSync(path.join(__dirname, 'assets', 'ui.css')) },
  'icon.svg': { type: 'image/svg+xml', body: readFileSync(path.join(__dirname, 'assets', 'icon.svg')) },
};
const SOURCES: readonly TimelineSource[] = ['audit-qs', 'screenshot', 'security-log', 'alert'];
const RUN_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Bad input in a request: 400 with the message on the page. */
class BadRequest extends Error {
  readonly statusCode = 400;
}

/** A look that could not be recorded is not served. */
class NotRecorded extends Error {
  readonly statusCode = 503;
}

/** A day (YYYY-MM-DD, UTC) or an instant; `end`: the day's end (the next midnight), for inclusive "to" dates. */
function instant(name: string, text: string | undefined, end = false): string | undefined {
  if (!text) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const ms = Date.parse(`${text}T00:00:00Z`);
    if (Number.isFinite(ms)) return new Date(ms + (end ? 86_400_000 : 0)).toISOString();
  }
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || !Number.isFinite(ms)) throw new BadRequest(`${name} '${text.slice(0, 40)}': expected a date such as 2026-11-01`);
  return new Date(ms).toISOString();
}

function period(from: string | undefined, to: string | undefined) {
  const start = instant('from', from);
  const end = instant('to', to, true);
  if (start && end && start >= end) throw new BadRequest(`from ${from} is after to ${to}`);
  return { from: start, to: end, fromDate: from?.slice(0, 10) || undefined, toDate: to?.slice(0, 10) || undefined };
}

function qlikUser(text: string | undefined): KnownUser {
  const user = text ? parseQlikIdentity(text) : undefined;
  if (!user) throw new BadRequest(`user '${(text ?? '').slice(0, 80)}': expected DIRECTORY\\userid, e.g. ACME\\jdoe`);
  return user;
}

const text = z.string().max(400).optional();
const trailQuery = z.object({
  user: text,
  from: text,
  to: text,
  source: z.union([z.string().max(20), z.array(z.string().max(20)).max(4)]).optional(),
  type: z.string().max(200).optional(),
  after: text,
  skip: z.coerce.number().int().min(0).max(1_000_000).optional(),
  pos: z.coerce.number().int().min(0).max(100_000_000).optional(),
});
const appQuery = z.object({ app: z.string().min(1).max(200), from: text, to: text });
const evidenceBody = z.object({ user: z.string().max(400), from: z.string().max(40), to: z.string().max(40) });

/** Cached for a minute: the search page's suggestions. */
function cached<T>(load: () => Promise<T>, ms = 60_000): () => Promise<T> {
  let value: { at: number; data: Promise<T> } | undefined;
  return () => {
    if (!value || Date.now() - value.at > ms) {
      value = { at: Date.now(), data: load() };
      value.data.catch(() => (value = undefined));
    }
    return value.data;
  };
}

export async function createAuditUi(deps: AuditUiDeps): Promise<FastifyInstance> {
  const { config, store, sessions, logger } = deps;
  const ui = config.auditUi;
  // Where browsers reach us: the redirect URI's origin (behind a TLS proxy, https although we listen in clear).
  const publicOrigin = new URL(ui.oidc.redirectUri).origin;
  const secure = ui.tls.enable || publicOrigin.startsWith('https:');
  // __Host- cookies: Secure, path /, no domain — no other site or subdomain can set or read them.
  const SESSION = secure ? '__Host-qa-session' : 'qa-session';
  const SIGN_IN = secure ? '__Host-qa-sign-in' : 'qa-sign-in';
  const CSRF = secure ? '__Host-qa-csrf' : 'qa-csrf';
  const cookieBase = { path: '/', httpOnly: true, secure, sameSite: 'lax' as const };
  const storageDirs = storageDirectories(config);
  const users = cached(() => knownUsers(store));
  const apps = cached(() => knownApps(store));

  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    requestTimeout: 120_000,
    ...(deps.https ? { https: { cert: deps.https.cert, key: deps.https.key, ca: deps.https.ca, passphrase: deps.https.passphrase } } : {}),
  }) as unknown as FastifyInstance;

  await app.register(helmet, {
    // Nothing from anywhere else: our own styles and images, no script at all, no framing.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    hsts: secure ? { maxAge: 31_536_000 } : false,
    // same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own form posts.
    referrerPolicy: { policy: 'same-origin' },
  });
  await app.register(cookie, { secret: randomBytes(32).toString('hex') });
  await app.register(formbody);
  const sessionOf = new WeakMap<FastifyRequest, Session>();
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: CSRF,
    cookieOpts: { ...cookieBase, sameSite: 'strict', signed: true },
    // A token is good for one session only.
    getUserInfo: (req: FastifyRequest) => sessionOf.get(req)?.id ?? '',
    csrfOpts: { hmacKey: randomBytes(32) },
  });

  const say = (request: FastifyRequest, level: 'info' | 'warn', fields: object, message: string) => logger[level]({ ...fields, client: request.ip, path: request.url.split('?')[0] }, message);

  // Who is asking, and may they? Before anything else of the request is looked at.
  app.addHook('onRequest', async (request, reply) => {
    const session = sessions.get(request.cookies[SESSION]);
    if (session) sessionOf.set(request, session);
    const access: Access = request.routeOptions.config?.access ?? 'signed-in';
    if (access === 'public') return;
    const api = request.url.startsWith('/api/');
    if (!session) {
      if (api || request.method !== 'GET') return reply.code(401).type('application/json').send({ error: 'not signed in', signIn: '/auth/login' });
      return reply.redirect(`/auth/login${query({ returnTo: request.url })}`, 302);
    }
    const allowed = access === 'signed-in' || (access === 'trails' ? CAN.trails(session.role) : CAN.status(session.role));
    if (!allowed) {
      say(request, 'warn', { actor: session.actor, role: session.role }, 'auditor view: refused (role)');
      if (api) return reply.code(403).send({ error: `the role ${session.role} cannot open this` });
      return reply.code(403).type('text/html').send(messagePage(frame(request, reply, 'Not for your role'), 'Not for your role', `As ${session.role} you see the store's status, not users' trails or screenshots.`, html`<p><a href="/status">Store status</a></p>`));
    }
    // A state change must come from our own pages: no cross-site POST, whatever cookies it carries.
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      const site = request.headers['sec-fetch-site'];
      const origin = request.headers.origin;
      const host = request.headers.host;
      if ((site && site !== 'same-origin') || (origin && origin !== publicOrigin && origin !== `${ui.tls.enable ? 'https' : 'http'}://${host}`)) {
        say(request, 'warn', { actor: session.actor, origin, site }, 'auditor view: cross-site request refused');
        return reply.code(403).type('text/html').send(messagePage({ title: 'Refused' }, 'Refused', 'This request came from another site.'));
      }
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    // Trails must not linger in a shared browser's cache after sign-out.
    if (!request.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const csrfFailure = err.code === 'FST_CSRF_INVALID_TOKEN' || err.code === 'FST_CSRF_MISSING_SECRET';
    const badInput = err instanceof z.ZodError;
    const status = csrfFailure ? 403 : badInput ? 400 : err.statusCode && err.statusCode < 600 ? err.statusCode : 500;
    const message = badInput
      ? `bad request: ${err.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ')}`
      : csrfFailure ? 'This form expired or did not come from this site: reload the page and try again.' : status >= 500 && !(err instanceof NotRecorded) ? 'Something went wrong on the server; it is in the service log.' : err.message;
    if (status >= 500) logger.error({ err: err.message, path: request.url.split('?')[0] }, 'auditor view: request failed');
    if (request.url.startsWith('/api/')) return reply.code(status).send({ error: message });
    return reply.code(status).type('text/html').send(messagePage(frame(request, reply, 'Problem'), status === 403 ? 'Refused' : 'Problem', message, html`<p><a href="/">Start page</a></p>`));
  });

  function frame(request: FastifyRequest, reply: FastifyReply, title: string): Frame {
    const session = sessionOf.get(request);
    return { title, session, csrf: session ? reply.generateCsrf({ userInfo: session.id } as never) : undefined };
  }

  /** Records a look; throws NotRecorded when it cannot be. */
  async function record(request: FastifyRequest, look: Omit<AccessRecord, 'actor' | 'actorSubject' | 'role' | 'clientAddress'>, who?: { actor: string; actorSubject: string; role: string }) {
    const session = sessionOf.get(request);
    const person = who ?? { actor: session?.actor ?? '?', actorSubject: session?.subject ?? '?', role: session?.role ?? '?' };
    try {
      return await recordAccess(store, { ...look, ...person, clientAddress: request.ip }, deps.digestKey);
    } catch (err) {
      logger.error({ err: (err as Error).message, action: look.action }, 'auditor view: could not record a look; not served');
      throw new NotRecorded(`This look could not be recorded in the audit store, so nothing is shown (${(err as Error).message.split('\n')[0]}).`);
    }
  }

  const sendPage = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').send(body);

  // ---- public: assets, health, sign-in ----
  app.get<{ Params: { name: string } }>('/assets/:name', { config: { access: 'public' } }, async (request, reply) => {
    const asset = ASSETS[request.params.name];
    if (!asset) return reply.code(404).send('not found');
    return reply.type(asset.type).header('cache-control', 'public, max-age=3600').send(asset.body);
  });
  app.get('/healthz', { config: { access: 'public' } }, async () => ({ status: 'ok' }));

  app.get<{ Querystring: { returnTo?: string } }>('/', { config: { access: 'public' } }, async (request, reply) => {
    const session = sessionOf.get(request);
    if (session) return reply.redirect(CAN.trails(session.role) ? '/search' : '/status', 302);
    return sendPage(reply, signInPage(new URL(ui.oidc.issuer).origin, '/'));
  });

  /** Only our own paths: never an open redirect (browsers drop tabs and read `\` as `/`: `/\t/evil` is `//evil`). */
  const safeReturn = (to: string | undefined) => {
    if (!to || !to.startsWith('/') || [...to].some((c) => c < ' ' || c === '\u007f' || c === '\\')) return '/';
    const url = new URL(to, publicOrigin);
    return url.origin === publicOrigin ? `${url.pathname}${url.search}` : '/';
  };

  app.get<{ Querystring: { returnTo?: string } }>('/auth/login', { config: { access: 'public' } }, async (request, reply) => {
    let started;
    try {
      started = await deps.signIn.start();
    } catch (err) {
      say(request, 'warn', { err: (err as Error).message }, 'auditor view: sign-in could not start');
      return sendPage(reply, signInPage(new URL(ui.oidc.issuer).origin, '/', (err as Error).message), 502);
    }
    const id = sessions.startSignIn({ state: started.state, nonce: started.nonce, verifier: started.verifier, returnTo: safeReturn(request.query.returnTo) });
    reply.setCookie(SIGN_IN, id, { ...cookieBase, maxAge: 600 });
    return reply.redirect(started.url, 302);
  });

  app.get<{ Querystring: Record<string, string> }>('/auth/callback', { config: { access: 'public' } }, async (request, reply) => {
    const pending = sessions.takeSignIn(request.cookies[SIGN_IN]);
    reply.clearCookie(SIGN_IN, cookieBase);
    if (request.query.error) {
      // The provider's words are logged, not shown: anyone can put text in this URL.
      say(request, 'warn', { error: String(request.query.error).slice(0, 100), description: String(request.query.error_description ?? '').slice(0, 300) }, 'auditor view: the identity provider refused the sign-in');
      return sendPage(reply, signInPage(new URL(ui.oidc.issuer).origin, '/', 'The identity provider did not sign you in (the reason is in the service log).'), 401);
    }
    if (!pending) return sendPage(reply, signInPage(new URL(ui.oidc.issuer).origin, '/', 'This sign-in expired or was started in another browser: sign in again.'), 400);
    let person;
    try {
      person = await deps.signIn.complete(request.url.slice(request.url.indexOf('?')), pending);
    } catch (err) {
      say(request, 'warn', { err: (err as Error).message }, 'auditor view: sign-in failed');
      return sendPage(reply, signInPage(new URL(ui.oidc.issuer).origin, '/', (err as Error).message), 401);
    }
    const role: Role | undefined = roleFromClaims(person.claims, ui.oidc);
    if (!role) {
      await record(request, { action: 'sign-in-refused', detail: `no role: the ${ui.oidc.rolesClaim} claim names neither an auditor nor an operator value` }, { actor: person.name, actorSubject: person.subject, role: 'none' });
      say(request, 'warn', { actor: person.name }, 'auditor view: signed in without a role; refused');
      return sendPage(reply, messagePage({ title: 'No access' }, 'No access', `You signed in as ${person.name}, but your account has no role in the auditor's view. Ask your Qlik Sense or identity administrator to add you to the auditors' or operators' group.`), 403);
    }
    const session = sessions.create({ actor: person.name, subject: person.subject, role });
    sessionOf.set(request, session);
    await record(request, { action: 'sign-in', detail: `signed in as ${role}` });
    say(request, 'info', { actor: person.name, role }, 'auditor view: signed in');
    reply.setCookie(SESSION, session.id, { ...cookieBase, maxAge: ui.sessionMinutes * 60 });
    return reply.redirect(pending.returnTo !== '/' ? pending.returnTo : CAN.trails(role) ? '/search' : '/status', 302);
  });

  app.post('/auth/logout', { config: { access: 'signed-in' }, preHandler: app.csrfProtection }, async (request, reply) => {
    const session = sessionOf.get(request) as Session;
    await record(request, { action: 'sign-out', detail: 'signed out' });
    sessions.destroy(session.id);
    reply.clearCookie(SESSION, cookieBase);
    return reply.redirect('/', 303);
  });

  // ---- JSON for scripts and the page's own checks ----
  app.get('/api/me', { config: { access: 'signed-in' } }, async (request) => {
    const s = sessionOf.get(request) as Session;
    return { actor: s.actor, role: s.role, expiresAt: new Date(s.expiresAt).toISOString() };
  });

  // ---- auditors: search, trail, screenshot, app, evidence ----
  app.get('/search', { config: { access: 'trails' } }, async (request, reply) => {
    const [u, a]: [KnownUser[], KnownApp[]] = await Promise.all([users(), apps()]);
    return sendPage(reply, searchPage(frame(request, reply, 'Search'), u, a));
  });

  /** One page of a trail, recorded as a look (whose, which period, which page). */
  async function readTrail(request: FastifyRequest, raw: unknown) {
    const q = trailQuery.parse(raw);
    const user = qlikUser(q.user);
    const p = period(q.from, q.to);
    const chosen = q.source === undefined ? SOURCES : (Array.isArray(q.source) ? q.source : [q.source]).filter((s): s is TimelineSource => (SOURCES as readonly string[]).includes(s));
    const sources = chosen.length ? chosen : SOURCES;
    const types = (q.type ?? '').split(',').map((t) => t.trim()).filter(Boolean);
    const after = q.after ? { time: instant('after', q.after) as string, skip: q.skip ?? 0 } : undefined;
    const position = q.pos ?? 0;
    const filters = [sources.length < SOURCES.length ? `sources ${sources.join(', ')}` : '', types.length ? `types ${types.join(', ')}` : ''].filter(Boolean).join('; ');
    const where = after ? `the page after ${after.time} (+${after.skip})` : 'the first page';
    await record(request, { action: 'trail-viewed', subject: user, from: p.from, to: p.to, detail: `${where}${filters ? `; ${filters}` : ''}` });
    const started = performance.now();
    const page = await timelinePage(store, { ...user, from: p.from, to: p.to, sources }, { size: PAGE_SIZE, after, types });
    const serverMs = performance.now() - started;
    return { q, user, p, sources, types, page, position, serverMs };
  }

  app.get('/trail', { config: { access: 'trails' } }, async (request, reply) => {
    const { q, user, p, sources, types, page, position, serverMs } = await readTrail(request, request.query);
    const session = sessionOf.get(request) as Session;
    for (const e of page.entries) if (e.source === 'screenshot' && typeof e.runId === 'string') sessions.remember(session.shown, e.runId);
    const rows = page.entries.filter((e) => e.source === 'security-log').map((e) => ({ machine: String(e.machine), service: String(e.service), file: String(e.file), line: Number(e.line) }));
    const files = [...new Map(rows.map((r) => [`${r.machine}/${r.service}/${r.file}`, { machine: r.machine, service: r.service, fileName: r.file }])).values()];
    const [lineFindings, fileFindings, accesses] = await Promise.all([findingsAtLines(store, rows), findingsByFile(store, { files }), accessesOf(store, user, { limit: 20 })]);
    const base = { user: userText(user), from: q.from, to: q.to, type: types.join(',') || undefined };
    const sourceParams = sources.length < SOURCES.length ? sources.map((s) => `&source=${encodeURIComponent(s)}`).join('') : '';
    const nextHref = page.next ? `/trail${query({ ...base, after: page.next.time, skip: page.next.skip, pos: position + page.entries.length })}${sourceParams}` : undefined;
    const firstHref = position > 0 ? `/trail${query(base)}${sourceParams}` : undefined;
    return sendPage(
      reply,
      trailPage(frame(request, reply, `Trail of ${userText(user)}`), { user, period: p, sources, type: types.join(', '), entries: page.entries, lineFindings, fileFindings, nextHref, firstHref, position, accesses, serverMs }),
    );
  });

  app.get('/api/trail', { config: { access: 'trails' } }, async (request) => {
    const { user, p, page, serverMs } = await readTrail(request, request.query);
    return { user: userText(user), from: p.from ?? null, to: p.to ?? null, entries: page.entries, next: page.next ?? null, serverMs: Math.round(serverMs * 10) / 10 };
  });

  app.get<{ Querystring: { user?: string } }>('/api/access', { config: { access: 'trails' } }, async (request) => {
    const user = qlikUser(request.query.user);
    return { user: userText(user), accesses: await accessesOf(store, user, { limit: 1000 }) };
  });

  /** The stored file of a screenshot run, if it is inside the storage targets and there. */
  function screenshotFile(savedPaths: string[]): string | undefined {
    return savedPaths.find((file) => insideStorageTargets(file, storageDirs) && existsSync(file));
  }

  app.get<{ Params: { runId: string } }>('/screenshot/:runId', { config: { access: 'trails' } }, async (request, reply) => {
    const { runId } = request.params;
    const facts = RUN_ID.test(runId) ? await outcomeFacts(store, runId) : undefined;
    if (!facts) return sendPage(reply, messagePage(frame(request, reply, 'Not found'), 'Not found', 'No screenshot run with this id in the store.'), 404);
    const subject = facts.userDirectory && facts.userId ? { userDirectory: facts.userDirectory, userId: facts.userId } : undefined;
    await record(request, { action: 'screenshot-opened', subject, app: facts.appId ?? undefined, detail: `screenshot of run ${facts.runId} (${facts.appName ?? facts.appId ?? 'app?'}, ${facts.eventTime})` });
    const file = screenshotFile(facts.savedPaths);
    let now: { sha256?: string; problem?: string };
    if (!file) now = { problem: facts.savedPaths.length ? 'its file is not where it was stored (or outside the storage targets)' : `nothing was stored (${facts.status})` };
    else now = await fileSha256(file).then((sha256) => ({ sha256 }), (err: Error) => ({ problem: `its file cannot be read (${err.message})` }));
    if (file && now.sha256 && now.sha256 === facts.sha256) sessions.remember((sessionOf.get(request) as Session).opened, runId);
    return sendPage(reply, screenshotPage(frame(request, reply, 'Screenshot'), { facts, file, now }));
  });

  /**
   * A screenshot's stored facts and file, for a runId this session may see (`allowed`: opened through
   * its page, or shown on a trail page viewed); otherwise the 403 or 404 is sent and undefined returned.
   */
  async function storedScreenshot(reply: FastifyReply, runId: string, allowed: Set<string>, refusal: string) {
    if (!allowed.has(runId)) return void reply.code(403).type('text/plain').send(refusal);
    const facts = await outcomeFacts(store, runId);
    const file = facts && screenshotFile(facts.savedPaths);
    if (!facts || !file) return void reply.code(404).type('text/plain').send('not found');
    return { facts, file };
  }

  app.get<{ Params: { runId: string } }>('/screenshot/:runId/image', { config: { access: 'trails' } }, async (request, reply) => {
    // Opened through its page (recorded, and hash-checked there) in this session, or not at all.
    const found = await storedScreenshot(reply, request.params.runId, (sessionOf.get(request) as Session).opened, 'Open the screenshot through its page: that look is recorded.');
    if (!found) return reply;
    const { facts, file } = found;
    const body = await readFile(file);
    if (createHash('sha256').update(body).digest('hex') !== facts.sha256) return reply.code(409).type('text/plain').send('The file no longer matches the sha256 stored at download: not shown.');
    return reply.type(/^image\/(png|jpeg|gif|webp)$/.test(facts.contentType ?? '') ? (facts.contentType as string) : 'application/octet-stream').send(body);
  });

  app.get<{ Params: { runId: string } }>('/screenshot/:runId/thumb', { config: { access: 'trails' } }, async (request, reply) => {
    // Shown on a trail page this session viewed (recorded), or not at all.
    const found = await storedScreenshot(reply, request.params.runId, (sessionOf.get(request) as Session).shown, 'Thumbnails are shown with the trail they belong to.');
    if (!found) return reply;
    const thumbnail = await deps.thumbnails.of(found.file, found.facts.sha256 ?? '');
    if (!thumbnail) return reply.code(409).type('text/plain').send('The file no longer matches the sha256 stored at download: not shown.');
    return reply.type('image/webp').send(thumbnail);
  });

  app.get('/app', { config: { access: 'trails' } }, async (request, reply) => {
    const q = appQuery.parse(request.query);
    const p = period(q.from, q.to);
    const name = (await appName(store, q.app)) ?? '';
    await record(request, { action: 'app-viewed', app: q.app, from: p.from, to: p.to, detail: `who used ${name || q.app}` });
    const [usage, accesses] = await Promise.all([appUsage(store, q.app, p), accessesOfApp(store, q.app, 50)]);
    return sendPage(reply, appPage(frame(request, reply, `App ${name || q.app}`), { appId: q.app, appName: name }, p, usage, accesses));
  });

  app.post('/evidence', { config: { access: 'trails' }, preHandler: app.csrfProtection }, async (request, reply) => {
    const body = evidenceBody.safeParse(request.body);
    if (!body.success) throw new BadRequest('expected user, from and to');
    const user = qlikUser(body.data.user);
    const p = period(body.data.from, body.data.to);
    if (!p.from || !p.to) throw new BadRequest('an evidence bundle covers a stated period: set from and to');
    // Recorded first: the bundle then lists its own download among the looks at this trail.
    await record(request, { action: 'evidence-downloaded', subject: user, from: p.from, to: p.to, detail: `evidence bundle ${p.fromDate} to ${p.toDate}` });
    const scratch = mkdtempSync(path.join(tmpdir(), 'qlik-audit-ui-evidence-'));
    const out = path.join(scratch, 'evidence.zip');
    try {
      const { report } = await checkStore(config, store);
      const session = sessionOf.get(request) as Session;
      const summary = await writeEvidence(store, {
        query: { ...user, from: p.from, to: p.to },
        verifyReport: report,
        out,
        producer: `the auditor's view, downloaded by ${session.actor} (${session.role})`,
        storageDirectories: storageDirs,
        anchorFile: config.auditSecurityLog.anchorFile,
      });
      const name = `evidence-${user.userDirectory}-${user.userId}-${p.fromDate}-${p.toDate}.zip`.replace(/[^A-Za-z0-9._-]/g, '_');
      say(request, 'info', { actor: session.actor, user: userText(user), sha256: summary.zipSha256 }, 'auditor view: evidence bundle downloaded');
      const stream = createReadStream(out);
      stream.on('close', () => rmSync(scratch, { recursive: true, force: true }));
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('x-evidence-sha256', summary.zipSha256)
        .header('x-store-intact', String(report.ok))
        .send(stream);
    } catch (err) {
      rmSync(scratch, { recursive: true, force: true });
      throw err;
    }
  });

  // ---- auditors and operators: the store's status ----
  async function statusView(session: Session) {
    if (!deps.status.last && !deps.status.runningSince) await Promise.race([deps.status.check(), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    let anchors: { file: string; count: number; last?: import('../store/anchor-log').AnchorEntry; problem?: string } = { file: config.auditSecurityLog.anchorFile, count: 0 };
    try {
      const log = await readAnchorLog(config.auditSecurityLog.anchorFile, deps.digestKey);
      anchors = { ...anchors, count: log.entries.length, last: log.entries.at(-1), problem: log.exists ? log.problems[0]?.detail : 'the anchor log does not exist yet (no ingest run so far)' };
    } catch (err) {
      anchors.problem = `cannot read the anchor log: ${(err as Error).message}`;
    }
    const [runs, findings, accesses] = await Promise.all([lastIngestRuns(store), findingsByFile(store, { limit: 50 }), CAN.trails(session.role) ? recentAccesses(store, 30) : Promise.resolve(undefined)]);
    return { check: deps.status.last, checkError: deps.status.lastError, runningSince: deps.status.runningSince, anchors, runs, findings, accesses };
  }

  app.get('/status', { config: { access: 'status' } }, async (request, reply) => {
    const view = await statusView(sessionOf.get(request) as Session);
    return sendPage(reply, statusPage(frame(request, reply, 'Store status'), view));
  });

  app.get('/api/status', { config: { access: 'status' } }, async (request) => {
    const view = await statusView(sessionOf.get(request) as Session);
    return { check: view.check ?? null, runningSince: view.runningSince ?? null, anchors: { file: view.anchors.file, count: view.anchors.count, last: view.anchors.last ?? null, problem: view.anchors.problem ?? null }, runs: view.runs, findings: view.findings };
  });

  app.post('/status/check', { config: { access: 'status' }, preHandler: app.csrfProtection }, async (_request, reply) => {
    void deps.status.check();
    return reply.redirect('/status', 303);
  });

  app.setNotFoundHandler(async (request, reply) => {
    if (request.url.startsWith('/api/')) return reply.code(404).send({ error: 'not found' });
    return sendPage(reply, messagePage(frame(request, reply, 'Not found'), 'Not found', 'There is no page here.', html`<p><a href="/">Start page</a></p>`), 404);
  });
  return app;
}
