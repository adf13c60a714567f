// Query: a PromQL expression as an instant table (/api/v1/query) or a range
// graph (/api/v1/query_range) drawn by graph.js.

import { h, select, empty, fill } from '../dom.js';
import { get, promAPI } from '../api.js';
import { num, seriesName, parseDuration, duration, localInput, stamp } from '../format.js';
import { Graph, prepare } from '../graph.js';

const RANGES = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '1d', '2d', '1w'];
const TABLE_ROWS = 1000;

// The editor bundle starts loading with the console, so it is there by the
// time the query page opens; null when it cannot load (plain textarea).
let editorLib = null;
const editorLoad = import('../vendor/promql-editor.js').then((m) => (editorLib = m)).catch((e) => {
  console.warn('PromQL editor not loaded; plain text field', e);
  return null;
});

export default function queryPage(ctx) {
  const p = ctx.params;
  const st = {
    expr: p.get('expr') || '',
    tab: p.get('tab') || 'graph',
    range: p.get('range') || '1h',
    end: p.get('end') || '',
    step: p.get('step') || '',
  };
  let graph = null;
  let ran = !!st.expr;

  const exprIn = h('textarea', { id: 'query-expr', 'aria-label': 'PromQL expression', class: 'mono', rows: 2, spellcheck: 'false', placeholder: 'PromQL, e.g. rate(prometheus_http_requests_total[5m])  —  Enter runs, Shift+Enter adds a line' });
  exprIn.value = st.expr;
  // The PromQL editor (CodeMirror with Prometheus' PromQL support, bundled
  // in the assets) replaces the textarea: at once when the bundle is loaded
  // (it starts loading with the console), else when it arrives — but never
  // under the operator's keystrokes: a focused textarea is swapped on blur.
  let editor = null;
  const input = () => editor || exprIn;
  const exprBox = h('div', { class: 'expr-box', dataset: { editor: 'textarea' } }, exprIn);
  const swap = (lib) => {
    if (editor) return;
    const v = exprIn.value;
    exprIn.removeAttribute('id');
    exprIn.remove();
    editor = lib.createEditor(exprBox, {
      value: v, hint: exprIn.placeholder, id: 'query-expr', label: 'PromQL expression',
      baseURL: new URL('.', document.baseURI).href.replace(/\/$/, ''),
      onEnter: () => run(),
    });
    exprBox.dataset.editor = 'codemirror';
  };
  if (editorLib) swap(editorLib);
  else {
    editorLoad.then((lib) => {
      if (!lib) return;
      if (document.activeElement === exprIn) exprIn.addEventListener('blur', () => swap(lib), { once: true });
      else swap(lib);
    });
  }
  const runBtn = h('button', { type: 'button', class: 'btn primary', id: 'query-run' }, 'Execute');
  const tabs = h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Result view' });
  const ranges = RANGES.includes(st.range) || isNaN(parseDuration(st.range)) ? RANGES : [...RANGES, st.range].sort((x, y) => parseDuration(x) - parseDuration(y));
  const rangeSel = select({ id: 'query-range', title: 'Range', 'aria-label': 'Range' }, ranges.map((r) => [r, r]), st.range);
  const endIn = h('input', { type: 'datetime-local', id: 'query-end', title: 'End time (empty: now)', 'aria-label': 'End time', value: st.end ? localInput(new Date(+st.end * 1000)) : '' });
  const stepIn = h('input', { id: 'query-step', 'aria-label': 'Step', size: 6, placeholder: 'auto', title: 'Resolution (step), e.g. 15s', value: st.step });
  const controls = h('div', { class: 'toolbar graph-controls' }, h('span', { class: 'muted' }, 'Range'), rangeSel, h('span', { class: 'muted' }, 'End'), endIn,
    h('button', { type: 'button', class: 'btn small ghost', title: 'End now', onclick: () => { endIn.value = ''; run(); } }, 'Now'),
    h('span', { class: 'muted' }, 'Step'), stepIn);
  const stats = h('div', { class: 'muted small', id: 'query-stats' });
  const out = h('div', { class: 'query-out', id: 'query-out', role: 'tabpanel' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Query')),
    h('div', { class: 'panel query-box' }, h('div', { class: 'query-input' }, exprBox, runBtn), h('div', { class: 'toolbar' }, tabs, stats)),
    controls, out);

  // Tabs as the ARIA tabs pattern: one tab stop, arrow keys (and Home,
  // End) move between the tabs and show the chosen one.
  const TABS = [['graph', 'Graph'], ['table', 'Table']];
  function choose(k, focus) {
    st.tab = k;
    renderTabs();
    if (focus) document.getElementById('tab-' + k).focus();
    run(focus);
  }
  function renderTabs() {
    fill(tabs, ...TABS.map(([k, l]) => h('button', {
      type: 'button', role: 'tab', class: 'tab' + (st.tab === k ? ' active' : ''), id: 'tab-' + k,
      'aria-selected': String(st.tab === k), 'aria-controls': 'query-out', tabindex: st.tab === k ? '0' : '-1',
      onclick: () => choose(k, false),
    }, l)));
    out.setAttribute('aria-labelledby', 'tab-' + st.tab);
    controls.hidden = st.tab !== 'graph';
  }
  tabs.addEventListener('keydown', (e) => {
    const i = TABS.findIndex(([k]) => k === st.tab);
    let j = -1;
    if (e.key === 'ArrowRight') j = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') j = (i + TABS.length - 1) % TABS.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = TABS.length - 1;
    if (j < 0) return;
    e.preventDefault();
    choose(TABS[j][0], true);
  });
  renderTabs();

  function save() {
    ctx.setParams({ expr: st.expr, tab: st.tab, range: st.range !== '1h' && st.range, end: st.end, step: st.step });
  }

  exprIn.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      run();
    }
  });
  runBtn.addEventListener('click', () => run());
  rangeSel.addEventListener('change', () => { rangeSel.blur(); run(); });
  endIn.addEventListener('change', () => run());
  stepIn.addEventListener('change', () => run());

  function readForm() {
    st.expr = input().value.trim();
    st.range = rangeSel.value;
    st.end = endIn.value ? String(Math.floor(new Date(endIn.value).getTime() / 1000)) : '';
    st.step = stepIn.value.trim();
    save();
  }

  async function run(keepFocus) {
    readForm();
    ran = !!st.expr;
    if (!keepFocus) input().blur();
    await exec().catch((e) => showError(e));
  }

  function showError(e) {
    if (graph) { graph.destroy(); graph = null; }
    fill(out, h('div', { class: 'form-error', id: 'query-error' }, e.message));
  }

  async function exec() {
    if (!st.expr) {
      if (graph) { graph.destroy(); graph = null; }
      fill(out, empty('Enter an expression and press Execute.'));
      stats.textContent = '';
      return;
    }
    const t0 = performance.now();
    if (st.tab === 'graph') {
      const rangeSec = parseDuration(st.range) || 3600;
      const end = st.end ? +st.end : Date.now() / 1000;
      const start = end - rangeSec;
      let step = parseDuration(st.step);
      if (isNaN(step) || step <= 0) step = Math.max(1, Math.round(rangeSec / 250));
      const data = await get(promAPI + 'query_range', { query: st.expr, start: start.toFixed(3), end: end.toFixed(3), step: String(step) });
      const series = prepare(data.result || []);
      if (!graph) {
        fill(out);
        graph = new Graph(out);
      }
      graph.set(series, start, end, step);
      stats.textContent = `${series.length} series · step ${duration(step)} · ${Math.round(performance.now() - t0)} ms`;
      return;
    }
    if (graph) { graph.destroy(); graph = null; }
    const data = await get(promAPI + 'query', { query: st.expr, time: st.end || undefined });
    fill(out, resultTable(data));
    stats.textContent = `${data.resultType} · ${Array.isArray(data.result) ? data.result.length + ' results · ' : ''}${Math.round(performance.now() - t0)} ms`;
  }

  return {
    async refresh(force) {
      if (!ran) {
        if (force) await exec();
        return;
      }
      // A fixed end time never changes; only "now" graphs move.
      if (!force && st.end) return;
      await exec();
    },
    destroy() {
      if (graph) graph.destroy();
    },
  };
}

function resultTable(data) {
  const t = data.resultType;
  if (t === 'scalar' || t === 'string') {
    return h('table', { class: 'tbl', id: 'query-table' }, h('tbody', null, h('tr', null, h('td', null, t), h('td', { class: 'mono' }, num(data.result[1])))));
  }
  const res = data.result || [];
  if (!res.length) return empty('Empty query result.');
  const rows = res.slice(0, TABLE_ROWS).map((r) => h('tr', null,
    h('td', { class: 'mono' }, seriesName(r.metric)),
    h('td', { class: 'mono num' }, t === 'vector'
      ? (r.value ? num(r.value[1]) : r.histogram ? 'native histogram' : '')
      : (r.values || []).map(([ts, v]) => h('div', null, num(v), h('span', { class: 'muted' }, ' @' + stamp(new Date(ts * 1000))))))));
  return h('div', null,
    h('table', { class: 'tbl', id: 'query-table' }, h('thead', null, h('tr', null, h('th', null, 'Series'), h('th', null, 'Value'))), h('tbody', null, rows)),
    res.length > TABLE_ROWS ? h('p', { class: 'muted' }, `Showing ${TABLE_ROWS} of ${res.length} results.`) : null);
}
