// The worker's workflow bundle, built from source at every start like the SDK would (same
// bundleWorkflowCode, same workflows/index.ts), but in a child process: webpack, swc and their heap
// never load into the long-running worker (about 140 MB of its idle RSS when bundled in process).
//   node workers/workflow-bundle.ts <file>   writes the bundle to <file> (what the child runs)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WORKFLOWS_PATH } from './worker-options.ts';

const SELF = fileURLToPath(import.meta.url);

export type BuiltWorkflowBundle = {
  /** The bundle file, for `workflowBundle: { codePath }`. */
  codePath: string;
  /** Deletes the file; Worker.create has read it by the time it resolves. */
  remove(): void;
};

/** Bundles workflows/ in a child Node process into a temporary file. */
export async function buildWorkflowBundle(): Promise<BuiltWorkflowBundle> {
  const dir = mkdtempSync(join(tmpdir(), 'referral-graph-workflows-'));
  const codePath = join(dir, 'workflow-bundle.js');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [SELF, codePath], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`bundling the workflows failed (exit code ${code}, signal ${signal})`)),
      );
    });
  } catch (err) {
    remove();
    throw err;
  }
  return { codePath, remove };
}

if (process.argv[1] === SELF) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: node workers/workflow-bundle.ts <file>');
    process.exit(2);
  }
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  writeFileSync(out, (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet })).code);
}
