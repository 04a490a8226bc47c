// Provisioning of the binaries the project runs beside Node: the Temporal CLI (dev server) and
// Temporal's Java time-skipping test server. Everything comes from package registries (the Go
// module proxy, Maven Central) and is cached outside the repository, so a second run only checks
// the cache. Run directly (`npm run provision`) to warm the cache ahead of time.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
  chmodSync,
  readdirSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEST_SERVER_VERSION = '1.38.0';
export const STRIPE_MOCK_VERSION = '0.203.0';

export class ProvisionError extends Error {}

export function cacheDir(): string {
  const base =
    process.env.REFERRAL_GRAPH_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'referral-graph');
  mkdirSync(base, { recursive: true });
  return base;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function log(message: string): void {
  process.stderr.write(`[provision] ${message}\n`);
}

/**
 * The Temporal CLI: TEMPORAL_CLI if set, else `temporal` on PATH, else a cached build, else built
 * now from the Go module proxy. Returns undefined when none of these is possible, so the caller can
 * fall back to the SDK's own download.
 */
export function ensureTemporalCli(): string | undefined {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new ProvisionError(
        `TEMPORAL_CLI=${explicit} is not an executable file; point it at a Temporal CLI binary or unset it.`,
      );
    return explicit;
  }
  const fromPath = onPath('temporal');
  if (fromPath) return fromPath;
  const binDir = join(cacheDir(), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'bin');
  const cached = join(binDir, 'temporal');
  if (isExecutable(cached)) return cached;
  if (!onPath('go')) return undefined;
  log(
    `building the Temporal CLI ${TEMPORAL_CLI_VERSION} from the Go module proxy into ${binDir} (once; about 5-6 minutes cold)...`,
  );
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'temporal-cli-'));
  const result = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: staging, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(
      `building the Temporal CLI with 'go install' failed (exit ${result.status}); fix Go's access to its module proxy or set TEMPORAL_CLI to a Temporal CLI binary.`,
    );
  }
  mkdirSync(binDir, { recursive: true });
  renameSync(join(staging, 'temporal'), cached); // atomic: a half-built binary is never cached
  rmSync(staging, { recursive: true, force: true });
  log(`Temporal CLI ready: ${cached}`);
  return cached;
}

/**
 * stripe-mock, Stripe's own mock of its API (checks our requests against Stripe's OpenAPI spec):
 * STRIPE_MOCK if set, else `stripe-mock` on PATH, else a cached build, else built now from the Go
 * module proxy. Tests need it; there is no other source, so without Go this says how to get it.
 */
export function ensureStripeMock(): string {
  const explicit = process.env.STRIPE_MOCK;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new ProvisionError(
        `STRIPE_MOCK=${explicit} is not an executable file; point it at a stripe-mock binary or unset it.`,
      );
    return explicit;
  }
  const fromPath = onPath('stripe-mock');
  if (fromPath) return fromPath;
  const binDir = join(cacheDir(), `stripe-mock-${STRIPE_MOCK_VERSION}`, 'bin');
  const cached = join(binDir, 'stripe-mock');
  if (isExecutable(cached)) return cached;
  if (!onPath('go'))
    throw new ProvisionError(
      'stripe-mock is needed for the Stripe tests: install Go (it is built from the Go module proxy) or set STRIPE_MOCK to a stripe-mock binary.',
    );
  log(`building stripe-mock ${STRIPE_MOCK_VERSION} from the Go module proxy into ${binDir} (once)...`);
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'stripe-mock-'));
  const result = spawnSync('go', ['install', `github.com/stripe/stripe-mock@v${STRIPE_MOCK_VERSION}`], {
    env: { ...process.env, GOBIN: staging, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(
      `building stripe-mock with 'go install' failed (exit ${result.status}); fix Go's access to its module proxy or set STRIPE_MOCK to a stripe-mock binary.`,
    );
  }
  mkdirSync(binDir, { recursive: true });
  renameSync(join(staging, 'stripe-mock'), cached);
  rmSync(staging, { recursive: true, force: true });
  log(`stripe-mock ready: ${cached}`);
  return cached;
}

const TEST_SERVER_POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.referral-graph</groupId>
  <artifactId>temporal-test-server-deps</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
    <!-- Silences SLF4J's "no binder" warning on every start; matches the server's slf4j-api. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
`;

/**
 * Temporal's Java time-skipping test server as an executable wrapper script over the jars Maven
 * fetched. Returns undefined when Java or Maven is missing (the SDK then downloads its own).
 */
export function ensureTestServer(): string | undefined {
  if (process.env.TEMPORAL_TEST_SERVER) {
    if (!isExecutable(process.env.TEMPORAL_TEST_SERVER))
      throw new ProvisionError(
        `TEMPORAL_TEST_SERVER=${process.env.TEMPORAL_TEST_SERVER} is not executable; point it at a test server launcher or unset it.`,
      );
    return process.env.TEMPORAL_TEST_SERVER;
  }
  // The suffix names the recipe (the pom above): change it when the pom changes.
  const home = join(cacheDir(), `temporal-test-server-${TEST_SERVER_VERSION}-r2`);
  const wrapper = join(home, 'temporal-test-server');
  if (isExecutable(wrapper)) return wrapper;
  if (!onPath('java') || !onPath('mvn')) return undefined;
  log(
    `fetching io.temporal:temporal-test-server:${TEST_SERVER_VERSION} and its dependencies from Maven (once; about 30 s cold)...`,
  );
  mkdirSync(join(cacheDir(), 'tmp'), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(), 'tmp', 'test-server-'));
  writeFileSync(join(staging, 'pom.xml'), TEST_SERVER_POM);
  const result = spawnSync(
    'mvn',
    ['-q', '-B', 'dependency:copy-dependencies', '-DoutputDirectory=lib', '-DincludeScope=runtime'],
    {
      cwd: staging,
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (result.status !== 0 || !existsSync(join(staging, 'lib')) || readdirSync(join(staging, 'lib')).length === 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new ProvisionError(
      `fetching the Temporal test server with Maven failed (exit ${result.status}); fix Maven's access to Maven Central or set TEMPORAL_TEST_SERVER to a test server launcher.`,
    );
  }
  writeFileSync(
    join(staging, 'temporal-test-server'),
    `#!/bin/sh\nexec java -cp "${home}/lib/*" io.temporal.testserver.TestServer "$@"\n`,
  );
  chmodSync(join(staging, 'temporal-test-server'), 0o755);
  rmSync(home, { recursive: true, force: true });
  renameSync(staging, home);
  log(`test server ready: ${wrapper}`);
  return wrapper;
}

if (import.meta.main) {
  try {
    const cli = ensureTemporalCli();
    console.log(`Temporal CLI: ${cli ?? 'unavailable (no Go): the SDK will download its own'}`);
    const testServer = ensureTestServer();
    console.log(`Temporal test server: ${testServer ?? 'unavailable (no Java/Maven): the SDK will download its own'}`);
    console.log(`stripe-mock: ${ensureStripeMock()}`);
  } catch (err) {
    console.error(err instanceof ProvisionError ? err.message : err);
    process.exit(1);
  }
}
