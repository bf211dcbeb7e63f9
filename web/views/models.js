// @ts-check
import { blobUrl, del, get, post, send, upload } from '../api.js';
import { h, badge, errorBox, fmtBytes, fmtTime, pct, progressBar, notify } from '../ui.js';
import { apiLink } from './train.js';

/**
 * @typedef {{ name: string, kind: string, target: string, classes: string[], columns: string[], sizeBytes: number,
 *   isDefault: boolean, threshold: number, sha256: string, trainedAt: string | null,
 *   featureImportance: unknown[], metrics: null | { accuracy?: number, balancedAccuracy?: number, macroF1?: number,
 *   weightedF1?: number, split?: string, perClass?: { label: string, precision: number, recall: number, f1: number, support: number }[],
 *   confusion?: number[][] } }} ModelInfo
 */

/** @typedef {import('./train.js').ModelVersion} ModelVersion */
/** @typedef {import('./train.js').VersionList} VersionList */

/**
 * Models page: the trained models' versions (which is active, activate or retire one); each loaded model with its
 * target, classes and headline metrics; whether jobs that name no models get it (a default) is chosen here, and a
 * model can be unloaded; an upload form.
 * @param {HTMLElement} root
 */
export async function modelsView(root) {
  const list = h('div.cards', { id: 'models-list' }, h('span.muted', {}, 'loading…'));
  const registry = h('div', { id: 'registry' }, h('span.muted', {}, 'loading…'));
  root.append(h('h1', {}, 'Models'),
    h('section', { id: 'versions' }, h('h2', {}, 'Trained models and their versions'),
      h('p.muted', {}, 'Each training of a name makes a new version; the active one is loaded under the name and applied to new uploads. ',
        h('a', { href: '#/train' }, 'Train a model'), '.'),
      registry),
    h('h2', {}, 'Loaded models'),
    h('p.muted', {}, 'Default models are applied to jobs and POST /classify requests that name no models. An uploaded model is a default only when you tick it.'),
    list, uploadForm());
  async function refresh() {
    await Promise.all([refreshModels(), refreshRegistry()]);
  }
  async function refreshRegistry() {
    try {
      /** @type {{ models: VersionList[] }} */
      const { models } = await get('/registry');
      registry.replaceChildren(...models.map(versionsTable));
      if (!models.length) registry.replaceChildren(h('p.muted', {}, 'No model trained here yet.'));
    } catch (e) {
      registry.replaceChildren(errorBox(e));
    }
  }
  /** @param {VersionList} m */
  function versionsTable(m) {
    /** @param {string} what @param {ModelVersion} v */
    const act = async (what, v) => {
      if (what === 'retire' && !confirm(`Retire ${m.name} version ${v.version}? It is taken out of service for good (kept for the record).`)) return;
      try {
        await post(`/models/${encodeURIComponent(m.name)}/versions/${v.version}/${what}`);
        notify(what === 'activate' ? `${m.name} version ${v.version} is active: new uploads use it.` : `${m.name} version ${v.version} is retired.`);
        refresh();
      } catch (e) {
        notify(e instanceof Error ? e.message : String(e), 'error');
      }
    };
    const f1 = (/** @type {ModelVersion} */ v) => (v.metrics ? pct(v.metrics.macroF1) : '—');
    return h('div.card.versions', { dataset: { model: m.name, active: m.active === null ? '' : String(m.active) } },
      h('h3', {}, m.name, m.active !== null ? h('span.muted', {}, ` version ${m.active} active`) : h('span.muted', {}, ' no version active')),
      h('table.data', { 'aria-label': `Versions of ${m.name}` },
        h('thead', {}, h('tr', {}, ...['version', 'created', 'by', 'rows', 'classes', 'macro-F1', 'state', ''].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, ...m.versions.map((v) => h('tr', { dataset: { version: String(v.version), state: v.state }, class: v.state === 'active' ? 'active' : null },
          h('td', {}, `v${v.version}`, v.state === 'active' ? h('strong.active-mark', { title: 'the active version' }, ' ★ active') : null),
          h('td', {}, fmtTime(v.createdAt)),
          h('td', {}, v.createdBy ?? h('span.muted', {}, '—')),
          h('td.num', {}, v.data.rows.toLocaleString('en')),
          h('td', { title: v.data.classes.join(', ') }, `${v.data.classes.length}: ${v.data.classes.slice(0, 4).join(', ')}${v.data.classes.length > 4 ? ', …' : ''}`),
          h('td.num', {}, f1(v)),
          h('td', {}, badge(v.state)),
          h('td', {},
            v.state === 'inactive' ? h('button', { onclick: () => act('activate', v), 'aria-label': `Activate ${m.name} version ${v.version}` }, 'Activate') : null,
            v.state !== 'retired' ? h('button.danger', { onclick: () => act('retire', v), 'aria-label': `Retire ${m.name} version ${v.version}` }, 'Retire') : null,
            ' ', apiLink(`/models/${encodeURIComponent(m.name)}/versions/${v.version}/report`, 'report', `report-${m.name}-${v.version}`)))))));
  }
  async function refreshModels() {
    try {
      /** @type {{ models: ModelInfo[] }} */
      const { models } = await get('/models');
      list.replaceChildren(...models.map(card));
      if (!models.length) list.replaceChildren(h('p.muted', {}, 'No model loaded. Start the server with --models DIR or upload a model trained with `veil train`.'));
    } catch (e) {
      list.replaceChildren(errorBox(e));
    }
  }
  /** @param {ModelInfo} m */
  function card(m) {
    const box = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', checked: m.isDefault, 'aria-label': `${m.name} is a default model` }));
    box.addEventListener('change', async () => {
      try {
        const got = await send('PATCH', `/models/${encodeURIComponent(m.name)}`, { default: box.checked });
        notify(got.isDefault ? `${m.name} is now a default model.` : `${m.name} is no longer a default model.`);
        refresh();
      } catch (e) {
        box.checked = !box.checked;
        notify(e instanceof Error ? e.message : String(e), 'error');
      }
    });
    const remove = h('button.danger', {
      onclick: async () => {
        if (!confirm(`Unload model ${m.name}? An uploaded model is deleted; one from a --models directory stays on disk but is no longer loaded.`)) return;
        try { await del(`/models/${encodeURIComponent(m.name)}`); notify(`Model ${m.name} unloaded.`); refresh(); } catch (e) { notify(e instanceof Error ? e.message : String(e), 'error'); }
      },
    }, 'Delete');
    return h('div.card.model', { dataset: { model: m.name, default: String(m.isDefault) } },
      h('h3', {}, h('a.model-link', { href: `#/models/${encodeURIComponent(m.name)}` }, m.name), m.isDefault ? h('span.badge.s-done', {}, 'default') : null),
      h('p.muted', {}, `${m.kind} · predicts ${m.target} · ${m.classes.length} classes · ${m.columns.length} columns · ${fmtBytes(m.sizeBytes)}`),
      m.metrics ? h('div.facts', {},
        ...[['accuracy', m.metrics.accuracy], ['balanced acc.', m.metrics.balancedAccuracy], ['macro F1', m.metrics.macroF1]]
          .filter(([, v]) => typeof v === 'number').map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, pct(/** @type {number} */ (v))))))
        : h('p.muted', {}, 'no evaluation stored with this model'),
      h('div.row.controls', {}, h('label.default-toggle', {}, box, ' default'), remove));
  }

  /** The upload form; a model it loads is a default only when "default" is ticked. */
  function uploadForm() {
    const file = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'model-file', required: true }));
    const name = /** @type {HTMLInputElement} */ (h('input', { id: 'model-name', placeholder: 'name (default: from the file)', pattern: '[A-Za-z0-9][A-Za-z0-9._-]*' }));
    const replace = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'model-replace' }));
    const isDefault = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'model-default' }));
    const status = h('div.status');
    const form = h('form.card', { id: 'model-upload' }, h('h2', {}, 'Upload a model'),
      h('div.row', {}, file, name, h('label', {}, replace, ' replace a model of the same name'),
        h('label', {}, isDefault, ' make it a default model'), h('button.primary', { type: 'submit' }, 'Upload')), status);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = file.files?.[0];
      if (!f) return;
      const fd = new FormData();
      if (name.value.trim()) fd.append('name', name.value.trim());
      if (replace.checked) fd.append('replace', 'true');
      fd.append('default', isDefault.checked ? 'true' : 'false');
      fd.append('file', f, f.name);
      try {
        const m = await upload('/models', fd, (x) => status.replaceChildren(progressBar(x)));
        notify(`Model ${m.name} loaded${m.isDefault ? ' as a default model' : ' (not a default: tick it to apply it to jobs that name no models)'}.`);
        location.hash = `#/models/${encodeURIComponent(m.name)}`;
      } catch (err) {
        status.replaceChildren(errorBox(err));
      }
    });
    return form;
  }

  await refresh();
}

