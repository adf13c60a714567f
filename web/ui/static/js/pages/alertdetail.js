// Alert detail (#/alerts/<fingerprint>): everything an on-call engineer asks
// about one alert on one page with a stable URL that notifications and
// other pages link to — description, runbook and dashboard, the rule's
// expression with its current value, start, ack (who, why, until when),
// escalation, matching silences and the alert's notification history.

import { h, badge, empty, fill, kv, panel } from '../dom.js';
import { get, amAPI, applianceAPI, promAPI } from '../api.js';
import { ago, stamp, num, seriesName, parseTime } from '../format.js';
import { loadAlerts, unack, queryLink } from '../alertdata.js';
import { matchesAll, formatAll, fromLabels } from '../matchers.js';
import { promptAck, sendAck } from '../ackdialog.js';
import { entryRow, HEADERS } from './notifications.js';

const REASONS = { working_on_it: 'working on it', false_positive: 'false positive', not_actionable: 'not actionable', duplicate: 'duplicate' };

function safeURL(u) {
  if (!u) return null;
  try {
    const x = new URL(u, document.baseURI);
    return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : null;
  } catch {
    return null;
  }
}

function exprOf(generatorURL) {
  if (!generatorURL) return '';
  try {
    return new URL(generatorURL, document.baseURI).searchParams.get('g0.expr') || '';
  } catch {
    return '';
  }
}

// sameSeries: the query result's series that raised this alert carries a
// subset of the alert's labels (the rule adds its own labels on top).
function sameSeries(metric, labels) {
  for (const [k, v] of Object.entries(metric)) if (k !== '__name__' && labels[k] !== v) return false;
  return true;
}

