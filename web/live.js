// @ts-check
// The live dashboard: capture health, rolling traffic charts, top services and the live flows table, fed by the
// server-sent events of GET /api/v1/live/events (read with fetch so the API key travels in a header) and the
// series of GET /api/v1/live/series.
import { apiKey } from './api.js';

const BASE = '/api/v1/live';
/** Flows kept in the table (the store has the rest: GET /api/v1/live/flows). */
const MAX_FLOWS = 1000;
const PALETTE = ['#2f5fd0', '#e07b24', '#1a9e6a', '#c43d5b', '#7a52c7', '#8c6d1f', '#1b8fb3', '#d05fb0', '#5a6b7b', '#9aa6b2', '#3c9a3c', '#b84a1d'];

/** @param {Record<string, string>} [extra] */
function headers(extra = {}) {
  const k = apiKey();
  return k ? { ...extra, authorization: `Bearer ${k}` } : extra;
}

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init = {}) {
  const res = await fetch(`${BASE}${path}`, { ...init, headers: headers(/** @type {Record<string, string>} */ (init.headers ?? {})) });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {(Node|string)[]} [kids] */
function el(tag, attrs = {}, kids = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of kids) e.append(c);
  return e;
}

/** @param {number} n */
function fmtBytes(n) {
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return `${n < 10 && i ? n.toFixed(1) : Math.round(n)} ${u[i]}`;
}

/** @param {number} n */
function fmtRate(n) {
  return n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n >= 10 ? String(Math.round(n)) : n.toFixed(1);
}

const banner = /** @type {HTMLElement} */ (document.getElementById('banner'));
/** @param {string} msg */
function showError(msg) {
  banner.textContent = msg;
  banner.className = 'banner error';
  banner.hidden = false;
}

// ---- flows table ----------------------------------------------------------------------------------------------

/**
 * @typedef {{ kind: 'early'|'final', key: string, seq: number, source: string, src: string, sport: number, dst: string,
 *   dport: number, proto: number, firstTs: number, packets: number, bytes: number, name: string, alpn: string,
 *   app: string, appSource: string, category: string, categorySource: string, categoryConfidence: number }} LiveRecord
 * @typedef {{ key: string, last: number, early: LiveRecord|null, final: LiveRecord|null }} FlowView
 */

/** @type {Map<string, FlowView>} */
const flows = new Map();
const tbody = /** @type {HTMLElement} */ (document.querySelector('#flows tbody'));
const wrap = /** @type {HTMLElement} */ (document.getElementById('flows-wrap'));
const filterInput = /** @type {HTMLInputElement} */ (document.getElementById('filter'));
const pausedBadge = /** @type {HTMLElement} */ (document.getElementById('paused'));
const countEl = /** @type {HTMLElement} */ (document.getElementById('count'));
let paused = false;
let missed = 0;
/** @type {Set<string>} */
let fresh = new Set();

/** @param {LiveRecord[]} records */
function addRecords(records) {
  for (const r of records) {
    let f = flows.get(r.key);
    if (!f) { f = { key: r.key, last: r.seq, early: null, final: null }; flows.set(r.key, f); }
    f[r.kind] = r;
    f.last = Math.max(f.last, r.seq);
    fresh.add(r.key);
  }
  if (flows.size > MAX_FLOWS) {
    const old = [...flows.values()].sort((a, b) => a.last - b.last).slice(0, flows.size - MAX_FLOWS);
    for (const f of old) flows.delete(f.key);
  }
  if (paused) { missed += records.length; pausedBadge.textContent = `paused · ${missed} new`; return; }
  renderFlows();
}

/** @param {LiveRecord|null} r */
function verdictText(r) {
  if (!r) return '';
  const app = r.app ? `${r.app} · ` : '';
  return `${app}${r.category} (${r.categorySource}${r.categorySource === 'model' ? ` ${r.categoryConfidence.toFixed(2)}` : ''}) @${r.packets} pkts`;
}

function renderFlows() {
  const q = filterInput.value.trim().toLowerCase();
  const list = [...flows.values()].sort((a, b) => b.last - a.last);
  const rows = [];
  let shown = 0;
  for (const f of list) {
    const r = /** @type {LiveRecord} */ (f.final ?? f.early);
    const text = `${r.src} ${r.dst} ${r.name} ${r.app} ${r.category} ${f.early?.category ?? ''} ${r.alpn}`.toLowerCase();
    if (q && !text.includes(q)) continue;
    shown++;
    if (rows.length >= 300) continue;
    const proto = ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp6' })[r.proto] ?? String(r.proto);
    const tr = el('tr', { 'data-key': f.key, class: fresh.has(f.key) ? 'fresh' : '' }, [
      el('td', {}, [new Date(r.firstTs * 1000).toLocaleTimeString()]),
      el('td', { class: 'mono' }, [`${r.src}:${r.sport}`]),
      el('td', { class: 'mono' }, [`${r.dst}:${r.dport}`]),
      el('td', {}, [proto]),
      el('td', { title: r.name }, [r.name || '—']),
      el('td', { class: f.early ? 'v-early' : 'v-none', 'data-verdict': 'early' }, [f.early ? verdictText(f.early) : 'none']),
      el('td', { class: f.final ? 'v-final' : 'v-none', 'data-verdict': 'final' }, [f.final ? verdictText(f.final) : 'open…']),
      el('td', { class: 'num' }, [String(r.packets)]),
      el('td', { class: 'num' }, [fmtBytes(r.bytes)]),
      el('td', {}, [r.alpn || '']),
    ]);
    rows.push(tr);
  }
  tbody.replaceChildren(...rows);
  fresh = new Set();
  countEl.textContent = `${shown} of ${flows.size} flows${shown > rows.length ? ` (first ${rows.length} shown)` : ''}`;
}

