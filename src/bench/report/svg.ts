// What the HTML report's inline SVG drawings share.

export const escape = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Series colours, told apart in print as on screen; a drawing with more series cycles through them. */
export const COLORS = [
  '#2563eb',
  '#f59e0b',
  '#10b981',
  '#ef4444',
  '#8b5cf6',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#78716c',
];

/** A value as a label: whole above 100, two decimals below. */
export const valueLabel = (value: number) =>
  value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2);
