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
  /** Rows taken out by the overflow composite, just above the table's bottom grid line: [from, to). */
  overflowCut?: [number, number];
  /** Why the overflow composite was not applied. */
  overflowSkipped?: string;
  /** The final rectangle taken from the (composited) image. */
  region: { left: number; top: number; width: number; height: number };
  /** Image size before and after. */
  from: { width: number; height: number };
  to: { width: number; height: number };
}

const floor = (v: number | undefined) => (typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.floor(v)) : 0);

/**
 * The table's bottom grid line, as Butler SOS finds it: scanning up from 5 rows above the bottom to
 * the middle of the image, the first row whose colour at a quarter of the width is grid-line grey
 * (mean 160–245) and uniform (±5 per channel, every 10th pixel, the outer 5% — at most 50 px — left
 * out for the frame), and which sits under a row of cell content (not uniform) or under a clearly
 * brighter row (a white cell, > 8 brighter). -1 when there is none.
 */
export function findTableBottomGridLine(px: Buffer, width: number, height: number): number {
  const margin = Math.min(50, Math.floor(width * 0.05));
  const refX = Math.floor(width / 4);
  const at = (x: number, y: number) => (y * width + x) * 4;
  const rowUniform = (y: number, r: number, g: number, b: number, channels: 1 | 3) => {
    let checked = 0;
    for (let x = margin; x < width - margin; x += 10) {
      const i = at(x, y);
      if (Math.abs((px[i] ?? 0) - r) > 5) return { uniform: false, checked };
      if (channels === 3 && (Math.abs((px[i + 1] ?? 0) - g) > 5 || Math.abs((px[i + 2] ?? 0) - b) > 5)) return { uniform: false, checked };
      checked++;
    }
    return { uniform: true, checked };
  };
  for (let y = Math.max(0, height - 5); y >= Math.floor(height / 2); y--) {
    const i = at(refX, y);
    const [r, g, b] = [px[i] ?? 0, px[i + 1] ?? 0, px[i + 2] ?? 0];
    const brightness = (r + g + b) / 3;
    if (brightness < 160 || brightness > 245) continue;
    const row = rowUniform(y, r, g, b, 3);
    if (!row.uniform || row.checked <= 10 || y === 0) continue;
    const j = at(refX, y - 1);
    const above = [px[j] ?? 0, px[j + 1] ?? 0, px[j + 2] ?? 0] as const;
    if (!rowUniform(y - 1, above[0], above[1], above[2], 1).uniform) return y; // cell content above: a real grid line
    if ((above[0] + above[1] + above[2]) / 3 - brightness > 8) return y; // a white cell above
  }
  return -1;
}

/** A decoded image: RGBA pixels, row after row (what sharp's `raw()` gives). */
export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

const rawInput = (image: RawImage) => sharp(image.data, { raw: { width: image.width, height: image.height, channels: 4 } });

/**
 * Crops a PNG as Audit.qs describes what the user saw, with Butler SOS's semantics: the scroll
 * composite (the rows above `scrollAreaOffsetY`, then those from `scrollAreaOffsetY + scrollTop` on:
 * the rows scrolled past are cut out), the overflow composite (`renderingOverflow` rows taken out
 * just above the table's bottom grid line, so the last row is as partial as on screen), then the
 * standard crop (`left`, `top`, `width`, `height`), clamped to the image.
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

  // 2. Overflow composite: the Printing Service renders every row whole, but the user saw only the
  //    top of the last one. Find the table's bottom grid line and take `renderingOverflow` rows out
  //    just above it: the last row is then cut where the screen cut it; grid line and margin stay.
  if (requested.renderingOverflow > 0) {
    const gridLine = findTableBottomGridLine(pixels, from.width, height);
    if (gridLine >= 0 && gridLine - requested.renderingOverflow >= 0) {
      const keepAbove = gridLine - requested.renderingOverflow;
      pixels = Buffer.concat([pixels.subarray(0, keepAbove * stride), pixels.subarray(gridLine * stride)]);
      height -= requested.renderingOverflow;
      applied.overflowCut = [keepAbove, gridLine];
    } else {
      applied.overflowSkipped = 'no table grid line found in the lower half of the image: rows left whole';
    }
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
