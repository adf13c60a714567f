// Alerts: grouped by severity and team, filtered by matchers, state, ack and
// silence; ack, silence and runbook actions per alert and per group.
//
// Built for 10,000 alerts: the list is rendered from plain arrays in one
// pass into a fragment; only a bounded number of rows become DOM nodes (each
// group shows PAGE rows and "show more"; beyond ROW_BUDGET groups start
// collapsed), and one delegated listener serves every button.

import { h, debounce, select, badge, fill } from '../dom.js';
import { ago, stamp } from '../format.js';
import { parseMatchers, matchesAll, formatAll, fromLabels, format } from '../matchers.js';
import { loadAlerts, unack, queryLink, severityRank } from '../alertdata.js';
import { promptAck, sendAck } from '../ackdialog.js';
import { get, applianceAPI } from '../api.js';
import alertDetailPage from './alertdetail.js';

const PAGE = 100; // rows a group shows before "show more"
const ROW_BUDGET = 300; // rows rendered by default across expanded groups
const HIDDEN_LABELS = new Set(['alertname', 'severity', 'team']);

// cmp orders strings by code point: stable and much faster than
// localeCompare over 10,000 alerts.
const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

// isHeartbeat: the always-firing Watchdog (severity none, routed only to
// the dead man's switch) is the pipeline's heartbeat, not an alert to act on.
export const isHeartbeat = (a) => a.labels.alertname === 'Watchdog' || a.labels.severity === 'none';

// ackable: an inhibited alert is someone else's symptom; acking it (alone
// or in a group) would hide that the inhibiting alert is the one to act on.
const ackable = (a) => !a.ack && a.inhibitedBy.length === 0;

export function safeURL(u) {
  if (!u) return null;
  try {
    const x = new URL(u, document.baseURI);
    return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
  } catch {
    return null;
  }
}

