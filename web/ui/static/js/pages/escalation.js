// Escalation: the chains of appliance.yml (from the status API) and where
// each firing alert is on its chain (GET /api/v1/appliance/escalations):
// the steps carried out, the next one and when it is due.

import { h, badge, empty, fill, panel } from '../dom.js';
import { get, applianceAPI } from '../api.js';
import { ago, stamp } from '../format.js';

const STATES = {
  escalating: ['Escalating', 'escalated'],
  acknowledged: ['Acknowledged: stopped', 'ack'],
  snoozed: ['Snoozed', 'silenced'],
  complete: ['All steps done', 'muted'],
};

export default function escalationPage(ctx) {
  let chains = [];
  let positions = [];
  let loaded = false;

  const summary = h('div', { class: 'summary' });
  const chainList = h('div', { id: 'escalation-chains' }, empty('Loading chains…'));
  const alertList = h('div', { id: 'escalation-alerts' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Escalation'), summary),
    panel('Chains', h('p', { class: 'muted' }, 'Tried in order: an alert follows the first chain whose matchers match. Each step goes once, after the time since the first notification, unless the alert is acknowledged or resolved.'), chainList),
    panel('Alerts on a chain', alertList));

  function stepText(s) {
    return `${s.after} → ${s.receiver}`;
  }

  function renderChains() {
    if (!chains.length) return fill(chainList, empty('No escalation chain is configured (appliance.yml, escalation.chains).'));
    fill(chainList, h('table', { class: 'tbl', id: 'chains-table' },
      h('thead', null, h('tr', null, ['Chain', 'Alerts it takes', 'Steps', 'On it now'].map((x) => h('th', null, x)))),
      h('tbody', null, chains.map((c) => {
        const on = positions.filter((p) => p.chain === c.name).length;
        return h('tr', { class: 'chain-row', dataset: { chain: c.name } },
          h('td', null, h('b', null, c.name)),
          h('td', null, c.matchers && c.matchers.length ? c.matchers.map((m) => h('code', { class: 'matcher' }, m, ' ')) : h('span', { class: 'muted' }, 'every alert')),
          h('td', null, h('ol', { class: 'chain-steps' }, c.steps.map((s) => h('li', { dataset: { step: String(s.step) } }, stepText(s),
            s.matchers && s.matchers.length ? h('span', { class: 'muted' }, ' (' + s.matchers.join(', ') + ')') : '')))),
          h('td', { class: 'num' }, String(on)));
      }))));
  }

  // progress is the chain's steps for one alert: done (when), next (due),
  // later.
  function progress(p, chain) {
    const steps = chain ? chain.steps : [];
    const done = new Map((p.done || []).map((d) => [d.step, d]));
    return h('ol', { class: 'chain-progress' }, steps.map((s) => {
      const d = done.get(s.step);
      let mark;
      let state;
      if (d) {
        state = 'done';
        mark = badge(`✓ ${stepText(s)}`, 'escalated', `step ${s.step} sent to ${d.receiver} at ${stamp(d.at)}`);
        mark = h('span', null, mark, h('span', { class: 'muted' }, ' ' + ago(d.at)));
      } else if (p.next && p.next.step === s.step) {
        state = 'next';
        const due = p.next.dueAt ? (new Date(p.next.dueAt) <= Date.now() ? 'due now' : 'due ' + ago(p.next.dueAt)) : 'stopped by the ack';
        mark = h('span', null, badge(`next: ${stepText(s)}`, 'info', p.next.dueAt ? stamp(p.next.dueAt) : ''), h('span', { class: 'muted' }, ' ' + due));
      } else {
        state = 'later';
        mark = h('span', { class: 'muted' }, stepText(s));
      }
      return h('li', { dataset: { step: String(s.step), state } }, mark);
    }));
  }

  function renderAlerts() {
    if (!loaded) return fill(alertList, empty('Loading…'));
    if (!positions.length) return fill(alertList, empty('No firing alert is on an escalation chain.'));
    const byName = new Map(chains.map((c) => [c.name, c]));
    fill(alertList, h('table', { class: 'tbl', id: 'escalation-table' },
      h('thead', null, h('tr', null, ['Alert', 'Chain', 'State', 'Steps', 'First notified'].map((x) => h('th', null, x)))),
      h('tbody', null, positions.map((p) => {
        const [label, kind] = STATES[p.state] || [p.state, 'info'];
        const l = p.labels || {};
        return h('tr', { class: 'escalation-row', dataset: { fp: p.fingerprint, chain: p.chain, state: p.state } },
          h('td', null, h('b', null, p.alertname || p.fingerprint),
            h('div', { class: 'muted' }, [l.severity, l.team].filter(Boolean).join(' · '))),
          h('td', null, p.chain),
          h('td', null, badge(label, kind), p.snoozedUntil ? h('span', { class: 'muted' }, ' until ' + stamp(p.snoozedUntil)) : ''),
          h('td', null, progress(p, byName.get(p.chain))),
          h('td', { class: 'nowrap', title: stamp(p.firstNotifiedAt) }, ago(p.firstNotifiedAt)));
      }))));
  }

  return {
    async refresh() {
      const [status, list] = await Promise.all([get(applianceAPI + 'status'), get(applianceAPI + 'escalations')]);
      chains = (status && status.escalation && status.escalation.chains) || [];
      positions = list || [];
      loaded = true;
      const going = positions.filter((p) => p.state === 'escalating').length;
      fill(summary, h('span', { id: 'escalation-count', dataset: { count: String(positions.length) } }, `${positions.length} alerts on a chain`),
        going ? ` · ${going} escalating` : '');
      renderChains();
      renderAlerts();
    },
  };
}
