'use strict';
// The HTML report: one self-contained page (inline CSS, inline JS, inline SVG; no network, no
// external fonts, works from file://) with the snapshots' totals, the largest constructors of
// the last snapshot, the diff first -> last, and the leak groups with their retainer chains.
//
// Everything that comes from a heap (class names, property names, file paths) is untrusted
// text: it goes through esc() and nowhere else. As a second line of defence the page carries
// a Content-Security-Policy that allows no network at all and only the one inline script
// (by hash), so markup that slipped through could neither load anything nor run.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { invalidOption } = require('../errors');

const DEFAULT_TOP = 25;
const CHART_ROWS = 15;
/** Retainer chains longer than this show their first CHAIN_HEAD hops and the last ones. */
const CHAIN_HOPS = 30;
const CHAIN_HEAD = 10;
const DEFAULT_OUTPUT = 'heapsnap-report.html';

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** HTML-escapes text for element content and quoted attribute values. */
function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

const { formatBytes } = require('../format');
const { readMemoryRecord, outsideHeap } = require('./memory-record');
const int = (n) => Number(n).toLocaleString('en-US');
const signed = (n, fmt = int) => (n > 0 ? `+${fmt(n)}` : n < 0 ? `\u2212${fmt(-n)}` : fmt(0));
const pct = (part, whole) => (whole > 0 ? (100 * part) / whole : 0);
const fmtPct = (p) => (Math.abs(p) >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1));
const deltaClass = (n) => (n > 0 ? 'up' : n < 0 ? 'down' : 'zero');
const LABELS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Shortens long one-line text for display (the full text goes in a title attribute). */
function clip(s, max) {
  const one = String(s).replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}\u2026` : one;
}

/** A table cell with the raw value for sorting and the formatted one for reading. */
const num = (value, text, cls = '') => `<td class="n${cls ? ` ${cls}` : ''}" data-v="${esc(value)}">${esc(text)}</td>`;
const nameCell = (name, max = 70) => `<td class="name" data-v="${esc(name)}" title="${esc(name)}">${esc(clip(name, max))}</td>`;

function th(title, { numeric = false, sort } = {}) {
  return `<th${numeric ? ' class="n"' : ''}${sort ? ` data-sort="${sort}"` : ''} tabindex="0">${esc(title)}</th>`;
}

// ---- sections ----

// The process's memory from each snapshot's memory record, when any snapshot has one: the RSS
// and the part of it outside the JS heap, which no snapshot shows.
function memoryCells(files) {
  if (!files.some((f) => f.memory)) return null;
  return files.map((f) => {
    const split = f.memory && outsideHeap(f.memory);
    if (!split) return '<td class="n zero">\u2014</td><td class="n zero">\u2014</td>';
    const title = `external (Buffers, ArrayBuffers, addons) ${formatBytes(split.external)}; the rest (code, V8 and Node internals, native addons, stacks, allocator) ${formatBytes(split.other)}`;
    return `${num(f.memory.rss, formatBytes(f.memory.rss))}<td class="n" title="${esc(title)}">${esc(formatBytes(split.outside))} <small>(${esc(fmtPct(pct(split.outside, f.memory.rss)))}%)</small></td>`;
  });
}

function renderFiles(files) {
  const first = files[0];
  const memory = memoryCells(files);
  const rows = files.map((f, i) => {
    const growth = i === 0 ? null : f.totalSize - first.totalSize;
    return `<tr>
<td><span class="tag">${LABELS[i]}</span></td>
<td class="file" title="${esc(f.path)}">${esc(f.path)}</td>
${num(f.nodeCount, int(f.nodeCount))}
${num(f.edgeCount, int(f.edgeCount))}
${num(f.totalSize, formatBytes(f.totalSize))}
${growth === null
      ? '<td class="n zero">baseline</td>'
      : `<td class="n ${deltaClass(growth)}">${esc(signed(growth, formatBytes))} <small>(${esc(signed(pct(growth, first.totalSize), fmtPct))}%)</small></td>`}
