'use strict';
// Number formatting shared by the CLI, the HTML report and leak-check messages, so a size
// reads the same everywhere.

/** Bytes in DevTools' units (1 kB = 1000 B). */
function formatBytes(n) {
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  if (v < 1000) return `${sign}${v} B`;
  for (const unit of ['kB', 'MB', 'GB', 'TB']) {
    v /= 1000;
    if (v < 1000 || unit === 'TB') return `${sign}${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${unit}`;
  }
  return `${n} B`;
}

/** An aligned text table: `columns` = [{ title, align: 'left'|'right' }], `rows` = arrays of strings. */
function table(columns, rows) {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((cell, i) => (columns[i].align === 'left' ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.title)), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `part` as a percentage of `whole` with one decimal (`12.5%`), or '' when `whole` is 0. */
function percent(part, whole) {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '';
}

module.exports = { formatBytes, table, percent };
