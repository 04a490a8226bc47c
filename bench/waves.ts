// Admitting a wave: a waitlist of `--waiting` users (scores spread, some with the wave skip), a wave
// of `--seats` seats admitted through the API (the API as its own process), checked: exactly the top
// of the order admitted, every one active, one admission row and one mail each. Beside it, in the
// same run, the bare limit: one plain UPDATE setting that many rows active (rolled back).
// Then the waiting user's view: GET /v1/waitlist/me latency for users spread through the list.
//   npm run bench -- waves [--waiting 50000] [--seats 10000] [--views 500]
import pg from 'pg';
import { createAuthenticator } from '../api/auth.ts';
import { freePort, waitFor } from '../scripts/ports.ts';
import type { BenchStack } from './run.ts';
import { flag, fmt, measure } from './_measure.ts';
import { start, stop } from './_process.ts';

const ADMIN_KEY = 'admin_bench_key_0123456789';
const SESSION_SECRET = 'bench-session-secret-0123456789-abcdefghij';

export async function run({ databaseUrl, temporalAddress, args }: BenchStack): Promise<void> {
  const waiting = flag(args, 'waiting', 50_000);
  const seats = flag(args, 'seats', 10_000);
  const views = flag(args, 'views', 500);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });

  // The waitlist: one tenant per user, signup times spread over 20 days, 2% with the wave skip.
  let t = performance.now();
  await pool.query(
    `
    WITH ids AS (SELECT gen_random_uuid() AS id, i FROM generate_series(1, $1) i),
    t AS (INSERT INTO tenants (id, name) SELECT id, 'bench' FROM ids)
    INSERT INTO users (id, tenant_id, email, inbox, referral_code, created_at, waitlist_score, vested_referrals, wave_skip)
    SELECT id, id, 'w' || i || '@example.com', 'w' || i || '@example.com', 'w' || i,
           now() - make_interval(secs => (i * 1728000.0 / $1)), (i * 7919 % 13) * 10, i * 7919 % 13, i % 50 = 0
    FROM ids`,
    [waiting],
  );
  await pool.query('ANALYZE users');
  const seedSeconds = (performance.now() - t) / 1000;

  // Who should be admitted: the top of the order, computed independently in one sorted query.
  const expected = (
    await pool.query<{ id: string }>(
      `SELECT id FROM users WHERE status = 'waitlisted' ORDER BY wave_skip DESC, waitlist_score DESC, created_at, id LIMIT $1`,
      [seats],
    )
  ).rows.map((r) => r.id);

  // Bare: a plain UPDATE of the same number of rows, in a transaction rolled back.
  const bareClient = await pool.connect();
  t = performance.now();
  await bareClient.query('BEGIN');
  await bareClient.query(`UPDATE users SET status = 'active', admitted_at = now() WHERE id = ANY($1::uuid[])`, [
    expected,
  ]);
  await bareClient.query('ROLLBACK');
  const bareSeconds = (performance.now() - t) / 1000;
  bareClient.release();

  const port = await freePort();
  const api = start('api/server.ts', {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    PORT: String(port),
    API_KEYS: `admin:${ADMIN_KEY}`,
    SESSION_SECRET,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '100000000',
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor('the API', async () => {
      if ((await fetch(`${base}/readyz`)).status !== 200) throw new Error('not up');
    });
    const call = async (path: string, init: { method?: string; json?: unknown; key?: string } = {}) => {
      const res = await fetch(`${base}${path}`, {
        method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${init.key ?? ADMIN_KEY}`,
          ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
      });
      const body = (await res.json()) as any;
      if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(body)}`);
      return body;
    };
    const wave = await call('/v1/admin/waves', {
      json: { name: 'Bench wave', seatCap: seats, opensAt: new Date().toISOString() },
    });

    t = performance.now();
    const admitted = await call(`/v1/admin/waves/${wave.id}/admit`, { method: 'POST' });
    const admitSeconds = (performance.now() - t) / 1000;
    const again = await call(`/v1/admin/waves/${wave.id}/admit`, { method: 'POST' });

    const check = (
      await pool.query<{ admitted: number; active: number; mails: number; matches: number }>(
        `
      SELECT (SELECT count(*)::int FROM wave_admissions WHERE wave_id = $1) AS admitted,
             (SELECT count(*)::int FROM users u JOIN wave_admissions a ON a.user_id = u.id WHERE a.wave_id = $1 AND u.status = 'active') AS active,
             (SELECT count(*)::int FROM mail_outbox WHERE dedupe_key LIKE 'wave-admitted:%') AS mails,
             (SELECT count(*)::int FROM wave_admissions WHERE wave_id = $1 AND user_id = ANY($2::uuid[])) AS matches`,
        [wave.id, expected],
      )
    ).rows[0]!;

    // The waiting user's view, for users spread through the rest of the list (sessions are signed tokens).
    const rest = (
      await pool.query<{ id: string; tenant_id: string }>(
        `SELECT id, tenant_id FROM users WHERE status = 'waitlisted' ORDER BY random() LIMIT $1`,
        [views],
      )
    ).rows;
    const auth = createAuthenticator([], SESSION_SECRET);
    const tokens = await Promise.all(
      rest.map(async (u) => (await auth.issueSession({ userId: u.id, tenantId: u.tenant_id })).token),
    );
    const view = await measure(rest.length, 8, async (i) => void (await call('/v1/waitlist/me', { key: tokens[i]! })));

    console.log(
      `\nwaves: a wave of ${fmt(seats)} seats admitted from a waitlist of ${fmt(waiting)} (seeded in ${fmt(seedSeconds, 1)} s)`,
    );
    console.log(
      `  admit through the API    ${fmt(admitSeconds, 2)} s for ${fmt(admitted.admittedNow)} users   (target <= 5 s)   ${fmt(admitted.admittedNow / admitSeconds)} admitted/s`,
    );
    console.log(
      `  bare UPDATE of as many   ${fmt(bareSeconds, 2)} s   (the admission takes ${fmt(admitSeconds / bareSeconds, 1)}x the bare update: it also locks, orders, records positions and queues a mail each)`,
    );
    console.log(
      `  checked                  ${fmt(check.admitted)} admitted, ${fmt(check.active)} of them active, ${fmt(check.mails)} mails queued, ${fmt(check.matches)} of the expected top ${fmt(seats)}; a second admit admitted ${again.admittedNow}`,
    );
    console.log(
      `  GET /v1/waitlist/me      ${fmt(view.perSecond)}/s   p50 ${fmt(view.p50, 1)} ms   p99 ${fmt(view.p99, 1)} ms   (${fmt(rest.length)} users still waiting, concurrency 8, errors ${view.errors})`,
    );
    if (check.admitted !== seats || check.active !== seats || check.matches !== seats || again.admittedNow !== 0)
      process.exitCode = 1;
  } finally {
    await stop(api);
    await pool.end();
  }
}
