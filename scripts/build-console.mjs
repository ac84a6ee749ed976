// Builds the web console (web/console) into a directory the REST server serves: the bundle and
// the stylesheet named by their content hash (so they can be cached for good) and index.html, which
// names them. Run directly (`npm run build` does), it builds into dist/console.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCE = join(ROOT, 'web', 'console');

/** `name-HASH.ext`: esbuild's naming, for the stylesheet too. */
function hashedName(name, content) {
  const hash = createHash('sha256').update(content).digest('hex').slice(0, 8).toUpperCase();
  const dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}-${hash}${name.slice(dot)}`;
}

/** Writes the console into `outDir` (emptied first: it holds only what this build wrote); resolves with the file names. */
export async function buildConsole(outDir) {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(SOURCE, 'main.ts')],
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    sourcemap: true,
    target: 'es2022',
    platform: 'browser',
    format: 'esm',
    tsconfig: join(ROOT, 'web', 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
  });
  const script = Object.keys(result.metafile.outputs)
    .map((path) => basename(path))
    .find((name) => name.endsWith('.js'));
  if (!script) throw new Error('esbuild wrote no script');

  const css = await readFile(join(SOURCE, 'console.css'));
  const stylesheet = hashedName('console.css', css);
  await writeFile(join(outDir, stylesheet), css);

  // index.html names the sources; the built page names what was written.
  let page = await readFile(join(SOURCE, 'index.html'), 'utf8');
  for (const [source, built] of [
    ['/console/main.js', `/console/${script}`],
    ['/console/console.css', `/console/${stylesheet}`],
  ]) {
    if (!page.includes(source)) throw new Error(`web/console/index.html does not load ${source}`);
    page = page.replace(source, built);
  }
  await writeFile(join(outDir, 'index.html'), page);
  return { script, stylesheet, files: [script, `${script}.map`, stylesheet, 'index.html'] };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = join(ROOT, 'dist', 'console');
  const { files } = await buildConsole(outDir);
  console.log(`web console built in ${relative(process.cwd(), outDir) || '.'}: ${files.join(', ')}`);
}
