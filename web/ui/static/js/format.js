// Formatting of times, durations, numbers and label sets.

export function parseTime(v) {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'number') return new Date(v * 1000);
  const d = new Date(v);
  if (isNaN(d) || d.getUTCFullYear() <= 1) return null; // Go's zero time
  return d;
}

const units = [
  ['y', 365 * 86400], ['w', 7 * 86400], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1],
];

// duration formats seconds as "1h 5m" (two largest units), or ms below 1 s.
export function duration(sec) {
  if (sec === null || sec === undefined || isNaN(sec)) return '';
  if (sec < 0) sec = -sec;
  if (sec === 0) return '0s';
  if (sec < 1) return sec * 1000 < 1 ? (sec * 1e6).toFixed(0) + 'µs' : (sec * 1000).toFixed(sec * 1000 < 10 ? 1 : 0) + 'ms';
  const out = [];
  let rest = Math.round(sec);
  for (const [u, n] of units) {
    if (rest >= n) {
      out.push(Math.floor(rest / n) + u);
      rest %= n;
    }
    if (out.length === 2) break;
  }
  return out.join(' ') || '0s';
}

// ago formats a time relative to now: "5m ago", "in 2h".
export function ago(t, now = Date.now()) {
  const d = t instanceof Date ? t : parseTime(t);
  if (!d) return 'never';
  const diff = (now - d.getTime()) / 1000;
  if (Math.abs(diff) < 1) return 'just now';
  // Seconds are noise once it is more than a few minutes.
  const r = (x) => (x >= 600 ? Math.round(x / 60) * 60 : x);
  return diff >= 0 ? duration(r(diff)) + ' ago' : 'in ' + duration(r(-diff));
}

const pad = (n) => String(n).padStart(2, '0');

// stamp formats a time as local "2024-05-01 13:04:05".
export function stamp(t) {
  const d = t instanceof Date ? t : parseTime(t);
  if (!d) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// localInput formats a time for <input type="datetime-local">.
export function localInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// parseDuration reads "1d2h30m", "90m", "2h" into seconds, or NaN.
export function parseDuration(text) {
  const t = String(text).trim();
  if (!t) return NaN;
  const re = /(\d+(?:\.\d+)?)(ms|y|w|d|h|m|s)/g;
  let total = 0;
  let used = 0;
  let m;
  while ((m = re.exec(t)) !== null) {
    const n = parseFloat(m[1]);
    const mult = { ms: 0.001, y: 365 * 86400, w: 7 * 86400, d: 86400, h: 3600, m: 60, s: 1 }[m[2]];
    total += n * mult;
    used += m[0].length;
  }
  return used === t.replace(/\s+/g, '').length && used > 0 ? total : NaN;
}

// num formats a sample value compactly.
export function num(v) {
  const x = typeof v === 'string' ? parseFloat(v) : v;
  if (typeof v === 'string' && isNaN(x)) return v;
  if (!isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e15 || a < 1e-4) return x.toExponential(3);
  if (Number.isInteger(x)) return String(x);
  return String(+x.toPrecision(6));
}

// si formats an axis value with an SI suffix.
export function si(x) {
  const a = Math.abs(x);
  const table = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [n, suf] of table) if (a >= n) return +(x / n).toPrecision(4) + suf;
  if (a === 0) return '0';
  if (a < 1e-3) return x.toExponential(1);
  return String(+x.toPrecision(4));
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = Number(n);
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (i === 0 ? x : x.toFixed(1)) + ' ' + u[i];
}

// seriesName renders a label set as name{a="b", …}.
export function seriesName(metric) {
  if (!metric) return '{}';
  const name = metric.__name__ || '';
  const rest = Object.keys(metric).filter((k) => k !== '__name__').sort()
    .map((k) => `${k}=${JSON.stringify(metric[k])}`);
  return name + (rest.length || !name ? `{${rest.join(', ')}}` : '');
}
