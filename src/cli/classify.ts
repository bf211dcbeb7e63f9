import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractFlows, type MeterOptions } from '../flow/meter.ts';
import { col, type CellValue, type ColumnDef } from '../flow/columns.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { flowRowsToTable } from '../dataset/flows.ts';
import { loadModel, modelInputs, predictColumns, type VeilModel } from '../model/index.ts';
import { meterTimeoutsFor } from '../model/meter.ts';
import { VeilError } from '../wire/errors.ts';
import { captureTotalBytes } from '../wire/reader.ts';
import { loadCatalog, nameColumns, namesAt, type Catalog, type ModelAnswer } from '../names/index.ts';
import { VERDICT_COLUMNS, verdictCells } from '../dataset/verdict.ts';
import { METER_ARG_OPTIONS, meterOptionsFrom, formatSkipped } from './extract.ts';
import { formatBytes, formatRate, Progress } from './progress.ts';
import { onStopSignals } from './signals.ts';

const DEFAULT_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

const HELP = `usage: veil classify CAPTURE... | - | --interface IFACE [options]

Meters the capture and names each flow: the application and category from the names it shows in the clear (TLS/QUIC
server name, certificate, HTTP Host, DNS answers) against the service catalogue, else a port convention, else the
behaviour model's category if it is sure, else 'unknown' (app_source / category_source say which). The models'
own answers (shipped: model_category, vpn) stay beside the verdict so disagreements show. A table on a terminal,
CSV/JSONL/Parquet with -o; a summary (traffic by application and category, flows and bytes) at the end.

  -m, --model FILE[=COLUMN]  apply this model too, its answer in COLUMN (default: the file's name), repeatable
      --no-defaults          do not apply the shipped models
      --models-dir DIR       where the shipped models and defaults.json live (default: models/ of this package)
      --unknown-below P      answer 'unknown' below calibrated confidence P (default: each model's own setting)
      --catalog FILE         your service catalogue (schema: src/names/catalog/services.schema.json), merged over the
                             shipped one, yours winning on conflict (repeatable); 'veil services' shows the shipped one
  -o, --output FILE          write every flow with its answers (format from the extension, or --format)
      --format F             csv | jsonl | parquet
  -i, --interface IFACE      classify live traffic as flows end (tcpdump or dumpcap); --filter BPF
      --early N              with --interface: also an early verdict at each flow's N-th packet (lines marked
                             'early'; its behaviour side from a model trained with 'veil train --early N'); with -o,
                             the early verdicts go to FILE.early.jsonl
      --quiet                no table, progress or summary
Meter options as for 'veil extract'; by default the flow timeouts the models' training flows were cut with (their
manifests record them: 15 s for the shipped models).
`;

interface Applied {
  column: string;
  model: VeilModel;
}

interface DefaultsFile {
  models: { column: string; file: string }[];
}

/** The shipped models (models/defaults.json) that exist. */
export async function loadDefaults(dir: string): Promise<{ applied: Applied[] }> {
  const file = path.join(dir, 'defaults.json');
  if (!existsSync(file)) return { applied: [] };
  const d = JSON.parse(readFileSync(file, 'utf8')) as DefaultsFile;
  const applied: Applied[] = [];
  for (const m of d.models) {
    const p = path.join(dir, m.file);
    if (existsSync(p)) applied.push({ column: m.column, model: await loadModel(p) });
  }
  return { applied };
}

/** Output columns: who talked, how much, the handshake facts and names, the verdict, then each model's own answer. */
const SHOWN = ['id_flow', 'id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol', 'id_first_ts', 'id_last_ts',
  'id_end_reason', 'id_capture', 'fwd_pkts', 'bwd_pkts', 'fwd_bytes', 'bwd_bytes', 'tls_sni', 'tls_alpn', 'tls_alpn_offered', 'tls_ja4',
  'name_http_host', 'name_dns'];

/** The model whose answer is the behaviour side of the verdict, and the column its own answer is written in. */
const BEHAVIOUR_COLUMN = 'category';
const BEHAVIOUR_OUTPUT = 'model_category';
/** A model's column as written: the behaviour model's as model_category, any other clashing with a verdict column
 * prefixed with model_. */
const outputColumn = (c: string) => (c === BEHAVIOUR_COLUMN ? BEHAVIOUR_OUTPUT : VERDICT_COLUMNS.some((v) => v.name === c || `${v.name}_confidence` === c) ? `model_${c}` : c);

