/**
 * Charts for evaluation reports and the service: pure functions from data to an echarts option (`ChartSpec`) and
 * from an option to a deterministic SVG string (echarts server-side rendering, no animation, fixed size).
 */
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, VisualMapComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import type { EChartsOption } from 'echarts';
import type { EvaluationResult, FeatureImportance, PerClassScore } from '../model/evaluation.ts';
import { ReportError, ReportErrorCode } from './errors.ts';

echarts.use([BarChart, HeatmapChart, LineChart, ScatterChart, GridComponent, LegendComponent, TitleComponent, VisualMapComponent, SVGRenderer]);

export type ChartKind = 'confusion' | 'f1' | 'importance' | 'distribution' | 'curves' | 'confidence' | 'counts' | 'risk-coverage';

export type TrainingCurves = NonNullable<EvaluationResult['curves']>;

/** What each chart kind takes; the service passes these to `chartSvg`. */
export interface ChartInputs {
  confusion: { classes: string[]; confusion: number[][]; topN?: number };
  f1: PerClassScore[];
  importance: { features: FeatureImportance[]; topN?: number };
  distribution: Record<string, number>;
  curves: TrainingCurves;
  confidence: { confidences: ArrayLike<number>; threshold?: number; bins?: number };
  counts: { counts: Record<string, number>; title?: string };
  'risk-coverage': NonNullable<EvaluationResult['riskCoverage']>;
}

/** An echarts option with the fixed pixel size it is laid out for. */
export interface ChartSpec {
  kind: ChartKind;
  title: string;
  width: number;
  height: number;
  option: EChartsOption;
}

/** Generic family: resvg maps it to whatever sans font `svgToPng` finds; browsers to their own. */
export const FONT_FAMILY = 'sans-serif';
/** Above this many classes the confusion heatmap shows only the most frequent ones. */
export const CONFUSION_TOP_N = 30;
export const IMPORTANCE_TOP_N = 25;

const C = {
  text: '#222222',
  muted: '#666666',
  primary: '#3b6fb6',
  secondary: '#e08a2c',
  good: '#3a9a5b',
  fair: '#d9a33a',
  poor: '#c8553d',
  heat: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'],
} as const;

const LABEL_CHARS = 28;

