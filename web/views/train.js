// @ts-check
import { apiKey, apiUrl, blobUrl, del, get, openApi, post, upload } from '../api.js';
import { h, badge, errorBox, fmtBytes, fmtTime, pct, progressBar, notify } from '../ui.js';

/**
 * @typedef {{ accuracy: number, macroF1: number, balancedAccuracy: number }} Metrics
 * @typedef {{ name: string, version: number | null, sha256: string, classes: string[], rows: number, learner: string, split: string,
 *   metrics: Metrics | null, activated: boolean, counts?: Record<string, number> }} Training
 * @typedef {{ id: string, type?: string, state: string, progress: number, createdAt: number, inputName: string, inputBytes: number,
 *   train?: { name: string, label: string, learner: string, split: string, folds: number, inputs?: number },
 *   error: { code: string, message: string } | null, summary: { rows: number, training?: Training } | null }} TrainJob
 * @typedef {{ name: string, version: number, state: 'active' | 'inactive' | 'retired', sha256: string, sizeBytes: number,
 *   createdAt: number, createdBy: string | null, jobId: string | null,
 *   data: { inputs: { name: string, bytes: number }[], rows: number, classes: string[], label: string, learner: string, split: string },
 *   metrics: Metrics | null, activatedAt: number | null, retiredAt: number | null }} ModelVersion
 * @typedef {{ name: string, active: number | null, versions: ModelVersion[] }} VersionList
 * @typedef {{ label: string, precision: number, recall: number, f1: number, support: number }} PerClass
 */

const TABLE = /\.(csv|tsv|jsonl|ndjson|json|parquet|arff)(\.gz)?$/i;

/** What to do when a training fails, by its code (the server's message says what happened; this says what next). */
const ADVICE = /** @type {Record<string, string>} */ ({
  NO_LABELS: 'No flow was labelled. With names:app or names:category a flow needs a server name the service catalogue knows: '
    + 'add captures where the names show, label by file name (netflix-1.pcap -> netflix), or train on a flow table with a label column.',
  ONE_CLASS: 'Learning needs two classes or more: add captures of another application or category.',
  MISSING_COLUMNS: 'The table has no such label column: name the column that holds the labels.',
  BAD_CAPTURE: 'A capture could not be read: check the file named in the message.',
  BAD_TABLE: 'The flow table could not be read: check the file and place named in the message.',
});

/** @param {string} name @param {number} version */
const versionPath = (name, version) => `/models/${encodeURIComponent(name)}/versions/${version}`;

/**
 * A link to an API file that opens in a new tab; with an API key it is fetched with the key (a link cannot send it).
 * @param {string} path @param {string} text @param {string} id
 */
export function apiLink(path, text, id) {
  return h('a', {
    id, href: apiUrl(path), target: '_blank', rel: 'noopener',
    onclick: (/** @type {MouseEvent} */ e) => {
      if (!apiKey()) return;
      e.preventDefault();
      openApi(path).catch((err) => notify(err instanceof Error ? err.message : String(err), 'error'));
    },
  }, text);
}

/**
 * The Train page: captures or one flow table, the model's name, label source, learner and split; the job's
 * progress with a Cancel button; its failure with the code, message and advice; or its report (headline figures,
 * per-class table, the version's charts, links to the HTML and JSON reports) and an Activate button.
 * `#/train` shows the form, `#/train/JOBID` follows a training job (a reload keeps following it).
 * @param {HTMLElement} root
 * @param {string} [jobId]
 */
export async function trainView(root, jobId) {
  if (jobId) return followJob(root, jobId);
  root.append(h('h1', {}, 'Train a model'),
    h('p.muted', {}, 'Teach Veil your network: the flows of your captures are labelled by the names they show (or their file name), '
      + 'the model learns their behaviour only, and is evaluated on captures it was not trained on. Each training of a name makes a new version.'),
    trainForm());
}

