import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chartSpec,
  chartSvg,
  confusionChart,
  confusionView,
  importanceChart,
  renderSvg,
  reportCharts,
  svgToPng,
  topFeatures,
  OTHER_COLUMN,
  UNKNOWN_COLUMN,
  ReportError,
  type ChartKind,
} from '../../src/report/index.ts';
import { HOSTILE, classNames, makeResult } from './make-result.ts';
import { assertWellFormed, pngSize, svgSize, svgTexts } from './xml.ts';

function heatmapCells(spec: ReturnType<typeof confusionChart>): Map<string, number> {
  const series = spec.option.series;
  const s = (Array.isArray(series) ? series[0] : series) as { data: { value: number[] }[] };
  const cells = new Map<string, number>();
  for (const d of s.data) cells.set(`${d.value[1]},${d.value[0]}`, d.value[2]!);
  return cells;
}

test('confusion heatmap cells equal the matrix, unknown answers in the last column', () => {
  const r = makeResult({ classes: ['web', 'video', 'voip'], seed: 2 });
  const spec = confusionChart({ classes: r.classes, confusion: r.confusion });
  const cells = heatmapCells(spec);
  assert.equal(cells.size, 3 * 4);
  r.confusion.forEach((row, i) => row.forEach((v, j) => assert.equal(cells.get(`${i},${j}`), v, `cell ${i},${j}`)));
});

test('confusion SVG shows every non-zero count as a cell label', () => {
  const r = makeResult({ classes: ['web', 'video', 'voip'], seed: 2 });
  const texts = svgTexts(chartSvg('confusion', { classes: r.classes, confusion: r.confusion }));
  const counted = new Map<string, number>();
  for (const t of texts) counted.set(t, (counted.get(t) ?? 0) + 1);
  for (const row of r.confusion) {
    for (const v of row) if (v > 0) assert.ok(counted.has(String(v)), `count ${v} missing from SVG labels`);
  }
  for (const c of [...r.classes, UNKNOWN_COLUMN]) assert.ok(texts.includes(c), `label ${c}`);
});

test('confusion colour is the row share, over the whole row including unknown', () => {
  const v = confusionView(['a', 'b'], [
    [6, 2, 2],
    [0, 0, 0],
  ]);
  assert.deepEqual(v.shares[0], [0.6, 0.2, 0.2]);
  assert.deepEqual(v.shares[1], [0, 0, 0]);
});

test('confusion with 120 classes shows the top 30 by support and says so in the title', () => {
  const r = makeResult({ classes: classNames(120), seed: 5 });
  const spec = confusionChart({ classes: r.classes, confusion: r.confusion });
  assert.match(spec.title, /top 30 of 120 classes/);
  const v = confusionView(r.classes, r.confusion);
  assert.equal(v.rows.length, 30);
  assert.deepEqual(v.cols.slice(-2), [OTHER_COLUMN, UNKNOWN_COLUMN]);
  const support = r.confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const minShown = Math.min(...v.rows.map((c) => support[r.classes.indexOf(c)]!));
  const maxHidden = Math.max(...r.classes.filter((c) => !v.rows.includes(c)).map((c) => support[r.classes.indexOf(c)]!));
  assert.ok(minShown >= maxHidden, 'shown classes are the most frequent');
  const cells = heatmapCells(spec);
  v.rows.forEach((label, ri) => {
    const i = r.classes.indexOf(label);
    const row = r.confusion[i]!;
    v.rows.forEach((col, ci) => assert.equal(cells.get(`${ri},${ci}`), row[r.classes.indexOf(col)]));
    const other = r.classes.reduce((a, c, j) => (v.rows.includes(c) ? a : a + row[j]!), 0);
    assert.equal(cells.get(`${ri},30`), other, `other column of ${label}`);
    assert.equal(cells.get(`${ri},31`), row[120], `unknown column of ${label}`);
  });
  assert.match(svgTexts(renderSvg(spec)).join('\n'), /top 30 of 120 classes/);
});

test('confusion matrix of the wrong size is rejected with REPORT_BAD_INPUT', () => {
  assert.throws(
    () => confusionView(['a', 'b'], [[1, 2]]),
    (e: unknown) => e instanceof ReportError && e.code === 'REPORT_BAD_INPUT',
  );
  assert.throws(() => confusionView(['a'], [[1, 2, 3]]), /expected 1 or 2/);
});

test('hostile class names are escaped in every chart and kept literally (no template expansion)', () => {
  const r = makeResult({ classes: [...HOSTILE, ...classNames(6)], seed: 9, curves: true });
  for (const { name, spec } of reportCharts(r)) {
    const svg = renderSvg(spec);
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /<script/i, name);
    assert.doesNotMatch(svg, /<i>/, name);
    if (name === 'curves' || name === 'importance') continue;
    const texts = svgTexts(svg);
    for (const h of HOSTILE) assert.ok(texts.includes(h), `${name}: ${h} not shown literally`);
  }
});

