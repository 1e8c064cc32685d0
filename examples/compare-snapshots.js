#!/usr/bin/env node
'use strict';
// Compares two heap snapshots: file sizes, heap totals and the constructors that grew most.
//
//   node examples/compare-snapshots.js before.heapsnapshot after.heapsnapshot.gz

const fs = require('fs');
const heapsnap = require('heapsnap');

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const signed = (n, fmt = String) => (n >= 0 ? `+${fmt(n)}` : `-${fmt(-n)}`);

function compare(fileA, fileB, { top = 10 } = {}) {
  const [a, b] = [heapsnap.readSnapshot(fileA), heapsnap.readSnapshot(fileB)];
  const [sa, sb] = [a.summary({ top: 0 }), b.summary({ top: 0 })];
  const rows = [
    ['', 'A', 'B', 'change'],
    ['file', mb(fs.statSync(fileA).size), mb(fs.statSync(fileB).size), signed(fs.statSync(fileB).size - fs.statSync(fileA).size, mb)],
    ['nodes', sa.nodeCount, sb.nodeCount, signed(sb.nodeCount - sa.nodeCount)],
    ['heap', mb(sa.totalSize), mb(sb.totalSize), signed(sb.totalSize - sa.totalSize, mb)],
  ];
  for (const row of rows) console.log(row.map((cell, i) => String(cell).padStart(i ? 12 : 6)).join(' '));

  const grown = a.diff(b).constructors.filter((c) => c.sizeDelta > 0).sort((x, y) => y.sizeDelta - x.sizeDelta).slice(0, top);
  console.log(`\nTop ${grown.length} constructors by growth (A -> B):`);
  for (const c of grown) {
    console.log(`  ${signed(c.sizeDelta, mb).padStart(11)}  ${signed(c.countDelta).padStart(7)} objects  ${c.name}`);
  }
  return grown;
}

module.exports = { compare };

if (require.main === module) {
  const [fileA, fileB] = process.argv.slice(2);
  if (!fileA || !fileB) {
    console.error('usage: node examples/compare-snapshots.js A.heapsnapshot B.heapsnapshot');
    process.exit(2);
  }
  compare(fileA, fileB);
}
