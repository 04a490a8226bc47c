// `npm run check:compose`: docker-compose.yml is valid with its secrets set, and refuses to start
// without them (checked with `docker-compose config`, which needs no Docker engine). An .env file
// beside the compose file is ignored here, so a developer's own secrets never make the check pass.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The variables docker-compose.yml must not run without. */
const COMPOSE_SECRETS = ['API_KEYS', 'SESSION_SECRET', 'POSTGRES_PASSWORD'] as const;

const scratch = mkdtempSync(join(tmpdir(), 'check-compose-'));
const noEnvFile = join(scratch, 'empty.env');
writeFileSync(noEnvFile, '');
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

function config(secrets: Record<string, string>): { status: number | null; stderr: string } {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...secrets };
  const result = spawnSync(
    'docker-compose',
    ['--env-file', noEnvFile, '-f', join(root, 'docker-compose.yml'), 'config', '-q'],
    { env, cwd: root, encoding: 'utf8' },
  );
  if (result.error) throw new Error(`docker-compose could not run (${result.error.message}); install docker-compose`);
  return { status: result.status, stderr: result.stderr };
}

const placeholders = Object.fromEntries(COMPOSE_SECRETS.map((name) => [name, `check-${name.toLowerCase()}`]));
const withSecrets = config(placeholders);
if (withSecrets.status !== 0) {
  process.stderr.write(withSecrets.stderr);
  console.error('docker-compose.yml: invalid');
  process.exit(1);
}
const lenient = COMPOSE_SECRETS.filter((name) => {
  const { [name]: _left, ...others } = placeholders;
  return config(others).status === 0;
});
if (lenient.length > 0) {
  console.error(`docker-compose.yml: starts without ${lenient.join(', ')}; give them no default (\${NAME:?message})`);
  process.exit(1);
}
console.log(`docker-compose.yml: valid, and refuses to start without ${COMPOSE_SECRETS.join(', ')}`);