export async function run(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: {
      ...METER_ARG_OPTIONS,
      model: { type: 'string', short: 'm', multiple: true }, 'no-defaults': { type: 'boolean' }, 'models-dir': { type: 'string' },
      'unknown-below': { type: 'string' }, output: { type: 'string', short: 'o' }, format: { type: 'string' },
      catalog: { type: 'string', multiple: true },
      quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (!positionals.length && !v.interface) { process.stderr.write(HELP); return 2; }
  const unknownBelow = v['unknown-below'] !== undefined ? Number(v['unknown-below']) : undefined;
  if (unknownBelow !== undefined && !(unknownBelow >= 0 && unknownBelow < 1)) throw new VeilError('BAD_ARGUMENT', `--unknown-below must be in [0, 1), got '${v['unknown-below']}'`);

  const catalog: Catalog = loadCatalog(v.catalog ?? []);
  const defaults = v['no-defaults'] ? { applied: [] } : await loadDefaults(v['models-dir'] ?? DEFAULT_DIR);
  const applied: Applied[] = [...defaults.applied];
  for (const spec of v.model ?? []) {
    const [file, column] = spec.split('=') as [string, string | undefined];
    applied.push({ column: column || path.basename(file).replace(/\.[^.]+$/, ''), model: await loadModel(file) });
  }
  // Models trained on flows cut at N packets give early verdicts only (src/live); never applied to whole flows.
  const early = v.early !== undefined && v.interface ? await import('../live/index.ts') : null;
  const earlyModels = applied.filter((a) => (a.model.manifest.meter?.earlyPackets ?? 0) > 0);
  if (earlyModels.length) applied.splice(0, applied.length, ...applied.filter((a) => !earlyModels.includes(a)));
  if (!applied.length) {
    process.stderr.write(`veil: no model to apply: the shipped models are missing from ${v['models-dir'] ?? DEFAULT_DIR} (npm run models:build) and no --model was given; writing flows with their handshake facts only\n`);
  }
  // Models learnt from flows cut at some timeouts (their manifests say which): meter the same way unless told.
  const timeouts = meterTimeoutsFor(applied.map((a) => a.model.manifest.meter));
  if (timeouts.conflict && !quietFlag(v)) process.stderr.write('veil: the models were trained on flows cut with different timeouts; metering with the first model\'s\n');
  const meter: MeterOptions = meterOptionsFrom({
    ...(timeouts.from?.activeTimeoutS ? { 'active-timeout': String(timeouts.from.activeTimeoutS) } : {}),
    ...(timeouts.from?.idleTimeoutS ? { 'idle-timeout': String(timeouts.from.idleTimeoutS) } : {}),
    ...(v as Record<string, string | boolean | undefined>),
  });

  const quiet = Boolean(v.quiet);
  const table = !v.output && !quiet && Boolean(process.stdout.isTTY);
  const out = v.output ?? (table ? null : '-');
  const format = out ? formatFor(out, v.format) : 'csv';
  const behaviour = applied.findLastIndex((a) => a.column === BEHAVIOUR_COLUMN);
  const summary = new Summary(['application', 'category', ...applied.map((a) => outputColumn(a.column))]);
  let nameCols: ReturnType<typeof nameColumns> | null = null;
  let writer: RowWriter | null = null;
  let outCols: ColumnDef[] = [];
  let buf: CellValue[][] = [];
  let columns: ColumnDef[] = [];
  let idx: number[] = [];
  let printedHeader = false;

  const flush = (): void => {
    if (!buf.length) return;
    const rows = buf;
    buf = [];
    const t = flowRowsToTable('flows', columns, rows);
    const answers = applied.map((a) => {
      const p = predictColumns(a.model, modelInputs(a.model, t), unknownBelow !== undefined ? { unknownBelow } : {});
      return { classes: a.model.manifest.classes, p };
    });
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const o: CellValue[] = idx.map((j) => (j < 0 ? '' : r[j]!));
      const labels: string[] = [];
      let model: ModelAnswer | null = null;
      const reasons: string[] = [];
      answers.forEach(({ classes, p }, k) => {
        const l = p.label[i]!;
        const name = l < 0 ? 'unknown' : classes[l]!;
        labels.push(name);
        reasons.push(p.reason[i] ? p.reasonNames[p.reason[i]!]! : '');
        if (k === behaviour) model = { label: name, confidence: p.confidence[i]!, unknownReason: reasons[k]! };
      });
      const verdict = verdictCells(namesAt(r, nameCols!), catalog, model);
      o.push(...verdict);
      answers.forEach(({ p }, k) => o.push(labels[k]!, Math.round(p.confidence[i]! * 1000) / 1000, reasons[k]!));
      const bytes = (r[idx[12]!] as number) + (r[idx[13]!] as number);
      summary.add([String(verdict[0]) || '(none)', String(verdict[2]), ...labels], bytes);
      if (writer) writer.write(o);
      if (table) {
        if (!printedHeader) { process.stdout.write(tableHeader(applied.map((a) => outputColumn(a.column))) + '\n'); printedHeader = true; }
        process.stdout.write(tableRow(o, applied.length) + '\n');
      }
    }
  };

  const onRow = (row: CellValue[], cols: ColumnDef[]): void => {
    if (!columns.length) {
      columns = cols;
      const byName = new Map(cols.map((c, i) => [c.name, i]));
      idx = SHOWN.map((n) => byName.get(n) ?? -1);
      nameCols = nameColumns(cols);
      outCols = [...SHOWN.map((n) => cols[byName.get(n) ?? -1] ?? col(n, 'metadata', 'string', '', 'none', n)),
        ...VERDICT_COLUMNS,
        ...applied.flatMap((a) => [
          col(outputColumn(a.column), 'metadata', 'string', '', 'none', `Answer of the ${a.model.manifest.name} model (${a.model.manifest.classes.join(', ')}), or 'unknown'`),
          col(`${outputColumn(a.column)}_confidence`, 'metadata', 'float', 'ratio', 'none', `Calibrated probability of the ${outputColumn(a.column)} answer`),
          col(`${outputColumn(a.column)}_unknown_reason`, 'metadata', 'string', '', 'none', `Why the ${outputColumn(a.column)} answer is 'unknown' (too_few_packets, out_of_distribution, low_confidence); empty when answered`),
        ])];
      if (out) {
        writer = openWriter(out, format, outCols);
        // Live: every answer reaches the file as soon as it is made.
        if (v.interface && 'flushEach' in writer) (writer as { flushEach: boolean }).flushEach = true;
      }
    }
    buf.push(row);
    if (buf.length >= 512) flush();
  };

  let failures = 0;
  /** Captures of which not one packet was read: after nothing but such failures there is nothing to summarise. */
  let unread = 0;
  if (v.interface && early) {
    const n = early.earlyPackets(v.early!);
    const sidecar = v.output ? early.openEarlySidecar(`${v.output}.early.jsonl`) : null;
    const s = await early.classifyLiveEarly({
      iface: v.interface, ...(v.filter ? { filter: v.filter } : {}), early: n, meter, catalog,
      earlyModels: earlyModels.filter((a) => a.model.manifest.meter?.earlyPackets === n),
      onFinalRow: onRow,
      onEarly: (r) => {
        sidecar?.write(r);
        if (table) process.stdout.write(early.earlyLine(r) + '\n');
      },
      onReady: () => { if (!quiet) process.stderr.write(`veil: classifying live traffic on ${v.interface}; early verdicts at ${n} packets, final ones as flows end (Ctrl-C stops)\n`); },
      onTick: flush,
    });
    flush();
    await sidecar?.close();
    if (s.capture.error && s.capture.error.code !== 'TRUNCATED') { failures++; process.stderr.write(`veil: ${s.capture.error.message}\n`); }
  } else if (v.interface) {
    const { openLiveCapture } = await import('../wire/live.ts');
    const cap = openLiveCapture({ iface: v.interface, filter: v.filter, onReady: () => { if (!quiet) process.stderr.write(`veil: classifying live traffic on ${v.interface}; flows appear as they end (Ctrl-C stops)\n`); } });
    const dispose = onStopSignals(() => { void cap.stop(); });
    let timer: NodeJS.Timeout | null = null;
    const s = await extractFlows({ stream: cap.stream, name: v.interface }, { captureName: v.interface, ...meter }, onRow, {
      onMeter: (m) => { timer = setInterval(() => { m.tick(Date.now() * 1000); flush(); }, 1000); },
    });
    if (timer) clearInterval(timer);
    dispose();
    flush();
    if (s.capture.error && s.capture.error.code !== 'TRUNCATED') { failures++; process.stderr.write(`veil: ${s.capture.error.message}\n`); }
  } else {
    const progress = new Progress('classify', !quiet && !table && Boolean(process.stderr.isTTY));
    for (const input of positionals) {
      const t0 = Date.now();
      try {
        const total = input === '-' ? null : await captureTotalBytes(input).catch(() => null);
        const s = await extractFlows({ path: input }, meter, onRow, {
          onProgress: (b, m) => progress.update(b, total, `${formatRate(m.stats.packets / Math.max(0.001, (Date.now() - t0) / 1000))} pkt/s  ${m.stats.flows} flows`),
        });
        flush();
        progress.done();
        if (s.capture.error) { failures++; if (s.packets === 0) unread++; process.stderr.write(`veil: ${s.capture.error.message}${s.flows ? `; the ${s.flows} flows before it were classified` : ''}\n`); }
        if (!quiet) process.stderr.write(`${input}: ${s.packets} packets, ${s.flows} flows, ${formatSkipped(s.skipped)}\n`);
      } catch (err) {
        progress.done();
        if (!(err as VeilError).userFacing) throw err;
        failures++;
        unread++;
        process.stderr.write(`veil: ${(err as Error).message}\n`);
      }
    }
  }
  if (writer) await (writer as RowWriter).close();
  const nothingRead = !v.interface && unread === positionals.length;
  if (!quiet && !nothingRead) (table ? process.stdout : process.stderr).write(summary.format());
  return failures ? 1 : 0;
}