${memory ? memory[i] : ''}
</tr>`;
  });
  const memoryHead = memory ? '<th class="n">RSS at dump</th><th class="n">Outside JS heap</th>' : '';
  const memoryNote = memory
    ? '<p class="note">RSS and its part outside the JS heap come from each snapshot\'s memory record (.memory.json beside it). Memory outside the JS heap (Buffers, ArrayBuffers, compiled code, native addons, allocator) is in no heap snapshot: a small snapshot of a large process is not a broken tool.</p>'
    : '';
  return `<table class="files">
<thead><tr><th></th><th>Snapshot</th><th class="n">Nodes</th><th class="n">Edges</th><th class="n">Total size</th><th class="n">Growth vs A</th>${memoryHead}</tr></thead>
<tbody>${rows.join('')}</tbody>
</table>${memoryNote}`;
}

function renderCards(files, diff, leaks) {
  const first = files[0];
  const last = files[files.length - 1];
  const span = `A\u2192${LABELS[files.length - 1]}`;
  const growth = last.totalSize - first.totalSize;
  const nodes = last.nodeCount - first.nodeCount;
  const cards = [
    `<div class="card"><div class="k">Heap ${span}</div><div class="v ${deltaClass(growth)}">${esc(signed(growth, formatBytes))}</div>
<div class="s">${esc(formatBytes(first.totalSize))} \u2192 ${esc(formatBytes(last.totalSize))} (${esc(signed(pct(growth, first.totalSize), fmtPct))}%)</div></div>`,
    `<div class="card"><div class="k">Objects ${span}</div><div class="v ${deltaClass(nodes)}">${esc(signed(nodes))}</div>
<div class="s">${esc(int(diff.addedCount))} new, ${esc(int(diff.removedCount))} deleted</div></div>`,
  ];
  if (leaks) {
    const retained = leaks.reduce((s, g) => s + g.retainedSize, 0);
    const objects = leaks.reduce((s, g) => s + g.count, 0);
    cards.push(`<div class="card${leaks.length ? ' alarm' : ''}"><div class="k">Leak candidates</div>
<div class="v ${leaks.length ? 'up' : 'ok'}">${leaks.length ? `${esc(int(leaks.length))} group${leaks.length > 1 ? 's' : ''}` : 'none'}</div>
<div class="s">${leaks.length ? `${esc(int(objects))} objects, ${esc(formatBytes(retained))} retained (sum)` : 'nothing allocated A\u2192B is alive in C'}</div></div>`);
  } else {
    cards.push(`<div class="card"><div class="k">Leak candidates</div><div class="v zero">\u2014</div>