test('feature importance keeps the top 25 and puts both measures side by side', () => {
  const r = makeResult({ classes: ['a', 'b'], seed: 3 });
  const top = topFeatures(r.featureImportance);
  assert.equal(top.length, 25);
  const spec = importanceChart({ features: r.featureImportance });
  const series = spec.option.series as { data: number[] }[];
  assert.equal(series.length, 2);
  assert.deepEqual(series[0]!.data, top.map((f) => f.impurity));
  assert.deepEqual(series[1]!.data, top.map((f) => f.permutation));
  const onlyImpurity = importanceChart({ features: r.featureImportance.map((f) => ({ ...f, permutation: 0 })) });
  assert.equal((onlyImpurity.option.series as unknown[]).length, 1);
  assert.match(svgTexts(renderSvg(onlyImpurity)).join(' '), /permutation importance not computed/);
});

test('per-class F1 bars are sorted best first', () => {
  const r = makeResult({ classes: classNames(12), seed: 4 });
  const spec = chartSpec('f1', r.perClass);
  const labels = (spec.option.yAxis as { data: string[] }).data;
  const f1 = labels.map((l) => r.perClass.find((c) => c.label === l)!.f1);
  assert.deepEqual(f1, [...f1].sort((a, b) => b - a));
});

test('curves chart only when the result has curves', () => {
  const names = (curves: boolean) => reportCharts(makeResult({ classes: ['a', 'b', 'c'], curves })).map((c) => c.name);
  assert.deepEqual(names(false), ['confusion', 'f1', 'importance', 'distribution']);
  assert.deepEqual(names(true), ['confusion', 'f1', 'importance', 'distribution', 'curves']);
});

test('confidence histogram bins values on [0, 1] and ignores non-finite ones', () => {
  const spec = chartSpec('confidence', { confidences: [0, 0.05, 0.49, 0.5, 0.99, 1, NaN, 2, -1], bins: 10, threshold: 0.5 });
  const data = (spec.option.series as { data: { value: number }[] }[])[0]!.data.map((d) => d.value);
  assert.deepEqual(data, [3, 0, 0, 0, 1, 1, 0, 0, 0, 3]);
  assert.match(String((spec.option.title as { subtext: string }).subtext), /8 predictions; threshold 0.5: 50.0% below/);
  assertWellFormed(renderSvg(spec));
});

test('counts chart lists every class, most frequent first', () => {
  const svg = chartSvg('counts', { counts: { web: 3, video: 10, '<b>': 1 }, title: 'Predictions per class' });
  assertWellFormed(svg);
  const texts = svgTexts(svg);
  assert.ok(texts.indexOf('video') < texts.indexOf('web') && texts.indexOf('web') < texts.indexOf('<b>'));
  assert.ok(texts.includes('Predictions per class'));
});

test('every chart kind renders, and the same input gives the same bytes', () => {
  const r = makeResult({ classes: classNames(5), seed: 6, curves: true });
  const inputs: { [K in ChartKind]: Parameters<typeof chartSvg<K>>[1] } = {
    confusion: { classes: r.classes, confusion: r.confusion },
    f1: r.perClass,
    importance: { features: r.featureImportance },
    distribution: r.classCounts,
    curves: r.curves!,
    confidence: { confidences: [0.1, 0.7, 0.9], threshold: 0.4 },
    counts: { counts: r.classCounts },
    'risk-coverage': { coverage: [0.2, 0.6, 1], accuracy: [1, 0.9, 0.7], threshold: [0.9, 0.6, 0.2], answered: { coverage: 0.6, accuracy: 0.9 } },
  };
  for (const kind of Object.keys(inputs) as ChartKind[]) {
    const a = chartSvg(kind, inputs[kind] as never);
    const b = chartSvg(kind, inputs[kind] as never);
    assert.equal(a, b, `${kind} is deterministic`);
    assert.doesNotMatch(a, /\bzr\d+-/, `${kind} class names and ids renamed`);
    assertWellFormed(a);
  }
});

test('unknown chart kind is a ReportError', () => {
  assert.throws(() => chartSvg('pie' as ChartKind, {} as never), (e: unknown) => e instanceof ReportError && e.code === 'REPORT_UNKNOWN_CHART');
});

test('PNG has the signature and the SVG size, and draws text', () => {
  const svg = chartSvg('counts', { counts: { web: 3, video: 10 } });
  const png = svgToPng(svg);
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.deepEqual(pngSize(png), svgSize(svg));
  assert.deepEqual(pngSize(svgToPng(svg, { scale: 2 })), { width: svgSize(svg).width * 2, height: svgSize(svg).height * 2 });
  // Text adds ink: the same chart without its labels compresses smaller.
  const bare = svg.replace(/<text[^>]*>[^<]*<\/text>/g, '');
  assert.ok(svgToPng(bare).length < png.length * 0.9, 'PNG seems to have no text (fonts missing?)');
});
