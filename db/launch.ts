// The launch flip in PostgreSQL: the flip itself (phase, record, the workflow's start: one
// transaction), the pages of beta edges it walks, its progress, and the beta referrers it enrolls.
import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { PROGRAM_PHASES } from '../domain/edge.ts';
import type { NewMail } from './mail.ts';
import { enqueueMail } from './mail.ts';
import { WAITLIST_ORDER } from './waitlist.ts';
import type { PartnerTerms } from '../domain/partner-settings.ts';
import { LAUNCH_SUBJECT, LAUNCH_SUBJECT_ID, launchFlipStart } from '../contracts/launch-flip.ts';
import type { WorkflowStart } from '../contracts/workflow-start.ts';
import type { Db } from './pool.ts';

export const launchRow = z.object({
  workflow_id: z.string(),
  started_at: z.date(),
  started_by: z.string(),
  finished_at: z.date().nullable(),
  total: z.number(),
  converted: z.number(),
  skipped: z.number(),
  partners_enrolled: z.number(),
  cursor: z.uuid().nullable(),
  page_size: z.number().nullable(),
  pages_per_run: z.number().nullable(),
  workflow_started: z.boolean(),
  waitlist_at_flip: z.number(),
  waitlist_admitted: z.number(),
  admission_finished_at: z.date().nullable(),
});
export type LaunchRow = z.infer<typeof launchRow>;

const launchColumns = sql.fragment`l.workflow_id, l.started_at, l.started_by, l.finished_at, l.total, l.converted, l.skipped, l.partners_enrolled, l.cursor,
  l.page_size, l.pages_per_run, coalesce(o.started_at IS NOT NULL, false) AS workflow_started, coalesce(a.waitlist_at_flip, 0) AS waitlist_at_flip,
  coalesce(a.waitlist_admitted, 0) AS waitlist_admitted, a.finished_at AS admission_finished_at`;
const launchFrom = sql.fragment`launch l LEFT JOIN workflow_outbox o ON o.subject = ${LAUNCH_SUBJECT} AND o.subject_id = ${LAUNCH_SUBJECT_ID} AND o.signal_name IS NULL
  LEFT JOIN launch_admission a ON true`;

const programRow = z.object({ phase: z.enum(PROGRAM_PHASES), phase_changed_at: z.date().nullable() });
export type ProgramRow = z.infer<typeof programRow>;

export async function programPhase(db: Db): Promise<ProgramRow> {
  return db.one(sql.type(programRow)`SELECT phase, phase_changed_at FROM program`);
}

export async function findLaunch(db: Db): Promise<LaunchRow | null> {
  return db.maybeOne(sql.type(launchRow)`SELECT ${launchColumns} FROM ${launchFrom}`);
}

export type LaunchToRecord = {
  startedBy: string;
  workflowId: string;
  pageSize: number | null;
  pagesPerRun: number | null;
};

/**
 * The flip, once: under the flip lock (edges and users being written commit first; later ones see
 * public, see 0007_launch_flip.sql and 0018_graduation_and_launch_admission.sql), the phase goes
 * public, the beta edges and the waitlisted users are counted, the record and the outbox row that
 * starts the workflow telling them are written. A second call finds the record and changes nothing.
 */
