// Butler SOS image parity (SPEC 3.3 "Image"): a PNG is trimmed to what the user saw (`crop`), and
// with addInImageMetadata a second PNG carries a header band naming the event. All pixel work runs in
// sharp (libvips) on libuv's thread pool, never on the worker's event loop; the one pixel scan we do
// ourselves (the grid line) reads a few rows of raw pixels that sharp extracted.
import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import type { CropRequest } from '../common/audit-event';

/** The DejaVu Sans that ships in the npm package (a bare Debian may have no fonts at all). */
const FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const FONT = 'DejaVu Sans 13';
/** Decompression bombs: a PNG declaring more pixels than this is refused before it is decoded (a
 *  Printing Service render is a few megapixels; 8192² is 67 MP, ~270 MB decoded). */
export const MAX_INPUT_PIXELS = 8192 * 8192;
const BAND_PADDING = 14;
/** libvips caches operations by input; a worker handles each image once, so the cache only costs memory. */
sharp.cache(false);

/**
 * Images processed at once: one fewer than the CPUs (at least one). The pixel work runs on libuv's
 * thread pool; left unbounded it takes every core and the event loop — heartbeats, polls, every
 * other activity — waits for the scheduler (measured: loop delay p99 28 ms at 8 at a time on 2 cores).
 */
const IMAGE_SLOTS = Math.max(1, availableParallelism() - 1);
let busy = 0;
const queue: (() => void)[] = [];

/** Runs `fn` in one of the image slots. */
export async function inImageSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (busy >= IMAGE_SLOTS) await new Promise<void>((resolve) => queue.push(resolve));
  busy++;
  try {
    return await fn();
  } finally {
    busy--;
    queue.shift()?.();
  }
}

/** The crop as applied, in image pixels (all integers), or why none was. */
export interface CropApplied {
  /** The requested values, floored. */
  requested: Required<Pick<CropRequest, 'top' | 'left' | 'width' | 'height'>> & { scrollTop: number; scrollAreaOffsetY: number; renderingOverflow: number };
  /** Rows cut out by the scroll composite: [from, to). */
  scrollCut?: [number, number];
  /** Rows cut off at the bottom by the overflow composite (down to the grid line found). */
  overflowCut?: number;
  /** The final rectangle taken from the (composited) image. */
  region: { left: number; top: number; width: number; height: number };
  /** Image size before and after. */
  from: { width: number; height: number };
  to: { width: number; height: number };
}

const floor = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.floor(v)) : 0);

/**
 * The grid line the overflow composite cuts at: scanning up from the bottom of the visible area at
 * most `overflow` + a few rows, the lowest row that is one uniform non-background line (a table's
 * horizontal rule). Undefined when there is none: then `overflow` rows are cut as given.
 */
function findGridLine(raw: Buffer, width: number, channels: number, rows: number): number | undefined {
  const background = pixel(raw, 0, channels);
  for (let y = rows - 1; y >= 0; y--) {
    const first = pixel(raw, y * width * channels, channels);
    if (sameColour(first, background, 12)) continue;
    let uniform = 0;
    for (let x = 0; x < width; x++) if (sameColour(pixel(raw, (y * width + x) * channels, channels), first, 24)) uniform++;
    if (uniform >= width * 0.9) return y;
  }
  return undefined;
}

function pixel(raw: Buffer, offset: number, channels: number): number[] {
  return [raw[offset] ?? 0, raw[offset + 1] ?? 0, raw[offset + 2] ?? 0, channels === 4 ? (raw[offset + 3] ?? 255) : 255];
}

function sameColour(a: number[], b: number[], tolerance: number): boolean {
  return Math.abs((a[0] ?? 0) - (b[0] ?? 0)) <= tolerance && Math.abs((a[1] ?? 0) - (b[1] ?? 0)) <= tolerance && Math.abs((a[2] ?? 0) - (b[2] ?? 0)) <= tolerance;
}

/** A decoded image: RGBA pixels, row after row (what sharp's `raw()` gives). */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

const rawInput = (image: RawImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } });

/**
 * Crops a PNG as Audit.qs describes what the user saw: the scroll composite (the header rows above
 * `scrollAreaOffsetY`, then the rows from `scrollAreaOffsetY + scrollTop` on: the rows scrolled past are
 * cut out), the overflow composite (a partially rendered bottom row of `renderingOverflow` pixels is cut
 * at the table's grid line), then the standard crop (`left`, `top`, `width`, `height`), clamped.
 * The PNG is decoded once and encoded once, in sharp's thread pool; in between, whole rows are only
 * sliced (the pixels are RGBA rows, so dropping rows is joining two slices).
 */
