// Opening the embedded PGlite store (`pglite:<folder>`) lean and single-owner:
//   - one process at a time: a lock file names the holder (pid, command), so a second opener gets one
//     line naming it instead of two Postgres instances writing one folder;
//   - a new folder is initialised (initdb) in a short-lived child process: initdb runs a second
//     Postgres instance and snapshots its heap, peaking at 0.6–0.9 GB that a long-lived process
//     would keep until V8 happened to collect it;
//   - shared_buffers 16 MB instead of Postgres's 128 MB (an open store: ~130 MB RSS instead of ~300);
//   - V8 compiles Postgres's WebAssembly with its baseline compiler only (Liftoff): the optimising
//     compiler's code costs 40–75 MB more for SQL that is CPU-bound only in bulk loads (measured
//     1.4–1.7× slower there; production stores are PostgreSQL, where none of this applies).
import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import type { PGliteInterface } from '@electric-sql/pglite';

const PARAMS = ['-c', 'shared_buffers=16MB', '-c', 'max_connections=10'];
const LOCK_FILE = 'qlik-audit.lock';
/** Folders this process holds open (a second open here would start a second Postgres on them). */
const heldHere = new Set<string>();

/** Another process holds the store. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Takes the folder's lock file, or throws naming its holder. A holder that died leaves a stale lock: taken over. */
function lock(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  if (heldHere.has(path.resolve(dir))) throw new StoreLockedError(`the embedded store ${dir} is already open in this process: share that handle`);
  const mine = { pid: process.pid, host: hostname(), command: process.argv.slice(1, 4).map((a) => path.basename(a)).join(' '), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, `${JSON.stringify(mine)}\n`);
      closeSync(fd);
      heldHere.add(path.resolve(dir));
      return () => {
        heldHere.delete(path.resolve(dir));
        try {
          if ((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid === process.pid) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: typeof mine | undefined;
    try {
      holder = JSON.parse(readFileSync(file, 'utf8')) as typeof mine;
    } catch {
      holder = undefined; // half-written by a process that died: stale
    }
    if (holder && holder.host === hostname() && alive(holder.pid) && holder.pid !== process.pid) {
      throw new StoreLockedError(
        `the embedded store ${dir} is open in process ${holder.pid} (${holder.command}, since ${holder.since}); an embedded store has one user at a time: stop that process, or point auditSecurityLog.store at PostgreSQL to share a store`,
      );
    }
    if (holder && holder.host !== hostname()) {
      throw new StoreLockedError(`the embedded store ${dir} is locked by process ${holder.pid} on ${holder.host}; if that host no longer uses it, delete ${file}`);
    }
    rmSync(file, { force: true }); // stale: its process is gone
  }
  throw new StoreLockedError(`cannot lock the embedded store ${dir}`);
}

/** initdb of a new folder in a child process (its memory goes back to the OS when it exits). */
async function initialise(dir: string): Promise<void> {
  const staging = `${dir}.initdb-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const entry = require.resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(entry)}).PGlite.create(process.argv[1], { initDbStartParams: ${JSON.stringify(PARAMS)} }).then((db) => db.close())`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script, staging], { timeout: 120_000 });
    for (const entryName of ['base', 'global', 'PG_VERSION', 'postgresql.conf']) if (!existsSync(path.join(staging, entryName))) throw new Error(`initdb left no ${entryName}`);
    // Move the new cluster's files into the (locked) folder.
    for (const name of await import('node:fs').then((fs) => fs.readdirSync(staging))) renameSync(path.join(staging, name), path.join(dir, name));
  } catch (err) {
    throw new Error(`cannot create the embedded store in ${dir}: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

export interface OpenedPglite {
  db: PGliteInterface;
  /** Closes the database and releases the lock. */
  close(): Promise<void>;
}

export async function openPglite(dir: string): Promise<OpenedPglite> {
  mkdirSync(dir, { recursive: true });
  const unlock = lock(dir);
  try {
    if (!existsSync(path.join(dir, 'PG_VERSION'))) await initialise(dir);
    v8.setFlagsFromString('--liftoff-only'); // before PGlite compiles its WebAssembly (once per process)
    const { PGlite } = await import('@electric-sql/pglite'); // loaded only when used (~50 MB)
    const db = await PGlite.create(dir, { startParams: [...PGlite.defaultStartParams, ...PARAMS] });
    return {
      db,
      async close() {
        try {
          await db.close();
        } finally {
          unlock();
        }
      },
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
