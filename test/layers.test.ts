// The layer rule (README "Layout", eslint.layers.mjs) fails on an import that goes the wrong way, and
// passes the ones the layout allows: checked on code written for the purpose, as if it were in the tree.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

const root = path.resolve(__dirname, '..');

async function lint(file: string, code: string): Promise<string[]> {
  const { layerRules } = (await import(path.join(root, 'eslint.layers.mjs'))) as { layerRules: object[] };
  const eslint = new ESLint({ cwd: root, overrideConfigFile: true, overrideConfig: [tseslint.configs.base, ...layerRules] as never });
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).map((m) => m.message);
}

test('upward imports fail the lint, naming the rule; the layout’s own directions pass', async () => {
  const refused: [string, string][] = [
    ['store/upward.ts', "import { withHeartbeat } from '../activities/heartbeat';"],
    ['screenshots/upward.ts', "import { startReceiver } from '../client/receiver/start-receiver';"],
    ['qlik/sideways.ts', "import { AllowList } from '../screenshots/allow-list';"],
    ['audit-log/sideways.ts', "import { openStore } from '../store/store';"],
    ['common/upward.ts', "import { verifyChains } from '../audit-log/scanner';"],
    ['activities/upward.ts', "import { devCommand } from '../cli/dev';"],
    ['client/down-to-activities.ts', "import { createActivities } from '../activities';"],
    ['cli/into-tests.ts', "import { startTestbed } from '../test/helpers/screenshot-testbed';"],
    ['workflows/value.ts', "import { eventContext } from '../common/audit-event';"],
    ['workflows/activity.ts', "import { createActivities } from '../activities';"],
    ['audit-ui/upward.ts', "import { startWorker } from '../worker/start-worker';"],
    ['client/up-to-the-web-app.ts', "import { startAuditUi } from '../audit-ui/start-audit-ui';"],
  ];
  for (const [file, code] of refused) {
    const messages = await lint(file, `${code}\nexport const used = 1;\n`);
    assert.ok(messages.some((m) => /import is restricted/.test(m)), `${file}: ${code} should fail the lint (got: ${messages.join('; ') || 'nothing'})`);
  }
  const allowed: [string, string][] = [
    ['store/down.ts', "import { verifyChains } from '../audit-log/scanner';"],
    ['screenshots/down.ts', "import { redeemQpsTicket } from '../qlik/qps-ticket';"],
    ['activities/down.ts', "import { openStore } from '../store/store';"],
    ['audit-ui/down.ts', "import { checkStore } from '../client/store-check';\nimport { writeEvidence } from '../audit-trail/evidence';"],
    ['cli/down-to-the-web-app.ts', "import { startAuditUi } from '../audit-ui/start-audit-ui';"],
    ['workflows/types.ts', "import type { Activities } from '../activities';\nimport { QlikUserId } from '../common/search-attributes';"],
  ];
  for (const [file, code] of allowed) assert.deepEqual(await lint(file, `${code}\nexport const used = 1;\n`), [], `${file}: ${code}`);
});
