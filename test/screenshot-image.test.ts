// Butler SOS image parity (SPEC 3.3 "Image") on the simulated Printing Service's 1920×1080 table
// render: the scroll composite, the overflow composite at the table's grid line, the standard crop
// (floored, clamped), a failed crop stored uncropped with the reason, non-PNG stored as received, and
// the `_metadata.png` beside the screenshot, with every file's sha256 and the crop in the sidecar.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { startCaptureScreenshot } from '../client/start-screenshot';
import type { ScreenshotResult } from '../common/screenshot-result';
import { ROWS_TOP, RENDER, sheetObjectRender, VISIBLE_CROP } from '../demo/simulated-qlik/renders';
import { withCrop } from '../demo/sample-events';
import { cropPng, withMetadataHeader } from '../screenshots/image';
import { metadataLines, VALUE_MAX_CHARS } from '../screenshots/image-metadata';
import { screenshotEvent, startTestbed, type Testbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const rows = async (png: Buffer, top: number, height: number, width = 1200) => sharp(png).extract({ left: 0, top, width, height }).raw().toBuffer();

test("crop (Butler SOS semantics): rows scrolled past are cut out, the last row is cut short above the table's bottom grid line, values floored and clamped", async () => {
  const render = await sheetObjectRender();
  assert.deepEqual([(await sharp(render).metadata()).width, (await sharp(render).metadata()).height], [1920, 1080]);
  // Scrolled past 6 rows (240 px), the last row 20 px short of whole, 1200.7 px wide.
  const { image, applied } = await cropPng(render, { ...VISIBLE_CROP, width: 1200.7, height: 820.6, scrollTop: 240.9 });
  const meta = await sharp(image).metadata();
  assert.deepEqual([meta.width, meta.height], [1200, 820]);
  assert.deepEqual(applied.scrollCut, [ROWS_TOP, ROWS_TOP + 240]);
  assert.equal(applied.requested.scrollTop, 240, 'floored');
  // The table's bottom grid line is the render's row 1059 (819 after the scroll composite): the 20 rows above it go.
  assert.deepEqual(applied.overflowCut, [799, 819]);
  // The title and header are the render's; the first row shown is the render's 7th.
  assert.deepEqual(await rows(image, 0, ROWS_TOP), await rows(render, 0, ROWS_TOP));
  assert.deepEqual(await rows(image, ROWS_TOP, RENDER.rowHeight), await rows(render, ROWS_TOP + 6 * RENDER.rowHeight, RENDER.rowHeight));
  // The last row (the render's 24th, 1020–1059) shows its top 19 rows, then the grid line, then the margin.
  assert.deepEqual(await rows(image, 780, 19), await rows(render, 1020, 19));
  assert.deepEqual(await rows(image, 799, 21), await rows(render, 1059, 21));

  // The standard crop alone, clamped to the image.
  const clamped = await cropPng(render, { left: 1800.9, top: 1000.2, width: 500, height: 500 });
  assert.deepEqual(clamped.applied.region, { left: 1800, top: 1000, width: 120, height: 80 });
  // No grid line in a blank image: the overflow rows are cut as given.
  const blank = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#ffffff' } }).png().toBuffer();
  const plain = await cropPng(blank, { top: 0, left: 0, width: 300, height: 200, renderingOverflow: 30 });
  assert.deepEqual([plain.applied.overflowCut, plain.applied.region.height], [undefined, 200]);
  assert.match(String(plain.applied.overflowSkipped), /no table grid line/);
  await assert.rejects(cropPng(Buffer.from('\x89PNG\r\n\x1a\nnot really'), { width: 10, height: 10 }));
});

/** A PNG that declares `width`×`height` pixels and holds almost nothing (a decompression bomb's header). */
function pngDeclaring(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(16))), chunk('IEND', Buffer.alloc(0))]);
}

