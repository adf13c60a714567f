// API tokens (Authorization: Bearer): listed for admins, created (the secret
// is shown once) and revoked. A section of the Configuration page.

import { h, empty, table, fill, select, field } from '../dom.js';
import { get, send, applianceAPI, APIError } from '../api.js';
import { stamp } from '../format.js';
import { confirmAction } from '../dialog.js';

export default function tokensSection(ctx) {
  const el = h('section', { class: 'panel', id: 'tokens' });
  let toks = [];
  let denied = false;
  let shown = null; // the secret of the token just created

  const name = h('input', { id: 'token-name', placeholder: 'ci', maxlength: 64 });
  const role = select({ id: 'token-role' }, [['viewer', 'viewer'], ['operator', 'operator'], ['admin', 'admin']], 'viewer');
  const scope = h('input', { type: 'checkbox', id: 'token-scope-config' });
  const expires = h('input', { id: 'token-expires', placeholder: '720h (empty: never)' });

  async function create(ev) {
    ev.preventDefault();
    try {
      const res = await send('POST', applianceAPI + 'tokens', {
        name: name.value.trim(), role: role.value, scopes: scope.checked ? ['config'] : [], expires: expires.value.trim(),
      });
      shown = { name: res.info.name, token: res.token };
      name.value = '';
      expires.value = '';
    } catch (e) {
      ctx.flash(`Token not created: ${e.message}`, 'error');
    }
    ctx.refresh();
  }

  async function revoke(t) {
    if (!(await confirmAction('Revoke token', `Revoke token ${t.name}? Requests with it are refused from now on.`, 'Revoke'))) return;
    try {
      await send('DELETE', applianceAPI + 'tokens/' + encodeURIComponent(t.name));
      ctx.flash(`Token ${t.name} revoked.`, 'ok');
    } catch (e) {
      ctx.flash(`Revoke failed: ${e.message}`, 'error');
    }
    ctx.refresh();
  }

  function render() {
    if (denied) {
      fill(el, h('h2', null, 'API tokens'), empty('API tokens need the admin role.'));
      return;
    }
    const rows = toks.map((t) => h('tr', { dataset: { token: t.name } },
      h('td', { class: 'mono' }, t.name), h('td', null, t.role), h('td', null, (t.scopes || []).join(', ')),
      h('td', null, stamp(t.created)), h('td', null, t.expires ? stamp(t.expires) : 'never'),
      h('td', null, h('button', { type: 'button', class: 'btn small danger revoke', onclick: () => revoke(t) }, 'Revoke'))));
    fill(el, h('h2', null, 'API tokens'),
      shown ? h('div', { class: 'banner ok', id: 'token-secret' }, `Token ${shown.name}: `, h('code', { class: 'mono' }, shown.token), ' — shown only now; keep it in a file readable only by its user.') : null,
      toks.length ? table(['Name', 'Role', 'Scopes', 'Created', 'Expires', ''], rows, { id: 'tokens-table' }) : empty('No API tokens.'),
      h('form', { class: 'toolbar wrap', id: 'token-form', onsubmit: create },
        field('Name', name), field('Role', role), field('Deploys (config scope)', scope), field('Expires after', expires),
        h('button', { type: 'submit', class: 'btn primary' }, 'Create token')));
  }

  return {
    el,
    async refresh() {
      try {
        toks = (await get(applianceAPI + 'tokens')) || [];
      } catch (e) {
        if (e instanceof APIError && (e.status === 403 || e.status === 401)) {
          denied = true;
          render();
          return;
        }
        throw e;
      }
      render();
    },
  };
}
