// Current alerts, from the appliance API (with acks and escalations) or,
// when that is not available, from Alertmanager's API v2.

import { get, send, amAPI, applianceAPI, APIError } from './api.js';
import { parseTime } from './format.js';

let applianceMissingSince = 0;

function normalize(a, fromAppliance) {
  const st = fromAppliance ? a : a.status || {};
  return {
    fp: a.fingerprint,
    labels: a.labels || {},
    annotations: a.annotations || {},
    startsAt: parseTime(a.startsAt),
    endsAt: parseTime(a.endsAt),
    generatorURL: a.generatorURL || '',
    state: st.state || 'active',
    silencedBy: st.silencedBy || [],
    inhibitedBy: st.inhibitedBy || [],
    receivers: (a.receivers || []).map((r) => (typeof r === 'string' ? r : r.name)),
    ack: a.ack ? { by: a.ack.by, comment: a.ack.comment, at: parseTime(a.ack.at), reason: a.ack.reason || '', via: a.ack.via || '', until: parseTime(a.ack.until) } : null,
    firstNotifiedAt: parseTime(a.firstNotifiedAt),
    escalations: (a.escalations || []).map((e) => ({ step: e.step, at: parseTime(e.at), receiver: e.receiver })),
  };
}

// loadAlerts returns {alerts, acks}: acks is false when the appliance API
// (and with it acknowledgement) is unavailable.
export async function loadAlerts() {
  if (!applianceMissingSince || Date.now() - applianceMissingSince > 5 * 60e3) {
    try {
      const data = await get(applianceAPI + 'alerts');
      applianceMissingSince = 0;
      return { alerts: (data || []).map((a) => normalize(a, true)), acks: true };
    } catch (e) {
      if (!(e instanceof APIError) || (e.status !== 404 && e.status !== 405)) throw e;
      applianceMissingSince = Date.now();
    }
  }
  const data = await get(amAPI + 'alerts');
  return { alerts: (data || []).map((a) => normalize(a, false)), acks: false };
}

export function ack(fingerprints, by, comment) {
  return send('POST', applianceAPI + 'acks', { fingerprints, by, comment });
}

export function unack(fingerprint) {
  const by = userName();
  return send('DELETE', applianceAPI + 'acks/' + encodeURIComponent(fingerprint) + (by ? '?by=' + encodeURIComponent(by) : ''));
}

// queryLink turns a rule's generator URL (…/graph?g0.expr=…) into a link to
// the console's query page.
export function queryLink(generatorURL) {
  if (!generatorURL) return null;
  try {
    const u = new URL(generatorURL, document.baseURI);
    const expr = u.searchParams.get('g0.expr');
    if (expr) return '#/query?' + new URLSearchParams({ expr, tab: 'graph' });
  } catch {
    return null;
  }
  return null;
}

export const SEVERITY_ORDER = ['critical', 'error', 'high', 'warning', 'medium', 'low', 'info', 'none'];

export function severityRank(s) {
  const i = SEVERITY_ORDER.indexOf(s);
  return i < 0 ? SEVERITY_ORDER.length - 1 : i;
}

// userName is the name last typed into an ack or silence form.
export function userName() {
  return localStorage.getItem('smm.user') || '';
}

export function rememberUser(name) {
  if (name) localStorage.setItem('smm.user', name);
}
