// The README's Layout table is the architecture: this test holds every source file to it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { markdownTable, ROOT } from './support/readme.js';

interface Layer {
  folder: string;
  /** Our folders it may import statically. */
  imports: Set<string>;
  /** Our folders it may import only with a dynamic import(). */
  lazily: Set<string>;
}

function layers(): Map<string, Layer> {
  const rows = markdownTable('Layout', 'path');
  const result = new Map<string, Layer>();
  for (const row of rows) {
    const folder = /^`(src\/[a-z]+)\/`$/.exec(row.path ?? '')?.[1];
    if (!folder) continue;
    const imports = new Set<string>();
    const lazily = new Set<string>();
    for (const [, target, lazy] of (row['may import'] ?? '').matchAll(/`(src\/[a-z]+)`( \(lazily)?/g)) {
      (lazy ? lazily : imports).add(target!);
    }
    result.set(folder, { folder, imports, lazily });
  }
  return result;
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));

/** `src/x` of a path inside src, or undefined outside it. */
const folderOf = (path: string) => /^(src\/[a-z]+)\//.exec(path)?.[1];

/** `require.resolve(…)`: a package's file found by its name, as an import finds a module. */
const isRequireResolve = (node: ts.Node): node is ts.CallExpression =>
  ts.isCallExpression(node) &&
  ts.isPropertyAccessExpression(node.expression) &&
  node.expression.name.text === 'resolve' &&
  ts.isIdentifier(node.expression.expression) &&
  node.expression.expression.text === 'require';

/** Every module a file imports, as TypeScript parses it: static (import/export … from), dynamic (import()) and require.resolve(). */
function importsOf(file: string): { target: string; lazy: boolean }[] {
  const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
  const found: { target: string; lazy: boolean }[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      found.push({ target: (node.moduleSpecifier as ts.StringLiteral).text, lazy: false });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [specifier] = node.arguments;
      if (specifier && ts.isStringLiteral(specifier)) found.push({ target: specifier.text, lazy: true });
    } else if (isRequireResolve(node)) {
      // Files read from a package at startup (the GraphQL explorer's): the server needs the package.
      const [specifier] = node.arguments;
      if (specifier && ts.isStringLiteral(specifier)) found.push({ target: specifier.text, lazy: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('architecture', () => {
  const table = layers();

  it('has a Layout row for every folder of src/, and no row for a folder that is gone', () => {
    const folders = readdirSync(join(ROOT, 'src'), { withFileTypes: true });
    assert.deepEqual(
      folders.filter((e) => !e.isDirectory()).map((e) => e.name),
      [],
      'src/ holds folders only: a file at its top has no layer',
    );
    assert.deepEqual(folders.map((e) => `src/${e.name}`).sort(), [...table.keys()].sort());
  });

  it('imports only what the Layout table allows, and the bench only lazily', () => {
    const wrong: string[] = [];
    for (const file of sourceFiles('src')) {
      const from = table.get(folderOf(file)!)!;
      for (const { target, lazy } of importsOf(file)) {
        if (!target.startsWith('.')) {
          if (from.folder === 'src/domain' && !target.startsWith('node:'))
            wrong.push(`${file} → ${target} (a package)`);
          continue;
        }
        const to = folderOf(relative(ROOT, resolve(dirname(join(ROOT, file)), target)));
        if (!to || to === from.folder) continue;
        if (from.imports.has(to) || (lazy && from.lazily.has(to))) continue;
        wrong.push(`${file} → ${target}${lazy ? ' (dynamic)' : ''}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('serves with its dependencies alone: what the server imports is in dependencies, the rest is dev-only', () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const packageOf = (specifier: string) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/');
    const used = new Set<string>();
    const wrong: string[] = [];
    for (const file of sourceFiles('src').filter((f) => !f.startsWith('src/bench/'))) {
      for (const { target } of importsOf(file)) {
        if (target.startsWith('.') || target.startsWith('node:')) continue;
        const name = packageOf(target);
        used.add(name);
        if (!(name in manifest.dependencies)) wrong.push(`${file} → ${name} (not a dependency)`);
      }
    }
    // Needed at run time though never imported by name: the peer dependencies of what is imported
    // (@connectrpc/connect-fastify runs on @connectrpc/connect-node), and pino-pretty, which pino loads
    // by name for a terminal.
    const peersOf = (name: string) =>
      Object.keys(
        (
          JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
            peerDependencies?: Record<string, string>;
          }
        ).peerDependencies ?? {},
      );
    const needed = new Set([...used, ...[...used].flatMap(peersOf), 'pino-pretty']);
    for (const name of Object.keys(manifest.dependencies))
      if (!needed.has(name)) wrong.push(`${name}: a dependency the server never imports`);
    assert.deepEqual(wrong, []);
    assert.ok('express' in manifest.devDependencies, 'the original design (bench only) is a dev dependency');
  });

  it('finds the imports it checks (the check itself can fail)', () => {
    const cli = importsOf('src/cli/main.ts');
    assert.ok(cli.some((i) => !i.lazy && i.target === '../app/app.js'));
    assert.ok(cli.some((i) => i.lazy && i.target === '../bench/command.js'));
    assert.ok(!table.get('src/cli')!.imports.has('src/bench'), 'the CLI may load the bench only lazily');
  });
});
