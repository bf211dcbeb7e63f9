// @ts-check
// Veil web UI: hash routes, one view at a time; a view may return a cleanup function (stops its polling).
import { apiKey, setApiKey } from './api.js';
import { notify } from './ui.js';
import { uploadView } from './views/upload.js';
import { jobsView } from './views/jobs.js';
import { jobView } from './views/job.js';
import { modelsView, modelView } from './views/models.js';
import { trainView } from './views/train.js';

/** @typedef {(root: HTMLElement) => Promise<unknown>} View */
/** @type {[RegExp, string, (m: RegExpExecArray) => View][]} */
const routes = [
  [/^#?\/?$/, 'upload', () => uploadView],
  [/^#\/jobs$/, 'jobs', () => jobsView],
  [/^#\/jobs\/(j[0-9a-z]+)$/, 'jobs', (m) => (el) => jobView(el, m[1])],
  [/^#\/train$/, 'train', () => trainView],
  [/^#\/train\/(j[0-9a-z]+)$/, 'train', (m) => (el) => trainView(el, m[1])],
  [/^#\/models$/, 'models', () => modelsView],
  [/^#\/models\/([A-Za-z0-9][A-Za-z0-9._-]*)$/, 'models', (m) => (el) => modelView(el, decodeURIComponent(m[1]))],
];

/** @type {(() => void) | null} */
let cleanup = null;

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

async function render() {
  if (cleanup) { try { cleanup(); } catch { /* view gone */ } cleanup = null; }
  const view = byId('view');
  view.replaceChildren();
  const hash = location.hash || '#/';
  for (const [re, nav, make] of routes) {
    const m = re.exec(hash);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) a.classList.toggle('active', /** @type {HTMLElement} */ (a).dataset.nav === nav);
    const c = await make(m)(view);
    cleanup = typeof c === 'function' ? /** @type {() => void} */ (c) : null;
    return;
  }
  view.textContent = 'Not found.';
}

const keyInput = /** @type {HTMLInputElement} */ (byId('key-input'));
keyInput.value = apiKey();
byId('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey(keyInput.value.trim());
  /** @type {HTMLDetailsElement} */ (document.querySelector('details.key')).open = false;
  notify('API key saved in this browser.');
  render();
});

window.addEventListener('hashchange', render);
render();
