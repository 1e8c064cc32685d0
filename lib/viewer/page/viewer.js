'use strict';
// heapsnap view's page: Summary, Comparison, Growth and Dominators on top, the selected
// object's retainers and details below. It asks the server (lib/viewer/api.js) for one page
// of rows at a time and builds every row with textContent: names come from the heap, never
// as HTML. No framework, no build step, no network but the server that served it.

const PAGE = 100;
/** Levels of the retainers tree opened by themselves, along the first (preferred) retainer. */
const AUTO_EXPAND = 12;
/** Summary rows rendered at first (the rest behind a "more" row). */
const CLASS_ROWS = 500;
/** DevTools' baseSystemDistance: objects only V8's own roots reach. */
const SYSTEM_DISTANCE = 100000000;
/** DevTools' baseUnreachableDistance: holders only hidden retainers connect to the roots. */
const UNREACHABLE_DISTANCE = 2 * SYSTEM_DISTANCE;

const $ = (selector) => document.querySelector(selector);
// Sort keys start null: the analyzer's own order (Summary by retained size, Comparison by size
// delta, each with its tie-breaks), the same as the CLI's; a header click sorts here.
const state = { snapshots: [], hidden: new Map(), tab: 'summary', summarySort: { key: null, desc: true }, cmpSort: { key: null, desc: true }, selected: null, classFilter: '' };

// ---- server ----

async function api(route, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  const res = await fetch(`api/${route}?${query}`);
  const body = await res.json();
  if (!res.ok) {
    const err = new Error(body.message || res.statusText);
    err.code = body.code;
    err.status = res.status;
    throw err;
  }
  return body;
}

function showError(err) {
  const box = $('#error');
  box.textContent = `${err.code ? `${err.code}: ` : ''}${err.message}`;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 8000);
}

// ---- formatting and DOM helpers ----

const int = (n) => Number(n).toLocaleString('en-US');
const signed = (n) => (n > 0 ? `+${int(n)}` : int(n));

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function distanceText(d) {
  return d < 0 || d >= SYSTEM_DISTANCE ? '–' : int(d);
}

/** A size cell: exact bytes, and the share of `total` when given. */
function sizeCell(cls, bytes, total) {
  const td = el('td', { class: cls }, el('span', { class: 'num' }, int(bytes)));
  if (total) td.prepend(el('span', { class: 'pct' }, `${Math.round((bytes * 100) / total)}%`), ' ');
  return td;
}

/** How an object reads in a row: a string's value in quotes, a function's name(), else its class. */
function objectLabel(row) {
  const parts = [];
  if (row.nodeType === 'string') parts.push(el('span', { class: 'str' }, JSON.stringify(row.name)));
  else if (row.nodeType === 'closure') parts.push(`${row.name || '(anonymous)'}()`);
  else if (row.nodeType === 'concatenated string' || row.nodeType === 'sliced string') parts.push(el('span', { class: 'str' }, row.className));
  else parts.push(row.className);
  parts.push(' ', el('span', { class: 'id' }, `@${row.id}`));
  return parts;
}

function objectLink(s, row) {
  return el('a', { class: 'obj', dataset: { id: row.id }, onclick: () => select(s, row.id) }, ...objectLabel(row));
}

function toggle(tr, expandable) {
  const t = el('span', { class: 'toggle' }, expandable ? '▸' : '');
  if (expandable) t.addEventListener('click', (ev) => { ev.stopPropagation(); expand(tr); });
  return t;
}

// ---- trees in tables: rows know their children and how to fetch them ----

function removeChildren(tr) {
  for (const kid of tr.kids || []) {
    removeChildren(kid);
    kid.remove();
  }
  tr.kids = [];
}

/** Opens or closes `tr` (a row with `tr.load(offset)` -> { rows: [tr], total }). */
async function expand(tr, open = !tr.open) {
  const t = tr.querySelector('.toggle');
  if (!open) {
    removeChildren(tr);
    tr.open = false;
    if (t) t.textContent = '▸';
    return;
  }
  if (tr.open) return;
  tr.open = true;
  if (t) t.textContent = '▾';
  tr.kids = [];
  await loadMore(tr, 0);
}

