// The time-series graph of the Query page, drawn as SVG by hand: nice axis
// ticks, one path per series (broken at gaps), a legend that toggles series,
// and a hover cursor with the values at the nearest step.

import { h, s, fill } from './dom.js';
import { si, num, seriesName, stamp } from './format.js';

// PALETTE stays distinct for 21 series: every pair is at least ΔE 25 apart
// (CIELAB), from Kelly's colours of maximum contrast and the console's own.
export const PALETTE = ['#1f5fbf', '#e8590c', '#2b9a66', '#c2255c', '#7048e8', '#0ca5b0', '#f3c300', '#5c940d', '#875692', '#e03131', '#a1caf1',
  '#654522', '#f783ac', '#9c9c9c', '#f99379', '#1b3d2a', '#c2b280', '#ff00aa', '#1e1e5b', '#8ce99a', '#a16207'];
export const MAX_SERIES = 200;
const HEIGHT = 320;
const M = { top: 12, right: 16, bottom: 28 };

// niceStep is the 1-2-5 step giving about n ticks over span.
export function niceStep(span, n) {
  const raw = span / Math.max(1, n);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

export function yTicks(min, max, n = 5) {
  const step = niceStep(max - min, n);
  const out = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

export function xTicks(start, end, n) {
  const raw = (end - start) / Math.max(1, n);
  const step = TIME_STEPS.find((x) => x >= raw) || Math.ceil(raw / 86400) * 86400;
  // Align to local midnight for whole-day steps, to the step otherwise.
  const tz = new Date(start * 1000).getTimezoneOffset() * 60;
  const first = Math.ceil((start - tz) / step) * step + tz;
  const out = [];
  for (let t = first; t <= end; t += step) out.push(t);
  return { ticks: out, step };
}

const pad = (n) => String(n).padStart(2, '0');

function timeLabel(t, span, step) {
  const d = new Date(t * 1000);
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (step < 60) return `${hm}:${pad(d.getSeconds())}`;
  if (span > 86400) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${step >= 86400 ? '' : hm}`.trim();
  return hm;
}

// prepare turns a matrix result into series of numeric points.
export function prepare(result) {
  return result.map((r, i) => ({
    name: seriesName(r.metric),
    color: PALETTE[i % PALETTE.length],
    points: (r.values || []).map(([t, v]) => [t, parseFloat(v)]),
  }));
}

// Graph draws series over [start, end] into container and redraws when the
// container is resized.
export class Graph {
  constructor(container) {
    this.el = h('div', { class: 'graph', id: 'graph' });
    this.plot = h('div', { class: 'graph-plot' });
    this.tip = h('div', { class: 'graph-tip', hidden: true });
    this.legend = h('div', { class: 'legend', id: 'graph-legend' });
    this.plot.append(this.tip);
    this.el.append(this.plot, this.legend);
    container.append(this.el);
    this.hidden = new Set();
    this.series = [];
    this.width = 0;
    this.ro = new ResizeObserver(() => {
      const w = this.plot.clientWidth;
      if (w && Math.abs(w - this.width) > 4) this.draw();
    });
    this.ro.observe(this.plot);
  }

  destroy() {
    this.ro.disconnect();
  }

  set(series, start, end, step) {
    this.series = series.slice(0, MAX_SERIES);
    this.truncated = series.length - this.series.length;
    this.start = start;
    this.end = end;
    this.step = step;
    this.draw();
    this.drawLegend();
  }

  draw() {
    const W = Math.max(320, this.plot.clientWidth || 800);
    this.width = W;
    const shown = this.series.filter((x) => !this.hidden.has(x.name));
    let min = Infinity;
    let max = -Infinity;
    for (const se of shown) {
      for (const [, v] of se.points) {
        if (!isFinite(v)) continue;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (!isFinite(min)) { min = 0; max = 1; }
    if (min === max) {
      const d = Math.abs(min) * 0.1 || 1;
      min -= d;
      max += d;
    }
    // The axis runs from tick to tick, so both ends are labelled.
    const ystep = niceStep(max - min, 5);
    const lo = Math.floor(min / ystep) * ystep;
    const hi = Math.ceil(max / ystep) * ystep;
    const ticks = yTicks(lo, hi);
    const ylabels = ticks.map(si);
    const left = 12 + 7 * Math.max(...ylabels.map((l) => l.length));
    const pw = W - left - M.right;
    const ph = HEIGHT - M.top - M.bottom;
    const X = (t) => left + ((t - this.start) / (this.end - this.start || 1)) * pw;
    const Y = (v) => M.top + (1 - (v - lo) / (hi - lo || 1)) * ph;
    this.geom = { left, pw, X };

    const svg = s('svg', { class: 'graph-svg', width: W, height: HEIGHT, viewBox: `0 0 ${W} ${HEIGHT}`, role: 'img', 'aria-label': 'Time-series graph' });
    const grid = s('g', { class: 'grid' });
    const axes = s('g', { class: 'axis' });
    ticks.forEach((v, i) => {
      const y = Y(v);
      grid.append(s('line', { x1: left, x2: left + pw, y1: y, y2: y }));
      axes.append(s('text', { x: left - 6, y: y + 4, 'text-anchor': 'end', text: ylabels[i] }));
    });
    const span = this.end - this.start;
    const xt = xTicks(this.start, this.end, Math.max(2, Math.floor(pw / 110)));
    for (const t of xt.ticks) {
      const x = X(t);
      grid.append(s('line', { x1: x, x2: x, y1: M.top, y2: M.top + ph }));
      axes.append(s('text', { x, y: HEIGHT - 8, 'text-anchor': 'middle', text: timeLabel(t, span, xt.step) }));
    }
    axes.append(s('line', { class: 'axis-line', x1: left, x2: left + pw, y1: M.top + ph, y2: M.top + ph }));
    axes.append(s('line', { class: 'axis-line', x1: left, x2: left, y1: M.top, y2: M.top + ph }));
    svg.append(grid, axes);

    const lines = s('g', { class: 'lines', 'clip-path': 'url(#plot-clip)' });
    svg.append(s('defs', null, s('clipPath', { id: 'plot-clip' }, s('rect', { x: left, y: M.top - 2, width: pw, height: ph + 4 }))));
    const gap = (this.step || 1) * 1.5;
    for (const se of shown) {
      let d = '';
      let prevT = null;
      for (const [t, v] of se.points) {
        if (!isFinite(v)) { prevT = null; continue; }
        const cmd = prevT === null || t - prevT > gap ? 'M' : 'L';
        d += `${cmd}${X(t).toFixed(1)} ${Y(v).toFixed(1)}`;
        // A lone point would be invisible: a zero-length round-capped line is a dot.
        if (cmd === 'M') d += 'l0 0';
        prevT = t;
      }
      if (d) lines.append(s('path', { d, stroke: se.color, class: 'series', 'data-series': se.name }));
    }
    svg.append(lines);
    this.cursor = s('line', { class: 'cursor', x1: 0, x2: 0, y1: M.top, y2: M.top + ph, visibility: 'hidden' });
    svg.append(this.cursor);
    const overlay = s('rect', { class: 'overlay', x: left, y: M.top, width: pw, height: ph });
    overlay.addEventListener('mousemove', (e) => this.hover(e, svg));
    overlay.addEventListener('mouseleave', () => { this.tip.hidden = true; this.cursor.setAttribute('visibility', 'hidden'); });
    svg.append(overlay);
    if (!shown.length) svg.append(s('text', { x: left + pw / 2, y: M.top + ph / 2, 'text-anchor': 'middle', class: 'no-data', text: 'No data' }));

    const old = this.plot.querySelector('svg');
    if (old) old.replaceWith(svg);
    else this.plot.prepend(svg);
  }

  hover(e, svg) {
    const { left, pw, X } = this.geom;
    const rect = svg.getBoundingClientRect();
    const px = e.clientX - rect.left;
    const t0 = this.start + ((px - left) / pw) * (this.end - this.start);
    const stepN = Math.round((t0 - this.start) / (this.step || 1));
    const t = this.start + stepN * (this.step || 1);
    const rows = [];
    for (const se of this.series) {
      if (this.hidden.has(se.name)) continue;
      const v = valueAt(se.points, t, (this.step || 1) / 2);
      if (v !== undefined) rows.push([se, v]);
    }
    rows.sort((a, b) => b[1] - a[1]);
    const x = X(t);
    this.cursor.setAttribute('x1', x);
    this.cursor.setAttribute('x2', x);
    this.cursor.setAttribute('visibility', 'visible');
    fill(this.tip, h('div', { class: 'tip-time' }, stamp(new Date(t * 1000))),
      ...rows.slice(0, 10).map(([se, v]) => h('div', { class: 'tip-row' }, h('span', { class: 'swatch', dataset: { c: se.color } }), h('span', { class: 'tip-name' }, se.name), h('b', null, num(v)))),
      rows.length > 10 ? h('div', { class: 'muted' }, `+${rows.length - 10} more`) : null);
    for (const sw of this.tip.querySelectorAll('.swatch')) sw.style.background = sw.dataset.c;
    this.tip.hidden = rows.length === 0;
    const tipW = this.tip.offsetWidth;
    this.tip.style.left = (x + 12 + tipW > rect.width ? x - 12 - tipW : x + 12) + 'px';
    this.tip.style.top = '8px';
  }

  drawLegend() {
    const items = this.series.map((se) => {
      const sw = h('span', { class: 'swatch' });
      sw.style.background = se.color;
      return h('button', { type: 'button', class: 'legend-item' + (this.hidden.has(se.name) ? ' off' : ''), title: 'Show or hide; shift-click shows only this', onclick: (e) => this.toggle(se.name, e.shiftKey) }, sw, h('span', { class: 'mono' }, se.name));
    });
    fill(this.legend, ...items, this.truncated > 0 ? h('div', { class: 'muted' }, `${this.truncated} more series not drawn (limit ${MAX_SERIES}).`) : '');
  }

  toggle(name, only) {
    if (only) {
      const othersShown = this.series.some((x) => x.name !== name && !this.hidden.has(x.name));
      this.hidden = new Set(othersShown ? this.series.map((x) => x.name).filter((n) => n !== name) : []);
    } else if (this.hidden.has(name)) this.hidden.delete(name);
    else this.hidden.add(name);
    this.draw();
    this.drawLegend();
  }
}

// valueAt finds the point within tol of t by binary search.
function valueAt(points, t, tol) {
  let lo = 0;
  let hi = points.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const pt = points[mid][0];
    if (Math.abs(pt - t) <= tol) return isFinite(points[mid][1]) ? points[mid][1] : undefined;
    if (pt < t) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
