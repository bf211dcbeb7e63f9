import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { VeilError } from '../wire/errors.ts';
import { parseLabelFrom } from '../dataset/labels.ts';
import { METER_ARG_OPTIONS } from './extract.ts';
import { chooseLearner, LEARN_EXCLUDED } from '../learn/pipeline.ts';

const HELP = `usage: veil learn CAPTURE|DIR...|TABLE -o MODEL [options]

Teaches Veil your own network in one step: labels the flows of your captures (by default by the names they show:
server name, certificate, HTTP Host, DNS answer, strong port conventions, through the service catalogue), trains a
model on their behaviour alone (no name, address, port or text column is ever learnt from), and prints and stores
its evaluation on captures it was not trained on (grouped by capture). The model then recognises the application
or category where the name is hidden (ECH, VPN tunnels, name-less QUIC): 'veil classify --model MODEL'.

  -o, --output MODEL       model file to write (required); its grouped evaluation goes to MODEL.evaluation.json
      --target T           app (the service, default) or category: what the names label
      --label-from WHAT    names (default: the --target the flows' names show), dir (captures/netflix/x.pcap ->
                           netflix) or name (netflix-3.pcap -> netflix); --labels CSV and --rules FILE win over it
      --labels CSV, --rules FILE, --catalog FILE   as for 'veil dataset build'
      --table FILE         keep the labelled flow table there (default: a temporary file, removed)
  a table instead of captures (CSV, JSONL, Parquet, ARFF, e.g. from 'veil dataset build'):
      --label COL          its label column (default label)
      --group-by COL       its group column (default id_capture)
  learning:
      --model M            boosting or forest (default: boosting up to 20 classes, the forest above: boosting fits a
                           tree per class and round, and on the real captures of bench/names-hidden.ts, 133
                           applications, the forest scores level with it and XGBoost in a tenth of the time),
                           or any model of 'veil train'
      --folds K            grouped folds (default 5)
      --seed S, --threads N, --no-guard, --trees N, --max-iter N   as for 'veil train'
  metering (captures): --idle-timeout S (120), --active-timeout S (1800), --features ... as for 'veil extract';
                       the model records the timeouts, so classify and the service meter captures the same way
  -q, --quiet              no progress and no summary
`;

const TABLE = /\.(csv|tsv|jsonl|ndjson|json|parquet|arff)(\.gz)?$/i;