wrap.addEventListener('mouseenter', () => { paused = true; missed = 0; pausedBadge.textContent = 'paused'; pausedBadge.hidden = false; });
wrap.addEventListener('mouseleave', () => { paused = false; pausedBadge.hidden = true; renderFlows(); });
filterInput.addEventListener('input', () => renderFlows());

// ---- capture health -------------------------------------------------------------------------------------------

/** @type {Map<string, { t: number, packets: number, rate: number }>} */
const rates = new Map();
const health = /** @type {HTMLElement} */ (document.getElementById('health'));

/** @param {string} k @param {string} v @param {boolean} [bad] */
function fact(k, v, bad = false) {
  return el('div', { class: `fact${bad ? ' bad' : ''}` }, [el('span', { class: 'k' }, [k]), el('span', { class: 'v' }, [v])]);
}

/** @param {any[]} sources */
function renderHealth(sources) {
  if (!sources.length) { health.replaceChildren(el('span', { class: 'muted' }, ['no live source'])); return; }
  const now = Date.now();
  const kids = [];
  for (const s of sources) {
    const prev = rates.get(s.id);
    let rate = prev?.rate ?? 0;
    if (prev && now - prev.t >= 900) rate = ((s.packets - prev.packets) * 1000) / (now - prev.t);
    if (!prev || now - prev.t >= 900) rates.set(s.id, { t: now, packets: s.packets, rate });
    const kdrop = s.capture ? s.capture.droppedByKernel : null;
    const idrop = (s.capture?.droppedByInterface ?? 0) + (s.iface_rx?.dropped ?? 0);
    const stop = el('button', { 'data-stop': s.id }, ['Stop']);
    stop.addEventListener('click', () => { api(`/sources/${encodeURIComponent(s.id)}`, { method: 'DELETE' }).catch((e) => showError(e.message)); });
    kids.push(el('div', { class: 'source', 'data-source': s.id }, [
      el('div', { class: 'facts' }, [
        fact('interface', `${s.iface}${s.filter ? ` (${s.filter})` : ''}`),
        fact('state', s.state + (s.error ? `: ${s.error}` : ''), s.state === 'failed'),
        fact('packets/s', fmtRate(rate)),
        fact('packets', String(s.packets)),
        fact('dropped (kernel)', kdrop === null ? '…' : String(kdrop), Boolean(kdrop)),
        fact('dropped (interface)', String(idrop), idrop > 0),
        fact('workers', String(s.workers)),
        fact('open flows', String(s.openFlows)),
        fact('verdicts early / final', `${s.earlyVerdicts} / ${s.finalVerdicts}`),
        fact('early at', s.early ? `${s.early} packets` : 'off'),
        stop,
      ]),
    ]));
  }
  health.replaceChildren(...kids);
}

const startForm = /** @type {HTMLFormElement} */ (document.getElementById('start-form'));
startForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const fd = new FormData(startForm);
  const body = { interface: String(fd.get('interface')), workers: Number(fd.get('workers') || 1), early: Number(fd.get('early') || 0), ...(fd.get('filter') ? { filter: String(fd.get('filter')) } : {}) };
  api('/sources', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    .then(() => { banner.hidden = true; })
    .catch((err) => showError(err.message));
});

// ---- charts ---------------------------------------------------------------------------------------------------

let windowS = 300;
/** @type {Map<string, string>} */
const colours = new Map();
/** @param {string} k */
function colour(k) {
  let c = colours.get(k);
  if (!c) { c = PALETTE[colours.size % PALETTE.length] ?? '#888'; colours.set(k, c); }
  return c;
}

/**
 * Stacked area chart of `series` (name -> values per step) into an SVG.
 * @param {string} id @param {Record<string, number[]>} series @param {number} stepS @param {(n: number) => string} fmt
 */
