// The app image runs the sources as they are (no build step), so it must hold every source folder:
// a folder added to the tree but not to the Dockerfile would only fail when the image starts.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const RUNTIME_FOLDERS = [
  'domain',
  'contracts',
  'platform',
  'db',
  'services',
  'activities',
  'workflows',
  'api',
  'workers',
  // Files read at run time: the fonts of the Open Graph card (services/og-card.ts).
  'assets',
];

describe('the Dockerfile', () => {
  it('copies every folder the processes import from', () => {
    const copied = [...readFileSync(join(ROOT, 'Dockerfile'), 'utf8').matchAll(/^COPY (\S+) \.\/\S+$/gm)].map(
      (m) => m[1],
    );
    expect(RUNTIME_FOLDERS.filter((folder) => !copied.includes(folder))).toEqual([]);
  });
});
