// Lines on logarithmic axes as inline SVG (no script, no download): cost against table size, where
// sizes and latencies both span orders of magnitude and a read that does not grow draws flat.
import type { LinePlot } from './document.js';
import { COLORS, escape, valueLabel } from './svg.js';

/** Pixels; `right` leaves room for the last size's label, centred on the plot's right edge. */
const PLOT = { left: 64, top: 12, width: 560, height: 280, right: 48, axis: 40, legendRow: 16 };

/** The decades around the values (a single decade when they all sit on one power of ten). */
function decades(values: number[]): [number, number] {
  const low = 10 ** Math.floor(Math.log10(Math.min(...values)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  return high > low ? [low, high] : [low, low * 10];
}

/** Powers of ten in [low, high]; with 2 and 5 between them when the range is under two decades. */
export function logTicks(low: number, high: number): number[] {
  const steps = Math.log10(high / low) < 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++)
    for (const step of steps) {
      const tick = step * 10 ** e;
      if (tick >= low * (1 - 1e-9) && tick <= high * (1 + 1e-9)) ticks.push(tick);
    }
  return ticks;
}

/** A tick as people write it: 0.5, 2, 1,000 (never 2.00). */
const tickLabel = (tick: number) => Number(tick.toPrecision(2)).toLocaleString('en-US', { maximumFractionDigits: 6 });

export function linePlot(plot: LinePlot): string {
  const points = plot.series.flatMap((s) => s.points).filter((p) => p.x > 0 && p.y > 0);
  if (points.length === 0) return '';
  const xs = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  const [x0, x1] = xs.length > 1 ? [xs[0]!, xs[xs.length - 1]!] : [xs[0]! / 2, xs[0]! * 2];
  const [y0, y1] = decades(points.map((p) => p.y));
  const { left, top, width, height, right, axis, legendRow } = PLOT;
  const sx = (x: number) => left + (Math.log10(x / x0) / Math.log10(x1 / x0)) * width;
  const sy = (y: number) => top + height - (Math.log10(y / y0) / Math.log10(y1 / y0)) * height;
  const parts: string[] = [];
  for (const y of logTicks(y0, y1)) {
    parts.push(
      `<line x1="${left}" x2="${left + width}" y1="${sy(y).toFixed(1)}" y2="${sy(y).toFixed(1)}" stroke="#e5e7eb"/>` +
        `<text x="${left - 6}" y="${(sy(y) + 4).toFixed(1)}" text-anchor="end" class="v">${escape(tickLabel(y))}</text>`,
    );
  }
  // The x axis is ticked at the sizes measured: those are the only places a line has a point.
  for (const x of xs) {
    parts.push(
      `<line x1="${sx(x).toFixed(1)}" x2="${sx(x).toFixed(1)}" y1="${top}" y2="${top + height}" stroke="#e5e7eb"/>` +
        `<text x="${sx(x).toFixed(1)}" y="${top + height + 16}" text-anchor="middle" class="v">` +
        `${escape(x.toLocaleString('en-US'))}</text>`,
    );
  }
  parts.push(
    `<text x="${left + width / 2}" y="${top + height + 34}" text-anchor="middle">${escape(plot.xLabel)} (log)</text>`,
    `<text x="12" y="${top + height / 2}" transform="rotate(-90 12 ${top + height / 2})" text-anchor="middle">` +
      `${escape(plot.yLabel)} (log)</text>`,
  );
  plot.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length];
    const drawn = series.points.filter((p) => p.x > 0 && p.y > 0);
    if (drawn.length > 1)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="` +
          `${drawn.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}"/>`,
      );
    for (const p of drawn)
      parts.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${color}">` +
          `<title>${escape(`${series.name}: ${valueLabel(p.y)} at ${p.x.toLocaleString('en-US')}`)}</title></circle>`,
      );
    const y = top + height + axis + 8 + i * legendRow;
    parts.push(
      `<rect x="${left}" y="${y - 9}" width="10" height="10" fill="${color}"/>` +
        `<text x="${left + 16}" y="${y}">${escape(series.name)}</text>`,
    );
  });
  const total = top + height + axis + 8 + plot.series.length * legendRow;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + right}" height="${total}" role="img">` +
    `${parts.join('')}</svg>`
  );
}