function shorten(s: string, max = LABEL_CHARS): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function finite(x: number | null | undefined): number {
  return typeof x === 'number' && Number.isFinite(x) ? x : 0;
}

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(n >= 1e5 ? 0 : 1)}k`;
  return String(n);
}

function mainTitle(title: string, subtext?: string) {
  return {
    text: title,
    ...(subtext ? { subtext } : {}),
    left: 12,
    top: 8,
    textStyle: { fontSize: 15, fontWeight: 'bold' as const, color: C.text },
    subtextStyle: { fontSize: 11, color: C.muted },
  };
}

function base(title: string, subtext?: string): EChartsOption {
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle: { fontFamily: FONT_FAMILY, color: C.text },
    title: mainTitle(title, subtext),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Confusion matrix

/** The confusion matrix as displayed: possibly the top-N classes, an 'other' column and the 'unknown' column. */
export interface ConfusionView {
  /** Row labels (true classes), top to bottom. */
  rows: string[];
  /** Column labels (predicted), left to right. */
  cols: string[];
  /** counts[r][c] for the displayed cells. */
  counts: number[][];
  /** counts[r][c] divided by the full row total (all predicted classes, 'other' and 'unknown'). */
  shares: number[][];
  /** Classes shown and classes in the result; equal unless truncated. */
  shown: number;
  total: number;
  hasUnknown: boolean;
}

export const OTHER_COLUMN = '(other classes)';
export const UNKNOWN_COLUMN = '(unknown)';

/**
 * Picks what the heatmap shows. Up to `topN` classes: all, in their given order. Above: the `topN` classes with the
 * most true rows (ties by index), most frequent first, predictions into the other classes summed into one column.
 */
export function confusionView(classes: string[], confusion: number[][], topN = CONFUSION_TOP_N): ConfusionView {
  const n = classes.length;
  if (confusion.length !== n) {
    throw new ReportError(ReportErrorCode.BAD_INPUT, `confusion has ${confusion.length} rows for ${n} classes`);
  }
  let hasUnknown = false;
  confusion.forEach((row, i) => {
    if (row.length !== n && row.length !== n + 1) {
      throw new ReportError(
        ReportErrorCode.BAD_INPUT,
        `confusion row ${i} (${classes[i]}) has ${row.length} columns; expected ${n} or ${n + 1} (with unknown)`,
      );
    }
    if (row.length === n + 1) hasUnknown = true;
  });
  const rowTotal = confusion.map((row) => row.reduce((a, b) => a + finite(b), 0));
  let order = classes.map((_, i) => i);
  const truncated = n > topN;
  if (truncated) {
    order = order.sort((a, b) => (rowTotal[b] ?? 0) - (rowTotal[a] ?? 0) || a - b).slice(0, topN);
  }
  const shownSet = new Set(order);
  const cols = order.map((i) => classes[i] ?? '');
  if (truncated) cols.push(OTHER_COLUMN);
  if (hasUnknown) cols.push(UNKNOWN_COLUMN);
  const counts: number[][] = [];
  const shares: number[][] = [];
  for (const i of order) {
    const row = confusion[i] ?? [];
    const out = order.map((j) => finite(row[j]));
    if (truncated) {
      let other = 0;
      for (let j = 0; j < n; j++) if (!shownSet.has(j)) other += finite(row[j]);
      out.push(other);
    }
    if (hasUnknown) out.push(finite(row[n]));
    const total = rowTotal[i] ?? 0;
    counts.push(out);
    shares.push(out.map((v) => (total > 0 ? v / total : 0)));
  }
  return { rows: order.map((i) => classes[i] ?? ''), cols, counts, shares, shown: order.length, total: n, hasUnknown };
}

/** Heatmap, rows true and columns predicted; each cell shows its count, its colour is the row share. */
export function confusionChart(input: ChartInputs['confusion']): ChartSpec {
  const v = confusionView(input.classes, input.confusion, input.topN ?? CONFUSION_TOP_N);
  const nr = v.rows.length;
  const nc = v.cols.length;
  const cell = Math.max(18, Math.min(72, Math.floor(760 / Math.max(nc, 1))));
  const fontSize = cell >= 48 ? 13 : cell >= 30 ? 11 : cell >= 22 ? 9 : 8;
  const rotate = nc > 5 || v.cols.some((c) => c.length * 6.5 > cell) ? 60 : 0;
  // Label extents estimated at ~6.5 px per character of 10 px text; echarts measures the same way server-side.
  const yLabelPx = Math.min(LABEL_CHARS, Math.max(4, ...v.rows.map((s) => s.length))) * 6.5;
  const xLabelPx = rotate ? Math.min(22, Math.max(4, ...v.cols.map((s) => s.length))) * 6.5 * 0.87 + 10 : 16;
  const left = Math.round(Math.max(90, yLabelPx + 50));
  const top = 78;
  const bottom = Math.round(xLabelPx + 50);
  const right = 120;
  const width = Math.max(560, left + nc * cell + right);
  const height = top + Math.max(nr * cell, 160) + bottom;
  const title =
    v.shown < v.total
      ? `Confusion matrix: top ${v.shown} of ${v.total} classes by support`
      : 'Confusion matrix';
  const subtext =
    (v.shown < v.total ? `other classes' rows omitted, predictions into them summed in '${OTHER_COLUMN}'; ` : '') +
    'rows true, columns predicted; number = count, colour = share of the row';
  const data = [];
  for (let r = 0; r < nr; r++) {
    for (let c = 0; c < nc; c++) {
      const count = v.counts[r]?.[c] ?? 0;
      const share = v.shares[r]?.[c] ?? 0;
      data.push({
        value: [c, r, count, share],
        label: { color: share > 0.55 ? '#ffffff' : C.text },
      });
    }
  }
  const option: EChartsOption = {
    ...base(title, subtext),
    grid: { left, top, width: nc * cell, height: nr * cell },
    xAxis: {
      type: 'category',
      data: v.cols,
      name: 'predicted',
      nameLocation: 'middle',
      nameGap: bottom - 22,
      nameTextStyle: { fontWeight: 'bold', color: C.muted },
      splitArea: { show: false },
      axisTick: { show: false },
      axisLabel: {
        interval: 0,
        rotate,
        fontSize: 10,
        color: C.text,
        formatter: (s: string) => shorten(s, 22),
      },
    },
    yAxis: {
      type: 'category',
      data: v.rows,
      inverse: true,
      name: 'true',
      nameLocation: 'middle',
      nameGap: left - 30,
      nameTextStyle: { fontWeight: 'bold', color: C.muted },
      axisTick: { show: false },
      axisLabel: { interval: 0, fontSize: 10, color: C.text, formatter: (s: string) => shorten(s) },
    },
    visualMap: {
      type: 'continuous',
      dimension: 3,
      min: 0,
      max: 1,
      calculable: false,
      orient: 'vertical',
      left: left + nc * cell + 24,
      top,
      itemHeight: Math.max(60, Math.min(200, nr * cell - 40)),
      text: ['100% of row', '0%'],
      textStyle: { fontSize: 10, color: C.muted },
      inRange: { color: [...C.heat] },
    },
    series: [
      {
        type: 'heatmap',
        data,
        itemStyle: { borderColor: '#ffffff', borderWidth: 1 },
        label: {
          show: true,
          fontSize,
          formatter: (p: { value?: unknown }) => {
            const count = Array.isArray(p.value) ? Number(p.value[2]) : 0;
            return count === 0 ? '' : cell >= 34 ? String(count) : compact(count);
          },
        },
        emphasis: { disabled: true },
      },
    ],
  };
  return { kind: 'confusion', title, width, height, option };
}