/** Appends the page at `offset` of `tr`'s children (and a "more" row when there is more). */
async function loadMore(tr, offset) {
  let page;
  try {
    page = await tr.load(offset);
  } catch (err) {
    showError(err);
    return;
  }
  let after = tr.kids.length ? tr.kids[tr.kids.length - 1] : tr;
  for (const kid of page.rows) {
    after.after(kid);
    after = kid;
    tr.kids.push(kid);
  }
  const shown = offset + page.rows.length;
  if (shown < page.total) {
    const depth = Number(tr.dataset.depth || 0) + 1;
    const columns = tr.closest('table').tHead.rows[0].cells.length;
    const more = el('tr', { class: 'more' }, indent(el('td', { colspan: columns }, `${int(page.total - shown)} more… (show ${Math.min(PAGE, page.total - shown)})`), depth));
    more.addEventListener('click', () => {
      more.remove();
      tr.kids = tr.kids.filter((k) => k !== more);
      loadMore(tr, shown);
    });
    after.after(more);
    tr.kids.push(more);
  }
  return page;
}

function indent(td, depth) {
  td.style.paddingLeft = `${depth * 14 + 6}px`;
  return td;
}

/** A row for an object (instance, dominator tree node): label, distance, shallow, retained. */
function objectRow(s, row, depth, { total, expandable = false, load, prefix = [], gap = 0 } = {}) {
  const tr = el('tr', { class: 'object', dataset: { depth, id: row.id } });
  tr.append(
    indent(el('td', { class: 'left name' }, toggle(tr, expandable), ...prefix, ...objectLabel(row)), depth),
    el('td', { class: 'distance' }, distanceText(row.distance)),
    // `gap` empty cells for the columns a table has between distance and the sizes (Count).
    ...Array.from({ length: gap }, () => el('td')),
    sizeCell('self', row.selfSize, total),
    sizeCell('retained', row.retainedSize, total),
  );
  tr.addEventListener('click', () => select(s, row.id, tr));
  if (load) tr.load = load;
  return tr;
}

// ---- loading ----

async function boot() {
  for (;;) {
    let status;
    try {
      status = await api('status');
    } catch (err) {
      $('#loading-text').textContent = `The server stopped answering: ${err.message}`;
      return;
    }
    const list = $('#loading-list');
    const progress = (s) => (s.state === 'reading' && s.fileBytes > 0 ? ` ${Math.floor((100 * s.bytesRead) / s.fileBytes)}% of ${(s.fileBytes / 2 ** 20).toFixed(0)} MiB` : '');
    list.replaceChildren(...status.snapshots.map((s) => el('li', { class: s.state }, `${s.file}: ${s.state}${progress(s)}${s.ms !== null ? ` in ${(s.ms / 1000).toFixed(1)} s` : ''}${s.error ? ` (${s.error.code}: ${s.error.message})` : ''}`)));
    $('#loading-text').textContent = `Loading ${status.snapshots.length} snapshot${status.snapshots.length > 1 ? 's' : ''}… ${(status.elapsedMs / 1000).toFixed(0)} s`;
    if (status.snapshots.some((s) => s.state === 'failed')) {
      $('#loading-text').textContent = 'A snapshot failed to load.';
      return;
    }
    if (status.ready) {
      state.snapshots = status.snapshots;
      break;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  const names = state.snapshots.map((s) => s.file.split('/').pop());
  $('#files').textContent = names.join(' · ');
  $('#files').title = state.snapshots.map((s) => s.file).join('\n');
  for (const id of ['#summary-snapshot', '#dom-snapshot', '#cmp-target', '#cmp-base']) {
    $(id).replaceChildren(...names.map((n, i) => el('option', { value: i }, `${i + 1}: ${n}`)));
  }
  const last = state.snapshots.length - 1;
  $('#summary-snapshot').value = last;
  $('#dom-snapshot').value = last;
  $('#cmp-target').value = last;
  $('#cmp-base').value = Math.max(0, last - 1);
  if (state.snapshots.length > 1) {
    document.querySelector('[data-tab="comparison"]').hidden = false;
    document.querySelector('[data-tab="growth"]').hidden = false;
  }
  if (state.snapshots.length === 3) document.querySelector('[data-tab="leaks"]').hidden = false;
  $('#loading').hidden = true;
  $('#main').hidden = false;
  await showSummary();
  // With two or three snapshots the first screen answers "what grows, and who holds it".
  if (state.snapshots.length > 1) showTab('growth');
  document.body.dataset.ready = 'true';
}

function showTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === tab);
  for (const v of document.querySelectorAll('.view')) v.hidden = v.id !== `view-${tab}`;
  if (tab === 'comparison') showComparison();
  if (tab === 'leaks') showLeaks();
  if (tab === 'growth') showGrowth();
  if (tab === 'dominators') showDominators();
}

