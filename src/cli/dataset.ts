import { parseArgs } from 'node:util';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { extractFlows } from '../flow/meter.ts';
import { col, type CellValue, type ColumnDef } from '../flow/columns.ts';
import { formatFor, openWriter, type RowWriter } from '../flow/output.ts';
import { labelFlow, namesTarget, parseLabelFrom, readLabelEntries, readRules, ruleColumns, type Labeller } from '../dataset/labels.ts';
import { CaptureNameLabeller } from '../dataset/name-labels.ts';
import { loadCatalog } from '../names/index.ts';
import { VeilError } from '../core/errors.ts';
import { METER_ARG_OPTIONS, meterOptionsFrom, formatSkipped } from './extract.ts';
import { Progress } from './progress.ts';

const HELP = `usage: veil dataset build CAPTURE|DIR... -o OUT [options]

Meters captures and writes a labelled flow table for 'veil train', with id_capture as the group column for honest
(grouped) splits. Labels, in order of precedence:
      --labels CSV         capture,label plus src,sport,dst,dport[,proto] (either direction) or start,end (epoch s)
      --rules FILE         YAML/JSON rules on handshake metadata: [{ label, sni, alpn, ja4 }] with * globs or /regex/;
                           the columns a rule reads (SNI and certificate names, ALPN, JA4) are dropped from the table,
                           so a model learns the application from behaviour, not from its name
      --label-from WHAT    dir (captures/netflix/x.pcap -> netflix), name (netflix-3.pcap -> netflix),
                           names:app (or names) / names:category: the application or category the flow's own names
                           show (server name, certificate, HTTP Host, DNS answer, strong port convention) through the
                           service catalogue; a flow cut by a timeout inherits its connection's earlier name; flows
                           no name labels are dropped. The name columns are kept but never learnt from (leaky role).
                           none: only --labels and --rules. The default is dir without --labels/--rules and none
                           with them: a flow no label or rule matches is dropped, not labelled with its folder's
                           name (give --label-from dir for that)
      --catalog FILE       your own services for names labels (repeatable; same schema as the shipped catalogue)
      --keep-unlabelled    keep flows no label applies to (label empty); dropped by default
  -o, --output FILE        CSV, JSONL or Parquet by extension
Meter options as for 'veil extract' (--idle-timeout, --features, ...).
`;

const CAPTURE = /\.(pcap|pcapng|cap)$/i;

function captures(inputs: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    let st;
    try { st = statSync(p); } catch { throw new VeilError('NOT_FOUND', `${p}: no such file or directory`); }
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) { const q = path.join(p, e); if (statSync(q).isDirectory() || CAPTURE.test(e)) walk(q); }
    else out.push(p);
  };
  inputs.forEach(walk);
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') { process.stdout.write(HELP); return sub === '--help' || sub === '-h' ? 0 : 2; }
  const { values: v, positionals } = parseArgs({
    args: rest, allowPositionals: true,
    options: {
      ...METER_ARG_OPTIONS,
      output: { type: 'string', short: 'o' }, format: { type: 'string' }, labels: { type: 'string' }, rules: { type: 'string' },
      'label-from': { type: 'string' }, catalog: { type: 'string', multiple: true }, 'keep-unlabelled': { type: 'boolean' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) { process.stdout.write(HELP); return 0; }
  if (!positionals.length || !v.output) { process.stderr.write(HELP); return 2; }
  // With labels or rules, the path is a fallback only when asked for: otherwise every flow they miss would become
  // a class named after its folder (285 of 452 rows labelled 'caps').
  const from = parseLabelFrom(v['label-from'] ?? (v.rules || v.labels ? 'none' : 'dir'));
  if (!from) throw new VeilError('BAD_ARGUMENT', `--label-from must be dir, name, names:app, names:category or none, got '${v['label-from']}'`);
  const catalog = namesTarget(from) ? loadCatalog(v.catalog ?? []) : null;
  const labeller: Labeller = { rules: v.rules ? readRules(v.rules) : [], entries: v.labels ? readLabelEntries(v.labels) : [], from, ruleColumns: [] };
  const meter = meterOptionsFrom({ ...v, catalog: undefined });
  if (labeller.rules.length && meter.families && !meter.families.includes('handshake')) {
    throw new VeilError('BAD_ARGUMENT', '--rules read handshake metadata: keep the handshake family in --features');
  }
  const files = captures(positionals);
  let writer: RowWriter | null = null;
  let outCols: ColumnDef[] = [];
  let keep: number[] = [];
  const counts = new Map<string, number>();
  let unlabelled = 0, failures = 0;
  const progress = new Progress('dataset build', !v.quiet && Boolean(process.stderr.isTTY));
  const sizes = files.map((f) => { try { return statSync(f).size; } catch { return 0; } });
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  let doneBytes = 0, flows = 0;
  for (const [fi, file] of files.entries()) {
    let index: Map<string, number> | null = null;
    let names: CaptureNameLabeller | null = null;
    try {
      const s = await extractFlows({ path: file }, meter, (row: CellValue[], columns: ColumnDef[]) => {
        flows++;
        if (!index) index = new Map(columns.map((c, i) => [c.name, i]));
        if (!writer) {
          labeller.ruleColumns = ruleColumns(labeller.rules, columns);
          keep = columns.map((_, i) => i).filter((i) => !labeller.ruleColumns.includes(columns[i]!.name));
          outCols = [...keep.map((i) => columns[i]!),
            col('label', 'identity', 'string', '', 'none', 'The flow\'s label (the answer to learn)'),
            col('label_source', 'identity', 'string', '', 'none', 'Where the label came from: labels, rule:sni|alpn|ja4, names:sni|quic|cert|http|dns|port|flow, path:dir|name', true)];
          writer = openWriter(v.output!, formatFor(v.output!, v.format), outCols);
        }
        if (catalog && !names) names = new CaptureNameLabeller(catalog, columns);
        const { label, source } = labelFlow(labeller, file, row, (n) => index!.get(n) ?? -1, names?.label(row));
        if (!label) { unlabelled++; if (!v['keep-unlabelled']) return; }
        counts.set(label, (counts.get(label) ?? 0) + 1);
        writer.write([...keep.map((i) => row[i]!), label, source]);
      }, { onProgress: (b) => progress.update(doneBytes + b, totalBytes, `${fi + 1}/${files.length} captures  ${flows} flows`) });
      progress.done();
      if (s.capture.error) { failures++; process.stderr.write(`veil: ${s.capture.error.message}; the flows before it were kept\n`); }
      if (!v.quiet) process.stderr.write(`${file}: ${s.flows} flows, ${formatSkipped(s.skipped)}\n`);
    } catch (err) {
      progress.done();
      if (!(err as VeilError).userFacing) throw err;
      failures++;
      process.stderr.write(`veil: ${(err as Error).message}\n`);
    }
    doneBytes += sizes[fi]!;
  }
  if (writer) await (writer as RowWriter).close();
  if (!v.quiet) {
    process.stderr.write(`labelled flows: ${[...counts].sort((a, b) => b[1] - a[1]).map(([l, n]) => `${l || '(none)'} ${n}`).join(', ') || 'none'}` +
      `${unlabelled ? `; ${unlabelled} unlabelled flows ${v['keep-unlabelled'] ? 'kept' : 'dropped'}` : ''}\n`);
    if (labeller.ruleColumns.length) process.stderr.write(`dropped the columns the rules read: ${labeller.ruleColumns.join(', ')}\n`);
  }
  return failures ? 1 : 0;
}
