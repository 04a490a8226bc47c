// Layers point one way: domain <- contracts <- platform <- db <- services | activities <- workflows
// | api | workers. A source file imports only its own layer or lower (type-only imports count: they
// still couple the layers); services and activities are peers that never import each other;
// nothing outside workflows/ but the worker imports a workflow; and a workflow imports only domain,
// contracts and the types of activities (its bundle must stay deterministic and free of I/O).
// Tests, benches and scripts are not checked as sources: they may import anything.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSync } from '@swc/core';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Each source folder's rank; an import may only go to the same rank or lower. */
const RANK: Record<string, number> = {
  domain: 0,
  contracts: 1,
  platform: 2,
  db: 3,
  services: 4,
  activities: 4,
  workflows: 5,
  api: 5,
  workers: 5,
};
const SOURCE_FOLDERS = Object.keys(RANK);
/** Folders no source may depend on (tests, benches, scripts): above every layer. */
const ABOVE_ALL = 6;
const PEERS = new Set(['services>activities', 'activities>services']);
const WORKFLOW_IMPORTS = new Set(['workflows', 'domain', 'contracts']);

type ImportRef = { specifier: string; typeOnly: boolean; line: number };
type SourceFile = { path: string; text: string };
type Violation = { from: string; to: string; specifier: string; line: number; rule: string };
type Node = { type?: string; span?: { start: number }; [key: string]: unknown };

// A parsed file's spans count UTF-8 bytes from a base that depends on the parser's state, so the
// text is parsed behind a statement of known place (`0;`) that gives the base away.
const PROBE = '0;';

/**
 * Every module specifier a file names: static and type-only imports, `export ... from`, `import x = require()`, dynamic
 * `import()` and `import('...')` types.
 */
function importsOf(text: string): ImportRef[] {
  const module = parseSync(PROBE + text, { syntax: 'typescript', target: 'es2024' }) as unknown as { body: Node[] };
  const base = module.body[0]!.span!.start + PROBE.length;
  const bytes = Buffer.from(text);
  const lineAt = (span: { start: number }) =>
    bytes
      .subarray(0, span.start - base)
      .toString()
      .split('\n').length;
  const refs: ImportRef[] = [];
  const add = (at: Node, literal: unknown, typeOnly: boolean) => {
    const l = literal as Node | null | undefined;
    if (l?.type === 'StringLiteral') refs.push({ specifier: l.value as string, typeOnly, line: lineAt(at.span!) });
  };
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (!node || typeof node !== 'object') return;
    const n = node as Node;
    switch (n.type) {
      case 'ImportDeclaration': {
        const specifiers = n.specifiers as Node[];
        const allNamedTypes =
          specifiers.length > 0 && specifiers.every((s) => s.type === 'ImportSpecifier' && s.isTypeOnly);
        add(n, n.source, n.typeOnly === true || allNamedTypes);
        break;
      }
      case 'ExportNamedDeclaration':
      case 'ExportAllDeclaration':
        add(n, n.source, n.typeOnly === true);
        break;
      case 'TsImportEqualsDeclaration': {
        const ref = n.moduleRef as Node;
        if (ref.type === 'TsExternalModuleReference') add(n, ref.expression, n.isTypeOnly === true);
        break;
      }
      case 'CallExpression':
        if ((n.callee as Node).type === 'Import') add(n, (n.arguments as { expression: Node }[])[0]?.expression, false);
        break;
      case 'TsImportType':
        add(n, n.argument, true);
        break;
    }
    for (const [key, value] of Object.entries(n)) if (key !== 'span') visit(value);
  };
  visit(module.body.slice(1));
  return refs;
}

/** The top-level folder a file (a path relative to the root, `/`-separated) lives in. */
const folderOf = (path: string) => path.split('/')[0]!;

function ruleBroken(from: string, to: string, typeOnly: boolean): string | null {
  if (to === 'workflows' && from !== 'workflows' && from !== 'workers') return 'only the worker imports workflows/';
  if (from === 'workflows' && !WORKFLOW_IMPORTS.has(to) && !(to === 'activities' && typeOnly))
    return 'a workflow imports only domain, contracts and activity types';
  if (PEERS.has(`${from}>${to}`)) return 'services and activities are peers: neither imports the other';
  if ((RANK[to] ?? ABOVE_ALL) > RANK[from]!) return 'imports a higher layer';
  return null;
}

/** Every import among `files` (paths relative to the root) that breaks the layering, in file order. */
function layerViolations(files: readonly SourceFile[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const from = folderOf(file.path);
    if (!(from in RANK)) continue;
    for (const ref of importsOf(file.text)) {
      if (!ref.specifier.startsWith('.')) continue; // a package, not a layer
      const target = relative(ROOT, resolve(ROOT, dirname(file.path), ref.specifier))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) continue;
      const to = folderOf(target);
      const rule = ruleBroken(from, to, ref.typeOnly);
      if (rule) out.push({ from: file.path, to: target, specifier: ref.specifier, line: ref.line, rule });
    }
  }
  return out;
}

