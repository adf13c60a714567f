// The acknowledge dialog: who, what it was (the reason), for how long
// (until resolved, or a snooze that lapses and notifies again), a comment.
// POSTs /api/v1/appliance/acks with reason and snooze.

import { h, field } from './dom.js';
import { send, applianceAPI } from './api.js';
import { userName, rememberUser } from './alertdata.js';

// REASONS are acks.Reasons, in the order offered; the first is the default.
export const REASONS = [
  ['working_on_it', 'Working on it'],
  ['false_positive', 'False positive'],
  ['not_actionable', 'Not actionable'],
  ['duplicate', 'Duplicate'],
];

const SNOOZES = [['', 'Until it resolves'], ['1h', 'Snooze 1 h'], ['4h', 'Snooze 4 h'], ['24h', 'Snooze 24 h']];

// promptAck asks who acknowledges, why and for how long; it resolves to
// {by, comment, reason, snooze} or null when cancelled.
export function promptAck(title, detail) {
  return new Promise((resolve) => {
    const by = h('input', { name: 'by', required: true, value: userName(), autocomplete: 'username', placeholder: 'your name' });
    const comment = h('textarea', { name: 'comment', rows: 3, placeholder: 'what you are doing about it' });
    const reasons = REASONS.map(([value, label], i) =>
      h('label', { class: 'radio' }, h('input', { type: 'radio', name: 'reason', value, checked: i === 0 }), ' ' + label));
    const snooze = h('select', { name: 'snooze' }, ...SNOOZES.map(([value, label]) => h('option', { value }, label)));
    const err = h('div', { class: 'form-error', hidden: true });
    let result = null;
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', null, title),
      detail ? h('p', { class: 'muted' }, detail) : null,
      field('Acknowledged by', by),
      h('fieldset', { class: 'reasons' }, h('legend', null, 'What is it?'), ...reasons),
      field('For', snooze, 'A snooze lapses: the team is notified again if the alert still fires.'),
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
      const checked = form.querySelector('input[name="reason"]:checked');
      result = { by: by.value.trim(), comment: comment.value.trim(), reason: checked ? checked.value : REASONS[0][0], snooze: snooze.value };
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

// sendAck acknowledges fingerprints with what promptAck returned.
export function sendAck(fingerprints, r) {
  const body = { fingerprints, by: r.by, comment: r.comment, reason: r.reason };
  if (r.snooze) body.snooze = r.snooze;
  return send('POST', applianceAPI + 'acks', body);
}