// ---------------------------------------------------------------------------------------------------------------
// Horizontal bars (F1, distribution, counts)

function rowPx(n: number): number {
  return n <= 12 ? 26 : n <= 40 ? 20 : 14;
}

function tierColour(f1: number): string {
  return f1 >= 0.9 ? C.good : f1 >= 0.7 ? C.fair : C.poor;
}

interface HBar {
  label: string;
  value: number;
  text: string;
  colour?: string;
}

function hbars(kind: ChartKind, title: string, subtext: string, bars: HBar[], axis: { name: string; max?: number }): ChartSpec {
  const px = rowPx(bars.length);
  const top = 70;
  const left = 200;
  const width = 820;
  const height = top + Math.max(bars.length, 1) * px + 50;
  const option: EChartsOption = {
    ...base(title, subtext),
    grid: { left, right: 90, top, bottom: 40 },
    xAxis: {
      type: 'value',
      name: axis.name,
      nameLocation: 'middle',
      nameGap: 26,
      nameTextStyle: { color: C.muted },
      min: 0,
      ...(axis.max !== undefined ? { max: axis.max } : {}),
      axisLabel: { fontSize: 10, color: C.muted },
      splitLine: { lineStyle: { color: '#eeeeee' } },
    },
    yAxis: {
      type: 'category',
      inverse: true,
      data: bars.map((b) => b.label),
      axisTick: { show: false },
      axisLabel: { interval: 0, fontSize: px >= 20 ? 11 : 9, color: C.text, formatter: (s: string) => shorten(s) },
    },
    series: [
      {
        type: 'bar',
        barWidth: Math.max(6, Math.round(px * 0.7)),
        data: bars.map((b) => ({ value: b.value, itemStyle: { color: b.colour ?? C.primary } })),
        label: {
          show: true,
          position: 'right',
          fontSize: px >= 20 ? 10 : 8,
          color: C.text,
          formatter: (p: { dataIndex: number }) => bars[p.dataIndex]?.text ?? '',
        },
        emphasis: { disabled: true },
      },
    ],
  };
  return { kind, title, width, height, option };
}

/** Per-class F1, best first; colour bands at 0.9 and 0.7. */
export function f1Chart(perClass: PerClassScore[]): ChartSpec {
  const sorted = [...perClass].sort((a, b) => finite(b.f1) - finite(a.f1) || a.label.localeCompare(b.label));
  return hbars(
    'f1',
    'F1 per class',
    `${sorted.length} classes, sorted by F1; green ≥ 0.9, amber ≥ 0.7, red below; n = support`,
    sorted.map((c) => ({
      label: c.label,
      value: finite(c.f1),
      text: `${finite(c.f1).toFixed(2)}  (n=${finite(c.support)})`,
      colour: tierColour(finite(c.f1)),
    })),
    { name: 'F1', max: 1 },
  );
}

