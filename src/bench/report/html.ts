import type { BenchResults } from '../results.js';
import { type Chart, reportSections } from './document.js';
import { linePlot } from './plot.js';
import { COLORS, escape, valueLabel } from './svg.js';

const inlineCode = (text: string) => escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');

/** Horizontal grouped bars as inline SVG: no script, no download, readable offline. */
export function barChart(chart: Chart): string {
  const bar = 14;
  const gap = 10;
  const labelWidth = 300;
  const plotWidth = 440;
  const max = Math.max(
    1e-9,
    ...chart.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v))),
  );
  const groupHeight = chart.series.length * bar + gap;
  const height = chart.categories.length * groupHeight + 40;
  const parts: string[] = [];
  chart.categories.forEach((category, i) => {
    const y0 = i * groupHeight + 10;
    parts.push(
      `<text x="${labelWidth - 8}" y="${y0 + (chart.series.length * bar) / 2 + 4}" text-anchor="end">` +
        `${escape(category)}</text>`,
    );
    chart.series.forEach((series, j) => {
      const value = series.values[i];
      if (value === undefined || !Number.isFinite(value)) return;
      const width = Math.max(1, (value / max) * plotWidth);
      const y = y0 + j * bar;
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${width.toFixed(1)}" height="${bar - 2}" ` +
          `fill="${COLORS[j % COLORS.length]}"><title>${escape(`${series.name}: ${value}`)}</title></rect>`,
      );
      parts.push(
        `<text x="${labelWidth + width + 4}" y="${y + bar - 4}" class="v">${escape(valueLabel(value))}</text>`,
      );
    });
  });
  const legendY = chart.categories.length * groupHeight + 24;
  chart.series.forEach((series, j) => {
    parts.push(
      `<rect x="${labelWidth + j * 110}" y="${legendY - 10}" width="10" height="10" ` +
        `fill="${COLORS[j % COLORS.length]}"/>` +
        `<text x="${labelWidth + j * 110 + 14}" y="${legendY}">${escape(series.name)}</text>`,
    );
  });
  parts.push(`<text x="0" y="${legendY}" class="v">${escape(chart.unit)}</text>`);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" role="img">` +
    `${parts.join('')}</svg>`
  );
}

export function renderHtml(results: BenchResults): string {
  const body = reportSections(results).map((section) => {
    const parts = [`<h2>${escape(section.title)}</h2>`, ...section.paragraphs.map((p) => `<p>${inlineCode(p)}</p>`)];
    if (section.chart) parts.push(barChart(section.chart));
    if (section.plot) parts.push(linePlot(section.plot));
    if (section.table) {
      parts.push(
        `<table><thead><tr>${section.table.head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr></thead>` +
          `<tbody>${section.table.rows
            .map((row) => `<tr>${row.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`)
            .join('')}</tbody></table>`,
      );
    }
    if (section.list) parts.push(`<ul>${section.list.map((item) => `<li>${escape(item)}</li>`).join('')}</ul>`);
    return `<section>${parts.join('\n')}</section>`;
  });
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twinapi bench ${escape(results.startedAt)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#111}
table{border-collapse:collapse;margin:1em 0;font-size:13px}` +
    `td,th{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f4f6}svg text{font:12px system-ui,sans-serif}svg text.v{fill:#555}` +
    `code{background:#f3f4f6;padding:0 3px}
</style></head><body>
<h1>twinapi bench — gRPC vs REST</h1>
<p>${escape(results.startedAt)} → ${escape(results.finishedAt)}</p>
${body.join('\n')}
</body></html>
`
  );
}