// ---- Summary ----

const summaries = new Map();

async function summaryOf(s) {
  if (!summaries.has(s)) summaries.set(s, await api('summary', { s }));
  return summaries.get(s);
}

function sortRows(rows, { key, desc }) {
  if (key === null) return rows;
  const dir = desc ? -1 : 1;
  return [...rows].sort((x, y) => {
    const a = x[key];
    const b = y[key];
    const c = typeof a === 'string' ? a.localeCompare(b) : a - b;
    return c * dir || x.name.localeCompare(y.name);
  });
}

/** The server's sort for instances when the Summary is sorted by `key`. */
function instanceSort({ key, desc }) {
  if (key === null) return { sort: 'retainedSize', desc: 1 };
  return { sort: { name: 'id', count: 'retainedSize' }[key] || key, desc: desc ? 1 : 0 };
}

async function showSummary() {
  const s = Number($('#summary-snapshot').value);
  // A later call (another filter keystroke, sort or snapshot) supersedes this one.
  const generation = (state.summaryGeneration = (state.summaryGeneration || 0) + 1);
  const summary = await summaryOf(s);
  if (generation !== state.summaryGeneration) return;
  $('#summary-totals').textContent = `${int(summary.nodeCount)} nodes, ${int(summary.edgeCount)} edges, total ${int(summary.totalSize)} bytes`;
  const filter = state.classFilter.toLowerCase();
  const rows = sortRows(summary.classes.filter((c) => !filter || c.name.toLowerCase().includes(filter)), state.summarySort);
  const tbody = $('#summary-table tbody');
  tbody.replaceChildren();
  const render = (from) => {
    for (const c of rows.slice(from, from + CLASS_ROWS)) tbody.append(classRow(s, c, summary.totalSize));
    if (rows.length > from + CLASS_ROWS) {
      const more = el('tr', { class: 'more' }, el('td', { colspan: 5 }, `${int(rows.length - from - CLASS_ROWS)} more classes…`));
      more.addEventListener('click', () => { more.remove(); render(from + CLASS_ROWS); });
      tbody.append(more);
    }
  };
  render(0);
}

function classRow(s, c, total) {
  const tr = el('tr', { class: 'class', dataset: { depth: 0, key: c.key, name: c.name } });
  tr.append(
    el('td', { class: 'left name', title: c.name }, toggle(tr, true), c.name),
    el('td', { class: 'distance' }, distanceText(c.distance)),
    el('td', { class: 'count' }, el('span', { class: 'num' }, int(c.count))),
    sizeCell('self', c.selfSize, total),
    sizeCell('retained', c.retainedSize, total),
  );
  tr.addEventListener('click', () => expand(tr));
  tr.load = async (offset) => {
    const page = await api('instances', { s, key: c.key, offset, ...instanceSort(state.summarySort) });
    return { total: page.total, rows: page.rows.map((r) => objectRow(s, r, 1, { total, gap: 1 })) };
  };
  return tr;
}