function drawStack(id, series, stepS, fmt) {
  const svg = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (document.getElementById(id)));
  const W = 480, H = 160, L = 44, B = 16;
  const names = Object.keys(series).sort((a, b) => sum(series[b] ?? []) - sum(series[a] ?? []));
  const n = names.length ? (series[names[0] ?? '']?.length ?? 0) : 0;
  const totals = new Array(n).fill(0);
  for (const k of names) (series[k] ?? []).forEach((v, i) => { totals[i] += v; });
  const max = Math.max(1e-9, ...totals);
  const x = (/** @type {number} */ i) => L + (n > 1 ? (i * (W - L - 4)) / (n - 1) : 0);
  const y = (/** @type {number} */ v) => H - B - (v / max) * (H - B - 8);
  const ns = 'http://www.w3.org/2000/svg';
  const parts = [];
  const base = new Array(n).fill(0);
  for (const k of names) {
    const vals = series[k] ?? [];
    const top = vals.map((v, i) => base[i] + v);
    const pts = top.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).concat(base.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).reverse());
    const p = document.createElementNS(ns, 'polygon');
    p.setAttribute('points', pts.join(' '));
    p.setAttribute('fill', colour(k));
    p.setAttribute('fill-opacity', '0.75');
    p.setAttribute('data-series', k);
    const t = document.createElementNS(ns, 'title');
    t.textContent = k;
    p.append(t);
    parts.push(p);
    top.forEach((v, i) => { base[i] = v; });
  }
  const axis = document.createElementNS(ns, 'path');
  axis.setAttribute('d', `M${L},8 V${H - B} H${W - 4}`);
  axis.setAttribute('stroke', '#c9d0db');
  axis.setAttribute('fill', 'none');
  const label = (/** @type {string} */ s, /** @type {number} */ lx, /** @type {number} */ ly, anchor = 'end') => {
    const t = document.createElementNS(ns, 'text');
    t.setAttribute('x', String(lx)); t.setAttribute('y', String(ly)); t.setAttribute('text-anchor', anchor);
    t.textContent = s;
    return t;
  };
  svg.replaceChildren(...parts, axis, label(fmt(max), L - 4, 14), label('0', L - 4, H - B),
    label(`-${Math.round((n * stepS) / 60)} min`, L, H - 3, 'start'), label('now', W - 4, H - 3));
}

/** @param {number[]} a */
function sum(a) { return a.reduce((s, v) => s + v, 0); }

/** @param {Record<string, { bytes: number[], flows: number[] }>} m @param {'bytes'|'flows'} f */
function pick(m, f) {
  /** @type {Record<string, number[]>} */
  const out = {};
  for (const [k, v] of Object.entries(m)) out[k] = v[f];
  return out;
}

async function refreshSeries() {
  try {
    const s = await api(`/series?window=${windowS}`);
    drawStack('c-cat-bytes', pick(s.category, 'bytes'), s.stepS, (v) => `${fmtBytes(v)}/s`);
    drawStack('c-cat-flows', pick(s.category, 'flows'), s.stepS, (v) => `${fmtRate(v)}/s`);
    drawStack('c-app-bytes', pick(s.app, 'bytes'), s.stepS, (v) => `${fmtBytes(v)}/s`);
    drawStack('c-app-flows', pick(s.app, 'flows'), s.stepS, (v) => `${fmtRate(v)}/s`);
    const legend = /** @type {HTMLElement} */ (document.getElementById('legend'));
    legend.replaceChildren(...[...new Set([...Object.keys(s.category), ...Object.keys(s.app)])].map((k) => el('span', {}, [el('i', { style: `background:${colour(k)}` }), k])));
    const top = /** @type {HTMLElement} */ (document.querySelector('#top tbody'));
    top.replaceChildren(...s.topServices.slice(0, 10).map((/** @type {any} */ t) => el('tr', {}, [el('td', {}, [t.app]), el('td', { class: 'num' }, [fmtBytes(t.bytes)]), el('td', { class: 'num' }, [String(t.flows)])])));
    /** @type {HTMLElement} */ (document.getElementById('top-window')).textContent = `last ${Math.round(windowS / 60)} min`;
  } catch (err) {
    showError(/** @type {Error} */ (err).message);
  }
}

for (const b of document.querySelectorAll('#window-tabs button')) {
  b.addEventListener('click', () => {
    for (const o of document.querySelectorAll('#window-tabs button')) o.classList.toggle('active', o === b);
    windowS = Number(/** @type {HTMLElement} */ (b).dataset.window);
    void refreshSeries();
  });
}

// ---- event stream ---------------------------------------------------------------------------------------------

const conn = /** @type {HTMLElement} */ (document.getElementById('conn'));

async function stream() {
  for (;;) {
    try {
      const recent = await api('/flows?limit=500');
      flows.clear();
      addRecords(/** @type {LiveRecord[]} */ (recent.records).reverse());
      const res = await fetch(`${BASE}/events`, { headers: headers({ accept: 'text/event-stream' }) });
      if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
      conn.textContent = 'live';
      conn.className = 'badge s-done';
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const msg = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(msg)?.[1];
          const data = /^data: (.*)$/m.exec(msg)?.[1];
          if (!ev || data === undefined) continue;
          const d = JSON.parse(data);
          if (ev === 'records') addRecords(d);
          else if (ev === 'health' || ev === 'hello') renderHealth(d.sources);
        }
      }
    } catch (err) {
      showError(/** @type {Error} */ (err).message);
    }
    conn.textContent = 'reconnecting';
    conn.className = 'badge s-queued';
    await new Promise((r) => setTimeout(r, 2000));
  }
}

void stream();
void refreshSeries();
setInterval(() => { void refreshSeries(); }, 5000);
