// Schemathesis (property-based fuzzing from the OpenAPI document, a Python tool from PyPI) in a
// virtualenv of its own, cached outside the repository beside the other provisioned binaries
// (scripts/provision.ts): made once per pinned version and Python version, with `pip install` from
// the configured package index, then reused; a half-made virtualenv is never cached.
// Run directly to warm the cache (`node scripts/schemathesis.ts`) or to run it by hand
// (`node scripts/schemathesis.ts run http://127.0.0.1:3000/openapi.json ...`).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ProvisionError } from './provision.ts';

export const SCHEMATHESIS_VERSION = '4.32.5';

/** The oldest Python this Schemathesis runs on. */
const MIN_PYTHON: [number, number] = [3, 10];
const PYTHON_CANDIDATES = ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3'];

function log(message: string): void {
  process.stderr.write(`[schemathesis] ${message}\n`);
}

/** `3.11` for a Python interpreter that runs and is recent enough, else undefined. */
function pythonVersion(python: string): string | undefined {
  const result = spawnSync(python, ['-c', 'import sys; print("%d.%d" % sys.version_info[:2])'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  if (result.status !== 0) return undefined;
  const version = result.stdout.trim();
  const [major, minor] = version.split('.').map(Number);
  if (major! > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor! >= MIN_PYTHON[1])) return version;
  return undefined;
}

function findPython(): { python: string; version: string } {
  const explicit = process.env.SCHEMATHESIS_PYTHON;
  if (explicit) {
    const version = pythonVersion(explicit);
    if (!version)
      throw new ProvisionError(
        `SCHEMATHESIS_PYTHON=${explicit} is not a Python ${MIN_PYTHON.join('.')} or newer; point it at one or unset it.`,
      );
    return { python: explicit, version };
  }
  for (const python of PYTHON_CANDIDATES) {
    const version = pythonVersion(python);
    if (version) return { python, version };
  }
  throw new ProvisionError(
    `Schemathesis needs Python ${MIN_PYTHON.join('.')} or newer with its venv module: install one, or set SCHEMATHESIS_PYTHON to it.`,
  );
}

/**
 * The Python of a virtualenv with Schemathesis installed: the cached one, else made now (about 20 s
 * once). The virtualenv is built in a staging folder and renamed into place when complete; it is run
 * through its `python` (not the `schemathesis` script, whose first line names the staging folder).
 */
export function ensureSchemathesis(): string {
  const { python, version } = findPython();
  const home = join(cacheDir(), `schemathesis-${SCHEMATHESIS_VERSION}-py${version}`);
  const venvPython = join(home, 'bin', 'python');
  if (existsSync(join(home, 'complete')) && existsSync(venvPython)) return venvPython;
  log(`installing schemathesis==${SCHEMATHESIS_VERSION} from PyPI into a virtualenv in ${home} (once; about 20 s)...`);
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'schemathesis-'));
  const fail = (what: string, status: number | null) => {
    rmSync(staging, { recursive: true, force: true });
    return new ProvisionError(
      `${what} failed (exit ${status}); fix pip's access to its package index or set SCHEMATHESIS_PYTHON to another Python.`,
    );
  };
  const venv = spawnSync(python, ['-m', 'venv', staging], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (venv.status !== 0) throw fail(`'${python} -m venv'`, venv.status);
  const pip = spawnSync(
    join(staging, 'bin', 'python'),
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS_VERSION}`],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (pip.status !== 0) throw fail(`'pip install schemathesis==${SCHEMATHESIS_VERSION}'`, pip.status);
  writeFileSync(join(staging, 'complete'), `schemathesis==${SCHEMATHESIS_VERSION}\n`);
  rmSync(home, { recursive: true, force: true });
  try {
    renameSync(staging, home);
  } catch (err) {
    // Another run finished first: use its virtualenv.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(home, 'complete'))) throw err;
  }
  log(`schemathesis ready: ${home}`);
  return venvPython;
}

const ENTRY =
  'import sys; sys.argv[0] = "schemathesis"; from schemathesis.cli import schemathesis; sys.exit(schemathesis())';

/** Runs `schemathesis <args>` and resolves with its exit code and output (also echoed if asked). */
export function runSchemathesis(
  args: readonly string[],
  { cwd, echo = false }: { cwd?: string; echo?: boolean } = {},
): Promise<{ code: number; output: string }> {
  const python = ensureSchemathesis();
  return new Promise((resolve, reject) => {
    const child = spawn(python, ['-c', ENTRY, ...args], {
      cwd,
      // Only what it needs: no secrets of ours, no colours, UTF-8 output.
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LANG: 'C.UTF-8',
        NO_COLOR: '1',
        PYTHONIOENCODING: 'utf-8',
        PYTHONDONTWRITEBYTECODE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (echo) process.stderr.write(chunk);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

if (import.meta.main) {
  try {
    const args = process.argv.slice(2);
    if (args.length === 0) console.log(`schemathesis ${SCHEMATHESIS_VERSION}: ${ensureSchemathesis()}`);
    else process.exit((await runSchemathesis(args, { echo: true })).code);
  } catch (err) {
    console.error(err instanceof ProvisionError ? err.message : err);
    process.exit(1);
  }
}
