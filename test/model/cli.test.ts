import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTable, writeTable, withColumn, stringColumn, columnStrings, requireColumn, tableToCsv } from '../../src/dataset/index.ts';
import { loadModel, type EvaluationResult } from '../../src/model/index.ts';
import { run as train } from '../../src/cli/train.ts';
import { run as evaluate } from '../../src/cli/evaluate.ts';
import { run as predict } from '../../src/cli/predict.ts';
import { generatedTable } from './helpers.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

test('veil train --folds, evaluate --json --report and predict on a flow table', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-cli-'));
  const data = path.join(dir, 'flows.csv');
  const test2 = path.join(dir, 'test.csv');
  await writeFile(data, tableToCsv(generatedTable(900, 3, 41)));
  await writeFile(test2, tableToCsv(generatedTable(300, 3, 41, 'test.csv', 5)));
  const model = path.join(dir, 'm.veil');
  const cvJson = path.join(dir, 'cv.json');
  assert.equal(await quietly(() => train([data, '--label', 'app', '--model', 'boosting', '--max-iter', '20', '--folds', '3', '--threads', '1', '--unknown-below', '0.3', '--json', cvJson, '-o', model])), 0);
  const cv = JSON.parse(await readFile(cvJson, 'utf8')) as EvaluationResult;
  assert.equal(cv.split.kind, 'kfold');
  assert.equal(cv.split.folds, 3);
  assert.ok(cv.accuracy > 0.85);
  const m = await loadModel(model);
  assert.equal(m.manifest.metrics?.split.kind, 'kfold');
  assert.equal(m.manifest.unknownBelow, 0.3);

  const evJson = path.join(dir, 'ev.json');
  const report = path.join(dir, 'report');
  const hasReport = await access(path.resolve(HERE, '../../src/report/index.ts')).then(() => true, () => false);
  assert.equal(await quietly(() => evaluate([model, test2, '--json', evJson, '-q', ...(hasReport ? ['--report', report] : [])])), 0);
  const ev = JSON.parse(await readFile(evJson, 'utf8')) as EvaluationResult;
  assert.equal(ev.kind, 'veil-evaluation');
  assert.equal(ev.split.kind, 'none');
  assert.equal(ev.data.rows, 300);
  assert.ok(ev.featureImportance.some((f) => f.permutation > 0));
  if (hasReport) await access(path.join(report, 'report.html'));

  // evaluate with a split re-fits the model's recipe and reports that split.
  const blocked = path.join(dir, 'blocked.json');
  assert.equal(await quietly(() => evaluate([model, data, '--blocked', '3', '--threads', '1', '--json', blocked, '-q'])), 0);
  assert.equal((JSON.parse(await readFile(blocked, 'utf8')) as EvaluationResult).split.kind, 'blocked');

  const out = path.join(dir, 'pred.jsonl');
  assert.equal(await quietly(() => predict([model, test2, '-o', out, '-q'])), 0);
  const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.length, 300);
  assert.deepEqual(Object.keys(lines[0]!), ['id_flow', 'id_capture', 'm.label', 'm.confidence', 'm.unknown', 'm.unknown_reason']);
});

test('veil predict refuses a table lacking the model columns, naming them', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-cli-'));
  const data = path.join(dir, 'flows.csv');
  await writeFile(data, tableToCsv(generatedTable(300, 3, 42)));
  const model = path.join(dir, 'm.veil');
  await quietly(() => train([data, '--label', 'app', '--model', 'forest', '--trees', '5', '--threads', '1', '-q', '-o', model]));
  const partial = path.join(dir, 'partial.csv');
  await writeFile(partial, 'f0,f1,f2\n1,2,3\n');
  await assert.rejects(predict([model, partial, '-o', path.join(dir, 'p.csv'), '-q']), /lacks 6 column\(s\) the model .* was trained on: f3, f4, f5, f6, f7, f8/);
});

test('veil predict on a capture extracts flows and classifies them', async () => {
  const pcap = path.resolve(HERE, '../fixtures/flow/scenario.pcap');
  const exists = await access(pcap).then(() => true, () => false);
  const flowModule = await access(path.resolve(HERE, '../../src/flow/index.ts')).then(() => true, () => false);
  if (!exists || !flowModule) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'veil-cli-'));
  // Label the capture's own flows by transport, train on them, then predict straight from the capture.
  const { extractFlows } = await import('../../src/flow/index.ts');
  const flowsCsv = path.join(dir, 'flows.csv');
  const rows: string[] = [];
  let header = '';
  await extractFlows({ path: pcap }, {}, (row, cols) => {
    header ||= cols.map((c) => c.name).join(',');
    rows.push(row.map((v) => (v === null ? '' : typeof v === 'string' && /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : String(v))).join(','));
  });
  await writeFile(flowsCsv, `${header}\n${rows.join('\n')}\n`);
  const t = (await loadTable(flowsCsv)).table;
  const proto = columnStrings(requireColumn(t, 'id_protocol')).map((p) => (p === '6' ? 'tcp' : 'other'));
  const labelled = path.join(dir, 'labelled.csv');
  await writeTable(withColumn(t, stringColumn('transport', proto)), labelled);
  const model = path.join(dir, 'm.veil');
  await quietly(() => train([labelled, '--label', 'transport', '--model', 'forest', '--trees', '5', '--threads', '1', '-q', '-o', model]));
  const out = path.join(dir, 'pred.csv');
  assert.equal(await predict([model, pcap, '-o', out, '-q']), 0);
  const pred = (await loadTable(out)).table;
  assert.equal(pred.rows, t.rows);
  assert.ok(pred.columns.some((c) => c.name === 'id_src_addr'));
  assert.ok(pred.columns.some((c) => c.name === 'm.label'));

  // A capture cut short: the flows before the damage are predicted, the damage is reported, the exit code is 1.
  const bytes = await readFile(pcap);
  const cut = path.join(dir, 'cut.pcap');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  const outCut = path.join(dir, 'pred-cut.csv');
  const errs: string[] = [];
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => { errs.push(String(chunk)); return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await predict([model, cut, '-o', outCut, '-q']);
  } finally {
    process.stderr.write = errWrite;
  }
  assert.equal(code, 1);
  assert.match(errs.join(''), /cut\.pcap: truncated record: .* at byte offset \d+; the \d+ flows before it were predicted/);
  const predCut = (await loadTable(outCut)).table;
  assert.ok(predCut.rows > 0 && predCut.rows <= t.rows, `${predCut.rows} flows before the cut`);
});