export default function alertDetailPage(ctx, fp) {
  let alert = null; // null: not firing now
  let all = [];
  let acksOn = false;
  let history = [];
  let silences = [];
  let value = null; // {text, series} or {error}
  let loaded = false;
  let lastSig = null;
  const head = h('div', { class: 'page-head' }, h('h1', { id: 'detail-title' }, 'Alert'), h('a', { class: 'btn small ghost', href: '#/alerts' }, '← All alerts'));
  const body = h('div', { id: 'alert-detail', dataset: { fp } });
  ctx.root.append(head, body);

  function ackPanel(a) {
    if (!a.ack) {
      const why = a.inhibitedBy.length ? 'Inhibited: act on the alert that inhibits it.' : 'Not acknowledged.';
      return panel('Acknowledgement', h('p', { id: 'detail-ack' }, why),
        acksOn && !a.inhibitedBy.length ? h('button', { type: 'button', class: 'btn small primary needs-operator', id: 'detail-ack-btn', onclick: doAck }, 'Ack') : null);
    }
    const k = a.ack;
    return panel('Acknowledgement', h('div', { id: 'detail-ack' }, kv([
      ['By', h('b', null, k.by)],
      ['At', k.at ? `${stamp(k.at)} (${ago(k.at)})` : '—'],
      ['Reason', k.reason ? REASONS[k.reason] || k.reason : '—'],
      ['Comment', k.comment || '—'],
      ['Via', k.via || 'console'],
      ['Until', k.until ? `${stamp(k.until)} (snoozed; lapses ${ago(k.until)})` : 'the alert resolves'],
    ])), acksOn ? h('button', { type: 'button', class: 'btn small needs-operator', onclick: doUnack }, 'Un-ack') : null);
  }

  async function doAck() {
    const r = await promptAck(`Acknowledge ${alert.labels.alertname || 'alert'}`, formatAll(fromLabels(alert.labels)));
    if (!r) return;
    try {
      await sendAck([fp], r);
      ctx.flash(`Acknowledged as ${r.by}.`);
    } catch (e) {
      ctx.flash('Acknowledge failed: ' + e.message, 'error');
    }
    ctx.refresh();
  }

  async function doUnack() {
    try {
      await unack(fp);
      ctx.flash('Removed the acknowledgement.');
    } catch (e) {
      ctx.flash('Un-ack failed: ' + e.message, 'error');
    }
    ctx.refresh();
  }

  function render() {
    if (!loaded) return fill(body, empty('Loading alert…'));
    const a = alert;
    const ref = history.flatMap((e) => e.alerts || []).find((r) => r.fingerprint === fp);
    const name = (a ? a.labels.alertname : ref && ref.alertname) || fp;
    fill(head.firstChild, name);
    document.title = `${name} · SMM Appliance`;
    const parts = [];
    if (!a) parts.push(h('div', { class: 'banner info', id: 'detail-gone', role: 'status' }, 'This alert is not firing now (resolved, or never received). Its history is below.'));
    if (a) {
      const ann = a.annotations;
      const runbook = safeURL(ann.runbook_url || ann.runbook);
      const dash = safeURL(ann.dashboard_url || ann.dashboard || ann.grafana_url);
      const expr = exprOf(a.generatorURL);
      const graph = queryLink(a.generatorURL);
      const state = [badge(a.state, a.state === 'active' ? 'firing' : 'silenced')];
      if (a.inhibitedBy.length) {
        state.push(' inhibited by ', a.inhibitedBy.map((x, i) => {
          const src = all.find((y) => y.fp === x);
          return [i ? ', ' : '', h('a', { href: '#/alerts/' + encodeURIComponent(x), class: 'inhibited-by' }, src ? src.labels.alertname || x : x)];
        }));
      }
      const left = [
        panel('What', h('p', { class: 'a-summary', id: 'detail-summary' }, ann.summary || h('span', { class: 'muted' }, 'No summary.')),
          ann.description ? h('p', { class: 'detail-desc', id: 'detail-description' }, ann.description) : null,
          h('div', { class: 'toolbar' },
            runbook ? h('a', { class: 'btn small', id: 'detail-runbook', href: runbook, target: '_blank', rel: 'noopener noreferrer' }, 'Runbook') : h('span', { class: 'muted' }, 'No runbook link.'),
            dash ? h('a', { class: 'btn small', id: 'detail-dashboard', href: dash, target: '_blank', rel: 'noopener noreferrer' }, 'Dashboard') : null,
            h('a', { class: 'btn small needs-operator', href: '#/silences/new?' + new URLSearchParams({ matchers: formatAll(fromLabels(a.labels)) }) }, 'Silence'))),
        panel('Rule expression', expr ? [h('pre', { class: 'expr mono', id: 'detail-expr' }, expr),
          h('p', { id: 'detail-value' }, value ? (value.error ? h('span', { class: 'err-text' }, value.error) : ['Current value: ', h('b', { class: 'mono' }, value.text), value.series ? h('span', { class: 'muted small mono' }, ' ' + value.series) : null]) : h('span', { class: 'muted' }, 'evaluating…')),
          graph ? h('a', { class: 'btn small ghost', href: graph }, 'Graph') : null] : h('p', { class: 'muted' }, 'The alert carries no rule expression (it was posted, not raised by a rule).')),
      ];
      const esc = a.escalations.length
        ? h('ol', { id: 'detail-escalation' }, a.escalations.map((e) => h('li', null, `step ${e.step} → ${e.receiver} at ${stamp(e.at)} (${ago(e.at)})`)))
        : h('p', { id: 'detail-escalation', class: 'muted' }, a.firstNotifiedAt ? `Not escalated (first notified ${ago(a.firstNotifiedAt)}).` : 'Not escalated.');
      const right = [
        panel('State', kv([
          ['State', state],
          ['Started', h('span', { id: 'detail-started' }, `${stamp(a.startsAt)} (${ago(a.startsAt)})`)],
          ['Receivers', a.receivers.join(', ') || '—'],
          ['Labels', h('div', { class: 'a-labels' }, Object.keys(a.labels).sort().map((k) => h('span', { class: 'chip static' }, k, '=', h('b', null, a.labels[k]))))],
        ])),
        ackPanel(a),
        panel('Escalation', esc),
        panel('Silences', silences.length
          ? h('ul', { id: 'detail-silences' }, silences.map((x) => h('li', null, h('a', { href: '#/silences?' + new URLSearchParams({ id: x.id }) }, formatAll(x.matchers)), ' ', badge(x.status.state, x.status.state === 'active' ? 'silenced' : 'muted'), h('span', { class: 'muted' }, ` by ${x.createdBy}: ${x.comment} · ends ${ago(parseTime(x.endsAt))}`))))
          : h('p', { id: 'detail-silences', class: 'muted' }, 'No silence matches this alert.')),
      ];
      parts.push(h('div', { class: 'detail-grid' }, h('div', null, left), h('div', null, right)));
    }
    parts.push(panel('Notification history',
      history.length ? h('table', { class: 'tbl', id: 'detail-history' }, h('thead', null, h('tr', null, HEADERS.map((x) => h('th', null, x)))), h('tbody', null, history.map(entryRow)))
        : h('p', { class: 'muted', id: 'detail-history' }, 'Nothing sent for this alert yet.')));
    fill(body, parts);
  }

  async function loadValue(a) {
    const expr = exprOf(a.generatorURL);
    if (!expr) return null;
    try {
      const r = await get(promAPI + 'query', { query: expr });
      const vec = r && r.resultType === 'vector' ? r.result : [];
      // The series that raised the alert; an expression that returns one
      // series only (a posted alert need not carry its labels) is that one.
      const s = vec.find((x) => sameSeries(x.metric, a.labels)) || (vec.length === 1 ? vec[0] : null);
      if (s) return { text: num(s.value[1]), series: seriesName(s.metric) };
      if (r && r.resultType === 'scalar') return { text: num(r.result[1]) };
      return { error: vec.length ? `no series of the ${vec.length} returned carries this alert's labels` : 'the expression returns nothing now (the alert resolves soon)' };
    } catch (e) {
      return { error: 'query failed: ' + e.message };
    }
  }

  return {
    async refresh() {
      const [d, hist, sil] = await Promise.all([
        loadAlerts(),
        get(applianceAPI + 'history', { fingerprint: fp, limit: 200 }).catch(() => []),
        get(amAPI + 'silences').catch(() => []),
      ]);
      all = d.alerts;
      acksOn = d.acks;
      alert = all.find((x) => x.fp === fp) || null;
      history = (hist || []).sort((x, y) => new Date(y.time) - new Date(x.time));
      silences = alert ? (sil || []).filter((x) => x.status && (x.status.state === 'active' || x.status.state === 'pending') &&
        (alert.silencedBy.includes(x.id) || (x.status.state === 'pending' && safeMatch(x.matchers, alert.labels)))) : [];
      value = alert ? await loadValue(alert) : null;
      loaded = true;
      // Rebuilt only when something shown changed (endsAt moves on every
      // resend and is not shown), so focus and reading position stay.
      const sig = JSON.stringify([alert && { ...alert, endsAt: null }, acksOn, history, silences, value, alert && ago(alert.startsAt)]);
      if (sig === lastSig) return;
      lastSig = sig;
      render();
    },
  };
}

function safeMatch(ms, labels) {
  try {
    return matchesAll(ms, labels);
  } catch {
    return false;
  }
}
