// Waves: real seat caps and real dates. Admitting a wave takes the top of the waitlist, up to the
// seats left, and makes each admitted user active, in one transaction under the wave's row lock:
// a second admit of the same wave (also at the same moment) finds it released and admits no one,
// and two waves admitting at once never take the same user (SKIP LOCKED).
import { sql, type DatabaseTransactionConnection } from 'slonik';
import { z } from 'zod';
import type { Db } from './pool.ts';
import { WAITLIST_ORDER } from './waitlist.ts';

export const waveRow = z.object({
  id: z.uuid(),
  name: z.string(),
  seat_cap: z.number(),
  opens_at: z.date(),
  auto: z.boolean(),
  status: z.enum(['scheduled', 'released']),
  admitted_count: z.number(),
  released_at: z.date().nullable(),
  created_by: z.string(),
  created_at: z.date(),
});
export type WaveRow = z.infer<typeof waveRow>;

const columns = sql.fragment`id, name, seat_cap, opens_at, auto, status, admitted_count, released_at, created_by, created_at`;

export async function insertWave(
  db: Db,
  wave: { name: string | null; seatCap: number; opensAt: Date; createdBy: string; auto?: boolean },
): Promise<WaveRow> {
  return db.one(sql.type(waveRow)`
    INSERT INTO waves (name, seat_cap, opens_at, created_by, auto)
    VALUES (coalesce(${wave.name}, 'Wave ' || ((SELECT count(*) FROM waves) + 1)), ${wave.seatCap}, ${wave.opensAt.toISOString()}, ${wave.createdBy}, ${wave.auto ?? false})
    RETURNING ${columns}`);
}

export async function findWave(db: Db, id: string): Promise<WaveRow | null> {
  return db.maybeOne(sql.type(waveRow)`SELECT ${columns} FROM waves WHERE id = ${id}`);
}

async function lockWave(tx: DatabaseTransactionConnection, id: string): Promise<WaveRow | null> {
  return tx.maybeOne(sql.type(waveRow)`SELECT ${columns} FROM waves WHERE id = ${id} FOR UPDATE`);
}

/** The waves still to open, soonest first. */
export async function scheduledWaves(db: Db): Promise<readonly WaveRow[]> {
  return db.any(
    sql.type(waveRow)`SELECT ${columns} FROM waves WHERE status = 'scheduled' ORDER BY opens_at, created_at`,
  );
}

/** The scheduled wave that opens first. */
export async function nextScheduledWave(db: Db): Promise<WaveRow | null> {
  return db.maybeOne(
    sql.type(waveRow)`SELECT ${columns} FROM waves WHERE status = 'scheduled' ORDER BY opens_at, created_at LIMIT 1`,
  );
}

export async function dueWaveIds(db: Db, now: Date): Promise<readonly string[]> {
  return db.anyFirst(
    sql.type(
      z.object({ id: z.uuid() }),
    )`SELECT id FROM waves WHERE status = 'scheduled' AND opens_at <= ${now.toISOString()} ORDER BY opens_at, created_at`,
  );
}

export type Admission = { wave: WaveRow; admittedNow: number };

/**
 * Admits the top of the waitlist into the wave, up to its seats left, sets each one active, queues
 * their "you're in" mail, and marks the wave released. Null: no such wave.
 */
export async function admitWave(
  tx: DatabaseTransactionConnection,
  waveId: string,
  mail: { subject: string; body: (waveName: string) => string },
): Promise<Admission | null> {
  const wave = await lockWave(tx, waveId);
  if (!wave) return null;
  if (wave.status === 'released') return { wave, admittedNow: 0 };
  const seats = wave.seat_cap - wave.admitted_count;
  const admittedNow = await tx.oneFirst(sql.type(z.object({ n: z.number() }))`
    WITH locked AS (
      SELECT id, email, created_at, wave_skip, waitlist_score FROM users
      WHERE status = 'waitlisted'
      ORDER BY ${WAITLIST_ORDER}
      LIMIT ${seats}
      FOR UPDATE SKIP LOCKED
    ), picked AS (
      SELECT id, email, created_at, row_number() OVER (ORDER BY ${WAITLIST_ORDER})::int AS rn FROM locked
    ), admitted AS (
      UPDATE users u SET status = 'active', admitted_at = now(), admitted_wave_id = ${waveId}
      FROM picked WHERE u.id = picked.id
      RETURNING u.id, picked.email, picked.created_at, picked.rn
    ), recorded AS (
      INSERT INTO wave_admissions (wave_id, user_id, position, waited_since)
      SELECT ${waveId}, id, ${wave.admitted_count} + rn, created_at FROM admitted
    ), mailed AS (
      INSERT INTO mail_outbox (dedupe_key, to_address, subject, body)
      SELECT 'wave-admitted:' || id, email, ${mail.subject}, ${mail.body(wave.name)} FROM admitted
      ON CONFLICT (dedupe_key) DO NOTHING
    )
    SELECT count(*)::int AS n FROM admitted`);
  const released = await tx.one(sql.type(waveRow)`
    UPDATE waves SET admitted_count = admitted_count + ${admittedNow}, status = 'released', released_at = now()
    WHERE id = ${waveId} RETURNING ${columns}`);
  return { wave: released, admittedNow };
}

