// @ts-check
// Small DOM helpers shared by the views.

/**
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * Element builder: h('div.card', { onclick }, child, 'text', ...). Attributes `on*` with a function are listeners,
 * `dataset` fills data-*, `text` sets the text; false, null and undefined attributes and children are left out.
 * @param {string} tag `name.class1.class2`
 * @param {Record<string, any>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** @param {number} n */
export function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

/** @param {number | null | undefined} ms */
export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString();
}

/** @param {number | null | undefined} ms */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** @param {number} x */
export function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

/** @param {string} state */
export function badge(state) {
  return h(`span.badge.s-${state}`, { 'data-state': state }, state);
}

/**
 * @param {number} f 0..1
 * @param {string} [label]
 */
export function progressBar(f, label) {
  const bar = h('div.progress', { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(f * 100) },
    h('div.fill', { style: `width:${(f * 100).toFixed(1)}%` }));
  return label ? h('div.progress-wrap', {}, bar, h('span.muted', {}, label)) : bar;
}

/** @param {any} err an ApiError, an Error or a `{ code, message }` */
export function errorBox(err) {
  const code = err && err.code ? `${err.code}: ` : '';
  return h('div.error', { role: 'alert' }, `${code}${err?.message ?? String(err)}`);
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let bannerTimer;

/**
 * Shows a transient message in the banner under the header.
 * @param {string} msg
 * @param {'info' | 'error'} [kind]
 */
export function notify(msg, kind = 'info') {
  const b = /** @type {HTMLElement} */ (document.getElementById('banner'));
  b.textContent = msg;
  b.className = `banner ${kind}`;
  b.hidden = false;
  clearTimeout(bannerTimer);
  bannerTimer = setTimeout(() => { b.hidden = true; }, 6000);
}
