// Thumbnails of stored screenshots for the trail page: made by sharp (320 px wide WebP, a few KB)
// on first sight and kept in memory (64 MiB, least recently used out), keyed by the file's path, size
// and modification time — a file changed on disk gets a new thumbnail, never a stale one.
import { stat } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import sharp from 'sharp';

export const THUMBNAIL_WIDTH = 320;

export class Thumbnails {
  private readonly cache = new LRUCache<string, Buffer>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (b) => b.length });
  private readonly making = new Map<string, Promise<Buffer>>();

  async of(file: string): Promise<Buffer> {
    const info = await stat(file);
    const key = `${file}\u0000${info.size}\u0000${info.mtimeMs}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    // Twenty thumbnails of one page asked at once are each made once.
    let made = this.making.get(key);
    if (!made) {
      made = sharp(file, { limitInputPixels: 100_000_000 })
        .resize({ width: THUMBNAIL_WIDTH, height: THUMBNAIL_WIDTH * 2, fit: 'inside', withoutEnlargement: true })
        .webp({ quality: 72 })
        .toBuffer()
        .finally(() => this.making.delete(key));
      this.making.set(key, made);
    }
    const thumbnail = await made;
    this.cache.set(key, thumbnail);
    return thumbnail;
  }
}
