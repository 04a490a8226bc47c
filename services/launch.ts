// The launch flip, as admins (and tests, benches) start and follow it. The flip is one transaction
// that makes the program public, records the flip and writes the outbox row that starts the
// `launch-flip` workflow, so a crash after the commit loses nothing: the relay starts it.
// A second call finds the record and answers where the flip stands.
import type { DatabasePool } from 'slonik';
import {
  findLaunch,
  flipToPublic,
  programPhase,
  waitlistedCount,
  type LaunchRow,
  type ProgramRow,
} from '../db/launch.ts';
import type { ProgramPhase } from '../domain/edge.ts';
import { admissionProgress, launchStatus, type LaunchStatus } from '../domain/launch.ts';
import { launchFlipWorkflowId } from '../contracts/launch-flip.ts';

export type LaunchServiceDeps = { db: DatabasePool; taskQueue: string };

/** How the workflow pages (defaults in domain/launch.ts); for very large graphs and for tests. */
export type LaunchOptions = { pageSize?: number | undefined; pagesPerRun?: number | undefined };

export type LaunchView = {
  phase: ProgramPhase;
  phaseChangedAt: Date | null;
  status: LaunchStatus;
  workflowId: string | null;
  startedAt: Date | null;
  startedBy: string | null;
  finishedAt: Date | null;
  /** Beta auto-enrolled edges to tell, counted at the flip. */
  total: number;
  converted: number;
  skipped: number;
  remaining: number;
  partnersEnrolled: number;
  /** The waitlist's admission by the flip: null before the flip. */
  waitlist: {
    atFlip: number;
    admitted: number;
    total: number;
    remaining: number;
    finishedAt: Date | null;
  } | null;
};

function view(program: ProgramRow, launch: LaunchRow | null, waiting: number): LaunchView {
  return {
    phase: program.phase,
    phaseChangedAt: program.phase_changed_at,
    status: launchStatus(launch && { workflowStarted: launch.workflow_started, finishedAt: launch.finished_at }),
    workflowId: launch?.workflow_id ?? null,
    startedAt: launch?.started_at ?? null,
    startedBy: launch?.started_by ?? null,
    finishedAt: launch?.finished_at ?? null,
    total: launch?.total ?? 0,
    converted: launch?.converted ?? 0,
    skipped: launch?.skipped ?? 0,
    remaining: launch ? Math.max(0, launch.total - launch.converted - launch.skipped) : 0,
    partnersEnrolled: launch?.partners_enrolled ?? 0,
    waitlist: launch
      ? {
          atFlip: launch.waitlist_at_flip,
          ...admissionProgress({
            admitted: launch.waitlist_admitted,
            waiting,
            finished: launch.admission_finished_at !== null,
          }),
          finishedAt: launch.admission_finished_at,
        }
      : null,
  };
}

/** Flips the program to public once. `created` false: it was flipped before; the view says how far it got. */
export async function launchProgram(
  deps: LaunchServiceDeps,
  input: { startedBy: string } & LaunchOptions,
): Promise<{ created: boolean; launch: LaunchView }> {
  const flipped = await flipToPublic(deps.db, {
    startedBy: input.startedBy,
    workflowId: launchFlipWorkflowId(deps.taskQueue),
    pageSize: input.pageSize ?? null,
    pagesPerRun: input.pagesPerRun ?? null,
  });
  const waiting = await waitlistedCount(deps.db);
  return { created: flipped.created, launch: view(flipped.program, flipped.launch, waiting) };
}

export async function launchProgress(deps: Pick<LaunchServiceDeps, 'db'>): Promise<LaunchView> {
  const [program, launch, waiting] = await Promise.all([
    programPhase(deps.db),
    findLaunch(deps.db),
    waitlistedCount(deps.db),
  ]);
  return view(program, launch, waiting);
}
