// The files of a stored screenshot, and whether a path read back from the audit store may be touched.
// Paths in the store (saved_paths) are data a database user can rewrite: retention deletes and
// evidence bundles read only files inside the configured storage targets, never e.g. the QPS client
// key or /etc/passwd that an edited row names.
import { createHash } from 'node:crypto';
import { createReadStream, realpathSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import path from 'node:path';
import type { Config } from './config';

/** `{name}_metadata.png`: the image under the header band (Butler SOS `addInImageMetadata`). */
export function metadataFileName(baseName: string): string {
  return `${baseName}_metadata.png`;
}

/** Every file of one stored screenshot: the image, its JSON sidecar and Butler SOS's `_metadata.png`. */
export function screenshotFiles(image: string): string[] {
  const baseName = image.replace(/\.[A-Za-z0-9]+$/, '');
  return [image, `${image}.json`, ...(baseName !== image ? [metadataFileName(baseName)] : [])];
}

/** The sha256 of a file, streamed (a screenshot may be 50 MiB). */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

function inside(file: string, directory: string): boolean {
  const relative = path.relative(directory, file);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p); // not there (yet, or any more): its spelling, normalised
  }
}

/**
 * True when `file` lies inside one of `directories` (the enabled storage targets), also after
 * following links: `..` segments, an absolute path elsewhere or a link out of the folder are outside.
 */
export function insideStorageTargets(file: string, directories: readonly string[]): boolean {
  if (!path.isAbsolute(file)) return false; // we only ever store absolute paths
  return directories.some((dir) => inside(path.resolve(file), path.resolve(dir)) && inside(real(file), real(dir)));
}

/** The folders of the enabled storage targets (screenshots.storageTargets). */
export function storageDirectories(config: Pick<Config, 'screenshots'>): string[] {
  return config.screenshots.storageTargets.filter((t) => t.enable).map((t) => t.directory);
}