export async function cropPng(input: Buffer, crop: CropRequest): Promise<{ image: Buffer; raw: RawImage; applied: CropApplied }> {
  const decoded = await sharp(input, { limitInputPixels: MAX_INPUT_PIXELS }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const from = { width: decoded.info.width, height: decoded.info.height };
  if (!from.width || !from.height) throw new Error('the PNG has no size');
  const stride = from.width * 4;
  const requested = {
    top: floor(crop.top), left: floor(crop.left), width: floor(crop.width), height: floor(crop.height),
    scrollTop: floor(crop.scrollTop), scrollAreaOffsetY: floor(crop.scrollAreaOffsetY), renderingOverflow: floor(crop.renderingOverflow),
  };
  if (requested.width <= 0 || requested.height <= 0) throw new Error(`crop width and height must be at least 1 pixel (got ${crop.width}×${crop.height})`);
  if (requested.left >= from.width || requested.top >= from.height) {
    throw new Error(`the crop (left ${requested.left}, top ${requested.top}) lies outside the ${from.width}×${from.height} image`);
  }
  let pixels: Buffer = decoded.data;
  let height = from.height;
  const applied: Omit<CropApplied, 'region' | 'to'> = { requested, from };

  // 1. Scroll composite: the rows scrolled past are rendered (the Printing Service renders from the
  //    top) but were not seen: keep the header above the scroll area, drop the next `scrollTop` rows.
  if (requested.scrollTop > 0) {
    const headerRows = Math.min(requested.scrollAreaOffsetY, height);
    const resumeAt = Math.min(headerRows + requested.scrollTop, height);
    if (resumeAt < height) {
      pixels = Buffer.concat([pixels.subarray(0, headerRows * stride), pixels.subarray(resumeAt * stride)]);
      height -= resumeAt - headerRows;
      applied.scrollCut = [headerRows, resumeAt];
    }
  }

  // 2. Overflow composite: the bottom row of the visible area was cut through when the user looked;
  //    cut it off at the grid line above it (or `renderingOverflow` rows when there is none).
  const visibleBottom = Math.min(requested.top + requested.height, height);
  if (requested.renderingOverflow > 0 && visibleBottom > requested.top) {
    const scanFrom = Math.max(requested.top, visibleBottom - requested.renderingOverflow - 4);
    const band = pixels.subarray(scanFrom * stride, visibleBottom * stride);
    const line = findGridLine(band, from.width, 4, visibleBottom - scanFrom);
    const cutAt = line !== undefined ? scanFrom + line + 1 : Math.max(requested.top + 1, visibleBottom - requested.renderingOverflow);
    applied.overflowCut = visibleBottom - cutAt;
    requested.height = Math.max(1, cutAt - requested.top);
  }

  // 3. Standard crop, clamped to the image; one PNG encode.
  const left = Math.min(requested.left, from.width - 1);
  const top = Math.min(requested.top, height - 1);
  const region = { left, top, width: Math.min(requested.width, from.width - left), height: Math.min(requested.height, height - top) };
  const raw = await rawInput({ data: pixels, width: from.width, height }).extract(region).raw().toBuffer();
  const image = await rawInput({ data: raw, width: region.width, height: region.height }).png().toBuffer();
  return { image, raw: { data: raw, width: region.width, height: region.height }, applied: { ...applied, region, to: { width: region.width, height: region.height } } };
}

/** Pango markup is interpreted in sharp's text: field values are escaped. */
function escapeMarkup(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * The `_metadata.png` of Butler SOS: the image under a white header band with one `KEY: value` line
 * per field, in DejaVu Sans at a size readable at 100% zoom, the band as wide as the image (or the text).
 */
export async function withMetadataHeader(png: Buffer | RawImage, lines: readonly string[]): Promise<Buffer> {
  const decoded: RawImage = Buffer.isBuffer(png)
    ? await sharp(png, { limitInputPixels: MAX_INPUT_PIXELS }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }).then(({ data, info }) => ({ data, width: info.width, height: info.height }))
    : png;
  const meta = { width: decoded.width, height: decoded.height };
  const text = await sharp({
    text: { text: `<span foreground="#1a1a1a">${lines.map(escapeMarkup).join('\n')}</span>`, font: FONT, fontfile: FONT_FILE, dpi: 96, rgba: true, spacing: 5 },
  })
    .png()
    .toBuffer({ resolveWithObject: true });
  const imageWidth = meta.width ?? 0;
  const width = Math.max(imageWidth, text.info.width + 2 * BAND_PADDING);
  const band = text.info.height + 2 * BAND_PADDING;
  // The screenshot extended upwards (and rightwards, for long values) with white, the text on top.
  return rawInput(decoded)
    .extend({ top: band, right: width - imageWidth, background: { r: 255, g: 255, b: 255, alpha: 1 } })
    .composite([
      { input: text.data, top: BAND_PADDING, left: BAND_PADDING },
      // A rule between the band and the screenshot.
      { input: { create: { width, height: 1, channels: 4, background: { r: 190, g: 190, b: 190, alpha: 1 } } }, top: band - 1, left: 0 },
    ])
    .png()
    .toBuffer();
}
