// The test step of `npm test`: makes sure the real Temporal binaries are there (installing the pinned
// ones once), then runs every test/**/*.test.ts with node's own test runner through tsx.
// `npm test -- test/foo.test.ts` runs only the named files.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { resolveTemporalBinaries } from '../worker/temporal-cli';

const root = path.resolve(__dirname, '..');

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'helpers' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

const bins = resolveTemporalBinaries({ install: true });
const requested = process.argv.slice(2);
const files = requested.length > 0 ? requested : findTests(path.join(root, 'test')).sort();
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TEMPORAL_CLI_PATH: bins.cli, TEMPORAL_TEST_SERVER_PATH: bins.testServer },
  },
);
process.exit(result.status ?? 1);
