import { blobUrl, get, upload } from '../api.js';
import { h, errorBox, fmtBytes, pct, progressBar, notify } from '../ui.js';

/** Models page: each loaded model with its target, classes and headline metrics; an upload form. */
export async function modelsView(root) {
  const list = h('div.cards', { id: 'models-list' }, h('span.muted', {}, 'loading…'));
  root.append(h('h1', {}, 'Models'), list, uploadForm());
  try {
    const { models } = await get('/models');
    list.replaceChildren(...models.map((m) => h('a.card.model', { href: `#/models/${encodeURIComponent(m.name)}`, dataset: { model: m.name } },
      h('h3', {}, m.name, m.isDefault ? h('span.badge.s-done', {}, 'default') : null),
      h('p.muted', {}, `${m.kind} · predicts ${m.target} · ${m.classes.length} classes · ${m.columns.length} columns · ${fmtBytes(m.sizeBytes)}`),
      m.metrics ? h('div.facts', {},
        ...[['accuracy', m.metrics.accuracy], ['balanced acc.', m.metrics.balancedAccuracy], ['macro F1', m.metrics.macroF1]]
          .filter(([, v]) => typeof v === 'number').map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, pct(v)))))
        : h('p.muted', {}, 'no evaluation stored with this model'))));
    if (!models.length) list.replaceChildren(h('p.muted', {}, 'No model loaded. Start the server with --models DIR or upload a model trained with `veil train`.'));
  } catch (e) {
    list.replaceChildren(errorBox(e));
  }
}

function uploadForm() {
  const file = h('input', { type: 'file', id: 'model-file', required: true });
  const name = h('input', { id: 'model-name', placeholder: 'name (default: from the file)', pattern: '[A-Za-z0-9][A-Za-z0-9._-]*' });
  const replace = h('input', { type: 'checkbox', id: 'model-replace' });
  const status = h('div.status');
  const form = h('form.card', {}, h('h2', {}, 'Upload a model'),
    h('div.row', {}, file, name, h('label', {}, replace, ' replace a model of the same name'), h('button.primary', { type: 'submit' }, 'Upload')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files[0]) return;
    const fd = new FormData();
    if (name.value.trim()) fd.append('name', name.value.trim());
    if (replace.checked) fd.append('replace', 'true');
    fd.append('file', file.files[0], file.files[0].name);
    try {
      const m = await upload('/models', fd, (f) => status.replaceChildren(progressBar(f)));
      notify(`Model ${m.name} loaded.`);
      location.hash = `#/models/${encodeURIComponent(m.name)}`;
    } catch (err) {
      status.replaceChildren(errorBox(err));
    }
  });
  return form;
}

/** One model: classes, metrics, per-class scores, feature columns and importance (charts from the API). */
export async function modelView(root, name) {
  root.append(h('p', {}, h('a', { href: '#/models' }, '← Models')));
  let m;
  try {
    m = await get(`/models/${encodeURIComponent(name)}`);
  } catch (e) {
    root.append(errorBox(e));
    return;
  }
  const urls = [];
  const chart = (kind) => {
    const fig = h('figure', { dataset: { chart: kind } }, h('span.muted', {}, 'loading…'));
    blobUrl(`/models/${encodeURIComponent(name)}/charts/${kind}.svg`).then((u) => { urls.push(u); fig.replaceChildren(h('img', { src: u, alt: `${kind} of ${name}` })); },
      (e) => fig.replaceChildren(h('span.muted', {}, e.message)));
    return fig;
  };
  const metrics = m.metrics;
  root.append(...[
    h('h1', {}, m.name),
    h('p.muted', {}, `${m.kind} · predicts ${m.target} · unknown below confidence ${m.threshold} · sha256 ${m.sha256.slice(0, 12)}…${m.trainedAt ? ` · trained ${new Date(m.trainedAt).toLocaleString()}` : ''}`),
    metrics ? h('div.facts', {}, ...[['accuracy', metrics.accuracy], ['balanced accuracy', metrics.balancedAccuracy], ['macro F1', metrics.macroF1], ['weighted F1', metrics.weightedF1]]
      .filter(([, v]) => typeof v === 'number').map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, pct(v)))),
      metrics.split ? h('div.fact', {}, h('span.k', {}, 'evaluated on'), h('span.v.small', {}, metrics.split)) : null) : null,
    h('section.chart-grid', {}, m.featureImportance.length ? chart('importance') : null, metrics?.perClass || metrics?.confusion ? chart('f1') : null, metrics?.confusion ? chart('confusion') : null),
    h('h2', {}, `Classes (${m.classes.length})`),
    h('p', {}, ...m.classes.map((c) => h('span.chip', {}, c))),
    metrics?.perClass ? h('table.data', {}, h('thead', {}, h('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...metrics.perClass.map((p) => h('tr', {}, h('td', {}, p.label), h('td.num', {}, pct(p.precision)), h('td.num', {}, pct(p.recall)), h('td.num', {}, pct(p.f1)), h('td.num', {}, p.support))))) : null,
    h('h2', {}, `Feature columns (${m.columns.length})`),
    h('details', {}, h('summary', {}, 'show'), h('p.mono', {}, m.columns.join(', '))),
  ].filter(Boolean));
  return () => { for (const u of urls) URL.revokeObjectURL(u); };
}
