// Inline SVG charts: a line of rates over runs and stacked daily bars. No library, no external requests.
// Charts are drawn at the pixel width they get (the caller measures its box), so labels keep their size.

import { h, s } from './ui.js';

export const PALETTE = ['#2456d3', '#17803a', '#c46a00', '#8e3fbf', '#c42b2b', '#0f8a8a', '#6b7280', '#b8860b'];

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * A line chart of values in 0..1 (pass rates). points: [{label, value, title, href?, bad?}] oldest first.
 */
export function rateChart(points, { title = 'Pass rate', height = 220, width = 760 } = {}) {
  const W = Math.max(280, Math.round(width)), H = height, L = 44, R = 14, T = 12, B = 30;
  const iw = W - L - R, ih = H - T - B;
  const x = (i) => L + (points.length === 1 ? iw / 2 : (i * iw) / (points.length - 1));
  const y = (v) => T + ih - v * ih;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `${title} over ${points.length} runs` },
    s('title', { text: title }));
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(t), y2: y(t) }),
      s('text', { x: L - 6, y: y(t) + 4, 'text-anchor': 'end', text: `${t * 100}%` }));
  }
  if (points.length > 1) {
    svg.append(s('polyline', { class: 'line', points: points.map((p, i) => `${x(i).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ') }));
  }
  const step = Math.max(1, Math.ceil(points.length / Math.max(2, Math.floor(iw / 90))));
  points.forEach((p, i) => {
    if (i % step === 0 || i === points.length - 1) {
      svg.append(s('text', { x: x(i), y: H - 8, 'text-anchor': i === 0 && points.length > 1 ? 'start' : i === points.length - 1 && points.length > 1 ? 'end' : 'middle', text: p.label }));
    }
    const dot = s('circle', { class: ['pt', p.bad ? 'gate-fail' : ''].join(' '), cx: x(i), cy: y(p.value), r: points.length > 60 ? 2.5 : 4 },
      s('title', { text: p.title }));
    svg.append(p.href ? s('a', { href: p.href, 'aria-label': p.title }, dot) : dot);
  });
  return svg;
}

/**
 * Stacked bars per category (days). labels: ['2026-01-01', …]; series: [{name, values: [..]}]; fmt formats the axis.
 */
export function stackedBars(labels, series, { title = '', fmt = String, tipFmt = fmt, height = 220, width = 760 } = {}) {
  const W = Math.max(280, Math.round(width)), H = height, L = 64, R = 10, T = 12, B = 30;
  const iw = W - L - R, ih = H - T - B;
  const totals = labels.map((_, i) => series.reduce((a, se) => a + (se.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const y = (v) => T + ih - (v / max) * ih;
  const slot = iw / Math.max(1, labels.length);
  const bw = Math.max(2, Math.min(36, slot * 0.7));
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title }, s('title', { text: title }));
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    svg.append(s('line', { class: 'grid', x1: L, x2: W - R, y1: y(v), y2: y(v) }),
      s('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', text: fmt(v) }));
  }
  const step = Math.max(1, Math.ceil(labels.length / Math.max(2, Math.floor(iw / 60))));
  labels.forEach((lab, i) => {
    const cx = L + slot * i + slot / 2;
    let acc = 0;
    series.forEach((se, si) => {
      const v = se.values[i] || 0;
      if (v <= 0) return;
      const y0 = y(acc), y1 = y(acc + v);
      acc += v;
      svg.append(s('rect', { x: cx - bw / 2, y: y1, width: bw, height: Math.max(0.5, y0 - y1), fill: PALETTE[si % PALETTE.length] },
        s('title', { text: `${lab} · ${se.name}: ${tipFmt(v)}` })));
    });
    if (i % step === 0 || i === labels.length - 1) svg.append(s('text', { x: cx, y: H - 8, 'text-anchor': 'middle', text: lab.slice(5) }));
  });
  return svg;
}

export function legend(names) {
  return h('div', { class: 'legend' }, names.map((n, i) => h('span', {}, h('i', { style: { background: PALETTE[i % PALETTE.length] } }), n)));
}
