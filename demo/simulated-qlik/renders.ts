// What the simulated Qlik Printing Service renders: a 1920×1080 PNG of a sheet object — a table with a
// title, a header row, 24 rows of text and grey grid lines, as Qlik draws a straight table — so the
// demo, the tests and the benchmarks crop and annotate a realistic image, not a 1×1 pixel.
// Drawn once per process with sharp (text in the DejaVu Sans that ships in the npm package).
import sharp from 'sharp';

export const RENDER = { width: 1920, height: 1080, titleHeight: 60, headerHeight: 40, rowHeight: 40 } as const;
/** Where the table's rows start (Audit.qs's `scrollAreaOffsetY` for this object). */
export const ROWS_TOP = RENDER.titleHeight + RENDER.headerHeight;
export const GRID_COLOUR = { r: 217, g: 217, b: 217 };

const FONT_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');
const BOLD_FILE = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');
const COLUMNS = [
  { title: 'Customer', x: 24 },
  { title: 'Region', x: 560 },
  { title: 'Year', x: 860 },
  { title: 'Revenue (kEUR)', x: 1060 },
  { title: 'Margin', x: 1400 },
];
const CUSTOMERS = ['Nordic Timber AB', 'Fjord Logistics AS', 'Baltic Foods Oy', 'Aurora Energy', 'Helsinki Metals', 'Lakeside Retail', 'Polar Pharma', 'Skagen Seafood', 'Oslo Fintech', 'Tallinn Textiles', 'Vasa Marine', 'Bergen Bikes'];
const REGIONS = ['Nordics', 'Baltics', 'Nordics', 'DACH', 'Nordics', 'Benelux'];

async function text(value: string, bold = false): Promise<sharp.OverlayOptions & { input: Buffer }> {
  const escaped = value.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const input = await sharp({ text: { text: `<span foreground="${bold ? '#262626' : '#404040'}">${escaped}</span>`, font: bold ? 'DejaVu Sans Bold 12' : 'DejaVu Sans 12', fontfile: bold ? BOLD_FILE : FONT_FILE, dpi: 96, rgba: true } })
    .png()
    .toBuffer();
  return { input };
}

async function draw(): Promise<Buffer> {
  const { width, height, titleHeight, headerHeight, rowHeight } = RENDER;
  const rows = Math.floor((height - ROWS_TOP) / rowHeight);
  const parts: sharp.OverlayOptions[] = [];
  const line = (top: number, colour = GRID_COLOUR) => ({ input: { create: { width, height: 1, channels: 4 as const, background: { ...colour, alpha: 1 } } }, top, left: 0 });
  // Title, header row and its rule.
  parts.push({ ...(await text('Top customers — revenue and margin', true)), top: 20, left: 24 });
  parts.push({ input: { create: { width, height: headerHeight, channels: 4, background: { r: 245, g: 245, b: 245, alpha: 1 } } }, top: titleHeight, left: 0 });
  for (const column of COLUMNS) parts.push({ ...(await text(column.title, true)), top: titleHeight + 12, left: column.x });
  parts.push(line(ROWS_TOP - 1, { r: 160, g: 160, b: 160 }));
  // The rows, each closed by a grid line; a bar per row in the margin column.
  const cells = await Promise.all(
    Array.from({ length: rows }, async (_, i) => {
      const revenue = 9800 - i * 317;
      const margin = 8 + ((i * 7) % 23);
      const top = ROWS_TOP + i * rowHeight;
      const values = [`${i + 1}. ${CUSTOMERS[i % CUSTOMERS.length]}`, REGIONS[i % REGIONS.length] ?? '', String(2019 + (i % 3)), revenue.toLocaleString('en-US'), `${margin} %`];
      const texts = await Promise.all(values.map((v) => text(v)));
      return [
        ...texts.map((t, c) => ({ ...t, top: top + 12, left: (COLUMNS[c]?.x ?? 0) + (c === 3 ? 80 : 0) })),
        { input: { create: { width: margin * 14, height: 16, channels: 4 as const, background: { r: 0, g: 154, b: 204, alpha: 1 } } }, top: top + 12, left: 1480 },
        line(top + rowHeight - 1),
      ];
    }),
  );
  parts.push(...cells.flat());
  return sharp({ create: { width, height, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 1 } } })
    .composite(parts)
    .png({ compressionLevel: 9 })
    .toBuffer();
}

let cached: Promise<Buffer> | undefined;
/** The table render (drawn on first use, then shared). */
export function sheetObjectRender(): Promise<Buffer> {
  cached ??= draw();
  return cached;
}

/**
 * What Audit.qs reports for this render when the user had the table 1200 px wide, scrolled down 6 rows
 * (240 px), and saw only the top 20 px of its last row: the stored image is then 1200×820 — title and
 * header, rows 7–23, and half of row 24 above the table's bottom grid line.
 */
export const VISIBLE_CROP = { top: 0, left: 0, width: 1200, height: 820, scrollTop: 240, scrollAreaOffsetY: ROWS_TOP, renderingOverflow: 20 } as const;
