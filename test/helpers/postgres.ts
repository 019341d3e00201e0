import { randomUUID } from 'node:crypto';
// The PostgreSQL server the store tests use: the embedded one `npm test` starts for the suite
// (scripts/run-tests.ts), or an external one named by QLIK_AUDIT_TEST_POSTGRES. Each test works in a
// schema of its own. Never the machine's own server by default: a user's machine has none.
const configured = process.env.QLIK_AUDIT_TEST_POSTGRES;
if (!configured) {
  throw new Error('QLIK_AUDIT_TEST_POSTGRES is not set: run the tests with `npm test` (it starts the embedded PostgreSQL for them), or set it to a postgres:// URL');
}
export const POSTGRES: string = configured;

/** A store URL on that server in a new schema of its own (created on first open). */
export function scratchStoreUrl(): string {
  return `${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}
