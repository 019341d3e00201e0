// Storing a screenshot in every enabled `flat` target (SPEC 3.3 "Storage"): Butler SOS file names, each
// file written atomically (temporary file, fsync, rename) so no reader ever sees a partial image, plus
// a JSON sidecar. Temporary names are derived from the final name, so a retry after a crashed worker
// reuses and removes the same temporary file instead of leaving one behind.
import { copyFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ScreenshotEvent } from '../common/audit-event';

export interface StorageTarget {
  directory: string;
}

/** Characters outside [A-Za-z0-9._-] become `_`; each part at most 128 characters. */
function safePart(value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 128);
}

/** `YYYYMMDDTHHmmss.mmmZ` of the event timestamp, in UTC. */
function compactUtc(timestamp: string): string {
  return new Date(timestamp).toISOString().replace(/[-:]/g, '');
}

/** `{YYYYMMDDTHHmmss.mmmZ}_{eventId}_{correlationId}` — the file name without extension. */
export function screenshotBaseName(event: ScreenshotEvent): string {
  return [compactUtc(event.timestamp), event.eventId, event.correlationId].map(safePart).join('_');
}

export function tempFileFor(target: StorageTarget, baseName: string): string {
  return path.join(target.directory, `.${baseName}.part`);
}

export interface Sidecar {
  eventId: string;
  correlationId: string;
  user: string;
  appId: string;
  appName: string;
  sheetId: string;
  sheetName: string;
  objectId?: string;
  /** The screenshot URL as received: it never carries our ticket. */
  url: string;
  redirectHosts: string[];
  contentType: string;
  bytes: number;
  sha256: string;
  timings: { ticketMs: number; downloadMs: number; totalMs: number };
  storedAt: string;
}

async function writeFileAtomically(file: string, data: string): Promise<void> {
  const temp = `${path.dirname(file)}/.${path.basename(file)}.part`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, file);
}

/**
 * Moves the downloaded temporary file (in the first target) into every target under its final name,
 * with its sidecar. Returns the image paths.
 */
export async function commitScreenshot(options: {
  tempFile: string;
  targets: StorageTarget[];
  baseName: string;
  extension: string;
  sidecar: Sidecar;
}): Promise<string[]> {
  const fileName = `${options.baseName}.${options.extension}`;
  const saved: string[] = [];
  // Copies first, the original last: until the last rename the download can still be reused.
  const ordered = [...options.targets.slice(1), ...options.targets.slice(0, 1)];
  for (const target of ordered) {
    await mkdir(target.directory, { recursive: true });
    const finalPath = path.join(target.directory, fileName);
    const temp = tempFileFor(target, options.baseName);
    if (temp !== options.tempFile) {
      await copyFile(options.tempFile, temp);
      const handle = await open(temp, 'r+');
      await handle.sync().finally(() => handle.close());
    }
    await rename(temp, finalPath);
    await writeFileAtomically(`${finalPath}.json`, `${JSON.stringify(options.sidecar, null, 2)}\n`);
    saved.push(finalPath);
  }
  return [...saved.slice(-1), ...saved.slice(0, -1)];
}

/** Removes temporary files of this event from every target (after a failed download). */
export async function removeTempFiles(targets: StorageTarget[], baseName: string): Promise<void> {
  await Promise.all(targets.map((t) => rm(tempFileFor(t, baseName), { force: true })));
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
