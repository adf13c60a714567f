// Label matchers as Alertmanager reads them — `name="v"`, `name=~"re"`,
// `name!="v"`, `name!~"re"`, comma-separated, optionally in braces — parsed
// and evaluated in the browser, for the alert filter and the silence preview.

const OPS = ['=~', '!~', '!=', '='];
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function unquote(text, i) {
  // text[i] is the opening quote; returns [value, next index].
  let out = '';
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (c === '\\') {
      const n = text[++j];
      if (n === undefined) break;
      out += { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' }[n] ?? '\\' + n;
    } else if (c === '"') {
      return [out, j + 1];
    } else {
      out += c;
    }
  }
  throw new Error('unterminated quoted string');
}

// parseMatchers turns text into [{name, value, isRegex, isEqual}]; it throws
// an Error saying what is wrong. Empty text is no matchers.
export function parseMatchers(text) {
  let t = String(text || '').trim();
  if (t.startsWith('{')) {
    if (!t.endsWith('}')) throw new Error('missing closing "}"');
    t = t.slice(1, -1);
  }
  const out = [];
  let i = 0;
  const ws = () => { while (i < t.length && /\s/.test(t[i])) i++; };
  for (;;) {
    ws();
    if (i >= t.length) break;
    let name;
    if (t[i] === '"') {
      [name, i] = unquote(t, i);
    } else {
      const m = NAME.exec(t.slice(i));
      if (!m) throw new Error(`expected a label name at "${t.slice(i, i + 12)}"`);
      name = m[0];
      i += name.length;
    }
    ws();
    const op = OPS.find((o) => t.startsWith(o, i));
    if (!op) throw new Error(`expected =, !=, =~ or !~ after "${name}"`);
    i += op.length;
    ws();
    let value;
    if (t[i] === '"') {
      [value, i] = unquote(t, i);
    } else {
      let j = i;
      while (j < t.length && t[j] !== ',') j++;
      value = t.slice(i, j).trim();
      i = j;
    }
    const m = { name, value, isRegex: op.endsWith('~'), isEqual: !op.startsWith('!') };
    if (m.isRegex) compile(m);
    out.push(m);
    ws();
    if (i < t.length) {
      if (t[i] !== ',') throw new Error(`expected "," after ${format(m)}`);
      i++;
    }
  }
  return out;
}

function compile(m) {
  if (!m.re) {
    try {
      // RE2's leading (?i) (common in silences) has no JavaScript
      // spelling inside the pattern: it becomes the i flag. Other RE2-only
      // syntax is refused here; the silence preview asks the server.
      const ci = m.value.startsWith('(?i)');
      m.re = new RegExp('^(?:' + (ci ? m.value.slice(4) : m.value) + ')$', ci ? 'i' : '');
    } catch (e) {
      throw new Error(`invalid regular expression in ${m.name}: ${e.message}`);
    }
  }
  return m.re;
}

// matches says whether the label set satisfies one matcher; a missing label
// has the empty value, as in Alertmanager.
export function matchOne(m, labels) {
  const v = labels[m.name] ?? '';
  const hit = m.isRegex ? compile(m).test(v) : v === m.value;
  return m.isEqual ? hit : !hit;
}

export function matchesAll(ms, labels) {
  for (const m of ms) if (!matchOne(m, labels)) return false;
  return true;
}

// format renders one matcher in Alertmanager's syntax.
export function format(m) {
  const op = m.isEqual === false ? (m.isRegex ? '!~' : '!=') : (m.isRegex ? '=~' : '=');
  return `${m.name}${op}${JSON.stringify(m.value)}`;
}

export function formatAll(ms) {
  return ms.map(format).join(', ');
}

// fromLabels is one equality matcher per label, sorted with alertname first.
export function fromLabels(labels, omit = []) {
  return Object.keys(labels)
    .filter((k) => !omit.includes(k))
    .sort((a, b) => (a === 'alertname' ? -1 : b === 'alertname' ? 1 : a.localeCompare(b)))
    .map((k) => ({ name: k, value: labels[k], isRegex: false, isEqual: true }));
}
