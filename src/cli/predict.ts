import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { streamTable } from '../dataset/index.ts';
import { loadModel } from '../model/index.ts';
import { answerModel, classifyCapture, tableAnswerPlan, type AnswerBatch } from '../classify/capture.ts';
import type { AnswerColumn } from '../classify/layout.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { VeilError } from '../core/errors.ts';
import { CountProgress, columnOrderFrom, num } from './train.ts';

const HELP = `usage: veil predict MODEL DATA -o OUT [options]

Applies a model to flows and writes its answers in the answer layout of veil classify (docs/ANSWERS.md): per flow
the input's identity columns (id_*, addresses, ports, times), packets, bytes and duration, the handshake names, the
verdict (captures; tables with --verdict), then NAME.label (or 'unknown'), NAME.confidence, NAME.unknown and
NAME.unknown_reason, NAME being the model file's name. DATA is a flow table (CSV, JSONL, Parquet, ARFF), read in
chunks, or a capture (.pcap, .pcapng, .cap): it is metered with the flow timeouts the model records (as veil
classify does) and its flows answered as they end. OUT: .csv, .jsonl or .parquet; '-' writes CSV to stdout.

  -o, --output OUT         output file (required; '-' for standard output)
      --unknown-below P    override the model's 'unknown' threshold (0 disables)
      --chunk-rows N       rows per chunk (default 65536)
      --column-order P     fix (default) | refuse | keep
      --verdict            add the flow verdict (app, app_source, category, category_source, category_confidence):
                           names and port conventions from the service catalogue first, then this model's answer
                           if sure, else unknown (the input needs the tls_*/name_* columns: a capture or veil extract output)
      --catalog FILE       your service catalogue merged over the shipped one (repeatable; implies --verdict)
  capture input: --idle-timeout S --active-timeout S (default: the ones the model records, else 120 and 1800),
                 --activity-timeout S (as in veil extract)
  -q, --quiet              no progress
`;

const CAPTURE = /\.(pcap|pcapng|cap)(\.gz)?$/i;

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      'unknown-below': { type: 'string' },
      'chunk-rows': { type: 'string' },
      'column-order': { type: 'string' },
      'idle-timeout': { type: 'string' },
      'active-timeout': { type: 'string' },
      'activity-timeout': { type: 'string' },
      verdict: { type: 'boolean' },
      catalog: { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (positionals.length !== 2) throw new VeilError('CLI_USAGE', 'give MODEL and DATA (see --help)');
  if (!v.output) throw new VeilError('CLI_USAGE', '-o OUT is required (see --help)');
  const [modelPath, dataPath] = positionals as [string, string];
  const quiet = Boolean(v.quiet);
  const loaded = await loadModel(modelPath);
  const unknownBelow = v['unknown-below'] === undefined ? undefined : num(v['unknown-below'], 'unknown-below', 0, (x) => x >= 0 && x < 1);
  const chunkRows = num(v['chunk-rows'], 'chunk-rows', 65536, (x) => Number.isInteger(x) && x >= 1);
  const model = answerModel(path.basename(modelPath).replace(/\.[^.]+$/, ''), loaded, { unknownBelow });
  const names = await import('../names/index.ts');
  const catalog = v.verdict || v.catalog?.length ? names.loadCatalog(v.catalog ?? []) : null;
  const out = v.output;
  const format = formatFor(out);
  let writer: RowWriter | null = null;
  const open = (columns: readonly AnswerColumn[]): RowWriter => (writer ??= openWriter(out, format, columns.map(({ group: _g, model: _m, ...c }) => c)));
  const progress = new CountProgress('predict', !quiet && Boolean(process.stderr.isTTY) && out !== '-');
  const counts = new Map<string, number>();
  let rows = 0;
  const handle = (b: AnswerBatch): void => {
    const w = open(b.columns);
    for (const r of b.rows) w.write(r);
    for (const l of b.answers[0]!.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    rows += b.rows.length;
    progress.update(rows, rows, CAPTURE.test(dataPath) ? 'flows' : 'rows');
  };
  let damage: string | null = null;
  let thrown = true;
  try {
    if (CAPTURE.test(dataPath)) {
      const { table: user, ...meter } = (await import('./extract.ts')).meterOptionsFrom(v as Record<string, string | boolean | undefined>);
      const s = await classifyCapture({ path: dataPath }, [model], {
        catalog: catalog ?? names.loadCatalog([]),
        meter,
        timeouts: {
          ...(v['idle-timeout'] !== undefined ? { idleTimeoutUs: user!.idleTimeoutUs! } : {}),
          ...(v['active-timeout'] !== undefined ? { activeTimeoutUs: user!.activeTimeoutUs! } : {}),
        },
        batchRows: chunkRows,
        warn: (m) => process.stderr.write(`veil: ${m}\n`),
        onBatch: handle,
      });
      open(s.answerColumns);
      // Damage stops the read (as in `veil extract`): the flows before it are predicted, and the caller says so.
      if (s.capture.error) damage = `${s.capture.error.message}; the ${s.flows} flows before it were predicted`;
    } else {
      let plan: ReturnType<typeof tableAnswerPlan> | null = null;
      for await (const chunk of streamTable(dataPath, {
        chunkRows,
        columnOrder: columnOrderFrom(v['column-order']),
        warn: (m) => { if (!quiet || m.startsWith('WARNING')) process.stderr.write(`veil: ${m}\n`); },
      })) {
        plan ??= tableAnswerPlan(chunk, [model], { catalog, identity: loaded.manifest.identityColumns });
        if (chunk.rows) handle(plan.answer(chunk));
      }
      if (plan) open(plan.columns);
    }
    thrown = false;
  } finally {
    progress.done();
    if (writer) await (writer as RowWriter).close();
    // A run that failed before any flow leaves no empty (or header-only) output behind.
    if ((thrown || damage) && rows === 0 && out !== '-') await rm(out, { force: true });
  }
  if (damage && rows === 0) {
    process.stderr.write(`veil: ${damage}\n`);
    return 1;
  }
  if (!quiet && out !== '-') {
    const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    process.stderr.write(`predicted ${rows} flows -> ${out}${summary ? `: ${summary}` : ''}\n`);
  }
  if (damage) {
    process.stderr.write(`veil: ${damage}\n`);
    return 1;
  }
  return 0;
}
