// The layers of the product (README "Layout"), enforced on imports. From the top:
//   bin → cli → demo → audit-ui → client, worker → activities → screenshots → qlik
//                                      audit-trail, alerts → store → audit-log
//   every layer → common;  workflows → common (values: failure types, search attributes) + types only
// No product code imports test/. Used by eslint.config.mjs and by test/layers.test.ts.
const folders = ['common', 'qlik', 'audit-log', 'screenshots', 'store', 'audit-trail', 'alerts', 'activities', 'workflows', 'client', 'worker', 'audit-ui', 'demo', 'cli', 'test'];

/** `../name` and `../name/*` (and deeper relative spellings) for each folder. */
const spellings = (names) => names.flatMap((name) => [`../${name}`, `../${name}/*`, `../../${name}`, `../../${name}/*`]);

/** A block forbidding imports of `forbidden` folders from `from` folders. */
function layer(from, forbidden, message, allowTypeImports = false) {
  return {
    files: from.map((f) => `${f}/**/*.ts`),
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ group: spellings(forbidden), allowTypeImports, message }] }],
    },
  };
}

const above = (name) => folders.slice(folders.indexOf(name) + 1);

export const layerRules = [
  layer(['common'], above('common'), 'common/ is imported by every layer and imports none of them.'),
  layer(['qlik'], above('qlik'), 'qlik/ (QPS, sessions, mutual TLS) imports only common/.'),
  layer(['audit-log'], ['qlik', ...above('audit-log')], 'audit-log/ (reading and verifying logs) imports only common/.'),
  layer(['screenshots'], ['audit-log', ...above('screenshots')], 'screenshots/ imports qlik/ and common/ only, never activities, clients or the CLI.'),
  layer(['store'], ['qlik', 'screenshots', ...above('store')], 'store/ imports audit-log/ and common/ only, never activities, clients or the CLI.'),
  layer(['audit-trail'], ['qlik', 'screenshots', ...above('audit-trail')], 'audit-trail/ (timeline exports, evidence) imports store/, audit-log/ and common/ only.'),
  layer(['alerts'], ['qlik', 'screenshots', 'audit-trail', ...above('alerts')], 'alerts/ (the sinks) imports store/ types and common/ only.'),
  layer(['activities'], ['workflows', 'client', 'worker', 'demo', 'cli', 'test'], 'activities/ wires the domain folders; it never imports clients, the worker, the demo or the CLI.'),
  layer(['client'], ['activities', 'worker', 'audit-ui', 'demo', 'cli', 'test'], 'client/ starts and talks to workflows; it does not import activities, the worker, the web app, the demo or the CLI.'),
  layer(['worker'], ['audit-ui', 'demo', 'cli', 'test'], 'worker/ does not import the web app, the demo, the CLI or tests.'),
  layer(['audit-ui'], ['activities', 'workflows', 'worker', 'demo', 'cli', 'test'], "audit-ui/ (the auditor's view) reads the store through store/, audit-trail/ and client/; never activities, the worker, the demo or the CLI."),
  layer(['demo'], ['cli', 'test'], 'demo/ does not import the CLI or tests.'),
  layer(['cli'], ['test'], 'Product code never imports from test/.'),
  {
    // Workflow code runs in Temporal's deterministic sandbox: values from common/'s workflow-safe files
    // only (failure types, search attributes); everything else as types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../common', '../common/*', '!../common/failure-types', '!../common/search-attributes'],
              allowTypeImports: true,
              message: 'Workflows import values only from @temporalio/workflow and common/failure-types, common/search-attributes; anything else as types (import type …).',
            },
            { group: ['undici', 'undici/*', 'pg', 'pg/*', '@electric-sql/*', '@temporalio/worker', '@temporalio/activity', '@temporalio/client'], message: 'Not allowed in workflow code: do it in an activity.' },
          ],
        },
      ],
    },
  },
];
