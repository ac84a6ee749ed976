// The README and docs/ as data: tests hold their tables to the code (settings, errors, layout) and check
// their links. A table is found by its heading, wherever the pages put it, so moving a section from one
// page to another needs no change to the tests that read it.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

export const readme = (): string => readFileSync(join(ROOT, 'README.md'), 'utf8');

/** A page of the documentation: its path from the repository's root (with `/`), and its text. */
export interface DocPage {
  path: string;
  text: string;
}

/** README.md, then every Markdown page under docs/ in path order. */
export function docPages(): DocPage[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'))
    .sort();
  return ['README.md', ...docs].map((path) => ({ path, text: readFileSync(join(ROOT, path), 'utf8') }));
}

/** An ATX heading: its level (1 for `#`), its text as written, and its line (0-based). */
export interface Heading {
  level: number;
  text: string;
  line: number;
}

/** Whether each line of `lines` is inside a fenced code block (fences included): a `# comment` there is no heading. */
export function inCodeBlock(lines: readonly string[]): boolean[] {
  let fence: string | undefined;
  return lines.map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined) {
      if (marker) fence = marker;
      return marker !== undefined;
    }
    // A fence closes with the same character, at least as many times, and nothing after it.
    if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
    return true;
  });
}

/** The headings of a Markdown text, outside code blocks. */
export function headings(text: string): Heading[] {
  const lines = text.split('\n');
  const code = inCodeBlock(lines);
  const result: Heading[] = [];
  lines.forEach((line, i) => {
    const match = /^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/.exec(line);
    if (match && !code[i]) result.push({ level: match[1]!.length, text: match[2]!, line: i });
  });
  return result;
}

/**
 * The first table in the section whose heading's text is `heading` (any level, on README.md or any
 * page of docs/; it must be there exactly once), as rows keyed by the header cells; cells are
 * trimmed, markup kept.
 */
export function markdownTable(
  heading: string,
  firstColumn: string,
  pages: readonly DocPage[] = docPages(),
): Record<string, string>[] {
  const found = pages.flatMap((page) =>
    headings(page.text)
      .filter((h) => h.text === heading)
      .map((h) => ({ page, at: h })),
  );
  if (found.length === 0) throw new Error(`no heading "${heading}" in README.md or docs/*.md`);
  if (found.length > 1) {
    const places = found.map(({ page, at }) => `${page.path}:${at.line + 1}`).join(', ');
    throw new Error(`the heading "${heading}" is in more than one place (${places}); tables are found by heading`);
  }
  const { page, at } = found[0]!;
  const lines = page.text.split('\n');
  const code = inCodeBlock(lines);
  // The section ends at the next heading of the same or a higher level.
  const end = headings(page.text).find((h) => h.line > at.line && h.level <= at.level)?.line ?? lines.length;
  const start = lines.findIndex((line, i) => i > at.line && i < end && !code[i] && line.startsWith('|'));
  if (start < 0) throw new Error(`the section "${heading}" (${page.path}:${at.line + 1}) has no table`);
  const cells = (line: string) =>
    line
      .slice(1, line.lastIndexOf('|'))
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  const header = cells(lines[start]!);
  if (header[0] !== firstColumn)
    throw new Error(`the table under "${heading}" (${page.path}) starts with ${header[0]}, not ${firstColumn}`);
  const rows: Record<string, string>[] = [];
  for (let i = start + 2; lines[i]?.startsWith('|'); i++) {
    const values = cells(lines[i]!);
    rows.push(Object.fromEntries(header.map((name, k) => [name, values[k] ?? ''])));
  }
  return rows;
}