const admittedRow = z.object({
  user_id: z.uuid(),
  email: z.string(),
  position: z.number(),
  waited_since: z.date(),
  admitted_at: z.date(),
  status: z.enum(['waitlisted', 'active']),
});
export type AdmittedRow = z.infer<typeof admittedRow>;

/** Who a wave admitted, in admission order, a page at a time (after the given position). */
export async function admittedPage(
  db: Db,
  waveId: string,
  after: number,
  limit: number,
): Promise<readonly AdmittedRow[]> {
  return db.any(sql.type(admittedRow)`
    SELECT a.user_id, u.email, a.position, a.waited_since, a.admitted_at, u.status
    FROM wave_admissions a JOIN users u ON u.id = a.user_id
    WHERE a.wave_id = ${waveId} AND a.position > ${after}
    ORDER BY a.position LIMIT ${limit}`);
}

// ---- Planning and the admin view ------------------------------------------------------------

const waitRow = z.object({
  waiting: z.number(),
  oldest: z.date().nullable(),
  median: z.date().nullable(),
  signups_7d: z.number(),
});

/** The list as it stands: how many wait, since when (longest and median), and the week's signups. */
export async function waitingNow(db: Db): Promise<z.infer<typeof waitRow>> {
  return db.one(sql.type(waitRow)`
    SELECT (SELECT count(*)::int FROM users WHERE status = 'waitlisted') AS waiting,
           (SELECT min(created_at) FROM users WHERE status = 'waitlisted') AS oldest,
           (SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY created_at DESC) FROM users WHERE status = 'waitlisted') AS median,
           (SELECT count(*)::int FROM users WHERE created_at >= now() - interval '7 days') AS signups_7d`);
}

/** The lowest place in the order held by someone who signed up before `cutoff` (null: nobody). */
export async function lastPositionSignedUpBefore(db: Db, cutoff: Date): Promise<number | null> {
  return db.maybeOneFirst(sql.type(z.object({ pos: z.number().nullable() }))`
    SELECT max(pos)::int AS pos FROM (
      SELECT created_at, row_number() OVER (ORDER BY ${WAITLIST_ORDER}) AS pos
      FROM users WHERE status = 'waitlisted'
    ) ordered WHERE created_at < ${cutoff.toISOString()}`);
}

/** Seats still to be released by waves set by hand that open no later than `at`. */
export async function manualSeatsBy(db: Db, at: Date): Promise<number> {
  return db.oneFirst(sql.type(z.object({ seats: z.number() }))`
    SELECT coalesce(sum(seat_cap - admitted_count), 0)::int AS seats FROM waves
    WHERE status = 'scheduled' AND NOT auto AND opens_at <= ${at.toISOString()}`);
}

/** Creates the planned wave, or resizes and reschedules the one already planned (never smaller, never later). */
export async function upsertPlannedWave(db: Db, plan: { opensAt: Date; seatCap: number }): Promise<WaveRow> {
  return db.one(sql.type(waveRow)`
    INSERT INTO waves (name, seat_cap, opens_at, created_by, auto)
    VALUES ('Wave ' || ((SELECT count(*) FROM waves) + 1), ${plan.seatCap}, ${plan.opensAt.toISOString()}, 'wave-planner', true)
    ON CONFLICT ((true)) WHERE auto AND status = 'scheduled'
    DO UPDATE SET seat_cap = greatest(waves.seat_cap, EXCLUDED.seat_cap), opens_at = least(waves.opens_at, EXCLUDED.opens_at)
    RETURNING ${columns}`);
}

// ---- Forecast data ----------------------------------------------------------------------------

const dayCount = z.object({ days: z.number(), n: z.number(), paying: z.number() });

/**
 * Admitted cohorts watched for at least `observationDays`: how many were admitted after waiting
 * each whole number of days, and how many of them paid within `observationDays` of admission.
 */
export async function cohortsByDaysWaited(
  db: Db,
  observationDays: number,
): Promise<readonly z.infer<typeof dayCount>[]> {
  return db.any(sql.type(dayCount)`
    SELECT floor(extract(epoch FROM a.admitted_at - a.waited_since) / 86400)::int AS days, count(*)::int AS n,
           count(*) FILTER (WHERE EXISTS (
             SELECT 1 FROM payments p WHERE p.user_id = a.user_id AND p.paid_at >= a.admitted_at AND p.paid_at < a.admitted_at + make_interval(days => ${observationDays})
           ))::int AS paying
    FROM wave_admissions a
    WHERE a.admitted_at <= now() - make_interval(days => ${observationDays})
    GROUP BY 1 ORDER BY 1`);
}

/** The next `release` users in the order, grouped by whole days waited so far. */
export async function nextInLineByDaysWaited(db: Db, release: number): Promise<readonly { days: number; n: number }[]> {
  return db.any(sql.type(z.object({ days: z.number(), n: z.number() }))`
    SELECT floor(extract(epoch FROM now() - created_at) / 86400)::int AS days, count(*)::int AS n FROM (
      SELECT created_at FROM users WHERE status = 'waitlisted'
      ORDER BY ${WAITLIST_ORDER} LIMIT ${release}
    ) next GROUP BY 1 ORDER BY 1`);
}