<div class="s">needs three snapshots (A, B, C)</div></div>`);
  }
  return `<div class="cards">${cards.join('')}</div>`;
}

/** An edge label from the analyzer, `name (type)` or `[index] (type)`, split in two. */
function splitEdge(label) {
  const m = /^([\s\S]*) \(([a-z ]+)\)$/.exec(label);
  return m ? { name: m[1], type: m[2] } : { name: label, type: '' };
}

/**
 * A retainer path `["(GC roots)", node, (edge, node)*]` (the root's own edge is omitted by
 * the analyzer, so the first hop may have no edge), rendered one hop per line.
 */
function renderChain(group) {
  const p = group.retainerPath;
  if (!Array.isArray(p) || p.length === 0) return '<p class="muted">no retainer path</p>';
  const lines = [`<li class="root"><span class="node">${esc(p[0])}</span></li>`];
  let i = 1;
  if ((p.length - 1) % 2 === 1) {
    // A node directly under the root (the synthetic root edge is not shown).
    lines.push(hop(null, p[1], p.length === 2, group.name));
    i = 2;
  }
  // A path through a long linked list can have millions of hops: keep the page small by
  // showing the first and last hops (where the holder and the leak are) and counting the rest.
  const hops = [];
  for (; i + 1 < p.length; i += 2) hops.push(i);
  const shown = hops.length > CHAIN_HOPS ? [...hops.slice(0, CHAIN_HEAD), null, ...hops.slice(hops.length - (CHAIN_HOPS - CHAIN_HEAD))] : hops;
  for (const h of shown) {
    if (h === null) {
      lines.push(`<li class="skipped"><span class="muted">\u2026 ${esc(int(hops.length - CHAIN_HOPS))} more hops \u2026</span></li>`);
    } else {
      lines.push(hop(p[h], p[h + 1], h + 2 === p.length, group.name));
    }
  }
  return `<ol class="chain">${lines.join('')}</ol>`;
}

function hop(edge, node, isLast, leakName) {
  let edgeHtml = '';
  if (edge !== null) {
    const { name, type } = splitEdge(edge);
    edgeHtml = `<span class="edge" title="${esc(edge)}">${esc(clip(name, 60))}</span>${type ? `<span class="etype">${esc(type)}</span>` : ''}`;
  }
  const cls = isLast ? 'node target' : node === leakName ? 'node same' : 'node';
  return `<li${isLast ? ' class="last"' : ''}>${edgeHtml}<span class="arrow">\u2192</span><span class="${cls}" title="${esc(node)}">${esc(clip(node, 70))}</span></li>`;
}

// Where a leak group was allocated, when C has allocation traces (leakCheck({ stacks: true })).
function renderStacks(stacks) {
  if (!stacks || stacks.length === 0) return '';
  const stack = (s) => `<li><b>${esc(int(s.count))}</b> objects (${esc(formatBytes(s.size))}) allocated at:<ol class="stack">${s.frames
    .slice(0, 12)
    .map((f) => `<li><b>${esc(clip(f.functionName || '(anonymous)', 60))}</b> <small>${esc(clip(f.url ? `${f.url}:${f.line}:${f.column}` : 'native', 100))}</small></li>`)
    .join('')}</ol></li>`;
  return `<div class="via">Allocation stacks (innermost first; line:column where each function starts):</div><ol class="stacks">${stacks.slice(0, 3).map(stack).join('')}</ol>`;
}

function renderLeaks(leaks, top) {
  if (!leaks) {
    return '<p class="muted">Leak detection needs three snapshots of one process: A, then B after the suspect work, then C after more of it. Objects allocated between A and B that are still alive in C are the candidates.</p>';
  }
  if (leaks.length === 0) return '<p class="ok big">No leak candidates: nothing allocated between A and B is still alive in C.</p>';
  // Already ranked (lib/analyzer/analyze.js rankLeaks): groups held through another group are folded
  // into it as `holds`; user classes by retained size, runtime noise after them.
  const shown = leaks.slice(0, top);
  const cards = shown.map((g) => `<article class="leak${g.runtime ? ' runtime' : ''}" data-name="${esc(g.name)}">
<h3 title="${esc(g.name)}">${esc(clip(g.name, 80))}</h3>
<div class="stats"><span><b>${esc(int(g.count))}</b> objects</span><span><b>${esc(formatBytes(g.size))}</b> self</span><span><b>${esc(formatBytes(g.retainedSize))}</b> retained</span></div>
${g.runtime ? '<div class="note">Runtime objects (strings, compiled code, V8 internals): usually a consequence, not the thing to fix.</div>' : ''}
${g.holds && g.holds.length ? `<div class="holds">Also holding: ${g.holds.map((h) => `<b>${esc(int(h.count))}</b> ${esc(clip(h.name, 40))} (${esc(formatBytes(h.size))})`).join(', ')}</div>` : ''}
<div class="via">Retained via (from the GC roots, in C; user references preferred over internals):</div>
${renderChain(g)}
${renderStacks(g.allocationStacks)}
</article>`);
  const more = leaks.length > shown.length ? `<p class="muted">${esc(int(leaks.length - shown.length))} smaller groups not shown (raise --top).</p>` : '';
  return `<p class="muted">Objects allocated between A and B and still alive in C, by constructor: largest retained size first, runtime noise last; groups held through another group are listed under it.</p>
<div class="leaks">${cards.join('')}</div>${more}`;
}

function renderSummary(summary, top) {
  const rows = summary.constructors.slice(0, top).map((c) => {
    const share = pct(c.retainedSize, summary.totalSize);
    return `<tr data-name="${esc(c.name)}">${nameCell(c.name)}${num(c.count, int(c.count))}${num(c.selfSize, formatBytes(c.selfSize))}${num(c.retainedSize, formatBytes(c.retainedSize))}
