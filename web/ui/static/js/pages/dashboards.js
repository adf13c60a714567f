// Dashboards: the list of dashboards in force (GET /api/v1/appliance/dashboards)
// and one dashboard (#/dashboards/<uid>?var-x=…&range=…&refresh=…&alert=…):
// variables as selects filled from label values, panels of PromQL drawn as
// graphs (graph.js), coloured single values and tables. ?alert=NAME, which
// every shipped rule's dashboard_url sets, puts a panel first with the
// rule's compared value against its threshold, filtered by the alert's labels.

import { h, select, empty, fill, badge, table } from '../dom.js';
import { get, promAPI, applianceAPI } from '../api.js';
import { num, si, bytes, seriesName, parseDuration, duration } from '../format.js';
import { Graph, PALETTE } from '../graph.js';

const RANGES = ['15m', '1h', '3h', '6h', '12h', '24h', '2d', '7d'];
const REFRESHES = ['off', '10s', '30s', '1m', '5m'];
const ALL = 'All';
const MAX_ROWS = 200;

export default function dashboardsPage(ctx) {
  return ctx.sub[0] ? dashboardPage(ctx, ctx.sub[0]) : listPage(ctx);
}

function listPage(ctx) {
  const body = h('div', { id: 'dashboard-list' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Dashboards'),
    h('span', { class: 'muted' }, 'Files in dashboards/ of the configuration directory; the same dashboards export to Grafana (smm-appliance dashboards export).')), body);
  return {
    async refresh() {
      const list = await get(applianceAPI + 'dashboards');
      if (!list.length) {
        fill(body, empty('No dashboards.'));
        return;
      }
      fill(body, table(['Dashboard', 'Description', 'Panels', 'Alerts linking here', 'File'], list.map((d) => h('tr', { dataset: { uid: d.uid } },
        h('td', null, h('a', { href: '#/dashboards/' + encodeURIComponent(d.uid), class: 'dash-link' }, d.title), h('div', { class: 'muted small mono' }, d.uid)),
        h('td', null, d.description || ''),
        h('td', { class: 'num' }, String(d.panels)),
        h('td', null, String(d.alerts.length)),
        h('td', null, h('span', { class: 'mono small' }, d.file.replace(/^.*\/(dashboards\/)/, '$1')), ' ', badge(d.origin, d.origin === 'embedded' ? '' : 'info')))), { id: 'dashboards-table' }));
    },
  };
}

// unitFormat formats a value in a panel's unit.
function unitFormat(unit, v) {
  if (!isFinite(v)) return String(v);
  switch (unit) {
    case 'percentunit': return +(v * 100).toPrecision(3) + ' %';
    case 'seconds': return v >= 60 ? duration(v) : +v.toPrecision(3) + ' s';
    case 'bytes': return bytes(v);
    case 'dollars': return '$' + si(v);
    case 'reqps': return si(v) + '/s';
    default: return Math.abs(v) >= 1000 ? si(v) : num(+v.toPrecision(4));
  }
}

// legendName expands a {{label}} template, as Grafana's legend format does.
function legendName(tmpl, metric) {
  if (!tmpl) return seriesName(metric);
  return tmpl.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, l) => metric[l] || '');
}

function regexQuote(v) {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

// expand substitutes $var and ${var} as the server's dashboards.Expand does.
function expand(expr, values) {
  return expr.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    const v = values[a || b];
    return !v || v === ALL ? '.*' : regexQuote(v);
  });
}

function stepFor(rangeSec) {
  return Math.max(15, Math.round(rangeSec / 240));
}

function thresholdColor(ths, v) {
  let c = null;
  for (const t of ths || []) if (t.value === null || t.value === undefined || v >= t.value) c = t.color;
  return c;
}

