// A headless Chromium for the browser tests that comes with `npm ci`: @sparticuz/chromium ships the
// binary (brotli-compressed) inside the npm package, so nothing is downloaded and no root is needed.
// It is unpacked once per package version into node_modules/.cache (a temporary folder renamed into
// place, so test files starting in parallel never run a half-written binary), with the NSS/NSPR
// libraries it needs (used through LD_LIBRARY_PATH, so a bare Debian without libnss3 works too).
// CHROMIUM_PATH overrides it (e.g. /usr/bin/chromium).
import { chmodSync, createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/** The package folder (its exports do not include package.json: walk up from the entry point). */
function findPackageDir(): string {
  let dir = path.dirname(require.resolve('@sparticuz/chromium'));
  while (!existsSync(path.join(dir, 'bin', 'chromium.br'))) {
    if (dir === path.dirname(dir)) throw new Error('@sparticuz/chromium: bin/chromium.br not found (run npm ci)');
    dir = path.dirname(dir);
  }
  return dir;
}
const packageDir = findPackageDir();

async function unpackedChromium(): Promise<string> {
  const { version } = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const cacheRoot = process.env.CHROMIUM_CACHE_DIR ?? path.resolve(packageDir, '..', '..', '.cache');
  const dest = path.join(cacheRoot, `sparticuz-chromium-${version}`);
  const executable = path.join(dest, 'chromium');
  if (existsSync(executable)) return executable; // dest only ever appears complete
  mkdirSync(cacheRoot, { recursive: true });
  const staging = mkdtempSync(path.join(cacheRoot, `.sparticuz-chromium-${version}-`));
  const bin = (name: string) => createReadStream(path.join(packageDir, 'bin', name));
  try {
    await Promise.all([
      pipeline(bin('chromium.br'), createBrotliDecompress(), createWriteStream(path.join(staging, 'chromium'), { mode: 0o755 })),
      pipeline(bin('al2023.tar.br'), createBrotliDecompress(), extract(staging)), // lib/: nss, nspr, expat
    ]);
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, dest);
    } catch (err) {
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err; // another process won the race
    }
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return executable;
}

/** Launches headless Chromium; `args` e.g. `--ignore-certificate-errors-spki-list=…` to trust a test certificate. */
export async function launchChromium(args: string[] = []): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || (await unpackedChromium());
  const lib = path.join(path.dirname(executablePath), 'lib');
  const options: LaunchOptions = {
    executablePath,
    // No --disable-web-security (the package's own defaults): the CORS tests depend on it being on.
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...args],
    env: { ...process.env, ...(existsSync(lib) ? { LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') } : {}) },
  };
  return chromium.launch(options);
}
