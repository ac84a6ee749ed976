// The README and docs/ hold together: every link between the pages, and into the repository, leads to a
// file that exists and, when it names an anchor, to a heading of that page. The README stays a short
// introduction that starts with the two commands CI runs; the reference lives in docs/.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { type DocPage, docPages, headings, inCodeBlock, markdownTable, readme, ROOT } from './support/readme.js';

/** The README's first lines, byte for byte: `.ci/run` and newcomers run exactly these. */
const README_START = [
  '# twinapi',
  '',
  '```sh',
  'npm ci && npm start     # install, build, and serve on the embedded SQLite database',
  'npm test                # type-check and run every test (node:test)',
  '```',
];

/** The longest the README may grow before it is reference again. */
const README_MAX_LINES = 250;

/**
 * A heading's anchor as GitHub makes it: the text without its markup, lower case, every character but
 * letters, digits, spaces, `-` and `_` dropped, each space a `-`.
 */
function slug(text: string): string {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor of a page; a repeated heading gets `-1`, `-2`… as on GitHub. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const { text: heading } of headings(text)) {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The targets of a page's inline links and images, outside code blocks and code spans. */
function linkTargets(text: string): string[] {
  const lines = text.split('\n');
  const code = inCodeBlock(lines);
  const prose = lines
    .map((line, i) => (code[i] ? '' : line))
    .join('\n')
    .replace(/(`+)[\s\S]*?\1/g, '');
  return [...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** Links that leave the repository (a scheme such as `https:`) are not checked here. */
const isExternal = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('docs', () => {
  const pages = docPages();

  it('has pages: README.md and docs/', () => {
    assert.ok(pages.length > 2, pages.map((p) => p.path).join(', '));
    assert.equal(pages[0]!.path, 'README.md');
  });

  it('every relative link points to a file that exists, and every anchor to a heading of its page', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const target of linkTargets(page.text)) {
        if (isExternal(target)) continue;
        const [path = '', anchor] = target.split('#', 2);
        const file = path === '' ? page.path : normalize(join(dirname(page.path), decodeURIComponent(path)));
        if (file.startsWith('..') || !existsSync(join(ROOT, file))) {
          broken.push(`${page.path}: ${target} (no file ${file})`);
          continue;
        }
        if (anchor === undefined) continue;
        const linked = file === page.path ? page : pages.find((p) => p.path === file);
        if (!linked) {
          broken.push(`${page.path}: ${target} (an anchor into ${file}, which is not a page of the docs)`);
        } else if (!anchors(linked.text).has(anchor)) {
          broken.push(`${page.path}: ${target} (no heading of ${file} has the anchor #${anchor})`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every page of docs/ is linked from the README and from the docs index', () => {
    const linkedFrom = (page: DocPage) =>
      new Set(
        linkTargets(page.text)
          .filter((target) => !isExternal(target))
          .map((target) => normalize(join(dirname(page.path), target.split('#')[0]!))),
      );
    const fromReadme = linkedFrom(pages.find((p) => p.path === 'README.md')!);
    const fromIndex = linkedFrom(pages.find((p) => p.path === 'docs/README.md')!);
    for (const { path } of pages.filter((p) => p.path.startsWith('docs/') && p.path !== 'docs/README.md')) {
      assert.ok(fromReadme.has(path), `README.md links to ${path}`);
      assert.ok(fromIndex.has(path), `docs/README.md links to ${path}`);
    }
  });

  it('the README begins with the two commands, under the title', () => {
    assert.deepEqual(readme().split('\n').slice(0, README_START.length), README_START);
  });

  it(`the README stays under ${README_MAX_LINES} lines: the reference is in docs/`, () => {
    const lines = readme().trimEnd().split('\n').length;
    assert.ok(lines < README_MAX_LINES, `README.md has ${lines} lines`);
  });

  it('a table is found by a heading that is there exactly once', () => {
    const page = (path: string, text: string): DocPage => ({ path, text });
    const table = '| a | b |\n| - | - |\n| 1 | 2 |\n';
    assert.deepEqual(markdownTable('T', 'a', [page('README.md', `# T\n\n${table}`)]), [{ a: '1', b: '2' }]);
    assert.throws(() => markdownTable('T', 'a', [page('README.md', '# U\n')]), /no heading "T"/);
    assert.throws(
      () => markdownTable('T', 'a', [page('README.md', `## T\n\n${table}`), page('docs/x.md', `# T\n\n${table}`)]),
      /"T" is in more than one place \(README\.md:1, docs\/x\.md:1\)/,
    );
    // A heading in a code block is none, and a section's table is its own, not the next section's.
    assert.throws(() => markdownTable('T', 'a', [page('README.md', '```sh\n# T\n```\n')]), /no heading/);
    assert.throws(() => markdownTable('T', 'a', [page('README.md', `## T\n\n## U\n\n${table}`)]), /has no table/);
  });
});