<td class="share" data-v="${share}"><div class="bar"><i style="width:${Math.min(100, share).toFixed(2)}%"></i></div><span>${esc(fmtPct(share))}%</span></td></tr>`;
  });
  return `<table class="sortable">
<thead><tr>${th('Constructor', { sort: 'text' })}${th('Count', { numeric: true, sort: 'num' })}${th('Self size', { numeric: true, sort: 'num' })}${th('Retained size', { numeric: true, sort: 'num' })}${th('Share of total', { sort: 'num' })}</tr></thead>
<tbody>${rows.join('')}</tbody>
</table>${summary.constructors.length > top ? `<p class="muted">Top ${esc(int(top))} of ${esc(int(summary.constructors.length))} constructors by retained size.</p>` : ''}`;
}

function renderDiff(diff, top) {
  const sorted = [...diff.constructors].sort((x, y) => y.sizeDelta - x.sizeDelta);
  if (sorted.length === 0) return '<p class="muted">No object was added or removed.</p>';
  const rows = sorted.slice(0, top).map((c) => `<tr data-name="${esc(c.name)}">${nameCell(c.name)}${num(c.added, int(c.added))}${num(c.removed, int(c.removed))}${num(c.countDelta, signed(c.countDelta), deltaClass(c.countDelta))}${num(c.sizeDelta, signed(c.sizeDelta, formatBytes), deltaClass(c.sizeDelta))}</tr>`);
  return `<table class="sortable">
<thead><tr>${th('Constructor', { sort: 'text' })}${th('# New', { numeric: true, sort: 'num' })}${th('# Deleted', { numeric: true, sort: 'num' })}${th('# Delta', { numeric: true, sort: 'num' })}${th('Size delta', { numeric: true, sort: 'num' })}</tr></thead>
<tbody>${rows.join('')}</tbody>
</table>${sorted.length > top ? `<p class="muted">Top ${esc(int(top))} of ${esc(int(sorted.length))} changed constructors by size delta.</p>` : ''}`;
}

/** A round axis step (1, 2 or 5 times a power of ten) giving about `n` intervals up to `max`. */
function niceStep(max, n = 4) {
  const raw = max / n;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow;
}

/**
 * Hand-made horizontal bar chart (SVG) of the largest constructors by retained size. With
 * leak groups, the part of a bar retained by that class's leak candidates is drawn in red.
 */
function renderChart(summary, leaks) {
  const leaked = new Map((leaks || []).map((g) => [g.name, g.retainedSize]));
  const rows = summary.constructors.slice(0, CHART_ROWS);
  if (rows.length === 0) return '<p class="muted">No constructors.</p>';
  const W = 1100;
  const labelW = 290;
  const valueW = 150;
  const rowH = 28;
  const top = 6;
  const barW = W - labelW - valueW;
  const max = Math.max(1, ...rows.map((c) => c.retainedSize));
  const H = top + rows.length * rowH + 26;
  const step = niceStep(max);
  const ticks = [];
  for (let v = 0; v <= max; v += step) {
    const x = (labelW + (v / max) * barW).toFixed(1);
    ticks.push(`<line class="grid" x1="${x}" y1="${top - 4}" x2="${x}" y2="${H - 22}"/><text class="tick" x="${x}" y="${H - 6}" text-anchor="middle">${esc(formatBytes(v))}</text>`);
  }
  const bars = rows.map((c, i) => {
    const y = top + i * rowH;
    const w = Math.max(1, (c.retainedSize / max) * barW);
    const share = pct(c.retainedSize, summary.totalSize);
    const leak = leaked.get(c.name);
    const lw = leak ? Math.max(2, (Math.min(leak, c.retainedSize) / max) * barW) : 0;
    const fill = `hsl(${(221 - i * 2).toFixed(0)},${(83 - i * 2).toFixed(0)}%,${(53 + i * 1.8).toFixed(1)}%)`;
    const tip = `${c.name}: ${formatBytes(c.retainedSize)} retained (${fmtPct(share)}% of total), ${int(c.count)} objects${leak ? `; leak candidates retain ${formatBytes(leak)}` : ''}`;
    return `<g class="row"><title>${esc(tip)}</title>
