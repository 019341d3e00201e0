// `logs verify-store --files` (SPEC 2): every stored screenshot file hashed again and compared with
// the sha256 its outcome recorded when it was stored — a screenshot replaced, edited or deleted on
// disk is named. Paths outside the storage targets are not read (they are data a database user
// could have rewritten). Until outcomes are under the digest chain (issue 24), someone who can write
// both the database and the files can change both consistently: this check is against the files.
import { fileSha256, insideStorageTargets } from '../common/stored-files';
import type { Sql } from './store';

export type FileProblemKind = 'file-changed' | 'file-missing' | 'file-outside-targets';

export interface FileProblem {
  kind: FileProblemKind;
  detail: string;
}

export interface FilesVerification {
  /** Stored screenshot files hashed. */
  filesChecked: number;
  problems: FileProblem[];
}

const MAX_PROBLEMS = 200;

export async function verifyScreenshotFiles(sql: Sql, storageDirectories: readonly string[]): Promise<FilesVerification> {
  const result: FilesVerification = { filesChecked: 0, problems: [] };
  const problem = (p: FileProblem) => void (result.problems.length < MAX_PROBLEMS && result.problems.push(p));
  let after = '';
  for (;;) {
    // Keyset pages: a year of screenshots is not held in memory at once.
    const { rows } = await sql.query<{ run_id: string; event_id: string; saved_paths: string[]; sha256: string | null }>(
      `SELECT run_id, event_id, saved_paths, sha256 FROM screenshot_outcomes
       WHERE status = 'stored' AND run_id > $1 ORDER BY run_id LIMIT 500`,
      [after],
    );
    if (rows.length === 0) break;
    for (const outcome of rows) {
      for (const file of outcome.saved_paths) {
        if (!insideStorageTargets(file, storageDirectories)) {
          problem({ kind: 'file-outside-targets', detail: `event ${outcome.event_id}: ${file} is outside the storage targets (screenshots.storageTargets): not read; was the row edited?` });
          continue;
        }
        if (!outcome.sha256) continue; // recorded without a hash: only its place can be checked
        let actual: string;
        try {
          actual = await fileSha256(file);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          problem({ kind: 'file-missing', detail: `event ${outcome.event_id}: ${file} cannot be read (${code ?? (err as Error).message}): deleted or moved after it was stored` });
          continue;
        }
        result.filesChecked++;
        if (actual !== outcome.sha256) {
          problem({ kind: 'file-changed', detail: `event ${outcome.event_id}: ${file} has sha256 ${actual.slice(0, 16)}…, stored as ${outcome.sha256.slice(0, 16)}…: the image was replaced or edited` });
        }
      }
    }
    after = rows.at(-1)?.run_id ?? after;
  }
  return result;
}
