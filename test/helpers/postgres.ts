// The PostgreSQL server the store tests use: QLIK_AUDIT_TEST_POSTGRES, else the local one
// (postgres://postgres@127.0.0.1:5432/test, trust auth). Each test works in a schema of its own.
export const POSTGRES = process.env.QLIK_AUDIT_TEST_POSTGRES || 'postgres://postgres@127.0.0.1:5432/test';