<text class="label${leak ? ' leaking' : ''}" x="${labelW - 12}" y="${y + rowH / 2 + 4}" text-anchor="end">${esc(clip(c.name, 36))}</text>
<rect x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" rx="3" style="fill:${fill}"/>${leak ? `
<rect class="leakbar" x="${labelW}" y="${y + 4}" width="${lw.toFixed(1)}" height="${rowH - 8}" rx="3"/>` : ''}
<text class="value" x="${(labelW + w + 8).toFixed(1)}" y="${y + rowH / 2 + 4}">${esc(formatBytes(c.retainedSize))} \u00b7 ${esc(fmtPct(share))}%</text></g>`;
  });
  const legend = rows.some((c) => leaked.has(c.name)) ? '<p class="legend"><i></i>retained by leak candidates (allocated A\u2192B, still alive in C)</p>' : '';
  return `${legend}<svg class="chart" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="Largest constructors by retained size">${ticks.join('')}${bars.join('')}</svg>`;
}

// ---- page ----

const CSS = `
:root{--bg:#f4f6fa;--fg:#1f2328;--muted:#656d76;--line:#e3e7ee;--card:#fff;--up:#cf222e;--down:#1a7f37;--accent:#2563eb;
--edge-bg:#fff4d6;--edge-fg:#8a5a00;--leak-bg:#ffe4e6;--leak-fg:#be123c}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue","Liberation Sans","DejaVu Sans",Arial,sans-serif}
code,.mono,.chain,.file,td.name{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace}
header.top{background:#172554;color:#fff;padding:26px 0 22px}
.wrap{max-width:1200px;margin:0 auto;padding:0 28px}
header.top h1{margin:0;font-size:26px;font-weight:700;letter-spacing:-.01em;display:flex;align-items:center;gap:12px}
header.top h1 .logo{display:inline-block;width:28px;height:28px;border-radius:7px;background:linear-gradient(135deg,#60a5fa,#f472b6)}
header.top p{margin:6px 0 0;color:#c7d2fe}
nav{margin-top:14px;display:flex;gap:18px;flex-wrap:wrap;align-items:center}
nav a{color:#e0e7ff;text-decoration:none;font-weight:600}
nav a:hover{text-decoration:underline}
nav input{margin-left:auto;padding:6px 10px;border-radius:6px;border:1px solid #475569;background:#0b1220;color:#fff;min-width:260px;font:inherit}
nav input::placeholder{color:#94a3b8}
main.wrap{padding-top:22px;padding-bottom:28px}
section{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 22px;margin:0 0 20px;box-shadow:0 1px 2px rgba(15,23,42,.04)}
section h2{margin:0 0 10px;font-size:18px}
section h2 small{font-weight:400;color:var(--muted);font-size:13px;margin-left:8px}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:middle}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);font-weight:600;white-space:nowrap;user-select:none}
th[data-sort]{cursor:pointer}
th[data-sort]:hover{color:var(--fg)}
th.asc::after{content:" \\25B2";font-size:9px}
th.desc::after{content:" \\25BC";font-size:9px}
tbody tr:hover{background:#f8fafc}
td.n,th.n{text-align:right;white-space:nowrap}
td.name{max-width:520px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-size:13px}
td.file{word-break:break-all;font-size:13px}
.tag{display:inline-block;min-width:24px;text-align:center;border-radius:6px;background:#e0e7ff;color:#3730a3;font-weight:700;padding:1px 6px}
.up{color:var(--up);font-weight:600}
.down{color:var(--down);font-weight:600}
.zero{color:var(--muted)}
.ok{color:var(--down);font-weight:600}
.big{font-size:16px}
td.share{width:210px;white-space:nowrap}
.bar{display:inline-block;vertical-align:middle;width:140px;height:10px;border-radius:5px;background:#e8edf5;overflow:hidden;margin-right:8px}
.bar i{display:block;height:100%;background:linear-gradient(90deg,#3b82f6,#6366f1);border-radius:5px}
td.share span{display:inline-block;min-width:44px;text-align:right;color:var(--muted)}
.cards{display:grid;grid-template-columns:repeat(3,1fr);gap:14px;margin:18px 0 0}
.card{background:rgba(255,255,255,.08);border:1px solid rgba(255,255,255,.16);border-radius:10px;padding:12px 16px}
.card .k{font-size:12px;text-transform:uppercase;letter-spacing:.05em;color:#c7d2fe}
.card .v{font-size:26px;font-weight:700;margin:2px 0;color:#fff}
.card .v.up{color:#fda4af}.card .v.down,.card .v.ok{color:#86efac}.card .v.zero{color:#cbd5e1}
.card .s{color:#cbd5e1;font-size:13px}
.card.alarm{border-color:rgba(253,164,175,.6);background:rgba(190,18,60,.18)}
.leaks{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:14px}
.leak{border:1px solid var(--line);border-left:4px solid var(--leak-fg);border-radius:10px;padding:12px 14px;background:#fff}
.leak.runtime{border-left-color:#9ca3af}
.leak.runtime h3{color:#4b5563}
.note,.holds{font-size:12px;border-radius:4px;padding:2px 6px;margin-bottom:6px;display:inline-block}
.note{color:#374151;background:#f3f4f6}
.stacks,.stack{font-size:12px;margin:2px 0 6px 18px;padding:0}
.holds{color:#92400e;background:#fffbeb}
.leak h3{margin:0 0 4px;font-size:16px;color:var(--leak-fg);font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;overflow-wrap:anywhere}
.stats{display:flex;gap:16px;color:var(--muted);font-size:13px;margin-bottom:8px}
.stats b{color:var(--fg)}
.via{font-size:12px;color:var(--muted);margin-bottom:4px}
ol.chain{list-style:none;margin:0;padding:0 0 0 6px;font-size:12.5px}
ol.chain li{position:relative;padding:2px 0 2px 16px;border-left:2px solid #dbe2ea;display:flex;align-items:baseline;gap:6px;flex-wrap:wrap;overflow-wrap:anywhere}
ol.chain li::before{content:"";position:absolute;left:-5px;top:9px;width:8px;height:8px;border-radius:50%;background:#94a3b8}
ol.chain li.root::before{background:#0f172a}
ol.chain li.last{border-left-color:transparent}
ol.chain li.last::before{background:var(--leak-fg)}
.edge{background:var(--edge-bg);color:var(--edge-fg);border-radius:4px;padding:0 5px;font-weight:600}
.etype{color:var(--muted);font-size:11px}
.arrow{color:#94a3b8}
.node{color:#0b3d91}
.node.same{font-weight:700}
.node.target{background:var(--leak-bg);color:var(--leak-fg);font-weight:700;border-radius:4px;padding:0 6px}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font-size:13px;fill:#1f2328;font-family:inherit}
svg.chart text.label{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12.5px}
svg.chart text.value{fill:#475569;font-size:12px}
svg.chart text.tick{fill:#94a3b8;font-size:11px}
svg.chart line.grid{stroke:#e8edf5}
svg.chart text.leaking{fill:#be123c;font-weight:700}
svg.chart rect.leakbar{fill:#e11d48}
.legend{margin:-4px 0 6px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;background:#e11d48;margin-right:6px;vertical-align:-1px}
svg.chart g.row:hover rect{opacity:.8}
.hidden{display:none!important}
footer{color:var(--muted);font-size:12px;text-align:center;padding-bottom:24px}
@media (max-width:800px){.cards{grid-template-columns:1fr}.leaks{grid-template-columns:1fr}nav input{margin-left:0;min-width:0;width:100%}}
@media print{nav input{display:none}section{break-inside:avoid}}
`;

