// The workflow bundle, built in a short-lived child process: webpack needs ~110 MB that a long-lived
// worker would otherwise keep for good; the child gives it back to the OS when it exits.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/** `interceptorModules`: workflow interceptors built in (the traces', when telemetry is on). */
export async function bundleWorkflowsInChild(interceptorModules: string[] = []): Promise<{ code: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'qlik-audit-bundle-'));
  const out = path.join(dir, 'workflows.js');
  const script = `
    const { bundleWorkflowCode } = require(${JSON.stringify(require.resolve('@temporalio/worker'))});
    const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
    bundleWorkflowCode({ workflowsPath: ${JSON.stringify(require.resolve('../workflows'))}, workflowInterceptorModules: ${JSON.stringify(interceptorModules)}, logger: quiet })
      .then((bundle) => require('node:fs').writeFileSync(process.argv[1], bundle.code))
      .catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });`;
  try {
    await promisify(execFile)(process.execPath, ['--require', require.resolve('tsx/cjs'), '-e', script, out], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    return { code: readFileSync(out, 'utf8') };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim().split('\n')[0];
    throw new Error(`cannot bundle the workflow code: ${stderr || (err as Error).message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
