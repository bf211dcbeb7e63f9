/**
 * The self-contained HTML report: inline CSS, inline SVG, one small inline script for table sorting, no external
 * URL. Every string that comes from the result passes through `escapeHtml`.
 */
import type { EvaluationResult, SplitDescription } from '../model/evaluation.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}
const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export interface HtmlChart {
  name: string;
  title: string;
  svg: string;
}

export interface HtmlOptions {
  /** Other results to compare with, shown in a table after the headline metrics (this result first). */
  compareWith?: EvaluationResult[];
  /** Notes shown under the title (e.g. PNGs skipped for lack of fonts). */
  notes?: string[];
}

const LEAKY_WARNING = 'Rows of one capture are near-duplicates; a shuffled split overstates accuracy.';

/** Data that comes as flows cut from a few long captures (ISCX VPN/Tor, CIC-IDS and similar), by its source name. */
export function isCaptureDerived(data: EvaluationResult['data']): boolean {
  return /iscx|cic[-_ ]?ids|cicids|vpn[-_ ]?non[-_ ]?vpn|tor[-_ ]?non[-_ ]?tor|unb|\.pcap(ng)?\b/i.test(data.source);
}

/**
 * True when the split mixes rows of one capture between training and test: a shuffled k-fold or hold-out on
 * capture-derived data, with no grouping.
 */
export function splitOverstates(result: Pick<EvaluationResult, 'split' | 'data'>): boolean {
  const s = result.split;
  return (s.kind === 'kfold' || s.kind === 'holdout') && s.shuffled && isCaptureDerived(result.data);
}

function pct(x: number | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–';
}

function num(x: number | undefined, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function int(x: number | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}

function splitDetails(s: SplitDescription): string {
  const parts = [`kind ${s.kind}`];
  if (s.folds !== undefined) parts.push(`${s.folds} folds`);
  if (s.testShare !== undefined) parts.push(`test share ${pct(s.testShare)}`);
  if (s.groupBy !== undefined) parts.push(`grouped by ${s.groupBy}`);
  parts.push(s.shuffled ? 'shuffled' : 'not shuffled');
  parts.push(`seed ${s.seed}`);
  return parts.join(', ');
}

function topKEntries(topK: Record<string, number>): [string, number][] {
  return Object.entries(topK).sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0]));
}

function evaluatedRows(r: EvaluationResult): number {
  return r.confusion.reduce((a, row) => a + row.reduce((b, v) => b + (Number.isFinite(v) ? v : 0), 0), 0);
}

/** A compact comparison table of several results (e.g. shuffled k-fold vs blocked split of one model). */
export function renderComparison(results: EvaluationResult[]): string {
  if (results.length === 0) return '';
  const first = results[0]!;
  const ks = [...new Set(results.flatMap((r) => topKEntries(r.topK).map(([k]) => k)))]
    .sort((a, b) => Number(a) - Number(b))
    .filter((k) => k !== '1');
  const metric = (name: string, get: (r: EvaluationResult) => number | undefined): string => {
    const base = get(first);
    const cells = results.map((r, i) => {
      const v = get(r);
      const d =
        i > 0 && typeof v === 'number' && typeof base === 'number' && Number.isFinite(v) && Number.isFinite(base)
          ? ` <span class="delta ${v - base < 0 ? 'neg' : 'pos'}">${v - base >= 0 ? '+' : '−'}${(100 * Math.abs(v - base)).toFixed(1)}</span>`
          : '';
      return `<td class="num">${pct(v)}${d}</td>`;
    });
    return `<tr><th scope="row">${escapeHtml(name)}</th>${cells.join('')}</tr>`;
  };
  const head = results
    .map(
      (r) =>
        `<th scope="col">${escapeHtml(r.model.name)}<div class="sub">${escapeHtml(r.split.description)}</div>` +
        (splitOverstates(r) ? '<div class="sub warn-text">shuffled split: optimistic</div>' : '') +
        '</th>',
    )
    .join('');
  const rows = [
    metric('accuracy', (r) => r.accuracy),
    metric('balanced accuracy', (r) => r.balancedAccuracy),
    metric('macro-F1', (r) => r.macro.f1),
    metric('weighted-F1', (r) => r.weighted.f1),
    ...ks.map((k) => metric(`top-${k}`, (r) => r.topK[k])),
    `<tr><th scope="row">rows</th>${results.map((r) => `<td class="num">${int(r.data.rows)}</td>`).join('')}</tr>`,
    `<tr><th scope="row">data</th>${results.map((r) => `<td>${escapeHtml(r.data.source)}</td>`).join('')}</tr>`,
  ];
  return (
    '<table class="compare"><thead><tr><th></th>' +
    head +
    '</tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table><p class="sub">Differences are in percentage points against the first column.</p>'
  );
}

