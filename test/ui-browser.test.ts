// What an operator sees: the Temporal Web UI (served by the real dev server) opened in headless
// Chromium (shipped in an npm package: test/helpers/chromium.ts). A completed captureScreenshot run shows its activity names, summary (user, app),
// outcome and search attributes; the run list filters by QlikUserId; the stored, cropped screenshot
// with its header band opens in the browser. PNGs go to test-artifacts/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { after, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startCaptureScreenshot } from '../client/start-screenshot';
import { ROWS_TOP, sheetObjectRender, VISIBLE_CROP } from '../demo/simulated-qlik/renders';
import { withCrop } from '../demo/sample-events';
import { launchChromium } from './helpers/chromium';
import { screenshotEvent, startTestbed } from './helpers/screenshot-testbed';
import { devServer } from './helpers/temporal';

const ARTIFACTS = path.resolve(__dirname, '..', 'test-artifacts');

let browser: Browser | undefined;
after(async () => browser?.close());

async function openBrowser(): Promise<Browser> {
  browser ??= await launchChromium();
  return browser;
}

/** The text of the page and all its frames, once `pattern` appears in it (10 s at most). */
async function waitForFramesText(page: Page, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const texts = await Promise.all(page.frames().map((frame) => frame.locator('body').innerText().catch(() => '')));
    const all = texts.join('\n');
    if (pattern.test(all) || Date.now() > deadline) return all;
    await page.waitForTimeout(200);
  }
}

test('the Web UI shows a completed run: activities, summary, outcome, search attributes; the list filters by user', async () => {
  const env = await devServer();
  // Anna's screenshot is a realistic render, cropped to what she saw, with its header band.
  const bed = await startTestbed(env, { addInImageMetadata: { enable: true, fields: { date: true, eventId: true, user: true, appName: true, sheetName: true } } });
  bed.qlik.routes.set('/tempcontent/ui-anna.png', { kind: 'image', body: await sheetObjectRender() });
  const crop = VISIBLE_CROP;
  const anna = await startCaptureScreenshot(env.client, bed.taskQueue, withCrop(screenshotEvent(bed.qlik.url('/tempcontent/ui-anna.png'), 'UserDirectory=LAB; UserId=anna'), crop));
  const bob = await startCaptureScreenshot(env.client, bed.taskQueue, screenshotEvent(bed.qlik.url('/tempcontent/ui-bob.png'), 'LAB\\bob'));
  const annaResult = await anna.handle.result();
  assert.equal(annaResult.status, 'stored');
  assert.equal((await bob.handle.result()).status, 'stored');
  const ui = `http://127.0.0.1:${Number(env.address.split(':')[1]) + 1000}`;

  const page = await (await openBrowser()).newPage({ viewport: { width: 1400, height: 1400 } });
  mkdirSync(ARTIFACTS, { recursive: true });
  try {
  await page.goto(`${ui}/namespaces/default/workflows/${anna.workflowId}/${anna.runId}/history`);
  await page.getByText('COMPLETED').first().waitFor();
  await page.getByText('downloadAndStoreScreenshot').first().waitFor();
  await page.getByText('parseIdentity').first().waitFor();
  await page.getByText(/QPS ticket for LAB\\anna, download from 127\.0\.0\.1:\d+/).first().waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-run-history.png'), fullPage: true });

  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await page.getByText('Current Details').waitFor();
  // The UI renders summary and details (markdown) in sandboxed iframes: read every frame's text.
  const metadata = await waitForFramesText(page, /UserId=anna, app Sales Analysis/);
  assert.match(metadata, /Screenshot for UserDirectory=LAB; UserId=anna in app Sales Analysis \/ sheet Overview/, 'summary: user, app, sheet');
  assert.match(metadata, /stored\s*— user UserDirectory=LAB; UserId=anna, app Sales Analysis/, 'current details: the outcome');
  assert.match(metadata, /Audit\.qs event [0-9a-f-]{36} \(correlation corr-\d+\)/, 'details');
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-run-summary.png'), fullPage: true });

  await page.getByRole('tab', { name: 'Search Attributes' }).click();
  await page.getByText('"QlikUserId": "anna"').waitFor();
  const attributes = await page.locator('main').innerText();
  assert.match(attributes, /"QlikUserDirectory": "LAB"/);
  assert.match(attributes, /"QlikAppId": "3f2a7c1e-8b9d-4e6f-a1b2-c3d4e5f60718"/);
  assert.match(attributes, /"ScreenshotOutcome": "stored"/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-run-search-attributes.png'), fullPage: true });

  await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent('QlikUserId="anna"')}`);
  await page.getByText(anna.workflowId).first().waitFor();
  assert.equal(await page.getByText(bob.workflowId).count(), 0, "bob's run is filtered out");
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-list-by-user.png'), fullPage: true });

  // What was stored, as a browser shows it: the cropped table under its header band.
  const header = (annaResult.savedPaths[0] ?? '').replace(/\.png$/, '_metadata.png');
  await page.goto(pathToFileURL(header).href);
  const size = await page.locator('img').evaluate((img) => [(img as unknown as { naturalWidth: number }).naturalWidth, (img as unknown as { naturalHeight: number }).naturalHeight]);
  assert.equal(size[0], 1200);
  assert.ok((size[1] ?? 0) > ROWS_TOP + 400, 'the band above the cropped table');
  await page.screenshot({ path: path.join(ARTIFACTS, 'stored-screenshot-with-header.png'), fullPage: true });
  } catch (err) {
    await page.screenshot({ path: path.join(ARTIFACTS, 'ui-failure.png'), fullPage: true }); // what the page showed
    throw err;
  } finally {
    await page.close();
  }
});
