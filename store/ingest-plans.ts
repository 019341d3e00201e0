// The files of each chain for one ingest run (see the ingest_plans table): written once by the run's
// planning activity, read by each chain's activity, removed when the run is recorded.
import type { Sql } from './store';

export async function savePlan(sql: Sql, runId: string, chains: { machine: string; service: string; paths: string[] }[]): Promise<void> {
  await sql.query(
    `INSERT INTO ingest_plans (run_id, machine, service, paths)
     SELECT $1, machine, service, paths FROM jsonb_to_recordset($2::jsonb) AS r(machine text, service text, paths jsonb)
     ON CONFLICT (run_id, machine, service) DO UPDATE SET paths = EXCLUDED.paths`,
    [runId, JSON.stringify(chains)],
  );
}

/** The chain's files as planned, or undefined when the run has no plan for it. */
export async function plannedPaths(sql: Sql, runId: string, machine: string, service: string): Promise<string[] | undefined> {
  const { rows } = await sql.query<{ paths: string[] }>('SELECT paths FROM ingest_plans WHERE run_id = $1 AND machine = $2 AND service = $3', [runId, machine, service]);
  return rows[0]?.paths;
}

export async function dropPlan(sql: Sql, runId: string): Promise<void> {
  await sql.query('DELETE FROM ingest_plans WHERE run_id = $1', [runId]);
}
