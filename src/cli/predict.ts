import { rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { makeTable, openTableWriter, streamTable, type Table } from '../dataset/index.ts';
import { flowRowsToTable } from '../dataset/flows.ts';
import { loadModel, predictTable, predictionTable } from '../model/index.ts';
import { VeilError } from '../wire/errors.ts';
import { CountProgress, columnOrderFrom, num } from './train.ts';

const HELP = `usage: veil predict MODEL DATA -o OUT [options]

Applies a model to flows and writes, per flow, the input's identity columns (id_*, addresses, ports, times), the
predicted label (or 'unknown'), its calibrated confidence and the three most probable classes with their
probabilities. DATA is a flow table (CSV, JSONL, Parquet, ARFF), read in chunks, or a capture (.pcap, .pcapng,
.cap): flows are extracted and classified as they end. OUT: .csv, .jsonl or .parquet; '-' writes CSV to stdout.

  -o, --output OUT         output file (required; '-' for standard output)
      --unknown-below P    override the model's 'unknown' threshold (0 disables)
      --chunk-rows N       rows per chunk (default 65536)
      --column-order P     fix (default) | refuse | keep
      --verdict            add the flow verdict (app, app_source, category, category_source, category_confidence):
                           names and port conventions from the service catalogue first, then this model's answer
                           if sure, else unknown (the input needs the tls_*/name_* columns: a capture or veil extract output)
      --catalog FILE       your service catalogue merged over the shipped one (repeatable; implies --verdict)
  capture input: --idle-timeout S --active-timeout S --activity-timeout S (as in veil extract)
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
  const model = await loadModel(modelPath);
  const unknownBelow = v['unknown-below'] === undefined ? undefined : num(v['unknown-below'], 'unknown-below', 0, (x) => x >= 0 && x < 1);
  const chunkRows = num(v['chunk-rows'], 'chunk-rows', 65536, (x) => Number.isInteger(x) && x >= 1);
  const catalog = v.verdict || v.catalog?.length ? (await import('../names/index.ts')).loadCatalog(v.catalog ?? []) : null;
  const verdict = catalog ? await import('../dataset/verdict.ts') : null;
  const writer = openTableWriter(v.output);
  const progress = new CountProgress('predict', !quiet && Boolean(process.stderr.isTTY) && v.output !== '-');
  const counts = new Map<string, number>();
  let rows = 0;
  const handle = async (t: Table): Promise<void> => {
    if (!t.rows) return;
    const pred = predictTable(model, t, { unknownBelow });
    let out = predictionTable(model, t, pred);
    const labels: string[] = new Array(pred.label.length);
    for (let i = 0; i < pred.label.length; i++) {
      const l = pred.label[i]!;
      const name = l < 0 ? 'unknown' : model.manifest.classes[l]!;
      labels[i] = name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    if (verdict && catalog) out = makeTable(out.source, [...out.columns, ...verdict.verdictTable(t, catalog, labels, pred.confidence).columns]);
    rows += t.rows;
    await writer.write(out);
  };
  let damage: string | null = null;
  let thrown = true;
  try {
    if (CAPTURE.test(dataPath)) {
      damage = await predictCapture(dataPath, v, chunkRows, handle, (n) => progress.update(n, n, 'flows'));
    } else {
      for await (const chunk of streamTable(dataPath, {
        chunkRows,
        columnOrder: columnOrderFrom(v['column-order']),
        warn: (m) => { if (!quiet || m.startsWith('WARNING')) process.stderr.write(`veil: ${m}\n`); },
      })) {
        await handle(chunk);
        progress.update(rows, rows, 'rows');
      }
    }
    thrown = false;
  } finally {
    progress.done();
    await writer.close();
    // A run that failed before any flow leaves no empty (or header-only) output behind.
    if ((thrown || damage) && rows === 0 && v.output !== '-') await rm(v.output, { force: true });
  }
  if (damage && rows === 0) {
    process.stderr.write(`veil: ${damage}\n`);
    return 1;
  }
  if (!quiet && v.output !== '-') {
    const summary = [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    process.stderr.write(`predicted ${rows} flows -> ${v.output}${summary ? `: ${summary}` : ''}\n`);
  }
  if (damage) {
    process.stderr.write(`veil: ${damage}\n`);
    return 1;
  }
  return 0;
}

type Cell = number | string | boolean | null;

/**
 * Extracts flows from a capture with the flow meter (src/flow) and classifies them in chunks as they end.
 */
async function predictCapture(
  path: string, v: Record<string, unknown>, chunkRows: number,
  handle: (t: Table) => Promise<void>, onRows: (n: number) => void,
): Promise<string | null> {
  let flow: typeof import('../flow/index.ts');
  let extract: typeof import('./extract.ts');
  try {
    flow = await import('../flow/index.ts');
    extract = await import('./extract.ts');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new VeilError('CLI_USAGE', 'capture input needs src/flow, which this build does not have');
    }
    throw e;
  }
  const { catalog: _catalog, ...flags } = v;
  const meter = extract.meterOptionsFrom(flags as Record<string, string | boolean | undefined>);
  let cols: readonly import('../flow/index.ts').ColumnDef[] = [];
  let buf: Cell[][] = [];
  let total = 0;
  let pending: Promise<void> = Promise.resolve();
  const flush = (): void => {
    if (!buf.length) return;
    const rows = buf;
    buf = [];
    const table = flowRowsToTable(path, cols, rows);
    total += rows.length;
    onRows(total);
    pending = pending.then(() => handle(table));
  };
  const summary = await flow.extractFlows({ path }, meter, (row, columns) => {
    if (!cols.length) cols = columns;
    buf.push(row.slice() as Cell[]);
    if (buf.length >= chunkRows) flush();
  });
  flush();
  await pending;
  // Damage stops the read (as in `veil extract`): the flows before it are predicted, and the caller says so.
  return summary.capture.error ? `${summary.capture.error.message}; the ${summary.flows} flows before it were predicted` : null;
}