function sortable(table, sortState, rerender) {
  for (const th of table.querySelectorAll('th[data-sort]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.sort;
      sortState.desc = sortState.key === key ? !sortState.desc : key !== 'name' && key !== 'distance';
      sortState.key = key;
      for (const other of table.querySelectorAll('th')) other.classList.remove('sorted', 'asc', 'desc');
      th.classList.add('sorted', sortState.desc ? 'desc' : 'asc');
      rerender();
    });
  }
}

// ---- selection: retainers and details ----

async function select(s, id, tr) {
  document.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
  if (tr) tr.classList.add('selected');
  state.selected = { s, id };
  $('#retainers-of').textContent = `of @${id}${state.snapshots.length > 1 ? ` in snapshot ${s + 1}` : ''}`;
  await Promise.all([showRetainers(s, id), showDetails(s, id)]);
}

function retainerRow(s, edge, depth, ancestors) {
  const row = edge.node;
  const cycle = ancestors.includes(row.id);
  const tr = el('tr', { class: `retainer${edge.weak ? ' weak' : ''}`, dataset: { depth, id: row.id, edge: edge.edgeName } });
  const label = [
    el('span', { class: 'edge' }, edge.edgeType === 'element' ? `[${edge.edgeName}]` : edge.edgeName),
    ' in ',
    ...objectLabel(row),
  ];
  if (edge.weak) label.push(el('span', { class: 'tag', title: 'a weak edge: it does not keep the object alive' }, 'weak'));
  if (edge.preferred) label.push(el('span', { class: 'tag preferred', title: 'on the preferred path from the GC roots (user references before V8 and Node internals)' }, 'path'));
  if (cycle) label.push(el('span', { class: 'tag' }, 'cycle'));
  if (state.hidden.get(s)?.has(row.id)) {
    tr.classList.add('weak');
    label.push(el('span', { class: 'tag', title: 'hidden: its holders are ranked as if it held nothing' }, 'hidden'));
  }
  label.push(el('button', {
    class: 'hide',
    title: 'hide this retainer: rank the others as if it did not hold anything (DevTools\' "ignore this retainer")',
    onclick: (ev) => { ev.stopPropagation(); hideRetainer(s, row.id); },
  }, 'hide'));
  tr.append(
    indent(el('td', { class: 'left name' }, toggle(tr, !cycle), ...label), depth),
    el('td', { class: 'distance' }, distanceText(row.distance)),
    sizeCell('self', row.selfSize),
    sizeCell('retained', row.retainedSize),
  );
  const path = [...ancestors, row.id];
  tr.load = async (offset) => {
    const page = await api('retainers', { s, id: row.id, offset, ignore: hiddenParam(s) });
    return { total: page.total, rows: page.rows.map((e) => retainerRow(s, e, depth + 1, path)) };
  };
  // A click here shows the holder's details; the tree stays rooted at the selected object.
  tr.addEventListener('click', () => {
    document.querySelectorAll('#retainers-table tr.selected').forEach((r) => r.classList.remove('selected'));
    tr.classList.add('selected');
    showDetails(s, row.id);
  });
  tr.preferred = edge.preferred && !cycle;
  // With retainers hidden, the way on is the first strong holder still connected to the roots.
  tr.reachable = !edge.weak && !cycle && row.distance < UNREACHABLE_DISTANCE;
  return tr;
}

async function showRetainers(s, id) {
  const tbody = $('#retainers-table tbody');
  tbody.replaceChildren();
  const root = el('tr', { hidden: '' });
  root.dataset.depth = -1;
  root.kids = [];
  root.load = async (offset) => {
    const page = await api('retainers', { s, id, offset, ignore: hiddenParam(s) });
    return { total: page.total, rows: page.rows.map((e) => retainerRow(s, e, 0, [id])) };
  };
  showHidden(s);
  tbody.append(root);
  await loadMore(root, 0);
  if (root.kids.length === 0) tbody.append(el('tr', {}, el('td', { colspan: 4, class: 'note' }, 'Nothing holds this object (a GC root, or garbage).')));
  // Open the preferred path from the object toward the GC roots, as DevTools opens the first retainers.
  let level = root.kids;
  for (let depth = 0; depth < AUTO_EXPAND; depth++) {
    const next = level.find((tr) => tr.preferred) ?? (hiddenParam(s) ? level.find((tr) => tr.dataset.depth !== undefined && tr.reachable) : undefined);
    if (!next || state.selected.id !== id) break;
    await expand(next, true);
    level = next.kids;
  }
}

