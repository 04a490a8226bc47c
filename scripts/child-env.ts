// What a helper process (PostgreSQL, the Temporal dev server, stripe-mock) gets of our environment:
// only what it needs to run, never our settings. The developer's shell is full of variables these
// programs read in ways of their own: stripe-mock listens on PORT when it is set (so `PORT=4000 npm
// run dev` lost its API port to stripe-mock's HTTPS listener), the Temporal CLI reads TEMPORAL_*,
// PostgreSQL reads PG*. Secrets (API_KEYS, SESSION_SECRET, STRIPE_*) have no business there either.

/** Variables a program needs to find itself, its libraries and a temporary folder, and to speak C. */
const PASSED = ['PATH', 'HOME', 'TMPDIR', 'TZ', 'LANG', 'LC_ALL', 'LC_CTYPE', 'LC_COLLATE', 'JAVA_HOME'] as const;

export function childEnv(
  extra: Record<string, string> = {},
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PASSED) {
    const value = from[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}
