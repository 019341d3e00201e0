// Storing a screenshot in every enabled `flat` target (SPEC 3.3 "Storage"): Butler SOS file names, each
// file made visible atomically, plus a JSON sidecar. Every attempt writes temporary files of its own
// (`.{name}.{attempt tag}.part`), so an attempt presumed dead that is still running never shares a file
// with its successor; the final name is taken with link(2), which fails if it exists: the first attempt
// to finish wins, a later one keeps the winner's file and describes that file in the sidecar.
// Leftovers of dead attempts are removed by the next attempt for the event.
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { parseEventTime, type ScreenshotEvent } from '../common/audit-event';
import { fileSha256, metadataFileName } from '../common/stored-files';

export interface StorageTarget {
  directory: string;
}

/** Characters outside [A-Za-z0-9._-] become `_`; each part at most 128 characters. */
function safePart(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128);
}

/** `YYYYMMDDTHHmmss.mmmZ` of the event timestamp, in UTC. */
function compactUtc(timestamp: string): string {
  return new Date(parseEventTime(timestamp)).toISOString().replace(/[-:]/g, '');
}

/** `{YYYYMMDDTHHmmss.mmmZ}_{eventId}_{correlationId}` — the file name without extension (Butler SOS
 *  writes `none` for an event without correlation id). */
export function screenshotBaseName(event: ScreenshotEvent): string {
  return [compactUtc(event.timestamp), event.eventId, event.correlationId || 'none'].map(safePart).join('_');
}

/** A tag unique to one attempt: its number and a random suffix (two workers may run the same attempt number). */
export function attemptTag(attempt: number): string {
  return `${attempt}-${randomBytes(4).toString('hex')}`;
}

export function tempFileFor(target: StorageTarget, baseName: string, tag: string): string {
  return path.join(target.directory, `.${baseName}.${tag}.part`);
}

export interface Sidecar {
  eventId: string;
  correlationId: string | null;
  user: string | null;
  appId: string | null;
  appName: string | null;
  sheetId: string | null;
  sheetName: string | null;
  objectId: string | null;
  /** The screenshot URL as received: it never carries our ticket. */
  url: string;
  redirectHosts: string[];
  contentType: string;
  bytes: number;
  sha256: string;
  timings: { ticketMs: number; downloadMs: number; totalMs: number };
  storedAt: string;
  /** What was downloaded (before any crop): its sha256 and size. `sha256`/`bytes` above are the stored image's. */
  download?: { sha256: string; bytes: number };
  /** The crop applied (SPEC 3.3 "Image"), null when none was asked for or possible. */
  crop?: unknown;
  /** Why the requested crop was not applied (the image is then stored as downloaded). */
  cropError?: string;
  /** Why no `_metadata.png` was written although addInImageMetadata is on. */
  metadataError?: string;
  /** sha256 of each stored file of this screenshot, by file name (the image, its `_metadata.png`). */
  files?: Record<string, string>;
}

/** This attempt's temporary file for the `_metadata.png` (cleaned up with its other temporary files). */
export function metadataTempFileFor(target: StorageTarget, baseName: string, tag: string): string {
  return path.join(target.directory, `.${baseName}.meta.${tag}.part`);
}

