import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { ConfigError } from '../../platform/env.ts';
import { WORKFLOWS_PATH, workerOptions } from '../../workers/worker-options.ts';

const root = join(import.meta.dirname, '..', '..');
const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('worker options', () => {
  it('keeps 200 workflows cached by default, bundles from source unless WORKFLOW_BUNDLE names a bundle', () => {
    delete process.env.WORKER_MAX_CACHED_WORKFLOWS;
    delete process.env.WORKFLOW_BUNDLE;
    expect(workerOptions()).toEqual({ workflowsPath: WORKFLOWS_PATH, maxCachedWorkflows: 200 });
    process.env.WORKFLOW_BUNDLE = '/tmp/bundle.js';
    process.env.WORKER_MAX_CACHED_WORKFLOWS = '50';
    expect(workerOptions()).toEqual({ workflowBundle: { codePath: '/tmp/bundle.js' }, maxCachedWorkflows: 50 });
  });

  it.each(['0', '-1', '1.5', 'many', ''])('refuses WORKER_MAX_CACHED_WORKFLOWS=%j', (raw) => {
    process.env.WORKER_MAX_CACHED_WORKFLOWS = raw;
    expect(() => workerOptions()).toThrow(ConfigError);
  });
});

// The worker process replaces itself once with its memory settings; a real child process shows it.
describe('the worker relaunching with its memory settings', () => {
  const script = [
    "import { relaunchWithWorkerMemorySettings } from './workers/worker-options.ts';",
    'relaunchWithWorkerMemorySettings();',
    'console.log(JSON.stringify({ execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX ?? null }));',
  ].join('\n');
  const run = (env: Record<string, string | undefined>) => {
    const { NODE_OPTIONS: _n, MALLOC_ARENA_MAX: _m, ...rest } = process.env;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      env: { ...rest, ...env } as NodeJS.ProcessEnv,
      encoding: 'utf8',
    });
    return JSON.parse(out.trim().split('\n').pop()!) as { execArgv: string[]; arenas: string | null };
  };

  it('adds --max-semi-space-size=4 and MALLOC_ARENA_MAX=2 by replacing the process', () => {
    const after = run({});
    expect(after.execArgv).toContain('--max-semi-space-size=4');
    expect(after.arenas).toBe('2');
  });

  it('leaves settings given by the operator alone', () => {
    const after = run({ NODE_OPTIONS: '--max-semi-space-size=16', MALLOC_ARENA_MAX: '4' });
    expect(after.execArgv).not.toContain('--max-semi-space-size=4');
    expect(after.arenas).toBe('4');
  });
});