function countBars(kind: ChartKind, title: string, counts: Record<string, number>): ChartSpec {
  const entries = Object.entries(counts)
    .map(([label, v]) => ({ label, value: finite(v) }))
    .sort((a, b) => b.value - a.value || a.label.localeCompare(b.label));
  const total = entries.reduce((a, e) => a + e.value, 0);
  return hbars(
    kind,
    title,
    `${entries.length} classes, ${total} rows, most frequent first`,
    entries.map((e) => ({
      label: e.label,
      value: e.value,
      text: `${e.value} (${total > 0 ? ((100 * e.value) / total).toFixed(1) : '0.0'}%)`,
    })),
    { name: 'rows' },
  );
}

/** Class distribution of the evaluated rows (true labels). */
export function distributionChart(classCounts: Record<string, number>): ChartSpec {
  return countBars('distribution', 'Class distribution', classCounts);
}

/** Counts per class, e.g. the predictions of a classification job in the service's results view. */
export function countsChart(input: ChartInputs['counts']): ChartSpec {
  return countBars('counts', input.title ?? 'Counts per class', input.counts);
}

// ---------------------------------------------------------------------------------------------------------------
// Feature importance

/**
 * The `topN` features ranked by the sum of both measures, each divided by its largest value, so neither scale
 * dominates; a measure that is all zero was not computed and gets no panel.
 */
export function topFeatures(features: FeatureImportance[], topN = IMPORTANCE_TOP_N): FeatureImportance[] {
  const maxImp = Math.max(0, ...features.map((f) => finite(f.impurity)));
  const maxPerm = Math.max(0, ...features.map((f) => finite(f.permutation)));
  const score = (f: FeatureImportance): number =>
    (maxImp > 0 ? finite(f.impurity) / maxImp : 0) + (maxPerm > 0 ? finite(f.permutation) / maxPerm : 0);
  return [...features].sort((a, b) => score(b) - score(a) || a.feature.localeCompare(b.feature)).slice(0, topN);
}

/** Top features, impurity and permutation importance in two panels side by side. */
export function importanceChart(input: ChartInputs['importance']): ChartSpec {
  const top = topFeatures(input.features, input.topN ?? IMPORTANCE_TOP_N);
  const hasImp = top.some((f) => finite(f.impurity) !== 0);
  const hasPerm = top.some((f) => finite(f.permutation) !== 0);
  const panels: { name: string; values: number[]; colour: string }[] = [];
  if (hasImp || !hasPerm) panels.push({ name: 'impurity (MDI share)', values: top.map((f) => finite(f.impurity)), colour: C.primary });
  if (hasPerm) panels.push({ name: 'permutation (macro-F1 drop)', values: top.map((f) => finite(f.permutation)), colour: C.secondary });
  const px = rowPx(top.length);
  const gTop = 90;
  const left = 220;
  const panelW = panels.length === 2 ? 300 : 560;
  const gap = 60;
  const width = left + panels.length * panelW + (panels.length - 1) * gap + 40;
  const height = gTop + Math.max(top.length, 1) * px + 50;
  const missing = !hasPerm ? 'permutation importance not computed' : !hasImp ? 'impurity importance not available' : '';
  const title = `Feature importance: top ${top.length} of ${input.features.length}`;
  const subtext = `ranked by impurity + permutation, each scaled to its maximum${missing ? `; ${missing}` : ''}`;
  const option: EChartsOption = {
    ...base(title, subtext),
    grid: panels.map((_, i) => ({
      left: left + i * (panelW + gap),
      top: gTop,
      width: panelW,
      height: Math.max(top.length, 1) * px,
    })),
    title: [
      mainTitle(title, subtext),
      ...panels.map((p, i) => ({
        text: p.name,
        left: left + i * (panelW + gap),
        top: gTop - 24,
        textStyle: { fontSize: 12, fontWeight: 'normal' as const, color: C.muted },
      })),
    ],
    xAxis: panels.map((_, i) => ({
      type: 'value' as const,
      gridIndex: i,
      axisLabel: { fontSize: 10, color: C.muted },
      splitLine: { lineStyle: { color: '#eeeeee' } },
    })),
    yAxis: panels.map((_, i) => ({
      type: 'category' as const,
      gridIndex: i,
      inverse: true,
      data: top.map((f) => f.feature),
      axisTick: { show: false },
      axisLabel: {
        show: i === 0,
        interval: 0,
        fontSize: px >= 20 ? 11 : 9,
        color: C.text,
        formatter: (s: string) => shorten(s, 32),
      },
    })),
    series: panels.map((p, i) => ({
      type: 'bar' as const,
      name: p.name,
      xAxisIndex: i,
      yAxisIndex: i,
      barWidth: Math.max(6, Math.round(px * 0.7)),
      itemStyle: { color: p.colour },
      data: p.values,
      label: {
        show: true,
        position: 'right' as const,
        fontSize: 9,
        color: C.text,
        formatter: (q: { value?: unknown }) => fmtSmall(Number(q.value)),
      },
      emphasis: { disabled: true },
    })),
  };
  return { kind: 'importance', title, width, height, option };
}

