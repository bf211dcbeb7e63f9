// Small DOM helpers shared by the views.

/** Element builder: h('div.card', { onclick }, child, 'text', ...). */
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

export function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

export function fmtTime(ms) {
  if (!ms) return '';
  return new Date(ms).toLocaleString();
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function pct(x) {
  return `${(x * 100).toFixed(1)}%`;
}

export function badge(state) {
  return h(`span.badge.s-${state}`, { 'data-state': state }, state);
}

export function progressBar(f, label) {
  const bar = h('div.progress', { role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(f * 100) },
    h('div.fill', { style: `width:${(f * 100).toFixed(1)}%` }));
  return label ? h('div.progress-wrap', {}, bar, h('span.muted', {}, label)) : bar;
}

export function errorBox(err) {
  const code = err && err.code ? `${err.code}: ` : '';
  return h('div.error', { role: 'alert' }, `${code}${err?.message ?? String(err)}`);
}

/** Shows a transient message in the banner under the header. */
export function notify(msg, kind = 'info') {
  const b = document.getElementById('banner');
  b.textContent = msg;
  b.className = `banner ${kind}`;
  b.hidden = false;
  clearTimeout(notify.t);
  notify.t = setTimeout(() => { b.hidden = true; }, 6000);
}
