// Draws docs/crop-before-after.png for the README: the simulated Printing Service's render (left), and
// what is stored for the demo's event (right): cropped to what the user saw, under its header band.
//   npx tsx scripts/readme-picture.ts
import path from 'node:path';
import sharp from 'sharp';
import { screenshotEvent, withCrop } from '../demo/sample-events';
import { sheetObjectRender, VISIBLE_CROP } from '../demo/simulated-qlik/renders';
import { cropPng, withMetadataHeader } from '../screenshots/image';
import { metadataLines } from '../screenshots/image-metadata';

async function main() {
  const render = await sheetObjectRender();
  const crop = VISIBLE_CROP;
  const event = withCrop(screenshotEvent('https://qlik.example.com/tempcontent/x.png', 'UserDirectory=DOMAIN; UserId=administrator', { timestamp: '2019-02-01T10:07:28.000Z' }), crop);
  const cropped = await cropPng(render, crop);
  const fields = { date: true, eventId: true, correlationId: false, selectionTxnId: false, user: true, appId: false, appName: true, sheetName: true, viewingDuration: false };
  const header = await withMetadataHeader(cropped.raw, metadataLines(event, fields, 'Europe/Stockholm'));
  const scale = 0.5;
  const left = await sharp(render).resize({ width: Math.round(1920 * scale) }).png().toBuffer({ resolveWithObject: true });
  const right = await sharp(header).resize({ width: Math.round(1200 * scale) }).png().toBuffer({ resolveWithObject: true });
  const gap = 40;
  const label = async (text: string) => sharp({ text: { text, font: 'DejaVu Sans Bold 13', fontfile: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'), dpi: 96, rgba: true } }).png().toBuffer();
  const top = 36;
  const out = path.resolve(__dirname, '../docs/crop-before-after.png');
  await sharp({ create: { width: left.info.width + gap + right.info.width + 2 * gap, height: top + Math.max(left.info.height, right.info.height) + gap, channels: 4, background: '#e8e8e8' } })
    .composite([
      { input: await label('Rendered by the Qlik Printing Service (1920×1080)'), top: 10, left: gap },
      { input: left.data, top, left: gap },
      { input: await label('Stored: what the user saw + header band'), top: 10, left: gap + left.info.width + gap },
      { input: right.data, top, left: gap + left.info.width + gap },
    ])
    .png({ palette: true, colours: 64 })
    .toFile(out);
  process.stdout.write(`wrote ${out}\n`);
}
main().catch((err: Error) => {
  process.stderr.write(`readme-picture failed: ${err.stack}\n`);
  process.exit(1);
});