/** Replaces a temporary file's content, synced (the cropped image over the download). */
export async function overwriteSynced(file: string, data: Buffer): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeSynced(file: string, data: string): Promise<void> {
  const handle = await open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function sha256Of(file: string): Promise<{ sha256: string; bytes: number }> {
  return { sha256: await fileSha256(file), bytes: (await stat(file)).size };
}

/** Gives `temp` the name `finalPath` unless that exists already; true when ours is the one kept. */
async function claim(temp: string, finalPath: string): Promise<boolean> {
  try {
    await link(temp, finalPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Gives the downloaded temporary file (in the first target) its final name in every target, with its
 * sidecar. Returns the image paths and what the kept files hold: ours, or — when another attempt for
 * the event got there first — that attempt's file, which the sidecar then describes.
 */
export async function commitScreenshot(options: {
  tempFile: string;
  tag: string;
  targets: StorageTarget[];
  baseName: string;
  extension: string;
  sidecar: Sidecar;
  /** The `_metadata.png`, written by this attempt in the first target. */
  metadata?: { tempFile: string; sha256: string };
}): Promise<{ paths: string[]; sha256: string; bytes: number }> {
  const fileName = `${options.baseName}.${options.extension}`;
  const metadataName = metadataFileName(options.baseName);
  const saved: string[] = [];
  let kept = { sha256: options.sidecar.sha256, bytes: options.sidecar.bytes };
  // Copies first, the original last: until the last link the download can still be copied.
  const ordered = [...options.targets.slice(1), ...options.targets.slice(0, 1)];
  for (const target of ordered) {
    await mkdir(target.directory, { recursive: true });
    const finalPath = path.join(target.directory, fileName);
    const temp = tempFileFor(target, options.baseName, options.tag);
    if (temp !== options.tempFile) {
      await copyFile(options.tempFile, temp);
      const handle = await open(temp, 'r+');
      await handle.sync().finally(() => handle.close());
    }
    const ours = await claim(temp, finalPath);
    const holds = ours ? { sha256: options.sidecar.sha256, bytes: options.sidecar.bytes } : await sha256Of(finalPath);
    if (target === options.targets[0]) kept = holds;
    const files: Record<string, string> = { [fileName]: holds.sha256 };
    if (options.metadata) {
      const metaTemp = metadataTempFileFor(target, options.baseName, options.tag);
      if (metaTemp !== options.metadata.tempFile) await copyFile(options.metadata.tempFile, metaTemp);
      const metaPath = path.join(target.directory, metadataName);
      files[metadataName] = (await claim(metaTemp, metaPath)) ? options.metadata.sha256 : (await sha256Of(metaPath)).sha256;
    }
    // The sidecar describes the file as kept; written whole under a temporary name, then renamed.
    const sidecarTemp = path.join(target.directory, `.${fileName}.json.${options.tag}.part`);
    await writeSynced(sidecarTemp, `${JSON.stringify({ ...options.sidecar, ...holds, files, ...(ours ? {} : { keptFromAnotherAttempt: true }) }, null, 2)}\n`);
    await rename(sidecarTemp, `${finalPath}.json`);
    saved.push(finalPath);
  }
  return { paths: [...saved.slice(-1), ...saved.slice(0, -1)], ...kept };
}

/** Removes this event's temporary files from every target: every attempt's, or `only` one attempt's. */
export async function removeTempFiles(targets: StorageTarget[], baseName: string, only?: string): Promise<void> {
  const prefix = `.${baseName}.`;
  const suffix = only ? `.${only}.part` : '.part';
  await Promise.all(
    targets.map(async (t) => {
      const names = await readdir(t.directory).catch(() => [] as string[]);
      await Promise.all(names.filter((n) => n.startsWith(prefix) && n.endsWith(suffix)).map((n) => rm(path.join(t.directory, n), { force: true })));
    }),
  );
}

/**
 * If an earlier attempt already stored this event in every target (and only the activity's completion
 * was lost), returns that sidecar and the paths, so a retry does not download again.
 */
export async function findStoredScreenshot(targets: StorageTarget[], baseName: string, eventId: string) {
  let found: { sidecar: Sidecar; paths: string[] } | undefined;
  for (const extension of ['png', 'jpg', 'webp', 'gif', 'bin']) {
    const paths = targets.map((t) => path.join(t.directory, `${baseName}.${extension}`));
    try {
      const sidecars = await Promise.all(paths.map(async (p) => JSON.parse(await readFile(`${p}.json`, 'utf8')) as Sidecar));
      await Promise.all(paths.map((p) => open(p, 'r').then((h) => h.close())));
      if (sidecars.every((s) => s.eventId === eventId && s.sha256 === sidecars[0]?.sha256) && sidecars[0]) {
        found = { sidecar: sidecars[0], paths };
        break;
      }
    } catch {
      // not stored (completely) under this extension
    }
  }
  if (found) await removeTempFiles(targets, baseName);
  return found;
}