function usage(msg: string): VeilError {
  return new VeilError('CLI_USAGE', `${msg} (see veil learn --help)`);
}

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...METER_ARG_OPTIONS,
      output: { type: 'string', short: 'o' },
      target: { type: 'string' },
      'label-from': { type: 'string' },
      labels: { type: 'string' },
      rules: { type: 'string' },
      catalog: { type: 'string', multiple: true },
      table: { type: 'string' },
      label: { type: 'string' },
      'group-by': { type: 'string' },
      model: { type: 'string' },
      folds: { type: 'string' },
      seed: { type: 'string' },
      threads: { type: 'string' },
      trees: { type: 'string' },
      'max-iter': { type: 'string' },
      'no-guard': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (!positionals.length) throw usage('give captures, folders of captures, or one flow table');
  if (!v.output) throw usage('-o MODEL is required');
  for (const opt of ['interface', 'workers', 'anonymize'] as const) if (v[opt]) throw usage(`--${opt} is not for learn`);
  const target = v.target ?? 'app';
  if (target !== 'app' && target !== 'category') throw usage(`--target: app or category (got '${target}')`);
  const isTable = positionals.map((p) => TABLE.test(p) && !isDir(p));
  if (isTable.some(Boolean) && (positionals.length > 1 || !isTable[0])) throw usage('give either captures and folders of captures, or one flow table');

  const pass = (names: readonly string[]): string[] =>
    names.flatMap((n) => {
      const x = (v as Record<string, unknown>)[n];
      if (x === undefined || x === false) return [];
      if (x === true) return [`--${n}`];
      return (Array.isArray(x) ? x : [x]).flatMap((y) => [`--${n}`, String(y)]);
    });
  const quiet = v.quiet ? ['-q'] : [];
  const say = (s: string): void => { if (!v.quiet) process.stderr.write(s); };

  let tmp: string | null = null;
  let table: string;
  let label = v.label ?? 'label';
  const group = v['group-by'] ?? 'id_capture';
  const meterArgs: string[] = [];
  let classes = 0;
  try {
    if (isTable[0]) {
      table = positionals[0]!;
    } else {
      const from = v['label-from'] === undefined || v['label-from'] === 'names' ? `names:${target}` : v['label-from'];
      if (!parseLabelFrom(from)) throw usage(`--label-from: names, dir or name (got '${v['label-from']}')`);
      if (v.label) throw usage('--label is for a table input; captures are labelled by --label-from, --labels or --rules');
      if (v.table) table = v.table;
      else { tmp = mkdtempSync(path.join(tmpdir(), 'veil-learn-')); table = path.join(tmp, 'flows.csv'); }
      label = 'label';
      say(`veil learn: labelling flows (${from}${v.rules ? ', rules' : ''}${v.labels ? ', labels CSV' : ''})\n`);
      const dataset = await import('./dataset.ts');
      const code = await dataset.run([
        'build', ...positionals, '-o', table, '--label-from', from,
        ...pass(['labels', 'rules', 'catalog', 'features', 'idle-timeout', 'active-timeout', 'activity-timeout', 'sequence-length', 'filter']), ...quiet,
      ]);
      if (code !== 0 && !existsNonEmpty(table)) return code;
      if (code !== 0) say('veil learn: some captures failed (above); learning from the flows of the others\n');
      classes = await checkLabels(table, positionals, from);
      // The model records how its flows were cut, so classify and the service meter captures the same way.
      meterArgs.push('--meter-idle-timeout', v['idle-timeout'] ?? '120', '--meter-active-timeout', v['active-timeout'] ?? '1800');
    }
    say(`veil learn: training on behaviour alone, evaluated on held-out captures (grouped by ${group})\n`);
    const train = await import('./train.ts');
    return await train.run([
      table, '--label', label, '--group-by', group, '-o', v.output, '--json', `${v.output}.evaluation.json`,
      // The columns training jobs never learn from either (src/learn/pipeline.ts); a table input must have them.
      ...LEARN_EXCLUDED.flatMap((c) => ['--exclude', c]),
      '--model', v.model ?? (v.trees ? 'forest' : v['max-iter'] ? 'boosting' : chooseLearner('auto', classes)),
      ...pass(['folds', 'seed', 'threads', 'trees', 'max-iter', 'no-guard']), ...meterArgs, ...quiet,
    ]);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}


/** The number of classes (two or more), or a clear error naming the inputs and what to do. */
async function checkLabels(table: string, inputs: readonly string[], from: string): Promise<number> {
  const counts = new Map<string, number>();
  if (existsNonEmpty(table)) {
    const { loadTable, requireColumn, columnStrings } = await import('../dataset/index.ts');
    const { table: t } = await loadTable(table, { textColumns: ['label'] });
    if (t.rows) for (const v of columnStrings(requireColumn(t, 'label'))) if (v) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const what = inputs.length === 1 ? inputs[0] : `${inputs[0]} and ${inputs.length - 1} more`;
  const how = from.startsWith('names') ? 'no flow showed a catalogued name' : `no flow got a label from --label-from ${from}`;
  if (counts.size === 0) {
    throw new VeilError('NO_LABELS', `${what}: no flow was labelled (${how}): give --rules, --labels or --label-from dir, or your own services with --catalog`);
  }
  if (counts.size === 1) {
    const [label, n] = [...counts][0]!;
    throw new VeilError('ONE_CLASS', `${what}: every labelled flow is '${label}' (${n} flows): learning needs two classes or more`);
  }
  return counts.size;
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

function existsNonEmpty(p: string): boolean {
  try { return statSync(p).size > 0; } catch { return false; }
}