const CSS = `
:root{--fg:#222;--muted:#666;--line:#ddd;--accent:#3b6fb6;--warn-bg:#fff4e5;--warn:#b35c00}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans","DejaVu Sans",sans-serif;color:var(--fg);margin:0;background:#fafafa;line-height:1.45}
main{max-width:1100px;margin:0 auto;padding:24px 20px 60px;background:#fff}
h1{font-size:1.6rem;margin:0 0 4px}
h2{font-size:1.2rem;margin:32px 0 10px;border-bottom:1px solid var(--line);padding-bottom:4px}
.sub{color:var(--muted);font-size:.85rem;font-weight:normal}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.warn{background:var(--warn-bg);border-left:4px solid var(--warn);padding:10px 14px;margin:12px 0;border-radius:3px}
.warn strong{color:var(--warn)}
.warn-text{color:var(--warn)}
.note{background:#eef3fa;border-left:4px solid var(--accent);padding:8px 14px;margin:8px 0}
.metrics{display:flex;flex-wrap:wrap;gap:12px}
.metric{border:1px solid var(--line);border-radius:6px;padding:10px 14px;min-width:140px}
.metric .v{font-size:1.5rem;font-weight:600}
.metric .k{color:var(--muted);font-size:.85rem}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:4px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.sortable th{cursor:pointer;user-select:none;white-space:nowrap}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
td.label{overflow-wrap:anywhere;max-width:360px}
.bad{color:#c8553d}.fair{color:#a87500}.good{color:#2e7d4a}
.delta{font-size:.8rem}.delta.neg{color:#c8553d}.delta.pos{color:#2e7d4a}
figure{margin:16px 0 28px}
figure svg{max-width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{color:var(--muted);font-size:.85rem;margin-top:4px}
footer{margin-top:40px;color:var(--muted);font-size:.8rem}
`;

/** Sorts a table.sortable by the clicked column; numeric cells sort by their data-v value. */
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var desc=th.getAttribute('aria-sort')!=='descending';
      t.querySelectorAll('th').forEach(function(h){h.removeAttribute('aria-sort')});
      th.setAttribute('aria-sort',desc?'descending':'ascending');
      var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){
        var x=a.cells[i],y=b.cells[i];var vx=x.getAttribute('data-v'),vy=y.getAttribute('data-v');
        var c=(vx!==null&&vy!==null)?(Number(vx)-Number(vy)):x.textContent.localeCompare(y.textContent);
        return desc?-c:c;
      });
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
`;

function perClassTable(r: EvaluationResult): string {
  const n = r.classes.length;
  const unknownByLabel = new Map<string, number>();
  r.confusion.forEach((row, i) => {
    if (row.length === n + 1) unknownByLabel.set(r.classes[i] ?? '', row[n] ?? 0);
  });
  const hasUnknownCol = unknownByLabel.size > 0;
  const cls = (f1: number): string => (!Number.isFinite(f1) ? '' : f1 >= 0.9 ? 'good' : f1 >= 0.7 ? 'fair' : 'bad');
  const numCell = (v: number | undefined, text: string, extra = ''): string =>
    `<td class="num${extra ? ` ${extra}` : ''}" data-v="${typeof v === 'number' && Number.isFinite(v) ? v : -1}">${text}</td>`;
  const rows = r.perClass.map(
    (c) =>
      `<tr><td class="label">${escapeHtml(c.label)}</td>` +
      numCell(c.precision, num(c.precision)) +
      numCell(c.recall, num(c.recall)) +
      numCell(c.f1, num(c.f1), cls(c.f1)) +
      numCell(c.support, int(c.support)) +
      (hasUnknownCol ? numCell(unknownByLabel.get(c.label), int(unknownByLabel.get(c.label) ?? 0)) : '') +
      '</tr>',
  );
  return (
    '<table class="sortable perclass"><thead><tr><th scope="col">class</th><th scope="col" class="num">precision</th>' +
    '<th scope="col" class="num">recall</th><th scope="col" class="num">F1</th><th scope="col" class="num">support</th>' +
    (hasUnknownCol ? '<th scope="col" class="num">unknown</th>' : '') +
    `</tr></thead><tbody>${rows.join('')}</tbody></table><p class="sub">Click a column header to sort.</p>`
  );
}

/** Why rows were answered unknown: the reasons counted, or the confidence threshold alone (older results). */
function unknownWhy(r: EvaluationResult): string {
  const rs = r.unknown.reasons;
  const thr = `the confidence threshold is ${num(r.unknown.threshold, 2)}`;
  if (!rs) return `: the top class's confidence was below the threshold ${num(r.unknown.threshold, 2)}`;
  const parts = Object.entries(rs).filter(([k, v]) => k !== 'answered' && v > 0).map(([k, v]) => `${int(v)} ${escapeHtml(k)}`);
  return ` (${parts.length ? parts.join(', ') : 'none'}; ${thr})`;
}

