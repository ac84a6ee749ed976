// The README as data: tests hold its tables to the code (settings, errors, layout).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;

export const readme = (): string => readFileSync(join(ROOT, 'README.md'), 'utf8');

/**
 * The first table under the heading whose text is `heading` (any level), as
 * rows keyed by the header cells; cells are trimmed, markup kept.
 */
export function markdownTable(heading: string, firstColumn: string): Record<string, string>[] {
  const lines = readme().split('\n');
  const at = lines.findIndex((line) => new RegExp(`^#+ ${heading}$`).test(line));
  if (at < 0) throw new Error(`README has no heading "${heading}"`);
  const start = lines.findIndex((line, i) => i > at && line.startsWith('|'));
  const cells = (line: string) =>
    line
      .slice(1, line.lastIndexOf('|'))
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  const header = cells(lines[start]!);
  if (header[0] !== firstColumn)
    throw new Error(`the table under "${heading}" starts with ${header[0]}, not ${firstColumn}`);
  const rows: Record<string, string>[] = [];
  for (let i = start + 2; lines[i]?.startsWith('|'); i++) {
    const values = cells(lines[i]!);
    rows.push(Object.fromEntries(header.map((name, k) => [name, values[k] ?? ''])));
  }
  return rows;
}