/** Why a model answered unknown for row `i`: its support guard's reason where the predictions carry one, else its
 * confidence threshold. */
function quietFlag(v: { quiet?: boolean }): boolean {
  return Boolean(v.quiet);
}

function tableHeader(models: string[]): string {
  return ['flow'.padStart(5), 'source'.padEnd(22), 'destination'.padEnd(22), 'pr', 'app (source)'.padEnd(24), 'category (source)'.padEnd(26),
    ...models.map((m) => m.padEnd(20)), 'name'.padEnd(28), 'alpn'.padEnd(9), 'ja4'].join(' ');
}

/** One flow as a table line: identity, the verdict, each model's own answer with its confidence, then the name
 * (SNI, else HTTP Host, else DNS answer), ALPN and JA4. */
export function tableRow(o: CellValue[], nModels: number): string {
  const proto = ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp6' } as Record<number, string>)[o[5] as number] ?? String(o[5]);
  const ep = (a: CellValue, p: CellValue) => `${String(a).includes(':') ? `[${a}]` : a}:${p}`;
  const at = SHOWN.length;
  const app = o[at] ? `${o[at]} (${o[at + 1]})` : '-';
  const category = `${o[at + 2]} (${o[at + 3]}${o[at + 3] === 'none' ? '' : ` ${(o[at + 4] as number).toFixed(2)}`})`;
  const answers: string[] = [];
  for (let k = 0; k < nModels; k++) answers.push(`${o[at + 5 + 3 * k]} ${(o[at + 6 + 3 * k] as number).toFixed(2)}`.padEnd(20));
  const name = String(o[14] || o[18] || o[19] || '');
  // The negotiated ALPN only: the first offered one is not what the flow speaks (tls_alpn_offered keeps the list).
  const alpn = String(o[15] || '');
  return [String(o[0]).padStart(5), ep(o[1]!, o[2]!).padEnd(22), ep(o[3]!, o[4]!).padEnd(22), proto.padEnd(2), fit(app, 24), category.padEnd(26),
    ...answers, fit(name, 28), fit(alpn || '-', 9), String(o[17] ?? '')].join(' ');
}

