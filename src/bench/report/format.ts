// How the report writes numbers: one place, so every table reads alike.

/** Fixed digits; a dash for what was not measured. */
export const f = (n: number | undefined, digits = 2) =>
  n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits);

/** A whole number with thousands separators. */
export const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
