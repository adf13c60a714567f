// Status: build and runtime, reload state, notification channels (disabled
// ones highlighted), cluster, TSDB statistics, flags and configuration.

import { h, badge, empty, kv, table, fill } from '../dom.js';
import { get, promAPI, amAPI, applianceAPI } from '../api.js';
import { ago, stamp, bytes, parseTime } from '../format.js';

const SOURCES = {
  build: promAPI + 'status/buildinfo',
  runtime: promAPI + 'status/runtimeinfo',
  appliance: applianceAPI + 'status',
  am: amAPI + 'status',
  tsdb: promAPI + 'status/tsdb',
  flags: promAPI + 'status/flags',
  config: promAPI + 'status/config',
};

export default function statusPage(ctx) {
  const sections = {};
  const last = {};
  const open = new Map();
  const grid = h('div', { class: 'status-grid' });
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Status')), grid);
  const order = ['build', 'appliance', 'cluster', 'channels', 'tsdb', 'flags', 'config'];
  for (const k of order) {
    sections[k] = h('section', { class: 'panel status-' + k, id: 'status-' + k }, h('h2', null, title(k)), empty('Loading…'));
    grid.append(sections[k]);
  }

  function title(k) {
    return { build: 'Build and runtime', appliance: 'Configuration reload', channels: 'Receivers and channels', cluster: 'Cluster', tsdb: 'TSDB', flags: 'Flags', config: 'Configuration' }[k];
  }

  function put(k, ...body) {
    fill(sections[k], h('h2', null, title(k)), ...body);
  }

  function details(key, summary, ...body) {
    const d = h('details', { open: open.get(key) || false }, h('summary', null, summary), ...body);
    d.addEventListener('toggle', () => open.set(key, d.open));
    return d;
  }

  function failed(r) {
    return h('div', { class: 'form-error' }, r.reason ? r.reason.message : 'unavailable');
  }

  function render(res) {
    const ok = (k) => res[k].status === 'fulfilled';
    const v = (k) => res[k].value;
    // Build and runtime.
    if (ok('build')) {
      const b = v('build');
      const rt = ok('runtime') ? v('runtime') : {};
      const amv = ok('am') ? v('am') : {};
      const unset = (x) => x || h('span', { class: 'muted' }, 'not set');
      put('build', kv([
        ['Version', unset(b.version)], ['Revision', b.revision ? h('span', { class: 'mono' }, b.revision) : unset('')], ['Branch', unset(b.branch)],
        ['Build date', unset(b.buildDate)], ['Build user', unset(b.buildUser)], ['Go', unset(b.goVersion)],
        rt.startTime && ['Started', `${stamp(rt.startTime)} (${ago(rt.startTime)})`],
        rt.hostname && ['Host', rt.hostname],
        rt.goroutineCount !== undefined && ['Goroutines', String(rt.goroutineCount)],
        rt.storageRetention && ['Retention', rt.storageRetention],
        rt.GOMAXPROCS !== undefined && ['GOMAXPROCS', String(rt.GOMAXPROCS)],
        amv.uptime && ['Alertmanager up since', stamp(amv.uptime)],
      ]));
    } else put('build', failed(res.build));

    // Reload status and channels.
    if (ok('appliance')) {
      const a = v('appliance') || {};
      put('appliance', kv([
        ['Last reload', h('span', null, a.reloadSuccessful ? badge('successful', 'ok') : badge('failed', 'err'), ' ', a.lastReload ? `last successful ${stamp(a.lastReload)} (${ago(a.lastReload)})` : '')],
        // Kept until a reload succeeds: the running configuration is the
        // older one, and this says why the new one was refused.
        a.lastReloadError && ['Reload error', h('div', { id: 'reload-error', class: 'text-err reload-error' },
          h('div', null, `failed ${stamp(a.lastReloadError.time)} (${ago(a.lastReloadError.time)})`,
            a.lastReloadError.file ? h('span', { class: 'mono' }, ` ${a.lastReloadError.file}${a.lastReloadError.line ? ':' + a.lastReloadError.line : ''}`) : ''),
          h('pre', { class: 'mono small' }, a.lastReloadError.message))],
        ['Prometheus config', h('span', { class: 'mono' }, a.prometheusConfig || '')],
        ['Alertmanager config', h('span', { class: 'mono' }, a.alertmanagerConfig || '')],
        ['Rule files', h('div', { class: 'mono small' }, (a.ruleFiles || []).map((f) => h('div', null, f)))],
        // Where each file in force comes from: a drop-in that is missing
        // here was not picked up.
        (a.files || []).length && ['Files in force', h('div', { id: 'config-files', class: 'mono small' }, a.files.map((f) =>
          h('div', { 'data-origin': f.origin }, f.origin === 'embedded' ? h('span', { class: 'muted' }, f.name) : h('b', null, f.name), ' ', f.origin === 'embedded' ? '' : badge(f.origin, 'ok'))))],
      ]));
      const chans = a.channels || [];
      // An item another alternative replaces (the per-team webhook when a
      // bot token is set) is not disabled: its channel is served.
      const disabled = chans.filter((c) => !c.enabled && !c.replacedBy).length;
      const unused = chans.filter((c) => c.replacedBy).length;
      const byRecv = new Map();
      for (const c of chans) {
        if (!byRecv.has(c.receiver)) byRecv.set(c.receiver, []);
        byRecv.get(c.receiver).push(c);
      }
      const rows = [];
      for (const [r, cs] of [...byRecv.entries()].sort((x, y) => x[0].localeCompare(y[0]))) {
        cs.forEach((c, i) => rows.push(h('tr', { class: c.enabled || c.replacedBy ? '' : 'row-disabled' },
          h('td', null, i === 0 ? h('b', null, r) : ''),
          h('td', null, `${c.integration}[${c.index}]`),
          h('td', null, c.enabled ? badge('enabled', 'ok') : c.replacedBy ? badge('not used', 'muted') : badge('disabled', 'err')),
          h('td', { class: 'mono small' }, c.replacedBy ? `${c.replacedBy} posts to its channel instead`
            : (c.missingVariables || []).length ? 'missing ' + c.missingVariables.join(', ') : ''))));
      }
      put('channels',
        h('p', { class: 'muted' }, `${chans.length} channels in ${byRecv.size} receivers`, disabled ? h('span', { class: 'text-err' }, ` · ${disabled} disabled (secret not set)`) : '',
          unused ? ` · ${unused} not used (an alternative posts)` : ''),
        chans.length ? table(['Receiver', 'Channel', 'State', 'Why'], rows, { id: 'channels-table' }) : empty('No channels reported.'));
    } else {
      put('appliance', failed(res.appliance));
      put('channels', failed(res.appliance));
    }

    // Cluster.
    if (ok('am')) {
      const c = (v('am') || {}).cluster || {};
      const peers = c.peers || [];
      put('cluster', kv([
        ['Status', badge(c.status || 'unknown', c.status === 'ready' ? 'ok' : c.status === 'disabled' ? 'muted' : 'warn')],
        c.name && ['Name', h('span', { class: 'mono' }, c.name)],
        ['Peers', peers.length ? h('div', null, peers.map((p) => h('div', { class: 'mono small' }, `${p.name} ${p.address}`))) : 'none (single node)'],
      ]));
    } else put('cluster', failed(res.am));

    // TSDB.
    if (ok('tsdb')) {
      const t = v('tsdb');
      const hs = t.headStats || {};
      const top = (list, label) => (list && list.length ? table([label, 'Count'], list.slice(0, 10).map((x) => h('tr', null, h('td', { class: 'mono small' }, x.name), h('td', { class: 'num' }, String(x.value))))) : null);
      put('tsdb', kv([
        ['Head series', String(hs.numSeries ?? '')], ['Label pairs', String(hs.numLabelPairs ?? '')], ['Chunks', String(hs.chunkCount ?? '')],
        hs.minTime && ['Head from', stamp(parseTime(hs.minTime / 1000))], hs.maxTime && ['Head to', stamp(parseTime(hs.maxTime / 1000))],
      ]), details('tsdb-top', 'Top series by metric and label',
        h('div', { class: 'two-col' }, top(t.seriesCountByMetricName, 'Metric'), top(t.labelValueCountByLabelName, 'Label (values)'),
          t.memoryInBytesByLabelName && t.memoryInBytesByLabelName.length ? table(['Label', 'Memory'], t.memoryInBytesByLabelName.slice(0, 10).map((x) => h('tr', null, h('td', { class: 'mono small' }, x.name), h('td', { class: 'num' }, bytes(x.value))))) : null,
          top(t.seriesCountByLabelValuePair, 'Label pair'))));
    } else put('tsdb', failed(res.tsdb));

    // Flags.
    if (ok('flags')) {
      const fl = v('flags') || {};
      put('flags', details('flags', `${Object.keys(fl).length} flags`, table(['Flag', 'Value'], Object.keys(fl).sort().map((k) => h('tr', null, h('td', { class: 'mono small' }, '--' + k), h('td', { class: 'mono small' }, fl[k]))))));
    } else put('flags', failed(res.flags));

    // Configuration, as the server redacted it.
    const amConf = ok('am') && v('am').config ? v('am').config.original : null;
    put('config',
      h('p', { class: 'muted' }, 'As loaded, with secrets redacted by the server.'),
      ok('config') ? details('prom-config', 'prometheus.yml', h('pre', { class: 'config', id: 'prometheus-config' }, v('config').yaml || '')) : failed(res.config),
      amConf !== null ? details('am-config', 'alertmanager.yml', h('pre', { class: 'config', id: 'alertmanager-config' }, amConf)) : null);
  }

  return {
    async refresh() {
      const keys = Object.keys(SOURCES);
      const settled = await Promise.allSettled(keys.map((k) => get(SOURCES[k])));
      const res = {};
      keys.forEach((k, i) => { res[k] = settled[i]; });
      // Redraw only when something changed, so open sections and selections stay.
      const sig = JSON.stringify(settled.map((x) => (x.status === 'fulfilled' ? x.value : String(x.reason))), (k, val) => (k === 'goroutineCount' || k === 'serverTime' ? undefined : val));
      if (sig === last.sig) return;
      last.sig = sig;
      render(res);
    },
  };
}
