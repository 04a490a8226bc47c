import { sql, type DatabasePool } from 'slonik';
import { z } from 'zod';
import { PROGRAM_PHASES, type ProgramPhase } from '../domain/edge.ts';

export async function readProgramPhase(db: DatabasePool): Promise<ProgramPhase> {
  return db.oneFirst(sql.type(z.object({ phase: z.enum(PROGRAM_PHASES) }))`SELECT phase FROM program`);
}
