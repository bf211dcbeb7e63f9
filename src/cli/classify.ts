import { parseArgs } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CellValue, ColumnDef } from '../flow/columns.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { loadModel, type VeilModel } from '../model/index.ts';
import { answerModel, answerRows, classifyCapture, type AnswerBatch } from '../classify/capture.ts';
import { chooseTimeouts } from '../classify/timeouts.ts';
import type { AnswerColumn } from '../classify/layout.ts';
import { VeilError } from '../core/errors.ts';
import { captureTotalBytes } from '../wire/reader.ts';
import { loadCatalog, type Catalog } from '../names/index.ts';
import { METER_ARG_OPTIONS, meterOptionsFrom, formatSkipped } from './extract.ts';
import { formatBytes, formatRate, Progress } from './progress.ts';
import { onStopSignals } from '../core/signals.ts';

const DEFAULT_DIR = fileURLToPath(new URL('../../models/', import.meta.url));

const HELP = `usage: veil classify CAPTURE... | - | --interface IFACE [options]

Meters the capture and names each flow: the application and category from the names it shows in the clear (TLS/QUIC
server name, certificate, HTTP Host, DNS answers) against the service catalogue, else a port convention, else the
behaviour model's category if it is sure, else 'unknown' (app_source / category_source say which). The models'
own answers (shipped: category.label, vpn.label with .confidence, .unknown, .unknown_reason) stay beside the
verdict so disagreements show (every column: docs/ANSWERS.md). A table on a terminal, CSV/JSONL/Parquet with -o; a
summary (traffic by application and category, flows and bytes) at the end.

  -m, --model FILE[=NAME]    apply this model too, its answers in NAME.label ... (default: the file's name; a shipped
                             model's name replaces that model), repeatable
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
manifests record them: 15 s for the shipped models); a model metered otherwise than it was trained is named in a
warning.
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
  const mine: Applied[] = [];
  for (const spec of v.model ?? []) {
    const [file, column] = spec.split('=') as [string, string | undefined];
    mine.push({ column: column || path.basename(file).replace(/\.[^.]+$/, ''), model: await loadModel(file) });
  }
  // A model of yours named like a shipped one replaces it (`-m mine.veilmodel=category`: your behaviour model).
  const applied: Applied[] = [...defaults.applied.filter((d) => !mine.some((m) => m.column === d.column)), ...mine];
  // Models trained on flows cut at N packets give early verdicts only (src/live); never applied to whole flows.
  const early = v.early !== undefined && v.interface ? await import('../live/index.ts') : null;
  const earlyModels = applied.filter((a) => (a.model.manifest.meter?.earlyPackets ?? 0) > 0);
  if (earlyModels.length) applied.splice(0, applied.length, ...applied.filter((a) => !earlyModels.includes(a)));
  if (!applied.length) {
    process.stderr.write(`veil: no model to apply: the shipped models are missing from ${v['models-dir'] ?? DEFAULT_DIR} (npm run models:build) and no --model was given; writing flows with their handshake facts only\n`);
  }
  const models = applied.map((a) => answerModel(a.column, a.model, { unknownBelow }));
  const { table: userTimeouts, ...meter } = meterOptionsFrom(v as Record<string, string | boolean | undefined>);
  const timeouts = {
    ...(v['idle-timeout'] !== undefined ? { idleTimeoutUs: userTimeouts!.idleTimeoutUs! } : {}),
    ...(v['active-timeout'] !== undefined ? { activeTimeoutUs: userTimeouts!.activeTimeoutUs! } : {}),
  };

  const quiet = Boolean(v.quiet);
  const table = !v.output && !quiet && Boolean(process.stdout.isTTY);
  const out = v.output ?? (table ? null : '-');
  const format = out ? formatFor(out, v.format) : 'csv';
  const summary = new Summary(['application', 'category', ...models.map((m) => `${m.name}.label`)]);
  let writer: RowWriter | null = null;
  let shown: ShownAt | null = null;
  let warned = false;
  const warn = (m: string): void => { if (!quiet && !warned) process.stderr.write(`veil: ${m}\n`); };
  const open = (columns: readonly AnswerColumn[]): void => {
    if (writer || !out) return;
    writer = openWriter(out, format, columns.map(({ group: _g, model: _m, ...c }) => c));
    // Live: every answer reaches the file as soon as it is made.
    if (v.interface && 'flushEach' in writer) (writer as { flushEach: boolean }).flushEach = true;
  };
  const onBatch = (b: AnswerBatch): void => {
    open(b.columns);
    shown ??= shownAt(b.columns, models.map((m) => m.name));
    for (let i = 0; i < b.rows.length; i++) {
      const o = b.rows[i]!;
      summary.add([b.app[i] || '(none)', b.category[i]!, ...b.answers.map((a) => a.labels[i]!)], Number.isFinite(b.bytes[i]!) ? b.bytes[i]! : 0);
      if (writer) (writer as RowWriter).write(o);
      if (table) {
        if (!summary.printedHeader) { process.stdout.write(tableHeader(models.map((m) => m.name)) + '\n'); summary.printedHeader = true; }
        process.stdout.write(tableRow(o, shown) + '\n');
      }
    }
  };
  const opts = { catalog, meter, timeouts, onBatch, warn: (m: string) => { warn(m); } };

  let failures = 0;
  /** Captures of which not one packet was read: after nothing but such failures there is nothing to summarise. */
  let unread = 0;
  if (v.interface && early) {
    const n = early.earlyPackets(v.early!);
    const sidecar = v.output ? early.openEarlySidecar(`${v.output}.early.jsonl`) : null;
    // The live meter is the early path's own; the final rows take the one answer path's batching and timeouts.
    const chosen = chooseTimeouts(models, timeouts);
    for (const w of chosen.warnings) warn(w);
    const rows = answerRows(models, { catalog, onBatch, batchRows: 512 });
    let columns: readonly ColumnDef[] = [];
    const s = await early.classifyLiveEarly({
      iface: v.interface, ...(v.filter ? { filter: v.filter } : {}), early: n, meter: { ...meter, table: chosen.table }, catalog,
      earlyModels: earlyModels.filter((a) => a.model.manifest.meter?.earlyPackets === n),
      onFinalRow: (row, cols) => { columns = cols; rows.row(row, cols); },
      onEarly: (r) => {
        sidecar?.write(r);
        if (table) process.stdout.write(early.earlyLine(r) + '\n');
      },
      onReady: () => { if (!quiet) process.stderr.write(`veil: classifying live traffic on ${v.interface}; early verdicts at ${n} packets, final ones as flows end (Ctrl-C stops)\n`); },
      onTick: rows.flush,
    });
    if (columns.length) rows.end(columns);
    await sidecar?.close();
    if (s.capture.error && s.capture.error.code !== 'TRUNCATED') { failures++; process.stderr.write(`veil: ${s.capture.error.message}\n`); }
  } else if (v.interface) {
    const { openLiveCapture } = await import('../wire/live.ts');
    const cap = openLiveCapture({ iface: v.interface, filter: v.filter, onReady: () => { if (!quiet) process.stderr.write(`veil: classifying live traffic on ${v.interface}; flows appear as they end (Ctrl-C stops)\n`); } });
    const dispose = onStopSignals(() => { void cap.stop(); });
    const s = await classifyCapture({ stream: cap.stream, name: v.interface }, models, { ...opts, meter: { captureName: v.interface, ...meter }, live: true });
    dispose();
    if (s.capture.error && s.capture.error.code !== 'TRUNCATED') { failures++; process.stderr.write(`veil: ${s.capture.error.message}\n`); }
  } else {
    const progress = new Progress('classify', !quiet && !table && Boolean(process.stderr.isTTY));
    for (const input of positionals) {
      const t0 = Date.now();
      try {
        const total = input === '-' ? null : await captureTotalBytes(input).catch(() => null);
        const s = await classifyCapture({ path: input }, models, {
          ...opts,
          onProgress: (b, m) => progress.update(b, total, `${formatRate(m.stats.packets / Math.max(0.001, (Date.now() - t0) / 1000))} pkt/s  ${m.stats.flows} flows`),
        });
        // The timeouts are the same for every capture: say so once.
        warned = true;
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

/** Where the terminal table finds its cells in an answer row. */
interface ShownAt {
  [name: string]: number | number[];
  models: number[];
}

function shownAt(columns: readonly AnswerColumn[], models: readonly string[]): ShownAt {
  const at = (n: string) => columns.findIndex((c) => c.name === n);
  const o: ShownAt = { models: models.map((m) => at(`${m}.label`)) };
  for (const n of ['id_flow', 'id_src_addr', 'id_src_port', 'id_dst_addr', 'id_dst_port', 'id_protocol', 'app', 'app_source', 'category',
    'category_source', 'category_confidence', 'tls_sni', 'name_http_host', 'name_dns', 'tls_alpn', 'tls_alpn_offered', 'tls_ja4']) o[n] = at(n);
  return o;
}

function tableHeader(models: string[]): string {
  return ['flow'.padStart(5), 'source'.padEnd(22), 'destination'.padEnd(22), 'pr', 'app (source)'.padEnd(24), 'category (source)'.padEnd(26),
    ...models.map((m) => m.padEnd(20)), 'name'.padEnd(28), 'alpn'.padEnd(9), 'ja4'].join(' ');
}

/** One flow as a table line: identity, the verdict, each model's own answer with its confidence, then the name
 * (SNI, else HTTP Host, else DNS answer), ALPN and JA4. */
export function tableRow(o: readonly CellValue[], at: ShownAt): string {
  const c = (n: string): CellValue => { const i = at[n] as number; return i >= 0 ? o[i] ?? '' : ''; };
  const proto = ({ 6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmp6' } as Record<number, string>)[c('id_protocol') as number] ?? String(c('id_protocol'));
  const ep = (a: CellValue, p: CellValue) => `${String(a).includes(':') ? `[${a}]` : a}:${p}`;
  const app = c('app') ? `${c('app')} (${c('app_source')})` : '-';
  const category = `${c('category')} (${c('category_source')}${c('category_source') === 'none' ? '' : ` ${(c('category_confidence') as number).toFixed(2)}`})`;
  const answers = at.models.map((i) => `${o[i]} ${(o[i + 1] as number ?? 0).toFixed(2)}`.padEnd(20));
  const name = String(c('tls_sni') || c('name_http_host') || c('name_dns') || '');
  return [String(c('id_flow')).padStart(5), ep(c('id_src_addr'), c('id_src_port')).padEnd(22), ep(c('id_dst_addr'), c('id_dst_port')).padEnd(22), proto.padEnd(2),
    fit(app, 24), category.padEnd(26), ...answers, fit(name, 28),
    // The negotiated ALPN only: the first offered one is not what the flow speaks (tls_alpn_offered keeps the list).
    fit(String(c('tls_alpn') || '-'), 9), String(c('tls_ja4') ?? '')].join(' ');
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
  flows = 0;
  private bytes = 0;
  printedHeader = false;
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
