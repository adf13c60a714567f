// Modal forms on <dialog>.

import { h, field } from './dom.js';
import { userName, rememberUser } from './alertdata.js';

// promptAck asks who acknowledges and why; it resolves to {by, comment} or
// null when cancelled.
export function promptAck(title, detail) {
  return new Promise((resolve) => {
    const by = h('input', { name: 'by', required: true, value: userName(), autocomplete: 'username', placeholder: 'your name' });
    const comment = h('textarea', { name: 'comment', rows: 3, placeholder: 'what you are doing about it' });
    const err = h('div', { class: 'form-error', hidden: true });
    let result = null;
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', null, title),
      detail ? h('p', { class: 'muted' }, detail) : null,
      field('Acknowledged by', by),
      field('Comment', comment),
      err,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'btn ghost', value: 'cancel', onclick: () => dlg.close() }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn primary', value: 'ok' }, 'Acknowledge')));
    const dlg = h('dialog', { class: 'dialog', id: 'ack-dialog' }, form);
    form.addEventListener('submit', (ev) => {
      if (!by.value.trim()) {
        ev.preventDefault();
        err.hidden = false;
        err.textContent = 'A name is required.';
        by.focus();
        return;
      }
      rememberUser(by.value.trim());
      result = { by: by.value.trim(), comment: comment.value.trim() };
    });
    dlg.addEventListener('close', () => {
      dlg.remove();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    (by.value ? comment : by).focus();
  });
}

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
