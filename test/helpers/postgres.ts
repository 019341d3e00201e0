import { randomUUID } from 'node:crypto';
// The PostgreSQL server the store tests use: QLIK_AUDIT_TEST_POSTGRES, else the local one
// (postgres://postgres@127.0.0.1:5432/test, trust auth). Each test works in a schema of its own.
export const POSTGRES = process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test';

/** A store URL on that server in a new schema of its own (created on first open). */
export function scratchStoreUrl(): string {
  return `${POSTGRES}?schema=qa_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
}
