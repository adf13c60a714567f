// Targets: scrape pools with each target's health, last scrape, scrape
// duration and error (GET /api/v1/targets).

import { h, debounce, select, badge, empty, fill } from '../dom.js';
import { get, promAPI } from '../api.js';
import { ago, stamp, duration } from '../format.js';

export default function targetsPage(ctx) {
  let targets = [];
  let loaded = false;
  const search = h('input', { type: 'search', class: 'grow', id: 'target-search', 'aria-label': 'Search targets', placeholder: 'Search endpoints and labels', value: ctx.params.get('q') || '' });
  const healthSel = select({ id: 'target-health', 'aria-label': 'Target health' }, [['all', 'Any health'], ['down', 'Down only'], ['up', 'Up only']], ctx.params.get('health') || 'all');
  const summary = h('div', { class: 'summary' });
  const list = h('div', { id: 'target-list' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Targets'), summary), h('div', { class: 'toolbar' }, search, healthSel), list);
  const onFilter = () => {
    ctx.setParams({ q: search.value, health: healthSel.value !== 'all' && healthSel.value });
    render();
  };
  search.addEventListener('input', debounce(onFilter, 150));
  healthSel.addEventListener('change', () => { onFilter(); healthSel.blur(); });

  function render() {
    const q = search.value.trim().toLowerCase();
    const hv = healthSel.value;
    const pools = new Map();
    let up = 0;
    let down = 0;
    for (const t of targets) {
      if (t.health === 'up') up++;
      else if (t.health === 'down') down++;
      if (hv !== 'all' && t.health !== hv) continue;
      if (q && !(t.scrapeUrl + ' ' + JSON.stringify(t.labels)).toLowerCase().includes(q)) continue;
      if (!pools.has(t.scrapePool)) pools.set(t.scrapePool, []);
      pools.get(t.scrapePool).push(t);
    }
    fill(summary, `${targets.length} targets · `, h('span', { class: 'text-ok' }, `${up} up`), ' · ', h('span', { class: down ? 'text-err' : '' }, `${down} down`));
    const frag = document.createDocumentFragment();
    if (!loaded) frag.append(empty('Loading targets…'));
    else if (!pools.size) frag.append(empty(targets.length ? 'No target matches.' : 'No active targets.'));
    for (const [pool, ts] of [...pools.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
      const nUp = ts.filter((t) => t.health === 'up').length;
      frag.append(h('section', { class: 'panel' },
        h('h2', null, pool, ' ', h('span', { class: nUp === ts.length ? 'count ok' : 'count err' }, `${nUp}/${ts.length} up`)),
        h('table', { class: 'tbl targets' },
          h('thead', null, h('tr', null, ['Endpoint', 'State', 'Labels', 'Last scrape', 'Duration', 'Error'].map((x) => h('th', null, x)))),
          h('tbody', null, ts.sort((a, b) => a.scrapeUrl.localeCompare(b.scrapeUrl)).map((t) => h('tr', { class: 'health-' + t.health },
            h('td', { class: 'mono small' }, t.scrapeUrl),
            h('td', null, badge(t.health, t.health === 'up' ? 'ok' : t.health === 'down' ? 'err' : 'muted')),
            h('td', null, Object.entries(t.labels || {}).filter(([k]) => k !== 'job').map(([k, v]) => h('span', { class: 'chip static' }, k, '=', h('b', null, v)))),
            h('td', { class: 'nowrap', title: stamp(t.lastScrape) }, ago(t.lastScrape)),
            h('td', { class: 'nowrap' }, duration(t.lastScrapeDuration)),
            h('td', { class: 'err-text' }, t.lastError || '')))))));
    }
    fill(list, frag);
  }

  return {
    async refresh() {
      const data = await get(promAPI + 'targets', { state: 'active' });
      targets = data.activeTargets || [];
      loaded = true;
      render();
    },
  };
}
