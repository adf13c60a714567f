// Silences: list by state, expire, and create with a live preview of the
// current alerts the matchers would silence.

import { h, debounce, field, badge, empty, fill } from '../dom.js';
import { get, send, amAPI, applianceAPI, APIError } from '../api.js';
import { ago, stamp, parseTime, localInput, parseDuration, duration } from '../format.js';
import { parseMatchers, matchesAll, format, formatAll } from '../matchers.js';
import { loadAlerts, userName, rememberUser } from '../alertdata.js';
import { confirmAction } from '../dialog.js';

const STATES = ['active', 'pending', 'expired'];
const PREVIEW_ROWS = 50;

// serverMatchers asks the appliance what the matchers mean to Alertmanager
// (its parser, RE2 regular expressions): {matchers, matchesEverything,
// alerts: [fingerprint]}. null when the appliance has no such endpoint (an
// older one): the browser's parser is used then.
async function serverMatchers(text) {
  try {
    return await get(applianceAPI + 'matchers', { matchers: text });
  } catch (e) {
    if (e instanceof APIError && e.status === 404) return null;
    if (e instanceof APIError && e.status === 400) throw new Error(e.message.replace(/^400 (bad_data: )?/, ''));
    throw e;
  }
}

export default function silencesPage(ctx) {
  return ctx.sub[0] === 'new' ? createPage(ctx) : listPage(ctx);
}

function matcherChips(ms) {
  return h('span', { class: 'matchers' }, ms.map((m) => h('span', { class: 'chip static mono' }, format(m))));
}

function listPage(ctx) {
  let state = ctx.params.get('state') || 'active';
  const onlyID = ctx.params.get('id') || '';
  let silences = [];
  let alerts = [];
  let loaded = false;

  const tabs = h('div', { class: 'tabs', role: 'tablist' });
  const search = h('input', { type: 'search', class: 'grow', placeholder: 'Search matchers, author, comment', 'aria-label': 'Search silences', id: 'silence-search' });
  const list = h('div', { class: 'silence-list', id: 'silence-list' });
  ctx.root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Silences'), h('a', { class: 'btn primary needs-operator', href: '#/silences/new', id: 'new-silence' }, 'New silence')),
    h('div', { class: 'toolbar' }, tabs, search),
    list);
  search.addEventListener('input', debounce(render, 150));

  function render() {
    const counts = { active: 0, pending: 0, expired: 0 };
    for (const s of silences) counts[s.status.state] = (counts[s.status.state] || 0) + 1;
    fill(tabs, ...STATES.map((st) => h('button', {
      type: 'button', role: 'tab', class: 'tab' + (st === state ? ' active' : ''), 'aria-selected': String(st === state),
      onclick: () => { state = st; ctx.setParams({ state: st }); render(); },
    }, st[0].toUpperCase() + st.slice(1), h('span', { class: 'count' }, String(counts[st])))));

    const q = search.value.trim().toLowerCase();
    const affected = new Map();
    for (const a of alerts) for (const id of a.silencedBy) affected.set(id, (affected.get(id) || 0) + 1);
    const rows = silences
      .filter((s) => (onlyID ? s.id === onlyID : s.status.state === state))
      .filter((s) => !q || (formatAll(s.matchers) + ' ' + s.createdBy + ' ' + s.comment).toLowerCase().includes(q))
      .sort((a, b) => (state === 'expired' ? b.endsAt - a.endsAt : a.endsAt - b.endsAt));
    const frag = document.createDocumentFragment();
    if (onlyID) frag.append(h('p', null, 'Showing silence ', h('code', null, onlyID), ' · ', h('a', { href: '#/silences' }, 'show all')));
    if (!loaded) frag.append(empty('Loading silences…'));
    else if (!rows.length) frag.append(empty(`No ${onlyID ? 'such' : state} silences.`));
    for (const s of rows) {
      const st = s.status.state;
      const n = affected.get(s.id) || 0;
      frag.append(h('div', { class: 'silence card state-' + st, dataset: { id: s.id } },
        h('div', { class: 'silence-main' },
          matcherChips(s.matchers),
          h('div', { class: 'muted' },
            badge(st, st === 'active' ? 'silenced' : st === 'pending' ? 'warn' : 'muted'), ' ',
            st === 'pending' ? `starts ${ago(s.startsAt)}, ` : '',
            st === 'expired' ? `expired ${ago(s.endsAt)}` : `ends ${ago(s.endsAt)}`,
            h('span', { title: `${stamp(s.startsAt)} → ${stamp(s.endsAt)}` }, ` (${stamp(s.endsAt)})`),
            st === 'active' ? ` · silences ${n} alert${n === 1 ? '' : 's'}` : ''),
          h('div', null, h('b', null, s.createdBy || 'unknown'), ': ', s.comment || h('i', null, 'no comment')),
          h('div', { class: 'muted small mono' }, s.id)),
        h('div', { class: 'a-actions' },
          st !== 'expired' ? h('button', { type: 'button', class: 'btn small danger needs-operator', dataset: { action: 'expire' }, onclick: () => expire(s) }, 'Expire') : null,
          h('a', { class: 'btn small', href: '#/silences/new?' + new URLSearchParams({ matchers: formatAll(s.matchers), comment: s.comment }) }, st === 'expired' ? 'Recreate' : 'Duplicate'),
          h('a', { class: 'btn small ghost', href: '#/alerts?' + new URLSearchParams({ filter: formatAll(s.matchers) }) }, 'Alerts'))));
    }
    fill(list, frag);
  }

  async function expire(s) {
    if (!(await confirmAction('Expire silence', `Expire the silence ${formatAll(s.matchers)}? Its alerts notify again.`, 'Expire'))) return;
    try {
      await send('DELETE', amAPI + 'silence/' + encodeURIComponent(s.id));
      ctx.flash('Silence expired.');
    } catch (e) {
      ctx.flash('Expire failed: ' + e.message, 'error');
    }
    ctx.refresh();
  }

  return {
    async refresh() {
      const [sils, al] = await Promise.all([get(amAPI + 'silences'), loadAlerts().catch(() => ({ alerts: [] }))]);
      silences = (sils || []).map((s) => ({ ...s, startsAt: parseTime(s.startsAt), endsAt: parseTime(s.endsAt) }));
      alerts = al.alerts;
      loaded = true;
      render();
    },
  };
}

