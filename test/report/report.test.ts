import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EvaluationResult } from '../../src/model/evaluation.ts';
import { ReportError, renderComparison, renderHtml, renderReport, splitOverstates } from '../../src/report/index.ts';
import { HOSTILE, classNames, makeResult } from './make-result.ts';
import { assertWellFormed, pngSize, svgSize, svgTexts } from './xml.ts';

const ROOT = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veil-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const blocked = (r: EvaluationResult): EvaluationResult => ({
  ...makeResult({ classes: r.classes, seed: 11, skill: 0.6 }),
  split: { kind: 'blocked', folds: 5, shuffled: false, seed: 7, description: '5 blocked folds by capture time' },
});

/** The HTML with inline SVG namespace declarations removed (they name, never fetch). */
function withoutXmlns(html: string): string {
  return html.replace(/\sxmlns(:\w+)?="[^"]*"/g, '');
}

for (const [name, classes, curves] of [
  ['3 classes without curves', ['web', 'video', 'voip'], false],
  ['30 classes with hostile names and curves', [...HOSTILE, ...classNames(26)], true],
  ['120 classes', classNames(120), false],
] as const) {
  test(`report with ${name}: files, SVGs, PNGs and HTML`, async (t) => {
    const dir = tmp(t);
    const result = makeResult({ classes: [...classes], curves, seed: classes.length });
    const out = await renderReport(result, dir);
    const charts = ['confusion', 'f1', 'importance', 'distribution', ...(curves ? ['curves'] : [])];
    const expected = [
      ...charts.flatMap((c) => [`charts/${c}.svg`, `charts/${c}.png`]),
      'evaluation.json',
      'report.html',
    ].map((f) => path.resolve(dir, f));
    assert.deepEqual([...out.files].sort(), expected.sort());
    assert.deepEqual(out.warnings, []);
    for (const f of expected) assert.ok(existsSync(f), f);
    assert.equal(existsSync(path.join(dir, 'charts/curves.svg')), curves);

    for (const c of charts) {
      const svg = readFileSync(path.join(dir, `charts/${c}.svg`), 'utf8');
      assertWellFormed(svg);
      assert.doesNotMatch(svg, /<script/i);
      const png = readFileSync(path.join(dir, `charts/${c}.png`));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.deepEqual(pngSize(png), svgSize(svg), `${c}.png size`);
    }
    // Every class is named in the F1 and distribution charts, escaped in the markup.
    for (const c of ['f1', 'distribution']) {
      const texts = svgTexts(readFileSync(path.join(dir, `charts/${c}.svg`), 'utf8'));
      for (const label of classes) assert.ok(texts.includes(label), `${c}: ${label}`);
    }

    const html = readFileSync(path.join(dir, 'report.html'), 'utf8');
    assert.equal(html, out.html);
    assert.doesNotMatch(withoutXmlns(html), /https?:\/\//i, 'no external URLs');
    assert.doesNotMatch(html, /\s(src|href)=/i, 'nothing loaded from elsewhere');
    assert.equal(html.match(/<script/gi)?.length, 1, 'only the sorting script');
    for (const label of classes) assert.ok(html.includes(escape(label)), `table row for ${label}`);
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, 'evaluation.json'), 'utf8')), result);
  });
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

test('hostile strings in every text field are escaped in the HTML', () => {
  const r = makeResult({ classes: HOSTILE, seed: 2, features: ['<img src=x onerror=alert(1)>', 'ok'] });
  r.model.name = '<script>alert("model")</script>';
  r.data.source = 'http://evil.example/<b>';
  r.split.description = '</dd><script>x</script>';
  const html = renderHtml(r, []);
  assert.equal(html.match(/<script/gi)?.length, 1);
  assert.doesNotMatch(html, /<b>|<img|<\/dd><script/);
  assert.ok(html.includes('&lt;script&gt;alert(&quot;model&quot;)&lt;/script&gt;'));
  assert.ok(html.includes('&quot;&amp;&#39;'));
  assertWellFormed(html.replace(/<!DOCTYPE html>/, '').replace(/<meta[^>]*>/g, '').replace(/<style>[\s\S]*?<\/style>/, '').replace(/<script>[\s\S]*?<\/script>/, ''));
});

test('shuffled k-fold on ISCX data shows the near-duplicate warning; a blocked split does not', () => {
  const shuffled = makeResult({ classes: ['a', 'b'], source: 'data/ISCX-VPN-NonVPN-2016.parquet' });
  const html = renderHtml(shuffled, []);
  assert.ok(splitOverstates(shuffled));
  assert.match(html, /class="warn"/);
  assert.match(html, /Rows of one capture are near-duplicates; a shuffled split overstates accuracy/);
  assert.ok(html.includes(escape(shuffled.split.description)));
  const b = blocked(shuffled);
  assert.ok(!splitOverstates(b));
  assert.doesNotMatch(renderHtml(b, []), /class="warn"/);
  const synthetic = makeResult({ classes: ['a', 'b'], source: 'synthetic/blobs.csv' });
  assert.doesNotMatch(renderHtml(synthetic, []), /class="warn"/);
});

test('headline metrics and unknown answers are stated', () => {
  const r = makeResult({ classes: ['web', 'video', 'voip'], seed: 2 });
  const html = renderHtml(r, []);
  for (const k of ['accuracy', 'balanced accuracy', 'macro-F1', 'weighted-F1', 'top-2', 'top-3']) {
    assert.match(html, new RegExp(`<div class="k">${k}</div>`), k);
  }
  assert.ok(html.includes(`${(100 * r.accuracy).toFixed(1)}%`));
  assert.match(html, new RegExp(`${r.unknown.count} of [\\d,]+ rows`));
});

test('comparison table puts both splits side by side with differences', async (t) => {
  const r = makeResult({ classes: ['web', 'video', 'voip'], seed: 2 });
  const b = blocked(r);
  const table = renderComparison([r, b]);
  assert.ok(table.includes(escape(r.split.description)) && table.includes(escape(b.split.description)));
  assert.match(table, /shuffled split: optimistic/);
  const d = (100 * Math.abs(b.accuracy - r.accuracy)).toFixed(1);
  assert.ok(table.includes(d), `accuracy difference ${d}`);
  const out = await renderReport(r, tmp(t), { compareWith: [b], png: false });
  assert.match(out.html, /<h2>Comparison<\/h2>/);
  assert.ok(out.files.every((f) => !f.endsWith('.png')));
});

test('a result that is not a version-1 evaluation is rejected before writing', async (t) => {
  const dir = tmp(t);
  const bad = { ...makeResult({ classes: ['a', 'b'] }), version: 2 } as unknown as EvaluationResult;
  await assert.rejects(renderReport(bad, path.join(dir, 'x')), (e: unknown) => e instanceof ReportError && /version 2/.test(e.message));
  const short = { ...makeResult({ classes: ['a', 'b'] }), confusion: [[1, 2, 0]] };
  await assert.rejects(renderReport(short, path.join(dir, 'y')), /confusion has 1 rows for 2 classes/);
  assert.ok(!existsSync(path.join(dir, 'x')) && !existsSync(path.join(dir, 'y')));
});

test('sample report for eyeballing goes to test-artifacts/report-sample', async () => {
  const r = makeResult({ classes: [...HOSTILE, ...classNames(26)], curves: true, seed: 3 });
  const out = await renderReport(r, path.join(ROOT, 'test-artifacts/report-sample'), { compareWith: [blocked(r)] });
  assert.ok(out.files.some((f) => f.endsWith('confusion.png')));
});
