// Small inline SVG charts for the evaluation page (no chart library): lines or grouped bars
// over categorical x values, and a forest plot of confidence intervals.

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#2563eb', '#e11d48', '#059669', '#d97706', '#7c3aed', '#0891b2'];

function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** About five round tick values from 0 (or lo) to hi. */
function ticks(lo, hi, n = 5) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((x) => x >= raw) ?? raw;
  const out = [];
  // From below lo to at or above hi, so that every value fits under the top tick.
  const end = Math.ceil(hi / step - 1e-9) * step;
  for (let v = Math.floor(lo / step) * step; v <= end + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  return out;
}

const defaultFormat = (v) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(3).replace(/0+$/, '').replace(/\.$/, ''));

/**
 * A chart over categorical x values.
 * @param {{ title: string, xLabels: string[], xTitle?: string, yTitle?: string,
 *   series: { name: string, values: (number|null)[], lo?: (number|null)[], hi?: (number|null)[] }[],
 *   kind?: 'line'|'bar', yFormat?: (v: number) => string, yMax?: number, log?: boolean,
 *   invert?: boolean, highlight?: (seriesIndex: number, i: number) => boolean,
 *   notes?: string[], width?: number, height?: number }} o
 */
export function chart(o) {
  const W = o.width ?? 480;
  const H = o.height ?? 260;
  const m = { l: 52, r: 14, t: 30, b: o.xTitle ? 58 : 44 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const fmt = o.yFormat ?? defaultFormat;
  const kind = o.kind ?? 'line';
  const all = o.series.flatMap((x) => [...x.values, ...(x.hi ?? [])]).filter((v) => Number.isFinite(v));
  const n = o.xLabels.length;

  // y scale: linear from 0, or log10 (for ranks).
  let y, yt;
  if (o.log) {
    const maxV = Math.max(10, ...all);
    const top = 10 ** Math.ceil(Math.log10(maxV));
    y = (v) => {
      const f = Math.log10(Math.max(1, v)) / Math.log10(top);
      return m.t + (o.invert ? f : 1 - f) * ph;
    };
    yt = [];
    for (let v = 1; v <= top; v *= 10) yt.push(v);
  } else {
    const maxV = o.yMax ?? Math.max(1e-9, ...all) * 1.05;
    yt = ticks(0, maxV);
    const top = yt.at(-1);
    y = (v) => m.t + (1 - v / top) * ph;
  }
  const band = pw / Math.max(1, n);
  const xc = (i) => m.l + band * (i + 0.5);

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': o.title });
  svg.append(s('title', {}, o.title));
  svg.append(s('text', { x: m.l, y: 18, class: 'chart-title' }, o.title));
  // grid and y axis
  for (const v of yt) {
    const yy = y(v);
    svg.append(s('line', { x1: m.l, x2: W - m.r, y1: yy, y2: yy, class: 'grid' }));
    svg.append(s('text', { x: m.l - 6, y: yy + 4, class: 'tick', 'text-anchor': 'end' }, o.log ? String(v) : fmt(v)));
  }
  if (o.yTitle) {
    svg.append(s('text', { x: 12, y: m.t + ph / 2, class: 'axis-title', transform: `rotate(-90 12 ${m.t + ph / 2})`, 'text-anchor': 'middle' }, o.yTitle));
  }
  // x labels (thinned when crowded)
  const every = Math.ceil(n / Math.max(1, Math.floor(pw / 54)));
  o.xLabels.forEach((lab, i) => {
    if (i % every && i !== n - 1) return;
    svg.append(s('text', { x: xc(i), y: m.t + ph + 16, class: 'tick', 'text-anchor': 'middle' }, lab));
  });
  if (o.xTitle) svg.append(s('text', { x: m.l + pw / 2, y: H - 10, class: 'axis-title', 'text-anchor': 'middle' }, o.xTitle));
  svg.append(s('line', { x1: m.l, x2: W - m.r, y1: m.t + ph, y2: m.t + ph, class: 'axis' }));

  const k = o.series.length;
  o.series.forEach((ser, si) => {
    const color = ser.color ?? PALETTE[si % PALETTE.length];
    const g = s('g', { class: 'series', fill: color, stroke: color });
    if (kind === 'bar') {
      const bw = Math.min(34, (band * 0.8) / k);
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        const x = xc(i) - (bw * k) / 2 + bw * si;
        const r = s('rect', { x, y: y(v), width: bw - 2, height: Math.max(0, m.t + ph - y(v)), stroke: 'none' });
        r.append(s('title', {}, `${ser.name} · ${o.xLabels[i]}: ${fmt(v)}`));
        g.append(r);
        if (Number.isFinite(ser.lo?.[i]) && Number.isFinite(ser.hi?.[i])) {
          const cx = x + (bw - 2) / 2;
          g.append(s('line', { x1: cx, x2: cx, y1: y(ser.lo[i]), y2: y(ser.hi[i]), class: 'whisker', stroke: '#111' }));
        }
      });
    } else {
      let d = '';
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        d += `${d ? 'L' : 'M'}${xc(i).toFixed(1)},${y(v).toFixed(1)}`;
      });
      // confidence band
      if (ser.lo && ser.hi) {
        const idx = ser.values.map((_, i) => i).filter((i) => Number.isFinite(ser.lo[i]) && Number.isFinite(ser.hi[i]));
        if (idx.length > 1) {
          const up = idx.map((i) => `${xc(i).toFixed(1)},${y(ser.hi[i]).toFixed(1)}`);
          const dn = idx.reverse().map((i) => `${xc(i).toFixed(1)},${y(ser.lo[i]).toFixed(1)}`);
          g.append(s('polygon', { points: [...up, ...dn].join(' '), class: 'band', stroke: 'none' }));
        }
      }
      g.append(s('path', { d, fill: 'none', 'stroke-width': 2 }));
      ser.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        const hot = o.highlight?.(si, i);
        const c = s('circle', { cx: xc(i), cy: y(v), r: hot ? 5 : 3.2, class: hot ? 'hot' : undefined });
        c.append(s('title', {}, `${ser.name} · ${o.xLabels[i]}: ${o.log ? v : fmt(v)}`));
        g.append(c);
      });
    }
    svg.append(g);
  });
  (o.notes ?? []).forEach((t, i) => svg.append(s('text', { x: W - m.r, y: m.t + 14 + 14 * i, class: 'note', 'text-anchor': 'end' }, t)));
  return svg;
}

