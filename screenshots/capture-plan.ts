// Deciding, before any I/O, what capturing one screenshot event means (SPEC 3.3 "Identity", "Virtual
// proxy"): who the event is about, who we download as (the event's user, the configured user, or
// nobody), through which virtual proxy, and how the download is retried — or why it is skipped.
import { eventContext, type ScreenshotEvent } from '../common/audit-event';
import type { ScreenshotsConfig } from '../common/config';
import type { CaptureIdentity, DownloadPolicy, SkipReason } from '../common/screenshot-result';
import { parseQlikIdentity } from '../common/qlik-identity';
import { virtualProxyFromUrl } from './virtual-proxy';

/**
 * Retries and timeouts of the download activity, consistent by construction: the activity heartbeats
 * on a timer, so the heartbeat timeout does not depend on how long QPS or a render takes; an attempt
 * may take every ticket and download round it can make; the window is checked at config load.
 */
export function downloadPolicy(settings: ScreenshotsConfig): DownloadPolicy {
  const { ticketTimeoutMs } = settings.auth.qps;
  return {
    retryWindowMs: settings.retryWindowMinutes * 60_000,
    attemptTimeoutMs: Math.max(5 * 60_000, 3 * (ticketTimeoutMs + settings.downloadTimeoutMs) + 30_000),
    heartbeatTimeoutMs: 20_000,
    fastPathMs: settings.fastPathMs,
  };
}

export function planCapture(event: ScreenshotEvent, settings: ScreenshotsConfig): CaptureIdentity {
  return planIdentity(event, settings);
}

function planIdentity(event: ScreenshotEvent, settings: ScreenshotsConfig): CaptureIdentity {
  const user = eventContext(event).user ?? '';
  const eventUser = parseQlikIdentity(user);
  const skip = (reason: SkipReason, detail: string): CaptureIdentity => ({ status: 'skipped', reason, detail, eventUser });
  if (!settings.enable) return skip('screenshots-disabled', 'screenshots.enable is false');
  if (!settings.storageTargets.some((t) => t.enable)) return skip('no-storage-target', 'screenshots.storageTargets has no enabled target');
  const policy = downloadPolicy(settings);
  const { mode, qps } = settings.auth;
  if (mode === 'none') return { status: 'ok', mode, eventUser, virtualProxy: '', policy };
  if (mode === 'qpsTicket') {
    // The fixed user and the virtual proxy were checked when the config was loaded.
    return { status: 'ok', mode, eventUser, ticketUser: { userDirectory: qps.userDirectory, userId: qps.userId }, virtualProxy: qps.virtualProxy, policy };
  }
  if (!eventUser) return skip('identity-unparseable', user ? `cannot get a ticket for user '${user.slice(0, 64)}'` : 'the event names no user (payload.context.user)');
  // Qlik's service accounts (INTERNAL\sa_repository, …) are never impersonated on an event's word.
  const directory = eventUser.userDirectory.toLowerCase();
  if (directory === 'internal') return skip('directory-not-allowed', `INTERNAL\\${eventUser.userId.slice(0, 64)} is a Qlik service account: userTicket mode never redeems a ticket for it`);
  const allowed = settings.auth.allowedUserDirectories;
  if (allowed.length > 0 && !allowed.some((d) => d.toLowerCase() === directory)) {
    return skip('directory-not-allowed', `user directory ${eventUser.userDirectory.slice(0, 64)} is not in screenshots.auth.allowedUserDirectories`);
  }
  const vp = virtualProxyFromUrl(event.payload.event.screenshotUrl);
  if (!vp.ok) return skip('virtual-proxy-invalid', `virtual proxy '${vp.value.slice(0, 64)}' in the screenshot URL is not valid`);
  return { status: 'ok', mode, eventUser, ticketUser: eventUser, virtualProxy: vp.prefix, policy };
}
