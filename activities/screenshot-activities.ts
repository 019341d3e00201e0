// The activities of captureScreenshot:
//   parseIdentity              who the event is about and who we download as (no I/O)
//   downloadAndStoreScreenshot QPS ticket (or cached session) → allow-listed download → atomic storage
// Ticket redemption and download share one activity on purpose: the ticket and the session cookie
// never leave the worker process, so they never reach workflow history (which every operator can
// read in the Temporal UI). Retries are still per step in effect: each failure has its own type.
import { mkdir } from 'node:fs/promises';
import { Context } from '@temporalio/activity';
import type { Agent } from 'undici';
import { screenshotWorkflowId, type ScreenshotEvent } from '../common/audit-event';
import type { CaptureIdentity, QlikUser, ScreenshotResult } from '../common/screenshot-result';
import type { ActivityDeps } from './deps';
import { AllowList } from './allow-list';
import { downloadScreenshot, type DownloadOutcome, type DownloadRequest } from './download';
import { permanent } from './failures';
import { parseQlikIdentity } from './identity';
import { createMutualTlsAgent, createPlainAgent } from './mtls-agent';
import { deleteQpsSession } from './qps-session';
import { redeemQpsTicket, type QpsEndpoint } from './qps-ticket';
import { SessionCache, sessionKey } from './session-cache';
import { commitScreenshot, findStoredScreenshot, removeTempFiles, screenshotBaseName, tempFileFor } from './storage';
import { virtualProxyFromUrl } from './virtual-proxy';

const VALID_VIRTUAL_PROXY = /^[A-Za-z0-9._~-]*$/;

export interface DownloadAndStoreInput {
  event: ScreenshotEvent;
  identity: Extract<CaptureIdentity, { status: 'ok' }>;
}

