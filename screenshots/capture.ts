// Capturing one screenshot into every storage target (SPEC 3.3): a file an earlier attempt stored
// is reused; the first URL is allow-listed; the image is downloaded (as the Qlik user, or without a
// ticket) into this attempt's own temporary file and committed with its sidecar.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { eventContext, type ScreenshotEvent } from '../common/audit-event';
import type { ScreenshotsConfig } from '../common/config';
import { permanent } from '../common/failures';
import type { Logger } from '../common/logger';
import type { ScreenshotResult } from '../common/screenshot-result';
import { AllowList, imagePathAllowed } from './allow-list';
import { virtualProxyFromUrl } from './virtual-proxy';
import { downloadScreenshot, type DownloadOutcome, type DownloadRequest } from './download';
import type { DownloadIdentity, QlikDownloader } from './qlik-download';
import { cropPng, inImageSlot, withMetadataHeader, type CropApplied, type RawImage } from './image';
import { anyMetadataField, metadataLines } from './image-metadata';
import { attemptTag, commitScreenshot, findStoredScreenshot, metadataTempFileFor, overwriteSynced, removeTempFiles, screenshotBaseName, tempFileFor, type StorageTarget } from './storage';

/** What the image step did (SPEC 3.3 "Image"): the stored image's hash, the crop, the `_metadata.png`. */
interface ImageOutcome {
  sha256: string;
  bytes: number;
  crop: CropApplied | null;
  cropError?: string;
  metadata?: { tempFile: string; sha256: string };
  metadataError?: string;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const firstLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';

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
    // userTicket mode stores only after QPS said the named user is signed in (qlik-download.ts).
    const verified = identity.mode === 'userTicket' ? { sessionVerified: true } : {};

    const earlier = await findStoredScreenshot(targets, baseName, event.eventId);
    if (earlier) {
      log.info({ savedPaths: earlier.paths }, 'screenshot already stored by an earlier attempt');
      const { sha256, bytes, contentType } = earlier.sidecar;
      return { workflowId, status: 'stored', savedPaths: earlier.paths, sha256, bytes, contentType, ...verified };
    }

    const url = new URL(event.payload.event.screenshotUrl);
    const vp = virtualProxyFromUrl(url.href);
    const firstBlock = this.allowList.check(url) ?? (imagePathAllowed(url, vp.ok ? vp.prefix : '', this.settings.allowedImagePaths) ? undefined : 'path-not-allowed');
    if (firstBlock) {
      log.warn(`download blocked reason=${firstBlock} host=${url.hostname}${firstBlock === 'path-not-allowed' ? ' (screenshots.allowedImagePaths)' : ''}`);
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
    if (outcome.kind === 'no-session') {
      log.info('skipped: the user named in the event has no live Qlik session (no ticket redeemed)');
      await removeTempFiles(targets, baseName, tag);
      return { workflowId, status: 'skipped', reason: 'no-active-session', savedPaths: [], sessionVerified: false };
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

    timings.downloadMs = Date.now() - startedAt - timings.ticketMs;
    progress({ step: 'image' });
    const image = await inImageSlot(() => this.imageStep(event, outcome, request.tempFile, firstTarget, baseName, tag, log)).catch(async (err: unknown) => {
      await removeTempFiles(targets, baseName, tag);
      throw err;
    });
    // The image step can take a while: an attempt given up meanwhile (a timed-out fast path, a lost
    // heartbeat) leaves the storing to its successor.
    if (signal.aborted) {
      await removeTempFiles(targets, baseName, tag);
      signal.throwIfAborted();
    }
    timings.totalMs = Date.now() - startedAt;
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
        bytes: image.bytes,
        sha256: image.sha256,
        timings,
        storedAt: new Date().toISOString(),
        download: { sha256: outcome.sha256, bytes: outcome.bytes },
        crop: image.crop,
        ...(image.cropError ? { cropError: image.cropError } : {}),
        ...(image.metadataError ? { metadataError: image.metadataError } : {}),
      },
      metadata: image.metadata,
    });
    const savedPaths = stored.paths;
    log.info({ savedPaths, bytes: stored.bytes, hosts: outcome.hosts, ...timings, ...(stored.sha256 !== image.sha256 ? { keptFromAnotherAttempt: true } : {}), ...(image.crop ? { cropped: image.crop.to } : {}) }, 'screenshot stored');
    return { workflowId, status: 'stored', savedPaths, sha256: stored.sha256, bytes: stored.bytes, contentType: outcome.contentType, ...verified };
  }

  /**
   * Butler SOS's image work on a downloaded PNG (others are stored as received): the crop to what the
   * user saw, then the `_metadata.png`. Runs in sharp's thread pool. A crop that fails leaves the
   * download as it is (the sidecar says why); so does a header that cannot be drawn.
   */
  private async imageStep(event: ScreenshotEvent, download: { extension: string; contentType: string; sha256: string; bytes: number }, tempFile: string, target: StorageTarget, baseName: string, tag: string, log: Logger): Promise<ImageOutcome> {
    const crop = event.payload.event.crop;
    const metadata = this.settings.addInImageMetadata;
    const wantCrop = crop !== undefined && crop.width > 0 && crop.height > 0;
    const wantHeader = metadata.enable && anyMetadataField(metadata.fields);
    const result: ImageOutcome = { sha256: download.sha256, bytes: download.bytes, crop: null };
    if (!wantCrop && !wantHeader) return result;
    if (download.extension !== 'png') {
      if (wantCrop) result.cropError = `not a PNG (${download.contentType || 'no content type'}): stored as received`;
      if (wantHeader) result.metadataError = `not a PNG (${download.contentType || 'no content type'}): no _metadata.png`;
      return result;
    }
    let data: Buffer = await readFile(tempFile);
    let decoded: RawImage | undefined; // the cropped pixels, so the header needs no second decode
    if (wantCrop) {
      try {
        const cropped = await cropPng(data, crop);
        data = cropped.image;
        decoded = cropped.raw;
        await overwriteSynced(tempFile, data);
        Object.assign(result, { crop: cropped.applied, sha256: sha256(data), bytes: data.length });
      } catch (err) {
        result.cropError = `crop not applied, stored uncropped: ${firstLine(err)}`;
        log.warn({ crop, err: firstLine(err) }, 'screenshot crop failed; storing the image uncropped');
      }
    }
    if (wantHeader) {
      try {
        const header = await withMetadataHeader(decoded ?? data, metadataLines(event, metadata.fields));
        const file = metadataTempFileFor(target, baseName, tag);
        await writeFile(file, header);
        result.metadata = { tempFile: file, sha256: sha256(header) };
      } catch (err) {
        result.metadataError = firstLine(err);
        log.warn({ err: firstLine(err) }, 'could not draw the _metadata.png header; the screenshot is stored without it');
      }
    }
    return result;
  }
}
