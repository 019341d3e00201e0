// Capturing one screenshot into every storage target (SPEC 3.3): a file an earlier attempt stored
// is reused; the first URL is allow-listed; the image is downloaded (as the Qlik user, or without a
// ticket) into this attempt's own temporary file and committed with its sidecar.
import { mkdir } from 'node:fs/promises';
import { eventContext, type ScreenshotEvent } from '../common/audit-event';
import type { ScreenshotsConfig } from '../common/config';
import { permanent } from '../common/failures';
import type { Logger } from '../common/logger';
import type { ScreenshotResult } from '../common/screenshot-result';
import { AllowList } from './allow-list';
import { downloadScreenshot, type DownloadOutcome, type DownloadRequest } from './download';
import type { DownloadIdentity, QlikDownloader } from './qlik-download';
import { attemptTag, commitScreenshot, findStoredScreenshot, removeTempFiles, screenshotBaseName, tempFileFor } from './storage';

/** What the activity attempt provides: its number, cancellation, progress (heartbeats) and log. */
export interface CaptureAttempt {
  workflowId: string;
  number: number;
  signal: AbortSignal;
  progress: (details: object) => void;
  log: Logger;
}

export class ScreenshotCapture {
  private readonly allowList: AllowList;
  private readonly targets: ScreenshotsConfig['storageTargets'];

  constructor(
    private readonly settings: ScreenshotsConfig,
    private readonly downloader: QlikDownloader,
  ) {
    this.allowList = new AllowList(settings.allowedImageDownloadHosts);
    this.targets = settings.storageTargets.filter((t) => t.enable);
  }

  async capture(event: ScreenshotEvent, identity: DownloadIdentity, attempt: CaptureAttempt): Promise<ScreenshotResult> {
    const { workflowId, log, progress, signal } = attempt;
    const { targets } = this;
    const startedAt = Date.now();
    const baseName = screenshotBaseName(event);

    const earlier = await findStoredScreenshot(targets, baseName, event.eventId);
    if (earlier) {
      log.info({ savedPaths: earlier.paths }, 'screenshot already stored by an earlier attempt');
      const { sha256, bytes, contentType } = earlier.sidecar;
      return { workflowId, status: 'stored', savedPaths: earlier.paths, sha256, bytes, contentType };
    }

    const url = new URL(event.payload.event.screenshotUrl);
    const firstBlock = this.allowList.check(url);
    if (firstBlock) {
      log.warn(`download blocked reason=${firstBlock} host=${url.hostname}`);
      return { workflowId, status: 'blocked', reason: firstBlock, savedPaths: [] };
    }

    const firstTarget = targets[0];
    if (!firstTarget) throw permanent('ConfigInvalid', 'screenshots.storageTargets has no enabled target');
    await mkdir(firstTarget.directory, { recursive: true });
    // This attempt's own temporary files; those of attempts that died (or were given up) go now.
    const tag = attemptTag(attempt.number);
    await removeTempFiles(targets, baseName);
    const timings = { ticketMs: 0, downloadMs: 0, totalMs: 0 };
    const request: DownloadRequest = {
      url,
      dispatcher: this.downloader.agentFor(identity.mode),
      allowList: this.allowList,
      timeoutMs: this.settings.downloadTimeoutMs,
      tempFile: tempFileFor(firstTarget, baseName, tag),
      signal,
      onProgress: (bytes) => progress({ step: 'download', bytes }),
    };

    let outcome: DownloadOutcome;
    try {
      outcome = identity.mode === 'none' ? await downloadScreenshot(request) : await this.downloader.download(request, identity, timings, log, progress);
    } catch (err) {
      await removeTempFiles(targets, baseName, tag);
      throw err;
    }
    if (outcome.kind === 'unauthorized') {
      throw permanent('DownloadRejected', `image host ${outcome.host} answered ${outcome.status} (auth mode none sends no ticket)`);
    }
    if (outcome.kind === 'blocked') {
      log.warn(`redirect blocked reason=${outcome.reason} host=${outcome.host}`);
      await removeTempFiles(targets, baseName, tag);
      return { workflowId, status: 'blocked', reason: outcome.reason, savedPaths: [] };
    }
    // A heartbeat lost while downloading means another attempt may run by now: store nothing more.
    if (signal.aborted) {
      await removeTempFiles(targets, baseName, tag);
      signal.throwIfAborted();
    }

    timings.totalMs = Date.now() - startedAt;
    timings.downloadMs = timings.totalMs - timings.ticketMs;
    const context = eventContext(event);
    const stored = await commitScreenshot({
      tempFile: request.tempFile,
      tag,
      targets,
      baseName,
      extension: outcome.extension,
      sidecar: {
        eventId: event.eventId,
        correlationId: event.correlationId ?? null,
        user: context.user ?? null,
        appId: context.appId ?? null,
        appName: context.appName ?? null,
        sheetId: context.sheetId ?? null,
        sheetName: context.sheetName ?? null,
        objectId: event.payload.event.objectId ?? null,
        url: event.payload.event.screenshotUrl,
        redirectHosts: outcome.hosts,
        contentType: outcome.contentType,
        bytes: outcome.bytes,
        sha256: outcome.sha256,
        timings,
        storedAt: new Date().toISOString(),
      },
    });
    const savedPaths = stored.paths;
    log.info({ savedPaths, bytes: stored.bytes, hosts: outcome.hosts, ...timings, ...(stored.sha256 !== outcome.sha256 ? { keptFromAnotherAttempt: true } : {}) }, 'screenshot stored');
    return { workflowId, status: 'stored', savedPaths, sha256: stored.sha256, bytes: stored.bytes, contentType: outcome.contentType };
  }
}