export function createScreenshotActivities({ config, logger, cleanup }: ActivityDeps) {
  const settings = config.screenshots;
  const qps = settings.auth.qps;
  const allowList = new AllowList(settings.allowedImageDownloadHosts);
  const targets = settings.storageTargets.filter((t) => t.enable);

  // One connection pool per worker process, created on first use (a `none` setup needs no certificates).
  let mtlsAgent: Agent | undefined;
  let plainAgent: Agent | undefined;
  const agentFor = (mode: string) => (mode === 'none' ? (plainAgent ??= createPlainAgent(config.qlik)) : (mtlsAgent ??= createMutualTlsAgent(config.qlik)));
  const qpsEndpoint = (virtualProxy: string): QpsEndpoint => ({
    host: qps.host,
    port: qps.port,
    virtualProxy,
    timeoutMs: qps.ticketTimeoutMs,
    dispatcher: agentFor('qpsTicket'),
  });

  const closing = new Set<Promise<void>>(); // DELETEs under way, awaited at worker shutdown
  const sessions = new SessionCache({
    ttlSeconds: settings.auth.sessionCache.ttlSeconds,
    maxEntries: settings.auth.sessionCache.maxEntries,
    onDrop: (session, reason) => {
      const { host, virtualProxy, userDirectory, userId } = session.parts;
      const closed = deleteQpsSession(qpsEndpoint(virtualProxy), session.sessionId).then((status) =>
        logger.info({ reason, host, virtualProxy, userDirectory, userId, qpsStatus: status }, 'qlik session closed'),
      );
      closing.add(closed);
      void closed.finally(() => closing.delete(closed));
    },
  });
  // A stopped worker leaves no session open at Qlik for a user who never logged in there.
  cleanup?.add(async () => {
    sessions.clear();
    await Promise.all(closing);
    await Promise.all([mtlsAgent?.close(), plainAgent?.close()]);
  });
  // Misses for the same user wait for the one ticket redemption already under way.
  const pending = new Map<string, Promise<DownloadOutcome>>();

  async function parseIdentity(event: ScreenshotEvent): Promise<CaptureIdentity> {
    const eventUser = parseQlikIdentity(event.payload.context.user);
    const skip = (reason: Extract<CaptureIdentity, { status: 'skipped' }>['reason'], detail: string): CaptureIdentity => ({ status: 'skipped', reason, detail, eventUser });
    if (!settings.enable) return skip('screenshots-disabled', 'screenshots.enable is false');
    if (targets.length === 0) return skip('no-storage-target', 'screenshots.storageTargets has no enabled target');
    const mode = settings.auth.mode;
    if (mode === 'none') return { status: 'ok', mode, eventUser, virtualProxy: '' };
    if (mode === 'qpsTicket') {
      if (!qps.userDirectory || !qps.userId) {
        throw permanent('ConfigInvalid', 'screenshots.auth.qps.userDirectory and screenshots.auth.qps.userId must be set for auth mode qpsTicket');
      }
      if (!VALID_VIRTUAL_PROXY.test(qps.virtualProxy)) {
        throw permanent('ConfigInvalid', `screenshots.auth.qps.virtualProxy '${qps.virtualProxy}' is not a valid virtual proxy prefix`);
      }
      return { status: 'ok', mode, eventUser, ticketUser: { userDirectory: qps.userDirectory, userId: qps.userId }, virtualProxy: qps.virtualProxy };
    }
    if (!eventUser) return skip('identity-unparseable', `cannot get a ticket for user '${event.payload.context.user.slice(0, 64)}'`);
    const vp = virtualProxyFromUrl(event.payload.event.screenshotUrl);
    if (!vp.ok) return skip('virtual-proxy-invalid', `virtual proxy '${vp.value.slice(0, 64)}' in the screenshot URL is not valid`);
    return { status: 'ok', mode, eventUser, ticketUser: eventUser, virtualProxy: vp.prefix };
  }

  async function downloadAndStoreScreenshot({ event, identity }: DownloadAndStoreInput): Promise<ScreenshotResult> {
    const ctx = Context.current();
    const workflowId = ctx.info.workflowExecution?.workflowId ?? screenshotWorkflowId(event.eventId);
    const log = logger.child({ workflowId, eventId: event.eventId, attempt: ctx.info.attempt });
    const startedAt = Date.now();
    const baseName = screenshotBaseName(event);

    const earlier = await findStoredScreenshot(targets, baseName, event.eventId);
    if (earlier) {
      log.info({ savedPaths: earlier.paths }, 'screenshot already stored by an earlier attempt');
      const { sha256, bytes, contentType } = earlier.sidecar;
      return { workflowId, status: 'stored', savedPaths: earlier.paths, sha256, bytes, contentType };
    }

    const url = new URL(event.payload.event.screenshotUrl);
    const firstBlock = allowList.check(url);
    if (firstBlock) {
      log.warn(`download blocked reason=${firstBlock} host=${url.hostname}`);
      return { workflowId, status: 'blocked', reason: firstBlock, savedPaths: [] };
    }

    const firstTarget = targets[0];
    if (!firstTarget) throw permanent('ConfigInvalid', 'screenshots.storageTargets has no enabled target');
    await mkdir(firstTarget.directory, { recursive: true });
    const timings = { ticketMs: 0, downloadMs: 0, totalMs: 0 };
    const request: DownloadRequest = {
      url,
      dispatcher: agentFor(identity.mode),
      allowList,
      timeoutMs: settings.downloadTimeoutMs,
      tempFile: tempFileFor(firstTarget, baseName),
      signal: ctx.cancellationSignal,
      onProgress: (bytes) => ctx.heartbeat({ bytes }),
    };

    let outcome: DownloadOutcome;
    try {
      ctx.heartbeat({ step: 'start' });
      outcome = identity.mode === 'none' ? await downloadScreenshot(request) : await downloadAsQlikUser(request, identity, timings, log);
    } catch (err) {
      await removeTempFiles(targets, baseName);
      throw err;
    }
    if (outcome.kind === 'unauthorized') {
      throw permanent('DownloadRejected', `image host ${outcome.host} answered ${outcome.status} (auth mode none sends no ticket)`);
    }
    if (outcome.kind === 'blocked') {
      log.warn(`redirect blocked reason=${outcome.reason} host=${outcome.host}`);
      await removeTempFiles(targets, baseName);
      return { workflowId, status: 'blocked', reason: outcome.reason, savedPaths: [] };
    }

    timings.totalMs = Date.now() - startedAt;
    timings.downloadMs = timings.totalMs - timings.ticketMs;
    const { context } = event.payload;
    const savedPaths = await commitScreenshot({
      tempFile: request.tempFile,
      targets,
      baseName,
      extension: outcome.extension,
      sidecar: {
        eventId: event.eventId,
        correlationId: event.correlationId,
        user: context.user,
        appId: context.appId,
        appName: context.appName,
        sheetId: context.sheetId,
        sheetName: context.sheetName,
        objectId: event.payload.event.objectId,
        url: event.payload.event.screenshotUrl,
        redirectHosts: outcome.hosts,
        contentType: outcome.contentType,
        bytes: outcome.bytes,
        sha256: outcome.sha256,
        timings,
        storedAt: new Date().toISOString(),
      },
    });
    log.info({ savedPaths, bytes: outcome.bytes, hosts: outcome.hosts, ...timings }, 'screenshot stored');
    return { workflowId, status: 'stored', savedPaths, sha256: outcome.sha256, bytes: outcome.bytes, contentType: outcome.contentType };
  }

  /**
   * Downloads with a cached proxy session when there is one, else with a fresh QPS ticket. A cached
   * session the proxy refuses (401/403) is dropped and replaced; a refused fresh ticket (consumed or
   * expired) gets one more fresh ticket before the run fails as AccessDenied.
   */
  async function downloadAsQlikUser(
    request: DownloadRequest,
    identity: DownloadAndStoreInput['identity'],
    timings: { ticketMs: number },
    log: ActivityDeps['logger'],
  ): Promise<DownloadOutcome> {
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
    const cacheEnabled = settings.auth.sessionCache.enable;
    let refused: DownloadOutcome | undefined;

    // Bounded: at most two fresh tickets, and a few cached sessions refused along the way.
    for (let round = 0, freshTickets = 0; round < 5 && freshTickets < 2; round++) {
      if (cacheEnabled) {
        const underWay = pending.get(key);
        if (underWay) await underWay.catch(() => undefined);
        const session = sessions.get(key);
        if (session) {
          const outcome = await downloadScreenshot({ ...request, cookie: { name: session.cookieName, value: session.sessionId } });
          if (outcome.kind !== 'unauthorized') return outcome;
          log.info({ status: outcome.status }, 'cached qlik session refused; redeeming a fresh ticket');
          sessions.reject(key, session.sessionId);
          continue;
        }
      }
      freshTickets++;
      const attempt = (async () => {
        const ticketStart = Date.now();
        const ticket = await redeemQpsTicket(qpsEndpoint(identity.virtualProxy), user, request.signal);
        timings.ticketMs += Date.now() - ticketStart;
        Context.current().heartbeat({ step: 'ticket redeemed' });
        const outcome = await downloadScreenshot({ ...request, ticket });
        if (cacheEnabled && outcome.kind === 'image' && outcome.sessionCookie) {
          sessions.set(key, { cookieName: outcome.sessionCookie.name, sessionId: outcome.sessionCookie.value, parts });
        }
        return outcome;
      })();
      if (cacheEnabled) pending.set(key, attempt);
      try {
        const outcome = await attempt;
        if (outcome.kind !== 'unauthorized') return outcome;
        refused = outcome;
        log.warn({ status: outcome.status }, 'qlik proxy refused a fresh ticket');
      } finally {
        if (pending.get(key) === attempt) pending.delete(key);
      }
    }
    const status = refused?.kind === 'unauthorized' ? refused.status : 403;
    throw permanent(
      'AccessDenied',
      `Qlik proxy ${url.host} refused ${user.userDirectory}\\${user.userId} with ${status} even with a fresh ticket; does the user have access to the app?`,
    );
  }

  return { parseIdentity, downloadAndStoreScreenshot };
}