function trainForm() {
  const files = /** @type {HTMLInputElement} */ (h('input', { type: 'file', id: 'train-files', multiple: true, required: true,
    accept: '.pcap,.pcapng,.cap,.gz,.csv,.jsonl,.parquet,.arff', onchange: () => chose() }));
  const chosen = h('p.muted', { id: 'train-files-info' }, 'No file chosen.');
  const name = /** @type {HTMLInputElement} */ (h('input', { id: 'train-name', required: true, maxlength: 64, pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]*', placeholder: 'e.g. apps', size: 20 }));
  const label = /** @type {HTMLSelectElement} */ (h('select', { id: 'train-label', onchange: () => { columnRow.hidden = label.value !== 'column'; } },
    h('option', { value: 'names:app' }, 'application its names show (names:app)'),
    h('option', { value: 'names:category' }, 'category its names show (names:category)'),
    h('option', { value: 'file' }, 'the capture\'s file name (file)'),
    h('option', { value: 'column' }, 'a column of the flow table')));
  const column = /** @type {HTMLInputElement} */ (h('input', { id: 'train-column', value: 'label', size: 16 }));
  const columnRow = h('label', { hidden: true }, 'Label column ', column);
  const learner = /** @type {HTMLSelectElement} */ (h('select', { id: 'train-learner' },
    h('option', { value: 'auto' }, 'auto (boosting up to 20 classes, forest above)'), h('option', { value: 'boosting' }, 'boosting'), h('option', { value: 'forest' }, 'forest')));
  const split = /** @type {HTMLSelectElement} */ (h('select', { id: 'train-split' },
    h('option', { value: 'group' }, 'group by capture'), h('option', { value: 'kfold' }, 'k-fold (shuffled)')));
  const folds = /** @type {HTMLInputElement} */ (h('input', { id: 'train-folds', type: 'number', min: 2, max: 10, value: 5, size: 4 }));
  const activate = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'train-activate' }));
  const status = h('div.status', { id: 'train-status' });
  const submit = /** @type {HTMLButtonElement} */ (h('button.primary', { type: 'submit', id: 'train-submit' }, 'Train'));

  function chose() {
    const list = [...(files.files ?? [])];
    if (!list.length) { chosen.textContent = 'No file chosen.'; return; }
    const total = list.reduce((a, f) => a + f.size, 0);
    chosen.textContent = `${list.length} file${list.length > 1 ? 's' : ''}, ${fmtBytes(total)}: ${list.map((f) => f.name).join(', ')}`;
    // One flow table: its labels are a column; captures: their names.
    const table = list.length === 1 && list[0] && TABLE.test(list[0].name);
    if (table && label.value !== 'column') label.value = 'column';
    if (!table && label.value === 'column') label.value = 'names:app';
    columnRow.hidden = label.value !== 'column';
    if (!name.value && list[0]) name.value = list[0].name.replace(/\.[^.]*(\.gz)?$/i, '').replace(/[-_]?\d+$/, '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  }

  const form = h('form.card.train', { id: 'train-form' },
    h('div.row', {}, h('label', {}, 'Captures or a flow table ', files), h('span.muted', {}, 'pcap, pcapng (gzip allowed), or one CSV, JSONL, Parquet or ARFF table; or drop them here')), chosen,
    h('div.row', {}, h('label', {}, 'Model name ', name),
      h('label', {}, 'Label source ', label), columnRow),
    h('div.row', {}, h('label', {}, 'Learner ', learner), h('label', {}, 'Split ', split), h('label', {}, 'Folds ', folds)),
    h('div.row', {}, h('label', {}, activate, ' activate it when training succeeds (new uploads then use it)')),
    h('div.row', {}, submit), status);

  // Files dropped anywhere on the form are the ones trained on.
  form.addEventListener('dragover', (e) => { e.preventDefault(); form.classList.add('over'); });
  form.addEventListener('dragleave', () => form.classList.remove('over'));
  form.addEventListener('drop', (e) => {
    e.preventDefault();
    form.classList.remove('over');
    if (e.dataTransfer?.files?.length) { files.files = e.dataTransfer.files; chose(); }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const list = [...(files.files ?? [])];
    if (!list.length) { status.replaceChildren(errorBox({ code: 'NO_FILE', message: 'Choose one or more captures, or one flow table.' })); return; }
    const fd = new FormData();
    fd.append('name', name.value.trim());
    fd.append('label', label.value === 'column' ? `column:${column.value.trim() || 'label'}` : label.value);
    fd.append('learner', learner.value);
    fd.append('split', split.value);
    fd.append('folds', String(folds.value || 5));
    if (activate.checked) fd.append('activate', 'true');
    for (const f of list) fd.append('file', f, f.name);
    submit.disabled = true;
    status.replaceChildren(progressBar(0, 'uploading…'));
    try {
      /** @type {TrainJob} */
      const job = await upload('/models/train', fd, (x) => status.replaceChildren(progressBar(x, `uploading… ${Math.round(x * 100)}%`)));
      location.hash = `#/train/${job.id}`;
    } catch (err) {
      status.replaceChildren(failure(err));
      submit.disabled = false;
    }
  });
  return form;
}

/** @param {any} err `{ code, message }` */
function failure(err) {
  const advice = err && typeof err.code === 'string' ? ADVICE[err.code] : undefined;
  return h('div', { id: 'train-error' }, errorBox(err), advice ? h('p.advice', { id: 'train-advice' }, advice) : null);
}

/**
 * Follows one training job: progress and Cancel while it runs, then its failure or its report.
 * @param {HTMLElement} root
 * @param {string} id
 */
async function followJob(root, id) {
  const head = h('div.job-head');
  const main = h('div', { id: 'train-result' });
  root.append(h('p', {}, h('a', { href: '#/train' }, '← New training'), ' · ', h('a', { href: '#/models' }, 'Models')), head, main);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false, shown = false;
  /** @type {string[]} */
  const urls = [];

  async function poll() {
    /** @type {TrainJob} */
    let job;
    try {
      job = await get(`/jobs/${id}`);
    } catch (e) {
      head.replaceChildren(errorBox(e));
      return;
    }
    const t = job.train;
    head.replaceChildren(...[
      h('h1', {}, 'Training ', t ? h('code', {}, t.name) : null, ' ', badge(job.state)),
      h('p.muted', {}, `job ${job.id}${job.inputName ? ` · ${job.inputName}` : ''}${typeof job.inputBytes === 'number' ? ` (${fmtBytes(job.inputBytes)})` : ''} · created ${fmtTime(job.createdAt)}`
        + (t?.inputs ? ` · ${t.inputs} file${t.inputs > 1 ? 's' : ''}` : '')
        + (t ? ` · labels ${t.label} · learner ${t.learner} · split ${t.split}, ${t.folds} folds` : '')),
      job.state === 'queued' || job.state === 'running'
        ? h('div.row', { id: 'train-progress' }, progressBar(job.progress, `${job.state} ${Math.round(job.progress * 100)}%`),
          h('button', { id: 'train-cancel', onclick: cancel }, 'Cancel'))
        : null,
    ].filter((x) => x !== null));
    if (job.state === 'failed' && !shown) { shown = true; main.replaceChildren(failure(job.error ?? { code: 'FAILED', message: 'the training failed' })); }
    if (job.state === 'cancelled' && !shown) { shown = true; main.replaceChildren(h('p.muted', {}, 'Cancelled: no version was made.')); }
    if (job.state === 'done' && !shown) { shown = true; await report(job); }
    if (!stopped && (job.state === 'queued' || job.state === 'running')) timer = setTimeout(poll, 1000);
  }

  async function cancel() {
    stopped = true;
    clearTimeout(timer);
    try {
      await del(`/jobs/${id}`);
      head.replaceChildren(h('h1', {}, 'Training ', badge('cancelled')));
      main.replaceChildren(h('p', { id: 'train-cancelled' }, 'Cancelled: the job was stopped and deleted; no version was made. ', h('a', { href: '#/train' }, 'Train again')));
      notify('Training cancelled.');
    } catch (e) {
      notify(e instanceof Error ? e.message : String(e), 'error');
    }
  }

  /** @param {TrainJob} job */
  async function report(job) {
    const t = job.summary?.training;
    if (!t || t.version === null) { main.replaceChildren(errorBox({ code: 'NO_VERSION', message: 'the job is done but its record names no registered version' })); return; }
    const path = versionPath(t.name, t.version);
    /** @type {{ perClass?: PerClass[], balancedAccuracy?: number, split?: { kind?: string } } | null} */
    let evaluation = null;
    /** @type {VersionList | null} */
    let versions = null;
    const [ev, vs] = await Promise.allSettled([get(`${path}/report.json`), get(`/models/${encodeURIComponent(t.name)}/versions`)]);
    if (ev.status === 'fulfilled') evaluation = ev.value;
    if (vs.status === 'fulfilled') versions = vs.value;
    const m = t.metrics;
    const facts = [
      ['Version', String(t.version)],
      ...(m ? [['Accuracy', pct(m.accuracy)], ['Macro-F1', pct(m.macroF1)], ['Balanced accuracy', pct(m.balancedAccuracy)]] : []),
      ['Rows', t.rows.toLocaleString('en')],
      ['Classes', String(t.classes.length)],
      ['Learner', t.learner],
      ['Split', t.split],
    ];
    const chart = (/** @type {string} */ kind, /** @type {string} */ alt) => {
      const fig = h('figure', { dataset: { chart: kind } }, h('span.muted', {}, 'loading…'));
      blobUrl(`${path}/charts/${kind}.svg`).then((u) => { urls.push(u); fig.replaceChildren(h('img', { src: u, alt })); },
        (e) => fig.replaceChildren(errorBox(e)));
      return fig;
    };
    const perClass = evaluation?.perClass;
    const activation = h('div', { id: 'train-activation' });
    main.replaceChildren(...[
      h('section', { id: 'train-report' },
        h('h2', {}, `Report: ${t.name} version ${t.version}`),
        m ? null : h('p.muted', {}, 'No grouped evaluation: too few captures to hold some out.'),
        h('div.facts', { id: 'train-facts' }, ...facts.map(([k, v]) => h('div.fact', { dataset: { fact: k } }, h('span.k', {}, k), h(k === 'Split' ? 'span.v.small' : 'span.v', {}, v)))),
        h('p', { id: 'train-classes' }, ...t.classes.map((c) => h('span.chip', {}, c))),
        perClass ? h('table.data', { id: 'train-per-class', 'aria-label': 'Scores per class' },
          h('thead', {}, h('tr', {}, ...['class', 'precision', 'recall', 'F1', 'support'].map((x) => h('th', { scope: 'col' }, x)))),
          h('tbody', {}, ...perClass.map((p) => h('tr', { dataset: { label: p.label } }, h('td', {}, p.label),
            h('td.num', {}, pct(p.precision)), h('td.num', {}, pct(p.recall)), h('td.num', {}, pct(p.f1)), h('td.num', {}, p.support)))))
          : h('p.muted', {}, ev.status === 'rejected' ? `No per-class scores: ${ev.reason instanceof Error ? ev.reason.message : String(ev.reason)}` : 'No per-class scores.'),
        h('p.row', {}, apiLink(`${path}/report`, 'HTML report', 'train-report-html'), apiLink(`${path}/report.json`, 'JSON', 'train-report-json'),
          h('span.muted', {}, `sha256 ${t.sha256.slice(0, 12)}…`)),
        activation,
        m ? h('section.chart-grid', { id: 'train-charts' }, chart('f1', `F1 per class of ${t.name} v${t.version}`),
          chart('confusion', `confusion matrix of ${t.name} v${t.version}`), chart('importance', `feature importance of ${t.name} v${t.version}`)) : null),
    ].filter((x) => x !== null));
    showActivation(activation, { ...t, version: t.version }, versions);
  }

  await poll();
  return () => { stopped = true; clearTimeout(timer); for (const u of urls) URL.revokeObjectURL(u); };
}

/**
 * The Activate button, or, once the version is active, what that means and where to go next.
 * @param {HTMLElement} box
 * @param {Training & { version: number }} t
 * @param {VersionList | null} versions
 */
function showActivation(box, t, versions) {
  const v = versions?.versions.find((x) => x.version === t.version);
  const state = v?.state ?? (t.activated ? 'active' : 'inactive');
  if (state === 'active') {
    box.replaceChildren(h('p.ok', { id: 'train-active', role: 'status' }, `${t.name} version ${t.version} is active: new uploads that name no models use it. `,
      h('a', { href: '#/' }, 'Upload a capture'), ' · ', h('a', { href: '#/models' }, 'see its versions')));
    return;
  }
  if (state === 'retired') { box.replaceChildren(h('p.muted', {}, `${t.name} version ${t.version} is retired.`)); return; }
  const active = versions?.active;
  const button = /** @type {HTMLButtonElement} */ (h('button.primary', {
    id: 'train-activate-button',
    onclick: async () => {
      button.disabled = true;
      try {
        /** @type {VersionList} */
        const got = await post(`${versionPath(t.name, t.version)}/activate`);
        notify(`${t.name} version ${t.version} is active.`);
        showActivation(box, t, got);
      } catch (e) {
        button.disabled = false;
        box.append(errorBox(e));
      }
    },
  }, 'Activate'));
  box.replaceChildren(h('div.row', {}, button, h('span.muted', {},
    active ? `Version ${active} of ${t.name} is active now; activating ${t.version} replaces it.` : `Make ${t.name} version ${t.version} the model new uploads get.`)));
}
