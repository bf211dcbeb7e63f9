// @ts-check
import { blobUrl, del, download, get } from '../api.js';
import { h, badge, errorBox, fmtBytes, fmtDuration, fmtTime, pct, progressBar, notify } from '../ui.js';
import { flowsSection } from './flows.js';

/**
 * @typedef {{ name: string, unknown: number, confusion?: unknown }} ModelSummary
 * @typedef {{ rows: number, packets?: number, bytes?: number, warnings: string[], models: ModelSummary[], durationMs: number,
 *   traffic?: { byApp: Record<string, { flows: number, bytes: number }> } }} JobSummary
 * @typedef {{ id: string, type?: 'classify' | 'train', train?: { name: string }, state: string, progress: number, attempts: number, createdAt: number, inputName: string,
 *   inputKind: { kind: string, format: string, gzip: boolean }, inputBytes: number, models: string[], labelColumn: string | null,
 *   error: { code: string, message: string } | null, summary: JobSummary | null }} Job
 */

/**
 * One job: live status until it is final, then summary, charts and the flows (table, grouping, detail). A failed job
 * shows its error and, when the server kept them, the flows it finished before the failure.
 * @param {HTMLElement} root
 * @param {string} id
 */
export async function jobView(root, id) {
  const head = h('div.job-head');
  const main = h('div');
  root.append(h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')), head, main);
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let stopped = false, shownFinal = false;
  /** @type {string[]} */
  const urls = [];

  async function poll() {
    /** @type {Job} */
    let job;
    try {
      job = await get(`/jobs/${id}`);
    } catch (e) {
      head.replaceChildren(errorBox(e));
      return;
    }
    // A training job is followed on the Train page (its progress, report and Activate button).
    if (job.type === 'train') { location.replace(`#/train/${id}`); return; }
    head.replaceChildren(...[
      h('h1', {}, 'Job ', h('code', {}, job.id), ' ', badge(job.state)),
      h('p.muted', {}, `${job.inputName} — ${job.inputKind.kind} (${job.inputKind.format}${job.inputKind.gzip ? ', gzip' : ''}), ${fmtBytes(job.inputBytes)}, created ${fmtTime(job.createdAt)}`
        + (job.models.length ? `, models: ${job.models.join(', ')}` : ', no model (flows and names only)')
        + (job.labelColumn ? `, labels from '${job.labelColumn}'` : '')),
      job.state === 'queued' || job.state === 'running'
        ? h('div', { id: 'job-progress' }, progressBar(job.progress, `${job.state} ${Math.round(job.progress * 100)}%${job.attempts > 1 ? ` (attempt ${job.attempts})` : ''}`),
          h('button.link', { onclick: async () => { await del(`/jobs/${id}`); notify('Job cancelled.'); location.hash = '#/jobs'; } }, 'cancel'))
        : null,
      job.error ? h('div', { id: 'job-error' }, errorBox(job.error)) : null,
    ].filter((x) => x !== null));
    if ((job.state === 'done' || job.state === 'failed') && !shownFinal) {
      shownFinal = true;
      await showResults(job);
    }
    if (!stopped && (job.state === 'queued' || job.state === 'running')) timer = setTimeout(poll, 700);
  }

  /** @param {Job} job */
  async function showResults(job) {
    const s = job.summary;
    if (job.state === 'failed') {
      // The flows before the failure, when the server kept them; otherwise the error says it all.
      /** @type {{ total: number } | null} */
      let kept = null;
      try { kept = await get(`/jobs/${id}/results`, { limit: 1 }); } catch { kept = null; }
      if (!kept || kept.total === 0) { main.replaceChildren(h('p.muted', { id: 'no-flows' }, 'No flows were kept from this job.')); return; }
      main.replaceChildren(h('p.partial', { id: 'partial-note' }, `The job failed; the ${kept.total.toLocaleString('en')} flows it finished before the failure are below.`));
    } else {
      main.replaceChildren();
    }
    if (s) {
      const bytes = s.bytes ?? (s.traffic ? Object.values(s.traffic.byApp).reduce((a, b) => a + b.bytes, 0) : undefined);
      const facts = [
        ['Flows', s.rows.toLocaleString('en')],
        ...(s.packets !== undefined ? [['Packets', s.packets.toLocaleString('en')]] : []),
        ...(bytes !== undefined && bytes > 0 ? [['Bytes', fmtBytes(bytes)]] : []),
        ['Processing time', fmtDuration(s.durationMs)],
        ...s.models.map((m) => [`${m.name}: unknown`, `${m.unknown.toLocaleString('en')} (${s.rows ? pct(m.unknown / s.rows) : '0%'})`]),
      ];
      main.append(h('div.facts', {}, ...facts.map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, v)))));
      if (s.warnings.length) main.append(h('ul.warnings', {}, ...s.warnings.map((w) => h('li', {}, w))));
    }
    main.append(h('div.row', {},
      h('button', { id: 'download-csv', onclick: () => download(`/jobs/${id}/results.csv`, `${id}-results.csv`).catch((e) => notify(e.message, 'error')) }, 'Download CSV'),
      h('button', { id: 'download-parquet', onclick: () => download(`/jobs/${id}/results.parquet`, `${id}-results.parquet`).catch((e) => notify(e.message, 'error')) }, 'Download Parquet')));
    // The flows first (what an analyst came for), the charts after them.
    main.append(flowsSection(id));
    if (s?.traffic) main.append(await trafficCharts());
    if (s?.models.length) main.append(await charts(s.models));
  }

  /**
   * Fills `panel` with one figure per chart (kind, API path, alt text), each loading on its own.
   * @param {HTMLElement} panel
   * @param {[string, string, string][]} list
   */
  async function figures(panel, list) {
    panel.replaceChildren(...list.map(([k]) => h('figure', { dataset: { chart: k } }, h('span.muted', {}, 'loading…'))));
    await Promise.all(list.map(async ([, src, alt], i) => {
      const fig = /** @type {HTMLElement} */ (panel.children[i]);
      try {
        const u = await blobUrl(src);
        urls.push(u);
        fig.replaceChildren(h('img', { src: u, alt }));
      } catch (e) {
        fig.replaceChildren(errorBox(e));
      }
    }));
  }

  /** Traffic by the verdict's application and category, in flows and in bytes. */
  async function trafficCharts() {
    const kinds = [['apps', 'application, flows'], ['apps-bytes', 'application, bytes'], ['categories', 'category, flows'], ['categories-bytes', 'category, bytes']];
    const panel = h('div.chart-grid');
    await figures(panel, kinds.map(([k, what]) => /** @type {[string, string, string]} */ ([k ?? '', `/jobs/${id}/charts/${k}.svg`, `traffic by ${what}`])));
    return h('section.charts', { id: 'traffic-charts' }, h('h2', {}, 'Traffic by application and category'), panel);
  }

  /** @param {ModelSummary[]} models */
  async function charts(models) {
    const box = h('section.charts', { id: 'charts' });
    const tabs = h('div.tabs');
    const panel = h('div.chart-grid');
    /** @param {ModelSummary} m */
    const show = async (m) => {
      for (const b of tabs.children) b.classList.toggle('active', /** @type {HTMLElement} */ (b).dataset.model === m.name);
      const kinds = ['counts', 'confidence', ...(m.confusion ? ['confusion', 'f1'] : [])];
      await figures(panel, kinds.map((k) => /** @type {[string, string, string]} */ ([k, `/jobs/${id}/charts/${k}.svg?model=${encodeURIComponent(m.name)}`, `${k} chart for ${m.name}`])));
    };
    for (const m of models) tabs.append(h('button.tab', { dataset: { model: m.name }, onclick: () => show(m) }, m.name));
    box.append(...[h('h2', {}, 'Charts'), models.length > 1 ? tabs : null, panel].filter((x) => x !== null));
    if (models[0]) await show(models[0]);
    return box;
  }

  await poll();
  return () => { stopped = true; clearTimeout(timer); for (const u of urls) URL.revokeObjectURL(u); };
}
