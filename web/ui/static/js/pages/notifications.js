// Notifications: the history of notification attempts, escalations and acks
// (GET /api/v1/appliance/history) with filters.

import { h, debounce, select, badge, empty, field, fill } from '../dom.js';
import { get, amAPI, applianceAPI, APIError } from '../api.js';
import { ago, stamp, duration, localInput } from '../format.js';

const KINDS = [['', 'Any kind'], ['notification', 'Notifications'], ['escalation', 'Escalations'], ['ack', 'Acks'], ['unack', 'Un-acks']];
const PRESETS = [['1h', 3600], ['6h', 6 * 3600], ['24h', 86400], ['7d', 7 * 86400]];

// isLogged: the log fallback handled it (entries written before the
// history said so carry only the integration name).
export const isLogged = (e) => !!e.success && (e.logged || e.integration === 'log') && (e.kind || 'notification') === 'notification';

export const HEADERS = ['Time', 'Kind', 'Receiver and channel', 'Alerts', 'Result and message', 'Duration', 'Attempt / step'];

// COMMON labels say little about which alert it was.
const COMMON = new Set(['alertname', 'severity', 'team', 'service', 'category', 'environment']);

// distinguishing returns, per alert of an entry, the labels that tell it
// apart: those whose values differ between the entry's alerts, or for a
// lone alert its labels beyond the common ones.
export function distinguishing(alerts) {
  const keys = new Set();
  for (const a of alerts) for (const k of Object.keys(a.labels || {})) keys.add(k);
  let pick = [...keys].filter((k) => new Set(alerts.map((a) => (a.labels || {})[k])).size > 1);
  if (alerts.length === 1 || !pick.length) pick = [...keys].filter((k) => !COMMON.has(k));
  pick = pick.filter((k) => k !== 'alertname').sort().slice(0, 4);
  return alerts.map((a) => pick.filter((k) => (a.labels || {})[k] !== undefined).map((k) => [k, a.labels[k]]));
}

// entryRow is one history entry as a table row (also on an alert's detail
// page). Alert names link to the alert's detail page.
export function entryRow(e) {
  const kind = e.kind || 'notification';
  const alerts = e.alerts || [];
  const dist = distinguishing(alerts.slice(0, 3));
  const names = alerts.slice(0, 3).map((a, i) => h('div', { class: 'alert-ref' },
    a.fingerprint ? h('a', { href: '#/alerts/' + encodeURIComponent(a.fingerprint), title: 'Alert detail' }, h('b', null, a.alertname || a.fingerprint)) : h('b', null, a.alertname),
    a.status ? h('span', { class: 'st-' + a.status }, ' ' + a.status) : '',
    dist[i].map(([k, v]) => h('span', { class: 'chip static small' }, k, '=', h('b', null, v)))));
  let result;
  if (kind === 'ack' || kind === 'unack') result = h('span', null, h('b', null, e.user || ''), e.comment ? ': ' + e.comment : '');
  else if (isLogged(e)) result = badge('logged, not delivered', 'logged', 'The receiver has no channel with its secret set: the notification was written to the appliance log only');
  else if (e.success) result = badge('sent', 'ok');
  else result = h('span', null, badge('failed', 'err'), ' ', h('span', { class: 'err-text' }, e.error || ''));
  return h('tr', { class: e.success === false && kind !== 'ack' && kind !== 'unack' ? 'row-failed' : isLogged(e) ? 'row-logged' : '' },
    h('td', { class: 'nowrap', title: ago(e.time) }, stamp(e.time)),
    h('td', null, badge(kind, kind === 'escalation' ? 'escalated' : kind === 'ack' ? 'ack' : kind === 'unack' ? 'muted' : 'info')),
    h('td', null, e.receiver || '', e.integration ? h('span', { class: 'muted' }, ' / ' + e.integration) : '',
      e.channel ? h('div', { class: 'muted small hist-channel' }, e.channel) : ''),
    h('td', null, names, alerts.length > 3 ? h('span', { class: 'muted' }, ` +${alerts.length - 3}`) : ''),
    h('td', null, result, e.message ? h('details', { class: 'hist-message' }, h('summary', null, 'Message'), h('pre', { class: 'mono small' }, e.message)) : ''),
    h('td', { class: 'nowrap' }, e.durationSeconds !== undefined && kind !== 'ack' && kind !== 'unack' ? duration(e.durationSeconds) : ''),
    h('td', { class: 'num' }, e.attempt ? String(e.attempt) : e.step ? 'step ' + e.step : ''));
}

