import type { BenchResults } from '../results.js';
import { reportSections } from './document.js';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(results: BenchResults): string {
  const out = [`# twinapi bench — gRPC vs REST, ${results.startedAt}`, ''];
  for (const section of reportSections(results)) {
    out.push(`## ${section.title}`, '');
    for (const p of section.paragraphs) out.push(p, '');
    if (section.table) {
      out.push(
        `| ${section.table.head.map(cell).join(' | ')} |`,
        `|${section.table.head.map(() => ' --- ').join('|')}|`,
      );
      for (const row of section.table.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
      out.push('');
    }
    if (section.list) out.push(...section.list.map((item) => `- ${item}`), '');
  }
  return out.join('\n');
}
