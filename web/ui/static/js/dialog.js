// Modal forms on <dialog>.

import { h } from './dom.js';

// confirmAction asks a yes/no question.
export function confirmAction(title, text, okLabel) {
  return new Promise((resolve) => {
    let ok = false;
    const dlg = h('dialog', { class: 'dialog' },
      h('form', { method: 'dialog', class: 'dialog-form', onsubmit: () => { ok = true; } },
        h('h2', null, title),
        h('p', null, text),
        h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'btn ghost', onclick: () => dlg.close() }, 'Cancel'),
          h('button', { type: 'submit', class: 'btn danger' }, okLabel || 'OK'))));
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(ok);
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}