export default function alertsPage(ctx) {
  // #/alerts/<fingerprint> is one alert's detail page.
  if (ctx.sub.length) return alertDetailPage(ctx, ctx.sub[0]);
  const p = ctx.params;
  const filters = {
    filter: p.get('filter') || p.get('matchers') || '',
    state: p.get('state') || 'all',
    ack: p.get('ack') || 'all',
    silenced: p.get('silenced') || 'all',
    receiver: p.get('receiver') || '',
  };
  let data = { alerts: [], acks: false };
  let loaded = false;
  const expanded = new Map(); // group key -> bool chosen by the operator
  const shown = new Map(); // group key -> rows shown
  let groupsByKey = new Map();
  let byFP = new Map();
  let allByFP = new Map();
  // The list is updated in place across refreshes: sections, groups and
  // rows are kept by key and only changed ones are rebuilt, so keyboard
  // focus and a screen reader's position survive the 10 s refresh.
  const sectionEls = new Map(); // severity -> {el, count}
  const groupEls = new Map(); // group key -> {el, parts}
  const rowEls = new Map(); // fingerprint -> {sig, el}
  const placeholder = h('div', { class: 'empty' });
  let lastBeat = undefined; // newest Watchdog delivery in the history; null: none

  // Toolbar.
  const matcherInput = h('input', { type: 'search', class: 'grow mono', id: 'alert-filter', 'aria-label': 'Filter alerts by label matchers', placeholder: 'Filter by labels: team="platform", severity=~"crit.*"', value: filters.filter, spellcheck: 'false', autocomplete: 'off' });
  const matcherErr = h('div', { class: 'form-error', hidden: true });
  const stateSel = select({ id: 'alert-state', title: 'State', 'aria-label': 'State' }, [['all', 'Any state'], ['active', 'Active'], ['suppressed', 'Suppressed'], ['unprocessed', 'Unprocessed']], filters.state);
  const ackSel = select({ id: 'alert-ack', title: 'Acknowledgement', 'aria-label': 'Acknowledgement' }, [['all', 'Acked or not'], ['unacked', 'Unacked'], ['acked', 'Acked']], filters.ack);
  const silSel = select({ id: 'alert-silenced', title: 'Silences', 'aria-label': 'Silences' }, [['all', 'Silenced or not'], ['no', 'Not silenced'], ['yes', 'Silenced']], filters.silenced);
  const recvSel = select({ id: 'alert-receiver', title: 'Receiver', 'aria-label': 'Receiver' }, [['', 'Any receiver']], filters.receiver);
  const summary = h('div', { class: 'summary' });
  const heartbeat = h('div', { class: 'heartbeat', id: 'heartbeat', hidden: true, role: 'group', 'aria-label': 'Pipeline heartbeat' });
  const list = h('div', { class: 'alert-list', id: 'alert-list' });

  const toolbar = h('div', { class: 'toolbar' },
    matcherInput, stateSel, ackSel, silSel, recvSel,
    h('button', { type: 'button', class: 'btn ghost', onclick: () => setAll(true) }, 'Expand all'),
    h('button', { type: 'button', class: 'btn ghost', onclick: () => setAll(false) }, 'Collapse all'));
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Alerts'), summary), toolbar, matcherErr, heartbeat, list);

  function syncParams() {
    ctx.setParams({
      filter: filters.filter,
      state: filters.state !== 'all' && filters.state,
      ack: filters.ack !== 'all' && filters.ack,
      silenced: filters.silenced !== 'all' && filters.silenced,
      receiver: filters.receiver,
    });
  }
  const onFilter = () => {
    filters.filter = matcherInput.value;
    filters.state = stateSel.value;
    filters.ack = ackSel.value;
    filters.silenced = silSel.value;
    filters.receiver = recvSel.value;
    syncParams();
    render();
  };
  matcherInput.addEventListener('input', debounce(onFilter, 150));
  // Leave the field after Enter so the page refreshes again.
  matcherInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') { onFilter(); matcherInput.blur(); } });
  for (const s of [stateSel, ackSel, silSel, recvSel]) s.addEventListener('change', () => { onFilter(); s.blur(); });

  function setAll(open) {
    for (const k of groupsByKey.keys()) {
      expanded.set(k, open);
      if (!open) shown.delete(k);
    }
    render();
  }

  function passes(a, ms) {
    if (filters.state !== 'all' && a.state !== filters.state) return false;
    if (filters.ack === 'acked' && !a.ack) return false;
    if (filters.ack === 'unacked' && a.ack) return false;
    if (filters.silenced === 'yes' && a.silencedBy.length === 0) return false;
    if (filters.silenced === 'no' && a.silencedBy.length > 0) return false;
    if (filters.receiver && !a.receivers.includes(filters.receiver)) return false;
    return ms.length === 0 || matchesAll(ms, a.labels);
  }

  function updateReceivers() {
    const names = new Set();
    for (const a of data.alerts) for (const r of a.receivers) names.add(r);
    if (filters.receiver) names.add(filters.receiver);
    const want = ['', ...[...names].sort()];
    const have = [...recvSel.options].map((o) => o.value);
    if (want.join('\n') === have.join('\n')) return;
    fill(recvSel, ...want.map((v) => h('option', { value: v, selected: v === filters.receiver }, v || 'Any receiver')));
  }

  function render() {
    let ms = [];
    try {
      ms = parseMatchers(filters.filter);
      matcherErr.hidden = true;
      matcherInput.classList.remove('invalid');
    } catch (e) {
      matcherErr.hidden = false;
      matcherErr.textContent = e.message;
      matcherInput.classList.add('invalid');
    }
    allByFP = new Map(data.alerts.map((a) => [a.fp, a]));
    const beats = data.alerts.filter(isHeartbeat);
    renderHeartbeat(beats);
    const all = data.alerts.filter((a) => !isHeartbeat(a));
    const visible = [];
    for (const a of all) if (passes(a, ms)) visible.push(a);

    // Group by severity, then team.
    const groups = new Map();
    for (const a of visible) {
      const sev = a.labels.severity || 'none';
      const team = a.labels.team || '';
      const key = sev + '\u0000' + team;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { key, sev, team, alerts: [], acked: 0, ackable: 0, inhibited: 0, silenced: 0, escalated: 0, active: 0 }));
      g.alerts.push(a);
      if (a.ack) g.acked++;
      if (ackable(a)) g.ackable++;
      if (a.inhibitedBy.length) g.inhibited++;
      if (a.silencedBy.length) g.silenced++;
      if (a.escalations.length) g.escalated++;
      if (a.state === 'active') g.active++;
    }
    const ordered = [...groups.values()].sort((x, y) => severityRank(x.sev) - severityRank(y.sev) || x.sev.localeCompare(y.sev) || x.team.localeCompare(y.team));
    groupsByKey = groups;
    byFP = new Map(visible.map((a) => [a.fp, a]));

    // Summary.
    let active = 0;
    for (const a of all) if (a.state === 'active') active++;
    document.getElementById('nav-alerts').textContent = active ? String(active) : '';
    const acked = visible.filter((a) => a.ack).length;
    const sil = visible.filter((a) => a.silencedBy.length).length;
    fill(summary, 
      h('span', { id: 'alert-count', dataset: { count: String(visible.length), total: String(all.length) } },
        visible.length === all.length ? `${all.length} alerts` : `${visible.length} of ${all.length} alerts`),
      data.acks ? h('span', null, ` · ${acked} acked`) : null,
      h('span', null, ` · ${sil} silenced`),
      data.acks ? null : h('span', { class: 'muted', title: 'GET /api/v1/appliance/alerts is not available; showing Alertmanager alerts' }, ' · acknowledgement unavailable'));

    const top = [];
    if (!loaded || visible.length === 0) {
      placeholder.textContent = !loaded ? 'Loading alerts…' : all.length ? 'No alert matches the filters.' : 'No alerts. All quiet.';
      top.push(placeholder);
    }
    let budget = ROW_BUDGET;
    const bySev = new Map();
    for (const g of ordered) {
      if (!bySev.has(g.sev)) bySev.set(g.sev, []);
      let open = expanded.get(g.key);
      if (open === undefined) open = budget > 0;
      const limit = Math.min(g.alerts.length, shown.get(g.key) || PAGE);
      if (open && expanded.get(g.key) === undefined) budget -= limit;
      bySev.get(g.sev).push(renderGroup(g, open, limit, ms));
    }
    for (const [sev, groupList] of bySev) {
      let sec = sectionEls.get(sev);
      if (!sec) {
        const count = h('span', { class: 'count' });
        const title = h('h2', { class: 'sev-title', id: 'sev-' + sev }, h('span', { class: 'sev-dot' }), sev, count);
        sec = { el: h('section', { class: 'sev-section sev-' + sev, 'aria-labelledby': 'sev-' + sev }, title), count, title };
        sectionEls.set(sev, sec);
      }
      const n = ordered.filter((x) => x.sev === sev).reduce((t, x) => t + x.alerts.length, 0);
      if (sec.count.textContent !== String(n)) sec.count.textContent = String(n);
      reconcile(sec.el, [sec.title, ...groupList]);
      top.push(sec.el);
    }
    reconcile(list, top);
    // Forget what is no longer shown (it is rebuilt if it comes back).
    for (const k of sectionEls.keys()) if (!bySev.has(k)) sectionEls.delete(k);
    for (const k of groupEls.keys()) if (!groups.has(k)) groupEls.delete(k);
    for (const [fp, r] of rowEls) if (!r.el.isConnected) rowEls.delete(fp);
    // Relative times move on without a rebuild.
    const now = Date.now();
    for (const el of list.querySelectorAll('[data-since]')) {
      const t = +el.dataset.since;
      const text = (el.dataset.prefix || '') + (el.dataset.prefix === undefined ? (t > now ? 'starts ' : 'since ') : '') + ago(new Date(t), now);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  // reconcile makes parent's children exactly kids, in order, moving and
  // removing only what differs: a node that stays in place is not touched.
  function reconcile(parent, kids) {
    let cur = parent.firstChild;
    for (const k of kids) {
      if (k === cur) {
        cur = cur.nextSibling;
        continue;
      }
      parent.insertBefore(k, cur);
    }
    while (cur) {
      const next = cur.nextSibling;
      parent.removeChild(cur);
      cur = next;
    }
  }

  function groupMatchers(g, ms) {
    const own = [{ name: 'severity', value: g.sev === 'none' ? '' : g.sev, isRegex: false, isEqual: true }, { name: 'team', value: g.team, isRegex: false, isEqual: true }];
    return [...own, ...ms.filter((m) => m.name !== 'severity' && m.name !== 'team' || !m.isEqual || m.isRegex)];
  }

  function renderGroup(g, open, limit, ms) {
    g.alerts.sort((x, y) => cmp(x.labels.alertname || '', y.labels.alertname || '') || (y.startsAt || 0) - (x.startsAt || 0) || cmp(x.fp, y.fp));
    const unacked = g.ackable;
    let ge = groupEls.get(g.key);
    if (!ge) {
      const p = {
        toggle: h('button', { type: 'button', class: 'toggle', dataset: { action: 'toggle' } }),
        name: h('span', { class: 'group-name', dataset: { action: 'toggle' } }, g.team ? ['team ', h('b', null, g.team)] : h('i', null, 'no team')),
        count: h('span', { class: 'count' }),
        badges: h('span', { class: 'group-badges' }),
        spacer: h('span', { class: 'spacer', dataset: { action: 'toggle' } }),
        ackBtn: h('button', { type: 'button', class: 'btn small needs-operator', dataset: { action: 'ack-group' } }),
        silence: h('a', { class: 'btn small needs-operator', title: 'Silence this group' }, 'Silence'),
        body: h('div', { class: 'group-body' }),
        more: h('div', { class: 'more' }, h('button', { type: 'button', class: 'btn small ghost', dataset: { action: 'more' } }), h('span', { class: 'muted' })),
        badgeSig: null,
      };
      p.head = h('div', { class: 'group-head', dataset: { action: 'toggle' } }, p.toggle, p.name, p.count, p.badges, p.spacer, p.ackBtn, p.silence);
      ge = { el: h('div', { class: 'group', dataset: { key: g.key } }, p.head), parts: p };
      groupEls.set(g.key, ge);
    }
    const p = ge.parts;
    const set = (el, attr, v) => { if (el.getAttribute(attr) !== v) el.setAttribute(attr, v); };
    const text = (el, v) => { if (el.textContent !== v) el.textContent = v; };
    ge.el.classList.toggle('open', open);
    set(p.toggle, 'aria-expanded', String(open));
    set(p.toggle, 'title', open ? 'Collapse' : 'Expand');
    set(p.toggle, 'aria-label', (open ? 'Collapse ' : 'Expand ') + (g.team ? 'team ' + g.team : 'no team') + ' ' + g.sev);
    text(p.toggle, open ? '▾' : '▸');
    text(p.count, `${g.alerts.length} alert${g.alerts.length === 1 ? '' : 's'}`);
    const badgeSig = [g.acked, g.silenced, g.inhibited, g.escalated].join();
    if (badgeSig !== p.badgeSig) {
      p.badgeSig = badgeSig;
      fill(p.badges,
        g.acked ? badge(`${g.acked} acked`, 'ack') : null,
        g.silenced ? badge(`${g.silenced} silenced`, 'silenced') : null,
        g.inhibited ? badge(`${g.inhibited} inhibited`, 'inhibited', 'Inhibited alerts are left out of the group ack: act on the alert that inhibits them') : null,
        g.escalated ? badge(`${g.escalated} escalated`, 'escalated') : null);
    }
    p.ackBtn.hidden = !(data.acks && unacked);
    text(p.ackBtn, `Ack ${unacked}`);
    set(p.ackBtn, 'title', `Acknowledge the ${unacked} unacked alerts of this group${g.inhibited ? ' (inhibited ones left out)' : ''}`);
    set(p.silence, 'href', '#/silences/new?' + new URLSearchParams({ matchers: formatAll(groupMatchers(g, ms)) }));
    if (open) {
      const rows = [];
      for (let i = 0; i < limit; i++) rows.push(renderAlert(g.alerts[i]));
      if (limit < g.alerts.length) {
        text(p.more.firstChild, `Show ${Math.min(PAGE * 5, g.alerts.length - limit)} more`);
        text(p.more.lastChild, ` ${limit} of ${g.alerts.length} shown`);
        rows.push(p.more);
      }
      reconcile(p.body, rows);
      reconcile(ge.el, [p.head, p.body]);
    } else {
      reconcile(ge.el, [p.head]);
    }
    return ge.el;
  }

  // rowSig is what a row shows, but for relative times (updated in place)
  // and endsAt (which moves on every resend from Prometheus).
  function rowSig(a) {
    return JSON.stringify([a.labels, a.annotations, a.state, a.silencedBy, a.inhibitedBy.map((fp) => [fp, allByFP.has(fp) && allByFP.get(fp).labels.alertname]),
      a.ack, a.escalations, +a.startsAt, a.generatorURL, a.receivers, data.acks]);
  }

  function renderAlert(a) {
    const sig = rowSig(a);
    const cached = rowEls.get(a.fp);
    if (cached && cached.sig === sig) return cached.el;
    const el = buildAlert(a);
    rowEls.set(a.fp, { sig, el });
    return el;
  }

  function buildAlert(a) {
    const L = a.labels;
    const chips = [];
    for (const k of Object.keys(L).sort()) {
      if (HIDDEN_LABELS.has(k)) continue;
      chips.push(h('button', { type: 'button', class: 'chip', dataset: { action: 'filter', m: format({ name: k, value: L[k], isEqual: true, isRegex: false }) }, title: 'Filter on this label' }, k, '=', h('b', null, L[k])));
    }
    const markers = [];
    if (a.state === 'suppressed' && a.silencedBy.length) {
      markers.push(h('a', { class: 'badge silenced', href: '#/silences?' + new URLSearchParams({ id: a.silencedBy[0] }), title: 'Silenced by ' + a.silencedBy.join(', ') }, 'Silenced'));
    } else if (a.silencedBy.length) {
      markers.push(badge('Silenced', 'silenced', a.silencedBy.join(', ')));
    }
    if (a.inhibitedBy.length) {
      markers.push(h('span', { class: 'inhibit-ref' }, badge('Inhibited', 'inhibited'), ' by ',
        a.inhibitedBy.map((fp, i) => {
          const src = allByFP.get(fp);
          const name = src ? src.labels.alertname || fp : fp;
          return [i ? ', ' : '', h('a', { class: 'inhibited-by', href: '#/alerts/' + encodeURIComponent(fp), title: src ? formatAll(fromLabels(src.labels)) : 'fingerprint ' + fp }, name)];
        })));
    }
    if (a.state === 'unprocessed') markers.push(badge('Unprocessed', 'muted'));
    if (a.ack) {
      markers.push(h('span', { class: 'badge ack', title: `${a.ack.comment || 'no comment'} — ${stamp(a.ack.at)}` }, `Acked by ${a.ack.by}`, a.ack.at ? h('span', { dataset: { since: String(+a.ack.at), prefix: ' · ' } }, ` · ${ago(a.ack.at)}`) : ''));
    }
    if (a.escalations.length) {
      const last = a.escalations[a.escalations.length - 1];
      markers.push(badge(`Escalated · step ${last.step}`, 'escalated', a.escalations.map((e) => `step ${e.step} → ${e.receiver} at ${stamp(e.at)}`).join('\n')));
    }
    const runbook = safeURL(a.annotations.runbook_url || a.annotations.runbook);
    const graph = queryLink(a.generatorURL);
    const dashboard = safeURL(a.annotations.dashboard_url);
    const text = a.annotations.summary || a.annotations.description || '';
    return h('div', { class: `alert-row state-${a.state}${a.ack ? ' acked' : ''}`, dataset: { fp: a.fp } },
      h('div', { class: 'a-main' },
        h('div', { class: 'a-title' }, h('a', { class: 'alertname', href: '#/alerts/' + encodeURIComponent(a.fp), title: 'Details, history and silences of this alert' }, L.alertname || '(no alertname)'), text ? h('span', { class: 'a-summary' }, text) : null),
        h('div', { class: 'a-labels' }, chips)),
      h('div', { class: 'a-status' },
        h('span', { class: 'a-since', title: 'Starts ' + stamp(a.startsAt), dataset: a.startsAt ? { since: String(+a.startsAt) } : null }, (a.startsAt > Date.now() ? 'starts ' : 'since ') + ago(a.startsAt)),
        markers),
      h('div', { class: 'a-actions' },
        data.acks ? (a.ack
          ? h('button', { type: 'button', class: 'btn small needs-operator', dataset: { action: 'unack' } }, 'Un-ack')
          : ackable(a) ? h('button', { type: 'button', class: 'btn small primary needs-operator', dataset: { action: 'ack' } }, 'Ack') : null) : null,
        h('a', { class: 'btn small needs-operator', href: '#/silences/new?' + new URLSearchParams({ matchers: formatAll(fromLabels(L)) }) }, 'Silence'),
        runbook ? h('a', { class: 'btn small ghost', href: runbook, target: '_blank', rel: 'noopener noreferrer' }, 'Runbook') : null,
        dashboard ? h('a', { class: 'btn small ghost a-dashboard', href: dashboard, title: 'The dashboard of this alert, on its panel' }, 'Dashboard') : null,
        graph ? h('a', { class: 'btn small ghost', href: graph, title: 'The rule expression on the query page' }, 'Graph') : null));
  }

  // renderHeartbeat shows the Watchdog as the pipeline's heartbeat: when
  // the dead man's switch last got it, from the notification history.
  function renderHeartbeat(beats) {
    heartbeat.hidden = beats.length === 0;
    if (!beats.length) {
      heartbeat.dataset.sig = '';
      return fill(heartbeat);
    }
    const w = beats[0];
    const recv = w.receivers.join(', ') || 'no receiver';
    let status;
    let cls = 'heartbeat';
    if (lastBeat === undefined) {
      status = h('span', { class: 'muted' }, 'last delivery: loading…');
      cls += ' unknown';
    } else if (lastBeat === null) {
      status = h('span', { class: 'hb-last' }, `no delivery to ${recv} recorded`);
      cls += ' unknown';
    } else {
      const logged = lastBeat.logged || lastBeat.integration === 'log';
      status = h('span', { class: 'hb-last', title: stamp(lastBeat.time) },
        logged ? `last logged (not delivered: no dead man's switch configured) ${ago(lastBeat.time)}` : `last delivered to ${lastBeat.receiver}${lastBeat.integration ? ' / ' + lastBeat.integration : ''} ${ago(lastBeat.time)}`);
      // The Watchdog repeats every 5 minutes: two missed deliveries mean the
      // pipeline (or the switch) is stuck.
      if (!logged && Date.now() - lastBeat.time > 12 * 60e3) cls += ' stale';
      if (logged) cls += ' unknown';
    }
    // Rebuilt only when it changes, like the list (focus on its link stays).
    const dashboard = safeURL(w.annotations.dashboard_url);
    const sig = [cls, w.fp, w.labels.alertname, status.textContent, ago(w.startsAt), dashboard].join('\n');
    if (heartbeat.dataset.sig === sig) return;
    heartbeat.dataset.sig = sig;
    heartbeat.className = cls;
    fill(heartbeat, h('span', { class: 'hb-dot', 'aria-hidden': 'true' }), h('b', null, 'Pipeline heartbeat'),
      h('a', { href: '#/alerts/' + encodeURIComponent(w.fp) }, w.labels.alertname || 'Watchdog'),
      h('span', { class: 'muted' }, `firing since ${ago(w.startsAt)}`), '·', status,
      dashboard ? h('a', { class: 'btn small ghost a-dashboard', href: dashboard, title: 'The appliance dashboard, on the heartbeat\'s panel' }, 'Dashboard') : null);
  }

  async function loadBeat() {
    try {
      const es = (await get(applianceAPI + 'history', { alertname: 'Watchdog', kind: 'notification', status: 'success', limit: 1 })) || [];
      lastBeat = es.length ? { ...es[0], time: new Date(es[0].time).getTime() } : null;
    } catch {
      lastBeat = null;
    }
  }

  async function doAck(fps, title, detail) {
    const r = await promptAck(title, detail);
    if (!r) return;
    try {
      await sendAck(fps, r);
      ctx.flash(`Acknowledged ${fps.length} alert${fps.length === 1 ? '' : 's'} as ${r.by}.`);
    } catch (e) {
      ctx.flash('Acknowledge failed: ' + e.message, 'error');
    }
    ctx.refresh();
  }

  list.addEventListener('click', async (ev) => {
    // Links and buttons without an action (Silence, Runbook) do their own thing.
    const t = ev.target.closest('[data-action], a, button');
    if (!t || !list.contains(t) || !t.dataset.action) return;
    const action = t.dataset.action;
    const groupEl = t.closest('.group');
    const g = groupEl && groupsByKey.get(groupEl.dataset.key);
    const row = t.closest('.alert-row');
    const a = row && byFP.get(row.dataset.fp);
    switch (action) {
      case 'toggle':
        if (!g) return;
        expanded.set(g.key, !groupEl.classList.contains('open'));
        render();
        break;
      case 'more':
        shown.set(g.key, (shown.get(g.key) || PAGE) + PAGE * 5);
        expanded.set(g.key, true);
        render();
        break;
      case 'filter':
        matcherInput.value = filters.filter.trim() ? filters.filter.trim().replace(/[,\s]*$/, '') + ', ' + t.dataset.m : t.dataset.m;
        onFilter();
        break;
      case 'ack':
        if (a) await doAck([a.fp], `Acknowledge ${a.labels.alertname || 'alert'}`, formatAll(fromLabels(a.labels)));
        break;
      case 'ack-group': {
        if (!g) return;
        const fps = g.alerts.filter(ackable).map((x) => x.fp);
        if (fps.length) await doAck(fps, `Acknowledge ${fps.length} alert${fps.length === 1 ? '' : 's'}`, `severity ${g.sev}, team ${g.team || '(none)'}`);
        break;
      }
      case 'unack':
        if (!a) return;
        try {
          await unack(a.fp);
          ctx.flash(`Removed the acknowledgement of ${a.labels.alertname || a.fp}.`);
        } catch (e) {
          ctx.flash('Un-ack failed: ' + e.message, 'error');
        }
        ctx.refresh();
        break;
    }
  });

  return {
    async refresh() {
      const t0 = performance.now();
      data = await loadAlerts();
      if (data.alerts.some(isHeartbeat)) await loadBeat();
      const t1 = performance.now();
      loaded = true;
      updateReceivers();
      render();
      // For the browser tests' timing of large alert sets.
      list.dataset.fetchMs = String(Math.round(t1 - t0));
      list.dataset.renderMs = String(Math.round(performance.now() - t1));
    },
    busy: () => false,
  };
}