export async function flipToPublic(
  db: DatabasePool,
  p: LaunchToRecord,
): Promise<{ created: boolean; launch: LaunchRow; program: ProgramRow }> {
  return db.transaction(async (tx) => {
    await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock(launch_flip_lock())`);
    const existing = await findLaunch(tx);
    if (existing) return { created: false, launch: existing, program: await programPhase(tx) };
    const program = await tx.one(sql.type(programRow)`
      UPDATE program SET phase = 'public', phase_changed_at = CASE WHEN phase = 'beta' THEN now() ELSE coalesce(phase_changed_at, now()) END
      RETURNING phase, phase_changed_at`);
    await tx.query(sql.unsafe`
      WITH record AS (
        INSERT INTO launch (workflow_id, started_at, started_by, total, page_size, pages_per_run)
        SELECT ${p.workflowId}, now(), ${p.startedBy}, count(*), ${p.pageSize}, ${p.pagesPerRun} FROM edges WHERE kind = 'beta_auto' AND phase_at_write = 'beta'
      ), admission AS (
        INSERT INTO launch_admission (waitlist_at_flip) SELECT count(*) FROM users WHERE status = 'waitlisted'
      )
      INSERT INTO workflow_outbox (subject, subject_id) VALUES (${LAUNCH_SUBJECT}, ${LAUNCH_SUBJECT_ID})`);
    return { created: true, launch: (await findLaunch(tx))!, program };
  });
}

/** How the launch-flip workflow is started, from the launch record; null before the flip. */
export async function launchFlipStartOf(db: Db): Promise<WorkflowStart | null> {
  const launch = await findLaunch(db);
  const program = await programPhase(db);
  if (!launch || !program.phase_changed_at) return null;
  return launchFlipStart(launch.workflow_id, {
    changedAt: program.phase_changed_at.toISOString(),
    ...(launch.page_size ? { pageSize: launch.page_size } : {}),
    ...(launch.pages_per_run ? { pagesPerRun: launch.pages_per_run } : {}),
  });
}

const betaEdge = z.object({ id: z.uuid(), referee_id: z.uuid() });
export type BetaEdge = z.infer<typeof betaEdge>;

/** The next page of beta auto-enrolled edges written in beta, by id. */
export async function betaEdgePage(db: Db, after: string | null, limit: number): Promise<readonly BetaEdge[]> {
  return db.any(sql.type(betaEdge)`
    SELECT id, referee_id FROM edges
    WHERE kind = 'beta_auto' AND phase_at_write = 'beta' ${after === null ? sql.fragment`` : sql.fragment`AND id > ${after}::uuid`}
    ORDER BY id LIMIT ${limit}`);
}

/**
 * `count` beta edges before `upTo` (included), by id descending, skipping the last `skip` (a part of the page told
 * before).
 */
export async function betaEdgesUpTo(db: Db, upTo: string, skip: number, count: number): Promise<readonly BetaEdge[]> {
  return db.any(sql.type(betaEdge)`
    SELECT id, referee_id FROM edges WHERE kind = 'beta_auto' AND phase_at_write = 'beta' AND id <= ${upTo}::uuid ORDER BY id DESC OFFSET ${skip} LIMIT ${count}`);
}

/**
 * Records a page told: moves the cursor from `after` to `last` and adds the page's counts, only if
 * the cursor still stands at `after` (a page run again after it was recorded adds nothing).
 * Answers the record as it stands.
 */
export async function recordLaunchPage(
  db: Db,
  p: { after: string | null; last: string; converted: number; skipped: number },
): Promise<LaunchRow> {
  await db.query(sql.unsafe`
    UPDATE launch SET cursor = ${p.last}::uuid, converted = converted + ${p.converted}, skipped = skipped + ${p.skipped}
    WHERE cursor IS NOT DISTINCT FROM ${p.after}::uuid AND finished_at IS NULL`);
  return (await findLaunch(db))!;
}

export async function finishLaunch(db: Db): Promise<LaunchRow> {
  await db.query(sql.unsafe`UPDATE launch SET finished_at = coalesce(finished_at, now())`);
  return (await findLaunch(db))!;
}

/**
 * Every tenant whose users brought at least one beta auto-enrolled edge that vested (the referee
 * built an app), is not voided and not held becomes an approved partner at `terms`, unless it has a
 * partner row already (whatever its state: an admin's decision stands). A referrer whose beta edges
 * all expired, were voided, are held or never vested is not enrolled. With `referrerId`, only that
 * referrer's tenant, and only once the flip is recorded: a beta edge that vests after the flip
 * enrolls its referrer then, as the flip would have. One statement with the count on the record, so
 * running it again enrolls nobody twice. Answers how many were enrolled now and how many still
 * wanted (a random code that collided; run it again).
 */
export async function enrollBetaReferrers(
  db: Db,
  terms: PartnerTerms,
  approvedBy: string,
  referrerId: string | null = null,
): Promise<{ enrolled: number; wanted: number }> {
  const onlyReferrer =
    referrerId === null
      ? sql.fragment``
      : sql.fragment`AND e.referrer_id = ${referrerId} AND EXISTS (SELECT 1 FROM launch)`;
  return db.one(sql.type(z.object({ enrolled: z.number(), wanted: z.number() }))`
    WITH referrers AS (
      SELECT DISTINCT u.tenant_id FROM edges e JOIN users u ON u.id = e.referrer_id
      WHERE e.kind = 'beta_auto' AND e.phase_at_write = 'beta'
        AND e.vested_at IS NOT NULL AND e.voided_at IS NULL AND e.held_at IS NULL ${onlyReferrer}
        AND NOT EXISTS (SELECT 1 FROM partners p WHERE p.tenant_id = u.tenant_id)
    ), inserted AS (
      INSERT INTO partners (tenant_id, sales_commission_bps, credit_commission_bps, recurring, recurring_months, referral_code,
                            payout_method, payout_threshold_cents, payout_frequency, approved, approved_by, approved_at)
      SELECT tenant_id, ${terms.salesCommissionBps}, ${terms.creditCommissionBps}, ${terms.recurring}, ${terms.recurringMonths}, random_referral_code(),
             ${terms.payoutMethod}, ${terms.payoutThresholdCents}, ${terms.payoutFrequency}, true, ${approvedBy}, now()
      FROM referrers
      ON CONFLICT DO NOTHING
      RETURNING tenant_id
    ), counted AS (
      UPDATE launch SET partners_enrolled = partners_enrolled + (SELECT count(*) FROM inserted) WHERE EXISTS (SELECT 1 FROM inserted) RETURNING 1
    )
    SELECT (SELECT count(*) FROM inserted)::int AS enrolled, (SELECT count(*) FROM referrers)::int AS wanted FROM (SELECT count(*) FROM counted) c`);
}

// ---- The waitlist's admission at the flip -------------------------------------------------------

/** How many users are waitlisted now (the flip's admission still has them to admit). */
export async function waitlistedCount(db: Db): Promise<number> {
  return db.oneFirst(
    sql.type(z.object({ n: z.number() }))`SELECT count(*)::int AS n FROM users WHERE status = 'waitlisted'`,
  );
}

export type AdmissionPage = {
  /** Admitted by this call. */
  admitted: number;
  /** Admitted by the flip so far. */
  waitlistAdmitted: number;
  /** The admission has finished: nobody is waitlisted and signups are active at once. */
  finished: boolean;
};

/**
 * Admits the next `limit` waitlisted users in the waitlist's order (users_waitlist_order_idx): each
 * made active (admitted now), recorded in launch_admissions with their place in the flip's order,
 * and mailed (dedupe key `launch-admitted:<userId>`); the record's count moves in the same
 * transaction, under the admission record's row lock (launch_admission), so two attempts of a page never run at once and a page
 * run again admits the next users, nobody twice. Null: no launch recorded.
 */
export async function admitWaitlistPage(
  db: DatabasePool,
  limit: number,
  mail: (user: { email: string }) => Omit<NewMail, 'dedupeKey' | 'to'>,
): Promise<AdmissionPage | null> {
  return db.transaction(async (tx) => {
    const record = await tx.maybeOne(
      sql.type(z.object({ waitlist_admitted: z.number(), admission_finished_at: z.date().nullable() }))`
        SELECT waitlist_admitted, finished_at AS admission_finished_at FROM launch_admission FOR UPDATE`,
    );
    if (!record) return null;
    if (record.admission_finished_at)
      return { admitted: 0, waitlistAdmitted: record.waitlist_admitted, finished: true };
    const admitted = await tx.any(sql.type(z.object({ id: z.uuid(), email: z.string(), position: z.number() }))`
      WITH locked AS (
        SELECT id, email, created_at, wave_skip, waitlist_score FROM users
        WHERE status = 'waitlisted'
        ORDER BY ${WAITLIST_ORDER}
        LIMIT ${limit}
        FOR UPDATE
      ), picked AS (
        SELECT id, email, created_at, row_number() OVER (ORDER BY ${WAITLIST_ORDER})::int AS rn FROM locked
      ), admitted AS (
        UPDATE users u SET status = 'active', admitted_at = now()
        FROM picked WHERE u.id = picked.id AND u.status = 'waitlisted'
        RETURNING u.id, picked.email, picked.created_at, picked.rn
      ), recorded AS (
        INSERT INTO launch_admissions (user_id, position, waited_since)
        SELECT id, ${record.waitlist_admitted} + rn, created_at FROM admitted
        RETURNING user_id, position
      )
      SELECT a.id, a.email, r.position FROM admitted a JOIN recorded r ON r.user_id = a.id ORDER BY r.position`);
    for (const user of admitted)
      await enqueueMail(tx, { dedupeKey: `launch-admitted:${user.id}`, to: user.email, ...mail(user) });
    const waitlistAdmitted = await tx.oneFirst(sql.type(z.object({ waitlist_admitted: z.number() }))`
      UPDATE launch_admission SET waitlist_admitted = waitlist_admitted + ${admitted.length} RETURNING waitlist_admitted`);
    return { admitted: admitted.length, waitlistAdmitted, finished: false };
  });
}

/**
 * Finishes the admission when nobody is waitlisted: under the flip lock taken exclusively, so every
 * signup that decided to wait (holding it shared) has committed and is seen here, and every later
 * one sees the admission finished and is active at once. False: someone is still waiting (a signup
 * held back meanwhile): admit another page.
 */
export async function finishAdmission(db: DatabasePool): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.query(sql.unsafe`SELECT pg_advisory_xact_lock(launch_flip_lock())`);
    return tx.oneFirst(sql.type(z.object({ finished: z.boolean() }))`
      WITH finished AS (
        UPDATE launch_admission SET finished_at = coalesce(finished_at, now())
        WHERE NOT EXISTS (SELECT 1 FROM users WHERE status = 'waitlisted') RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM finished) AS finished`);
  });
}