/** A few points of the risk-coverage curve and where the unknown rule answers. */
function riskCoverageTable(r: EvaluationResult): string {
  const rc = r.riskCoverage;
  if (!rc || !rc.coverage.length) return '';
  const rows: string[] = [];
  for (const want of [0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 1]) {
    const j = rc.coverage.findIndex((c) => c >= want - 1e-9);
    if (j < 0) continue;
    rows.push(`<tr><td class="num">${pct(rc.coverage[j]!)}</td><td class="num">${pct(rc.accuracy[j]!)}</td><td class="num">${num(rc.threshold[j]!, 3)}</td></tr>`);
  }
  return `<p>Risk-coverage (chart below): answering only the rows whose confidence reaches a threshold, the share answered
against the accuracy of those rows. The model's unknown rule answers ${pct(rc.answered.coverage)} of the rows at
${pct(rc.answered.accuracy)} accuracy.</p>
<table><thead><tr><th scope="col" class="num">answered</th><th scope="col" class="num">accuracy of answered</th><th scope="col" class="num">confidence at least</th></tr></thead>
<tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The whole report page.
 * @example renderHtml(result, reportCharts(result).map(({ name, spec }) => ({ name, title: spec.title, svg: renderSvg(spec) })))
 */
export function renderHtml(r: EvaluationResult, charts: HtmlChart[], opts: HtmlOptions = {}): string {
  const title = `Evaluation: ${r.model.name}`;
  const evaluated = evaluatedRows(r);
  const unknownShare = evaluated > 0 ? r.unknown.count / evaluated : NaN;
  const metrics: [string, string][] = [
    ['accuracy', pct(r.accuracy)],
    ['balanced accuracy', pct(r.balancedAccuracy)],
    ['macro-F1', pct(r.macro.f1)],
    ['weighted-F1', pct(r.weighted.f1)],
    ...topKEntries(r.topK)
      .filter(([k]) => k !== '1')
      .map(([k, v]): [string, string] => [`top-${k}`, pct(v)]),
  ];
  const warn = splitOverstates(r)
    ? `<div class="warn" role="alert"><strong>Warning:</strong> ${escapeHtml(LEAKY_WARNING)} ` +
      'Expect lower scores on new captures; use a blocked or grouped split (by capture file) for an honest estimate.</div>'
    : '';
  const timings = [
    r.timings.fitSeconds !== undefined ? `fit ${num(r.timings.fitSeconds, 1)} s` : '',
    `predict ${num(r.timings.predictSeconds, 2)} s`,
    `${int(r.timings.rowsPerSecond)} rows/s`,
  ]
    .filter(Boolean)
    .join(', ');
  const figures = charts
    .map(
      (c) =>
        `<figure id="chart-${escapeHtml(c.name)}">${c.svg}<figcaption>${escapeHtml(c.title)} ` +
        `(charts/${escapeHtml(c.name)}.svg)</figcaption></figure>`,
    )
    .join('\n');
  const compare =
    opts.compareWith && opts.compareWith.length > 0
      ? `<h2>Comparison</h2>${renderComparison([r, ...opts.compareWith])}`
      : '';
  const notes = (opts.notes ?? []).map((n) => `<div class="note">${escapeHtml(n)}</div>`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<div class="sub">Created ${escapeHtml(r.createdAt)}</div>
${notes}
<h2>Model and data</h2>
<dl class="facts">
<dt>model</dt><dd>${escapeHtml(r.model.name)} <span class="sub">(${escapeHtml(r.model.kind)}${r.model.path ? `, ${escapeHtml(r.model.path)}` : ''})</span></dd>
<dt>data</dt><dd>${escapeHtml(r.data.source)}</dd>
<dt>rows</dt><dd>${int(r.data.rows)} <span class="sub">(label column ${escapeHtml(r.data.label)}, ${r.classes.length} classes)</span></dd>
<dt>split</dt><dd>${escapeHtml(r.split.description)} <span class="sub">(${escapeHtml(splitDetails(r.split))})</span></dd>
<dt>timings</dt><dd>${escapeHtml(timings)}</dd>
</dl>
${warn}
<h2>Headline metrics</h2>
<div class="metrics">
${metrics.map(([k, v]) => `<div class="metric"><div class="v">${v}</div><div class="k">${escapeHtml(k)}</div></div>`).join('\n')}
</div>
<h2>Unknown answers</h2>
<p>${int(r.unknown.count)} of ${int(evaluated)} rows (${pct(unknownShare)}) were answered <em>unknown</em>${unknownWhy(r)}. They
appear in the confusion matrix's last column.</p>
${riskCoverageTable(r)}
${compare}
<h2>Per class</h2>
${perClassTable(r)}
<h2>Charts</h2>
${figures}
<footer>Veil evaluation report, format ${escapeHtml(r.kind)} v${escapeHtml(r.version)}. The data behind it is in evaluation.json.</footer>
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}