function hiddenParam(s) {
  const set = state.hidden.get(s);
  return set && set.size ? [...set].join(',') : undefined;
}

/** Hides retainer `id` in snapshot `s` and redraws the tree of the selected object. */
function hideRetainer(s, id) {
  if (!state.hidden.has(s)) state.hidden.set(s, new Set());
  state.hidden.get(s).add(id);
  if (state.selected) showRetainers(state.selected.s, state.selected.id);
}

/** The hidden retainers of snapshot `s`, each with a button to show it again. */
function showHidden(s) {
  const set = state.hidden.get(s) || new Set();
  const box = $('#retainers-hidden');
  if (set.size === 0) return box.replaceChildren();
  const unhide = (ids) => {
    for (const id of ids) set.delete(id);
    showRetainers(state.selected.s, state.selected.id);
  };
  box.replaceChildren(
    `· hidden: `,
    ...[...set].map((id) => el('button', { title: 'show it again', dataset: { id }, onclick: () => unhide([id]) }, `@${id} ×`)),
    el('button', { class: 'unhide-all', onclick: () => unhide([...set]) }, 'show all'),
  );
}

function section(title, ...content) {
  return el('div', { class: 'section' }, el('h3', {}, title), ...content);
}

function pairTable(rows) {
  return el('table', {}, el('tbody', {}, ...rows.map(([k, v]) => el('tr', {}, el('td', { class: 'left' }, ...[].concat(k)), el('td', { class: 'left' }, ...[].concat(v))))));
}

async function showDetails(s, id) {
  const box = $('#details');
  let d;
  try {
    d = await api('details', { s, id });
  } catch (err) {
    box.replaceChildren(el('p', { class: 'note' }, err.message));
    return;
  }
  const n = d.node;
  const parts = [
    el('dl', {},
      el('dt', {}, 'Object'), el('dd', { class: 'title' }, ...objectLabel(n)),
      el('dt', {}, 'Class'), el('dd', {}, n.className),
      el('dt', {}, 'Type'), el('dd', {}, n.nodeType),
      el('dt', {}, 'Shallow size'), el('dd', { class: 'self' }, `${int(n.selfSize)} bytes`),
      el('dt', {}, 'Retained size'), el('dd', { class: 'retained' }, `${int(n.retainedSize)} bytes`),
      el('dt', {}, 'Distance'), el('dd', {}, distanceText(n.distance)),
      el('dt', {}, 'Dominates'), el('dd', {}, `${int(n.dominated)} objects directly`)),
  ];
  if (d.string) {
    const len = d.string.length === null ? 'length unknown' : `length ${int(d.string.length)}${d.string.length >= 1024 ? ' (V8 writes at most 1024 characters of a string)' : ''}`;
    const pre = el('pre', { class: 'value' }, d.string.value);
    const note = el('div', { class: 'note' }, `${len}${d.string.complete ? '' : '; the analyzer keeps the first bytes of long values'}`);
    if (!d.string.complete && n.nodeType === 'string') {
      note.append(' ', el('button', {
        class: 'full-string',
        onclick: async (ev) => {
          ev.target.disabled = true;
          ev.target.textContent = 'reading the file…';
          try {
            const { value } = await api('string', { s, id });
            if (value !== null) pre.textContent = value;
            ev.target.replaceWith('(the whole value, read back from the file)');
          } catch (err) {
            showError(err);
            ev.target.remove();
          }
        },
      }, 'Show all of it'));
    }
    parts.push(section('String value', pre, note));
  }
  if (d.source) {
    parts.push(section('Source', el('div', {}, `${d.source.url || `script ${d.source.scriptId}`}:${d.source.line}:${d.source.column}`)));
  }
  if (d.context && d.context.length) {
    parts.push(section('Closure variables', pairTable(d.context.map((b) => [`${b.name}${b.depth ? ` (outer ${b.depth})` : ''}`, objectLink(s, b.value)]))));
  }
  if (d.entries) {
    const missing = el('span', { class: 'note' }, '(not an object)');
    parts.push(section(`${d.entries.kind} entries: ${int(d.entries.count)}`, pairTable(d.entries.rows.map((e) => [
      e.key ? objectLink(s, e.key) : missing.cloneNode(true),
      d.entries.kind === 'Map' ? ['→ ', e.value ? objectLink(s, e.value) : missing.cloneNode(true)] : '',
    ]))));
  }
  if (d.elements) {
    parts.push(section(`Array elements that are objects: ${int(d.elements.count)}`, pairTable(d.elements.rows.map((b) => [`[${b.name}]`, objectLink(s, b.value)]))));
  }
  if (d.listeners && d.listeners.length) {
    parts.push(section('Listeners by event', pairTable(d.listeners.map((l) => [l.event, l.functions.flatMap((f, i) => (i ? [', ', objectLink(s, f)] : [objectLink(s, f)]))]))));
  }
  if (d.allocationStack) {
    parts.push(section('Allocated at', el('pre', { class: 'value' }, d.allocationStack.map((f) => `${f.functionName || '(anonymous)'} ${f.url}:${f.line}:${f.column}`).join('\n'))));
  }
  const edges = await api('edges', { s, id, limit: PAGE });
  parts.push(section(`Holds (${int(edges.total)} edges${edges.total > edges.rows.length ? `, first ${edges.rows.length}` : ''})`, pairTable(edges.rows.map((e) => [
    el('span', { class: e.weak ? 'edge weak' : 'edge' }, `${e.edgeType === 'element' ? `[${e.edgeName}]` : e.edgeName} (${e.edgeType})`),
    objectLink(s, e.node),
  ]))));
  box.replaceChildren(...parts);
}