export default function notificationsPage(ctx) {
  const p = ctx.params;
  const f = {
    receiver: p.get('receiver') || '',
    alertname: p.get('alertname') || '',
    team: p.get('team') || '',
    matchers: p.get('matchers') || '',
    status: p.get('status') || '',
    kind: p.get('kind') || '',
    since: p.get('since') || '',
    until: p.get('until') || '',
    limit: p.get('limit') || '500',
  };
  let entries = [];
  let loaded = false;
  let unavailable = false;

  const recvSel = select({ id: 'hist-receiver' }, [['', 'Any receiver']].concat(f.receiver ? [[f.receiver, f.receiver]] : []), f.receiver);
  const nameIn = h('input', { type: 'search', id: 'hist-alertname', placeholder: 'alertname', value: f.alertname });
  const teams = new Set(f.team ? [f.team] : []);
  const teamSel = select({ id: 'hist-team' }, [['', 'Any team']].concat(f.team ? [[f.team, f.team]] : []), f.team);
  const matchIn = h('input', { type: 'search', id: 'hist-matchers', class: 'mono', placeholder: 'connector="tiktok", workspace=~"acme.*"', value: f.matchers, spellcheck: 'false' });
  const statusSel = select({ id: 'hist-status' }, [['', 'Any result'], ['delivered', 'Delivered'], ['logged', 'Logged, not delivered'], ['failure', 'Failed']], f.status);
  const kindSel = select({ id: 'hist-kind' }, KINDS, f.kind);
  const toLocal = (v) => (v ? localInput(new Date(v)) : '');
  const sinceIn = h('input', { type: 'datetime-local', id: 'hist-since', value: toLocal(f.since) });
  const untilIn = h('input', { type: 'datetime-local', id: 'hist-until', value: toLocal(f.until) });
  const limitSel = select({ id: 'hist-limit' }, [['100', '100'], ['500', '500'], ['2000', '2000']], f.limit);
  const presets = h('span', { class: 'presets' }, PRESETS.map(([l, sec]) => h('button', { type: 'button', class: 'btn small ghost', onclick: () => { sinceIn.value = localInput(new Date(Date.now() - sec * 1000)); untilIn.value = ''; apply(); } }, l)),
    h('button', { type: 'button', class: 'btn small ghost', onclick: () => { sinceIn.value = ''; untilIn.value = ''; apply(); } }, 'all'));
  const summary = h('div', { class: 'summary' });
  const list = h('div', { id: 'history-list' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Notifications'), summary),
    h('div', { class: 'toolbar wrap' }, field('Receiver', recvSel), field('Alert name', nameIn), field('Team', teamSel), field('Alert labels', matchIn), field('Result', statusSel), field('Kind', kindSel),
      field('Since', sinceIn), field('Until', untilIn), h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Last'), presets), field('Limit', limitSel)),
    list);

  function apply() {
    f.receiver = recvSel.value;
    f.alertname = nameIn.value.trim();
    f.team = teamSel.value;
    f.matchers = matchIn.value.trim();
    f.status = statusSel.value;
    f.kind = kindSel.value;
    f.since = sinceIn.value ? new Date(sinceIn.value).toISOString() : '';
    f.until = untilIn.value ? new Date(untilIn.value).toISOString() : '';
    f.limit = limitSel.value;
    ctx.setParams({ ...f, limit: f.limit !== '500' && f.limit });
    ctx.refresh();
  }
  nameIn.addEventListener('input', debounce(apply, 300));
  matchIn.addEventListener('input', debounce(apply, 400));
  matchIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') matchIn.blur(); });
  nameIn.addEventListener('keydown', (e) => { if (e.key === 'Enter') nameIn.blur(); });
  for (const el of [recvSel, teamSel, statusSel, kindSel, limitSel]) el.addEventListener('change', () => { el.blur(); apply(); });
  for (const el of [sinceIn, untilIn]) el.addEventListener('change', apply);

  function render() {
    if (unavailable) {
      summary.textContent = '';
      fill(list, empty('Notification history is not available on this appliance (GET /api/v1/appliance/history).'));
      return;
    }
    // Delivery figures: a notification the log fallback handled reached
    // nobody, so it is counted apart from the delivered ones.
    const notes = entries.filter((e) => (e.kind || 'notification') === 'notification');
    const failed = notes.filter((e) => !e.success).length;
    const logged = notes.filter(isLogged).length;
    const delivered = notes.length - failed - logged;
    fill(summary, h('span', { id: 'history-count', dataset: { count: String(entries.length), delivered: String(delivered), logged: String(logged), failed: String(failed) } }, `${entries.length} entries`),
      notes.length ? h('span', { class: 'text-ok' }, ` · ${delivered} delivered`) : '',
      logged ? h('span', { class: 'text-logged', title: 'Handled by the log fallback: the receiver has no channel with its secret set' }, ` · ${logged} logged, not delivered`) : '',
      failed ? h('span', { class: 'text-err' }, ` · ${failed} failed`) : '');
    if (!loaded) return fill(list, empty('Loading history…'));
    if (!entries.length) return fill(list, empty('No history entry matches.'));
    const rows = entries.map(entryRow);
    fill(list, h('table', { class: 'tbl', id: 'history-table' },
      h('thead', null, h('tr', null, HEADERS.map((x) => h('th', null, x)))),
      h('tbody', null, rows)));
  }

  function updateTeams() {
    const n = teams.size;
    for (const e of entries) for (const a of e.alerts || []) if (a.labels && a.labels.team) teams.add(a.labels.team);
    if (teams.size === n && teamSel.options.length === n + 1) return;
    const names = [...teams].sort();
    fill(teamSel, ...[['', 'Any team'], ...names.map((t) => [t, t])].map(([v, l]) => h('option', { value: v, selected: v === f.team }, l)));
  }

  async function loadReceivers() {
    try {
      const rs = await get(amAPI + 'receivers');
      const names = (rs || []).map((r) => r.name).sort();
      if (f.receiver && !names.includes(f.receiver)) names.push(f.receiver);
      fill(recvSel, ...[['', 'Any receiver'], ...names.map((n) => [n, n])].map(([v, l]) => h('option', { value: v, selected: v === f.receiver }, l)));
    } catch {
      // The filter still works with the receiver from the URL.
    }
  }
  loadReceivers();

  return {
    async refresh() {
      try {
        // Team and label filters are label matchers on the server.
        const ms = [f.team ? `team=${JSON.stringify(f.team)}` : '', f.matchers.replace(/^\{|\}$/g, '')].filter(Boolean).join(', ');
        entries = (await get(applianceAPI + 'history', {
          receiver: f.receiver, alertname: f.alertname, matchers: ms, status: f.status, kind: f.kind, since: f.since, until: f.until, limit: f.limit,
        })) || [];
        entries.sort((a, b) => new Date(b.time) - new Date(a.time));
        matchIn.classList.remove('invalid');
        updateTeams();
        unavailable = false;
      } catch (e) {
        if (e instanceof APIError && e.status === 400 && f.matchers) {
          // A matcher being typed: say so by the field, keep the rows.
          matchIn.classList.add('invalid');
          matchIn.title = e.message;
          return;
        }
        if (!(e instanceof APIError) || e.status !== 404) throw e;
        unavailable = true;
      }
      loaded = true;
      render();
    },
  };
}