// Sortable tables (click a header) and the filter box. No data is embedded in the script:
// it reads the page, so it stays constant and its CSP hash is stable.
const JS = `
(function () {
  'use strict';
  function cmp(kind, asc) {
    return function (a, b) {
      var x = a[0], y = b[0], r;
      if (kind === 'num') r = Number(x) - Number(y);
      else r = x < y ? -1 : x > y ? 1 : 0;
      return asc ? r : -r;
    };
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    var heads = table.querySelectorAll('th[data-sort]');
    Array.prototype.forEach.call(heads, function (head, col) {
      function sort() {
        var asc = head.classList.contains('asc') ? false : head.classList.contains('desc') ? true : head.dataset.sort === 'text';
        Array.prototype.forEach.call(heads, function (h) { h.classList.remove('asc', 'desc'); });
        head.classList.add(asc ? 'asc' : 'desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.map.call(body.rows, function (row) { return [row.cells[col].dataset.v, row]; });
        rows.sort(cmp(head.dataset.sort, asc));
        rows.forEach(function (pair) { body.appendChild(pair[1]); });
      }
      head.addEventListener('click', sort);
      head.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
    });
  });
  var box = document.getElementById('filter');
  if (box) {
    box.addEventListener('input', function () {
      var q = box.value.trim().toLowerCase();
      Array.prototype.forEach.call(document.querySelectorAll('[data-name]'), function (el) {
        el.classList.toggle('hidden', q !== '' && el.dataset.name.toLowerCase().indexOf(q) < 0);
      });
    });
  }
  document.documentElement.setAttribute('data-js', 'ready');
})();
`;
const JS_HASH = crypto.createHash('sha256').update(JS).digest('base64');
const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${JS_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

function checkTop(fn, top) {
  if (top === undefined) return DEFAULT_TOP;
  if (!Number.isSafeInteger(top) || top < 1) throw invalidOption(`${fn}: top must be a positive integer, got ${top}`);
  return top;
}

function fileInfo(f, i) {
  if (typeof f === 'string') return { path: f, nodeCount: 0, edgeCount: 0, totalSize: 0 };
  if (f === null || typeof f !== 'object') throw invalidOption(`renderReport: files[${i}] must be an object or a path`);
  return { path: String(f.path ?? ''), nodeCount: f.nodeCount ?? 0, edgeCount: f.edgeCount ?? 0, totalSize: f.totalSize ?? 0, memory: f.memory ?? null };
}

/**
 * The report as one HTML string. `files`: `[{ path, nodeCount, edgeCount, totalSize, memory? }]` in
 * order (2 or more); `summary`: the last snapshot's summary (all constructors, or at least
 * `top`); `diff`: first -> last; `leaks`: the leak groups of three snapshots, or null.
 */
function renderReport({ files, summary, diff, leaks = null, top, generatedAt = new Date(), title } = {}) {
  if (!Array.isArray(files) || files.length === 0) throw invalidOption('renderReport: files must be a non-empty array');
  if (!summary || !Array.isArray(summary.constructors)) throw invalidOption('renderReport: summary must be a HeapSummary');
  if (!diff || !Array.isArray(diff.constructors)) throw invalidOption('renderReport: diff must be a HeapDiff');
  if (leaks !== null && !Array.isArray(leaks)) throw invalidOption('renderReport: leaks must be an array or null');
  const n = checkTop('renderReport', top);
  const infos = files.map(fileInfo);
  const diffLabel = `A \u2192 ${LABELS[infos.length - 1]}`;
  const pageTitle = title ?? `heapsnap report: ${infos.map((f) => path.basename(f.path)).join(', ')}`;
  const when = generatedAt instanceof Date && !Number.isNaN(generatedAt.getTime()) ? generatedAt.toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '';
  const leakCount = leaks ? leaks.length : null;
  // Counts from a diff taken with { ids: false }, or from its id lists.
  const diffD = { ...diff, addedCount: diff.addedCount ?? diff.addedIds?.length ?? 0, removedCount: diff.removedCount ?? diff.removedIds?.length ?? 0 };
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="generator" content="heapsnap">
<title>${esc(pageTitle)}</title>
<style>${CSS}</style>
</head>
<body>
<header class="top"><div class="wrap">
<h1><span class="logo"></span>heapsnap report</h1>
<p>${esc(int(infos.length))} snapshot${infos.length > 1 ? 's' : ''}${when ? ` \u00b7 generated ${esc(when)}` : ''}${leakCount !== null ? ` \u00b7 ${leakCount ? `<b>${esc(int(leakCount))} leak candidate group${leakCount > 1 ? 's' : ''}</b>` : 'no leak candidates'}` : ''}</p>
${renderCards(infos, diffD, leaks)}
<nav><a href="#snapshots">Snapshots</a><a href="#leaks">Leaks</a><a href="#chart">Chart</a><a href="#summary">Summary</a><a href="#diff">Diff</a>
<input id="filter" type="search" placeholder="Filter constructors\u2026" aria-label="Filter constructors" autocomplete="off"></nav>
</div></header>
<main class="wrap">
<section id="snapshots"><h2>Snapshots</h2>
${renderFiles(infos)}
</section>
<section id="leaks"><h2>Leak candidates<small>three-snapshot technique</small></h2>
${renderLeaks(leaks, n)}
</section>
<section id="chart"><h2>Largest constructors by retained size<small>${esc(LABELS[infos.length - 1])}: ${esc(path.basename(infos[infos.length - 1].path))}</small></h2>
${renderChart(summary, leaks)}
</section>
<section id="summary"><h2>Summary<small>${esc(LABELS[infos.length - 1])}, by retained size, total ${esc(formatBytes(summary.totalSize))}</small></h2>
${renderSummary(summary, n)}
</section>
<section id="diff"><h2>Diff ${esc(diffLabel)}<small>${esc(int(diffD.addedCount))} objects new, ${esc(int(diffD.removedCount))} deleted, by size delta</small></h2>
${renderDiff(diffD, n)}
</section>
</main>
<footer>Generated by heapsnap. Sizes in DevTools' units (1 kB = 1000 B); retained sizes follow DevTools' dominator tree.</footer>
<script>${JS}</script>
</body>
</html>
`;
}

async function readAll(files) {
  const { readSnapshotAsync } = require('./analyze');
  return Promise.all(files.map((f) => readSnapshotAsync(f)));
}

/** Everything renderReport needs, from loaded snapshots (oldest first). */
function analyzeForReport(snaps, { top } = {}) {
  const { leaks } = require('./analyze');
  const n = checkTop('writeReport', top);
  const summaries = snaps.map((s, i) => (i === snaps.length - 1 ? s.summary() : s.summary({ top: 0 })));
  const files = snaps.map((s, i) => ({
    path: s.path,
    nodeCount: summaries[i].nodeCount,
    edgeCount: summaries[i].edgeCount,
    totalSize: summaries[i].totalSize,
    memory: readMemoryRecord(s.path)?.record ?? null,
  }));
  const summary = summaries[summaries.length - 1];
  const diff = snaps[0].diff(snaps[snaps.length - 1], { ids: false });
  const leakGroups = snaps.length === 3 ? leaks(snaps[0], snaps[1], snaps[2]) : null;
  return { files, summary, diff, leaks: leakGroups, top: n };
}

/**
 * Reads 2 or 3 snapshots (oldest first), writes the report, resolves to
 * `{ path, leaks }` (absolute output path; leak groups, or null with two snapshots).
 */
async function writeReport(files, { output = DEFAULT_OUTPUT, top } = {}) {
  if (!Array.isArray(files) || files.length < 2 || files.length > 3 || !files.every((f) => typeof f === 'string' && f !== '')) {
    throw invalidOption('writeReport: files must be an array of 2 or 3 snapshot paths, oldest first');
  }
  if (typeof output !== 'string' || output === '') throw invalidOption('writeReport: output must be a non-empty string');
  checkTop('writeReport', top);
  const data = analyzeForReport(await readAll(files), { top });
  const out = path.resolve(output);
  await fs.promises.writeFile(out, renderReport(data));
  return { path: out, leaks: data.leaks };
}

module.exports = { renderReport, writeReport, analyzeForReport, formatBytes, esc, DEFAULT_OUTPUT, DEFAULT_TOP };
