import { parseArgs } from 'node:util';
import { writeFile, access } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import {
  closeWorkers, crossValidate, cvEvaluation, evaluateModel, formatEvaluation, loadModel, makeSplit, modelInputs, prepareTraining,
  type EvaluationResult, type TrainConfig, type VeilModel,
} from '../model/index.ts';
import { columnStrings, getColumn, missingColumns, type Table } from '../dataset/index.ts';
import { overlap, rowHashes } from '../model/fingerprint.ts';
import { VeilError } from '../core/errors.ts';
import { CountProgress, SHARED_OPTIONS, columnOrderFrom, loadForCli, num, splitFromArgs, warnUntestable } from './train.ts';

const HELP = `usage: veil evaluate MODEL DATA [--label COL] [--report DIR] [--json FILE] [options]

Scores a model on labelled flows and prints accuracy, balanced accuracy, macro/weighted precision, recall and F1,
per-class scores, top-k accuracy and feature importance (impurity and permutation).

Without a split option the model is applied as it is to every row of DATA: use data it was not trained on.
With --folds/--group-by/--blocked/--holdout the model's recipe (same learner, parameters and columns) is
re-fitted and tested on DATA under that split, and the split is reported.

  -l, --label COL          label column (default: the one the model was trained on)
      --report DIR         write an HTML report with charts (SVG and PNG) into DIR
      --json FILE          write the EvaluationResult as JSON
      --unknown-below P    override the model's 'unknown' threshold (0 disables)
      --permutation-rows N rows sampled at most for permutation importance (default 20000; 0 skips it); rows,
                           repeats (up to 3) and features are cut to fit ~2.5e8 tree evaluations (~20 s), and
                           the summary says what was sampled
      --folds K | --group-by COL | --blocked K | --holdout P   re-fit under this split (see above)
      --seed S --threads N  for re-fitting
      --column-order P     fix (default) | refuse | keep
  -q, --quiet              no summary
`;

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...SHARED_OPTIONS,
      label: { type: 'string', short: 'l' },
      report: { type: 'string' },
      'permutation-rows': { type: 'string' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length !== 2) throw new VeilError('CLI_USAGE', 'give MODEL and DATA (see --help)');
  const [modelPath, dataPath] = positionals as [string, string];
  const quiet = Boolean(v.quiet);
  const model = await loadModel(modelPath);
  const m = model.manifest;
  const label = v.label ?? m.label;
  const unknownBelow = v['unknown-below'] === undefined ? undefined : num(v['unknown-below'], 'unknown-below', 0, (x) => x >= 0 && x < 1);
  const split = splitFromArgs(v);
  const loaded = await loadForCli(dataPath, columnOrderFrom(v['column-order']), quiet, [label]);
  const table = loaded.table;
  let result: EvaluationResult;
  try {
    if (split) {
      const progress = new CountProgress('evaluate', !quiet && Boolean(process.stderr.isTTY));
      const cfg: TrainConfig = {
        label,
        model: m.modelType,
        roles: { features: [...new Set(m.features.map((f) => f.source))], ...(split.kind === 'group' ? { groupBy: split.column } : {}) },
        textEncoding: m.preprocessing.textEncoding,
        ...(m.modelType === 'forest' ? { forest: m.params } : m.modelType === 'boosting' ? { boosting: m.params } : { nn: m.params }),
        seed: num(v.seed, 'seed', m.params.seed ?? 0),
        threads: num(v.threads, 'threads', availableParallelism(), (x) => Number.isInteger(x) && x >= 1),
        unknownBelow: unknownBelow ?? m.unknownBelow,
        maxBins: m.preprocessing.maxBins,
        name: m.name,
        onProgress: (stage, d, t) => progress.update(d, t, stage),
      };
      const prep = prepareTraining(table, cfg);
      const s = makeSplit(prep, split, cfg.seed);
      warnUntestable(s, prep.y, prep.classes, quiet);
      const cv = await crossValidate(prep, cfg, s);
      progress.done();
      result = cvEvaluation(prep, cv, cfg, model);
      result.model.path = modelPath;
    } else {
      const seen = trainingOverlap(model, table, label);
      if ((m.training.source === table.source && m.training.rows === table.rows) || seen >= 0.999) {
        process.stderr.write(`veil: warning: ${dataPath} is the model's training data: these scores are optimistic (use a split option or other data)\n`);
      } else if (seen >= 0.05) {
        process.stderr.write(`veil: warning: about ${Math.round(seen * 100)} % of the rows of ${dataPath} are the model's training rows ` +
          '(same inputs and label): these scores are optimistic (evaluate on rows the model did not learn from)\n');
      }
      const progress = new CountProgress('evaluate', !quiet && Boolean(process.stderr.isTTY));
      result = evaluateModel(model, table, {
        label,
        unknownBelow,
        onPermutationProgress: (done, s) => progress.update(done, s.features,
          `features permuted (permutation importance on ${s.rows} of ${s.labelledRows} rows, ${s.repeats} repeat${s.repeats > 1 ? 's' : ''})`),
        permutationRows: num(v['permutation-rows'], 'permutation-rows', 20_000, (x) => Number.isInteger(x) && x >= 0),
        seed: num(v.seed, 'seed', 0),
        modelPath,
      });
      progress.done();
    }
  } finally {
    await closeWorkers();
  }
  if (!quiet) process.stdout.write(`model: ${modelPath} (${m.modelType}, trained on ${m.training.source})\n${formatEvaluation(result)}`);
  if (v.json) await writeFile(v.json, JSON.stringify(result, null, 2) + '\n');
  if (v.report) {
    const url = new URL(`../report/index.${import.meta.url.endsWith('.js') ? 'js' : 'ts'}`, import.meta.url);
    try {
      await access(url);
    } catch {
      throw new VeilError('CLI_USAGE', '--report needs src/report, which this build does not have');
    }
    const mod = (await import(url.href)) as { renderReport(r: EvaluationResult, dir: string): Promise<unknown> };
    const rendered = (await mod.renderReport(result, v.report)) as { warnings?: string[] } | undefined;
    for (const w of rendered?.warnings ?? []) process.stderr.write(`veil: report: ${w}\n`);
    if (!quiet) process.stdout.write(`report: ${v.report}/report.html\n`);
  }
  return 0;
}

/**
 * Share of the table's rows that are the model's training rows, by the fingerprint its manifest keeps (0 for
 * models trained before fingerprints, or a table without the model's inputs or label).
 */
function trainingOverlap(model: VeilModel, table: Table, label: string): number {
  const sketch = model.manifest.training.rowSketch;
  if (!sketch || !getColumn(table, label) || missingColumns(table, model.manifest.features).length) return 0;
  const hashes = rowHashes(modelInputs(model, table), columnStrings(getColumn(table, label)!));
  return overlap(sketch, hashes).ofData;
}
