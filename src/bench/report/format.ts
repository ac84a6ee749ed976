// How the report writes numbers: one place, so every table reads alike.

/** Fixed digits; a dash for what was not measured. */
export const f = (n: number | undefined, digits = 2) =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);

/** A whole number with thousands separators. */
export const n0 = (n: number) => Math.round(n).toLocaleString('en-US');

/** Server CPU per successful call, in µs: cores busy over calls per second. */
export const cpuPerCall = (m: { serverCpu?: number; rps: { median: number } }) =>
  m.serverCpu === undefined || m.rps.median === 0 ? undefined : (m.serverCpu * 1e6) / m.rps.median;
