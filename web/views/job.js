import { blobUrl, del, download, get } from '../api.js';
import { h, badge, errorBox, fmtBytes, fmtDuration, fmtTime, pct, progressBar, notify } from '../ui.js';

const PAGE = 100;

/** One job: live status until it is final, then summary, charts and the sortable, filterable results table. */
export async function jobView(root, id) {
  const head = h('div.job-head');
  const main = h('div');
  root.append(h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')), head, main);
  let timer = null, stopped = false, shownFinal = false;
  const urls = [];

  async function poll() {
    let job;
    try {
      job = await get(`/jobs/${id}`);
    } catch (e) {
      head.replaceChildren(errorBox(e));
      return;
    }
    head.replaceChildren(...[
      h('h1', {}, 'Job ', h('code', {}, job.id), ' ', badge(job.state)),
      h('p.muted', {}, `${job.inputName} — ${job.inputKind.kind} (${job.inputKind.format}${job.inputKind.gzip ? ', gzip' : ''}), ${fmtBytes(job.inputBytes)}, created ${fmtTime(job.createdAt)}`
        + (job.models.length ? `, models: ${job.models.join(', ')}` : ', no model (flows only)')
        + (job.labelColumn ? `, labels from '${job.labelColumn}'` : '')),
      job.state === 'queued' || job.state === 'running'
        ? h('div', { id: 'job-progress' }, progressBar(job.progress, `${job.state} ${Math.round(job.progress * 100)}%${job.attempts > 1 ? ` (attempt ${job.attempts})` : ''}`),
          h('button.link', { onclick: async () => { await del(`/jobs/${id}`); notify('Job cancelled.'); location.hash = '#/jobs'; } }, 'cancel'))
        : null,
      job.error ? errorBox(job.error) : null,
    ].filter(Boolean));
    if (job.state === 'done' && !shownFinal) {
      shownFinal = true;
      await showResults(job);
    }
    if (!stopped && (job.state === 'queued' || job.state === 'running')) timer = setTimeout(poll, 700);
  }

  async function showResults(job) {
    const s = job.summary;
    const facts = [
      ['Flows', s.rows.toLocaleString()],
      ...(s.packets !== undefined ? [['Packets', s.packets.toLocaleString()]] : []),
      ['Time', fmtDuration(s.durationMs)],
      ...s.models.map((m) => [`${m.name}: unknown`, `${m.unknown.toLocaleString()} (${s.rows ? pct(m.unknown / s.rows) : '0%'})`]),
    ];
    const summary = h('div.facts', {}, ...facts.map(([k, v]) => h('div.fact', {}, h('span.k', {}, k), h('span.v', {}, v))));
    const warn = s.warnings.length ? h('ul.warnings', {}, ...s.warnings.map((w) => h('li', {}, w))) : null;
    const downloads = h('div.row', {},
      h('button', { id: 'download-csv', onclick: () => download(`/jobs/${id}/results.csv`, `${id}-results.csv`).catch((e) => notify(e.message, 'error')) }, 'Download CSV'),
      h('button', { id: 'download-parquet', onclick: () => download(`/jobs/${id}/results.parquet`, `${id}-results.parquet`).catch((e) => notify(e.message, 'error')) }, 'Download Parquet'));
    main.replaceChildren(...[summary, warn, downloads].filter(Boolean));
    if (s.traffic) main.append(await trafficCharts());
    if (s.models.length) main.append(await charts(job));
    main.append(resultsTable(job));
  }

  /** Traffic by the verdict's application and category, in flows and in bytes. */
  /** Fills `panel` with one figure per chart (kind, API path, alt text), each loading on its own. */
  async function figures(panel, charts) {
    panel.replaceChildren(...charts.map(([k]) => h('figure', { dataset: { chart: k } }, h('span.muted', {}, 'loading…'))));
    await Promise.all(charts.map(async ([, src, alt], i) => {
      const fig = panel.children[i];
      try {
        const u = await blobUrl(src);
        urls.push(u);
        fig.replaceChildren(h('img', { src: u, alt }));
      } catch (e) {
        fig.replaceChildren(errorBox(e));
      }
    }));
  }

  async function trafficCharts() {
    const kinds = [['apps', 'application, flows'], ['apps-bytes', 'application, bytes'], ['categories', 'category, flows'], ['categories-bytes', 'category, bytes']];
    const panel = h('div.chart-grid');
    await figures(panel, kinds.map(([k, what]) => [k, `/jobs/${id}/charts/${k}.svg`, `traffic by ${what}`]));
    return h('section.charts', { id: 'traffic-charts' }, h('h2', {}, 'Traffic by application and category'), panel);
  }

  async function charts(job) {
    const box = h('section.charts', { id: 'charts' });
    const models = job.summary.models;
    const tabs = h('div.tabs');
    const panel = h('div.chart-grid');
    const show = async (m) => {
      for (const b of tabs.children) b.classList.toggle('active', b.dataset.model === m.name);
      const kinds = ['counts', 'confidence', ...(m.confusion ? ['confusion', 'f1'] : [])];
      await figures(panel, kinds.map((k) => [k, `/jobs/${id}/charts/${k}.svg?model=${encodeURIComponent(m.name)}`, `${k} chart for ${m.name}`]));
    };
    for (const m of models) tabs.append(h('button.tab', { dataset: { model: m.name }, onclick: () => show(m) }, m.name));
    box.append(...[h('h2', {}, 'Charts'), models.length > 1 ? tabs : null, panel].filter(Boolean));
    await show(models[0]);
    return box;
  }

  function resultsTable(job) {
    const state = { offset: 0, sort: '', desc: false, q: '', all: false };
    const thead = h('thead');
    const tbody = h('tbody');
    const info = h('span.muted', { id: 'results-info' });
    const prev = h('button', { id: 'prev-page', onclick: () => { state.offset = Math.max(0, state.offset - PAGE); load(); } }, '‹ Previous');
    const next = h('button', { id: 'next-page', onclick: () => { state.offset += PAGE; load(); } }, 'Next ›');
    let debounce = null;
    const filter = h('input', {
      id: 'results-filter', type: 'search', placeholder: 'Filter rows (any value: class, address, SNI …)', size: 40,
      oninput: () => { clearTimeout(debounce); debounce = setTimeout(() => { state.q = filter.value.trim(); state.offset = 0; load(); }, 250); },
    });
    const table = h('table.data.results', { id: 'results-table' }, thead, tbody);
    const allBox = h('input', { type: 'checkbox', id: 'all-columns', onchange: () => { state.all = allBox.checked; load(); } });
    const section = h('section', {}, h('h2', {}, 'Flows'),
      h('div.row', {}, filter, info, prev, next, h('label.muted', {}, allBox, ' all columns')), h('div.scroll', {}, table));
    let columns = [];
    let shown = [];

    function header() {
      thead.replaceChildren(h('tr', {}, ...shown.map((i) => columns[i]).map((c) => {
        const active = state.sort === c.name;
        const th = h('th', {
          dataset: { col: c.name },
          class: `sortable ${c.role}${active ? (state.desc ? ' desc' : ' asc') : ''}`,
          title: `Sort by ${c.name}`,
          'aria-sort': active ? (state.desc ? 'descending' : 'ascending') : 'none',
          onclick: () => {
            if (state.sort === c.name) state.desc = !state.desc;
            else { state.sort = c.name; state.desc = false; }
            state.offset = 0;
            load();
          },
        }, displayName(c));
        return th;
      })));
    }

    async function load() {
      let page;
      try {
        page = await get(`/jobs/${id}/results`, { offset: state.offset, limit: PAGE, sort: state.sort, desc: state.desc || '', q: state.q });
      } catch (e) {
        tbody.replaceChildren(h('tr', {}, h('td', {}, errorBox(e))));
        return;
      }
      columns = page.columns;
      shown = displayOrder(columns, state.all);
      header();
      const unknownIdx = new Map(columns.map((c, i) => [c.name, i]));
      tbody.replaceChildren(...page.rows.map((row) => h('tr', {}, ...shown.map((i) => {
        const v = row[i];
        const c = columns[i];
        let cls = c.type === 'string' ? '' : 'num';
        let text = v === null ? '' : v;
        if (VERDICT.includes(c.name) && (v === 'unknown' || v === 'none' || v === '')) {
          cls += ' unknown';
        } else if (c.name === 'category_confidence' && typeof v === 'number') {
          text = v.toFixed(2);
        } else if (c.role === 'prediction' && c.name.endsWith('.label')) {
          const u = unknownIdx.get(`${c.model}.unknown`);
          if (u !== undefined && row[u] === true) cls += ' unknown';
          cls += ' label';
        } else if (c.role === 'prediction' && c.name.endsWith('.confidence') && typeof v === 'number') {
          text = v.toFixed(3);
        } else if (c.type === 'bool') {
          text = v === true ? '✓' : '';
        } else if (c.name.endsWith('_ts') && typeof v === 'number') {
          text = new Date(v * 1000).toISOString().replace('T', ' ').replace('Z', '');
        }
        return h(`td${cls ? '.' + cls.trim().split(/\s+/).join('.') : ''}`, { title: v === null ? '' : String(v) }, text);
      }))));
      const end = Math.min(page.matched, state.offset + page.rows.length);
      info.textContent = page.matched === 0 ? 'no rows' : `rows ${state.offset + 1}–${end} of ${page.matched.toLocaleString()}${page.matched !== page.total ? ` (filtered from ${page.total.toLocaleString()})` : ''}`;
      prev.disabled = state.offset === 0;
      next.disabled = end >= page.matched;
    }
    load();
    return section;
  }

  await poll();
  return () => { stopped = true; clearTimeout(timer); for (const u of urls) URL.revokeObjectURL(u); };
}

/** Column indices to show: flow number, each model's answer and confidence, handshake, endpoints, time,
 * labels; the rest (unknown flags are shown as styling) only with "all columns". */
/** The verdict columns (names where visible, behaviour where hidden, unknown where unsure), shown first. */
const VERDICT = ['app', 'app_source', 'category', 'category_source', 'category_confidence'];

function displayOrder(columns, all) {
  const idx = (pred) => columns.map((c, i) => [c, i]).filter(([c]) => pred(c)).map(([, i]) => i);
  const first = [
    ...idx((c) => c.name === 'id_flow' || c.name === 'row'),
    ...VERDICT.map((n) => columns.findIndex((c) => c.name === n && c.role !== 'prediction')).filter((i) => i >= 0),
    ...idx((c) => c.role === 'prediction' && !c.name.endsWith('.unknown')),
    ...idx((c) => c.role === 'label'),
    ...['tls_sni', 'name_http_host', 'name_dns', 'tls_alpn_offered', 'tls_ja4', 'id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol', 'id_first_ts']
      .map((n) => columns.findIndex((c) => c.name === n)).filter((i) => i >= 0),
  ];
  const seen = new Set(first);
  const rest = columns.map((_, i) => i).filter((i) => !seen.has(i));
  if (all) return [...first, ...rest];
  // Other tools' tables have their own identity columns: keep those too.
  const known = /^(id_|tls_)/;
  return [...first, ...rest.filter((i) => columns[i].role === 'identity' && !known.test(columns[i].name) && columns[i].name !== 'row')];
}

function displayName(c) {
  if (c.role === 'prediction') {
    // The models' own answers beside the verdict, so disagreements show.
    if (c.name.endsWith('.label')) return `${c.model} (model)`;
    if (c.name.endsWith('.confidence')) return `${c.model} conf.`;
    if (c.name.endsWith('.unknown')) return `${c.model} unknown`;
    if (c.name.endsWith('.unknown_reason')) return `${c.model} why unknown`;
  }
  return c.name.replace(/^id_/, '');
}