// ---- Comparison ----

const diffs = new Map();

async function showComparison() {
  const a = Number($('#cmp-base').value);
  const b = Number($('#cmp-target').value);
  const key = `${a},${b}`;
  if (!diffs.has(key)) diffs.set(key, await api('diff', { a, b }));
  const d = diffs.get(key);
  $('#cmp-totals').textContent = `${int(d.addedCount)} new, ${int(d.removedCount)} deleted objects`;
  const tbody = $('#comparison-table tbody');
  tbody.replaceChildren(...sortRows(d.constructors, state.cmpSort).map((c) => comparisonRow(a, b, c)));
}

function comparisonRow(a, b, c) {
  const tr = el('tr', { class: 'class', dataset: { depth: 0, name: c.name } });
  const delta = (n) => el('td', { class: n > 0 ? 'grow' : n < 0 ? 'shrink' : '' }, el('span', { class: 'num' }, signed(n)));
  tr.append(
    el('td', { class: 'left name', title: c.name }, toggle(tr, c.added + c.removed > 0), c.name),
    el('td', { class: 'added' }, el('span', { class: 'num' }, int(c.added))),
    el('td', { class: 'removed' }, el('span', { class: 'num' }, int(c.removed))),
    delta(c.countDelta),
    el('td', { class: 'added-size' }, el('span', { class: 'num' }, int(c.addedSize))),
    el('td', { class: 'removed-size' }, el('span', { class: 'num' }, int(c.removedSize))),
    delta(c.sizeDelta),
  );
  tr.lastChild.classList.add('size-delta');
  tr.children[3].classList.add('count-delta');
  const loc = c.location ? `${c.location.scriptId},${c.location.line},${c.location.column}` : undefined;
  // New objects are in b and not in a; deleted ones the other way round (shown from a).
  const objects = (kind, depth) => async (offset) => {
    const [base, other] = kind === 'new' ? [a, b] : [b, a];
    const page = await api('objects', { a: base, b: other, name: c.name, loc, offset, sort: 'retainedSize', desc: 1 });
    return { total: page.total, rows: page.rows.map((r) => changedObjectRow(other, r, kind, depth)) };
  };
  const kinds = [c.added > 0 && 'new', c.removed > 0 && 'deleted'].filter(Boolean);
  if (kinds.length) tr.addEventListener('click', () => expand(tr));
  // One kind: its objects right under the class; both: a group row for each.
  tr.load = kinds.length === 1 ? objects(kinds[0], 1) : async () => ({ total: kinds.length, rows: kinds.map((kind) => changeGroupRow(kind, kind === 'new' ? c.added : c.removed, objects(kind, 2))) });
  return tr;
}

