/**
 * Evaluation reports: `renderReport` writes report.html, evaluation.json and every chart as SVG and PNG; the chart
 * functions are re-exported for the service, which renders single charts on demand with `chartSvg`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { EvaluationResult } from '../model/evaluation.ts';
import { renderSvg, reportCharts } from './charts.ts';
import { ReportError, ReportErrorCode } from './errors.ts';
import { renderHtml, type HtmlChart } from './html.ts';
import { svgToPng } from './png.ts';

export {
  chartSpec,
  chartSvg,
  confidenceChart,
  confusionChart,
  confusionView,
  countsChart,
  curvesChart,
  distributionChart,
  f1Chart,
  importanceChart,
  renderSvg,
  reportCharts,
  riskCoverageChart,
  topFeatures,
  CONFUSION_TOP_N,
  IMPORTANCE_TOP_N,
  OTHER_COLUMN,
  UNKNOWN_COLUMN,
  type ChartInputs,
  type ChartKind,
  type ChartSpec,
  type ConfusionView,
  type TrainingCurves,
} from './charts.ts';
export { svgToPng, discoverFont, type PngOptions } from './png.ts';
export { escapeHtml, isCaptureDerived, renderComparison, renderHtml, splitOverstates, type HtmlChart } from './html.ts';
export { ReportError, ReportErrorCode } from './errors.ts';

export interface RenderReportOptions {
  /** Other results (e.g. the same model under a blocked split) compared side by side with this one. */
  compareWith?: EvaluationResult[];
  /** Write PNGs beside the SVGs (default true). */
  png?: boolean;
}

export interface RenderedReport {
  /** The report page, also written to dir/report.html. */
  html: string;
  /** Every file written, absolute. */
  files: string[];
  /** What was skipped and why (e.g. PNGs when the system has no fonts). */
  warnings: string[];
}

/**
 * Checks the parts of an evaluation result that the report relies on, so a foreign or truncated JSON file fails
 * with a message instead of a broken page.
 */
export function assertEvaluationResult(x: unknown, where = 'evaluation result'): asserts x is EvaluationResult {
  const fail = (what: string): never => {
    throw new ReportError(ReportErrorCode.BAD_INPUT, `${where}: ${what}`);
  };
  if (typeof x !== 'object' || x === null) fail('not an object');
  const r = x as Record<string, unknown>;
  if (r.kind !== 'veil-evaluation') fail(`kind is ${JSON.stringify(r.kind)}, expected "veil-evaluation"`);
  if (r.version !== 1) fail(`version ${JSON.stringify(r.version)} is not supported (expected 1)`);
  for (const k of ['model', 'data', 'split', 'macro', 'weighted', 'topK', 'unknown', 'classCounts', 'timings']) {
    if (typeof r[k] !== 'object' || r[k] === null) fail(`'${k}' is missing`);
  }
  for (const k of ['classes', 'perClass', 'confusion', 'featureImportance']) {
    if (!Array.isArray(r[k])) fail(`'${k}' is not an array`);
  }
  const classes = r.classes as unknown[];
  if (!classes.every((c) => typeof c === 'string')) fail('classes must be strings');
  const confusion = r.confusion as unknown[];
  if (confusion.length !== classes.length) fail(`confusion has ${confusion.length} rows for ${classes.length} classes`);
  confusion.forEach((row, i) => {
    if (!Array.isArray(row) || (row.length !== classes.length && row.length !== classes.length + 1)) {
      fail(`confusion row ${i} must have ${classes.length} or ${classes.length + 1} numbers`);
    }
  });
}

/**
 * Writes `dir/report.html`, `dir/evaluation.json` and `dir/charts/<name>.svg|.png` for every chart.
 * @example const { files } = await renderReport(result, 'out/report', { compareWith: [blocked] });
 */
export async function renderReport(
  result: EvaluationResult,
  dir: string,
  opts: RenderReportOptions = {},
): Promise<RenderedReport> {
  assertEvaluationResult(result);
  (opts.compareWith ?? []).forEach((c, i) => assertEvaluationResult(c, `comparison result ${i}`));
  const chartDir = path.join(dir, 'charts');
  await mkdir(chartDir, { recursive: true });
  const files: string[] = [];
  const warnings: string[] = [];
  const write = async (file: string, data: string | Uint8Array): Promise<void> => {
    await writeFile(file, data);
    files.push(path.resolve(file));
  };
  const charts: HtmlChart[] = [];
  let png = opts.png ?? true;
  for (const { name, spec } of reportCharts(result)) {
    const svg = renderSvg(spec);
    charts.push({ name, title: spec.title, svg });
    await write(path.join(chartDir, `${name}.svg`), svg);
    if (!png) continue;
    try {
      await write(path.join(chartDir, `${name}.png`), svgToPng(svg));
    } catch (e) {
      if (!(e instanceof ReportError && e.code === ReportErrorCode.NO_FONTS)) throw e;
      warnings.push(`PNG charts skipped: ${e.message}`);
      png = false;
    }
  }
  const html = renderHtml(result, charts, {
    ...(opts.compareWith ? { compareWith: opts.compareWith } : {}),
    notes: warnings,
  });
  await write(path.join(dir, 'evaluation.json'), `${JSON.stringify(result, null, 2)}\n`);
  await write(path.join(dir, 'report.html'), html);
  return { html, files, warnings };
}

