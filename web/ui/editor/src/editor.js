// The console's PromQL editor: CodeMirror 6 with Prometheus' own PromQL
// language support (highlighting, linting, and completion of metric names,
// label names and values and functions against the appliance's API).
// Bundled by `make ui` into web/ui/static/js/vendor/promql-editor.js; the
// console loads that file from the appliance itself, never from a CDN.

import { EditorView, keymap, placeholder, drawSelection, highlightSpecialChars } from '@codemirror/view';
import { EditorState, Prec } from '@codemirror/state';
import { defaultKeymap, history, historyKeymap, insertNewline } from '@codemirror/commands';
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching } from '@codemirror/language';
import { autocompletion, completionKeymap, completionStatus } from '@codemirror/autocomplete';
import { lintKeymap } from '@codemirror/lint';
import { PromQLExtension } from '@prometheus-io/codemirror-promql';

// createEditor puts an editor in parent. baseURL is the appliance's base
// (the Prometheus API is below it); onEnter runs the query (Shift+Enter
// adds a line); the editable element gets id and an accessible label, and
// a value property like a textarea's.
export function createEditor(parent, { value = '', hint = '', baseURL, onEnter, onChange, id, label }) {
  const promql = new PromQLExtension().setComplete({ remote: { url: baseURL, httpMethod: 'GET' } });
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: value,
      extensions: [
        history(),
        drawSelection(),
        highlightSpecialChars(),
        bracketMatching(),
        // No auto-closing brackets: pasted and fast-typed expressions (and
        // scripted browsers) arrive as typed.
        autocompletion(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        placeholder(hint),
        EditorView.lineWrapping,
        Prec.highest(keymap.of([
          { key: 'Enter', run: (v) => (completionStatus(v.state) === 'active' ? false : (onEnter && onEnter(), true)) },
          { key: 'Shift-Enter', run: insertNewline },
        ])),
        keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        promql.asExtension(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && onChange) onChange(u.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ id, 'aria-label': label, spellcheck: 'false', autocorrect: 'off', autocapitalize: 'off' }),
      ],
    }),
  });
  const get = () => view.state.doc.toString();
  const set = (v) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(v ?? '') } });
  Object.defineProperty(view.contentDOM, 'value', { get, set, configurable: true });
  return {
    view,
    get value() { return get(); },
    set value(v) { set(v); },
    focus: () => view.focus(),
    blur: () => view.contentDOM.blur(),
    destroy: () => view.destroy(),
  };
}