function changeGroupRow(kind, count, load) {
  const tr = el('tr', { class: `change-group ${kind}`, dataset: { depth: 1, kind } });
  tr.append(indent(el('td', { class: 'left name', colspan: 7 }, toggle(tr, true), `${kind === 'new' ? 'New' : 'Deleted'} objects: ${int(count)}`), 1));
  tr.addEventListener('click', () => expand(tr));
  tr.load = load;
  return tr;
}

/** A new (or deleted) object under its Comparison row, its shallow size under Alloc. (Freed) size. */
function changedObjectRow(s, row, kind, depth) {
  const tr = el('tr', { class: `object ${kind}`, dataset: { depth, id: row.id } });
  const size = sizeCell(kind === 'new' ? 'added-size' : 'removed-size', row.selfSize);
  tr.append(
    indent(el('td', { class: 'left name' }, toggle(tr, false), el('span', { class: 'tag' }, kind), ' ', ...objectLabel(row)), depth),
    el('td'), el('td'), el('td'),
    kind === 'new' ? size : el('td'),
    kind === 'new' ? el('td') : size,
    el('td'),
  );
  tr.addEventListener('click', () => select(s, row.id, tr));
  return tr;
}

// ---- Leaks (three snapshots): `heapsnap leaks`' groups, each with its path and stack ----

let leakGroups;

async function showLeaks() {
  leakGroups ??= (await api('leaks', { a: 0, b: 1, c: 2 })).leaks;
  const tbody = $('#leaks-table tbody');
  if (leakGroups.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 4, class: 'note' }, 'No leak candidates: nothing allocated between snapshots 1 and 2 is still alive in 3.')));
    return;
  }
  tbody.replaceChildren(...leakGroups.map((g) => leakRow(g)));
}

function leakRow(g) {
  const tr = el('tr', { class: `class leak${g.runtime ? ' weak' : ''}`, dataset: { depth: 0, name: g.name } });
  tr.append(
    el('td', { class: 'left name', title: g.name }, toggle(tr, true), g.name, g.runtime ? el('span', { class: 'tag' }, 'runtime') : null),
    el('td', { class: 'count' }, el('span', { class: 'num' }, int(g.count))),
    el('td', { class: 'self' }, el('span', { class: 'num' }, int(g.size))),
    el('td', { class: 'retained' }, el('span', { class: 'num' }, int(g.retainedSize))),
  );
  tr.addEventListener('click', () => {
    expand(tr);
    select(2, g.representativeId);
  });
  // Its explanation, as rows: what it also holds, the retainer path, the top allocation stack.
  tr.load = async () => {
    const line = (...content) => el('tr', { class: 'leak-detail' }, indent(el('td', { colspan: 4, class: 'left' }, ...content), 1));
    const rows = [];
    if (g.holds.length) rows.push(line('also holding: ', g.holds.map((h) => `${int(h.count)} ${h.name}`).join(', ')));
    rows.push(line(el('span', { class: 'note' }, 'retained via'), el('pre', { class: 'value' }, g.retainerPath.join('\n  → '))));
    const [stack] = g.allocationStacks;
    if (stack) rows.push(line(el('span', { class: 'note' }, `allocated (${int(stack.count)} of them) at`), el('pre', { class: 'value' }, stack.frames.map((f) => `${f.functionName || '(anonymous)'} ${f.url}:${f.line}:${f.column}`).join('\n'))));
    return { total: rows.length, rows };
  };
  return tr;
}