function fmtSmall(x: number): string {
  if (!Number.isFinite(x)) return '';
  const a = Math.abs(x);
  return a === 0 ? '0' : a >= 0.01 ? x.toFixed(3) : x.toExponential(1);
}

// ---------------------------------------------------------------------------------------------------------------
// Training curves

/** Loss and accuracy per epoch, train and validation, in two panels. */
export function curvesChart(curves: TrainingCurves): ChartSpec {
  const pts = [...curves].sort((a, b) => a.epoch - b.epoch);
  const hasVal = pts.some((p) => p.valLoss !== undefined || p.valAccuracy !== undefined);
  const width = 900;
  const height = 400;
  const title = 'Training curves';
  const line = (name: string, i: number, colour: string, get: (p: TrainingCurves[number]) => number | undefined) => ({
    type: 'line' as const,
    name,
    xAxisIndex: i,
    yAxisIndex: i,
    showSymbol: pts.length <= 40,
    symbolSize: 5,
    lineStyle: { width: 2, color: colour },
    itemStyle: { color: colour },
    data: pts.filter((p) => get(p) !== undefined && Number.isFinite(get(p))).map((p) => [p.epoch, get(p) as number]),
    emphasis: { disabled: true },
  });
  const series = [
    line('train', 0, C.primary, (p) => p.loss),
    line('train', 1, C.primary, (p) => p.accuracy),
    ...(hasVal
      ? [line('validation', 0, C.secondary, (p) => p.valLoss), line('validation', 1, C.secondary, (p) => p.valAccuracy)]
      : []),
  ];
  const option: EChartsOption = {
    ...base(title, `${pts.length} epochs${hasVal ? '' : '; no validation data'}`),
    legend: { data: hasVal ? ['train', 'validation'] : ['train'], top: 14, right: 20, textStyle: { fontSize: 11 } },
    grid: [
      { left: 70, top: 90, width: 340, height: 240 },
      { left: 520, top: 90, width: 340, height: 240 },
    ],
    xAxis: [0, 1].map((i) => ({
      type: 'value' as const,
      gridIndex: i,
      name: 'epoch',
      nameLocation: 'middle' as const,
      nameGap: 26,
      minInterval: 1,
      min: 'dataMin' as const,
      max: 'dataMax' as const,
      axisLabel: { fontSize: 10, color: C.muted },
      splitLine: { show: false },
    })),
    yAxis: [
      {
        type: 'value' as const,
        gridIndex: 0,
        name: 'loss',
        nameTextStyle: { color: C.muted },
        scale: true,
        axisLabel: { fontSize: 10, color: C.muted },
        splitLine: { lineStyle: { color: '#eeeeee' } },
      },
      {
        type: 'value' as const,
        gridIndex: 1,
        name: 'accuracy',
        nameTextStyle: { color: C.muted },
        scale: true,
        max: (e: { max: number }) => (e.max > 0.9 ? 1 : undefined),
        axisLabel: { fontSize: 10, color: C.muted },
        splitLine: { lineStyle: { color: '#eeeeee' } },
      },
    ],
    series,
  };
  return { kind: 'curves', title, width, height, option };
}

