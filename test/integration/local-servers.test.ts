// The servers `npm test` and `npm run dev` start for themselves (issue 17, items 9 and 10):
// stripe-mock binds loopback ports we choose only, so two stacks run side by side also with PORT
// set (its second listener used to take PORT, or 12112 on every interface); PostgreSQL runs as the
// postgres user when we are root even with its binaries and data under a folder only root may
// enter (a clone in /root); and a run that fails, crashes or is killed leaves nothing running.
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { childEnv } from '../../scripts/child-env.ts';
import { packagedBinaries, startLocalPostgres } from '../../scripts/local-postgres.ts';
import { startStripeMock } from '../../scripts/local-stripe-mock.ts';
import { freePort } from '../../scripts/ports.ts';
import { ensureStripeMock } from '../../scripts/provision.ts';
import { eventually } from '../support/temporal.ts';

const scratch: string[] = [];
const folder = (prefix: string, mode = 0o755) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, mode);
  scratch.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** Listens on every interface (as stripe-mock's default listener would); null when someone else already does. */
const hold = (port: number) =>
  new Promise<Server | null>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve(server));
  });
const release = (server: Server | null) =>
  new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
const free = (port: number) =>
  hold(port).then(async (server) => {
    await release(server);
    return server !== null;
  });

describe('helper processes', () => {
  it('get only what they need of our environment: no PORT, no settings, no secrets', () => {
    expect(
      childEnv(
        { LC_MESSAGES: 'C' },
        {
          PATH: '/usr/bin',
          HOME: '/home/dev',
          LANG: 'C.UTF-8',
          PORT: '4000',
          API_KEYS: 'admin:secret',
          SESSION_SECRET: 'x',
          STRIPE_SECRET_KEY: 'sk_test_x',
          DATABASE_URL: 'postgres://u:p@h/d',
          TEMPORAL_ADDRESS: 'elsewhere:7233',
          PGPORT: '1',
        },
      ),
    ).toEqual({ PATH: '/usr/bin', HOME: '/home/dev', LANG: 'C.UTF-8', LC_MESSAGES: 'C' });
  });
});

describe('stripe-mock', () => {
  it('two start at once with PORT set, each listening on 127.0.0.1 ports of ours only: neither takes PORT nor 12112', async () => {
    const bin = ensureStripeMock();
    const port = await freePort();
    // Held on every interface: a stripe-mock that reached for either would fail to start.
    const held = [await hold(port), await hold(12112)];
    const before = process.env.PORT;
    process.env.PORT = String(port);
    try {
      const mocks = await Promise.all([startStripeMock({ bin }), startStripeMock({ bin })]);
      try {
        for (const mock of mocks) {
          const ours = [mock.url, mock.httpsUrl].map((u) => new URL(u).host).sort();
          expect([...mock.listening].sort()).toEqual(ours);
          expect(mock.listening.every((a) => a.startsWith('127.0.0.1:'))).toBe(true);
          expect(mock.listening.filter((a) => a.endsWith(`:${port}`) || a.endsWith(':12112'))).toEqual([]);
          const res = await fetch(`${mock.url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_123' } });
          expect(res.status).toBe(200);
        }
        expect(new Set(mocks.flatMap((m) => m.listening)).size).toBe(4);
      } finally {
        await Promise.all(mocks.map((m) => m.stop()));
      }
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
      await Promise.all(held.map(release));
    }
  });
});

const asRoot = process.getuid?.() === 0;

describe('PostgreSQL', () => {
  // Only root runs PostgreSQL as another user; for anyone else the binaries and data are their own.
  (asRoot ? it : it.skip)(
    'as root, with binaries and data under a folder only root may enter, runs as the postgres user from copies it can reach, and keeps its data across restarts',
    async () => {
      const hidden = folder('referral-graph-private-', 0o700);
      const shared = folder('referral-graph-shared-');
      const { native } = await packagedBinaries();
      const binaries = { native: join(hidden, 'native'), version: 'test' };
      cpSync(native, binaries.native, { recursive: true, verbatimSymlinks: true });
      const before = process.env.REFERRAL_GRAPH_SHARED_DIR;
      process.env.REFERRAL_GRAPH_SHARED_DIR = shared;
      const notices: string[] = [];
      const start = async () =>
        startLocalPostgres({
          dataDir: join(hidden, 'data'),
          port: await freePort(),
          persistent: true,
          onNotice: (line) => notices.push(line),
          binaries,
        });
      const running: { stop(): Promise<void> }[] = [];
      try {
        const first = await start();
        running.push(first);
        expect(first.dataDir.startsWith(`${shared}/data-`)).toBe(true);
        expect(notices).toEqual([expect.stringContaining(`keeps its data in ${first.dataDir}`)]);
        const client = new pg.Client({ connectionString: first.adminUrl });
        await client.connect();
        const { rows } = await client.query<{ dir: string }>("SELECT current_setting('data_directory') AS dir");
        await client.query('CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)');
        await client.end();
        expect(rows[0]!.dir).toBe(first.dataDir);
        // The server process (postmaster.pid's first line): the postgres user's, running the copy under the shared folder.
        const pid = readFileSync(join(first.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const postgresUid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(postgresUid));
        expect(readlinkSync(`/proc/${pid}/exe`)).toBe(join(shared, 'postgres-test', 'bin', 'postgres'));
        await first.stop();

        const second = await start();
        running.push(second);
        expect(second.dataDir).toBe(first.dataDir);
        const again = new pg.Client({ connectionString: second.adminUrl });
        await again.connect();
        expect((await again.query('SELECT n FROM kept')).rows).toEqual([{ n: 7 }]);
        await again.end();
        await second.stop();
      } finally {
        await Promise.all(running.map((server) => server.stop()));
        if (before === undefined) delete process.env.REFERRAL_GRAPH_SHARED_DIR;
        else process.env.REFERRAL_GRAPH_SHARED_DIR = before;
      }
    },
    120_000,
  );
});

describe('a run that ends badly', () => {
  const fixture = fileURLToPath(new URL('../support/servers-then-fail.ts', import.meta.url));

  it.each([
    ['crashes once its servers are up', 'crash', 1],
    ['is killed (SIGTERM) once its servers are up', 'signal', 143],
    ['gives up when a server fails while PostgreSQL is still starting', 'failed-start', 1],
  ])(
    '%s: nothing it started is left running',
    async (_what, how, expectedCode) => {
      const work = folder('referral-graph-run-');
      const ports = [await freePort(), await freePort(), await freePort()];
      const child = spawn(process.execPath, [fixture, work, ...ports.map(String), how], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        if (how === 'signal' && out.includes('up\n')) child.kill('SIGTERM');
      });
      child.stderr.on('data', (c: Buffer) => void (err += c.toString('utf8')));
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      expect({ code, err: code === expectedCode ? '' : err }).toEqual({ code: expectedCode, err: '' });
      if (how !== 'failed-start') expect(out).toBe('up\n');

      const leftovers = () =>
        spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter((line) => line.includes(work) || ports.some((p) => line.includes(`127.0.0.1:${p}`)));
      await eventually(async () => {
        const running = leftovers();
        const busy = [];
        for (const port of ports) if (!(await free(port))) busy.push(port);
        return running.length === 0 && busy.length === 0 ? true : undefined;
      });
      // An orderly stop, not only the last-resort kill: PostgreSQL's throwaway data went with it.
      if (how !== 'failed-start') expect(existsSync(join(work, 'postgres'))).toBe(false);
    },
    120_000,
  );
});
