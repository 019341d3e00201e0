// Thumbnails of stored screenshots for the trail page: made by sharp (320 px wide WebP, a few KB)
// on first sight, from a file whose sha256 is the one stored at download (else none: a replaced
// image is never shown as evidence), and kept in memory (64 MiB, least recently used out), keyed by
// the file's path, size, modification time and hash — a file changed on disk is checked again.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import sharp from 'sharp';

export const THUMBNAIL_WIDTH = 320;

export class Thumbnails {
  private readonly cache = new LRUCache<string, Buffer>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (b) => b.length });
  private readonly making = new Map<string, Promise<Buffer | undefined>>();

  /** The thumbnail, or undefined when the file's sha256 is not `sha256`. */
  async of(file: string, sha256: string): Promise<Buffer | undefined> {
    const info = await stat(file);
    const key = `${file}\u0000${info.size}\u0000${info.mtimeMs}\u0000${sha256}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    // Twenty thumbnails of one page asked at once are each made once.
    let made = this.making.get(key);
    if (!made) {
      made = (async () => {
        const image = await readFile(file);
        if (createHash('sha256').update(image).digest('hex') !== sha256) return undefined;
        return sharp(image, { limitInputPixels: 100_000_000 })
          .resize({ width: THUMBNAIL_WIDTH, height: THUMBNAIL_WIDTH * 2, fit: 'inside', withoutEnlargement: true })
          .webp({ quality: 72 })
          .toBuffer();
      })().finally(() => this.making.delete(key));
      this.making.set(key, made);
    }
    const thumbnail = await made;
    if (thumbnail) this.cache.set(key, thumbnail);
    return thumbnail;
  }
}