test('crop: outside the image, sizes under a pixel and decompression bombs fail (the image is then stored as received); a re-run gives the same bytes', async () => {
  const render = await sheetObjectRender();
  await assert.rejects(cropPng(render, { left: 1920, top: 0, width: 100, height: 100 }), /lies outside the 1920×1080 image/);
  await assert.rejects(cropPng(render, { left: 0, top: 5000, width: 100, height: 100 }), /lies outside/);
  await assert.rejects(cropPng(render, { width: 0.4, height: 100 }), /at least 1 pixel/);
  await assert.rejects(cropPng(pngDeclaring(30_000, 30_000), { width: 100, height: 100 }), /pixel limit/i);
  const crop = { top: 3.5, left: 7.2, width: 800, height: 300, scrollTop: 80, scrollAreaOffsetY: ROWS_TOP, renderingOverflow: 12 };
  const [a, b] = await Promise.all([cropPng(render, crop), cropPng(render, crop)]);
  assert.deepEqual(a.image, b.image, 'deterministic: a retried attempt stores the same bytes');
});

test('the header band reads as Butler SOS writes it: seconds from the milliseconds Audit.qs sends, dates to the second, n/a, values capped at 160', async () => {
  const all = { date: true, eventId: true, correlationId: true, selectionTxnId: true, user: true, appId: true, appName: true, sheetName: true, viewingDuration: true };
  const event = screenshotEvent('https://qlik.example.com/tempcontent/x.png', 'LAB\\anna', { timestamp: '2026-11-22T10:15:30.789Z' });
  const longName = 'Sales '.repeat(2000); // an app name of 12,000 characters
  const shown = (e: typeof event) => metadataLines(e, all, 'Europe/Stockholm');
  const lines = shown({ ...event, payload: { ...event.payload, event: { ...event.payload.event, duration: 5500 }, context: { ...event.payload.context, appName: longName, sheetName: '' } } } as typeof event);
  assert.deepEqual(lines.slice(0, 2), ['DATE (UTC): 2026-11-22 10:15:30', 'DATE (LOCAL): 2026-11-22 11:15:30']);
  assert.ok(lines.includes('VIEWING DURATION (s): 5.50'), lines.join(' | '));
  assert.ok(lines.includes('SHEET NAME: n/a'), 'an empty value is n/a');
  const app = lines.find((l) => l.startsWith('APP NAME: ')) ?? '';
  assert.equal(app.length, 'APP NAME: '.length + VALUE_MAX_CHARS);
  assert.ok(app.endsWith('...'));
  // A duration that is not a number (or absent) is n/a, never NaN.
  assert.ok(shown({ ...event, payload: { ...event.payload, event: { ...event.payload.event, duration: '5500' } } } as typeof event).includes('VIEWING DURATION (s): n/a'));
  assert.ok(shown(event).includes('VIEWING DURATION (s): n/a'));
  // The band is as wide as its longest line: the cap keeps a hostile app name from making a huge image.
  const header = await withMetadataHeader(await sharp({ create: { width: 400, height: 100, channels: 4, background: '#fff' } }).png().toBuffer(), lines);
  const { width } = await sharp(header).metadata();
  assert.ok((width ?? 0) < 2000, `band width ${width} px`);
});

let bed: Testbed;
test('setup: a worker with addInImageMetadata on, every field', async () => {
  const fields = { date: true, eventId: true, correlationId: true, selectionTxnId: true, user: true, appId: true, appName: true, sheetName: true, viewingDuration: true };
  bed = await startTestbed(await devServer(), { addInImageMetadata: { enable: true, fields } });
  bed.qlik.routes.set('/tempcontent/image/table.png', { kind: 'image', body: await sheetObjectRender() });
});