// ---------------------------------------------------------------------------------------------------------------
// Risk-coverage

/**
 * Accuracy of the answered rows against the share answered, as the confidence threshold falls; the point where
 * the model's unknown rule answers is marked.
 */
export function riskCoverageChart(rc: ChartInputs['risk-coverage']): ChartSpec {
  const width = 640;
  const height = 420;
  const title = 'Risk-coverage';
  const a = rc.answered;
  const sub = `answered by the model's unknown rule: ${(100 * a.coverage).toFixed(1)} % of rows at ${(100 * a.accuracy).toFixed(1)} % accuracy` +
    `; all rows: ${(100 * finite(rc.accuracy.at(-1))).toFixed(1)} %`;
  const option: EChartsOption = {
    ...base(title, sub),
    grid: { left: 70, right: 30, top: 80, bottom: 60 },
    xAxis: {
      type: 'value', min: 0, max: 1, name: 'coverage (share of rows answered)', nameLocation: 'middle', nameGap: 30,
      axisLabel: { fontSize: 10, color: C.muted, formatter: (v: number) => `${Math.round(v * 100)} %` }, splitLine: { show: false },
    },
    yAxis: {
      type: 'value', name: 'accuracy of answered rows', nameTextStyle: { color: C.muted }, scale: true, max: 1,
      axisLabel: { fontSize: 10, color: C.muted, formatter: (v: number) => `${Math.round(v * 100)} %` },
      splitLine: { lineStyle: { color: '#eeeeee' } },
    },
    series: [
      {
        type: 'line', name: 'by confidence', showSymbol: false, lineStyle: { width: 2, color: C.primary }, itemStyle: { color: C.primary },
        data: rc.coverage.map((c, j) => [c, rc.accuracy[j]!]), emphasis: { disabled: true },
      },
      {
        type: 'scatter', name: 'answered', symbolSize: 10, itemStyle: { color: C.secondary },
        data: [[a.coverage, a.accuracy]], emphasis: { disabled: true },
      },
    ],
  };
  return { kind: 'risk-coverage', title, width, height, option };
}

// ---------------------------------------------------------------------------------------------------------------
// Confidence histogram

/** Histogram of prediction confidences on [0, 1]; bins below the unknown threshold are drawn in red. */
export function confidenceChart(input: ChartInputs['confidence']): ChartSpec {
  const bins = Math.max(2, Math.min(100, Math.floor(input.bins ?? 20)));
  const counts = new Array<number>(bins).fill(0);
  let n = 0;
  let below = 0;
  for (let i = 0; i < input.confidences.length; i++) {
    const x = input.confidences[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) continue;
    const c = Math.min(1, Math.max(0, x));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    counts[b] = (counts[b] ?? 0) + 1;
    n++;
    if (input.threshold !== undefined && c < input.threshold) below++;
  }
  const t = input.threshold;
  const title = 'Prediction confidence';
  const subtext =
    `${n} predictions` +
    (t !== undefined ? `; threshold ${t}: ${n > 0 ? ((100 * below) / n).toFixed(1) : '0.0'}% below (answered unknown, red)` : '');
  const edges = counts.map((_, i) => (i / bins).toFixed(2));
  const option: EChartsOption = {
    ...base(title, subtext),
    grid: { left: 70, right: 30, top: 100, bottom: 60 },
    xAxis: {
      type: 'category',
      data: edges.map((e, i) => `${e}–${((i + 1) / bins).toFixed(2)}`),
      name: 'confidence',
      nameLocation: 'middle',
      nameGap: 34,
      nameTextStyle: { color: C.muted },
      axisTick: { alignWithLabel: true },
      axisLabel: {
        fontSize: 10,
        color: C.muted,
        interval: bins <= 20 ? 1 : Math.ceil(bins / 10) - 1,
        formatter: (s: string) => s.split('–')[0] ?? s,
      },
    },
    yAxis: {
      type: 'value',
      name: 'predictions',
      nameTextStyle: { color: C.muted },
      minInterval: 1,
      axisLabel: { fontSize: 10, color: C.muted },
      splitLine: { lineStyle: { color: '#eeeeee' } },
    },
    series: [
      {
        type: 'bar',
        barCategoryGap: '8%',
        data: counts.map((v, i) => ({
          value: v,
          itemStyle: { color: t !== undefined && (i + 1) / bins <= t + 1e-12 ? C.poor : C.primary },
        })),
        label: { show: bins <= 25, position: 'top', fontSize: 9, color: C.text, formatter: (p: { value?: unknown }) => (Number(p.value) > 0 ? compact(Number(p.value)) : '') },
        emphasis: { disabled: true },
      },
    ],
  };
  return { kind: 'confidence', title, width: 820, height: 380, option };
}

