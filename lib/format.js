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

module.exports = { formatBytes };
