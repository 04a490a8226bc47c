// Toxiproxy (Shopify's TCP proxy for fault injection) for the fault tests: built once from the Go
// module proxy into the cache beside the other binaries (scripts/provision.ts), started on a free
// loopback port and driven through its HTTP API with fetch. Run directly to warm the cache.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, ProvisionError } from './provision.ts';
import { freePort } from './ports.ts';

export const TOXIPROXY_VERSION = '2.5.0';

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The toxiproxy server: TOXIPROXY if set, else the cached build, else built now with
 * `go install github.com/Shopify/toxiproxy/v2/cmd/server@v<pinned>` (about 30 s once).
 */
export function ensureToxiproxy(): string {
  const explicit = process.env.TOXIPROXY;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new ProvisionError(`TOXIPROXY=${explicit} is not an executable file; point it at a toxiproxy server.`);
    return explicit;
  }
  const binDir = join(cacheDir(), `toxiproxy-${TOXIPROXY_VERSION}`, 'bin');
  const cached = join(binDir, 'toxiproxy-server');
  if (isExecutable(cached)) return cached;
  process.stderr.write(`[provision] building toxiproxy ${TOXIPROXY_VERSION} from the Go module proxy (once)...\n`);
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'toxiproxy-'));
  const result = spawnSync('go', ['install', `github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}`], {
    env: { ...process.env, GOBIN: staging, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0 || !isExecutable(join(staging, 'server'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(
      `building toxiproxy with 'go install' failed (exit ${result.status}); fix Go's access to its module proxy or set TOXIPROXY to a toxiproxy server binary.`,
    );
  }
  mkdirSync(binDir, { recursive: true });
  renameSync(join(staging, 'server'), cached); // atomic: a half-built binary is never cached
  rmSync(staging, { recursive: true, force: true });
  return cached;
}

export type ToxicType = 'latency' | 'timeout' | 'reset_peer' | 'bandwidth' | 'slow_close' | 'limit_data';
export type Toxic = {
  type: ToxicType;
  name?: string;
  stream?: 'upstream' | 'downstream';
  toxicity?: number;
  attributes?: Record<string, number>;
};

/** One proxied address: `listen` (what clients are given) in front of `upstream`. */
export type Proxy = {
  name: string;
  /** host:port clients connect to */
  listen: string;
  upstream: string;
  enable(): Promise<void>;
  /** Refuses new connections and closes the open ones, as if the upstream were gone. */
  disable(): Promise<void>;
  addToxic(toxic: Toxic): Promise<string>;
  removeToxic(name: string): Promise<void>;
  /** Removes every toxic and enables the proxy. */
  reset(): Promise<void>;
};

export type Toxiproxy = {
  apiUrl: string;
  createProxy(name: string, upstream: string): Promise<Proxy>;
  stop(): Promise<void>;
};

async function call(apiUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${apiUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${text}`);
  return res.headers.get('content-type')?.includes('json') && text ? JSON.parse(text) : text;
}

/** Starts a toxiproxy server on a free loopback port and waits until its API answers. */
export async function startToxiproxy(bin: string = ensureToxiproxy()): Promise<Toxiproxy> {
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], {
    env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const apiUrl = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`toxiproxy exited with ${child.exitCode}: ${stderr}`);
    try {
      await call(apiUrl, 'GET', '/version');
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`toxiproxy did not answer on ${apiUrl} within 20 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let toxics = 0;
  return {
    apiUrl,
    stop,
    async createProxy(name, upstream) {
      const listen = `127.0.0.1:${await freePort()}`;
      await call(apiUrl, 'POST', '/proxies', { name, listen, upstream, enabled: true });
      const proxy: Proxy = {
        name,
        listen,
        upstream,
        enable: async () => void (await call(apiUrl, 'POST', `/proxies/${name}`, { enabled: true })),
        disable: async () => void (await call(apiUrl, 'POST', `/proxies/${name}`, { enabled: false })),
        async addToxic(toxic) {
          const toxicName = toxic.name ?? `${toxic.type}_${++toxics}`;
          await call(apiUrl, 'POST', `/proxies/${name}/toxics`, {
            name: toxicName,
            type: toxic.type,
            stream: toxic.stream ?? 'downstream',
            toxicity: toxic.toxicity ?? 1,
            attributes: toxic.attributes ?? {},
          });
          return toxicName;
        },
        removeToxic: async (toxicName) => void (await call(apiUrl, 'DELETE', `/proxies/${name}/toxics/${toxicName}`)),
        async reset() {
          const listed = (await call(apiUrl, 'GET', `/proxies/${name}/toxics`)) as { name: string }[];
          for (const t of listed) await proxy.removeToxic(t.name);
          await proxy.enable();
        },
      };
      return proxy;
    },
  };
}

if (import.meta.main) {
  try {
    console.log(`toxiproxy: ${ensureToxiproxy()}`);
  } catch (err) {
    console.error(err instanceof ProvisionError ? err.message : err);
    process.exit(1);
  }
}