async function capture(url: string, crop?: Parameters<typeof withCrop>[1]) {
  const env = await devServer();
  const event = screenshotEvent(bed.qlik.url(url), 'LAB\\imagery');
  const started = await startCaptureScreenshot(env.client, bed.taskQueue, crop ? withCrop(event, crop) : event);
  const result = (await env.client.workflow.getHandle(started.workflowId).result()) as ScreenshotResult;
  const sidecars = result.savedPaths.map((p) => JSON.parse(readFileSync(`${p}.json`, 'utf8')) as Record<string, unknown>);
  return { result, sidecars };
}

test('a PNG with a crop is stored cropped, with a _metadata.png beside it in every target; the sidecar has each sha256 and the crop', async () => {
  const render = await sheetObjectRender();
  const { result, sidecars } = await capture('/tempcontent/image/table.png', VISIBLE_CROP);
  assert.equal(result.status, 'stored');
  assert.equal(result.savedPaths.length, 2);
  for (const [i, saved] of result.savedPaths.entries()) {
    const stored = readFileSync(saved);
    const meta = await sharp(stored).metadata();
    assert.deepEqual([meta.width, meta.height], [1200, 820]);
    const sidecar = sidecars[i] as { sha256: string; bytes: number; download: { sha256: string; bytes: number }; crop: { to: object }; files: Record<string, string> };
    assert.equal(sidecar.sha256, sha256(stored), 'the stored file');
    assert.deepEqual(sidecar.download, { sha256: sha256(render), bytes: render.length }, 'the download as received');
    assert.deepEqual(sidecar.crop.to, { width: 1200, height: 820 });
    const header = saved.replace(/\.png$/, '_metadata.png');
    assert.ok(existsSync(header), header);
    const headerImage = readFileSync(header);
    assert.deepEqual(sidecar.files, { [path.basename(saved)]: sha256(stored), [path.basename(header)]: sha256(headerImage) });
    // The cropped image under a band of text: same width, taller, the band not blank, the image below it.
    const headerMeta = await sharp(headerImage).metadata();
    assert.equal(headerMeta.width, 1200);
    const band = (headerMeta.height ?? 0) - (meta.height ?? 0);
    assert.ok(band >= 10 * 16, `a band of ten lines: ${band} px`);
    const bandStats = await sharp(headerImage).extract({ left: 0, top: 0, width: 600, height: band - 2 }).stats();
    assert.ok((bandStats.channels[0]?.min ?? 255) < 100, 'dark text on the band');
    assert.deepEqual(await rows(headerImage, band, 40), await rows(stored, 0, 40), 'the screenshot under the band');
  }
  assert.equal(result.sha256, sidecars[0]?.sha256);
});

test('a crop that fails stores the download uncropped and says why; a JPEG is stored as received', async () => {
  const broken = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.from('this is not a PNG body')]);
  bed.qlik.routes.set('/tempcontent/image/broken.png', { kind: 'image', body: broken });
  const failed = await capture('/tempcontent/image/broken.png', { width: 100, height: 100 });
  assert.equal(failed.result.status, 'stored');
  assert.deepEqual(readFileSync(failed.result.savedPaths[0] as string), broken, 'stored as downloaded');
  assert.match(String(failed.sidecars[0]?.cropError), /^crop not applied, stored uncropped: /);
  assert.equal(failed.sidecars[0]?.crop, null);
  assert.ok(failed.sidecars[0]?.metadataError, 'no header either, and the sidecar says why');

  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } }).jpeg().toBuffer();
  bed.qlik.routes.set('/tempcontent/image/photo.jpg', { kind: 'image', body: jpeg, contentType: 'image/jpeg' });
  const asReceived = await capture('/tempcontent/image/photo.jpg', { width: 10, height: 10 });
  assert.match(asReceived.result.savedPaths[0] ?? '', /\.jpg$/);
  assert.deepEqual(readFileSync(asReceived.result.savedPaths[0] as string), jpeg);
  assert.match(String(asReceived.sidecars[0]?.cropError), /not a PNG \(image\/jpeg\): stored as received/);
  assert.ok(!existsSync((asReceived.result.savedPaths[0] as string).replace(/\.jpg$/, '_metadata.png')));
});
