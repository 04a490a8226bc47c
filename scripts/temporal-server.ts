// The Temporal server itself (not the dev server): `go.temporal.io/server/cmd/server` and its SQL
// tool `temporal-sql-tool`, built once at a pinned version from the Go module proxy into the cache
// (as scripts/provision.ts does for the CLI), run on PostgreSQL (the postgres12 plugin, SQL
// visibility) with one cluster and the namespace `default`. The soak (bench/soak.ts) runs on it;
// `node scripts/temporal-server.ts` builds it ahead of time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../contracts/search-attributes.ts';
import { childEnv } from './child-env.ts';
import { freePort, waitFor } from './ports.ts';
import { cacheDir, ProvisionError } from './provision.ts';
import { onShutdown, trackChild } from './shutdown.ts';

/** The server the Temporal CLI we provision (1.5.1) embeds: one version for both engines, and its modules are cached. */
export const TEMPORAL_SERVER_VERSION = '1.29.1';
const MODULE = 'go.temporal.io/server';

export type TemporalServerBuild = { server: string; sqlTool: string; schemaDir: string };

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function log(message: string): void {
  process.stderr.write(`[temporal-server] ${message}\n`);
}

/**
 * The server, the SQL tool and the PostgreSQL schema files (`schema/postgresql/v12`, copied from the
 * module) in `<cache>/temporal-server-<version>`: built on first use, then only checked.
 */