// ---- Growth by holder: the first screen with two or three snapshots ----

let growthRows;

async function showGrowth() {
  const n = state.snapshots.length;
  growthRows ??= (await api('growth', { a: 0, b: 1, c: n > 2 ? 2 : undefined })).rows;
  const tbody = $('#growth-table tbody');
  if (growthRows.length === 0) {
    tbody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'note' }, `No collection grew in every interval from snapshot 1 to ${n}. Comparison shows growth by constructor.`)));
    return;
  }
  tbody.replaceChildren(...growthRows.map((h) => growthRow(h, n - 1)));
}

/** One growing holder: its entries per snapshot, what the growth keeps alive; its path on expand. */
function growthRow(h, s) {
  const tr = el('tr', { class: 'class holder', dataset: { depth: 0, name: h.name, id: h.id } });
  tr.append(
    el('td', { class: 'left name', title: h.name }, toggle(tr, true), h.name, ' ', el('span', { class: 'tag' }, h.className)),
    el('td', { class: 'entries' }, el('span', { class: 'num' }, h.entries.map(int).join(' → '))),
    el('td', { class: 'entries-growth' }, el('span', { class: 'num' }, `+${int(h.entriesGrowth)}`)),
    el('td', { class: 'size-growth' }, el('span', { class: 'num' }, `${h.sizeGrowth >= 0 ? '+' : ''}${int(h.sizeGrowth)}`)),
    el('td', { class: 'added-retained' }, el('span', { class: 'num' }, int(h.addedRetainedSize))),
    el('td', { class: 'retained' }, el('span', { class: 'num' }, int(h.retainedSize))),
  );
  tr.addEventListener('click', () => {
    expand(tr);
    select(s, h.id);
  });
  tr.load = async () => ({
    total: 1,
    rows: [el('tr', { class: 'leak-detail' }, indent(el('td', { colspan: 6, class: 'left' }, el('span', { class: 'note' }, 'held via'), el('pre', { class: 'value' }, h.retainerPath.join('\n  → '))), 1))],
  });
  return tr;
}

// ---- Dominators ----

function dominatorLoader(s, id, depth, total) {
  return async (offset) => {
    const page = await api('dominated', { s, id, offset });
    return { total: page.total, rows: page.rows.map((r) => objectRow(s, r, depth, { total, expandable: r.dominated > 0, load: dominatorLoader(s, r.id, depth + 1, total) })) };
  };
}

async function showDominators() {
  const s = Number($('#dom-snapshot').value);
  const summary = await summaryOf(s);
  const tbody = $('#dominators-table tbody');
  tbody.replaceChildren();
  const root = el('tr', { hidden: '' });
  root.dataset.depth = -1;
  root.kids = [];
  root.load = dominatorLoader(s, undefined, 0, summary.totalSize);
  tbody.append(root);
  await loadMore(root, 0);
}

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));
  $('#summary-snapshot').addEventListener('change', showSummary);
  $('#dom-snapshot').addEventListener('change', showDominators);
  $('#cmp-base').addEventListener('change', showComparison);
  $('#cmp-target').addEventListener('change', showComparison);
  let filterTimer;
  $('#class-filter').addEventListener('input', (ev) => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { state.classFilter = ev.target.value; showSummary(); }, 150);
  });
  sortable($('#summary-table'), state.summarySort, showSummary);
  sortable($('#comparison-table'), state.cmpSort, showComparison);
  $('#search').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = $('#search-id').value.trim().replace(/^@/, '');
    if (!/^\d+$/.test(text)) return showError(new Error(`'${text}' is not an object id (@12345)`));
    const s = state.tab === 'comparison' ? Number($('#cmp-target').value) : state.tab === 'dominators' ? Number($('#dom-snapshot').value) : Number($('#summary-snapshot').value);
    try {
      await api('node', { s, id: text });
      await select(s, Number(text));
    } catch (err) {
      showError(err);
    }
  });
  boot().catch(showError);
});
