// SLOs: the alerting system's own objectives (processing latency, delivery,
// false positives, MTTA for criticals) live and over 7 and 30 days, with
// delivery per receiver and MTTA per severity and team
// (GET /api/v1/appliance/slo), and the weekly review for download.

import { h, select, badge, empty, table, fill } from '../dom.js';
import { get, applianceAPI } from '../api.js';
import { duration, stamp } from '../format.js';

const WINDOWS = [['live', 'Live (last hour)'], ['24h', 'Last 24 hours'], ['7d', 'Last 7 days'], ['30d', 'Last 30 days']];

function figure(o) {
  if (o.value === null || o.value === undefined) return 'no data';
  if (o.unit === 'seconds') return duration(o.value);
  return (100 * o.value).toFixed(2) + ' %';
}

function pct(v) {
  return v === null || v === undefined ? '—' : (100 * v).toFixed(2) + ' %';
}

function secs(v) {
  return v === null || v === undefined ? '—' : duration(v);
}

export default function sloPage(ctx) {
  const winSel = select({ id: 'slo-window' }, WINDOWS, ctx.params.get('window') || 'live');
  const span = h('div', { class: 'summary', id: 'slo-span' });
  const downloads = h('span', { class: 'grow' });
  const cards = h('div', { class: 'status-grid', id: 'slo-cards' }, empty('Loading…'));
  const delivery = h('section', { class: 'panel', id: 'slo-delivery-table' });
  const mtta = h('section', { class: 'panel', id: 'slo-mtta-table' });
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Alerting SLOs'), span),
    h('div', { class: 'toolbar' }, winSel, downloads),
    cards, delivery, mtta);
  winSel.addEventListener('change', () => {
    ctx.setParams({ window: winSel.value !== 'live' && winSel.value });
    winSel.blur();
    ctx.refresh();
  });

  function links() {
    const w = winSel.value === 'live' || winSel.value === '24h' ? '7d' : winSel.value;
    fill(downloads, 'Weekly review: ',
      h('a', { id: 'review-md', href: `${applianceAPI}review?format=md&window=${w}`, download: '' }, 'Markdown'), ' · ',
      h('a', { id: 'review-csv', href: `${applianceAPI}review?format=csv&window=${w}`, download: '' }, 'CSV'));
  }

  function render(r) {
    fill(span, `${stamp(r.from)} – ${stamp(r.to)}`);
    fill(cards, (r.objectives || []).map((o) => h('section', { class: 'panel slo-card', id: 'slo-' + o.name, 'data-met': o.met === null ? '' : String(o.met) },
      h('h2', null, o.title, ' ', o.met === null ? badge('no data', 'muted') : o.met ? badge('met', 'ok') : badge('missed', 'err')),
      h('div', { class: 'slo-figure' }, figure(o)),
      h('div', { class: 'muted' }, 'Objective: ', o.objective),
      h('div', { class: 'small' }, o.detail))));
    if (r.errors && r.errors.length) cards.append(h('div', { class: 'form-error' }, 'Incomplete: ', r.errors.join('; ')));

    const drows = (r.delivery || []).map((d) => h('tr', { class: d.failed ? 'health-down' : '' },
      h('td', null, d.receiver), h('td', null, d.integration), h('td', null, String(d.notifications)),
      h('td', null, String(d.delivered)), h('td', { class: d.failed ? 'text-err' : '' }, String(d.failed)),
      h('td', null, String(d.failedAttempts)), h('td', null, pct(d.ratio)), h('td', { class: 'err-text' }, d.lastError || '')));
    fill(delivery, h('h2', null, 'Delivery per receiver and integration'),
      drows.length ? table(['Receiver', 'Integration', 'Notifications', 'Delivered', 'Never delivered', 'Failed attempts', 'Delivery', 'Last error'], drows) : empty('No notification in this window.'));

    const mrows = (r.mtta || []).map((m) => h('tr', null,
      h('td', null, m.severity), h('td', null, m.team), h('td', null, String(m.notified)), h('td', null, String(m.acked)),
      h('td', null, secs(m.meanSeconds)), h('td', null, secs(m.p50Seconds)), h('td', null, secs(m.maxSeconds)), h('td', null, String(m.falsePositives))));
    fill(mtta, h('h2', null, 'Time to acknowledge per severity and team'),
      mrows.length ? table(['Severity', 'Team', 'Notified', 'Acknowledged', 'Mean', 'Median', 'Max', 'False positives'], mrows) : empty('No alert notified in this window.'));
  }

  links();
  return {
    async refresh() {
      links();
      render(await get(applianceAPI + 'slo', { window: winSel.value }));
    },
  };
}