export function ensureTemporalServer(): TemporalServerBuild {
  const home = join(cacheDir(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const build = {
    server: join(home, 'bin', 'temporal-server'),
    sqlTool: join(home, 'bin', 'temporal-sql-tool'),
    schemaDir: join(home, 'schema', 'postgresql', 'v12'),
  };
  if (isExecutable(build.server) && isExecutable(build.sqlTool) && existsSync(join(build.schemaDir, 'temporal')))
    return build;
  const go = process.env.GO ?? 'go';
  log(
    `building the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool from the Go module proxy into ${home} (once)...`,
  );
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'temporal-server-'));
  const fail = (what: string, status: number | null) => {
    rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(
      `${what} failed (exit ${status}); fix Go's access to its module proxy (Go 1.25 or newer is needed).`,
    );
  };
  const installed = spawnSync(
    go,
    [
      'install',
      `${MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
      `${MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
    ],
    {
      env: {
        ...process.env,
        GOBIN: join(staging, 'bin'),
        GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (installed.status !== 0) fail(`'go install ${MODULE}/cmd/server ${MODULE}/cmd/tools/sql'`, installed.status);
  // The schema ships in the module, which `go install` just put in the module cache.
  const downloaded = spawnSync(go, ['mod', 'download', '-json', `${MODULE}@v${TEMPORAL_SERVER_VERSION}`], {
    encoding: 'utf8',
    env: process.env,
  });
  if (downloaded.status !== 0) fail(`'go mod download ${MODULE}'`, downloaded.status);
  const moduleDir = (JSON.parse(downloaded.stdout) as { Dir: string }).Dir;
  renameSync(join(staging, 'bin', 'server'), join(staging, 'bin', 'temporal-server'));
  renameSync(join(staging, 'bin', 'sql'), join(staging, 'bin', 'temporal-sql-tool'));
  mkdirSync(join(staging, 'schema', 'postgresql'), { recursive: true });
  cpSync(join(moduleDir, 'schema', 'postgresql', 'v12'), join(staging, 'schema', 'postgresql', 'v12'), {
    recursive: true,
  });
  spawnSync('chmod', ['-R', 'u+w', staging]); // module cache files are read-only
  rmSync(home, { recursive: true, force: true });
  renameSync(staging, home); // atomic: a half-built server is never cached
  log(`Temporal server ready: ${build.server}`);
  return build;
}

export type TemporalServer = { address: string; pid: number; stop(): Promise<void>; stopped: Promise<number | null> };

export type TemporalServerOptions = {
  /** The PostgreSQL the server keeps its state in: the databases are created there. */
  postgres: { host: string; port: number; user: string; password: string };
  createDatabase(name: string): Promise<void>;
  /** Where the config and the server's log go. */
  workDir: string;
  /** The frontend's port (a free one when left out). */
  port?: number;
  /** Databases `<prefix>` and `<prefix>_visibility`. */
  databasePrefix?: string;
  /** History shards (a fixed property of a cluster). */
  historyShards?: number;
};

/**
 * Creates the Temporal databases on `postgres` and their schema (the SQL tool's setup-schema and
 * update-schema over the module's versioned files), writes a config (one cluster, every service in
 * one process, all on loopback), starts the server, registers the namespace `default` and the
 * project's search attributes, and answers once a client can use them.
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const build = ensureTemporalServer();
  const prefix = options.databasePrefix ?? 'temporal';
  const databases = { main: prefix, visibility: `${prefix}_visibility` };
  const { host, port: pgPort, user, password } = options.postgres;
  for (const [kind, name] of [
    ['temporal', databases.main],
    ['visibility', databases.visibility],
  ] as const) {
    await options.createDatabase(name);
    const base = [
      '--plugin',
      'postgres12',
      '--ep',
      host,
      '-p',
      String(pgPort),
      '-u',
      user,
      '--pw',
      password,
      '--db',
      name,
    ];
    for (const command of [
      ['setup-schema', '-v', '0.0'],
      ['update-schema', '-d', join(build.schemaDir, kind, 'versioned')],
    ]) {
      const result = spawnSync(build.sqlTool, [...base, ...command], { encoding: 'utf8', env: childEnv() });
      if (result.status !== 0)
        throw new Error(
          `temporal-sql-tool ${command[0]} on ${name} failed (exit ${result.status}): ${(result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')}`,
        );
    }
  }

  const ports = {
    frontend: options.port ?? (await freePort()),
    frontendHttp: await freePort(),
    history: await freePort(),
    matching: await freePort(),
    worker: await freePort(),
    // Temporal stores membership ports as a PostgreSQL smallint: below 32768, unlike the kernel's
    // ephemeral ports (`value "36079" is out of range for type smallint`, and the server exits).
    frontendMembership: await freeSmallintPort(),
    historyMembership: await freeSmallintPort(),
    matchingMembership: await freeSmallintPort(),
    workerMembership: await freeSmallintPort(),
  };
  const address = `127.0.0.1:${ports.frontend}`;
  const configDir = join(options.workDir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'dynamicconfig.yaml'), DYNAMIC_CONFIG);
  writeFileSync(
    join(configDir, 'development.yaml'),
    serverConfig({ ...options.postgres, databases, ports, shards: options.historyShards ?? 4, configDir }),
  );

  const child: ChildProcess = trackChild(
    spawn(
      build.server,
      ['--root', options.workDir, '--config', 'config', '--env', 'development', '--allow-no-auth', 'start'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: childEnv(),
      },
    ),
  );
  // Its log (errors only) goes to stdout: the last lines are kept for the message if it dies.
  let stderr = '';
  const keep = (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stopped = new Promise<number | null>((resolve) => {
    child.once('exit', resolve);
    child.once('error', (err) => {
      stderr += `${build.server}: ${err.message}`;
      resolve(null);
    });
  });
  let ended = false;
  void stopped.then(() => (ended = true));
  const stop = async () => {
    unregister();
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await stopped;
    clearTimeout(timer);
  };
  const unregister = onShutdown('the Temporal server', stop);

  try {
    await Promise.race([
      register(address, () => ended),
      stopped.then((code) => {
        throw new Error(
          `the Temporal server exited (code ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
      }),
    ]);
  } catch (err) {
    unregister();
    child.kill('SIGKILL');
    await stopped;
    throw err;
  }
  return { address, pid: child.pid!, stop, stopped };
}

/** A port free on 127.0.0.1 in 20000-32767 (picked at random, tried until one binds). */
async function freeSmallintPort(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_768);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen({ port, host: '127.0.0.1' }, () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port below 32768 on 127.0.0.1 for the Temporal server');
}

/** The namespace `default` (registered once) and the project's search attributes (Keyword), then waits until both are in use. */
async function register(address: string, hopeless: () => boolean): Promise<void> {
  const { default: proto } = await import('@temporalio/proto');
  let connection: Connection | undefined;
  await waitFor(
    `the Temporal server's frontend on ${address}`,
    async () => {
      const c = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await c.workflowService.getSystemInfo({});
        connection = c;
      } catch (err) {
        await c.close();
        throw err;
      }
    },
    120_000,
    hopeless,
  );
  const service = connection!;
  try {
    await waitFor(
      'the namespace default',
      async () => {
        try {
          await service.workflowService.describeNamespace({ namespace: 'default' });
        } catch {
          await service.workflowService
            .registerNamespace({ namespace: 'default', workflowExecutionRetentionPeriod: msToTs('1 day') })
            .catch((err: { code?: number }) => {
              if (err.code !== 6) throw err; // ALREADY_EXISTS: another attempt registered it
            });
          throw new Error('registered; waiting for it to be served');
        }
      },
      60_000,
      hopeless,
    );
    await waitFor(
      'the search attributes',
      async () => {
        const { customAttributes } = await service.operatorService.listSearchAttributes({ namespace: 'default' });
        const missing = CUSTOM_SEARCH_ATTRIBUTES.filter((k) => !customAttributes || !(k.name in customAttributes));
        if (missing.length === 0) return;
        await service.operatorService.addSearchAttributes({
          namespace: 'default',
          searchAttributes: Object.fromEntries(
            missing.map((key) => [key.name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
          ),
        });
        throw new Error(`added ${missing.map((k) => k.name).join(', ')}; waiting for them to be served`);
      },
      60_000,
      hopeless,
    );
  } finally {
    await service.close();
  }
}

// What the dev server turns on that our code relies on or that keeps a single host quick.
const DYNAMIC_CONFIG = `limit.maxIDLength:
  - value: 255
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.enableExecuteMultiOperation:
  - value: true
frontend.enableUpdateWorkflowExecution:
  - value: true
frontend.enableUpdateWorkflowExecutionAsyncAccepted:
  - value: true
history.hostLevelCacheMaxSize:
  - value: 8192
`;

function serverConfig(c: {
  host: string;
  port: number;
  user: string;
  password: string;
  databases: { main: string; visibility: string };
  ports: Record<
    | 'frontend'
    | 'frontendHttp'
    | 'history'
    | 'matching'
    | 'worker'
    | 'frontendMembership'
    | 'historyMembership'
    | 'matchingMembership'
    | 'workerMembership',
    number
  >;
  shards: number;
  configDir: string;
}): string {
  const store = (database: string, conns: number) => `      sql:
        pluginName: "postgres12"
        databaseName: "${database}"
        connectAddr: "${c.host}:${c.port}"
        connectProtocol: "tcp"
        user: "${c.user}"
        password: "${c.password}"
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, http?: number) => `    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `log:
  stdout: true
  level: error

persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${c.shards}
  datastores:
    default:
${store(c.databases.main, 20)}
    visibility:
${store(c.databases.visibility, 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
  frontend:
${service(c.ports.frontend, c.ports.frontendMembership, c.ports.frontendHttp)}
  history:
${service(c.ports.history, c.ports.historyMembership)}
  matching:
${service(c.ports.matching, c.ports.matchingMembership)}
  worker:
${service(c.ports.worker, c.ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${c.ports.frontend}"
      httpAddress: "127.0.0.1:${c.ports.frontendHttp}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: "${join(c.configDir, 'dynamicconfig.yaml')}"
  pollInterval: "10s"
`;
}

if (import.meta.main) {
  try {
    const build = ensureTemporalServer();
    console.log(
      `Temporal server ${TEMPORAL_SERVER_VERSION}: ${build.server}\nSQL tool: ${build.sqlTool}\nschema: ${build.schemaDir}`,
    );
  } catch (err) {
    console.error(err instanceof ProvisionError ? err.message : err);
    process.exit(1);
  }
}
