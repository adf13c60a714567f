// Rules: every rule group with its rules' health, state, last evaluation,
// duration and expression (GET /api/v1/rules).

import { h, debounce, select, badge, empty, fill } from '../dom.js';
import { get, promAPI } from '../api.js';
import { ago, stamp, duration } from '../format.js';

export default function rulesPage(ctx) {
  let groups = [];
  let loaded = false;
  const open = new Map();
  const search = h('input', { type: 'search', class: 'grow', id: 'rule-search', 'aria-label': 'Search rules', placeholder: 'Search rule names and expressions', value: ctx.params.get('q') || '' });
  const typeSel = select({ id: 'rule-type', 'aria-label': 'Rule type' }, [['all', 'All rules'], ['alerting', 'Alerting'], ['recording', 'Recording']], ctx.params.get('type') || 'all');
  const healthSel = select({ id: 'rule-health', 'aria-label': 'Rule health' }, [['all', 'Any health'], ['err', 'Errors'], ['firing', 'Firing or pending']], ctx.params.get('health') || 'all');
  const summary = h('div', { class: 'summary' });
  const list = h('div', { id: 'rule-list' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Rules'), summary), h('div', { class: 'toolbar' }, search, typeSel, healthSel), list);
  const onFilter = () => {
    ctx.setParams({ q: search.value, type: typeSel.value !== 'all' && typeSel.value, health: healthSel.value !== 'all' && healthSel.value });
    render();
  };
  search.addEventListener('input', debounce(onFilter, 150));
  for (const s of [typeSel, healthSel]) s.addEventListener('change', () => { onFilter(); s.blur(); });

  function keep(r) {
    const q = search.value.trim().toLowerCase();
    if (typeSel.value !== 'all' && r.type !== typeSel.value) return false;
    if (healthSel.value === 'err' && r.health !== 'err') return false;
    if (healthSel.value === 'firing' && r.state !== 'firing' && r.state !== 'pending') return false;
    return !q || r.name.toLowerCase().includes(q) || r.query.toLowerCase().includes(q);
  }

  function render() {
    let total = 0;
    let errs = 0;
    let firing = 0;
    for (const g of groups) {
      for (const r of g.rules) {
        total++;
        if (r.health === 'err') errs++;
        if (r.state === 'firing') firing++;
      }
    }
    fill(summary, `${groups.length} groups · ${total} rules · `, h('span', { class: firing ? 'text-firing' : '' }, `${firing} firing`), ' · ', h('span', { class: errs ? 'text-err' : '' }, `${errs} with errors`));
    const frag = document.createDocumentFragment();
    if (!loaded) frag.append(empty('Loading rules…'));
    else if (!groups.length) frag.append(empty('No rule groups are loaded.'));
    for (const g of groups) {
      const rules = g.rules.filter(keep);
      if (!rules.length && (search.value || typeSel.value !== 'all' || healthSel.value !== 'all')) continue;
      const key = g.file + '\u0000' + g.name;
      const gErr = g.rules.filter((r) => r.health === 'err').length;
      const det = h('details', { class: 'panel rule-group', open: open.get(key) ?? true },
        h('summary', null,
          h('span', { class: 'group-name' }, h('b', null, g.name)),
          h('span', { class: 'muted small mono' }, g.file),
          h('span', { class: 'spacer' }),
          gErr ? badge(`${gErr} errors`, 'err') : null,
          h('span', { class: 'muted small', title: stamp(g.lastEvaluation) }, `every ${duration(g.interval)} · evaluated ${ago(g.lastEvaluation)} in ${duration(g.evaluationTime)}`)),
        h('table', { class: 'tbl rules' },
          h('thead', null, h('tr', null, ['Rule', 'State', 'Health', 'Last evaluation', 'Duration'].map((x) => h('th', null, x)))),
          h('tbody', null, rules.map(ruleRow))));
      det.addEventListener('toggle', () => open.set(key, det.open));
      frag.append(det);
    }
    fill(list, frag);
  }

  function ruleRow(r) {
    const q = '#/query?' + new URLSearchParams({ expr: r.query, tab: 'graph' });
    const stateBadge = r.type === 'alerting'
      ? badge(r.state + (r.alerts && r.alerts.length ? ` (${r.alerts.length})` : ''), r.state === 'firing' ? 'firing' : r.state === 'pending' ? 'warn' : 'ok')
      : badge('recording', 'muted');
    const meta = [];
    if (r.duration) meta.push(`for ${duration(r.duration)}`);
    if (r.keepFiringFor) meta.push(`keep firing ${duration(r.keepFiringFor)}`);
    const labels = r.labels ? Object.entries(r.labels).map(([k, v]) => h('span', { class: 'chip static' }, k, '=', h('b', null, v))) : [];
    return h('tr', { class: 'health-' + r.health },
      h('td', { class: 'rule-cell' },
        h('div', null, h('b', null, r.name), ' ', labels, meta.length ? h('span', { class: 'muted small' }, ' ' + meta.join(' · ')) : null),
        h('a', { class: 'expr mono', href: q, title: 'Open in Query' }, r.query),
        r.lastError ? h('div', { class: 'form-error' }, r.lastError) : null),
      h('td', null, stateBadge),
      h('td', null, badge(r.health, r.health === 'ok' ? 'ok' : r.health === 'err' ? 'err' : 'muted')),
      h('td', { title: stamp(r.lastEvaluation), class: 'nowrap' }, ago(r.lastEvaluation)),
      h('td', { class: 'nowrap' }, duration(r.evaluationTime)));
  }

  return {
    async refresh() {
      const data = await get(promAPI + 'rules');
      groups = data.groups || [];
      loaded = true;
      render();
    },
  };
}