/**
 * A forest plot: one row per metric, a point and its 95% interval per model.
 * @param {{ title: string, rows: { label: string, items: { name: string, value: number, lo?: number, hi?: number }[] }[],
 *   format?: (v: number) => string }} o
 */
export function forest(o) {
  const W = 560;
  const rowH = 18 * Math.max(1, o.rows[0]?.items.length ?? 1) + 14;
  const m = { l: 110, r: 20, t: 34, b: 30 };
  const H = m.t + m.b + rowH * o.rows.length;
  const pw = W - m.l - m.r;
  const fmt = o.format ?? defaultFormat;
  const vals = o.rows.flatMap((r) => r.items.flatMap((i) => [i.value, i.lo, i.hi])).filter(Number.isFinite);
  const xt = ticks(0, Math.max(...vals, 1e-9) * 1.05);
  const x = (v) => m.l + (v / xt.at(-1)) * pw;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': o.title });
  svg.append(s('title', {}, o.title));
  svg.append(s('text', { x: m.l, y: 18, class: 'chart-title' }, o.title));
  for (const v of xt) {
    svg.append(s('line', { x1: x(v), x2: x(v), y1: m.t - 6, y2: H - m.b, class: 'grid' }));
    svg.append(s('text', { x: x(v), y: H - m.b + 16, class: 'tick', 'text-anchor': 'middle' }, fmt(v)));
  }
  o.rows.forEach((row, ri) => {
    const y0 = m.t + ri * rowH;
    svg.append(s('text', { x: m.l - 8, y: y0 + rowH / 2, class: 'tick', 'text-anchor': 'end' }, row.label));
    row.items.forEach((it, ii) => {
      const color = PALETTE[ii % PALETTE.length];
      const yy = y0 + 10 + ii * 18;
      const g = s('g', { stroke: color, fill: color });
      if (Number.isFinite(it.lo) && Number.isFinite(it.hi)) {
        g.append(s('line', { x1: x(it.lo), x2: x(it.hi), y1: yy, y2: yy, 'stroke-width': 2 }));
        g.append(s('line', { x1: x(it.lo), x2: x(it.lo), y1: yy - 4, y2: yy + 4 }));
        g.append(s('line', { x1: x(it.hi), x2: x(it.hi), y1: yy - 4, y2: yy + 4 }));
      }
      const c = s('circle', { cx: x(it.value), cy: yy, r: 4 });
      c.append(s('title', {}, `${it.name} · ${row.label}: ${fmt(it.value)}${Number.isFinite(it.lo) ? ` [${fmt(it.lo)}, ${fmt(it.hi)}]` : ''}`));
      g.append(c);
      svg.append(g);
    });
  });
  return svg;
}

/** An HTML legend (colour swatch and name per series), to put under a chart. */
export function legend(names) {
  const ul = document.createElement('ul');
  ul.className = 'legend-list';
  names.forEach((n, i) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = PALETTE[i % PALETTE.length];
    li.append(sw, n);
    ul.append(li);
  });
  return ul;
}