/**
 * One model: classes, metrics, per-class scores, feature columns and importance (charts from the API).
 * @param {HTMLElement} root
 * @param {string} name
 */
export async function modelView(root, name) {
  root.append(h('p', {}, h('a', { href: '#/models' }, '← Models')));
  /** @type {ModelInfo} */
  let m;
  try {
    m = await get(`/models/${encodeURIComponent(name)}`);
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  /** @type {string[]} */
  const urls = [];
  /** @param {string} kind */
  const chart = (kind) => {
    const fig = h('figure', { dataset: { chart: kind } }, h('span.muted', {}, 'loading…'));
    blobUrl(`/models/${encodeURIComponent(name)}/charts/${kind}.svg`).then((u) => { urls.push(u); fig.replaceChildren(h('img', { src: u, alt: `${kind} of ${name}` })); },
      (e) => fig.replaceChildren(h('span.muted', {}, e instanceof Error ? e.message : String(e))));
    return fig;
  };
  const metrics = m.metrics;
  root.append(...[
    h('h1', {}, m.name),
    h('p.muted', {}, `${m.kind} · predicts ${m.target} · unknown below confidence ${m.threshold} · sha256 ${m.sha256.slice(0, 12)}…${m.trainedAt ? ` · trained ${new Date(m.trainedAt).toLocaleString()}` : ''}`),
    metrics ? h('div.facts', {}, ...[['accuracy', metrics.accuracy], ['balanced accuracy', metrics.balancedAccuracy], ['macro F1', metrics.macroF1], ['weighted F1', metrics.weightedF1]]
      .filter(([, v]) => typeof v === 'number').map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, pct(/** @type {number} */ (v))))),
      metrics.split ? h('div.fact', {}, h('span.k', {}, 'evaluated on'), h('span.v.small', {}, metrics.split)) : null) : null,
    h('section.chart-grid', {}, m.featureImportance.length ? chart('importance') : null, metrics?.perClass || metrics?.confusion ? chart('f1') : null, metrics?.confusion ? chart('confusion') : null),
    h('h2', {}, `Classes (${m.classes.length})`),
    h('p', {}, ...m.classes.map((c) => h('span.chip', {}, c))),
    metrics?.perClass ? h('table.data', {}, h('thead', {}, h('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...metrics.perClass.map((p) => h('tr', {}, h('td', {}, p.label), h('td.num', {}, pct(p.precision)), h('td.num', {}, pct(p.recall)), h('td.num', {}, pct(p.f1)), h('td.num', {}, p.support))))) : null,
    h('h2', {}, `Feature columns (${m.columns.length})`),
    h('details', {}, h('summary', {}, 'show'), h('p.mono', {}, m.columns.join(', '))),
  ].filter((x) => x !== null));
  return () => { for (const u of urls) URL.revokeObjectURL(u); };
}