function createPage(ctx) {
  const p = ctx.params;
  let alerts = [];
  let dirty = false;
  let loaded = false;
  const now = new Date();
  const matchersIn = h('textarea', { id: 'silence-matchers', class: 'mono', rows: 3, spellcheck: 'false', placeholder: 'alertname="DatabaseDown", team="platform"' });
  // Alertmanager's own links use filter={…}.
  matchersIn.value = p.get('matchers') || p.get('filter') || '';
  const startsIn = h('input', { type: 'datetime-local', id: 'silence-starts', value: localInput(now) });
  const durIn = h('input', { id: 'silence-duration', value: p.get('duration') || '2h', size: 8 });
  const endsIn = h('input', { type: 'datetime-local', id: 'silence-ends' });
  const byIn = h('input', { id: 'silence-by', value: userName(), autocomplete: 'username', placeholder: 'your name' });
  const commentIn = h('textarea', { id: 'silence-comment', rows: 2, placeholder: 'why (ticket, maintenance…)' });
  commentIn.value = p.get('comment') || '';
  const err = h('div', { class: 'form-error', hidden: true, id: 'silence-error' });
  const preview = h('div', { class: 'preview', id: 'silence-preview' });

  function syncEnds() {
    const st = new Date(startsIn.value);
    const d = parseDuration(durIn.value);
    durIn.classList.toggle('invalid', isNaN(d));
    if (!isNaN(st) && !isNaN(d)) endsIn.value = localInput(new Date(st.getTime() + d * 1000));
  }
  function syncDuration() {
    const st = new Date(startsIn.value);
    const en = new Date(endsIn.value);
    if (!isNaN(st) && !isNaN(en) && en > st) durIn.value = duration((en - st) / 1000).replace(/ /g, '');
  }
  syncEnds();
  startsIn.addEventListener('change', syncEnds);
  durIn.addEventListener('input', syncEnds);
  endsIn.addEventListener('change', syncDuration);

  const form = h('form', { class: 'panel silence-form', id: 'silence-form' },
    field('Matchers', matchersIn, 'name="value", name=~"regex", name!="value", name!~"regex" — comma-separated'),
    h('div', { class: 'row' }, field('Starts', startsIn), field('Duration', durIn), field('Ends', endsIn)),
    h('div', { class: 'row' }, field('Created by', byIn), field('Comment', commentIn)),
    err,
    h('div', { class: 'actions' },
      h('a', { class: 'btn ghost', href: '#/silences' }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn primary', id: 'silence-submit' }, 'Create silence')));
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'New silence')), form,
    h('section', { class: 'panel' }, h('h2', null, 'Preview'), preview));

  form.addEventListener('input', () => { dirty = true; });
  matchersIn.addEventListener('input', debounce(renderPreview, 150));

  let seq = 0;
  async function renderPreview() {
    const my = ++seq;
    const text = matchersIn.value;
    let ms;
    let server = null;
    try {
      server = text.trim() ? await serverMatchers(text) : null;
      if (my !== seq) return; // a newer edit is being previewed
      ms = server ? server.matchers : parseMatchers(text);
      matchersIn.classList.remove('invalid');
    } catch (e) {
      if (my !== seq) return;
      matchersIn.classList.add('invalid');
      fill(preview, h('div', { class: 'form-error', id: 'preview-error' }, e.message));
      return;
    }
    if (!loaded) {
      fill(preview, empty('Loading alerts…'));
      return;
    }
    if (!ms.length) {
      fill(preview, empty('Enter matchers to see which alerts they silence.'));
      return;
    }
    // The server's answer is the silence's truth; the browser's parser
    // only stands in when the appliance cannot answer.
    const selected = server && new Set(server.alerts);
    const hits = alerts.filter((a) => (selected ? selected.has(a.fp) : matchesAll(ms, a.labels)));
    const rows = hits.slice(0, PREVIEW_ROWS).map((a) => h('tr', { dataset: { fp: a.fp } },
      h('td', null, h('b', null, a.labels.alertname || '')),
      h('td', { class: 'mono small' }, formatAll(Object.keys(a.labels).filter((k) => k !== 'alertname').sort().map((k) => ({ name: k, value: a.labels[k], isEqual: true, isRegex: false })))),
      h('td', null, a.silencedBy.length ? badge('already silenced', 'silenced') : badge(a.state, a.state === 'active' ? 'firing' : 'muted')),
      h('td', { class: 'muted' }, ago(a.startsAt))));
    fill(preview, 
      h('p', { id: 'preview-count', dataset: { count: String(hits.length), source: server ? 'server' : 'browser' } }, h('b', null, `${hits.length}`), ` of ${alerts.length} current alerts match`),
      hits.length ? h('table', { class: 'tbl' }, h('thead', null, h('tr', null, ['Alert', 'Labels', 'State', 'Since'].map((x) => h('th', null, x)))), h('tbody', null, rows)) : null,
      hits.length > PREVIEW_ROWS ? h('p', { class: 'muted' }, `and ${hits.length - PREVIEW_ROWS} more`) : null);
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fail = (msg) => { err.hidden = false; err.textContent = msg; };
    let ms;
    let everything;
    try {
      const server = await serverMatchers(matchersIn.value);
      ms = server ? server.matchers : parseMatchers(matchersIn.value);
      everything = server ? server.matchesEverything : ms.every((m) => matchesAll([m], {}));
    } catch (e) {
      return fail('Matchers: ' + e.message);
    }
    if (!ms.length) return fail('At least one matcher is needed.');
    if (everything) return fail('At least one matcher must not match the empty string (it would silence everything).');
    const startsAt = new Date(startsIn.value);
    const endsAt = new Date(endsIn.value);
    if (isNaN(startsAt) || isNaN(endsAt) || endsAt <= startsAt) return fail('The end must be after the start.');
    if (!byIn.value.trim()) return fail('Created by is required.');
    if (!commentIn.value.trim()) return fail('A comment is required.');
    err.hidden = true;
    rememberUser(byIn.value.trim());
    // A start in the past means "now", keeping the duration.
    const shift = Math.max(0, Date.now() - startsAt.getTime());
    const start = new Date(startsAt.getTime() + shift);
    const end = new Date(endsAt.getTime() + shift);
    try {
      const out = await send('POST', amAPI + 'silences', {
        matchers: ms.map(({ name, value, isRegex, isEqual }) => ({ name, value, isRegex, isEqual })),
        startsAt: start.toISOString(), endsAt: end.toISOString(),
        createdBy: byIn.value.trim(), comment: commentIn.value.trim(),
      });
      dirty = false;
      const next = '#/silences?' + new URLSearchParams({ id: out.silenceID });
      ctx.flash(`Silence ${out.silenceID} created.`, 'ok', next);
      ctx.navigate(next);
    } catch (e) {
      fail('Create failed: ' + e.message);
    }
  });

  return {
    async refresh() {
      alerts = (await loadAlerts()).alerts;
      loaded = true;
      renderPreview();
    },
    busy: () => dirty,
  };
}
