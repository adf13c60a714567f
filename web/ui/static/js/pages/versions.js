// Config: every configuration version the appliance applied (deploys,
// reloads after a file edit, package upgrades, rollbacks) with its diff, a
// rollback for admins, and the API tokens (tokens.js). Admin only: the
// versions carry the configuration files.

import { h, badge, empty, table, fill } from '../dom.js';
import { get, send, applianceAPI, APIError } from '../api.js';
import { ago, stamp } from '../format.js';
import { confirmAction } from '../dialog.js';
import tokensSection from './tokens.js';

const RESULT_KIND = { applied: 'ok', rolled_back: 'err' };

function isAdmin() {
  const role = document.documentElement.dataset.role;
  return !role || role === 'admin';
}

// diffView colours a unified diff line by line (text only, never HTML).
export function diffView(diff, id) {
  if (!diff) return empty('No change against the version before.');
  // Classes, not style attributes: the console's CSP allows no inline style.
  const kind = (l) => {
    if (l.startsWith('+++') || l.startsWith('---')) return 'diff-file';
    if (l.startsWith('@@')) return 'diff-hunk';
    if (l.startsWith('+')) return 'diff-add';
    if (l.startsWith('-')) return 'diff-del';
    return '';
  };
  return h('pre', { class: 'mono small diff', id },
    diff.replace(/\n$/, '').split('\n').map((l) => h('div', { class: kind(l) }, l || ' ')));
}

export default function versionsPage(ctx) {
  let list = [];
  let selected = Number(ctx.sub[0]) || 0;
  let detail = null;
  let denied = false;
  const listEl = h('section', { class: 'panel', id: 'versions-list' }, h('h2', null, 'Configuration versions'), empty('Loading…'));
  const detailEl = h('section', { class: 'panel', id: 'version-detail' });
  const tokens = tokensSection(ctx);
  ctx.root.append(h('div', { class: 'page-head' }, h('h1', null, 'Configuration')), listEl, detailEl, tokens.el);

  async function rollback(v) {
    const ok = await confirmAction('Roll back configuration',
      `Apply version ${v.version} (${v.source} by ${v.author}, ${stamp(v.time)}) again? It becomes a new version; if its reload fails the configuration in force stays.`, 'Roll back');
    if (!ok) return;
    try {
      const res = await send('POST', `${applianceAPI}config/versions/${v.version}/rollback`);
      ctx.flash(`Rolled back: version ${res.version} (a copy of version ${v.version}) is in force.`, 'ok');
      selected = res.version;
      ctx.setParams({});
    } catch (e) {
      ctx.flash(`Rollback failed: ${e.message}`, 'error');
    }
    ctx.refresh();
  }

  function select(n) {
    selected = n;
    history.replaceState(null, '', `#/versions/${n}`);
    ctx.refresh();
  }

  function render() {
    if (denied) {
      fill(listEl, h('h2', null, 'Configuration versions'), empty('Configuration versions need the admin role.'));
      fill(detailEl);
      return;
    }
    const rows = list.map((v) => h('tr', { class: v.version === selected ? 'selected' : '', dataset: { version: String(v.version) } },
      h('td', null, h('a', { href: `#/versions/${v.version}`, onclick: (e) => { e.preventDefault(); select(v.version); } }, String(v.version))),
      h('td', { title: stamp(v.time) }, ago(v.time)),
      h('td', null, v.author),
      h('td', null, v.source + (v.rollbackOf ? ` of ${v.rollbackOf}` : '')),
      h('td', null, badge(v.result.replace('_', ' '), RESULT_KIND[v.result] || ''), v.active ? [' ', badge('in force', 'ok')] : null),
      h('td', null, isAdmin() && !v.active && v.result === 'applied'
        ? h('button', { type: 'button', class: 'btn small rollback', dataset: { version: String(v.version) }, onclick: () => rollback(v) }, 'Roll back to this')
        : null)));
    fill(listEl, h('h2', null, 'Configuration versions'),
      list.length ? table(['Version', 'Applied', 'Author', 'Source', 'Result', ''], rows, { id: 'versions-table' }) : empty('No version yet.'));
    if (!detail) {
      fill(detailEl, h('h2', null, 'Diff'), empty('Select a version.'));
      return;
    }
    fill(detailEl, h('h2', null, `Version ${detail.version}: diff against version ${detail.previous || 'none'}`),
      detail.error ? h('div', { class: 'form-error' }, detail.error) : null,
      diffView(detail.diff, 'version-diff'));
  }

  return {
    async refresh() {
      try {
        list = (await get(applianceAPI + 'config/versions')) || [];
      } catch (e) {
        if (e instanceof APIError && (e.status === 403 || e.status === 401)) {
          denied = true;
          render();
          return;
        }
        throw e;
      }
      if (!selected && list.length) selected = list[0].version;
      detail = selected ? await get(`${applianceAPI}config/versions/${selected}`).catch(() => null) : null;
      render();
      await tokens.refresh();
    },
  };
}