// ---------------------------------------------------------------------------------------------------------------
// Dispatch and SVG

/**
 * The spec for one chart kind.
 * @example chartSpec('counts', { counts: { web: 10, video: 3 } })
 */
export function chartSpec<K extends ChartKind>(kind: K, data: ChartInputs[K]): ChartSpec {
  switch (kind) {
    case 'confusion':
      return confusionChart(data as ChartInputs['confusion']);
    case 'f1':
      return f1Chart(data as ChartInputs['f1']);
    case 'importance':
      return importanceChart(data as ChartInputs['importance']);
    case 'distribution':
      return distributionChart(data as ChartInputs['distribution']);
    case 'curves':
      return curvesChart(data as ChartInputs['curves']);
    case 'confidence':
      return confidenceChart(data as ChartInputs['confidence']);
    case 'counts':
      return countsChart(data as ChartInputs['counts']);
    case 'risk-coverage':
      return riskCoverageChart(data as ChartInputs['risk-coverage']);
    default:
      throw new ReportError(ReportErrorCode.UNKNOWN_CHART, `unknown chart kind '${String(kind)}'`);
  }
}

/**
 * Renders a spec to SVG. Class names and ids (clip paths, gradients) that echarts numbers from process-wide
 * counters are renamed from `idPrefix` (default `veil-<kind>`), so the same input gives the same bytes and several
 * charts can be inlined into one HTML page; give charts of the same kind on one page distinct prefixes.
 */
export function renderSvg(spec: ChartSpec, idPrefix = `veil-${spec.kind}`): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: spec.width, height: spec.height });
  let svg: string;
  try {
    chart.setOption(spec.option);
    svg = chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
  const prefix = idPrefix.replace(/[^\w-]/g, '_');
  const names = new Map<string, string>();
  svg = svg
    .replace(/\bzr\d+-cls-\d+\b/g, (m) => {
      let r = names.get(m);
      if (!r) {
        r = `${prefix}-cls${names.size}`;
        names.set(m, r);
      }
      return r;
    })
    .replace(/\bzr\d+-/g, `${prefix}-`);
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeAttr(spec.title)}" `);
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * One chart as SVG, for a server that renders charts on demand.
 * @example chartSvg('confidence', { confidences: [0.9, 0.4, 0.97], threshold: 0.5 })
 */
export function chartSvg<K extends ChartKind>(kind: K, data: ChartInputs[K]): string {
  return renderSvg(chartSpec(kind, data));
}

/** The charts of a report, in display order; `curves` only when the result has them. */
export function reportCharts(result: EvaluationResult): { name: string; spec: ChartSpec }[] {
  const out: { name: string; spec: ChartSpec }[] = [
    { name: 'confusion', spec: confusionChart({ classes: result.classes, confusion: result.confusion }) },
    { name: 'f1', spec: f1Chart(result.perClass) },
  ];
  if (result.featureImportance.length > 0) {
    out.push({ name: 'importance', spec: importanceChart({ features: result.featureImportance }) });
  }
  out.push({ name: 'distribution', spec: distributionChart(result.classCounts) });
  if (result.curves && result.curves.length > 0) out.push({ name: 'curves', spec: curvesChart(result.curves) });
  if (result.riskCoverage && result.riskCoverage.coverage.length > 0) out.push({ name: 'risk-coverage', spec: riskCoverageChart(result.riskCoverage) });
  return out;
}