/** Text padded to `width`, or cut with an ellipsis so a cut name never reads as a whole one. */
export function fit(s: string, width: number): string {
  return s.length > width ? `${s.slice(0, width - 1)}\u2026` : s.padEnd(width);
}

/** Answers listed per section of the summary, largest in bytes first. */
const TOP = 20;

/** Traffic by application, by category and by each model's answer, in flows and bytes. */
class Summary {
  private readonly counts: Map<string, { flows: number; bytes: number }>[];
  private flows = 0;
  private bytes = 0;
  constructor(private readonly columns: string[]) {
    this.counts = columns.map(() => new Map());
  }
  add(labels: string[], bytes: number): void {
    this.flows++;
    this.bytes += bytes;
    labels.forEach((l, k) => {
      const c = this.counts[k]!.get(l) ?? { flows: 0, bytes: 0 };
      c.flows++;
      c.bytes += bytes;
      this.counts[k]!.set(l, c);
    });
  }
  format(): string {
    const lines = [`\n${this.flows} flows, ${formatBytes(this.bytes)}`];
    this.columns.forEach((name, k) => {
      lines.push(`by ${name}:`);
      const sorted = [...this.counts[k]!].sort((a, b) => b[1].bytes - a[1].bytes);
      for (const [l, c] of sorted.slice(0, TOP)) {
        lines.push(`  ${l.padEnd(16)} ${String(c.flows).padStart(7)} flows (${(100 * c.flows / Math.max(1, this.flows)).toFixed(1).padStart(5)} %)  ${formatBytes(c.bytes).padStart(10)} (${(100 * c.bytes / Math.max(1, this.bytes)).toFixed(1).padStart(5)} %)`);
      }
      if (sorted.length > TOP) lines.push(`  ... ${sorted.length - TOP} more`);
    });
    return lines.join('\n') + '\n';
  }
}