function sourcesUnder(folder: string): SourceFile[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.parentPath.includes('node_modules'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort()
    .map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));
}

const describeViolation = (v: Violation) => `${v.from}:${v.line} imports ${v.specifier} (${v.rule})`;

describe('the layer checker', () => {
  it('finds every kind of import in a file, type-only ones marked', () => {
    const text = [
      "import { a } from '../db/a.ts';",
      "import type { B } from '../db/b.ts';",
      "import { type C, type D } from '../db/c.ts';",
      "import { type E, f } from '../db/e.ts';",
      "export { g } from '../db/g.ts';",
      "export type { H } from '../db/h.ts';",
      "export * from '../db/star.ts';",
      "const m = await import('../db/dynamic.ts');",
      "type T = import('../db/type-query.ts').T;",
      "import 'side-effect';",
      "// import { z } from '../db/commented.ts';",
      'const s = "import { y } from \'../db/in-a-string.ts\'";',
    ].join('\n');
    expect(importsOf(text).map((r) => [r.specifier, r.typeOnly, r.line])).toEqual([
      ['../db/a.ts', false, 1],
      ['../db/b.ts', true, 2],
      ['../db/c.ts', true, 3],
      ['../db/e.ts', false, 4],
      ['../db/g.ts', false, 5],
      ['../db/h.ts', true, 6],
      ['../db/star.ts', false, 7],
      ['../db/dynamic.ts', false, 8],
      ['../db/type-query.ts', true, 9],
      ['side-effect', false, 10],
    ]);
  });

  it('flags imports up the layers, across the peers, of workflows/, and from workflows beyond their reach; allows the rest', () => {
    const files: SourceFile[] = [
      { path: 'domain/a.ts', text: "import type { X } from '../contracts/x.ts';\nimport { y } from './y.ts';" },
      {
        path: 'db/a.ts',
        text: "import { s } from '../services/s.ts';\nimport { d } from '../domain/d.ts';\nimport { p } from '../platform/p.ts';",
      },
      { path: 'services/a.ts', text: "export { r } from '../activities/r.ts';\nimport { q } from '../db/q.ts';" },
      { path: 'activities/a.ts', text: "const m = import('../services/m.ts');" },
      { path: 'api/a.ts', text: "import { w } from '../workflows/w.ts';\nimport { s } from '../services/s.ts';" },
      { path: 'db/b.ts', text: "import type { W } from '../workflows/w.ts';" },
      {
        path: 'workers/a.ts',
        text: "import { w } from '../workflows/w.ts';\nimport { a } from '../activities/index.ts';",
      },
      {
        path: 'workflows/a.ts',
        text: "import type { A } from '../activities/a.ts';\nimport { c } from '../contracts/c.ts';\nimport { d } from '../domain/d.ts';\nimport { b } from './b.ts';",
      },
      {
        path: 'workflows/b.ts',
        text: "import { a } from '../activities/a.ts';\nimport type { S } from '../services/s.ts';\nimport { p } from '../platform/p.ts';",
      },
      { path: 'platform/a.ts', text: "import { t } from '../test/support/t.ts';\nimport { z } from 'zod';" },
      { path: 'test/a.ts', text: "import { w } from '../workflows/w.ts';\nimport { s } from '../services/s.ts';" },
    ];
    expect(layerViolations(files).map(describeViolation)).toEqual([
      'domain/a.ts:1 imports ../contracts/x.ts (imports a higher layer)',
      'db/a.ts:1 imports ../services/s.ts (imports a higher layer)',
      'services/a.ts:1 imports ../activities/r.ts (services and activities are peers: neither imports the other)',
      'activities/a.ts:1 imports ../services/m.ts (services and activities are peers: neither imports the other)',
      'api/a.ts:1 imports ../workflows/w.ts (only the worker imports workflows/)',
      'db/b.ts:1 imports ../workflows/w.ts (only the worker imports workflows/)',
      'workflows/b.ts:1 imports ../activities/a.ts (a workflow imports only domain, contracts and activity types)',
      'workflows/b.ts:2 imports ../services/s.ts (a workflow imports only domain, contracts and activity types)',
      'workflows/b.ts:3 imports ../platform/p.ts (a workflow imports only domain, contracts and activity types)',
      'platform/a.ts:1 imports ../test/support/t.ts (imports a higher layer)',
    ]);
  });
});

describe('the source tree', () => {
  it('has every source folder', () => {
    for (const folder of SOURCE_FOLDERS) expect(sourcesUnder(folder).length).toBeGreaterThan(0);
  });

  it('imports only down the layers', () => {
    const violations = layerViolations(SOURCE_FOLDERS.flatMap(sourcesUnder));
    expect(violations.map(describeViolation)).toEqual([]);
  });
});