function dashboardPage(ctx, uid) {
  const p = ctx.params;
  let dash = null;
  const st = { values: {}, range: p.get('range') || '', refresh: p.get('refresh') || '', alert: p.get('alert') || '' };
  for (const [k, v] of p) if (k.startsWith('var-')) st.values[k.slice(4)] = v;
  const head = h('div', { class: 'page-head' }, h('h1', { id: 'dashboard-title' }, 'Dashboard'));
  const controls = h('div', { class: 'toolbar dash-controls', id: 'dashboard-controls' });
  const alertsRow = h('div', { class: 'dash-alerts muted small', id: 'dashboard-alerts' });
  const grid = h('div', { class: 'dash-grid', id: 'dashboard-panels' });
  ctx.root.append(head, controls, alertsRow, grid);
  const views = []; // {el, panel, graph}
  let lastRun = 0;
  let varsLoaded = false;

  function save() {
    const q = { range: st.range !== dash.time && st.range, refresh: st.refresh !== dash.refresh && st.refresh, alert: st.alert };
    for (const v of dash.variables) if (st.values[v.name] && st.values[v.name] !== ALL) q['var-' + v.name] = st.values[v.name];
    ctx.setParams(q);
  }

  function rerun() {
    save();
    lastRun = 0;
    ctx.refresh();
  }

  async function build() {
    dash = await get(applianceAPI + 'dashboards/' + encodeURIComponent(uid));
    document.title = `${dash.title} · SMM Appliance`;
    st.range = st.range || dash.time;
    st.refresh = st.refresh || dash.refresh;
    fill(head, h('h1', { id: 'dashboard-title' }, dash.title), dash.description ? h('span', { class: 'muted' }, dash.description) : null,
      h('a', { class: 'btn small ghost', href: '#/dashboards' }, 'All dashboards'));
    const ranges = RANGES.includes(st.range) ? RANGES : [...RANGES, st.range];
    const refreshes = REFRESHES.includes(st.refresh) ? REFRESHES : [...REFRESHES, st.refresh];
    const rangeSel = select({ id: 'dash-range', title: 'Time range' }, ranges.map((r) => [r, 'Last ' + r]), st.range);
    const refreshSel = select({ id: 'dash-refresh', title: 'Refresh' }, refreshes.map((r) => [r, r === 'off' ? 'Refresh off' : 'Every ' + r]), st.refresh);
    rangeSel.addEventListener('change', () => { st.range = rangeSel.value; rangeSel.blur(); varsLoaded = false; rerun(); });
    refreshSel.addEventListener('change', () => { st.refresh = refreshSel.value; refreshSel.blur(); save(); });
    const varEls = dash.variables.map((v) => {
      const sel = select({ id: 'var-' + v.name, class: 'dash-var', dataset: { var: v.name } }, [[ALL, ALL]], ALL);
      sel.addEventListener('change', () => { st.values[v.name] = sel.value; sel.blur(); rerun(); });
      return h('label', { class: 'dash-var-field' }, h('span', { class: 'muted' }, v.title || v.name), sel);
    });
    fill(controls, ...varEls, h('span', { class: 'dash-spacer' }), rangeSel, refreshSel);
    renderAlertLinks();
    fill(grid);
    views.length = 0;
    const ref = st.alert && dash.alerts.find((a) => a.name === st.alert);
    if (st.alert && !ref) grid.append(h('div', { class: 'form-error dash-wide', id: 'dash-alert-missing' }, `No rule ${st.alert} links to this dashboard.`));
    if (ref) views.push(makeView({ title: alertTitle(ref), type: 'timeseries', expr: ref.query, width: 24, alert: ref }));
    for (const panel of dash.panels) views.push(makeView(panel));
  }

  function alertTitle(ref) {
    if (!ref.op) return `Alert ${ref.name}: ${ref.query}`;
    return `Alert ${ref.name}: ${ref.query} ${ref.op} ${ref.thresholdQuery || num(ref.threshold)}`;
  }

  function renderAlertLinks() {
    if (!dash.alerts.length) { fill(alertsRow); return; }
    const params = (name) => {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(st.values)) if (v && v !== ALL) q.set('var-' + k, v);
      if (name) q.set('alert', name);
      return '#/dashboards/' + encodeURIComponent(uid) + '?' + q.toString();
    };
    fill(alertsRow, 'Alerts linking here: ', ...dash.alerts.map((a) => [h('a', { href: params(a.name), class: 'dash-alert-link' + (a.name === st.alert ? ' active' : '') }, a.name), ' ']),
      st.alert ? h('a', { href: params(''), class: 'btn small ghost' }, 'Hide alert panel') : null);
  }

  function makeView(panel) {
    const bodyEl = h('div', { class: 'dash-body' });
    const el = h('section', { class: `dash-panel dash-${panel.type}${panel.alert ? ' dash-alert' : ''}`, dataset: { state: 'loading', title: panel.title, type: panel.type } },
      h('h3', { class: 'dash-title', title: panel.expr }, panel.title), bodyEl);
    el.style.gridColumn = `span ${panel.width || 12}`;
    grid.append(el);
    return { el, body: bodyEl, panel, graph: null };
  }

  async function loadVariables() {
    const end = Date.now() / 1000;
    const start = end - (parseDuration(st.range) || 21600);
    await Promise.all(dash.variables.map(async (v) => {
      const sel = controls.querySelector(`select[data-var="${CSS.escape(v.name)}"]`);
      let values = [];
      try {
        values = await get(promAPI + 'label/' + encodeURIComponent(v.label) + '/values', { 'match[]': v.metric, start: start.toFixed(0), end: end.toFixed(0) });
      } catch (e) {
        sel.title = 'Values unavailable: ' + e.message;
      }
      const cur = st.values[v.name] || ALL;
      // A linked value no longer present is kept, so the link still says what it asked for.
      if (cur !== ALL && !values.includes(cur)) values = [...values, cur];
      fill(sel, ...[ALL, ...values].map((x) => h('option', { value: x, selected: x === cur }, x)));
    }));
    varsLoaded = true;
  }

  async function runView(view) {
    const { panel } = view;
    const expr = expand(panel.expr, st.values);
    const rangeSec = parseDuration(st.range) || 21600;
    const end = Date.now() / 1000;
    try {
      if (panel.type === 'timeseries') {
        const start = end - rangeSec;
        const step = stepFor(rangeSec);
        const range = (q) => get(promAPI + 'query_range', { query: q, start: start.toFixed(3), end: end.toFixed(3), step: String(step) }).then((d) => d.result || []);
        // The alert's own panel shows the series of the alert's labels
        // (those the variables name), as the link from it set them.
        const mine = (r) => !panel.alert || Object.entries(st.values).every(([k, v]) => !v || v === ALL || !(k in r.metric) || r.metric[k] === v);
        const result = (await range(expr)).filter(mine);
        const series = result.map((r, i) => ({ name: legendName(panel.legend, r.metric), color: PALETTE[i % PALETTE.length], points: (r.values || []).map(([t, v]) => [t, parseFloat(v)]) }));
        const count = series.length;
        const al = panel.alert;
        if (al && al.threshold !== undefined && al.threshold !== null) {
          const pts = [];
          for (let t = start; t <= end; t += step) pts.push([t, al.threshold]);
          series.push({ name: `threshold ${al.op} ${num(al.threshold)}`, color: '#d92d20', points: pts });
        } else if (al && al.thresholdQuery) {
          for (const r of (await range(al.thresholdQuery)).filter(mine)) {
            series.push({ name: `threshold ${al.op} ${seriesName(r.metric)}`, color: '#d92d20', points: (r.values || []).map(([t, v]) => [t, parseFloat(v)]) });
          }
        }
        if (!view.graph) { fill(view.body); view.graph = new Graph(view.body); }
        view.graph.set(series, start, end, step);
        view.el.dataset.state = count ? 'ok' : 'empty';
        view.el.dataset.series = String(count);
        return;
      }
      const data = await get(promAPI + 'query', { query: expr });
      const result = data.resultType === 'scalar' ? [{ metric: {}, value: data.result }] : (data.result || []);
      view.el.dataset.state = result.length ? 'ok' : 'empty';
      view.el.dataset.series = String(result.length);
      if (!result.length) { fill(view.body, h('div', { class: 'dash-nodata' }, 'No data')); return; }
      if (panel.type === 'stat') {
        const v = parseFloat(result[0].value[1]);
        const color = thresholdColor(panel.thresholds, v);
        view.el.dataset.color = color || '';
        fill(view.body, h('div', { class: 'dash-stat' + (color ? ' th-' + color : ''), title: result.length > 1 ? `${result.length} series; the first is shown` : '' }, unitFormat(panel.unit, v)));
        return;
      }
      const labels = [...new Set(result.flatMap((r) => Object.keys(r.metric)))].filter((l) => l !== '__name__').sort();
      const rows = result.slice(0, MAX_ROWS).map((r) => h('tr', null, ...labels.map((l) => h('td', { class: 'mono small' }, r.metric[l] || '')),
        h('td', { class: 'num mono' }, unitFormat(panel.unit, parseFloat(r.value[1])))));
      fill(view.body, table([...labels, 'Value'], rows, { class: 'tbl dash-table' }),
        result.length > MAX_ROWS ? h('p', { class: 'muted small' }, `Showing ${MAX_ROWS} of ${result.length} rows.`) : null);
    } catch (e) {
      view.el.dataset.state = 'error';
      if (view.graph) { view.graph.destroy(); view.graph = null; }
      fill(view.body, h('div', { class: 'form-error dash-error' }, e.message));
    }
  }

  return {
    async refresh(force) {
      if (!dash) {
        try {
          await build();
        } catch (e) {
          if (e.status !== 404) throw e;
          fill(grid, h('div', { class: 'empty dash-wide', id: 'dashboard-missing' }, `No dashboard "${uid}". `, h('a', { href: '#/dashboards' }, 'All dashboards')));
          return;
        }
      }
      // The app ticks every 10 s; the dashboard's own refresh decides.
      const every = st.refresh === 'off' ? Infinity : (parseDuration(st.refresh) || 30) * 1000;
      if (!force && Date.now() - lastRun < every) return;
      lastRun = Date.now();
      if (!varsLoaded) await loadVariables();
      await Promise.all(views.map(runView));
    },
    destroy() {
      for (const v of views) if (v.graph) v.graph.destroy();
    },
  };
}
